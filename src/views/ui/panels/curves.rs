//! Training curves: loss (and each loss term), validation overall and mean accuracy,
//! learning rate and images/s, against the epoch; other runs can be overlaid.

use egui::Ui;
use egui_plot::{Corner, Legend, Line, LineStyle, PlotPoints};

use super::{color, empty};
use crate::contract::run::view::RunView;

#[derive(Default)]
pub struct CurvesPanel {
    /// Also draw the training loss of every progress report.
    pub per_step: bool,
}

fn series<'a>(name: &str, points: Vec<[f64; 2]>) -> Line<'a> {
    Line::new(name.to_string(), PlotPoints::from(points))
}

impl CurvesPanel {
    pub fn show(&mut self, ui: &mut Ui, view: &RunView, overlays: &[RunView]) {
        // The shown run ticked in the browser too is drawn once, as the shown run.
        let overlays: Vec<&RunView> = overlays
            .iter()
            .filter(|o| view.run_dir.is_none() || o.run_dir != view.run_dir)
            .collect();
        let overlays = overlays.as_slice();
        if view.epochs.is_empty() && view.step_losses.is_empty() && overlays.is_empty() {
            empty(ui, "Curves appear when a run reports its first steps.");
            return;
        }
        ui.horizontal(|ui| {
            ui.checkbox(&mut self.per_step, "loss per step");
            if !overlays.is_empty() {
                ui.label(format!("overlaid: {} run(s)", overlays.len()));
            }
        });
        let gap = ui.spacing().item_spacing.y;
        let height = ((ui.available_height() - gap) / 2.0 - 4.0).max(80.0);
        ui.columns(2, |cols| {
            self.loss_plot(&mut cols[0], view, overlays, height);
            accuracy_plot(&mut cols[1], view, overlays, height);
        });
        ui.columns(2, |cols| {
            lr_plot(&mut cols[0], view, height);
            speed_plot(&mut cols[1], view, height);
        });
    }

    fn loss_plot(&self, ui: &mut Ui, view: &RunView, overlays: &[&RunView], height: f32) {
        let mut lines = Vec::new();
        // Before the first epoch ends the steps' losses are all there is: show them.
        let per_step = self.per_step || view.epochs.is_empty();
        if per_step && !view.step_losses.is_empty() {
            let pts = view
                .step_losses
                .iter()
                .map(|(x, y)| [1.0 + x, *y as f64])
                .collect();
            lines.push(
                series("train loss (steps)", pts)
                    .color(color(0).gamma_multiply(0.5))
                    .width(1.0),
            );
        }
        let ep = |f: &dyn Fn(&crate::contract::run::view::EpochPoint) -> f64| -> Vec<[f64; 2]> {
            view.epochs.iter().map(|p| [p.epoch as f64, f(p)]).collect()
        };
        lines.push(
            series("train loss", ep(&|p| p.train.loss as f64))
                .color(color(0))
                .width(2.0),
        );
        let terms: Vec<String> = view
            .epochs
            .last()
            .map(|p| p.train.terms.keys().cloned().collect())
            .unwrap_or_default();
        if terms.len() > 1 {
            for (i, t) in terms.iter().enumerate() {
                let pts = ep(&|p| p.train.terms.get(t).copied().unwrap_or(f32::NAN) as f64);
                lines.push(
                    series(&format!("term {t}"), pts)
                        .color(color(3 + i))
                        .style(LineStyle::dashed_dense()),
                );
            }
        }
        lines.push(
            series("val loss", ep(&|p| p.val.loss as f64))
                .color(color(1))
                .width(2.0),
        );
        for (i, o) in overlays.iter().enumerate() {
            let pts = o
                .epochs
                .iter()
                .map(|p| [p.epoch as f64, p.val.loss as f64])
                .collect();
            lines.push(
                series(&format!("{} val loss", short_id(&o.run_id)), pts)
                    .color(color(4 + i))
                    .style(LineStyle::dotted_dense()),
            );
        }
        ui.label("Loss");
        super::epoch_plot(ui, "curves-loss")
            .height(height)
            .legend(legend(Corner::RightTop))
            .show(ui, |p| {
                for l in lines {
                    p.line(l);
                }
            });
    }
}

