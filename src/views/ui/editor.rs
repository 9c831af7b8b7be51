//! The experiment editor: every field of the experiment with a fitting widget, the same
//! validation messages as the command line beside each field, presets to load and save.

use std::path::{Path, PathBuf};

use egui::{ComboBox, DragValue, Response, RichText, Slider, SliderClamping, TextEdit, Ui};

use super::dialogs::{Dialogs, Purpose};
use crate::contract::config::{
    AsmConfig, AsmPartition, Backbone, BadImagePolicy, ContrastPrior, DataSource, EacSecondView,
    Experiment, Kernels, LnsuConfig, MethodKind, MutualityRamp, NoiseKind, NoisyLoss,
    OptimizerKind, Problem, RelabelScope, RmferConfig, RulArchitecture, RulConfig, Sampler,
    ScheduleKind, ScnConfig, SetReduction, SoftConfig, ThresholdMode, UnlabeledConfig,
    UnlabeledSource,
};
use crate::views::Error;

pub struct ExperimentEditor {
    pub experiment: Experiment,
    problems: Vec<Problem>,
    /// The experiment `problems` were computed for.
    validated: Option<Experiment>,
    pub presets_dir: PathBuf,
    presets: Vec<PathBuf>,
    /// Where the experiment was loaded from or last saved to.
    pub preset_path: Option<PathBuf>,
    /// Typed paths for opening and saving presets.
    open_text: String,
    save_text: String,
    /// Outcome of the last preset action: (succeeded, message).
    pub message: Option<(bool, String)>,
}

impl ExperimentEditor {
    pub fn new(presets_dir: PathBuf) -> Self {
        let mut e = Self {
            experiment: Experiment {
                name: "workbench".into(),
                ..Experiment::default()
            },
            problems: Vec::new(),
            validated: None,
            presets_dir,
            presets: Vec::new(),
            preset_path: None,
            open_text: String::new(),
            save_text: String::new(),
            message: None,
        };
        e.refresh_presets();
        e
    }

