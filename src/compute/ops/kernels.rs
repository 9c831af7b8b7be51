//! Slice-level kernels behind batch norm, ReLU and residual additions: per-channel sums and
//! elementwise passes over NCHW planes, vectorised (each loop a `pulp::WithSimd` kernel,
//! compiled for AVX-512, AVX2 + FMA and baseline and run on the best the CPU has) and
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
    pulp::Arch::new().dispatch(DotSums { a, b })
}

/// `dot_sums`'s arguments: its body, in `with_simd`, is compiled for each instruction set
/// pulp knows and run on the best this CPU has.
struct DotSums<'a> {
    a: &'a [f32],
    b: &'a [f32],
}

impl pulp::WithSimd for DotSums<'_> {
    type Output = (f64, f64);

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> (f64, f64) {
        let Self { a, b } = self;
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
    }
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
    pulp::Arch::new().dispatch(AffineInto { o, x, a, b, relu })
}

/// `affine_into`'s arguments: its body, in `with_simd`, is compiled for each instruction set
/// pulp knows and run on the best this CPU has.
struct AffineInto<'a> {
    o: &'a mut [MaybeUninit<f32>],
    x: &'a [f32],
    a: f32,
    b: f32,
    relu: bool,
}

impl pulp::WithSimd for AffineInto<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let Self { o, x, a, b, relu } = self;
        if relu {
            for (o, &v) in o.iter_mut().zip(x) {
                o.write(relu_f32(v * a + b));
            }
        } else {
            for (o, &v) in o.iter_mut().zip(x) {
                o.write(v * a + b);
            }
        }
    }
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
    pulp::Arch::new().dispatch(BnGradInto {
        o,
        d,
        z,
        coef,
        mask,
    })
}

/// `bn_grad_into`'s arguments: its body, in `with_simd`, is compiled for each instruction set
/// pulp knows and run on the best this CPU has.
struct BnGradInto<'a> {
    o: &'a mut [MaybeUninit<f32>],
    d: &'a [f32],
    z: &'a [f32],
    coef: (f32, f32, f32),
    mask: Option<(f32, f32)>,
}

impl pulp::WithSimd for BnGradInto<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let Self {
            o,
            d,
            z,
            coef,
            mask,
        } = self;
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
    }
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

/// `o = d · [y > 0] · a` (no mask without `y`); returns Σ d · [y > 0], summed in 16 f32
/// lanes in a fixed order, added up in f64.
fn masked_scaled_into(o: &mut [MaybeUninit<f32>], d: &[f32], y: Option<&[f32]>, a: f32) -> f64 {
    pulp::Arch::new().dispatch(MaskedScaledInto { o, d, y, a })
}

/// `masked_scaled_into`'s arguments: its body, in `with_simd`, is compiled for each instruction set
/// pulp knows and run on the best this CPU has.
struct MaskedScaledInto<'a> {
    o: &'a mut [MaybeUninit<f32>],
    d: &'a [f32],
    y: Option<&'a [f32]>,
    a: f32,
}

impl pulp::WithSimd for MaskedScaledInto<'_> {
    type Output = f64;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> f64 {
        let Self { o, d, y, a } = self;
        const L: usize = 16;
        let mut lanes = [0.0f32; L];
        let mut rest = 0.0f64;
        match y {
            Some(y) => {
                let (oc, dc, yc) = (o.chunks_exact_mut(L), d.chunks_exact(L), y.chunks_exact(L));
                let tail = dc.len() * L;
                for ((o, d), y) in oc.zip(dc).zip(yc) {
                    for k in 0..L {
                        let g = if y[k] > 0.0 { d[k] } else { 0.0 };
                        o[k].write(g * a);
                        lanes[k] += g;
                    }
                }
                for i in tail..d.len() {
                    let g = if y[i] > 0.0 { d[i] } else { 0.0 };
                    o[i].write(g * a);
                    rest += g as f64;
                }
            }
            None => {
                let (oc, dc) = (o.chunks_exact_mut(L), d.chunks_exact(L));
                let tail = dc.len() * L;
                for (o, d) in oc.zip(dc) {
                    for k in 0..L {
                        o[k].write(d[k] * a);
                        lanes[k] += d[k];
                    }
                }
                for i in tail..d.len() {
                    o[i].write(d[i] * a);
                    rest += d[i] as f64;
                }
            }
        }
        lanes.iter().map(|&v| v as f64).sum::<f64>() + rest
    }
}

