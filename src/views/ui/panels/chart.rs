//! An epoch plot readable at any size: its title, a legend row above the data (never on
//! it; a click hides or shows a series; folded away when it would take too much room), and
//! tick labels on both axes whatever the plot's size — "nice" steps (1, 2, 5 × 10^k) spaced
//! for the pixels there are, whole epochs on x, decades on a log-scale y.

use std::collections::BTreeSet;

use egui::{Color32, Id, RichText, Sense, Stroke, Ui, pos2, vec2};
use egui_plot::{AxisHints, GridInput, GridMark, Line, LineStyle, PlotPoints, Polygon};

pub use crate::views::series::Dash;

/// One line of a chart.
pub struct Series {
    pub name: String,
    pub color: Color32,
    pub dash: Dash,
    pub width: f32,
    pub points: Vec<[f64; 2]>,
    /// A shaded band drawn under the line: `(x, low, high)` (a group's min–max over seeds).
    pub band: Vec<(f64, f64, f64)>,
}

impl Series {
    pub fn new(name: impl Into<String>, color: Color32, points: Vec<[f64; 2]>) -> Self {
        Self {
            name: name.into(),
            color,
            dash: Dash::Solid,
            width: 2.0,
            points,
            band: Vec::new(),
        }
    }

    /// A shared line ([`crate::views::series`]) in the palette's colour and its dash.
    pub fn from_line(line: crate::views::series::Line) -> Self {
        Self::new(line.name, super::color(line.color), line.points).dash(line.dash)
    }

    pub fn band(mut self, band: Vec<(f64, f64, f64)>) -> Self {
        self.band = band;
        self
    }

    /// The band as quads between consecutive points: each is convex, which egui's polygon
    /// fill needs (a whole band is not).
    fn band_quads<'a>(&self, log_y: bool) -> Vec<Polygon<'a>> {
        let y = |v: f64| if log_y { v.max(1e-12).log10() } else { v };
        self.band
            .windows(2)
            .map(|w| {
                let ((x0, lo0, hi0), (x1, lo1, hi1)) = (w[0], w[1]);
                let quad = vec![[x0, y(lo0)], [x1, y(lo1)], [x1, y(hi1)], [x0, y(hi0)]];
                Polygon::new(self.name.clone(), PlotPoints::from(quad))
                    .fill_color(self.color.gamma_multiply(0.2))
                    .stroke(egui::Stroke::NONE)
                    .allow_hover(false)
            })
            .collect()
    }

    pub fn dash(mut self, dash: Dash) -> Self {
        self.dash = dash;
        if dash != Dash::Solid {
            self.width = 1.5;
        }
        self
    }

    pub fn width(mut self, width: f32) -> Self {
        self.width = width;
        self
    }

    fn line<'a>(&self, log_y: bool) -> Line<'a> {
        let points: Vec<[f64; 2]> = if log_y {
            // Values at or below zero have no logarithm: left out.
            self.points
                .iter()
                .filter(|p| p[1] > 0.0)
                .map(|p| [p[0], p[1].log10()])
                .collect()
        } else {
            self.points.clone()
        };
        let style = match self.dash {
            Dash::Solid => LineStyle::Solid,
            Dash::Dashed => LineStyle::dashed_dense(),
            Dash::Dotted => LineStyle::dotted_dense(),
        };
        Line::new(self.name.clone(), PlotPoints::from(points))
            .color(self.color)
            .width(self.width)
            .style(style)
    }
}

/// One thin line per class in the class's colour, its points by class index.
pub fn per_class(classes: &[String], points: impl Fn(usize) -> Vec<[f64; 2]>) -> Vec<Series> {
    classes
        .iter()
        .enumerate()
        .map(|(k, name)| Series::new(name.clone(), super::color(k), points(k)).width(1.5))
        .collect()
}

/// A legend starts unfolded when it fits in this many rows (and in a quarter of the chart's
/// height); a longer one starts folded, one click away, so the data keeps its room.
const LEGEND_ROWS: f32 = 2.0;
/// A legend entry's line sample, and the gap between entries.
const LEGEND_SWATCH: f32 = 22.0;
const LEGEND_SPACING: f32 = 10.0;

