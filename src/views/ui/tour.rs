//! `ferlab screenshots`: drives the real workbench window through a scripted tour (load a
//! preset, train two short runs, compare them) and saves what the window shows at each stop.
//! It is how the README's screenshots are made; rerun it after changing a panel.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use egui::{ThemePreference, Ui};

use super::app::Workbench;
use super::panels::attention::AttentionPanel;
use super::panels::confusion::ConfusionPanel;
use super::panels::curves::CurvesPanel;
use super::panels::data::DataPanel;
use super::panels::embedding::EmbeddingPanel;
use super::panels::log::LogPanel;
use super::panels::mining::MiningPanel;
use super::panels::results::ResultsPanel;
use super::panels::runs::RunsPanel;
use super::panels::thresholds::ThresholdsPanel;
use super::panels::training_faces::FacesState;
use crate::contract::config::{NoiseKind, Sampler, UnlabeledSource};
use crate::views::Error;

/// One stop of the tour: set the workbench up, wait until it shows what it should, and
/// optionally save a screenshot.
struct Stop {
    what: &'static str,
    setup: fn(&mut Tour, &egui::Context),
    ready: fn(&Tour) -> bool,
    shot: Option<&'static str>,
}

/// What the tour needs besides the workbench.
pub struct TourOptions {
    pub preset: PathBuf,
    pub out: PathBuf,
    /// Where the tour's runs go (a fresh folder, so the runs browser shows just them).
    pub runs_dir: PathBuf,
    /// Epochs of each of the two runs.
    pub epochs: usize,
    /// Longest wait at one stop.
    pub timeout: Duration,
}

pub struct Tour {
    pub workbench: Workbench,
    options: TourOptions,
    stops: Vec<Stop>,
    next: usize,
    set_up_at: Option<Instant>,
    /// The screenshot callback's result: Some once the image has been written (or failed).
    saved: Arc<Mutex<Option<Result<PathBuf, Error>>>>,
    shot_requested: bool,
    first_run: Option<PathBuf>,
    /// The cross-entropy run on noisy labels, overlaid on ASM's at the end.
    noisy_run: Option<PathBuf>,
    /// ASM's run, opened again in the small window at the end.
    asm_run: Option<PathBuf>,
    /// Cross-entropy and LNSU on the imbalanced split, tabulated at the end.
    imbalanced_run: Option<PathBuf>,
    lnsu_run: Option<PathBuf>,
    /// The sweep's outcome, once its process has ended.
    sweep_done: Arc<Mutex<Option<Result<(), Error>>>>,
    /// What went wrong, if the tour could not finish; `run` reports it.
    pub failure: Arc<Mutex<Option<String>>>,
    pub written: Arc<Mutex<Vec<PathBuf>>>,
}

/// Time each stop waits after it is ready, so layouts settle and textures upload.
const SETTLE: Duration = Duration::from_millis(1500);

