//! The workbench's panels. Each is a small struct holding only its own view settings, with a
//! `show` that draws from a `RunView`; [`PANELS`] lists them for the workbench ([`plug`]).

pub mod attention;
pub mod chart;
pub mod confusion;
pub mod curves;
pub mod data;
pub mod embedding;
pub mod log;
pub mod mining;
pub mod per_class;
pub mod plug;
pub mod results;
pub mod runs;
pub mod runs_grid;
pub mod sweep_grid;
pub mod thresholds;
pub mod training_faces;

use egui::Color32;

pub use plug::{Panel, PanelContext, PanelEntry, PanelSet, Place, Request, entry};

/// Every panel of the workbench, one line each, in the order of their tabs within a group.
pub const PANELS: &[PanelEntry] = &[
    entry::<curves::CurvesPanel>("curves", Place::Main),
    entry::<confusion::ConfusionPanel>("confusion", Place::Analysis),
    entry::<thresholds::ThresholdsPanel>("thresholds", Place::Analysis),
    entry::<mining::MiningPanel>("mining", Place::Analysis),
    entry::<attention::AttentionPanel>("attention", Place::Analysis),
    entry::<per_class::PerClassPanel>("per_class", Place::Classes),
    entry::<embedding::EmbeddingPanel>("embedding", Place::Classes),
    entry::<log::LogPanel>("log", Place::Tools),
    entry::<data::DataPanel>("data", Place::Tools),
    entry::<runs::RunsPanel>("runs", Place::Tools),
    entry::<results::ResultsPanel>("results", Place::Tools),
];

/// The colour of series or run `i`: the figures' palette (`views::palette`).
pub fn color(i: usize) -> Color32 {
    let (r, g, b) = crate::views::palette::rgb(i);
    Color32::from_rgb(r, g, b)
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

/// A plot over epochs that leaves the mouse to the pane it sits in: the wheel scrolls the
/// pane and a drag that starts on the plot (a pane divider, a scroll) does not pan it. The
/// plot pans (drag) and zooms (wheel, right-drag box, axis drag) only while Ctrl (⌘ on a
/// Mac) is held; a double-click resets it. Hovering a curve names the series, the epoch and
/// the value of its nearest point.
pub fn epoch_plot<'a>(ui: &egui::Ui, id: &str) -> egui_plot::Plot<'a> {
    let navigate = ui.input(|i| i.modifiers.command);
    egui_plot::Plot::new(id)
        .id(plot_id(id))
        .allow_scroll(false)
        .allow_drag(navigate)
        .allow_zoom(navigate)
        .allow_boxed_zoom(navigate)
        .allow_axis_zoom_drag(navigate)
        .allow_double_click_reset(true)
        // Tick labels on both axes at any size (see `chart`).
        .custom_x_axes(vec![chart::epoch_axis()])
        .x_grid_spacer(chart::nice_spacer(30.0, true))
        .y_grid_spacer(chart::nice_spacer(24.0, false))
        .y_axis_formatter(|mark, _| chart::tick_text(mark.value, mark.step_size))
        .label_formatter(|pos| nearest_point_label(pos, "epoch"))
}

/// The id of the epoch plot named `name` (each is shown once), under which egui_plot keeps
/// its bounds (`egui_plot::PlotMemory::load`).
pub fn plot_id(name: &str) -> egui::Id {
    egui::Id::unique(("ferlab-plot", name))
}

/// The hover text of a plot: series, x and value of the nearest point; nothing (the
/// crosshair alone) away from the data.
pub fn nearest_point_label(pos: &egui_plot::HoverPosition<'_>, x_name: &str) -> Option<String> {
    match pos {
        egui_plot::HoverPosition::NearDataPoint {
            plot_name,
            position,
            ..
        } => Some(format!(
            "{plot_name}\n{x_name} {}\n{}",
            format_x(position.x),
            format_value(position.y)
        )),
        egui_plot::HoverPosition::Elsewhere { .. } => None,
    }
}

/// An epoch as a whole number; a step's fractional epoch with two decimals.
fn format_x(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{}", x.round() as i64)
    } else {
        format!("{x:.2}")
    }
}

/// Four significant digits, in scientific notation for small learning rates.
pub fn format_value(y: f64) -> String {
    let a = y.abs();
    if a != 0.0 && a < 1e-3 {
        format!("{y:.3e}")
    } else if a >= 1000.0 {
        format!("{y:.0}")
    } else if a >= 100.0 {
        format!("{y:.1}")
    } else if a >= 1.0 {
        format!("{y:.3}")
    } else {
        format!("{y:.4}")
    }
}

/// A blank plot-sized box saying what will appear there (instead of bare default axes).
pub fn no_data_yet(ui: &mut egui::Ui, height: f32, what: &str) {
    let (rect, _) = ui.allocate_exact_size(
        egui::vec2(ui.available_width(), height),
        egui::Sense::hover(),
    );
    ui.painter().rect_stroke(
        rect,
        2.0,
        ui.visuals().widgets.noninteractive.bg_stroke,
        egui::StrokeKind::Inside,
    );
    ui.put(
        rect,
        egui::Label::new(egui::RichText::new(format!("no data yet: {what}")).weak()),
    );
}

#[cfg(test)]
mod hover_tests {
    use super::*;
    use egui_plot::{HoverPosition, PlotPoint};

    #[test]
    fn hover_names_series_epoch_and_value() {
        let near = HoverPosition::NearDataPoint {
            plot_name: "val overall %",
            position: PlotPoint::new(3.0, 61.23456),
            index: 2,
        };
        assert_eq!(
            nearest_point_label(&near, "epoch").as_deref(),
            Some("val overall %\nepoch 3\n61.235")
        );
        let step = HoverPosition::NearDataPoint {
            plot_name: "lr",
            position: PlotPoint::new(2.5, 0.0002),
            index: 0,
        };
        assert_eq!(
            nearest_point_label(&step, "epoch").as_deref(),
            Some("lr\nepoch 2.50\n2.000e-4")
        );
        let away = HoverPosition::Elsewhere {
            position: PlotPoint::new(1.0, 1.0),
        };
        assert_eq!(nearest_point_label(&away, "epoch"), None);
    }
}
