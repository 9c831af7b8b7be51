//! The workbench: an experiment editor beside a layout of panels, a toolbar that starts,
//! pauses and stops runs. Training runs on the engine's thread; each frame takes the events
//! that arrived, within a time budget, and never waits for the engine.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui::{RichText, Ui};
use egui_tiles::{Tiles, Tree, UiResponse};

use super::dialogs::{self, Answer, Dialogs};
use super::editor::ExperimentEditor;
use super::panels::log::duration;
use super::panels::results::ResultsPanel;
use super::panels::runs::{RunsAction, RunsPanel};
use super::panels::{PANELS, Panel, PanelContext, PanelEntry, PanelSet, Place, Request};
use super::path_prompt::{PathPrompt, PromptAction, PromptReply};
use super::repaint::{FrameCost, RepaintPolicy};
use crate::compute::train::{Engine, Launch};
use crate::contract::run::view::{RunStatus, RunView};
use crate::views::Error;
use crate::views::figures::{self, ExportSize, FigureOptions, FigureRef, ImageFormat};

/// The default arrangement, from each panel's place: the main panel (curves) beside the
/// analysis tabs (confusion, thresholds, mining, attention) on top; below, the per-class tabs
/// (per-class accuracy, embeddings) beside the tools (log, data preview, runs browser,
/// results table). Tabs can be dragged to rearrange; the arrangement is remembered.
pub fn default_layout(entries: &[PanelEntry]) -> Tree<String> {
    let mut tiles = Tiles::default();
    let mut group = |place: Place| -> Vec<egui_tiles::TileId> {
        entries
            .iter()
            .filter(|e| e.place == place)
            .map(|e| tiles.insert_pane(e.key.to_string()))
            .collect()
    };
    let main = group(Place::Main);
    let analysis = group(Place::Analysis);
    let classes = group(Place::Classes);
    let tools = group(Place::Tools);
    let mut tab =
        |ids: Vec<egui_tiles::TileId>| (!ids.is_empty()).then(|| tiles.insert_tab_tile(ids));
    let groups = [tab(main), tab(analysis), tab(classes), tab(tools)];
    let [main, analysis, classes, tools] = groups;
    let top: Vec<_> = [main, analysis].into_iter().flatten().collect();
    let bottom: Vec<_> = [classes, tools].into_iter().flatten().collect();
    let top = tiles.insert_horizontal_tile(top);
    let bottom = tiles.insert_horizontal_tile(bottom);
    let root = tiles.insert_vertical_tile(vec![top, bottom]);
    // The plots get the taller row: at 1280x800 each shows its axes, legend and epochs.
    if let Some(egui_tiles::Tile::Container(egui_tiles::Container::Linear(rows))) =
        tiles.get_mut(root)
    {
        rows.shares.set_share(top, 1.5);
        rows.shares.set_share(bottom, 1.0);
    }
    Tree::new(egui::Id::unique("ferlab-layout"), root, tiles)
}

/// A run going on in the engine thread.
pub struct LiveRun {
    pub engine: Engine,
}

pub struct Workbench {
    pub editor: ExperimentEditor,
    pub live: Option<LiveRun>,
    /// The run the panels show: the live one, or one opened from the browser.
    pub view: RunView,
    /// Runs overlaid in the curves.
    pub overlays: Vec<RunView>,
    /// The runs the overlay was last made of.
    overlays_wanted: Option<std::collections::BTreeSet<PathBuf>>,
    pub panels: PanelSet,
    /// The panel list the workbench was made from (the default layout is built from it).
    panel_list: &'static [PanelEntry],
    /// The tile layout; its panes are panel keys.
    pub tree: Tree<String>,
    pub dialogs: Dialogs,
    /// Result of the last toolbar action, shown in the toolbar.
    pub notice: Option<(bool, String)>,
    /// The notice last drawn and since when: an error notice goes once what it said no
    /// longer holds, or after [`ERROR_NOTICE_SECS`].
    pub notice_seen: Option<((bool, String), Instant)>,
    /// The keyboard shortcut list (F1) is open.
    pub show_shortcuts: bool,
    /// Time each frame may spend taking events.
    pub event_budget: Duration,
    /// Events still queued after the last frame's budget ran out.
    pub backlog: bool,
    /// The typed-path prompt open for a figure, a table or a preset.
    pub prompt: Option<PathPrompt>,
    /// The pane filling the whole layout (double-click its tab; again, or Esc, restores).
    pub maximised: Option<String>,
    /// The experiment editor at the left is shown (the toolbar's "Editor" and Ctrl+E
    /// fold it away, as does dragging its edge past its narrowest width).
    pub editor_open: bool,
    /// How often progress reports are drawn, from what frames cost.
    pub repaint: RepaintPolicy,
    frame_cost: FrameCost,
}

