//! SOFT's settings, `method.soft.*`: the section with its defaults, each field
//! described once (the editor's form, its ranges), the rules between fields, and what runs
//! recorded before a key existed did.

use serde::{Deserialize, Serialize};
use toml::{Table, Value};

use crate::contract::config::Experiment;
use crate::contract::config::recorded::fill_missing;
use crate::contract::config::schema::{Field, Kind, MethodSchema, Range, Widget, defaults_of};

pub const KEY: &str = "soft";

/// SOFT: soft label smoothing of a mean teacher's predictions (Lukov et al., ECCV 2022).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SoftConfig {
    /// Smoothing mass ε spread over the classes the teacher finds unlikely.
    pub epsilon: f32,
    /// Classes with teacher probability above τ keep their share; 0 means 1 / classes.
    pub tau: f32,
    /// Weight of the consistency term after its ramp-up.
    pub consistency: f32,
    /// Epochs of the sigmoid ramp-up of the consistency weight.
    pub rampup_epochs: f32,
    /// EMA decay of the teacher's weights.
    pub ema_decay: f32,
    /// The student's SCN-style importance module (the official default): CE on α·logits,
    /// the consistency term on the plain logits. Off = the official `baseline_mt` variant.
    pub student_attention: bool,
    /// Ramp the consistency weight with the fraction of the epoch done (smooth) instead of
    /// the completed epoch count (the official code).
    pub fractional_rampup: bool,
}

impl Default for SoftConfig {
    fn default() -> Self {
        Self {
            epsilon: 0.3,
            tau: 0.0,
            consistency: 10.0,
            rampup_epochs: 5.0,
            ema_decay: 0.999,
            student_attention: true,
            fractional_rampup: false,
        }
    }
}

/// The experiment's section, typed.
pub fn of(exp: &Experiment) -> Result<SoftConfig, crate::contract::Error> {
    exp.method.section(KEY)
}

const FIELDS: &[Field] = &[
    Field::number(
        "method.soft.epsilon",
        "smoothing ε",
        Range::below(0.0, 1.0),
        Widget::slider(0.0, 0.9),
    )
    .help("smoothing mass spread over the classes the teacher finds unlikely"),
    Field::number(
        "method.soft.tau",
        "keep above τ",
        Range::below(0.0, 1.0),
        Widget::slider(0.0, 0.9),
    )
    .help("classes above τ keep their share; 0 = 1 / number of classes"),
    Field::number(
        "method.soft.consistency",
        "consistency weight",
        Range::closed(0.0, 1000.0),
        Widget::slider(0.0, 50.0),
    ),
    Field::number(
        "method.soft.rampup_epochs",
        "ramp-up epochs",
        Range::closed(0.0, 10_000.0),
        Widget::slider(0.0, 50.0),
    ),
    Field::number(
        "method.soft.ema_decay",
        "teacher EMA decay",
        Range::below(0.0, 1.0),
        Widget::slider(0.9, 0.9999),
    ),
    Field::new(
        "method.soft.student_attention",
        "student attention",
        Kind::Bool,
    )
    .help("on: CE on α·logits (official default); off: baseline_mt"),
    Field::new(
        "method.soft.fractional_rampup",
        "fractional ramp-up",
        Kind::Bool,
    )
    .help("off: the weight steps once per epoch, as the official code"),
];

/// SOFT trained the plain student (baseline_mt) with a fractional ramp-up.
fn earlier_behaviour(section: &mut Table) {
    fill_missing(
        section,
        &[
            ("student_attention", Value::from(false)),
            ("fractional_rampup", Value::from(true)),
        ],
    );
}

pub const SCHEMA: MethodSchema = MethodSchema {
    fields: FIELDS,
    defaults: defaults_of::<SoftConfig>,
    earlier_behaviour,
    ..MethodSchema::plain(
        KEY,
        "SOFT: soft label smoothing of a mean teacher's predictions (noisy labels)",
    )
};
