//! The same operations from differentiable candle primitives: the path on devices without
//! ferlab kernels, and the reference the kernels are tested against.

use candle_core::{D, Result, Tensor};

/// Max pooling with padding (padding counts as the lowest value).
pub fn max_pool2d(x: &Tensor, k: usize, stride: usize, pad: usize) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let x = if pad > 0 {
        let row = Tensor::full(f32::MIN, (n, c, pad, w), x.device())?.to_dtype(x.dtype())?;
        let x = Tensor::cat(&[&row, x, &row], 2)?;
        let col =
            Tensor::full(f32::MIN, (n, c, h + 2 * pad, pad), x.device())?.to_dtype(x.dtype())?;
        Tensor::cat(&[&col, &x, &col], 3)?
    } else {
        x.clone()
    };
    let (hp, wp) = (h + 2 * pad, w + 2 * pad);
    let (oh, ow) = ((hp - k) / stride + 1, (wp - k) / stride + 1);
    let rows = Tensor::arange_step(0u32, (oh * stride) as u32, stride as u32, x.device())?;
    let cols = Tensor::arange_step(0u32, (ow * stride) as u32, stride as u32, x.device())?;
    let mut best: Option<Tensor> = None;
    for i in 0..k {
        for j in 0..k {
            let win = x.narrow(2, i, hp - i)?.narrow(3, j, wp - j)?.contiguous()?;
            let win = win
                .index_select(&rows, 2)?
                .contiguous()?
                .index_select(&cols, 3)?;
            best = Some(match best {
                None => win,
                Some(b) => b.maximum(&win)?,
            });
        }
    }
    Ok(best.expect("kernel is at least 1x1"))
}

/// Max pooling over non-overlapping k × k tiles (stride k, no padding). Each tile's maximum
/// is picked by index (the first one, row-major, as PyTorch and ferlab's kernel do) and
/// gathered, so the backward pass sends the tile's gradient to that one element — also
/// when several are tied, as in flat or erased regions, where a reduction's backward
/// would send it to every tied element. Rows and columns that do not fill a tile are
/// dropped, as in PyTorch.
pub fn max_pool2d_tiled(x: &Tensor, k: usize) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let (oh, ow) = (h / k, w / k);
    let tiles = x
        .narrow(2, 0, oh * k)?
        .narrow(3, 0, ow * k)?
        .reshape((n, c, oh, k, ow, k))?
        .permute((0, 1, 2, 4, 3, 5))?
        .contiguous()?
        .reshape((n, c, oh, ow, k * k))?;
    let first_max = tiles.detach().argmax_keepdim(D::Minus1)?;
    tiles.gather(&first_max, D::Minus1)?.squeeze(D::Minus1)
}

/// Training-mode batch norm; returns (y, mean, biased var, elements per channel).
pub fn batch_norm_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
    relu_after: bool,
) -> Result<super::BatchNormOutput> {
    let dims = x.dims().to_vec();
    let c = dims[1];
    let count = x.elem_count() / c;
    // Channels last, flattened: (N·H·W, C).
    let rank = dims.len();
    let flat = if rank == 2 {
        x.clone()
    } else {
        x.flatten_from(2)?.transpose(1, 2)?.flatten_to(1)?
    };
    let mean = flat.mean_keepdim(0)?;
    let centered = flat.broadcast_sub(&mean)?;
    let var = centered.sqr()?.mean_keepdim(0)?;
    let mut shape = vec![1usize; rank];
    shape[1] = c;
    let scale = (var.affine(1.0, eps)?.sqrt()?.recip()?.reshape(c)? * gamma)?;
    let y = x
        .broadcast_sub(&mean.reshape(shape.as_slice())?)?
        .broadcast_mul(&scale.reshape(shape.as_slice())?)?
        .broadcast_add(&beta.reshape(shape.as_slice())?)?;
    let y = if relu_after { y.relu()? } else { y };
    Ok((
        y,
        mean.reshape(c)?.detach(),
        var.reshape(c)?.detach(),
        count,
    ))
}

/// Per-channel `x · scale + shift`, optionally followed by ReLU.
pub fn channel_affine(
    x: &Tensor,
    scale: &Tensor,
    shift: &Tensor,
    relu_after: bool,
) -> Result<Tensor> {
    let rank = x.rank();
    let mut shape = vec![1usize; rank];
    shape[1] = x.dim(1)?;
    let y = x
        .broadcast_mul(&scale.reshape(shape.as_slice())?)?
        .broadcast_add(&shift.reshape(shape.as_slice())?)?;
    if relu_after { y.relu() } else { Ok(y) }
}

/// TensorFlow's 2×2/2 'valid' average pool: an odd last row or column is dropped. Written
/// with narrow, reshape and sum so its backward is candle's well-tested ones.
pub fn avg_pool_2x2(x: &Tensor) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let (oh, ow) = (h / 2, w / 2);
    x.narrow(2, 0, 2 * oh)?
        .narrow(3, 0, 2 * ow)?
        .contiguous()?
        .reshape((n, c, oh, 2, ow, 2))?
        .sum(5)?
        .sum(3)?
        .affine(0.25, 0.0)
}

/// The face ResNet's down-block shortcut: `relu(pad(h) + pad(pool(x)))` with the branch
/// `h` padded with zeros at the bottom and right to the (pooled) input's size and the input
/// with zero channels to the branch's.
pub fn down_shortcut_add_relu(h: &Tensor, x: &Tensor, halves: bool) -> Result<Tensor> {
    let pooled = if halves { avg_pool_2x2(x)? } else { x.clone() };
    let (_, cin, ph, pw) = pooled.dims4()?;
    let (_, cout, hh, hw) = h.dims4()?;
    let h = h
        .pad_with_zeros(2, 0, ph.saturating_sub(hh))?
        .pad_with_zeros(3, 0, pw.saturating_sub(hw))?;
    let pooled = pooled.pad_with_zeros(1, 0, cout - cin)?;
    (h + pooled)?.relu()
}