impl Workbench {
    pub fn new(presets_dir: PathBuf) -> Self {
        Self::with_panels(presets_dir, PANELS)
    }

    /// A workbench with the panels of `panel_list` (the built-in [`PANELS`], or a test's).
    pub fn with_panels(presets_dir: PathBuf, panel_list: &'static [PanelEntry]) -> Self {
        Self {
            editor: ExperimentEditor::new(presets_dir),
            live: None,
            view: RunView::default(),
            overlays: Vec::new(),
            overlays_wanted: None,
            panels: PanelSet::new(panel_list),
            panel_list,
            tree: default_layout(panel_list),
            dialogs: Dialogs::default(),
            notice: None,
            notice_seen: None,
            show_shortcuts: false,
            event_budget: Duration::from_millis(8),
            backlog: false,
            prompt: None,
            editor_open: true,
            maximised: None,
            repaint: RepaintPolicy::default(),
            frame_cost: FrameCost::default(),
        }
    }

    /// Shows another run: the panels' picks of the previous one (an epoch pinned by
    /// unticking "follow latest", a selected face) do not carry over.
    fn show_view(&mut self, view: RunView) {
        self.view = view;
        for panel in self.panels.iter_mut() {
            panel.forget_run();
        }
    }

    /// The keyboard: F5 starts, Shift+F5 stops, Ctrl+S saves the preset, Ctrl+F searches
    /// the presets, F1 lists these ([`SHORTCUTS`]); Esc restores a maximised pane.
    fn shortcuts(&mut self, ctx: &egui::Context) {
        use egui::{Key, KeyboardShortcut, Modifiers};
        let pressed = |m: Modifiers, k: Key| {
            ctx.input_mut(|i| i.consume_shortcut(&KeyboardShortcut::new(m, k)))
        };
        // Shift+F5 first: a plain F5 shortcut also matches with Shift held.
        if pressed(Modifiers::SHIFT, Key::F5) {
            self.stop();
        } else if pressed(Modifiers::NONE, Key::F5) {
            self.start(ctx);
        }
        if pressed(Modifiers::COMMAND, Key::S) {
            self.editor.save_to_typed_path();
        }
        if pressed(Modifiers::COMMAND, Key::F) {
            // The search lives in the editor: a folded editor opens for it.
            self.editor_open = true;
            self.editor.focus_search(ctx);
        }
        if pressed(Modifiers::COMMAND, Key::E) {
            self.editor_open = !self.editor_open;
        }
        if pressed(Modifiers::NONE, Key::F1) {
            self.show_shortcuts = !self.show_shortcuts;
        }
        if self.show_shortcuts {
            let mut open = true;
            egui::Window::new("Keyboard shortcuts")
                .open(&mut open)
                .collapsible(false)
                .resizable(false)
                .show(ctx, |ui| {
                    egui::Grid::new("shortcuts").striped(true).show(ui, |ui| {
                        for (keys, what) in SHORTCUTS {
                            ui.label(RichText::new(*keys).strong());
                            ui.label(*what);
                            ui.end_row();
                        }
                    });
                });
            if !open || ctx.input(|i| i.key_pressed(Key::Escape)) {
                self.show_shortcuts = false;
            }
        }
    }

    /// Whether a run is going (until its last event has been taken).
    pub fn is_running(&self) -> bool {
        self.live.is_some()
    }

    /// Starts the experiment in the editor on the engine thread.
    pub fn start(&mut self, ctx: &egui::Context) {
        if self.is_running() {
            return;
        }
        if !self.editor.is_valid() {
            self.notice = Some((false, PROBLEMS_NOTICE.into()));
            return;
        }
        // A first run has started: the first-launch hint has done its job.
        self.editor.first_launch = false;
        let launch = Launch::New(Box::new(self.editor.experiment.clone()));
        match Engine::start(launch, Some(self.notifier(ctx))) {
            Ok(engine) => {
                self.notice = Some((true, format!("started {}", engine.dir.id())));
                self.show_view(RunView::default());
                self.live = Some(LiveRun { engine });
            }
            Err(e) => self.notice = Some((false, format!("{e:#}"))),
        }
    }

    /// The engine's call after each event: a frame soon, or for progress reports, within
    /// the repaint policy's interval.
    fn notifier(&mut self, ctx: &egui::Context) -> crate::compute::train::engine::Notify {
        // A new run: frame costs are measured from its first frame on.
        self.frame_cost = FrameCost::default();
        let repaint = ctx.clone();
        let policy = self.repaint.clone();
        Box::new(move |event| repaint.request_repaint_after(policy.delay_for(event)))
    }

