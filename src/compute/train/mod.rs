//! Training: the loop, its controls, evaluation and the engine thread.

pub mod checkpoint;
pub mod control;
pub mod device;
pub mod engine;
pub mod evaluate;
pub mod logit_adjust;
pub mod trainer;
pub mod tta;

pub use engine::{Engine, Launch};
pub use trainer::Outcome;
