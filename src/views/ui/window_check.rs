//! `ferlab check-window`: what only the real window on a real desktop can show, checked by
//! a script (the workbench tests run without a display):
//! - text the window copies (Copy CSV / LaTeX / Markdown call the same `copy_text`) reaches
//!   the desktop's clipboard, read back with `xclip -o -selection clipboard`;
//! - a native file dialog either opens or is reported unavailable at once, so the window
//!   falls back to its typed paths (`dialogs::Answer::unavailable`).
//!
//! Under Xvfb: `xvfb-run -a -s "-screen 0 1280x800x24" ferlab check-window`.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use egui::Ui;

use super::dialogs::{Dialogs, Purpose};
use crate::views::Error;

/// What the check found.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// What `xclip` read back, or why it could not.
    pub clipboard: Option<Result<String, Error>>,
    pub expected: String,
    /// The native dialog's answer: None if it opened and was still open when the check ended.
    pub dialog_unavailable: Option<bool>,
}

impl CheckReport {
    pub fn clipboard_ok(&self) -> bool {
        matches!(&self.clipboard, Some(Ok(text)) if *text == self.expected)
    }
}

struct Check {
    started: Instant,
    copied: bool,
    dialogs: Dialogs,
    asked_dialog: bool,
    report: Arc<Mutex<CheckReport>>,
}

/// How long the window waits after copying before reading the clipboard back, and how long
/// it waits for a dialog's answer.
const SETTLE: Duration = Duration::from_millis(800);
const DIALOG_WAIT: Duration = Duration::from_secs(3);

fn read_clipboard() -> Result<String, Error> {
    let out = Command::new("xclip")
        .args(["-o", "-selection", "clipboard"])
        .output()
        .map_err(|e| {
            Error::Window(format!(
                "cannot run xclip (install it: apt-get install xclip): {e}"
            ))
        })?;
    if !out.status.success() {
        return Err(Error::Window(format!(
            "xclip found nothing: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl eframe::App for Check {
    /// Nothing carries over to the next launch (see `ui::native_options`).
    fn persist_egui_memory(&self) -> bool {
        false
    }

    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        egui::CentralPanel::default().show(ui, |ui| {
            ui.heading("ferlab check-window");
            ui.label("copying to the clipboard and asking for a file dialog…");
        });
        if !self.copied {
            let text = self.report.lock().expect("report lock").expected.clone();
            ctx.copy_text(text);
            self.copied = true;
        }
        if !self.asked_dialog {
            self.dialogs.request(Purpose::OpenPreset, None, &ctx);
            self.asked_dialog = true;
        }
        for answer in self.dialogs.poll() {
            self.report.lock().expect("report lock").dialog_unavailable = Some(answer.unavailable);
        }
        let elapsed = self.started.elapsed();
        let mut report = self.report.lock().expect("report lock");
        if elapsed >= SETTLE && report.clipboard.is_none() {
            report.clipboard = Some(read_clipboard());
        }
        let dialog_done = report.dialog_unavailable.is_some() || elapsed >= DIALOG_WAIT;
        if report.clipboard.is_some() && dialog_done {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        } else {
            ctx.request_repaint_after(Duration::from_millis(100));
        }
    }
}

/// Opens the window, runs the check and returns what it found.
pub fn run() -> Result<CheckReport, Error> {
    let report = Arc::new(Mutex::new(CheckReport {
        expected: format!("ferlab clipboard check {}\tcsv,cells\n", std::process::id()),
        ..Default::default()
    }));
    let check = Check {
        started: Instant::now(),
        copied: false,
        dialogs: Dialogs::default(),
        asked_dialog: false,
        report: Arc::clone(&report),
    };
    eframe::run_native(
        "ferlab check-window",
        super::native_options(),
        Box::new(move |_cc| Ok(Box::new(check))),
    )
    .map_err(|e| Error::Window(format!("cannot open the window: {e}")))?;
    let report = std::mem::take(&mut *report.lock().expect("report lock"));
    Ok(report)
}
