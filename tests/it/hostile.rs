//! Untrusted input, as a hostile but realistic user gives it to the `ferlab` binary: files
//! that point elsewhere or hold NaN, grids and sizes without a bound, resumes that would
//! change what a run is. Each is refused with the file or field named; the bounds are shown
//! by the peak memory of the process that refused.

use super::common::{self, ferlab, refused, stderr, succeed};
use super::face_resnet::{fixture_weights, write_manifest};
use ferlab::compute::method::REGISTRY;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use candle_core::{Device, Tensor};
use ferlab::compute::model::FerModel;
use ferlab::compute::model::pretrained::load_pretrained;
use ferlab::compute::train::checkpoint;
use ferlab::compute::train::control::Control;
use ferlab::compute::train::engine::{Launch, prepare};
use ferlab::compute::train::trainer;
use ferlab::contract::config::ModelConfig;
use ferlab::contract::event::Event;
use ferlab::contract::run::results::read_run;

/// The address space every refusal below runs in (`ulimit -v`): the binary with its
/// libraries and the input looked at fit easily, and what used to happen does not (a
/// 10 × 10 sweep grid grew by ~300 MB/s, a manifest's `/dev/zero` shard reached 5.3 GB,
/// `describe --input-size 100000` 12.7 GB): past the limit an allocation fails and the
/// process aborts without the refusal's message.
const REFUSAL_ADDRESS_SPACE_KIB: u64 = 1 << 20;

/// Asserts `cmd` failed saying `needle` while its address space was limited to
/// [`REFUSAL_ADDRESS_SPACE_KIB`].
fn refused_within_bound(cmd: &mut Command, needle: &str) -> String {
    let script = format!("ulimit -v {REFUSAL_ADDRESS_SPACE_KIB} && exec \"$0\" \"$@\"");
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(
        !out.status.success() && out.status.code().is_some(),
        "expected `{needle}`, got {:?}: {err}",
        out.status
    );
    assert!(err.contains(needle), "missing `{needle}` in: {err}");
    err
}

/// A synthetic preset that trains in a few seconds.
fn tiny_preset(dir: &Path, epochs: usize, extra: &str) -> PathBuf {
    let preset = dir.join("tiny.toml");
    std::fs::write(
        &preset,
        format!(
            "name = \"tiny\"\nseed = 3\n[data]\nimage_size = 24\n[data.synthetic]\n\
             train_per_class = 12\nval_per_class = 4\nidentities = 10\n[model]\nwidth = 8\n{extra}\n\
             [train]\nepochs = {epochs}\nbatch_size = 16\n"
        ),
    )
    .unwrap();
    preset
}

/// Trains `preset` under `runs` and returns the new run directory.
fn train(runs: &Path, preset: &Path, sets: &[&str]) -> PathBuf {
    let before: Vec<PathBuf> = list(runs);
    let mut cmd = ferlab();
    cmd.arg("train")
        .arg(preset)
        .arg("--out")
        .arg(runs)
        .arg("--quiet");
    for s in sets {
        cmd.args(["--set", s]);
    }
    succeed(&mut cmd);
    list(runs)
        .into_iter()
        .find(|p| !before.contains(p))
        .expect("a new run")
}

fn list(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

fn snapshot(run: &Path) -> Vec<Vec<u8>> {
    [
        "config.toml",
        "events.jsonl",
        "checkpoints/last.safetensors",
    ]
    .iter()
    .map(|f| std::fs::read(run.join(f)).unwrap_or_default())
    .collect()
}

#[test]
fn an_unbounded_sweep_grid_is_refused_by_its_count() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = std::fs::read_to_string(tiny_preset(dir.path(), 1, "")).unwrap();
    text += "[sweep.grid]\n";
    for key in [
        "seed",
        "optimizer.lr",
        "optimizer.weight_decay",
        "train.batch_size",
        "train.log_every",
        "train.eval_batch_size",
        "train.attention_gallery",
        "data.synthetic.identities",
        "data.synthetic.train_per_class",
        "data.synthetic.val_per_class",
    ] {
        let values: Vec<String> = (1..=10)
            .map(|i| match key {
                "optimizer.lr" | "optimizer.weight_decay" => format!("{}", i as f64 / 1000.0),
                _ => (i + 3).to_string(),
            })
            .collect();
        text += &format!("\"{key}\" = [{}]\n", values.join(", "));
    }
    let preset = dir.path().join("grid.toml");
    std::fs::write(&preset, text).unwrap();
    refused_within_bound(
        ferlab()
            .arg("sweep")
            .arg(&preset)
            .arg("--out")
            .arg(dir.path().join("out"))
            .arg("--slurm"),
        "makes 10000000000 runs",
    );
}

