//! The training loop: epochs of steps, evaluation, checkpoints, pause / stop, exact resume.
//!
//! Every random choice comes from `seed::derive(experiment seed, position)`, the optimiser
//! state and the epoch's running sums go into each checkpoint, so a run resumed from a
//! checkpoint computes exactly what the uninterrupted run would have.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::checkpoint;
use super::control::Control;
use super::device::{describe, open_device};
use super::evaluate::{AttentionRequest, Extras, evaluate};
use super::logit_adjust;
use super::tta::Tta;
use crate::compute::analysis::attention::gallery_indices;
use crate::compute::analysis::embedding::{EmbeddingJob, EmbeddingWorker, embedding_indices};
use crate::compute::data::loader::{BatchSpec, Prefetcher, batch_bounds, shuffled_order};
use crate::compute::data::sampler::class_balanced_order;
use crate::compute::data::unlabeled::{self, Unlabeled};
use crate::compute::data::{self, Dataset, Split};
use crate::compute::method::{self, BatchTensors, Method, StepContext};
use crate::compute::model::pretrained::load_pretrained;
use crate::compute::model::{FerModel, load_into};
use crate::compute::optim::Optimizer;
use crate::compute::optim::sam::Sam;
use crate::compute::optim::schedule::lr_at;
use crate::compute::{Error, Result};
use crate::contract::config::Experiment;
use crate::contract::config::Sampler;
use crate::contract::config::device::parse_device;
use crate::contract::event::Metrics;
use crate::contract::event::{DataStats, EmbeddingFaces, FilterReport};
use crate::contract::event::{Event, Level, Position, Summary, TrainSummary};
use crate::contract::run::{RunDir, recorder};
use crate::contract::seed::{self, purpose};

/// Running sums of the epoch in progress (kept in checkpoints for mid-epoch resume).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EpochSums {
    pub loss: f64,
    pub terms: BTreeMap<String, f64>,
    pub steps: usize,
    pub correct: usize,
    pub seen: usize,
    pub compute_secs: f64,
    pub wait_secs: f64,
}

/// The best validation result so far.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Best {
    pub epoch: usize,
    pub score: f32,
    pub metrics: Metrics,
}

/// Everything besides tensors that a checkpoint must hold to resume exactly.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrainState {
    /// The next step to run.
    pub position: Position,
    pub sums: EpochSums,
    pub best: Option<Best>,
    pub last: Option<Metrics>,
    pub elapsed_secs: f64,
    pub method: serde_json::Value,
    /// The last epoch whose training the method has closed (its end-of-epoch report sent).
    #[serde(default)]
    pub closed_epoch: Option<usize>,
    /// The method's attention-filter report of the last closed epoch (kept so a run stopped
    /// during evaluation still sends it with that epoch's embedding).
    #[serde(default)]
    pub filter: Option<FilterReport>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Finished(Box<Summary>),
    Stopped(Position),
}

/// The learning-rate multiples of `epoch` (from 0): the backbone's are 0 — left out of the
/// steps — during the first `freeze` epochs.
fn epoch_lr_scales(scales: &[(f64, bool)], epoch: usize, freeze: usize) -> Vec<f64> {
    scales
        .iter()
        .map(|&(s, backbone)| if backbone && epoch < freeze { 0.0 } else { s })
        .collect()
}

/// Receives every event of a run (the run's own recorder is separate).
pub type Sink<'a> = &'a mut dyn FnMut(&Event);

/// Everything a running experiment holds.
struct Session<'a> {
    exp: Experiment,
    device: Device,
    classes: Vec<String>,
    train: Arc<Split>,
    val: Arc<Split>,
    model: FerModel,
    method: Box<dyn Method>,
    optimizer: Optimizer,
    /// Each parameter's learning-rate multiple (method × `model.backbone_lr_scale`), and
    /// whether it is the backbone's (frozen for `model.freeze_backbone_epochs`).
    lr_scales: Vec<(f64, bool)>,
    dir: RunDir,
    state: TrainState,
    sink: Sink<'a>,
    clock: Instant,
    clock_offset: f64,
    stats: DataStats,
    /// Validation faces of the attention gallery (fixed for the run).
    gallery: Vec<usize>,
    /// Validation faces embedded with t-SNE / MDS (fixed for the run).
    embedded: Vec<usize>,
    /// Embeds features off the training thread; present when embeddings are on.
    embedder: Option<EmbeddingWorker>,
}

