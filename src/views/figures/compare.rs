//! Several runs side by side: validation accuracy over epochs, and per-class accuracy at
//! each run's best epoch.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{FigureResult, Style, Tile, err};
use super::chart::{BarGroup, LineChart, Series, bar_chart, color, line_chart};
use crate::contract::run::view::RunView;
use crate::views::Error;

pub fn accuracy<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    st: &Style,
    runs: &[(String, &RunView)],
) -> FigureResult<Vec<Tile>> {
    let area = area
        .titled("Validation accuracy", st.title())
        .map_err(err)?;
    let panes = area.split_evenly((1, 2));
    for (pane, (title, mean)) in panes
        .iter()
        .zip([("overall", false), ("mean (class-averaged)", true)])
    {
        let series: Vec<Series> = runs
            .iter()
            .enumerate()
            .map(|(i, (label, view))| {
                let points = view
                    .epochs
                    .iter()
                    .map(|p| {
                        let v = if mean { p.val.mean } else { p.val.overall };
                        (p.epoch as f64, 100.0 * v as f64)
                    })
                    .collect();
                Series::new(label.clone(), color(i), points)
            })
            .collect();
        line_chart(
            pane,
            st,
            &LineChart {
                title,
                x_label: "epoch",
                y_label: "accuracy (%)",
                y_range: Some((0.0, 100.0)),
                legend: SeriesLabelPosition::LowerRight,
            },
            &series,
        )?;
    }
    Ok(Vec::new())
}

pub fn per_class<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    st: &Style,
    runs: &[(String, &RunView)],
) -> FigureResult<Vec<Tile>> {
    let classes = runs
        .first()
        .map(|(_, v)| v.classes.clone())
        .unwrap_or_default();
    if let Some((label, _)) = runs.iter().find(|(_, v)| v.classes != classes) {
        return Err(Error::Draw(format!(
            "{label} has other classes than the first run: a per-class comparison needs the same classes"
        )));
    }
    let area = area
        .titled("Per-class accuracy at each run's best epoch", st.title())
        .map_err(err)?;
    let groups: Vec<BarGroup> = runs
        .iter()
        .enumerate()
        .map(|(i, (label, view))| BarGroup {
            name: label.clone(),
            color: color(i),
            values: view
                .best()
                .map(|b| {
                    b.val
                        .per_class
                        .iter()
                        .map(|v| v.map(|v| 100.0 * v as f64))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect();
    bar_chart(&area, st, "", "accuracy (%)", &classes, &groups, 105.0)?;
    Ok(Vec::new())
}
