//! The runs table's choices (columns, sort, grouping), remembered per runs folder in
//! `.ferlab-runs-table.toml` beside the runs: each project's folder keeps the columns its
//! comparisons need, and the file travels with the folder.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::columns::{Column, default_columns};
use super::query::{Grouping, TableQuery};
use crate::views::{Error, Result};

pub const FILE_NAME: &str = ".ferlab-runs-table.toml";

/// The remembered part of a [`TableQuery`] (filters are not remembered: a filter left on
/// would hide runs the next time the folder opens).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TablePrefs {
    /// Column keys: `status`, `epochs`, a metric (`best_overall`, …) or a setting's dotted key.
    pub columns: Vec<String>,
    #[serde(default)]
    pub sort: Option<String>,
    #[serde(default)]
    pub descending: bool,
    #[serde(default = "no_grouping")]
    pub grouping: String,
}

fn no_grouping() -> String {
    Grouping::None.key().into()
}

impl TablePrefs {
    pub fn path(root: &Path) -> PathBuf {
        root.join(FILE_NAME)
    }

    pub fn of(query: &TableQuery) -> Self {
        Self {
            columns: query.columns.iter().map(Column::key).collect(),
            sort: query.sort.as_ref().map(|(c, _)| c.key()),
            descending: query.sort.as_ref().is_some_and(|(_, d)| *d),
            grouping: query.grouping.key().into(),
        }
    }

    /// The query these choices make (no filters).
    pub fn query(&self) -> TableQuery {
        TableQuery {
            columns: self.columns.iter().map(|k| Column::parse(k)).collect(),
            sort: self
                .sort
                .as_deref()
                .map(|k| (Column::parse(k), self.descending)),
            grouping: Grouping::parse(&self.grouping).unwrap_or_default(),
            ..TableQuery::default()
        }
    }

    /// The choices remembered for `root`: None when it has none yet; an error naming the
    /// file and the field when it cannot be read.
    pub fn load(root: &Path) -> Result<Option<Self>> {
        let path = Self::path(root);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("cannot read", path, e)),
        };
        let prefs: Self = toml::from_str(&text).map_err(|e| Error::file(&path, e))?;
        if Grouping::parse(&prefs.grouping).is_none() {
            let valid: Vec<&str> = Grouping::ALL.iter().map(|g| g.key()).collect();
            return Err(Error::file(
                &path,
                format!(
                    "grouping = {:?}: expected one of {}",
                    prefs.grouping,
                    valid.join(", ")
                ),
            ));
        }
        Ok(Some(prefs))
    }

    pub fn save(&self, root: &Path) -> Result<()> {
        let path = Self::path(root);
        let text = toml::to_string_pretty(self).map_err(|e| Error::file(&path, e))?;
        std::fs::write(&path, text).map_err(|e| Error::io("cannot write", path, e))
    }
}

impl Default for TablePrefs {
    fn default() -> Self {
        Self {
            columns: default_columns().iter().map(Column::key).collect(),
            sort: None,
            descending: false,
            grouping: no_grouping(),
        }
    }
}
