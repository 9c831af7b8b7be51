//! Per-class validation accuracy: one row per class with a bar, the value, the class's
//! training and validation counts, and the change since the previous epoch.

use egui::{Align2, FontId, RichText, Sense, Ui, vec2};

use super::confusion::text_on;
use super::{color, empty};
use crate::contract::run::view::RunView;

#[derive(Default)]
pub struct PerClassPanel;

impl PerClassPanel {
    pub fn show(&mut self, ui: &mut Ui, view: &RunView) {
        let Some(m) = view.latest() else {
            empty(ui, "Per-class accuracy appears after the first evaluation.");
            return;
        };
        let previous = view
            .epochs
            .len()
            .checked_sub(2)
            .map(|i| &view.epochs[i].val);
        let train = view
            .train_counts()
            .map(<[usize]>::to_vec)
            .unwrap_or_default();
        let val = view
            .data
            .as_ref()
            .map(|d| d.val_counts.clone())
            .unwrap_or_default();
        ui.label(
            RichText::new(format!(
                "epoch {} · overall {:.2}% · mean {:.2}% · macro F1 {:.3}",
                view.epochs.len(),
                100.0 * m.overall,
                100.0 * m.mean,
                m.macro_f1
            ))
            .small(),
        );
        // The other columns take about 280 points; the bars get the rest.
        let bar_w = (ui.available_width() - 280.0).clamp(120.0, 420.0);
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                egui::Grid::new("per-class-table")
                    .striped(true)
                    .num_columns(5)
                    .spacing([10.0, 4.0])
                    .show(ui, |ui| {
                        for h in ["class", "validation accuracy", "change", "train", "val"] {
                            ui.strong(h);
                        }
                        ui.end_row();
                        for (i, name) in view.classes.iter().enumerate() {
                            ui.label(name);
                            let acc = m.per_class.get(i).copied().flatten();
                            accuracy_bar(ui, acc, bar_w, i);
                            let before =
                                previous.and_then(|p| p.per_class.get(i).copied().flatten());
                            match (acc, before) {
                                (Some(a), Some(b)) => {
                                    let d = 100.0 * (a - b);
                                    let c = if d >= 0.0 { color(2) } else { color(3) };
                                    ui.label(RichText::new(format!("{d:+.1}")).color(c))
                                }
                                _ => ui.label(""),
                            };
                            ui.label(train.get(i).map(|n| n.to_string()).unwrap_or_default());
                            ui.label(val.get(i).map(|n| n.to_string()).unwrap_or_default());
                            ui.end_row();
                        }
                    });
            });
    }
}

/// A horizontal 0–100% bar with its value written on it.
fn accuracy_bar(ui: &mut Ui, acc: Option<f32>, width: f32, class: usize) {
    let (rect, response) = ui.allocate_exact_size(vec2(width, 16.0), Sense::hover());
    let painter = ui.painter();
    painter.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
    let font = FontId::proportional(11.0);
    match acc {
        Some(a) => {
            let fill = color(class);
            let mut bar = rect;
            bar.set_width(width * a.clamp(0.0, 1.0));
            painter.rect_filled(bar, 2.0, fill);
            let text = format!("{:.2}%", 100.0 * a);
            // The value sits inside a long bar (in a colour readable on it), else after it.
            if a >= 0.6 {
                let at = bar.right_center() - vec2(4.0, 0.0);
                painter.text(at, Align2::RIGHT_CENTER, text, font, text_on(fill));
            } else {
                let at = bar.right_center() + vec2(4.0, 0.0);
                let ink = ui.visuals().strong_text_color();
                painter.text(at, Align2::LEFT_CENTER, text, font, ink);
            }
        }
        None => {
            let at = rect.left_center() + vec2(4.0, 0.0);
            painter.text(
                at,
                Align2::LEFT_CENTER,
                "no samples",
                font,
                ui.visuals().weak_text_color(),
            );
        }
    }
    response.on_hover_text("recall of this class on the validation split");
}

impl super::plug::Panel for PerClassPanel {
    fn title(&self) -> &'static str {
        "Per-class accuracy"
    }

    fn figure(&self) -> Option<crate::views::figures::FigureRef> {
        Some(&crate::views::figures::per_class::PerClass)
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut super::plug::PanelContext<'_>) {
        self.show(ui, cx.view);
    }
}
