//! Slice-level kernels behind batch norm, ReLU and residual additions: per-channel sums and
//! elementwise passes over NCHW planes, vectorised (AVX2 + FMA where the CPU has them) and
//! parallel over channels or planes. Per-channel sums run in a fixed order inside a channel,
//! so results do not depend on the number of threads.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::buffer::par_filled;

/// Elements per parallel chunk of a flat elementwise pass.
const FLAT_CHUNK: usize = 1 << 14;

/// max(x, 0) that keeps a NaN (as PyTorch's ReLU does; `f32::max` would turn it into 0 and
/// hide a diverged run). Compiles to one `maxps` with the operands in this order.
#[inline(always)]
pub(crate) fn relu_f32(x: f32) -> f32 {
    if x < 0.0 { 0.0 } else { x }
}

/// Sums of `a` and of `a · b` over a slice pair, in eight f32 lanes, returned as f64.
fn dot_sums(a: &[f32], b: &[f32]) -> (f64, f64) {
    // Compiled for each instruction set pulp knows (AVX-512, AVX2 + FMA, baseline),
    // run on the best this CPU has.
    pulp::Arch::new().dispatch(|| {
        let mut s = [0.0f32; 8];
        let mut p = [0.0f32; 8];
        let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
        let (ar, br) = (ac.remainder(), bc.remainder());
        for (x, y) in ac.zip(bc) {
            for k in 0..8 {
                s[k] += x[k];
                p[k] += x[k] * y[k];
            }
        }
        let mut ts: f64 = s.iter().map(|&v| v as f64).sum();
        let mut tp: f64 = p.iter().map(|&v| v as f64).sum();
        for (x, y) in ar.iter().zip(br) {
            ts += *x as f64;
            tp += (*x * *y) as f64;
        }
        (ts, tp)
    })
}

/// Σ g and Σ g·z over a plane, where g = d if `z · a + b > 0` (the ReLU after an affine was
/// active) and 0 elsewhere.
fn masked_dot_sums(d: &[f32], z: &[f32], a: f32, b: f32) -> (f64, f64) {
    #[cfg(target_arch = "x86_64")]
    if super::simd::has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA.
        return unsafe { masked_dot_sums_avx2(d, z, a, b) };
    }
    let (mut ts, mut tp) = (0.0f64, 0.0f64);
    for (&d, &z) in d.iter().zip(z) {
        let g = if z * a + b > 0.0 { d } else { 0.0 };
        ts += g as f64;
        tp += (g * z) as f64;
    }
    (ts, tp)
}

/// The AVX2 form of `masked_dot_sums`: LLVM turns the masked sum into branches with
/// conditional loads, which do not vectorise.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn masked_dot_sums_avx2(d: &[f32], z: &[f32], a: f32, b: f32) -> (f64, f64) {
    use std::arch::x86_64::*;
    let n = d.len().min(z.len());
    let whole = n / 8 * 8;
    let (mut s, mut p) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let (zero, av, bv) = (_mm256_setzero_ps(), _mm256_set1_ps(a), _mm256_set1_ps(b));
    let mut i = 0;
    while i < whole {
        // SAFETY: i + 8 <= n, within both slices.
        let (dv, zv) = unsafe {
            (
                _mm256_loadu_ps(d.as_ptr().add(i)),
                _mm256_loadu_ps(z.as_ptr().add(i)),
            )
        };
        let y = _mm256_fmadd_ps(zv, av, bv);
        let g = _mm256_and_ps(dv, _mm256_cmp_ps::<_CMP_GT_OQ>(y, zero));
        s = _mm256_add_ps(s, g);
        p = _mm256_fmadd_ps(g, zv, p);
        i += 8;
    }
    let (mut sa, mut pa) = ([0.0f32; 8], [0.0f32; 8]);
    // SAFETY: each array holds 8 f32.
    unsafe {
        _mm256_storeu_ps(sa.as_mut_ptr(), s);
        _mm256_storeu_ps(pa.as_mut_ptr(), p);
    }
    let mut ts: f64 = sa.iter().map(|&v| v as f64).sum();
    let mut tp: f64 = pa.iter().map(|&v| v as f64).sum();
    for j in whole..n {
        let g = if z[j] * a + b > 0.0 { d[j] } else { 0.0 };
        ts += g as f64;
        tp += (g * z[j]) as f64;
    }
    (ts, tp)
}

/// Per channel of an `n × c × hw` pair, Σ a and Σ a·b, planes summed in a fixed order.
pub fn channel_dot_sums(a: &[f32], b: &[f32], n: usize, c: usize, hw: usize) -> Vec<(f64, f64)> {
    (0..c)
        .into_par_iter()
        .map(|ch| {
            let mut acc = (0.0f64, 0.0f64);
            for bi in 0..n {
                let r = (bi * c + ch) * hw..(bi * c + ch + 1) * hw;
                let (s, p) = dot_sums(&a[r.clone()], &b[r]);
                acc.0 += s;
                acc.1 += p;
            }
            acc
        })
        .collect()
}

