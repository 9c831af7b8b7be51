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

use candle_core::{Result, Tensor};

use super::flip_pair::{FlipPair, forward_pair, forward_with_flip};
use super::losses::cross_entropy;
use super::{BatchTensors, Losses, Method, StepContext};
use crate::compute::data::augment::View;
use crate::compute::model::FerModel;
use serde::{Deserialize, Serialize};
use toml::{Table, Value};

use crate::contract::config::recorded::fill_missing;
use crate::contract::config::schema::{Field, Kind, MethodSchema, Range, Widget, defaults_of};
use crate::contract::config::{Experiment, NoiseKind};

pub struct Eac {
    pub cfg: EacConfig,
    /// Whether x2 is augmented on its own (the official noisy-label path).
    pub separate: bool,
}

pub const KEY: &str = "eac";

/// How EAC builds the second, mirrored view x2 of each training face.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EacSecondView {
    /// As the official code: `separate` when the training labels are noisy (injected noise
    /// or a noisy label list), `mirror` otherwise.
    #[default]
    Auto,
    /// x2 = flip(x1): the augmented view mirrored, erasing and all (the official
    /// clean-label path).
    Mirror,
    /// x2 = the mirrored raw face augmented on its own (its own crop and erasing); x1 is
    /// never randomly flipped (the official noisy-label path).
    Separate,
}

/// Erasing attention consistency (Zhang et al., ECCV 2022).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EacConfig {
    /// Weight λ of the flip-consistency loss between class activation maps.
    pub lambda: f32,
    /// How the mirrored view is made.
    pub second_view: EacSecondView,
}

impl Default for EacConfig {
    fn default() -> Self {
        Self {
            lambda: 5.0,
            second_view: EacSecondView::Auto,
        }
    }
}

const FIELDS: &[Field] = &[
    Field::new(
        "method.eac.lambda",
        "consistency λ",
        Kind::Number {
            range: Range::closed(0.0, 1000.0),
            widget: Widget::slider(0.0, 20.0),
        },
    )
    .help("weight of the flip consistency of the class activation maps"),
    Field::new(
        "method.eac.second_view",
        "mirrored view",
        Kind::Choice(&["auto", "mirror", "separate"]),
    )
    .help(
        "auto: separate for noisy labels, mirror otherwise (official); mirror: flip of the \
         augmented view; separate: the mirrored face augmented on its own",
    ),
];

/// EAC mirrored the augmented view.
fn earlier_behaviour(section: &mut Table) {
    fill_missing(section, &[("second_view", Value::from("mirror"))]);
}

pub const ENTRY: super::Entry = super::Entry {
    schema: MethodSchema {
        fields: FIELDS,
        flip_consistency: true,
        defaults: defaults_of::<EacConfig>,
        earlier_behaviour,
        ..MethodSchema::plain(
            KEY,
            "Erasing attention consistency: class activation maps consistent under flips of erased faces",
        )
    },
    build: |b| Ok(Box::new(Eac::new(b.exp, &b.exp.method.section(KEY)?))),
    head: super::pooled_head,
};

impl Eac {
    pub fn new(exp: &Experiment, cfg: &EacConfig) -> Self {
        let noisy = (exp.corruption.noise != NoiseKind::None && exp.corruption.noise_rate > 0.0)
            || exp.data.noisy_labels.is_some();
        let separate = match cfg.second_view {
            EacSecondView::Auto => noisy,
            EacSecondView::Mirror => false,
            EacSecondView::Separate => true,
        };
        Self {
            cfg: cfg.clone(),
            separate,
        }
    }
}

impl Method for Eac {
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
        eac_losses(pair, &batch.labels, self.cfg.lambda)
    }
}

/// CE of the first view + λ · the flip consistency averaged over samples, classes and cells.
pub fn eac_losses(pair: FlipPair, labels: &Tensor, lambda: f32) -> Result<Losses> {
    let ce = cross_entropy(&pair.out.logits, labels, 0.0)?;
    let consistency = (pair.flip_mse.mean_all()? * lambda as f64)?;
    Ok(Losses {
        total: (&ce + &consistency)?,
        terms: vec![("ce", ce), ("flip_consistency", consistency)],
        logits: pair.out.logits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_view_follows_the_official_path_for_the_labels() {
        let mut exp = Experiment::default();
        let view = |second_view| EacConfig {
            second_view,
            ..EacConfig::default()
        };
        let auto = view(EacSecondView::Auto);
        assert_eq!(Eac::new(&exp, &auto).views(), vec![View::Train]);
        exp.corruption.noise = NoiseKind::Symmetric;
        exp.corruption.noise_rate = 0.3;
        assert_eq!(
            Eac::new(&exp, &auto).views(),
            vec![View::TrainUnflipped, View::TrainMirrored]
        );
        let mirror = view(EacSecondView::Mirror);
        assert_eq!(Eac::new(&exp, &mirror).views(), vec![View::Train]);
        exp.corruption.noise = NoiseKind::None;
        assert!(Eac::new(&exp, &view(EacSecondView::Separate)).separate);
    }
}
