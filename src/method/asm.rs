//! ASM — Adaptive Sample Mining (Zhang, Sun, An, Wang; arXiv 2310.05618).
//!
//! Each step sees a weak view (the training augmentation) and a strong view (plus random
//! erasing) of every sample. The weak view's probability of the given label is the
//! sample's confidence; with its class's thresholds (`thresholds.rs`) it puts the sample in
//! the clean, ambiguous or noisy set (`mining.rs`), and tri-regularisation trains each set
//! its own way. Where the paper's text was not available to us (only its abstract and
//! supplement), the choices below are ours, documented here and in the README:
//! - clean: cross-entropy of the weak view on the given label;
//! - ambiguous: (1 − λ)·CE + λ·M, where M is mutual learning between the two views —
//!   ½[KL(p̂_s ‖ p_w) + KL(p̂_w ‖ p_s)], each view taught by the other's detached
//!   prediction — and λ(t) = exp(−5·β·(1 − t)²) the sigmoid ramp-up over the run's progress
//!   t ∈ [0, 1]: β = 0 is mutual learning from the start, a larger β a later transition
//!   (supp.: "the smaller β, the faster the transition"); weighted by ω;
//! - noisy: the given label is dropped; KL(p̂_w ‖ p_s), the strong view follows the weak
//!   view's detached prediction (unsupervised consistency); weighted by γ;
//! - each term is a sum over its set divided by the batch size, so a set's weight grows
//!   with its share of the batch; total = clean + ambiguous + noisy terms, as reported.
//! - during `warmup_epochs` every sample is clean (no thresholds exist yet).

use candle_core::{D, Result, Tensor};
use candle_nn::ops::softmax;

use super::losses::{kl_to_target, masked_sum, nll};
use super::mining::{MiningLedger, Subset, classify};
use super::thresholds::ThresholdLearner;
use super::{BatchTensors, EpochReport, Losses, Method, StepContext};
use crate::config::{AsmConfig, ThresholdMode};
use crate::data::Split;
use crate::data::augment::View;
use crate::model::{FerModel, Mode};

pub struct Asm {
    cfg: AsmConfig,
    classes: usize,
    learner: ThresholdLearner,
    ledger: MiningLedger,
}

/// The three regularisation terms of a batch, already weighted.
pub struct TriLoss {
    pub clean: Tensor,
    pub ambiguous: Tensor,
    pub noisy: Tensor,
}

/// λ(t) = exp(−5·β·(1 − t)²), t the run's progress in [0, 1].
pub fn mutuality_ramp(beta: f32, progress: f64) -> f64 {
    let phase = 1.0 - progress.clamp(0.0, 1.0);
    (-5.0 * beta as f64 * phase * phase).exp()
}

/// Tri-regularisation of a batch whose samples are already mined into `sets`.
pub fn tri_regularization(
    weak: &Tensor,
    strong: &Tensor,
    labels: &Tensor,
    sets: &[Subset],
    lambda: f64,
    omega: f32,
    gamma: f32,
) -> Result<TriLoss> {
    let n = sets.len();
    let mask = |s: Subset| -> Vec<f32> { sets.iter().map(|&x| (x == s) as u8 as f32).collect() };
    let ce = nll(weak, labels)?;
    let p_weak = softmax(weak, D::Minus1)?.detach();
    let p_strong = softmax(strong, D::Minus1)?.detach();
    let clean = masked_sum(&ce, &mask(Subset::Clean), n)?;
    let mutual = ((kl_to_target(weak, &p_strong)? + kl_to_target(strong, &p_weak)?)? * 0.5)?;
    let amb = ((&ce * (1.0 - lambda))? + (mutual * lambda)?)?;
    let ambiguous = (masked_sum(&amb, &mask(Subset::Ambiguous), n)? * omega as f64)?;
    let consistency = kl_to_target(strong, &p_weak)?;
    let noisy = (masked_sum(&consistency, &mask(Subset::Noisy), n)? * gamma as f64)?;
    Ok(TriLoss {
        clean,
        ambiguous,
        noisy,
    })
}

impl Asm {
    pub fn new(cfg: &AsmConfig, classes: usize, train_len: usize) -> Self {
        Self {
            cfg: cfg.clone(),
            classes,
            learner: ThresholdLearner::new(cfg),
            ledger: MiningLedger::new(train_len, classes),
        }
    }

