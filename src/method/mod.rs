//! Training methods. A method turns a batch into losses (each term reported separately) and
//! may keep state across epochs; the training loop does everything else.

pub mod ce;
pub mod losses;

use candle_core::{Device, Result, Tensor, Var};

use crate::config::{Experiment, MethodKind};
use crate::data::augment::View;
use crate::model::FerModel;

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
    /// Seed of this step's random choices (dropout, method sampling).
    pub seed: u64,
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

    /// State kept across epochs, for checkpoints.
    fn state(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    fn load_state(&mut self, _state: &serde_json::Value) -> std::result::Result<(), String> {
        Ok(())
    }
}

/// Builds the experiment's method.
pub fn build(exp: &Experiment, _device: &Device) -> Result<Box<dyn Method>> {
    Ok(match exp.method.name {
        MethodKind::Ce => Box::new(ce::CrossEntropy {
            smoothing: exp.method.label_smoothing,
        }),
    })
}
