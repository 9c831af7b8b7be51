//! CB — class-balanced cross-entropy (Cui et al., CVPR 2019): each sample's cross-entropy
//! is weighted by its class's α = 1 / effective number, normalised to sum to C.

use candle_core::{Device, Result, Tensor};

use super::balance::class_balanced_weights;
use super::losses::nll;
use super::{BatchTensors, Losses, Method, StepContext};
use crate::compute::model::{FerModel, Mode};
use serde::{Deserialize, Serialize};

use crate::contract::config::schema::{Field, Kind, MethodSchema, Range, Widget, defaults_of};

pub const KEY: &str = "cb";

/// Class-balanced loss (Cui et al., CVPR 2019).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CbConfig {
    /// β of the effective number E_c = (1 − β^{n_c}) / (1 − β).
    pub beta: f64,
}

impl Default for CbConfig {
    fn default() -> Self {
        Self { beta: 0.9999 }
    }
}

const FIELDS: &[Field] = &[Field::new(
    "method.cb.beta",
    "effective-number β",
    Kind::Number {
        range: Range::below(0.0, 1.0),
        widget: Widget::Drag { speed: 0.0001 },
    },
)
.help("E_c = (1 − β^{n_c}) / (1 − β); class weights ∝ 1 / E_c")];

pub const ENTRY: super::Entry = super::Entry {
    schema: MethodSchema {
        fields: FIELDS,
        defaults: defaults_of::<CbConfig>,
        ..MethodSchema::plain(
            KEY,
            "Class-balanced cross-entropy by effective number of samples (imbalance)",
        )
    },
    build: |b| {
        let cfg: CbConfig = b.exp.method.section(KEY)?;
        Ok(Box::new(ClassBalanced::new(
            &cfg,
            &b.class_counts(),
            b.device,
        )?))
    },
    head: super::pooled_head,
};

pub struct ClassBalanced {
    /// α_c, a K-vector on the device.
    weights: Tensor,
}

impl ClassBalanced {
    pub fn new(cfg: &CbConfig, counts: &[usize], device: &Device) -> Result<Self> {
        let w = class_balanced_weights(counts, cfg.beta);
        Ok(Self {
            weights: Tensor::from_vec(w, counts.len(), device)?,
        })
    }
}

/// Mean over the batch of α_y · (−log p_y) (the softmax variant of the paper).
pub fn class_balanced_ce(logits: &Tensor, labels: &Tensor, weights: &Tensor) -> Result<Tensor> {
    let alpha = weights.index_select(labels, 0)?;
    (nll(logits, labels)? * alpha)?.mean_all()
}

impl Method for ClassBalanced {
    fn loss(
        &mut self,
        model: &FerModel,
        batch: &BatchTensors,
        ctx: &StepContext,
    ) -> Result<Losses> {
        let out = model.forward(&batch.views[0], Mode::Train { seed: ctx.seed })?;
        let loss = class_balanced_ce(&out.logits, &batch.labels, &self.weights)?;
        Ok(Losses::single("cb_ce", loss, out.logits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_scale_each_sample() {
        let dev = Device::Cpu;
        // Logits 0 → −log p = ln 2 for both samples; weights 1.5 and 0.5.
        let logits = Tensor::zeros((2, 2), candle_core::DType::F32, &dev).unwrap();
        let labels = Tensor::new(&[0u32, 1], &dev).unwrap();
        let w = Tensor::new(&[1.5f32, 0.5], &dev).unwrap();
        let l = class_balanced_ce(&logits, &labels, &w)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!((l - 2f32.ln()).abs() < 1e-6);
        let labels = Tensor::new(&[0u32, 0], &dev).unwrap();
        let l = class_balanced_ce(&logits, &labels, &w)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!((l - 1.5 * 2f32.ln()).abs() < 1e-6);
    }
}