/// Runs (or resumes) an experiment in `dir`, reporting to `sink`.
pub fn run(
    exp: Experiment,
    dir: RunDir,
    resume: bool,
    control: &Control,
    sink: Sink,
) -> Result<Outcome> {
    let device = open_device(parse_device(&exp.device)?)?;
    sink(&Event::log(Level::Info, "loading data"));
    let t0 = Instant::now();
    let dataset = data::build(&exp)?;
    sink(&Event::log(
        Level::Info,
        format!(
            "data ready in {:.1} s: {} training and {} validation images",
            t0.elapsed().as_secs_f32(),
            dataset.train.len(),
            dataset.val.len()
        ),
    ));
    report_skipped(&dataset, sink);
    for warning in DataStats::of(&dataset).empty_class_warnings() {
        sink(&Event::log(Level::Warn, warning));
    }
    let unlabeled = unlabeled::load(&exp)?.map(Arc::new);
    if let Some(u) = &unlabeled {
        sink(&Event::log(
            Level::Info,
            format!("unlabeled: {} ({} faces)", u.origin, u.len()),
        ));
    }
    for caution in exp.cautions(&crate::compute::method::REGISTRY) {
        sink(&Event::log(Level::Warn, caution.to_string()));
    }
    let mut session = Session::new(exp, device, dataset, unlabeled, dir, resume, sink)?;
    if resume {
        session.restore()?;
    }
    session.run(control)
}

fn report_skipped(dataset: &Dataset, sink: Sink) {
    if dataset.skipped.is_empty() {
        return;
    }
    let shown: Vec<&String> = dataset.skipped.iter().take(20).collect();
    let mut text = format!("skipped {} unreadable images:", dataset.skipped.len());
    for s in shown {
        text += &format!("\n  {s}");
    }
    if dataset.skipped.len() > 20 {
        text += &format!("\n  ... and {} more", dataset.skipped.len() - 20);
    }
    sink(&Event::log(Level::Warn, text));
}

impl<'a> Session<'a> {
    fn new(
        exp: Experiment,
        device: Device,
        dataset: Dataset,
        unlabeled: Option<Arc<Unlabeled>>,
        dir: RunDir,
        resume: bool,
        sink: Sink<'a>,
    ) -> Result<Self> {
        let k = dataset.num_classes();
        let model = FerModel::for_experiment(&exp, method::head_of(&exp)?, k, &device)?;
        match &exp.model.pretrained {
            // The checkpoint holds every weight: the file may have moved since.
            Some(path) if resume && dir.last_checkpoint().is_file() => sink(&Event::log(
                Level::Info,
                format!(
                    "model.pretrained ({}) is not read: the run resumes from its checkpoint",
                    path.display()
                ),
            )),
            Some(path) => {
                let (_, text) = load_pretrained(&model, path)?;
                sink(&Event::log(Level::Info, text));
            }
            None => {}
        }
        let method = method::build(&exp, &model, &dataset.train, unlabeled, &device)?;
        let mut params = model.parameters();
        params.extend(method.extra_params());
        let backbone = model.backbone_parameter_names();
        let lr_scales: Vec<(f64, bool)> = params
            .iter()
            .map(|(n, _)| {
                let own = backbone.contains(n);
                let m = if own {
                    exp.model.backbone_lr_scale
                } else {
                    1.0
                };
                (method.lr_scale(n) * m, own)
            })
            .collect();
        let optimizer = Optimizer::new(&exp.optimizer, params, exp.model.kernels).with_lr_scales(
            epoch_lr_scales(&lr_scales, 0, exp.model.freeze_backbone_epochs),
        );
        let classes = dataset.classes.clone();
        let stats = DataStats::of(&dataset);
        let gallery = gallery_indices(
            &dataset.val.labels,
            k,
            exp.train.attention_gallery,
            exp.seed,
        );
        let embedded =
            embedding_indices(&dataset.val.labels, k, exp.train.embedding_points, exp.seed);
        let embedder = (exp.train.embedding_every > 0).then(EmbeddingWorker::spawn);
        Ok(Self {
            gallery,
            embedded,
            embedder,
            device,
            classes,
            train: Arc::new(dataset.train),
            val: Arc::new(dataset.val),
            model,
            method,
            optimizer,
            lr_scales,
            dir,
            state: TrainState::default(),
            sink,
            clock: Instant::now(),
            clock_offset: 0.0,
            stats,
            exp,
        })
    }

