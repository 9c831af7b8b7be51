//! Views: the workbench window, publication figures, results tables and sweeps of runs.
//! They read runs through the contract's fold and start the compute engine; they never
//! hold a tensor.

pub mod compare;
pub mod error;
pub mod figures;
pub mod format;
pub mod palette;
pub mod runs_table;
pub mod series;
pub mod sweep;
pub mod tables;
pub mod ui;

pub use error::{Error, Result};
