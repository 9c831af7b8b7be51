//! ASM — Adaptive Sample Mining (Zhang, Sun, An, Wang; arXiv 2310.05618).
//!
//! ASM has no released code (its repository holds a README and the supplement). Its authors'
//! previous method, MAN (`zzzzzzyang/MAN`, `main.py`), has the same three-way split and the
//! same tri-regularisation with the same β = 0.65, so where the ASM text is silent ferlab
//! follows MAN's code; ferlab's earlier reading of the paper stays as options
//! (`method.asm.*`, defaults first):
//! - **partition** (`partition`): `online` (default) mines each batch from its training-mode
//!   weak-view predictions as it is visited, with the thresholds the previous epoch's class
//!   means gave. `eval_pass` does as MAN's `eval_train`: at the start of each mined epoch
//!   the model, in evaluation mode and without gradients, predicts every training face; the
//!   class means of those predictions update the thresholds (`thresholds.rs`) and each
//!   sample's confidence p_i(y_i) puts it in a set (`mining.rs`) for the whole epoch. MAN
//!   reuses its training loader for the pass, so its faces are weakly augmented; ferlab's
//!   pass sees them un-augmented, so the partition depends on the weights only. The class
//!   means' EMA (`momentum`) runs across both: the warm-up epochs fold in their
//!   training-mode means, each pass its own, so the first pass's thresholds blend the two
//!   (with μ = 0.5, half each); `momentum = 0` uses the pass alone, as MAN would. Online is
//!   the default because it measured better (README: synthetic faces 71.25% against
//!   69.11%, FER2013 at 30% noise 42.94 / 37.70% against 42.69 / 36.23% overall / mean) and
//!   the ASM text ("thresholds based on the mean class probabilities at each training
//!   epoch") allows either. MAN splits by two networks' agreement with the label; ASM's
//!   thresholds replace that.
//! - **clean**: cross-entropy of the weak view, mean over the clean samples.
//! - **ambiguous**: (1 − λ)·CE + λ·½(KL(p_s‖p_w) + KL(p_w‖p_s)), mean over the ambiguous
//!   samples, weight ω = 0.6 (MAN's `Mutual_loss`, `w_omiga`). MAN's two predictions come
//!   from two networks; ASM trains one network, so the weak and the strong view stand in
//!   for them, and the CE is the weak view's (MAN's two networks both see the weak image).
//!   The gradient flows through both sides of each KL (`stop_gradient = false`, as MAN's
//!   `kl_div` on undetached targets); `true` detaches each view's prediction as the other's
//!   target. λ (`ramp = "man"`) = λ_max·exp(−β·(1 − e / (0.9·E))²), e the epoch counted
//!   from 1 and E the number of epochs, λ_max = 0.9: ≈ 0.48 at the first epoch, 0.9 at
//!   e = 0.9·E. `ramp = "progress"`: exp(−5β(1 − t)²) over the run's progress t.
//! - **noisy**: the label is dropped; MSE between the softmax of the weak and the strong view
//!   (mean over the noisy samples and the classes, as `F.mse_loss`), no stop-gradient,
//!   weight γ = 1 (`noisy_loss = "mse"`); `"kl"`: KL(p̂_w‖p_s).
//! - `reduction = "set_mean"` (MAN) averages each term over its set; `"batch"` sums over
//!   the set and divides by the batch size, so a set weighs by its share of the batch.
//! - total = clean + ω·ambiguous + γ·noisy; during `warmup_epochs` every sample is clean,
//!   i.e. plain cross-entropy (MAN: its first 10 of 100 epochs).
//!
//!
//! Where ferlab still departs from MAN's loop, and why (each keeps the default it has):
//! - **one forward pass** over both views of the whole batch, where MAN forwards the clean,
//!   ambiguous and noisy subsets (and the noisy set's two views) in passes of their own, so
//!   its batch-norm statistics are per subset. Online mining needs the weak predictions
//!   before the sets exist; MAN's split would cost a second forward pass of the batch. The
//!   two agree on backbones without batch norm (the pretrained face ResNet's layers are
//!   frozen affine maps); on the small CNN and ResNet-18 the statistics span the batch.
//! - **the ambiguous set's cross-entropy is the weak view's**: MAN averages its two
//!   networks' cross-entropies, both on the weak image; one network on one weak image is
//!   that term. ½(CE(weak) + CE(strong)) would also supervise strongly augmented faces of
//!   doubtful label, which MAN never does.
//! - **warm-up** (`warmup_epochs`, default 1): MAN warms up for a tenth of its run (10 of
//!   100 epochs). The field counts epochs so a resumed or extended run keeps it; the FER2013
//!   presets set 2 of 40 and the 12-epoch presets 2 of 12; a run that is to follow MAN sets
//!   a tenth.
//!
//! Runs recorded before these options existed read as `online`, `progress`, `kl`,
//! `stop_gradient = true`, `batch` (`settings.rs`).

