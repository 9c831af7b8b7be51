//! t-SNE and MDS of validation features, side by side, coloured by class (true label or
//! prediction); the face under the pointer is shown with its labels. An epoch slider goes
//! over the epochs that were embedded; the line above the plots gives the feature-space
//! measurements (cosine gap, distance to class centre) and, for RMFER, the attention
//! filter's label ratios.

use std::collections::HashMap;

use egui::{Color32, ColorImage, RichText, TextureHandle, TextureOptions, Ui, vec2};
use egui_plot::{Plot, PlotPoint, PlotPoints, Points};

use super::chart::{Series, legend_row};
use super::{color, empty, epoch_picker};
use crate::contract::event::{EmbeddingFaces, EmbeddingSnapshot};
use crate::contract::run::view::RunView;

/// What colours the points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColourBy {
    #[default]
    Label,
    Prediction,
}

/// Which embeddings are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    #[default]
    Both,
    Tsne,
    Mds,
}

/// Pointer distance, in points, within which a point counts as hovered.
const HOVER_RADIUS: f32 = 10.0;

#[derive(Default)]
pub struct EmbeddingPanel {
    /// The epoch shown (1-based); None follows the latest.
    pub pinned: Option<usize>,
    pub colour_by: ColourBy,
    pub layout: Layout,
    /// The point under the pointer last frame: its position in the snapshot.
    pub hovered: Option<usize>,
    /// Where the first plot drew each point last frame (position in the snapshot, screen
    /// position), for pointing at a given face.
    pub drawn: Vec<(usize, egui::Pos2)>,
    /// Classes hidden from both plots (clicked in the legend).
    pub hidden: std::collections::BTreeSet<String>,
    textures: HashMap<(String, usize), TextureHandle>,
}

impl EmbeddingPanel {
    pub fn show(&mut self, ui: &mut Ui, view: &RunView) {
        if view.embeddings.is_empty() {
            empty(
                ui,
                "Embeddings appear after an embedded epoch (train.embedding_every > 0).",
            );
            return;
        }
        let epochs: Vec<usize> = view.embeddings.iter().map(|(e, _)| *e).collect();
        ui.horizontal_wrapped(|ui| {
            let epoch = epoch_picker(ui, &mut self.pinned, &epochs);
            self.pinned = self.pinned.map(|_| epoch);
            ui.separator();
            ui.selectable_value(&mut self.colour_by, ColourBy::Label, "colour: label");
            ui.selectable_value(
                &mut self.colour_by,
                ColourBy::Prediction,
                "colour: prediction",
            );
            ui.separator();
            ui.selectable_value(&mut self.layout, Layout::Both, "both");
            ui.selectable_value(&mut self.layout, Layout::Tsne, "t-SNE");
            ui.selectable_value(&mut self.layout, Layout::Mds, "MDS");
        });
        let shown = self.pinned.unwrap_or(*epochs.last().expect("not empty"));
        let Some((_, snap)) = view.embeddings.iter().find(|(e, _)| *e == shown) else {
            return;
        };
        measurements(ui, view, snap);
        // One class legend for both plots, above them.
        let swatches: Vec<Series> = view
            .classes
            .iter()
            .enumerate()
            .map(|(k, name)| Series::new(name.clone(), color(k), Vec::new()))
            .collect();
        let names: Vec<&str> = view.classes.iter().map(String::as_str).collect();
        legend_row(ui, &swatches, &names, &mut self.hidden);
        let plots: Vec<(&str, &[f32])> = match self.layout {
            Layout::Both => vec![("t-SNE", &snap.tsne), ("MDS", &snap.mds)],
            Layout::Tsne => vec![("t-SNE", &snap.tsne)],
            Layout::Mds => vec![("MDS", &snap.mds)],
        };
        let width = (ui.available_width() / plots.len() as f32 - 8.0).max(120.0);
        let height = (ui.available_height() - 8.0).max(120.0);
        let mut hovered = None;
        self.drawn.clear();
        ui.horizontal(|ui| {
            for (name, xy) in plots {
                ui.vertical(|ui| {
                    ui.set_width(width);
                    if xy.is_empty() {
                        empty(ui, snap.note.as_deref().unwrap_or("not computed"));
                        return;
                    }
                    if let Some(h) = self.scatter(ui, view, snap, name, xy, vec2(width, height)) {
                        hovered = Some(h);
                    }
                });
            }
        });
        self.hovered = hovered;
    }

