//! The workbench driven like a user would: click by label, step frames, read the state.
//! Training runs on the engine's thread while the harness keeps stepping frames.

use super::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use ferlab::contract::event::DataStats;
use ferlab::contract::event::FilterReport;
use ferlab::contract::event::Metrics;
use ferlab::contract::event::attention::{
    AttentionFace, AttentionSnapshot, FaceSource, encode_f32,
};
use ferlab::contract::event::mining::{
    ClassThresholds, MiningQuality, MiningReport, MoveRecord, MovedSample, SetQuality, Subset,
};
use ferlab::contract::event::{EmbeddingFaces, EmbeddingSnapshot};
use ferlab::contract::event::{Event, TrainSummary};
use ferlab::contract::run::view::{RunStatus, RunView};
use ferlab::views::ui::Workbench;
use ferlab::views::ui::panels::attention::AttentionPanel;
use ferlab::views::ui::panels::confusion::ConfusionPanel;
use ferlab::views::ui::panels::curves::CurvesPanel;
use ferlab::views::ui::panels::embedding::EmbeddingPanel;
use ferlab::views::ui::panels::mining::MiningPanel;
use ferlab::views::ui::panels::results::ResultsPanel;
use ferlab::views::ui::panels::runs::RunsPanel;
use ferlab::views::ui::path_prompt::PromptAction;

/// A preset small enough to train in seconds.
fn write_tiny_preset(dir: &Path, runs: &Path, epochs: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let text = format!(
        r#"name = "tiny"
seed = 3

[data]
source = "synthetic"
image_size = 48

[data.synthetic]
train_per_class = 24
val_per_class = 8
identities = 20

[model]
backbone = "small_cnn"
width = 8

[optimizer]
kind = "adamw"
lr = 0.003

[train]
epochs = {epochs}
batch_size = 16

[output]
dir = "{}"
"#,
        runs.display()
    );
    std::fs::write(dir.join("tiny.toml"), text).unwrap();
}

fn harness(presets: &Path) -> Harness<'static, Workbench> {
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(
            |ui, wb: &mut Workbench| wb.ui(ui),
            Workbench::new(presets.to_path_buf()),
        )
}

/// A workbench with the one-epoch tiny preset (runs under `dir/runs`) loaded in the editor.
fn tiny_loaded(dir: &Path) -> Harness<'static, Workbench> {
    let presets = dir.join("presets");
    write_tiny_preset(&presets, &dir.join("runs"), 1);
    let mut h = harness(&presets);
    h.get_by_label("tiny.toml").click();
    // One frame takes the click; the next draws its outcome.
    h.run_steps(2);
    h
}

/// Steps frames (as a window would, ~60 per second) until `done` holds.
fn step_until(
    h: &mut Harness<'_, Workbench>,
    what: &str,
    timeout: Duration,
    done: impl Fn(&Workbench) -> bool,
) {
    let start = Instant::now();
    while !done(h.state()) {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        h.step();
        std::thread::sleep(Duration::from_millis(15));
    }
}

#[test]
fn preset_start_stream_stop_and_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let presets = tmp.path().join("presets");
    let runs = tmp.path().join("runs");
    write_tiny_preset(&presets, &runs, 40);
    let mut h = harness(&presets);

    h.get_by_label("tiny.toml").click();
    // One frame takes the click; the next draws its outcome.
    h.run_steps(2);
    assert_eq!(h.state().editor.experiment.name, "tiny");
    assert_eq!(h.state().editor.experiment.train.epochs, 40);

    h.get_by_label("Start").click();
    h.run_steps(2);
    assert!(
        h.state().is_running(),
        "Start did not launch a run: {:?}",
        h.state().notice
    );
    assert!(
        h.get_by_label("Start").accesskit_node().is_disabled(),
        "Start stays enabled while a run is going"
    );

    // Frames keep coming while the engine trains: panels fill from its events.
    step_until(
        &mut h,
        "two evaluated epochs",
        Duration::from_secs(300),
        |wb| wb.view.epochs.len() >= 2,
    );
    let view = &h.state().view;
    assert_eq!(view.classes.len(), 7);
    let m = view.latest().unwrap();
    assert_eq!(m.confusion.iter().flatten().sum::<u32>() as usize, 7 * 8);
    assert!(
        h.query_by_label_contains("epoch 2: overall").is_some(),
        "confusion header missing"
    );

    h.get_by_label("Stop").click();
    step_until(&mut h, "the run to stop", Duration::from_secs(120), |wb| {
        !wb.is_running()
    });
    let stopped = h.state().view.clone();
    assert_eq!(
        stopped.status,
        RunStatus::Stopped,
        "40 epochs cannot have finished"
    );
    let run_dir = std::fs::read_dir(&runs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert!(run_dir.join("events.jsonl").is_file());
    assert!(
        run_dir
            .join("checkpoints")
            .join("last.safetensors")
            .is_file()
    );

    // The runs browser lists the run; Open replays its events into the panels.
    h.state_mut().view = RunView::default();
    h.state_mut().show_panel::<RunsPanel>();
    h.step();
    h.get_by_label("Refresh").click();
    h.step();
    h.get_by_label("Open").click();
    h.step();
    let reopened = &h.state().view;
    assert_eq!(reopened.run_id, stopped.run_id);
    assert_eq!(reopened.epochs.len(), stopped.epochs.len());
    assert_eq!(reopened.latest(), stopped.latest());
    assert_eq!(reopened.status, RunStatus::Stopped);
}

#[test]
fn invalid_field_shows_its_problem_and_disables_start() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = tiny_loaded(tmp.path());
    assert!(!h.get_by_label("Start").accesskit_node().is_disabled());

    h.state_mut().editor.experiment.output.dir = std::path::PathBuf::new();
    h.step();
    h.step();
    assert!(h.get_by_label("Start").accesskit_node().is_disabled());
    assert!(
        h.query_by_label("must not be empty").is_some(),
        "the problem is not shown beside its field"
    );

    h.state_mut().editor.experiment.output.dir = tmp.path().join("runs");
    h.step();
    h.step();
    assert!(!h.get_by_label("Start").accesskit_node().is_disabled());

    // Numbers out of range stay as typed (a slider or number field clamped them before),
    // show the command line's message and keep Start disabled.
    h.state_mut().editor.experiment.optimizer.lr = -0.01;
    h.state_mut().editor.experiment.train.epochs = 0;
    h.run_steps(3);
    let e = &h.state().editor.experiment;
    assert_eq!(e.optimizer.lr, -0.01, "the learning rate was changed");
    assert_eq!(e.train.epochs, 0, "the epochs were changed");
    assert!(h.get_by_label("Start").accesskit_node().is_disabled());
    h.get_by_label("must be a positive number, got -0.01");
    h.get_by_label("must be between 1 and 100000, got 0");
}

#[test]
fn the_form_draws_each_methods_fields_from_its_schema_and_checks_them() {
    use ferlab::compute::method::REGISTRY;
    use ferlab::contract::config::Methods;
    let tmp = tempfile::tempdir().unwrap();
    let mut h = tiny_loaded(tmp.path());
    let table = |h: &Harness<'_, Workbench>| h.state().editor.experiment.to_table();
    for schema in REGISTRY.schemas() {
        h.state_mut().editor.experiment.method.name = schema.key.into();
        h.run_steps(2);
        let shown = table(&h);
        for field in schema.fields.iter().filter(|f| f.applies(&shown)) {
            assert!(
                h.query_all_by_label(field.label).count() >= 1,
                "{}: no row labelled {:?}",
                schema.key,
                field.label
            );
        }
    }
    // A method's rule shows beside its field: ASM's clean threshold below the noisy one.
    h.state_mut().editor.experiment.method.name = "asm".into();
    h.state_mut()
        .editor
        .experiment
        .set("method.asm.clean_threshold", 0.1)
        .unwrap();
    h.run_steps(3);
    assert!(h.get_by_label("Start").accesskit_node().is_disabled());
    h.get_by_label("must be above method.asm.noisy_threshold (0.2), got 0.1");
    // A field not in effect is not drawn: λ_max only with MAN's ramp.
    assert!(h.query_all_by_label("λ_max").count() > 0);
    h.state_mut()
        .editor
        .experiment
        .set("method.asm.ramp", "progress")
        .unwrap();
    h.run_steps(2);
    assert_eq!(h.query_all_by_label("λ_max").count(), 0);
    // A widget's edit reaches the experiment through the form.
    // (An accessibility click: the row lies below the harness's 800 px.)
    h.query_all_by_label("stop-gradient")
        .find(|n| n.accesskit_node().role() == egui::accesskit::Role::CheckBox)
        .expect("the stop-gradient checkbox")
        .click_accesskit();
    h.run_steps(2);
    assert_eq!(
        table(&h)["method"]["asm"]["stop_gradient"].as_bool(),
        Some(true)
    );
    // Switching methods keeps the other's section as it was.
    h.state_mut().editor.experiment.method.name = "cb".into();
    h.run_steps(2);
    let kept = table(&h);
    assert_eq!(
        kept["method"]["asm"]["ramp"].as_str(),
        Some("progress"),
        "{kept:?}"
    );
}

