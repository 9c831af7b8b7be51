//! RUL — relative uncertainty learning (Zhang et al., NeurIPS 2021;
//! zyh-uaiaaaa/Relative-Uncertainty-Learning `src/rul.py`, `src/utils.py`).
//!
//! A branch predicts a log-variance vector per sample; its mean exp is the sample's
//! uncertainty u. Each sample i is paired with a random j of the batch and their features
//! are mixed with the relative uncertainties, f = u_i/(u_i+u_j)·f_i + u_j/(u_i+u_j)·f_j,
//! then classified by the shared head. The official code's "add-up" loss weighs the two
//! labels ½ each (it notes this works as well as the paper's uncertainty weights, which
//! `relative_loss` selects). The official code has no separate total-uncertainty
//! regulariser; the mixing weights are learned through the mixed loss alone, as here.
//! Evaluation uses the plain features (no mixing), as the official test path does.
//!
//! `architecture = "official"` (the default) builds the official network: the features
//! mixed are the 64-d embedding of the model's embedding head (`model::embedding_head`:
//! BatchNorm2d without affine → Dropout(0.4) → the flattened last feature map → Linear →
//! BatchNorm1d), the log-variance comes from a twin head of the same shape kept here, the
//! classifier reads the embedding in training and evaluation alike, and it learns at
//! `classifier_lr_scale` (10) times the optimiser's rate (the official Adam groups: 2e-4
//! for the network, 2e-3 for `fc`). `"pooled"` mixes the pooled backbone features and takes
//! the log-variance from one linear layer, ferlab's earlier reading.

mod settings;

use candle_core::{D, Device, Result, Tensor, Var};
use rand::seq::SliceRandom;

use super::losses::{cross_entropy, nll};
use super::{BatchTensors, Losses, Method, StepContext};
use crate::compute::model::HeadSpec;
use crate::compute::model::embedding_head::EmbeddingHead;
use crate::compute::model::layers::{Collector, Linear};
use crate::compute::model::{FerModel, Mode};
use crate::contract::config::Experiment;
use crate::contract::seed::{self, purpose};
pub use settings::{RulArchitecture, RulConfig};

/// The branch whose output is a sample's log-variance vector.
enum LogVariance {
    /// The official twin of the embedding head.
    Head(EmbeddingHead),
    /// One linear layer on the pooled features.
    Linear(Linear),
}

pub const ENTRY: super::Entry = super::Entry {
    schema: settings::SCHEMA,
    build: |b| {
        let cfg = settings::of(b.exp)?;
        Ok(Box::new(Rul::new(&cfg, b.model, b.device, b.exp.seed)?))
    },
    head,
};

/// The official architecture classifies an embedding head on the flattened feature map.
fn head(exp: &Experiment) -> crate::compute::Result<HeadSpec> {
    let cfg = settings::of(exp)?;
    Ok(match cfg.architecture {
        RulArchitecture::Official => HeadSpec::Embedding {
            dim: cfg.uncertainty_dim,
            dropout: cfg.head_dropout,
        },
        RulArchitecture::Pooled => HeadSpec::Pooled,
    })
}

pub struct Rul {
    cfg: RulConfig,
    log_variance: LogVariance,
}

/// Separates the log-variance head's dropout mask from the embedding head's.
const LOG_VARIANCE_SALT: u64 = 1;

impl Rul {
    pub fn new(cfg: &RulConfig, model: &FerModel, device: &Device, seed: u64) -> Result<Self> {
        let mut rng = seed::rng(seed, &[purpose::METHOD, 2]);
        let log_variance = match (cfg.architecture, &model.embedding) {
            (RulArchitecture::Official, Some(mu)) => LogVariance::Head(EmbeddingHead::new(
                mu.fmap,
                cfg.uncertainty_dim,
                cfg.head_dropout,
                mu.norm_in.kernels,
                &mut rng,
                device,
            )?),
            (RulArchitecture::Official, None) => candle_core::bail!(
                "RUL's official architecture needs the model built with its embedding head \
                 (FerModel::for_experiment)"
            ),
            (RulArchitecture::Pooled, _) => LogVariance::Linear(Linear::new(
                model.feature_dim(),
                cfg.uncertainty_dim,
                &mut rng,
                device,
            )?),
        };
        Ok(Self {
            cfg: cfg.clone(),
            log_variance,
        })
    }

