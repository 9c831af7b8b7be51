//! RUL's official head (zyh-uaiaaaa/Relative-Uncertainty-Learning `src/rul.py`): the last
//! feature map, normalised per channel without a learnt affine, dropped out, flattened,
//! mapped linearly to a small embedding and batch-normalised again:
//! `BatchNorm2d(F, affine=False) → Dropout(p) → Flatten → Linear(F·h·w, d) →
//! BatchNorm1d(d)`, both norms with eps 2e-5. The model's classifier reads the embedding;
//! the head's own dropout replaces `model.dropout`, which only applies to pooled features.
//!
//! In evaluation every step is affine, so each logit is an affine function of the
//! normalised feature map: `z_k = Σ_{c,p} A_{k,c,p}·x̂_{c,p} + b_k`. Its per-cell
//! contributions, scaled by the number of cells, are this head's class activation maps
//! (their mean plus `b_k` is the logit, as for a pooled head's CAM).

use candle_core::{Device, Result, Tensor};
use rand::Rng;

use super::layers::{BatchNorm2d, Collector, Linear, Mode, dropout};
use crate::contract::config::Kernels;

/// Seeds of the head's dropout, apart from the backbone's and from each other.
pub const DROPOUT_SALT: u64 = 0x52_55_4c;

/// The normalisation epsilon of both norms in the official code.
const EPS: f64 = 2e-5;

pub struct EmbeddingHead {
    /// Per-channel normalisation of the feature map; its weight and bias stay 1 and 0.
    pub norm_in: BatchNorm2d,
    pub linear: Linear,
    pub norm_out: BatchNorm2d,
    pub dropout: f32,
    /// Channels, height and width of the feature map it reads.
    pub fmap: (usize, usize, usize),
}

impl EmbeddingHead {
    pub fn new(
        fmap: (usize, usize, usize),
        dim: usize,
        dropout: f32,
        kernels: Kernels,
        rng: &mut impl Rng,
        device: &Device,
    ) -> Result<Self> {
        let (c, h, w) = fmap;
        let mut norm_in = BatchNorm2d::new(c, kernels, device)?;
        norm_in.eps = EPS;
        let mut norm_out = BatchNorm2d::new(dim, kernels, device)?;
        norm_out.eps = EPS;
        Ok(Self {
            norm_in,
            linear: Linear::new(c * h * w, dim, rng, device)?,
            norm_out,
            dropout,
            fmap,
        })
    }

    /// The embedding, N × d. `salt` separates the dropout masks of twin heads.
    pub fn forward(&self, fmap: &Tensor, mode: Mode, salt: u64) -> Result<Tensor> {
        let x = self.norm_in.forward(fmap, mode, false)?.flatten_from(1)?;
        let x = match mode {
            Mode::Train { seed } => dropout(&x, self.dropout, seed ^ DROPOUT_SALT ^ salt)?,
            Mode::Eval => x,
        };
        self.norm_out
            .forward(&self.linear.forward(&x)?, mode, false)
    }

    /// Evaluation-mode class maps through a classifier `fc_weight` (K × d) reading the
    /// embedding: N × K × h × w, `M_k = h·w · Σ_c A_{k,c,·}·x̂_c`.
    pub fn class_maps(&self, fmap: &Tensor, fc_weight: &Tensor) -> Result<Tensor> {
        let (n, c, h, w) = fmap.dims4()?;
        let k = fc_weight.dims2()?.0;
        let hw = h * w;
        let x = self.norm_in.forward(fmap, Mode::Eval, false)?;
        let (scale_out, _) = self.norm_out.folded()?;
        // A = W_fc · diag(s) · L: K × (C·h·w).
        let a = fc_weight
            .broadcast_mul(&scale_out.unsqueeze(0)?)?
            .matmul(self.linear.weight.as_tensor())?;
        // Per cell p: (N × C) · (C × K), batched over the cells.
        let a = a.reshape((k, c, hw))?.permute((2, 1, 0))?.contiguous()?; // hw × C × K
        let x = x.reshape((n, c, hw))?.permute((2, 0, 1))?.contiguous()?; // hw × N × C
        let m = x.matmul(&a)?; // hw × N × K
        (m.permute((1, 2, 0))?.contiguous()? * hw as f64)?.reshape((n, k, h, w))
    }

