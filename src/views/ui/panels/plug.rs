//! The panel plug: a panel is one module implementing [`Panel`] and one line in
//! [`super::PANELS`]. The workbench builds its tab layout, tab titles, "Export figure…"
//! buttons and the state it keeps from that list; nothing else names a panel.

use std::any::{Any, TypeId};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use egui::Ui;

use crate::contract::config::Experiment;
use crate::contract::run::view::RunView;
use crate::views::figures::FigureRef;

/// What a panel reads from the workbench while it draws, and where it leaves requests the
/// workbench acts on after the frame's layout.
pub struct PanelContext<'a> {
    /// The run the panels show.
    pub view: &'a RunView,
    /// Runs ticked in the browser, replayed (the curves overlay them).
    pub overlays: &'a [RunView],
    /// The folders of the ticked runs.
    pub ticked: &'a BTreeSet<PathBuf>,
    /// The experiment in the editor, and whether it has no problems.
    pub experiment: &'a Experiment,
    pub experiment_valid: bool,
    /// The folder runs are written to (the experiment's output folder).
    pub run_root: &'a Path,
    pub requests: &'a mut Vec<Request>,
}

/// What the user asked the runs browser for.
#[derive(Debug, Clone, PartialEq)]
pub enum RunsAction {
    Open(PathBuf),
    /// Continue a stopped run from its last checkpoint (as `ferlab train --resume`).
    Resume(PathBuf),
    OverlaysChanged,
}

/// What a panel asks of the workbench.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// The runs browser: open, resume, or the ticked runs changed.
    Runs(RunsAction),
    /// The results table's "Save…": the prompt, with this default path.
    SaveTable(PathBuf),
}

/// One panel of the workbench: its own view settings and how it draws them.
pub trait Panel: Any {
    /// Its tab's title.
    fn title(&self) -> &'static str;

    /// The figure its "Export figure…" button writes, if it has one.
    fn figure(&self) -> Option<FigureRef> {
        None
    }

    /// The epoch that figure shows: the one the panel shows where the user picked one.
    fn figure_epoch(&self) -> Option<usize> {
        None
    }

    /// Draws the panel.
    fn ui(&mut self, ui: &mut Ui, cx: &mut PanelContext<'_>);

    /// Another run is shown: picks tied to the previous one (an epoch pinned, a face
    /// selected) are dropped.
    fn forget_run(&mut self) {}
}

/// Where a panel sits in the default layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The top left, beside the analysis tabs (the curves).
    Main,
    /// The top right tab group: the run's analysis.
    Analysis,
    /// The bottom left tab group: per-class views.
    Classes,
    /// The bottom right tab group: log, data, runs, tables.
    Tools,
}

/// One line of the panel list.
#[derive(Clone, Copy)]
pub struct PanelEntry {
    /// Names the panel in the remembered layout; never changes once released.
    pub key: &'static str,
    pub place: Place,
    pub make: fn() -> Box<dyn Panel>,
}

/// The list line of a panel that starts from its `Default`.
pub const fn entry<T: Panel + Default>(key: &'static str, place: Place) -> PanelEntry {
    PanelEntry {
        key,
        place,
        make: make::<T>,
    }
}

fn make<T: Panel + Default>() -> Box<dyn Panel> {
    Box::new(T::default())
}

/// The panels of a workbench, made from a panel list, in its order.
pub struct PanelSet {
    panels: Vec<(&'static str, Box<dyn Panel>)>,
}

impl PanelSet {
    pub fn new(entries: &[PanelEntry]) -> Self {
        Self {
            panels: entries.iter().map(|e| (e.key, (e.make)())).collect(),
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.panels.iter().map(|(k, _)| *k)
    }

    pub fn by_key(&self, key: &str) -> Option<&dyn Panel> {
        self.panels
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, p)| p.as_ref())
    }

    pub fn by_key_mut(&mut self, key: &str) -> Option<&mut dyn Panel> {
        self.panels
            .iter_mut()
            .find(|(k, _)| *k == key)
            .map(|(_, p)| p.as_mut())
    }

    /// The key of the panel of type `T`.
    pub fn key_of<T: Panel>(&self) -> Option<&'static str> {
        self.panels
            .iter()
            .find(|(_, p)| (**p).type_id() == TypeId::of::<T>())
            .map(|(k, _)| *k)
    }

    /// The panel of type `T`, where the list has one.
    pub fn get<T: Panel>(&self) -> Option<&T> {
        self.panels.iter().find_map(|(_, p)| {
            let any: &dyn Any = p.as_ref();
            any.downcast_ref::<T>()
        })
    }

    pub fn get_mut<T: Panel>(&mut self) -> Option<&mut T> {
        self.panels.iter_mut().find_map(|(_, p)| {
            let any: &mut dyn Any = p.as_mut();
            any.downcast_mut::<T>()
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = &dyn Panel> {
        self.panels.iter().map(|(_, p)| p.as_ref())
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Box<dyn Panel>> {
        self.panels.iter_mut().map(|(_, p)| p)
    }
}