    /// Lists the `.toml` files of the presets folder.
    pub fn refresh_presets(&mut self) {
        let mut found: Vec<PathBuf> = std::fs::read_dir(&self.presets_dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        self.presets = found;
    }

    pub fn presets(&self) -> &[PathBuf] {
        &self.presets
    }

    /// Every problem of the current experiment (revalidated when it changed).
    pub fn problems(&mut self) -> &[Problem] {
        if self.validated.as_ref() != Some(&self.experiment) {
            self.problems = self.experiment.validate();
            self.validated = Some(self.experiment.clone());
        }
        &self.problems
    }

    pub fn is_valid(&mut self) -> bool {
        self.problems().is_empty()
    }

    pub fn load_preset(&mut self, path: &Path) -> Result<(), Error> {
        match Experiment::load(path, &[]) {
            Ok(e) => {
                self.experiment = e;
                self.preset_path = Some(path.to_path_buf());
                self.save_text = path.display().to_string();
                self.message = Some((true, format!("loaded {}", path.display())));
                Ok(())
            }
            Err(e) => {
                // A preset with problems still loads into the editor, so they can be fixed.
                let partial = std::fs::read_to_string(path)
                    .ok()
                    .and_then(|t| toml::from_str::<Experiment>(&t).ok());
                let message = e.to_string();
                if let Some(exp) = partial {
                    self.experiment = exp;
                    self.preset_path = Some(path.to_path_buf());
                }
                self.message = Some((false, message));
                Err(e.into())
            }
        }
    }

    /// Writes the experiment as a preset `ferlab train` accepts.
    pub fn save_preset(&mut self, path: &Path) -> Result<(), Error> {
        let path = if path.extension().is_none() {
            path.with_extension("toml")
        } else {
            path.to_path_buf()
        };
        let result =
            crate::contract::run::atomic::write(&path, self.experiment.to_toml().as_bytes())
                .map_err(|e| Error::io("cannot write", &path, e));
        self.message = Some(match &result {
            Ok(()) => (true, format!("saved {}", path.display())),
            Err(e) => (false, e.to_string()),
        });
        if result.is_ok() {
            self.preset_path = Some(path);
            self.refresh_presets();
        }
        result
    }

    /// Applies a path chosen in a file dialog.
    pub fn on_dialog(&mut self, purpose: Purpose, path: PathBuf) {
        match purpose {
            Purpose::OpenPreset => {
                let _ = self.load_preset(&path);
            }
            Purpose::SavePreset => {
                let _ = self.save_preset(&path);
            }
            Purpose::DataPath => self.experiment.data.path = path,
            Purpose::NoisyLabels => self.experiment.data.noisy_labels = Some(path),
            Purpose::ImagesCsv => self.experiment.data.images = path,
            Purpose::Pretrained => self.experiment.model.pretrained = Some(path),
            Purpose::OutputDir => self.experiment.output.dir = path,
            Purpose::ClipsDir => self.experiment.unlabeled.path = path,
            Purpose::ExportFigure | Purpose::ExportTable => {}
        }
    }

    /// The preset bar: presets to load with one click, open and save.
    pub fn presets_ui(&mut self, ui: &mut Ui, dialogs: &mut Dialogs) {
        ui.horizontal_wrapped(|ui| {
            ui.label("Presets:");
            let mut clicked = None;
            for p in &self.presets {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if ui
                    .button(name)
                    .on_hover_text(p.display().to_string())
                    .clicked()
                {
                    clicked = Some(p.clone());
                }
            }
            if let Some(p) = clicked {
                let _ = self.load_preset(&p);
            }
        });
        ui.horizontal(|ui| {
            let label = ui.label("Open:");
            ui.add(
                TextEdit::singleline(&mut self.open_text)
                    .desired_width(180.0)
                    .hint_text("path/to/preset.toml"),
            )
            .labelled_by(label.id);
            if ui.button("Load").clicked() && !self.open_text.trim().is_empty() {
                let p = PathBuf::from(self.open_text.trim());
                let _ = self.load_preset(&p);
            }
            if ui.button("Open…").clicked() {
                dialogs.request(
                    Purpose::OpenPreset,
                    Some(self.presets_dir.clone()),
                    ui.ctx(),
                );
            }
        });
        ui.horizontal(|ui| {
            let label = ui.label("Save as:");
            ui.add(
                TextEdit::singleline(&mut self.save_text)
                    .desired_width(180.0)
                    .hint_text("presets/my.toml"),
            )
            .labelled_by(label.id);
            if ui.button("Save preset").clicked() && !self.save_text.trim().is_empty() {
                let p = PathBuf::from(self.save_text.trim());
                let _ = self.save_preset(&p);
            }
            if ui.button("Save as…").clicked() {
                dialogs.request(
                    Purpose::SavePreset,
                    Some(self.presets_dir.clone()),
                    ui.ctx(),
                );
            }
        });
        if let Some((ok, text)) = &self.message {
            let color = if *ok {
                ui.visuals().weak_text_color()
            } else {
                ui.visuals().error_fg_color
            };
            ui.label(RichText::new(text).color(color).small());
        }
    }

    /// Every field of the experiment; read-only while `locked` (a run is going).
    pub fn fields_ui(&mut self, ui: &mut Ui, dialogs: &mut Dialogs) {
        let problems = self.problems().to_vec();
        let f = &mut Fields {
            problems: &problems,
            dialogs,
            drawn: Vec::new(),
        };
        let e = &mut self.experiment;
        section(ui, "Experiment", true, |ui| {
            f.row(ui, "name", "name", |ui| {
                ui.add(TextEdit::singleline(&mut e.name).desired_width(160.0))
            });
            f.row(ui, "seed", "seed", |ui| ui.add(DragValue::new(&mut e.seed)));
            f.row(ui, "device", "device", |ui| {
                ui.add(TextEdit::singleline(&mut e.device).desired_width(80.0))
                    .on_hover_text(if crate::contract::config::device::CUDA_BUILT {
                        "cpu, or cuda:N for the N-th NVIDIA GPU"
                    } else {
                        "cpu (this build has no CUDA; build with --features cuda for cuda:N)"
                    })
            });
        });
        section(ui, "Data", true, |ui| {
            f.row(ui, "source", "data.source", |ui| {
                choice(
                    ui,
                    "data.source",
                    &mut e.data.source,
                    &DataSource::ALL,
                    |s| s.key(),
                )
            });
            if e.data.source != DataSource::Synthetic {
                f.path_row(ui, "path", "data.path", &mut e.data.path, Purpose::DataPath);
                match e.data.source {
                    DataSource::RafDb => {
                        let mut list = e.data.noisy_labels.clone().unwrap_or_default();
                        f.path_row(
                            ui,
                            "noisy-label list",
                            "data.noisy_labels",
                            &mut list,
                            Purpose::NoisyLabels,
                        );
                        e.data.noisy_labels = (!list.as_os_str().is_empty()).then_some(list);
                    }
                    DataSource::Ferplus => {
                        f.path_row(
                            ui,
                            "fer2013.csv",
                            "data.images",
                            &mut e.data.images,
                            Purpose::ImagesCsv,
                        );
                    }
                    _ => {}
                }
                if matches!(e.data.source, DataSource::Ferplus | DataSource::Affectnet) {
                    f.row(ui, "drop contempt", "data.drop_contempt", |ui| {
                        ui.checkbox(&mut e.data.drop_contempt, "")
                    });
                }
                f.row(ui, "train split", "data.train_split", |ui| {
                    ui.add(TextEdit::singleline(&mut e.data.train_split).desired_width(100.0))
                });
                f.row(ui, "val split", "data.val_split", |ui| {
                    ui.add(TextEdit::singleline(&mut e.data.val_split).desired_width(100.0))
                });
                f.row(ui, "bad images", "data.on_bad_image", |ui| {
                    choice(
                        ui,
                        "data.on_bad_image",
                        &mut e.data.on_bad_image,
                        &[BadImagePolicy::Skip, BadImagePolicy::Fail],
                        |p| match p {
                            BadImagePolicy::Skip => "skip",
                            BadImagePolicy::Fail => "fail",
                        },
                    )
                });
            }
            f.row(ui, "image size", "data.image_size", |ui| {
                ui.add(DragValue::new(&mut e.data.image_size))
            });
            f.row(ui, "channels", "data.channels", |ui| {
                ui.add(DragValue::new(&mut e.data.channels))
            });
            f.row(ui, "max train / class", "data.max_train_per_class", |ui| {
                ui.add(DragValue::new(&mut e.data.max_train_per_class))
                    .on_hover_text("0 = all")
            });
            f.row(ui, "max val / class", "data.max_val_per_class", |ui| {
                ui.add(DragValue::new(&mut e.data.max_val_per_class))
                    .on_hover_text("0 = all")
            });
            if e.data.source == DataSource::Synthetic {
                let s = &mut e.data.synthetic;
                f.row(
                    ui,
                    "train / class",
                    "data.synthetic.train_per_class",
                    |ui| ui.add(DragValue::new(&mut s.train_per_class)),
                );
                f.row(ui, "val / class", "data.synthetic.val_per_class", |ui| {
                    ui.add(DragValue::new(&mut s.val_per_class))
                });
                f.row(ui, "identities", "data.synthetic.identities", |ui| {
                    ui.add(DragValue::new(&mut s.identities))
                });
                f.row(
                    ui,
                    "blend fraction",
                    "data.synthetic.blend_fraction",
                    |ui| ui.add(slider(&mut s.blend_fraction, 0.0..=1.0)),
                );
                f.row(ui, "pixel noise", "data.synthetic.pixel_noise", |ui| {
                    ui.add(slider(&mut s.pixel_noise, 0.0..=0.5))
                });
            }
        });
        section(ui, "Corruption", true, |ui| {
            let c = &mut e.corruption;
            f.row(ui, "label noise", "corruption.noise", |ui| {
                choice(
                    ui,
                    "corruption.noise",
                    &mut c.noise,
                    &[NoiseKind::None, NoiseKind::Symmetric, NoiseKind::PairFlip],
                    |k| match k {
                        NoiseKind::None => "none",
                        NoiseKind::Symmetric => "symmetric",
                        NoiseKind::PairFlip => "pair_flip",
                    },
                )
            });
            f.row(ui, "noise rate", "corruption.noise_rate", |ui| {
                ui.add(slider(&mut c.noise_rate, 0.0..=0.9))
            });
            f.row(
                ui,
                "imbalance factor",
                "corruption.imbalance_factor",
                |ui| ui.add(slider(&mut c.imbalance_factor, 1.0..=200.0).logarithmic(true)),
            );
        });
        section(ui, "Augmentation", false, |ui| {
            let a = &mut e.augment;
            f.row(ui, "horizontal flip", "augment.hflip", |ui| {
                ui.checkbox(&mut a.hflip, "")
            });
            f.row(ui, "crop padding", "augment.crop_padding", |ui| {
                ui.add(DragValue::new(&mut a.crop_padding))
            });
            f.row(ui, "brightness", "augment.brightness", |ui| {
                ui.add(slider(&mut a.brightness, 0.0..=1.0))
            });
            f.row(ui, "contrast", "augment.contrast", |ui| {
                ui.add(slider(&mut a.contrast, 0.0..=1.0))
            });
            f.row(ui, "random erasing", "augment.erase_prob", |ui| {
                ui.add(slider(&mut a.erase_prob, 0.0..=1.0))
            });
        });
        section(ui, "Model", true, |ui| {
            let m = &mut e.model;
            f.row(ui, "backbone", "model.backbone", |ui| {
                choice(ui, "model.backbone", &mut m.backbone, &Backbone::ALL, |b| {
                    b.key()
                })
            });
            if m.backbone == Backbone::SmallCnn {
                f.row(ui, "width", "model.width", |ui| {
                    ui.add(DragValue::new(&mut m.width))
                });
                f.row(ui, "convs / stage", "model.convs_per_stage", |ui| {
                    ui.add(DragValue::new(&mut m.convs_per_stage))
                });
            }
            f.row(ui, "dropout", "model.dropout", |ui| {
                ui.add(slider(&mut m.dropout, 0.0..=0.9))
            });
            let mut pretrained = m.pretrained.clone().unwrap_or_default();
            f.path_row(
                ui,
                "pretrained",
                "model.pretrained",
                &mut pretrained,
                Purpose::Pretrained,
            );
            m.pretrained = (!pretrained.as_os_str().is_empty()).then_some(pretrained);
            f.row(ui, "kernels", "model.kernels", |ui| {
                choice(
                    ui,
                    "model.kernels",
                    &mut m.kernels,
                    &[Kernels::Auto, Kernels::Candle],
                    |k| match k {
                        Kernels::Auto => "auto",
                        Kernels::Candle => "candle",
                    },
                )
            });
        });
        section(ui, "Method", true, |ui| {
            let m = &mut e.method;
            f.row(ui, "method", "method.name", |ui| {
                choice(ui, "method.name", &mut m.name, &MethodKind::ALL, |k| {
                    k.key()
                })
            });
            match m.name {
                MethodKind::Ce => {
                    f.row(ui, "label smoothing", "method.label_smoothing", |ui| {
                        ui.add(slider(&mut m.label_smoothing, 0.0..=0.5))
                    });
                }
                MethodKind::Asm => asm_fields(f, ui, &mut m.asm),
                MethodKind::Scn => scn_fields(f, ui, &mut m.scn),
                MethodKind::Soft => soft_fields(f, ui, &mut m.soft),
                MethodKind::Cb => {
                    f.row(ui, "effective-number β", "method.cb.beta", |ui| {
                        ui.add(DragValue::new(&mut m.cb.beta).speed(0.0001).max_decimals(5))
                    });
                }
                MethodKind::Eac => {
                    f.row(ui, "consistency λ", "method.eac.lambda", |ui| {
                        ui.add(slider(&mut m.eac.lambda, 0.0..=20.0))
                    });
                    f.choice_row(
                        ui,
                        "mirrored view",
                        "method.eac.second_view",
                        &mut m.eac.second_view,
                        &EacSecondView::ALL,
                        |v| v.key(),
                        "auto: separate for noisy labels, mirror otherwise (official); \
                             mirror: flip of the augmented view; separate: the mirrored face \
                             augmented on its own",
                    );
                }
                MethodKind::Rul => rul_fields(f, ui, &mut m.rul),
                MethodKind::Lnsu => lnsu_fields(f, ui, &mut m.lnsu),
                MethodKind::Rmfer => rmfer_fields(f, ui, &mut m.rmfer),
            }
        });
        section(ui, "Unlabeled", e.method.name == MethodKind::Rmfer, |ui| {
            unlabeled_fields(f, ui, &mut e.unlabeled);
        });
        section(ui, "Optimizer", true, |ui| {
            let o = &mut e.optimizer;
            f.row(ui, "optimizer", "optimizer.kind", |ui| {
                choice(
                    ui,
                    "optimizer.kind",
                    &mut o.kind,
                    &OptimizerKind::ALL,
                    |k| k.key(),
                )
            });
            f.row(ui, "learning rate", "optimizer.lr", |ui| {
                ui.add(slider(&mut o.lr, 1e-6..=1.0).logarithmic(true))
            });
            f.row(ui, "weight decay", "optimizer.weight_decay", |ui| {
                ui.add(slider(&mut o.weight_decay, 0.0..=0.1).logarithmic(true))
            });
            if o.kind == OptimizerKind::Sgd {
                f.row(ui, "momentum", "optimizer.momentum", |ui| {
                    ui.add(slider(&mut o.momentum, 0.0..=0.99))
                });
                f.row(ui, "nesterov", "optimizer.nesterov", |ui| {
                    ui.checkbox(&mut o.nesterov, "")
                });
            } else {
                f.row(ui, "beta1", "optimizer.beta1", |ui| {
                    ui.add(slider(&mut o.beta1, 0.0..=0.999))
                });
                f.row(ui, "beta2", "optimizer.beta2", |ui| {
                    ui.add(slider(&mut o.beta2, 0.0..=0.9999))
                });
            }
            f.row(ui, "SAM rho", "optimizer.sam_rho", |ui| {
                ui.add(DragValue::new(&mut o.sam_rho).speed(0.005))
                    .on_hover_text("sharpness-aware minimisation radius (0.05 in RMFER); 0 = off; two passes per step")
            });
        });
        section(ui, "Schedule", false, |ui| {
            let s = &mut e.schedule;
            f.row(ui, "schedule", "schedule.kind", |ui| {
                choice(ui, "schedule.kind", &mut s.kind, &ScheduleKind::ALL, |k| {
                    k.key()
                })
            });
            f.row(ui, "warm-up epochs", "schedule.warmup_epochs", |ui| {
                ui.add(DragValue::new(&mut s.warmup_epochs).speed(0.1))
            });
            if s.kind == ScheduleKind::Step {
                f.row(ui, "step every", "schedule.step_epochs", |ui| {
                    ui.add(DragValue::new(&mut s.step_epochs))
                });
                f.row(ui, "gamma", "schedule.gamma", |ui| {
                    ui.add(slider(&mut s.gamma, 0.0..=1.0))
                });
            }
            if s.kind == ScheduleKind::Cosine {
                f.row(ui, "final lr ratio", "schedule.min_lr_ratio", |ui| {
                    ui.add(slider(&mut s.min_lr_ratio, 0.0..=1.0))
                });
            }
        });
        section(ui, "Training", true, |ui| {
            let t = &mut e.train;
            f.row(ui, "epochs", "train.epochs", |ui| {
                ui.add(DragValue::new(&mut t.epochs))
            });
            f.row(ui, "batch size", "train.batch_size", |ui| {
                ui.add(DragValue::new(&mut t.batch_size))
            });
            f.row(ui, "eval batch size", "train.eval_batch_size", |ui| {
                ui.add(DragValue::new(&mut t.eval_batch_size))
            });
            f.row(ui, "threads", "train.threads", |ui| {
                ui.add(DragValue::new(&mut t.threads))
                    .on_hover_text("0 = all cores")
            });
            f.row(ui, "progress every", "train.log_every", |ui| {
                ui.add(DragValue::new(&mut t.log_every))
            });
            f.row(ui, "attention every", "train.attention_every", |ui| {
                ui.add(DragValue::new(&mut t.attention_every))
                    .on_hover_text("epochs between attention galleries; 0 = never")
            });
            f.row(ui, "attention faces", "train.attention_gallery", |ui| {
                ui.add(DragValue::new(&mut t.attention_gallery))
            });
            f.row(ui, "embedding every", "train.embedding_every", |ui| {
                ui.add(DragValue::new(&mut t.embedding_every))
                    .on_hover_text(
                        "epochs between t-SNE / MDS embeddings of validation features; 0 = never",
                    )
            });
            f.row(ui, "embedded faces", "train.embedding_points", |ui| {
                ui.add(DragValue::new(&mut t.embedding_points))
                    .on_hover_text("validation faces embedded (class-stratified); 0 = all")
            });
            f.choice_row(
                ui,
                "sampler",
                "train.sampler",
                &mut t.sampler,
                &Sampler::ALL,
                |v| v.key(),
                "class_balanced: every class equally often, one of each in every run of K samples",
            );
        });
        section(ui, "Output", true, |ui| {
            f.path_row(
                ui,
                "runs folder",
                "output.dir",
                &mut e.output.dir,
                Purpose::OutputDir,
            );
        });
        // Problems of fields not drawn this frame, named by path: unknown keys of a loaded
        // preset, and fields in a collapsed section.
        let others: Vec<&Problem> = problems
            .iter()
            .filter(|p| !f.drawn.contains(&p.path))
            .collect();
        for p in others {
            ui.colored_label(ui.visuals().error_fg_color, p.to_string());
        }
    }
}

fn asm_fields(f: &mut Fields, ui: &mut Ui, a: &mut AsmConfig) {
    f.row(ui, "thresholds", "method.asm.thresholds", |ui| {
        choice(
            ui,
            "method.asm.thresholds",
            &mut a.thresholds,
            &[ThresholdMode::Adaptive, ThresholdMode::Fixed],
            |m| match m {
                ThresholdMode::Adaptive => "adaptive",
                ThresholdMode::Fixed => "fixed",
            },
        )
    });
    f.row(
        ui,
        "noisy threshold T_n",
        "method.asm.noisy_threshold",
        |ui| ui.add(slider(&mut a.noisy_threshold, 0.0..=0.99)),
    );
    f.row(
        ui,
        "clean threshold T_c",
        "method.asm.clean_threshold",
        |ui| ui.add(slider(&mut a.clean_threshold, 0.01..=1.0)),
    );
    if a.thresholds == ThresholdMode::Adaptive {
        f.row(ui, "class-mean momentum", "method.asm.momentum", |ui| {
            ui.add(slider(&mut a.momentum, 0.0..=0.99))
        });
        f.row(ui, "normalise by max", "method.asm.normalize", |ui| {
            ui.checkbox(&mut a.normalize, "")
        });
    }
    f.choice_row(
        ui,
        "partition",
        "method.asm.partition",
        &mut a.partition,
        &AsmPartition::ALL,
        |v| v.key(),
        "online: mined from each batch's training-mode predictions; eval_pass: an \
         evaluation pass over the training set at each epoch start (MAN)",
    );
    f.row(ui, "warm-up epochs", "method.asm.warmup_epochs", |ui| {
        ui.add(DragValue::new(&mut a.warmup_epochs))
    });
    f.choice_row(
        ui,
        "mutuality ramp",
        "method.asm.ramp",
        &mut a.ramp,
        &MutualityRamp::ALL,
        |v| v.key(),
        "man: λ_max·exp(−β(1 − e/(0.9E))²) by epoch (MAN); progress: exp(−5β(1 − t)²)",
    );
    if a.ramp == MutualityRamp::Man {
        f.row(ui, "λ_max", "method.asm.lambda_max", |ui| {
            ui.add(slider(&mut a.lambda_max, 0.0..=1.0))
        });
    }
    f.row(ui, "ramp-up shape β", "method.asm.beta", |ui| {
        ui.add(slider(&mut a.beta, 0.0..=5.0))
    });
    f.row(ui, "mutuality weight ω", "method.asm.omega", |ui| {
        ui.add(slider(&mut a.omega, 0.0..=5.0))
    });
    f.row(ui, "consistency weight γ", "method.asm.gamma", |ui| {
        ui.add(slider(&mut a.gamma, 0.0..=5.0))
    });
    f.choice_row(
        ui,
        "noisy-set loss",
        "method.asm.noisy_loss",
        &mut a.noisy_loss,
        &NoisyLoss::ALL,
        |v| v.key(),
        "mse: MSE of the two views' softmax (MAN); kl: KL(weak ‖ strong)",
    );
    f.row(ui, "stop-gradient", "method.asm.stop_gradient", |ui| {
        ui.checkbox(&mut a.stop_gradient, "")
            .on_hover_text("detach each view's prediction as the other's target (MAN: off)")
    });
    f.choice_row(
        ui,
        "set reduction",
        "method.asm.reduction",
        &mut a.reduction,
        &SetReduction::ALL,
        |v| v.key(),
        "set_mean: each term averaged over its set (MAN); batch: summed, over the batch size",
    );
}

fn scn_fields(f: &mut Fields, ui: &mut Ui, s: &mut ScnConfig) {
    f.row(ui, "high-group ratio β", "method.scn.high_ratio", |ui| {
        ui.add(slider(&mut s.high_ratio, 0.05..=0.95))
    });
    f.row(ui, "rank margin δ1", "method.scn.margin", |ui| {
        ui.add(slider(&mut s.margin, 0.0..=1.0))
    });
    f.row(ui, "rank weight γ", "method.scn.rank_weight", |ui| {
        ui.add(slider(&mut s.rank_weight, 0.0..=5.0))
    });
    f.row(ui, "relabel from epoch", "method.scn.relabel_epoch", |ui| {
        ui.add(DragValue::new(&mut s.relabel_epoch))
            .on_hover_text("counted from 1, as the official --relabel_epoch")
    });
    f.row(ui, "relabel margin δ2", "method.scn.relabel_margin", |ui| {
        ui.add(slider(&mut s.relabel_margin, 0.0..=1.0))
    });
    f.choice_row(
        ui,
        "relabel",
        "method.scn.relabel_scope",
        &mut s.relabel_scope,
        &RelabelScope::ALL,
        |v| v.key(),
        "batch: any sample (official code); low_group: the paper's wording",
    );
}

fn soft_fields(f: &mut Fields, ui: &mut Ui, s: &mut SoftConfig) {
    f.row(ui, "smoothing ε", "method.soft.epsilon", |ui| {
        ui.add(slider(&mut s.epsilon, 0.0..=0.9))
    });
    f.row(ui, "keep above τ", "method.soft.tau", |ui| {
        ui.add(slider(&mut s.tau, 0.0..=0.9))
            .on_hover_text("0 = 1 / number of classes")
    });
    f.row(ui, "consistency weight", "method.soft.consistency", |ui| {
        ui.add(slider(&mut s.consistency, 0.0..=50.0))
    });
    f.row(ui, "ramp-up epochs", "method.soft.rampup_epochs", |ui| {
        ui.add(slider(&mut s.rampup_epochs, 0.0..=50.0))
    });
    f.row(ui, "teacher EMA decay", "method.soft.ema_decay", |ui| {
        ui.add(slider(&mut s.ema_decay, 0.9..=0.9999))
    });
    f.row(
        ui,
        "student attention",
        "method.soft.student_attention",
        |ui| {
            ui.checkbox(&mut s.student_attention, "")
                .on_hover_text("on: CE on α·logits (official default); off: baseline_mt")
        },
    );
    f.row(
        ui,
        "fractional ramp-up",
        "method.soft.fractional_rampup",
        |ui| {
            ui.checkbox(&mut s.fractional_rampup, "")
                .on_hover_text("off: the weight steps once per epoch, as the official code")
        },
    );
}

fn rul_fields(f: &mut Fields, ui: &mut Ui, r: &mut RulConfig) {
    f.choice_row(
        ui,
        "architecture",
        "method.rul.architecture",
        &mut r.architecture,
        &RulArchitecture::ALL,
        |v| v.key(),
        "official: twin heads on the flattened feature map; pooled: ferlab's first reading",
    );
    f.row(ui, "head dropout", "method.rul.head_dropout", |ui| {
        ui.add(slider(&mut r.head_dropout, 0.0..=0.9))
    });
    f.row(
        ui,
        "classifier lr ×",
        "method.rul.classifier_lr_scale",
        |ui| ui.add(DragValue::new(&mut r.classifier_lr_scale)),
    );
    f.row(
        ui,
        "uncertainty width",
        "method.rul.uncertainty_dim",
        |ui| ui.add(DragValue::new(&mut r.uncertainty_dim)),
    );
    f.row(
        ui,
        "uncertainty-weighted loss",
        "method.rul.relative_loss",
        |ui| {
            ui.checkbox(&mut r.relative_loss, "")
                .on_hover_text("off = ½ each label, as the official code")
        },
    );
}

fn lnsu_fields(f: &mut Fields, ui: &mut Ui, l: &mut LnsuConfig) {
    f.row(ui, "smoothing ε", "method.lnsu.epsilon", |ui| {
        ui.add(slider(&mut l.epsilon, 0.0..=0.9))
    });
    f.row(
        ui,
        "attention weight",
        "method.lnsu.attention_weight",
        |ui| ui.add(slider(&mut l.attention_weight, 0.0..=2.0)),
    );
    f.row(ui, "class weight scale", "method.lnsu.weight_scale", |ui| {
        ui.add(slider(&mut l.weight_scale, 0.01..=1.0).logarithmic(true))
            .on_hover_text("w_c = scale · N / n_c")
    });
}

fn rmfer_fields(f: &mut Fields, ui: &mut Ui, r: &mut RmferConfig) {
    f.row(ui, "IAL", "method.rmfer.ial", |ui| {
        ui.checkbox(&mut r.ial, "inter-sample attention")
    });
    f.row(ui, "ACL", "method.rmfer.acl", |ui| {
        ui.checkbox(&mut r.acl, "contrastive on unlabeled clips")
    });
    f.row(ui, "λ1 (IAL)", "method.rmfer.lambda1", |ui| {
        ui.add(slider(&mut r.lambda1, 0.0..=2.0))
    });
    f.row(ui, "λ2 (ACL)", "method.rmfer.lambda2", |ui| {
        ui.add(slider(&mut r.lambda2, 0.0..=2.0))
    });
    f.row(ui, "τ", "method.rmfer.tau", |ui| {
        ui.add(slider(&mut r.tau, 0.01..=1.0))
    });
    f.row(ui, "γ (filter)", "method.rmfer.gamma", |ui| {
        ui.add(slider(&mut r.gamma, 0.01..=1.0)).on_hover_text(
            "share of candidates kept: most similar positives, least similar negatives",
        )
    });
    f.row(ui, "epoch_pre", "method.rmfer.epoch_pre", |ui| {
        ui.add(DragValue::new(&mut r.epoch_pre))
            .on_hover_text("epochs of IAL pre-training before ACL starts")
    });
    f.row(ui, "candidates", "method.rmfer.candidates", |ui| {
        ui.add(DragValue::new(&mut r.candidates))
    });
    f.row(ui, "anchors / step", "method.rmfer.anchors", |ui| {
        ui.add(DragValue::new(&mut r.anchors))
    });
    f.row(ui, "negative gap", "method.rmfer.min_gap", |ui| {
        ui.add(DragValue::new(&mut r.min_gap))
            .on_hover_text("candidate negatives: the same person at least this many frames away")
    });
    f.choice_row(
        ui,
        "prior",
        "method.rmfer.prior",
        &mut r.prior,
        &ContrastPrior::ALL,
        |v| v.key(),
        "clip: same frame / same person far apart; cosine: similarity only (ablation)",
    );
    f.row(ui, "projection dim", "method.rmfer.projection_dim", |ui| {
        ui.add(DragValue::new(&mut r.projection_dim))
    });
}

fn unlabeled_fields(f: &mut Fields, ui: &mut Ui, u: &mut UnlabeledConfig) {
    f.row(ui, "source", "unlabeled.source", |ui| {
        choice(
            ui,
            "unlabeled.source",
            &mut u.source,
            &UnlabeledSource::ALL,
            |s| s.key(),
        )
    });
    match u.source {
        UnlabeledSource::None => {}
        UnlabeledSource::Clips => {
            f.path_row(
                ui,
                "clips",
                "unlabeled.path",
                &mut u.path,
                Purpose::ClipsDir,
            );
        }
        UnlabeledSource::SyntheticClips => {
            f.row(ui, "videos", "unlabeled.videos", |ui| {
                ui.add(DragValue::new(&mut u.videos))
            });
            f.row(ui, "people / video", "unlabeled.people", |ui| {
                ui.add(DragValue::new(&mut u.people))
            });
            f.row(ui, "frames", "unlabeled.frames", |ui| {
                ui.add(DragValue::new(&mut u.frames))
            });
            f.row(ui, "max lag", "unlabeled.max_lag", |ui| {
                ui.add(DragValue::new(&mut u.max_lag))
            });
            f.row(ui, "deviation", "unlabeled.deviation", |ui| {
                ui.add(slider(&mut u.deviation, 0.0..=1.0))
            });
        }
    }
}

struct Fields<'a> {
    problems: &'a [Problem],
    dialogs: &'a mut Dialogs,
    /// The paths of the rows drawn this frame, whose problems show under their widgets.
    drawn: Vec<String>,
}

