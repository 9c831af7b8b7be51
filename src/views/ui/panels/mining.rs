//! ASM's sample mining: per class, how many samples are clean / ambiguous / noisy each
//! epoch; where the truth is known, precision and recall of the noisy set (against the
//! flipped labels) and of the clean set (against the clean ones); and a gallery of the
//! samples that moved between sets in the chosen epoch.

use std::collections::HashMap;

use egui::{Color32, RichText, TextureHandle, Ui, vec2};

use super::chart::{Chart, Dash, Series};
use super::data::texture;
use super::training_faces::{FaceLoader, FacesState};
use super::{class_filter, empty, epoch_picker};
use crate::contract::codec::base64_decode;
use crate::contract::event::mining::{
    MOVES_LISTED, MiningQuality, MiningReport, MoveRecord, MovedSample, Subset,
};
use crate::contract::run::view::{RunStatus, RunView};

/// What a gallery page is of: run, epoch, move filter, label filter.
type PageKey = (String, usize, Option<(Subset, Subset)>, Option<usize>);

/// Moved samples on one page of the gallery.
pub const PAGE: usize = 32;

/// Colours of the three sets, the same everywhere.
pub fn subset_color(s: Subset) -> Color32 {
    match s {
        Subset::Clean => Color32::from_rgb(44, 160, 44),
        Subset::Ambiguous => Color32::from_rgb(255, 165, 0),
        Subset::Noisy => Color32::from_rgb(214, 39, 40),
    }
}

#[derive(Default)]
pub struct MiningPanel {
    /// The epoch shown (1-based); None follows the latest.
    pub epoch: Option<usize>,
    /// Class the count curves show; None = all classes.
    pub class: Option<usize>,
    /// Thumbnails by (run, epoch, sample index).
    textures: HashMap<(String, usize, usize), TextureHandle>,
    /// The gallery's page (0-based) and what it shows: a move (from, to) and a given label.
    pub page: usize,
    pub transition: Option<(Subset, Subset)>,
    pub moved_class: Option<usize>,
    /// What the page was for: another epoch, filter or run starts at page 1.
    page_for: Option<PageKey>,
    /// The run's training faces, for moved samples the report has no picture of.
    pub faces: FaceLoader,
}

fn pct(v: Option<f32>) -> String {
    v.map_or("–".into(), |v| format!("{:.1}%", 100.0 * v))
}

