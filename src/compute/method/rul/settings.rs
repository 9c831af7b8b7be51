//! RUL's settings, `method.rul.*`: the section with its defaults, each field
//! described once (the editor's form, its ranges), the rules between fields, and what runs
//! recorded before a key existed did.

use serde::{Deserialize, Serialize};
use toml::{Table, Value};

use crate::contract::config::Experiment;
use crate::contract::config::recorded::fill_missing;
use crate::contract::config::schema::{
    Field, Kind, MethodSchema, Range, When, Widget, defaults_of,
};

pub const KEY: &str = "rul";

/// Where RUL's mixed embedding and its uncertainty come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RulArchitecture {
    /// The official code: twin heads on the flattened last feature map (BatchNorm2d without
    /// affine → dropout → linear → BatchNorm1d), one the embedding the classifier reads,
    /// the other the log-variance; the classifier has its own learning-rate scale.
    #[default]
    Official,
    /// The pooled features are mixed and classified by the model's head; one linear layer
    /// gives the log-variance (ferlab's first reading of the paper).
    Pooled,
}

/// Relative uncertainty learning (Zhang et al., NeurIPS 2021).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RulConfig {
    pub architecture: RulArchitecture,
    /// Width of the embedding and of the log-variance whose mean exp is a sample's
    /// uncertainty (the official `out_dim`, 64).
    pub uncertainty_dim: usize,
    /// Weight each label's loss by the relative uncertainty (the paper) instead of ½ each
    /// (the official code's "add-up" loss).
    pub relative_loss: bool,
    /// Dropout of the official heads (0.4).
    pub head_dropout: f32,
    /// The classifier's learning rate as a multiple of the optimiser's (official: 10).
    pub classifier_lr_scale: f64,
}

impl Default for RulConfig {
    fn default() -> Self {
        Self {
            architecture: RulArchitecture::Official,
            uncertainty_dim: 64,
            relative_loss: false,
            head_dropout: 0.4,
            classifier_lr_scale: 10.0,
        }
    }
}

/// The experiment's section, typed.
pub fn of(exp: &Experiment) -> Result<RulConfig, crate::contract::Error> {
    exp.method.section(KEY)
}

const FIELDS: &[Field] = &[
    Field::new(
        "method.rul.architecture",
        "architecture",
        Kind::Choice(&["official", "pooled"]),
    )
    .help("official: twin heads on the flattened feature map; pooled: ferlab's first reading"),
    Field::number(
        "method.rul.head_dropout",
        "head dropout",
        Range::below(0.0, 1.0),
        Widget::slider(0.0, 0.9),
    )
    .when(&[When {
        path: "method.rul.architecture",
        is: &["official"],
    }]),
    Field::number(
        "method.rul.classifier_lr_scale",
        "classifier lr ×",
        Range::open(0.0, 1e6),
        Widget::Drag { speed: 0.1 },
    )
    .help("the classifier's learning rate as a multiple of the optimiser's (official: 10)"),
    Field::count("method.rul.uncertainty_dim", "uncertainty width", 1, 4096),
    Field::new(
        "method.rul.relative_loss",
        "uncertainty-weighted loss",
        Kind::Bool,
    )
    .help("off = ½ each label, as the official code"),
];

/// RUL mixed pooled features with one linear log-variance layer, at one learning rate.
fn earlier_behaviour(section: &mut Table) {
    fill_missing(
        section,
        &[
            ("architecture", Value::from("pooled")),
            ("classifier_lr_scale", Value::from(1.0)),
        ],
    );
}

pub const SCHEMA: MethodSchema = MethodSchema {
    fields: FIELDS,
    defaults: defaults_of::<RulConfig>,
    earlier_behaviour,
    ..MethodSchema::plain(
        KEY,
        "Relative uncertainty learning: uncertainty-weighted feature mixup (imbalance)",
    )
};