fn stops() -> Vec<Stop> {
    vec![
        Stop {
            what: "load the preset and show its data",
            setup: |t, ctx| {
                ctx.set_theme(ThemePreference::Light);
                let preset = t.options.preset.clone();
                if let Err(e) = t.workbench.editor.load_preset(&preset) {
                    t.fail(e.to_string());
                }
                t.workbench.editor.experiment.train.epochs = t.options.epochs;
                t.workbench.editor.experiment.output.dir = t.options.runs_dir.clone();
                t.workbench.show_panel::<DataPanel>();
                let exp = t.workbench.editor.experiment.clone();
                t.workbench
                    .panel_mut::<DataPanel>()
                    .expect("a built-in panel")
                    .load(&exp, ctx);
            },
            ready: |t| {
                t.workbench
                    .panel::<DataPanel>()
                    .expect("a built-in panel")
                    .preview()
                    .is_some()
            },
            shot: Some("workbench-editor-light.png"),
        },
        Stop {
            what: "start a run and watch it train",
            setup: |t, ctx| {
                ctx.set_theme(ThemePreference::Dark);
                t.workbench.show_panel::<LogPanel>();
                t.workbench.start(ctx);
                t.first_run = t.workbench.live.as_ref().map(|l| l.engine.dir.root.clone());
            },
            ready: |t| t.workbench.view.epochs.len() >= 2,
            shot: Some("workbench-training-dark.png"),
        },
        Stop {
            what: "let the first run finish",
            setup: |_, _| {},
            ready: |t| !t.workbench.is_running(),
            shot: None,
        },
        Stop {
            what: "train the same experiment with 30% symmetric label noise",
            setup: |t, ctx| {
                let exp = &mut t.workbench.editor.experiment;
                exp.name = format!("{}-noise30", exp.name);
                exp.corruption.noise = NoiseKind::Symmetric;
                exp.corruption.noise_rate = 0.3;
                t.workbench.start(ctx);
                t.noisy_run = t.workbench.live.as_ref().map(|l| l.engine.dir.root.clone());
            },
            ready: |t| !t.workbench.is_running() && !t.workbench.view.epochs.is_empty(),
            shot: None,
        },
        Stop {
            what: "train ASM on the noisy labels and watch its thresholds",
            setup: |t, ctx| {
                let exp = &mut t.workbench.editor.experiment;
                exp.name = exp.name.replace("-noise30", "-asm-noise30");
                exp.method.name = "asm".into();
                set(exp, "method.asm.warmup_epochs", 1);
                // Long enough for the thresholds to move away from their warm-up values.
                exp.train.epochs = t.options.epochs * 2;
                t.workbench.show_panel::<ThresholdsPanel>();
                t.workbench.widen_panel::<ThresholdsPanel>(1.6);
                t.workbench.start(ctx);
                t.asm_run = t.workbench.live.as_ref().map(|l| l.engine.dir.root.clone());
            },
            ready: |t| t.workbench.view.mining.len() + 1 >= 2 * t.options.epochs,
            shot: Some("workbench-thresholds-dark.png"),
        },
        Stop {
            what: "inspect the mined sets and the gallery of the samples that moved",
            setup: |t, ctx| {
                t.workbench.show_panel::<MiningPanel>();
                // The pane gets the window: the gallery's first page under the table.
                t.workbench.maximise_panel::<MiningPanel>();
                // What "Show all pictures" does: every moved sample gets its face.
                let wb = &mut t.workbench;
                let mining = wb
                    .panels
                    .get_mut::<MiningPanel>()
                    .expect("a built-in panel");
                if !mining.request_pictures(&wb.view, ctx) {
                    t.fail("the ASM run has no recorded config".into());
                }
            },
            ready: |t| {
                let faces = &t
                    .workbench
                    .panel::<MiningPanel>()
                    .expect("a built-in panel")
                    .faces;
                faces.faces().is_some() || matches!(faces.state, FacesState::Failed(_))
            },
            shot: Some("workbench-mining-dark.png"),
        },
        Stop {
            what: "let the ASM run finish",
            setup: |t, _| {
                t.workbench.maximised = None;
                t.workbench.widen_panel::<MiningPanel>(1.0);
            },
            ready: |t| !t.workbench.is_running(),
            shot: None,
        },
        Stop {
            what: "compare ASM with both cross-entropy runs",
            setup: |t, _| {
                let root = t.options.runs_dir.clone();
                t.workbench
                    .panel_mut::<RunsPanel>()
                    .expect("a built-in panel")
                    .refresh(&root);
                for run in [t.first_run.clone(), t.noisy_run.clone()]
                    .into_iter()
                    .flatten()
                {
                    t.workbench
                        .panel_mut::<RunsPanel>()
                        .expect("a built-in panel")
                        .overlay
                        .insert(run);
                }
                t.workbench.sync_overlays();
                t.workbench.show_panel::<RunsPanel>();
                t.workbench.show_panel::<ConfusionPanel>();
            },
            ready: |t| !t.workbench.overlays.is_empty(),
            shot: Some("workbench-compare-dark.png"),
        },
        Stop {
            what: "the same in the light theme, confusion matrix as row percentages",
            setup: |t, ctx| {
                ctx.set_theme(ThemePreference::Light);
                t.workbench
                    .panel_mut::<ConfusionPanel>()
                    .expect("a built-in panel")
                    .percent = true;
            },
            ready: |_| true,
            shot: Some("workbench-compare-light.png"),
        },
        Stop {
            what: "train cross-entropy on an imbalanced split (factor 10)",
            setup: |t, ctx| {
                ctx.set_theme(ThemePreference::Dark);
                t.workbench
                    .panel_mut::<ConfusionPanel>()
                    .expect("a built-in panel")
                    .percent = false;
                let exp = &mut t.workbench.editor.experiment;
                exp.name = exp.name.replace("-asm-noise30", "-imb10");
                exp.corruption.noise = NoiseKind::None;
                exp.corruption.noise_rate = 0.0;
                exp.corruption.imbalance_factor = 10.0;
                exp.method.name = "ce".into();
                // A third of the data: more epochs to get somewhere.
                exp.train.epochs = t.options.epochs * 3;
                t.workbench.show_panel::<LogPanel>();
                t.workbench.start(ctx);
                t.imbalanced_run = t.workbench.live.as_ref().map(|l| l.engine.dir.root.clone());
            },
            ready: |t| !t.workbench.is_running() && !t.workbench.view.epochs.is_empty(),
            shot: None,
        },
        Stop {
            what: "train LNSU on the same split and inspect its attention maps",
            setup: |t, ctx| {
                let exp = &mut t.workbench.editor.experiment;
                exp.name = exp.name.replace("-imb10", "-lnsu-imb10");
                exp.method.name = "lnsu".into();
                t.workbench
                    .panel_mut::<AttentionPanel>()
                    .expect("a built-in panel")
                    .outcome = super::panels::attention::Outcome::Wrong;
                t.workbench.show_panel::<AttentionPanel>();
                t.workbench.widen_panel::<AttentionPanel>(1.8);
                t.workbench.start(ctx);
                t.lnsu_run = t.workbench.live.as_ref().map(|l| l.engine.dir.root.clone());
            },
            ready: |t| t.workbench.view.attention.len() >= 2 * t.options.epochs,
            shot: Some("workbench-attention-dark.png"),
        },
        Stop {
            what: "let the LNSU run finish",
            setup: |_, _| {},
            ready: |t| !t.workbench.is_running(),
            shot: None,
        },
        Stop {
            what: "tabulate both imbalanced runs per class",
            setup: |t, _| {
                t.workbench.widen_panel::<AttentionPanel>(1.0);
                let root = t.options.runs_dir.clone();
                t.workbench
                    .panel_mut::<RunsPanel>()
                    .expect("a built-in panel")
                    .refresh(&root);
                t.workbench
                    .panel_mut::<RunsPanel>()
                    .expect("a built-in panel")
                    .overlay
                    .clear();
                for run in [t.imbalanced_run.clone(), t.lnsu_run.clone()]
                    .into_iter()
                    .flatten()
                {
                    t.workbench
                        .panel_mut::<RunsPanel>()
                        .expect("a built-in panel")
                        .overlay
                        .insert(run);
                }
                t.workbench.sync_overlays();
                t.workbench.show_panel::<CurvesPanel>();
                t.workbench.show_panel::<ResultsPanel>();
                t.workbench.widen_panel::<ResultsPanel>(2.5);
            },
            ready: |t| t.workbench.overlays.len() == 2,
            shot: Some("workbench-results-dark.png"),
        },
        Stop {
            what: "run a small sweep (CB's beta x the imbalance factor, two seeds)",
            setup: |t, _| {
                let mut exp = t.workbench.editor.experiment.clone();
                exp.name = "tour-cb".into();
                exp.method.name = "cb".into();
                exp.train.epochs = t.options.epochs;
                let preset = t.options.runs_dir.join("tour-cb-sweep.toml");
                let text = exp.to_toml()
                    + "\n[sweep]\nseeds = [1, 2]\nparallel = 2\n[sweep.grid]\n\
                       \"method.cb.beta\" = [0.9, 0.9999]\n\
                       \"corruption.imbalance_factor\" = [5.0, 20.0]\n";
                if let Err(e) = std::fs::write(&preset, text) {
                    t.fail(format!("cannot write {}: {e}", preset.display()));
                    return;
                }
                let out = t.options.runs_dir.clone();
                spawn_sweep(t, preset, out);
            },
            ready: |t| t.sweep_done.lock().expect("sweep lock").is_some(),
            shot: None,
        },
        Stop {
            what: "show the sweep in the runs browser",
            setup: |t, _| {
                let outcome = t.sweep_done.lock().expect("sweep lock").take();
                if let Some(Err(e)) = outcome {
                    t.fail(e.to_string());
                    return;
                }
                let root = t.options.runs_dir.clone();
                t.workbench
                    .panel_mut::<RunsPanel>()
                    .expect("a built-in panel")
                    .refresh(&root);
                t.workbench.widen_panel::<ResultsPanel>(1.0);
                t.workbench.show_panel::<RunsPanel>();
                // The sweep's heat map and the runs under it: the pane gets the window.
                t.workbench.maximise_panel::<RunsPanel>();
            },
            ready: |t| {
                !t.workbench
                    .panel::<RunsPanel>()
                    .expect("a built-in panel")
                    .sweeps
                    .is_empty()
            },
            shot: Some("workbench-sweep-dark.png"),
        },
        Stop {
            what: "train RMFER with synthetic reaction clips and watch the embeddings",
            setup: |t, ctx| {
                t.workbench.maximised = None;
                let exp = &mut t.workbench.editor.experiment;
                exp.name = "tour-rmfer".into();
                exp.corruption.imbalance_factor = 1.0;
                // RMFER's setting: few labelled faces, many unlabeled clip faces.
                exp.data.synthetic.train_per_class = 100;
                exp.method.name = "rmfer".into();
                set(exp, "method.rmfer.epoch_pre", 1);
                exp.unlabeled.source = UnlabeledSource::SyntheticClips;
                exp.optimizer.sam_rho = 0.05;
                exp.train.sampler = Sampler::ClassBalanced;
                exp.train.embedding_every = 1;
                exp.train.epochs = t.options.epochs * 2;
                t.workbench.show_panel::<EmbeddingPanel>();
                t.workbench.widen_panel::<EmbeddingPanel>(2.2);
                t.workbench.start(ctx);
            },
            // During the run: a few embedded epochs in, the slider has somewhere to go.
            ready: |t| t.workbench.view.embeddings.len() >= 3,
            shot: Some("workbench-embedding-dark.png"),
        },
        Stop {
            what: "let the RMFER run finish",
            setup: |_, _| {},
            ready: |t| !t.workbench.is_running(),
            shot: None,
        },
        Stop {
            what: "the runs table over 48 runs (4 methods x 4 noise rates x 3 seeds), grouped over the seeds",
            setup: |t, _| {
                use crate::views::runs_table::{Grouping, synthetic};
                t.workbench.widen_panel::<EmbeddingPanel>(1.0);
                // Written as training writes runs, without training them (see `synthetic`).
                let table = t.options.runs_dir.join("runs-table");
                if let Err(e) = synthetic::write(&table, &synthetic::plan(48, 30)) {
                    t.fail(e.to_string());
                    return;
                }
                t.workbench.editor.experiment.output.dir = table.clone();
                let runs = &mut t
                    .workbench
                    .panel_mut::<RunsPanel>()
                    .expect("a built-in panel");
                runs.refresh(&table);
                runs.set_grouping(Grouping::AllButSeed);
                runs.sort_by(crate::views::runs_table::Column::Metric(
                    crate::views::runs_table::Metric::BestMean,
                ));
                runs.overlay.clear();
                let first: Vec<PathBuf> = runs.runs.iter().take(3).map(|r| r.dir.clone()).collect();
                if let Some(d) = first.first() {
                    runs.expanded.insert(d.clone());
                }
                runs.overlay.extend(first.into_iter().take(2));
                runs.show_diff = true;
                // Sideways past the noise settings: the seeds and the groups' mean ± sd (n)
                // come into view beside the frozen tick and name columns.
                runs.scroll_by(330.0, 0.0);
                t.workbench.sync_overlays();
                t.workbench.maximise_panel::<RunsPanel>();
            },
            ready: |t| {
                t.workbench
                    .panel::<RunsPanel>()
                    .expect("a built-in panel")
                    .runs
                    .len()
                    == 48
            },
            shot: Some("workbench-runs-table-dark.png"),
        },
        Stop {
            what: "train cross-entropy and ASM on 30% noisy labels, three seeds each (a sweep)",
            setup: |t, _| {
                t.workbench.maximised = None;
                // From the preset again: the RMFER stop changed much of the editor's experiment.
                let preset = t.options.preset.clone();
                let mut exp = match crate::contract::config::Experiment::load(
                    &preset,
                    &[],
                    &crate::compute::method::REGISTRY,
                ) {
                    Ok(e) => e,
                    Err(e) => return t.fail(e.to_string()),
                };
                exp.name = "tour-seeds".into();
                exp.corruption.noise = NoiseKind::Symmetric;
                exp.corruption.noise_rate = 0.3;
                exp.data.synthetic.train_per_class = 100;
                exp.train.epochs = t.options.epochs + 2;
                let file = t.options.runs_dir.join("tour-seeds-sweep.toml");
                let text = exp.to_toml()
                    + "\n[sweep]\nseeds = [1, 2, 3]\nparallel = 2\n\
                       [[sweep.points]]\n\"method.name\" = \"ce\"\n\
                       [[sweep.points]]\n\"method.name\" = \"asm\"\n\
                       \"method.asm.warmup_epochs\" = 1\n";
                if let Err(e) = std::fs::write(&file, text) {
                    return t.fail(format!("cannot write {}: {e}", file.display()));
                }
                let out = t.options.runs_dir.join("seeds");
                spawn_sweep(t, file, out);
            },
            ready: |t| t.sweep_done.lock().expect("sweep lock").is_some(),
            shot: None,
        },
        Stop {
            what: "the six runs ticked: each method's seeds as a mean line with a min–max band",
            setup: |t, _| {
                let outcome = t.sweep_done.lock().expect("sweep lock").take();
                if let Some(Err(e)) = outcome {
                    return t.fail(e.to_string());
                }
                // The sweep's folder (`seeds/<name>-sweep`) holds the six runs: opened as
                // the runs folder, the table groups them by everything but the seed.
                let runs = &mut t
                    .workbench
                    .panel_mut::<RunsPanel>()
                    .expect("a built-in panel");
                runs.refresh(&t.options.runs_dir.join("seeds"));
                let Some(root) = runs.sweeps.first().map(|(g, _)| g.dir.clone()) else {
                    return t.fail("the seeds sweep wrote no sweep folder".into());
                };
                runs.refresh(&root);
                t.workbench.editor.experiment.output.dir = root.clone();
                let runs = &mut t
                    .workbench
                    .panel_mut::<RunsPanel>()
                    .expect("a built-in panel");
                runs.set_grouping(crate::views::runs_table::Grouping::AllButSeed);
                runs.overlay.clear();
                let dirs: Vec<PathBuf> = runs.runs.iter().map(|r| r.dir.clone()).collect();
                runs.overlay.extend(dirs.iter().cloned());
                runs.show_diff = false;
                // Cross-entropy's first seed is the run shown; it is one of its band's seeds.
                if let Some(dir) = dirs.iter().find(|d| is_run_of(d, "ce", 1)) {
                    t.workbench.open_run(dir);
                }
                t.workbench.sync_overlays();
                t.workbench.show_panel::<CurvesPanel>();
                t.workbench.show_panel::<RunsPanel>();
                t.workbench.widen_panel::<CurvesPanel>(1.8);
            },
            ready: |t| t.workbench.overlays.len() == 6,
            shot: Some("workbench-seeds-dark.png"),
        },
        Stop {
            what: "the same comparison in a 1024x640 window, the editor folded away",
            setup: |t, ctx| {
                t.workbench.editor_open = false;
                ctx.send_viewport_cmd(egui::ViewportCommand::InnerSize(egui::vec2(1024.0, 640.0)));
            },
            ready: |_| true,
            shot: Some("workbench-seeds-1024x640-dark.png"),
        },
        Stop {
            what: "the default layout in a 1024x640 window, the ASM run open",
            setup: |t, _| {
                t.workbench.editor_open = true;
                t.workbench.widen_panel::<CurvesPanel>(1.0);
                t.workbench
                    .panel_mut::<RunsPanel>()
                    .expect("a built-in panel")
                    .overlay
                    .clear();
                t.workbench.sync_overlays();
                let root = t.options.runs_dir.clone();
                t.workbench.editor.experiment.output.dir = root.clone();
                t.workbench
                    .panel_mut::<RunsPanel>()
                    .expect("a built-in panel")
                    .refresh(&root);
                if let Some(dir) = t.asm_run.clone() {
                    t.workbench.open_run(&dir);
                }
                t.workbench.show_panel::<CurvesPanel>();
                t.workbench.show_panel::<MiningPanel>();
                t.workbench.show_panel::<LogPanel>();
            },
            ready: |_| true,
            shot: Some("workbench-1024x640-dark.png"),
        },
    ]
}