impl MiningPanel {
    pub fn show(&mut self, ui: &mut Ui, view: &RunView) {
        if view.mining.is_empty() {
            empty(
                ui,
                "Sample mining appears after the first epoch of an ASM run (method = asm).",
            );
            return;
        }
        let epochs: Vec<usize> = view.mining.iter().map(|(e, _)| *e).collect();
        let mut shown = *epochs.last().unwrap_or(&1);
        // Side by side when the pane is wide, stacked (and scrolled) when it is narrow.
        let wide = ui.available_width() >= 760.0;
        let plot_h = if wide {
            (ui.available_height() * 0.36).clamp(150.0, 320.0)
        } else {
            180.0
        };
        egui::ScrollArea::vertical()
            .id_salt("mining-scroll")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    shown = epoch_picker(ui, &mut self.epoch, &epochs);
                    class_filter(ui, "curves for", &mut self.class, &view.classes);
                });
                let Some((_, report)) = view.mining.iter().find(|(e, _)| *e == shown) else {
                    return;
                };
                ui.columns(2, |cols| {
                    self.count_plot(&mut cols[0], view, plot_h);
                    quality_plot(&mut cols[1], view, plot_h);
                });
                if wide {
                    ui.columns(2, |cols| {
                        counts_table(&mut cols[0], view, report, shown);
                        self.gallery(&mut cols[1], view, report, shown);
                    });
                } else {
                    counts_table(ui, view, report, shown);
                    ui.separator();
                    self.gallery(ui, view, report, shown);
                }
            });
    }

    fn count_plot(&self, ui: &mut Ui, view: &RunView, height: f32) {
        let title = match self.class.and_then(|c| view.classes.get(c)) {
            Some(name) => format!("Samples per set: {name}"),
            None => "Samples per set: all classes".into(),
        };
        let series = Subset::ALL
            .into_iter()
            .map(|s| {
                let pts = view
                    .mining
                    .iter()
                    .map(|(e, r)| {
                        let n: usize = match self.class {
                            Some(c) => r.counts.get(c).map_or(0, |v| v[s as usize]),
                            None => r.counts.iter().map(|v| v[s as usize]).sum(),
                        };
                        [*e as f64, n as f64]
                    })
                    .collect();
                Series::new(s.name(), subset_color(s), pts)
            })
            .collect();
        Chart::new("mining-counts", title, height)
            .series(series)
            .include_y(0.0)
            .show(ui);
    }

    /// Every moved sample of the epoch, a page at a time, filtered by move and given label.
    fn gallery(&mut self, ui: &mut Ui, view: &RunView, report: &MiningReport, epoch: usize) {
        let total: usize = report.moves.iter().flatten().sum();
        // Runs recorded before every move was listed have only the pictured ones.
        let records: Vec<MoveRecord> = if report.moves_listed.is_empty() {
            report.moved.iter().map(record_of).collect()
        } else {
            report.moves_listed.clone()
        };
        ui.label(format!(
            "Moved in epoch {epoch}: {total} samples{}",
            if records.len() < total {
                format!(
                    " ({} listed: {})",
                    records.len(),
                    if report.moves_listed.is_empty() {
                        "a run recorded before every move was listed".to_string()
                    } else {
                        format!("an even spread, at most {MOVES_LISTED}")
                    }
                )
            } else {
                String::new()
            }
        ));
        if records.is_empty() {
            ui.label(RichText::new("No sample changed its set.").weak());
            return;
        }
        ui.horizontal_wrapped(|ui| {
            let mut moves: Vec<(Subset, Subset)> = records.iter().map(|r| (r.from, r.to)).collect();
            moves.sort_by_key(|&(a, b)| (a as u8, b as u8));
            moves.dedup();
            egui::ComboBox::new("mining-transition", "move")
                .selected_text(self.transition.map_or("every move".into(), move_name))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.transition, None, "every move");
                    for m in moves {
                        ui.selectable_value(&mut self.transition, Some(m), move_name(m));
                    }
                });
            class_filter(ui, "given", &mut self.moved_class, &view.classes);
        });
        let shown: Vec<&MoveRecord> = records
            .iter()
            .filter(|r| {
                self.transition
                    .is_none_or(|(a, b)| r.from == a && r.to == b)
            })
            .filter(|r| self.moved_class.is_none_or(|c| r.given as usize == c))
            .collect();
        let key = (
            view.run_id.clone(),
            epoch,
            self.transition,
            self.moved_class,
        );
        if self.page_for.as_ref() != Some(&key) {
            self.page = 0;
            self.page_for = Some(key);
        }
        let pages = shown.len().div_ceil(PAGE).max(1);
        self.page = self.page.min(pages - 1);
        ui.horizontal(|ui| {
            if ui
                .add_enabled(self.page > 0, egui::Button::new("Previous"))
                .on_hover_text("previous page")
                .clicked()
            {
                self.page -= 1;
            }
            ui.label(format!(
                "page {} of {pages} · {} samples",
                self.page + 1,
                shown.len()
            ));
            if ui
                .add_enabled(self.page + 1 < pages, egui::Button::new("Next"))
                .on_hover_text("next page")
                .clicked()
            {
                self.page += 1;
            }
        });
        let page: Vec<&MoveRecord> = shown
            .iter()
            .skip(self.page * PAGE)
            .take(PAGE)
            .copied()
            .collect();
        if page.is_empty() {
            ui.label(RichText::new("No moved sample matches the filters.").weak());
            return;
        }
        self.faces.follow(&view.run_id);
        self.faces.poll();
        let pictured: HashMap<usize, &MovedSample> =
            report.moved.iter().map(|m| (m.index, m)).collect();
        let unpictured = page
            .iter()
            .any(|r| !pictured.contains_key(&(r.index as usize)));
        if unpictured {
            self.faces_status(ui, view);
        }
        let name = |c: u8| {
            view.classes
                .get(c as usize)
                .map_or("?".to_string(), |s| s.clone())
        };
        ui.horizontal_wrapped(|ui| {
            for r in page {
                let index = r.index as usize;
                let tex = match pictured.get(&index) {
                    Some(m) => self.thumbnail(ui.ctx(), &view.run_id, epoch, m),
                    None => self.training_face(ui.ctx(), &view.run_id, index),
                };
                // A fixed-size cell, so that the wrapping layout can place it.
                let column = egui::Layout::top_down(egui::Align::Min);
                ui.allocate_ui_with_layout(vec2(112.0, 150.0), column, |ui| {
                    ui.set_width(112.0);
                    let frame = egui::Frame::new()
                        .stroke(egui::Stroke::new(2.0, subset_color(r.to)))
                        .inner_margin(1.0);
                    frame
                        .show(ui, |ui| match &tex {
                            Some(t) => {
                                ui.add(egui::Image::new(t).fit_to_exact_size(vec2(64.0, 64.0)));
                            }
                            None => {
                                ui.allocate_exact_size(vec2(64.0, 64.0), egui::Sense::hover());
                            }
                        })
                        .response
                        .on_hover_text(format!(
                            "sample {index} · confidence in its given label {:.3}",
                            r.confidence
                        ));
                    ui.add_space(4.0);
                    let arrow = format!("{} -> {}", r.from.name(), r.to.name());
                    ui.label(RichText::new(arrow).small().color(subset_color(r.to)));
                    ui.label(RichText::new(format!("given {}", name(r.given))).small());
                    ui.label(RichText::new(format!("pred {}", name(r.predicted))).small());
                    if let Some(t) = r.truth {
                        let flipped = t != r.given;
                        let text = RichText::new(format!("true {}", name(t))).small();
                        ui.label(if flipped { text.strong() } else { text.weak() });
                    }
                });
            }
        });
    }

    /// Starts reading `view`'s training faces (what *Show all pictures* does); false when
    /// the run's config is unknown.
    pub fn request_pictures(&mut self, view: &RunView, ctx: &egui::Context) -> bool {
        let Some(config) = view.config.clone().filter(|c| !c.trim().is_empty()) else {
            return false;
        };
        let count = view
            .data
            .as_ref()
            .map(|d| d.train_counts.iter().sum::<usize>());
        self.faces.follow(&view.run_id);
        self.faces.request(config, count, ctx);
        true
    }

    /// Says where the training faces stand; asks for them when none is loaded. A live run
    /// keeps the CPU: its faces are read when the user asks.
    fn faces_status(&mut self, ui: &mut Ui, view: &RunView) {
        let known = view.config.as_ref().is_some_and(|c| !c.trim().is_empty());
        let live = view.status == RunStatus::Running;
        match &self.faces.state {
            FacesState::NotAsked => {
                if !known {
                    ui.label(
                        RichText::new(
                            "Pictures of 32 moved samples an epoch: the run's config is unknown.",
                        )
                        .small()
                        .weak(),
                    );
                } else {
                    // A live run keeps the CPU until the user asks.
                    let asked = !live
                        || ui
                            .button("Show all pictures")
                            .on_hover_text(
                                "read the run's training faces (uses the CPU the run trains on)",
                            )
                            .clicked();
                    if asked {
                        self.request_pictures(view, ui.ctx());
                    }
                }
            }
            FacesState::Loading(_) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(RichText::new("reading the run's training faces…").small());
                });
            }
            FacesState::Failed(why) => {
                ui.label(
                    RichText::new(format!("No pictures beyond the report's 32: {why}"))
                        .small()
                        .color(ui.visuals().warn_fg_color),
                );
            }
            FacesState::Ready(_) => {}
        }
    }

    /// A training face as a texture, cached under the run (epoch `usize::MAX`).
    fn training_face(
        &mut self,
        ctx: &egui::Context,
        run: &str,
        index: usize,
    ) -> Option<TextureHandle> {
        let key = (run.to_string(), usize::MAX, index);
        if let Some(t) = self.textures.get(&key) {
            return Some(t.clone());
        }
        let faces = self.faces.faces()?;
        let pixels = faces.face(index)?;
        let t = texture(ctx, &format!("face-{run}-{index}"), pixels, faces.side, 1);
        if self.textures.len() > 512 {
            self.textures.clear();
        }
        self.textures.insert(key, t.clone());
        Some(t)
    }

    fn thumbnail(
        &mut self,
        ctx: &egui::Context,
        run: &str,
        epoch: usize,
        m: &MovedSample,
    ) -> Option<TextureHandle> {
        let key = (run.to_string(), epoch, m.index);
        if let Some(t) = self.textures.get(&key) {
            return Some(t.clone());
        }
        let pixels = base64_decode(&m.thumbnail).ok()?;
        if pixels.len() != m.size * m.size {
            return None;
        }
        let t = texture(
            ctx,
            &format!("mined-{run}-{epoch}-{}", m.index),
            &pixels,
            m.size,
            1,
        );
        // Keep the cache bounded: a long run's galleries would otherwise pile up.
        if self.textures.len() > 512 {
            self.textures.clear();
        }
        self.textures.insert(key, t.clone());
        Some(t)
    }
}

