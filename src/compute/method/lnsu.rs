//! LNSU — Leave No Stone Unturned (Zhang et al., NeurIPS 2023;
//! zyh-uaiaaaa/Mine-Extra-Knowledge `code/train_exp.py`). Knowledge about minor classes is
//! mined from every sample through the maps and probabilities of all classes:
//! - re-balanced smooth labels: ε of each target spread over the other classes in
//!   proportion to the class weights w_c (rare classes receive more), loss −Σ t log p;
//! - re-balanced attention consistency: the flip consistency of every class's map,
//!   weighted by w_c and summed over classes, averaged over the batch.
//!
//! Total = L_rsl + attention_weight · L_rac. The weights come from the training split's
//! counts (see `balance::inverse_frequency_weights`).

use candle_core::{Device, Result, Tensor};

use super::balance::{inverse_frequency_weights, rebalanced_targets};
use super::flip_pair::{FlipPair, forward_with_flip};
use super::losses::soft_cross_entropy;
use super::{BatchTensors, EpochReport, Losses, Method, StepContext};
use crate::compute::data::Split;
use crate::compute::model::FerModel;
use serde::{Deserialize, Serialize};

use crate::contract::config::schema::{Field, Kind, MethodSchema, Range, Widget, defaults_of};

pub const KEY: &str = "lnsu";

/// Leave No Stone Unturned (Zhang et al., NeurIPS 2023).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LnsuConfig {
    /// Smoothing mass ε of the re-balanced smooth labels.
    pub epsilon: f32,
    /// Weight of the re-balanced attention consistency loss.
    pub attention_weight: f32,
    /// Class weights are `weight_scale · N / n_c`; 0.1 reproduces the official RAF-DB
    /// constants from RAF-DB's training counts.
    pub weight_scale: f32,
}

impl Default for LnsuConfig {
    fn default() -> Self {
        Self {
            epsilon: 0.3,
            attention_weight: 0.1,
            weight_scale: 0.1,
        }
    }
}

const FIELDS: &[Field] = &[
    Field::new(
        "method.lnsu.epsilon",
        "smoothing ε",
        Kind::Number {
            range: Range::below(0.0, 1.0),
            widget: Widget::slider(0.0, 0.9),
        },
    )
    .help("smoothing mass of the re-balanced smooth labels"),
    Field::new(
        "method.lnsu.attention_weight",
        "attention weight",
        Kind::Number {
            range: Range::closed(0.0, 1000.0),
            widget: Widget::slider(0.0, 2.0),
        },
    )
    .help("weight of the re-balanced attention consistency loss"),
    Field::new(
        "method.lnsu.weight_scale",
        "class weight scale",
        Kind::Number {
            range: Range::Positive,
            widget: Widget::log_slider(0.01, 1.0),
        },
    )
    .help("w_c = scale · N / n_c; 0.1 reproduces the official RAF-DB constants"),
];

pub const ENTRY: super::Entry = super::Entry {
    schema: MethodSchema {
        fields: FIELDS,
        flip_consistency: true,
        defaults: defaults_of::<LnsuConfig>,
        ..MethodSchema::plain(
            KEY,
            "Leave No Stone Unturned: re-balanced attention consistency and smooth labels (imbalance)",
        )
    },
    build: |b| {
        let cfg: LnsuConfig = b.exp.method.section(KEY)?;
        Ok(Box::new(Lnsu::new(&cfg, &b.class_counts(), b.device)?))
    },
    head: super::pooled_head,
};

pub struct Lnsu {
    cfg: LnsuConfig,
    /// w_c as a K × 1 column, for the weighted sum over classes.
    weights: Tensor,
    /// Row y = the smooth target of label y, K × K.
    targets: Tensor,
    weight_values: Vec<f32>,
}

impl Lnsu {
    pub fn new(cfg: &LnsuConfig, counts: &[usize], device: &Device) -> Result<Self> {
        let k = counts.len();
        let w = inverse_frequency_weights(counts, cfg.weight_scale);
        let targets = rebalanced_targets(&w, cfg.epsilon);
        Ok(Self {
            cfg: cfg.clone(),
            weights: Tensor::from_slice(&w, (k, 1), device)?,
            targets: Tensor::from_vec(targets, (k, k), device)?,
            weight_values: w,
        })
    }