impl Tour {
    pub fn new(workbench: Workbench, options: TourOptions) -> Self {
        Self {
            workbench,
            options,
            stops: stops(),
            next: 0,
            set_up_at: None,
            saved: Arc::default(),
            shot_requested: false,
            first_run: None,
            noisy_run: None,
            asm_run: None,
            imbalanced_run: None,
            lnsu_run: None,
            sweep_done: Arc::default(),
            failure: Arc::default(),
            written: Arc::default(),
        }
    }

    fn fail(&mut self, why: String) {
        self.failure
            .lock()
            .expect("tour failure lock")
            .get_or_insert(why);
    }

    /// Advances the tour by what this frame allows; returns true when it is over.
    fn advance(&mut self, ctx: &egui::Context) -> bool {
        if self.failure.lock().expect("tour failure lock").is_some() {
            return true;
        }
        let Some(stop) = self.stops.get(self.next) else {
            return true;
        };
        let (setup, ready, shot, what) = (stop.setup, stop.ready, stop.shot, stop.what);
        let Some(since) = self.set_up_at else {
            setup(self, ctx);
            self.set_up_at = Some(Instant::now());
            return false;
        };
        if since.elapsed() > self.options.timeout {
            self.fail(format!(
                "the tour timed out at \"{what}\" after {:?}",
                self.options.timeout
            ));
            return true;
        }
        if !ready(self) || since.elapsed() < SETTLE {
            return false;
        }
        if let Some(name) = shot {
            if !self.shot_requested {
                let path = self.options.out.join(name);
                let saved = Arc::clone(&self.saved);
                let repaint = ctx.clone();
                ctx.request_screenshot(move |image| {
                    let result = save_png(&image, &path).map(|()| path);
                    *saved.lock().expect("screenshot lock") = Some(result);
                    repaint.request_repaint();
                });
                self.shot_requested = true;
                return false;
            }
            let Some(result) = self.saved.lock().expect("screenshot lock").take() else {
                return false;
            };
            match result {
                Ok(p) => self.written.lock().expect("written lock").push(p),
                Err(e) => {
                    self.fail(e.to_string());
                    return true;
                }
            }
        }
        self.next += 1;
        self.set_up_at = None;
        self.shot_requested = false;
        false
    }
}

