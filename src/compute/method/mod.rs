//! Training methods. A method turns a batch into losses (each term reported separately) and
//! may keep state across epochs; the training loop does everything else.
//!
//! Each method is one module: its settings section with defaults, the description of each
//! of its fields (from which the editor draws its form and validation takes ranges), the
//! rules between them, its name in tables, what runs recorded before a key existed did
//! (all in its [`MethodSchema`]), its [`Method`], and an [`Entry`] tying them together.
//! [`REGISTRY`] lists the entries; the trainer, the contract and the views reach a method
//! only through it. What a method adds to an epoch's events is one of the report kinds the
//! contract's events name by what they show (`mining`: a threshold partition; `filter`: a
//! contrastive filter against hidden truth) or a log line, so a new method that reports
//! one of them touches nothing else.

pub mod asm;
pub mod balance;
pub mod cb;
pub mod ce;
pub mod eac;
pub mod flip_pair;
#[cfg(test)]
mod gradient_check;
pub mod lnsu;
pub mod losses;
#[cfg(test)]
mod registry_tests;
pub mod rmfer;
pub mod rul;
pub mod scn;
pub mod soft;
#[cfg(test)]
pub(crate) mod test_support;

use candle_core::{Device, Result, Tensor, Var};

use crate::compute::data::Split;
use crate::compute::data::augment::View;
use crate::compute::data::unlabeled::Unlabeled;
use crate::compute::model::{FerModel, HeadSpec};
use crate::contract::config::{Experiment, MethodSchema, Methods};
use crate::contract::event::MiningReport;

/// A batch on the device: one tensor per requested view, given labels, dataset indices.
pub struct BatchTensors {
    pub views: Vec<Tensor>,
    pub labels: Tensor,
    pub label_vec: Vec<u32>,
    pub indices: Vec<usize>,
}

/// Where in the run a step happens.
#[derive(Debug, Clone, Copy)]
pub struct StepContext {
    pub epoch: usize,
    pub step: usize,
    pub epochs: usize,
    pub steps_per_epoch: usize,
    /// Seed of this step's random choices (dropout, method sampling).
    pub seed: u64,
}

impl StepContext {
    /// Epochs completed so far, with the fraction of the current one.
    pub fn epoch_progress(&self) -> f64 {
        self.epoch as f64 + self.step as f64 / self.steps_per_epoch.max(1) as f64
    }

    /// Fraction of the whole run completed, in [0, 1].
    pub fn run_progress(&self) -> f64 {
        (self.epoch_progress() / self.epochs.max(1) as f64).clamp(0.0, 1.0)
    }
}

/// What a method reports at the end of an epoch's training.
#[derive(Debug, Default)]
pub struct EpochReport {
    /// Per-class thresholds and the partition they made (ASM's mining).
    pub mining: Option<MiningReport>,
    /// A contrastive filter's picks against hidden truth (RMFER's over its unlabeled
    /// anchors); sent with the epoch's embedding.
    pub filter: Option<crate::contract::event::FilterReport>,
    /// Lines for the run's log.
    pub notes: Vec<String>,
}

/// The losses of one step.
pub struct Losses {
    /// What is minimised.
    pub total: Tensor,
    /// Each named term (scalars), reported separately.
    pub terms: Vec<(&'static str, Tensor)>,
    /// Logits of the first view, for training accuracy.
    pub logits: Tensor,
}

impl Losses {
    /// A loss of one named term, which is also the total.
    pub fn single(name: &'static str, loss: Tensor, logits: Tensor) -> Self {
        Self {
            total: loss.clone(),
            terms: vec![(name, loss)],
            logits,
        }
    }
}

pub trait Method: Send {
    /// The views each batch carries; the first is the one accuracy is measured on.
    fn views(&self) -> Vec<View> {
        vec![View::Train]
    }

    fn loss(&mut self, model: &FerModel, batch: &BatchTensors, ctx: &StepContext)
    -> Result<Losses>;

    /// Trainable tensors the method adds to the model (heads, branches).
    fn extra_params(&self) -> Vec<(String, Var)> {
        Vec::new()
    }

    /// The learning rate of the trainable tensor `name` (of the model or the method) as a
    /// multiple of the optimiser's.
    fn lr_scale(&self, _name: &str) -> f64 {
        1.0
    }

