//! Validation accuracy of each class at one epoch, as bars.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::Areas;
use super::canvas::{FigureResult, Style, Tile, err};
use super::chart::{BarGroup, bar_chart, color};
use super::figure::{Csv, Figure, FigureOptions, epoch_point};
use crate::contract::event::Metrics;
use crate::contract::run::view::RunView;
use crate::with_area;

/// Each class's validation accuracy at the best epoch (or the one asked for).
pub struct PerClass;

impl Figure for PerClass {
    fn key(&self) -> &'static str {
        "per_class"
    }

    fn available(&self, view: &RunView) -> bool {
        !view.epochs.is_empty()
    }

    fn draw(
        &self,
        areas: Areas<'_, '_>,
        st: &Style,
        view: &RunView,
        options: FigureOptions,
        label: &str,
    ) -> FigureResult<Vec<Tile>> {
        let p = epoch_point(view, options.epoch)?;
        let title = format!("Per-class accuracy, epoch {} - {label}", p.epoch);
        with_area!(areas, |a| draw(a, st, &view.classes, &p.val, &title))
    }

    fn csv(&self, view: &RunView, options: FigureOptions) -> FigureResult<String> {
        let p = epoch_point(view, options.epoch)?;
        let mut csv = Csv::new(view, &["epoch", "class", "accuracy", "val_count"]);
        for (k, acc) in p.val.per_class.iter().enumerate() {
            let n: u32 = p.val.confusion.get(k).map_or(0, |r| r.iter().sum());
            let row = vec![
                p.epoch.to_string(),
                csv.class(k),
                Csv::opt(*acc),
                n.to_string(),
            ];
            csv.row(row);
        }
        Ok(csv.finish())
    }
}

pub fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    st: &Style,
    classes: &[String],
    metrics: &Metrics,
    title: &str,
) -> FigureResult<Vec<Tile>> {
    let area = area.titled(title, st.title()).map_err(err)?;
    let group = BarGroup {
        name: "validation".into(),
        color: color(0),
        values: metrics
            .per_class
            .iter()
            .map(|v| v.map(|v| 100.0 * v as f64))
            .collect(),
    };
    let caption = format!(
        "overall {:.2}%, mean {:.2}%",
        100.0 * metrics.overall,
        100.0 * metrics.mean
    );
    bar_chart(
        &area,
        st,
        &caption,
        "accuracy (%)",
        classes,
        &[group],
        105.0,
    )?;
    Ok(Vec::new())
}
