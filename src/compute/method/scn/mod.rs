//! SCN — Self-Cure Network (Wang et al., CVPR 2020; kaiwang960112/Self-Cure-Network).
//!
//! An attention branch gives each sample an importance α_i = σ(FC(f_i)); the logits are
//! multiplied by α_i before the cross-entropy (logit-weighted CE). Rank regularisation
//! keeps the mean importance of the top `high_ratio` of the batch at least δ1 above the
//! rest. From `relabel_epoch` on, a sample whose most probable class beats its label by
//! more than δ2 takes that class as its label for the rest of the run.
//!
//! As the official `src/train.py` does it: the high group holds ⌊0.7·n⌋ samples
//! (`int(batch_sz * beta)`; at least 1 here, so a batch of one still has a group), any
//! sample of the batch may be relabelled (the paper says the low-importance group only:
//! `relabel_scope = "low_group"`), and `relabel_epoch` counts epochs from 1 like the
//! official loop (`for i in range(1, epochs + 1)`, `if i >= relabel_epoch`).
//!
//! Dropout (`model.dropout`, the official `--drop_rate`, 0 by default there) comes before
//! both branches: the importance and the logits read the same dropped features
//! ([`crate::compute::model::Output::head_input`]), as `Res18Feature.forward` does. One
//! departure: the official module builds a fresh `nn.Dropout` inside `forward`, which is
//! in training mode even under `model.eval()`, so its evaluation drops features too;
//! here evaluation is deterministic (no dropout), the module's evident intent.

mod settings;

use std::collections::BTreeMap;

use candle_core::{D, Device, Result, Tensor, Var};
use candle_nn::ops::{sigmoid, softmax};

use super::losses::cross_entropy;
use super::{BatchTensors, EpochReport, Losses, Method, StepContext, state_error};
use crate::compute::data::Split;
use crate::compute::model::layers::Linear;
use crate::compute::model::{FerModel, Mode, Output};
use crate::contract::seed::{self, purpose};
pub use settings::{RelabelScope, ScnConfig};

pub const ENTRY: super::Entry = super::Entry {
    schema: settings::SCHEMA,
    build: |b| {
        let cfg = settings::of(b.exp)?;
        Ok(Box::new(Scn::new(
            &cfg,
            b.model.feature_dim(),
            b.device,
            b.exp.seed,
        )?))
    },
    head: super::pooled_head,
};

pub struct Scn {
    cfg: ScnConfig,
    attention: Linear,
    /// Dataset index → label given by relabelling.
    relabels: BTreeMap<usize, u8>,
    relabeled_this_epoch: usize,
}

/// Rank regularisation: max(0, δ1 − (mean of the top ⌊ratio·n⌋ α − mean of the rest)),
/// the high group at least one sample. Returns the loss and which rows are in the low
/// group.
pub fn rank_regularization(
    alpha: &Tensor,
    high_ratio: f32,
    margin: f32,
) -> Result<(Tensor, Vec<bool>)> {
    let values = alpha.flatten_all()?.to_vec1::<f32>()?;
    let n = values.len();
    let high = ((high_ratio * n as f32).floor() as usize).clamp(1, n.max(1));
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    let mut low = vec![false; n];
    for &i in &order[high..] {
        low[i] = true;
    }
    if high >= n {
        return Ok((alpha.sum_all()?.zeros_like()?, low));
    }
    let dev = alpha.device();
    let idx = |ids: &[usize]| {
        Tensor::from_vec(
            ids.iter().map(|&i| i as u32).collect::<Vec<_>>(),
            ids.len(),
            dev,
        )
    };
    let flat = alpha.flatten_all()?;
    let mean_high = flat.index_select(&idx(&order[..high])?, 0)?.mean_all()?;
    let mean_low = flat.index_select(&idx(&order[high..])?, 0)?.mean_all()?;
    let gap = (mean_high - mean_low)?;
    let loss = (gap.neg()? + margin as f64)?.relu()?;
    Ok((loss, low))
}

/// Whether samples may be relabelled in 0-based `epoch`, relabelling starting at the
/// 1-based `relabel_epoch` (the official numbering).
pub fn relabels_in(epoch: usize, relabel_epoch: usize) -> bool {
    epoch + 1 >= relabel_epoch
}

impl Scn {
    pub fn new(cfg: &ScnConfig, feature_dim: usize, device: &Device, seed: u64) -> Result<Self> {
        let mut rng = seed::rng(seed, &[purpose::METHOD, 1]);
        Ok(Self {
            cfg: cfg.clone(),
            attention: Linear::new(feature_dim, 1, &mut rng, device)?,
            relabels: BTreeMap::new(),
            relabeled_this_epoch: 0,
        })
    }