impl Fields<'_> {
    /// A labelled row; the field's problems, if any, are shown under the widget.
    fn row(&mut self, ui: &mut Ui, label: &str, path: &str, add: impl FnOnce(&mut Ui) -> Response) {
        self.drawn.push(path.to_string());
        row(ui, self.problems, label, path, add);
    }

    /// A row choosing one of `all` in a combo box, with a hint on hover.
    #[allow(clippy::too_many_arguments)]
    fn choice_row<T: Copy + PartialEq>(
        &mut self,
        ui: &mut Ui,
        label: &str,
        path: &str,
        value: &mut T,
        all: &[T],
        name: fn(T) -> &'static str,
        hint: &str,
    ) {
        self.drawn.push(path.to_string());
        row(ui, self.problems, label, path, |ui| {
            choice(ui, path, value, all, name).on_hover_text(hint)
        });
    }

    fn path_row(
        &mut self,
        ui: &mut Ui,
        label: &str,
        path: &str,
        value: &mut PathBuf,
        purpose: Purpose,
    ) {
        self.drawn.push(path.to_string());
        let dialogs = &mut *self.dialogs;
        row(ui, self.problems, label, path, |ui| {
            ui.horizontal(|ui| {
                let mut text = value.display().to_string();
                let r = ui.add(TextEdit::singleline(&mut text).desired_width(150.0));
                if r.changed() {
                    *value = PathBuf::from(text);
                }
                if ui
                    .button("Browse…")
                    .on_hover_text(format!("choose the {label}"))
                    .clicked()
                {
                    let start = value.parent().map(Path::to_path_buf);
                    dialogs.request(purpose, start, ui.ctx());
                }
                r
            })
            .inner
        });
    }
}