    fn mining_active(&self, epoch: usize) -> bool {
        epoch >= self.cfg.warmup_epochs
    }
}

impl Method for Asm {
    fn name(&self) -> &'static str {
        "asm"
    }

    fn views(&self) -> Vec<View> {
        vec![View::Train, View::Strong]
    }

    fn loss(
        &mut self,
        model: &FerModel,
        batch: &BatchTensors,
        ctx: &StepContext,
    ) -> Result<Losses> {
        let n = batch.label_vec.len();
        // One forward pass over both views (batch statistics over both, as FixMatch-style
        // implementations do).
        let both = Tensor::cat(&[&batch.views[0], &batch.views[1]], 0)?;
        let logits = model.forward(&both, Mode::Train { seed: ctx.seed })?.logits;
        let weak = logits.narrow(0, 0, n)?;
        let strong = logits.narrow(0, n, n)?;
        let probs = softmax(&weak, D::Minus1)?.to_vec2::<f32>()?;
        let thresholds = self
            .mining_active(ctx.epoch)
            .then(|| self.learner.thresholds(self.classes));
        let mut sets = Vec::with_capacity(n);
        for (k, row) in probs.iter().enumerate() {
            let y = batch.label_vec[k] as usize;
            let confidence = row[y];
            let set = match &thresholds {
                Some(t) => classify(confidence, t.noisy[y], t.clean[y]),
                None => Subset::Clean,
            };
            let predicted = row
                .iter()
                .enumerate()
                .fold((0, f32::MIN), |b, (j, &p)| if p > b.1 { (j, p) } else { b })
                .0 as u8;
            self.ledger
                .record(batch.indices[k], y, confidence, predicted, set);
            sets.push(set);
        }
        let lambda = mutuality_ramp(self.cfg.beta, ctx.run_progress());
        let tri = tri_regularization(
            &weak,
            &strong,
            &batch.labels,
            &sets,
            lambda,
            self.cfg.omega,
            self.cfg.gamma,
        )?;
        let total = ((&tri.clean + &tri.ambiguous)? + &tri.noisy)?;
        Ok(Losses {
            total,
            terms: vec![
                ("clean_ce", tri.clean),
                ("ambiguous_mutual", tri.ambiguous),
                ("noisy_consistency", tri.noisy),
            ],
            logits: weak,
        })
    }

    fn end_epoch(&mut self, epoch: usize, train: &Split) -> EpochReport {
        let in_effect = self
            .mining_active(epoch)
            .then(|| self.learner.thresholds(self.classes));
        self.learner.update(&self.ledger.class_means());
        let class_mean = self.learner.class_mean.clone().unwrap_or_default();
        let report = self.ledger.finish_epoch(
            train,
            in_effect,
            (self.cfg.noisy_threshold, self.cfg.clean_threshold),
            self.cfg.thresholds == ThresholdMode::Adaptive,
            class_mean,
        );
        let mut notes = Vec::new();
        let total: [usize; 3] = report.counts.iter().fold([0; 3], |mut acc, c| {
            for k in 0..3 {
                acc[k] += c[k];
            }
            acc
        });
        let mut line = format!(
            "mining: {} clean, {} ambiguous, {} noisy",
            total[0], total[1], total[2]
        );
        if let Some(q) = &report.quality {
            let pct = |v: Option<f32>| v.map_or("-".to_string(), |v| format!("{:.1}%", 100.0 * v));
            line += &format!(
                "; noisy set precision {} recall {} (noise rate {:.1}%)",
                pct(q.noisy.precision),
                pct(q.noisy.recall),
                100.0 * q.noise_rate
            );
        }
        notes.push(line);
        EpochReport {
            mining: Some(report),
            notes,
            filter: None,
        }
    }

    fn state(&self) -> serde_json::Value {
        serde_json::json!({ "learner": self.learner, "ledger": self.ledger })
    }

    fn load_state(&mut self, state: &serde_json::Value) -> std::result::Result<(), String> {
        if state.is_null() {
            return Ok(());
        }
        let learner =
            serde_json::from_value(state["learner"].clone()).map_err(|e| e.to_string())?;
        let ledger: MiningLedger =
            serde_json::from_value(state["ledger"].clone()).map_err(|e| e.to_string())?;
        if ledger.current.len() != self.ledger.current.len() {
            return Err(format!(
                "the checkpoint mined {} samples, this training split has {}",
                ledger.current.len(),
                self.ledger.current.len()
            ));
        }
        self.learner = learner;
        self.ledger = ledger;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn t2(rows: &[[f32; 2]]) -> Tensor {
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        Tensor::from_vec(flat, (rows.len(), 2), &Device::Cpu).unwrap()
    }

    fn scalar(t: &Tensor) -> f64 {
        t.to_scalar::<f32>().unwrap() as f64
    }

    fn p(row: [f64; 2]) -> [f64; 2] {
        let z = row[0].exp() + row[1].exp();
        [row[0].exp() / z, row[1].exp() / z]
    }

    fn kl(t: [f64; 2], q: [f64; 2]) -> f64 {
        t.iter().zip(q).map(|(a, b)| a * (a / b).ln()).sum()
    }

    #[test]
    fn each_term_matches_hand_computation() {
        let weak_rows = [[2.0, 0.0], [0.5, 0.5], [0.0, 1.0]];
        let strong_rows = [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]];
        let labels = [0u32, 0, 0];
        let sets = [Subset::Clean, Subset::Ambiguous, Subset::Noisy];
        let weak = t2(&weak_rows.map(|r| r.map(|v| v as f32)));
        let strong = t2(&strong_rows.map(|r| r.map(|v| v as f32)));
        let y = Tensor::new(&labels, &Device::Cpu).unwrap();
        let (lambda, omega, gamma) = (0.25, 2.0, 0.5);
        let tri = tri_regularization(&weak, &strong, &y, &sets, lambda, omega, gamma).unwrap();
        let n = 3.0;
        let pw: Vec<[f64; 2]> = weak_rows.iter().map(|&r| p(r)).collect();
        let ps: Vec<[f64; 2]> = strong_rows.iter().map(|&r| p(r)).collect();
        // Clean: −log p_w(y) of sample 0, over the batch size.
        assert!((scalar(&tri.clean) - (-pw[0][0].ln()) / n).abs() < 1e-6);
        // Ambiguous: ω·[(1−λ)·CE + λ·½(KL(ps‖pw) + KL(pw‖ps))] of sample 1.
        let m = 0.5 * (kl(ps[1], pw[1]) + kl(pw[1], ps[1]));
        let want = omega as f64 * ((1.0 - lambda) * -pw[1][0].ln() + lambda * m) / n;
        assert!((scalar(&tri.ambiguous) - want).abs() < 1e-6);
        // Noisy: γ·KL(pw‖ps) of sample 2, the label unused.
        let want = gamma as f64 * kl(pw[2], ps[2]) / n;
        assert!((scalar(&tri.noisy) - want).abs() < 1e-6);
    }

    #[test]
    fn noisy_samples_ignore_their_label() {
        let weak = t2(&[[0.3, -0.2]]);
        let strong = t2(&[[0.1, 0.4]]);
        let sets = [Subset::Noisy];
        let a = Tensor::new(&[0u32], &Device::Cpu).unwrap();
        let b = Tensor::new(&[1u32], &Device::Cpu).unwrap();
        let la = tri_regularization(&weak, &strong, &a, &sets, 0.5, 1.0, 1.0).unwrap();
        let lb = tri_regularization(&weak, &strong, &b, &sets, 0.5, 1.0, 1.0).unwrap();
        assert_eq!(scalar(&la.noisy), scalar(&lb.noisy));
        assert_eq!(scalar(&la.clean), 0.0);
    }

    #[test]
    fn the_ramp_moves_faster_for_smaller_beta() {
        assert_eq!(mutuality_ramp(0.0, 0.0), 1.0);
        assert!((mutuality_ramp(0.65, 0.0) - (-3.25f64).exp()).abs() < 1e-6);
        assert_eq!(mutuality_ramp(0.65, 1.0), 1.0);
        assert!(mutuality_ramp(0.65, 0.5) > mutuality_ramp(2.0, 0.5));
    }
}
