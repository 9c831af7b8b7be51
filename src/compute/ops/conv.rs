//! 2-D convolution on the CPU: im2col + GEMM for the forward pass and both gradients.
//!
//! candle 0.11's CPU backward runs the input gradient through a direct `conv_transpose2d`
//! at 3-15 GFLOP/s. Here every pass is a GEMM on column matrices built per chunk of
//! images, chunks spread over the rayon pool, so all three passes run near GEMM speed.

use std::mem::MaybeUninit;

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::buffer::{COLS, PHASES, TMP, par_filled, with_scratch};
use super::gemm::{Mat, matmul, matmul_uninit};
use super::kernels::relu_f32;
use super::storage::{cpu_f32, tensor_from_vec};

/// Shapes of one convolution (NCHW input, OIHW weight, square stride and padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeom {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub oc: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub pad: usize,
    pub oh: usize,
    pub ow: usize,
}

impl ConvGeom {
    pub fn new(x: &[usize], wt: &[usize], stride: usize, pad: usize) -> Result<Self> {
        let (&[n, c, h, w], &[oc, wc, kh, kw]) = (x, wt) else {
            candle_core::bail!("conv2d expects 4-d input and weight, got {x:?} and {wt:?}");
        };
        if wc != c {
            candle_core::bail!("conv2d: input has {c} channels, weight expects {wc}");
        }
        if h + 2 * pad < kh || w + 2 * pad < kw || stride == 0 {
            candle_core::bail!(
                "conv2d: kernel {kh}x{kw} does not fit input {h}x{w} with padding {pad}"
            );
        }
        Ok(Self {
            n,
            c,
            h,
            w,
            oc,
            kh,
            kw,
            stride,
            pad,
            oh: (h + 2 * pad - kh) / stride + 1,
            ow: (w + 2 * pad - kw) / stride + 1,
        })
    }

    /// Rows of the column matrix (C · KH · KW).
    pub fn k(&self) -> usize {
        self.c * self.kh * self.kw
    }

    /// Output pixels per image.
    pub fn p(&self) -> usize {
        self.oh * self.ow
    }

    /// Images per chunk: enough columns (about 1024) for an efficient GEMM, and about two
    /// chunks per thread so that threads finishing early pick up work (measured best among
    /// 512-4096 columns and 1-4 chunks per thread on the benchmark models).
    fn images_per_chunk(&self) -> usize {
        let threads = rayon::current_num_threads().max(1);
        let by_width = 1024usize.div_ceil(self.p()).max(1);
        let by_threads = (self.n / (2 * threads)).max(1);
        by_width.min(by_threads).min(self.n.max(1))
    }

    fn out_range(&self, k: usize, len_in: usize, len_out: usize) -> (usize, usize) {
        // Output positions o with 0 <= o·stride + k - pad < len_in.
        let lo = if k >= self.pad {
            0
        } else {
            (self.pad - k).div_ceil(self.stride)
        };
        let hi = if len_in + self.pad > k {
            ((len_in + self.pad - k - 1) / self.stride + 1).min(len_out)
        } else {
            0
        };
        (lo.min(hi), hi)
    }
}

/// Fills columns `col0 .. col0 + P` of the `K × ld` column matrix from one image.
fn im2col(g: &ConvGeom, img: &[f32], cols: &mut [f32], ld: usize, col0: usize) {
    if g.stride == 1 && g.oh == g.h && g.ow == g.w {
        return im2col_same(g, img, cols, ld, col0);
    }
    im2col_strided(g, img, cols, ld, col0)
}

/// Splits every `w`-wide row of `rows` into its `s` phases (inputs `r, r + s, r + 2s, …`),
/// each `w.div_ceil(s)` long, one after another in `out`: row `y`'s phase `r` starts at
/// `(y · s + r) · w.div_ceil(s)`. A strided tap then reads one phase contiguously.
pub(super) fn split_phases(rows: &[f32], w: usize, s: usize, out: &mut [f32]) {
    let pw = w.div_ceil(s);
    for (row, split) in rows.chunks_exact(w).zip(out.chunks_exact_mut(s * pw)) {
        for (r, phase) in split.chunks_exact_mut(pw).enumerate() {
            let inputs = row.get(r..).unwrap_or_default();
            for (d, &v) in phase.iter_mut().zip(inputs.iter().step_by(s)) {
                *d = v;
            }
        }
    }
}

