//! Native file dialogs (rfd) on a helper thread, so the window keeps drawing while one is
//! open. Where no dialog service runs (Xvfb, remote desktops without an XDG portal) rfd
//! returns nothing at once: an answer without a path that came faster than a person can
//! cancel is reported as "unavailable", and every path also has a typed field.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};

use crate::contract::config::schema::PathKind;

/// What a dialog's answer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    OpenPreset,
    SavePreset,
    /// A path setting of the experiment, as its schema describes it.
    Field {
        path: &'static str,
        kind: PathKind,
    },
    ExportFigure,
    /// A results table (csv, tex, md).
    ExportTable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    OpenFile,
    SaveFile,
    Folder,
}

/// What a dialog answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub purpose: Purpose,
    /// None: closed without a choice, or no dialog could open.
    pub path: Option<PathBuf>,
    /// No dialog could open: it answered without a path faster than a person can.
    pub unavailable: bool,
}

/// Faster than anyone cancels a dialog.
const UNAVAILABLE_WITHIN: Duration = Duration::from_millis(400);

/// What to tell a user whose dialog could not open.
pub const UNAVAILABLE: &str =
    "no file dialog is available on this desktop (no XDG portal): type the path instead";

type Message = (Purpose, Option<PathBuf>, Duration);

pub struct Dialogs {
    tx: Sender<Message>,
    rx: Receiver<Message>,
    open: usize,
}

impl Default for Dialogs {
    fn default() -> Self {
        let (tx, rx) = unbounded();
        Self { tx, rx, open: 0 }
    }
}

impl Dialogs {
    /// Opens the dialog for `purpose` on a helper thread.
    pub fn request(&mut self, purpose: Purpose, start: Option<PathBuf>, ctx: &egui::Context) {
        let mode = match purpose {
            Purpose::SavePreset | Purpose::ExportFigure | Purpose::ExportTable => Mode::SaveFile,
            Purpose::Field { kind, .. } if kind.folder => Mode::Folder,
            _ => Mode::OpenFile,
        };
        let tx = self.tx.clone();
        let ctx = ctx.clone();
        self.open += 1;
        let spawned = std::thread::Builder::new()
            .name("ferlab-dialog".into())
            .spawn(move || {
                let asked = Instant::now();
                let mut d = rfd::FileDialog::new();
                if let Some(dir) = start.filter(|p| p.is_dir()) {
                    d = d.set_directory(dir);
                }
                d = match purpose {
                    Purpose::OpenPreset | Purpose::SavePreset => {
                        d.add_filter("ferlab preset", &["toml"])
                    }
                    Purpose::Field {
                        kind:
                            PathKind {
                                filter: Some((name, extensions)),
                                ..
                            },
                        ..
                    } => d.add_filter(name, extensions),
                    Purpose::ExportFigure => d.add_filter("figure", &["png", "svg"]),
                    Purpose::ExportTable => d
                        .add_filter("LaTeX", &["tex"])
                        .add_filter("CSV", &["csv"])
                        .add_filter("Markdown", &["md"]),
                    _ => d,
                };
                let picked = match mode {
                    Mode::OpenFile => d.pick_file(),
                    Mode::SaveFile => d.save_file(),
                    Mode::Folder => d.pick_folder(),
                };
                let _ = tx.send((purpose, picked, asked.elapsed()));
                ctx.request_repaint();
            });
        if spawned.is_err() {
            self.open -= 1;
        }
    }

    /// The dialogs that answered since the last call.
    pub fn poll(&mut self) -> Vec<Answer> {
        let mut out = Vec::new();
        while let Ok((purpose, path, took)) = self.rx.try_recv() {
            self.open = self.open.saturating_sub(1);
            out.push(Answer {
                unavailable: path.is_none() && took < UNAVAILABLE_WITHIN,
                purpose,
                path,
            });
        }
        out
    }

    pub fn any_open(&self) -> bool {
        self.open > 0
    }
}
