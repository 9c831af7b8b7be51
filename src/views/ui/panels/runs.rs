//! The runs browser: every run of the runs folder in a table like W&B's — columns for any
//! setting or metric (chosen, and remembered per folder), sorted by any of them, filtered by
//! text and per column, grouped into runs that differ only in their seed with mean ± sd (n)
//! — with the settings that differ among the ticked runs. Open a run (its events are
//! replayed into the panels), resume a stopped one, tick several to overlay. Sweeps show as
//! groups of their points, with a heat map over two swept keys.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui::{RichText, Ui, Vec2};

use super::runs_grid::{Grid, GridAction, Line, fit_widths, name_width};
use super::sweep_grid::SweepGroup;
use crate::views::runs_table::record::subdirs;
use crate::views::runs_table::{
    Catalog, Column, Grouping, Metric, Rows, RunRecord, TablePrefs, TableQuery, config_diff,
};
use crate::views::sweep::SweepFolder;

pub use super::plug::RunsAction;

/// The table's rows as drawn, rebuilt only when the runs or the query change.
#[derive(Default)]
struct Layout {
    rows: Option<Rows>,
    lines: Vec<Line>,
    groups: Vec<crate::views::runs_table::Group>,
    widths: Vec<f32>,
    name_width: f32,
    actions_width: f32,
}

#[derive(Default)]
pub struct RunsPanel {
    pub root: PathBuf,
    catalog: Catalog,
    pub runs: Vec<RunRecord>,
    /// Sweep folders, each with the records of its started points.
    pub sweeps: Vec<(SweepGroup, Vec<RunRecord>)>,
    /// Runs ticked: overlaid in the curves, listed in the results table, compared.
    pub overlay: BTreeSet<PathBuf>,
    pub query: TableQuery,
    /// Groups shown with their runs, by their first run's directory.
    pub expanded: BTreeSet<PathBuf>,
    /// Whether the settings that differ among the ticked runs are shown.
    pub show_diff: bool,
    /// Time the last refresh took and how many runs it read (the rest came from the cache).
    pub last_refresh: Option<(Duration, usize)>,
    /// Why the remembered choices could not be read or written.
    pub prefs_problem: Option<String>,
    /// What the last Save CSV did.
    pub csv_note: Option<(bool, String)>,
    layout: Layout,
    offset: Vec2,
    scanned: bool,
}

impl RunsPanel {
    /// Reads the folder's runs (only the new and changed ones; the rest from the cache) and,
    /// when the folder changed, its remembered table choices.
    pub fn refresh(&mut self, root: &Path) {
        let start = Instant::now();
        if self.root != root || !self.scanned {
            self.load_prefs(root);
        }
        self.root = root.to_path_buf();
        self.runs = self.catalog.scan(root);
        self.sweeps = scan_sweeps(root)
            .into_iter()
            .map(|g| {
                let runs = self.catalog.read_all(&g.run_dirs());
                (g, runs)
            })
            .collect();
        self.last_refresh = Some((start.elapsed(), self.catalog.last_read));
        self.overlay.retain(|p| p.is_dir());
        self.layout.rows = None;
        self.scanned = true;
    }

    fn load_prefs(&mut self, root: &Path) {
        self.prefs_problem = None;
        let prefs = match TablePrefs::load(root) {
            Ok(p) => p.unwrap_or_default(),
            Err(e) => {
                self.prefs_problem = Some(format!("{e} (using the default columns)"));
                TablePrefs::default()
            }
        };
        self.query = prefs.query();
        self.expanded.clear();
    }

    /// Remembers the columns, sort and grouping for this folder.
    fn save_prefs(&mut self) {
        if let Err(e) = TablePrefs::of(&self.query).save(&self.root) {
            self.prefs_problem = Some(format!("the table's choices are not remembered: {e}"));
        }
    }

    /// The rows in the table's order (runs, or groups of runs), as shown now.
    pub fn rows(&mut self) -> &Rows {
        self.layout
            .rows
            .get_or_insert_with(|| self.query.rows(&self.runs))
    }

