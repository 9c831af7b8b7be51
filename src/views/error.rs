//! The views' one error type: figures and tables that cannot be drawn or written, and the
//! lower layers' errors passed through.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Contract(#[from] crate::contract::Error),
    #[error(transparent)]
    Compute(#[from] crate::compute::Error),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A figure plotters could not draw.
    #[error("{0}")]
    Draw(String),
    /// A sweep that cannot be expanded, run or collected.
    #[error("{0}")]
    Sweep(String),
}
