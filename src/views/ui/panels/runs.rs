//! The runs browser: past run directories with their key metrics; open one (its events are
//! replayed into the panels) or overlay several in the curves. Sweeps show as groups of
//! their points, with a heat map over two swept keys.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use egui::{RichText, Ui};

use super::sweep_grid::SweepGroup;
use crate::contract::run::view::{RunStatus, RunView};
use crate::views::sweep::SweepFolder;

/// A run directory, summarised.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub dir: PathBuf,
    pub id: String,
    pub status: String,
    pub epochs_done: usize,
    pub epochs_total: usize,
    pub best_overall: Option<f32>,
    pub best_mean: Option<f32>,
    pub data: String,
    pub method: String,
}

impl RunSummary {
    /// A stopped (or killed) run with a checkpoint to continue from.
    pub fn resumable(&self) -> bool {
        self.status == RunStatus::Stopped.label()
            && self
                .dir
                .join("checkpoints")
                .join("last.safetensors")
                .is_file()
    }
}

/// Lists the runs under `root`, newest first.
pub fn scan(root: &Path) -> Vec<RunSummary> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("config.toml").is_file())
        .collect();
    dirs.sort();
    dirs.reverse();
    dirs.iter().filter_map(|d| summarise(d)).collect()
}

/// The sweep folders under `root`, by name.
pub fn scan_sweeps(root: &Path) -> Vec<(SweepGroup, Vec<RunSummary>)> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| SweepFolder::is_sweep(p))
        .collect();
    dirs.sort();
    dirs.iter()
        .filter_map(|d| SweepGroup::read(d))
        .map(|g| {
            let runs = g.run_dirs().iter().filter_map(|d| summarise(d)).collect();
            (g, runs)
        })
        .collect()
}

fn summarise(dir: &Path) -> Option<RunSummary> {
    let view = RunView::replay(dir).ok()?;
    let config = std::fs::read_to_string(dir.join("config.toml")).ok();
    let exp = config.and_then(|t| toml::from_str::<crate::contract::config::Experiment>(&t).ok());
    let best = view.best();
    Some(RunSummary {
        dir: dir.to_path_buf(),
        id: dir.file_name()?.to_string_lossy().into_owned(),
        status: view.status.label().to_string(),
        epochs_done: view.epochs.len(),
        epochs_total: view.epochs_total,
        best_overall: best.map(|b| b.val.overall),
        best_mean: best.map(|b| b.val.mean),
        data: exp
            .as_ref()
            .map(|e| e.data.source.key().to_string())
            .unwrap_or_default(),
        method: exp
            .as_ref()
            .map(|e| e.method.name.clone())
            .unwrap_or_default(),
    })
}

/// What the user asked the browser for.
#[derive(Debug, Clone, PartialEq)]
pub enum RunsAction {
    Open(PathBuf),
    /// Continue a stopped run from its last checkpoint (as `ferlab train --resume`).
    Resume(PathBuf),
    OverlaysChanged,
}

#[derive(Default)]
pub struct RunsPanel {
    pub root: PathBuf,
    pub runs: Vec<RunSummary>,
    /// Sweep folders, each with the summaries of its started points.
    pub sweeps: Vec<(SweepGroup, Vec<RunSummary>)>,
    /// Runs overlaid in the curves panel.
    pub overlay: BTreeSet<PathBuf>,
    scanned: bool,
}

fn pct(v: Option<f32>) -> String {
    v.map(|x| format!("{:.2}", 100.0 * x))
        .unwrap_or_else(|| "—".into())
}

impl RunsPanel {
    pub fn refresh(&mut self, root: &Path) {
        self.root = root.to_path_buf();
        self.runs = scan(root);
        self.sweeps = scan_sweeps(root);
        self.overlay.retain(|p| p.is_dir());
        self.scanned = true;
    }

    pub fn show(&mut self, ui: &mut Ui, root: &Path, open: Option<&Path>) -> Option<RunsAction> {
        if !self.scanned || self.root != root {
            self.refresh(root);
        }
        let mut action = None;
        ui.horizontal(|ui| {
            if ui.button("Refresh").clicked() {
                self.refresh(root);
            }
            ui.label(format!(
                "{} runs and {} sweeps in {}",
                self.runs.len(),
                self.sweeps.len(),
                root.display()
            ));
        });
        if self.runs.is_empty() && self.sweeps.is_empty() {
            super::empty(
                ui,
                "No runs yet: start one, or point the output folder at a runs folder.",
            );
            return None;
        }
        egui::ScrollArea::both()
            .auto_shrink([false, false])
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
                                action = Some(RunsAction::OverlaysChanged);
                            }
                            if let Some(map) = group.heat_map() {
                                map.show(ui);
                            }
                            egui::CollapsingHeader::new(format!("{} points", runs.len()))
                                .id_salt(("sweep-points", &group.dir))
                                .show(ui, |ui| {
                                    let id = format!("sweep-{}", group.dir.display());
                                    runs_grid(ui, &id, runs, &mut self.overlay, open, &mut action);
                                });
                        });
                }
                // Sweeps first: each stands for many runs.
                if !self.runs.is_empty() {
                    runs_grid(
                        ui,
                        "runs-table",
                        &self.runs,
                        &mut self.overlay,
                        open,
                        &mut action,
                    );
                }
            });
        action
    }
}

/// One row per run: select, Open (and Resume run for a stopped one), name (bold when shown), status, epochs, accuracies.
fn runs_grid(
    ui: &mut Ui,
    id: &str,
    runs: &[RunSummary],
    overlay: &mut BTreeSet<PathBuf>,
    open: Option<&Path>,
    action: &mut Option<RunsAction>,
) {
    egui::Grid::new(id)
        .striped(true)
        .num_columns(9)
        .show(ui, |ui| {
            for h in [
                "select",
                "",
                "run",
                "status",
                "epochs",
                "best overall %",
                "best mean %",
                "data",
                "method",
            ] {
                ui.strong(h);
            }
            ui.end_row();
            for r in runs {
                let mut on = overlay.contains(&r.dir);
                let cb = ui.checkbox(&mut on, "").on_hover_text(format!(
                    "overlay {} in the curves and add it to the results table",
                    r.id
                ));
                if cb.changed() {
                    if on {
                        overlay.insert(r.dir.clone());
                    } else {
                        overlay.remove(&r.dir);
                    }
                    *action = Some(RunsAction::OverlaysChanged);
                }
                ui.horizontal(|ui| {
                    if ui
                        .button("Open")
                        .on_hover_text(format!("replay {} into the panels", r.id))
                        .clicked()
                    {
                        *action = Some(RunsAction::Open(r.dir.clone()));
                    }
                    if r.resumable()
                        && ui
                            .button("Resume run")
                            .on_hover_text(format!(
                                "continue {} from its last checkpoint, as `ferlab train --resume`",
                                r.id
                            ))
                            .clicked()
                    {
                        *action = Some(RunsAction::Resume(r.dir.clone()));
                    }
                });
                let name = if open == Some(r.dir.as_path()) {
                    RichText::new(&r.id).strong()
                } else {
                    RichText::new(&r.id)
                };
                ui.label(name);
                ui.label(&r.status);
                ui.label(format!("{}/{}", r.epochs_done, r.epochs_total));
                ui.label(pct(r.best_overall));
                ui.label(pct(r.best_mean));
                ui.label(&r.data);
                ui.label(&r.method);
                ui.end_row();
            }
        });
}
