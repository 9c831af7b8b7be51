//! ASM's Adaptive Threshold Learning: a clean and a noisy threshold per class, from the mean
//! probability each class's samples give their own label.
//!
//! The paper (arXiv 2310.05618, §3; only its abstract and supplement were readable here)
//! says the thresholds "are based on the mean class probabilities at each training epoch"
//! and are built on a base pair [T_n, T_c] (supp. Table 1). Our reading, every part of it a
//! config option (`method.asm.*`):
//! - m_k = mean of p_i(k) over the samples i labelled k: from the evaluation pass at the
//!   epoch's start (`partition = "eval_pass"`, evaluation mode, un-augmented faces), or over
//!   the previous epoch's training-mode weak-view predictions as the samples were visited
//!   (`"online"`);
//! - p̄_k = μ·p̄_k + (1−μ)·m_k across epochs (`momentum` μ; p̄_k = m_k the first time);
//! - r_k = p̄_k (default), or p̄_k / max_j p̄_j (`normalize`, FreeMatch-style, so the
//!   easiest class keeps the base pair). Unnormalised thresholds follow the model's
//!   overall confidence: early in training, when every p̄_k is low, few samples are called
//!   noisy and most are clean. Measured on `asm-synthetic-noise30.toml`, first mined epoch:
//!   normalised, 3 of 2,100 samples clean and 1,054 noisy (45% truly flipped), so almost
//!   no supervised signal; unnormalised, 1,645 clean and 43 noisy (98% truly flipped);
//! - T_c^k = T_c·r_k and T_n^k = T_n·r_k: a class the model finds hard gets a lower bar to
//!   be called clean and a lower bar below which a sample is called noisy.
//!
//! Fixed mode (FT, the ablation) uses T_c and T_n for every class.

use serde::{Deserialize, Serialize};

use super::{AsmConfig, ThresholdMode};
use crate::contract::event::mining::ClassThresholds;

/// The state of threshold learning across epochs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdLearner {
    pub mode: ThresholdMode,
    pub base_noisy: f32,
    pub base_clean: f32,
    pub momentum: f32,
    pub normalize: bool,
    /// p̄_k after the last update; None before the first epoch ends.
    pub class_mean: Option<Vec<f32>>,
}

impl ThresholdLearner {
    pub fn new(cfg: &AsmConfig) -> Self {
        Self {
            mode: cfg.thresholds,
            base_noisy: cfg.noisy_threshold,
            base_clean: cfg.clean_threshold,
            momentum: cfg.momentum,
            normalize: cfg.normalize,
            class_mean: None,
        }
    }

    /// Folds one epoch's mean probabilities in. Classes with no sample this epoch
    /// (`None`) keep their previous mean (or 1 if they never had one).
    pub fn update(&mut self, epoch_means: &[Option<f32>]) {
        let next = match &self.class_mean {
            None => epoch_means.iter().map(|m| m.unwrap_or(1.0)).collect(),
            Some(prev) => prev
                .iter()
                .zip(epoch_means)
                .map(|(&p, m)| match m {
                    Some(m) => self.momentum * p + (1.0 - self.momentum) * m,
                    None => p,
                })
                .collect(),
        };
        self.class_mean = Some(next);
    }

    /// The thresholds in effect now, for `classes` classes.
    pub fn thresholds(&self, classes: usize) -> ClassThresholds {
        let ratios: Vec<f32> = match (&self.mode, &self.class_mean) {
            (ThresholdMode::Fixed, _) | (_, None) => vec![1.0; classes],
            (ThresholdMode::Adaptive, Some(mean)) => {
                let max = mean.iter().copied().fold(f32::MIN, f32::max);
                mean.iter()
                    .map(|&m| if self.normalize { m / max.max(1e-6) } else { m })
                    .collect()
            }
        };
        ClassThresholds {
            noisy: ratios.iter().map(|r| self.base_noisy * r).collect(),
            clean: ratios.iter().map(|r| self.base_clean * r).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn learner(mode: ThresholdMode, momentum: f32, normalize: bool) -> ThresholdLearner {
        ThresholdLearner::new(&AsmConfig {
            thresholds: mode,
            noisy_threshold: 0.2,
            clean_threshold: 0.8,
            momentum,
            normalize,
            ..AsmConfig::default()
        })
    }

    fn close(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6)
    }

    #[test]
    fn adaptive_thresholds_scale_with_normalised_class_means() {
        let mut l = learner(ThresholdMode::Adaptive, 0.5, true);
        // Before any epoch: the base pair.
        let t = l.thresholds(3);
        assert!(close(&t.clean, &[0.8, 0.8, 0.8]) && close(&t.noisy, &[0.2, 0.2, 0.2]));
        l.update(&[Some(0.8), Some(0.4), Some(0.6)]);
        // r = (1, 0.5, 0.75).
        let t = l.thresholds(3);
        assert!(close(&t.clean, &[0.8, 0.4, 0.6]), "{:?}", t.clean);
        assert!(close(&t.noisy, &[0.2, 0.1, 0.15]), "{:?}", t.noisy);
        // EMA with μ = 0.5: p̄ = (0.5·0.8 + 0.5·0.6, 0.5·0.4 + 0.5·0.8, 0.6 kept) = (0.7, 0.6, 0.6).
        l.update(&[Some(0.6), Some(0.8), None]);
        assert!(close(l.class_mean.as_ref().unwrap(), &[0.7, 0.6, 0.6]));
        let t = l.thresholds(3);
        let r = [1.0, 0.6 / 0.7, 0.6 / 0.7];
        assert!(close(&t.clean, &r.map(|x| 0.8 * x)));
        assert!(close(&t.noisy, &r.map(|x| 0.2 * x)));
    }

    #[test]
    fn unnormalised_thresholds_use_the_raw_means() {
        let mut l = learner(ThresholdMode::Adaptive, 0.0, false);
        l.update(&[Some(0.5), Some(0.25)]);
        let t = l.thresholds(2);
        assert!(close(&t.clean, &[0.4, 0.2]) && close(&t.noisy, &[0.1, 0.05]));
    }

    #[test]
    fn fixed_mode_ignores_the_means() {
        let mut l = learner(ThresholdMode::Fixed, 0.5, true);
        l.update(&[Some(0.9), Some(0.1)]);
        let t = l.thresholds(2);
        assert!(close(&t.clean, &[0.8, 0.8]) && close(&t.noisy, &[0.2, 0.2]));
    }
}