    fn emit(&mut self, e: Event) {
        (self.sink)(&e);
    }

    fn steps_per_epoch(&self) -> usize {
        batch_bounds(self.train.len(), self.exp.train.batch_size).len()
    }

    fn elapsed(&self) -> f64 {
        self.clock_offset + self.clock.elapsed().as_secs_f64()
    }

    /// Loads the run's last checkpoint into the model, method and optimiser.
    fn restore(&mut self) -> Result<()> {
        let path = self.dir.last_checkpoint();
        if !path.is_file() {
            self.emit(Event::log(
                Level::Warn,
                format!(
                    "{} does not exist: starting from the beginning",
                    path.display()
                ),
            ));
            return Ok(());
        }
        let (tensors, state) = load_checkpoint(&path, &self.device)?;
        let mut vars = self.model.named_vars();
        vars.extend(self.method.extra_params());
        vars.extend(self.method.buffers());
        let report = load_into(&vars, &tensors)?;
        if !report.missing.is_empty() || !report.mismatched.is_empty() {
            return Err(Error::Run(format!(
                "{}: does not fit this experiment's model (missing: {:?}, mismatched: {:?})",
                path.display(),
                report.missing,
                report.mismatched
            )));
        }
        if state.position.epoch > self.exp.train.epochs {
            return Err(Error::Run(format!(
                "{}: the run has trained {} epochs; train.epochs = {} would end it before \
                 they were done. Resume with train.epochs at least {} (or evaluate it as it \
                 is with `ferlab eval`).",
                path.display(),
                state.position.epoch,
                self.exp.train.epochs,
                state.position.epoch
            )));
        }
        self.check_history(&state)?;
        self.optimizer.load_state(&tensors)?;
        self.method
            .load_state(&state.method)
            .map_err(|e| Error::file(&path, e))?;
        self.clock_offset = state.elapsed_secs;
        self.state = state;
        Ok(())
    }

    /// The first weight or buffer of the model or method holding a NaN or infinity.
    fn first_non_finite_weight(&self) -> Result<Option<String>> {
        for (name, var) in self
            .model
            .named_vars()
            .into_iter()
            .chain(self.method.extra_params())
            .chain(self.method.buffers())
        {
            if !all_finite(var.as_tensor())? {
                return Ok(Some(name));
            }
        }
        Ok(None)
    }

    /// Refuses a resume whose events file lost epochs the checkpoint has trained past (an
    /// emptied or replaced log): resumed, its curves and tables would silently miss them.
    fn check_history(&self, state: &TrainState) -> Result<()> {
        let path = self.dir.events();
        let recorded: std::collections::BTreeSet<usize> = match recorder::read(&path) {
            Ok(log) => log
                .records
                .iter()
                .filter_map(|r| match &r.event {
                    Event::EpochEnd { epoch, .. } => Some(*epoch),
                    _ => None,
                })
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Default::default(),
            Err(e) => return Err(Error::io("cannot read", &path, e)),
        };
        let done = state.position.epoch;
        if let Some(missing) = (0..done).find(|e| !recorded.contains(e)) {
            return Err(Error::Run(format!(
                "{}: has no result for epoch {} although the checkpoint has trained {done} \
                 epoch(s): the run's log lost its history. Restore events.jsonl from a copy, \
                 or train a new run (the checkpoint can seed it with model.pretrained).",
                path.display(),
                missing + 1,
            )));
        }
        Ok(())
    }

