//! The engine: a training run on its own thread, reporting events over a channel and
//! recording them in the run directory. The caller never waits on it.

use crate::compute::method::REGISTRY;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, unbounded};

use super::control::Control;
use super::trainer::{self, Outcome};
use crate::compute::{Error, Result};
use crate::contract::config::{Experiment, resume};
use crate::contract::event::{Event, Level};
use crate::contract::run::{Recorder, RunDir, RunLock, atomic};

/// What to run.
pub enum Launch {
    /// A fresh run of this experiment in a new directory under its `output.dir`.
    New(Box<Experiment>),
    /// A fresh run in exactly this directory (created; it must not exist yet), as a
    /// sweep's points are.
    NewAt {
        experiment: Box<Experiment>,
        dir: PathBuf,
    },
    /// Continue the run in this directory from its last checkpoint, with `key=value`
    /// overrides applied to its config (e.g. more epochs).
    Resume {
        dir: PathBuf,
        overrides: Vec<String>,
    },
}

/// Called after each event is queued, with the event (the workbench passes its repaint
/// request, sooner for some events than for others).
pub type Notify = Box<dyn Fn(&Event) + Send + Sync>;

pub struct Engine {
    events: Receiver<Event>,
    control: Arc<Control>,
    handle: Option<JoinHandle<Result<Outcome>>>,
    pub dir: RunDir,
    pub experiment: Experiment,
}

/// A launch resolved: the experiment, its run directory (locked) and what is left to do.
pub struct Prepared {
    pub experiment: Experiment,
    pub dir: RunDir,
    pub resume: bool,
    /// Held while the run trains: one training process per run directory.
    pub lock: RunLock,
    /// A resume's config with its overrides, recorded only once the checkpoint is restored.
    pub pending_config: Option<String>,
}

/// Resolves a launch into the experiment and its (created or opened) run directory. A
/// resume changes nothing in the run here: its overrides are checked, not yet written.
pub fn prepare(launch: Launch) -> Result<Prepared> {
    let fresh = |mut experiment: Experiment, dir: RunDir| -> Result<Prepared> {
        // Every method's section written in full: a key missing from a run's config means
        // the run predates it (`config::recorded`).
        experiment.resolve(&REGISTRY);
        let lock = RunLock::acquire(&dir.root)?;
        atomic::write(&dir.config(), experiment.to_toml().as_bytes())
            .map_err(|e| Error::io("cannot write", dir.config(), e))?;
        Ok(Prepared {
            experiment,
            dir,
            resume: false,
            lock,
            pending_config: None,
        })
    };
    match launch {
        Launch::New(exp)
        | Launch::NewAt {
            experiment: exp, ..
        } if !exp.validate(&REGISTRY).is_empty() => Err(crate::contract::Error::Invalid {
            origin: format!("experiment {:?}", exp.name),
            problems: exp.validate(&REGISTRY),
        }
        .into()),
        Launch::NewAt { experiment, dir } => {
            let created = RunDir::create_at(&dir)?;
            fresh(*experiment, created)
        }
        Launch::New(exp) => {
            let dir = RunDir::create(&exp.output.dir, &exp.name)?;
            fresh(*exp, dir)
        }
        Launch::Resume { dir, overrides } => {
            let dir = RunDir::open_to_train(&dir)?;
            let experiment = Experiment::load_recorded(&dir.config(), &overrides, &REGISTRY)?;
            let recorded = Experiment::load_recorded(&dir.config(), &[], &REGISTRY)?;
            let problems = resume::forbidden_changes(&recorded, &experiment);
            if !problems.is_empty() {
                return Err(crate::contract::Error::Invalid {
                    origin: format!("resuming {}", dir.root.display()),
                    problems,
                }
                .into());
            }
            let lock = RunLock::acquire(&dir.root)?;
            let pending_config = (!overrides.is_empty()).then(|| experiment.to_toml());
            Ok(Prepared {
                experiment,
                dir,
                resume: true,
                lock,
                pending_config,
            })
        }
    }
}

/// The run's events file as the engine writes it. A resume's events are held back until
/// the trainer has restored the checkpoint (its `Started` event) and its new config is
/// written only then, so a resume that fails before leaves the run exactly as it was.
struct RunLog {
    dir: RunDir,
    recorder: Option<Recorder>,
    held: Vec<Event>,
    pending_config: Option<String>,
}

impl RunLog {
    fn open(dir: &RunDir, resume: bool, pending_config: Option<String>) -> Result<Self> {
        let recorder = if resume {
            None
        } else {
            Some(
                Recorder::open(&dir.events())
                    .map_err(|e| Error::io("cannot open", dir.events(), e))?,
            )
        };
        Ok(Self {
            dir: dir.clone(),
            recorder,
            held: Vec::new(),
            pending_config,
        })
    }