    fn collect(&self) -> Collector {
        let mut c = Collector::default();
        match &self.log_variance {
            LogVariance::Head(h) => h.collect("rul.log_variance", &mut c),
            LogVariance::Linear(l) => l.collect("rul.log_variance", &mut c),
        }
        c
    }
}

/// What mixing a batch with its permutation yields.
pub struct Mixed {
    pub features: Tensor,
    /// Weight of each sample's own features (u_i / (u_i + u_j)), N × 1.
    pub own_weight: Tensor,
}

/// Mixes `features` (N × F) with `features[perm]` by relative uncertainty `u` (N).
pub fn mix_by_uncertainty(features: &Tensor, u: &Tensor, perm: &Tensor) -> Result<Mixed> {
    let u = u.unsqueeze(1)?;
    let u_j = u.index_select(perm, 0)?;
    let own = (&u / (&u + &u_j)?)?;
    let other = (&u_j / (&u + &u_j)?)?;
    let f_j = features.index_select(perm, 0)?;
    let mixed = (features.broadcast_mul(&own)? + f_j.broadcast_mul(&other)?)?;
    Ok(Mixed {
        features: mixed,
        own_weight: own,
    })
}

impl Method for Rul {
    fn loss(
        &mut self,
        model: &FerModel,
        batch: &BatchTensors,
        ctx: &StepContext,
    ) -> Result<Losses> {
        let mode = Mode::Train { seed: ctx.seed };
        let out = model.forward(&batch.views[0], mode)?;
        let n = batch.label_vec.len();
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.shuffle(&mut seed::rng(ctx.seed, &[purpose::METHOD, 2]));
        let perm = Tensor::from_vec(order, n, out.features.device())?;
        let (features, log_variance) = match &self.log_variance {
            // With the official embedding head, `fc` reads the embedding.
            LogVariance::Head(h) => (
                out.head_input.clone(),
                h.forward(&out.fmap, mode, LOG_VARIANCE_SALT)?,
            ),
            LogVariance::Linear(l) => (out.features.clone(), l.forward(&out.features)?),
        };
        let u = log_variance.exp()?.mean(D::Minus1)?;
        let mixed = mix_by_uncertainty(&features, &u, &perm)?;
        let logits = model.fc.forward(&mixed.features)?;
        let y_j = batch.labels.index_select(&perm, 0)?;
        let loss = if self.cfg.relative_loss {
            let own = mixed.own_weight.squeeze(1)?;
            let other = (own.ones_like()? - &own)?;
            ((nll(&logits, &batch.labels)? * own)? + (nll(&logits, &y_j)? * other)?)?.mean_all()?
        } else {
            ((cross_entropy(&logits, &batch.labels, 0.0)? + cross_entropy(&logits, &y_j, 0.0)?)?
                * 0.5)?
        };
        let mean_u = u.mean_all()?.detach();
        Ok(Losses {
            total: loss.clone(),
            terms: vec![("mixed_ce", loss), ("mean_uncertainty", mean_u)],
            logits: out.logits,
        })
    }

    fn extra_params(&self) -> Vec<(String, Var)> {
        self.collect().params
    }

    fn buffers(&self) -> Vec<(String, Var)> {
        self.collect().buffers
    }

    fn lr_scale(&self, name: &str) -> f64 {
        if name.starts_with("fc.") {
            self.cfg.classifier_lr_scale
        } else {
            1.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixing_follows_relative_uncertainty() {
        let dev = Device::Cpu;
        let f = Tensor::new(&[[1f32, 0.0], [0.0, 1.0]], &dev).unwrap();
        let u = Tensor::new(&[3f32, 1.0], &dev).unwrap();
        let perm = Tensor::new(&[1u32, 0], &dev).unwrap();
        let m = mix_by_uncertainty(&f, &u, &perm).unwrap();
        // Sample 0 keeps 3/4 of itself, sample 1 keeps 1/4 of itself.
        assert_eq!(
            m.features.to_vec2::<f32>().unwrap(),
            vec![vec![0.75, 0.25], vec![0.75, 0.25]]
        );
        assert_eq!(
            m.own_weight.to_vec2::<f32>().unwrap(),
            vec![vec![0.75], vec![0.25]]
        );
    }
}