    fn save(&mut self, best: bool) -> Result<()> {
        self.state.method = self.method.state();
        self.state.elapsed_secs = self.elapsed();
        let mut tensors: Vec<(String, Tensor)> = self
            .model
            .named_vars()
            .into_iter()
            .chain(self.method.extra_params())
            .chain(self.method.buffers())
            .map(|(n, v)| (n, v.as_tensor().clone()))
            .collect();
        tensors.extend(self.optimizer.state_tensors()?);
        // A checkpoint is what a resume and `ferlab eval` trust: never one with NaN in it.
        for (name, t) in &tensors {
            if !all_finite(t)? {
                return Err(Error::Run(format!(
                    "the run diverged: {name} is non-finite at epoch {}; the checkpoint was \
                     not written (the last one is from before)",
                    self.state.position.epoch + 1
                )));
            }
        }
        let json = serde_json::to_string(&self.state)
            .map_err(|e| Error::Run(format!("cannot serialise the training state: {e}")))?;
        let last = self.dir.last_checkpoint();
        checkpoint::save(&last, &tensors, &json)?;
        let pos = self.state.position;
        self.emit(Event::Checkpoint {
            epoch: pos.epoch,
            step: pos.step,
            path: last.display().to_string(),
            best: false,
        });
        if best {
            let path = self.dir.best_checkpoint();
            checkpoint::save(&path, &tensors, &json)?;
            self.emit(Event::Checkpoint {
                epoch: pos.epoch,
                step: pos.step,
                path: path.display().to_string(),
                best: true,
            });
        }
        Ok(())
    }

    fn run(&mut self, control: &Control) -> Result<Outcome> {
        let spe = self.steps_per_epoch();
        let resumed_at =
            (self.state.position != Position::default()).then_some(self.state.position);
        self.emit(Event::Started {
            run_id: self.dir.id(),
            run_dir: self.dir.root.display().to_string(),
            classes: self.classes.clone(),
            data: self.stats.clone(),
            num_parameters: self.model.num_parameters(),
            device: describe(&self.device),
            epochs: self.exp.train.epochs,
            steps_per_epoch: spe,
            batch_size: self.exp.train.batch_size,
            resumed_at,
            config: self.exp.to_toml(),
        });
        if self.embedder.is_some() {
            let faces = EmbeddingFaces::of(&self.val, &self.embedded);
            self.emit(Event::EmbeddingFaces {
                faces: Box::new(faces),
            });
        }
        while self.state.position.epoch < self.exp.train.epochs {
            if !self.train_pass(control)? {
                return self.stop_at(self.state.position);
            }
            if let Some(pos) = self.train_epoch(control)? {
                return self.stop_at(pos);
            }
            let epoch = self.state.position.epoch;
            self.close_epoch(epoch);
            let attention = self.attention_request(epoch);
            let embed = self.embedding_due(epoch);
            let offsets =
                logit_adjust::offsets(&self.stats.train_counts, self.exp.train.logit_adjustment);
            let Some(eval) = evaluate(
                &self.model,
                &self.val,
                self.exp.train.eval_batch_size,
                &self.exp.augment,
                &self.device,
                Some(control),
                Extras {
                    attention: attention.as_ref(),
                    features_of: embed.then_some(self.embedded.as_slice()),
                    tta: Tta::of_setting(self.exp.train.tta, self.exp.augment.crop_padding),
                    prior_offsets: offsets.as_deref(),
                },
            )?
            else {
                // Stopped during evaluation: the epoch's training is kept, evaluation redone.
                let pos = Position {
                    epoch,
                    step: self.steps_per_epoch(),
                };
                self.state.position = pos;
                return self.stop_at(pos);
            };
            if !eval.metrics.loss.is_finite() {
                return Err(Error::Run(format!(
                    "the run diverged: the validation loss became {} at epoch {}; lower \
                     optimizer.lr",
                    eval.metrics.loss,
                    epoch + 1
                )));
            }
            let summary = self.epoch_summary(epoch);
            let score = eval.metrics.overall;
            let improved = self
                .state
                .best
                .as_ref()
                .is_none_or(|b| eval.metrics.improves_on(&b.metrics));
            if improved {
                self.state.best = Some(Best {
                    epoch,
                    score,
                    metrics: eval.metrics.clone(),
                });
            }
            self.state.last = Some(eval.metrics.clone());
            if let Some(snapshot) = eval.attention {
                self.emit(Event::Attention {
                    epoch,
                    snapshot: Box::new(snapshot),
                });
            }
            if let (Some(features), Some(worker)) = (eval.features, self.embedder.as_mut()) {
                worker.submit(EmbeddingJob {
                    epoch,
                    labels: self
                        .embedded
                        .iter()
                        .map(|&i| self.val.labels[i] as u32)
                        .collect(),
                    predictions: self.embedded.iter().map(|&i| eval.predictions[i]).collect(),
                    dim: features.len() / self.embedded.len().max(1),
                    features,
                    indices: self.embedded.clone(),
                    classes: self.classes.len(),
                    seed: self.exp.seed,
                    filter: self.state.filter.clone(),
                });
            }
            self.emit(Event::EpochEnd {
                epoch,
                train: summary,
                val: eval.metrics,
            });
            self.flush_embeddings(false);
            self.state.position = Position {
                epoch: epoch + 1,
                step: 0,
            };
            self.state.sums = EpochSums::default();
            // An epoch the log could not record is not checkpointed either: a resume
            // would find the log without it.
            if let Some(why) = control.fault() {
                return Err(Error::Run(why));
            }
            self.save(improved)?;
        }
        self.flush_embeddings(true);
        let summary = self.summary()?;
        self.emit(Event::Finished {
            summary: summary.clone(),
        });
        Ok(Outcome::Finished(Box::new(summary)))
    }