/// Per channel, Σ g and Σ g·z where g = dy masked by `z · scale + shift > 0` (when `relu`).
#[allow(clippy::too_many_arguments)]
pub fn channel_grad_sums(
    dy: &[f32],
    z: &[f32],
    scale: &[f32],
    shift: &[f32],
    n: usize,
    c: usize,
    hw: usize,
    relu: bool,
) -> Vec<(f64, f64)> {
    if !relu {
        return channel_dot_sums(dy, z, n, c, hw);
    }
    (0..c)
        .into_par_iter()
        .map(|ch| {
            let mut acc = (0.0f64, 0.0f64);
            for bi in 0..n {
                let r = (bi * c + ch) * hw..(bi * c + ch + 1) * hw;
                let (s, p) = masked_dot_sums(&dy[r.clone()], &z[r], scale[ch], shift[ch]);
                acc.0 += s;
                acc.1 += p;
            }
            acc
        })
        .collect()
}

fn affine_into(o: &mut [MaybeUninit<f32>], x: &[f32], a: f32, b: f32, relu: bool) {
    // Compiled for each instruction set pulp knows (AVX-512, AVX2 + FMA, baseline),
    // run on the best this CPU has.
    pulp::Arch::new().dispatch(|| {
        if relu {
            for (o, &v) in o.iter_mut().zip(x) {
                o.write(relu_f32(v * a + b));
            }
        } else {
            for (o, &v) in o.iter_mut().zip(x) {
                o.write(v * a + b);
            }
        }
    })
}

/// `x · scale[c] + shift[c]` (then ReLU if set) over `… × c × hw`, planes in parallel.
pub fn affine_planes(
    x: &[f32],
    scale: &[f32],
    shift: &[f32],
    c: usize,
    hw: usize,
    relu: bool,
) -> Vec<f32> {
    let fill = |plane: usize, o: &mut [MaybeUninit<f32>]| {
        let ch = plane % c;
        affine_into(
            o,
            &x[plane * hw..plane * hw + o.len()],
            scale[ch],
            shift[ch],
            relu,
        );
    };
    // SAFETY: `fill` writes every element of its chunk (one output per input).
    unsafe { par_filled(x.len(), hw, fill) }
}

/// Writes `affine(z)` (+ ReLU) for one plane into `o` (initialised memory).
pub fn affine_plane(o: &mut [f32], z: &[f32], a: f32, b: f32, relu: bool) {
    // SAFETY: an initialised f32 slice is a valid slice of MaybeUninit<f32>.
    let o = unsafe { &mut *(o as *mut [f32] as *mut [MaybeUninit<f32>]) };
    affine_into(o, z, a, b, relu);
}

fn bn_grad_into(
    o: &mut [MaybeUninit<f32>],
    d: &[f32],
    z: &[f32],
    coef: (f32, f32, f32),
    mask: Option<(f32, f32)>,
) {
    // Compiled for each instruction set pulp knows (AVX-512, AVX2 + FMA, baseline),
    // run on the best this CPU has.
    pulp::Arch::new().dispatch(|| {
        let (a, b, k) = coef;
        match mask {
            Some((ma, mb)) => {
                for ((o, &d), &z) in o.iter_mut().zip(d).zip(z) {
                    let g = if z * ma + mb > 0.0 { d } else { 0.0 };
                    o.write(g * a + z * b + k);
                }
            }
            None => {
                for ((o, &d), &z) in o.iter_mut().zip(d).zip(z) {
                    o.write(d * a + z * b + k);
                }
            }
        }
    })
}

/// Gradients of a per-channel affine that may be followed by ReLU, given its output gradient
/// `g` and input `z` (`n × c × hw`). With batch statistics (`batch = Some((γ, μ, 1/σ))`)
/// this is batch norm's backward; without, the affine's.
pub struct AffineBackward<'a> {
    pub g: &'a [f32],
    pub z: &'a [f32],
    pub dims: (usize, usize, usize),
    /// The forward affine: y = z · scale + shift (then ReLU).
    pub scale: &'a [f32],
    pub shift: &'a [f32],
    pub relu: bool,
    pub batch: Option<(&'a [f32], &'a [f32], &'a [f32])>,
}

/// What `AffineBackward::run` returns: dz (if asked) and the two per-channel gradients,
/// (dγ, dβ) for batch norm or (dscale, dshift) for the affine.
pub struct AffineGrads {
    pub dz: Option<Vec<f32>>,
    pub first: Vec<f32>,
    pub second: Vec<f32>,
}

