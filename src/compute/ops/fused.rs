//! Training-mode convolution → batch norm → ReLU → max pooling as one graph node, and
//! convolution → fixed-scale affine → ReLU (the face ResNet's blocks) as another.
//!
//! candle's backward allocates a zeroed gradient and adds into it for every tensor in the
//! graph; a block of three ops costs three of those passes over activation-sized memory.
//! Fused, the conv output and the pre-pool activation stay inside the op (the conv output is
//! kept for the backward, the activation is recomputed from it), so a block is one node.

use std::sync::{Arc, Mutex};

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::batchnorm::BatchStats;
use super::buffer::{PLANE, with_scratch};
use super::conv::{self, ConvGeom, Epilogue};
use super::kernels::{self, AffineBackward};
use super::pool::{self, PoolGeom};
use super::storage::{as_cpu_f32, cpu_f32, tensor_from_vec};

/// Max pooling after the activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSpec {
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
}

#[derive(Default)]
struct Saved {
    /// The convolution's output (N × OC × OH × OW).
    z: Vec<f32>,
    /// Winning index within its plane of each pooled output.
    argmax: Vec<u32>,
}

/// `pool(relu(bn(conv(x, w))))` with batch statistics; inputs x, w and [γ; β] (2 × OC).
pub struct ConvBnOp {
    pub stride: usize,
    pub pad: usize,
    pub eps: f64,
    pub relu: bool,
    pub pool: Option<PoolSpec>,
    pub stats: Arc<Mutex<BatchStats>>,
    saved: Mutex<Saved>,
}

impl ConvBnOp {
    pub fn new(
        stride: usize,
        pad: usize,
        eps: f64,
        relu: bool,
        pool: Option<PoolSpec>,
        stats: Arc<Mutex<BatchStats>>,
    ) -> Self {
        Self {
            stride,
            pad,
            eps,
            relu,
            pool,
            stats,
            saved: Mutex::default(),
        }
    }

    fn pool_geom(&self, g: &ConvGeom) -> Result<Option<PoolGeom>> {
        self.pool
            .map(|p| PoolGeom::new(&[g.n, g.oc, g.oh, g.ow], p.k, p.stride, p.pad))
            .transpose()
    }
}

impl CustomOp3 for ConvBnOp {
    fn name(&self) -> &'static str {
        "ferlab-conv-bn-relu-pool"
    }

    fn cpu_fwd(
        &self,
        sx: &CpuStorage,
        lx: &Layout,
        sw: &CpuStorage,
        lw: &Layout,
        sgb: &CpuStorage,
        lgb: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = ConvGeom::new(lx.dims(), lw.dims(), self.stride, self.pad)?;
        let gb = cpu_f32(sgb, lgb)?;
        if gb.len() != 2 * g.oc {
            candle_core::bail!(
                "conv + bn: expected {} γ/β values, got {}",
                2 * g.oc,
                gb.len()
            );
        }
        let (gamma, beta) = gb.split_at(g.oc);
        let p = g.p();
        let z = conv::forward(&g, cpu_f32(sx, lx)?, cpu_f32(sw, lw)?);
        let stats = BatchStats::of(&z, g.n, g.oc, p);
        let (scale, shift) = stats.affine(gamma, beta, self.eps);
        let (out, argmax, shape) = match self.pool_geom(&g)? {
            None => (
                kernels::affine_planes(&z, &scale, &shift, g.oc, p, self.relu),
                Vec::new(),
                Shape::from((g.n, g.oc, g.oh, g.ow)),
            ),
            Some(pg) => {
                let ohw = pg.oh * pg.ow;
                let mut out = vec![0.0f32; pg.planes * ohw];
                let mut arg = vec![0u32; pg.planes * ohw];
                out.par_chunks_mut(ohw)
                    .zip(arg.par_chunks_mut(ohw))
                    .enumerate()
                    .for_each(|(plane, (o, a))| {
                        let ch = plane % g.oc;
                        with_scratch(&PLANE, p, |y| {
                            kernels::affine_plane(
                                y,
                                &z[plane * p..(plane + 1) * p],
                                scale[ch],
                                shift[ch],
                                self.relu,
                            );
                            pool::pool_plane(&pg, y, o, a);
                        });
                    });
                (out, arg, Shape::from((g.n, g.oc, pg.oh, pg.ow)))
            }
        };
        *self.stats.lock().expect("stats lock") = stats;
        *self.saved.lock().expect("saved lock") = Saved { z, argmax };
        Ok((CpuStorage::F32(out), shape))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        gb: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let g = ConvGeom::new(x.dims(), w.dims(), self.stride, self.pad)?;
        let grad = grad.contiguous()?;
        let (xs, xl) = x.storage_and_layout();
        let (ws, wl) = w.storage_and_layout();
        let (gbs, gbl) = gb.storage_and_layout();
        let (gs, gl) = grad.storage_and_layout();
        let (gamma, beta) = as_cpu_f32(&gbs, gbl)?.split_at(g.oc);
        let dy = as_cpu_f32(&gs, gl)?;
        let saved = self.saved.lock().expect("saved lock");
        let stats = self.stats.lock().expect("stats lock").clone();
        let unpooled;
        let g_act: &[f32] = match self.pool_geom(&g)? {
            Some(pg) => {
                unpooled = pool::backward(&pg, &saved.argmax, dy);
                &unpooled
            }
            None => dy,
        };
        let (scale, shift) = stats.affine(gamma, beta, self.eps);
        let invstd = stats.invstd(self.eps);
        let bn = AffineBackward {
            g: g_act,
            z: &saved.z,
            dims: (g.n, g.oc, g.p()),
            scale: &scale,
            shift: &shift,
            relu: self.relu,
            batch: Some((gamma, &stats.mean, &invstd)),
        }
        .run(true);
        let dz = bn.dz.expect("asked for dz");
        let (dx, dw) = conv::backward(
            &g,
            as_cpu_f32(&xs, xl)?,
            as_cpu_f32(&ws, wl)?,
            &dz,
            x.track_op(),
        );
        let mut dgb = bn.first;
        dgb.extend(bn.second);
        Ok((
            dx.map(|v| tensor_from_vec(v, x.dims(), x.device()))
                .transpose()?,
            Some(tensor_from_vec(dw, w.dims(), w.device())?),
            Some(tensor_from_vec(dgb, &[2 * g.oc], gb.device())?),
        ))
    }
}