    /// Saves the run stopped at `pos` and reports it.
    fn stop_at(&mut self, pos: Position) -> Result<Outcome> {
        self.save(false)?;
        self.flush_embeddings(true);
        self.emit(Event::Stopped {
            epoch: pos.epoch,
            step: pos.step,
        });
        Ok(Outcome::Stopped(pos))
    }

    /// The evaluation pass over the training set a method may ask for before an epoch's
    /// steps (ASM's partition). Returns false if a stop request interrupted it.
    fn train_pass(&mut self, control: &Control) -> Result<bool> {
        let epoch = self.state.position.epoch;
        if !self.method.wants_train_pass(epoch) {
            return Ok(true);
        }
        let Some(eval) = evaluate(
            &self.model,
            &self.train,
            self.exp.train.eval_batch_size,
            &self.exp.augment,
            &self.device,
            Some(control),
            Extras::default(),
        )?
        else {
            return Ok(false);
        };
        for note in self
            .method
            .begin_epoch(epoch, &eval.probabilities, &self.train)
        {
            self.emit(Event::log(
                Level::Info,
                format!("epoch {}: {note}", epoch + 1),
            ));
        }
        Ok(true)
    }

    /// Attention is measured every `attention_every` epochs and at the last one.
    fn attention_request(&self, epoch: usize) -> Option<AttentionRequest> {
        let every = self.exp.train.attention_every;
        let last = epoch + 1 == self.exp.train.epochs;
        (every > 0 && ((epoch + 1).is_multiple_of(every) || last)).then(|| AttentionRequest {
            epoch,
            gallery: self.gallery.clone(),
            least_consistent: (self.gallery.len() / 4).max(1),
        })
    }

    /// Embeddings are computed every `embedding_every` epochs and at the last one.
    fn embedding_due(&self, epoch: usize) -> bool {
        let every = self.exp.train.embedding_every;
        let last = epoch + 1 == self.exp.train.epochs;
        every > 0 && ((epoch + 1).is_multiple_of(every) || last)
    }

    /// Sends the embeddings the worker has finished; with `wait`, waits for all of them.
    fn flush_embeddings(&mut self, wait: bool) {
        let Some(worker) = self.embedder.as_mut() else {
            return;
        };
        let done = if wait { worker.drain() } else { worker.ready() };
        for result in done {
            let event = match result {
                Ok(snapshot) => Event::Embedding {
                    epoch: snapshot.epoch,
                    snapshot: Box::new(snapshot),
                },
                Err(e) => Event::log(Level::Warn, format!("embedding failed: {e}")),
            };
            self.emit(event);
        }
    }

    /// Sends the method's end-of-epoch report, once per epoch (a run stopped during
    /// evaluation and resumed does not report twice).
    fn close_epoch(&mut self, epoch: usize) {
        if self.state.closed_epoch == Some(epoch) {
            return;
        }
        let report = self.method.end_epoch(epoch, &self.train);
        self.state.closed_epoch = Some(epoch);
        for note in report.notes {
            self.emit(Event::log(
                Level::Info,
                format!("epoch {}: {note}", epoch + 1),
            ));
        }
        self.state.filter = report.filter;
        if let Some(report) = report.mining {
            self.emit(Event::Mining {
                epoch,
                report: Box::new(report),
            });
        }
    }

    fn summary(&self) -> Result<Summary> {
        let best = self
            .state
            .best
            .clone()
            .ok_or_else(|| Error::Run("the run has no evaluated epoch".into()))?;
        Ok(Summary {
            epochs: self.exp.train.epochs,
            best_epoch: best.epoch,
            best: best.metrics,
            last: self
                .state
                .last
                .clone()
                .unwrap_or_else(|| Metrics::from_confusion(vec![], 0.0)),
            seconds: self.elapsed() as f32,
        })
    }