impl eframe::App for Tour {
    /// Nothing carries over to the next launch (see `ui::native_options`).
    fn persist_egui_memory(&self) -> bool {
        false
    }

    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.workbench.ui(ui);
        let ctx = ui.ctx().clone();
        if self.advance(&ctx) {
            self.workbench.stop();
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        // The tour waits on the engine and on screenshots: keep frames coming.
        ctx.request_repaint_after(Duration::from_millis(50));
    }
}

fn save_png(image: &egui::ColorImage, path: &Path) -> Result<(), Error> {
    let [w, h] = image.size;
    let bytes: Vec<u8> = image.pixels.iter().flat_map(|c| c.to_array()).collect();
    let buffer = image::RgbaImage::from_raw(w as u32, h as u32, bytes).ok_or_else(|| {
        Error::Window(format!(
            "screenshot of {w}x{h} has the wrong number of pixels"
        ))
    })?;
    let mut png = Vec::new();
    buffer
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| Error::file(path, format!("cannot encode the screenshot: {e}")))?;
    crate::contract::run::atomic::write(path, &png).map_err(|e| Error::io("cannot write", path, e))
}

/// Opens the workbench window and runs the tour; returns the screenshots written.
pub fn run(presets_dir: PathBuf, options: TourOptions) -> Result<Vec<PathBuf>, Error> {
    std::fs::create_dir_all(&options.out)
        .map_err(|e| Error::io("cannot create", &options.out, e))?;
    let tour = Tour::new(Workbench::new(presets_dir), options);
    let failure = Arc::clone(&tour.failure);
    let written = Arc::clone(&tour.written);
    eframe::run_native(
        "ferlab",
        super::native_options(),
        Box::new(move |_cc| Ok(Box::new(tour))),
    )
    .map_err(|e| Error::Window(format!("cannot open the workbench window: {e}")))?;
    if let Some(why) = failure.lock().expect("tour failure lock").take() {
        return Err(Error::Window(why));
    }
    let written = written.lock().expect("written lock").clone();
    Ok(written)
}

