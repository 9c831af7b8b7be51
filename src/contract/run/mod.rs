//! Run directories: resolved config, event log, figures; atomic writes; and the one fold of
//! a run's events into its state ([`view::RunView`]), which every reader of a run goes
//! through.

pub mod atomic;
pub mod dir;
pub mod lock;
pub mod recorder;
pub mod results;
pub mod view;

pub use dir::RunDir;
pub use lock::RunLock;
pub use recorder::Recorder;
