//! Nothing finishes silently broken: a diverged run fails without writing NaN, a failed
//! resume leaves its run as it was, a run's results outlive its data folder, a run trains
//! in one process at a time, a log that lost its history is not resumed, and bad command
//! lines are refused — each as the `ferlab` binary does it.

use super::common;
use ferlab::compute::method::REGISTRY;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{ferlab, refused, stderr, succeed, write_image};
use ferlab::compute::train::checkpoint;
use ferlab::contract::event::Event;
use ferlab::contract::run::recorder;
use ferlab::contract::run::results::read_run;
use ferlab::contract::run::view::RunOutcome;

/// A synthetic preset that trains in a few seconds.
fn tiny_preset(dir: &Path, epochs: usize) -> PathBuf {
    let preset = dir.join("tiny.toml");
    std::fs::write(
        &preset,
        format!(
            r#"
name = "tiny"
seed = 3
[data]
image_size = 24
[data.synthetic]
train_per_class = 12
val_per_class = 4
identities = 10
[model]
width = 8
[train]
epochs = {epochs}
batch_size = 16
"#
        ),
    )
    .unwrap();
    preset
}

/// Trains `preset` under `dir/runs` and returns the run directory.
fn train(dir: &Path, preset: &Path, sets: &[&str]) -> (Output, Option<PathBuf>) {
    let runs = dir.join("runs");
    let mut cmd = ferlab();
    cmd.arg("train")
        .arg(preset)
        .arg("--out")
        .arg(&runs)
        .arg("--quiet");
    for s in sets {
        cmd.args(["--set", s]);
    }
    let out = cmd.output().unwrap();
    let run = std::fs::read_dir(&runs)
        .ok()
        .and_then(|mut d| d.next())
        .map(|e| e.unwrap().path());
    (out, run)
}

fn events(run: &Path) -> Vec<Event> {
    recorder::read(&run.join("events.jsonl"))
        .unwrap()
        .records
        .into_iter()
        .map(|r| r.event)
        .collect()
}

fn assert_checkpoints_finite(run: &Path) {
    for name in ["last", "best"] {
        let path = run.join(format!("checkpoints/{name}.safetensors"));
        if !path.is_file() {
            continue;
        }
        let (tensors, _) = checkpoint::load(&path, &candle_core::Device::Cpu).unwrap();
        for (key, t) in tensors {
            let Ok(t) = t.to_dtype(candle_core::DType::F32) else {
                continue;
            };
            let values = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            assert!(
                values.iter().all(|v| v.is_finite()),
                "{}: {key} holds NaN or infinity",
                path.display()
            );
        }
    }
}

#[test]
fn a_diverged_run_fails_at_its_step_and_writes_no_nan() {
    let dir = tempfile::tempdir().unwrap();
    let preset = tiny_preset(dir.path(), 3);
    for sets in [
        &["optimizer.lr=1e6"][..],
        &["optimizer.kind=sgd", "optimizer.lr=1000"],
        &["optimizer.lr=1e6", "model.kernels=candle"],
    ] {
        let _ = std::fs::remove_dir_all(dir.path().join("runs"));
        let (out, run) = train(dir.path(), &preset, sets);
        let err = stderr(&out);
        assert!(!out.status.success(), "{sets:?} ended successfully:\n{err}");
        assert!(
            err.contains("the run diverged") && err.contains("at epoch"),
            "{sets:?}: {err}"
        );
        let run = run.unwrap();
        assert!(
            matches!(events(&run).last(), Some(Event::Failed { .. })),
            "{sets:?}: the log must end failed"
        );
        assert_checkpoints_finite(&run);
        // `ferlab table` reads it as failed, not finished (if an epoch was evaluated).
        if let Ok(r) = read_run(&run, &REGISTRY) {
            assert!(matches!(r.outcome, RunOutcome::Failed(_)), "{sets:?}");
        }
    }
}

