//! Validation accuracy of each class at one epoch, as bars.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{FigureResult, Style, Tile, err};
use super::chart::{BarGroup, bar_chart, color};
use crate::contract::event::Metrics;

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