#[test]
fn the_toolbar_cuts_long_run_names_and_start_says_what_blocks_it() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = tiny_loaded(tmp.path());
    let long = format!("tiny-{}", "a-very-long-run-name".repeat(12));
    h.state_mut().view.run_id = long.clone();
    h.run_steps(2);
    let theme = h.get_by_label("System").rect();
    let status = h
        .query_all_by_label_contains("tiny-a-very-long-run-name")
        .map(|n| n.rect())
        .next()
        .expect("the status label");
    assert!(
        status.max.x <= theme.min.x,
        "the run name {status:?} runs under the theme switch {theme:?}"
    );

    // Disabled Start names every problem on hover.
    h.state_mut().editor.experiment.output.dir = std::path::PathBuf::new();
    h.state_mut().editor.experiment.train.epochs = 0;
    h.run_steps(2);
    h.get_by_label("Start").hover();
    h.run_steps(60);
    for line in [
        "fix these first",
        "• output.dir: must not be empty",
        "• train.epochs: must be between 1 and 100000, got 0",
    ] {
        assert!(
            h.query_all_by_label_contains(line).next().is_some(),
            "Start's hover text lacks {line:?}"
        );
    }
}

#[test]
fn the_preset_list_starts_compact_groups_and_searches() {
    use egui::accesskit::Role;
    // The presets that ship, at 1024 × 640: groups collapsed, the editor's fields in view.
    let mut h = Harness::builder()
        .with_size(egui::vec2(1024.0, 640.0))
        .build_ui_state(
            |ui, wb: &mut Workbench| wb.ui(ui),
            Workbench::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("presets")),
        );
    h.run_steps(2);
    h.get_by_label("Getting started (4)");
    h.get_by_label("Imbalanced FER2013 (LNSU and baselines) (15)");
    assert!(
        h.query_by_label("quick.toml").is_none(),
        "groups start collapsed"
    );
    let name_field = h
        .query_all_by_label("name")
        .find(|n| n.accesskit_node().role() == Role::TextInput)
        .expect("the name field");
    assert!(
        name_field.rect().max.y < 640.0,
        "the editor's first field is below the window: {:?}",
        name_field.rect()
    );
    // Searching opens the groups with matches, by name or description.
    let search = h
        .query_all_by_label("Presets:")
        .find(|n| n.accesskit_node().role() == Role::TextInput)
        .expect("the preset search");
    search.focus();
    search.type_text("uncertainty");
    h.run_steps(2);
    h.get_by_label("rul-fer2013-imb100.toml");
    h.get_by_label("RUL (relative uncertainty learning) on FER2013 cut to imbalance factor 100");
    assert!(h.query_by_label("lnsu-fer2013-imb100.toml").is_none());
    h.get_by_label("rul-fer2013-imb50.toml").click();
    h.run_steps(2);
    assert_eq!(h.state().editor.experiment.name, "rul-fer2013-imb50");
}

#[test]
fn a_first_launch_says_where_to_begin_until_a_run_is_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = tiny_loaded(tmp.path());
    h.state_mut().editor.first_launch = true;
    h.run_steps(2);
    h.get_by_label(ferlab::views::ui::app::FIRST_LAUNCH);
    h.state_mut().view.run_id = "tiny-20260101-120000".into();
    h.run_steps(2);
    assert!(
        h.query_by_label(ferlab::views::ui::app::FIRST_LAUNCH)
            .is_none()
    );
}

#[test]
fn the_shown_run_ticked_for_overlay_is_drawn_once() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = tiny_loaded(tmp.path());
    let mut shown = fixed_view();
    shown.run_dir = Some(tmp.path().join("runs/fixture"));
    let mut other = fixed_view();
    other.run_dir = Some(tmp.path().join("runs/other"));
    h.state_mut().view = shown.clone();
    h.state_mut().overlays = vec![shown];
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("overlaid:").is_none(),
        "the shown run is overlaid on itself"
    );
    h.state_mut().overlays.push(other);
    h.run_steps(2);
    h.get_by_label("overlaid: 1 run(s)");
}

#[test]
fn a_problem_in_a_collapsed_section_is_still_shown() {
    // Augmentation and Schedule start collapsed: a loaded preset's problem there must not
    // leave Start disabled without a word.
    let tmp = tempfile::tempdir().unwrap();
    let mut h = tiny_loaded(tmp.path());
    h.state_mut().editor.experiment.augment.brightness = 2.0;
    h.run_steps(3);
    assert!(h.get_by_label("Start").accesskit_node().is_disabled());
    assert!(
        h.query_by_label_contains("augment.brightness: must be in [0, 1], got 2")
            .is_some(),
        "the problem of a collapsed section is not shown"
    );
}

/// Whether this machine can render the harness. Without a Vulkan / GL adapter (no Mesa)
/// there is nothing to compare and the snapshot is skipped; CI installs Mesa and sets
/// FERLAB_REQUIRE_RENDER, so there a failure to render fails the test.
pub(crate) fn can_render<S>(h: &mut Harness<'_, S>) -> bool {
    match h.render() {
        Ok(_) => true,
        Err(e) => {
            assert!(
                std::env::var_os("FERLAB_REQUIRE_RENDER").is_none(),
                "cannot render: {e}"
            );
            eprintln!("skipped a snapshot comparison: cannot render ({e})");
            false
        }
    }
}

/// The Started event of the fixed run (4 epochs of 10 steps, 7 classes).
fn fixed_started(run_id: &str, run_dir: &str) -> Event {
    let classes: Vec<String> = ferlab::contract::config::classes::CANONICAL
        .map(String::from)
        .to_vec();
    Event::Started {
        run_id: run_id.into(),
        run_dir: run_dir.into(),
        classes: classes.clone(),
        data: DataStats {
            origin: "fixture".into(),
            classes,
            train_counts: vec![300; 7],
            val_counts: vec![20; 7],
            noise_rate: Some(0.0),
            imbalance_factor: 1.0,
            blended: Some(0),
            skipped: 0,
        },
        num_parameters: 1000,
        device: "cpu".into(),
        epochs: 4,
        steps_per_epoch: 10,
        batch_size: 64,
        resumed_at: None,
        config: String::new(),
    }
}

/// A run view built from fixed events, so its rendering is the same on every machine.
pub(crate) fn fixed_view() -> RunView {
    let mut view = RunView::default();
    view.apply(&fixed_started(
        "fixture-20260101-120000",
        "runs/fixture-20260101-120000",
    ));
    view.apply(&Event::EmbeddingFaces {
        faces: Box::new(fixed_embedding_faces()),
    });
    for epoch in 0..4 {
        // Class c is right on (10 + c + 2·epoch) of its 20 samples; the rest go to c+1.
        let (mut truth, mut pred) = (Vec::new(), Vec::new());
        for c in 0..7u32 {
            for i in 0..20u32 {
                truth.push(c);
                pred.push(if i < 10 + c + 2 * epoch as u32 {
                    c
                } else {
                    (c + 1) % 7
                });
            }
        }
        let val = Metrics::from_predictions(&truth, &pred, 7, 1.5 - 0.2 * epoch as f32);
        let train = TrainSummary {
            loss: 1.8 - 0.3 * epoch as f32,
            terms: BTreeMap::new(),
            accuracy: 0.4 + 0.1 * epoch as f32,
            images_per_sec: 600.0,
            seconds: 3.5,
            data_wait_secs: 0.0,
            lr: 0.002 * (1.0 - epoch as f64 / 4.0),
        };
        view.apply(&Event::Mining {
            epoch,
            report: Box::new(fixed_mining(epoch)),
        });
        if epoch % 2 == 1 {
            view.apply(&Event::Attention {
                epoch,
                snapshot: Box::new(fixed_attention(epoch)),
            });
            view.apply(&Event::Embedding {
                epoch,
                snapshot: Box::new(fixed_embedding(epoch)),
            });
        }
        view.apply(&Event::EpochEnd { epoch, train, val });
    }
    view
}

