//! Batch normalisation (training mode) fused with an optional ReLU, a per-channel affine
//! (evaluation mode), ReLU, and a residual add + ReLU, as candle custom ops with backward
//! passes. The loops live in `kernels`.

use std::sync::{Arc, Mutex};

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Result, Shape, Tensor};

use super::kernels::{self, AffineBackward};
use super::storage::{as_cpu_f32, cpu_f32, tensor_from_vec};

/// (N, C, HW) of an NCHW (or NC) tensor.
pub fn nc_hw(dims: &[usize]) -> Result<(usize, usize, usize)> {
    match dims {
        [n, c] => Ok((*n, *c, 1)),
        [n, c, rest @ ..] => Ok((*n, *c, rest.iter().product())),
        _ => candle_core::bail!("batch norm expects at least 2 dims, got {dims:?}"),
    }
}

/// Batch statistics of a training-mode forward pass.
#[derive(Debug, Clone, Default)]
pub struct BatchStats {
    pub mean: Vec<f32>,
    /// Biased variance (used to normalise).
    pub var: Vec<f32>,
    /// Elements per channel (N · H · W), for the unbiased running variance.
    pub count: usize,
}

impl BatchStats {
    /// Statistics of `z` (`n × c × hw`).
    pub fn of(z: &[f32], n: usize, c: usize, hw: usize) -> Self {
        let m = (n * hw) as f64;
        let sums = kernels::channel_dot_sums(z, z, n, c, hw);
        Self {
            mean: sums.iter().map(|s| (s.0 / m) as f32).collect(),
            var: sums
                .iter()
                .map(|s| {
                    // Clamped at 0 against round-off; a NaN stays NaN.
                    let v = (s.1 / m) - (s.0 / m).powi(2);
                    (if v < 0.0 { 0.0 } else { v }) as f32
                })
                .collect(),
            count: n * hw,
        }
    }

    pub fn invstd(&self, eps: f64) -> Vec<f32> {
        self.var
            .iter()
            .map(|&v| (1.0 / (v as f64 + eps).sqrt()) as f32)
            .collect()
    }

    /// The normalisation as y = z · scale + shift.
    pub fn affine(&self, gamma: &[f32], beta: &[f32], eps: f64) -> (Vec<f32>, Vec<f32>) {
        let invstd = self.invstd(eps);
        let scale: Vec<f32> = gamma.iter().zip(&invstd).map(|(g, i)| g * i).collect();
        let shift = (0..scale.len())
            .map(|c| beta[c] - self.mean[c] * scale[c])
            .collect();
        (scale, shift)
    }
}

/// Training-mode batch norm `(x - mean) / sqrt(var + eps) · gamma + beta`, then ReLU if set.
pub struct BatchNormOp {
    pub eps: f64,
    pub relu: bool,
    pub stats: Arc<Mutex<BatchStats>>,
}

