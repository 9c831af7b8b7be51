//! Evaluation of a model on a split: predictions, probabilities, metrics.

use std::sync::Arc;

use candle_core::{D, Device, Result, Tensor};

use super::control::Control;
use crate::analysis::Metrics;
use crate::config::AugmentConfig;
use crate::data::Split;
use crate::data::augment::View;
use crate::data::loader::{BatchSpec, Prefetcher};
use crate::method::losses::cross_entropy;
use crate::model::{FerModel, Mode};

/// What evaluating a split yields, sample by sample.
pub struct Evaluation {
    pub metrics: Metrics,
    pub predictions: Vec<u32>,
    /// Softmax probabilities, row-major `N × K`.
    pub probabilities: Vec<f32>,
}

/// Evaluates `model` on every sample of `split` against its given labels. Returns None if
/// `control` asks to stop midway.
pub fn evaluate(
    model: &FerModel,
    split: &Arc<Split>,
    batch_size: usize,
    augment: &AugmentConfig,
    device: &Device,
    control: Option<&Control>,
) -> Result<Option<Evaluation>> {
    let k = model.num_classes;
    let spec = BatchSpec {
        order: (0..split.len()).collect(),
        batch_size,
        start_step: 0,
        views: vec![View::Plain],
        augment: augment.clone(),
        seed: 0,
        epoch: 0,
    };
    let mut prefetch = Prefetcher::spawn(split.clone(), spec, 2);
    let (s, c) = (split.size, split.channels);
    let mut predictions = Vec::with_capacity(split.len());
    let mut probabilities = Vec::with_capacity(split.len() * k);
    let mut loss_sum = 0.0f64;
    while let Some(batch) = prefetch.next_batch() {
        if control.is_some_and(|c| c.is_stopped()) {
            return Ok(None);
        }
        let n = batch.len();
        let x = Tensor::from_slice(&batch.views[0], (n, c, s, s), device)?;
        let y = Tensor::from_slice(&batch.labels, n, device)?;
        let out = model.forward(&x, Mode::Eval)?;
        loss_sum += cross_entropy(&out.logits, &y, 0.0)?.to_scalar::<f32>()? as f64 * n as f64;
        predictions.extend(out.logits.argmax(D::Minus1)?.to_vec1::<u32>()?);
        let p = candle_nn::ops::softmax(&out.logits, D::Minus1)?;
        probabilities.extend(p.flatten_all()?.to_vec1::<f32>()?);
    }
    let truth: Vec<u32> = split.labels.iter().map(|&l| l as u32).collect();
    let loss = (loss_sum / split.len().max(1) as f64) as f32;
    Ok(Some(Evaluation {
        metrics: Metrics::from_predictions(&truth, &predictions, k, loss),
        predictions,
        probabilities,
    }))
}