/// Attention for a fixture epoch: six 32×32 faces with 4×4 maps whose peak moves with the
/// class; the flipped-back maps drift from the originals by the face's number.
fn fixed_attention(epoch: usize) -> AttentionSnapshot {
    let faces = (0..6usize)
        .map(|k| {
            let pixels: Vec<u8> = (0..32 * 32)
                .map(|i: i32| (((i % 32) - 16).abs() * 6 + (i / 32) * 3) as u8)
                .collect();
            let maps: Vec<f32> = (0..7 * 16)
                .map(|i| {
                    let (c, cell) = (i / 16, i % 16);
                    let (y, x) = (cell / 4, cell % 4);
                    let d = (x as f32 - (c % 4) as f32).powi(2) + (y as f32 - 1.5).powi(2);
                    (-d / 2.0).exp()
                })
                .collect();
            let flipped: Vec<f32> = maps
                .iter()
                .enumerate()
                .map(|(i, v)| v + 0.05 * k as f32 * ((i % 4) as f32 - 1.5))
                .collect();
            let label = (k % 7) as u32;
            AttentionFace {
                index: 10 * k,
                id: format!("val/{k}.png"),
                source: if k < 4 {
                    FaceSource::Gallery
                } else {
                    FaceSource::LeastConsistent
                },
                label,
                prediction: if k % 3 == 0 { (label + 1) % 7 } else { label },
                probabilities: vec![1.0 / 7.0; 7],
                pixels: ferlab::contract::codec::base64_encode(&pixels),
                maps: encode_f32(&maps),
                flipped_back: encode_f32(&flipped),
                consistency: (0..7)
                    .map(|c| 0.001 * (k * k) as f32 * (1.0 + 0.1 * c as f32))
                    .collect(),
            }
        })
        .collect();
    AttentionSnapshot {
        epoch,
        image_size: 32,
        map_height: 4,
        map_width: 4,
        per_class: (0..7)
            .map(|c| 0.02 / (epoch + 1) as f32 + 0.001 * c as f32)
            .collect(),
        mean: 0.02 / (epoch + 1) as f32 + 0.003,
        count: 140,
        faces,
    }
}

/// 70 validation faces (ten per class) on a ring of class clusters that tighten with the
/// epoch; t-SNE and MDS coordinates are fixed here so the rendering is the same everywhere.
fn fixed_embedding(epoch: usize) -> EmbeddingSnapshot {
    let n = 70;
    let spread = 0.5 / (epoch + 1) as f32;
    let xy = |stretch: f32| -> Vec<f32> {
        (0..n)
            .flat_map(|i| {
                let (c, j) = (i / 10, i % 10);
                let angle = c as f32 / 7.0 * std::f32::consts::TAU;
                let wobble = (j as f32 * 2.4).sin() * spread;
                let radial = (j as f32 * 1.7).cos() * spread;
                [
                    stretch * (3.0 + radial) * angle.cos() + wobble,
                    (3.0 + radial) * angle.sin() - wobble,
                ]
            })
            .collect()
    };
    EmbeddingSnapshot {
        epoch,
        indices: (0..n).map(|i| 2 * i).collect(),
        labels: (0..n).map(|i| (i / 10) as u32).collect(),
        predictions: (0..n)
            .map(|i| {
                if i % 10 == 9 {
                    ((i / 10 + 1) % 7) as u32
                } else {
                    (i / 10) as u32
                }
            })
            .collect(),
        tsne: xy(1.0),
        mds: xy(0.6),
        tsne_secs: 0.25,
        mds_secs: 0.01,
        centre_distance: (0..7)
            .map(|c| Some(spread * (1.0 + 0.1 * c as f32)))
            .collect(),
        cosine_same: 0.8,
        cosine_different: 0.5 - 0.1 * epoch as f32,
        filter: Some(FilterReport {
            epoch,
            anchors: 100,
            positive_candidates: 700,
            positive_candidates_same: 420,
            positives_kept: 100,
            positives_kept_same: 71,
            negative_candidates: 2000,
            negative_candidates_different: 1740,
            negatives_kept: 200,
            negatives_kept_different: 196,
            measured: true,
        }),
        note: None,
    }
}

fn fixed_embedding_faces() -> EmbeddingFaces {
    let side = 32usize;
    let indices: Vec<usize> = (0..70).map(|i| 2 * i).collect();
    let pixels: Vec<u8> = indices
        .iter()
        .flat_map(|&k| (0..side * side).map(move |i| ((i % side) * 4 + k) as u8))
        .collect();
    EmbeddingFaces {
        image_size: side,
        ids: indices.iter().map(|i| format!("val/{i}.png")).collect(),
        indices,
        pixels: ferlab::contract::codec::base64_encode(&pixels),
    }
}

/// ASM's report for a fixture epoch: warm-up first, then thresholds that spread by class
/// and a noisy set that grows, with a few moved samples.
fn fixed_mining(epoch: usize) -> MiningReport {
    let e = epoch as f32;
    let class_mean: Vec<f32> = (0..7).map(|c| 0.3 + 0.05 * e + 0.03 * c as f32).collect();
    let thresholds = (epoch > 0).then(|| ClassThresholds {
        noisy: class_mean.iter().map(|m| 0.2 * (m - 0.05)).collect(),
        clean: class_mean.iter().map(|m| 0.8 * (m - 0.05)).collect(),
    });
    let counts = (0..7)
        .map(|c| {
            if epoch == 0 {
                [300, 0, 0]
            } else {
                let noisy = 20 * epoch + 3 * c;
                let amb = 40 + 5 * c;
                [300 - noisy - amb, amb, noisy]
            }
        })
        .collect();
    let moved = (0..if epoch == 0 { 0 } else { 6 })
        .map(|k: usize| {
            let pixels: Vec<u8> = (0..32 * 32)
                .map(|i| ((i % 32) * 6 + (i / 32) * 2 + k * 20) as u8)
                .collect();
            MovedSample {
                index: k * 17,
                from: Subset::Clean,
                to: if k.is_multiple_of(2) {
                    Subset::Noisy
                } else {
                    Subset::Ambiguous
                },
                given: (k % 7) as u8,
                predicted: ((k + 1) % 7) as u8,
                truth: Some(((k + (k % 2)) % 7) as u8),
                confidence: 0.05 * k as f32,
                size: 32,
                thumbnail: ferlab::contract::codec::base64_encode(&pixels),
            }
        })
        .collect();
    let quality = MiningQuality {
        noisy: SetQuality {
            precision: (epoch > 0).then_some(0.9 - 0.02 * e),
            recall: Some(0.15 * e),
        },
        clean: SetQuality {
            precision: Some(0.7 + 0.05 * e),
            recall: Some(1.0 - 0.05 * e),
        },
        noise_rate: 0.3,
    };
    MiningReport {
        thresholds,
        base: (0.2, 0.8),
        adaptive: true,
        class_mean,
        counts,
        moves: [[0, 3 * epoch, 3 * epoch], [epoch, 0, 0], [0, 0, 0]],
        quality: Some(quality),
        moved,
        moves_listed: Vec::new(),
    }
}

#[test]
fn panels_render_like_the_snapshot() {
    // Relative paths: the editor shows them, and they must read the same on every machine.
    let root = Path::new("target/workbench-snapshot");
    let presets = root.join("presets");
    write_tiny_preset(&presets, &root.join("runs"), 4);
    let mut h = harness(&presets);
    // The run first: showing it hides the first-launch hint, which moves the presets.
    h.state_mut().view = fixed_view();
    h.run_steps(2);
    h.get_by_label("tiny.toml").click();
    h.run_steps(4);
    if !can_render(&mut h) {
        return;
    }
    // Updating: `UPDATE_SNAPSHOTS=1 cargo test --release --test workbench`.
    h.snapshot("workbench_fixed_run");
}