    fn epoch_summary(&self, epoch: usize) -> TrainSummary {
        let s = &self.state.sums;
        let steps = s.steps.max(1) as f64;
        let spe = self.steps_per_epoch();
        TrainSummary {
            loss: (s.loss / steps) as f32,
            terms: s
                .terms
                .iter()
                .map(|(k, v)| (k.clone(), (v / steps) as f32))
                .collect(),
            accuracy: s.correct as f32 / s.seen.max(1) as f32,
            images_per_sec: (s.seen as f64 / s.compute_secs.max(1e-9)) as f32,
            seconds: (s.compute_secs + s.wait_secs) as f32,
            data_wait_secs: s.wait_secs as f32,
            lr: lr_at(
                &self.exp.schedule,
                self.exp.optimizer.lr,
                epoch,
                spe.saturating_sub(1),
                spe,
                self.exp.train.epochs,
            ),
        }
    }

    /// Trains from the current position to the end of its epoch. Returns the position at
    /// which a stop request interrupted it, if one did.
    fn train_epoch(&mut self, control: &Control) -> Result<Option<Position>> {
        let epoch = self.state.position.epoch;
        self.optimizer.set_lr_scales(epoch_lr_scales(
            &self.lr_scales,
            epoch,
            self.exp.model.freeze_backbone_epochs,
        ));
        let spe = self.steps_per_epoch();
        let exp = &self.exp;
        let spec = BatchSpec {
            order: match exp.train.sampler {
                Sampler::Shuffle => shuffled_order(self.train.len(), exp.seed, epoch),
                Sampler::ClassBalanced => class_balanced_order(
                    &self.train.labels,
                    self.model.num_classes(),
                    exp.seed,
                    epoch,
                ),
            },
            batch_size: exp.train.batch_size,
            start_step: self.state.position.step,
            views: self.method.views(),
            augment: exp.augment.clone(),
            seed: exp.seed,
            epoch,
        };
        let mut prefetch = Prefetcher::spawn(self.train.clone(), spec, 3);
        let (size, channels) = (self.train.size, self.train.channels);
        loop {
            let step = self.state.position.step;
            if step >= spe {
                return Ok(None);
            }
            if control.wait_while_paused(|| self.emit(Event::Paused { epoch, step }))
                && !control.is_stopped()
            {
                self.emit(Event::Resumed { epoch, step });
            }
            if let Some(why) = control.fault() {
                return Err(Error::Run(why));
            }
            if control.is_stopped() {
                return Ok(Some(Position { epoch, step }));
            }
            let t_wait = Instant::now();
            let batch = prefetch.next_batch().ok_or_else(|| {
                Error::Run(format!("the batch stream ended early at step {step}"))
            })?;
            let wait = t_wait.elapsed().as_secs_f64();
            let t_compute = Instant::now();
            let n = batch.len();
            let views = batch
                .views
                .iter()
                .map(|v| Tensor::from_slice(v, (n, channels, size, size), &self.device))
                .collect::<candle_core::Result<Vec<_>>>()?;
            let tensors = BatchTensors {
                views,
                labels: Tensor::from_slice(&batch.labels, n, &self.device)?,
                label_vec: batch.labels.clone(),
                indices: batch.indices.clone(),
            };
            let ctx = StepContext {
                epoch,
                step,
                epochs: self.exp.train.epochs,
                steps_per_epoch: spe,
                seed: seed::derive(
                    self.exp.seed,
                    &[purpose::DROPOUT, epoch as u64, step as u64],
                ),
            };
            let losses = self.method.loss(&self.model, &tensors, &ctx)?;
            let loss = losses.total.to_scalar::<f32>()?;
            let at = || format!("at epoch {} step {}", epoch + 1, step + 1);
            if !loss.is_finite() {
                return Err(Error::Run(format!(
                    "the run diverged: the loss became {loss} {}; lower optimizer.lr",
                    at()
                )));
            }
            let mut grads = losses.total.backward()?;
            if self.exp.optimizer.sam_rho > 0.0 {
                // SAM: the gradient at w + ρ·g/‖g‖, applied at w; the same step context, so
                // dropout and the method's sampling repeat exactly.
                let sam = Sam {
                    rho: self.exp.optimizer.sam_rho,
                };
                let (method, model) = (&mut self.method, &self.model);
                (_, grads) = sam.sharp_gradients(self.optimizer.params(), &grads, || {
                    Ok(method.loss(model, &tensors, &ctx)?.total)
                })?;
            }
            let lr = lr_at(
                &self.exp.schedule,
                self.exp.optimizer.lr,
                epoch,
                step,
                spe,
                self.exp.train.epochs,
            );
            self.optimizer.step(&grads, lr)?;
            self.method.after_step(&self.model, &ctx)?;
            // One pass over the weights after the step catches a non-finite gradient too (it
            // makes its weight non-finite); the run fails before any checkpoint is written.
            if let Some(name) = self.first_non_finite_weight()? {
                return Err(Error::Run(format!(
                    "the run diverged: {name} became non-finite in the step {}; lower \
                     optimizer.lr (the last checkpoint is from before)",
                    at()
                )));
            }
            let preds = crate::compute::method::losses::argmax(&losses.logits)?;
            let sums = &mut self.state.sums;
            sums.loss += loss as f64;
            for (name, t) in &losses.terms {
                *sums.terms.entry(name.to_string()).or_insert(0.0) += t.to_scalar::<f32>()? as f64;
            }
            sums.correct += preds
                .iter()
                .zip(&batch.labels)
                .filter(|(p, l)| p == l)
                .count();
            sums.seen += n;
            sums.steps += 1;
            sums.wait_secs += wait;
            sums.compute_secs += t_compute.elapsed().as_secs_f64();
            self.state.position.step = step + 1;
            if (step + 1).is_multiple_of(self.exp.train.log_every) || step + 1 == spe {
                self.progress(epoch, step + 1, spe, loss, lr);
                self.flush_embeddings(false);
            }
        }
    }

