//! RMFER end to end on tiny synthetic data with synthetic reaction clips (and with clips
//! from a folder): loss terms per ablation, the attention filter's report, embeddings sent
//! from the worker thread, exact resume, and the embedding table.

use super::common;
use ferlab::compute::method::REGISTRY;

use ferlab::contract::config::{Experiment, UnlabeledSource};
use ferlab::contract::event::Event;
use ferlab::contract::run::results::read_run;
use ferlab::views::tables::{Table, TableFormat};

fn rmfer_experiment(out: &std::path::Path) -> Experiment {
    let mut exp = common::tiny_experiment(out);
    exp.name = "rmfer-tiny".into();
    exp.method.name = "rmfer".into();
    for (key, value) in [
        ("epoch_pre", 1),
        ("anchors", 4),
        ("min_gap", 4),
        ("projection_dim", 16),
    ] {
        exp.set(&format!("method.rmfer.{key}"), value).unwrap();
    }
    exp.unlabeled.source = UnlabeledSource::SyntheticClips;
    exp.unlabeled.videos = 3;
    exp.unlabeled.people = 4;
    exp.unlabeled.frames = 12;
    exp.optimizer.sam_rho = 0.05;
    exp.train.sampler = ferlab::contract::config::Sampler::ClassBalanced;
    exp.train.embedding_every = 1;
    exp.train.embedding_points = 60;
    exp
}

