//! SCN's settings, `method.scn.*`: the section with its defaults, each field
//! described once (the editor's form, its ranges), the rules between fields, and what runs
//! recorded before a key existed did.

use serde::{Deserialize, Serialize};
use toml::{Table, Value};

use crate::contract::config::Experiment;
use crate::contract::config::recorded::fill_missing;
use crate::contract::config::schema::{Field, Kind, MethodSchema, Range, Widget, defaults_of};

pub const KEY: &str = "scn";

/// Which samples of a batch SCN may relabel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelabelScope {
    /// Every sample of the batch (the official code).
    #[default]
    Batch,
    /// Only the low-importance group (the paper's wording).
    LowGroup,
}

/// Self-Cure Network (Wang et al., CVPR 2020).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScnConfig {
    /// Fraction of each batch in the high-importance group (its size ⌊ratio·n⌋, at least 1).
    pub high_ratio: f32,
    /// Margin δ1 between the mean importance of the high and low groups.
    pub margin: f32,
    /// Weight γ of the rank regularisation.
    pub rank_weight: f32,
    /// First epoch, counted from 1 as the official `--relabel_epoch`, whose samples may be
    /// relabelled (10: the tenth epoch, ferlab's 0-based epoch 9).
    pub relabel_epoch: usize,
    /// Relabel when max_k p_k − p_y exceeds this margin δ2.
    pub relabel_margin: f32,
    pub relabel_scope: RelabelScope,
}

impl Default for ScnConfig {
    fn default() -> Self {
        Self {
            high_ratio: 0.7,
            margin: 0.15,
            rank_weight: 1.0,
            relabel_epoch: 10,
            relabel_margin: 0.2,
            relabel_scope: RelabelScope::Batch,
        }
    }
}

/// The experiment's section, typed.
pub fn of(exp: &Experiment) -> Result<ScnConfig, crate::contract::Error> {
    exp.method.section(KEY)
}

const FIELDS: &[Field] = &[
    Field::number(
        "method.scn.high_ratio",
        "high-group ratio β",
        Range::open(0.0, 1.0),
        Widget::slider(0.05, 0.95),
    )
    .help("share of each batch in the high-importance group (⌊β·n⌋, at least 1)"),
    Field::number(
        "method.scn.margin",
        "rank margin δ1",
        Range::closed(0.0, 1.0),
        Widget::slider(0.0, 1.0),
    ),
    Field::number(
        "method.scn.rank_weight",
        "rank weight γ",
        Range::closed(0.0, 100.0),
        Widget::slider(0.0, 5.0),
    ),
    Field::count(
        "method.scn.relabel_epoch",
        "relabel from epoch",
        0,
        u64::MAX,
    )
    .help("counted from 1, as the official --relabel_epoch"),
    Field::number(
        "method.scn.relabel_margin",
        "relabel margin δ2",
        Range::closed(0.0, 1.0),
        Widget::slider(0.0, 1.0),
    ),
    Field::new(
        "method.scn.relabel_scope",
        "relabel",
        Kind::Choice(&["batch", "low_group"]),
    )
    .help("batch: any sample (official code); low_group: the paper's wording"),
];

/// SCN relabelled within the low-importance group only, and its relabel_epoch counted
/// from 0 (from 1 now, as the official flag).
fn earlier_behaviour(section: &mut Table) {
    if !section.contains_key("relabel_scope")
        && let Some(Value::Integer(e)) = section.get_mut("relabel_epoch")
    {
        *e += 1;
    }
    fill_missing(section, &[("relabel_scope", Value::from("low_group"))]);
}

pub const SCHEMA: MethodSchema = MethodSchema {
    fields: FIELDS,
    defaults: defaults_of::<ScnConfig>,
    earlier_behaviour,
    per_sample_state: true,
    ..MethodSchema::plain(
        KEY,
        "Self-Cure Network: importance weighting, rank regularisation and relabelling (noisy labels)",
    )
};