mod mining;
mod settings;
mod thresholds;

use candle_core::{D, Result, Tensor};
use candle_nn::ops::log_softmax;
use serde::{Deserialize, Serialize};

use super::losses::{kl_to_target, masked_sum, nll};
use super::{BatchTensors, EpochReport, Losses, Method, StepContext, state_error};
use crate::compute::data::Split;
use crate::compute::data::augment::View;
use crate::compute::model::{FerModel, Mode};
use crate::contract::event::mining::{ClassThresholds, Subset};
use mining::{MiningLedger, classify};
pub use settings::{
    AsmConfig, AsmPartition, MutualityRamp, NoisyLoss, SetReduction, ThresholdMode,
};
use thresholds::ThresholdLearner;

pub const ENTRY: super::Entry = super::Entry {
    schema: settings::SCHEMA,
    build: |b| {
        let cfg = settings::of(b.exp)?;
        Ok(Box::new(Asm::new(
            &cfg,
            b.model.num_classes(),
            b.train.len(),
        )))
    },
    head: super::pooled_head,
};

pub struct Asm {
    cfg: AsmConfig,
    classes: usize,
    learner: ThresholdLearner,
    ledger: MiningLedger,
    /// The current epoch's partition from its evaluation pass (`partition = "eval_pass"`).
    partition: Option<EpochPartition>,
}

/// The sets an evaluation pass assigned for one epoch, by training index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochPartition {
    pub epoch: usize,
    pub sets: Vec<Subset>,
}

/// The three regularisation terms of a batch, already weighted.
pub struct TriLoss {
    pub clean: Tensor,
    pub ambiguous: Tensor,
    pub noisy: Tensor,
}

/// λ, ω and γ of one step.
#[derive(Debug, Clone, Copy)]
pub struct TriWeights {
    pub lambda: f64,
    pub omega: f32,
    pub gamma: f32,
}

/// How the tri-regularisation's terms are formed.
#[derive(Debug, Clone, Copy)]
pub struct TriForm {
    pub stop_gradient: bool,
    pub noisy_loss: NoisyLoss,
    pub reduction: SetReduction,
}

impl TriForm {
    pub fn of(cfg: &AsmConfig) -> Self {
        Self {
            stop_gradient: cfg.stop_gradient,
            noisy_loss: cfg.noisy_loss,
            reduction: cfg.reduction,
        }
    }
}

/// MAN's λ at epoch `epoch` (counted from 1) of `epochs`:
/// λ_max·exp(−β·(1 − e / (0.9·E))²).
pub fn man_lambda(lambda_max: f32, beta: f32, epoch: usize, epochs: usize) -> f64 {
    let ramp_end = 0.9 * epochs.max(1) as f64;
    let phase = 1.0 - epoch as f64 / ramp_end;
    lambda_max as f64 * (-(beta as f64) * phase * phase).exp()
}

/// λ(t) = exp(−5·β·(1 − t)²), t the run's progress in [0, 1].
pub fn mutuality_ramp(beta: f32, progress: f64) -> f64 {
    let phase = 1.0 - progress.clamp(0.0, 1.0);
    (-5.0 * beta as f64 * phase * phase).exp()
}

