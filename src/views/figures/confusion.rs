//! The confusion matrix of one epoch: rows are true classes, columns predictions; cells are
//! row-normalised (recall per class) with the count beneath.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::canvas::Areas;
use super::canvas::{FigureResult, Style, Tile, err};
use super::chart::blues;
use super::figure::{Csv, Figure, FigureOptions, epoch_point};
use crate::contract::run::view::RunView;
use crate::views::Error;
use crate::with_area;

/// The confusion matrix of the best epoch (or the one asked for).
pub struct Confusion;

impl Figure for Confusion {
    fn key(&self) -> &'static str {
        "confusion"
    }

    fn default_size(&self) -> super::FigureSize {
        super::FigureSize {
            width_in: 6.0,
            height_in: 5.4,
            ..Default::default()
        }
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
        let title = format!("Confusion matrix, epoch {} - {label}", p.epoch);
        with_area!(areas, |a| draw(
            a,
            st,
            &view.classes,
            &p.val.confusion,
            &title
        ))
    }

    fn csv(&self, view: &RunView, options: FigureOptions) -> FigureResult<String> {
        let p = epoch_point(view, options.epoch)?;
        let mut csv = Csv::new(view, &["epoch", "true", "predicted", "count"]);
        for (t, counts) in p.val.confusion.iter().enumerate() {
            for (q, n) in counts.iter().enumerate() {
                let row = vec![
                    p.epoch.to_string(),
                    csv.class(t),
                    csv.class(q),
                    n.to_string(),
                ];
                csv.row(row);
            }
        }
        Ok(csv.finish())
    }
}

pub fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    st: &Style,
    classes: &[String],
    confusion: &[Vec<u32>],
    title: &str,
) -> FigureResult<Vec<Tile>> {
    let area = area.titled(title, st.title()).map_err(err)?;
    let k = confusion.len();
    if k == 0 {
        return Err(Error::Draw("the run has no confusion matrix".into()));
    }
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    // Room for the row labels on the left, the column labels and axis title below.
    let left = st.pt(64.0);
    let bottom = st.pt(44.0);
    let side = ((w - left - st.pt(12.0)).min(h - bottom - st.pt(6.0)) / k as i32).max(1);
    let x0 = left + (w - left - side * k as i32) / 2;
    let y0 = st.pt(2.0);
    let cell_font = if side > st.pt(30.0) { 8.0 } else { 6.5 };
    for (r, row) in confusion.iter().enumerate() {
        let total: u32 = row.iter().sum();
        for (c, &n) in row.iter().enumerate() {
            let rate = if total > 0 {
                n as f64 / total as f64
            } else {
                0.0
            };
            let (x, y) = (x0 + c as i32 * side, y0 + r as i32 * side);
            area.draw(&Rectangle::new(
                [(x, y), (x + side, y + side)],
                blues(rate).filled(),
            ))
            .map_err(err)?;
            let ink = if rate > 0.55 { WHITE } else { BLACK };
            let text = if total > 0 {
                format!("{:.0}%", 100.0 * rate)
            } else {
                "-".into()
            };
            let style = st
                .font(cell_font)
                .color(&ink)
                .pos(Pos::new(HPos::Center, VPos::Center));
            area.draw(&Text::new(
                text,
                (x + side / 2, y + side / 2 - st.pt(3.5)),
                style.clone(),
            ))
            .map_err(err)?;
            let count = st
                .font(cell_font - 1.5)
                .color(&ink)
                .pos(Pos::new(HPos::Center, VPos::Center));
            area.draw(&Text::new(
                format!("{n}"),
                (x + side / 2, y + side / 2 + st.pt(4.5)),
                count,
            ))
            .map_err(err)?;
        }
    }
    area.draw(&Rectangle::new(
        [(x0, y0), (x0 + side * k as i32, y0 + side * k as i32)],
        RGBColor(120, 120, 120).stroke_width(st.upt(0.5)),
    ))
    .map_err(err)?;
    let tick = st.text(8.0);
    for (i, name) in classes.iter().enumerate().take(k) {
        let row_label = tick.clone().pos(Pos::new(HPos::Right, VPos::Center));
        area.draw(&Text::new(
            name.clone(),
            (x0 - st.pt(4.0), y0 + i as i32 * side + side / 2),
            row_label,
        ))
        .map_err(err)?;
        // Column names shortened to their cell's width, so neighbours never overlap.
        let col_label = tick.clone().pos(Pos::new(HPos::Center, VPos::Top));
        area.draw(&Text::new(
            abbreviate(name, side, st),
            (
                x0 + i as i32 * side + side / 2,
                y0 + k as i32 * side + st.pt(3.0),
            ),
            col_label,
        ))
        .map_err(err)?;
    }
    let axis = st.text(9.0);
    area.draw(&Text::new(
        "predicted",
        (x0 + side * k as i32 / 2, y0 + k as i32 * side + st.pt(18.0)),
        axis.clone().pos(Pos::new(HPos::Center, VPos::Top)),
    ))
    .map_err(err)?;
    area.draw(&Text::new(
        "true",
        (x0 - st.pt(60.0), y0 + side * k as i32 / 2),
        axis.transform(FontTransform::Rotate270)
            .pos(Pos::new(HPos::Center, VPos::Bottom)),
    ))
    .map_err(err)?;
    Ok(Vec::new())
}

/// A column label that fits its cell: the whole name, or its first letters and a dot.
fn abbreviate(name: &str, side: i32, st: &Style) -> String {
    // About half an em per character at 8 pt.
    let fits = (side as f64 / (st.pt(8.0) as f64 * 0.5)).floor() as usize;
    if name.chars().count() <= fits.max(3) {
        name.to_string()
    } else {
        let keep: String = name.chars().take(fits.max(3) - 1).collect();
        format!("{keep}.")
    }
}