    pub fn pause(&mut self) {
        if let Some(l) = &self.live {
            l.engine.pause();
        }
    }

    pub fn resume(&mut self) {
        if let Some(l) = &self.live {
            l.engine.resume();
        }
    }

    /// Asks the run to stop; it checkpoints and reports `Stopped` (resumable).
    pub fn stop(&mut self) {
        if let Some(l) = &self.live {
            l.engine.resume();
            l.engine.stop();
        }
    }

    /// Takes queued events into the view for at most `event_budget`.
    pub fn drain_events(&mut self) {
        let Some(live) = &self.live else {
            self.backlog = false;
            return;
        };
        let start = Instant::now();
        let mut ended = false;
        // The runs table reads the running run again when it starts and at each epoch's
        // end (its best and its epochs change then), not only when it ends.
        let mut changed_row = false;
        loop {
            if start.elapsed() >= self.event_budget {
                self.backlog = true;
                break;
            }
            match live.engine.events().try_recv() {
                Ok(e) => {
                    ended |= e.is_terminal();
                    changed_row |= matches!(
                        e,
                        crate::contract::event::Event::Started { .. }
                            | crate::contract::event::Event::EpochEnd { .. }
                    );
                    self.view.apply(&e);
                }
                Err(_) => {
                    self.backlog = false;
                    break;
                }
            }
        }
        let root = self.editor.experiment.output.dir.clone();
        if !self.backlog
            && (ended || (live.engine.is_finished() && live.engine.events().is_empty()))
        {
            self.live = None;
            changed_row = true;
        }
        if changed_row && let Some(runs) = self.panels.get_mut::<RunsPanel>() {
            runs.refresh(&root);
        }
    }

    /// The panel of type `T`, where the workbench has one.
    pub fn panel<T: Panel>(&self) -> Option<&T> {
        self.panels.get::<T>()
    }

    pub fn panel_mut<T: Panel>(&mut self) -> Option<&mut T> {
        self.panels.get_mut::<T>()
    }

    /// Gives the tab group holding the panel `key` `share` times the width (or height) of
    /// its siblings in the row (or column) it sits in; 1 restores an even split.
    pub fn widen_pane(&mut self, key: &str, share: f32) {
        let tiles = &mut self.tree.tiles;
        let Some(pane_id) = tiles.find_pane(&key.to_string()) else {
            return;
        };
        let group = tiles.parent_of(pane_id).unwrap_or(pane_id);
        let Some(row) = tiles.parent_of(group) else {
            return;
        };
        if let Some(egui_tiles::Tile::Container(egui_tiles::Container::Linear(linear))) =
            tiles.get_mut(row)
        {
            for child in linear.children.clone() {
                linear
                    .shares
                    .set_share(child, if child == group { share } else { 1.0 });
            }
        }
    }

    /// [`Self::widen_pane`] for the panel of type `T`.
    pub fn widen_panel<T: Panel>(&mut self, share: f32) {
        if let Some(key) = self.panels.key_of::<T>() {
            self.widen_pane(key, share);
        }
    }

    /// Brings the panel `key` to the front of its tab group.
    pub fn show_pane(&mut self, key: &str) {
        self.tree
            .make_active(|_, tile| matches!(tile, egui_tiles::Tile::Pane(p) if p == key));
    }

    /// [`Self::show_pane`] for the panel of type `T`.
    pub fn show_panel<T: Panel>(&mut self) {
        if let Some(key) = self.panels.key_of::<T>() {
            self.show_pane(key);
        }
    }

    /// Fills the window with the panel of type `T` (as a double-click on its tab).
    pub fn maximise_panel<T: Panel>(&mut self) {
        self.maximised = self.panels.key_of::<T>().map(str::to_string);
    }

    /// Puts the panels back where they start (the toolbar's "Reset layout").
    pub fn reset_layout(&mut self) {
        self.tree = default_layout(self.panel_list);
        self.maximised = None;
    }

    /// Takes the layout remembered in `storage` (eframe's, kept between launches), if it
    /// holds exactly this workbench's panels; a layout of another version (a panel added
    /// or gone since) is left for the default. Says whether it was taken.
    pub fn restore_layout(&mut self, storage: &dyn eframe::Storage) -> bool {
        let Some(saved) = eframe::get_value::<Tree<String>>(storage, LAYOUT_KEY) else {
            return false;
        };
        let mut remembered: Vec<&str> = saved
            .tiles
            .tiles()
            .filter_map(|t| match t {
                egui_tiles::Tile::Pane(key) => Some(key.as_str()),
                egui_tiles::Tile::Container(_) => None,
            })
            .collect();
        let mut ours: Vec<&str> = self.panels.keys().collect();
        remembered.sort_unstable();
        ours.sort_unstable();
        if remembered != ours {
            return false;
        }
        self.tree = saved;
        true
    }

