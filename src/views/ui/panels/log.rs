//! Progress (epoch, step, ETA, images/s) and the run's log.

use egui::{RichText, ScrollArea, Ui};

use crate::contract::event::Level;
use crate::contract::run::view::{RunStatus, RunView};
pub use crate::views::format::duration;

#[derive(Default)]
pub struct LogPanel;

impl LogPanel {
    pub fn show(&mut self, ui: &mut Ui, view: &RunView) {
        ui.horizontal(|ui| {
            ui.label(RichText::new(format!("status: {}", view.status.label())).strong());
            if !view.run_id.is_empty() {
                ui.label(format!("run {}", view.run_id));
            }
        });
        if let Some(p) = view.progress {
            let done = (p.epoch * p.steps + p.step) as f32;
            let total = (view.epochs_total.max(1) * p.steps.max(1)) as f32;
            ui.add(
                egui::ProgressBar::new((done / total).clamp(0.0, 1.0)).text(format!(
                    "epoch {}/{} · step {}/{}",
                    p.epoch + 1,
                    view.epochs_total,
                    p.step,
                    p.steps
                )),
            );
            let eta = if view.is_active() {
                duration(p.eta_secs)
            } else {
                "—".into()
            };
            ui.label(format!(
                "loss {:.4} · lr {:.2e} · {:.0} images/s · ETA {eta}",
                p.loss, p.lr, p.images_per_sec
            ));
        }
        if let RunStatus::Failed(e) = &view.status {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        ui.separator();
        ScrollArea::vertical()
            .stick_to_bottom(true)
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for (level, text) in &view.log {
                    let t = RichText::new(text).monospace();
                    match level {
                        Level::Info => ui.label(t),
                        Level::Warn => ui.label(t.color(ui.visuals().warn_fg_color)),
                        Level::Error => ui.label(t.color(ui.visuals().error_fg_color)),
                    };
                }
            });
    }
}

impl super::plug::Panel for LogPanel {
    fn title(&self) -> &'static str {
        "Log & progress"
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut super::plug::PanelContext<'_>) {
        self.show(ui, cx.view);
    }
}
