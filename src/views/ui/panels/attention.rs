//! Attention: class activation maps of validation faces, for the original face and for its
//! mirror image (the map flipped back), with each class map's flip consistency. A gallery
//! picks the face (filters: class, correct / wrong, least consistent first); the detail view
//! overlays the maps of every class on the face, with an opacity slider and the colour-map
//! legend. Below, the validation set's flip MSE of each class's map over epochs.

use std::collections::HashMap;

use egui::{Color32, ColorImage, RichText, TextureHandle, TextureOptions, Ui, vec2};

use super::chart::{self, Chart};
use super::{class_filter, empty, epoch_picker};
use crate::compute::analysis::attention::{Row, jet, overlay_rgb};
use crate::contract::config::DEGENERATE_MAP_SIDE;
use crate::contract::event::attention::{AttentionFace, AttentionSnapshot, FaceSource};
use crate::contract::run::view::RunView;

/// The largest a map cell grows to in a big pane (it was 96 px).
const MAX_CELL: f32 = 200.0;
/// Side of the maps shown on hover.
pub const ZOOM: f32 = 224.0;

/// Which faces the gallery lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Outcome {
    #[default]
    All,
    Correct,
    Wrong,
}

pub struct AttentionPanel {
    /// The epoch shown (1-based); None follows the latest snapshot.
    pub epoch: Option<usize>,
    /// Faces labelled with this class only.
    pub class: Option<usize>,
    pub outcome: Outcome,
    /// Least flip-consistent faces first.
    pub least_consistent_first: bool,
    /// The face shown in detail, by validation index.
    pub selected: Option<usize>,
    /// Weight of the map over the face.
    pub opacity: f32,
    /// Scale all of a face's maps together (compares classes) instead of each on its own.
    pub shared_scale: bool,
    textures: HashMap<TextureKey, TextureHandle>,
}

