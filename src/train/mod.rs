//! Training: the loop, its controls, events, evaluation and the engine thread.

pub mod control;
pub mod device;
pub mod engine;
pub mod evaluate;
pub mod event;
pub mod trainer;

pub use engine::{Engine, Launch};
pub use event::{Event, Level, Position};
pub use trainer::Outcome;