/// λ of the step at `ctx` under the configured ramp.
pub fn mutuality_weight(cfg: &AsmConfig, ctx: &StepContext) -> f64 {
    match cfg.ramp {
        MutualityRamp::Man => man_lambda(cfg.lambda_max, cfg.beta, ctx.epoch + 1, ctx.epochs),
        MutualityRamp::Progress => mutuality_ramp(cfg.beta, ctx.run_progress()),
    }
}

/// Per-sample KL(p ‖ q) from log-probabilities, the gradient flowing into both.
fn kl_both(log_p: &Tensor, log_q: &Tensor) -> Result<Tensor> {
    (log_p.exp()? * (log_p - log_q)?)?.sum(D::Minus1)
}

/// Tri-regularisation of a batch whose samples are already mined into `sets`.
pub fn tri_regularization(
    weak: &Tensor,
    strong: &Tensor,
    labels: &Tensor,
    sets: &[Subset],
    weights: TriWeights,
    form: TriForm,
) -> Result<TriLoss> {
    let n = sets.len();
    let mask = |s: Subset| -> Vec<f32> { sets.iter().map(|&x| (x == s) as u8 as f32).collect() };
    let reduce = |values: &Tensor, s: Subset| -> Result<Tensor> {
        let m = mask(s);
        let divisor = match form.reduction {
            SetReduction::Batch => n,
            SetReduction::SetMean => m.iter().filter(|&&v| v > 0.0).count(),
        };
        masked_sum(values, &m, divisor)
    };
    let ce = nll(weak, labels)?;
    let log_w = log_softmax(weak, D::Minus1)?;
    let log_s = log_softmax(strong, D::Minus1)?;
    let mutual = if form.stop_gradient {
        let p_weak = log_w.exp()?.detach();
        let p_strong = log_s.exp()?.detach();
        (kl_to_target(weak, &p_strong)? + kl_to_target(strong, &p_weak)?)?
    } else {
        (kl_both(&log_s, &log_w)? + kl_both(&log_w, &log_s)?)?
    };
    let amb = ((&ce * (1.0 - weights.lambda))? + (mutual * (0.5 * weights.lambda))?)?;
    let consistency = match (form.noisy_loss, form.stop_gradient) {
        (NoisyLoss::Kl, true) => kl_to_target(strong, &log_w.exp()?.detach())?,
        (NoisyLoss::Kl, false) => kl_both(&log_w, &log_s)?,
        (NoisyLoss::Mse, stop) => {
            let p_weak = if stop {
                log_w.exp()?.detach()
            } else {
                log_w.exp()?
            };
            (p_weak - log_s.exp()?)?.sqr()?.mean(D::Minus1)?
        }
    };
    Ok(TriLoss {
        clean: reduce(&ce, Subset::Clean)?,
        ambiguous: (reduce(&amb, Subset::Ambiguous)? * weights.omega as f64)?,
        noisy: (reduce(&consistency, Subset::Noisy)? * weights.gamma as f64)?,
    })
}

/// Per class, the mean probability the samples labelled with it give it (`probabilities`
/// row-major N × K); None for a class without samples.
pub fn class_means(probabilities: &[f32], labels: &[u8], classes: usize) -> Vec<Option<f32>> {
    let mut sums = vec![(0.0f64, 0usize); classes];
    for (row, &y) in probabilities.chunks(classes).zip(labels) {
        let s = &mut sums[y as usize];
        s.0 += row[y as usize] as f64;
        s.1 += 1;
    }
    sums.iter()
        .map(|&(sum, n)| (n > 0).then(|| (sum / n as f64) as f32))
        .collect()
}

/// The index of each row's largest probability.
fn predicted(row: &[f32]) -> u8 {
    row.iter()
        .enumerate()
        .fold((0, f32::MIN), |b, (j, &p)| if p > b.1 { (j, p) } else { b })
        .0 as u8
}

