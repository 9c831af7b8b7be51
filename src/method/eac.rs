//! EAC — erasing attention consistency (Zhang et al., ECCV 2022;
//! zyh-uaiaaaa/Erasing-Attention-Consistency). The batch is the randomly erased training
//! view x1 (the preset's `augment.erase_prob`); x2 is its mirror image. Loss =
//! CE(x1) + λ · MSE(M(x1), flip(M(x2))) averaged over samples, classes and map cells
//! (`F.mse_loss` with its default mean in `src/loss.py`).

use candle_core::Result;

use super::flip_pair::forward_with_flip;
use super::losses::cross_entropy;
use super::{BatchTensors, Losses, Method, StepContext};
use crate::config::EacConfig;
use crate::model::FerModel;

pub struct Eac {
    pub cfg: EacConfig,
}

impl Method for Eac {
    fn name(&self) -> &'static str {
        "eac"
    }

    fn loss(
        &mut self,
        model: &FerModel,
        batch: &BatchTensors,
        ctx: &StepContext,
    ) -> Result<Losses> {
        let pair = forward_with_flip(model, &batch.views[0], ctx.seed)?;
        let ce = cross_entropy(&pair.out.logits, &batch.labels, 0.0)?;
        let consistency = (pair.flip_mse.mean_all()? * self.cfg.lambda as f64)?;
        Ok(Losses {
            total: (&ce + &consistency)?,
            terms: vec![("ce", ce), ("flip_consistency", consistency)],
            logits: pair.out.logits,
        })
    }
}