    /// The ticked runs' records (from the folder and its sweeps), in the table's order.
    pub fn ticked(&self) -> Vec<&RunRecord> {
        let all = self
            .runs
            .iter()
            .chain(self.sweeps.iter().flat_map(|(_, r)| r));
        let mut seen = BTreeSet::new();
        all.filter(|r| self.overlay.contains(&r.dir) && seen.insert(&r.dir))
            .collect()
    }

    /// The ticked runs the table shows (a sweep's ticked points, and the folder's ticked
    /// runs its filter keeps): what the curves overlay and the results table list. A ticked
    /// run a filter hides is not overlaid while hidden (it used to stay).
    pub fn overlaid(&self) -> BTreeSet<PathBuf> {
        // The table's cached rows when laid out; the table lays itself out from an empty
        // cache, so this must not fill it.
        let computed;
        let rows = match &self.layout.rows {
            Some(rows) => rows,
            None => {
                computed = self.query.rows(&self.runs);
                &computed
            }
        };
        let shown: BTreeSet<usize> = match rows {
            Rows::Runs(order) => order.iter().copied().collect(),
            Rows::Groups(groups) => groups.iter().flat_map(|g| g.members.clone()).collect(),
        };
        let folder = shown.into_iter().map(|i| &self.runs[i].dir);
        let sweeps = self
            .sweeps
            .iter()
            .flat_map(|(_, r)| r.iter().map(|r| &r.dir));
        folder
            .chain(sweeps)
            .filter(|d| self.overlay.contains(*d))
            .cloned()
            .collect()
    }

    fn relayout(&mut self, ui: &Ui) {
        let rows = self.query.rows(&self.runs);
        let (lines, groups) = match &rows {
            Rows::Runs(order) => (order.iter().map(|&i| Line::Run(i)).collect(), Vec::new()),
            Rows::Groups(groups) => {
                let mut lines = Vec::new();
                for (g, group) in groups.iter().enumerate() {
                    lines.push(Line::Group(g));
                    if self.expanded.contains(&self.runs[group.members[0]].dir) {
                        lines.extend(group.members.iter().map(|&i| Line::Member(i)));
                    }
                }
                (lines, groups.clone())
            }
        };
        self.layout.widths = fit_widths(ui, &self.query.columns, &self.runs, &groups);
        self.layout.name_width =
            name_width(ui, &self.runs).max(if groups.is_empty() { 0.0 } else { 260.0 });
        // Open alone; Open and Resume run when a run can resume; a group's toggle.
        let resumable = self.runs.iter().any(|r| r.resumable);
        self.layout.actions_width = match (resumable, groups.is_empty()) {
            (true, _) => 136.0,
            (false, false) => 92.0,
            (false, true) => 56.0,
        };
        self.layout.lines = lines;
        self.layout.groups = groups;
        self.layout.rows = Some(rows);
    }