#[test]
fn a_failed_resume_leaves_the_run_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let preset = tiny_preset(dir.path(), 1);
    let (out, run) = train(dir.path(), &preset, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = run.unwrap();
    let snapshot = |run: &Path| {
        (
            std::fs::read(run.join("config.toml")).unwrap(),
            std::fs::read(run.join("events.jsonl")).unwrap(),
        )
    };
    let before = snapshot(&run);
    // A change of what the run is: refused, and nothing of the run changes.
    refused(
        ferlab().args(["train", "--resume"]).arg(&run).args([
            "--set",
            "model.width=32",
            "--set",
            "train.epochs=2",
        ]),
        "model.width: recorded as 8, --set gives 32: a resume continues the experiment",
    );
    assert!(snapshot(&run) == before, "a failed resume changed the run");
    succeed(ferlab().arg("eval").arg(&run));
    // A valid change is recorded once the resume has begun.
    succeed(
        ferlab()
            .args(["train", "--quiet", "--resume"])
            .arg(&run)
            .args(["--set", "train.epochs=2"]),
    );
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(config.contains("epochs = 2"), "{config}");
    assert_eq!(read_run(&run, &REGISTRY).unwrap().epochs, 2);
    // Fewer epochs than it has trained would record a finished run of 1 epoch holding 2.
    let before = snapshot(&run);
    refused(
        ferlab()
            .args(["train", "--resume"])
            .arg(&run)
            .args(["--set", "train.epochs=1"]),
        "has trained 2 epochs",
    );
    assert!(snapshot(&run) == before, "a refused resume changed the run");
}

/// A FER-style image folder with `per_class` faces per class in train and val.
fn image_folder(root: &Path, per_class: u32) {
    for split in ["train", "val"] {
        for (c, class) in ["angry", "happy", "neutral"].iter().enumerate() {
            let d = root.join(split).join(class);
            std::fs::create_dir_all(&d).unwrap();
            for i in 0..per_class {
                write_image(&d.join(format!("{i}.png")), 24, c as u32 * 100 + i);
            }
        }
    }
}

#[test]
fn a_runs_results_outlive_its_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("faces");
    image_folder(&data, 6);
    let preset = dir.path().join("folder.toml");
    std::fs::write(
        &preset,
        format!(
            "name = \"folder\"\n[data]\nsource = \"image_folder\"\npath = \"{}\"\n\
             image_size = 24\nchannels = 1\n[model]\nwidth = 8\n[train]\nepochs = 1\n\
             batch_size = 8\n",
            data.display()
        ),
    )
    .unwrap();
    let (out, run) = train(dir.path(), &preset, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = run.unwrap();
    // The data moves (a run copied from a cluster, a renamed disk).
    let moved = dir.path().join("faces-moved");
    std::fs::rename(&data, &moved).unwrap();
    let table = succeed(ferlab().arg("table").arg(&run));
    assert!(table.contains("CE"), "{table}");
    succeed(ferlab().arg("export").arg(&run).args(["--format", "svg"]));
    // Evaluating needs data: without it the error names the missing folder ...
    refused(ferlab().arg("eval").arg(&run), &data.display().to_string());
    // ... and --data points it at the new place.
    let text = succeed(ferlab().arg("eval").arg(&run).arg("--data").arg(&moved));
    assert!(text.contains("(18 images)"), "{text}");
    let text = succeed(
        ferlab()
            .arg("eval")
            .arg(&run)
            .arg("--data")
            .arg(moved.join("val")),
    );
    assert!(text.contains("(18 images)"), "{text}");
}

