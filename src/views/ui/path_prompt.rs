//! A typed path for every file the window writes: a small window with the path (a
//! sensible default filled in), Save, a "Browse…" button for the native dialog
//! where a desktop offers one, and Cancel. Without a desktop portal (Xvfb, many remote
//! desktops) the native dialog never opens; the typed path always works.

use std::path::PathBuf;

use egui::{RichText, TextEdit, Ui};

use super::dialogs::Purpose;
use crate::views::figures::{FigureRef, figure};

/// What the prompt does with its path. (Presets have their typed Open: / Save as: fields in
/// the editor itself.)
#[derive(Clone, Copy)]
pub enum PromptAction {
    ExportFigure(FigureRef),
    SaveTable,
}

impl PartialEq for PromptAction {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::ExportFigure(a), Self::ExportFigure(b)) => figure::same(*a, *b),
            (Self::SaveTable, Self::SaveTable) => true,
            _ => false,
        }
    }
}

impl std::fmt::Debug for PromptAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ExportFigure(figure) => write!(f, "ExportFigure({})", figure.key()),
            Self::SaveTable => f.write_str("SaveTable"),
        }
    }
}

impl PromptAction {
    pub fn title(self) -> String {
        match self {
            PromptAction::ExportFigure(kind) => format!("Export figure: {}", kind.key()),
            PromptAction::SaveTable => "Save results table".into(),
        }
    }

    pub fn hint(self) -> &'static str {
        match self {
            PromptAction::ExportFigure(_) => ".png or .svg, or .csv for its numbers",
            PromptAction::SaveTable => ".csv, .tex (LaTeX) or .md (Markdown)",
        }
    }

    /// The native dialog that fills the path.
    pub fn purpose(self) -> Purpose {
        match self {
            PromptAction::ExportFigure(_) => Purpose::ExportFigure,
            PromptAction::SaveTable => Purpose::ExportTable,
        }
    }
}

/// What the user did with the prompt this frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptReply {
    /// Act on this path.
    Accept(PathBuf),
    /// Open the native dialog, starting in this folder.
    Browse(Option<PathBuf>),
    Cancel,
}

#[derive(Debug, Clone)]
pub struct PathPrompt {
    pub action: PromptAction,
    pub text: String,
    /// Why the last attempt failed, or that no native dialog is available; shown in the
    /// prompt until the next attempt.
    pub message: Option<String>,
}

impl PathPrompt {
    pub fn new(action: PromptAction, default: PathBuf) -> Self {
        Self {
            action,
            text: default.display().to_string(),
            message: None,
        }
    }

    pub fn path(&self) -> PathBuf {
        PathBuf::from(self.text.trim())
    }

    /// Draws the prompt as a window; returns what the user chose.
    pub fn show(&mut self, ctx: &egui::Context) -> Option<PromptReply> {
        let mut reply = None;
        let mut open = true;
        egui::Window::new(self.action.title())
            .id(egui::Id::unique("ferlab-path-prompt"))
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
            .show(ctx, |ui| reply = self.ui(ui));
        if !open {
            reply = Some(PromptReply::Cancel);
        }
        reply
    }

    fn ui(&mut self, ui: &mut Ui) -> Option<PromptReply> {
        let mut reply = None;
        ui.horizontal(|ui| {
            let label = ui.label("Path:");
            let edit = ui
                .add(
                    TextEdit::singleline(&mut self.text)
                        .desired_width(420.0)
                        .hint_text(self.action.hint()),
                )
                .labelled_by(label.id);
            if edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                reply = Some(PromptReply::Accept(self.path()));
            }
        });
        ui.label(RichText::new(self.action.hint()).small().weak());
        if let Some(m) = &self.message {
            ui.label(RichText::new(m).small().color(ui.visuals().error_fg_color));
        }
        ui.horizontal(|ui| {
            let ready = !self.text.trim().is_empty();
            if ui.add_enabled(ready, egui::Button::new("Save")).clicked() {
                reply = Some(PromptReply::Accept(self.path()));
            }
            if ui
                .button("Browse…")
                .on_hover_text("choose with the desktop's file dialog, where there is one")
                .clicked()
            {
                let path = self.path();
                let start = if path.is_dir() {
                    Some(path)
                } else {
                    path.parent().map(PathBuf::from)
                };
                reply = Some(PromptReply::Browse(start));
            }
            if ui.button("Cancel").clicked() {
                reply = Some(PromptReply::Cancel);
            }
        });
        reply
    }
}