/// A labelled grid row; the field's problems, if any, are shown under the widget.
fn row(
    ui: &mut Ui,
    problems: &[Problem],
    label: &str,
    path: &str,
    add: impl FnOnce(&mut Ui) -> Response,
) {
    let label_response = ui.label(label);
    ui.vertical(|ui| {
        let r = add(ui);
        r.labelled_by(label_response.id);
        for p in problems.iter().filter(|p| p.path == path) {
            ui.label(
                RichText::new(&p.message)
                    .color(ui.visuals().error_fg_color)
                    .small(),
            );
        }
    });
    ui.end_row();
}

fn section(ui: &mut Ui, title: &str, open: bool, add: impl FnOnce(&mut Ui)) {
    egui::CollapsingHeader::new(title)
        .default_open(open)
        .show(ui, |ui| {
            egui::Grid::new(("form", title))
                .num_columns(2)
                .spacing([8.0, 4.0])
                .striped(false)
                .show(ui, add);
        });
}

fn choice<T: Copy + PartialEq>(
    ui: &mut Ui,
    id: &str,
    value: &mut T,
    all: &[T],
    name: fn(T) -> &'static str,
) -> Response {
    ComboBox::from_id_salt(id)
        .selected_text(name(*value))
        .show_ui(ui, |ui| {
            for &v in all {
                ui.selectable_value(value, v, name(v));
            }
        })
        .response
}

/// A slider that never changes what the user typed or what a preset holds: the slider part
/// covers `range`, the number beside it takes any value, and validation says what is wrong
/// (an egui slider clamps both by default, silently).
fn slider<Num: egui::emath::Numeric>(
    value: &mut Num,
    range: std::ops::RangeInclusive<Num>,
) -> Slider<'_> {
    Slider::new(value, range).clamping(SliderClamping::Never)
}
