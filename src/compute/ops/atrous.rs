//! Dilated ("atrous") 3×3 convolutions and the dense 2×2 average pool, as DeepLab turns a
//! strided network into a dense one, composed from differentiable candle ops around the
//! ordinary convolution: a convolution dilated by `r` at stride 1 is the ordinary one run on
//! each of the r × r interleaved sub-grids of the map (TensorFlow's `space_to_batch`), so
//! the fused convolution kernels, forward and backward, do the arithmetic.

use candle_core::{Result, Tensor};

/// `conv` — a 3×3 convolution at stride 1 with 'same' padding (1) — applied as the same
/// convolution dilated by `rate` (padding `rate`): the map is padded to a multiple of
/// `rate` with zeros (the dilated convolution's own padding reads zeros there too), split
/// into its `rate²` sub-grids as a batch, convolved, interleaved back and cut to size.
pub fn dilated(
    x: &Tensor,
    rate: usize,
    conv: impl Fn(&Tensor) -> Result<Tensor>,
) -> Result<Tensor> {
    if rate == 1 {
        return conv(x);
    }
    let (n, c, h, w) = x.dims4()?;
    let (sh, sw) = (h.div_ceil(rate), w.div_ceil(rate));
    let x = x
        .pad_with_zeros(2, 0, sh * rate - h)?
        .pad_with_zeros(3, 0, sw * rate - w)?;
    // n c (sh r) (sw r) → (r r n) c sh sw: sub-grid (a, b) holds positions a + r·i, b + r·j.
    let batch = x
        .reshape((n, c, sh, rate, sw, rate))?
        .permute((3, 5, 0, 1, 2, 4))?
        .contiguous()?
        .reshape((rate * rate * n, c, sh, sw))?;
    let y = conv(&batch)?;
    let (_, oc, yh, yw) = y.dims4()?;
    if (yh, yw) != (sh, sw) {
        candle_core::bail!("dilated: the convolution must keep its input's size");
    }
    y.reshape((rate, rate, n, oc, sh, sw))?
        .permute((2, 3, 4, 0, 5, 1))?
        .contiguous()?
        .reshape((n, oc, sh * rate, sw * rate))?
        .narrow(2, 0, h)?
        .narrow(3, 0, w)
}

/// The 2×2 average pool at stride 1 whose window at `i` is `{i − rate, i}` on each axis
/// (zeros before the start). On a dense map whose positions `≡ rate − 1 (mod rate)` hold a
/// strided network's grid, its values at the positions `≡ 2·rate − 1 (mod 2·rate)` are that
/// network's 2×2/2 pool of the grid.
pub fn dense_avg_pool_2x2(x: &Tensor, rate: usize) -> Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    let back = |t: &Tensor, dim: usize, size: usize| -> Result<Tensor> {
        if rate >= size {
            return t.zeros_like();
        }
        t.pad_with_zeros(dim, rate, 0)?.narrow(dim, 0, size)
    };
    let rows = (x + back(x, 2, h)?)?;
    let both = (&rows + back(&rows, 3, w)?)?;
    both * 0.25
}

/// A down block's shortcut on a dense map: the dense average pool, the new channels as
/// zeros, added to the block's output `h`, then ReLU.
pub fn dense_shortcut_add_relu(h: &Tensor, x: &Tensor, rate: usize) -> Result<Tensor> {
    let pooled = dense_avg_pool_2x2(x, rate)?;
    let (_, cin, _, _) = pooled.dims4()?;
    let (_, cout, _, _) = h.dims4()?;
    let pooled = pooled.pad_with_zeros(1, 0, cout - cin)?;
    (h + pooled)?.relu()
}
