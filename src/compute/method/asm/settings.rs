//! ASM's settings, `method.asm.*`: the section with its defaults, each field described
//! once (the editor's form, its ranges), the rules between fields, the name tables give a
//! run, and what runs recorded before a key existed did.

use serde::{Deserialize, Serialize};
use toml::{Table, Value};

use crate::contract::config::recorded::fill_missing;
use crate::contract::config::schema::{
    Field, Kind, MethodSchema, Range, When, Widget, defaults_of,
};
use crate::contract::config::{Experiment, Problem};

pub const KEY: &str = "asm";

/// How ASM's per-class thresholds are set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdMode {
    /// Adaptive thresholds from each class's mean probability (AT).
    Adaptive,
    /// The base pair for every class (FT, the ablation).
    Fixed,
}

/// Where ASM's partition into clean, ambiguous and noisy sets comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AsmPartition {
    /// Mined on the fly from each batch's training-mode predictions, with the thresholds
    /// of the previous epoch. The default: it measured better than the evaluation pass
    /// (README, "Measured results"), and the ASM text allows either.
    #[default]
    Online,
    /// An evaluation-mode pass over the training set at the start of each epoch, without
    /// gradients (MAN's `eval_train`); the epoch trains on that partition.
    EvalPass,
}

/// The schedule λ of ASM's ambiguous-set loss, (1 − λ)·CE + λ·mutual.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MutualityRamp {
    /// MAN's `Mutual_loss`: λ = λ_max·exp(−β·(1 − e / (0.9·E))²), e the epoch counted
    /// from 1, E the number of epochs.
    #[default]
    Man,
    /// λ = exp(−5·β·(1 − t)²) over the run's progress t (ferlab's earlier reading).
    Progress,
}

/// ASM's unsupervised consistency loss on the noisy set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoisyLoss {
    /// Mean squared error between the two views' softmax (MAN).
    #[default]
    Mse,
    /// KL(p_weak ‖ p_strong) (ferlab's earlier reading).
    Kl,
}

/// How ASM's per-sample losses of a set become the set's term.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetReduction {
    /// The mean over the set's samples (MAN): each set weighs the same whatever its size.
    #[default]
    SetMean,
    /// The sum over the set divided by the batch size: a set weighs by its share.
    Batch,
}

/// Adaptive Sample Mining (arXiv 2310.05618). See `compute::method::asm` for the formulas, what
/// follows the authors' MAN code and what is ferlab's choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AsmConfig {
    pub thresholds: ThresholdMode,
    /// Base noisy threshold T_n.
    pub noisy_threshold: f32,
    /// Base clean threshold T_c.
    pub clean_threshold: f32,
    /// Weight of the previous epochs in the class-mean probability (EMA momentum).
    pub momentum: f32,
    /// Divide each class mean by the largest one, so the easiest class gets the base pair.
    pub normalize: bool,
    /// Where the partition comes from: an evaluation pass at each epoch start or online.
    pub partition: AsmPartition,
    /// Epochs of plain cross-entropy before mining starts (every sample counts as clean).
    pub warmup_epochs: usize,
    /// The schedule of the mutuality weight λ.
    pub ramp: MutualityRamp,
    /// λ_max of MAN's ramp.
    pub lambda_max: f32,
    /// Shape of the ramp-up of the mutuality term (smaller = faster transition).
    pub beta: f32,
    /// Weight ω of the mutuality loss on ambiguous samples.
    pub omega: f32,
    /// Weight γ of the unsupervised consistency loss on noisy samples.
    pub gamma: f32,
    /// The noisy set's consistency loss.
    pub noisy_loss: NoisyLoss,
    /// Detach each view's prediction where it serves as the other's target (false: the
    /// gradient flows through both, as MAN).
    pub stop_gradient: bool,
    /// How each set's per-sample losses are reduced.
    pub reduction: SetReduction,
}

impl Default for AsmConfig {
    fn default() -> Self {
        Self {
            thresholds: ThresholdMode::Adaptive,
            noisy_threshold: 0.2,
            clean_threshold: 0.8,
            momentum: 0.5,
            normalize: false,
            partition: AsmPartition::Online,
            warmup_epochs: 1,
            ramp: MutualityRamp::Man,
            lambda_max: 0.9,
            beta: 0.65,
            omega: 0.6,
            gamma: 1.0,
            noisy_loss: NoisyLoss::Mse,
            stop_gradient: false,
            reduction: SetReduction::SetMean,
        }
    }
}

/// The experiment's ASM section, typed.
pub fn of(exp: &Experiment) -> Result<AsmConfig, crate::contract::Error> {
    exp.method.section(KEY)
}

const ADAPTIVE: &[When] = &[When {
    path: "method.asm.thresholds",
    is: &["adaptive"],
}];

const fn weight(path: &'static str, label: &'static str) -> Field {
    Field::new(
        path,
        label,
        Kind::Number {
            range: Range::closed(0.0, 100.0),
            widget: Widget::slider(0.0, 5.0),
        },
    )
}

