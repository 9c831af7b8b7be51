//! Compute's one error type: bad data files (naming file and line), checkpoints, tensor
//! operations, devices, and the contract's own errors passed through.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Contract(#[from] crate::contract::Error),
    /// A data or checkpoint file that cannot be used, and why.
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("{path}, line {line}: {message}")]
    Line {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// Data that loaded but cannot be trained on (no images for a split, too few classes).
    #[error("{0}")]
    Data(String),
    #[error(transparent)]
    Tensor(#[from] candle_core::Error),
    /// A device that cannot be opened.
    #[error("{0}")]
    Device(String),
    /// A run that cannot go on (diverged, a resume that does not match its run directory).
    #[error("{0}")]
    Run(String),
}

impl Error {
    pub fn file(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        Self::File {
            path: path.into(),
            message: message.to_string(),
        }
    }
}