impl Asm {
    pub fn new(cfg: &AsmConfig, classes: usize, train_len: usize) -> Self {
        Self {
            cfg: cfg.clone(),
            classes,
            learner: ThresholdLearner::new(cfg),
            ledger: MiningLedger::new(train_len, classes),
            partition: None,
        }
    }

    fn mining_active(&self, epoch: usize) -> bool {
        epoch >= self.cfg.warmup_epochs
    }

    fn eval_pass(&self) -> bool {
        self.cfg.partition == AsmPartition::EvalPass
    }

    /// The sets of the epoch's evaluation pass, by training index.
    pub fn partition(&self) -> Option<&EpochPartition> {
        self.partition.as_ref()
    }

    /// Mines the batch from its training-mode weak-view logits with the thresholds in
    /// effect (`online`), recording each sample in the ledger.
    fn mine_online(
        &mut self,
        weak: &Tensor,
        batch: &BatchTensors,
        epoch: usize,
    ) -> Result<Vec<Subset>> {
        let probs = candle_nn::ops::softmax(weak, D::Minus1)?.to_vec2::<f32>()?;
        let thresholds = self
            .mining_active(epoch)
            .then(|| self.learner.thresholds(self.classes));
        let mut sets = Vec::with_capacity(probs.len());
        for (k, row) in probs.iter().enumerate() {
            let y = batch.label_vec[k] as usize;
            let set = match &thresholds {
                Some(t) => classify(row[y], t.noisy[y], t.clean[y]),
                None => Subset::Clean,
            };
            self.ledger
                .record(batch.indices[k], y, row[y], predicted(row), set);
            sets.push(set);
        }
        Ok(sets)
    }

    /// The sets of the batch's samples in the epoch's evaluation-pass partition.
    fn partitioned(&self, batch: &BatchTensors, epoch: usize) -> Result<Vec<Subset>> {
        let p = self
            .partition
            .as_ref()
            .filter(|p| p.epoch == epoch)
            .ok_or_else(|| {
                candle_core::Error::Msg(format!(
                    "ASM: no evaluation-pass partition for epoch {}",
                    epoch + 1
                ))
            })?;
        Ok(batch.indices.iter().map(|&i| p.sets[i]).collect())
    }
}

impl Method for Asm {
    fn views(&self) -> Vec<View> {
        vec![View::Train, View::Strong]
    }

    fn wants_train_pass(&self, epoch: usize) -> bool {
        self.eval_pass()
            && self.mining_active(epoch)
            && self.partition.as_ref().is_none_or(|p| p.epoch != epoch)
    }