#[test]
fn a_manifest_cannot_make_ferlab_read_outside_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("face.png");
    common::write_image(&image, 150, 1);
    // 10^9 declared floats read from /dev/zero: refused before a byte is read.
    let manifest = dir.path().join("m.json");
    std::fs::write(
        &manifest,
        r#"[{"paths": ["/dev/zero"], "weights": [{"name": "fc", "shape": [1000000000], "dtype": "float32"}]}]"#,
    )
    .unwrap();
    refused_within_bound(
        ferlab()
            .arg("describe")
            .arg("--weights")
            .arg(&manifest)
            .arg(&image),
        "not inside the manifest's folder",
    );
    // The same manifest given to training.
    let preset = tiny_preset(
        dir.path(),
        1,
        &format!(
            "backbone = \"face_resnet\"\ninput_size = 112\npretrained = \"{}\"",
            manifest.display()
        ),
    );
    refused_within_bound(
        ferlab()
            .arg("train")
            .arg(&preset)
            .arg("--out")
            .arg(dir.path().join("runs"))
            .arg("--quiet"),
        "shard `/dev/zero` is not inside",
    );
}

#[test]
fn describe_bounds_its_input_size_and_describes_the_good_images_of_many() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = write_manifest(&dir.path().join("w"), &fixture_weights(3));
    let good = dir.path().join("good.png");
    common::write_image(&good, 150, 2);
    refused_within_bound(
        ferlab()
            .arg("describe")
            .arg("--weights")
            .arg(&manifest)
            .args(["--input-size", "100000"])
            .arg(&good),
        "--input-size must be from 103 to 512",
    );
    let bad = dir.path().join("bad.png");
    std::fs::write(&bad, b"not a png").unwrap();
    let out = ferlab()
        .arg("describe")
        .arg("--weights")
        .arg(&manifest)
        .arg(&good)
        .arg(&bad)
        .arg(&good)
        .output()
        .unwrap();
    let (stdout, err) = (String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(!out.status.success(), "{err}");
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(
        err.contains("bad.png") && err.contains("1 of 3 images"),
        "{err}"
    );
}

#[test]
fn non_finite_weights_are_named_wherever_they_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let run = train(&runs, &tiny_preset(dir.path(), 1, ""), &[]);
    // A checkpoint altered to hold NaN: eval prints no accuracy, a resume does not start.
    let best = run.join("checkpoints/best.safetensors");
    let (tensors, state) = checkpoint::load(&best, &Device::Cpu).unwrap();
    let mut named: Vec<(String, Tensor)> = tensors.into_iter().collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let (name, t) = named
        .iter_mut()
        .find(|(n, _)| n.ends_with("weight"))
        .unwrap();
    *t = (t.ones_like().unwrap() * f64::NAN).unwrap();
    let name = name.clone();
    checkpoint::save(&best, &named, state.as_deref().unwrap()).unwrap();
    std::fs::copy(&best, run.join("checkpoints/last.safetensors")).unwrap();
    let err = refused(
        ferlab().arg("eval").arg(&run),
        &format!("tensor `{name}` holds NaN"),
    );
    assert!(!err.contains("accuracy"), "{err}");
    refused(
        ferlab()
            .args(["train", "--quiet", "--resume"])
            .arg(&run)
            .args(["--set", "train.epochs=2"]),
        &format!("tensor `{name}` holds NaN"),
    );
    // The same file as pretrained weights.
    refused(
        ferlab()
            .arg("train")
            .arg(tiny_preset(
                dir.path(),
                1,
                &format!("pretrained = \"{}\"", best.display()),
            ))
            .arg("--out")
            .arg(&runs),
        "holds NaN",
    );
}

#[test]
fn weights_of_another_model_are_refused_not_trained_on_as_pretrained() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.safetensors");
    let t = Tensor::zeros((3, 3), candle_core::DType::F32, &Device::Cpu).unwrap();
    candle_core::safetensors::save(
        &[
            ("encoder.weight".to_string(), t.clone()),
            ("stem.conv.weight".to_string(), t),
        ]
        .into_iter()
        .collect(),
        &path,
    )
    .unwrap();
    let model = FerModel::new(&ModelConfig::default(), 1, 7, &Device::Cpu, 1).unwrap();
    let err = load_pretrained(&model, &path).unwrap_err().to_string();
    assert!(
        err.contains("other.safetensors") && err.contains("only 0 of the model's"),
        "{err}"
    );
}

