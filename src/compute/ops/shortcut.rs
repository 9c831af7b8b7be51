//! The face ResNet's down-block shortcut as one graph node: `relu(pad(h) + pad(pool(x)))`,
//! where `pool` is 2×2 average pooling (or nothing), `h` (the residual branch) is padded with
//! zeros at the bottom and right to the pooled map's size and the pooled input with zero
//! channels to `h`'s channels. From candle's operations this was eleven nodes (two narrows,
//! a copy, two sums, a scale, three pads, the add and ReLU), each with its own zeroed
//! gradient in the backward.

use std::mem::MaybeUninit;

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};

use super::buffer::par_filled;
use super::kernels::relu_f32;
use super::storage::{as_cpu_f32, cpu_f32, tensor_from_vec};

/// Shapes of one shortcut: `h` is N × C × HH × HW, `x` is N × CIN × H × W, the output
/// N × C × OH × OW with (OH, OW) = (H / 2, W / 2) when pooling, (H, W) otherwise.
#[derive(Debug, Clone, Copy)]
struct Geom {
    n: usize,
    c: usize,
    hh: usize,
    hw: usize,
    cin: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
    halves: bool,
}

impl Geom {
    fn new(h: &[usize], x: &[usize], halves: bool) -> Result<Self> {
        let (&[n, c, hh, hw], &[xn, cin, xh, xw]) = (h, x) else {
            candle_core::bail!("down shortcut expects 4-d tensors, got {h:?} and {x:?}");
        };
        let (oh, ow) = if halves { (xh / 2, xw / 2) } else { (xh, xw) };
        if xn != n || cin > c || hh > oh || hw > ow {
            candle_core::bail!(
                "down shortcut: branch {h:?} does not fit the {} input {x:?}",
                if halves { "pooled" } else { "unpooled" }
            );
        }
        Ok(Self {
            n,
            c,
            hh,
            hw,
            cin,
            h: xh,
            w: xw,
            oh,
            ow,
            halves,
        })
    }

    fn plane(&self) -> usize {
        self.oh * self.ow
    }
}

/// One output plane (image `img`, channel `ch`) of `relu(pad(h) + pad(pool(x)))`.
fn forward_plane(
    g: &Geom,
    img: usize,
    ch: usize,
    h: &[f32],
    x: &[f32],
    o: &mut [MaybeUninit<f32>],
) {
    let branch = &h[(img * g.c + ch) * g.hh * g.hw..][..g.hh * g.hw];
    let input = (ch < g.cin).then(|| &x[(img * g.cin + ch) * g.h * g.w..][..g.h * g.w]);
    for y in 0..g.oh {
        for xx in 0..g.ow {
            let b = if y < g.hh && xx < g.hw {
                branch[y * g.hw + xx]
            } else {
                0.0
            };
            let s = match input {
                None => 0.0,
                Some(p) if g.halves => {
                    let (r0, r1) = (2 * y * g.w + 2 * xx, (2 * y + 1) * g.w + 2 * xx);
                    // candle's order: the pairs along a row, then the two rows, then × 0.25.
                    ((p[r0] + p[r0 + 1]) + (p[r1] + p[r1 + 1])) * 0.25
                }
                Some(p) => p[y * g.w + xx],
            };
            o[y * g.ow + xx].write(relu_f32(b + s));
        }
    }
}

/// `relu(pad(h) + pad(avg_pool_2x2(x)))` (without the pooling when `halves` is false).
pub struct DownShortcutOp {
    pub halves: bool,
}

impl CustomOp2 for DownShortcutOp {
    fn name(&self) -> &'static str {
        "ferlab-down-shortcut"
    }

    fn cpu_fwd(
        &self,
        sh: &CpuStorage,
        lh: &Layout,
        sx: &CpuStorage,
        lx: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = Geom::new(lh.dims(), lx.dims(), self.halves)?;
        let (h, x) = (cpu_f32(sh, lh)?, cpu_f32(sx, lx)?);
        let fill = |plane: usize, o: &mut [MaybeUninit<f32>]| {
            forward_plane(&g, plane / g.c, plane % g.c, h, x, o);
        };
        // SAFETY: `forward_plane` writes every element of its plane.
        let out = unsafe { par_filled(g.n * g.c * g.plane(), g.plane().max(1), fill) };
        Ok((CpuStorage::F32(out), Shape::from((g.n, g.c, g.oh, g.ow))))
    }

    fn bwd(
        &self,
        h: &Tensor,
        x: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let g = Geom::new(h.dims(), x.dims(), self.halves)?;
        let grad = grad.contiguous()?;
        let (ys, yl) = res.storage_and_layout();
        let (gs, gl) = grad.storage_and_layout();
        let (y, dy) = (as_cpu_f32(&ys, yl)?, as_cpu_f32(&gs, gl)?);
        let p = g.plane();
        // ReLU's gradient at output index i (its mask read from the output).
        let act = |i: usize| if y[i] > 0.0 { dy[i] } else { 0.0 };
        let dh = h.track_op().then(|| {
            let fill = |plane: usize, o: &mut [MaybeUninit<f32>]| {
                for yy in 0..g.hh {
                    for xx in 0..g.hw {
                        o[yy * g.hw + xx].write(act(plane * p + yy * g.ow + xx));
                    }
                }
            };
            // SAFETY: each plane of `h` (HH × HW) is written in full.
            unsafe { par_filled(g.n * g.c * g.hh * g.hw, (g.hh * g.hw).max(1), fill) }
        });
        let dx = x.track_op().then(|| {
            let fill = |plane: usize, o: &mut [MaybeUninit<f32>]| {
                let (img, ch) = (plane / g.cin, plane % g.cin);
                let out = (img * g.c + ch) * p;
                for iy in 0..g.h {
                    for ix in 0..g.w {
                        let v = if !g.halves {
                            act(out + iy * g.ow + ix)
                        } else if iy / 2 < g.oh && ix / 2 < g.ow {
                            // The average's gradient, as candle's scale gives it.
                            act(out + (iy / 2) * g.ow + ix / 2) * 0.25
                        } else {
                            // The last row or column of an odd map is not pooled.
                            0.0
                        };
                        o[iy * g.w + ix].write(v);
                    }
                }
            };
            // SAFETY: each plane of `x` (H × W) is written in full.
            unsafe { par_filled(g.n * g.cin * g.h * g.w, (g.h * g.w).max(1), fill) }
        });
        Ok((
            dh.map(|v| tensor_from_vec(v, h.dims(), h.device()))
                .transpose()?,
            dx.map(|v| tensor_from_vec(v, x.dims(), x.device()))
                .transpose()?,
        ))
    }
}
