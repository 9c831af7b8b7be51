//! Data preview: sample faces of each class with their labels (flipped labels marked where
//! the ground truth is known), and class counts of both splits. Loading runs on a helper
//! thread.

use crossbeam_channel::{Receiver, bounded};
use egui::{Color32, ColorImage, RichText, Sense, TextureHandle, TextureOptions, Ui, vec2};

use super::{color, empty};
use crate::compute::data;
use crate::contract::config::Experiment;
use crate::contract::event::DataStats;
use crate::views::Error;

/// One face to show.
pub struct Sample {
    pub label: u8,
    /// The clean label where the ground truth is known.
    pub truth: Option<u8>,
    pub pixels: Vec<u8>,
    pub size: usize,
    pub channels: usize,
    pub id: String,
}

impl Sample {
    pub fn flipped(&self) -> bool {
        self.truth.is_some_and(|t| t != self.label)
    }
}

pub struct Preview {
    pub stats: DataStats,
    /// Per class, the first faces of the training split.
    pub samples: Vec<Vec<Sample>>,
}

/// Builds a preview of the experiment's data (with its corruption applied).
pub fn build_preview(exp: &Experiment, per_class: usize) -> Result<Preview, Error> {
    let ds = data::build(exp)?;
    let k = ds.num_classes();
    let mut samples: Vec<Vec<Sample>> = (0..k).map(|_| Vec::new()).collect();
    let truth = ds.train.truth.as_ref();
    for i in 0..ds.train.len() {
        let c = ds.train.labels[i] as usize;
        if samples[c].len() < per_class {
            samples[c].push(Sample {
                label: ds.train.labels[i],
                truth: truth.map(|t| t[i].clean_label),
                pixels: ds.train.image(i).to_vec(),
                size: ds.train.size,
                channels: ds.train.channels,
                id: ds.train.ids[i].clone(),
            });
        }
        if samples.iter().all(|s| s.len() >= per_class) {
            break;
        }
    }
    Ok(Preview {
        stats: DataStats::of(&ds),
        samples,
    })
}

/// An image texture from planar u8 pixels.
pub fn texture(
    ctx: &egui::Context,
    name: &str,
    pixels: &[u8],
    size: usize,
    channels: usize,
) -> TextureHandle {
    let image = if channels == 1 {
        ColorImage::from_gray([size, size], pixels)
    } else {
        let plane = size * size;
        let rgb: Vec<u8> = (0..plane)
            .flat_map(|i| [pixels[i], pixels[plane + i], pixels[2 * plane + i]])
            .collect();
        ColorImage::from_rgb([size, size], &rgb)
    };
    ctx.load_texture(name, image, TextureOptions::NEAREST)
}

#[derive(Default)]
pub struct DataPanel {
    job: Option<Receiver<Result<Preview, Error>>>,
    preview: Option<Preview>,
    textures: Vec<Vec<TextureHandle>>,
    error: Option<String>,
    /// The experiment the preview was made for.
    made_for: Option<Experiment>,
}

const PER_CLASS: usize = 10;

impl DataPanel {
    pub fn is_loading(&self) -> bool {
        self.job.is_some()
    }

    pub fn preview(&self) -> Option<&Preview> {
        self.preview.as_ref()
    }

    /// Starts building a preview of `exp` on a helper thread.
    pub fn load(&mut self, exp: &Experiment, ctx: &egui::Context) {
        let (tx, rx) = bounded(1);
        let exp_c = exp.clone();
        let ctx = ctx.clone();
        std::thread::Builder::new()
            .name("ferlab-preview".into())
            .spawn(move || {
                let _ = tx.send(build_preview(&exp_c, PER_CLASS));
                ctx.request_repaint();
            })
            .expect("spawning the preview thread");
        self.job = Some(rx);
        self.made_for = Some(exp.clone());
        self.error = None;
    }

    fn poll(&mut self, ctx: &egui::Context) {
        let Some(rx) = &self.job else { return };
        if let Ok(result) = rx.try_recv() {
            self.job = None;
            match result {
                Ok(p) => {
                    self.textures = p
                        .samples
                        .iter()
                        .enumerate()
                        .map(|(c, row)| {
                            row.iter()
                                .enumerate()
                                .map(|(j, s)| {
                                    texture(
                                        ctx,
                                        &format!("preview-{c}-{j}"),
                                        &s.pixels,
                                        s.size,
                                        s.channels,
                                    )
                                })
                                .collect()
                        })
                        .collect();
                    self.preview = Some(p);
                }
                Err(e) => self.error = Some(e.to_string()),
            }
        }
    }

