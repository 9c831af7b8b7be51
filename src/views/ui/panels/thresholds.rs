//! ASM's per-class thresholds over epochs: clean (solid) and noisy (dotted) curves of a class
//! share its colour; in fixed-threshold runs the base pair is drawn dashed. Below, the class
//! mean probability p̄_k the adaptive thresholds come from.

use egui::{Color32, Ui};

use super::chart::{self, Chart, Dash, Series};
use super::{color, empty};
use crate::contract::run::view::RunView;

#[derive(Default)]
pub struct ThresholdsPanel;

impl ThresholdsPanel {
    pub fn show(&mut self, ui: &mut Ui, view: &RunView) {
        let Some((_, last)) = view.mining.last() else {
            empty(
                ui,
                "Thresholds appear after the first epoch of an ASM run (method = asm).",
            );
            return;
        };
        let (tn, tc) = last.base;
        let mode = if last.adaptive {
            "adaptive (AT)"
        } else {
            "fixed (FT)"
        };
        let warm = view
            .mining
            .iter()
            .filter(|(_, r)| r.thresholds.is_none())
            .count();
        ui.label(
            egui::RichText::new(format!(
                "{mode}, base [T_n, T_c] = [{tn}, {tc}] · solid: clean threshold, dotted: noisy threshold{}",
                if warm > 0 {
                    format!(" · {warm} warm-up epoch(s) without mining")
                } else {
                    String::new()
                }
            ))
            .small(),
        );
        let gap = ui.spacing().item_spacing.y;
        let height = ((ui.available_height() - gap) * 0.6).max(120.0);
        let mut lines = Vec::new();
        for (k, name) in view.classes.iter().enumerate() {
            let pick = |clean: bool| -> Vec<[f64; 2]> {
                view.threshold_series(k, clean)
                    .into_iter()
                    .map(|(e, v)| [e, v])
                    .collect()
            };
            // One legend entry per class: its clean (solid) and noisy (dotted) curves.
            lines.push(Series::new(name.clone(), color(k), pick(true)));
            lines.push(Series::new(name.clone(), color(k), pick(false)).dash(Dash::Dotted));
        }
        if !last.adaptive {
            let first = view.mining.first().map_or(1, |(e, _)| *e) as f64;
            let end = view.mining.last().map_or(1, |(e, _)| *e) as f64;
            for (name, v) in [("fixed T_c", tc), ("fixed T_n", tn)] {
                lines.push(
                    Series::new(
                        name,
                        Color32::GRAY,
                        vec![[first, v as f64], [end, v as f64]],
                    )
                    .dash(Dash::Dashed),
                );
            }
        }
        if lines.iter().all(|l| l.points.is_empty()) {
            // Still warming up: nothing mined, so no thresholds to draw yet.
            ui.label(egui::RichText::new("Per-class thresholds").strong());
            super::no_data_yet(
                ui,
                height - 24.0,
                &format!(
                    "mining has not started: {warm} warm-up epoch(s) so far; the thresholds \
                     appear from the first epoch that mines"
                ),
            );
        } else {
            Chart::new("thresholds", "Per-class thresholds", height)
                .series(lines)
                .y_label("threshold")
                .include_y(0.0)
                .show(ui);
        }
        let class_mean = chart::per_class(&view.classes, |k| {
            view.mining
                .iter()
                .filter_map(|(e, r)| r.class_mean.get(k).map(|v| [*e as f64, *v as f64]))
                .collect()
        });
        Chart::new(
            "thresholds-class-mean",
            "Mean probability of the given label per class (EMA over epochs)",
            (ui.available_height() - 4.0).max(100.0),
        )
        .series(class_mean)
        .include_y(0.0)
        .show(ui);
    }
}

impl super::plug::Panel for ThresholdsPanel {
    fn title(&self) -> &'static str {
        "Thresholds"
    }

    fn figure(&self) -> Option<crate::views::figures::FigureRef> {
        Some(&crate::views::figures::mining::Thresholds)
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut super::plug::PanelContext<'_>) {
        self.show(ui, cx.view);
    }
}
