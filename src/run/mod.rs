//! Run directories: resolved config, event log, checkpoints, figures; atomic writes.

pub mod atomic;
pub mod checkpoint;
pub mod dir;
pub mod recorder;

pub use dir::RunDir;
pub use recorder::Recorder;
