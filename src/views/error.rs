//! The views' one error type: figures, tables and sweeps that cannot be drawn, written or
//! run, the window's own checks, and the lower layers' errors passed through.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Contract(#[from] crate::contract::Error),
    #[error(transparent)]
    Compute(#[from] crate::compute::Error),
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// "cannot read", "cannot write", …
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file that cannot be used, and why.
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    /// A figure plotters could not draw.
    #[error("{0}")]
    Draw(String),
    /// A table that cannot be made of these runs (different classes, no embeddings).
    #[error("{0}")]
    Table(String),
    /// A sweep that cannot be expanded, run or collected.
    #[error("{0}")]
    Sweep(String),
    /// The window (its tour, benchmark or checks) could not do what was asked.
    #[error("{0}")]
    Window(String),
}

impl Error {
    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            what,
            path: path.into(),
            source,
        }
    }

    pub fn file(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        Self::File {
            path: path.into(),
            message: message.to_string(),
        }
    }
}