fn accuracy_plot(ui: &mut Ui, view: &RunView, overlays: &[&RunView], height: f32) {
    let pct = |v: f32| 100.0 * v as f64;
    let mut lines = vec![
        series(
            "val overall %",
            view.epochs
                .iter()
                .map(|p| [p.epoch as f64, pct(p.val.overall)])
                .collect(),
        )
        .color(color(2))
        .width(2.0),
        series(
            "val mean %",
            view.epochs
                .iter()
                .map(|p| [p.epoch as f64, pct(p.val.mean)])
                .collect(),
        )
        .color(color(4))
        .width(2.0),
        series(
            "train %",
            view.epochs
                .iter()
                .map(|p| [p.epoch as f64, pct(p.train.accuracy)])
                .collect(),
        )
        .color(color(0))
        .style(LineStyle::dashed_dense()),
    ];
    for (i, o) in overlays.iter().enumerate() {
        let c = color(5 + i);
        lines.push(
            series(
                &format!("{} overall %", short_id(&o.run_id)),
                o.epochs
                    .iter()
                    .map(|p| [p.epoch as f64, pct(p.val.overall)])
                    .collect(),
            )
            .color(c),
        );
        lines.push(
            series(
                &format!("{} mean %", short_id(&o.run_id)),
                o.epochs
                    .iter()
                    .map(|p| [p.epoch as f64, pct(p.val.mean)])
                    .collect(),
            )
            .color(c)
            .style(LineStyle::dashed_dense()),
        );
    }
    ui.label("Validation accuracy");
    if view.epochs.is_empty() && overlays.iter().all(|o| o.epochs.is_empty()) {
        return super::no_data_yet(ui, height, "the first evaluation ends the first epoch");
    }
    super::epoch_plot(ui, "curves-accuracy")
        .height(height)
        .legend(legend(Corner::RightBottom))
        .include_y(0.0)
        .show(ui, |p| {
            for l in lines {
                p.line(l);
            }
        });
}

fn lr_plot(ui: &mut Ui, view: &RunView, height: f32) {
    let pts: Vec<[f64; 2]> = view
        .epochs
        .iter()
        .map(|p| [p.epoch as f64, p.train.lr])
        .collect();
    ui.label("Learning rate (end of epoch)");
    if pts.is_empty() {
        return super::no_data_yet(ui, height, "reported at the end of each epoch");
    }
    super::epoch_plot(ui, "curves-lr")
        .height(height)
        .include_y(0.0)
        .show(ui, |p| {
            p.line(series("lr", pts).color(color(6)).width(2.0));
        });
}

fn speed_plot(ui: &mut Ui, view: &RunView, height: f32) {
    let pts: Vec<[f64; 2]> = view
        .epochs
        .iter()
        .map(|p| [p.epoch as f64, p.train.images_per_sec as f64])
        .collect();
    ui.label("Training images/s");
    if pts.is_empty() {
        return super::no_data_yet(ui, height, "reported at the end of each epoch");
    }
    super::epoch_plot(ui, "curves-speed")
        .height(height)
        .include_y(0.0)
        .show(ui, |p| {
            p.line(series("images/s", pts).color(color(7)).width(2.0));
        });
}

/// Losses fall and accuracies rise: each legend goes where its curves are not.
fn legend(corner: Corner) -> Legend {
    Legend::default()
        .position(corner)
        .text_style(egui::TextStyle::Small)
        .background_alpha(0.6)
}

/// `name-YYYYMMDD-HHMMSS` as `name HH:MM:SS`, short enough for a legend.
pub fn short_id(run_id: &str) -> String {
    let parts: Vec<&str> = run_id.rsplitn(3, '-').collect();
    match parts.as_slice() {
        [time, date, name]
            if time.len() == 6 && date.len() == 8 && time.bytes().all(|b| b.is_ascii_digit()) =>
        {
            format!("{name} {}:{}:{}", &time[..2], &time[2..4], &time[4..])
        }
        _ => run_id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::short_id;

    #[test]
    fn run_ids_shorten_to_name_and_time() {
        assert_eq!(
            short_id("quick-noise30-20261122-210050"),
            "quick-noise30 21:00:50"
        );
        assert_eq!(short_id("odd"), "odd");
    }
}