    fn record(&mut self, event: &Event) -> Result<()> {
        if self.recorder.is_none() {
            match event {
                Event::Started { .. } => {
                    if let Some(config) = self.pending_config.take() {
                        let path = self.dir.config();
                        atomic::write(&path, config.as_bytes())
                            .map_err(|e| Error::io("cannot write", &path, e))?;
                    }
                    let path = self.dir.events();
                    let recorder =
                        Recorder::open(&path).map_err(|e| Error::io("cannot open", &path, e))?;
                    self.recorder = Some(recorder);
                    for e in std::mem::take(&mut self.held) {
                        self.write(&e)?;
                    }
                }
                // The resume failed before it began: nothing of it is recorded.
                Event::Failed { .. } => return Ok(()),
                _ => {
                    self.held.push(event.clone());
                    return Ok(());
                }
            }
        }
        self.write(event)
    }

    /// Records `event`; if the log cannot be written, makes the run fail at its next step
    /// (a run that goes on unrecorded would be lost) and returns why.
    fn record_or_fail(&mut self, event: &Event, control: &Control) -> Option<String> {
        let err = self.record(event).err()?;
        let why = format!("{err}; the run stops here, since its log cannot record it");
        control.fail(why.clone());
        Some(why)
    }

    fn write(&mut self, event: &Event) -> Result<()> {
        let recorder = self.recorder.as_mut().expect("opened");
        recorder
            .record(event)
            .map_err(|e| Error::io("cannot write", recorder.path(), e))
    }
}

impl Engine {
    /// Prepares the run directory and starts training on a new thread.
    pub fn start(launch: Launch, notify: Option<Notify>) -> Result<Engine> {
        let Prepared {
            experiment,
            dir,
            resume,
            lock,
            pending_config,
        } = prepare(launch)?;
        let mut log = RunLog::open(&dir, resume, pending_config)?;
        let (tx, rx) = unbounded();
        let control = Arc::new(Control::default());
        let ctl = control.clone();
        let exp = experiment.clone();
        let run_dir = dir.clone();
        let threads = match exp.train.threads {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            n => n,
        };
        let handle = std::thread::Builder::new()
            .name("ferlab-engine".into())
            .spawn(move || {
                let _lock = lock;
                let mut sink = |e: &Event| {
                    if let Some(why) = log.record_or_fail(e, &ctl) {
                        let _ = tx.send(Event::log(Level::Error, why));
                    }
                    let _ = tx.send(e.clone());
                    if let Some(n) = &notify {
                        n(e);
                    }
                };
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("ferlab-compute-{i}"))
                    .build()
                    .map_err(|e| Error::Thread(format!("cannot start the compute threads: {e}")))?;
                let result =
                    pool.install(|| trainer::run(exp, run_dir.clone(), resume, &ctl, &mut sink));
                match result {
                    Ok(outcome) => Ok(outcome),
                    Err(e) => {
                        sink(&Event::Failed {
                            error: e.to_string(),
                        });
                        Err(e)
                    }
                }
            })
            .map_err(|e| Error::Thread(format!("cannot start the engine thread: {e}")))?;
        Ok(Engine {
            events: rx,
            control,
            handle: Some(handle),
            dir,
            experiment,
        })
    }

    /// Events not yet taken, without waiting.
    pub fn events(&self) -> &Receiver<Event> {
        &self.events
    }

    pub fn pause(&self) {
        self.control.pause();
    }

    pub fn resume(&self) {
        self.control.resume();
    }

    /// Asks the run to stop after the current batch; it checkpoints and reports `Stopped`.
    pub fn stop(&self) {
        self.control.stop();
    }

    pub fn is_paused(&self) -> bool {
        self.control.is_paused()
    }

    pub fn is_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(|h| h.is_finished())
    }

    /// Waits for the run to end.
    pub fn join(mut self) -> Result<Outcome> {
        match self.handle.take() {
            Some(h) => h
                .join()
                .unwrap_or_else(|_| Err(Error::Thread("the engine thread panicked".into()))),
            None => Err(Error::Thread("already joined".into())),
        }
    }

    pub fn run_dir(&self) -> &Path {
        &self.dir.root
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // A dropped engine stops its run cleanly rather than leaving it orphaned.
        if let Some(h) = self.handle.take() {
            self.control.stop();
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full disk (`/dev/full` takes no byte) under the log makes the run fail at its next
    /// step, where it used to train on for an epoch unrecorded.
    #[test]
    fn a_log_that_cannot_be_written_fails_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::create(dir.path(), "full").unwrap();
        let mut log = RunLog::open(&run, false, None).unwrap();
        log.recorder = Some(Recorder::open(Path::new("/dev/full")).unwrap());
        let control = Control::default();
        assert!(
            log.record_or_fail(&Event::log(Level::Info, "one"), &control)
                .is_some()
        );
        let why = control.fault().expect("the run is made to fail");
        assert!(
            why.contains("/dev/full") && why.contains("the run stops"),
            "{why}"
        );
    }
}
