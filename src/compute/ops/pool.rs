//! Max pooling with any kernel, stride and padding, with its backward (candle 0.11 has none
//! when kernel != stride, which ResNet's 3×3/2 stem pool needs).

use std::sync::{Arc, Mutex};

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::buffer::{PHASES, with_scratch};
use super::conv::split_phases;
use super::storage::{as_cpu_f32, cpu_f32, tensor_from_vec};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolGeom {
    pub planes: usize,
    pub h: usize,
    pub w: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
    pub oh: usize,
    pub ow: usize,
}

impl PoolGeom {
    pub fn new(dims: &[usize], k: usize, stride: usize, pad: usize) -> Result<Self> {
        let &[n, c, h, w] = dims else {
            candle_core::bail!("max_pool2d expects a 4-d input, got {dims:?}");
        };
        if k == 0 || stride == 0 || pad >= k || h + 2 * pad < k || w + 2 * pad < k {
            candle_core::bail!(
                "max_pool2d: kernel {k}, stride {stride}, padding {pad} do not fit {h}x{w}"
            );
        }
        Ok(Self {
            planes: n * c,
            h,
            w,
            k,
            stride,
            pad,
            oh: (h + 2 * pad - k) / stride + 1,
            ow: (w + 2 * pad - k) / stride + 1,
        })
    }
}

/// Forward pass: the maxima and, per output, the index of the winning input in its plane.
pub fn forward(g: &PoolGeom, x: &[f32]) -> (Vec<f32>, Vec<u32>) {
    let (hw, ohw) = (g.h * g.w, g.oh * g.ow);
    // Both buffers are written in full below; zeroing them first is the cheaper, simpler
    // choice for the u32 indices, and the f32 maxima share their layout.
    let mut out = vec![0.0f32; g.planes * ohw];
    let mut arg = vec![0u32; g.planes * ohw];
    out.par_chunks_mut(ohw)
        .zip(arg.par_chunks_mut(ohw))
        .enumerate()
        .for_each(|(pi, (o, a))| {
            pool_plane(g, &x[pi * hw..(pi + 1) * hw], o, a);
        });
    (out, arg)
}

/// Pools one plane into `o`, recording each winner's index within the plane in `a`.
pub fn pool_plane(g: &PoolGeom, plane: &[f32], o: &mut [f32], a: &mut [u32]) {
    if g.k == 2 && g.stride == 2 && g.pad == 0 {
        pool_2x2(g, plane, o, a);
    } else {
        pool_rows(g, plane, o, a);
    }
}

/// Adds each output gradient of one plane to its winning input (`d` must start at zero).
pub fn unpool_plane(arg: &[u32], dy: &[f32], d: &mut [f32]) {
    for (&i, &v) in arg.iter().zip(dy) {
        d[i as usize] += v;
    }
}

/// Whether `v` takes the maximum from `best`: larger, or NaN (PyTorch's rule, so a NaN
/// input gives a NaN output instead of vanishing).
#[inline]
fn wins(v: f32, best: f32) -> bool {
    v > best || v.is_nan()
}

/// The 2×2 / stride 2 case.
fn pool_2x2(g: &PoolGeom, plane: &[f32], o: &mut [f32], a: &mut [u32]) {
    for oy in 0..g.oh {
        let (r0, r1) = (2 * oy * g.w, (2 * oy + 1) * g.w);
        let top = &plane[r0..r0 + 2 * g.ow];
        let bottom = &plane[r1..r1 + 2 * g.ow];
        let out = &mut o[oy * g.ow..(oy + 1) * g.ow];
        let arg = &mut a[oy * g.ow..(oy + 1) * g.ow];
        for (ox, ((t, b), (o, a))) in top
            .chunks_exact(2)
            .zip(bottom.chunks_exact(2))
            .zip(out.iter_mut().zip(arg.iter_mut()))
            .enumerate()
        {
            let (m1, i1) = if wins(t[1], t[0]) {
                (t[1], r0 + 1)
            } else {
                (t[0], r0)
            };
            let (m2, i2) = if wins(b[1], b[0]) {
                (b[1], r1 + 1)
            } else {
                (b[0], r1)
            };
            let (m, i) = if wins(m2, m1) { (m2, i2) } else { (m1, i1) };
            *o = m;
            *a = (i + 2 * ox) as u32;
        }
    }
}

