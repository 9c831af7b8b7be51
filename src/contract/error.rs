//! The contract's one error type: what can go wrong reading a preset, a run directory or
//! an event, each naming the file (and line or field) it is about.

use std::path::PathBuf;

use super::config::Problem;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// "cannot read", "cannot write", "cannot lock", …
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a run directory (no config.toml)", path.display())]
    NotARun { path: PathBuf },
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
    /// A base64 blob inside an event that does not decode.
    #[error("undecodable event data: {0}")]
    Decode(String),
    /// A run directory another ferlab is training (its process id, when known).
    #[error("{} is being trained by another ferlab{}; wait for it to end or stop it first", path.display(), holder.as_ref().map(|h| format!(" (process {h})")).unwrap_or_default())]
    Locked {
        path: PathBuf,
        holder: Option<String>,
    },
    /// A file or folder of a run that is a link to somewhere else: training through it
    /// would overwrite what it points to (another run's checkpoints, say).
    #[error("{} {what}: a run writes only inside its own folder, so it never overwrites another run's files; replace the link with a copy of what it points to", path.display())]
    Linked { path: PathBuf, what: String },
    /// One setting's value that cannot be used (`device`, say), and why.
    #[error("{field}: {message}")]
    Field { field: String, message: String },
}

impl Error {
    /// Every problem, for showing beside the fields of an editor.
    pub fn problems(&self) -> &[Problem] {
        match self {
            Self::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }

    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            what,
            path: path.into(),
            source,
        }
    }
}