/// `im2col` for any stride and padding. A tap of a strided row reads every `stride`-th input,
/// a gather that ran the face ResNet's 7×7/2 stem at a third of PyTorch's speed. Each input
/// row is first split into its `stride` phases (inputs `r, r + s, r + 2s, …`; at stride 1 a
/// copy), once per image; every tap then reads one phase contiguously, at an offset.
fn im2col_strided(g: &ConvGeom, img: &[f32], cols: &mut [f32], ld: usize, col0: usize) {
    let (s, ow, p) = (g.stride, g.ow, g.p());
    // Length of each phase of a row (the first phase is the longest).
    let pw = g.w.div_ceil(s);
    with_scratch(&PHASES, g.c * g.h * s * pw, |phases| {
        split_phases(img, g.w, s, phases);
        for ci in 0..g.c {
            for ki in 0..g.kh {
                let (oy_lo, oy_hi) = g.out_range(ki, g.h, g.oh);
                for kj in 0..g.kw {
                    let row = (ci * g.kh + ki) * g.kw + kj;
                    let dst = &mut cols[row * ld + col0..row * ld + col0 + p];
                    let (ox_lo, ox_hi) = g.out_range(kj, g.w, g.ow);
                    // Input column of output column ox: ox·s + t = s·(ox + shift) + phase.
                    let t = kj as isize - g.pad as isize;
                    let (phase, shift) =
                        (t.rem_euclid(s as isize) as usize, t.div_euclid(s as isize));
                    dst[..oy_lo * ow].fill(0.0);
                    dst[oy_hi * ow..].fill(0.0);
                    for oy in oy_lo..oy_hi {
                        let iy = oy * s + ki - g.pad;
                        let d = &mut dst[oy * ow..(oy + 1) * ow];
                        d[..ox_lo].fill(0.0);
                        d[ox_hi.max(ox_lo)..].fill(0.0);
                        if ox_lo >= ox_hi {
                            continue;
                        }
                        let start = ((ci * g.h + iy) * s + phase) * pw;
                        let first = (ox_lo as isize + shift) as usize;
                        d[ox_lo..ox_hi]
                            .copy_from_slice(&phases[start + first..start + first + ox_hi - ox_lo]);
                    }
                }
            }
        }
    });
}

/// `im2col` for stride 1 with "same" padding: each row of the column matrix is the input
/// plane shifted by the kernel offset, so it is one block copy plus zeroed borders.
fn im2col_same(g: &ConvGeom, img: &[f32], cols: &mut [f32], ld: usize, col0: usize) {
    let (h, w, hw) = (g.h, g.w, g.h * g.w);
    for ci in 0..g.c {
        let plane = &img[ci * hw..(ci + 1) * hw];
        for ki in 0..g.kh {
            let dy = ki as isize - g.pad as isize;
            // Output rows whose source row lies inside the plane.
            let y_lo = (-dy).max(0) as usize;
            let y_hi = (h as isize - dy).min(h as isize).max(y_lo as isize) as usize;
            for kj in 0..g.kw {
                let dx = kj as isize - g.pad as isize;
                let row = (ci * g.kh + ki) * g.kw + kj;
                let dst = &mut cols[row * ld + col0..row * ld + col0 + hw];
                dst[..y_lo * w].fill(0.0);
                dst[y_hi * w..].fill(0.0);
                if y_hi > y_lo {
                    // Copy the block, then clear the columns that wrapped across row ends.
                    let start = y_lo * w;
                    let len = (y_hi - y_lo) * w;
                    let src_start = (start as isize + dy * w as isize + dx) as usize;
                    let (d0, s0, n) = if dx >= 0 {
                        (start, src_start, len - dx as usize)
                    } else {
                        (
                            start + (-dx) as usize,
                            src_start + (-dx) as usize,
                            len - (-dx) as usize,
                        )
                    };
                    dst[d0..d0 + n].copy_from_slice(&plane[s0..s0 + n]);
                    if let Some((at, span)) = wrapped_columns(dx, w) {
                        for y in y_lo..y_hi {
                            zero_few(&mut dst[y * w + at..y * w + at + span]);
                        }
                    }
                }
            }
        }
    }
}