    pub fn show(&mut self, ui: &mut Ui, root: &Path, open: Option<&Path>) -> Option<RunsAction> {
        if !self.scanned || self.root != root {
            self.refresh(root);
        }
        let mut action = None;
        self.toolbar(ui, root);
        if let Some(problem) = &self.prefs_problem {
            ui.colored_label(ui.visuals().warn_fg_color, problem);
        }
        let unreadable = &self.catalog.unreadable;
        if !unreadable.is_empty() {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!(
                    "{} run folder(s) could not be read and are not listed: {}",
                    unreadable.len(),
                    unreadable.join("; ")
                ),
            );
        }
        if self.runs.is_empty() && self.sweeps.is_empty() {
            super::empty(
                ui,
                "No runs yet: start one, or point the output folder at a runs folder.",
            );
            return None;
        }
        if !self.sweeps.is_empty() {
            self.sweeps_section(ui, open, &mut action);
        }
        if self.show_diff {
            self.diff_section(ui);
        }
        if self.runs.is_empty() {
            return action;
        }
        if self.layout.rows.is_none() {
            self.relayout(ui);
        }
        let grid = Grid {
            runs: &self.runs,
            groups: &self.layout.groups,
            lines: &self.layout.lines,
            widths: &self.layout.widths,
            name_width: self.layout.name_width,
            actions_width: self.layout.actions_width,
            open,
            expanded: &self.expanded,
        };
        let mut changed = false;
        match grid.show(ui, &mut self.query, &mut self.overlay, &mut self.offset) {
            Some(GridAction::Open(dir)) => action = Some(RunsAction::Open(dir)),
            Some(GridAction::Resume(dir)) => action = Some(RunsAction::Resume(dir)),
            Some(GridAction::Ticked) => action = Some(RunsAction::OverlaysChanged),
            Some(GridAction::SortBy(column)) => {
                self.sort_by(column);
                changed = true;
            }
            Some(GridAction::Filtered) => changed = true,
            Some(GridAction::ToggleGroup(key)) => {
                if !self.expanded.remove(&key) {
                    self.expanded.insert(key);
                }
                changed = true;
            }
            None => {}
        }
        if changed {
            self.layout.rows = None;
            ui.ctx().request_repaint();
        }
        action
    }

    /// Sorts by `column`; the same column again sorts the other way. Metrics start with the
    /// highest first, settings with the lowest.
    pub fn sort_by(&mut self, column: Column) {
        self.query.sort = match self.query.sort.take() {
            Some((c, descending)) if c == column => Some((c, !descending)),
            _ => {
                let descending = matches!(column, Column::Metric(m) if m != Metric::WallTime);
                Some((column, descending))
            }
        };
        self.layout.rows = None;
        self.save_prefs();
    }

    /// Scrolls the table right by `dx` and down by `dy` points.
    pub fn scroll_by(&mut self, dx: f32, dy: f32) {
        self.offset.x += dx;
        self.offset.y += dy;
    }

    /// Shows or hides a column, remembered for the folder.
    pub fn toggle_column(&mut self, column: Column) {
        if let Some(at) = self.query.columns.iter().position(|c| *c == column) {
            self.query.columns.remove(at);
            self.query.column_filters.remove(&column);
        } else {
            self.query.columns.push(column);
        }
        self.layout.rows = None;
        self.save_prefs();
    }

    pub fn set_grouping(&mut self, grouping: Grouping) {
        self.query.grouping = grouping;
        self.expanded.clear();
        self.layout.rows = None;
        self.save_prefs();
    }

    fn toolbar(&mut self, ui: &mut Ui, root: &Path) {
        ui.horizontal_wrapped(|ui| {
            if ui
                .button("Refresh")
                .on_hover_text("read new and changed runs (unchanged ones come from the cache)")
                .clicked()
            {
                self.refresh(root);
            }
            let shown = match self.layout.rows.as_ref() {
                Some(Rows::Runs(r)) => r.len(),
                Some(Rows::Groups(g)) => g.iter().map(|g| g.members.len()).sum(),
                None => self.runs.len(),
            };
            let mut text = format!(
                "{} runs and {} sweeps in {}",
                self.runs.len(),
                self.sweeps.len(),
                root.display()
            );
            if shown != self.runs.len() {
                text += &format!(" · {shown} shown");
            }
            if ui
                .button("Save CSV")
                .on_hover_text("the table as shown (its rows, order and columns) to runs-table.csv in this folder")
                .clicked()
            {
                let path = root.join("runs-table.csv");
                let csv = self.query.csv(&self.runs);
                self.csv_note = Some(match crate::contract::run::atomic::write(&path, csv.as_bytes()) {
                    Ok(()) => (true, format!("wrote {}", path.display())),
                    Err(e) => (false, format!("cannot write {}: {e}", path.display())),
                });
            }
            if let Some((ok, note)) = &self.csv_note {
                let color = if *ok {
                    ui.visuals().weak_text_color()
                } else {
                    ui.visuals().error_fg_color
                };
                ui.colored_label(color, note);
            }
            let label = ui.label(text);
            if let Some((took, read)) = self.last_refresh {
                label.on_hover_text(format!(
                    "read {read} runs in {:.0} ms (the others unchanged since they were read)",
                    took.as_secs_f64() * 1e3
                ));
            }
        });
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Filter:");
            let filter = ui
                .add(
                    egui::TextEdit::singleline(&mut self.query.text)
                        .hint_text("name or any shown value")
                        .desired_width(200.0),
                )
                .labelled_by(label.id)
                .on_hover_text("keeps the runs whose name or any shown cell contains this text");
            if filter.changed() {
                self.layout.rows = None;
            }
            ui.menu_button("Columns", |ui| self.columns_menu(ui))
                .response
                .on_hover_text("choose the settings and metrics shown; remembered for this runs folder");
            let mut grouping = self.query.grouping;
            let label = ui.label("Group:");
            egui::ComboBox::from_id_salt("runs-grouping")
                .selected_text(grouping.label())
                .show_ui(ui, |ui| {
                    for g in Grouping::ALL {
                        ui.selectable_value(&mut grouping, g, g.label());
                    }
                })
                .response
                .labelled_by(label.id)
                .on_hover_text("runs that share these settings form one row: metrics as mean ± sd (n) over the group");
            if grouping != self.query.grouping {
                self.set_grouping(grouping);
            }
            let ticked = self.ticked().len();
            let diff = ui
                .add_enabled(
                    ticked >= 2,
                    egui::Button::selectable(self.show_diff, format!("Settings diff ({ticked} ticked)")),
                )
                .on_hover_text("the settings that differ among the ticked runs")
                .on_disabled_hover_text("tick two or more runs to compare their settings");
            if diff.clicked() {
                self.show_diff = !self.show_diff;
            }
        });
    }

    fn columns_menu(&mut self, ui: &mut Ui) {
        ui.set_max_width(360.0);
        let mut toggled = None;
        egui::ScrollArea::vertical()
            .max_height(420.0)
            .show(ui, |ui| {
                ui.strong("Run");
                for column in [Column::Status, Column::Epochs] {
                    let mut on = self.query.columns.contains(&column);
                    if ui.checkbox(&mut on, column.label()).changed() {
                        toggled = Some(column);
                    }
                }
                ui.strong("Metrics");
                for m in Metric::ALL {
                    let mut on = self.query.columns.contains(&Column::Metric(m));
                    if ui
                        .checkbox(&mut on, m.label())
                        .on_hover_text(m.help())
                        .changed()
                    {
                        toggled = Some(Column::Metric(m));
                    }
                }
                ui.strong("Settings");
                let mut keys: BTreeSet<&String> = BTreeSet::new();
                for r in &self.runs {
                    keys.extend(r.settings.keys());
                }
                let mut by_section: Vec<(&str, Vec<&String>)> = Vec::new();
                for key in keys {
                    let section = key.split_once('.').map_or("experiment", |(s, _)| s);
                    match by_section.iter_mut().find(|(s, _)| *s == section) {
                        Some((_, ks)) => ks.push(key),
                        None => by_section.push((section, vec![key])),
                    }
                }
                for (section, keys) in by_section {
                    egui::CollapsingHeader::new(section)
                        .id_salt(("runs-columns", section))
                        .show(ui, |ui| {
                            for key in keys {
                                let column = Column::Setting(key.clone());
                                let mut on = self.query.columns.contains(&column);
                                if ui.checkbox(&mut on, key.as_str()).changed() {
                                    toggled = Some(column);
                                }
                            }
                        });
                }
                ui.separator();
                if ui.button("Default columns").clicked() {
                    self.query.columns = crate::views::runs_table::default_columns();
                    self.layout.rows = None;
                    self.save_prefs();
                }
            });
        if let Some(column) = toggled {
            self.toggle_column(column);
        }
    }

    fn diff_section(&mut self, ui: &mut Ui) {
        let ticked = self.ticked();
        if ticked.len() < 2 {
            self.show_diff = false;
            return;
        }
        let diff = config_diff(&ticked);
        let ids: Vec<String> = ticked.iter().map(|r| r.id.clone()).collect();
        egui::CollapsingHeader::new(format!(
            "Settings that differ among the {} ticked runs: {}",
            ids.len(),
            diff.len()
        ))
        .id_salt("runs-diff")
        .default_open(true)
        .show(ui, |ui| {
            if diff.is_empty() {
                ui.label(
                    "the ticked runs have the same settings (name, description and group aside)",
                );
                return;
            }
            egui::ScrollArea::both()
                .id_salt("runs-diff-scroll")
                .max_height(180.0)
                .show(ui, |ui| {
                    egui::Grid::new("runs-diff-grid")
                        .striped(true)
                        .show(ui, |ui| {
                            ui.strong("setting");
                            for id in &ids {
                                ui.strong(id);
                            }
                            ui.end_row();
                            for (key, values) in &diff {
                                ui.label(key);
                                for v in values {
                                    ui.label(v);
                                }
                                ui.end_row();
                            }
                        });
                });
        });
    }

    fn sweeps_section(
        &mut self,
        ui: &mut Ui,
        open: Option<&Path>,
        action: &mut Option<RunsAction>,
    ) {
        let height = if self.runs.is_empty() {
            f32::INFINITY
        } else {
            ui.available_height() * 0.6
        };
        egui::ScrollArea::vertical()
            .id_salt("runs-sweeps")
            .max_height(height)
            .auto_shrink([false, true])
            .show(ui, |ui| {
                for (group, runs) in &self.sweeps {
                    let title = format!(
                        "sweep {}: {}/{} finished, over {}",
                        group.manifest.name,
                        group.finished(),
                        group.manifest.points.len(),
                        group.manifest.keys.join(", ")
                    );
                    egui::CollapsingHeader::new(title)
                        .id_salt(&group.dir)
                        .default_open(true)
                        .show(ui, |ui| {
                            if ui
                                .button("Select all")
                                .on_hover_text("tick every run of the sweep")
                                .clicked()
                            {
                                self.overlay.extend(group.run_dirs());
                                *action = Some(RunsAction::OverlaysChanged);
                            }
                            if let Some(map) = group.heat_map() {
                                map.show(ui);
                            }
                            egui::CollapsingHeader::new(format!("{} points", runs.len()))
                                .id_salt(("sweep-points", &group.dir))
                                .show(ui, |ui| {
                                    let id = format!("sweep-{}", group.dir.display());
                                    points_grid(
                                        ui,
                                        &id,
                                        runs,
                                        &self.query.columns,
                                        &mut self.overlay,
                                        open,
                                        action,
                                    );
                                });
                        });
                }
            });
        ui.separator();
    }
}

