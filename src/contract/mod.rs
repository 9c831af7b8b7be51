//! The contract: what an experiment is, what a run reports and where it keeps it. The
//! experiment schema and its validation ([`config`]), the event types ([`event`]), the run
//! directory with its recorder and the one fold of an event log into a run's state
//! ([`run`]). Plain data: no tensors, no windows, no plots. Everything else is written
//! against it; it imports nothing of the crate outside itself.

pub mod codec;
pub mod config;
pub mod error;
pub mod event;
pub mod run;
pub mod seed;

pub use error::Error;