/// The output columns `at .. at + span` of each row whose tap, shifted by `dx` columns,
/// falls outside the row (a block copy or add over whole rows wraps them into the next or
/// previous row); `None` when the tap is not shifted.
fn wrapped_columns(dx: isize, w: usize) -> Option<(usize, usize)> {
    let span = dx.unsigned_abs().min(w);
    match dx {
        0 => None,
        d if d > 0 => Some((w - span, span)),
        _ => Some((0, span)),
    }
}

/// Zeroes a slice of a few elements (a padding's width) with plain stores: `fill` calls
/// `memset`, and once per row of a small map that call cost more than the row's copy.
#[inline]
fn zero_few(d: &mut [f32]) {
    match d {
        [a] => *a = 0.0,
        [a, b] => (*a, *b) = (0.0, 0.0),
        _ => d.fill(0.0),
    }
}

/// Whether every input pixel is read exactly once by the centre tap of the kernel (stride 1,
/// "same" padding, odd kernel): the input gradient can then start from that tap's column
/// instead of from zeros.
fn centre_covers_input(g: &ConvGeom) -> bool {
    g.stride == 1
        && g.oh == g.h
        && g.ow == g.w
        && g.kh % 2 == 1
        && g.kw % 2 == 1
        && g.pad == g.kh / 2
        && g.kh == g.kw
}

/// Writes one image's input gradient (every element of `img`) from columns
/// `col0 .. col0 + P` of a column matrix. The columns are scratch: entries of taps that
/// read padding are zeroed on the way (they carry no gradient).
fn col2im(g: &ConvGeom, cols: &mut [f32], ld: usize, col0: usize, img: &mut [MaybeUninit<f32>]) {
    pulp::Arch::new().dispatch(Col2im {
        g,
        cols,
        ld,
        col0,
        img,
    })
}

/// `col2im`'s arguments, compiled for each instruction set pulp knows and run on the best
/// this CPU has: the body is inlined into pulp's per-instruction-set functions through
/// `with_simd` (a closure handed to `dispatch` was not: it ran as baseline SSE2 code).
struct Col2im<'a> {
    g: &'a ConvGeom,
    cols: &'a mut [f32],
    ld: usize,
    col0: usize,
    img: &'a mut [MaybeUninit<f32>],
}

impl pulp::WithSimd for Col2im<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        col2im_body(self.g, self.cols, self.ld, self.col0, self.img)
    }
}

#[inline(always)]
fn col2im_body(
    g: &ConvGeom,
    cols: &mut [f32],
    ld: usize,
    col0: usize,
    img: &mut [MaybeUninit<f32>],
) {
    let (ow, p, hw) = (g.ow, g.p(), g.h * g.w);
    let centre = centre_covers_input(g).then_some((g.kh / 2, g.kw / 2));
    // Start from the centre tap's column where it covers every pixel, from zeros otherwise.
    for ci in 0..g.c {
        let plane = &mut img[ci * hw..(ci + 1) * hw];
        match centre {
            Some((ck, cj)) => {
                let row = (ci * g.kh + ck) * g.kw + cj;
                for (d, &v) in plane
                    .iter_mut()
                    .zip(&cols[row * ld + col0..row * ld + col0 + p])
                {
                    d.write(v);
                }
            }
            None => {
                for d in plane.iter_mut() {
                    d.write(0.0);
                }
            }
        }
    }
    // SAFETY: every element was written just above.
    let img = unsafe { &mut *(img as *mut [MaybeUninit<f32>] as *mut [f32]) };
    if g.stride == 1 && g.oh == g.h && g.ow == g.w {
        return col2im_same(g, cols, ld, col0, img, centre);
    }
    for ci in 0..g.c {
        let plane = &mut img[ci * hw..(ci + 1) * hw];
        for ki in 0..g.kh {
            let (oy_lo, oy_hi) = g.out_range(ki, g.h, g.oh);
            for kj in 0..g.kw {
                if centre == Some((ki, kj)) {
                    continue;
                }
                let row = (ci * g.kh + ki) * g.kw + kj;
                let src = &cols[row * ld + col0..row * ld + col0 + p];
                let (ox_lo, ox_hi) = g.out_range(kj, g.w, g.ow);
                for oy in oy_lo..oy_hi {
                    let iy = oy * g.stride + ki - g.pad;
                    let d = &mut plane[iy * g.w..(iy + 1) * g.w];
                    let s = &src[oy * ow..(oy + 1) * ow];
                    if ox_lo == ox_hi {
                        continue;
                    }
                    if g.stride == 1 {
                        let ix0 = ox_lo + kj - g.pad;
                        for (dv, sv) in d[ix0..ix0 + (ox_hi - ox_lo)]
                            .iter_mut()
                            .zip(&s[ox_lo..ox_hi])
                        {
                            *dv += *sv;
                        }
                    } else {
                        let first = ox_lo * g.stride + kj - g.pad;
                        let taps = d[first..].iter_mut().step_by(g.stride);
                        for (dv, &sv) in taps.zip(&s[ox_lo..ox_hi]) {
                            *dv += sv;
                        }
                    }
                }
            }
        }
    }
}

