//! The runs table's model, apart from its window: each run directory read once into a
//! [`RunRecord`] (settings by dotted key, metrics) and cached while its events file is
//! unchanged; columns for any setting or metric; filtering, sorting, grouping with
//! mean ± sd (n); the config diff of chosen runs; the choices remembered per runs folder.

pub mod columns;
pub mod metric;
pub mod prefs;
pub mod query;
pub mod record;
pub mod synthetic;

pub use columns::{Column, default_columns};
pub use metric::Metric;
pub use prefs::TablePrefs;
pub use query::{Group, Grouping, Rows, TableQuery, config_diff};
pub use record::{Catalog, RunRecord, SettingValue};

#[cfg(test)]
mod tests;
