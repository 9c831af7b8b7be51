//! What the panels show of one run, built only from its events: a live run and a run
//! replayed from `events.jsonl` give the same view.

use std::path::{Path, PathBuf};

use super::recorder;
use crate::contract::Error;
use crate::contract::event::DataStats;
use crate::contract::event::Metrics;
use crate::contract::event::MiningReport;
use crate::contract::event::{AttentionSnapshot, EmbeddingFaces, EmbeddingSnapshot};
use crate::contract::event::{Event, Level, Position, TrainSummary};

/// One finished epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochPoint {
    /// 1-based, as shown.
    pub epoch: usize,
    pub train: TrainSummary,
    pub val: Metrics,
}

/// The latest progress report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub epoch: usize,
    pub step: usize,
    pub steps: usize,
    pub loss: f32,
    pub lr: f64,
    pub images_per_sec: f32,
    pub eta_secs: f32,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub enum RunStatus {
    #[default]
    Idle,
    Running,
    Paused,
    Stopped,
    Finished,
    Failed(String),
}

impl RunStatus {
    pub fn label(&self) -> &'static str {
        match self {
            RunStatus::Idle => "idle",
            RunStatus::Running => "running",
            RunStatus::Paused => "paused",
            RunStatus::Stopped => "stopped",
            RunStatus::Finished => "finished",
            RunStatus::Failed(_) => "failed",
        }
    }
}

/// How a run's last session ended, as its events file tells.
#[derive(Debug, Clone, PartialEq)]
pub enum RunOutcome {
    Finished,
    Stopped,
    Failed(String),
    /// No end recorded: killed, or still training.
    Interrupted,
}