    fn begin_epoch(&mut self, epoch: usize, probabilities: &[f32], train: &Split) -> Vec<String> {
        let k = self.classes;
        self.learner
            .update(&class_means(probabilities, &train.labels, k));
        let t = self.learner.thresholds(k);
        let mut sets = Vec::with_capacity(train.len());
        for (i, (row, &y)) in probabilities.chunks(k).zip(&train.labels).enumerate() {
            let y = y as usize;
            let set = classify(row[y], t.noisy[y], t.clean[y]);
            self.ledger.record(i, y, row[y], predicted(row), set);
            sets.push(set);
        }
        let count = |s: Subset| sets.iter().filter(|&&x| x == s).count();
        let note = format!(
            "evaluation pass: {} clean, {} ambiguous, {} noisy",
            count(Subset::Clean),
            count(Subset::Ambiguous),
            count(Subset::Noisy)
        );
        self.partition = Some(EpochPartition { epoch, sets });
        vec![note]
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
        let sets = if self.eval_pass() && self.mining_active(ctx.epoch) {
            self.partitioned(batch, ctx.epoch)?
        } else {
            self.mine_online(&weak, batch, ctx.epoch)?
        };
        let weights = TriWeights {
            lambda: mutuality_weight(&self.cfg, ctx),
            omega: self.cfg.omega,
            gamma: self.cfg.gamma,
        };
        let tri = tri_regularization(
            &weak,
            &strong,
            &batch.labels,
            &sets,
            weights,
            TriForm::of(&self.cfg),
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
        let active = self.mining_active(epoch);
        let in_effect: Option<ClassThresholds> =
            active.then(|| self.learner.thresholds(self.classes));
        // Online, this epoch's training-mode means set the next epoch's thresholds; with an
        // evaluation pass, the pass folded its means in already (warm-up epochs, which have
        // no pass, fold in their training-mode means either way).
        if !(self.eval_pass() && active) {
            self.learner.update(&self.ledger.class_means());
        }
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
        serde_json::json!({
            "learner": self.learner,
            "ledger": self.ledger,
            "partition": self.partition,
        })
    }

    fn load_state(&mut self, state: &serde_json::Value) -> crate::compute::Result<()> {
        if state.is_null() {
            return Ok(());
        }
        let learner = serde_json::from_value(state["learner"].clone()).map_err(state_error)?;
        let ledger: MiningLedger =
            serde_json::from_value(state["ledger"].clone()).map_err(state_error)?;
        if ledger.current.len() != self.ledger.current.len() {
            return Err(state_error(format!(
                "the checkpoint mined {} samples, this training split has {}",
                ledger.current.len(),
                self.ledger.current.len()
            )));
        }
        // Checkpoints written before the evaluation pass existed hold no partition.
        let partition: Option<EpochPartition> = match state.get("partition") {
            None => None,
            Some(p) => serde_json::from_value(p.clone())
                .map_err(|e| state_error(format!("partition: {e}")))?,
        };
        if let Some(p) = &partition
            && p.sets.len() != ledger.current.len()
        {
            return Err(state_error(format!(
                "the checkpoint's partition holds {} samples, this training split has {}",
                p.sets.len(),
                ledger.current.len()
            )));
        }
        self.learner = learner;
        self.ledger = ledger;
        self.partition = partition;
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

    /// ferlab's reading before MAN's code was followed.
    const EARLIER: TriForm = TriForm {
        stop_gradient: true,
        noisy_loss: NoisyLoss::Kl,
        reduction: SetReduction::Batch,
    };
    const MAN: TriForm = TriForm {
        stop_gradient: false,
        noisy_loss: NoisyLoss::Mse,
        reduction: SetReduction::SetMean,
    };

    fn weights(lambda: f64, omega: f32, gamma: f32) -> TriWeights {
        TriWeights {
            lambda,
            omega,
            gamma,
        }
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
        let w = TriWeights {
            lambda,
            omega,
            gamma,
        };
        let tri = tri_regularization(&weak, &strong, &y, &sets, w, EARLIER).unwrap();
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
        for form in [EARLIER, MAN] {
            let w = weights(0.5, 1.0, 1.0);
            let la = tri_regularization(&weak, &strong, &a, &sets, w, form).unwrap();
            let lb = tri_regularization(&weak, &strong, &b, &sets, w, form).unwrap();
            assert_eq!(scalar(&la.noisy), scalar(&lb.noisy));
            assert_eq!(scalar(&la.clean), 0.0);
        }
    }

    #[test]
    fn man_terms_match_hand_computation() {
        // Two clean, two ambiguous, one noisy sample: each term is its set's mean.
        let weak_rows = [[2.0, 0.0], [0.0, 1.0], [0.5, 0.5], [-1.0, 0.3], [0.0, 1.0]];
        let strong_rows = [[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [0.2, 0.1], [1.0, 0.0]];
        let labels = [0u32, 1, 0, 1, 0];
        use Subset::{Ambiguous as A, Clean as C, Noisy as N};
        let sets = [C, C, A, A, N];
        let weak = t2(&weak_rows.map(|r| r.map(|v| v as f32)));
        let strong = t2(&strong_rows.map(|r| r.map(|v| v as f32)));
        let y = Tensor::new(&labels, &Device::Cpu).unwrap();
        let (lambda, omega, gamma) = (0.3, 0.6, 1.5);
        let tri = tri_regularization(
            &weak,
            &strong,
            &y,
            &sets,
            weights(lambda, omega, gamma),
            MAN,
        )
        .unwrap();
        let pw: Vec<[f64; 2]> = weak_rows.iter().map(|&r| p(r)).collect();
        let ps: Vec<[f64; 2]> = strong_rows.iter().map(|&r| p(r)).collect();
        let ce = |i: usize| -pw[i][labels[i] as usize].ln();
        assert!((scalar(&tri.clean) - (ce(0) + ce(1)) / 2.0).abs() < 1e-6);
        // MAN's Mutual_loss: (1−λ)·CE + λ·½(KL(p1‖p2) + KL(p2‖p1)), averaged over the set.
        let mutual = |i: usize| {
            (1.0 - lambda) * ce(i) + lambda * 0.5 * (kl(ps[i], pw[i]) + kl(pw[i], ps[i]))
        };
        let want = omega as f64 * (mutual(2) + mutual(3)) / 2.0;
        assert!((scalar(&tri.ambiguous) - want).abs() < 1e-6);
        // F.mse_loss(p_w, p_s): the mean over the noisy samples and the classes.
        let mse = ((pw[4][0] - ps[4][0]).powi(2) + (pw[4][1] - ps[4][1]).powi(2)) / 2.0;
        assert!((scalar(&tri.noisy) - gamma as f64 * mse).abs() < 1e-6);
        // An empty set contributes nothing.
        let none =
            tri_regularization(&weak, &strong, &y, &[C; 5], weights(0.3, 1.0, 1.0), MAN).unwrap();
        assert_eq!((scalar(&none.ambiguous), scalar(&none.noisy)), (0.0, 0.0));
    }

    /// d(term)/d(view logits) by backprop, for the term picked by `pick`.
    fn grads(form: TriForm, set: Subset, pick: fn(&TriLoss) -> &Tensor) -> (Vec<f32>, Vec<f32>) {
        let weak = candle_core::Var::new(&[[0.4f32, -0.3]], &Device::Cpu).unwrap();
        let strong = candle_core::Var::new(&[[-0.2f32, 0.5]], &Device::Cpu).unwrap();
        let y = Tensor::new(&[0u32], &Device::Cpu).unwrap();
        let tri =
            tri_regularization(&weak, &strong, &y, &[set], weights(0.5, 1.0, 1.0), form).unwrap();
        let g = pick(&tri).backward().unwrap();
        let of = |v: &candle_core::Var| {
            g.get(v.as_tensor())
                .map(|t| t.flatten_all().unwrap().to_vec1::<f32>().unwrap())
                .unwrap_or(vec![0.0, 0.0])
        };
        (of(&weak), of(&strong))
    }

    #[test]
    fn without_stop_gradient_both_views_learn_from_each_other() {
        // The noisy term: MAN's MSE moves the weak view too; the detached form only the
        // strong view.
        let (w, s) = grads(MAN, Subset::Noisy, |t| &t.noisy);
        assert!(w.iter().any(|&g| g != 0.0) && s.iter().any(|&g| g != 0.0));
        let (w, s) = grads(EARLIER, Subset::Noisy, |t| &t.noisy);
        assert!(w.iter().all(|&g| g == 0.0) && s.iter().any(|&g| g != 0.0));
        // The ambiguous term with λ = ½: the symmetric KL is symmetric in the two views, so
        // without stop-gradient the views' gradients from it are opposite; detached, each
        // view is pulled only through its own softmax.
        let (w, s) = grads(MAN, Subset::Ambiguous, |t| &t.ambiguous);
        let (we, se) = grads(EARLIER, Subset::Ambiguous, |t| &t.ambiguous);
        assert!(w != we && s != se, "{w:?} {we:?} {s:?} {se:?}");
    }

    #[test]
    fn lambda_follows_mans_mutual_loss() {
        // Values of MAN's formula 0.9·exp(−0.65·(1 − e / (0.9·E))²) computed in Python.
        for (e, epochs, want) in [
            (1, 100, 0.4766387950032694),
            (11, 100, 0.5454296188922103),
            (50, 100, 0.7915552662599284),
            (90, 100, 0.9),
            (100, 100, 0.8928066784718517),
            (3, 12, 0.6412064971280881),
        ] {
            let got = man_lambda(0.9, 0.65, e, epochs);
            // λ_max and β are f32 in the config: agreement to their precision.
            assert!((got - want).abs() < 1e-7, "e={e}: {got} vs {want}");
        }
        // The step context's epoch counts from 0, MAN's from 1; constant within an epoch.
        let cfg = AsmConfig::default();
        let ctx = |epoch, step| StepContext {
            epoch,
            step,
            epochs: 100,
            steps_per_epoch: 10,
            seed: 0,
        };
        assert_eq!(
            mutuality_weight(&cfg, &ctx(10, 0)),
            man_lambda(0.9, 0.65, 11, 100)
        );
        assert_eq!(
            mutuality_weight(&cfg, &ctx(10, 9)),
            mutuality_weight(&cfg, &ctx(10, 0))
        );
    }

    fn split(labels: &[u8]) -> Split {
        let mut s = Split::new(2, 1);
        for (i, &l) in labels.iter().enumerate() {
            s.push(&[0u8; 4], l, None, format!("s{i}"));
        }
        s
    }

    #[test]
    fn the_evaluation_pass_partition_is_direct_mining_of_its_predictions() {
        // Three classes, six samples; the pass's probabilities, row-major.
        let labels = [0u8, 0, 1, 1, 2, 2];
        let probs = [
            0.9f32, 0.05, 0.05, //
            0.3, 0.6, 0.1, //
            0.1, 0.5, 0.4, //
            0.9, 0.05, 0.05, //
            0.1, 0.1, 0.8, //
            0.3, 0.3, 0.4,
        ];
        let train = split(&labels);
        let cfg = AsmConfig {
            partition: AsmPartition::EvalPass,
            warmup_epochs: 1,
            momentum: 0.0,
            ..AsmConfig::default()
        };
        let mut asm = Asm::new(&cfg, 3, labels.len());
        assert!(!asm.wants_train_pass(0), "warm-up: no partition");
        assert!(asm.wants_train_pass(1));
        asm.begin_epoch(1, &probs, &train);
        assert!(!asm.wants_train_pass(1), "one pass per epoch");
        // Class means p̄ = (0.6, 0.275, 0.6): thresholds [0.2, 0.8]·p̄.
        let means = class_means(&probs, &labels, 3);
        for (m, want) in means.iter().zip([0.6, 0.275, 0.6]) {
            assert!((m.unwrap() - want).abs() < 1e-6, "{means:?}");
        }
        let mut learner = ThresholdLearner::new(&cfg);
        learner.update(&means);
        let t = learner.thresholds(3);
        let direct: Vec<Subset> = probs
            .chunks(3)
            .zip(labels)
            .map(|(row, y)| {
                let y = y as usize;
                classify(row[y], t.noisy[y], t.clean[y])
            })
            .collect();
        let got = asm.partition().unwrap();
        assert_eq!(got.epoch, 1);
        assert_eq!(got.sets, direct);
        use Subset::{Ambiguous as A, Clean as C, Noisy as N};
        assert_eq!(direct, [C, A, C, N, C, A]);
        // The epoch's report shows the partition and the thresholds it was made with.
        let report = asm.end_epoch(1, &train).mining.unwrap();
        assert_eq!(report.thresholds, Some(t));
        assert_eq!(report.counts, vec![[1, 1, 0], [1, 0, 1], [1, 1, 0]]);
        // The state round-trips with the partition.
        let mut again = Asm::new(&cfg, 3, labels.len());
        again.load_state(&asm.state()).unwrap();
        assert_eq!(again.partition(), asm.partition());
    }

    #[test]
    fn the_progress_ramp_moves_faster_for_smaller_beta() {
        assert_eq!(mutuality_ramp(0.0, 0.0), 1.0);
        assert!((mutuality_ramp(0.65, 0.0) - (-3.25f64).exp()).abs() < 1e-6);
        assert_eq!(mutuality_ramp(0.65, 1.0), 1.0);
        assert!(mutuality_ramp(0.65, 0.5) > mutuality_ramp(2.0, 0.5));
    }
}
