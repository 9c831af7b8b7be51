//! Evaluation of a model on a split: predictions, probabilities, metrics, and — when asked —
//! the flip consistency of the class activation maps with an attention snapshot.

use std::sync::Arc;

use candle_core::{D, DType, Device, Result, Tensor};

use super::control::Control;
use super::logit_adjust;
use super::tta::{self, Tta};
use crate::compute::data::Split;
use crate::compute::data::augment::View;
use crate::compute::data::loader::{BatchSpec, Prefetcher};
use crate::compute::method::losses::cross_entropy;
use crate::compute::model::cam::{flip_horizontal, flip_mse};
use crate::compute::model::{FerModel, Mode};
use crate::contract::codec::base64_encode;
use crate::contract::config::AugmentConfig;
use crate::contract::event::Metrics;
use crate::contract::event::attention::{AttentionFace, AttentionSnapshot, FaceSource, encode_f32};

/// What evaluating a split yields, sample by sample.
pub struct Evaluation {
    pub metrics: Metrics,
    pub predictions: Vec<u32>,
    /// Softmax probabilities, row-major `N × K`.
    pub probabilities: Vec<f32>,
    /// Present when an attention request came with the call.
    pub attention: Option<AttentionSnapshot>,
    /// Pooled features of the requested faces, in the order asked, `n × feature_dim`.
    pub features: Option<Vec<f32>>,
}

/// Which faces an evaluation measures attention for.
#[derive(Debug, Clone)]
pub struct AttentionRequest {
    pub epoch: usize,
    /// Validation indices shown every time.
    pub gallery: Vec<usize>,
    /// How many of the least flip-consistent other faces to add.
    pub least_consistent: usize,
}

/// What an evaluation measures besides predictions and metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extras<'a> {
    /// Class activation maps and flip consistency, with a snapshot of these faces.
    pub attention: Option<&'a AttentionRequest>,
    /// Keep the pooled features of these faces (for embeddings).
    pub features_of: Option<&'a [usize]>,
    /// The views each face is classified on (test-time augmentation; features and maps are
    /// always the plain view's).
    pub tta: Tta,
    /// Post-hoc logit adjustment: τ·log π_k subtracted from each face's log-probabilities
    /// before its prediction, loss and probabilities (`logit_adjust`).
    pub prior_offsets: Option<&'a [f32]>,
}

