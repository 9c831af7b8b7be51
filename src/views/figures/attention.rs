//! Attention: a grid of validation faces with the class activation map of their label for
//! the original face and for the mirror image flipped back, and the flip MSE of each
//! class's map over epochs.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::canvas::{FigureResult, Style, Tile, err};
use super::chart::{LineChart, Series, color, line_chart};
use crate::compute::analysis::attention::{Row, jet, overlay_rgb};
use crate::contract::event::attention::{AttentionFace, AttentionSnapshot, FaceSource};
use crate::contract::run::view::RunView;
use crate::views::Error;
use crate::with_area;

use super::canvas::Areas;
use super::figure::{Csv, Figure, FigureOptions, snapshot_at};

/// The grid of faces with their maps, original and flipped, at the latest snapshot (or the
/// epoch asked for).
pub struct Attention;

impl Figure for Attention {
    fn key(&self) -> &'static str {
        "attention"
    }

    /// A wide strip.
    fn default_size(&self) -> super::FigureSize {
        super::FigureSize {
            width_in: 7.5,
            height_in: 3.9,
            ..Default::default()
        }
    }

    fn available(&self, view: &RunView) -> bool {
        !view.attention.is_empty()
    }

    fn draw(
        &self,
        areas: Areas<'_, '_>,
        st: &Style,
        view: &RunView,
        options: FigureOptions,
        label: &str,
    ) -> FigureResult<Vec<Tile>> {
        let snap = snapshot(view, options)?;
        let title = format!(
            "Class activation maps ({}×{}), original and flipped - {label}",
            snap.map_height, snap.map_width
        );
        with_area!(areas, |a| grid(a, st, view, snap, &title))
    }

    fn csv(&self, view: &RunView, options: FigureOptions) -> FigureResult<String> {
        let snap = snapshot(view, options)?;
        let mut header: Vec<String> = ["epoch", "face", "label", "prediction"]
            .map(String::from)
            .to_vec();
        header.extend(view.classes.iter().map(|c| format!("flip_mse_{c}")));
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let mut csv = Csv::new(view, &header);
        for f in &snap.faces {
            let mut row = vec![
                snap.epoch.to_string(),
                f.index.to_string(),
                csv.class(f.label as usize),
                csv.class(f.prediction as usize),
            ];
            row.extend(f.consistency.iter().map(|v| Csv::num(*v as f64)));
            csv.row(row);
        }
        Ok(csv.finish())
    }
}

/// The snapshot a figure of `options` shows: the epoch asked for, or the latest.
fn snapshot(view: &RunView, options: FigureOptions) -> FigureResult<&AttentionSnapshot> {
    snapshot_at(&view.attention, options.epoch).ok_or_else(|| {
        Error::Draw(format!(
            "{} has no attention snapshot at that epoch",
            view.run_id
        ))
    })
}

/// Each class's flip MSE over the snapshots.
pub struct FlipConsistency;

impl Figure for FlipConsistency {
    fn key(&self) -> &'static str {
        "flip_consistency"
    }

    fn available(&self, view: &RunView) -> bool {
        !view.attention.is_empty()
    }

    fn draw(
        &self,
        areas: Areas<'_, '_>,
        st: &Style,
        view: &RunView,
        _options: FigureOptions,
        label: &str,
    ) -> FigureResult<Vec<Tile>> {
        // The maps' side, from the last snapshot (it does not change within a run).
        let side = view
            .attention
            .last()
            .map(|(_, s)| format!(" of {}×{} maps", s.map_height, s.map_width))
            .unwrap_or_default();
        let title = format!("Flip consistency{side} - {label}");
        with_area!(areas, |a| flip_consistency(a, st, view, &title))
    }

    fn csv(&self, view: &RunView, _options: FigureOptions) -> FigureResult<String> {
        let mut csv = Csv::new(view, &["epoch", "class", "flip_mse"]);
        for (e, s) in &view.attention {
            for (k, v) in s.per_class.iter().enumerate() {
                let row = vec![e.to_string(), csv.class(k), Csv::num(*v as f64)];
                csv.row(row);
            }
        }
        Ok(csv.finish())
    }
}

/// Faces in the grid: the gallery's, one class after another.
pub const GRID_FACES: usize = 7;

/// Up to `n` gallery faces, each class once before any class twice.
pub fn pick_faces(snap: &AttentionSnapshot, n: usize) -> Vec<&AttentionFace> {
    let gallery: Vec<&AttentionFace> = snap
        .faces
        .iter()
        .filter(|f| f.source == FaceSource::Gallery)
        .collect();
    let mut picked: Vec<&AttentionFace> = Vec::new();
    let mut round = 0;
    while picked.len() < n && round < gallery.len() {
        let mut seen = std::collections::HashMap::new();
        for f in &gallery {
            let k = seen.entry(f.label).or_insert(0usize);
            if *k == round && picked.len() < n {
                picked.push(f);
            }
            *k += 1;
        }
        round += 1;
    }
    picked
}