/// A titled epoch plot with its legend above it.
pub struct Chart<'a> {
    pub id: &'a str,
    pub title: String,
    pub series: Vec<Series>,
    /// Height of title, legend and plot together.
    pub height: f32,
    pub include_y: Vec<f64>,
    pub log_y: bool,
    pub y_label: Option<&'a str>,
}

impl<'a> Chart<'a> {
    pub fn new(id: &'a str, title: impl Into<String>, height: f32) -> Self {
        Self {
            id,
            title: title.into(),
            series: Vec::new(),
            height,
            include_y: Vec::new(),
            log_y: false,
            y_label: None,
        }
    }

    pub fn series(mut self, series: Vec<Series>) -> Self {
        self.series = series;
        self
    }

    pub fn include_y(mut self, y: f64) -> Self {
        self.include_y.push(y);
        self
    }

    pub fn log_y(mut self, on: bool) -> Self {
        self.log_y = on;
        self
    }

    pub fn y_label(mut self, label: &'a str) -> Self {
        self.y_label = Some(label);
        self
    }

    /// Where the shown data have no extent along an axis (one epoch, one value), bounds
    /// around it: an epoch either side, ±10% of the value (±0.5 at zero); in plot
    /// coordinates (log10 on a log axis).
    fn flat_extent(&self, hidden: &std::collections::BTreeSet<String>) -> (Vec<f64>, Vec<f64>) {
        let mut x = (f64::INFINITY, f64::NEG_INFINITY);
        let mut y = x;
        for s in self.series.iter().filter(|s| !hidden.contains(&s.name)) {
            for p in &s.points {
                let py = if self.log_y {
                    p[1].max(1e-12).log10()
                } else {
                    p[1]
                };
                if p[0].is_finite() && py.is_finite() {
                    x = (x.0.min(p[0]), x.1.max(p[0]));
                    y = (y.0.min(py), y.1.max(py));
                }
            }
        }
        let around = |(lo, hi): (f64, f64), half: f64| -> Vec<f64> {
            if lo.is_finite() && hi - lo <= 1e-9 * hi.abs().max(1.0) {
                vec![lo - half, hi + half]
            } else {
                Vec::new()
            }
        };
        let y_half = if y.1 == 0.0 { 0.5 } else { 0.1 * y.1.abs() };
        (around(x, 1.0), around(y, y_half))
    }

    pub fn show(self, ui: &mut Ui) {
        let top = ui.cursor().min.y;
        let state_id = Id::unique(("ferlab-chart", self.id));
        let mut state: LegendState = ui.data(|d| d.get_temp(state_id)).unwrap_or_default();
        let names = legend_names(&self.series);
        let open = state.open.unwrap_or_else(|| {
            let rows = legend_rows(ui, &names, ui.available_width()) as f32;
            let row_h = 16.0;
            rows <= LEGEND_ROWS.min((self.height * 0.25 / row_h).floor().max(1.0))
        });
        // Wrapped: in a narrow column the legend button goes under the title, not off the edge.
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(&self.title).strong());
            if names.len() > 1
                && ui
                    .add(egui::Button::selectable(open, RichText::new("legend").small()))
                    .on_hover_text("show or hide the legend above the plot; click an entry to hide or show its series")
                    .clicked()
            {
                state.open = Some(!open);
            }
        });
        if open && names.len() > 1 {
            legend_row(ui, &self.series, &names, &mut state.hidden);
        }
        ui.data_mut(|d| d.insert_temp(state_id, state.clone()));
        let used = ui.cursor().min.y - top;
        let plot_h = (self.height - used).max(60.0);
        let mut plot = super::epoch_plot(ui, self.id).height(plot_h);
        for y in &self.include_y {
            plot = plot.include_y(if self.log_y { y.max(1e-12).log10() } else { *y });
        }
        // A first epoch's single points: egui_plot would span them ±50 or more.
        let (xs, ys) = self.flat_extent(&state.hidden);
        for x in xs {
            plot = plot.include_x(x);
        }
        for y in ys {
            plot = plot.include_y(y);
        }
        if self.log_y {
            plot = plot
                .y_grid_spacer(log_spacer)
                .y_axis_formatter(|mark, _| {
                    // Decades and their 2 and 5: 0.01, 0.02, 0.05, 0.1 …
                    super::format_value(10f64.powf(mark.value))
                })
                .label_formatter(|pos| match pos {
                    egui_plot::HoverPosition::NearDataPoint {
                        plot_name,
                        position,
                        ..
                    } => Some(format!(
                        "{plot_name}\nepoch {}\n{}",
                        position.x.round(),
                        super::format_value(10f64.powf(position.y))
                    )),
                    egui_plot::HoverPosition::Elsewhere { .. } => None,
                });
        }
        if let Some(label) = self.y_label {
            plot = plot.y_axis_label(label);
        }
        let hidden = &state.hidden;
        plot.show(ui, |p| {
            for s in self.series.iter().filter(|s| !hidden.contains(&s.name)) {
                for quad in s.band_quads(self.log_y) {
                    p.polygon(quad);
                }
                p.line(s.line(self.log_y));
            }
        });
    }
}

