//! ASM's per-class thresholds over epochs: clean (solid) and noisy (dotted) curves of a class
//! share its colour; in fixed-threshold runs the base pair is drawn dashed. Below, the class
//! mean probability p̄_k the adaptive thresholds come from.

use egui::{Color32, Ui};
use egui_plot::{Corner, Legend, Line, LineStyle, PlotPoints};

use super::{color, empty};
use crate::contract::run::view::RunView;

#[derive(Default)]
pub struct ThresholdsPanel;

fn line<'a>(name: String, points: Vec<[f64; 2]>) -> Line<'a> {
    Line::new(name, PlotPoints::from(points))
}

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
        let height = ((ui.available_height() - gap) * 0.62 - 20.0).max(80.0);
        super::epoch_plot(ui, "thresholds")
            .height(height)
            .legend(Legend::default().position(Corner::RightBottom))
            .y_axis_label("threshold")
            .include_y(0.0)
            .show(ui, |p| {
                for (k, name) in view.classes.iter().enumerate() {
                    let pick = |clean: bool| -> Vec<[f64; 2]> {
                        view.threshold_series(k, clean)
                            .into_iter()
                            .map(|(e, v)| [e, v])
                            .collect()
                    };
                    let c = color(k);
                    p.line(line(name.clone(), pick(true)).color(c).width(2.0));
                    p.line(
                        line(name.clone(), pick(false))
                            .color(c)
                            .width(1.5)
                            .style(LineStyle::dotted_dense()),
                    );
                }
                if !last.adaptive {
                    let first = view.mining.first().map_or(1, |(e, _)| *e) as f64;
                    let end = view.mining.last().map_or(1, |(e, _)| *e) as f64;
                    for (name, v) in [("fixed T_c", tc), ("fixed T_n", tn)] {
                        p.line(
                            line(name.into(), vec![[first, v as f64], [end, v as f64]])
                                .color(Color32::GRAY)
                                .width(1.5)
                                .style(LineStyle::dashed_loose()),
                        );
                    }
                }
            });
        ui.label("Mean probability of the given label per class (EMA over epochs)");
        super::epoch_plot(ui, "thresholds-class-mean")
            .height((ui.available_height() - 4.0).max(60.0))
            .include_y(0.0)
            .show(ui, |p| {
                for (k, name) in view.classes.iter().enumerate() {
                    let pts = view
                        .mining
                        .iter()
                        .filter_map(|(e, r)| r.class_mean.get(k).map(|v| [*e as f64, *v as f64]))
                        .collect();
                    p.line(line(name.clone(), pts).color(color(k)).width(1.5));
                }
            });
    }
}
