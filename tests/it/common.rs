//! Helpers shared by the integration tests: tiny experiments and fixture writers.

use ferlab::compute::method::REGISTRY;
use std::path::Path;

use ferlab::compute::train::control::Control;
use ferlab::compute::train::engine::{Launch, prepare};
use ferlab::compute::train::trainer::{self, Outcome};
use ferlab::contract::config::Experiment;
use ferlab::contract::event::Event;
use ferlab::contract::run::{Recorder, RunDir};

/// The `ferlab` binary under test.
pub fn ferlab() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_ferlab"))
}

/// Runs `cmd`, asserts it succeeded (showing its output if not) and returns its stdout.
pub fn succeed(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// What a command wrote to its standard error.
pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `cmd`, asserts it failed and that its error says `needle`; returns the error.
pub fn refused(cmd: &mut std::process::Command, needle: &str) -> String {
    let out = cmd.output().unwrap();
    let err = stderr(&out);
    assert!(
        !out.status.success(),
        "succeeded, expected `{needle}`: {err}"
    );
    assert!(err.contains(needle), "missing `{needle}` in: {err}");
    err
}

/// A small synthetic experiment that trains in seconds.
pub fn tiny_experiment(out: &Path) -> Experiment {
    let text = format!(
        r#"
name = "tiny"
seed = 3
[data]
image_size = 32
[data.synthetic]
train_per_class = 40
val_per_class = 12
identities = 30
[augment]
crop_padding = 2
brightness = 0.1
contrast = 0.1
[model]
width = 8
[optimizer]
lr = 0.003
[train]
epochs = 3
batch_size = 32
log_every = 1
[output]
dir = "{}"
"#,
        out.display()
    );
    Experiment::from_toml(&text, "tiny", &[], &REGISTRY).expect("valid tiny experiment")
}

/// Writes a grey PNG or JPEG of `size` × `size` with a pattern depending on `seed`.
pub fn write_image(path: &Path, size: u32, seed: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let img = image::GrayImage::from_fn(size, size, |x, y| {
        image::Luma([((x * 7 + y * 13 + seed * 31) % 256) as u8])
    });
    img.save(path).unwrap();
}

/// Runs an experiment to its end in this thread, collecting its events; `stop_at` asks for
/// a stop when a progress event reaches (epoch, step).
pub fn run_collect(
    exp: Experiment,
    stop_at: Option<(usize, usize)>,
) -> (RunDir, Outcome, Vec<Event>) {
    let prepared = prepare(Launch::New(Box::new(exp))).unwrap();
    let (exp, dir) = (prepared.experiment, prepared.dir);
    let control = Control::default();
    let mut events = Vec::new();
    let mut log = Recorder::open(&dir.events()).unwrap();
    let mut sink = |e: &Event| {
        log.record(e).unwrap();
        if let (Some((se, ss)), Event::Progress { epoch, step, .. }) = (stop_at, e)
            && *epoch == se
            && *step == ss
        {
            control.stop();
        }
        events.push(e.clone());
    };
    let outcome = trainer::run(exp, dir.clone(), false, &control, &mut sink).unwrap();
    (dir, outcome, events)
}

pub fn resume_collect(dir: &RunDir) -> (Outcome, Vec<Event>) {
    let prepared = prepare(Launch::Resume {
        dir: dir.root.clone(),
        overrides: vec![],
    })
    .unwrap();
    assert!(prepared.resume);
    let (exp, dir) = (prepared.experiment, prepared.dir);
    let control = Control::default();
    let mut events = Vec::new();
    let mut log = Recorder::open(&dir.events()).unwrap();
    let mut sink = |e: &Event| {
        log.record(e).unwrap();
        events.push(e.clone());
    };
    let outcome = trainer::run(exp, dir, true, &control, &mut sink).unwrap();
    (outcome, events)
}

/// Runs `exp` uninterrupted, then again stopped at `stop_at` (epoch, step) and resumed.
/// Returns the uninterrupted run's events and the stopped run's followed by the resumed one's.
pub fn full_and_resumed(exp: Experiment, stop_at: (usize, usize)) -> (Vec<Event>, Vec<Event>) {
    let (_, _, full) = run_collect(exp.clone(), None);
    let (dir, outcome, mut pieced) = run_collect(exp, Some(stop_at));
    let (epoch, step) = stop_at;
    assert!(
        matches!(outcome, Outcome::Stopped(p) if p.epoch == epoch && p.step == step),
        "{outcome:?}"
    );
    pieced.extend(resume_collect(&dir).1);
    (full, pieced)
}