/// Any kernel, stride and padding, a row of outputs at a time: the columns whose window lies
/// inside the plane take each tap in turn across the whole row without branches (the
/// per-window loop of [`pool_window`], which the border columns keep, mispredicts on every
/// new maximum). The plane's rows are split into their stride's phases first, so that a tap
/// reads its inputs contiguously and the comparison runs in vectors. The taps are visited in
/// the same order and compared by the same rule, so outputs and winners are the same bit for
/// bit.
fn pool_rows(g: &PoolGeom, plane: &[f32], o: &mut [f32], a: &mut [u32]) {
    // Output columns whose window starts at or after column 0 and ends inside the row.
    let ox_lo = g.pad.div_ceil(g.stride).min(g.ow);
    let ox_hi = if g.w + g.pad >= g.k {
        ((g.w + g.pad - g.k) / g.stride + 1).min(g.ow)
    } else {
        0
    }
    .max(ox_lo);
    let s = g.stride;
    let pw = g.w.div_ceil(s);
    with_scratch(&PHASES, g.h * s * pw, |phases| {
        split_phases(plane, g.w, s, phases);
        for oy in 0..g.oh {
            let y0 = (oy * s) as isize - g.pad as isize;
            let (ylo, yhi) = (y0.max(0) as usize, ((y0 + g.k as isize) as usize).min(g.h));
            let out = &mut o[oy * g.ow..(oy + 1) * g.ow];
            let arg = &mut a[oy * g.ow..(oy + 1) * g.ow];
            for ox in (0..ox_lo).chain(ox_hi..g.ow) {
                (out[ox], arg[ox]) = pool_window(g, plane, ylo, yhi, ox);
            }
            if ox_lo == ox_hi {
                continue;
            }
            let (out, arg) = (&mut out[ox_lo..ox_hi], &mut arg[ox_lo..ox_hi]);
            let x_first = ox_lo * s - g.pad;
            out.fill(f32::NEG_INFINITY);
            for (i, a) in arg.iter_mut().enumerate() {
                *a = (ylo * g.w + x_first + i * s) as u32;
            }
            for iy in ylo..yhi {
                for kx in 0..g.k {
                    let x = x_first + kx;
                    let start = (iy * s + x % s) * pw + x / s;
                    let taps = &phases[start..start + out.len()];
                    max_tap(taps, (iy * g.w + x) as u32, s as u32, out, arg);
                }
            }
        }
    })
}

/// One tap across a row of windows: `best[i]` takes `taps[i]` (input index `first + i·step`)
/// where it wins.
fn max_tap(taps: &[f32], first: u32, step: u32, best: &mut [f32], at: &mut [u32]) {
    pulp::Arch::new().dispatch(MaxTap {
        taps,
        first,
        step,
        best,
        at,
    })
}

/// `max_tap`'s arguments: its body, in `with_simd`, is compiled for each instruction set
/// pulp knows and run on the best this CPU has.
struct MaxTap<'a> {
    taps: &'a [f32],
    first: u32,
    step: u32,
    best: &'a mut [f32],
    at: &'a mut [u32],
}

impl pulp::WithSimd for MaxTap<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let Self {
            taps,
            first,
            step,
            best,
            at,
        } = self;
        for (i, ((b, a), &v)) in best.iter_mut().zip(at.iter_mut()).zip(taps).enumerate() {
            let take = wins(v, *b);
            *b = if take { v } else { *b };
            *a = if take { first + i as u32 * step } else { *a };
        }
    }
}

/// One output of any pooling window, clipped to the plane: (maximum, its index).
fn pool_window(g: &PoolGeom, plane: &[f32], ylo: usize, yhi: usize, ox: usize) -> (f32, u32) {
    let x0 = (ox * g.stride) as isize - g.pad as isize;
    let (xlo, xhi) = (x0.max(0) as usize, ((x0 + g.k as isize) as usize).min(g.w));
    let mut best = f32::NEG_INFINITY;
    let mut at = ylo * g.w + xlo;
    for iy in ylo..yhi {
        let base = iy * g.w;
        for (ix, &v) in plane[base + xlo..base + xhi].iter().enumerate() {
            // Strict `>` keeps the first maximum, like PyTorch.
            if wins(v, best) {
                best = v;
                at = base + xlo + ix;
            }
        }
    }
    (best, at as u32)
}