#[derive(Clone, Default)]
struct LegendState {
    /// None: open when the legend is short.
    open: Option<bool>,
    hidden: BTreeSet<String>,
}

/// The rows the legend's entries wrap into at `width`, as [`legend_row`] lays them out
/// (an entry that does not fit starts a row; total width over `width` undercounts, since
/// a long entry leaves the end of the row before it empty).
fn legend_rows(ui: &Ui, names: &[&str], width: f32) -> usize {
    let font = egui::TextStyle::Small.resolve(ui.style());
    let mut rows = 0;
    let mut x = 0.0;
    for n in names {
        let text = ui
            .painter()
            .layout_no_wrap(n.to_string(), font.clone(), Color32::WHITE);
        // Swatch and gap (see `legend_entry`).
        let w = text.size().x + LEGEND_SWATCH + 4.0;
        if rows == 0 || x + LEGEND_SPACING + w > width {
            rows += 1;
            x = w;
        } else {
            x += LEGEND_SPACING + w;
        }
    }
    rows
}

/// Entry names in order, once each (series sharing a name share an entry).
fn legend_names(series: &[Series]) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for s in series {
        if !names.contains(&s.name.as_str()) {
            names.push(&s.name);
        }
    }
    names
}

/// A row of legend entries (swatch and name; a click hides or shows the entry's series).
pub fn legend_row(ui: &mut Ui, series: &[Series], names: &[&str], hidden: &mut BTreeSet<String>) {
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = LEGEND_SPACING;
        for name in names {
            let Some(s) = series.iter().find(|s| s.name == *name) else {
                continue;
            };
            let off = hidden.contains(*name);
            let r = legend_entry(ui, s, off).on_hover_text(if off {
                "click to show"
            } else {
                "click to hide"
            });
            if r.clicked() {
                if off {
                    hidden.remove(*name);
                } else {
                    hidden.insert(name.to_string());
                }
            }
        }
    });
}

/// A swatch of the series' line (colour and dash) and its name, one clickable unit.
fn legend_entry(ui: &mut Ui, s: &Series, off: bool) -> egui::Response {
    let font = egui::TextStyle::Small.resolve(ui.style());
    let text_color = if off {
        ui.visuals().weak_text_color()
    } else {
        ui.visuals().text_color()
    };
    let galley = ui
        .painter()
        .layout_no_wrap(s.name.clone(), font, text_color);
    let swatch = LEGEND_SWATCH;
    let size = vec2(swatch + 4.0 + galley.size().x, galley.size().y.max(10.0));
    let (rect, response) = ui.allocate_exact_size(size, Sense::click());
    let color = if off {
        s.color.gamma_multiply(0.3)
    } else {
        s.color
    };
    let y = rect.center().y;
    let stroke = Stroke::new(s.width.max(1.5), color);
    let x0 = rect.left();
    match s.dash {
        Dash::Solid => {
            ui.painter()
                .line_segment([pos2(x0, y), pos2(x0 + swatch, y)], stroke);
        }
        Dash::Dashed => {
            for i in 0..3 {
                let a = x0 + i as f32 * 8.0;
                ui.painter()
                    .line_segment([pos2(a, y), pos2(a + 5.0, y)], stroke);
            }
        }
        Dash::Dotted => {
            for i in 0..6 {
                ui.painter()
                    .circle_filled(pos2(x0 + 1.0 + i as f32 * 4.0, y), 1.2, color);
            }
        }
    }
    ui.painter().galley(
        pos2(x0 + swatch + 4.0, rect.center().y - galley.size().y / 2.0),
        galley,
        text_color,
    );
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &s.name));
    response
}

