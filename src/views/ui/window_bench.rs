//! What the real workbench window costs a training run on the same CPU: the CPU time of the
//! window's threads (the UI thread, the software renderer's, everything but the engine's)
//! per second of wall time, idle, paused and while a run trains; and training throughput
//! with the window open against the same run headless. `ferlab bench --ui` prints it.
//!
//! The script below drives the window without input; a sampler thread measures the quiet
//! phases (idle, paused), so every frame drawn inside them is one the workbench asked for.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use egui::Ui;

use super::app::Workbench;
use super::panels::curves::CurvesPanel;
use super::panels::log::LogPanel;
use super::thread_cpu::{CpuSplit, SAMPLER, cpu_split};
use crate::compute::train::{Engine, Launch};
use crate::contract::config::Experiment;
use crate::contract::event::Event;
use crate::contract::run::recorder;
use crate::views::Error;

/// One measured phase of the window.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WindowPhase {
    pub phase: String,
    pub wall_secs: f64,
    /// CPU seconds of the window's threads per wall second (1.0 = one core).
    pub window_cores: f64,
    /// CPU seconds of the training threads per wall second.
    pub training_cores: f64,
    pub frames: usize,
}

impl WindowPhase {
    pub fn frames_per_sec(&self) -> f64 {
        self.frames as f64 / self.wall_secs.max(1e-9)
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct WindowReport {
    pub phases: Vec<WindowPhase>,
    /// Training images per wall second after the first epoch, headless and beside the window.
    pub headless_images_per_sec: f64,
    pub window_images_per_sec: f64,
}

/// Images per wall second between the end of the first epoch and the end of the last, from
/// the times `events.jsonl` recorded (so start-up and the first epoch's allocations are left
/// out, and both sides are timed by the same clock).
pub fn run_throughput(run_dir: &Path, batch_size: usize) -> Result<f64, Error> {
    let path = run_dir.join("events.jsonl");
    let log = recorder::read(&path).map_err(|e| Error::file(&path, e))?;
    let mut steps = 0;
    let mut ends = Vec::new();
    for r in &log.records {
        match &r.event {
            Event::Started {
                steps_per_epoch, ..
            } => steps = *steps_per_epoch,
            Event::EpochEnd { .. } => ends.push(r.time),
            _ => {}
        }
    }
    let (Some(first), Some(last)) = (ends.first(), ends.last()) else {
        return Err(Error::Window(format!("{}: no epoch ended", path.display())));
    };
    if ends.len() < 2 || last <= first {
        return Err(Error::Window(format!(
            "{}: fewer than two epochs ended",
            path.display()
        )));
    }
    Ok((ends.len() - 1) as f64 * (steps * batch_size) as f64 / (last - first))
}

/// Trains `exp` without a window and returns its throughput.
pub fn headless_throughput(exp: &Experiment) -> Result<f64, Error> {
    let engine = Engine::start(Launch::New(Box::new(exp.clone())), None)?;
    for event in engine.events().iter() {
        if let Event::Failed { error } = &event {
            return Err(Error::Window(format!("the headless run failed: {error}")));
        }
        if event.is_terminal() {
            break;
        }
    }
    run_throughput(&engine.dir.root, exp.train.batch_size)
}

/// Where the script is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The sampler measures the window idle with the editor; the window is left alone.
    IdleEditor,
    /// A run was started; waiting for its first epoch to end.
    StartTraining,
    /// Measuring from the end of the first epoch to the end of the last.
    Training,
    /// The run ended; waiting for its last events.
    Ending,
    IdleShown,
    /// A second run was started; waiting for its first progress report to pause it.
    StartPaused,
    Paused,
    Stopping,
    Done,
}

/// The quiet phases' length and the settling time before each.
const MEASURE: Duration = Duration::from_secs(15);
const SETTLE: Duration = Duration::from_secs(3);

/// The measured phases, shared with the sampler thread.
type Phases = Arc<Mutex<Result<Vec<WindowPhase>, Error>>>;

/// Samples CPU and frames at two instants and records the phase between them.
fn sample_phase(name: &str, from: (Instant, CpuSplit, usize), frames: usize) -> WindowPhase {
    let now = cpu_split().unwrap_or_default();
    let wall = from.0.elapsed().as_secs_f64();
    WindowPhase {
        phase: name.to_string(),
        wall_secs: wall,
        window_cores: (now.window - from.1.window) / wall,
        training_cores: (now.training - from.1.training) / wall,
        frames: frames - from.2,
    }
}

/// Measures a quiet phase (idle or paused) from its own thread, so that the script draws
/// no frame inside it: after `SETTLE`, for `MEASURE`; then asks the window for a frame so
/// the script moves on.
fn measure_quietly(
    name: &'static str,
    phases: Phases,
    frames: Arc<AtomicUsize>,
    ctx: egui::Context,
) {
    let spawned = std::thread::Builder::new().name(SAMPLER.into()).spawn({
        let phases = Arc::clone(&phases);
        move || {
            std::thread::sleep(SETTLE);
            let from = (
                Instant::now(),
                cpu_split().unwrap_or_default(),
                frames.load(Ordering::Relaxed),
            );
            std::thread::sleep(MEASURE);
            let phase = sample_phase(name, from, frames.load(Ordering::Relaxed));
            if let Ok(list) = &mut *phases.lock().expect("phases lock") {
                list.push(phase);
            }
            ctx.request_repaint();
        }
    });
    if let Err(e) = spawned {
        *phases_lock(&phases) = Err(Error::Window(format!(
            "cannot start the sampler thread: {e}"
        )));
    }
}

fn phases_lock(phases: &Phases) -> std::sync::MutexGuard<'_, Result<Vec<WindowPhase>, Error>> {
    phases.lock().expect("phases lock")
}