    pub fn show(&mut self, ui: &mut Ui, exp: &Experiment, valid: bool) {
        self.poll(ui.ctx());
        ui.horizontal(|ui| {
            let label = if self.preview.is_some() {
                "Reload preview"
            } else {
                "Load preview"
            };
            if ui
                .add_enabled(valid && self.job.is_none(), egui::Button::new(label))
                .clicked()
            {
                self.load(exp, ui.ctx());
            }
            if self.job.is_some() {
                ui.spinner();
                ui.label("loading data…");
            } else if self.preview.is_some()
                && self
                    .made_for
                    .as_ref()
                    .is_some_and(|m| m.data != exp.data || m.corruption != exp.corruption)
            {
                ui.label(RichText::new("the data settings changed since this preview").weak());
            }
        });
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        let Some(p) = &self.preview else {
            if self.job.is_none() {
                empty(ui, "Load a preview to see sample faces and class counts.");
            }
            return;
        };
        let s = &p.stats;
        ui.label(&s.origin);
        let mut facts = format!("imbalance factor {:.1}", s.imbalance_factor);
        if let Some(r) = s.noise_rate.filter(|r| *r > 0.0) {
            facts += &format!(
                " · {:.1}% of training labels flipped (marked red)",
                100.0 * r
            );
        }
        if let Some(b) = s.blended {
            facts += &format!(" · {b} blended faces");
        }
        if s.skipped > 0 {
            facts += &format!(" · {} unreadable images skipped", s.skipped);
        }
        ui.label(RichText::new(facts).small());
        egui::ScrollArea::both()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                let max_count = s
                    .train_counts
                    .iter()
                    .chain(&s.val_counts)
                    .copied()
                    .max()
                    .unwrap_or(1)
                    .max(1);
                egui::Grid::new("data-preview")
                    .num_columns(3)
                    .spacing([10.0, 6.0])
                    .show(ui, |ui| {
                        for (c, name) in s.classes.iter().enumerate() {
                            ui.vertical(|ui| {
                                ui.strong(name);
                                count_bar(ui, "train", s.train_counts[c], max_count, color(c));
                                count_bar(
                                    ui,
                                    "val",
                                    s.val_counts[c],
                                    max_count,
                                    color(c).gamma_multiply(0.6),
                                );
                            });
                            ui.horizontal(|ui| {
                                for (j, sample) in p.samples[c].iter().enumerate() {
                                    let Some(tex) = self.textures.get(c).and_then(|row| row.get(j))
                                    else {
                                        continue;
                                    };
                                    let img =
                                        egui::Image::new(tex).fit_to_exact_size(vec2(56.0, 56.0));
                                    let r = ui.add(img.sense(Sense::hover()));
                                    let mut tip = format!(
                                        "{}\ngiven label: {}",
                                        sample.id, s.classes[sample.label as usize]
                                    );
                                    if let Some(t) = sample.truth {
                                        tip += &format!("\ntrue label: {}", s.classes[t as usize]);
                                    }
                                    if sample.flipped() {
                                        ui.painter().rect_stroke(
                                            r.rect.expand(1.0),
                                            2.0,
                                            (2.5, Color32::from_rgb(220, 40, 40)),
                                            egui::StrokeKind::Outside,
                                        );
                                    }
                                    r.on_hover_text(tip);
                                }
                            });
                            ui.end_row();
                        }
                    });
            });
    }
}

fn count_bar(ui: &mut Ui, what: &str, n: usize, max: usize, fill: Color32) {
    let w = 110.0;
    let (rect, _) = ui.allocate_exact_size(vec2(w, 12.0), Sense::hover());
    let frac = n as f32 / max as f32;
    let mut bar = rect;
    bar.set_width((w * frac).max(1.0));
    ui.painter().rect_filled(bar, 2.0, fill);
    ui.painter().text(
        rect.left_center() + vec2(3.0, 0.0),
        egui::Align2::LEFT_CENTER,
        format!("{what} {n}"),
        egui::FontId::proportional(10.0),
        super::confusion::text_on(fill),
    );
}

impl super::plug::Panel for DataPanel {
    fn title(&self) -> &'static str {
        "Data preview"
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut super::plug::PanelContext<'_>) {
        self.show(ui, cx.experiment, cx.experiment_valid);
    }
}