/// The accumulation of `col2im` for stride 1 with "same" padding, the mirror of
/// `im2col_same`: each tap's column row is added to the plane as one block shifted by the
/// tap's offset, after zeroing the entries that would wrap across a row end (taps that read
/// padding). A row-by-row add over maps 3 to 26 pixels wide spent most of its time in loop
/// set-up.
#[inline(always)]
fn col2im_same(
    g: &ConvGeom,
    cols: &mut [f32],
    ld: usize,
    col0: usize,
    img: &mut [f32],
    centre: Option<(usize, usize)>,
) {
    let (h, w, hw) = (g.h, g.w, g.h * g.w);
    for ci in 0..g.c {
        let plane = &mut img[ci * hw..(ci + 1) * hw];
        for ki in 0..g.kh {
            let dy = ki as isize - g.pad as isize;
            let y_lo = (-dy).max(0) as usize;
            let y_hi = (h as isize - dy).min(h as isize).max(y_lo as isize) as usize;
            if y_hi <= y_lo {
                continue;
            }
            for kj in 0..g.kw {
                if centre == Some((ki, kj)) {
                    continue;
                }
                let dx = kj as isize - g.pad as isize;
                if dx.unsigned_abs() >= w {
                    continue;
                }
                let row = (ci * g.kh + ki) * g.kw + kj;
                let src = &mut cols[row * ld + col0..row * ld + col0 + hw];
                if let Some((at, span)) = wrapped_columns(dx, w) {
                    for y in y_lo..y_hi {
                        zero_few(&mut src[y * w + at..y * w + at + span]);
                    }
                }
                // Output q reads input q + dy·w + dx; the first (dx < 0) or last (dx > 0)
                // |dx| outputs of the block would fall outside the plane and are zero.
                let span = dx.unsigned_abs();
                let (start, len) = (y_lo * w, (y_hi - y_lo) * w - span);
                let first = if dx < 0 { start + span } else { start };
                let target = (first as isize + dy * w as isize + dx) as usize;
                for (d, &v) in plane[target..target + len]
                    .iter_mut()
                    .zip(&src[first..first + len])
                {
                    *d += v;
                }
            }
        }
    }
}

/// What happens to each output channel after the product: nothing, or `· scale + shift`
/// and an optional ReLU (evaluation-mode batch norm fused into the convolution).
#[derive(Clone, Copy)]
pub enum Epilogue<'a> {
    None,
    Affine {
        scale: &'a [f32],
        shift: &'a [f32],
        relu: bool,
    },
}

impl Epilogue<'_> {
    #[inline]
    fn apply(&self, o: usize, dst: &mut [f32]) {
        if let Epilogue::Affine { scale, shift, relu } = *self {
            let (a, b) = (scale[o], shift[o]);
            if relu {
                for v in dst.iter_mut() {
                    *v = relu_f32(*v * a + b);
                }
            } else {
                for v in dst.iter_mut() {
                    *v = *v * a + b;
                }
            }
        }
    }
}

/// `y = conv(x, w)`, NCHW.
pub fn forward(g: &ConvGeom, x: &[f32], w: &[f32]) -> Vec<f32> {
    forward_with(g, x, w, Epilogue::None)
}

