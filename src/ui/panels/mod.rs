//! The workbench's panels. Each is a small struct holding only its own view settings, with a
//! `show` that draws from a `RunView`.

pub mod confusion;
pub mod curves;
pub mod data;
pub mod log;
pub mod mining;
pub mod per_class;
pub mod runs;
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
