//! RMFER's attention filter as a run reports it: how often its choice of positives and
//! negatives among the unlabeled anchors agrees with the clips' hidden expressions.

use serde::{Deserialize, Serialize};

/// How often the attention filter's choices agree with the clips' hidden expressions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FilterReport {
    pub epoch: usize,
    pub anchors: usize,
    /// Candidate positives, and those sharing the anchor's true expression.
    pub positive_candidates: usize,
    pub positive_candidates_same: usize,
    /// Positives the filter kept, and those sharing the anchor's true expression.
    pub positives_kept: usize,
    pub positives_kept_same: usize,
    pub negative_candidates: usize,
    pub negative_candidates_different: usize,
    pub negatives_kept: usize,
    pub negatives_kept_different: usize,
    /// Whether the clips had ground truth to measure against.
    pub measured: bool,
}

fn ratio(a: usize, b: usize) -> Option<f32> {
    (b > 0).then(|| a as f32 / b as f32)
}

impl FilterReport {
    /// Share of kept positives with the anchor's label (Table 12's ratio).
    pub fn kept_positive_ratio(&self) -> Option<f32> {
        ratio(self.positives_kept_same, self.positives_kept).filter(|_| self.measured)
    }

    pub fn candidate_positive_ratio(&self) -> Option<f32> {
        ratio(self.positive_candidates_same, self.positive_candidates).filter(|_| self.measured)
    }

    pub fn kept_negative_ratio(&self) -> Option<f32> {
        ratio(self.negatives_kept_different, self.negatives_kept).filter(|_| self.measured)
    }

    pub fn candidate_negative_ratio(&self) -> Option<f32> {
        ratio(self.negative_candidates_different, self.negative_candidates)
            .filter(|_| self.measured)
    }

    /// One line for the run's log.
    pub fn describe(&self) -> String {
        let pct = |r: Option<f32>| r.map_or("n/a".to_string(), |r| format!("{:.1}%", 100.0 * r));
        format!(
            "ACL filter over {} anchors: positives kept {} of {} candidates, same expression {} (candidates {}); negatives kept {} of {}, different expression {} (candidates {})",
            self.anchors,
            self.positives_kept,
            self.positive_candidates,
            pct(self.kept_positive_ratio()),
            pct(self.candidate_positive_ratio()),
            self.negatives_kept,
            self.negative_candidates,
            pct(self.kept_negative_ratio()),
            pct(self.candidate_negative_ratio()),
        )
    }
}