#[test]
fn a_run_trains_in_one_process_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let preset = tiny_preset(dir.path(), 1);
    let (out, run) = train(dir.path(), &preset, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = run.unwrap();
    // A long resume holds the run ...
    let mut first = ferlab()
        .args(["train", "--quiet", "--resume"])
        .arg(&run)
        .args(["--set", "train.epochs=400"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !std::fs::read_to_string(run.join("run.lock"))
        .is_ok_and(|pid| pid.trim() == first.id().to_string())
    {
        assert!(
            started.elapsed().as_secs() < 60,
            "the first resume never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // ... so a second one is refused, naming the holder.
    let err = refused(
        ferlab().args(["train", "--resume"]).arg(&run),
        "being trained by another ferlab",
    );
    assert!(err.contains(&first.id().to_string()), "{err}");
    // Killed (no clean-up at all), the holder's lock goes with it.
    first.kill().unwrap();
    first.wait().unwrap();
    let starts = events(&run)
        .iter()
        .filter(|e| matches!(e, Event::Started { .. }))
        .count();
    assert!(starts <= 2, "{starts} sessions recorded");
    // The killed session trained as far as it got (further on a faster machine): resume
    // for a little beyond that, which a run may always do.
    let trained = events(&run)
        .iter()
        .filter(|e| matches!(e, Event::EpochEnd { .. }))
        .count();
    succeed(
        ferlab()
            .args(["train", "--quiet", "--resume"])
            .arg(&run)
            .args(["--set", &format!("train.epochs={}", trained + 2)]),
    );
}

#[test]
fn a_log_that_lost_its_history_is_not_resumed_and_bad_lines_are_said() {
    let dir = tempfile::tempdir().unwrap();
    let preset = tiny_preset(dir.path(), 2);
    let (out, run) = train(dir.path(), &preset, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = run.unwrap();
    let log = run.join("events.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    // A garbage line in the middle: the table still reads the run and says so.
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(lines.len() / 2, "{ not json");
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let out = ferlab().arg("table").arg(&run).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("unreadable event skipped"),
        "{}",
        stderr(&out)
    );
    let out = ferlab()
        .arg("export")
        .arg(&run)
        .args(["--format", "svg"])
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("unreadable event skipped"),
        "{}",
        stderr(&out)
    );
    // Emptied: a resume would continue at epoch 3 with no record of epochs 1 and 2.
    std::fs::write(&log, "").unwrap();
    refused(
        ferlab()
            .args(["train", "--resume"])
            .arg(&run)
            .args(["--set", "train.epochs=3"]),
        "lost its history",
    );
    assert_eq!(
        std::fs::read(&log).unwrap(),
        b"",
        "the refused resume wrote to the log"
    );
}

#[test]
fn command_lines_that_would_be_ignored_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let preset = tiny_preset(dir.path(), 1);
    let (out, run) = train(dir.path(), &preset, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = run.unwrap();
    refused(
        ferlab().arg("train").arg(&preset).arg("--resume").arg(&run),
        "would be ignored",
    );
    refused(
        ferlab()
            .args(["train", "--resume"])
            .arg(&run)
            .arg("--out")
            .arg(dir.path()),
        "--out does not apply",
    );
    let empty = dir.path().join("empty.toml");
    std::fs::write(&empty, "# nothing yet\n").unwrap();
    refused(ferlab().arg("train").arg(&empty), "the preset is empty");
    // An OS error is said once.
    let out = ferlab().arg("train").arg(dir.path()).output().unwrap();
    let err = stderr(&out);
    assert_eq!(err.matches("Is a directory").count(), 1, "{err}");
    // A preview of 0 faces per class is refused; one of more faces than the classes hold
    // is as wide as the fullest class (12 faces of 24 px), not thousands of empty columns.
    refused(
        ferlab()
            .args(["data", "preview"])
            .arg(&preset)
            .args(["--per-class", "0"]),
        "0 is not in 1..=200",
    );
    let png = dir.path().join("preview.png");
    succeed(
        ferlab()
            .args(["data", "preview"])
            .arg(&preset)
            .args(["--per-class", "200", "--out"])
            .arg(&png),
    );
    let (w, _) = image::image_dimensions(&png).unwrap();
    assert_eq!(w, 12 * (24 + 2) + 2);
    // RMFER's cosine prior with a single candidate cannot contrast: named by its field.
    refused(
        ferlab()
            .arg("train")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("presets/rmfer-synthetic-full.toml"))
            .args([
                "--set",
                "method.rmfer.prior=cosine",
                "--set",
                "method.rmfer.candidates=1",
            ]),
        "method.rmfer.candidates: must be at least 2",
    );
    // Two copies of one run exported together each get their own folder.
    let copy = dir.path().join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    let copied = copy.join(run.file_name().unwrap());
    std::fs::create_dir_all(copied.join("checkpoints")).unwrap();
    for f in ["config.toml", "events.jsonl"] {
        std::fs::copy(run.join(f), copied.join(f)).unwrap();
    }
    let figures = dir.path().join("figures");
    succeed(
        ferlab()
            .arg("export")
            .arg(&run)
            .arg(&copied)
            .args(["--format", "svg", "--out"])
            .arg(&figures),
    );
    let id = run.file_name().unwrap().to_string_lossy().into_owned();
    assert!(figures.join(&id).is_dir() && figures.join(format!("{id}-2")).is_dir());
    // `ferlab table` takes a folder of runs, as `ferlab export` does.
    let table = succeed(ferlab().arg("table").arg(&copy));
    assert!(table.contains(&id), "{table}");
    // A run folder that cannot be written (read-only for a user; root ignores permissions,
    // so a directory stands where the lock file goes): the error names the file.
    std::fs::remove_file(run.join("run.lock")).unwrap();
    std::fs::create_dir(run.join("run.lock")).unwrap();
    let lock = run.join("run.lock").display().to_string();
    refused(
        ferlab().args(["train", "--resume"]).arg(&run),
        &format!("cannot open {lock}"),
    );
    std::fs::remove_dir(run.join("run.lock")).unwrap();
    // A PNG too large to draw is refused with the numbers, not a panic.
    let err = refused(
        ferlab()
            .arg("export")
            .arg(&run)
            .args(["--size", "40x40", "--dpi", "1200", "--format", "png"]),
        "48000 x 48000",
    );
    assert!(!err.contains("panicked"), "{err}");
}
