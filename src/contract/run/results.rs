//! What a results table shows of a run, read through the one fold of its events
//! ([`RunView`]).

use std::path::Path;

use super::view::{RunOutcome, RunView};
use crate::contract::Error;
use crate::contract::config::{Experiment, Methods};
use crate::contract::event::EmbeddingSnapshot;
use crate::contract::event::mining::MiningQuality;

/// What a table row shows of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    pub run: String,
    /// The method as the papers' tables name it (CE, SCN, SOFT, ASM-FT, ASM-AT).
    pub method: String,
    pub noise_rate: f32,
    pub epochs: usize,
    pub best_epoch: usize,
    pub best_overall: f32,
    pub best_mean: f32,
    pub last_overall: f32,
    pub last_mean: f32,
    /// Mining quality of the last epoch (ASM runs on data with known truth).
    pub mining: Option<MiningQuality>,
    pub seconds: f64,
    /// The dataset's classes, in its order.
    pub classes: Vec<String>,
    /// Per-class accuracy at the best epoch; None where the class has no samples.
    pub best_per_class: Vec<Option<f32>>,
    /// The training split's imbalance factor (1 = as loaded).
    pub imbalance_factor: f32,
    /// The resolved experiment, for looking up any setting by its dotted key.
    pub settings: toml::Table,
    /// The last t-SNE / MDS embedding with its measurements, if the run made any.
    pub embedding: Option<EmbeddingSnapshot>,
    /// The epochs the run was set to train.
    pub planned_epochs: usize,
    /// How its last session ended.
    pub outcome: RunOutcome,
    /// Lines of its events file that could not be read (`file, line N: reason`).
    pub warnings: Vec<String>,
}

impl RunResult {
    /// The value of a dotted config key (`method.cb.beta`), as written in a config.
    pub fn setting(&self, key: &str) -> Option<String> {
        let mut parts = key.split('.');
        let mut value = self.settings.get(parts.next()?)?;
        for part in parts {
            value = value.as_table()?.get(part)?;
        }
        Some(match value {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }
}

/// The display name of an experiment's method as its schema gives it (ASM's carries its mode
/// and base pair, so an ablation grid reads as one); a method no longer known shows its key.
pub fn method_label(exp: &Experiment, methods: &dyn Methods) -> String {
    match methods.get(&exp.method.name) {
        Some(schema) => (schema.label)(exp),
        None => exp.method.name.to_uppercase(),
    }
}

/// Reads a run directory's events through the one fold ([`RunView::replay`]). Runs without
/// a finished epoch are an error naming the file.
pub fn read_run(dir: &Path, methods: &dyn Methods) -> Result<RunResult, Error> {
    let path = dir.join("events.jsonl");
    let view = RunView::replay(dir)?;
    let config = view
        .config
        .as_deref()
        .ok_or_else(|| Error::NoStart { path: path.clone() })?;
    let origin = format!("{} (Started event)", path.display());
    let exp = Experiment::recorded_from_toml(config, &origin, &[], methods)?;
    let outcome = view.outcome();
    let (Some(best), Some(last)) = (view.best(), view.epochs.last()) else {
        return Err(match outcome {
            RunOutcome::Failed(error) => Error::FailedBeforeFirstEpoch { path, error },
            _ => Error::NoFinishedEpoch { path },
        });
    };
    let run = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(RunResult {
        run,
        method: method_label(&exp, methods),
        noise_rate: exp.corruption.noise_rate,
        epochs: view.epochs.len(),
        best_epoch: best.epoch,
        best_overall: best.val.overall,
        best_mean: best.val.mean,
        last_overall: last.val.overall,
        last_mean: last.val.mean,
        mining: view.mining.last().and_then(|(_, r)| r.quality),
        seconds: view.span_secs,
        classes: view.classes.clone(),
        best_per_class: best.val.per_class.clone(),
        imbalance_factor: exp.corruption.imbalance_factor,
        settings: exp.to_toml().parse().unwrap_or_default(),
        embedding: view.embeddings.last().map(|(_, e)| e.clone()),
        planned_epochs: exp.train.epochs,
        outcome,
        warnings: view.unreadable.clone(),
    })
}