/// Sets one of the tour's settings; the paths are the schema's, so a failure is a bug here.
fn set(exp: &mut crate::contract::config::Experiment, path: &str, value: i64) {
    exp.set(path, value)
        .unwrap_or_else(|p| panic!("the tour sets {path}: {p}"));
}

/// Runs `ferlab sweep PRESET --out OUT` as the command line runs it, in the background; its
/// outcome lands in `sweep_done`.
fn spawn_sweep(t: &mut Tour, preset: PathBuf, out: PathBuf) {
    let done = Arc::clone(&t.sweep_done);
    std::thread::spawn(move || {
        let result = std::env::current_exe()
            .and_then(|exe| {
                std::process::Command::new(exe)
                    .arg("sweep")
                    .arg(&preset)
                    .arg("--out")
                    .arg(&out)
                    .output()
            })
            .map_err(|e| Error::Sweep(format!("cannot run `ferlab sweep`: {e}")))
            .and_then(|out| {
                out.status.success().then_some(()).ok_or_else(|| {
                    Error::Sweep(format!(
                        "the sweep failed: {}",
                        String::from_utf8_lossy(&out.stderr)
                    ))
                })
            });
        *done.lock().expect("sweep lock") = Some(result);
    });
}

/// Whether the run in `dir` trains `method` with `seed` (by its recorded config).
fn is_run_of(dir: &Path, method: &str, seed: u64) -> bool {
    crate::contract::config::Experiment::load_recorded(
        &dir.join("config.toml"),
        &[],
        &crate::compute::method::REGISTRY,
    )
    .is_ok_and(|e| e.method.name == method && e.seed == seed)
}