impl RunOutcome {
    pub fn word(&self) -> &'static str {
        match self {
            Self::Finished => "finished",
            Self::Stopped => "stopped",
            Self::Failed(_) => "failed",
            Self::Interrupted => "interrupted",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct RunView {
    pub run_id: String,
    /// Lines of the replayed events file that could not be read (`file, line N: reason`).
    pub unreadable: Vec<String>,
    pub run_dir: Option<PathBuf>,
    pub classes: Vec<String>,
    pub data: Option<DataStats>,
    pub config: Option<String>,
    pub device: String,
    pub num_parameters: usize,
    pub epochs_total: usize,
    pub steps_per_epoch: usize,
    pub epochs: Vec<EpochPoint>,
    /// Mining reports (per-class thresholds and the partition they made), by 1-based epoch.
    pub mining: Vec<(usize, MiningReport)>,
    /// Attention snapshots, by 1-based epoch.
    pub attention: Vec<(usize, AttentionSnapshot)>,
    /// t-SNE / MDS embeddings, by 1-based epoch.
    pub embeddings: Vec<(usize, EmbeddingSnapshot)>,
    /// The faces behind the embeddings' points.
    pub embedding_faces: Option<EmbeddingFaces>,
    /// (fractional epoch, training loss) of each progress report.
    pub step_losses: Vec<(f64, f32)>,
    pub progress: Option<Progress>,
    pub log: Vec<(Level, String)>,
    pub status: RunStatus,
    /// A replayed run whose log ends without Finished, Stopped or Failed: its process was
    /// killed (or it is still training elsewhere). Shown as stopped.
    pub interrupted: bool,
    /// Seconds from the first to the last recorded event (replayed runs).
    pub span_secs: f64,
    pub events_seen: usize,
}

impl RunView {
    /// Folds one event into the view.
    pub fn apply(&mut self, event: &Event) {
        self.events_seen += 1;
        match event {
            Event::Started {
                run_id,
                run_dir,
                classes,
                data,
                num_parameters,
                device,
                epochs,
                steps_per_epoch,
                resumed_at,
                config,
                ..
            } => {
                self.run_id = run_id.clone();
                self.run_dir = Some(PathBuf::from(run_dir));
                self.classes = classes.clone();
                self.data = Some(data.clone());
                self.num_parameters = *num_parameters;
                self.device = device.clone();
                self.epochs_total = *epochs;
                self.steps_per_epoch = *steps_per_epoch;
                self.config = Some(config.clone());
                self.status = RunStatus::Running;
                if let Some(at) = resumed_at {
                    self.forget_after(*at);
                    self.log.push((
                        Level::Info,
                        format!("resumed at epoch {} step {}", at.epoch + 1, at.step),
                    ));
                }
            }
            Event::Progress {
                epoch,
                step,
                steps,
                loss,
                lr,
                images_per_sec,
                eta_secs,
            } => {
                self.status = RunStatus::Running;
                self.step_losses
                    .push((*epoch as f64 + *step as f64 / (*steps).max(1) as f64, *loss));
                self.progress = Some(Progress {
                    epoch: *epoch,
                    step: *step,
                    steps: *steps,
                    loss: *loss,
                    lr: *lr,
                    images_per_sec: *images_per_sec,
                    eta_secs: *eta_secs,
                });
            }
            Event::EpochEnd { epoch, train, val } => {
                self.log.push((
                    Level::Info,
                    epoch_line(*epoch, self.epochs_total, train, val),
                ));
                self.epochs.retain(|p| p.epoch != epoch + 1);
                self.epochs.push(EpochPoint {
                    epoch: epoch + 1,
                    train: train.clone(),
                    val: val.clone(),
                });
            }
            Event::Mining { epoch, report } => {
                self.mining.retain(|(e, _)| *e != epoch + 1);
                self.mining.push((epoch + 1, (**report).clone()));
            }
            Event::Attention { epoch, snapshot } => {
                self.attention.retain(|(e, _)| *e != epoch + 1);
                self.attention.push((epoch + 1, (**snapshot).clone()));
            }
            Event::Embedding { epoch, snapshot } => {
                self.embeddings.retain(|(e, _)| *e != epoch + 1);
                self.embeddings.push((epoch + 1, (**snapshot).clone()));
                self.embeddings.sort_by_key(|(e, _)| *e);
            }
            Event::EmbeddingFaces { faces } => self.embedding_faces = Some((**faces).clone()),
            Event::Checkpoint { .. } => {}
            Event::Log { level, text } => self.log.push((*level, text.clone())),
            Event::Paused { .. } => self.status = RunStatus::Paused,
            Event::Resumed { .. } => self.status = RunStatus::Running,
            Event::Stopped { epoch, step } => {
                self.status = RunStatus::Stopped;
                // The progress shown is where the run stopped, not its last report.
                if let Some(p) = &mut self.progress {
                    p.epoch = *epoch;
                    p.step = *step;
                }
                self.log.push((
                    Level::Info,
                    format!(
                        "stopped at epoch {} step {step}; the run can be resumed",
                        epoch + 1
                    ),
                ));
            }
            Event::Finished { summary } => {
                self.status = RunStatus::Finished;
                self.log.push((
                    Level::Info,
                    format!(
                        "finished: best epoch {} with {:.2}% overall, {:.2}% mean accuracy",
                        summary.best_epoch + 1,
                        100.0 * summary.best.overall,
                        100.0 * summary.best.mean
                    ),
                ));
            }
            Event::Failed { error } => {
                self.status = RunStatus::Failed(error.clone());
                self.log.push((Level::Error, error.clone()));
            }
        }
    }

    /// Drops what a killed run recorded past the position it resumes from.
    fn forget_after(&mut self, at: Position) {
        self.epochs.retain(|p| p.epoch <= at.epoch);
        self.mining.retain(|(e, _)| *e <= at.epoch);
        self.attention.retain(|(e, _)| *e <= at.epoch);
        self.embeddings.retain(|(e, _)| *e <= at.epoch);
        let cut = at.epoch as f64
            + if self.steps_per_epoch > 0 {
                at.step as f64 / self.steps_per_epoch as f64
            } else {
                0.0
            };
        self.step_losses.retain(|(x, _)| *x <= cut + 1e-9);
    }

    /// Validation metrics of the last finished epoch.
    pub fn latest(&self) -> Option<&Metrics> {
        self.epochs.last().map(|p| &p.val)
    }

    /// The best epoch: the first whose validation result no later one improves on
    /// ([`Metrics::improves_on`], the rule the trainer keeps its best checkpoint by).
    pub fn best(&self) -> Option<&EpochPoint> {
        self.epochs
            .iter()
            .fold(None, |best: Option<&EpochPoint>, p| match best {
                Some(b) if !p.val.improves_on(&b.val) => Some(b),
                _ => Some(p),
            })
    }

    /// How the run's last session ended.
    pub fn outcome(&self) -> RunOutcome {
        match &self.status {
            RunStatus::Finished => RunOutcome::Finished,
            RunStatus::Failed(error) => RunOutcome::Failed(error.clone()),
            RunStatus::Stopped if !self.interrupted => RunOutcome::Stopped,
            _ => RunOutcome::Interrupted,
        }
    }

    /// Replays a run directory's event log: the one fold every reader of a finished run
    /// (workbench, `ferlab table`, `ferlab export`, figures) goes through.
    pub fn replay(dir: &Path) -> Result<RunView, Error> {
        let path = dir.join("events.jsonl");
        let log = recorder::read(&path).map_err(|e| Error::io("cannot read", &path, e))?;
        let mut view = RunView::default();
        for r in &log.records {
            view.apply(&r.event);
        }
        if let (Some(first), Some(last)) = (log.records.first(), log.records.last()) {
            view.span_secs = last.time - first.time;
        }
        // A run whose process died shows as stopped, not running.
        if matches!(view.status, RunStatus::Running | RunStatus::Paused) {
            view.status = RunStatus::Stopped;
            view.interrupted = true;
        }
        for bad in &log.bad_lines {
            view.log.push((Level::Warn, bad.clone()));
        }
        view.unreadable = log.bad_lines;
        if view.run_id.is_empty() {
            view.run_id = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            view.run_dir = Some(dir.to_path_buf());
        }
        Ok(view)
    }

    /// ASM's clean (or noisy) threshold of `class` at each epoch that had thresholds, as
    /// (epoch, threshold).
    pub fn threshold_series(&self, class: usize, clean: bool) -> Vec<(f64, f64)> {
        self.mining
            .iter()
            .filter_map(|(e, r)| {
                let t = r.thresholds.as_ref()?;
                let v = if clean { &t.clean } else { &t.noisy };
                v.get(class).map(|v| (*e as f64, *v as f64))
            })
            .collect()
    }

    /// Training-set class counts, when known.
    pub fn train_counts(&self) -> Option<&[usize]> {
        self.data.as_ref().map(|d| d.train_counts.as_slice())
    }

    pub fn is_active(&self) -> bool {
        matches!(self.status, RunStatus::Running | RunStatus::Paused)
    }
}

/// The log's line for an epoch, the same for every method: loss and its terms, training and
/// validation accuracy, speed.
fn epoch_line(epoch: usize, total: usize, train: &TrainSummary, val: &Metrics) -> String {
    let terms: Vec<String> = train
        .terms
        .iter()
        .map(|(name, v)| format!("{name} {v:.4}"))
        .collect();
    let terms = if terms.is_empty() {
        String::new()
    } else {
        format!(" ({})", terms.join(", "))
    };
    format!(
        "epoch {}/{total}: loss {:.4}{terms} · train acc {:.2}% · val overall {:.2}% · mean {:.2}% · {:.0} images/s",
        epoch + 1,
        train.loss,
        100.0 * train.accuracy,
        100.0 * val.overall,
        100.0 * val.mean,
        train.images_per_sec
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// After Stop the progress says where the run stopped, not its last report's step.
    #[test]
    fn a_stop_moves_the_progress_to_where_it_stopped() {
        let mut view = RunView::default();
        view.apply(&Event::Progress {
            epoch: 1,
            step: 10,
            steps: 50,
            loss: 1.0,
            lr: 0.1,
            images_per_sec: 10.0,
            eta_secs: 60.0,
        });
        view.apply(&Event::Stopped { epoch: 1, step: 17 });
        let p = view.progress.unwrap();
        assert_eq!((p.epoch, p.step, p.steps), (1, 17, 50));
    }

    #[test]
    fn every_epoch_gets_a_log_line_whatever_the_method() {
        let mut view = RunView {
            epochs_total: 10,
            ..RunView::default()
        };
        let train = TrainSummary {
            loss: 1.25,
            terms: [("ce".to_string(), 1.25)].into_iter().collect(),
            accuracy: 0.5,
            images_per_sec: 812.4,
            seconds: 3.0,
            data_wait_secs: 0.0,
            lr: 1e-3,
        };
        let val = Metrics::from_predictions(&[0, 1, 1, 0], &[0, 1, 0, 0], 2, 0.9);
        view.apply(&Event::EpochEnd {
            epoch: 2,
            train,
            val,
        });
        assert_eq!(
            view.log,
            vec![(
                Level::Info,
                "epoch 3/10: loss 1.2500 (ce 1.2500) · train acc 50.00% · val overall 75.00% · mean 75.00% · 812 images/s"
                    .to_string()
            )]
        );
    }
}
