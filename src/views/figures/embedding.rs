//! t-SNE and MDS of validation features side by side, points coloured by true class, with
//! the feature-space measurements in the caption.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{FigureResult, Style, Tile, err};
use super::chart::{color, padded_range};
use crate::contract::event::EmbeddingSnapshot;
use crate::contract::run::view::RunView;
use crate::views::Error;
use crate::with_area;

use super::canvas::Areas;
use super::figure::{Csv, Figure, FigureOptions, snapshot_at};

/// The embedding a figure of `options` shows: the epoch asked for, or the latest.
fn snapshot(view: &RunView, options: FigureOptions) -> FigureResult<&EmbeddingSnapshot> {
    snapshot_at(&view.embeddings, options.epoch)
        .ok_or_else(|| Error::Draw(format!("{} has no embedding at that epoch", view.run_id)))
}

/// t-SNE and MDS of the validation features at the latest snapshot (or the epoch asked for).
pub struct Embedding;

impl Figure for Embedding {
    fn key(&self) -> &'static str {
        "embedding"
    }

    fn default_size(&self) -> super::FigureSize {
        super::FigureSize {
            width_in: 7.5,
            height_in: 4.0,
            ..Default::default()
        }
    }

    fn available(&self, view: &RunView) -> bool {
        !view.embeddings.is_empty()
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
        let title = format!("Validation features - {label}");
        with_area!(areas, |a| draw(a, st, &view.classes, snap, &title))
    }

    fn csv(&self, view: &RunView, options: FigureOptions) -> FigureResult<String> {
        let snap = snapshot(view, options)?;
        let mut csv = Csv::new(
            view,
            &[
                "epoch",
                "face",
                "label",
                "prediction",
                "tsne_x",
                "tsne_y",
                "mds_x",
                "mds_y",
            ],
        );
        let xy = |v: &[f32], i: usize, d: usize| {
            v.get(2 * i + d)
                .map_or(String::new(), |v| Csv::num(*v as f64))
        };
        for (i, face) in snap.indices.iter().enumerate() {
            let row = vec![
                snap.epoch.to_string(),
                face.to_string(),
                csv.class(snap.labels[i] as usize),
                csv.class(snap.predictions[i] as usize),
                xy(&snap.tsne, i, 0),
                xy(&snap.tsne, i, 1),
                xy(&snap.mds, i, 0),
                xy(&snap.mds, i, 1),
            ];
            csv.row(row);
        }
        Ok(csv.finish())
    }
}

pub fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    st: &Style,
    classes: &[String],
    snap: &EmbeddingSnapshot,
    title: &str,
) -> FigureResult<Vec<Tile>> {
    let area = area.titled(title, st.title()).map_err(err)?;
    let mut caption = format!(
        "epoch {}, {} validation faces; cosine same {:.3}, different {:.3}, gap {:.3}",
        snap.epoch + 1,
        snap.len(),
        snap.cosine_same,
        snap.cosine_different,
        snap.cosine_gap()
    );
    if let Some(d) = snap.mean_centre_distance() {
        caption += &format!("; mean distance to class centre (MDS) {d:.3}");
    }
    let (body, foot) = area.split_vertically(area.dim_in_pixel().1 as i32 - st.pt(14.0));
    foot.draw(&Text::new(caption, (st.pt(6.0), st.pt(2.0)), st.text(8.0)))
        .map_err(err)?;
    let halves = body.split_evenly((1, 2));
    let plots: [(&str, &[f32]); 2] = [("t-SNE", &snap.tsne), ("classical MDS", &snap.mds)];
    for ((name, xy), half) in plots.iter().zip(&halves) {
        if xy.is_empty() {
            half.draw(&Text::new(
                format!("{name}: {}", snap.note.as_deref().unwrap_or("not computed")),
                (st.pt(10.0), st.pt(20.0)),
                st.text(9.0),
            ))
            .map_err(err)?;
            continue;
        }
        let xs = padded_range(xy.iter().step_by(2).map(|&v| v as f64));
        let ys = padded_range(xy.iter().skip(1).step_by(2).map(|&v| v as f64));
        let mut chart = ChartBuilder::on(half)
            .caption(*name, st.label())
            .margin(st.pt(6.0))
            .build_cartesian_2d(xs.0..xs.1, ys.0..ys.1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .disable_axes()
            .draw()
            .map_err(err)?;
        let radius = st.upt(1.6);
        for (k, class) in classes.iter().enumerate() {
            let c = color(k);
            let points: Vec<(f64, f64)> = (0..snap.len())
                .filter(|&i| snap.labels[i] as usize == k)
                .map(|i| (xy[2 * i] as f64, xy[2 * i + 1] as f64))
                .collect();
            if points.is_empty() {
                continue;
            }
            chart
                .draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, radius, c.mix(0.75).filled())),
                )
                .map_err(err)?
                .label(class.clone())
                .legend(move |(x, y)| Circle::new((x + 5, y), radius + 1, c.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font(st.tick())
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .draw()
            .map_err(err)?;
    }
    Ok(Vec::new())
}
