//! Compute's one error type: bad data files (naming file and line), checkpoints, tensor
//! operations, devices, and the contract's own errors passed through.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Contract(#[from] crate::contract::Error),
    /// A file of a run or a dataset that cannot be read or written.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// "cannot read", "cannot write", "cannot create the run directory", …
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
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
    /// A measurement (t-SNE, MDS) that could not be made.
    #[error("{0}")]
    Analysis(String),
    /// The engine's thread could not start or ended without an outcome.
    #[error("{0}")]
    Thread(String),
}

impl Error {
    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            what,
            path: path.into(),
            source,
        }
    }

    /// What went wrong, without the file or line a caller names itself (a skipped image's
    /// reason, say).
    pub fn reason(&self) -> String {
        match self {
            Self::File { message, .. } | Self::Line { message, .. } => message.clone(),
            Self::Data(message) => message.clone(),
            other => other.to_string(),
        }
    }

    pub fn file(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        Self::File {
            path: path.into(),
            message: message.to_string(),
        }
    }
}
