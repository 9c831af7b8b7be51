//! The lines a panel and its exported figure both draw. One function per plot gives each
//! line's name, palette colour ([`super::palette`]) and dash ([`Dash`]); the panel (egui)
//! and the figure (plotters) only convert them, so screen and paper cannot drift apart.

use crate::contract::run::view::{EpochPoint, RunView};

/// How a line is drawn: colour tells series (or runs) apart, the dash tells what a series
/// is (overall solid, mean dashed, train dotted …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dash {
    Solid,
    Dashed,
    Dotted,
}

/// One line of a plot over epochs.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub name: String,
    /// Index into the palette.
    pub color: usize,
    pub dash: Dash,
    pub points: Vec<[f64; 2]>,
}

impl Line {
    fn new(name: impl Into<String>, color: usize, dash: Dash, points: Vec<[f64; 2]>) -> Self {
        Self {
            name: name.into(),
            color,
            dash,
            points,
        }
    }
}

/// `f` of each reported epoch, at its 1-based epoch.
pub fn per_epoch(view: &RunView, f: impl Fn(&EpochPoint) -> f64) -> Vec<[f64; 2]> {
    view.epochs.iter().map(|p| [p.epoch as f64, f(p)]).collect()
}

/// The loss plot: the training loss, each of its terms where a method has several, the
/// validation loss.
pub fn loss_lines(view: &RunView) -> Vec<Line> {
    let mut lines = vec![Line::new(
        "train loss",
        0,
        Dash::Solid,
        per_epoch(view, |p| p.train.loss as f64),
    )];
    let terms: Vec<String> = view
        .epochs
        .last()
        .map(|p| p.train.terms.keys().cloned().collect())
        .unwrap_or_default();
    if terms.len() > 1 {
        for (i, t) in terms.iter().enumerate() {
            let pts = per_epoch(view, |p| {
                p.train.terms.get(t).copied().unwrap_or(f32::NAN) as f64
            });
            lines.push(Line::new(format!("term {t}"), 3 + i, Dash::Dashed, pts));
        }
    }
    lines.push(Line::new(
        "val loss",
        1,
        Dash::Solid,
        per_epoch(view, |p| p.val.loss as f64),
    ));
    lines
}

/// The accuracy plot, in %: validation overall (solid), validation mean (dashed), training
/// against the given labels (dotted).
pub fn accuracy_lines(view: &RunView) -> Vec<Line> {
    let pct = |v: f32| 100.0 * v as f64;
    vec![
        Line::new(
            "val overall %",
            2,
            Dash::Solid,
            per_epoch(view, |p| pct(p.val.overall)),
        ),
        Line::new(
            "val mean %",
            4,
            Dash::Dashed,
            per_epoch(view, |p| pct(p.val.mean)),
        ),
        Line::new(
            "train %",
            0,
            Dash::Dotted,
            per_epoch(view, |p| pct(p.train.accuracy)),
        ),
    ]
}
