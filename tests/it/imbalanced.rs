//! The imbalanced-FER methods end to end on an imbalanced synthetic split: every method
//! reports its loss terms, evaluations carry attention snapshots with flip consistency,
//! attention-consistency training makes the maps follow flips, and RUL's uncertainty branch
//! resumes exactly from a mid-epoch checkpoint.

use super::common;

use common::{full_and_resumed, run_collect as run, tiny_experiment};
use ferlab::compute::train::trainer::Outcome;
use ferlab::contract::config::Experiment;
use ferlab::contract::event::Event;
use ferlab::contract::event::attention::{AttentionSnapshot, FaceSource};

fn imbalanced(out: &std::path::Path, method: &str, epochs: usize) -> Experiment {
    let mut exp = tiny_experiment(out);
    exp.name = format!("imb-{method}");
    exp.corruption.imbalance_factor = 10.0;
    exp.method.name = method.into();
    exp.train.epochs = epochs;
    exp.train.attention_gallery = 7;
    exp
}

fn attention(events: &[Event]) -> Vec<AttentionSnapshot> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Attention { snapshot, .. } => Some((**snapshot).clone()),
            _ => None,
        })
        .collect()
}

/// Per epoch: index, training loss, validation accuracy, loss term names, flip MSE.
type EpochResult = (usize, f32, f32, Vec<String>, Option<f32>);

fn epoch_results(events: &[Event]) -> Vec<EpochResult> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::EpochEnd { epoch, train, val } => Some((
                *epoch,
                train.loss,
                val.overall,
                train.terms.keys().cloned().collect(),
                val.flip_mse,
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn each_method_trains_with_its_terms_and_attention_snapshots() {
    for (method, want) in [
        ("cb", vec!["cb_ce"]),
        ("eac", vec!["ce", "flip_consistency"]),
        ("rul", vec!["mean_uncertainty", "mixed_ce"]),
        ("lnsu", vec!["rebalanced_attention", "rebalanced_smooth"]),
    ] {
        let out = tempfile::tempdir().unwrap();
        let (_, outcome, events) = run(imbalanced(out.path(), method, 2), None);
        assert!(matches!(outcome, Outcome::Finished(_)), "{method:?}");
        let results = epoch_results(&events);
        assert_eq!(results.len(), 2);
        for (_, loss, _, terms, flip) in &results {
            assert!(loss.is_finite(), "{method:?}");
            assert_eq!(terms, &want, "{method:?}");
            assert!(
                flip.is_some_and(|f| f.is_finite() && f >= 0.0),
                "{method:?}"
            );
        }
        let snaps = attention(&events);
        assert_eq!(snaps.len(), 2, "{method:?}: a snapshot per epoch");
        let s = &snaps[1];
        // The 7 gallery faces (one per class, the same each time) then the least consistent.
        assert_eq!(s.faces.len(), 8);
        let gallery: Vec<usize> = s.faces[..7].iter().map(|f| f.index).collect();
        let first: Vec<usize> = snaps[0].faces[..7].iter().map(|f| f.index).collect();
        assert_eq!(gallery, first);
        let mut labels: Vec<u32> = s.faces[..7].iter().map(|f| f.label).collect();
        labels.sort();
        assert_eq!(labels, (0..7).collect::<Vec<u32>>());
        let plane = 7 * s.map_height * s.map_width;
        for f in &s.faces {
            assert_eq!(f.maps().unwrap().len(), plane);
            assert_eq!(f.flipped_back().unwrap().len(), plane);
            assert_eq!(f.pixels().unwrap().len(), s.image_size * s.image_size);
        }
        // The extra face comes from outside the gallery, marked as least consistent.
        assert!(!gallery.contains(&s.faces[7].index));
        assert_eq!(s.faces[7].source, FaceSource::LeastConsistent);
        assert_eq!(results[1].4, Some(s.mean));
    }
}

#[test]
fn attention_consistency_makes_the_maps_follow_flips() {
    let flip_error = |method: &str| {
        let out = tempfile::tempdir().unwrap();
        let (_, _, events) = run(imbalanced(out.path(), method, 3), None);
        epoch_results(&events).last().unwrap().4.unwrap()
    };
    let (ce, eac, lnsu) = (flip_error("ce"), flip_error("eac"), flip_error("lnsu"));
    eprintln!("validation flip MSE: CE {ce:.5}, EAC {eac:.5}, LNSU {lnsu:.5}");
    assert!(eac < 0.7 * ce, "EAC {eac} vs CE {ce}");
    assert!(lnsu < ce, "LNSU {lnsu} vs CE {ce}");
}

#[test]
fn rul_resumes_mid_epoch_to_the_uninterrupted_result() {
    let out = tempfile::tempdir().unwrap();
    let exp = imbalanced(out.path(), "rul", 3);
    let (full, pieced) = full_and_resumed(exp, (1, 2));
    assert_eq!(epoch_results(&pieced), epoch_results(&full));
}

/// LNSU on maps too small for flip consistency (ResNet-18 on 32 px faces: 1×1) starts, and
/// its log says why its attention term does nothing, naming the setting.
#[test]
fn a_run_on_degenerate_maps_logs_a_caution() {
    let tmp = tempfile::tempdir().unwrap();
    let mut exp = common::tiny_experiment(tmp.path());
    exp.method.name = "lnsu".into();
    exp.model.backbone = ferlab::contract::config::Backbone::Resnet18;
    exp.train.epochs = 1;
    exp.data.synthetic.train_per_class = 8;
    exp.data.synthetic.val_per_class = 4;
    let (_, _, events) = common::run_collect(exp, None);
    let caution = events.iter().find_map(|e| match e {
        Event::Log { level, text } if text.contains("flip consistency is degenerate") => {
            Some((*level, text.clone()))
        }
        _ => None,
    });
    let (level, text) = caution.expect("a caution in the log");
    assert_eq!(level, ferlab::contract::event::Level::Warn);
    assert!(
        text.starts_with("data.image_size: LNSU's") && text.contains("1×1"),
        "{text}"
    );
}