    /// One scatter plot; returns the point under the pointer, if any.
    fn scatter(
        &mut self,
        ui: &mut Ui,
        view: &RunView,
        snap: &EmbeddingSnapshot,
        name: &str,
        xy: &[f32],
        size: egui::Vec2,
    ) -> Option<usize> {
        let classes = view.classes.len().max(1);
        let by = |i: usize| match self.colour_by {
            ColourBy::Label => snap.labels[i],
            ColourBy::Prediction => snap.predictions[i],
        } as usize;
        let response = Plot::new(format!("embedding-{name}"))
            .width(size.x)
            .height(size.y)
            .data_aspect(1.0)
            .show_axes(false)
            .show_grid(false)
            .show_x(false)
            .show_y(false)
            .show(ui, |p| {
                for k in 0..classes {
                    let pts: Vec<[f64; 2]> = (0..snap.len())
                        .filter(|&i| by(i) == k)
                        .map(|i| [xy[2 * i] as f64, xy[2 * i + 1] as f64])
                        .collect();
                    if pts.is_empty() {
                        continue;
                    }
                    let label = view
                        .classes
                        .get(k)
                        .cloned()
                        .unwrap_or_else(|| k.to_string());
                    if self.hidden.contains(&label) {
                        continue;
                    }
                    p.points(
                        Points::new(label, PlotPoints::from(pts))
                            .color(color(k))
                            .radius(2.0)
                            .allow_hover(false),
                    );
                }
            });
        ui.label(RichText::new(name).small().strong());
        let screen: Vec<egui::Pos2> = (0..snap.len())
            .map(|i| {
                response
                    .transform
                    .position_from_point(&PlotPoint::new(xy[2 * i], xy[2 * i + 1]))
            })
            .collect();
        if self.drawn.is_empty() {
            self.drawn = screen.iter().copied().enumerate().collect();
        }
        let pointer = response.response.hover_pos()?;
        let nearest = screen
            .iter()
            .enumerate()
            .map(|(i, at)| (i, at.distance(pointer)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .filter(|(_, d)| *d <= HOVER_RADIUS)
            .map(|(i, _)| i)?;
        let texture = view
            .embedding_faces
            .as_ref()
            .and_then(|f| self.face_texture(ui.ctx(), &view.run_id, f, snap.indices[nearest]));
        let class = |c: u32| {
            view.classes
                .get(c as usize)
                .cloned()
                .unwrap_or_else(|| c.to_string())
        };
        let (label, prediction) = (snap.labels[nearest], snap.predictions[nearest]);
        let id = view
            .embedding_faces
            .as_ref()
            .and_then(|f| {
                f.indices
                    .iter()
                    .position(|&i| i == snap.indices[nearest])
                    .map(|p| f.ids[p].clone())
            })
            .unwrap_or_default();
        response.response.on_hover_ui_at_pointer(|ui| {
            if let Some(t) = &texture {
                ui.image((t.id(), vec2(96.0, 96.0)));
            }
            ui.label(format!("label: {}", class(label)));
            let text = format!("prediction: {}", class(prediction));
            if label == prediction {
                ui.label(text);
            } else {
                ui.label(RichText::new(text).color(Color32::from_rgb(214, 39, 40)));
            }
            ui.label(RichText::new(format!("val #{} {id}", snap.indices[nearest])).small());
        });
        Some(nearest)
    }

    fn face_texture(
        &mut self,
        ctx: &egui::Context,
        run: &str,
        faces: &EmbeddingFaces,
        index: usize,
    ) -> Option<TextureHandle> {
        let key = (run.to_string(), index);
        if let Some(t) = self.textures.get(&key) {
            return Some(t.clone());
        }
        let pos = faces.indices.iter().position(|&i| i == index)?;
        let side = faces.image_size;
        let pixels = faces.pixels().ok()?;
        let face = pixels.get(pos * side * side..(pos + 1) * side * side)?;
        let image = ColorImage::from_gray([side, side], face);
        let t = ctx.load_texture(
            format!("embedding-face-{run}-{index}"),
            image,
            TextureOptions::LINEAR,
        );
        if self.textures.len() > 4096 {
            self.textures.clear();
        }
        self.textures.insert(key, t.clone());
        Some(t)
    }
}

/// The line of measurements above the plots.
fn measurements(ui: &mut Ui, view: &RunView, snap: &EmbeddingSnapshot) {
    let centre = snap
        .mean_centre_distance()
        .map_or("n/a".to_string(), |d| format!("{d:.3}"));
    let mut text = format!(
        "epoch {} · {} faces · cosine same {:.3} / different {:.3}, gap {:.3} · mean distance to class centre (MDS) {centre} · t-SNE {:.2} s, MDS {:.2} s",
        snap.epoch + 1,
        snap.len(),
        snap.cosine_same,
        snap.cosine_different,
        snap.cosine_gap(),
        snap.tsne_secs,
        snap.mds_secs,
    );
    if let Some(f) = &snap.filter {
        let pct = |r: Option<f32>| r.map_or("n/a".to_string(), |r| format!("{:.1}%", 100.0 * r));
        text += &format!(
            " · ACL filter: kept positives with the anchor's expression {} (all candidates {}), kept negatives with another {}",
            pct(f.kept_positive_ratio()),
            pct(f.candidate_positive_ratio()),
            pct(f.kept_negative_ratio()),
        );
    }
    ui.label(RichText::new(text).small());
    let per_class: Vec<String> = snap
        .centre_distance
        .iter()
        .enumerate()
        .filter_map(|(k, d)| {
            d.map(|d| format!("{} {d:.2}", view.classes.get(k).map_or("?", |s| s.as_str())))
        })
        .collect();
    ui.label(
        RichText::new(format!(
            "distance to class centre: {}",
            per_class.join(", ")
        ))
        .small(),
    );
}

impl super::plug::Panel for EmbeddingPanel {
    fn title(&self) -> &'static str {
        "Embeddings"
    }

    fn figure(&self) -> Option<crate::views::figures::FigureRef> {
        Some(&crate::views::figures::embedding::Embedding)
    }

    fn figure_epoch(&self) -> Option<usize> {
        self.pinned
    }

    fn forget_run(&mut self) {
        self.pinned = None;
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut super::plug::PanelContext<'_>) {
        self.show(ui, cx.view);
    }
}
