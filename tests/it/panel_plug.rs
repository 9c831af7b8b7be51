//! The panel plug: a new panel and its figure are one module and one list line; a panel and
//! the figure it exports draw the same lines; the layout a user arranged is remembered.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use ferlab::contract::config::Experiment;
use ferlab::contract::run::view::RunView;
use ferlab::views::figures::canvas::{Areas, FigureResult, Style, Tile};
use ferlab::views::figures::figure::Csv;
use ferlab::views::figures::{Figure, FigureOptions, FigureSize, ImageFormat};
use ferlab::views::series::{Dash, accuracy_lines, loss_lines};
use ferlab::views::ui::Workbench;
use ferlab::views::ui::app::{LAYOUT_KEY, default_layout};
use ferlab::views::ui::panels::{PANELS, Panel, PanelContext, PanelEntry, Place, entry};

use super::workbench::{can_render, fixed_view};

// ---- a toy panel and its figure: all a contributor writes ------------------------------

/// Counts the run's epochs; exports their best accuracy as a one-line figure.
#[derive(Default)]
struct ToyPanel {
    frames: usize,
}

impl Panel for ToyPanel {
    fn title(&self) -> &'static str {
        "Toy"
    }

    fn figure(&self) -> Option<ferlab::views::figures::FigureRef> {
        Some(&ToyFigure)
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
        self.frames += 1;
        ui.label(format!("toy panel: {} epochs", cx.view.epochs.len()));
    }
}

struct ToyFigure;

impl Figure for ToyFigure {
    fn key(&self) -> &'static str {
        "toy"
    }

    fn available(&self, view: &RunView) -> bool {
        !view.epochs.is_empty()
    }

    fn draw(
        &self,
        areas: Areas<'_, '_>,
        st: &Style,
        view: &RunView,
        _options: FigureOptions,
        label: &str,
    ) -> FigureResult<Vec<Tile>> {
        let title = format!("Toy, {} epochs - {label}", view.epochs.len());
        ferlab::with_area!(areas, |a: &plotters::drawing::DrawingArea<_, _>| {
            a.titled(&title, st.title())
                .map(|_| Vec::new())
                .map_err(ferlab::views::figures::canvas::err)
        })
    }

    fn csv(&self, view: &RunView, _options: FigureOptions) -> FigureResult<String> {
        let mut csv = Csv::new(view, &["epoch", "val_overall"]);
        for p in &view.epochs {
            csv.row(vec![p.epoch.to_string(), Csv::num(p.val.overall as f64)]);
        }
        Ok(csv.finish())
    }
}

/// The built-in panels and the toy's one line.
fn with_toy() -> &'static [PanelEntry] {
    let mut list: Vec<PanelEntry> = PANELS.to_vec();
    list.push(entry::<ToyPanel>("toy", Place::Tools));
    Box::leak(list.into_boxed_slice())
}

#[test]
fn a_new_panel_and_its_figure_are_one_module_and_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(
            |ui, wb: &mut Workbench| wb.ui(ui),
            Workbench::with_panels(tmp.path().join("presets"), with_toy()),
        );
    let mut view = fixed_view();
    view.run_dir = Some(tmp.path().join("run"));
    h.state_mut().view = view;
    h.run_steps(2);
    // Its tab is in the layout, with its title; a click brings it up.
    h.get_by_label("Toy").click();
    h.run_steps(2);
    h.get_by_label("toy panel: 4 epochs");
    assert!(h.state().panel::<ToyPanel>().unwrap().frames > 0);
    // Its "Export figure…" writes its figure where the built-in ones go (the pane alone,
    // so that its button is the only one).
    h.state_mut().maximised = Some("toy".into());
    h.run_steps(2);
    h.get_by_label("Export figure…").click();
    h.run_steps(2);
    let written = tmp.path().join("run").join("figures").join("toy.png");
    assert_eq!(h.state().prompt.as_ref().unwrap().path(), written);
    h.get_by_label("Save").click();
    h.run_steps(2);
    assert!(std::fs::metadata(&written).unwrap().len() > 500);
    // And its numbers, with a .csv path.
    let csv = tmp.path().join("toy.csv");
    h.state_mut().export_figure(&ToyFigure, &csv).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), 1 + 4, "{text}");
    // The built-in workbench does not have it.
    assert!(
        Workbench::new(tmp.path().join("presets"))
            .panel::<ToyPanel>()
            .is_none()
    );
}

// ---- one series function, one palette, one dash table ----------------------------------