// Each panel alone against its snapshot: `panel_plug::each_panel_of_the_list_renders_like_its_snapshot`.

#[test]
fn threshold_and_mining_tabs_show_the_runs_mining() {
    let root = Path::new("target/workbench-mining");
    let presets = root.join("presets");
    write_tiny_preset(&presets, &root.join("runs"), 4);
    let mut h = harness(&presets);
    h.state_mut().view = fixed_view();
    h.run_steps(2);
    h.get_by_label("Thresholds").click();
    h.run_steps(2);
    h.get_by_label_contains("adaptive (AT), base [T_n, T_c] = [0.2, 0.8]");
    h.get_by_label_contains("1 warm-up epoch(s)");
    h.get_by_label("Sample mining").click();
    h.run_steps(2);
    // Latest epoch: noisy set precision 84.0%, recall 45.0%; six moved samples shown.
    h.get_by_label_contains("noisy set: precision 84.0% recall 45.0%");
    h.get_by_label_contains(
        "Moved in epoch 4: 21 samples (6 listed: a run recorded before every move was listed)",
    );
    assert_eq!(h.query_all_by_label_contains("given ").count(), 6);
    // Back to epoch 2 with the slider's follow switch off: the table follows.
    h.state_mut().panel_mut::<MiningPanel>().unwrap().epoch = Some(2);
    h.run_steps(2);
    h.get_by_label_contains("Moved in epoch 2: 7 samples");
    // While only warm-up epochs are in, the thresholds plot says so instead of an empty frame.
    h.state_mut().view.mining.truncate(1);
    assert!(h.state().view.mining[0].1.thresholds.is_none());
    h.get_by_label("Thresholds").click();
    h.run_steps(2);
    h.get_by_label_contains("no data yet: mining has not started: 1 warm-up epoch(s) so far");
}

#[test]
fn embedding_tab_shows_both_plots_the_measurements_and_the_face_under_the_pointer() {
    let root = Path::new("target/workbench-embedding");
    let presets = root.join("presets");
    write_tiny_preset(&presets, &root.join("runs"), 4);
    let mut h = harness(&presets);
    h.state_mut().view = fixed_view();
    h.run_steps(2);
    h.get_by_label("Embeddings").click();
    h.run_steps(2);
    // The latest embedded epoch (4) with its measurements and the filter's ratios.
    h.get_by_label_contains("epoch 4 · 70 faces · cosine same 0.800 / different 0.200, gap 0.600");
    h.get_by_label_contains(
        "kept positives with the anchor's expression 71.0% (all candidates 60.0%)",
    );
    // Each plot's caption beside its layout switch.
    assert_eq!(h.query_all_by_label("t-SNE").count(), 2);
    assert_eq!(h.query_all_by_label("MDS").count(), 2);
    // Point at a face of the t-SNE plot: its face and labels show in the tooltip.
    let (target, at) = h.state().panel::<EmbeddingPanel>().unwrap().drawn[25];
    h.hover_at(at);
    h.run_steps(40);
    let i = h
        .state()
        .panel::<EmbeddingPanel>()
        .unwrap()
        .hovered
        .expect("a point under the pointer");
    // A class's points may overlap: the nearest one is of the same cluster.
    assert_eq!(i / 10, target / 10);
    let class = ferlab::contract::config::classes::CANONICAL[i / 10];
    h.get_by_label_contains(&format!("label: {class}"));
    h.get_by_label_contains(&format!("val #{} val/{}.png", 2 * i, 2 * i));
    // Back to epoch 2 through the panel's epoch choice.
    h.state_mut().panel_mut::<EmbeddingPanel>().unwrap().pinned = Some(2);
    h.run_steps(2);
    h.get_by_label_contains("epoch 2 · 70 faces · cosine same 0.800 / different 0.400");
    // The pane's figure is the embedding of the shown epoch.
    let out = tempfile::tempdir().unwrap();
    let svg_path = out.path().join("embedding.svg");
    h.state_mut()
        .export_figure(&ferlab::views::figures::embedding::Embedding, &svg_path)
        .unwrap();
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.contains("t-SNE") && svg.contains("classical MDS") && svg.contains("epoch 2,"));
}

#[test]
fn attention_and_results_tabs_follow_real_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let presets = tmp.path().join("presets");
    let runs = tmp.path().join("runs");
    write_tiny_preset(&presets, &runs, 2);
    let mut h = harness(&presets);
    h.get_by_label("tiny.toml").click();
    h.run_steps(2);
    // Two runs on the same data: cross-entropy, then LNSU with its attention maps.
    let mut dirs = Vec::new();
    for method in ["ce", "lnsu"] {
        {
            let exp = &mut h.state_mut().editor.experiment;
            exp.method.name = method.into();
            exp.name = format!("tiny-{method}");
            exp.train.attention_gallery = 8;
        }
        h.run_steps(2);
        h.get_by_label("Start").click();
        h.run_steps(2);
        step_until(
            &mut h,
            "the run to finish",
            Duration::from_secs(300),
            |wb| !wb.is_running() && wb.view.epochs.len() == 2,
        );
        dirs.push(h.state().view.run_dir.clone().unwrap());
    }
    let view = h.state().view.clone();
    assert_eq!(view.attention.len(), 2, "one snapshot per epoch");
    let snap = view.attention[1].1.clone();
    // 8 gallery faces (one or two per class) and 2 of the least consistent others.
    assert_eq!(snap.faces.len(), 10);
    assert_eq!(snap.per_class.len(), 7);
    assert!(snap.mean > 0.0 && snap.mean.is_finite());
    assert_eq!(view.latest().unwrap().flip_mse, Some(snap.mean));

    h.get_by_label("Attention").click();
    h.run_steps(3);
    h.get_by_label_contains(&format!(
        "Validation flip MSE of the {}×{} class maps at epoch 2",
        snap.map_height, snap.map_width
    ));
    h.get_by_label_contains("of 10 faces");
    // The detail grid: a row of maps for the original and one for the flipped face.
    h.get_by_label("original");
    h.get_by_label("flipped");
    let wrong = snap
        .faces
        .iter()
        .filter(|f| f.label != f.prediction)
        .count();
    h.get_by_label("wrong").click();
    h.run_steps(2);
    h.get_by_label_contains(&format!("{wrong} of 10 faces"));
    h.get_by_label("least consistent first").click();
    h.run_steps(2);
    let order: Vec<f32> = h
        .state()
        .panel::<AttentionPanel>()
        .unwrap()
        .filtered(&snap)
        .iter()
        .map(|f| f.mean_consistency())
        .collect();
    assert!(order.windows(2).all(|w| w[0] >= w[1]), "{order:?}");

    // Figures: the toolbar writes the run's whole set; a pane's button writes its own.
    assert!(h.query_all_by_label("Export figure…").count() >= 1);
    h.get_by_label("Export figures").click();
    h.run_steps(2);
    let figures = dirs[1].join("figures");
    // Five figures, each as PNG, SVG and the CSV of its numbers.
    h.get_by_label_contains(&format!("wrote 15 figure files to {}", figures.display()));
    for kind in [
        "curves",
        "confusion",
        "per_class",
        "attention",
        "flip_consistency",
    ] {
        for (ext, least) in [("png", 1000), ("svg", 1000), ("csv", 40)] {
            let f = figures.join(format!("{kind}.{ext}"));
            assert!(
                std::fs::metadata(&f).unwrap().len() > least,
                "{}",
                f.display()
            );
        }
    }
    let single = tmp.path().join("attention-figure.svg");
    h.state_mut()
        .export_figure(&ferlab::views::figures::attention::Attention, &single)
        .unwrap();
    let svg = std::fs::read_to_string(&single).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("flipped back"));

    // Tick both runs in the browser; the results table lists them per class.
    for d in &dirs {
        h.state_mut()
            .panel_mut::<RunsPanel>()
            .unwrap()
            .overlay
            .insert(d.clone());
    }
    h.get_by_label("Results table").click();
    h.run_steps(3);
    h.get_by_label_contains("accuracy % at each run's best epoch");
    assert!(h.query_by_label("LNSU").is_some() && h.query_by_label("CE").is_some());
    h.get_by_label("Copy LaTeX").click();
    h.step();
    // The text goes to the platform (`ferlab check-window` checks that it reaches the
    // desktop's clipboard).
    let copied = h
        .output()
        .platform_output
        .commands
        .iter()
        .find_map(|c| match c {
            egui::OutputCommand::CopyText(t) => Some(t.clone()),
            _ => None,
        });
    assert!(
        copied
            .as_deref()
            .is_some_and(|t| t.contains("\\begin{tabular}")),
        "{copied:?}"
    );
    h.step();
    h.get_by_label_contains("Copy LaTeX: copied to the clipboard");
    // Save… asks for a path, beside the runs, and says where it wrote.
    h.get_by_label("Save…").click();
    h.run_steps(2);
    let default = runs.join("results-per-class.tex");
    assert_eq!(
        h.state().prompt.as_ref().map(|p| p.path()),
        Some(default.clone())
    );
    h.get_by_label("Save").click();
    h.run_steps(2);
    assert!(h.state().prompt.is_none());
    assert!(
        std::fs::read_to_string(&default)
            .unwrap()
            .contains("\\begin{tabular}")
    );
    // Said in the table's line and in the toolbar.
    assert!(
        h.query_all_by_label_contains(&format!("saved {}", default.display()))
            .count()
            >= 1
    );
    let out = tmp.path().join("table.csv");
    h.state_mut()
        .panel_mut::<ResultsPanel>()
        .unwrap()
        .save_to(&out)
        .unwrap();
    let csv = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("method,surprise,fear,"), "{csv}");
    assert!(lines[0].ends_with(",overall,mean,run"), "{csv}");
}