impl CustomOp3 for BatchNormOp {
    fn name(&self) -> &'static str {
        "ferlab-batch-norm"
    }

    fn cpu_fwd(
        &self,
        sx: &CpuStorage,
        lx: &Layout,
        sg: &CpuStorage,
        lg: &Layout,
        sb: &CpuStorage,
        lb: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (n, c, hw) = nc_hw(lx.dims())?;
        let x = cpu_f32(sx, lx)?;
        let stats = BatchStats::of(x, n, c, hw);
        let (scale, shift) = stats.affine(cpu_f32(sg, lg)?, cpu_f32(sb, lb)?, self.eps);
        let y = kernels::affine_planes(x, &scale, &shift, c, hw, self.relu);
        *self.stats.lock().expect("stats lock") = stats;
        Ok((CpuStorage::F32(y), lx.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        beta: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (n, c, hw) = nc_hw(x.dims())?;
        let grad = grad.contiguous()?;
        let (xs, xl) = x.storage_and_layout();
        let (gms, gml) = gamma.storage_and_layout();
        let (bts, btl) = beta.storage_and_layout();
        let (gs, gl) = grad.storage_and_layout();
        let gm = as_cpu_f32(&gms, gml)?;
        let stats = self.stats.lock().expect("stats lock").clone();
        let invstd = stats.invstd(self.eps);
        let (scale, shift) = stats.affine(gm, as_cpu_f32(&bts, btl)?, self.eps);
        let grads = AffineBackward {
            g: as_cpu_f32(&gs, gl)?,
            z: as_cpu_f32(&xs, xl)?,
            dims: (n, c, hw),
            scale: &scale,
            shift: &shift,
            relu: self.relu,
            batch: Some((gm, &stats.mean, &invstd)),
        }
        .run(x.track_op());
        Ok((
            grads
                .dz
                .map(|v| tensor_from_vec(v, x.dims(), x.device()))
                .transpose()?,
            Some(tensor_from_vec(grads.first, &[c], x.device())?),
            Some(tensor_from_vec(grads.second, &[c], x.device())?),
        ))
    }
}

/// Per-channel affine `x · scale + shift`, then ReLU if set (evaluation-mode BN, folded).
pub struct AffineOp {
    pub relu: bool,
}

impl CustomOp3 for AffineOp {
    fn name(&self) -> &'static str {
        "ferlab-channel-affine"
    }

    fn cpu_fwd(
        &self,
        sx: &CpuStorage,
        lx: &Layout,
        ss: &CpuStorage,
        ls: &Layout,
        sb: &CpuStorage,
        lb: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (_, c, hw) = nc_hw(lx.dims())?;
        let y = kernels::affine_planes(
            cpu_f32(sx, lx)?,
            cpu_f32(ss, ls)?,
            cpu_f32(sb, lb)?,
            c,
            hw,
            self.relu,
        );
        Ok((CpuStorage::F32(y), lx.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        scale: &Tensor,
        shift: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (n, c, hw) = nc_hw(x.dims())?;
        let grad = grad.contiguous()?;
        let (xs, xl) = x.storage_and_layout();
        let (ss, sl) = scale.storage_and_layout();
        let (hs, hl) = shift.storage_and_layout();
        let (gs, gl) = grad.storage_and_layout();
        let grads = AffineBackward {
            g: as_cpu_f32(&gs, gl)?,
            z: as_cpu_f32(&xs, xl)?,
            dims: (n, c, hw),
            scale: as_cpu_f32(&ss, sl)?,
            shift: as_cpu_f32(&hs, hl)?,
            relu: self.relu,
            batch: None,
        }
        .run(x.track_op());
        Ok((
            grads
                .dz
                .map(|v| tensor_from_vec(v, x.dims(), x.device()))
                .transpose()?,
            Some(tensor_from_vec(grads.first, &[c], x.device())?),
            Some(tensor_from_vec(grads.second, &[c], x.device())?),
        ))
    }
}

/// `relu(a + b)` (a residual connection), whose backward sends the masked gradient to both.
pub struct AddReluOp;

impl CustomOp2 for AddReluOp {
    fn name(&self) -> &'static str {
        "ferlab-add-relu"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (a, b) = (cpu_f32(s1, l1)?, cpu_f32(s2, l2)?);
        if a.len() != b.len() {
            candle_core::bail!(
                "add + relu: operands of {} and {} elements",
                a.len(),
                b.len()
            );
        }
        Ok((CpuStorage::F32(kernels::add_relu(a, b)), l1.shape().clone()))
    }

    fn bwd(
        &self,
        a: &Tensor,
        b: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let (ys, yl) = res.storage_and_layout();
        let (gs, gl) = grad.storage_and_layout();
        let g = kernels::relu_grad(as_cpu_f32(&gs, gl)?, as_cpu_f32(&ys, yl)?);
        let g = tensor_from_vec(g, a.dims(), a.device())?;
        Ok((a.track_op().then(|| g.clone()), b.track_op().then_some(g)))
    }
}

/// ReLU whose backward is a single masked copy.
pub struct ReluOp;

impl CustomOp1 for ReluOp {
    fn name(&self) -> &'static str {
        "ferlab-relu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        Ok((
            CpuStorage::F32(kernels::relu(cpu_f32(s, l)?)),
            l.shape().clone(),
        ))
    }

    fn bwd(&self, x: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let grad = grad.contiguous()?;
        let (ys, yl) = res.storage_and_layout();
        let (gs, gl) = grad.storage_and_layout();
        let dx = kernels::relu_grad(as_cpu_f32(&gs, gl)?, as_cpu_f32(&ys, yl)?);
        Ok(Some(tensor_from_vec(dx, x.dims(), x.device())?))
    }
}