struct Script {
    workbench: Workbench,
    batch_size: usize,
    step: Step,
    /// Frames drawn so far (the sampler reads it).
    frames: Arc<AtomicUsize>,
    phases: Phases,
    /// Phases recorded when the current step began.
    phases_before: usize,
    /// The training phase's start.
    training_from: Option<(Instant, CpuSplit, usize)>,
    window_throughput: Arc<Mutex<Option<Result<f64, Error>>>>,
}

impl Script {
    fn fail(&mut self, why: String) {
        *phases_lock(&self.phases) = Err(Error::Window(why));
        self.step = Step::Done;
    }

    fn recorded(&self) -> usize {
        phases_lock(&self.phases).as_ref().map_or(0, Vec::len)
    }

    fn quiet(&mut self, name: &'static str, next: Step, ctx: &egui::Context) {
        self.phases_before = self.recorded();
        self.step = next;
        measure_quietly(
            name,
            Arc::clone(&self.phases),
            Arc::clone(&self.frames),
            ctx.clone(),
        );
    }

    /// The quiet phase begun last has been recorded.
    fn quiet_done(&self) -> bool {
        self.recorded() > self.phases_before
    }

    fn start_run(&mut self, ctx: &egui::Context, next: Step) {
        self.workbench.start(ctx);
        if self.workbench.is_running() {
            self.step = next;
        } else {
            let why = format!("the run did not start: {:?}", self.workbench.notice);
            self.fail(why);
        }
    }