#[test]
fn a_sweep_shows_as_a_group_with_its_heat_map() {
    let tmp = tempfile::tempdir().unwrap();
    let presets = tmp.path().join("presets");
    let runs = tmp.path().join("runs");
    write_tiny_preset(&presets, &runs, 1);
    // A 2 x 2 sweep over CB's beta and the learning rate, run by the binary.
    let sweep_preset = tmp.path().join("sweep.toml");
    let text = std::fs::read_to_string(presets.join("tiny.toml")).unwrap()
        + "[method]\nname = \"cb\"\n[sweep]\n[sweep.grid]\n\"method.cb.beta\" = [0.9, 0.999]\n\"optimizer.lr\" = [0.003, 0.01]\n";
    std::fs::write(&sweep_preset, text).unwrap();
    common::succeed(
        std::process::Command::new(env!("CARGO_BIN_EXE_ferlab"))
            .arg("sweep")
            .arg(&sweep_preset),
    );

    let mut h = harness(&presets);
    h.get_by_label("tiny.toml").click();
    h.run_steps(2);
    h.get_by_label("Runs").click();
    h.run_steps(2);
    h.get_by_label_contains("0 runs and 1 sweeps in");
    h.get_by_label("sweep tiny: 4/4 finished, over method.cb.beta, optimizer.lr");
    h.get_by_label(
        "best overall accuracy %: method.cb.beta (rows) x optimizer.lr (columns), mean over seeds",
    );
    let (group, points) = &h.state().panel::<RunsPanel>().unwrap().sweeps[0];
    assert_eq!(points.len(), 4);
    let map = group.heat_map().unwrap();
    assert_eq!(map.rows, ["0.9", "0.999"]);
    assert_eq!(map.cols, ["0.003", "0.01"]);
    assert!(
        map.values
            .iter()
            .flatten()
            .all(|v| v.is_some_and(|(_, n)| n == 1))
    );
    h.get_by_label("Select all").click();
    h.run_steps(2);
    assert_eq!(h.state().panel::<RunsPanel>().unwrap().overlay.len(), 4);
    h.get_by_label("Results table").click();
    h.run_steps(3);
    assert_eq!(h.query_all_by_label("CB").count(), 4);
}

/// The workbench showing the fixed run (its directory under `tmp`), curves in front.
fn fixed_harness(tmp: &Path) -> Harness<'static, Workbench> {
    let mut h = harness(&tmp.join("presets"));
    let mut view = fixed_view();
    view.run_dir = Some(tmp.join("run"));
    h.state_mut().view = view;
    h.state_mut().show_panel::<CurvesPanel>();
    h.run_steps(3);
    h
}

#[test]
fn a_panes_figure_goes_to_a_typed_path_with_a_default() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = fixed_harness(tmp.path());
    h.query_all_by_label("Export figure…")
        .next()
        .unwrap()
        .click();
    h.run_steps(2);
    let prompt = h
        .state()
        .prompt
        .clone()
        .expect("Export figure… opens no prompt");
    let PromptAction::ExportFigure(kind) = prompt.action else {
        panic!("{:?}", prompt.action)
    };
    let written = tmp
        .path()
        .join("run")
        .join("figures")
        .join(format!("{}.png", kind.key()));
    assert_eq!(prompt.path(), written);
    h.get_by_label("Save").click();
    h.run_steps(2);
    assert!(h.state().prompt.is_none(), "the prompt stays open");
    assert!(std::fs::metadata(&written).unwrap().len() > 1000);
    h.get_by_label_contains(&format!("wrote {}", written.display()));

    // A write that fails keeps the prompt open and says why.
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    h.query_all_by_label("Export figure…")
        .next()
        .unwrap()
        .click();
    h.run_steps(2);
    h.state_mut().prompt.as_mut().unwrap().text = file.join("x.png").display().to_string();
    h.get_by_label("Save").click();
    h.run_steps(2);
    let message = h.state().prompt.as_ref().and_then(|p| p.message.clone());
    assert!(
        message
            .as_deref()
            .is_some_and(|m| m.contains("figure not written")),
        "{message:?}"
    );
    h.get_by_label("Cancel").click();
    h.run_steps(2);
    assert!(h.state().prompt.is_none());
}

#[test]
fn plots_leave_the_wheel_to_the_pane_and_name_the_nearest_point() {
    use egui_plot::{PlotMemory, PlotPoint};
    let tmp = tempfile::tempdir().unwrap();
    let mut h = fixed_harness(tmp.path());
    let id = ferlab::views::ui::panels::plot_id("curves-accuracy");
    let memory = |h: &Harness<'_, Workbench>| PlotMemory::load(&h.ctx, id).expect("no plot");
    let before = memory(&h);
    // Epoch 4's training accuracy: 70%.
    let at = before
        .transform()
        .position_from_point(&PlotPoint::new(4.0, 70.0));
    h.hover_at(at);
    h.run_steps(3);
    assert!(
        h.query_by_label("train %\nepoch 4\n70.000").is_some(),
        "hovering a point does not name it"
    );

    let wheel = |modifiers| egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Line,
        delta: egui::vec2(0.0, -3.0),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Unknown,
        modifiers,
    };
    h.event(wheel(egui::Modifiers::NONE));
    h.run_steps(3);
    assert_eq!(
        memory(&h).bounds(),
        before.bounds(),
        "the wheel moved the plot"
    );
    // A drag that starts on the plot (as on a pane divider) does not pan it either.
    h.drag_at(at);
    h.hover_at(at + egui::vec2(40.0, 30.0));
    h.run_steps(2);
    h.drop_at(at + egui::vec2(40.0, 30.0));
    h.run_steps(2);
    assert_eq!(
        memory(&h).bounds(),
        before.bounds(),
        "a drag panned the plot"
    );
    // With Ctrl held, the wheel zooms.
    h.hover_at(at);
    h.event_modifiers(wheel(egui::Modifiers::COMMAND), egui::Modifiers::COMMAND);
    h.run_steps(3);
    assert_ne!(
        memory(&h).bounds(),
        before.bounds(),
        "Ctrl+wheel did not zoom"
    );
}

#[test]
fn a_run_stopped_before_its_first_evaluation_says_no_data_yet() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = harness(&tmp.path().join("presets"));
    let mut view = RunView::default();
    let dir = tmp.path().join("early").display().to_string();
    view.apply(&fixed_started("early", &dir));
    view.apply(&Event::Progress {
        epoch: 0,
        step: 3,
        steps: 10,
        loss: 1.9,
        lr: 0.001,
        images_per_sec: 500.0,
        eta_secs: 30.0,
    });
    view.apply(&Event::Stopped { epoch: 0, step: 3 });
    h.state_mut().view = view;
    h.state_mut().show_panel::<CurvesPanel>();
    h.run_steps(3);
    assert_eq!(
        h.query_all_by_label_contains("no data yet").count(),
        3,
        "accuracy, learning rate and images/s wait for the first epoch"
    );
    // The loss plot shows the steps' losses, the only data there is.
    let id = ferlab::views::ui::panels::plot_id("curves-loss");
    let bounds = *egui_plot::PlotMemory::load(&h.ctx, id)
        .expect("no loss plot")
        .bounds();
    assert!(
        bounds.min()[1] < 1.9 && bounds.max()[1] > 1.9,
        "the step loss 1.9 is not in the loss plot: {bounds:?}"
    );
}

