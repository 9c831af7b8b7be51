//! Runs written before the layers were redrawn (`tests/fixtures/run-2026-12`: a 3-epoch ASM
//! run on tiny synthetic faces, events, config and checkpoints as ferlab wrote them on
//! 2026-12-02) still open everywhere a run is read: the fold, `ferlab table`, `ferlab
//! export`, `ferlab eval`, and the workbench.

use super::common::{ferlab, succeed};
use ferlab::compute::method::REGISTRY;

use std::path::{Path, PathBuf};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use ferlab::contract::run::results::read_run;
use ferlab::contract::run::view::{RunOutcome, RunStatus, RunView};
use ferlab::views::ui::Workbench;

const RUN_ID: &str = "fixture-20261202-071927";

/// A copy of the fixture in a temporary folder (readers may lock or write beside it).
fn fixture_copy() -> (tempfile::TempDir, PathBuf) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run-2026-12");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(RUN_ID);
    std::fs::create_dir_all(dir.join("checkpoints")).unwrap();
    for file in [
        "events.jsonl",
        "config.toml",
        "checkpoints/best.safetensors",
        "checkpoints/last.safetensors",
    ] {
        std::fs::copy(src.join(file), dir.join(file)).unwrap();
    }
    (tmp, dir)
}

#[test]
fn the_fold_reads_every_event_of_a_run_in_todays_format() {
    let (_tmp, dir) = fixture_copy();
    let view = RunView::replay(&dir).unwrap();
    assert!(view.unreadable.is_empty(), "{:?}", view.unreadable);
    assert_eq!(view.run_id, RUN_ID);
    assert_eq!(view.status, RunStatus::Finished);
    assert_eq!(view.outcome(), RunOutcome::Finished);
    assert_eq!(view.classes.len(), 7);
    assert_eq!(view.epochs.len(), 3);
    assert_eq!(view.best().map(|b| b.epoch), Some(2));
    // ASM warms up one epoch (all clean, no thresholds), then mines.
    assert_eq!(view.mining.len(), 3);
    assert!(view.mining[0].1.thresholds.is_none());
    assert!(view.mining[2].1.thresholds.is_some());
    assert!(view.mining[2].1.quality.is_some());
    assert_eq!(view.attention.len(), 3);
    assert_eq!(view.embeddings.len(), 3);
    assert_eq!(view.embeddings[0].1.len(), 21);
    assert!(view.embedding_faces.is_some());
    assert!(view.span_secs > 0.0);

    let result = read_run(&dir, &REGISTRY).unwrap();
    assert_eq!(result.method, "ASM-AT [0.2, 0.8]");
    assert_eq!(result.best_epoch, 2);
    assert_eq!(result.epochs, 3);
    assert_eq!(result.outcome, RunOutcome::Finished);
    // 8 of the 42 validation faces, as the run reported.
    assert!(
        (result.best_overall - 8.0 / 42.0).abs() < 1e-6,
        "{}",
        result.best_overall
    );
    assert!(result.mining.is_some());
}

#[test]
fn table_export_and_eval_read_a_run_in_todays_format() {
    let (tmp, dir) = fixture_copy();
    let table = succeed(ferlab().arg("table").arg(tmp.path()));
    assert!(table.contains("ASM-AT [0.2, 0.8]"), "{table}");
    assert!(table.contains(RUN_ID), "{table}");

    let figures = tmp.path().join("figures");
    succeed(
        ferlab()
            .arg("export")
            .arg(&dir)
            .args(["--format", "png", "--out"])
            .arg(&figures),
    );
    // `ferlab export` writes each run's figures into a folder named after the run.
    let written: Vec<String> = std::fs::read_dir(figures.join(RUN_ID))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for figure in [
        "curves",
        "confusion",
        "thresholds",
        "attention",
        "embedding",
    ] {
        assert!(
            written
                .iter()
                .any(|w| w.contains(figure) && w.ends_with(".png")),
            "no {figure} figure in {written:?}"
        );
    }

    // The best checkpoint evaluates to the accuracy the run recorded for it.
    let eval = succeed(ferlab().arg("eval").arg(&dir));
    assert!(eval.contains("overall accuracy 19.05%"), "{eval}");
}

#[test]
fn the_workbench_opens_a_run_in_todays_format() {
    let (tmp, dir) = fixture_copy();
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(
            |ui, wb: &mut Workbench| wb.ui(ui),
            Workbench::new(tmp.path().join("presets")),
        );
    h.state_mut().open_run(&dir);
    h.run_steps(4);
    let view = &h.state().view;
    assert_eq!(view.run_id, RUN_ID);
    assert_eq!(view.status, RunStatus::Finished);
    assert_eq!(view.epochs.len(), 3);
    assert!(
        h.query_by_label_contains(&format!("opened {RUN_ID}"))
            .is_some(),
        "the toolbar does not say the run was opened"
    );
}