/// Gradients of `y = relu(z · scale + shift)` (`relu_output = Some(y)`; `None` without
/// ReLU) over `… × c × hw` with respect to z and shift, from y and its gradient `dy` alone:
/// dz = dy · [y > 0] · scale, dshift = Σ dy · [y > 0] (ReLU's mask read from its output, as
/// y > 0 exactly where z · scale + shift > 0). Planes in parallel; each channel's sum adds
/// its planes' sums in plane order, whatever the thread count.
pub fn affine_grads_from_output(
    dy: &[f32],
    relu_output: Option<&[f32]>,
    scale: &[f32],
    c: usize,
    hw: usize,
) -> (Vec<f32>, Vec<f32>) {
    let n = dy.len();
    let hw = hw.max(1);
    let mut dz: Vec<f32> = Vec::with_capacity(n);
    let plane_sums: Vec<f64> = dz.spare_capacity_mut()[..n]
        .par_chunks_mut(hw)
        .enumerate()
        .map(|(plane, o)| {
            let r = plane * hw..plane * hw + o.len();
            let y = relu_output.map(|y| &y[r.clone()]);
            masked_scaled_into(o, &dy[r], y, scale[plane % c])
        })
        .collect();
    // SAFETY: every chunk of 0..n was written in full by `masked_scaled_into`.
    unsafe { dz.set_len(n) };
    let mut dshift = vec![0.0f64; c];
    for (plane, s) in plane_sums.iter().enumerate() {
        dshift[plane % c] += s;
    }
    (dz, dshift.into_iter().map(|v| v as f32).collect())
}

fn mask_into(o: &mut [MaybeUninit<f32>], d: &[f32], y: &[f32]) {
    pulp::Arch::new().dispatch(MaskInto { o, d, y })
}

/// `mask_into`'s arguments: its body, in `with_simd`, is compiled for each instruction set
/// pulp knows and run on the best this CPU has.
struct MaskInto<'a> {
    o: &'a mut [MaybeUninit<f32>],
    d: &'a [f32],
    y: &'a [f32],
}

impl pulp::WithSimd for MaskInto<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let Self { o, d, y } = self;
        for ((o, &d), &y) in o.iter_mut().zip(d).zip(y) {
            o.write(if y > 0.0 { d } else { 0.0 });
        }
    }
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
    pulp::Arch::new().dispatch(AddReluInto { o, a, b })
}

/// `add_relu_into`'s arguments: its body, in `with_simd`, is compiled for each instruction set
/// pulp knows and run on the best this CPU has.
struct AddReluInto<'a> {
    o: &'a mut [MaybeUninit<f32>],
    a: &'a [f32],
    b: &'a [f32],
}

impl pulp::WithSimd for AddReluInto<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let Self { o, a, b } = self;
        for ((o, &a), &b) in o.iter_mut().zip(a).zip(b) {
            o.write(relu_f32(a + b));
        }
    }
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
    pulp::Arch::new().dispatch(ReluInto { o, x })
}

/// `relu_into`'s arguments: its body, in `with_simd`, is compiled for each instruction set
/// pulp knows and run on the best this CPU has.
struct ReluInto<'a> {
    o: &'a mut [MaybeUninit<f32>],
    x: &'a [f32],
}

impl pulp::WithSimd for ReluInto<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let Self { o, x } = self;
        for (o, &v) in o.iter_mut().zip(x) {
            o.write(relu_f32(v));
        }
    }
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