impl AffineBackward<'_> {
    pub fn run(&self, want_dz: bool) -> AffineGrads {
        let (n, c, hw) = self.dims;
        let sums = channel_grad_sums(self.g, self.z, self.scale, self.shift, n, c, hw, self.relu);
        let sum_g: Vec<f32> = sums.iter().map(|s| s.0 as f32).collect();
        let m = (n * hw) as f64;
        let (first, coef): (Vec<f32>, Vec<(f32, f32, f32)>) = match self.batch {
            Some((gamma, mean, invstd)) => {
                // Σg·ẑ = invstd · (Σg·z − μ·Σg) is dγ; dz = γ·invstd·g − γ·invstd²·dγ/M·(z − μ)
                // − γ·invstd·Σg/M.
                let dgamma: Vec<f32> = (0..c)
                    .map(|ch| {
                        (invstd[ch] as f64 * (sums[ch].1 - mean[ch] as f64 * sums[ch].0)) as f32
                    })
                    .collect();
                let coef = (0..c)
                    .map(|ch| {
                        let (gi, is) = (gamma[ch] as f64, invstd[ch] as f64);
                        let a = gi * is;
                        let b = -gi * is * is * dgamma[ch] as f64 / m;
                        let k = -gi * is * sum_g[ch] as f64 / m - b * mean[ch] as f64;
                        (a as f32, b as f32, k as f32)
                    })
                    .collect();
                (dgamma, coef)
            }
            None => {
                let dscale = sums.iter().map(|s| s.1 as f32).collect();
                (dscale, self.scale.iter().map(|&a| (a, 0.0, 0.0)).collect())
            }
        };
        let dz = want_dz.then(|| {
            let fill = |plane: usize, o: &mut [MaybeUninit<f32>]| {
                let ch = plane % c;
                let r = plane * hw..plane * hw + o.len();
                let mask = self.relu.then(|| (self.scale[ch], self.shift[ch]));
                bn_grad_into(o, &self.g[r.clone()], &self.z[r], coef[ch], mask);
            };
            // SAFETY: `fill` writes every element of its chunk (one output per input).
            unsafe { par_filled(self.z.len(), hw, fill) }
        });
        AffineGrads {
            dz,
            first,
            second: sum_g,
        }
    }
}

fn mask_into(o: &mut [MaybeUninit<f32>], d: &[f32], y: &[f32]) {
    // Compiled for each instruction set pulp knows (AVX-512, AVX2 + FMA, baseline),
    // run on the best this CPU has.
    pulp::Arch::new().dispatch(|| {
        for ((o, &d), &y) in o.iter_mut().zip(d).zip(y) {
            o.write(if y > 0.0 { d } else { 0.0 });
        }
    })
}

/// `dy` where `y > 0`, else 0 (ReLU's backward).
pub fn relu_grad(dy: &[f32], y: &[f32]) -> Vec<f32> {
    let fill = |ci: usize, o: &mut [MaybeUninit<f32>]| {
        let r = ci * FLAT_CHUNK..ci * FLAT_CHUNK + o.len();
        mask_into(o, &dy[r.clone()], &y[r]);
    };
    // SAFETY: `fill` writes every element of its chunk (one output per input).
    unsafe { par_filled(dy.len(), FLAT_CHUNK, fill) }
}

fn add_relu_into(o: &mut [MaybeUninit<f32>], a: &[f32], b: &[f32]) {
    // Compiled for each instruction set pulp knows (AVX-512, AVX2 + FMA, baseline),
    // run on the best this CPU has.
    pulp::Arch::new().dispatch(|| {
        for ((o, &a), &b) in o.iter_mut().zip(a).zip(b) {
            o.write(relu_f32(a + b));
        }
    })
}

/// `relu(a + b)`.
pub fn add_relu(a: &[f32], b: &[f32]) -> Vec<f32> {
    let fill = |ci: usize, o: &mut [MaybeUninit<f32>]| {
        let r = ci * FLAT_CHUNK..ci * FLAT_CHUNK + o.len();
        add_relu_into(o, &a[r.clone()], &b[r]);
    };
    // SAFETY: `fill` writes every element of its chunk (one output per input).
    unsafe { par_filled(a.len(), FLAT_CHUNK, fill) }
}

fn relu_into(o: &mut [MaybeUninit<f32>], x: &[f32]) {
    // Compiled for each instruction set pulp knows (AVX-512, AVX2 + FMA, baseline),
    // run on the best this CPU has.
    pulp::Arch::new().dispatch(|| {
        for (o, &v) in o.iter_mut().zip(x) {
            o.write(relu_f32(v));
        }
    })
}

/// `max(x, 0)`.
pub fn relu(x: &[f32]) -> Vec<f32> {
    let fill = |ci: usize, o: &mut [MaybeUninit<f32>]| {
        relu_into(o, &x[ci * FLAT_CHUNK..ci * FLAT_CHUNK + o.len()]);
    };
    // SAFETY: `fill` writes every element of its chunk (one output per input).
    unsafe { par_filled(x.len(), FLAT_CHUNK, fill) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_sums_agree_between_the_vector_and_scalar_forms() {
        let d: Vec<f32> = (0..37).map(|i| (i as f32 * 0.37).sin()).collect();
        let z: Vec<f32> = (0..37).map(|i| (i as f32 * 0.91).cos()).collect();
        let (s, p) = masked_dot_sums(&d, &z, 1.5, -0.2);
        let (mut ws, mut wp) = (0.0f64, 0.0f64);
        for (&d, &z) in d.iter().zip(&z) {
            if z * 1.5 - 0.2 > 0.0 {
                ws += d as f64;
                wp += (d * z) as f64;
            }
        }
        assert!((s - ws).abs() < 1e-5 && (p - wp).abs() < 1e-5);
    }
}