/// The tiny preset with enough logged steps per epoch to stop inside one, as
/// `resumable.toml`.
fn write_resumable_preset(dir: &Path, runs: &Path) {
    write_tiny_preset(dir, runs, 2);
    let tiny = std::fs::read_to_string(dir.join("tiny.toml")).unwrap();
    let text = tiny
        .replace("name = \"tiny\"", "name = \"resumable\"")
        .replace("train_per_class = 24", "train_per_class = 48")
        .replace("batch_size = 16", "batch_size = 8\nlog_every = 1");
    std::fs::write(dir.join("resumable.toml"), text).unwrap();
}

#[test]
fn a_stopped_run_resumes_from_the_browser_to_the_uninterrupted_result() {
    let tmp = tempfile::tempdir().unwrap();
    let presets = tmp.path().join("presets");
    let runs = tmp.path().join("runs");
    write_resumable_preset(&presets, &runs);
    let mut h = harness(&presets);
    h.get_by_label("resumable.toml").click();
    h.run_steps(2);

    // Start, pause at the first progress report, stop there: inside epoch 1.
    h.get_by_label("Start").click();
    h.run_steps(2);
    step_until(
        &mut h,
        "a progress report",
        Duration::from_secs(120),
        |wb| wb.view.progress.is_some(),
    );
    h.get_by_label("Pause").click();
    step_until(&mut h, "the pause", Duration::from_secs(60), |wb| {
        wb.view.status == RunStatus::Paused
    });
    // Paused, the window asks for no frames of its own.
    h.run_steps(2);
    let delay = h.output().viewport_output[&egui::ViewportId::ROOT].repaint_delay;
    assert_eq!(
        delay,
        Duration::MAX,
        "a paused run keeps the window drawing"
    );
    h.get_by_label("Stop").click();
    step_until(&mut h, "the stop", Duration::from_secs(60), |wb| {
        !wb.is_running()
    });
    let steps = h.state().view.steps_per_epoch;
    let stopped_at = h.state().view.progress.map(|p| (p.epoch, p.step));
    assert!(
        matches!(stopped_at, Some((0, s)) if s > 0 && s < steps),
        "not stopped inside the first epoch: {stopped_at:?} of {steps} steps"
    );

    // The browser offers Resume run for the stopped run; it finishes the run.
    h.state_mut().show_panel::<RunsPanel>();
    h.step();
    h.get_by_label("Refresh").click();
    h.run_steps(2);
    h.get_by_label("Resume run").click();
    h.run_steps(2);
    assert!(h.state().is_running(), "{:?}", h.state().notice);
    step_until(&mut h, "the resumed run", Duration::from_secs(300), |wb| {
        !wb.is_running()
    });
    let resumed = h.state().view.clone();
    assert_eq!(resumed.status, RunStatus::Finished);
    assert_eq!(resumed.epochs.len(), 2);

    // The same experiment uninterrupted gives the same metrics.
    h.get_by_label("Start").click();
    h.run_steps(2);
    step_until(
        &mut h,
        "the uninterrupted run",
        Duration::from_secs(300),
        |wb| !wb.is_running(),
    );
    let full = h.state().view.clone();
    assert_eq!(full.status, RunStatus::Finished);
    let val = |v: &RunView| v.epochs.iter().map(|p| p.val.clone()).collect::<Vec<_>>();
    assert_eq!(val(&resumed), val(&full));
}

#[test]
fn a_listed_problem_takes_the_user_to_its_field() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = tiny_loaded(tmp.path());
    h.state_mut().editor.experiment.train.epochs = 0;
    h.run_steps(3);
    let epochs_field = |h: &Harness<'_, Workbench>| {
        h.query_all_by_label("epochs")
            .find(|n| n.accesskit_node().role() != egui::accesskit::Role::Label)
            .map(|n| (n.rect(), n.is_focused()))
    };
    // Below the fold of the editor at first.
    let (before, focused) = epochs_field(&h).expect("the epochs field");
    assert!(before.top() > 800.0 && !focused, "{before:?}");
    // Start says why it is disabled, and its problem count takes the user there.
    h.get_by_label("Start").hover();
    h.get_by_label("1 problem").click();
    h.run_steps(4);
    let (after, focused) = epochs_field(&h).unwrap();
    assert!(after.top() > 0.0 && after.bottom() < 800.0, "{after:?}");
    assert!(focused, "the field has the keyboard focus");
    // The list above the form names the problem by its field; a click goes there too.
    h.get_by_label_contains("1 problem to fix before Start");
    h.get_by_label("train.epochs: must be between 1 and 100000, got 0");
}

/// The layout rules that can be asserted at the default window sizes: every chart of the
/// curves has its title, legend and plot inside the top row; the attention pane shows both
/// rows of maps, their flip MSE and the colour bar without scrolling; the confusion matrix's
/// header is whole.
#[test]
fn the_default_layout_shows_every_panel_whole() {
    for size in [egui::vec2(1280.0, 800.0), egui::vec2(1024.0, 640.0)] {
        let tmp = tempfile::tempdir().unwrap();
        let mut h = Harness::builder().with_size(size).build_ui_state(
            |ui, wb: &mut Workbench| wb.ui(ui),
            Workbench::new(tmp.path().join("presets")),
        );
        let mut view = fixed_view();
        view.run_dir = Some(tmp.path().join("run"));
        h.state_mut().view = view;
        h.state_mut().show_panel::<CurvesPanel>();
        h.run_steps(3);
        // The bottom row starts where its tabs are; the next pane where its tab is.
        let bottom_row = h.get_by_label("Per-class accuracy").rect().top();
        let pane_right = h.get_by_label("Confusion matrix").rect().left();
        // A narrow curves pane (1024 px) stands its plots one a row and scrolls to the
        // last two; a wide one shows all four.
        let narrow = size.x < 1100.0;
        let titles = [
            "Loss",
            "Validation accuracy",
            "Learning rate (end of epoch)",
            "Training images/s",
        ];
        for (i, title) in titles.into_iter().enumerate() {
            let r = h.get_by_label(title).rect();
            assert!(r.right() < pane_right, "{size:?}: {title} at {r:?}");
            if !narrow || i < 2 {
                assert!(
                    r.top() > 0.0 && r.bottom() < bottom_row,
                    "{size:?}: {title} at {r:?}"
                );
            }
        }
        // The second row's titles leave room for a plot under them (narrow: the first
        // plot is whole above the second's title).
        let (second, below) = if narrow {
            let acc = h.get_by_label(titles[1]).rect().top();
            (h.get_by_label(titles[0]).rect(), acc)
        } else {
            (h.get_by_label(titles[2]).rect(), bottom_row)
        };
        assert!(
            below - second.bottom() > 100.0,
            "{size:?}: {second:?} vs {below}"
        );
        // Legends sit above the data, one entry per series.
        let entry = h.get_by_label("val loss").rect();
        assert!(
            entry.top() > h.get_by_label("Loss").rect().top(),
            "{size:?}"
        );

        h.state_mut().show_panel::<ConfusionPanel>();
        h.run_steps(3);
        let header = h.get_by_label_contains("(140 images)").rect();
        assert!(header.right() <= size.x, "{size:?}: {header:?}");

        h.state_mut().show_panel::<AttentionPanel>();
        h.run_steps(3);
        for label in ["original", "flipped", "flip MSE", "low", "high"] {
            let r = h.get_by_label(label).rect();
            assert!(
                r.bottom() < bottom_row,
                "{size:?}: {label} at {r:?}, bottom row at {bottom_row}"
            );
        }
    }
}