    /// Writes the layout into `storage` (eframe calls this on exit and now and then).
    pub fn save_layout(&self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, LAYOUT_KEY, &self.tree);
    }

    /// Continues a stopped run from its last checkpoint, as `ferlab train --resume DIR`:
    /// the panels show its history, then its new events.
    pub fn resume_run(&mut self, dir: &Path, ctx: &egui::Context) {
        if self.is_running() {
            self.notice = Some((false, format!("{BUSY_NOTICE} resuming another")));
            return;
        }
        // What the run recorded so far, read before the engine appends to it; its new
        // Started event drops anything recorded past the checkpoint it resumes from.
        let history = RunView::replay(dir).unwrap_or_default();
        let launch = Launch::Resume {
            dir: dir.to_path_buf(),
            overrides: Vec::new(),
        };
        match Engine::start(launch, Some(self.notifier(ctx))) {
            Ok(engine) => {
                self.show_view(history);
                self.notice = Some((true, format!("resumed {}", engine.dir.id())));
                self.live = Some(LiveRun { engine });
            }
            Err(e) => self.notice = Some((false, format!("{e:#}"))),
        }
    }

    /// Replays a past run into the panels.
    pub fn open_run(&mut self, dir: &Path) {
        if self.is_running() {
            self.notice = Some((false, format!("{BUSY_NOTICE} opening another")));
            return;
        }
        match RunView::replay(dir) {
            Ok(v) => {
                self.notice = Some((true, format!("opened {}", v.run_id)));
                self.show_view(v);
            }
            Err(e) => self.notice = Some((false, e.to_string())),
        }
    }

    /// The runs ticked in the browser.
    pub fn ticked_runs(&self) -> std::collections::BTreeSet<PathBuf> {
        self.panel::<RunsPanel>()
            .map(RunsPanel::overlaid)
            .unwrap_or_default()
    }

    /// Replays the runs ticked in the browser for the curves' overlay.
    pub fn sync_overlays(&mut self) {
        let wanted = self.ticked_runs();
        // Called every frame: only a changed choice is looked at (a run that cannot be
        // replayed is not tried again each frame).
        if self.overlays_wanted.as_ref() == Some(&wanted) {
            return;
        }
        self.overlays_wanted = Some(wanted.clone());
        let wanted = &wanted;
        self.overlays
            .retain(|v| v.run_dir.as_ref().is_some_and(|d| wanted.contains(d)));
        for d in wanted {
            if !self.overlays.iter().any(|v| v.run_dir.as_ref() == Some(d))
                && let Ok(mut v) = RunView::replay(d)
            {
                v.run_dir = Some(d.clone());
                self.overlays.push(v);
            }
        }
    }

    /// Opens the prompt for one figure of the shown run, at `RUN_DIR/figures/<figure>.png`.
    pub fn request_figure_export(&mut self, kind: FigureRef) {
        let folder = match &self.view.run_dir {
            Some(dir) => dir.join("figures"),
            None => self.editor.experiment.output.dir.clone(),
        };
        let default = folder.join(format!("{}.png", kind.key()));
        self.prompt = Some(PathPrompt::new(PromptAction::ExportFigure(kind), default));
    }

    /// Opens the prompt for the results table, beside the first ticked run.
    pub fn request_table_save(&mut self, default: PathBuf) {
        self.prompt = Some(PathPrompt::new(PromptAction::SaveTable, default));
    }

    /// Writes one figure of the shown run to `path` (PNG unless it ends in .svg), at the
    /// epoch its panel shows where the panel picks one; the notice says where, or why not.
    pub fn export_figure(&mut self, kind: FigureRef, path: &Path) -> Result<PathBuf, Error> {
        let csv = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        let (path, format) = match ImageFormat::from_path(path) {
            Some(f) => (path.to_path_buf(), f),
            None if csv => (path.to_path_buf(), ImageFormat::Png),
            None => (path.with_extension("png"), ImageFormat::Png),
        };
        // The epoch the panel exporting this figure shows.
        let panel = self
            .panels
            .iter()
            .find(|p| p.figure().is_some_and(|f| figures::figure::same(f, kind)));
        let options = FigureOptions {
            epoch: panel.and_then(|p| p.figure_epoch()),
        };
        // A `.csv` path takes the numbers behind the figure instead of its picture.
        let bytes = if csv {
            figures::csv(kind, &self.view, options).map(String::into_bytes)
        } else {
            figures::render(kind, &self.view, options, kind.default_size(), format)
        };
        let result = bytes
            .and_then(|bytes| figures::write(&path, &bytes))
            .map(|()| path.clone())
            .map_err(|e| Error::Draw(format!("figure not written: {e}")));
        self.notice = Some(match &result {
            Ok(p) => (true, format!("wrote {}", p.display())),
            Err(e) => (false, e.to_string()),
        });
        result
    }

    /// Acts on the prompt's path; the prompt stays open, saying why, when that fails.
    fn accept_prompt(&mut self, action: PromptAction, path: &Path) {
        let result = match action {
            PromptAction::ExportFigure(kind) => self.export_figure(kind, path).map(|_| ()),
            PromptAction::SaveTable => match self.panels.get_mut::<ResultsPanel>() {
                Some(results) => results.save_to(path).map(|written| {
                    self.notice = Some((true, format!("saved {}", written.display())));
                }),
                None => Ok(()),
            },
        };
        match result {
            Ok(()) => self.prompt = None,
            Err(e) => {
                if let Some(p) = &mut self.prompt {
                    p.text = path.display().to_string();
                    p.message = Some(e.to_string());
                }
            }
        }
    }

    /// Applies what a native dialog answered.
    fn on_dialog_answer(&mut self, answer: Answer) {
        let prompt_action = self
            .prompt
            .as_ref()
            .map(|p| p.action)
            .filter(|a| a.purpose() == answer.purpose);
        match (answer.path, prompt_action) {
            (Some(path), Some(action)) => self.accept_prompt(action, &path),
            (Some(path), None) => self.editor.on_dialog(answer.purpose, path),
            (None, _) if answer.unavailable => match &mut self.prompt {
                Some(p) if prompt_action.is_some() => p.message = Some(dialogs::UNAVAILABLE.into()),
                _ => {
                    self.editor.message = Some((false, dialogs::UNAVAILABLE.into()));
                    self.notice = Some((false, dialogs::UNAVAILABLE.into()));
                }
            },
            (None, _) => {}
        }
    }

    /// Draws the typed-path prompt, if one is open, and acts on its answer.
    fn prompt_ui(&mut self, ctx: &egui::Context) {
        let Some(prompt) = &mut self.prompt else {
            return;
        };
        let action = prompt.action;
        let reply = prompt.show(ctx);
        match reply {
            Some(PromptReply::Accept(path)) => self.accept_prompt(action, &path),
            Some(PromptReply::Browse(start)) => {
                prompt.message = None;
                self.dialogs.request(action.purpose(), start, ctx);
            }
            Some(PromptReply::Cancel) => self.prompt = None,
            None => {}
        }
    }

    /// Writes every figure of the shown run to `RUN_DIR/figures/`, PNG and SVG.
    pub fn export_all_figures(&mut self) {
        let Some(dir) = self.view.run_dir.clone() else {
            self.notice = Some((false, "no run to export".into()));
            return;
        };
        let target = dir.join("figures");
        let result = figures::export_run(
            &self.view,
            &target,
            &[ImageFormat::Png, ImageFormat::Svg],
            ExportSize::default(),
        );
        self.notice = Some(match result {
            Ok(written) => (
                true,
                format!(
                    "wrote {} figure files to {}",
                    written.len(),
                    target.display()
                ),
            ),
            Err(e) => (false, format!("figures not written: {e}")),
        });
    }

    /// The whole window.
    pub fn ui(&mut self, ui: &mut Ui) {
        // Only a going run's progress frames are paced by it; an idle window reads nothing.
        if self.live.is_some()
            && let Some(cost) = self.frame_cost.frame()
        {
            self.repaint.set_frame_cost(cost);
        }
        self.drain_events();
        for answer in self.dialogs.poll() {
            self.on_dialog_answer(answer);
        }
        let ctx = ui.ctx().clone();
        self.shortcuts(&ctx);
        // A filter may have hidden (or shown again) a ticked run: the overlay follows.
        self.sync_overlays();
        egui::Panel::top("toolbar").show(ui, |ui| self.toolbar(ui, &ctx));
        // The editor starts at about a quarter of the window (less on a small screen) and
        // folds away entirely; its rows wrap rather than hold the panel wide.
        let window = ctx.content_rect().width();
        let mut editor_open = self.editor_open;
        egui::Panel::left("editor")
            .resizable(true)
            .default_size((window * 0.27).clamp(EDITOR_MIN_WIDTH, 380.0))
            .min_size(EDITOR_MIN_WIDTH)
            .max_size((window * 0.6).max(EDITOR_MIN_WIDTH))
            .show_collapsible(ui, &mut editor_open, |ui| {
                egui::ScrollArea::vertical()
                    .auto_shrink([false, false])
                    .show(ui, |ui| {
                        ui.heading("Experiment");
                        if self.editor.first_launch && self.view.run_id.is_empty() {
                            ui.label(
                                RichText::new(FIRST_LAUNCH).color(ui.visuals().hyperlink_color),
                            );
                        }
                        self.editor.presets_ui(ui, &mut self.dialogs);
                        ui.separator();
                        let running = self.is_running();
                        ui.add_enabled_ui(!running, |ui| {
                            self.editor.fields_ui(ui, &mut self.dialogs)
                        });
                    });
            });
        // Dragging the editor's edge past its narrowest width folds it, as the button does.
        self.editor_open = editor_open;
        egui::CentralPanel::default().show(ui, |ui| {
            // The ticked runs as `sync_overlays` read them this frame (not read again).
            let ticked = self.overlays_wanted.take().unwrap_or_default();
            let valid = self.editor.is_valid();
            let mut requests = Vec::new();
            let Workbench {
                tree,
                view,
                overlays,
                panels,
                editor,
                maximised,
                ..
            } = self;
            let mut behavior = Behavior {
                panels,
                cx: PanelContext {
                    view,
                    overlays,
                    ticked: &ticked,
                    experiment: &editor.experiment,
                    experiment_valid: valid,
                    run_root: &editor.experiment.output.dir,
                    requests: &mut requests,
                },
                export_request: None,
                maximise_request: None,
            };
            match maximised.clone() {
                Some(mut key) => {
                    let title = behavior.panels.by_key(&key).map_or("", |p| p.title());
                    let restore = ui
                        .horizontal(|ui| {
                            let b = ui
                                .button(format!("Restore layout ({title})"))
                                .on_hover_text(
                                    "back to the tile layout (also: Esc, or double-click here)",
                                );
                            b.clicked()
                                || b.double_clicked()
                                || ui.input(|i| i.key_pressed(egui::Key::Escape))
                        })
                        .inner;
                    // A lone pane is not dragged: its response asks nothing of the layout.
                    let _ = egui_tiles::Behavior::pane_ui(
                        &mut behavior,
                        ui,
                        egui_tiles::TileId::from_u64(0),
                        &mut key,
                    );
                    if restore {
                        *maximised = None;
                    }
                }
                None => {
                    tree.ui(&mut behavior, ui);
                }
            }
            if let Some(key) = behavior.maximise_request.take() {
                *maximised = Some(key);
            }
            let export = behavior.export_request.take();
            self.overlays_wanted = Some(ticked);
            if let Some(kind) = export {
                self.request_figure_export(kind);
            }
            for request in requests {
                match request {
                    Request::SaveTable(default) => self.request_table_save(default),
                    Request::Runs(RunsAction::Open(dir)) => self.open_run(&dir),
                    Request::Runs(RunsAction::Resume(dir)) => self.resume_run(&dir, &ctx),
                    Request::Runs(RunsAction::OverlaysChanged) => self.sync_overlays(),
                }
            }
        });
        self.prompt_ui(&ctx);
        if self.backlog {
            // Events are still queued: take more in the next frame. Otherwise the engine's
            // notifier asks for the frames (see `repaint`).
            ctx.request_repaint();
        }
    }

    /// Drops an error notice that stopped applying: the problems were fixed, the run it
    /// waited for ended, or it has been up for [`ERROR_NOTICE_SECS`] (they used to stay
    /// for minutes). Asks for the frame that takes it away.
    fn expire_notice(&mut self, ctx: &egui::Context) {
        let Some(notice) = self.notice.clone() else {
            self.notice_seen = None;
            return;
        };
        let since = match &self.notice_seen {
            Some((seen, at)) if *seen == notice => *at,
            _ => {
                self.notice_seen = Some((notice.clone(), Instant::now()));
                Instant::now()
            }
        };
        let (ok, text) = notice;
        if ok {
            return;
        }
        let limit = Duration::from_secs(ERROR_NOTICE_SECS);
        let resolved = (text == PROBLEMS_NOTICE && self.editor.is_valid())
            || (text.starts_with(BUSY_NOTICE) && !self.is_running());
        if resolved || since.elapsed() >= limit {
            self.notice = None;
            self.notice_seen = None;
        } else {
            ctx.request_repaint_after(limit.saturating_sub(since.elapsed()));
        }
    }

    fn toolbar(&mut self, ui: &mut Ui, ctx: &egui::Context) {
        self.expire_notice(ctx);
        ui.horizontal(|ui| {
            ui.heading("ferlab");
            ui.separator();
            ui.toggle_value(&mut self.editor_open, "Editor")
                .on_hover_text("show or fold away the experiment editor (Ctrl+E)");
            let running = self.is_running();
            let valid = self.editor.is_valid();
            let why_not = if running {
                "a run is going".to_string()
            } else {
                start_blockers(self.editor.problems())
            };
            let start = ui
                .add_enabled(!running && valid, egui::Button::new("Start"))
                .on_hover_text("F5")
                .on_disabled_hover_text(why_not);
            if start.clicked() {
                self.start(ctx);
            }
            let problems = self.editor.problems().len();
            if !running && problems > 0 {
                let go = ui
                    .button(
                        RichText::new(format!(
                            "{problems} problem{}",
                            if problems == 1 { "" } else { "s" }
                        ))
                        .color(ui.visuals().error_fg_color),
                    )
                    .on_hover_text(
                        "go to the first field with a problem (all are listed above the form)",
                    );
                if go.clicked() {
                    self.editor.jump_to = self.editor.problems().first().map(|p| p.path.clone());
                }
            }
            let paused = self.view.status == RunStatus::Paused
                || self.live.as_ref().is_some_and(|l| l.engine.is_paused());
            if paused {
                if ui
                    .add_enabled(running, egui::Button::new("Resume"))
                    .clicked()
                {
                    self.resume();
                }
            } else if ui
                .add_enabled(running, egui::Button::new("Pause"))
                .clicked()
            {
                self.pause();
            }
            if ui
                .add_enabled(running, egui::Button::new("Stop"))
                .on_hover_text("Shift+F5")
                .clicked()
            {
                self.stop();
            }
            if ui
                .button("?")
                .on_hover_text("keyboard shortcuts (F1)")
                .clicked()
            {
                self.show_shortcuts = !self.show_shortcuts;
            }
            ui.separator();
            let exportable = self.view.run_dir.is_some() && !self.view.epochs.is_empty();
            if ui
                .add_enabled(exportable, egui::Button::new("Export figures"))
                .on_hover_text("write every figure of this run to RUN_DIR/figures (PNG and SVG)")
                .clicked()
            {
                self.export_all_figures();
            }
            if ui
                .button("Reset layout")
                .on_hover_text("put every panel back where it starts (the arrangement is remembered between launches)")
                .clicked()
            {
                self.reset_layout();
            }
            ui.separator();
            let status = match (&self.view.status, self.view.progress) {
                (RunStatus::Running, Some(p)) => format!(
                    "running {} · epoch {}/{} · step {}/{} · ETA {}",
                    self.view.run_id,
                    p.epoch + 1,
                    self.view.epochs_total,
                    p.step,
                    p.steps,
                    duration(p.eta_secs)
                ),
                (s, _) if !self.view.run_id.is_empty() => {
                    format!("{} {}", s.label(), self.view.run_id)
                }
                _ if running => "starting…".to_string(),
                _ => "no run".to_string(),
            };
            // The theme switch keeps its place at the right: a long run name or notice is
            // cut short (whole on hover) rather than running under it.
            let room = (ui.available_width() - THEME_SWITCH_WIDTH).max(0.0);
            let share = if self.notice.is_some() { 0.55 } else { 1.0 };
            cut_label(ui, RichText::new(&status), &status, room * share);
            if let Some((ok, text)) = &self.notice {
                let color = if *ok {
                    ui.visuals().weak_text_color()
                } else {
                    ui.visuals().error_fg_color
                };
                let left = (ui.available_width() - THEME_SWITCH_WIDTH).max(0.0);
                cut_label(ui, RichText::new(text).color(color), text, left);
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                theme_switch(ui)
            });
        });
    }
}

