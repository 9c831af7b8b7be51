//! The `ferlab` binary as a user runs it: errors for bad presets, training, evaluation,
//! data statistics.

use super::common;
use ferlab::compute::method::REGISTRY;

use common::{ferlab, succeed};

use std::path::Path;
use std::process::Command;

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_bad_preset_lists_every_problem_by_field_path_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let preset = dir.path().join("bad.toml");
    write(
        &preset,
        r#"
name = "bad"
sede = 3
[data]
source = "image_folder"
path = "/nonexistent/fer"
[optimizer]
lr = -1.0
[train]
epochs = 0
batch_sise = 3
"#,
    );
    let out = ferlab()
        .arg("train")
        .arg(&preset)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "bad.toml",
        "sede: unknown key",
        "train.batch_sise: unknown key",
        "data.path: folder /nonexistent/fer does not exist",
        "optimizer.lr: must be a positive number, got -1",
        "train.epochs: must be between 1 and 100000, got 0",
    ] {
        assert!(err.contains(expected), "missing `{expected}` in:\n{err}");
    }
    // Nothing was started.
    assert!(!dir.path().join("runs").exists());
}

#[test]
fn type_errors_and_syntax_errors_name_the_field_or_line() {
    let dir = tempfile::tempdir().unwrap();
    let preset = dir.path().join("p.toml");
    write(&preset, "[data]\nsource = \"folder\"\n");
    let out = ferlab()
        .args(["data", "stats"])
        .arg(&preset)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("data.source: unknown variant `folder`"),
        "{err}"
    );
    write(&preset, "[data\n");
    let out = ferlab()
        .args(["data", "stats"])
        .arg(&preset)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 1"), "{err}");
    write(&preset, "seed = 1\n");
    let out = ferlab()
        .args(["data", "stats"])
        .arg(&preset)
        .args(["--set", "train.epochs=many"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("train.epochs: invalid type: string \"many\""),
        "{err}"
    );
}

/// Trains `preset` into the empty folder `runs`: what it printed and the run's directory.
/// Trains `preset` with `--set` overrides into a run under `runs`; returns its stderr.
fn train_with(preset: &Path, runs: &Path, sets: &[&str]) -> String {
    let mut cmd = ferlab();
    cmd.arg("train").arg(preset);
    for set in sets {
        cmd.args(["--set", set]);
    }
    let out = cmd.arg("--out").arg(runs).arg("--quiet").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    err
}

fn train_one(preset: &Path, runs: &Path) -> (String, std::path::PathBuf) {
    let err = train_with(preset, runs, &[]);
    let run = std::fs::read_dir(runs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    (err, run)
}

#[test]
fn train_then_eval_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let preset = dir.path().join("tiny.toml");
    write(
        &preset,
        r#"
name = "cli"
[data]
image_size = 24
[data.synthetic]
train_per_class = 20
val_per_class = 6
identities = 10
[augment]
crop_padding = 2
[model]
width = 8
[train]
epochs = 2
batch_size = 16
"#,
    );
    let (err, run) = train_one(&preset, &dir.path().join("runs"));
    assert!(
        err.contains("epoch   2:") && err.contains("finished in"),
        "{err}"
    );
    for f in [
        "config.toml",
        "events.jsonl",
        "checkpoints/last.safetensors",
        "checkpoints/best.safetensors",
    ] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    let out = ferlab().arg("eval").arg(&run).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("overall accuracy") && text.contains("confusion"),
        "{text}"
    );
    assert!(text.contains("(42 images)"), "{text}");
    // Flip consistency of the class maps, overall and per class.
    assert!(
        text.contains("flip MSE of the class activation maps")
            && text.contains("flip MSE of each class's activation map"),
        "{text}"
    );
    // Test-time augmentation, with the result as JSON for scripts.
    for (tta, views) in [("flip", "2 views"), ("ten-crop", "corners shifted 2 px")] {
        let json = dir.path().join(format!("{tta}.json"));
        let out = ferlab()
            .arg("eval")
            .arg(&run)
            .args(["--tta", tta, "--json"])
            .arg(&json)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains(views), "{text}");
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let confusion: Vec<Vec<u64>> = serde_json::from_value(v["confusion"].clone()).unwrap();
        let total: u64 = confusion.iter().flatten().sum();
        let right: u64 = (0..confusion.len()).map(|i| confusion[i][i]).sum();
        assert_eq!(total, 42, "{v}");
        assert_eq!(v["images"], 42);
        let overall = v["overall"].as_f64().unwrap();
        assert!((overall - right as f64 / 42.0).abs() < 1e-6, "{v}");
        assert!(v["mean"].is_f64() && v["macro_f1"].is_f64(), "{v}");
        assert_eq!(v["classes"].as_array().unwrap().len(), confusion.len());
        assert!(v["tta"].as_str().unwrap().contains(views), "{v}");
    }
    for (args, says) in [
        (vec!["--tta", "five-crop"], "unknown test-time augmentation"),
        (vec!["--tta", "ten-crop", "--tta-shift", "0"], "--tta-shift"),
    ] {
        let out = ferlab().arg("eval").arg(&run).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(says),
            "{args:?}: {err}"
        );
    }
    // The run as a per-class table, in LaTeX: a column per class, then overall and mean.
    let out = ferlab()
        .args(["table", "--per-class", "--format", "latex"])
        .arg(&run)
        .output()
        .unwrap();
    let tex = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        tex.contains("method & surprise & fear & disgust & happiness & sadness & anger & neutral & overall & mean & run \\\\"),
        "{tex}"
    );
    assert!(
        !tex.contains("\\textbf{"),
        "one run has no best to mark: {tex}"
    );
    let out = ferlab().arg("eval").arg(dir.path()).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a run directory"));
}

