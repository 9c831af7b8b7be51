//! How long the workbench's frames take on the UI thread (layout, event intake and
//! tessellation; not the GPU's drawing), idle and while a run trains beside it. A frame must
//! fit in 16.7 ms for 60 frames per second; `ferlab bench --ui` prints the ratio.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::app::Workbench;
use super::panels::curves::CurvesPanel;
use super::panels::log::LogPanel;
use super::panels::runs::RunsPanel;
use crate::contract::config::Experiment;
use crate::views::Error;

/// Frame times of one phase, in milliseconds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FrameStats {
    pub phase: String,
    pub frames: usize,
    pub median_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
    /// Events the frames took from the engine.
    pub events: usize,
}

/// The budget of a 60 Hz frame.
pub const FRAME_BUDGET_MS: f64 = 1000.0 / 60.0;

fn stats(phase: &str, mut ms: Vec<f64>, events: usize) -> FrameStats {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| {
        ms.get(((ms.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    FrameStats {
        phase: phase.to_string(),
        frames: ms.len(),
        median_ms: at(0.5),
        p95_ms: at(0.95),
        max_ms: ms.last().copied().unwrap_or(0.0),
        events,
    }
}

/// Drives frames at 60 Hz on a headless 1280x800 context.
struct Driver {
    ctx: egui::Context,
    workbench: Workbench,
}

impl Driver {
    /// One frame; returns its duration in ms.
    fn frame(&mut self) -> f64 {
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(
                egui::Pos2::ZERO,
                egui::vec2(1280.0, 800.0),
            )),
            ..Default::default()
        };
        let start = Instant::now();
        let wb = &mut self.workbench;
        let out = self.ctx.run_ui(input, |ui| wb.ui(ui));
        let primitives = self.ctx.tessellate(out.shapes, out.pixels_per_point);
        std::hint::black_box(primitives);
        start.elapsed().as_secs_f64() * 1e3
    }

    /// Frames for `secs` (or until `stop` holds), paced at 60 Hz.
    fn phase(&mut self, name: &str, secs: f64, stop: impl Fn(&Workbench) -> bool) -> FrameStats {
        let start = Instant::now();
        let mut times = Vec::new();
        let events_before = self.workbench.view.events_seen;
        while start.elapsed().as_secs_f64() < secs && !stop(&self.workbench) {
            let ms = self.frame();
            times.push(ms);
            let left = FRAME_BUDGET_MS - ms;
            if left > 0.0 {
                std::thread::sleep(Duration::from_secs_f64(left / 1e3));
            }
        }
        stats(
            name,
            times,
            self.workbench
                .view
                .events_seen
                .saturating_sub(events_before),
        )
    }
}

/// Measures idle frames, then frames while `exp` trains (for at most `train_secs`); the run
/// is stopped at the end and its directory left under the experiment's output folder.
pub fn measure(exp: Experiment, train_secs: f64) -> Result<Vec<FrameStats>, Error> {
    let mut d = Driver {
        ctx: egui::Context::default(),
        workbench: Workbench::new(PathBuf::from("presets")),
    };
    d.workbench.editor.experiment = exp;
    let mut out = vec![d.phase("idle, editor", 2.0, |_| false)];
    d.workbench.start(&d.ctx);
    if !d.workbench.is_running() {
        return Err(Error::Window(format!(
            "the run did not start: {:?}",
            d.workbench.notice
        )));
    }
    d.workbench.show_panel::<LogPanel>();
    out.push(d.phase("training", train_secs, |wb| !wb.is_running()));
    d.workbench.stop();
    let stopping = Instant::now();
    while d.workbench.is_running() && stopping.elapsed() < Duration::from_secs(60) {
        d.frame();
        std::thread::sleep(Duration::from_millis(15));
    }
    // Replaying the stopped run is what opening it from the runs browser costs.
    d.workbench.show_panel::<CurvesPanel>();
    out.push(d.phase("after the run, curves", 2.0, |_| false));
    Ok(out)
}

/// The runs browser over the runs in `root` (a thousand synthetic ones in
/// `ferlab bench --runs-folder`): the first refresh (every run read), a refresh with nothing
/// changed (all from the cache), and frames of the Runs pane at 1280x800 — still, scrolled
/// row by row, grouped by every setting but the seed, sorted by a metric.
pub fn measure_runs_pane(root: &std::path::Path) -> (Vec<(String, f64)>, Vec<FrameStats>) {
    let mut d = Driver {
        ctx: egui::Context::default(),
        workbench: Workbench::new(PathBuf::from("presets")),
    };
    d.workbench.editor.experiment.output.dir = root.to_path_buf();
    let mut refreshes = Vec::new();
    let start = Instant::now();
    d.workbench
        .panel_mut::<RunsPanel>()
        .expect("a built-in panel")
        .refresh(root);
    refreshes.push((
        format!(
            "first refresh ({} runs read)",
            d.workbench
                .panel_mut::<RunsPanel>()
                .expect("a built-in panel")
                .runs
                .len()
        ),
        start.elapsed().as_secs_f64() * 1e3,
    ));
    let start = Instant::now();
    d.workbench
        .panel_mut::<RunsPanel>()
        .expect("a built-in panel")
        .refresh(root);
    refreshes.push((
        "refresh, nothing changed".into(),
        start.elapsed().as_secs_f64() * 1e3,
    ));
    d.workbench.show_panel::<RunsPanel>();
    let mut out = vec![d.phase("runs pane, still", 2.0, |_| false)];
    let mut scroll = Vec::new();
    for _ in 0..120 {
        d.workbench
            .panel_mut::<RunsPanel>()
            .expect("a built-in panel")
            .scroll_by(0.0, 24.0);
        scroll.push(d.frame());
    }
    out.push(stats("runs pane, scrolling", scroll, 0));
    let runs = &mut d
        .workbench
        .panel_mut::<RunsPanel>()
        .expect("a built-in panel");
    runs.set_grouping(crate::views::runs_table::Grouping::AllButSeed);
    runs.sort_by(crate::views::runs_table::Column::Metric(
        crate::views::runs_table::Metric::BestMean,
    ));
    let first = d.frame();
    refreshes.push(("group + sort + first frame".into(), first));
    out.push(d.phase("runs pane, grouped", 2.0, |_| false));
    (refreshes, out)
}