/// `relu(conv(x, w) · scale + shift)` (ReLU optional); inputs x, w and [scale; shift]
/// (2 × OC): evaluation-mode batch norm folded into the convolution, and in training the
/// face ResNet's folded scale layers. The affine runs in the product's write-out. The
/// backward needs only the output (ReLU's mask) and its gradient, so nothing is kept; it
/// treats the scale as a constant and gives it no gradient, so `ops::conv2d_affine_train`
/// uses it only for an untracked scale.
pub struct ConvAffineOp {
    pub stride: usize,
    pub pad: usize,
    pub relu: bool,
}

impl ConvAffineOp {
    fn scale_shift<'a>(&self, ss: &'a [f32], oc: usize) -> Result<(&'a [f32], &'a [f32])> {
        if ss.len() != 2 * oc {
            candle_core::bail!(
                "conv + affine: expected {} scale/shift values, got {}",
                2 * oc,
                ss.len()
            );
        }
        Ok(ss.split_at(oc))
    }
}

impl CustomOp3 for ConvAffineOp {
    fn name(&self) -> &'static str {
        "ferlab-conv-affine-relu"
    }

    fn cpu_fwd(
        &self,
        sx: &CpuStorage,
        lx: &Layout,
        sw: &CpuStorage,
        lw: &Layout,
        sss: &CpuStorage,
        lss: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = ConvGeom::new(lx.dims(), lw.dims(), self.stride, self.pad)?;
        let (scale, shift) = self.scale_shift(cpu_f32(sss, lss)?, g.oc)?;
        let epilogue = Epilogue::Affine {
            scale,
            shift,
            relu: self.relu,
        };
        let y = conv::forward_with(&g, cpu_f32(sx, lx)?, cpu_f32(sw, lw)?, epilogue);
        Ok((CpuStorage::F32(y), Shape::from((g.n, g.oc, g.oh, g.ow))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        ss: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let g = ConvGeom::new(x.dims(), w.dims(), self.stride, self.pad)?;
        let grad = grad.contiguous()?;
        let (xs, xl) = x.storage_and_layout();
        let (ws, wl) = w.storage_and_layout();
        let (sss, ssl) = ss.storage_and_layout();
        let (ys, yl) = res.storage_and_layout();
        let (gs, gl) = grad.storage_and_layout();
        let (scale, _) = self.scale_shift(as_cpu_f32(&sss, ssl)?, g.oc)?;
        let y = self.relu.then(|| as_cpu_f32(&ys, yl)).transpose()?;
        let (dz, dshift) =
            kernels::affine_grads_from_output(as_cpu_f32(&gs, gl)?, y, scale, g.oc, g.p());
        let (dx, dw) = conv::backward(
            &g,
            as_cpu_f32(&xs, xl)?,
            as_cpu_f32(&ws, wl)?,
            &dz,
            x.track_op(),
        );
        // The scale is a constant (see the type's doc): its half of the gradient is zero.
        let mut dss = vec![0.0f32; g.oc];
        dss.extend(dshift);
        Ok((
            dx.map(|v| tensor_from_vec(v, x.dims(), x.device()))
                .transpose()?,
            Some(tensor_from_vec(dw, w.dims(), w.device())?),
            Some(tensor_from_vec(dss, &[2 * g.oc], ss.device())?),
        ))
    }
}