/// A run folder the Runs tab cannot read is named there with why, not left out silently.
#[test]
fn the_runs_tab_names_the_run_folders_it_cannot_read() {
    let tmp = tempfile::tempdir().unwrap();
    let presets = tmp.path().join("presets");
    let runs = tmp.path().join("runs");
    write_tiny_preset(&presets, &runs, 1);
    let broken = runs.join("tiny-20261207-000000");
    std::fs::create_dir_all(broken.join("events.jsonl")).unwrap();
    std::fs::write(broken.join("config.toml"), "name = \"tiny\"\n").unwrap();
    let mut h = harness(&presets);
    h.get_by_label("tiny.toml").click();
    h.run_steps(2);
    h.get_by_label("Runs").click();
    h.run_steps(2);
    h.get_by_label_contains(
        "1 run folder(s) could not be read and are not listed: tiny-20261207-000000: ",
    );
}

/// Typing into a number field whose value turns invalid and valid again while typing keeps
/// every keystroke: the problems listed above the form used to shift every widget's id,
/// so the field lost its text and dropped what came next ("-0.01" became "-0").
#[test]
fn typing_a_number_keeps_every_keystroke_while_its_validity_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = tiny_loaded(tmp.path());
    // Out of range: the problem list above the form takes the user to the field, focused.
    h.state_mut().editor.experiment.optimizer.sam_rho = 12.0;
    h.run_steps(3);
    h.get_by_label("1 problem").click();
    h.run_steps(4);
    let focused = h
        .query_all_by_label("SAM rho")
        .any(|n| n.accesskit_node().role() != egui::accesskit::Role::Label && n.is_focused());
    assert!(focused, "the field has the keyboard focus");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    // 1 (valid: the list above goes) → 12 (over 10: it comes back) → 1 → 1. → 1.2 → 1.25.
    for key in ["1", "2", "backspace", ".", "2", "5"] {
        if key == "backspace" {
            h.key_press(egui::Key::Backspace);
        } else {
            h.event(egui::Event::Text(key.to_string()));
        }
        h.run_steps(2);
    }
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    assert_eq!(h.state().editor.experiment.optimizer.sam_rho, 1.25);
    // Letters are said to be no number, not reverted in silence.
    h.state_mut().editor.experiment.optimizer.sam_rho = 12.0;
    h.run_steps(2);
    h.get_by_label("1 problem").click();
    h.run_steps(4);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.event(egui::Event::Text("abc".into()));
    h.run_steps(2);
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    assert_eq!(h.state().editor.experiment.optimizer.sam_rho, 12.0);
    h.get_by_label("`abc` is not a number: the setting stays 12");
}

/// The typed paths: Enter in Open loads, Save makes a missing folder, and a problem about a
/// missing data folder goes once the folder is there, without touching the form.
#[test]
fn typed_paths_load_on_enter_save_into_new_folders_and_problems_follow_the_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = tiny_loaded(tmp.path());
    let target = tmp.path().join("new").join("deeper").join("mine.toml");
    h.state_mut().editor.message = None;
    h.get_by_label("Save as:").focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label("Save as:")
        .type_text(&target.display().to_string());
    h.run_steps(2);
    h.get_by_label("Save preset").click();
    h.run_steps(2);
    assert!(target.is_file(), "{:?}", h.state().editor.message);

    h.get_by_label("Open:").focus();
    h.run_steps(1);
    h.get_by_label("Open:")
        .type_text(&target.display().to_string());
    h.run_steps(2);
    h.state_mut().editor.message = None;
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    let message = h.state().editor.message.clone();
    assert_eq!(
        message,
        Some((true, format!("loaded {}", target.display()))),
        "Enter did not load"
    );

    let data = tmp.path().join("fer");
    {
        let e = &mut h.state_mut().editor.experiment;
        e.data.source = ferlab::contract::config::DataSource::ImageFolder;
        e.data.path = data.clone();
    }
    h.run_steps(2);
    let missing = format!("folder {} does not exist", data.display());
    assert!(h.query_all_by_label_contains(&missing).count() > 0);
    for split in ["train", "val"] {
        common::write_image(&data.join(split).join("happy").join("a.png"), 8, 1);
    }
    std::thread::sleep(ferlab::views::ui::editor::REVALIDATE_FILES);
    h.run_steps(2);
    assert!(
        h.state_mut()
            .editor
            .problems()
            .iter()
            .all(|p| !p.path.starts_with("data.")),
        "{:?}",
        h.state_mut().editor.problems()
    );
}

/// State that stopped applying goes: an error notice once what it said is resolved (or after
/// its time), and a pinned attention epoch when another run is shown.
#[test]
fn stale_notices_and_pinned_epochs_do_not_outlive_what_they_were_about() {
    use ferlab::views::ui::app::{ERROR_NOTICE_SECS, PROBLEMS_NOTICE};
    let tmp = tempfile::tempdir().unwrap();
    let mut h = tiny_loaded(tmp.path());
    h.state_mut().editor.experiment.train.epochs = 0;
    h.run_steps(2);
    h.state_mut().notice = Some((false, PROBLEMS_NOTICE.into()));
    h.run_steps(2);
    h.get_by_label(PROBLEMS_NOTICE);
    h.state_mut().editor.experiment.train.epochs = 1;
    h.run_steps(2);
    assert_eq!(h.state().notice, None, "the problems were fixed");
    // Any other error notice goes after its time.
    h.state_mut().notice = Some((false, "figure not written: disk full".into()));
    h.run_steps(1);
    let aged = std::time::Instant::now()
        .checked_sub(std::time::Duration::from_secs(ERROR_NOTICE_SECS + 1))
        .unwrap();
    if let Some((_, at)) = &mut h.state_mut().notice_seen {
        *at = aged;
    }
    h.run_steps(1);
    assert_eq!(h.state().notice, None);

    // A run shown with an epoch pinned; opening another follows its latest again.
    common::succeed(
        std::process::Command::new(env!("CARGO_BIN_EXE_ferlab"))
            .arg("train")
            .arg(tmp.path().join("presets").join("tiny.toml"))
            .arg("--quiet"),
    );
    let first = std::fs::read_dir(tmp.path().join("runs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    h.state_mut().open_run(&first);
    h.state_mut().panel_mut::<AttentionPanel>().unwrap().epoch = Some(1);
    h.state_mut().open_run(&first);
    assert_eq!(h.state().panel::<AttentionPanel>().unwrap().epoch, None);
}

/// Save preset over the loaded file asks first, then writes the user's file with its
/// comments and only the changed setting added (it wrote 163 lines of every default).
#[test]
fn saving_over_a_preset_asks_and_keeps_what_the_user_wrote() {
    let tmp = tempfile::tempdir().unwrap();
    let presets = tmp.path().join("presets");
    write_tiny_preset(&presets, &tmp.path().join("runs"), 1);
    let file = presets.join("tiny.toml");
    let original = format!(
        "# My experiment, tuned by hand.\n{}",
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("lr = 0.003", "lr = 0.003 # from the sweep")
    );
    std::fs::write(&file, &original).unwrap();
    let mut h = harness(&presets);
    h.get_by_label("tiny.toml").click();
    h.run_steps(2);
    h.state_mut().editor.experiment.optimizer.lr = 0.0025;
    h.run_steps(2);
    h.get_by_label("Save preset").click();
    h.run_steps(2);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        original,
        "saved unasked"
    );
    h.get_by_label_contains("exists: Overwrite replaces it");
    h.get_by_label("Cancel").click();
    h.run_steps(2);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
    h.get_by_label("Save preset").click();
    h.run_steps(2);
    h.get_by_label("Overwrite").click();
    h.run_steps(2);
    let saved = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        saved,
        original.replace(
            "lr = 0.003 # from the sweep",
            "lr = 0.0025 # from the sweep"
        )
    );
}

/// The keyboard: F1 lists the shortcuts (Esc closes the list), Ctrl+F searches the presets,
/// Ctrl+S saves (asking before it replaces), F5 starts and Shift+F5 stops.
#[test]
fn keyboard_shortcuts_start_stop_save_search_and_list_themselves() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = tiny_loaded(tmp.path());
    h.key_press(egui::Key::F1);
    h.run_steps(2);
    h.get_by_label("Keyboard shortcuts");
    h.get_by_label("start the experiment in the editor");
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert!(h.query_by_label("Keyboard shortcuts").is_none());

    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
    h.run_steps(2);
    assert!(
        h.get_by_label("Presets:").is_focused(),
        "Ctrl+F puts the focus in the preset search"
    );
    h.key_press(egui::Key::Escape);
    h.run_steps(1);

    h.state_mut().editor.experiment.seed = 11;
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run_steps(2);
    h.get_by_label_contains("exists: Overwrite replaces it");
    h.get_by_label("Overwrite").click();
    h.run_steps(2);
    let saved = std::fs::read_to_string(tmp.path().join("presets").join("tiny.toml")).unwrap();
    assert!(saved.contains("seed = 11"), "{saved}");

    h.key_press(egui::Key::F5);
    h.run_steps(2);
    assert!(h.state().is_running(), "F5 starts");
    h.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::F5);
    step_until(&mut h, "the stop", Duration::from_secs(60), |w| {
        !w.is_running()
    });
}