impl Default for AttentionPanel {
    fn default() -> Self {
        Self {
            epoch: None,
            class: None,
            outcome: Outcome::All,
            least_consistent_first: false,
            selected: None,
            opacity: 0.55,
            shared_scale: false,
            textures: HashMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TextureKey {
    run: String,
    epoch: usize,
    face: usize,
    /// None = the face alone.
    map: Option<(usize, Row)>,
    opacity: u8,
    shared: bool,
}

fn class_name(view: &RunView, c: u32) -> String {
    view.classes
        .get(c as usize)
        .cloned()
        .unwrap_or_else(|| format!("class {c}"))
}

impl AttentionPanel {
    pub fn show(&mut self, ui: &mut Ui, view: &RunView) {
        let Some((last, _)) = view.attention.last() else {
            empty(
                ui,
                "Attention maps appear after an evaluation (train.attention_every > 0).",
            );
            return;
        };
        let epochs: Vec<usize> = view.attention.iter().map(|(e, _)| *e).collect();
        let mut shown = *last;
        ui.horizontal_wrapped(|ui| {
            shown = epoch_picker(ui, &mut self.epoch, &epochs);
            // Rows of their own, so a narrow pane wraps between groups, not inside one.
            ui.end_row();
            ui.add(egui::Slider::new(&mut self.opacity, 0.0..=1.0).text("opacity"));
            ui.checkbox(&mut self.shared_scale, "one scale per face")
                .on_hover_text("scale all class maps of a face together, to compare classes");
        });
        let Some((_, snap)) = view.attention.iter().find(|(e, _)| *e == shown) else {
            return;
        };
        ui.label(
            RichText::new(format!(
                "Validation flip MSE of the {}×{} class maps at epoch {shown}: {:.5} (mean over {} faces and {} classes)",
                snap.map_height,
                snap.map_width,
                snap.mean,
                snap.count,
                snap.per_class.len()
            ))
            .small(),
        );
        if snap.map_height.min(snap.map_width) <= DEGENERATE_MAP_SIDE {
            ui.label(
                RichText::new(degenerate_note(snap.map_height, snap.map_width))
                    .small()
                    .color(ui.visuals().warn_fg_color),
            );
        }
        let wide = ui.available_width() >= 720.0;
        // The maps are sized so both rows, their flip MSE and the colour bar fit the pane
        // without scrolling; the gallery and the plot follow below.
        let room = ui.available_height();
        egui::ScrollArea::vertical()
            .id_salt("attention-scroll")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                if wide {
                    // The maps take what the gallery leaves: they grow with the pane.
                    let gallery_w = (ui.available_width() * 0.36).clamp(240.0, 520.0);
                    ui.horizontal_top(|ui| {
                        ui.vertical(|ui| {
                            ui.set_width(gallery_w);
                            self.gallery(ui, view, snap, shown, false);
                        });
                        ui.separator();
                        ui.vertical(|ui| {
                            self.detail(ui, view, snap, shown, room);
                            consistency_plot(ui, view);
                        });
                    });
                } else {
                    // Narrow: the maps first, then the gallery as one scrolling strip.
                    self.detail(ui, view, snap, shown, room);
                    ui.separator();
                    self.gallery(ui, view, snap, shown, true);
                    consistency_plot(ui, view);
                }
            });
    }

    /// The faces the filters keep, in display order.
    pub fn filtered<'a>(&self, snap: &'a AttentionSnapshot) -> Vec<&'a AttentionFace> {
        let mut faces: Vec<&AttentionFace> = snap
            .faces
            .iter()
            .filter(|f| self.class.is_none_or(|c| f.label as usize == c))
            .filter(|f| match self.outcome {
                Outcome::All => true,
                Outcome::Correct => f.correct(),
                Outcome::Wrong => !f.correct(),
            })
            .collect();
        if self.least_consistent_first {
            faces.sort_by(|a, b| b.mean_consistency().total_cmp(&a.mean_consistency()));
        }
        faces
    }

    fn gallery(
        &mut self,
        ui: &mut Ui,
        view: &RunView,
        snap: &AttentionSnapshot,
        epoch: usize,
        strip: bool,
    ) {
        ui.horizontal_wrapped(|ui| {
            class_filter(ui, "by label", &mut self.class, &view.classes);
            ui.separator();
            ui.selectable_value(&mut self.outcome, Outcome::All, "all");
            ui.selectable_value(&mut self.outcome, Outcome::Correct, "correct");
            ui.selectable_value(&mut self.outcome, Outcome::Wrong, "wrong");
            ui.end_row();
            ui.checkbox(&mut self.least_consistent_first, "least consistent first");
        });
        let faces = self.filtered(snap);
        ui.label(
            RichText::new(format!(
                "{} of {} faces · green: correct, red: wrong · * among the epoch's least consistent",
                faces.len(),
                snap.faces.len()
            ))
            .small(),
        );
        if faces.is_empty() {
            ui.label(RichText::new("No face matches the filters.").weak());
            return;
        }
        if self
            .selected
            .is_none_or(|s| !faces.iter().any(|f| f.index == s))
        {
            self.selected = Some(faces[0].index);
        }
        let cards = |ui: &mut Ui| {
            for face in faces {
                let Some(tex) = self.face_texture(ui.ctx(), view, snap, epoch, face, None) else {
                    continue;
                };
                let stroke_color = if face.correct() {
                    Color32::from_rgb(44, 160, 44)
                } else {
                    Color32::from_rgb(214, 39, 40)
                };
                let selected = self.selected == Some(face.index);
                let column = egui::Layout::top_down(egui::Align::Center);
                ui.allocate_ui_with_layout(vec2(64.0, 86.0), column, |ui| {
                    ui.set_width(64.0);
                    let frame = egui::Frame::new()
                        .stroke(egui::Stroke::new(
                            if selected { 4.0 } else { 2.0 },
                            stroke_color,
                        ))
                        .inner_margin(1.0);
                    let response = frame
                        .show(ui, |ui| {
                            ui.add(
                                egui::Image::new(&tex)
                                    .fit_to_exact_size(vec2(54.0, 54.0))
                                    .sense(egui::Sense::click()),
                            )
                        })
                        .inner;
                    let mark = if face.source == FaceSource::LeastConsistent {
                        "* "
                    } else {
                        ""
                    };
                    ui.label(
                        RichText::new(format!("{mark}{:.4}", face.mean_consistency())).small(),
                    );
                    let response = response.on_hover_text(format!(
                        "{}\nlabel {} · predicted {}",
                        face.id,
                        class_name(view, face.label),
                        class_name(view, face.prediction)
                    ));
                    if response.clicked() {
                        self.selected = Some(face.index);
                    }
                });
            }
        };
        if strip {
            egui::ScrollArea::horizontal()
                .id_salt("attention-strip")
                .show(ui, |ui| ui.horizontal(cards));
        } else {
            ui.horizontal_wrapped(cards);
        }
    }

    /// The chosen face's maps: `room` is the height they should fit in.
    fn detail(
        &mut self,
        ui: &mut Ui,
        view: &RunView,
        snap: &AttentionSnapshot,
        epoch: usize,
        room: f32,
    ) {
        let Some(face) = snap
            .faces
            .iter()
            .find(|f| Some(f.index) == self.selected)
            .or(snap.faces.first())
        else {
            return;
        };
        let p = face
            .probabilities
            .get(face.prediction as usize)
            .copied()
            .unwrap_or(0.0);
        ui.label(
            RichText::new(format!(
                "Face {} · label {} · predicted {} ({:.0}%)",
                face.index,
                class_name(view, face.label),
                class_name(view, face.prediction),
                100.0 * p
            ))
            .strong(),
        );
        let k = face.consistency.len();
        // Title, class names, MSE row, caption and colour bar take about 110 px.
        let by_width = (ui.available_width() - 70.0) / k.max(1) as f32 - 6.0;
        let by_height = (room - 110.0) / 2.0;
        let cell = by_width.min(by_height).clamp(28.0, MAX_CELL);
        egui::Grid::new("attention-maps")
            .spacing(vec2(4.0, 2.0))
            .show(ui, |ui| {
                ui.label("");
                for c in 0..k {
                    let mut text = RichText::new(class_name(view, c as u32)).small();
                    if c == face.label as usize {
                        text = text.strong().underline();
                    }
                    if c == face.prediction as usize {
                        text = text.color(if face.correct() {
                            Color32::from_rgb(44, 160, 44)
                        } else {
                            Color32::from_rgb(214, 39, 40)
                        });
                    }
                    ui.label(text);
                }
                ui.end_row();
                for (row, name) in [(Row::Original, "original"), (Row::FlippedBack, "flipped")] {
                    ui.label(RichText::new(name).small());
                    for c in 0..k {
                        if let Some(tex) =
                            self.face_texture(ui.ctx(), view, snap, epoch, face, Some((c, row)))
                        {
                            let map = ui.add(
                                egui::Image::new(&tex)
                                    .fit_to_exact_size(vec2(cell, cell))
                                    .alt_text(format!("{} {name} map", class_name(view, c as u32)))
                                    .sense(egui::Sense::hover()),
                            );
                            // Hover zooms: the class's original and flipped maps side by side.
                            if map.hovered() {
                                self.zoom(ui, &map, view, snap, epoch, face, c);
                            }
                        }
                    }
                    ui.end_row();
                }
                ui.label(RichText::new("flip MSE").small());
                for v in &face.consistency {
                    ui.label(RichText::new(format!("{v:.4}")).small());
                }
                ui.end_row();
            });
        ui.label(
            RichText::new(
                "underlined: label · coloured: prediction · flipped: map of the mirror image, flipped back",
            )
            .small()
            .weak(),
        );
        legend(ui, self.shared_scale);
    }

    /// One class's maps of a face, original and flipped back, at [`ZOOM`] px beside the
    /// pointer, with the face alone for reference.
    #[allow(clippy::too_many_arguments)]
    fn zoom(
        &mut self,
        ui: &Ui,
        map: &egui::Response,
        view: &RunView,
        snap: &AttentionSnapshot,
        epoch: usize,
        face: &AttentionFace,
        class: usize,
    ) {
        let ctx = ui.ctx().clone();
        let textures = [
            (
                "face",
                self.face_texture(&ctx, view, snap, epoch, face, None),
            ),
            (
                "original",
                self.face_texture(&ctx, view, snap, epoch, face, Some((class, Row::Original))),
            ),
            (
                "flipped back",
                self.face_texture(
                    &ctx,
                    view,
                    snap,
                    epoch,
                    face,
                    Some((class, Row::FlippedBack)),
                ),
            ),
        ];
        let mse = face.consistency.get(class).copied().unwrap_or(f32::NAN);
        egui::Tooltip::for_enabled(map).show(|ui| {
            ui.label(
                RichText::new(format!(
                    "{} map · face {} · flip MSE {mse:.4}",
                    class_name(view, class as u32),
                    face.index
                ))
                .strong(),
            );
            ui.horizontal(|ui| {
                for (name, tex) in &textures {
                    if let Some(tex) = tex {
                        ui.vertical(|ui| {
                            ui.add(
                                egui::Image::new(tex)
                                    .fit_to_exact_size(vec2(ZOOM, ZOOM))
                                    .alt_text(format!("zoomed {name}")),
                            );
                            ui.label(RichText::new(*name).small());
                        });
                    }
                }
            });
        });
    }

    /// The face (map None) or the face with one class map over it, cached.
    fn face_texture(
        &mut self,
        ctx: &egui::Context,
        view: &RunView,
        snap: &AttentionSnapshot,
        epoch: usize,
        face: &AttentionFace,
        map: Option<(usize, Row)>,
    ) -> Option<TextureHandle> {
        let key = TextureKey {
            run: view.run_id.clone(),
            epoch,
            face: face.index,
            map,
            opacity: (self.opacity * 255.0) as u8,
            shared: self.shared_scale,
        };
        if let Some(t) = self.textures.get(&key) {
            return Some(t.clone());
        }
        let image = overlay(snap, face, map, self.opacity, self.shared_scale)?;
        let name = format!("attention-{key:?}");
        let t = ctx.load_texture(name, image, TextureOptions::LINEAR);
        // Bounded: moving the opacity slider makes new textures each frame.
        if self.textures.len() > 1024 {
            self.textures.clear();
        }
        self.textures.insert(key, t.clone());
        Some(t)
    }
}