/// The sweep folders under `root`, by name.
fn scan_sweeps(root: &Path) -> Vec<SweepGroup> {
    subdirs(root, SweepFolder::is_sweep)
        .iter()
        .filter_map(|d| SweepGroup::read(d))
        .collect()
}

/// A sweep's points (a few dozen at most): tick, Open, name and the table's columns.
fn points_grid(
    ui: &mut Ui,
    id: &str,
    runs: &[RunRecord],
    columns: &[Column],
    overlay: &mut BTreeSet<PathBuf>,
    open: Option<&Path>,
    action: &mut Option<RunsAction>,
) {
    egui::Grid::new(id).striped(true).show(ui, |ui| {
        ui.label("");
        ui.label("");
        ui.strong("run");
        for c in columns {
            ui.strong(c.label());
        }
        ui.end_row();
        for r in runs {
            let mut on = overlay.contains(&r.dir);
            if ui.checkbox(&mut on, "").changed() {
                if on {
                    overlay.insert(r.dir.clone());
                } else {
                    overlay.remove(&r.dir);
                }
                *action = Some(RunsAction::OverlaysChanged);
            }
            if ui
                .button("Open")
                .on_hover_text(format!("replay {} into the panels", r.id))
                .clicked()
            {
                *action = Some(RunsAction::Open(r.dir.clone()));
            }
            let name = RichText::new(&r.id);
            ui.label(if open == Some(r.dir.as_path()) {
                name.strong()
            } else {
                name
            });
            for c in columns {
                ui.label(c.text(r));
            }
            ui.end_row();
        }
    });
}

impl super::plug::Panel for RunsPanel {
    fn title(&self) -> &'static str {
        "Runs"
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut super::plug::PanelContext<'_>) {
        let open = cx.view.run_dir.as_deref();
        if let Some(action) = self.show(ui, cx.run_root, open) {
            cx.requests.push(super::plug::Request::Runs(action));
        }
    }
}
