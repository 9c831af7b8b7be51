//! The model's heavy operations. On the CPU they run ferlab's own kernels (custom candle ops
//! with backward passes); on other devices they fall back to candle's own operations, so
//! model code is the same everywhere.

pub mod atrous;
pub mod batchnorm;
pub mod buffer;
pub mod conv;
pub mod fused;
pub mod gemm;
pub mod kernels;
pub mod pool;
pub mod reference;
pub mod shortcut;
pub mod simd;
pub mod storage;

use std::sync::{Arc, Mutex};

use candle_core::{Result, Tensor};

use crate::contract::config::Kernels;

use batchnorm::{AddReluOp, AffineOp, BatchNormOp, BatchStats, ReluOp};
use conv::Conv2dOp;
pub use fused::PoolSpec;
use fused::{ConvAffineOp, ConvBnOp};
use pool::MaxPool2dOp;
use shortcut::DownShortcutOp;
pub use storage::is_cpu_f32;

fn fast(kernels: Kernels, x: &Tensor) -> bool {
    kernels == Kernels::Auto && is_cpu_f32(x)
}

/// `conv2d(x, w)` with square stride and zero padding; no bias.
pub fn conv2d(
    x: &Tensor,
    w: &Tensor,
    stride: usize,
    pad: usize,
    kernels: Kernels,
) -> Result<Tensor> {
    if fast(kernels, x) {
        x.contiguous()?
            .apply_op2(&w.contiguous()?, Conv2dOp { stride, pad })
    } else {
        x.conv2d(w, pad, stride, 1, 1)
    }
}

/// Evaluation-mode `conv2d` followed by a per-channel affine (batch norm with running
/// statistics) and optionally ReLU, fused into the convolution's output pass on the CPU.
/// Forward only: use it where no gradient is needed.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_affine(
    x: &Tensor,
    w: &Tensor,
    scale: &Tensor,
    shift: &Tensor,
    stride: usize,
    pad: usize,
    relu_after: bool,
    kernels: Kernels,
) -> Result<Tensor> {
    let op = ConvAffineOp {
        stride,
        pad,
        relu: relu_after,
    };
    conv_affine(x, w, scale, shift, op, kernels, false)
}

/// Training-mode `conv2d` followed by a per-channel affine with a constant scale and a
/// learned shift (the face ResNet's folded scale layers) and optionally ReLU, as one graph
/// node on the CPU. A tracked (learned) scale takes the separate ops, which give it its
/// gradient.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_affine_train(
    x: &Tensor,
    w: &Tensor,
    scale: &Tensor,
    shift: &Tensor,
    stride: usize,
    pad: usize,
    relu_after: bool,
    kernels: Kernels,
) -> Result<Tensor> {
    let op = ConvAffineOp {
        stride,
        pad,
        relu: relu_after,
    };
    conv_affine(x, w, scale, shift, op, kernels, true)
}

/// `conv2d_affine` (`train` false: no graph is recorded, so evaluation keeps no activations
/// alive) and `conv2d_affine_train`.
fn conv_affine(
    x: &Tensor,
    w: &Tensor,
    scale: &Tensor,
    shift: &Tensor,
    op: ConvAffineOp,
    kernels: Kernels,
    train: bool,
) -> Result<Tensor> {
    if fast(kernels, x) && !(train && scale.track_op()) {
        let ss = Tensor::cat(&[&scale.detach(), shift], 0)?;
        let (x, w) = (x.contiguous()?, w.contiguous()?);
        return if train {
            x.apply_op3(&w, &ss, op)
        } else {
            x.detach().apply_op3_no_bwd(&w.detach(), &ss.detach(), &op)
        };
    }
    let z = conv2d(x, w, op.stride, op.pad, kernels)?;
    channel_affine(&z, scale, shift, op.relu, kernels)
}

/// The result of a training-mode batch norm: output, batch mean and biased variance
/// (detached), elements per channel.
pub type BatchNormOutput = (Tensor, Tensor, Tensor, usize);