#[test]
fn the_curves_panel_and_its_figure_draw_the_same_lines() {
    let mut view = fixed_view();
    // A method with several loss terms: the panel shows each, and so must the figure.
    for p in &mut view.epochs {
        p.train.terms.insert("ce".into(), p.train.loss * 0.7);
        p.train
            .terms
            .insert("consistency".into(), p.train.loss * 0.3);
    }
    let lines: Vec<_> = loss_lines(&view)
        .into_iter()
        .chain(accuracy_lines(&view))
        .collect();
    assert!(lines.iter().any(|l| l.name == "term consistency"));
    // The panel's series (egui) and the figure's (plotters), converted from the same lines:
    // same names, colours and dashes.
    let figure: Vec<_> = ferlab::views::figures::curves::loss_series(&view)
        .into_iter()
        .chain(ferlab::views::figures::curves::accuracy_series(&view))
        .collect();
    assert_eq!(figure.len(), lines.len());
    for (line, drawn) in lines.iter().zip(&figure) {
        let panel = ferlab::views::ui::panels::chart::Series::from_line(line.clone());
        assert_eq!(panel.name, drawn.name);
        let (r, g, b) = ferlab::views::palette::rgb(line.color);
        assert_eq!(
            panel.color,
            egui::Color32::from_rgb(r, g, b),
            "{}",
            line.name
        );
        assert_eq!((drawn.color.0, drawn.color.1, drawn.color.2), (r, g, b));
        assert_eq!(panel.dash, line.dash, "{}", line.name);
        assert_eq!(
            (drawn.dashed, drawn.dotted),
            match line.dash {
                Dash::Solid => (false, false),
                Dash::Dashed => (true, false),
                Dash::Dotted => (true, true),
            },
            "{}",
            line.name
        );
    }
    // The exported figure carries every line's name, per-term losses included.
    let svg = ferlab::views::figures::render(
        &ferlab::views::figures::curves::Curves,
        &view,
        FigureOptions::default(),
        FigureSize::default(),
        ImageFormat::Svg,
    )
    .unwrap();
    let svg = String::from_utf8(svg).unwrap();
    for line in &lines {
        assert!(svg.contains(&line.name), "the figure lacks {}", line.name);
    }
}

// ---- every panel of the list renders like its snapshot ---------------------------------

#[test]
fn each_panel_of_the_list_renders_like_its_snapshot() {
    // Wider panels for the ones with a grid of faces or two plots; every other panel, a new
    // one included, at the default.
    let sizes = HashMap::from([
        ("mining", egui::vec2(900.0, 560.0)),
        ("attention", egui::vec2(1000.0, 600.0)),
        ("embedding", egui::vec2(900.0, 480.0)),
    ]);
    let mut results = egui_kittest::SnapshotResults::new();
    for e in PANELS {
        let size = sizes
            .get(e.key)
            .copied()
            .unwrap_or(egui::vec2(640.0, 400.0));
        let view = fixed_view();
        let mut panel = (e.make)();
        let experiment = Experiment::default();
        let ticked = BTreeSet::new();
        let mut requests = Vec::new();
        let root = PathBuf::from("target/panel-snapshot-runs");
        let mut h = Harness::builder().with_size(size).build_ui(move |ui| {
            let mut cx = PanelContext {
                view: &view,
                overlays: &[],
                ticked: &ticked,
                experiment: &experiment,
                experiment_valid: true,
                run_root: &root,
                requests: &mut requests,
            };
            panel.ui(ui, &mut cx);
        });
        h.run_steps(3);
        if !can_render(&mut h) {
            return;
        }
        h.snapshot(format!("panel_{}", e.key));
        results.extend_harness(&mut h);
    }
    results.unwrap();
}

// ---- the layout is remembered, and can be reset -----------------------------------------

/// eframe's storage, in memory.
#[derive(Default)]
struct MemoryStorage(HashMap<String, String>);

impl eframe::Storage for MemoryStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }

    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_string(), value);
    }

    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }

    fn flush(&mut self) {}
}

fn layout_text(wb: &Workbench) -> serde_json::Value {
    serde_json::to_value(&wb.tree).unwrap()
}

#[test]
fn the_arranged_layout_is_remembered_and_reset_restores_the_default() {
    let presets = Path::new("target/layout-presets").to_path_buf();
    let mut wb = Workbench::new(presets.clone());
    let default = layout_text(&wb);
    wb.widen_pane("attention", 2.5);
    wb.show_pane("mining");
    let arranged = layout_text(&wb);
    assert_ne!(arranged, default);
    let mut storage = MemoryStorage::default();
    eframe::App::save(&mut wb, &mut storage);
    assert!(storage.0.contains_key(LAYOUT_KEY));

    // The next launch takes it.
    let mut next = Workbench::new(presets.clone());
    assert!(next.restore_layout(&storage));
    assert_eq!(layout_text(&next), arranged);

    // "Reset layout" in the toolbar puts the panels back.
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, wb: &mut Workbench| wb.ui(ui), next);
    h.run_steps(2);
    h.get_by_label("Reset layout").click();
    h.run_steps(2);
    assert_eq!(layout_text(h.state()), default);
    assert_eq!(
        default,
        serde_json::to_value(default_layout(PANELS)).unwrap()
    );

    // A layout remembered by a version with other panels is not taken: the default stays.
    let mut with_toy_layout = Workbench::with_panels(presets.clone(), with_toy());
    let mut other = MemoryStorage::default();
    eframe::App::save(&mut with_toy_layout, &mut other);
    let mut built_in = Workbench::new(presets);
    assert!(!built_in.restore_layout(&other));
    assert_eq!(layout_text(&built_in), default);
    // Nor is an unreadable one.
    let mut broken = MemoryStorage::default();
    broken.0.insert(LAYOUT_KEY.into(), "(not a layout".into());
    assert!(!built_in.restore_layout(&broken));
}