#[test]
fn a_resume_continues_the_run_it_is_and_needs_no_pretrained_file() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let donor = train(
        &dir.path().join("donor"),
        &tiny_preset(dir.path(), 1, ""),
        &[],
    );
    let weights = dir.path().join("donor.safetensors");
    std::fs::copy(donor.join("checkpoints/last.safetensors"), &weights).unwrap();
    let preset = tiny_preset(
        dir.path(),
        1,
        &format!("pretrained = \"{}\"", weights.display()),
    );
    let run = train(&runs, &preset, &[]);
    let before = snapshot(&run);
    for (set, needle) in [
        (
            "method.name=asm",
            "method.name: recorded as \"ce\", --set gives \"asm\"",
        ),
        (
            "data.source=image_folder",
            "data.source: recorded as \"synthetic\"",
        ),
        ("seed=4", "seed: recorded as 3, --set gives 4"),
        (
            "model.pretrained=/moved/w.safetensors",
            "a resume does not read model.pretrained",
        ),
    ] {
        refused(
            ferlab().args(["train", "--resume"]).arg(&run).args([
                "--set",
                set,
                "--set",
                "train.epochs=2",
            ]),
            needle,
        );
        assert!(
            snapshot(&run) == before,
            "the refused `{set}` changed the run"
        );
    }
    // The pretrained file moved away: the checkpoint has every weight, the resume trains.
    std::fs::remove_file(&weights).unwrap();
    succeed(
        ferlab()
            .args(["train", "--quiet", "--resume"])
            .arg(&run)
            .args(["--set", "train.epochs=2", "--set", "train.threads=1"]),
    );
    let result = read_run(&run, &REGISTRY).unwrap();
    assert_eq!(
        (result.epochs, result.method.as_str()),
        (2, "CE"),
        "{result:?}"
    );
    // An empty path is a problem of its own, not "unknown weights format `.`".
    refused(
        ferlab()
            .arg("train")
            .arg(&preset)
            .args(["--set", "model.pretrained="])
            .arg("--out")
            .arg(&runs),
        "model.pretrained: is empty",
    );
}

#[test]
fn a_run_whose_checkpoints_link_to_another_run_is_not_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let preset = tiny_preset(dir.path(), 1, "");
    let victim = train(&runs, &preset, &[]);
    let attacker = train(&runs, &preset, &["seed=5"]);
    let kept = snapshot(&victim);
    std::fs::remove_dir_all(attacker.join("checkpoints")).unwrap();
    std::os::unix::fs::symlink(victim.join("checkpoints"), attacker.join("checkpoints")).unwrap();
    refused(
        ferlab()
            .args(["train", "--resume"])
            .arg(&attacker)
            .args(["--set", "train.epochs=2"]),
        "checkpoints is a symbolic link to",
    );
    assert!(snapshot(&victim) == kept, "the victim's files changed");
    succeed(
        ferlab()
            .args(["train", "--quiet", "--resume"])
            .arg(&victim)
            .args(["--set", "train.epochs=2"]),
    );
}

#[test]
fn numbers_that_do_not_fit_are_named_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let preset = tiny_preset(dir.path(), 1, "");
    let out = dir.path().join("runs");
    for (set, needle) in [
        ("optimizer.lr=1e-320", "optimizer.lr: 1e-320 is too small"),
        (
            "optimizer.lr=1e309",
            "optimizer.lr: `1e309` is not a number ferlab can hold",
        ),
        (
            "train.epochs=99999999999999999999",
            "train.epochs: `99999999999999999999`",
        ),
    ] {
        let err = refused(
            ferlab()
                .arg("train")
                .arg(&preset)
                .args(["--set", set])
                .arg("--out")
                .arg(&out),
            needle,
        );
        assert!(!err.contains("invalid type: string"), "{err}");
    }
    assert!(list(&out).is_empty(), "nothing was trained");
    // A generated set that cannot fit in memory is refused beside the setting, before a
    // face is drawn.
    refused_within_bound(
        ferlab().arg("train").arg(&preset).args([
            "--set",
            "data.synthetic.train_per_class=1000000",
            "--set",
            "data.image_size=512",
        ]),
        "data.synthetic.train_per_class: the synthetic set would hold 7000028 faces of 1×512×512",
    );
    refused_within_bound(
        ferlab().arg("train").arg(&preset).args([
            "--set",
            "unlabeled.source=synthetic_clips",
            "--set",
            "unlabeled.videos=10000",
            "--set",
            "unlabeled.people=1000",
            "--set",
            "unlabeled.frames=100000",
        ]),
        "unlabeled.frames: the synthetic clips would hold 1000000000000 faces",
    );
}