/// Where the tile layout is remembered in eframe's storage.
pub const LAYOUT_KEY: &str = "ferlab-layout";

/// Where a new user begins (no run in the output folder yet).
pub const FIRST_LAUNCH: &str = "New here? Open “Getting started”, click quick.toml and press Start: a minute on synthetic faces.";

/// The keyboard shortcuts, as the F1 list shows them.
pub const SHORTCUTS: &[(&str, &str)] = &[
    ("F5", "start the experiment in the editor"),
    (
        "Shift+F5",
        "stop the run (it checkpoints and can be resumed)",
    ),
    ("Ctrl+S", "save the preset to the typed Save as path"),
    ("Ctrl+F", "search the presets"),
    ("Ctrl+E", "show or fold away the experiment editor"),
    ("F1", "show or hide this list"),
    (
        "Esc",
        "restore the layout from a maximised pane; close this list",
    ),
    ("Double-click a tab", "fill the window with its pane"),
    (
        "Ctrl + wheel / drag",
        "zoom and pan a plot; double-click resets it",
    ),
];

/// How long an error notice stays in the toolbar when nothing resolves it earlier.
pub const ERROR_NOTICE_SECS: u64 = 20;
/// The notice of a Start refused for the experiment's problems (gone once they are fixed).
pub const PROBLEMS_NOTICE: &str = "the experiment has problems; see the editor";
/// How the notices of an action refused while a run goes begin (gone once it ends).
pub const BUSY_NOTICE: &str = "stop the current run before";

