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
pub mod float;
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
    #[serde(with = "crate::contract::event::float")]
    pub loss: f32,
    /// Mean of each loss term (e.g. `ce`, `consistency`).
    #[serde(with = "crate::contract::event::float")]
    pub terms: BTreeMap<String, f32>,
    /// Accuracy against the given (possibly noisy) labels.
    #[serde(with = "crate::contract::event::float")]
    pub accuracy: f32,
    #[serde(with = "crate::contract::event::float")]
    pub images_per_sec: f32,
    #[serde(with = "crate::contract::event::float")]
    pub seconds: f32,
    /// Seconds the loop waited for the prefetch thread.
    #[serde(with = "crate::contract::event::float")]
    pub data_wait_secs: f32,
    /// Learning rate at the epoch's last step.
    #[serde(with = "crate::contract::event::float")]
    pub lr: f64,
}

/// The end of a run: best and final validation results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub epochs: usize,
    pub best_epoch: usize,
    pub best: Metrics,
    pub last: Metrics,
    #[serde(with = "crate::contract::event::float")]
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
        #[serde(with = "crate::contract::event::float")]
        loss: f32,
        #[serde(with = "crate::contract::event::float")]
        lr: f64,
        #[serde(with = "crate::contract::event::float")]
        images_per_sec: f32,
        /// Estimated seconds to the end of the run.
        #[serde(with = "crate::contract::event::float")]
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
    #[serde(with = "crate::contract::event::float")]
    pub time: f64,
    pub event: Event,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every float field of an event goes through `float`: a field added without it would
    /// write `null` for a non-finite value and lose its line on reading.
    #[test]
    fn every_float_field_of_an_event_is_written_readably() {
        let sources = [
            ("mod.rs", include_str!("mod.rs")),
            ("attention.rs", include_str!("attention.rs")),
            ("data.rs", include_str!("data.rs")),
            ("embedding.rs", include_str!("embedding.rs")),
            ("filter.rs", include_str!("filter.rs")),
            ("metrics.rs", include_str!("metrics.rs")),
            ("mining.rs", include_str!("mining.rs")),
        ];
        for (file, text) in sources {
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let lines: Vec<&str> = code.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let t = line.trim();
                let is_field = t.ends_with(',')
                    && t.contains(": ")
                    && !t.starts_with("//")
                    && !t.contains("fn ")
                    && !t.contains('=');
                let has_float = t.contains("f32") || t.contains("f64");
                if is_field && has_float {
                    // The attribute above, one line or (as rustfmt wraps it) several.
                    let mut start = i.saturating_sub(1);
                    if lines[start].trim() == ")]" {
                        while start > 0 && !lines[start].trim().starts_with("#[") {
                            start -= 1;
                        }
                    }
                    let above = lines[start..i].join(" ");
                    assert!(
                        above.contains("event::float"),
                        "{file}, line {}: `{t}` needs #[serde(with = \"crate::contract::event::float\")]",
                        i + 1
                    );
                }
            }
        }
    }

    #[test]
    fn an_infinite_epoch_summary_reads_back() {
        let e = Event::Progress {
            epoch: 0,
            step: 1,
            steps: 2,
            loss: f32::INFINITY,
            lr: f64::NAN,
            images_per_sec: 1.0,
            eta_secs: f32::NEG_INFINITY,
        };
        let text = serde_json::to_string(&Record {
            time: 1.0,
            event: e,
        })
        .unwrap();
        let back: Record = serde_json::from_str(&text).unwrap();
        match back.event {
            Event::Progress {
                loss, lr, eta_secs, ..
            } => {
                assert_eq!(loss, f32::INFINITY);
                assert!(lr.is_nan());
                assert_eq!(eta_secs, f32::NEG_INFINITY);
            }
            other => panic!("{other:?}"),
        }
    }
}