#[test]
fn data_stats_reports_counts_noise_and_imbalance() {
    let dir = tempfile::tempdir().unwrap();
    let preset = dir.path().join("noisy.toml");
    write(
        &preset,
        r#"
[data]
image_size = 16
[data.synthetic]
train_per_class = 50
val_per_class = 4
identities = 10
[corruption]
noise = "symmetric"
noise_rate = 0.3
imbalance_factor = 5
"#,
    );
    let out = ferlab()
        .args(["data", "stats"])
        .arg(&preset)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        stats["val_counts"],
        serde_json::json!([4, 4, 4, 4, 4, 4, 4])
    );
    let rate = stats["noise_rate"].as_f64().unwrap();
    assert!((rate - 0.3).abs() < 0.01, "{rate}");
}

#[test]
fn every_shipped_preset_is_valid_apart_from_absent_datasets() {
    let mut seen = 0;
    for entry in std::fs::read_dir("presets").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        seen += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        if text.contains("\n[sweep") {
            let sweep =
                ferlab::views::sweep::SweepPreset::parse(&text, &path.display().to_string())
                    .unwrap_or_else(|e| panic!("{e}"));
            let points = sweep.expand(&[]).unwrap_or_else(|e| panic!("{e}"));
            assert!(points.len() > 1, "{}", path.display());
        }
        match ferlab::contract::config::Experiment::from_toml(
            &text,
            &path.display().to_string(),
            &[],
            &REGISTRY,
        ) {
            Ok(exp) => assert!(
                path.display().to_string().contains(&exp.name),
                "{}: name `{}` differs from the file name",
                path.display(),
                exp.name
            ),
            // A fresh clone has no ../shared: only the dataset and the pretrained weights,
            // both of which a user fetches, may be missing.
            Err(e) => {
                let problems = e.problems();
                let external = |p: &str| p == "data.path" || p == "model.pretrained";
                assert!(
                    !problems.is_empty() && problems.iter().all(|p| external(&p.path)),
                    "{}: {e}",
                    path.display()
                );
            }
        }
    }
    assert!(seen >= 20, "only {seen} presets found");
}

/// The tests' tiny synthetic experiment with class-balanced loss, sweeping beta over two
/// values and two seeds.
fn write_sweep_preset(dir: &Path, epochs: usize) -> std::path::PathBuf {
    let mut exp = common::tiny_experiment(&dir.join("runs"));
    exp.name = "beta".into();
    exp.method.name = "cb".into();
    exp.train.epochs = epochs;
    let path = dir.join("sweep.toml");
    write(
        &path,
        &(exp.to_toml()
            + "\n[sweep]\nseeds = [1, 2]\nparallel = 2\n[sweep.grid]\n\"method.cb.beta\" = [0.9, 0.999]\n"),
    );
    path
}

/// Expands the sweep of `preset` under `out_dir` (`--slurm` writes the job array, 2 CPUs per
/// task, without running anything); returns the sweep folder.
fn expand_sweep(preset: &Path, out_dir: &Path) -> std::path::PathBuf {
    succeed(
        ferlab()
            .args(["sweep"])
            .arg(preset)
            .arg("--out")
            .arg(out_dir)
            .args(["--slurm", "--cpus", "2", "--time", "00:30:00"]),
    );
    out_dir.join("beta-sweep")
}