/// Training-mode `pool(relu(bn(conv(x, w))))` (ReLU and pooling optional) as one graph node
/// on the CPU. Returns the output and the batch statistics of the convolution's output.
#[allow(clippy::too_many_arguments)]
pub fn conv_bn_train(
    x: &Tensor,
    w: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    (stride, pad): (usize, usize),
    eps: f64,
    relu_after: bool,
    pool: Option<PoolSpec>,
    kernels: Kernels,
) -> Result<BatchNormOutput> {
    if fast(kernels, x) {
        let oc = w.dim(0)?;
        let stats = Arc::new(Mutex::new(BatchStats::default()));
        let op = ConvBnOp::new(stride, pad, eps, relu_after, pool, stats.clone());
        let gb = Tensor::cat(&[gamma, beta], 0)?;
        let y = x.contiguous()?.apply_op3(&w.contiguous()?, &gb, op)?;
        let s = stats.lock().expect("stats lock");
        let mean = Tensor::from_slice(&s.mean, oc, x.device())?;
        let var = Tensor::from_slice(&s.var, oc, x.device())?;
        return Ok((y, mean, var, s.count));
    }
    let z = conv2d(x, w, stride, pad, kernels)?;
    let (y, mean, var, count) = batch_norm_train(&z, gamma, beta, eps, relu_after, kernels)?;
    let y = match pool {
        Some(p) => max_pool2d(&y, p.k, p.stride, p.pad, kernels)?,
        None => y,
    };
    Ok((y, mean, var, count))
}

/// `relu(a + b)`: a residual connection and its activation in one pass.
pub fn add_relu(a: &Tensor, b: &Tensor, kernels: Kernels) -> Result<Tensor> {
    if fast(kernels, a) && a.dims() == b.dims() {
        a.contiguous()?.apply_op2(&b.contiguous()?, AddReluOp)
    } else {
        (a + b)?.relu()
    }
}

/// The face ResNet's down-block shortcut `relu(pad(h) + pad(avg_pool_2x2(x)))` (no pooling
/// when `halves` is false): the branch padded at the bottom and right to the pooled map's
/// size, the pooled input with zero channels to the branch's. One graph node on the CPU.
pub fn down_shortcut_add_relu(
    h: &Tensor,
    x: &Tensor,
    halves: bool,
    kernels: Kernels,
) -> Result<Tensor> {
    if fast(kernels, x) {
        return h
            .contiguous()?
            .apply_op2(&x.contiguous()?, DownShortcutOp { halves });
    }
    reference::down_shortcut_add_relu(h, x, halves)
}

/// Max pooling with any kernel, stride and padding (padding counts as -∞).
pub fn max_pool2d(
    x: &Tensor,
    k: usize,
    stride: usize,
    pad: usize,
    kernels: Kernels,
) -> Result<Tensor> {
    if fast(kernels, x) {
        return x.contiguous()?.apply_op1(MaxPool2dOp::new(k, stride, pad));
    }
    if pad == 0 && k == stride {
        // Not candle's `max_pool2d_with_stride`: its backward (candle 0.11.1) divides the
        // gradient by k², so every gradient below a 2×2 pool came out 4× too small.
        return reference::max_pool2d_tiled(x, k);
    }
    reference::max_pool2d(x, k, stride, pad)
}

pub fn relu(x: &Tensor, kernels: Kernels) -> Result<Tensor> {
    if fast(kernels, x) {
        x.contiguous()?.apply_op1(ReluOp)
    } else {
        x.relu()
    }
}

/// Training-mode batch norm over (N, H, W) of an NCHW (or NC) tensor, optionally followed
/// by ReLU. Returns the output and the batch mean and biased variance (detached), with the
/// number of elements per channel.
pub fn batch_norm_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
    relu_after: bool,
    kernels: Kernels,
) -> Result<BatchNormOutput> {
    let dims = x.dims().to_vec();
    let c = dims[1];
    let count = x.elem_count() / c;
    if fast(kernels, x) {
        let stats = Arc::new(Mutex::new(BatchStats::default()));
        let op = BatchNormOp {
            eps,
            relu: relu_after,
            stats: stats.clone(),
        };
        let y = x
            .contiguous()?
            .apply_op3(&gamma.contiguous()?, &beta.contiguous()?, op)?;
        let s = stats.lock().expect("stats lock");
        let mean = Tensor::from_slice(&s.mean, c, x.device())?;
        let var = Tensor::from_slice(&s.var, c, x.device())?;
        return Ok((y, mean, var, count));
    }
    reference::batch_norm_train(x, gamma, beta, eps, relu_after)
}

/// Per-channel `x · scale + shift` (batch norm with fixed statistics), optionally + ReLU.
pub fn channel_affine(
    x: &Tensor,
    scale: &Tensor,
    shift: &Tensor,
    relu_after: bool,
    kernels: Kernels,
) -> Result<Tensor> {
    if fast(kernels, x) {
        return x.contiguous()?.apply_op3(
            &scale.contiguous()?,
            &shift.contiguous()?,
            AffineOp { relu: relu_after },
        );
    }
    reference::channel_affine(x, scale, shift, relu_after)
}