/// The face, or the face with one class map over it, as an egui image.
fn overlay(
    snap: &AttentionSnapshot,
    face: &AttentionFace,
    map: Option<(usize, Row)>,
    opacity: f32,
    shared_scale: bool,
) -> Option<ColorImage> {
    let s = snap.image_size;
    let rgb = overlay_rgb(snap, face, map, opacity, shared_scale)?;
    Some(ColorImage::from_rgb([s, s], &rgb))
}

/// The colour map's legend: a gradient bar from low to high activation.
fn legend(ui: &mut Ui, shared: bool) {
    ui.horizontal(|ui| {
        ui.label(RichText::new("low").small());
        let (rect, _) = ui.allocate_exact_size(vec2(160.0, 12.0), egui::Sense::hover());
        let steps = 64;
        for i in 0..steps {
            let v = i as f32 / (steps - 1) as f32;
            let [r, g, b] = jet(v);
            let x0 = rect.left() + rect.width() * i as f32 / steps as f32;
            let x1 = rect.left() + rect.width() * (i + 1) as f32 / steps as f32;
            ui.painter().rect_filled(
                egui::Rect::from_min_max(egui::pos2(x0, rect.top()), egui::pos2(x1, rect.bottom())),
                0.0,
                Color32::from_rgb(r, g, b),
            );
        }
        ui.label(RichText::new("high").small());
        let scale = if shared {
            "class activation, one scale per face"
        } else {
            "class activation, each map scaled to its own range"
        };
        ui.label(RichText::new(scale).small().weak());
    });
}

