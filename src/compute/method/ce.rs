//! The cross-entropy baseline, optionally label-smoothed.

use candle_core::Result;

use super::losses::cross_entropy;
use super::{BatchTensors, Losses, Method, StepContext};
use crate::compute::model::{FerModel, Mode};

pub struct CrossEntropy {
    pub smoothing: f32,
}

impl Method for CrossEntropy {
    fn name(&self) -> &'static str {
        "ce"
    }

    fn loss(
        &mut self,
        model: &FerModel,
        batch: &BatchTensors,
        ctx: &StepContext,
    ) -> Result<Losses> {
        let out = model.forward(&batch.views[0], Mode::Train { seed: ctx.seed })?;
        let ce = cross_entropy(&out.logits, &batch.labels, self.smoothing)?;
        Ok(Losses {
            total: ce.clone(),
            terms: vec![("ce", ce)],
            logits: out.logits,
        })
    }
}
