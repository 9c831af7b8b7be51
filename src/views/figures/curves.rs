//! Loss and accuracy over epochs: training and validation side by side.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{FigureResult, Style, Tile, err};
use super::chart::{LineChart, Series, color, line_chart};
use crate::contract::run::view::RunView;

pub fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    st: &Style,
    view: &RunView,
    title: &str,
) -> FigureResult<Vec<Tile>> {
    let area = area.titled(title, st.title()).map_err(err)?;
    let panes = area.split_evenly((1, 2));
    let points = |f: &dyn Fn(&crate::contract::run::view::EpochPoint) -> f64| -> Vec<(f64, f64)> {
        view.epochs.iter().map(|p| (p.epoch as f64, f(p))).collect()
    };
    let loss = [
        Series::new("train", color(0), points(&|p| p.train.loss as f64)),
        Series::new("validation", color(1), points(&|p| p.val.loss as f64)),
    ];
    line_chart(
        &panes[0],
        st,
        &LineChart {
            title: "Loss",
            x_label: "epoch",
            y_label: "loss",
            y_range: None,
            legend: SeriesLabelPosition::UpperRight,
        },
        &loss,
    )?;
    let accuracy = [
        Series::new(
            "train",
            color(0),
            points(&|p| 100.0 * p.train.accuracy as f64),
        ),
        // Mean before overall, so the overall accuracy is drawn on top where they meet
        // (one epoch of a balanced split: the same point).
        Series::new("val mean", color(2), points(&|p| 100.0 * p.val.mean as f64)).dashed(),
        Series::new(
            "val overall",
            color(1),
            points(&|p| 100.0 * p.val.overall as f64),
        ),
    ];
    line_chart(
        &panes[1],
        st,
        &LineChart {
            title: "Accuracy",
            x_label: "epoch",
            y_label: "accuracy (%)",
            y_range: Some((0.0, 100.0)),
            legend: SeriesLabelPosition::LowerRight,
        },
        &accuracy,
    )?;
    Ok(Vec::new())
}
