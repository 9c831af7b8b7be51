//! End-to-end training on small synthetic data: learning, determinism, stop / resume.

use super::common;
use ferlab::compute::method::REGISTRY;

use common::{resume_collect, run_collect};
use ferlab::compute::train::Engine;
use ferlab::compute::train::engine::Launch;
use ferlab::compute::train::trainer::Outcome;
use ferlab::contract::config::Experiment;
use ferlab::contract::event::Event;
use ferlab::contract::run::recorder;

fn epoch_ends(events: &[Event]) -> Vec<(usize, f32, f32, f32)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::EpochEnd { epoch, train, val } => {
                Some((*epoch, train.loss, val.overall, val.loss))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_synthetic_run_learns_well_above_chance() {
    let out = tempfile::tempdir().unwrap();
    let mut exp = common::tiny_experiment(out.path());
    exp.train.epochs = 8;
    exp.model.width = 16;
    exp.data.synthetic.train_per_class = 150;
    exp.data.synthetic.val_per_class = 30;
    let (dir, outcome, events) = run_collect(exp, None);
    let Outcome::Finished(summary) = outcome else {
        panic!("the run did not finish")
    };
    // Chance is 1/7 = 14%.
    assert!(
        summary.best.overall > 0.4,
        "best val accuracy {}",
        summary.best.overall
    );
    assert!(matches!(events.first(), Some(Event::Log { .. })));
    assert!(events.iter().any(|e| matches!(e, Event::Started { .. })));
    assert!(dir.best_checkpoint().is_file() && dir.last_checkpoint().is_file());
    assert!(dir.config().is_file());
    // The resolved config reloads as the same experiment.
    let reloaded = Experiment::load(&dir.config(), &[], &REGISTRY).unwrap();
    assert_eq!(reloaded.train.epochs, 8);
}

#[test]
fn the_same_seed_gives_identical_metrics() {
    let out = tempfile::tempdir().unwrap();
    let exp = common::tiny_experiment(out.path());
    let (_, _, a) = run_collect(exp.clone(), None);
    let (_, _, b) = run_collect(exp.clone(), None);
    assert_eq!(epoch_ends(&a), epoch_ends(&b));
    let mut other = exp;
    other.seed += 1;
    let (_, _, c) = run_collect(other, None);
    assert_ne!(epoch_ends(&a), epoch_ends(&c));
}

#[test]
fn a_run_stopped_mid_epoch_resumes_to_the_uninterrupted_result() {
    let out = tempfile::tempdir().unwrap();
    let exp = common::tiny_experiment(out.path());
    let (_, _, full) = run_collect(exp.clone(), None);
    // Stop inside epoch 2 (0-based 1) after its second step.
    let (dir, outcome, first) = run_collect(exp, Some((1, 2)));
    assert!(
        matches!(outcome, Outcome::Stopped(p) if p.epoch == 1 && p.step == 2),
        "{outcome:?}"
    );
    assert!(first.iter().any(|e| matches!(e, Event::Stopped { .. })));
    let (outcome, second) = resume_collect(&dir);
    assert!(matches!(outcome, Outcome::Finished(_)));
    let started = second.iter().find_map(|e| match e {
        Event::Started { resumed_at, .. } => Some(*resumed_at),
        _ => None,
    });
    assert_eq!(
        started,
        Some(Some(ferlab::contract::event::Position {
            epoch: 1,
            step: 2
        }))
    );
    let mut combined = epoch_ends(&first);
    combined.extend(epoch_ends(&second));
    assert_eq!(combined, epoch_ends(&full));
}

#[test]
fn a_killed_run_resumes_from_its_last_epoch_checkpoint() {
    let out = tempfile::tempdir().unwrap();
    let exp = common::tiny_experiment(out.path());
    let (_, _, full) = run_collect(exp.clone(), None);
    // Stopping at the first step of epoch 3 leaves exactly what a kill after epoch 2's
    // checkpoint leaves; add a torn event line as a crash would.
    let (dir, _, first) = run_collect(exp, Some((2, 1)));
    let text = std::fs::read_to_string(dir.events()).unwrap();
    std::fs::write(
        dir.events(),
        format!("{text}{{\"time\": 1.0, \"event\": {{\"ty"),
    )
    .unwrap();
    let (_, second) = resume_collect(&dir);
    let mut combined = epoch_ends(&first);
    combined.extend(epoch_ends(&second));
    assert_eq!(combined, epoch_ends(&full));
    let log = recorder::read(&dir.events()).unwrap();
    assert!(log.bad_lines.is_empty(), "{:?}", log.bad_lines);
    assert!(
        log.records
            .iter()
            .any(|r| matches!(r.event, Event::Finished { .. }))
    );
}

#[test]
fn the_engine_runs_on_its_own_thread_and_stops_on_request() {
    let out = tempfile::tempdir().unwrap();
    let mut exp = common::tiny_experiment(out.path());
    exp.train.epochs = 50;
    let engine = Engine::start(Launch::New(Box::new(exp)), None).unwrap();
    let mut saw_progress = false;
    for e in engine.events().iter() {
        if matches!(e, Event::Progress { .. }) && !saw_progress {
            saw_progress = true;
            engine.pause();
            std::thread::sleep(std::time::Duration::from_millis(50));
            assert!(engine.is_paused());
            engine.resume();
            engine.stop();
        }
        if e.is_terminal() {
            assert!(matches!(e, Event::Stopped { .. }), "{e:?}");
            break;
        }
    }
    assert!(saw_progress);
    let dir = engine.dir.clone();
    assert!(matches!(engine.join(), Ok(Outcome::Stopped(_))));
    assert!(dir.last_checkpoint().is_file());
}

#[test]
fn sam_with_class_balanced_batches_learns_and_resumes_exactly() {
    let out = tempfile::tempdir().unwrap();
    let mut exp = common::tiny_experiment(out.path());
    exp.name = "sam-balanced".into();
    exp.optimizer.sam_rho = 0.05;
    exp.train.sampler = ferlab::contract::config::Sampler::ClassBalanced;
    exp.train.epochs = 3;
    // Stopped mid-epoch and resumed: SAM's two passes and the balanced order repeat exactly.
    let (full, pieced) = common::full_and_resumed(exp.clone(), (1, 2));
    assert_eq!(epoch_ends(&pieced), epoch_ends(&full));
    let ends = epoch_ends(&full);
    assert_eq!(ends.len(), 3);
    assert!(ends.iter().all(|e| e.1.is_finite() && e.3.is_finite()));
    assert!(ends[2].1 < ends[0].1, "training loss falls: {ends:?}");
    // SAM changes the steps: the same run without it ends elsewhere.
    exp.optimizer.sam_rho = 0.0;
    let (_, _, plain) = common::run_collect(exp, None);
    assert_ne!(epoch_ends(&plain), ends);
}
