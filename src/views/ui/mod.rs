//! The workbench window (eframe + egui, wgpu renderer). It never touches a tensor: it
//! starts runs on the engine's thread and draws from their events.

pub mod app;
pub mod dialogs;
pub mod editor;
pub mod frame_bench;
pub mod icon;
pub mod panels;
pub mod path_prompt;
pub mod repaint;
pub mod thread_cpu;
pub mod tour;
pub mod window_bench;
pub mod window_check;

use crate::views::Error;
use std::path::PathBuf;

pub use app::Workbench;

/// Opens the workbench window; returns when it is closed.
pub fn run(presets_dir: PathBuf, open_preset: Option<PathBuf>) -> Result<(), Error> {
    eframe::run_native(
        "ferlab",
        remembering(native_options()),
        Box::new(move |cc| {
            let mut app = Workbench::new(presets_dir);
            if let Some(storage) = cc.storage {
                app.restore_layout(storage);
            }
            if let Some(p) = open_preset {
                let _ = app.editor.load_preset(&p);
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| Error::Window(format!("cannot open the workbench window: {e}")))
}

/// The window: 1280x800, wgpu renderer, the icon from `assets/`; nothing remembered from an
/// earlier launch (the screenshot tour and the window checks must start the same each time:
/// only [`run`], the user's workbench, remembers).
pub fn native_options() -> eframe::NativeOptions {
    let mut viewport = egui::ViewportBuilder::default()
        .with_inner_size([1280.0, 800.0])
        .with_min_inner_size([900.0, 600.0])
        .with_title("ferlab");
    if let Some(icon) = icon::window_icon() {
        viewport = viewport.with_icon(icon);
    }
    eframe::NativeOptions {
        viewport,
        renderer: eframe::Renderer::Wgpu,
        persist_window: false,
        ..Default::default()
    }
    .with_app_id(TOOLS_APP_ID)
}

/// The storage name of the screenshot tour and the window checks: not the workbench's, and
/// they never write to it (their apps keep no egui memory), so they start the same each time.
const TOOLS_APP_ID: &str = "ferlab-tools";

/// The workbench's options: its layout, window size and egui's memory (plot zooms, folded
/// sections) are kept between launches, under the app id "ferlab".
fn remembering(options: eframe::NativeOptions) -> eframe::NativeOptions {
    eframe::NativeOptions {
        persist_window: true,
        ..options
    }
    .with_app_id("ferlab")
}

trait WithAppId {
    fn with_app_id(self, id: &str) -> Self;
}

impl WithAppId for eframe::NativeOptions {
    fn with_app_id(mut self, id: &str) -> Self {
        self.viewport = self.viewport.with_app_id(id);
        self
    }
}
