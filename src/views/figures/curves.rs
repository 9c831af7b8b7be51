//! Loss and accuracy over epochs, side by side: the lines of the curves panel
//! ([`crate::views::series`]), each loss term included.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{Areas, FigureResult, Style, Tile, err};
use super::chart::{LineChart, Series, line_chart};
use super::figure::{Csv, Figure, FigureOptions};
use crate::contract::run::view::RunView;
use crate::views::series::{accuracy_lines, loss_lines};
use crate::with_area;

/// The training curves of a run.
pub struct Curves;

impl Figure for Curves {
    fn key(&self) -> &'static str {
        "curves"
    }

    fn available(&self, view: &RunView) -> bool {
        !view.epochs.is_empty()
    }

    fn draw(
        &self,
        areas: Areas<'_, '_>,
        st: &Style,
        view: &RunView,
        _options: FigureOptions,
        label: &str,
    ) -> FigureResult<Vec<Tile>> {
        with_area!(areas, |a| draw(a, st, view, label))
    }

    fn csv(&self, view: &RunView, _options: FigureOptions) -> FigureResult<String> {
        let terms: Vec<String> = view
            .epochs
            .last()
            .map(|p| p.train.terms.keys().cloned().collect())
            .unwrap_or_default();
        let mut header = vec!["epoch".to_string(), "train_loss".into()];
        header.extend(terms.iter().map(|t| format!("train_loss_{t}")));
        header.extend(
            [
                "val_loss",
                "train_accuracy",
                "val_overall",
                "val_mean",
                "val_macro_f1",
                "lr",
                "images_per_sec",
            ]
            .map(String::from),
        );
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let mut csv = Csv::new(view, &header);
        for p in &view.epochs {
            let mut r = vec![p.epoch.to_string(), Csv::num(p.train.loss as f64)];
            r.extend(
                terms
                    .iter()
                    .map(|t| Csv::opt(p.train.terms.get(t).copied())),
            );
            r.extend([
                Csv::num(p.val.loss as f64),
                Csv::num(p.train.accuracy as f64),
                Csv::num(p.val.overall as f64),
                Csv::num(p.val.mean as f64),
                Csv::num(p.val.macro_f1 as f64),
                Csv::num(p.train.lr),
                Csv::num(p.train.images_per_sec as f64),
            ]);
            csv.row(r);
        }
        Ok(csv.finish())
    }
}

/// The loss plot's series, as drawn: the panel's lines.
pub fn loss_series(view: &RunView) -> Vec<Series> {
    loss_lines(view)
        .into_iter()
        .map(Series::from_line)
        .collect()
}

/// The accuracy plot's series, as drawn: the panel's lines.
pub fn accuracy_series(view: &RunView) -> Vec<Series> {
    accuracy_lines(view)
        .into_iter()
        .map(Series::from_line)
        .collect()
}

pub fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    st: &Style,
    view: &RunView,
    title: &str,
) -> FigureResult<Vec<Tile>> {
    let area = area.titled(title, st.title()).map_err(err)?;
    let panes = area.split_evenly((1, 2));
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
        &loss_series(view),
    )?;
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
        &accuracy_series(view),
    )?;
    Ok(Vec::new())
}