/// A pictured moved sample as a listed move (runs recorded before every move was listed).
fn record_of(m: &MovedSample) -> MoveRecord {
    MoveRecord {
        index: m.index as u32,
        from: m.from,
        to: m.to,
        given: m.given,
        predicted: m.predicted,
        truth: m.truth,
        confidence: m.confidence,
    }
}

fn move_name((from, to): (Subset, Subset)) -> String {
    format!("{} -> {}", from.name(), to.name())
}

fn quality_plot(ui: &mut Ui, view: &RunView, height: f32) {
    let known = view.mining.iter().any(|(_, r)| r.quality.is_some());
    if !known {
        ui.label(RichText::new("Mining quality against the true labels").strong());
        ui.label(
            RichText::new("The true labels of this data are unknown (no injected noise).").weak(),
        );
        return;
    }
    let series = |f: &dyn Fn(&MiningReport) -> Option<f32>| -> Vec<[f64; 2]> {
        view.mining
            .iter()
            .filter_map(|(e, r)| f(r).map(|v| [*e as f64, 100.0 * v as f64]))
            .collect()
    };
    let noisy = subset_color(Subset::Noisy);
    let clean = subset_color(Subset::Clean);
    // The set's colour, precision solid and recall dashed.
    type Pick = fn(&MiningQuality) -> Option<f32>;
    let curves: [(&str, Pick, Color32, Dash); 4] = [
        ("noisy precision", |q| q.noisy.precision, noisy, Dash::Solid),
        ("noisy recall", |q| q.noisy.recall, noisy, Dash::Dashed),
        ("clean precision", |q| q.clean.precision, clean, Dash::Solid),
        ("clean recall", |q| q.clean.recall, clean, Dash::Dashed),
    ];
    let mut lines: Vec<Series> = curves
        .into_iter()
        .map(|(name, pick, colour, dash)| {
            Series::new(name, colour, series(&|r| r.quality.as_ref().and_then(pick))).dash(dash)
        })
        .collect();
    lines.push(
        Series::new(
            "noise rate",
            Color32::GRAY,
            series(&|r| r.quality.map(|q| q.noise_rate)),
        )
        .dash(Dash::Dotted),
    );
    Chart::new(
        "mining-quality",
        "Mining quality against the true labels",
        height,
    )
    .series(lines)
    .y_label("%")
    .include_y(0.0)
    .include_y(100.0)
    .show(ui);
}