/// ASM's gallery pages through every moved sample of an epoch (it showed the 32 a report
/// pictures, 29 of 257 in the tester's run, with no paging), filtered by move and label.
#[test]
fn the_mining_gallery_pages_through_every_moved_sample() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = workbench_harness(tmp.path(), egui::vec2(1280.0, 800.0));
    let mut view = fixed_view();
    let (_, report) = view.mining.last_mut().unwrap();
    report.moves_listed = (0..70u32)
        .map(|k| MoveRecord {
            index: 3 * k,
            from: Subset::Clean,
            to: if k % 2 == 0 {
                Subset::Noisy
            } else {
                Subset::Ambiguous
            },
            given: (k % 7) as u8,
            predicted: ((k + 1) % 7) as u8,
            truth: None,
            confidence: 0.01 * k as f32,
        })
        .collect();
    report.moves = [[0, 35, 35], [0; 3], [0; 3]];
    h.state_mut().view = view;
    h.state_mut().show_panel::<MiningPanel>();
    h.state_mut().maximise_panel::<MiningPanel>();
    h.run_steps(3);
    h.get_by_label_contains("Moved in epoch 4: 70 samples");
    h.get_by_label("page 1 of 3 · 70 samples");
    assert_eq!(h.query_all_by_label_contains("given ").count(), 32);
    h.get_by_label("Next").click();
    h.run_steps(2);
    h.get_by_label("page 2 of 3 · 70 samples");
    h.get_by_label("Next").click();
    h.run_steps(2);
    h.get_by_label("page 3 of 3 · 70 samples");
    assert_eq!(h.query_all_by_label_contains("given ").count(), 6);
    // Only clean -> noisy, only faces given class 0: every seventh of those.
    h.state_mut().panel_mut::<MiningPanel>().unwrap().transition =
        Some((Subset::Clean, Subset::Noisy));
    h.run_steps(2);
    h.get_by_label("page 1 of 2 · 35 samples");
    h.state_mut()
        .panel_mut::<MiningPanel>()
        .unwrap()
        .moved_class = Some(0);
    h.run_steps(2);
    h.get_by_label("page 1 of 1 · 5 samples");
    assert_eq!(h.query_all_by_label_contains("noisy -> ").count(), 0);
    assert_eq!(h.query_all_by_label("clean -> noisy").count(), 5);
}

/// The experiment editor folds away (toolbar button, Ctrl+E) and comes back; Ctrl+F opens a
/// folded editor to search (it was a fixed 420 px at every window size).
#[test]
fn the_editor_folds_away_and_narrow_panes_keep_their_plots_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = workbench_harness(tmp.path(), egui::vec2(1024.0, 640.0));
    let mut view = fixed_view();
    view.run_dir = Some(tmp.path().join("run"));
    h.state_mut().view = view;
    h.state_mut().show_panel::<CurvesPanel>();
    h.run();
    // The editor is narrower than the 420 px it was held at (its rows wrap).
    let editor_right = h.get_by_label("Presets:").rect().left();
    let curves_tab = h.get_by_label("Curves").rect();
    assert!(
        curves_tab.left() - editor_right < 360.0,
        "the editor takes {} px",
        curves_tab.left()
    );
    // At 1024 px the curves pane is narrow: its plots stand one a row, each whole inside it.
    let pane_right = h.get_by_label("Confusion matrix").rect().left();
    for title in ["Loss", "Validation accuracy"] {
        let r = h.get_by_label(title).rect();
        assert!(
            r.right() < pane_right,
            "{title} at {r:?}, the next pane at {pane_right}"
        );
    }
    assert!(
        h.get_by_label("Validation accuracy").rect().top() > h.get_by_label("Loss").rect().bottom(),
        "one plot a row"
    );
    h.get_by_label("Editor").click();
    h.run();
    assert!(!h.state().editor_open);
    assert!(h.query_by_label("Presets:").is_none(), "folded away");
    // The panes take the room: the curves tab moves to the window's left.
    assert!(h.get_by_label("Curves").rect().left() < 40.0);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::E);
    h.run();
    assert!(h.state().editor_open);
    h.get_by_label("Presets:");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::E);
    h.run();
    assert!(h.query_by_label("Presets:").is_none());
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
    h.run();
    h.get_by_label("Presets:");
}

/// Attention maps grow with a big pane (they stayed about 40 px when it was maximised) and
/// zoom on hover: the class's original and flipped-back maps at 224 px.
#[test]
fn attention_maps_grow_with_their_pane_and_zoom_on_hover() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = workbench_harness(tmp.path(), egui::vec2(1280.0, 800.0));
    h.state_mut().view = fixed_view();
    h.state_mut().show_panel::<AttentionPanel>();
    h.state_mut().maximise_panel::<AttentionPanel>();
    h.state_mut().editor_open = false;
    h.run();
    let map = h.get_by_label("fear original map").rect();
    assert!(
        map.width() >= 90.0,
        "a map of {} px in a maximised pane",
        map.width()
    );
    h.get_by_label("fear original map").hover();
    h.run();
    h.get_by_label_contains("fear map · face");
    for name in ["face", "original", "flipped back"] {
        let zoomed = h.get_by_label(&format!("zoomed {name}")).rect();
        assert!(zoomed.width() >= 200.0, "the zoomed {name} is {zoomed:?}");
    }
}

/// Maps of 2×2 or smaller leave flip consistency nothing to compare: the attention panel
/// states the side and says so; the editor cautions LNSU (and EAC) on the face ResNet at
/// 112 px, naming the setting that gives larger maps, and stops once it is set.
#[test]
fn degenerate_maps_are_said_in_the_attention_panel_and_the_editor() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = workbench_harness(tmp.path(), egui::vec2(1280.0, 800.0));
    let mut view = fixed_view();
    for (_, snap) in view.attention.iter_mut() {
        snap.map_height = 2;
        snap.map_width = 2;
        for f in snap.faces.iter_mut() {
            f.maps = encode_f32(&[0.5; 28]);
            f.flipped_back = encode_f32(&[0.5; 28]);
        }
    }
    h.state_mut().view = view;
    h.state_mut().show_panel::<AttentionPanel>();
    h.run();
    h.get_by_label_contains("flip MSE of the 2×2 class maps");
    h.get_by_label_contains("2×2 maps: flip consistency is degenerate");

    let cautions = |h: &Harness<'static, Workbench>| {
        h.query_all_by_label_contains("flip consistency is degenerate on 1×1")
            .count()
    };
    assert_eq!(cautions(&h), 0);
    let exp = &mut h.state_mut().editor.experiment;
    exp.method.name = "lnsu".into();
    exp.model.backbone = ferlab::contract::config::Backbone::FaceResnet;
    exp.model.input_size = 112;
    h.run();
    assert!(cautions(&h) >= 1);
    h.get_by_label_contains("model.stride_one_blocks: LNSU's flip consistency");
    h.state_mut().editor.experiment.model.stride_one_blocks = 2;
    h.run();
    assert_eq!(cautions(&h), 0);
}

/// The workbench at `size` with its presets folder under `dir` (empty).
fn workbench_harness(dir: &Path, size: egui::Vec2) -> Harness<'static, Workbench> {
    Harness::builder().with_size(size).build_ui_state(
        |ui, wb: &mut Workbench| wb.ui(ui),
        Workbench::new(dir.join("presets")),
    )
}

#[test]
fn panels_and_figures_colour_every_series_alike() {
    // An 8-class dataset's 8th class, a 12th run: the same colour on screen and on paper.
    for i in 0..25 {
        let p = ferlab::views::ui::panels::color(i);
        let f = ferlab::views::figures::chart::color(i);
        assert_eq!((p.r(), p.g(), p.b()), (f.0, f.1, f.2), "series {i}");
    }
}