/// The x axis of epoch plots: labels may sit closer than egui_plot's default 60 px (short
/// numbers), so a narrow plot still names its epochs.
pub fn epoch_axis<'a>() -> AxisHints<'a> {
    AxisHints::new_x().label("epoch").label_spacing(26.0..=40.0)
}

/// egui_plot measures a grid input's `base_step_size` for its minimum grid spacing of 8 px.
const GRID_MIN_PX: f64 = 8.0;

/// Marks every `minor` step, labelled every `major` step, where `major` is the smallest nice
/// step at least `min_px` apart on screen (at least 1 when `whole`).
pub fn nice_spacer(min_px: f64, whole: bool) -> impl Fn(GridInput) -> Vec<GridMark> {
    move |input: GridInput| {
        let per_px = input.base_step_size.abs() / GRID_MIN_PX;
        if per_px <= 0.0 || !per_px.is_finite() {
            return Vec::new();
        }
        let mut major = nice_ceil(min_px * per_px);
        if whole {
            major = major.max(1.0);
        }
        let minor = if whole && major <= 1.0 {
            major
        } else {
            major / if leading_digit(major) == 2 { 4.0 } else { 5.0 }
        };
        let (lo, hi) = input.bounds;
        let first = (lo / minor).ceil() as i64;
        let last = (hi / minor).floor() as i64;
        if last - first > 10_000 {
            return Vec::new();
        }
        (first..=last)
            .map(|i| {
                let value = i as f64 * minor;
                let on_major = ((value / major).round() * major - value).abs() < minor * 1e-6;
                GridMark {
                    value,
                    step_size: if on_major { major } else { minor },
                }
            })
            .collect()
    }
}

/// A tick's value with as many decimals as its step needs (0.0015 in steps of 0.0005, not
/// 0.002), so neighbouring labels never read alike.
pub fn tick_text(value: f64, step: f64) -> String {
    if value.abs() < step.abs() * 1e-6 {
        return "0".into();
    }
    let decimals = (-step.abs().log10()).ceil().clamp(0.0, 8.0) as usize;
    format!("{value:.decimals$}")
}

/// The smallest of 1, 2, 5 × 10^k at least `x`.
pub fn nice_ceil(x: f64) -> f64 {
    let decade = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * decade)
        .find(|v| *v >= x * (1.0 - 1e-9))
        .unwrap_or(10.0 * decade)
}

fn leading_digit(x: f64) -> u32 {
    (x / 10f64.powf(x.log10().floor())).round() as u32
}

