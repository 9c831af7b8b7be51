//! Batch normalisation (training mode) fused with an optional ReLU, a per-channel affine
//! (evaluation mode, BN folded), and ReLU, as candle custom ops with backward passes.
//!
//! Per-channel sums run sequentially inside a channel (channels in parallel), so results do
//! not depend on the number of threads.

use std::sync::{Arc, Mutex};

use candle_core::{CpuStorage, CustomOp1, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::storage::{as_cpu_f32, cpu_f32, tensor_from_vec};

/// (N, C, HW) of an NCHW (or NC) tensor.
fn nc_hw(dims: &[usize]) -> Result<(usize, usize, usize)> {
    match dims {
        [n, c] => Ok((*n, *c, 1)),
        [n, c, rest @ ..] => Ok((*n, *c, rest.iter().product())),
        _ => candle_core::bail!("batch norm expects at least 2 dims, got {dims:?}"),
    }
}

/// Per-channel sums of `f(channel, i)` over every element of channel c, in a fixed order.
fn channel_sums<const K: usize>(
    n: usize,
    c: usize,
    hw: usize,
    f: impl Fn(usize, usize) -> [f64; K] + Sync,
) -> Vec<[f64; K]> {
    (0..c)
        .into_par_iter()
        .map(|ch| {
            let mut acc = [0.0f64; K];
            for b in 0..n {
                let base = (b * c + ch) * hw;
                let mut part = [0.0f64; K];
                for i in base..base + hw {
                    let v = f(ch, i);
                    for k in 0..K {
                        part[k] += v[k];
                    }
                }
                for k in 0..K {
                    acc[k] += part[k];
                }
            }
            acc
        })
        .collect()
}

/// Applies `f(channel, index)` to every element, planes in parallel.
fn map_planes(out: &mut [f32], c: usize, hw: usize, f: impl Fn(usize, usize) -> f32 + Sync) {
    out.par_chunks_mut(hw).enumerate().for_each(|(plane, o)| {
        let ch = plane % c;
        let base = plane * hw;
        for (j, v) in o.iter_mut().enumerate() {
            *v = f(ch, base + j);
        }
    });
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
        let gamma = cpu_f32(sg, lg)?;
        let beta = cpu_f32(sb, lb)?;
        let m = (n * hw) as f64;
        let sums = channel_sums(n, c, hw, |_, i| {
            let v = x[i] as f64;
            [v, v * v]
        });
        let mean: Vec<f32> = sums.iter().map(|s| (s[0] / m) as f32).collect();
        let var: Vec<f32> = sums
            .iter()
            .map(|s| ((s[1] / m) - (s[0] / m).powi(2)).max(0.0) as f32)
            .collect();
        let scale: Vec<f32> = (0..c)
            .map(|ch| gamma[ch] / ((var[ch] as f64 + self.eps).sqrt() as f32))
            .collect();
        let shift: Vec<f32> = (0..c).map(|ch| beta[ch] - mean[ch] * scale[ch]).collect();
        let mut y = vec![0.0f32; x.len()];
        let relu = self.relu;
        map_planes(&mut y, c, hw, |ch, i| {
            let v = x[i] * scale[ch] + shift[ch];
            if relu { v.max(0.0) } else { v }
        });
        *self.stats.lock().expect("stats lock") = BatchStats {
            mean,
            var,
            count: n * hw,
        };
        Ok((CpuStorage::F32(y), lx.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        _beta: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (n, c, hw) = nc_hw(x.dims())?;
        let grad = grad.contiguous()?;
        let (xs, xl) = x.storage_and_layout();
        let (gms, gml) = gamma.storage_and_layout();
        let (ys, yl) = res.storage_and_layout();
        let (gs, gl) = grad.storage_and_layout();
        let xv = as_cpu_f32(&xs, xl)?;
        let gm = as_cpu_f32(&gms, gml)?;
        let y = as_cpu_f32(&ys, yl)?;
        let dy = as_cpu_f32(&gs, gl)?;
        let stats = self.stats.lock().expect("stats lock").clone();
        let invstd: Vec<f32> = stats
            .var
            .iter()
            .map(|&v| (1.0 / (v as f64 + self.eps).sqrt()) as f32)
            .collect();
        let relu = self.relu;
        let g_at = |i: usize| if relu && y[i] <= 0.0 { 0.0 } else { dy[i] };
        let sums = channel_sums(n, c, hw, |ch, i| {
            let g = g_at(i) as f64;
            let xhat = ((xv[i] - stats.mean[ch]) * invstd[ch]) as f64;
            [g, g * xhat]
        });
        let m = (n * hw) as f32;
        let dbeta: Vec<f32> = sums.iter().map(|s| s[0] as f32).collect();
        let dgamma: Vec<f32> = sums.iter().map(|s| s[1] as f32).collect();
        let dx = if x.track_op() {
            let mut dx = vec![0.0f32; xv.len()];
            map_planes(&mut dx, c, hw, |ch, i| {
                let xhat = (xv[i] - stats.mean[ch]) * invstd[ch];
                gm[ch] * invstd[ch] / m * (m * g_at(i) - dbeta[ch] - xhat * dgamma[ch])
            });
            Some(tensor_from_vec(dx, x.dims(), x.device())?)
        } else {
            None
        };
        Ok((
            dx,
            Some(tensor_from_vec(dgamma, &[c], x.device())?),
            Some(tensor_from_vec(dbeta, &[c], x.device())?),
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
        let x = cpu_f32(sx, lx)?;
        let scale = cpu_f32(ss, ls)?;
        let shift = cpu_f32(sb, lb)?;
        let mut y = vec![0.0f32; x.len()];
        let relu = self.relu;
        map_planes(&mut y, c, hw, |ch, i| {
            let v = x[i] * scale[ch] + shift[ch];
            if relu { v.max(0.0) } else { v }
        });
        Ok((CpuStorage::F32(y), lx.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        scale: &Tensor,
        _shift: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (n, c, hw) = nc_hw(x.dims())?;
        let grad = grad.contiguous()?;
        let (xs, xl) = x.storage_and_layout();
        let (ss, sl) = scale.storage_and_layout();
        let (ys, yl) = res.storage_and_layout();
        let (gs, gl) = grad.storage_and_layout();
        let xv = as_cpu_f32(&xs, xl)?;
        let sc = as_cpu_f32(&ss, sl)?;
        let y = as_cpu_f32(&ys, yl)?;
        let dy = as_cpu_f32(&gs, gl)?;
        let relu = self.relu;
        let g_at = |i: usize| if relu && y[i] <= 0.0 { 0.0 } else { dy[i] };
        let sums = channel_sums(n, c, hw, |_, i| {
            let g = g_at(i) as f64;
            [g * xv[i] as f64, g]
        });
        let dx = if x.track_op() {
            let mut dx = vec![0.0f32; xv.len()];
            map_planes(&mut dx, c, hw, |ch, i| g_at(i) * sc[ch]);
            Some(tensor_from_vec(dx, x.dims(), x.device())?)
        } else {
            None
        };
        let dscale: Vec<f32> = sums.iter().map(|s| s[0] as f32).collect();
        let dshift: Vec<f32> = sums.iter().map(|s| s[1] as f32).collect();
        Ok((
            dx,
            Some(tensor_from_vec(dscale, &[c], x.device())?),
            Some(tensor_from_vec(dshift, &[c], x.device())?),
        ))
    }
}

/// ReLU whose backward is a single masked copy.
pub struct ReluOp;

impl CustomOp1 for ReluOp {
    fn name(&self) -> &'static str {
        "ferlab-relu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = cpu_f32(s, l)?;
        let mut y = vec![0.0f32; x.len()];
        y.par_chunks_mut(1 << 14)
            .zip(x.par_chunks(1 << 14))
            .for_each(|(o, i)| {
                for (a, b) in o.iter_mut().zip(i) {
                    *a = b.max(0.0);
                }
            });
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let grad = grad.contiguous()?;
        let (ys, yl) = res.storage_and_layout();
        let (gs, gl) = grad.storage_and_layout();
        let y = as_cpu_f32(&ys, yl)?;
        let dy = as_cpu_f32(&gs, gl)?;
        let mut dx = vec![0.0f32; y.len()];
        dx.par_chunks_mut(1 << 14)
            .enumerate()
            .for_each(|(k, o)| {
                let base = k << 14;
                for (j, v) in o.iter_mut().enumerate() {
                    *v = if y[base + j] > 0.0 { dy[base + j] } else { 0.0 };
                }
            });
        Ok(Some(tensor_from_vec(dx, x.dims(), x.device())?))
    }
}
