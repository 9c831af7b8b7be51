//! ASM's adaptive thresholds per class over epochs, and the sizes and quality of the
//! mined sets.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{FigureResult, Style, Tile, err};
use super::chart::{LineChart, Series, color, line_chart};
use crate::contract::event::mining::Subset;
use crate::contract::run::view::RunView;
use crate::views::Error;
use crate::with_area;

use super::canvas::Areas;
use super::figure::{Csv, Figure, FigureOptions};

/// ASM's per-class clean and noisy thresholds over epochs.
pub struct Thresholds;

impl Figure for Thresholds {
    fn key(&self) -> &'static str {
        "thresholds"
    }

    fn available(&self, view: &RunView) -> bool {
        view.mining.iter().any(|(_, r)| r.thresholds.is_some())
    }

    fn draw(
        &self,
        areas: Areas<'_, '_>,
        st: &Style,
        view: &RunView,
        _options: FigureOptions,
        label: &str,
    ) -> FigureResult<Vec<Tile>> {
        let title = format!("Per-class thresholds - {label}");
        with_area!(areas, |a| thresholds(a, st, view, &title))
    }

    fn csv(&self, view: &RunView, _options: FigureOptions) -> FigureResult<String> {
        let mut csv = Csv::new(
            view,
            &[
                "epoch",
                "class",
                "clean_threshold",
                "noisy_threshold",
                "class_mean",
            ],
        );
        for (e, r) in &view.mining {
            for k in 0..view.classes.len() {
                let t = r.thresholds.as_ref();
                let row = vec![
                    e.to_string(),
                    csv.class(k),
                    Csv::opt(t.and_then(|t| t.clean.get(k).copied())),
                    Csv::opt(t.and_then(|t| t.noisy.get(k).copied())),
                    Csv::opt(r.class_mean.get(k).copied()),
                ];
                csv.row(row);
            }
        }
        Ok(csv.finish())
    }
}

/// The mined sets' sizes per class over epochs, and their quality where the truth is known.
pub struct Mining;

impl Figure for Mining {
    fn key(&self) -> &'static str {
        "mining"
    }

    fn available(&self, view: &RunView) -> bool {
        !view.mining.is_empty()
    }

    fn draw(
        &self,
        areas: Areas<'_, '_>,
        st: &Style,
        view: &RunView,
        _options: FigureOptions,
        label: &str,
    ) -> FigureResult<Vec<Tile>> {
        let title = format!("Sample mining - {label}");
        with_area!(areas, |a| sets(a, st, view, &title))
    }

    fn csv(&self, view: &RunView, _options: FigureOptions) -> FigureResult<String> {
        let mut csv = Csv::new(
            view,
            &[
                "epoch",
                "class",
                "clean",
                "ambiguous",
                "noisy",
                "noisy_precision",
                "noisy_recall",
                "clean_precision",
                "clean_recall",
            ],
        );
        for (e, r) in &view.mining {
            let q = r.quality.as_ref();
            for (k, c) in r.counts.iter().enumerate() {
                let row = vec![
                    e.to_string(),
                    csv.class(k),
                    c[0].to_string(),
                    c[1].to_string(),
                    c[2].to_string(),
                    Csv::opt(q.and_then(|q| q.noisy.precision)),
                    Csv::opt(q.and_then(|q| q.noisy.recall)),
                    Csv::opt(q.and_then(|q| q.clean.precision)),
                    Csv::opt(q.and_then(|q| q.clean.recall)),
                ];
                csv.row(row);
            }
        }
        Ok(csv.finish())
    }
}

/// Clean thresholds solid, noisy thresholds dotted (as the thresholds panel), one colour per
/// class.
pub fn thresholds<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    st: &Style,
    view: &RunView,
    title: &str,
) -> FigureResult<Vec<Tile>> {
    let area = area.titled(title, st.title()).map_err(err)?;
    let mut series = Vec::new();
    for (c, name) in view.classes.iter().enumerate() {
        let pick = |clean: bool| view.threshold_series(c, clean);
        series.push(Series::new(name.clone(), color(c), pick(true)));
        series.push(
            Series::new(name.clone(), color(c), pick(false))
                .dotted()
                .unlisted(),
        );
    }
    if series.iter().all(|s| s.points.is_empty()) {
        return Err(Error::Draw(
            "the run has no thresholds yet (ASM only, after warm-up)".into(),
        ));
    }
    line_chart(
        &area,
        st,
        &LineChart {
            title: "solid: clean threshold, dotted: noisy threshold",
            x_label: "epoch",
            y_label: "threshold",
            y_range: None,
            // Warm-up epochs have no thresholds: the upper left is free.
            legend: SeriesLabelPosition::UpperLeft,
        },
        &series,
    )?;
    Ok(Vec::new())
}

/// Set sizes over epochs, and the noisy set's precision and recall where the truth is known.
pub fn sets<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    st: &Style,
    view: &RunView,
    title: &str,
) -> FigureResult<Vec<Tile>> {
    if view.mining.is_empty() {
        return Err(Error::Draw(
            "the run has no mining reports (ASM only)".into(),
        ));
    }
    let area = area.titled(title, st.title()).map_err(err)?;
    let panes = area.split_evenly((1, 2));
    let sizes: Vec<Series> = Subset::ALL
        .iter()
        .enumerate()
        .map(|(s, subset)| {
            let points = view
                .mining
                .iter()
                .map(|(e, r)| {
                    (
                        *e as f64,
                        r.counts.iter().map(|c| c[s]).sum::<usize>() as f64,
                    )
                })
                .collect();
            Series::new(subset.name(), color(s), points)
        })
        .collect();
    line_chart(
        &panes[0],
        st,
        &LineChart {
            title: "Mined sets",
            x_label: "epoch",
            y_label: "samples",
            y_range: None,
            legend: SeriesLabelPosition::UpperRight,
        },
        &sizes,
    )?;
    let quality = |f: &dyn Fn(&crate::contract::event::mining::MiningQuality) -> Option<f32>| {
        view.mining
            .iter()
            .filter_map(|(e, r)| Some((*e as f64, 100.0 * f(r.quality.as_ref()?)? as f64)))
            .collect::<Vec<_>>()
    };
    let truth = [
        Series::new("noisy precision", color(3), quality(&|q| q.noisy.precision)),
        Series::new("noisy recall", color(4), quality(&|q| q.noisy.recall)),
        Series::new("clean precision", color(0), quality(&|q| q.clean.precision)).dashed(),
    ];
    if truth.iter().any(|s| !s.points.is_empty()) {
        line_chart(
            &panes[1],
            st,
            &LineChart {
                title: "Against the known noise",
                x_label: "epoch",
                y_label: "%",
                y_range: Some((0.0, 100.0)),
                legend: SeriesLabelPosition::LowerRight,
            },
            &truth,
        )?;
    } else {
        // Real data has no truth: show how many samples change sets instead.
        let moved = view
            .mining
            .iter()
            .map(|(e, r)| {
                let changed: usize = (0..3)
                    .flat_map(|a| (0..3).filter(move |&b| b != a).map(move |b| (a, b)))
                    .map(|(a, b)| r.moves[a][b])
                    .sum();
                (*e as f64, changed as f64)
            })
            .collect();
        line_chart(
            &panes[1],
            st,
            &LineChart {
                title: "Samples that changed set",
                x_label: "epoch",
                y_label: "samples",
                y_range: None,
                legend: SeriesLabelPosition::UpperRight,
            },
            &[Series::new("moved", color(0), moved)],
        )?;
    }
    Ok(Vec::new())
}
