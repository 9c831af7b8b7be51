//! RMFER's settings, `method.rmfer.*`: the section with its defaults, each field
//! described once (the editor's form, its ranges), the rules between fields, and what runs
//! recorded before a key existed did.

use serde::{Deserialize, Serialize};

use crate::contract::config::UnlabeledSource;
use crate::contract::config::schema::{Field, Kind, MethodSchema, Range, Widget, defaults_of};
use crate::contract::config::{Experiment, Problem};

pub const KEY: &str = "rmfer";

/// Where ACL's candidate positives and negatives come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContrastPrior {
    /// The clip prior: the other faces of the anchor's frame are candidate positives, the
    /// same person far apart in time candidate negatives.
    #[default]
    Clip,
    /// No prior (the ablation): candidates are random unlabeled faces; the most similar
    /// become positives, the least similar negatives.
    Cosine,
}

/// RMFER (Cho et al.; supp. Table 8 for the defaults). See `compute::method::rmfer`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RmferConfig {
    /// Inter-sample attention learning: the attention classifier's loss (weight λ1).
    pub ial: bool,
    /// Attention-based contrastive learning on the unlabeled clips (weight λ2).
    pub acl: bool,
    pub lambda1: f32,
    pub lambda2: f32,
    /// Temperature τ of the cosine similarities.
    pub tau: f32,
    /// Fraction γ of the candidates the attention filter keeps.
    pub gamma: f32,
    /// Epochs of IAL pre-training before ACL starts.
    pub epoch_pre: usize,
    /// Candidate positives and negatives per anchor (at most; a frame may have fewer).
    pub candidates: usize,
    /// Unlabeled anchors per step.
    pub anchors: usize,
    /// Candidate negatives are the same person at least this many frames away.
    pub min_gap: usize,
    pub prior: ContrastPrior,
    /// Width of the projection head's hidden and output layers.
    pub projection_dim: usize,
}

impl Default for RmferConfig {
    fn default() -> Self {
        Self {
            ial: true,
            acl: true,
            lambda1: 1.0,
            lambda2: 0.1,
            tau: 0.25,
            gamma: 0.1,
            epoch_pre: 3,
            candidates: 50,
            anchors: 16,
            min_gap: 10,
            prior: ContrastPrior::Clip,
            projection_dim: 512,
        }
    }
}

/// The experiment's section, typed.
pub fn of(exp: &Experiment) -> Result<RmferConfig, crate::contract::Error> {
    exp.method.section(KEY)
}

const fn weight(path: &'static str, label: &'static str) -> Field {
    Field::number(
        path,
        label,
        Range::closed(0.0, 1000.0),
        Widget::slider(0.0, 2.0),
    )
}

const FIELDS: &[Field] = &[
    Field::new("method.rmfer.ial", "IAL", Kind::Bool).help("inter-sample attention learning"),
    Field::new("method.rmfer.acl", "ACL", Kind::Bool)
        .help("attention-based contrastive learning on the unlabeled clips"),
    weight("method.rmfer.lambda1", "λ1 (IAL)"),
    weight("method.rmfer.lambda2", "λ2 (ACL)"),
    Field::number(
        "method.rmfer.tau",
        "τ",
        Range::Positive,
        Widget::slider(0.01, 1.0),
    )
    .help("temperature of the cosine similarities"),
    Field::number(
        "method.rmfer.gamma",
        "γ (filter)",
        Range::above(0.0, 1.0),
        Widget::slider(0.01, 1.0),
    )
    .help("share of candidates kept: most similar positives, least similar negatives"),
    Field::count("method.rmfer.epoch_pre", "epoch_pre", 0, u64::MAX)
        .help("epochs of IAL pre-training before ACL starts"),
    Field::count("method.rmfer.candidates", "candidates", 1, 1000)
        .help("candidate positives and negatives per anchor (at most)"),
    Field::count("method.rmfer.anchors", "anchors / step", 1, 1024),
    Field::count("method.rmfer.min_gap", "negative gap", 0, u64::MAX)
        .help("candidate negatives: the same person at least this many frames away"),
    Field::new(
        "method.rmfer.prior",
        "prior",
        Kind::Choice(&["clip", "cosine"]),
    )
    .help("clip: same frame / same person far apart; cosine: similarity only (ablation)"),
    Field::count("method.rmfer.projection_dim", "projection dim", 2, 4096),
];

fn rules(exp: &Experiment, problems: &mut Vec<Problem>) {
    let Ok(r) = of(exp) else { return };
    let mut fail = |path: &str, message: String| {
        problems.push(Problem {
            path: path.into(),
            message,
        })
    };
    if r.prior == ContrastPrior::Cosine && r.candidates < 2 {
        // The cosine prior draws one pool of candidates for every anchor; an anchor drawn
        // into a pool of one has no other face to contrast with.
        fail(
            "method.rmfer.candidates",
            format!(
                "must be at least 2 with prior = \"cosine\", got {}",
                r.candidates
            ),
        );
    }
    if !r.acl {
        return;
    }
    let u = &exp.unlabeled;
    if u.source == UnlabeledSource::None {
        fail(
            "unlabeled.source",
            "RMFER's contrastive learning (method.rmfer.acl) needs unlabeled faces: \
             \"synthetic_clips\" or \"clips\""
                .into(),
        );
    }
    if r.epoch_pre >= exp.train.epochs {
        fail(
            "method.rmfer.epoch_pre",
            format!(
                "contrastive learning starts after epoch_pre; it must be below train.epochs ({}), got {}",
                exp.train.epochs, r.epoch_pre
            ),
        );
    }
    if r.prior == ContrastPrior::Clip && u.people < 2 && u.source == UnlabeledSource::SyntheticClips
    {
        fail(
            "unlabeled.people",
            "the clip prior needs at least 2 people per frame for candidate positives".into(),
        );
    }
}

/// The paper's ablation names.
fn label(exp: &Experiment) -> String {
    let Ok(r) = of(exp) else {
        return "RMFER".into();
    };
    match (r.ial, r.acl, r.prior) {
        (false, false, _) => "RMFER w/o ACL & IAL".into(),
        (true, false, _) => "RMFER w/o ACL".into(),
        (false, true, _) => "RMFER w/o IAL".into(),
        (true, true, ContrastPrior::Clip) => "RMFER".into(),
        (true, true, ContrastPrior::Cosine) => "RMFER, ACL w/o clip prior".into(),
    }
}

pub const SCHEMA: MethodSchema = MethodSchema {
    fields: FIELDS,
    defaults: defaults_of::<RmferConfig>,
    rules,
    label,
    unlabeled: true,
    ..MethodSchema::plain(
        KEY,
        "RMFER: inter-sample attention and attention-based contrastive learning on unlabeled reaction clips (semi-supervised)",
    )
};
