//! The cross-entropy baseline, optionally label-smoothed.

use candle_core::Result;

use super::losses::cross_entropy;
use super::{BatchTensors, Losses, Method, StepContext};
use crate::compute::model::{FerModel, Mode};
use crate::contract::config::schema::{Field, Kind, MethodSchema, Range, Widget};

/// Cross-entropy has no section of its own: its one setting is `method.label_smoothing`.
const FIELDS: &[Field] = &[Field::new(
    "method.label_smoothing",
    "label smoothing",
    Kind::Number {
        range: Range::below(0.0, 1.0),
        widget: Widget::slider(0.0, 0.5),
    },
)
.help("ε of the smoothed targets (1 − ε on the label, ε spread over all classes)")];

pub const ENTRY: super::Entry = super::Entry {
    schema: MethodSchema {
        fields: FIELDS,
        ..MethodSchema::plain("ce", "Cross-entropy baseline, optionally label-smoothed")
    },
    build: |b| {
        Ok(Box::new(CrossEntropy {
            smoothing: b.exp.method.label_smoothing,
        }))
    },
    head: super::pooled_head,
};

pub struct CrossEntropy {
    pub smoothing: f32,
}

impl Method for CrossEntropy {
    fn loss(
        &mut self,
        model: &FerModel,
        batch: &BatchTensors,
        ctx: &StepContext,
    ) -> Result<Losses> {
        let out = model.forward(&batch.views[0], Mode::Train { seed: ctx.seed })?;
        let ce = cross_entropy(&out.logits, &batch.labels, self.smoothing)?;
        Ok(Losses::single("ce", ce, out.logits))
    }
}
