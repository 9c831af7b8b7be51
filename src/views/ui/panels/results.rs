//! The results table of the runs ticked in the runs browser: per class (LNSU Tables 1–2:
//! each class in the dataset's order, then overall and mean accuracy, at each run's best
//! epoch) or per run (settings, best and last accuracies, mining quality). The best value of
//! each accuracy column is highlighted; the table copies to the clipboard or saves as CSV,
//! LaTeX or Markdown.

use crate::compute::method::REGISTRY;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use egui::{Color32, RichText, Ui};

use super::empty;
use crate::contract::run::results::{RunResult, read_run};
use crate::views::Error;
use crate::views::tables::{Table, TableFormat};

/// Which table the panel shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    #[default]
    PerClass,
    Runs,
}

#[derive(Default)]
pub struct ResultsPanel {
    pub layout: Layout,
    /// The runs the results were read from, to notice a new selection.
    read_for: BTreeSet<PathBuf>,
    results: Vec<RunResult>,
    problems: Vec<String>,
    /// What the last copy or save did.
    pub notice: Option<String>,
}

/// A table's format from a file name's extension (csv, tex, md); LaTeX otherwise.
pub fn format_for(path: &Path) -> TableFormat {
    match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => TableFormat::Csv,
        Some("md") => TableFormat::Markdown,
        _ => TableFormat::Latex,
    }
}

impl ResultsPanel {
    /// Reads the selected runs again (when the selection changed or on request).
    pub fn reload(&mut self, selected: &BTreeSet<PathBuf>) {
        self.results.clear();
        self.problems.clear();
        for dir in selected {
            match read_run(dir, &REGISTRY) {
                Ok(r) => self.results.push(r),
                Err(e) => self.problems.push(e.to_string()),
            }
        }
        self.read_for = selected.clone();
    }

    /// The table of the current layout.
    pub fn table(&self) -> Result<Table, Error> {
        match self.layout {
            Layout::PerClass => Table::per_class(&self.results),
            Layout::Runs => Ok(Table::runs(&self.results)),
        }
    }

    /// Writes the table to `path` (format from the extension), atomically; the notice says
    /// where, or why not.
    pub fn save_to(&mut self, path: &Path) -> Result<PathBuf, Error> {
        let result = self
            .table()
            .and_then(|t| {
                crate::contract::run::atomic::write(path, t.render(format_for(path)).as_bytes())
                    .map_err(|e| Error::io("could not write", path, e))
            })
            .map(|()| path.to_path_buf());
        self.notice = Some(match &result {
            Ok(p) => format!("saved {}", p.display()),
            Err(e) => e.to_string(),
        });
        result
    }

    /// Copies the table to the clipboard in `format`.
    pub fn copy(&mut self, ctx: &egui::Context, format: TableFormat, label: &str) {
        match self.table() {
            Ok(t) => {
                ctx.copy_text(t.render(format));
                self.notice = Some(format!("{label}: copied to the clipboard"));
            }
            Err(e) => self.notice = Some(e.to_string()),
        }
    }

    /// Draws the table; returns the default path when "Save…" was pressed (the window then
    /// asks for the path).
    pub fn show(&mut self, ui: &mut Ui, selected: &BTreeSet<PathBuf>) -> Option<PathBuf> {
        if *selected != self.read_for {
            self.reload(selected);
        }
        let mut save = None;
        ui.horizontal_wrapped(|ui| {
            ui.selectable_value(&mut self.layout, Layout::PerClass, "per class");
            ui.selectable_value(&mut self.layout, Layout::Runs, "per run");
            if ui.button("Reload").clicked() {
                self.reload(selected);
            }
            let ready = !self.results.is_empty();
            for (label, format) in [
                ("Copy CSV", TableFormat::Csv),
                ("Copy LaTeX", TableFormat::Latex),
                ("Copy Markdown", TableFormat::Markdown),
            ] {
                if ui.add_enabled(ready, egui::Button::new(label)).clicked() {
                    self.copy(ui.ctx(), format, label);
                }
            }
            if ui
                .add_enabled(ready, egui::Button::new("Save…"))
                .on_hover_text("CSV (.csv), LaTeX (.tex) or Markdown (.md)")
                .clicked()
            {
                let folder = selected
                    .iter()
                    .next()
                    .and_then(|p| p.parent())
                    .map(Path::to_path_buf)
                    .unwrap_or_default();
                let name = match self.layout {
                    Layout::PerClass => "results-per-class.tex",
                    Layout::Runs => "results-per-run.tex",
                };
                save = Some(folder.join(name));
            }
        });
        if let Some(n) = &self.notice {
            ui.label(RichText::new(n).small());
        }
        for p in &self.problems {
            ui.label(
                RichText::new(format!("skipped: {p}"))
                    .small()
                    .color(Color32::from_rgb(214, 39, 40)),
            );
        }
        if self.results.is_empty() {
            empty(
                ui,
                "Tick runs in the Runs tab (first column) to tabulate them here.",
            );
            return save;
        }
        let table = match self.table() {
            Ok(t) => t,
            Err(e) => {
                ui.label(RichText::new(e.to_string()).color(Color32::from_rgb(214, 39, 40)));
                return save;
            }
        };
        let highlight = ui.visuals().selection.bg_fill;
        egui::ScrollArea::both()
            .id_salt("results-scroll")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                egui::Grid::new("results-table")
                    .striped(true)
                    .num_columns(table.header.len())
                    .show(ui, |ui| {
                        for h in &table.header {
                            ui.strong(h);
                        }
                        ui.end_row();
                        for (i, row) in table.rows.iter().enumerate() {
                            for (c, cell) in row.iter().enumerate() {
                                if table.is_best(i, c) {
                                    egui::Frame::new().fill(highlight).inner_margin(2.0).show(
                                        ui,
                                        |ui| ui.label(RichText::new(cell).strong()),
                                    );
                                } else {
                                    ui.label(cell);
                                }
                            }
                            ui.end_row();
                        }
                    });
                let caption = match self.layout {
                    Layout::PerClass => {
                        "accuracy % at each run's best epoch (by overall accuracy); highlighted: best of the column"
                    }
                    Layout::Runs => "accuracy %; highlighted: best of the column",
                };
                ui.label(RichText::new(caption).small().weak());
            });
        save
    }
}

impl super::plug::Panel for ResultsPanel {
    fn title(&self) -> &'static str {
        "Results table"
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut super::plug::PanelContext<'_>) {
        if let Some(default) = self.show(ui, cx.ticked) {
            cx.requests.push(super::plug::Request::SaveTable(default));
        }
    }
}