    /// Tensors the method keeps but does not train (a teacher's weights); saved in
    /// checkpoints.
    fn buffers(&self) -> Vec<(String, Var)> {
        Vec::new()
    }

    /// Whether the method needs, before epoch `epoch`'s steps, the evaluation-mode
    /// probabilities of every training sample (an extra pass over the training set, handed
    /// to `begin_epoch`). Asked again after a resume; a method that already has them for
    /// the epoch says no.
    fn wants_train_pass(&self, _epoch: usize) -> bool {
        false
    }

    /// Receives the pass `wants_train_pass` asked for: softmax probabilities, row-major
    /// `N × K` in training-set order. Returns lines for the run's log.
    fn begin_epoch(
        &mut self,
        _epoch: usize,
        _probabilities: &[f32],
        _train: &Split,
    ) -> Vec<String> {
        Vec::new()
    }

    /// Called after each optimiser step (e.g. to move a teacher towards the model).
    fn after_step(&mut self, _model: &FerModel, _ctx: &StepContext) -> Result<()> {
        Ok(())
    }

    /// Called when an epoch's training ends, before evaluation.
    fn end_epoch(&mut self, _epoch: usize, _train: &Split) -> EpochReport {
        EpochReport::default()
    }

    /// State kept across epochs, for checkpoints.
    fn state(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    fn load_state(&mut self, _state: &serde_json::Value) -> crate::compute::Result<()> {
        Ok(())
    }
}

/// What a method is built from.
pub struct Build<'a> {
    pub exp: &'a Experiment,
    pub model: &'a FerModel,
    pub train: &'a Split,
    pub unlabeled: Option<std::sync::Arc<Unlabeled>>,
    pub device: &'a Device,
}

impl Build<'_> {
    /// Training samples per class.
    pub fn class_counts(&self) -> Vec<usize> {
        balance::class_counts(&self.train.labels, self.model.num_classes())
    }
}

/// One method as the rest of ferlab sees it: its settings' schema (for the contract, the
/// editor and the tables), how to build it, and the classifier head it asks the model for.
pub struct Entry {
    pub schema: MethodSchema,
    pub build: fn(Build<'_>) -> crate::compute::Result<Box<dyn Method>>,
    pub head: fn(&Experiment) -> crate::compute::Result<HeadSpec>,
}

/// The classifier on pooled features, the head of every method but RUL's official one.
pub fn pooled_head(_: &Experiment) -> crate::compute::Result<HeadSpec> {
    Ok(HeadSpec::Pooled)
}

/// Every method an experiment may name. Adding a method: its module (its settings'
/// `MethodSchema`, its `Method`, an `ENTRY`) and one line here.
pub struct Registry(&'static [Entry]);

pub static REGISTRY: Registry = Registry(&[
    ce::ENTRY,
    asm::ENTRY,
    scn::ENTRY,
    soft::ENTRY,
    cb::ENTRY,
    eac::ENTRY,
    rul::ENTRY,
    lnsu::ENTRY,
    rmfer::ENTRY,
]);

impl Registry {
    pub fn entry(&self, key: &str) -> crate::compute::Result<&Entry> {
        self.0.iter().find(|e| e.schema.key == key).ok_or_else(|| {
            crate::compute::Error::Run(format!(
                "method.name: unknown method {key:?}; one of {}",
                self.keys().join(", ")
            ))
        })
    }
}

impl Methods for Registry {
    fn schemas(&self) -> Vec<&MethodSchema> {
        self.0.iter().map(|e| &e.schema).collect()
    }
}

/// Builds the experiment's method for `model`, its training split and its unlabeled faces.
pub fn build(
    exp: &Experiment,
    model: &FerModel,
    train: &Split,
    unlabeled: Option<std::sync::Arc<Unlabeled>>,
    device: &Device,
) -> crate::compute::Result<Box<dyn Method>> {
    let entry = REGISTRY.entry(&exp.method.name)?;
    (entry.build)(Build {
        exp,
        model,
        train,
        unlabeled,
        device,
    })
}

/// The classifier head the experiment's method asks the model for.
pub fn head_of(exp: &Experiment) -> crate::compute::Result<HeadSpec> {
    (REGISTRY.entry(&exp.method.name)?.head)(exp)
}

/// A method's checkpointed state that does not fit this run (the caller names the file).
pub(crate) fn state_error(message: impl std::fmt::Display) -> crate::compute::Error {
    crate::compute::Error::Run(format!("method state: {message}"))
}
