//! The figure plug: what a figure of one run is to the exporters, the workbench and the CLI.
//! A new figure is one module implementing [`Figure`] and one line in [`super::FIGURES`];
//! a panel names the figure it exports by the same value.

use super::canvas::{Areas, FigureResult, FigureSize, Style, Tile};
use crate::contract::run::view::RunView;
use crate::views::Error;
use crate::views::tables::csv_line;

/// Which epoch a one-epoch figure shows (1-based); None: the best epoch for the confusion
/// matrix and per-class bars, the latest snapshot for attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FigureOptions {
    pub epoch: Option<usize>,
}

/// One figure of a run: its file name, size, whether the run has its data, its drawing and
/// the numbers behind it.
pub trait Figure: Sync {
    /// The file stem it is written under (`curves` → `curves.png`, `curves.csv`).
    fn key(&self) -> &'static str;

    /// The size it gets unless one is asked for.
    fn default_size(&self) -> FigureSize {
        FigureSize::default()
    }

    /// Whether the run has what this figure shows.
    fn available(&self, view: &RunView) -> bool;

    /// Draws it on the white canvas; `label` names the run ("CE - run id") for the title.
    fn draw(
        &self,
        areas: Areas<'_, '_>,
        st: &Style,
        view: &RunView,
        options: FigureOptions,
        label: &str,
    ) -> FigureResult<Vec<Tile>>;

    /// The numbers behind it as CSV: one row per plotted point, long format, with the same
    /// epoch picks as the drawing.
    fn csv(&self, view: &RunView, options: FigureOptions) -> FigureResult<String>;
}

/// A figure as the registry, panels and prompts hold it.
pub type FigureRef = &'static dyn Figure;

/// Figures are told apart by their file name.
pub fn same(a: FigureRef, b: FigureRef) -> bool {
    a.key() == b.key()
}

/// A CSV being written: the formatting every figure's numbers share.
pub struct Csv<'v> {
    view: &'v RunView,
    out: String,
}

impl<'v> Csv<'v> {
    pub fn new(view: &'v RunView, header: &[&str]) -> Self {
        let mut csv = Self {
            view,
            out: String::new(),
        };
        csv.row(header.iter().map(|h| h.to_string()).collect());
        csv
    }

    pub fn row(&mut self, fields: Vec<String>) {
        self.out += &csv_line(&fields);
    }

    /// A number; empty where it is not finite.
    pub fn num(v: f64) -> String {
        if v.is_finite() {
            format!("{v}")
        } else {
            String::new()
        }
    }

    /// A number that may be missing.
    pub fn opt(v: Option<f32>) -> String {
        v.map_or(String::new(), |v| Self::num(v as f64))
    }

    /// Class `k`'s name (its index where the run names fewer classes).
    pub fn class(&self, k: usize) -> String {
        self.view
            .classes
            .get(k)
            .cloned()
            .unwrap_or_else(|| k.to_string())
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// The epoch a one-epoch figure shows: the one asked for, or the best.
pub fn epoch_point(
    view: &RunView,
    wanted: Option<usize>,
) -> FigureResult<&crate::contract::run::view::EpochPoint> {
    match wanted {
        Some(e) => view.epochs.iter().find(|p| p.epoch == e),
        None => view.best(),
    }
    .ok_or_else(|| {
        Error::Draw(format!(
            "{} has no epoch {}",
            view.run_id,
            wanted.unwrap_or(0)
        ))
    })
}

/// The snapshot of 1-based `epoch` among `(epoch, snapshot)` pairs, or the latest.
pub fn snapshot_at<T>(list: &[(usize, T)], epoch: Option<usize>) -> Option<&T> {
    match epoch {
        Some(e) => list.iter().find(|(x, _)| *x == e),
        None => list.last(),
    }
    .map(|(_, s)| s)
}