/// Backward pass: each output gradient goes to its winning input.
pub fn backward(g: &PoolGeom, arg: &[u32], dy: &[f32]) -> Vec<f32> {
    let (hw, ohw) = (g.h * g.w, g.oh * g.ow);
    let mut dx = vec![0.0f32; g.planes * hw];
    dx.par_chunks_mut(hw).enumerate().for_each(|(pi, d)| {
        let r = pi * ohw..(pi + 1) * ohw;
        unpool_plane(&arg[r.clone()], &dy[r], d);
    });
    dx
}

/// candle custom op: max pooling whose forward remembers the argmax for its backward.
pub struct MaxPool2dOp {
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
    argmax: Arc<Mutex<Vec<u32>>>,
}

impl MaxPool2dOp {
    pub fn new(k: usize, stride: usize, pad: usize) -> Self {
        Self {
            k,
            stride,
            pad,
            argmax: Arc::default(),
        }
    }
}

impl CustomOp1 for MaxPool2dOp {
    fn name(&self) -> &'static str {
        "ferlab-max-pool2d"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let g = PoolGeom::new(l.dims(), self.k, self.stride, self.pad)?;
        let (out, arg) = forward(&g, cpu_f32(s, l)?);
        *self.argmax.lock().expect("argmax lock") = arg;
        let d = l.dims();
        Ok((CpuStorage::F32(out), Shape::from((d[0], d[1], g.oh, g.ow))))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let g = PoolGeom::new(x.dims(), self.k, self.stride, self.pad)?;
        let grad = grad.contiguous()?;
        let (gs, gl) = grad.storage_and_layout();
        let arg = self.argmax.lock().expect("argmax lock");
        let dx = backward(&g, &arg, as_cpu_f32(&gs, gl)?);
        Ok(Some(tensor_from_vec(dx, x.dims(), x.device())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every output by the clipped per-window scan: what `pool_rows` must reproduce exactly.
    fn per_window(g: &PoolGeom, plane: &[f32]) -> (Vec<f32>, Vec<u32>) {
        let mut out = Vec::new();
        let mut arg = Vec::new();
        for oy in 0..g.oh {
            let y0 = (oy * g.stride) as isize - g.pad as isize;
            let (ylo, yhi) = (y0.max(0) as usize, ((y0 + g.k as isize) as usize).min(g.h));
            for ox in 0..g.ow {
                let (m, i) = pool_window(g, plane, ylo, yhi, ox);
                out.push(m);
                arg.push(i);
            }
        }
        (out, arg)
    }

    #[test]
    fn row_pooling_matches_the_per_window_scan_with_ties_nan_and_infinities() {
        // Few distinct values make ties everywhere; NaN and -inf test the winning rule.
        let values = [
            0.5,
            -1.0,
            0.5,
            f32::NEG_INFINITY,
            2.0,
            f32::NAN,
            2.0,
            -0.0,
            0.0,
        ];
        for (h, w, k, stride, pad) in [
            (53, 53, 3, 2, 0),
            (9, 7, 3, 2, 1),
            (10, 10, 3, 1, 1),
            (7, 7, 3, 3, 0),
            (11, 12, 5, 2, 2),
            (4, 5, 4, 1, 3),
            (3, 3, 3, 1, 0),
            (1, 2, 5, 5, 4),
        ] {
            let g = PoolGeom::new(&[1, 1, h, w], k, stride, pad).unwrap();
            for seed in 0..4usize {
                let plane: Vec<f32> = (0..h * w)
                    .map(|i| values[(i * 7 + seed * 5 + i / w) % values.len()])
                    .collect();
                let mut out = vec![0.0; g.oh * g.ow];
                let mut arg = vec![0; g.oh * g.ow];
                pool_rows(&g, &plane, &mut out, &mut arg);
                let (want, want_arg) = per_window(&g, &plane);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&out), bits(&want), "{h}x{w} k{k} s{stride} p{pad}");
                assert_eq!(arg, want_arg, "{h}x{w} k{k} s{stride} p{pad}");
            }
        }
    }
}
