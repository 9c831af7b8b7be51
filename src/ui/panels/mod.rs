//! The workbench's panels. Each is a small struct holding only its own view settings, with a
//! `show` that draws from a `RunView`.

pub mod attention;
pub mod confusion;
pub mod curves;
pub mod data;
pub mod embedding;
pub mod log;
pub mod mining;
pub mod per_class;
pub mod results;
pub mod runs;
pub mod sweep_grid;
pub mod thresholds;

use egui::Color32;

/// Distinct colours for series and runs, readable on light and dark backgrounds.
pub const PALETTE: [Color32; 8] = [
    Color32::from_rgb(31, 119, 180),
    Color32::from_rgb(255, 127, 14),
    Color32::from_rgb(44, 160, 44),
    Color32::from_rgb(214, 39, 40),
    Color32::from_rgb(148, 103, 189),
    Color32::from_rgb(140, 86, 75),
    Color32::from_rgb(227, 119, 194),
    Color32::from_rgb(23, 190, 207),
];

pub fn color(i: usize) -> Color32 {
    PALETTE[i % PALETTE.len()]
}

/// "No run yet" placeholder text for a panel without data.
pub fn empty(ui: &mut egui::Ui, what: &str) {
    ui.centered_and_justified(|ui| {
        ui.label(egui::RichText::new(what).weak());
    });
}

/// An epoch slider over the epochs that have a report, with a "follow latest" switch.
/// `pinned` is None while following the latest; returns the epoch to show.
pub fn epoch_picker(ui: &mut egui::Ui, pinned: &mut Option<usize>, epochs: &[usize]) -> usize {
    let (Some(&first), Some(&last)) = (epochs.first(), epochs.last()) else {
        return 0;
    };
    let mut shown = pinned.unwrap_or(last).clamp(first, last);
    if epochs.len() < 2 {
        ui.label(format!("epoch {shown}"));
        return shown;
    }
    if ui
        .add(egui::Slider::new(&mut shown, first..=last).text("epoch"))
        .changed()
    {
        // Snap to an epoch that has a report.
        shown = *epochs
            .iter()
            .min_by_key(|e| e.abs_diff(shown))
            .unwrap_or(&last);
        *pinned = (shown != last).then_some(shown);
    }
    let mut follow = pinned.is_none();
    if ui.checkbox(&mut follow, "follow latest").changed() && follow {
        *pinned = None;
        shown = last;
    }
    shown
}

/// A drop-down choosing one class or all of them.
pub fn class_filter(ui: &mut egui::Ui, label: &str, class: &mut Option<usize>, classes: &[String]) {
    egui::ComboBox::from_label(label)
        .selected_text(
            class
                .and_then(|c| classes.get(c))
                .map_or("all classes", |s| s.as_str()),
        )
        .show_ui(ui, |ui| {
            ui.selectable_value(class, None, "all classes");
            for (i, name) in classes.iter().enumerate() {
                ui.selectable_value(class, Some(i), name);
            }
        });
}