/// The editor's narrowest width: its labels and fields still read (rows wrap below it).
pub const EDITOR_MIN_WIDTH: f32 = 250.0;

/// Width the toolbar keeps free at its right for the theme switch.
const THEME_SWITCH_WIDTH: f32 = 170.0;

/// A label at most `width` wide, cut short with "…" (the whole `text` on hover).
fn cut_label(ui: &mut Ui, label: RichText, text: &str, width: f32) {
    ui.scope(|ui| {
        ui.set_max_width(width);
        ui.add(egui::Label::new(label).truncate())
            .on_hover_text(text);
    });
}

/// Why Start is disabled: every problem of the experiment, one per line, by field path.
fn start_blockers(problems: &[crate::contract::config::Problem]) -> String {
    let mut text = String::from("fix these first (each is also shown beside its field):");
    for p in problems {
        text.push_str(&format!("\n• {p}"));
    }
    text
}

/// Light / dark / system theme, as text (the default fonts have no sun and moon glyphs).
fn theme_switch(ui: &mut Ui) {
    use egui::ThemePreference;
    let mut pref = ui.ctx().options(|o| o.theme_preference);
    let before = pref;
    for (value, name) in [
        (ThemePreference::Dark, "Dark"),
        (ThemePreference::Light, "Light"),
        (ThemePreference::System, "System"),
    ] {
        ui.selectable_value(&mut pref, value, name);
    }
    if pref != before {
        ui.ctx().set_theme(pref);
    }
}

