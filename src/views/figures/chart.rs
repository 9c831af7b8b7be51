//! Building blocks shared by the figures: a line chart with axes, labels and a legend, a
//! bar chart over named categories, the palette and the colour maps.

use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;

use super::canvas::{FigureResult, Style, err};

/// The colour of series `i`: the workbench's palette (`views::palette`).
pub fn color(i: usize) -> RGBColor {
    let (r, g, b) = crate::views::palette::rgb(i);
    RGBColor(r, g, b)
}

/// White to dark blue, for counts and rates in [0, 1].
pub fn blues(v: f64) -> RGBColor {
    let v = v.clamp(0.0, 1.0);
    let mix = |a: f64, b: f64| (a + (b - a) * v).round() as u8;
    RGBColor(mix(247.0, 8.0), mix(251.0, 48.0), mix(255.0, 107.0))
}

/// One line of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub color: RGBColor,
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
    /// Dots instead of dashes (with `dashed`): the panels' dotted lines.
    pub dotted: bool,
    /// Whether the series gets an entry in the legend.
    pub in_legend: bool,
}

impl Series {
    pub fn new(name: impl Into<String>, color: RGBColor, points: Vec<(f64, f64)>) -> Self {
        Self {
            name: name.into(),
            color,
            points,
            dashed: false,
            dotted: false,
            in_legend: true,
        }
    }

    /// A shared line ([`crate::views::series`]): the panel's name, colour and dash.
    pub fn from_line(line: crate::views::series::Line) -> Self {
        use crate::views::series::Dash;
        let points = line.points.iter().map(|p| (p[0], p[1])).collect();
        let series = Self::new(line.name, color(line.color), points);
        match line.dash {
            Dash::Solid => series,
            Dash::Dashed => series.dashed(),
            Dash::Dotted => series.dotted(),
        }
    }

    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }

    /// Dotted, as the workbench's panels draw the same series.
    pub fn dotted(mut self) -> Self {
        self.dashed = true;
        self.dotted = true;
        self
    }

    pub fn unlisted(mut self) -> Self {
        self.in_legend = false;
        self
    }
}

/// How a line chart is labelled and scaled.
pub struct LineChart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    /// Fixed y range; None fits the data with a margin.
    pub y_range: Option<(f64, f64)>,
    pub legend: SeriesLabelPosition,
}

/// The range of `values` widened by 5% (and made non-empty).
pub fn padded_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    // One value (a first epoch's point): ±10% of it, so the axis has ticks worth reading
    // (a span of 1e-6 gave ticks labelled 2.0, 2.0, 2, 2.0).
    if hi - lo <= 1e-9 * hi.abs().max(1.0) {
        let half = if hi == 0.0 { 0.5 } else { 0.1 * hi.abs() };
        return (lo - half, hi + half);
    }
    let span = hi - lo;
    (lo - 0.05 * span, hi + 0.05 * span)
}

/// Tick labels for an axis over `lo..hi`: as many decimals as a tenth of the span needs,
/// so neighbouring ticks never print alike.
pub fn tick_labels_for(lo: f64, hi: f64) -> impl Fn(&f64) -> String {
    let step = ((hi - lo) / 10.0).abs();
    let decimals = if step > 0.0 && step.is_finite() {
        (-step.log10().floor()).clamp(0.0, 12.0) as usize
    } else {
        0
    };
    move |v: &f64| {
        let a = v.abs();
        let tiny_or_huge = a != 0.0 && !(1e-3..1e6).contains(&a);
        if tiny_or_huge || decimals == 0 {
            tick_label(*v)
        } else {
            format!("{v:.decimals$}")
        }
    }
}

/// Draws `series` on `area` with axes starting at epoch 1 (x = epochs).
pub fn line_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    st: &Style,
    spec: &LineChart<'_>,
    series: &[Series],
) -> FigureResult<()> {
    let x_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(1.0f64, f64::max);
    let (x0, x1) = (
        series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .fold(x_max, f64::min)
            .min(1.0),
        x_max.max(2.0),
    );
    let (y0, y1) = spec
        .y_range
        .unwrap_or_else(|| padded_range(series.iter().flat_map(|s| s.points.iter().map(|p| p.1))));
    let mut chart = ChartBuilder::on(area)
        .caption(spec.title, st.label())
        .margin(st.pt(6.0))
        .x_label_area_size(st.pt(24.0))
        .y_label_area_size(st.pt(34.0))
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    let whole_epochs = x1 - x0 <= 12.0;
    chart
        .configure_mesh()
        .x_desc(spec.x_label)
        .y_desc(spec.y_label)
        .label_style(st.tick())
        .axis_desc_style(st.label())
        .light_line_style(RGBColor(250, 250, 250))
        .bold_line_style(RGBColor(220, 220, 220))
        .x_labels(if whole_epochs {
            (x1 - x0) as usize + 1
        } else {
            8
        })
        .x_label_formatter(&|x| {
            if (x - x.round()).abs() < 1e-9 {
                format!("{}", x.round() as i64)
            } else {
                format!("{x:.1}")
            }
        })
        .y_label_formatter(&tick_labels_for(y0, y1))
        .draw()
        .map_err(err)?;
    let mut listed = 0;
    for s in series {
        let style = s.color.stroke_width(st.upt(1.25));
        // A one-point line draws nothing: mark the point.
        if s.points.len() == 1 {
            chart
                .draw_series(std::iter::once(Circle::new(
                    s.points[0],
                    st.upt(2.0),
                    s.color.filled(),
                )))
                .map_err(err)?;
        }
        let drawn = if s.dashed {
            chart
                .draw_series(DashedLineSeries::new(
                    s.points.iter().copied(),
                    st.upt(if s.dotted { 1.0 } else { 4.0 }),
                    st.upt(2.5),
                    style,
                ))
                .map_err(err)?
        } else {
            chart
                .draw_series(LineSeries::new(s.points.iter().copied(), style))
                .map_err(err)?
        };
        if s.in_legend {
            listed += 1;
            let (color, width, len) = (s.color, st.upt(1.25), st.pt(14.0));
            drawn.label(s.name.clone()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + len, y)], color.stroke_width(width))
            });
        }
    }
    if listed > 0 {
        legend(&mut chart, st, spec.legend.clone(), 18.0)?;
    }
    Ok(())
}