    /// Weighted CE + rank regularisation on the model's output for `batch` in 0-based
    /// `epoch`, relabelling (for the batches to come) as it goes.
    pub fn losses(&mut self, out: Output, batch: &BatchTensors, epoch: usize) -> Result<Losses> {
        let alpha = sigmoid(&self.attention.forward(&out.head_input)?)?;
        let weighted = out.logits.broadcast_mul(&alpha)?;
        let labels: Vec<u32> = batch
            .indices
            .iter()
            .zip(&batch.label_vec)
            .map(|(i, &l)| self.relabels.get(i).map_or(l, |&r| r as u32))
            .collect();
        let y = Tensor::from_slice(&labels, labels.len(), weighted.device())?;
        let wce = cross_entropy(&weighted, &y, 0.0)?;
        let (rr, low) = rank_regularization(&alpha, self.cfg.high_ratio, self.cfg.margin)?;
        let rr = (rr * self.cfg.rank_weight as f64)?;
        if relabels_in(epoch, self.cfg.relabel_epoch) {
            let probs = softmax(&weighted, D::Minus1)?.to_vec2::<f32>()?;
            for (k, row) in probs.iter().enumerate() {
                if self.cfg.relabel_scope == RelabelScope::LowGroup && !low[k] {
                    continue;
                }
                let (best, p_max) = row
                    .iter()
                    .enumerate()
                    .fold((0, f32::MIN), |b, (j, &p)| if p > b.1 { (j, p) } else { b });
                if p_max - row[labels[k] as usize] > self.cfg.relabel_margin {
                    self.relabels.insert(batch.indices[k], best as u8);
                    self.relabeled_this_epoch += 1;
                }
            }
        }
        Ok(Losses {
            total: (&wce + &rr)?,
            terms: vec![("weighted_ce", wce), ("rank_reg", rr)],
            logits: weighted,
        })
    }

    /// Dataset index → the label relabelling gave it.
    pub fn relabels(&self) -> &BTreeMap<usize, u8> {
        &self.relabels
    }
}

impl Method for Scn {
    fn loss(
        &mut self,
        model: &FerModel,
        batch: &BatchTensors,
        ctx: &StepContext,
    ) -> Result<Losses> {
        let out = model.forward(&batch.views[0], Mode::Train { seed: ctx.seed })?;
        self.losses(out, batch, ctx.epoch)
    }

    fn extra_params(&self) -> Vec<(String, Var)> {
        vec![
            ("scn.attention.weight".into(), self.attention.weight.clone()),
            ("scn.attention.bias".into(), self.attention.bias.clone()),
        ]
    }

    fn end_epoch(&mut self, _epoch: usize, train: &Split) -> EpochReport {
        let mut line = format!(
            "SCN relabelled {} samples this epoch; {} carry a new label",
            self.relabeled_this_epoch,
            self.relabels.len()
        );
        if let Some(truth) = &train.truth {
            let right = self
                .relabels
                .iter()
                .filter(|&(&i, &l)| truth[i].clean_label == l)
                .count();
            let fixed = self
                .relabels
                .iter()
                .filter(|&(&i, &l)| truth[i].clean_label == l && train.labels[i] != l)
                .count();
            line +=
                &format!(" ({right} of them match the true label, {fixed} repair a flipped one)");
        }
        self.relabeled_this_epoch = 0;
        EpochReport {
            mining: None,
            notes: vec![line],
            filter: None,
        }
    }

    fn state(&self) -> serde_json::Value {
        serde_json::json!({
            "relabels": self.relabels,
            "relabeled_this_epoch": self.relabeled_this_epoch,
        })
    }

