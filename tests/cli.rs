//! The `ferlab` binary as a user runs it: errors for bad presets, training, evaluation,
//! data statistics.

use std::path::Path;
use std::process::Command;

fn ferlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ferlab"))
}

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
    let out = ferlab()
        .arg("train")
        .arg(&preset)
        .arg("--out")
        .arg(dir.path().join("runs"))
        .arg("--quiet")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("epoch   2:") && err.contains("finished in"),
        "{err}"
    );
    let run = std::fs::read_dir(dir.path().join("runs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
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
        match ferlab::config::Experiment::from_toml(&text, &path.display().to_string(), &[]) {
            Ok(exp) => assert!(
                path.display().to_string().contains(&exp.name),
                "{}: name `{}` differs from the file name",
                path.display(),
                exp.name
            ),
            // A fresh clone has no ../shared: only the dataset path may be missing.
            Err(e) => {
                let problems = e.problems();
                assert!(
                    !problems.is_empty() && problems.iter().all(|p| p.path == "data.path"),
                    "{}: {e}",
                    path.display()
                );
            }
        }
    }
    assert!(seen >= 20, "only {seen} presets found");
}
