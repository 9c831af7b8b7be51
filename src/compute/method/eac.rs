//! EAC — erasing attention consistency (Zhang et al., ECCV 2022;
//! zyh-uaiaaaa/Erasing-Attention-Consistency). The batch is the randomly erased training
//! view x1 (the preset's `augment.erase_prob`) and a mirrored view x2. Loss =
//! CE(x1) + λ · MSE(M(x1), flip(M(x2))) averaged over samples, classes and map cells
//! (`F.mse_loss` with its default mean in `src/loss.py`).
//!
//! How x2 is made follows the official `src/dataset.py`, which has two paths: with the
//! clean label list, x2 = flip(x1), the augmented view mirrored, erasing and all
//! (`second_view = "mirror"`); with a noisy label list, x2 is the raw face mirrored and
//! transformed on its own, with its own random erasing, while x1 is never randomly flipped
//! (`"separate"`; ferlab's other augmentations — crop, brightness — are drawn separately for
//! each view too, and the official Gaussian noise on x1 is not reproduced). The default,
//! `"auto"`, takes the official code's path for the run: separate when the training labels
//! are noisy (injected noise or a noisy label list), mirror otherwise.

use candle_core::Result;

use super::flip_pair::{forward_pair, forward_with_flip};
use super::losses::cross_entropy;
use super::{BatchTensors, Losses, Method, StepContext};
use crate::compute::data::augment::View;
use crate::compute::model::FerModel;
use crate::contract::config::{EacConfig, EacSecondView, Experiment, NoiseKind};

pub struct Eac {
    pub cfg: EacConfig,
    /// Whether x2 is augmented on its own (the official noisy-label path).
    pub separate: bool,
}

impl Eac {
    pub fn new(exp: &Experiment) -> Self {
        let noisy = (exp.corruption.noise != NoiseKind::None && exp.corruption.noise_rate > 0.0)
            || exp.data.noisy_labels.is_some();
        let separate = match exp.method.eac.second_view {
            EacSecondView::Auto => noisy,
            EacSecondView::Mirror => false,
            EacSecondView::Separate => true,
        };
        Self {
            cfg: exp.method.eac.clone(),
            separate,
        }
    }
}

impl Method for Eac {
    fn name(&self) -> &'static str {
        "eac"
    }

    fn views(&self) -> Vec<View> {
        if self.separate {
            vec![View::TrainUnflipped, View::TrainMirrored]
        } else {
            vec![View::Train]
        }
    }

    fn loss(
        &mut self,
        model: &FerModel,
        batch: &BatchTensors,
        ctx: &StepContext,
    ) -> Result<Losses> {
        let pair = if self.separate {
            forward_pair(model, &batch.views[0], &batch.views[1], ctx.seed)?
        } else {
            forward_with_flip(model, &batch.views[0], ctx.seed)?
        };
        let ce = cross_entropy(&pair.out.logits, &batch.labels, 0.0)?;
        let consistency = (pair.flip_mse.mean_all()? * self.cfg.lambda as f64)?;
        Ok(Losses {
            total: (&ce + &consistency)?,
            terms: vec![("ce", ce), ("flip_consistency", consistency)],
            logits: pair.out.logits,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_view_follows_the_official_path_for_the_labels() {
        let mut exp = Experiment::default();
        exp.method.name = crate::contract::config::MethodKind::Eac;
        assert_eq!(Eac::new(&exp).views(), vec![View::Train]);
        exp.corruption.noise = NoiseKind::Symmetric;
        exp.corruption.noise_rate = 0.3;
        assert_eq!(
            Eac::new(&exp).views(),
            vec![View::TrainUnflipped, View::TrainMirrored]
        );
        exp.method.eac.second_view = EacSecondView::Mirror;
        assert_eq!(Eac::new(&exp).views(), vec![View::Train]);
        exp.corruption.noise = NoiseKind::None;
        exp.method.eac.second_view = EacSecondView::Separate;
        assert!(Eac::new(&exp).separate);
    }
}
