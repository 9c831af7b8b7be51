//! The numbers the runs table measures from a run's events: their keys, labels, help and
//! formats (one value, or mean ± sd over a group of seeds).

/// A number measured from a run's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    BestOverall,
    BestMean,
    LastOverall,
    LastMean,
    BestMacroF1,
    LastMacroF1,
    BestEpoch,
    /// Mean flip MSE of the class activation maps at the last attention snapshot.
    FlipMse,
    NoisyPrecision,
    NoisyRecall,
    CleanPrecision,
    CleanRecall,
    /// Seconds from the run's first to its last event.
    WallTime,
}

impl Metric {
    pub const ALL: [Metric; 13] = [
        Metric::BestOverall,
        Metric::BestMean,
        Metric::LastOverall,
        Metric::LastMean,
        Metric::BestMacroF1,
        Metric::LastMacroF1,
        Metric::BestEpoch,
        Metric::FlipMse,
        Metric::NoisyPrecision,
        Metric::NoisyRecall,
        Metric::CleanPrecision,
        Metric::CleanRecall,
        Metric::WallTime,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Metric::BestOverall => "best_overall",
            Metric::BestMean => "best_mean",
            Metric::LastOverall => "last_overall",
            Metric::LastMean => "last_mean",
            Metric::BestMacroF1 => "best_macro_f1",
            Metric::LastMacroF1 => "last_macro_f1",
            Metric::BestEpoch => "best_epoch",
            Metric::FlipMse => "flip_mse",
            Metric::NoisyPrecision => "noisy_precision",
            Metric::NoisyRecall => "noisy_recall",
            Metric::CleanPrecision => "clean_precision",
            Metric::CleanRecall => "clean_recall",
            Metric::WallTime => "wall_time",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Metric::BestOverall => "best overall %",
            Metric::BestMean => "best mean %",
            Metric::LastOverall => "last overall %",
            Metric::LastMean => "last mean %",
            Metric::BestMacroF1 => "best macro F1 %",
            Metric::LastMacroF1 => "last macro F1 %",
            Metric::BestEpoch => "best epoch",
            Metric::FlipMse => "flip MSE",
            Metric::NoisyPrecision => "noisy precision %",
            Metric::NoisyRecall => "noisy recall %",
            Metric::CleanPrecision => "clean precision %",
            Metric::CleanRecall => "clean recall %",
            Metric::WallTime => "wall time",
        }
    }

    pub fn help(self) -> &'static str {
        match self {
            Metric::BestOverall | Metric::BestMean | Metric::BestMacroF1 => {
                "validation, at the best epoch (the one the best checkpoint keeps)"
            }
            Metric::LastOverall | Metric::LastMean | Metric::LastMacroF1 => {
                "validation, at the last finished epoch"
            }
            Metric::BestEpoch => "the epoch of the best validation result",
            Metric::FlipMse => {
                "mean squared difference of all classes' activation maps between each face and its flip, last attention snapshot"
            }
            Metric::NoisyPrecision | Metric::NoisyRecall => {
                "the mined noisy set against the truly flipped labels, last epoch (synthetic noise only)"
            }
            Metric::CleanPrecision | Metric::CleanRecall => {
                "the mined clean set against the truly clean labels, last epoch (synthetic noise only)"
            }
            Metric::WallTime => "time from the run's first to its last recorded event",
        }
    }

    /// The value as the table shows it.
    pub fn format(self, v: f64) -> String {
        match self {
            Metric::BestEpoch => format!("{v:.0}"),
            Metric::FlipMse => format!("{v:.4}"),
            Metric::WallTime => duration_text(v),
            _ => format!("{v:.2}"),
        }
    }

    /// Mean ± sample sd (n) over a group's runs, in the metric's unit.
    pub fn format_group(self, xs: &[f64]) -> String {
        match xs.len() {
            0 => "—".into(),
            1 => self.format(xs[0]),
            n => {
                let mean = xs.iter().sum::<f64>() / n as f64;
                let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
                let sd = var.sqrt();
                match self {
                    Metric::WallTime => {
                        format!("{} ± {} ({n})", duration_text(mean), duration_text(sd))
                    }
                    Metric::FlipMse => format!("{mean:.4} ± {sd:.4} ({n})"),
                    Metric::BestEpoch => format!("{mean:.1} ± {sd:.1} ({n})"),
                    _ => format!("{mean:.2} ± {sd:.2} ({n})"),
                }
            }
        }
    }

    pub(super) fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.key() == key)
    }
}

/// Seconds as the log shows them (`3 min 05 s`).
pub(super) fn duration_text(secs: f64) -> String {
    crate::views::format::duration(secs as f32)
}
