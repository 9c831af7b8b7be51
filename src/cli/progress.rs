//! A terminal view of a run's events: a progress bar per epoch and a line per epoch.

use indicatif::{ProgressBar, ProgressStyle};

use ferlab::contract::event::{Event, Level};

pub struct Progress {
    bar: Option<ProgressBar>,
    classes: Vec<String>,
    quiet: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Self {
            bar: None,
            classes: Vec::new(),
            quiet,
        }
    }

    fn println(&self, line: String) {
        match &self.bar {
            // A hidden bar (output not a terminal) would swallow the line.
            Some(b) if !b.is_hidden() => b.println(line),
            _ => eprintln!("{line}"),
        }
    }

    fn bar(&mut self, epoch: usize, steps: usize) -> &ProgressBar {
        if self
            .bar
            .as_ref()
            .is_none_or(|b| b.length() != Some(steps as u64) || b.is_finished())
        {
            let bar = if self.quiet {
                ProgressBar::hidden()
            } else {
                ProgressBar::new(steps as u64)
            };
            bar.set_style(
                ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} (eta {eta})")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            self.bar = Some(bar);
        }
        let bar = self.bar.as_ref().expect("just set");
        bar.set_prefix(format!("epoch {}", epoch + 1));
        bar
    }

    pub fn show(&mut self, e: &Event) {
        match e {
            Event::Started {
                run_dir,
                classes,
                data,
                num_parameters,
                device,
                resumed_at,
                ..
            } => {
                self.classes = classes.clone();
                let mut line = format!(
                    "run {run_dir}\n  data: {} ({} train / {} val), model: {} parameters, device: {device}",
                    data.origin,
                    data.train_counts.iter().sum::<usize>(),
                    data.val_counts.iter().sum::<usize>(),
                    num_parameters
                );
                if let Some(p) = resumed_at {
                    line += &format!("\n  resuming at epoch {} step {}", p.epoch + 1, p.step);
                }
                self.println(line);
            }
            Event::Progress {
                epoch,
                step,
                steps,
                loss,
                images_per_sec,
                ..
            } => {
                let bar = self.bar(*epoch, *steps);
                bar.set_position(*step as u64);
                bar.set_message(format!("loss {loss:.4} {images_per_sec:.0} img/s"));
            }
            Event::EpochEnd { epoch, train, val } => {
                if let Some(b) = self.bar.take() {
                    b.finish_and_clear();
                }
                self.println(format!(
                    "epoch {:>3}: train loss {:.4} acc {:.2}% | val overall {:.2}% mean {:.2}% loss {:.4} | {:.0} img/s, {:.1} s (data wait {:.2} s)",
                    epoch + 1,
                    train.loss,
                    100.0 * train.accuracy,
                    100.0 * val.overall,
                    100.0 * val.mean,
                    val.loss,
                    train.images_per_sec,
                    train.seconds,
                    train.data_wait_secs
                ));
                if let Some(f) = val.flip_mse {
                    self.println(format!("           val flip MSE of class maps {f:.5}"));
                }
                if train.terms.len() > 1 {
                    let terms: Vec<String> = train
                        .terms
                        .iter()
                        .map(|(k, v)| format!("{k} {v:.4}"))
                        .collect();
                    self.println(format!("           loss terms: {}", terms.join(", ")));
                }
            }
            Event::Log { level, text } => {
                let tag = match level {
                    Level::Info => "",
                    Level::Warn => "warning: ",
                    Level::Error => "error: ",
                };
                if !self.quiet || *level != Level::Info {
                    self.println(format!("{tag}{text}"));
                }
            }
            Event::Embedding { epoch, snapshot } => {
                let centre = snapshot
                    .mean_centre_distance()
                    .map_or("n/a".to_string(), |d| format!("{d:.3}"));
                self.println(format!(
                    "           embedding of epoch {} ({} faces): t-SNE {:.2} s, MDS {:.2} s | cosine same {:.3} different {:.3} gap {:.3} | mean distance to class centre (MDS) {centre}",
                    epoch + 1,
                    snapshot.len(),
                    snapshot.tsne_secs,
                    snapshot.mds_secs,
                    snapshot.cosine_same,
                    snapshot.cosine_different,
                    snapshot.cosine_gap(),
                ));
            }
            Event::Paused { .. }
            | Event::Resumed { .. }
            | Event::Checkpoint { .. }
            | Event::Mining { .. }
            | Event::EmbeddingFaces { .. }
            | Event::Attention { .. } => {}
            Event::Stopped { epoch, step } => {
                self.println(format!(
                    "stopped at epoch {} step {step}; resume with --resume",
                    epoch + 1
                ));
            }
            Event::Finished { summary } => {
                if let Some(b) = self.bar.take() {
                    b.finish_and_clear();
                }
                self.println(format!(
                    "finished in {:.1} s; best epoch {} (overall {:.2}%, mean {:.2}%)\n{}",
                    summary.seconds,
                    summary.best_epoch + 1,
                    100.0 * summary.best.overall,
                    100.0 * summary.best.mean,
                    summary.best.report(&self.classes)
                ));
            }
            // The command returns the error and `main` prints it once.
            Event::Failed { .. } => {
                if let Some(b) = self.bar.take() {
                    b.finish_and_clear();
                }
            }
        }
    }
}