    fn advance(&mut self, ctx: &egui::Context) {
        let frames = self.frames.load(Ordering::Relaxed);
        match self.step {
            Step::IdleEditor if self.quiet_done() => {
                self.workbench.show_panel::<LogPanel>();
                self.start_run(ctx, Step::StartTraining);
            }
            Step::StartTraining if !self.workbench.view.epochs.is_empty() => {
                self.training_from =
                    Some((Instant::now(), cpu_split().unwrap_or_default(), frames));
                self.step = Step::Training;
            }
            Step::Training
                if self.workbench.view.epochs.len()
                    >= self.workbench.view.epochs_total.saturating_sub(1).max(2) =>
            {
                // Measured at the end of the epoch before the last: the window reads the last
                // epoch's end after the engine's threads may have exited, and an exited
                // thread's CPU leaves the sum (the training cores came out negative).
                if let Some(from) = self.training_from.take() {
                    let phase = sample_phase("training", from, frames);
                    if let Ok(list) = &mut *phases_lock(&self.phases) {
                        list.push(phase);
                    }
                }
                self.step = Step::Ending;
            }
            Step::StartTraining | Step::Training | Step::Ending if !self.workbench.is_running() => {
                if self.step != Step::Ending {
                    return self.fail("the run beside the window ended early".into());
                }
                let result = match &self.workbench.view.run_dir {
                    Some(dir) => run_throughput(dir, self.batch_size),
                    None => Err(Error::Window(
                        "the run beside the window has no directory".into(),
                    )),
                };
                *self.window_throughput.lock().expect("throughput lock") = Some(result);
                self.workbench.show_panel::<CurvesPanel>();
                self.quiet("idle, a run shown", Step::IdleShown, ctx);
            }
            Step::IdleShown if self.quiet_done() => self.start_run(ctx, Step::StartPaused),
            Step::StartPaused if self.workbench.view.progress.is_some() => {
                self.workbench.pause();
                self.quiet("paused", Step::Paused, ctx);
            }
            Step::Paused if self.quiet_done() => {
                self.workbench.stop();
                self.step = Step::Stopping;
            }
            Step::Stopping if !self.workbench.is_running() => self.step = Step::Done,
            // Waiting: for the sampler's frame or the run's events.
            _ => {}
        }
    }
}

impl eframe::App for Script {
    /// Nothing carries over to the next launch (see `ui::native_options`).
    fn persist_egui_memory(&self) -> bool {
        false
    }

    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.frames.fetch_add(1, Ordering::Relaxed);
        self.workbench.ui(ui);
        let ctx = ui.ctx().clone();
        if self.frames.load(Ordering::Relaxed) == 1 {
            self.quiet("idle, editor", Step::IdleEditor, &ctx);
        }
        // One frame may bring several steps (the last epoch and the end of the run).
        loop {
            let before = self.step;
            self.advance(&ctx);
            if self.step == before {
                break;
            }
        }
        if self.step == Step::Done {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }
}

/// Opens the workbench window on `exp` and measures it (see the module doc). The
/// experiment must train for at least two epochs.
pub fn measure_window(exp: Experiment, presets_dir: PathBuf) -> Result<WindowReport, Error> {
    if exp.train.epochs < 2 {
        return Err(Error::Window(
            "the window benchmark needs a preset of at least two epochs".into(),
        ));
    }
    cpu_split()?;
    let headless = headless_throughput(&exp)?;
    let batch_size = exp.train.batch_size;
    let mut workbench = Workbench::new(presets_dir);
    workbench.editor.experiment = exp;
    let phases: Phases = Arc::new(Mutex::new(Ok(Vec::new())));
    let window_throughput = Arc::new(Mutex::new(None));
    let script = Script {
        workbench,
        batch_size,
        step: Step::IdleEditor,
        frames: Arc::default(),
        phases: Arc::clone(&phases),
        phases_before: 0,
        training_from: None,
        window_throughput: Arc::clone(&window_throughput),
    };
    eframe::run_native(
        "ferlab",
        super::native_options(),
        Box::new(move |_cc| Ok(Box::new(script))),
    )
    .map_err(|e| Error::Window(format!("cannot open the workbench window: {e}")))?;
    let phases = std::mem::replace(&mut *phases_lock(&phases), Ok(Vec::new()))?;
    if phases.len() < 4 {
        return Err(Error::Window(format!(
            "the window closed before the script ended ({} of 4 phases measured)",
            phases.len()
        )));
    }
    let window = window_throughput
        .lock()
        .expect("throughput lock")
        .take()
        .ok_or_else(|| Error::Window("the run beside the window did not end".into()))??;
    Ok(WindowReport {
        phases,
        headless_images_per_sec: headless,
        window_images_per_sec: window,
    })
}