fn counts_table(ui: &mut Ui, view: &RunView, report: &MiningReport, epoch: usize) {
    let mut head = format!("Epoch {epoch}");
    if let Some(q) = &report.quality {
        head += &format!(
            " · noisy set: precision {} recall {} · clean set: precision {} recall {}",
            pct(q.noisy.precision),
            pct(q.noisy.recall),
            pct(q.clean.precision),
            pct(q.clean.recall)
        );
    }
    if report.thresholds.is_none() {
        head += " · warm-up: every sample counts as clean";
    }
    ui.label(RichText::new(head).small());
    egui::Grid::new("mining-table-grid")
        .striped(true)
        .num_columns(6)
        .spacing([10.0, 3.0])
        .show(ui, |ui| {
            for h in ["class", "sets", "clean", "ambiguous", "noisy", "T_n / T_c"] {
                ui.strong(h);
            }
            ui.end_row();
            for (k, name) in view.classes.iter().enumerate() {
                let c = report.counts.get(k).copied().unwrap_or([0; 3]);
                ui.label(name);
                set_bar(ui, c);
                for s in Subset::ALL {
                    ui.label(RichText::new(c[s as usize].to_string()).color(subset_color(s)));
                }
                match &report.thresholds {
                    Some(t) => ui.label(format!(
                        "{:.2} / {:.2}",
                        t.noisy.get(k).copied().unwrap_or(f32::NAN),
                        t.clean.get(k).copied().unwrap_or(f32::NAN)
                    )),
                    None => ui.label("–"),
                };
                ui.end_row();
            }
        });
}

/// A horizontal bar split into the three sets' shares.
fn set_bar(ui: &mut Ui, counts: [usize; 3]) {
    let (rect, _) = ui.allocate_exact_size(vec2(100.0, 12.0), egui::Sense::hover());
    let total: usize = counts.iter().sum();
    if total == 0 {
        return;
    }
    let mut x = rect.left();
    for s in Subset::ALL {
        let w = rect.width() * counts[s as usize] as f32 / total as f32;
        let r = egui::Rect::from_min_size(egui::pos2(x, rect.top()), vec2(w, rect.height()));
        ui.painter().rect_filled(r, 0.0, subset_color(s));
        x += w;
    }
}

impl super::plug::Panel for MiningPanel {
    fn title(&self) -> &'static str {
        "Sample mining"
    }

    fn figure(&self) -> Option<crate::views::figures::FigureRef> {
        Some(&crate::views::figures::mining::Mining)
    }

    fn forget_run(&mut self) {
        self.epoch = None;
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut super::plug::PanelContext<'_>) {
        self.show(ui, cx.view);
    }
}