    fn load_state(&mut self, state: &serde_json::Value) -> crate::compute::Result<()> {
        if state.is_null() {
            return Ok(());
        }
        self.relabels = serde_json::from_value(state["relabels"].clone()).map_err(state_error)?;
        self.relabeled_this_epoch = state["relabeled_this_epoch"].as_u64().unwrap_or(0) as usize;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_regularization_on_a_hand_built_batch() {
        let alpha = Tensor::new(&[[0.9f32], [0.5], [0.8], [0.4]], &Device::Cpu).unwrap();
        // Top half (0.9, 0.8) mean 0.85, bottom (0.5, 0.4) mean 0.45: gap 0.4 ≥ 0.15 → 0.
        let (loss, low) = rank_regularization(&alpha, 0.5, 0.15).unwrap();
        assert_eq!(loss.to_scalar::<f32>().unwrap(), 0.0);
        assert_eq!(low, vec![false, true, false, true]);
        // With margin 0.5 the loss is 0.5 − 0.4 = 0.1.
        let (loss, _) = rank_regularization(&alpha, 0.5, 0.5).unwrap();
        assert!((loss.to_scalar::<f32>().unwrap() - 0.1).abs() < 1e-6);
        // 70% of 4 is 2 high samples, as the official int(0.7·4): 0.9, 0.8 vs 0.5, 0.4.
        let (loss, low) = rank_regularization(&alpha, 0.7, 0.5).unwrap();
        assert_eq!(low, vec![false, true, false, true]);
        assert!((loss.to_scalar::<f32>().unwrap() - 0.1).abs() < 1e-6);
    }

    #[test]
    fn high_group_is_the_official_floor() {
        // At batch 64 the official code takes int(0.7·64) = 44 high samples, not 45.
        let values: Vec<f32> = (0..64).map(|i| i as f32 / 64.0).collect();
        let alpha = Tensor::from_vec(values, (64, 1), &Device::Cpu).unwrap();
        let (_, low) = rank_regularization(&alpha, 0.7, 0.15).unwrap();
        assert_eq!(low.iter().filter(|&&l| !l).count(), 44);
        // A batch of one keeps one sample in the high group and none low.
        let one = Tensor::new(&[[0.3f32]], &Device::Cpu).unwrap();
        let (loss, low) = rank_regularization(&one, 0.7, 0.15).unwrap();
        assert_eq!((low, loss.to_scalar::<f32>().unwrap()), (vec![false], 0.0));
    }

    #[test]
    fn relabelling_starts_in_the_official_epoch() {
        // Official relabel_epoch 10 = the tenth epoch = ferlab's 0-based epoch 9.
        assert!(!relabels_in(8, 10));
        assert!(relabels_in(9, 10));
        assert!(relabels_in(0, 1));
        assert!(relabels_in(0, 0));
    }

    fn relabelled_after_one_step(scope: RelabelScope) -> usize {
        use crate::compute::method::test_support::{cyclic_batch, first_step};
        use crate::compute::model::FerModel;
        use crate::contract::config::{Experiment, ModelConfig};
        let dev = Device::Cpu;
        let exp = Experiment::default();
        let cfg = ModelConfig {
            width: 4,
            ..exp.model.clone()
        };
        let model = FerModel::new(&cfg, 1, 3, &dev, 3).unwrap();
        let scn_cfg = ScnConfig {
            relabel_epoch: 1,
            relabel_margin: 0.0,
            relabel_scope: scope,
            ..ScnConfig::default()
        };
        let mut scn = Scn::new(&scn_cfg, model.feature_dim(), &dev, 1).unwrap();
        // Labels that disagree with the prediction somewhere: relabel margin 0 relabels
        // every sample whose label is not its most probable class.
        let x = Tensor::randn(0f32, 1.0, (16, 1, 12, 12), &dev).unwrap();
        let batch = cyclic_batch(vec![x], 3);
        let ctx = first_step(2, 5);
        scn.loss(&model, &batch, &ctx).unwrap();
        scn.relabels.len()
    }

    #[test]
    fn importance_reads_the_dropped_features_like_the_official_code() {
        // Official `Res18Feature.forward`: x = Dropout(x); α = σ(FC_α(x)); out = α·fc(x).
        use crate::compute::method::test_support::{cyclic_batch, first_step};
        use crate::compute::model::FerModel;
        use crate::compute::model::layers::dropout;
        use crate::contract::config::{Experiment, ModelConfig};
        let dev = Device::Cpu;
        let cfg = ModelConfig {
            width: 4,
            dropout: 0.5,
            ..Experiment::default().model
        };
        let model = FerModel::new(&cfg, 1, 3, &dev, 3).unwrap();
        let mut scn = Scn::new(&ScnConfig::default(), model.feature_dim(), &dev, 1).unwrap();
        let x = Tensor::randn(0f32, 1.0, (8, 1, 12, 12), &dev).unwrap();
        let batch = cyclic_batch(vec![x.clone()], 3);
        let ctx = first_step(2, 5);
        let losses = scn.loss(&model, &batch, &ctx).unwrap();
        let got = losses.terms[0].1.to_scalar::<f32>().unwrap();

        let out = model.forward(&x, Mode::Train { seed: ctx.seed }).unwrap();
        let dropped = dropout(&out.features, 0.5, ctx.seed).unwrap();
        let alpha = sigmoid(&scn.attention.forward(&dropped).unwrap()).unwrap();
        let logits = model.fc.forward(&dropped).unwrap();
        let official = cross_entropy(&logits.broadcast_mul(&alpha).unwrap(), &batch.labels, 0.0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(
            (got - official).abs() < 1e-6,
            "{got} vs official {official}"
        );
    }

    #[test]
    fn official_scope_relabels_beyond_the_low_group() {
        let batch = relabelled_after_one_step(RelabelScope::Batch);
        let low = relabelled_after_one_step(RelabelScope::LowGroup);
        // 16 samples, 3 classes: about two thirds carry a label that is not their argmax;
        // the low group is 5 of 16.
        assert!(low <= 5, "{low}");
        assert!(batch > low, "batch {batch} vs low group {low}");
    }
}