const FIELDS: &[Field] = &[
    Field::new("method.asm.thresholds", "thresholds", Kind::Choice(&["adaptive", "fixed"]))
        .help("adaptive: per-class pairs from each class's mean probability (AT); fixed: the base pair for every class (FT)"),
    Field::new(
        "method.asm.noisy_threshold",
        "noisy threshold T_n",
        Kind::Number {
            range: Range::below(0.0, 1.0),
            widget: Widget::slider(0.0, 0.99),
        },
    ),
    Field::new(
        "method.asm.clean_threshold",
        "clean threshold T_c",
        Kind::Number {
            range: Range::closed(0.0, 1.0),
            widget: Widget::slider(0.01, 1.0),
        },
    ),
    Field::new(
        "method.asm.momentum",
        "class-mean momentum",
        Kind::Number {
            range: Range::below(0.0, 1.0),
            widget: Widget::slider(0.0, 0.99),
        },
    )
    .help("weight of the previous epochs in each class's mean probability (EMA)")
    .when(ADAPTIVE),
    Field::new("method.asm.normalize", "normalise by max", Kind::Bool)
        .help("divide each class mean by the largest, so the easiest class gets the base pair")
        .when(ADAPTIVE),
    Field::new(
        "method.asm.partition",
        "partition",
        Kind::Choice(&["online", "eval_pass"]),
    )
    .help(
        "online: mined from each batch's training-mode predictions; eval_pass: an \
         evaluation pass over the training set at each epoch start (MAN)",
    ),
    Field::new(
        "method.asm.warmup_epochs",
        "warm-up epochs",
        Kind::Count {
            min: 0,
            max: u64::MAX,
        },
    )
    .help("epochs of plain cross-entropy before mining starts (MAN: a tenth of the run)"),
    Field::new("method.asm.ramp", "mutuality ramp", Kind::Choice(&["man", "progress"])).help(
        "man: λ_max·exp(−β(1 − e/(0.9E))²) by epoch (MAN); progress: exp(−5β(1 − t)²)",
    ),
    Field::new(
        "method.asm.lambda_max",
        "λ_max",
        Kind::Number {
            range: Range::closed(0.0, 1.0),
            widget: Widget::slider(0.0, 1.0),
        },
    )
    .when(&[When {
        path: "method.asm.ramp",
        is: &["man"],
    }]),
    weight("method.asm.beta", "ramp-up shape β")
        .help("smaller = faster transition of the mutuality weight"),
    weight("method.asm.omega", "mutuality weight ω").help("weight of the ambiguous set's loss"),
    weight("method.asm.gamma", "consistency weight γ").help("weight of the noisy set's loss"),
    Field::new("method.asm.noisy_loss", "noisy-set loss", Kind::Choice(&["mse", "kl"]))
        .help("mse: MSE of the two views' softmax (MAN); kl: KL(weak ‖ strong)"),
    Field::new("method.asm.stop_gradient", "stop-gradient", Kind::Bool)
        .help("detach each view's prediction as the other's target (MAN: off)"),
    Field::new(
        "method.asm.reduction",
        "set reduction",
        Kind::Choice(&["set_mean", "batch"]),
    )
    .help("set_mean: each term averaged over its set (MAN); batch: summed, over the batch size"),
];

fn rules(exp: &Experiment, problems: &mut Vec<Problem>) {
    let Ok(a) = of(exp) else { return };
    if a.noisy_threshold >= a.clean_threshold {
        problems.push(Problem {
            path: "method.asm.clean_threshold".into(),
            message: format!(
                "must be above method.asm.noisy_threshold ({}), got {}",
                a.noisy_threshold, a.clean_threshold
            ),
        });
    }
    let last = exp.train.epochs.saturating_sub(1);
    if a.warmup_epochs > last {
        problems.push(Problem {
            path: "method.asm.warmup_epochs".into(),
            message: format!("must be between 0 and {last}, got {}", a.warmup_epochs),
        });
    }
}

/// "ASM-AT [0.2, 0.8]": the mode and the base pair, so an ablation grid reads as one.
fn label(exp: &Experiment) -> String {
    let Ok(a) = of(exp) else {
        return "ASM".into();
    };
    let mode = match a.thresholds {
        ThresholdMode::Adaptive => "AT",
        ThresholdMode::Fixed => "FT",
    };
    format!("ASM-{mode} [{}, {}]", a.noisy_threshold, a.clean_threshold)
}

/// ASM mined online with ferlab's first reading of the tri-regularisation.
fn earlier_behaviour(section: &mut Table) {
    fill_missing(
        section,
        &[
            ("partition", Value::from("online")),
            ("ramp", Value::from("progress")),
            ("noisy_loss", Value::from("kl")),
            ("stop_gradient", Value::from(true)),
            ("reduction", Value::from("batch")),
        ],
    );
}

pub const SCHEMA: MethodSchema = MethodSchema {
    fields: FIELDS,
    defaults: defaults_of::<AsmConfig>,
    rules,
    label,
    earlier_behaviour,
    per_sample_state: true,
    ..MethodSchema::plain(
        KEY,
        "Adaptive Sample Mining: per-class adaptive thresholds split each batch into clean, ambiguous and noisy sets (noisy labels)",
    )
};
