//! The forward pass EAC and LNSU share: an image and its mirror image through the model,
//! and how far the class activation maps are from following the flip.

use candle_core::{Result, Tensor};

use crate::compute::model::cam::{class_maps, flip_horizontal, flip_mse};
use crate::compute::model::{FerModel, Mode, Output};

pub struct FlipPair {
    /// The model's output on the images as given.
    pub out: Output,
    /// Per sample and class, N × K: mean over the map of (M(x) − flip(M(flip x)))².
    pub flip_mse: Tensor,
}

/// Two forward passes (as in the official code, so batch-norm statistics stay per view);
/// the maps use the head's weights detached, as the official code does, so the consistency
/// loss trains the backbone only.
pub fn forward_with_flip(model: &FerModel, x: &Tensor, seed: u64) -> Result<FlipPair> {
    forward_pair(model, x, &flip_horizontal(x)?, seed)
}

/// The same for a given mirrored view `x_mirrored` of `x` (augmented on its own).
pub fn forward_pair(
    model: &FerModel,
    x: &Tensor,
    x_mirrored: &Tensor,
    seed: u64,
) -> Result<FlipPair> {
    let out = model.forward(x, Mode::Train { seed })?;
    let flipped = model.forward(x_mirrored, Mode::Train { seed })?;
    pair_of(out, &flipped, model.fc.weight.as_tensor())
}

/// The pair from the two views' outputs and the head's weights `head` (K × F), which the
/// maps read detached.
pub fn pair_of(out: Output, flipped: &Output, head: &Tensor) -> Result<FlipPair> {
    let head = head.detach();
    let maps = class_maps(&out.fmap, &head)?;
    let maps_flipped = class_maps(&flipped.fmap, &head)?;
    Ok(FlipPair {
        flip_mse: flip_mse(&maps, &maps_flipped)?,
        out,
    })
}