pub fn grid<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    st: &Style,
    view: &RunView,
    snap: &AttentionSnapshot,
    title: &str,
) -> FigureResult<Vec<Tile>> {
    let faces = pick_faces(snap, GRID_FACES);
    if faces.is_empty() {
        return Err(Error::Draw(
            "the attention snapshot has no gallery faces".into(),
        ));
    }
    let area = area.titled(title, st.title()).map_err(err)?;
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let left = st.pt(58.0);
    let caption = st.pt(24.0);
    let footer = st.pt(34.0);
    let gap = st.pt(3.0);
    let n = faces.len() as i32;
    let side = ((w - left - st.pt(6.0)) / n - gap)
        .min((h - caption - footer - st.pt(12.0)) / 3 - gap)
        .max(4);
    let (x_origin, y_origin) = area.get_base_pixel();
    let name = |c: u32| {
        view.classes
            .get(c as usize)
            .cloned()
            .unwrap_or_else(|| format!("class {c}"))
    };
    let mut tiles = Vec::new();
    let s = snap.image_size as u32;
    let rows = [
        (None, "face"),
        (Some(Row::Original), "original"),
        (Some(Row::FlippedBack), "flipped back"),
    ];
    for (col, face) in faces.iter().enumerate() {
        let x = left + col as i32 * (side + gap);
        let ink = if face.correct() {
            BLACK
        } else {
            RGBColor(200, 30, 30)
        };
        let head = st
            .font(7.0)
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Top));
        area.draw(&Text::new(name(face.label), (x + side / 2, 0), head))
            .map_err(err)?;
        let pred = st
            .font(7.0)
            .color(&ink)
            .pos(Pos::new(HPos::Center, VPos::Top));
        area.draw(&Text::new(
            format!("pred {}", name(face.prediction)),
            (x + side / 2, st.pt(10.0)),
            pred,
        ))
        .map_err(err)?;
        for (r, (row, _)) in rows.iter().enumerate() {
            let y = caption + r as i32 * (side + gap);
            let map = row.map(|row| (face.label as usize, row));
            let rgb = overlay_rgb(snap, face, map, 0.5, true).ok_or_else(|| {
                Error::Draw(format!("face {} has malformed pixels or maps", face.id))
            })?;
            tiles.push(Tile {
                x: x_origin + x,
                y: y_origin + y,
                width: side as u32,
                height: side as u32,
                source_width: s,
                source_height: s,
                rgb,
            });
        }
        let mse = face
            .consistency
            .get(face.label as usize)
            .copied()
            .unwrap_or(f32::NAN);
        let foot = st
            .font(7.0)
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Top));
        area.draw(&Text::new(
            format!("MSE {mse:.3}"),
            (x + side / 2, caption + 3 * (side + gap)),
            foot,
        ))
        .map_err(err)?;
    }
    for (r, (_, label)) in rows.iter().enumerate() {
        let y = caption + r as i32 * (side + gap) + side / 2;
        let style = st
            .font(8.0)
            .color(&BLACK)
            .pos(Pos::new(HPos::Right, VPos::Center));
        area.draw(&Text::new(*label, (left - st.pt(4.0), y), style))
            .map_err(err)?;
    }
    // The colour map's legend under the grid.
    let bar_y = caption + 3 * (side + gap) + st.pt(14.0);
    let bar_w = st.pt(120.0);
    let bar_x = left;
    let steps = 64u32;
    tiles.push(Tile {
        x: x_origin + bar_x,
        y: y_origin + bar_y,
        width: bar_w as u32,
        height: st.upt(7.0),
        source_width: steps,
        source_height: 1,
        rgb: (0..steps)
            .flat_map(|i| jet(i as f32 / (steps - 1) as f32))
            .collect(),
    });
    let note = st
        .font(7.0)
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    area.draw(&Text::new(
        format!(
            "low -> high activation of the label's class map (one scale per face), epoch {}; red: misclassified",
            snap.epoch + 1
        ),
        (bar_x + bar_w + st.pt(6.0), bar_y + st.pt(3.5)),
        note,
    ))
    .map_err(err)?;
    Ok(tiles)
}

/// Validation flip MSE of each class's map, and their mean, over epochs.
pub fn flip_consistency<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    st: &Style,
    view: &RunView,
    title: &str,
) -> FigureResult<Vec<Tile>> {
    if view.attention.is_empty() {
        return Err(Error::Draw("the run has no attention snapshots".into()));
    }
    let area = area.titled(title, st.title()).map_err(err)?;
    let mut series: Vec<Series> = view
        .classes
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let points = view
                .attention
                .iter()
                .filter_map(|(e, s)| s.per_class.get(c).map(|v| (*e as f64, *v as f64)))
                .collect();
            Series::new(name.clone(), color(c), points)
        })
        .collect();
    series.push(
        Series::new(
            "mean",
            RGBColor(0, 0, 0),
            view.attention
                .iter()
                .map(|(e, s)| (*e as f64, s.mean as f64))
                .collect(),
        )
        .dashed(),
    );
    line_chart(
        &area,
        st,
        &LineChart {
            title: "class activation maps of validation faces, per class",
            x_label: "epoch",
            y_label: "flip MSE",
            y_range: None,
            legend: SeriesLabelPosition::UpperRight,
        },
        &series,
    )?;
    Ok(Vec::new())
}