    /// L_rsl + attention_weight · L_rac from the two views' forward passes.
    pub fn losses(&self, pair: FlipPair, labels: &Tensor) -> Result<Losses> {
        let rsl = rebalanced_smooth_ce(&pair.out.logits, labels, &self.targets)?;
        let rac = (rebalanced_consistency(&pair.flip_mse, &self.weights)?
            * self.cfg.attention_weight as f64)?;
        Ok(Losses {
            total: (&rsl + &rac)?,
            terms: vec![("rebalanced_smooth", rsl), ("rebalanced_attention", rac)],
            logits: pair.out.logits,
        })
    }
}

/// Σ_c w_c · L_c per sample (L: N × K, weights: K × 1), averaged over the batch.
pub fn rebalanced_consistency(flip_mse: &Tensor, weights: &Tensor) -> Result<Tensor> {
    flip_mse.matmul(weights)?.mean_all()
}

/// Mean over the batch of −Σ_k t_k log p_k with each row's target picked by its label.
pub fn rebalanced_smooth_ce(logits: &Tensor, labels: &Tensor, targets: &Tensor) -> Result<Tensor> {
    soft_cross_entropy(logits, &targets.index_select(labels, 0)?)?.mean_all()
}

impl Method for Lnsu {
    fn loss(
        &mut self,
        model: &FerModel,
        batch: &BatchTensors,
        ctx: &StepContext,
    ) -> Result<Losses> {
        let pair = forward_with_flip(model, &batch.views[0], ctx.seed)?;
        self.losses(pair, &batch.labels)
    }

    fn end_epoch(&mut self, epoch: usize, _train: &Split) -> EpochReport {
        let mut notes = Vec::new();
        if epoch == 0 {
            let w: Vec<String> = self
                .weight_values
                .iter()
                .map(|w| format!("{w:.3}"))
                .collect();
            notes.push(format!("LNSU class weights: {}", w.join(", ")));
        }
        EpochReport {
            mining: None,
            notes,
            filter: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_by_hand() {
        let dev = Device::Cpu;
        // Two samples, two classes: per-class flip errors and weights (1, 3) → 1·1 + 3·2 = 7
        // and 1·0 + 3·1 = 3, mean 5.
        let l = Tensor::new(&[[1f32, 2.0], [0.0, 1.0]], &dev).unwrap();
        let w = Tensor::new(&[[1f32], [3.0]], &dev).unwrap();
        let rac = rebalanced_consistency(&l, &w).unwrap();
        assert_eq!(rac.to_scalar::<f32>().unwrap(), 5.0);
        // Uniform logits: −Σ t log p = ln 2 for any target row.
        let logits = Tensor::zeros((2, 2), candle_core::DType::F32, &dev).unwrap();
        let targets = Tensor::new(&[[0.7f32, 0.3], [0.3, 0.7]], &dev).unwrap();
        let labels = Tensor::new(&[0u32, 1], &dev).unwrap();
        let rsl = rebalanced_smooth_ce(&logits, &labels, &targets).unwrap();
        assert!((rsl.to_scalar::<f32>().unwrap() - 2f32.ln()).abs() < 1e-6);
        // Confident logits (ln 0.9 − ln 0.1 apart) for label 0: 0.7·(−ln 0.9) + 0.3·(−ln 0.1).
        let logits = Tensor::new(&[[(0.9f32 / 0.1).ln(), 0.0]], &dev).unwrap();
        let labels = Tensor::new(&[0u32], &dev).unwrap();
        let rsl = rebalanced_smooth_ce(&logits, &labels, &targets)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let expect = -0.7 * 0.9f32.ln() - 0.3 * 0.1f32.ln();
        assert!((rsl - expect).abs() < 1e-5, "{rsl} vs {expect}");
    }
}