    fn progress(&mut self, epoch: usize, step: usize, spe: usize, loss: f32, lr: f64) {
        let s = &self.state.sums;
        let per_step = (s.compute_secs + s.wait_secs) / s.steps.max(1) as f64;
        let remaining_steps = (spe - step) + (self.exp.train.epochs - epoch - 1) * spe;
        self.emit(Event::Progress {
            epoch,
            step,
            steps: spe,
            loss,
            lr,
            images_per_sec: (s.seen as f64 / s.compute_secs.max(1e-9)) as f32,
            eta_secs: (per_step * remaining_steps as f64) as f32,
        });
    }
}

/// Whether every element of `t` is finite (0·x is 0 for a finite x, NaN otherwise).
fn all_finite(t: &Tensor) -> Result<bool> {
    let zero = (t.to_dtype(candle_core::DType::F32)? * 0.0)?
        .sum_all()?
        .to_dtype(candle_core::DType::F64)?;
    Ok(zero.to_scalar::<f64>()? == 0.0)
}

/// Reads the training state stored in a checkpoint.
pub fn checkpoint_state(path: &std::path::Path) -> Result<(HashMap<String, Tensor>, TrainState)> {
    load_checkpoint(path, &Device::Cpu)
}

/// A checkpoint's tensors on `device` and the training state in its header.
fn load_checkpoint(
    path: &std::path::Path,
    device: &Device,
) -> Result<(HashMap<String, Tensor>, TrainState)> {
    let (tensors, state) = checkpoint::load(path, device)?;
    let state = state.ok_or_else(|| Error::file(path, "no training state in the checkpoint"))?;
    let state = serde_json::from_str(&state)
        .map_err(|e| Error::file(path, format!("unreadable training state: {e}")))?;
    Ok((tensors, state))
}

#[cfg(test)]
mod lr_scale_tests {
    use super::epoch_lr_scales;

    #[test]
    fn the_backbone_is_frozen_for_its_first_epochs_only() {
        let scales = [(0.3, true), (1.0, false), (10.0, false)];
        assert_eq!(epoch_lr_scales(&scales, 0, 2), vec![0.0, 1.0, 10.0]);
        assert_eq!(epoch_lr_scales(&scales, 1, 2), vec![0.0, 1.0, 10.0]);
        assert_eq!(epoch_lr_scales(&scales, 2, 2), vec![0.3, 1.0, 10.0]);
        assert_eq!(epoch_lr_scales(&scales, 0, 0), vec![0.3, 1.0, 10.0]);
    }
}
