//! The contract's one error type: what can go wrong reading a preset, a run directory or
//! an event, each naming the file (and line or field) it is about.

use std::path::PathBuf;

use super::config::Problem;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A preset or recorded config that is not valid TOML (or not the schema's shape).
    #[error("{origin}: {message}")]
    Syntax { origin: String, message: String },
    /// A preset whose values break the schema's rules, every problem named by field.
    #[error("{origin}: {} problem(s):\n{}", problems.len(), super::config::format_problems(problems))]
    Invalid {
        origin: String,
        problems: Vec<Problem>,
    },
    #[error("{path}: no Started event")]
    NoStart { path: PathBuf },
    #[error("{path}: the run has no finished epoch")]
    NoFinishedEpoch { path: PathBuf },
    #[error("{path}: the run failed before its first epoch ended: {error}")]
    FailedBeforeFirstEpoch { path: PathBuf, error: String },
    /// A base64 blob inside an event that does not decode (which blob, and why).
    #[error("{what}: {message}")]
    Decode { what: String, message: String },
    /// A run directory another process is writing.
    #[error("{path}: {message}")]
    Locked { path: PathBuf, message: String },
}

impl Error {
    /// Every problem, for showing beside the fields of an editor.
    pub fn problems(&self) -> &[Problem] {
        match self {
            Self::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