/// The legend of a chart's labelled series: white box, grey border, tick-size text;
/// `mark_pt` is the width of each entry's mark.
fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    st: &Style,
    position: SeriesLabelPosition,
    mark_pt: f64,
) -> FigureResult<()> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font(st.tick())
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .margin(st.pt(4.0))
        .legend_area_size(st.pt(mark_pt))
        .draw()
        .map_err(err)
}

/// A tick value with no more digits than it needs.
pub fn tick_label(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 100.0 || (a >= 1.0 && (v - v.round()).abs() < 1e-9) {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else if a >= 0.01 {
        format!("{v:.2}")
    } else {
        format!("{v:.1e}")
    }
}

/// One group of a bar chart: a value per category (None = no bar).
pub struct BarGroup {
    pub name: String,
    pub color: RGBColor,
    pub values: Vec<Option<f64>>,
}

/// Grouped vertical bars over named categories, with the value written above each bar
/// when there is one group.
pub fn bar_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    st: &Style,
    title: &str,
    y_label: &str,
    categories: &[String],
    groups: &[BarGroup],
    y_max: f64,
) -> FigureResult<()> {
    let k = categories.len().max(1);
    let mut chart = ChartBuilder::on(area)
        .caption(title, st.label())
        .margin(st.pt(6.0))
        .x_label_area_size(st.pt(24.0))
        .y_label_area_size(st.pt(34.0))
        .build_cartesian_2d(0.0..k as f64, 0.0..y_max)
        .map_err(err)?;
    let names = categories.to_vec();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_desc(y_label)
        .label_style(st.tick())
        .axis_desc_style(st.label())
        .light_line_style(RGBColor(250, 250, 250))
        .bold_line_style(RGBColor(220, 220, 220))
        // Labels at the category centres: k ticks over [0, k] land on 0.5, 1.5, ...
        .x_labels(2 * k + 1)
        .x_label_formatter(&move |x| {
            let i = x.floor() as usize;
            if (x - x.floor() - 0.5).abs() < 1e-6 && i < names.len() {
                names[i].clone()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| tick_label(*y))
        .draw()
        .map_err(err)?;
    let n = groups.len().max(1) as f64;
    let width = 0.8 / n;
    for (g, group) in groups.iter().enumerate() {
        let color = group.color;
        let bars = group.values.iter().enumerate().filter_map(|(c, v)| {
            let v = (*v)?;
            let x0 = c as f64 + 0.1 + g as f64 * width;
            Some(Rectangle::new([(x0, 0.0), (x0 + width, v)], color.filled()))
        });
        let drawn = chart.draw_series(bars).map_err(err)?;
        if groups.len() > 1 {
            let side = st.pt(6.0);
            drawn.label(group.name.clone()).legend(move |(x, y)| {
                Rectangle::new(
                    [(x, y - side / 2), (x + side, y + side / 2)],
                    color.filled(),
                )
            });
        } else {
            let font = st.text(7.0);
            let labels = group.values.iter().enumerate().filter_map(|(c, v)| {
                let v = (*v)?;
                Some(Text::new(
                    tick_label(v),
                    (c as f64 + 0.5 - 0.08, v + 0.02 * y_max),
                    font.clone(),
                ))
            });
            chart.draw_series(labels).map_err(err)?;
        }
    }
    if groups.len() > 1 {
        legend(&mut chart, st, SeriesLabelPosition::UpperRight, 10.0)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_ticks() {
        assert_eq!(padded_range([1.0, 3.0].into_iter()), (0.9, 3.1));
        assert_eq!(padded_range(std::iter::empty()), (0.0, 1.0));
        let (lo, hi) = padded_range([2.0].into_iter());
        assert!(
            (lo - 1.8).abs() < 1e-12 && (hi - 2.2).abs() < 1e-12,
            "{lo} {hi}"
        );
        // Ticks over a single point's range print apart (they were 2.0, 2.0, 2, 2.0).
        let label = tick_labels_for(lo, hi);
        let ticks: Vec<String> = (0..=8).map(|i| label(&(1.8 + 0.05 * i as f64))).collect();
        let mut distinct = ticks.clone();
        distinct.dedup();
        assert_eq!(distinct, ticks, "{ticks:?}");
        assert_eq!(tick_label(250.0), "250");
        assert_eq!(tick_label(0.25), "0.25");
        assert_eq!(tick_label(90.0), "90");
        assert_eq!(tick_label(2.5), "2.5");
        assert_eq!(tick_label(0.0012), "1.2e-3");
    }
}
