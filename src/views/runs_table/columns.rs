//! The columns a runs table can show: a run's status and epochs, any of its metrics, any of
//! its settings by dotted key. Each has a stable key, the one the remembered choice stores.

use std::cmp::Ordering;

use super::metric::Metric;
use super::record::RunRecord;

/// One column of the table (the frozen select and name columns are not among them).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Column {
    Status,
    /// Epochs done / planned.
    Epochs,
    Metric(Metric),
    /// A setting by its dotted key.
    Setting(String),
}

impl Column {
    /// The key the remembered choice stores: `status`, `epochs`, a metric's key, or a
    /// setting's dotted path.
    pub fn key(&self) -> String {
        match self {
            Column::Status => "status".into(),
            Column::Epochs => "epochs".into(),
            Column::Metric(m) => m.key().into(),
            Column::Setting(path) => path.clone(),
        }
    }

    pub fn parse(key: &str) -> Self {
        match key {
            "status" => Column::Status,
            "epochs" => Column::Epochs,
            _ => {
                Metric::parse(key).map_or_else(|| Column::Setting(key.to_string()), Column::Metric)
            }
        }
    }

    /// The header: a metric's label, a setting's path without its section when that is
    /// unambiguous enough (`method.asm.warmup` shows as `asm.warmup`).
    pub fn label(&self) -> String {
        match self {
            Column::Status => "status".into(),
            Column::Epochs => "epochs done".into(),
            Column::Metric(m) => m.label().into(),
            Column::Setting(path) => match path.split_once('.') {
                _ if path == "method.name" => "method".into(),
                Some(("method" | "corruption" | "data" | "train" | "model", rest)) => rest.into(),
                _ => path.clone(),
            },
        }
    }

    /// The cell of one run.
    pub fn text(&self, run: &RunRecord) -> String {
        match self {
            Column::Status => run.status.clone(),
            Column::Epochs => format!("{}/{}", run.epochs_done, run.epochs_total),
            Column::Metric(m) => run
                .metrics
                .get(m)
                .map_or_else(|| "—".into(), |v| m.format(*v)),
            Column::Setting(key) => run
                .setting(key)
                .map_or_else(|| "—".into(), |v| v.text.clone()),
        }
    }

    /// The number a run has in this column, if any.
    pub fn number(&self, run: &RunRecord) -> Option<f64> {
        match self {
            Column::Status => None,
            Column::Epochs => Some(run.epochs_done as f64),
            Column::Metric(m) => run.metrics.get(m).copied(),
            Column::Setting(key) => run.setting(key).and_then(|v| v.number),
        }
    }

    /// Orders two runs by this column: numbers by value, text by text; a run without a value
    /// sorts last either way (the caller reverses only the ones with values).
    pub fn compare(&self, a: &RunRecord, b: &RunRecord) -> Ordering {
        match (self.number(a), self.number(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => self.text(a).cmp(&self.text(b)),
        }
    }
}

/// What a new runs table shows: what a comparison of methods, noise and imbalance needs,
/// the settings that tell runs apart first, then the metrics, then the rest.
pub fn default_columns() -> Vec<Column> {
    [
        "method.name",
        "corruption.noise",
        "corruption.noise_rate",
        "corruption.imbalance_factor",
        "seed",
        "best_overall",
        "best_mean",
        "last_overall",
        "last_mean",
        "best_macro_f1",
        "status",
        "model.backbone",
        "train.epochs",
        "wall_time",
    ]
    .into_iter()
    .map(Column::parse)
    .collect()
}