/// Maps of every evaluated face, kept while the pass runs so the least consistent faces
/// can be shown without a second pass.
struct MapStore {
    k: usize,
    h: usize,
    w: usize,
    maps: Vec<f32>,
    flipped_back: Vec<f32>,
    /// Flip MSE, N × K.
    mse: Vec<f32>,
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
    extras: Extras,
) -> Result<Option<Evaluation>> {
    let Extras {
        attention,
        features_of,
        tta,
        prior_offsets,
    } = extras;
    // A black pixel, normalised: what a test-time translation uncovers (as in training).
    let black = (0.0 - augment.mean) / augment.std;
    let k = model.num_classes;
    let mut all_features: Vec<f32> = Vec::new();
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
    let mut store: Option<MapStore> = None;
    let mut loss_sum = 0.0f64;
    while let Some(batch) = prefetch.next_batch() {
        if control.is_some_and(|c| c.is_stopped()) {
            return Ok(None);
        }
        let n = batch.len();
        let x = Tensor::from_slice(&batch.views[0], (n, c, s, s), device)?;
        let y = Tensor::from_slice(&batch.labels, n, device)?;
        let out = model.forward(&x, Mode::Eval)?;
        // The other test-time views' outputs; the first of them is the mirror.
        let others = tta::views(&x, tta, black)?
            .iter()
            .skip(1)
            .map(|v| model.forward(v, Mode::Eval))
            .collect::<Result<Vec<_>>>()?;
        if features_of.is_some() {
            all_features.extend(out.features.flatten_all()?.to_vec1::<f32>()?);
        }
        if attention.is_some() {
            let mirrored;
            let flipped = match others.first() {
                Some(o) => o,
                None => {
                    mirrored = model.forward(&flip_horizontal(&x)?, Mode::Eval)?;
                    &mirrored
                }
            };
            let maps = model.class_maps(&out.fmap)?;
            let maps_of_flipped = model.class_maps(&flipped.fmap)?;
            let back = flip_horizontal(&maps_of_flipped)?;
            let mse = flip_mse(&maps, &maps_of_flipped)?;
            let (_, _, h, w) = maps.dims4()?;
            let st = store.get_or_insert_with(|| MapStore {
                k,
                h,
                w,
                maps: Vec::new(),
                flipped_back: Vec::new(),
                mse: Vec::new(),
            });
            st.maps.extend(maps.flatten_all()?.to_vec1::<f32>()?);
            st.flipped_back
                .extend(back.flatten_all()?.to_vec1::<f32>()?);
            st.mse.extend(mse.flatten_all()?.to_vec1::<f32>()?);
        }
        // One plain view: the logits' own cross-entropy and argmax (as before either option).
        let p = if others.is_empty() && prior_offsets.is_none() {
            loss_sum += cross_entropy(&out.logits, &y, 0.0)?.to_scalar::<f32>()? as f64 * n as f64;
            predictions.extend(out.logits.argmax(D::Minus1)?.to_vec1::<u32>()?);
            candle_nn::ops::softmax(&out.logits, D::Minus1)?
        } else {
            let log_p = if others.is_empty() {
                candle_nn::ops::log_softmax(&out.logits, D::Minus1)?
            } else {
                let logits: Vec<Tensor> = std::iter::once(&out)
                    .chain(&others)
                    .map(|o| o.logits.clone())
                    .collect();
                tta::mean_probabilities(&logits)?.log()?
            };
            let log_p = match prior_offsets {
                Some(o) => logit_adjust::adjust(&log_p, o)?,
                None => log_p,
            };
            // Cross-entropy of the (averaged, adjusted) prediction.
            let picked = log_p.gather(&y.to_dtype(DType::U32)?.unsqueeze(1)?, 1)?;
            loss_sum -= picked.sum_all()?.to_scalar::<f32>()? as f64;
            predictions.extend(log_p.argmax(D::Minus1)?.to_vec1::<u32>()?);
            log_p.exp()?
        };
        probabilities.extend(p.flatten_all()?.to_vec1::<f32>()?);
    }
    let truth: Vec<u32> = split.labels.iter().map(|&l| l as u32).collect();
    let loss = (loss_sum / split.len().max(1) as f64) as f32;
    let mut metrics = Metrics::from_predictions(&truth, &predictions, k, loss);
    let attention = match (attention, store) {
        (Some(req), Some(st)) => {
            let snap = snapshot(req, &st, split, &predictions, &probabilities);
            metrics.flip_mse = Some(snap.mean);
            Some(snap)
        }
        _ => None,
    };
    let features = features_of.map(|idx| {
        let d = all_features.len() / split.len().max(1);
        idx.iter()
            .flat_map(|&i| all_features[i * d..(i + 1) * d].iter().copied())
            .collect()
    });
    Ok(Some(Evaluation {
        metrics,
        predictions,
        probabilities,
        attention,
        features,
    }))
}

fn snapshot(
    req: &AttentionRequest,
    st: &MapStore,
    split: &Split,
    predictions: &[u32],
    probabilities: &[f32],
) -> AttentionSnapshot {
    let (k, n) = (st.k, predictions.len());
    let mut per_class = vec![0f32; k];
    for row in st.mse.chunks(k) {
        for (acc, v) in per_class.iter_mut().zip(row) {
            *acc += v / n.max(1) as f32;
        }
    }
    let mean = per_class.iter().sum::<f32>() / k.max(1) as f32;
    let face_mean = |i: usize| st.mse[i * k..(i + 1) * k].iter().sum::<f32>() / k as f32;
    let mut others: Vec<usize> = (0..n).filter(|i| !req.gallery.contains(i)).collect();
    others.sort_by(|&a, &b| face_mean(b).total_cmp(&face_mean(a)).then(a.cmp(&b)));
    others.truncate(req.least_consistent);
    let plane = k * st.h * st.w;
    let side = split.size;
    let face = |i: usize, source: FaceSource| AttentionFace {
        index: i,
        id: split.ids.get(i).cloned().unwrap_or_default(),
        source,
        label: split.labels[i] as u32,
        prediction: predictions[i],
        probabilities: probabilities[i * k..(i + 1) * k].to_vec(),
        pixels: base64_encode(&split.image(i)[..side * side]),
        maps: encode_f32(&st.maps[i * plane..(i + 1) * plane]),
        flipped_back: encode_f32(&st.flipped_back[i * plane..(i + 1) * plane]),
        consistency: st.mse[i * k..(i + 1) * k].to_vec(),
    };
    let faces = req
        .gallery
        .iter()
        .filter(|&&i| i < n)
        .map(|&i| face(i, FaceSource::Gallery))
        .chain(others.iter().map(|&i| face(i, FaceSource::LeastConsistent)))
        .collect();
    AttentionSnapshot {
        epoch: req.epoch,
        image_size: side,
        map_height: st.h,
        map_width: st.w,
        per_class,
        mean,
        count: n,
        faces,
    }
}