/// `y = epilogue(conv(x, w))`, NCHW.
pub fn forward_with(g: &ConvGeom, x: &[f32], w: &[f32], epilogue: Epilogue) -> Vec<f32> {
    let (k, p, oc) = (g.k(), g.p(), g.oc);
    let ipc = g.images_per_chunk();
    let img_len = g.c * g.h * g.w;
    let wm = Mat::rows(w, oc, k);
    let fill = |ci: usize, out_chunk: &mut [MaybeUninit<f32>]| {
        let n0 = ci * ipc;
        let nc = out_chunk.len() / (oc * p);
        let ld = nc * p;
        with_scratch(&COLS, k * ld, |cols| {
            for i in 0..nc {
                im2col(
                    g,
                    &x[(n0 + i) * img_len..(n0 + i + 1) * img_len],
                    cols,
                    ld,
                    i * p,
                );
            }
            if nc == 1 {
                matmul_uninit(out_chunk, p, wm, Mat::rows(cols, k, ld));
                // SAFETY: the product initialised the whole OC × P chunk.
                let out =
                    unsafe { &mut *(out_chunk as *mut [std::mem::MaybeUninit<f32>] as *mut [f32]) };
                for o in 0..oc {
                    epilogue.apply(o, &mut out[o * p..(o + 1) * p]);
                }
            } else {
                with_scratch(&TMP, oc * ld, |tmp| {
                    matmul(tmp, ld, wm, Mat::rows(cols, k, ld), false);
                    for i in 0..nc {
                        for o in 0..oc {
                            let src = &tmp[o * ld + i * p..o * ld + (i + 1) * p];
                            let dst = &mut out_chunk[(i * oc + o) * p..(i * oc + o + 1) * p];
                            let pairs = dst.iter_mut().zip(src);
                            match epilogue {
                                Epilogue::None => pairs.for_each(|(d, &v)| {
                                    d.write(v);
                                }),
                                Epilogue::Affine { scale, shift, relu } => {
                                    let (a, b) = (scale[o], shift[o]);
                                    if relu {
                                        pairs.for_each(|(d, &v)| {
                                            d.write(relu_f32(v * a + b));
                                        });
                                    } else {
                                        pairs.for_each(|(d, &v)| {
                                            d.write(v * a + b);
                                        });
                                    }
                                }
                            }
                        }
                    }
                });
            }
        });
    };
    // SAFETY: the product (and the epilogue after it) writes the whole OC × P block of every
    // image in the chunk.
    unsafe { par_filled(g.n * oc * p, ipc * oc * p, fill) }
}

/// Gradients of `conv(x, w)` given the output gradient `dy`: (dx if asked, dw).
pub fn backward(
    g: &ConvGeom,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    want_dx: bool,
) -> (Option<Vec<f32>>, Vec<f32>) {
    let (k, p, oc) = (g.k(), g.p(), g.oc);
    // Large maps go one image per chunk: the output gradient is then used in place,
    // without gathering several images into one matrix first.
    let ipc = if g.p() >= 256 {
        1
    } else {
        g.images_per_chunk()
    };
    let img_len = g.c * g.h * g.w;
    let num_chunks = g.n.div_ceil(ipc);
    // Chunks are split into a fixed number of contiguous groups, each with its own weight
    // gradient, summed in group order: the result does not depend on thread timing.
    let groups = rayon::current_num_threads().max(1).min(num_chunks.max(1));
    let per_group = num_chunks.div_ceil(groups);
    let wm = Mat::rows(w, oc, k);
    let run_group = |gi: usize, mut dx_group: Option<&mut [MaybeUninit<f32>]>| -> Vec<f32> {
        let mut dw = vec![0.0f32; oc * k];
        let first = gi * per_group;
        let last = ((gi + 1) * per_group).min(num_chunks);
        for ci in first..last {
            let n0 = ci * ipc;
            let nc = ipc.min(g.n - n0);
            let ld = nc * p;
            with_scratch(&COLS, k * ld, |cols| {
                for i in 0..nc {
                    im2col(
                        g,
                        &x[(n0 + i) * img_len..(n0 + i + 1) * img_len],
                        cols,
                        ld,
                        i * p,
                    );
                }
                let step = |dym: &[f32],
                            cols: &mut [f32],
                            dw: &mut [f32],
                            dx: Option<&mut [MaybeUninit<f32>]>| {
                    let dyv = Mat::rows(dym, oc, ld);
                    // dW += dY · colsᵀ
                    matmul(dw, k, dyv, Mat::rows(cols, k, ld).t(), true);
                    if let Some(dxg) = dx {
                        // dcols = Wᵀ · dY, then scatter back into the images.
                        matmul(cols, ld, wm.t(), dyv, false);
                        for i in 0..nc {
                            let local = (n0 + i - first * ipc) * img_len;
                            col2im(g, cols, ld, i * p, &mut dxg[local..local + img_len]);
                        }
                    }
                };
                if nc == 1 {
                    step(
                        &dy[n0 * oc * p..(n0 + 1) * oc * p],
                        cols,
                        &mut dw,
                        dx_group.as_deref_mut(),
                    );
                } else {
                    with_scratch(&TMP, oc * ld, |t| {
                        for i in 0..nc {
                            for o in 0..oc {
                                t[o * ld + i * p..o * ld + (i + 1) * p].copy_from_slice(
                                    &dy[((n0 + i) * oc + o) * p..((n0 + i) * oc + o + 1) * p],
                                );
                            }
                        }
                        step(t, cols, &mut dw, dx_group.as_deref_mut());
                    });
                }
            });
        }
        dw
    };
    let (dx, partials) = if want_dx {
        let parts: Vec<std::sync::Mutex<Vec<f32>>> =
            (0..groups).map(|_| Default::default()).collect();
        let fill = |gi: usize, chunk: &mut [MaybeUninit<f32>]| {
            *parts[gi].lock().expect("partial lock") = run_group(gi, Some(chunk));
        };
        // SAFETY: each group writes the input gradient of its own images, every element of
        // them (`run_group` with a chunk).
        let dx = unsafe { par_filled(g.n * img_len, per_group * ipc * img_len, fill) };
        let parts = parts
            .into_iter()
            .map(|m| m.into_inner().expect("partial lock"))
            .collect();
        (Some(dx), parts)
    } else {
        let parts: Vec<Vec<f32>> = (0..groups)
            .into_par_iter()
            .map(|gi| run_group(gi, None))
            .collect();
        (None, parts)
    };
    let mut dw = vec![0.0f32; oc * k];
    for part in partials {
        for (a, b) in dw.iter_mut().zip(part) {
            *a += b;
        }
    }
    (dx, dw)
}

