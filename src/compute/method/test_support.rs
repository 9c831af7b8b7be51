//! Batches and step contexts the methods' unit tests share.

use candle_core::Tensor;

use super::{BatchTensors, StepContext};

/// A batch of `views` (one tensor each, same batch size) labelled 0, 1, …, classes − 1,
/// 0, … in turn, with dataset indices 0..n.
pub fn cyclic_batch(views: Vec<Tensor>, classes: u32) -> BatchTensors {
    let n = views[0].dim(0).expect("a batch dimension");
    let label_vec: Vec<u32> = (0..n as u32).map(|i| i % classes).collect();
    BatchTensors {
        labels: Tensor::new(label_vec.as_slice(), views[0].device()).expect("labels"),
        views,
        label_vec,
        indices: (0..n).collect(),
    }
}

/// The first step of a run of `epochs` one-step epochs.
pub fn first_step(epochs: usize, seed: u64) -> StepContext {
    StepContext {
        epoch: 0,
        step: 0,
        epochs,
        steps_per_epoch: 1,
        seed,
    }
}