#[test]
fn eval_of_a_missing_run_names_the_path_it_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("runs").join("no-such-run");
    let err = refused(ferlab().arg("eval").arg(&missing), "no such run directory");
    assert!(err.contains(&missing.display().to_string()), "{err}");
}

/// A full disk while the preview is written leaves the preview that was there. `ulimit -f`
/// stands in for the full disk (and SIGXFSZ is ignored so the write fails instead).
#[test]
fn a_preview_written_on_a_full_disk_keeps_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let preset = tiny_preset(dir.path(), 1, "");
    let png = dir.path().join("preview.png");
    succeed(
        ferlab()
            .args(["data", "preview"])
            .arg(&preset)
            .arg("--out")
            .arg(&png),
    );
    let good = std::fs::read(&png).unwrap();
    assert!(
        good.len() > 4096,
        "the preview must outgrow the limit below"
    );
    let script = format!(
        "trap '' XFSZ; ulimit -f 2; exec \"$0\" data preview {} --out {} --per-class 12",
        preset.display(),
        png.display()
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_ferlab"))
        .output()
        .unwrap();
    assert!(!out.status.success(), "the write should have failed");
    assert_eq!(
        std::fs::read(&png).unwrap(),
        good,
        "the old preview was damaged"
    );
    let leftovers: Vec<PathBuf> = list(dir.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A run whose log cannot be written stops at its next step instead of training an epoch
/// unrecorded (the engine calls `Control::fail` then; here the fault is set up front).
#[test]
fn a_run_with_a_fault_fails_before_its_next_step() {
    let dir = tempfile::tempdir().unwrap();
    let exp = common::tiny_experiment(dir.path());
    let prepared = prepare(Launch::New(Box::new(exp))).unwrap();
    let control = Control::default();
    control.fail("cannot write events.jsonl: No space left on device");
    let mut events = Vec::new();
    let mut sink = |e: &Event| events.push(e.clone());
    let err = trainer::run(
        prepared.experiment,
        prepared.dir.clone(),
        false,
        &control,
        &mut sink,
    )
    .expect_err("the run fails")
    .to_string();
    assert!(err.contains("No space left"), "{err}");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::EpochEnd { .. } | Event::Progress { .. }))
    );
    assert!(!prepared.dir.last_checkpoint().exists());
}

/// Files that never end (`/dev/zero`) or are not files are refused before they are read:
/// as a preset, as pretrained weights, as a manifest, as a run's checkpoint.
#[test]
fn devices_are_not_read_as_presets_weights_or_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let zero_toml = dir.path().join("zero.toml");
    std::os::unix::fs::symlink("/dev/zero", &zero_toml).unwrap();
    refused_within_bound(ferlab().arg("train").arg(&zero_toml), "not a preset");
    let image = dir.path().join("face.png");
    common::write_image(&image, 150, 1);
    let zero_json = dir.path().join("zero.json");
    std::os::unix::fs::symlink("/dev/zero", &zero_json).unwrap();
    refused_within_bound(
        ferlab()
            .arg("describe")
            .arg("--weights")
            .arg(&zero_json)
            .arg(&image),
        "is not a regular file",
    );
    let runs = dir.path().join("runs");
    let run = train(&runs, &tiny_preset(dir.path(), 1, ""), &[]);
    let best = run.join("checkpoints/best.safetensors");
    std::fs::remove_file(&best).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &best).unwrap();
    refused_within_bound(ferlab().arg("eval").arg(&run), "is not a regular file");
    let zero_weights = dir.path().join("zero.safetensors");
    std::os::unix::fs::symlink("/dev/zero", &zero_weights).unwrap();
    refused_within_bound(
        ferlab()
            .arg("train")
            .arg(tiny_preset(
                dir.path(),
                1,
                &format!("pretrained = \"{}\"", zero_weights.display()),
            ))
            .arg("--out")
            .arg(&runs),
        "is not a regular file",
    );
}
