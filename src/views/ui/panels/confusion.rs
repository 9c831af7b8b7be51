//! The confusion matrix as a heat map: rows are true classes, columns predictions; counts
//! or row-normalised percentages; hovering a cell names it.

use egui::{Align2, Color32, FontId, Rect, Sense, Ui, pos2, vec2};

use super::empty;
use crate::contract::run::view::RunView;

#[derive(Default)]
pub struct ConfusionPanel {
    /// Show row-normalised percentages instead of counts.
    pub percent: bool,
}

/// Viridis, sampled at five points and interpolated: legible on light and dark themes.
pub fn viridis(t: f32) -> Color32 {
    const STOPS: [[f32; 3]; 5] = [
        [68.0, 1.0, 84.0],
        [59.0, 82.0, 139.0],
        [33.0, 145.0, 140.0],
        [94.0, 201.0, 98.0],
        [253.0, 231.0, 37.0],
    ];
    let t = t.clamp(0.0, 1.0) * 4.0;
    let i = (t.floor() as usize).min(3);
    let f = t - i as f32;
    let c: Vec<u8> = (0..3)
        .map(|k| (STOPS[i][k] + (STOPS[i + 1][k] - STOPS[i][k]) * f).round() as u8)
        .collect();
    Color32::from_rgb(c[0], c[1], c[2])
}

/// Black or white, whichever reads on `bg`.
pub fn text_on(bg: Color32) -> Color32 {
    let l = 0.299 * bg.r() as f32 + 0.587 * bg.g() as f32 + 0.114 * bg.b() as f32;
    if l > 140.0 {
        Color32::BLACK
    } else {
        Color32::WHITE
    }
}

impl ConfusionPanel {
    pub fn show(&mut self, ui: &mut Ui, view: &RunView) {
        let Some(m) = view.latest() else {
            empty(
                ui,
                "The confusion matrix appears after the first evaluation.",
            );
            return;
        };
        let epoch = view.epochs.last().map(|p| p.epoch).unwrap_or(0);
        // Wrapped, so a narrow pane shows the whole header on two lines.
        ui.horizontal_wrapped(|ui| {
            ui.checkbox(&mut self.percent, "row-normalised %");
            ui.label(format!(
                "epoch {epoch}: overall {:.2}%, mean {:.2}% ({} images)",
                100.0 * m.overall,
                100.0 * m.mean,
                m.count
            ));
        });
        let k = m.confusion.len();
        if k == 0 {
            return;
        }
        let names: Vec<&str> = view.classes.iter().map(String::as_str).collect();
        let font = FontId::proportional(12.0);
        let text = ui.visuals().text_color();
        // Full class names: rows right-aligned before the matrix, columns rotated 45°
        // above it, each sized to the longest name.
        let name_w = names
            .iter()
            .map(|n| {
                ui.painter()
                    .layout_no_wrap(n.to_string(), font.clone(), text)
                    .size()
                    .x
            })
            .fold(0.0f32, f32::max);
        let label_w = name_w + 10.0;
        let header_h = name_w * std::f32::consts::FRAC_1_SQRT_2 + 14.0;
        let avail = ui.available_size();
        // Room on the right for the last rotated name.
        let right = name_w * std::f32::consts::FRAC_1_SQRT_2;
        let cell = ((avail.x - label_w - right) / k as f32)
            .min((avail.y - header_h - 20.0) / k as f32)
            .max(14.0);
        let size = vec2(
            label_w + cell * k as f32 + right,
            header_h + cell * k as f32 + 16.0,
        );
        let (rect, response) = ui.allocate_exact_size(size, Sense::hover());
        let painter = ui.painter_at(rect);
        let origin = rect.min + vec2(label_w, header_h);
        for (j, name) in names.iter().enumerate().take(k) {
            let galley = painter.layout_no_wrap(name.to_string(), font.clone(), text);
            // Rotated about its top-left corner: placed so its bottom-left corner sits just
            // above the column's centre, the name rising to the right.
            let d = galley.size().y * std::f32::consts::FRAC_1_SQRT_2;
            let at = pos2(origin.x + (j as f32 + 0.5) * cell - d, origin.y - 3.0 - d);
            painter.add(
                egui::epaint::TextShape::new(at, galley, text)
                    .with_angle(-std::f32::consts::FRAC_PI_4),
            );
        }
        for i in 0..k {
            let row_sum: u32 = m.confusion[i].iter().sum();
            painter.text(
                pos2(
                    rect.min.x + label_w - 6.0,
                    origin.y + (i as f32 + 0.5) * cell,
                ),
                Align2::RIGHT_CENTER,
                names.get(i).copied().unwrap_or("?"),
                font.clone(),
                text,
            );
            for j in 0..k {
                let n = m.confusion[i][j];
                let frac = if row_sum > 0 {
                    n as f32 / row_sum as f32
                } else {
                    0.0
                };
                let r = Rect::from_min_size(
                    origin + vec2(j as f32 * cell, i as f32 * cell),
                    vec2(cell, cell),
                )
                .shrink(0.5);
                let bg = viridis(frac);
                painter.rect_filled(r, 1.0, bg);
                let label = if self.percent {
                    format!("{:.0}", 100.0 * frac)
                } else {
                    n.to_string()
                };
                if cell >= 18.0 {
                    painter.text(
                        r.center(),
                        Align2::CENTER_CENTER,
                        label,
                        FontId::proportional((cell * 0.32).clamp(9.0, 14.0)),
                        text_on(bg),
                    );
                }
            }
        }
        painter.text(
            pos2(
                origin.x + cell * k as f32 / 2.0,
                origin.y + cell * k as f32 + 8.0,
            ),
            Align2::CENTER_CENTER,
            "columns: predicted class · rows: true class",
            FontId::proportional(11.0),
            ui.visuals().weak_text_color(),
        );
        if let Some(pos) = response.hover_pos() {
            let rel = pos - origin;
            if rel.x >= 0.0 && rel.y >= 0.0 {
                let (j, i) = ((rel.x / cell) as usize, (rel.y / cell) as usize);
                if i < k && j < k {
                    let row_sum: u32 = m.confusion[i][..].iter().sum();
                    let n = m.confusion[i][j];
                    let pct = if row_sum > 0 {
                        100.0 * n as f32 / row_sum as f32
                    } else {
                        0.0
                    };
                    response.on_hover_text(format!(
                        "true {}, predicted {}: {n} of {row_sum} ({pct:.1}%)",
                        names.get(i).copied().unwrap_or("?"),
                        names.get(j).copied().unwrap_or("?")
                    ));
                }
            }
        }
    }
}

impl super::plug::Panel for ConfusionPanel {
    fn title(&self) -> &'static str {
        "Confusion matrix"
    }

    fn figure(&self) -> Option<crate::views::figures::FigureRef> {
        Some(&crate::views::figures::confusion::Confusion)
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut super::plug::PanelContext<'_>) {
        self.show(ui, cx.view);
    }
}
