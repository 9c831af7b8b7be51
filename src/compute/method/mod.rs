//! Training methods. A method turns a batch into losses (each term reported separately) and
//! may keep state across epochs; the training loop does everything else.

pub mod asm;
pub mod balance;
pub mod cb;
pub mod ce;
pub mod contrastive;
pub mod eac;
pub mod flip_pair;
#[cfg(test)]
mod gradient_check;
pub mod lnsu;
pub mod losses;
pub mod mining;
pub mod rmfer;
pub mod rul;
pub mod scn;
pub mod soft;
#[cfg(test)]
pub(crate) mod test_support;
pub mod thresholds;

use candle_core::{Device, Result, Tensor, Var};

use crate::compute::data::Split;
use crate::compute::data::augment::View;
use crate::compute::data::unlabeled::Unlabeled;
use crate::compute::model::FerModel;
use crate::contract::config::{Experiment, MethodKind};
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
    pub mining: Option<MiningReport>,
    /// RMFER's attention filter over the epoch's unlabeled anchors.
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

pub trait Method: Send {
    fn name(&self) -> &'static str;

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

/// Builds the experiment's method for `model`, its training split and its unlabeled faces.
pub fn build(
    exp: &Experiment,
    model: &FerModel,
    train: &Split,
    unlabeled: Option<std::sync::Arc<Unlabeled>>,
    device: &Device,
) -> Result<Box<dyn Method>> {
    let classes = model.num_classes();
    let train_len = train.len();
    let counts = || balance::class_counts(&train.labels, classes);
    Ok(match exp.method.name {
        MethodKind::Ce => Box::new(ce::CrossEntropy {
            smoothing: exp.method.label_smoothing,
        }),
        MethodKind::Asm => Box::new(asm::Asm::new(&exp.method.asm, classes, train_len)),
        MethodKind::Scn => Box::new(scn::Scn::new(
            &exp.method.scn,
            model.feature_dim(),
            device,
            exp.seed,
        )?),
        MethodKind::Soft => Box::new(soft::Soft::new(exp, model, device)?),
        MethodKind::Cb => Box::new(cb::ClassBalanced::new(&exp.method.cb, &counts(), device)?),
        MethodKind::Eac => Box::new(eac::Eac::new(exp)),
        MethodKind::Rul => Box::new(rul::Rul::new(&exp.method.rul, model, device, exp.seed)?),
        MethodKind::Lnsu => Box::new(lnsu::Lnsu::new(&exp.method.lnsu, &counts(), device)?),
        MethodKind::Rmfer => Box::new(rmfer::Rmfer::new(
            &exp.method.rmfer,
            &exp.augment,
            model,
            unlabeled,
            device,
            exp.seed,
        )?),
    })
}

/// A method's checkpointed state that does not fit this run (the caller names the file).
pub(crate) fn state_error(message: impl std::fmt::Display) -> crate::compute::Error {
    crate::compute::Error::Run(format!("method state: {message}"))
}