/// (epoch, loss terms, validation overall) of each epoch.
fn epochs(events: &[Event]) -> Vec<(usize, Vec<String>, f32, f32)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::EpochEnd { epoch, train, val } => Some((
                *epoch,
                train.terms.keys().cloned().collect(),
                train.loss,
                val.overall,
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn rmfer_trains_with_clips_embeds_off_thread_and_resumes_exactly() {
    let out = tempfile::tempdir().unwrap();
    let exp = rmfer_experiment(out.path());
    assert!(
        exp.validate(&REGISTRY).is_empty(),
        "{:?}",
        exp.validate(&REGISTRY)
    );
    let (full, pieced) = common::full_and_resumed(exp, (1, 3));
    assert_eq!(epochs(&pieced), epochs(&full), "resumed mid-ACL epoch");

    let e = epochs(&full);
    assert_eq!(e.len(), 3);
    // IAL from the start, ACL from epoch_pre = 1 on.
    assert_eq!(e[0].1, ["ce", "ial"]);
    assert_eq!(e[1].1, ["acl", "ce", "ial"]);
    assert!(e.iter().all(|x| x.2.is_finite()));

    let embeddings: Vec<_> = full
        .iter()
        .filter_map(|e| match e {
            Event::Embedding { snapshot, .. } => Some(snapshot.as_ref().clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        embeddings.iter().map(|s| s.epoch).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    for s in &embeddings {
        assert_eq!(s.len(), 60);
        assert_eq!(s.mds.len(), 120);
        assert_eq!(s.tsne.len(), 120, "perplexity lowered for 60 points");
        assert!(s.cosine_same.is_finite() && s.cosine_different.is_finite());
        assert_eq!(s.centre_distance.len(), 7);
        // Stratified: all 7 classes of the validation split are among the points.
        let mut seen = s.labels.clone();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 7);
    }
    // The filter report rides with the embeddings of ACL epochs; the clips have truth.
    assert!(embeddings[0].filter.is_none());
    let f = embeddings[2]
        .filter
        .as_ref()
        .expect("ACL epoch has a filter report");
    let steps = 280usize.div_ceil(32);
    assert_eq!(f.anchors, 4 * steps);
    assert_eq!(
        f.positives_kept, f.anchors,
        "3 candidates per frame, γ 0.1: keep 1"
    );
    assert_eq!(f.positive_candidates, 3 * f.anchors);
    let (kept, cand) = (
        f.kept_positive_ratio().unwrap(),
        f.candidate_positive_ratio().unwrap(),
    );
    assert!((0.0..=1.0).contains(&kept) && (0.0..=1.0).contains(&cand));
    // The faces behind the points come once per session (twice in the pieced run).
    let faces = |ev: &[Event]| {
        ev.iter()
            .filter(|e| matches!(e, Event::EmbeddingFaces { .. }))
            .count()
    };
    assert_eq!((faces(&full), faces(&pieced)), (1, 2));
    // Every embedding arrives before the run's terminal event.
    let finished = full
        .iter()
        .position(|e| matches!(e, Event::Finished { .. }))
        .unwrap();
    let last_embedding = full
        .iter()
        .rposition(|e| matches!(e, Event::Embedding { .. }))
        .unwrap();
    assert!(last_embedding < finished);
}

#[test]
fn ablations_change_the_loss_terms_and_the_table_names_them() {
    let out = tempfile::tempdir().unwrap();
    let mut dirs = Vec::new();
    for (ial, acl, prior, terms) in [
        (false, false, "clip", vec!["ce"]),
        (true, false, "clip", vec!["ce", "ial"]),
        (true, true, "cosine", vec!["acl", "ce", "ial"]),
    ] {
        let mut exp = rmfer_experiment(out.path());
        exp.train.epochs = 2;
        exp.optimizer.sam_rho = 0.0;
        exp.set("method.rmfer.ial", ial).unwrap();
        exp.set("method.rmfer.acl", acl).unwrap();
        exp.set("method.rmfer.prior", prior).unwrap();
        exp.set("method.rmfer.candidates", 20).unwrap();
        let (dir, _, events) = common::run_collect(exp, None);
        assert_eq!(epochs(&events)[1].1, terms, "ial {ial} acl {acl} {prior}");
        if acl {
            // Cosine sampling: one pool of 20 faces per step, 2 kept each way per anchor.
            let f = events
                .iter()
                .rev()
                .find_map(|e| match e {
                    Event::Embedding { snapshot, .. } => snapshot.filter.clone(),
                    _ => None,
                })
                .unwrap();
            assert_eq!(f.positives_kept, 2 * f.anchors);
            assert_eq!(f.negatives_kept, 2 * f.anchors);
            assert!(f.positive_candidates >= 19 * f.anchors);
        }
        dirs.push(dir.root);
    }
    let results: Vec<_> = dirs
        .iter()
        .map(|d| read_run(d, &REGISTRY).unwrap())
        .collect();
    let methods: Vec<&str> = results.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(
        methods,
        [
            "RMFER w/o ACL & IAL",
            "RMFER w/o ACL",
            "RMFER, ACL w/o clip prior"
        ]
    );
    let table = Table::embeddings(&results)
        .unwrap()
        .render(TableFormat::Markdown);
    assert!(table.contains("| cos gap |"), "{table}");
    assert_eq!(table.lines().count(), 2 + 3, "{table}");
    // The filter ratio columns are filled for the ACL run only.
    let row = |name: &str| table.lines().find(|l| l.contains(name)).unwrap();
    assert!(!row("w/o clip prior").contains('–'), "{table}");
    assert!(row("w/o ACL & IAL").contains("| – | – | – |"), "{table}");
}

#[test]
fn rmfer_reads_clips_from_a_folder_and_bad_settings_are_named() {
    let out = tempfile::tempdir().unwrap();
    let clips = out.path().join("clips");
    for video in ["a", "b"] {
        for frame in 0..10 {
            for face in ["p1", "p2", "p3"] {
                let path = clips
                    .join(video)
                    .join(frame.to_string())
                    .join(format!("{face}.png"));
                common::write_image(&path, 40, frame * 3 + face.len() as u32);
            }
        }
    }
    let mut exp = rmfer_experiment(&out.path().join("runs"));
    exp.unlabeled.source = UnlabeledSource::Clips;
    exp.unlabeled.path = clips.clone();
    exp.train.epochs = 2;
    exp.optimizer.sam_rho = 0.0;
    let (_, _, events) = common::run_collect(exp.clone(), None);
    let logged = events
        .iter()
        .any(|e| matches!(e, Event::Log { text, .. } if text.contains("2 videos, 60 faces")));
    assert!(logged, "the clips' origin is logged");
    let f = events
        .iter()
        .find_map(|e| match e {
            Event::Embedding { snapshot, .. } if snapshot.epoch == 1 => snapshot.filter.clone(),
            _ => None,
        })
        .unwrap();
    assert!(!f.measured, "user clips carry no truth");
    assert_eq!(f.kept_positive_ratio(), None);
    assert_eq!(
        f.positive_candidates,
        2 * f.anchors,
        "two other faces per frame"
    );

    // ACL without unlabeled faces, and a clip folder that does not exist, are named.
    let mut bad = exp.clone();
    bad.unlabeled.source = UnlabeledSource::None;
    let problems = bad.validate(&REGISTRY);
    assert!(
        problems.iter().any(|p| p.path == "unlabeled.source"),
        "{problems:?}"
    );
    bad.unlabeled.source = UnlabeledSource::Clips;
    bad.unlabeled.path = out.path().join("missing");
    assert!(
        bad.validate(&REGISTRY)
            .iter()
            .any(|p| p.path == "unlabeled.path")
    );
    bad.unlabeled.path = clips;
    bad.set("method.rmfer.epoch_pre", 5).unwrap();
    assert!(
        bad.validate(&REGISTRY)
            .iter()
            .any(|p| p.path == "method.rmfer.epoch_pre")
    );
}