/// The validation set's mean flip MSE of each class's map over epochs.
fn consistency_plot(ui: &mut Ui, view: &RunView) {
    let series = chart::per_class(&view.classes, |c| {
        view.attention
            .iter()
            .filter_map(|(e, s)| s.per_class.get(c).map(|v| [*e as f64, *v as f64]))
            .collect()
    });
    Chart::new(
        "attention-consistency",
        "Validation flip MSE per class map",
        200.0,
    )
    .series(series)
    .include_y(0.0)
    .show(ui);
}

/// What maps this small leave of flip consistency, and the setting that gives larger ones.
pub fn degenerate_note(h: usize, w: usize) -> String {
    format!(
        "{h}×{w} maps: flip consistency is degenerate at this size (a 1×1 map is its own mirror; a 2×2 one has one column a side). The face ResNet's model.stride_one_blocks gives larger maps at a cost in accuracy (see the setting's help)."
    )
}

impl super::plug::Panel for AttentionPanel {
    fn title(&self) -> &'static str {
        "Attention"
    }

    fn figure(&self) -> Option<crate::views::figures::FigureRef> {
        Some(&crate::views::figures::attention::Attention)
    }

    fn figure_epoch(&self) -> Option<usize> {
        self.epoch
    }

    fn forget_run(&mut self) {
        self.epoch = None;
        self.selected = None;
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut super::plug::PanelContext<'_>) {
        self.show(ui, cx.view);
    }
}