    pub fn collect(&self, prefix: &str, c: &mut Collector) {
        // Without an affine: the first norm's weight and bias are constants, kept with
        // the running statistics so a checkpoint holds the whole head.
        let p = |name: &str| super::layers::join(prefix, name);
        c.buffer(&p("norm_in"), "weight", &self.norm_in.weight);
        c.buffer(&p("norm_in"), "bias", &self.norm_in.bias);
        c.buffer(&p("norm_in"), "running_mean", &self.norm_in.running_mean);
        c.buffer(&p("norm_in"), "running_var", &self.norm_in.running_var);
        self.linear.collect(&p("linear"), c);
        self.norm_out.collect(&p("norm_out"), c);
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};

    use crate::compute::model::{FerModel, HeadSpec, Mode};
    use crate::contract::config::Experiment;

    const RUL_HEAD: HeadSpec = HeadSpec::Embedding {
        dim: 64,
        dropout: 0.4,
    };

    fn rul_experiment() -> Experiment {
        let mut exp = Experiment::default();
        exp.data.image_size = 24;
        exp.model.width = 4;
        exp
    }

    #[test]
    fn rul_models_classify_the_official_embedding() {
        let exp = rul_experiment();
        let model = FerModel::for_experiment(&exp, RUL_HEAD, 7, &Device::Cpu).unwrap();
        let head = model.embedding.as_ref().expect("an embedding head");
        let (c, h, w) = head.fmap;
        // Linear(F·h·w → 64), classifier 64 → 7; the first norm has no trainable affine.
        assert_eq!(head.linear.weight.dims(), &[64, c * h * w]);
        assert_eq!(model.fc.weight.dims(), &[7, 64]);
        let names: Vec<String> = model.parameters().into_iter().map(|(n, _)| n).collect();
        assert!(names.contains(&"embedding.linear.weight".to_string()));
        assert!(names.contains(&"embedding.norm_out.weight".to_string()));
        assert!(!names.iter().any(|n| n.starts_with("embedding.norm_in")));
        let buffers: Vec<String> = model.named_vars().into_iter().map(|(n, _)| n).collect();
        assert!(buffers.contains(&"embedding.norm_in.running_var".to_string()));
        // The pooled variant keeps the plain head.
        assert!(
            FerModel::for_experiment(&exp, HeadSpec::Pooled, 7, &Device::Cpu)
                .unwrap()
                .embedding
                .is_none()
        );
    }

    #[test]
    fn its_class_maps_decompose_the_logits_cell_by_cell() {
        let exp = rul_experiment();
        let model = FerModel::for_experiment(&exp, RUL_HEAD, 7, &Device::Cpu).unwrap();
        let x = Tensor::randn(0f32, 1.0, (3, 1, 24, 24), &Device::Cpu).unwrap();
        // Move the running statistics off their start so the check is not trivial.
        for seed in 0..3 {
            model.forward(&x, Mode::Train { seed }).unwrap();
        }
        let out = model.forward(&x, Mode::Eval).unwrap();
        let maps = model.class_maps(&out.fmap).unwrap();
        assert_eq!(maps.dims()[..2], [3, 7]);
        // mean(M_k) + b_k = logit_k, with b_k the logit of an all-mean feature map:
        // every logit minus the map mean is the same per class across faces.
        let offset = (&out.logits - maps.mean((2, 3)).unwrap()).unwrap();
        let rows = offset.to_vec2::<f32>().unwrap();
        for k in 0..7 {
            for row in &rows[1..] {
                assert!((row[k] - rows[0][k]).abs() < 1e-3, "{rows:?}");
            }
        }
    }
}