/// The tile layout's view of the workbench: the panels and what they read and ask for.
struct Behavior<'a> {
    panels: &'a mut PanelSet,
    cx: PanelContext<'a>,
    /// A pane's "Export figure" button was pressed.
    export_request: Option<FigureRef>,
    /// A pane's tab was double-clicked: show it alone.
    maximise_request: Option<String>,
}

impl egui_tiles::Behavior<String> for Behavior<'_> {
    fn tab_title_for_pane(&mut self, key: &String) -> egui::WidgetText {
        // A remembered layout may name a panel this version no longer has.
        self.panels
            .by_key(key)
            .map_or(key.as_str(), |p| p.title())
            .into()
    }

    fn on_tab_button(
        &mut self,
        tiles: &mut Tiles<String>,
        tile_id: egui_tiles::TileId,
        button: egui::Response,
    ) -> egui::Response {
        if button.double_clicked()
            && let Some(key) = tiles.get_pane(&tile_id)
        {
            self.maximise_request = Some(key.clone());
        }
        button.on_hover_text("drag to rearrange; double-click to fill the window with this pane")
    }

    fn pane_ui(
        &mut self,
        ui: &mut Ui,
        _tile_id: egui_tiles::TileId,
        key: &mut String,
    ) -> UiResponse {
        let Some(panel) = self.panels.by_key_mut(key) else {
            return UiResponse::None;
        };
        if let Some(figure) = panel.figure().filter(|f| f.available(self.cx.view)) {
            ui.horizontal(|ui| {
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    let button = ui
                        .small_button("Export figure…")
                        .on_hover_text("save this panel's figure as PNG or SVG");
                    if button.clicked() {
                        self.export_request = Some(figure);
                    }
                });
            });
        }
        let cx = &mut self.cx;
        egui::Frame::new()
            .inner_margin(6.0)
            .show(ui, |ui| panel.ui(ui, cx));
        UiResponse::None
    }

    fn simplification_options(&self) -> egui_tiles::SimplificationOptions {
        egui_tiles::SimplificationOptions {
            all_panes_must_have_tabs: true,
            ..Default::default()
        }
    }
}

impl eframe::App for Workbench {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        Workbench::ui(self, ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.save_layout(storage);
    }
}