#[test]
fn a_killed_sweep_resumes_without_redoing_finished_runs() {
    let dir = tempfile::tempdir().unwrap();
    let preset = write_sweep_preset(dir.path(), 30);
    let out_dir = dir.path().join("runs");
    let sweep = expand_sweep(&preset, &out_dir);
    let script = std::fs::read_to_string(sweep.join("sweep.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array=0-3\n"), "{script}");
    assert!(script.contains("#SBATCH --cpus-per-task=2\n"), "{script}");
    let names = [
        "beta=0.9_seed=1",
        "beta=0.9_seed=2",
        "beta=0.999_seed=1",
        "beta=0.999_seed=2",
    ];
    let manifest = std::fs::read_to_string(sweep.join("sweep.json")).unwrap();
    for n in names {
        assert!(manifest.contains(n), "{manifest}");
        assert!(!sweep.join(n).exists(), "nothing runs before submission");
    }

    // Array task 0, run locally exactly as Slurm would run it.
    succeed(
        Command::new("bash")
            .arg(sweep.join("sweep.sbatch"))
            .env("SLURM_ARRAY_TASK_ID", "0")
            .env("FERLAB", env!("CARGO_BIN_EXE_ferlab")),
    );
    let finished_events = std::fs::read(sweep.join(names[0]).join("events.jsonl")).unwrap();
    assert!(String::from_utf8_lossy(&finished_events).contains("\"Finished\""));

    // Task 1 is killed once it has written a checkpoint.
    let mut child = ferlab()
        .arg("sweep")
        .arg("task")
        .arg(&sweep)
        .arg("1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let checkpoint = sweep.join(names[1]).join("checkpoints/last.safetensors");
    let t0 = std::time::Instant::now();
    while !checkpoint.exists() {
        assert!(t0.elapsed().as_secs() < 120, "no checkpoint appeared");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = std::fs::read_to_string(sweep.join(names[1]).join("events.jsonl")).unwrap();
    assert!(!partial.contains("\"Finished\""), "killed before the end");

    // The sweep again, here: point 0 is left alone, point 1 resumes, 2 and 3 start.
    let stdout = succeed(
        ferlab()
            .arg("sweep")
            .arg(&preset)
            .arg("--out")
            .arg(&out_dir),
    );
    assert!(
        stdout.contains("4 points (1 finished already), running 3"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("resuming {}", names[1])),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("starting {}", names[2])),
        "{stdout}"
    );
    assert!(
        !stdout.contains(&format!("starting {}", names[0])),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read(sweep.join(names[0]).join("events.jsonl")).unwrap(),
        finished_events,
        "the finished point was not touched"
    );
    let resumed = std::fs::read_to_string(sweep.join(names[1]).join("events.jsonl")).unwrap();
    assert!(
        resumed.contains("\"resumed_at\":{"),
        "point 1 resumed from its checkpoint"
    );
    assert!(resumed.contains("\"Finished\""));

    // The summary: a row per point, and beta's grid over seeds (one swept key besides the
    // seed gives no grid, so check the table and collect).
    let summary = std::fs::read_to_string(sweep.join("summary.csv")).unwrap();
    let lines: Vec<&str> = summary.lines().collect();
    assert_eq!(
        lines[0],
        "method.cb.beta,seed,status,epochs,best overall %,best mean %,last overall %,run"
    );
    assert_eq!(lines.len(), 5, "{summary}");
    assert!(
        lines[1..].iter().all(|l| l.contains(",finished,30 (best ")),
        "{summary}"
    );
    let text = succeed(ferlab().args(["sweep", "collect"]).arg(&sweep));
    assert!(text.contains("4 of 4 points finished"), "{text}");
}

#[test]
fn sweep_with_two_keys_writes_a_grid_and_exports_figures() {
    let dir = tempfile::tempdir().unwrap();
    let preset = write_sweep_preset(dir.path(), 2);
    let text = std::fs::read_to_string(&preset).unwrap() + "\"optimizer.lr\" = [0.003, 0.01]\n";
    write(&preset, &text.replace("seeds = [1, 2]", "seeds = [1]"));
    let out_dir = dir.path().join("runs");
    succeed(
        ferlab()
            .arg("sweep")
            .arg(&preset)
            .arg("--out")
            .arg(&out_dir),
    );
    let sweep = out_dir.join("beta-sweep");
    let grid = std::fs::read_to_string(sweep.join("grid.csv")).unwrap();
    let lines: Vec<&str> = grid.lines().collect();
    assert_eq!(lines[0], "method.cb.beta / optimizer.lr,0.003,0.01");
    assert_eq!(lines.len(), 3);
    assert!(
        lines[1].starts_with("0.9,") && lines[2].starts_with("0.999,"),
        "{grid}"
    );
    assert!(
        std::fs::read_to_string(sweep.join("grid.tex"))
            .unwrap()
            .contains("\\toprule")
    );

    // The sweep folder exports like a folder of runs: per-run sets and comparisons.
    let figs = dir.path().join("figs");
    succeed(
        ferlab()
            .arg("export")
            .arg(&sweep)
            .arg("--out")
            .arg(&figs)
            .args(["--format", "svg", "--size", "4x3"]),
    );
    let svg = std::fs::read_to_string(figs.join("beta=0.9_lr=0.003/curves.svg")).unwrap();
    assert!(svg.contains("width=\"384\"") && svg.contains("height=\"288\""));
    let compare = std::fs::read_to_string(figs.join("compare_per_class.svg")).unwrap();
    // Runs of one method are named by the settings that tell them apart.
    assert!(
        compare.contains("surprise") && compare.contains("CB · beta=0.999, lr=0.01"),
        "{compare}"
    );
}

#[test]
fn a_rerun_sweep_waits_for_a_point_an_earlier_task_still_runs() {
    let dir = tempfile::tempdir().unwrap();
    let preset = write_sweep_preset(dir.path(), 12);
    let out_dir = dir.path().join("runs");
    let sweep = expand_sweep(&preset, &out_dir);
    let name = "beta=0.9_seed=2";
    // The task of point 1 from a sweep that was killed: still running on its own.
    let mut orphan = ferlab()
        .args(["sweep", "task"])
        .arg(&sweep)
        .arg("1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lock = sweep.join("logs").join(format!("{name}.lock"));
    let t0 = std::time::Instant::now();
    while !std::fs::read_to_string(&lock).is_ok_and(|p| p.trim() == orphan.id().to_string()) {
        assert!(t0.elapsed().as_secs() < 60, "the task never started");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let stdout = succeed(
        ferlab()
            .arg("sweep")
            .arg(&preset)
            .arg("--out")
            .arg(&out_dir),
    );
    orphan.wait().unwrap();
    assert!(
        stdout.contains(&format!(
            "{name} is still being run by process {}",
            orphan.id()
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("failed"), "{stdout}");
    assert!(
        stdout.contains(&format!("{name} finished (by the earlier task)"))
            || stdout.contains(&format!("resuming {name}")),
        "{stdout}"
    );
    let log =
        std::fs::read_to_string(sweep.join("logs").join(format!("{name}.log"))).unwrap_or_default();
    assert!(!log.contains("is being run by process"), "{log}");
    let text = succeed(ferlab().args(["sweep", "collect"]).arg(&sweep));
    assert!(text.contains("4 of 4 points finished"), "{text}");
}

#[test]
fn a_runs_validation_views_are_what_eval_uses_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let preset = dir.path().join("tta.toml");
    write(
        &preset,
        r#"
name = "tta"
[data]
image_size = 24
[data.synthetic]
train_per_class = 12
val_per_class = 5
identities = 10
[augment]
crop_padding = 2
[model]
width = 8
[train]
epochs = 1
batch_size = 16
tta = "ten_crop"
"#,
    );
    let (_, run) = train_one(&preset, &dir.path().join("runs"));
    // The epoch's validation as the run recorded it.
    let events = std::fs::read_to_string(run.join("events.jsonl")).unwrap();
    let val = events
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"]["type"] == "EpochEnd")
        .map(|e| e["event"]["val"].clone())
        .next_back()
        .unwrap();
    let eval = |args: &[&str]| {
        let json = dir.path().join("eval.json");
        let out = ferlab()
            .arg("eval")
            .arg(&run)
            .arg("--last")
            .args(args)
            .arg("--json")
            .arg(&json)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&json).unwrap()).unwrap()
    };
    let same = eval(&[]);
    assert!(
        same["tta"].as_str().unwrap().starts_with("ten-crop"),
        "{same}"
    );
    assert_eq!(same["confusion"], val["confusion"], "{same}\n{val}");
    let loss = |v: &serde_json::Value| v["loss"].as_f64().unwrap();
    assert!((loss(&same) - loss(&val)).abs() < 1e-5, "{same}\n{val}");
    // The plain view is another evaluation.
    let plain = eval(&["--tta", "none"]);
    assert!((loss(&plain) - loss(&val)).abs() > 1e-6, "{plain}\n{val}");

    // Ten crops need the training crop's translation.
    let out = ferlab()
        .arg("train")
        .arg(&preset)
        .args(["--set", "augment.crop_padding=0", "--out"])
        .arg(dir.path().join("runs2"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("train.tta") && err.contains("crop_padding"),
        "{err}"
    );
}

#[test]
fn compare_two_methods_over_shared_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let preset = dir.path().join("tiny.toml");
    write(
        &preset,
        r#"
name = "cmp"
[data]
image_size = 16
[data.synthetic]
train_per_class = 8
val_per_class = 4
identities = 6
[model]
width = 4
[train]
epochs = 1
batch_size = 16
attention_every = 0
"#,
    );
    for (group, method) in [("a", "ce"), ("b", "cb")] {
        for seed in ["1", "2"] {
            let sets = [format!("method.name={method}"), format!("seed={seed}")];
            let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
            train_with(&preset, &dir.path().join(group), &sets);
        }
    }
    let out = ferlab()
        .arg("compare")
        .arg(dir.path().join("a"))
        .arg(dir.path().join("b"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("| A: CE | B: CB |"), "{text}");
    assert!(text.contains("paired t-test (2 seeds)"), "{text}");
    for row in [
        "best overall %",
        "best mean per class %",
        "last overall %",
        "last mean per class %",
    ] {
        assert!(text.contains(row), "{row}: {text}");
    }
    assert!(text.contains("(2)"), "two runs a side: {text}");

    // A folder without runs is named in the error.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = ferlab()
        .arg("compare")
        .arg(dir.path().join("a"))
        .arg(&empty)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("empty") && err.contains("holds none"), "{err}");
}

#[test]
fn logit_adjustment_moves_predictions_towards_rare_classes() {
    let dir = tempfile::tempdir().unwrap();
    let preset = dir.path().join("tiny.toml");
    write(
        &preset,
        r#"
name = "la"
[data]
image_size = 16
[data.synthetic]
train_per_class = 30
val_per_class = 6
identities = 6
[corruption]
imbalance_factor = 10
[model]
width = 4
[train]
epochs = 1
batch_size = 16
attention_every = 0
"#,
    );
    let (_, run) = train_one(&preset, &dir.path().join("runs"));
    let events = std::fs::read_to_string(run.join("events.jsonl")).unwrap();
    let counts: Vec<u64> = events
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| {
            let c = v["event"]["data"]["train_counts"].as_array()?.clone();
            Some(c.iter().map(|n| n.as_u64().unwrap()).collect())
        })
        .expect("the run records its training class counts");
    let rarest = (0..counts.len()).min_by_key(|&i| counts[i]).unwrap();
    let eval = |tau: &str| {
        let json = dir.path().join(format!("la-{tau}.json"));
        let out = ferlab()
            .arg("eval")
            .arg(&run)
            .args(["--logit-adjust", tau, "--json"])
            .arg(&json)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        (text, v)
    };
    // A prior ten times smaller outweighs any evidence at τ = 10: every face is called
    // the rarest class (the confusion matrix's rows are true classes, columns predictions).
    let (text, v) = eval("10");
    assert!(text.contains("logit adjustment: τ = 10"), "{text}");
    assert_eq!(v["logit_adjustment"], 10.0);
    let confusion: Vec<Vec<u64>> = serde_json::from_value(v["confusion"].clone()).unwrap();
    for (i, row) in confusion.iter().enumerate() {
        for (j, &n) in row.iter().enumerate() {
            assert!(
                n == 0 || j == rarest,
                "true {i} predicted {j}: {confusion:?}, counts {counts:?}"
            );
        }
    }
    // τ = 0 is the plain evaluation.
    let (text, v0) = eval("0");
    assert!(!text.contains("logit adjustment"), "{text}");
    let out = ferlab().arg("eval").arg(&run).output().unwrap();
    let plain = String::from_utf8_lossy(&out.stdout);
    let overall = format!("{:.2}%", 100.0 * v0["overall"].as_f64().unwrap());
    assert!(plain.contains(&overall), "{overall} in {plain}");
    // Out of range is refused, naming the flag.
    let out = ferlab()
        .arg("eval")
        .arg(&run)
        .arg("--logit-adjust=-1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("--logit-adjust"),
        "{err}"
    );
}
