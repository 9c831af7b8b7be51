//! Run directories: resolved config, event log, checkpoints, figures; atomic writes.

pub mod atomic;
pub mod checkpoint;
pub mod dir;
pub mod lock;
pub mod recorder;

pub use dir::RunDir;
pub use lock::RunLock;
pub use recorder::Recorder;