/// Log-scale y (values are log10): decades labelled, 2 and 5 between them as minor marks.
fn log_spacer(input: GridInput) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    let mut marks = Vec::new();
    let (first, last) = (lo.floor() as i64, hi.ceil() as i64);
    if last - first > 60 {
        return marks;
    }
    for e in first..=last {
        let e = e as f64;
        marks.push(GridMark {
            value: e,
            step_size: 1.0,
        });
        for m in [2f64, 5.0] {
            let v = e + m.log10();
            if v >= lo && v <= hi {
                // Spaced like the gaps they leave, so they are labelled when there is room.
                marks.push(GridMark {
                    value: v,
                    step_size: 0.3,
                });
            }
        }
    }
    marks.retain(|m| m.value >= lo && m.value <= hi);
    marks
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A first epoch's single points get an epoch either side and ±10% of the value, not
    /// egui_plot's ±50; data with extent get nothing added.
    #[test]
    fn single_points_get_bounds_around_them() {
        let one = Chart::new("t", "T", 100.0).series(vec![Series::new(
            "a",
            Color32::RED,
            vec![[1.0, 40.0]],
        )]);
        let (xs, ys) = one.flat_extent(&Default::default());
        assert_eq!(xs, vec![0.0, 2.0]);
        assert_eq!(ys, vec![36.0, 44.0]);
        let two = Chart::new("t", "T", 100.0).series(vec![Series::new(
            "a",
            Color32::RED,
            vec![[1.0, 40.0], [2.0, 50.0]],
        )]);
        assert_eq!(two.flat_extent(&Default::default()), (vec![], vec![]));
    }

    /// A legend whose long entries wrap into more rows than the chart can spare starts
    /// folded: the plot keeps most of the chart's height in a narrow column. (The rows were
    /// estimated as the entries' total width over the column's, which missed the room a long
    /// entry leaves at the end of the row before it: at 330 px four entries
    /// unfolded into four rows and squeezed the plot to its 60 px minimum.)
    #[test]
    fn a_legend_that_would_wrap_past_its_rows_starts_folded() {
        let ctx = egui::Context::default();
        let names = [
            "train loss",
            "val loss",
            "ASM-AT [0.2, 0.8] · name=asm val loss (mean, min–max of 3 seeds)",
            "CE val loss (mean, min–max of 3 seeds)",
        ];
        let series = || -> Vec<Series> {
            names
                .iter()
                .enumerate()
                .map(|(k, n)| Series::new(*n, super::super::color(k), vec![[1.0, 2.0], [2.0, 1.9]]))
                .collect()
        };
        let input = || egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(
                egui::Pos2::ZERO,
                vec2(330.0, 400.0),
            )),
            ..Default::default()
        };
        for _ in 0..3 {
            let _ = ctx.run_ui(input(), |ui| {
                Chart::new("legend-fold", "Loss", 200.0)
                    .series(series())
                    .show(ui);
            });
        }
        let memory = egui_plot::PlotMemory::load(&ctx, super::super::plot_id("legend-fold"))
            .expect("the plot was drawn");
        let plot_h = memory.transform().frame().height();
        assert!(
            plot_h >= 120.0,
            "the plot kept {plot_h} px of the chart's 200"
        );
    }

    #[test]
    fn nice_steps_are_1_2_5_times_a_power_of_ten() {
        assert_eq!(nice_ceil(0.13), 0.2);
        assert_eq!(nice_ceil(3.0), 5.0);
        assert_eq!(nice_ceil(7.0), 10.0);
        assert_eq!(nice_ceil(1.0), 1.0);
        assert_eq!(nice_ceil(0.0004), 0.0005);
    }

    #[test]
    fn tick_labels_carry_the_decimals_their_step_needs() {
        assert_eq!(tick_text(0.0015, 0.0005), "0.0015");
        assert_eq!(tick_text(0.002, 0.0005), "0.0020");
        assert_eq!(tick_text(1e-19, 0.0005), "0");
        assert_eq!(tick_text(400.0, 200.0), "400");
        assert_eq!(tick_text(1.2, 0.2), "1.2");
    }

    #[test]
    fn every_plot_gets_labelled_marks_at_least_min_px_apart() {
        // 140 px for 0.9 .. 1.8: 15.6 px per 0.1; 26 px needs a step of 0.2.
        let input = GridInput {
            bounds: (0.9, 1.8),
            base_step_size: 0.9 / 140.0 * GRID_MIN_PX,
        };
        let marks = nice_spacer(26.0, false)(input);
        let labelled: Vec<f64> = marks
            .iter()
            .filter(|m| (m.step_size - 0.2).abs() < 1e-12)
            .map(|m| (m.value * 10.0).round() / 10.0)
            .collect();
        assert_eq!(labelled, [1.0, 1.2, 1.4, 1.6, 1.8]);
        // Epochs 1 .. 8 over 180 px: whole steps of 2 (45 px apart).
        let input = GridInput {
            bounds: (0.8, 8.2),
            base_step_size: 7.4 / 180.0 * GRID_MIN_PX,
        };
        let marks = nice_spacer(26.0, true)(input);
        let labelled: Vec<f64> = marks
            .iter()
            .filter(|m| m.step_size == 2.0)
            .map(|m| m.value)
            .collect();
        assert_eq!(labelled, [2.0, 4.0, 6.0, 8.0]);
    }
}