/// candle custom op: `conv2d(x, w)` with CPU forward and backward.
pub struct Conv2dOp {
    pub stride: usize,
    pub pad: usize,
}

impl CustomOp2 for Conv2dOp {
    fn name(&self) -> &'static str {
        "ferlab-conv2d"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = ConvGeom::new(l1.dims(), l2.dims(), self.stride, self.pad)?;
        let x = cpu_f32(s1, l1)?;
        let w = cpu_f32(s2, l2)?;
        let y = forward(&g, x, w);
        Ok((CpuStorage::F32(y), Shape::from((g.n, g.oc, g.oh, g.ow))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let g = ConvGeom::new(x.dims(), w.dims(), self.stride, self.pad)?;
        let grad = grad.contiguous()?;
        let (xs, xl) = x.storage_and_layout();
        let (ws, wl) = w.storage_and_layout();
        let (gs, gl) = grad.storage_and_layout();
        let (dx, dw) = backward(
            &g,
            super::storage::as_cpu_f32(&xs, xl)?,
            super::storage::as_cpu_f32(&ws, wl)?,
            super::storage::as_cpu_f32(&gs, gl)?,
            x.track_op(),
        );
        let dx = dx
            .map(|v| tensor_from_vec(v, x.dims(), x.device()))
            .transpose()?;
        let dw = tensor_from_vec(dw, w.dims(), w.device())?;
        Ok((dx, Some(dw)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_ranges_match_a_direct_scan() {
        for (len, k, stride, pad) in [
            (5, 3, 1, 1),
            (7, 3, 2, 1),
            (6, 7, 2, 3),
            (4, 1, 2, 0),
            (3, 3, 1, 2),
        ] {
            let out_len = (len + 2 * pad - k) / stride + 1;
            let g = ConvGeom {
                n: 1,
                c: 1,
                h: len,
                w: len,
                oc: 1,
                kh: k,
                kw: k,
                stride,
                pad,
                oh: out_len,
                ow: out_len,
            };
            for kk in 0..k {
                let valid: Vec<usize> = (0..out_len)
                    .filter(|&o| {
                        let i = (o * stride + kk) as isize - pad as isize;
                        i >= 0 && (i as usize) < len
                    })
                    .collect();
                let (lo, hi) = g.out_range(kk, len, out_len);
                let got: Vec<usize> = (lo..hi).collect();
                assert_eq!(
                    got, valid,
                    "len {len} k {k} stride {stride} pad {pad} kk {kk}"
                );
            }
        }
    }
}
