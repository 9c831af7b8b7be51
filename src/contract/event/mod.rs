//! What a run reports. Every panel of the workbench is drawn from these events, and a run
//! directory's `events.jsonl` holds exactly them: a finished run replayed from disk looks
//! like a live one.
//!
//! Part of the contract: plain data, no tensors. Method-specific reports are named by what
//! they show, not by the method that sends them ([`mining`]: samples partitioned by per-class
//! thresholds; [`filter`]: how a contrastive filter's picks agree with hidden truth), so a
//! new method that reports one of them needs no new event, and the views draw it as they
//! draw the others. A report no view knows how to draw needs its view anyway; it comes
//! here with that view.

pub mod attention;
pub mod data;
pub mod embedding;
pub mod filter;
pub mod metrics;
pub mod mining;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use attention::AttentionSnapshot;
pub use data::DataStats;
pub use embedding::{EmbeddingFaces, EmbeddingSnapshot};
pub use filter::FilterReport;
pub use metrics::Metrics;
pub use mining::MiningReport;

/// A point of a run: epoch (0-based) and the next step to run within it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Position {
    pub epoch: usize,
    pub step: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// The training half of an epoch's summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSummary {
    /// Mean total loss over the epoch's steps.
    pub loss: f32,
    /// Mean of each loss term (e.g. `ce`, `consistency`).
    pub terms: BTreeMap<String, f32>,
    /// Accuracy against the given (possibly noisy) labels.
    pub accuracy: f32,
    pub images_per_sec: f32,
    pub seconds: f32,
    /// Seconds the loop waited for the prefetch thread.
    pub data_wait_secs: f32,
    /// Learning rate at the epoch's last step.
    pub lr: f64,
}

/// The end of a run: best and final validation results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub epochs: usize,
    pub best_epoch: usize,
    pub best: Metrics,
    pub last: Metrics,
    pub seconds: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    Started {
        run_id: String,
        run_dir: String,
        classes: Vec<String>,
        data: DataStats,
        num_parameters: usize,
        device: String,
        epochs: usize,
        steps_per_epoch: usize,
        batch_size: usize,
        /// Where a resumed run picks up; None for a fresh run.
        resumed_at: Option<Position>,
        /// The resolved experiment, as in `config.toml`.
        config: String,
    },
    Progress {
        epoch: usize,
        step: usize,
        steps: usize,
        loss: f32,
        lr: f64,
        images_per_sec: f32,
        /// Estimated seconds to the end of the run.
        eta_secs: f32,
    },
    EpochEnd {
        epoch: usize,
        train: TrainSummary,
        val: Metrics,
    },
    /// Per-class thresholds and the samples they partition, at the end of an epoch's
    /// training (any mining method's report; ASM sends it).
    Mining {
        epoch: usize,
        report: Box<MiningReport>,
    },
    /// Class activation maps and flip consistency of validation faces.
    Attention {
        epoch: usize,
        snapshot: Box<AttentionSnapshot>,
    },
    /// t-SNE and MDS of validation features, with the feature-space measurements.
    Embedding {
        epoch: usize,
        snapshot: Box<EmbeddingSnapshot>,
    },
    /// The validation faces behind the embeddings' points (once per session).
    EmbeddingFaces {
        faces: Box<EmbeddingFaces>,
    },
    Checkpoint {
        epoch: usize,
        step: usize,
        path: String,
        best: bool,
    },
    Log {
        level: Level,
        text: String,
    },
    Paused {
        epoch: usize,
        step: usize,
    },
    Resumed {
        epoch: usize,
        step: usize,
    },
    /// Stopped on request; the run directory holds a checkpoint at this position.
    Stopped {
        epoch: usize,
        step: usize,
    },
    Finished {
        summary: Summary,
    },
    Failed {
        error: String,
    },
}

impl Event {
    pub fn log(level: Level, text: impl Into<String>) -> Self {
        Event::Log {
            level,
            text: text.into(),
        }
    }

    /// Whether the run ends with this event.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Event::Finished { .. } | Event::Failed { .. } | Event::Stopped { .. }
        )
    }
}

/// One line of `events.jsonl`: the event and when it happened (seconds since the Unix epoch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub time: f64,
    pub event: Event,
}
