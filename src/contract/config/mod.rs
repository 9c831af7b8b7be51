//! The experiment: every setting of a run, its TOML form and its validation.
//!
//! A preset is a partial TOML file; everything it leaves out takes the default below.
//! `load` reports every problem at once (unknown keys with their path, out-of-range values,
//! missing paths), so a researcher fixes a preset in one go.

pub mod classes;
pub mod device;
pub mod layout;
mod overrides;
mod recorded;
mod validate;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Error;

pub use overrides::apply_override;
pub use validate::{Problem, format_problems};

/// A whole experiment, as written in a preset and resolved into a run's `config.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Experiment {
    pub name: String,
    pub seed: u64,
    /// `cpu` or `cuda:N`.
    pub device: String,
    pub data: DataConfig,
    pub corruption: CorruptionConfig,
    pub augment: AugmentConfig,
    pub model: ModelConfig,
    pub method: MethodConfig,
    pub optimizer: OptimizerConfig,
    pub schedule: ScheduleConfig,
    pub train: TrainConfig,
    pub output: OutputConfig,
    /// Unlabeled faces for semi-supervised methods (RMFER's reaction clips).
    pub unlabeled: UnlabeledConfig,
}

impl Default for Experiment {
    fn default() -> Self {
        Self {
            name: "experiment".into(),
            seed: 7,
            device: "cpu".into(),
            data: DataConfig::default(),
            corruption: CorruptionConfig::default(),
            augment: AugmentConfig::default(),
            model: ModelConfig::default(),
            method: MethodConfig::default(),
            optimizer: OptimizerConfig::default(),
            schedule: ScheduleConfig::default(),
            train: TrainConfig::default(),
            output: OutputConfig::default(),
            unlabeled: UnlabeledConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataSource {
    Synthetic,
    ImageFolder,
    Fer2013Csv,
    /// RAF-DB basic (`EmoLabel/list_patition_label.txt`, `Image/aligned`).
    RafDb,
    /// FERPlus votes (`fer2013new.csv`) on the FER2013 csv's pixels.
    Ferplus,
    /// AffectNet csv (`training.csv`, `validation.csv`).
    Affectnet,
}

impl DataSource {
    pub const ALL: [DataSource; 6] = [
        Self::Synthetic,
        Self::ImageFolder,
        Self::Fer2013Csv,
        Self::RafDb,
        Self::Ferplus,
        Self::Affectnet,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Self::Synthetic => "synthetic",
            Self::ImageFolder => "image_folder",
            Self::Fer2013Csv => "fer2013_csv",
            Self::RafDb => "raf_db",
            Self::Ferplus => "ferplus",
            Self::Affectnet => "affectnet",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BadImagePolicy {
    /// Skip unreadable images, report each path and the count.
    Skip,
    /// Fail the run at the first unreadable image.
    Fail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DataConfig {
    pub source: DataSource,
    /// Dataset root (image folder) or csv file (FER2013 csv). Relative paths are resolved
    /// against the working directory.
    pub path: PathBuf,
    /// Sub-folder (image folder) or `Usage` value (csv) of the training split.
    pub train_split: String,
    /// Sub-folder (image folder) or `Usage` value (csv) of the validation split.
    pub val_split: String,
    /// Side of the square images the model sees, in pixels.
    pub image_size: usize,
    /// 1 = grayscale, 3 = RGB (grayscale sources are replicated).
    pub channels: usize,
    pub on_bad_image: BadImagePolicy,
    /// Keep at most this many training images per class (0 = all), drawn with the seed.
    pub max_train_per_class: usize,
    /// Keep at most this many validation images per class (0 = all), drawn with the seed.
    pub max_val_per_class: usize,
    /// RAF-DB: a published noisy-label list to train on (the partition labels become truth).
    pub noisy_labels: Option<PathBuf>,
    /// FERPlus: the original `fer2013.csv` whose rows hold the pixels.
    pub images: PathBuf,
    /// FERPlus / AffectNet: drop contempt (7 classes instead of 8).
    pub drop_contempt: bool,
    pub synthetic: SyntheticConfig,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            source: DataSource::Synthetic,
            path: PathBuf::new(),
            train_split: "train".into(),
            val_split: "val".into(),
            image_size: 48,
            channels: 1,
            on_bad_image: BadImagePolicy::Skip,
            max_train_per_class: 0,
            max_val_per_class: 0,
            noisy_labels: None,
            images: PathBuf::new(),
            drop_contempt: false,
            synthetic: SyntheticConfig::default(),
        }
    }
}

/// Where unlabeled faces come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnlabeledSource {
    /// No unlabeled data.
    #[default]
    None,
    /// Procedural reaction clips (hidden expressions kept as ground truth).
    SyntheticClips,
    /// The user's clips laid out as `path/<video>/<frame>/<face_id>.png`.
    Clips,
}

impl UnlabeledSource {
    pub const ALL: [UnlabeledSource; 3] = [Self::None, Self::SyntheticClips, Self::Clips];

    pub fn key(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::SyntheticClips => "synthetic_clips",
            Self::Clips => "clips",
        }
    }
}

/// Unlabeled reaction clips: faces of several people watching one trigger, rendered or
/// read at the labelled data's image size and channels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UnlabeledConfig {
    pub source: UnlabeledSource,
    /// Root of the clips (`source = "clips"`).
    pub path: PathBuf,
    /// Synthetic clips: videos, people per video, frames per video.
    pub videos: usize,
    pub people: usize,
    pub frames: usize,
    /// Synthetic clips: the largest lag, in frames, of a person behind the trigger.
    pub max_lag: usize,
    /// Synthetic clips: chance that a person shows another expression in a frame.
    pub deviation: f32,
}

impl Default for UnlabeledConfig {
    fn default() -> Self {
        Self {
            source: UnlabeledSource::None,
            path: PathBuf::new(),
            videos: 12,
            people: 8,
            frames: 32,
            max_lag: 2,
            deviation: 0.15,
        }
    }
}

/// The procedural face generator's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyntheticConfig {
    pub train_per_class: usize,
    pub val_per_class: usize,
    /// Number of distinct identities (faces) drawn from.
    pub identities: usize,
    /// Fraction of faces that blend two expressions (ambiguous samples).
    pub blend_fraction: f32,
    /// Standard deviation of the pixel noise, in [0, 1] grey levels.
    pub pixel_noise: f32,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        Self {
            train_per_class: 400,
            val_per_class: 100,
            identities: 200,
            blend_fraction: 0.15,
            pixel_noise: 0.04,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoiseKind {
    None,
    /// Each flipped label moves to a uniformly drawn other class.
    Symmetric,
    /// Each flipped label moves to the next class in the dataset's order (pair flip).
    PairFlip,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CorruptionConfig {
    pub noise: NoiseKind,
    /// Fraction of training labels flipped; exactly round(rate · N) labels change.
    pub noise_rate: f32,
    /// Target max/min class-count ratio of the training split; 1 keeps the natural counts.
    pub imbalance_factor: f32,
}

impl Default for CorruptionConfig {
    fn default() -> Self {
        Self {
            noise: NoiseKind::None,
            noise_rate: 0.0,
            imbalance_factor: 1.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AugmentConfig {
    pub hflip: bool,
    /// Random crop after zero padding by this many pixels (a random shift).
    pub crop_padding: usize,
    /// Brightness jitter: add a uniform offset in [-b, b] (grey levels in [0, 1]).
    pub brightness: f32,
    /// Contrast jitter: scale around the mean by a factor in [1 - c, 1 + c].
    pub contrast: f32,
    /// Probability of random erasing of a rectangle (Zhong et al.).
    pub erase_prob: f32,
    /// Normalisation: (x - mean) / std, x in [0, 1].
    pub mean: f32,
    pub std: f32,
}

impl Default for AugmentConfig {
    fn default() -> Self {
        Self {
            hflip: true,
            crop_padding: 4,
            brightness: 0.2,
            contrast: 0.2,
            erase_prob: 0.0,
            mean: 0.5,
            std: 0.25,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backbone {
    SmallCnn,
    Resnet18,
}

impl Backbone {
    pub const ALL: [Backbone; 2] = [Self::SmallCnn, Self::Resnet18];

    pub fn key(self) -> &'static str {
        match self {
            Self::SmallCnn => "small_cnn",
            Self::Resnet18 => "resnet18",
        }
    }
}

/// Which implementation runs the heavy operations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kernels {
    /// ferlab's CPU kernels on the CPU, candle's operations elsewhere.
    #[default]
    Auto,
    /// candle's own operations everywhere (the reference; slow on the CPU).
    Candle,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelConfig {
    pub backbone: Backbone,
    /// Channels of the first stage of the small CNN; later stages double it.
    pub width: usize,
    /// Convolutions per stage of the small CNN (each conv-BN-ReLU).
    pub convs_per_stage: usize,
    /// Dropout before the classifier.
    pub dropout: f32,
    /// Optional torchvision-layout weights (.safetensors) to start from.
    pub pretrained: Option<PathBuf>,
    /// Implementation of convolution, pooling, batch norm and the optimiser step.
    pub kernels: Kernels,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            backbone: Backbone::SmallCnn,
            width: 32,
            convs_per_stage: 1,
            dropout: 0.0,
            pretrained: None,
            kernels: Kernels::Auto,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodKind {
    /// Cross-entropy baseline (optionally label-smoothed).
    Ce,
    /// Adaptive Sample Mining (noisy labels).
    Asm,
    /// Self-Cure Network (importance weighting, rank regularisation, relabelling).
    Scn,
    /// Soft label smoothing with a mean teacher.
    Soft,
    /// Class-balanced cross-entropy by effective number of samples (imbalance).
    Cb,
    /// Erasing attention consistency: CAM consistency under flips of erased faces.
    Eac,
    /// Relative uncertainty learning: uncertainty-weighted feature mixup.
    Rul,
    /// Leave No Stone Unturned: re-balanced attention consistency and smooth labels.
    Lnsu,
    /// RMFER: inter-sample attention and attention-based contrastive learning on
    /// unlabeled reaction clips.
    Rmfer,
}

impl MethodKind {
    pub const ALL: [MethodKind; 9] = [
        Self::Ce,
        Self::Asm,
        Self::Scn,
        Self::Soft,
        Self::Cb,
        Self::Eac,
        Self::Rul,
        Self::Lnsu,
        Self::Rmfer,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Self::Ce => "ce",
            Self::Asm => "asm",
            Self::Scn => "scn",
            Self::Soft => "soft",
            Self::Cb => "cb",
            Self::Eac => "eac",
            Self::Rul => "rul",
            Self::Lnsu => "lnsu",
            Self::Rmfer => "rmfer",
        }
    }
}

/// The training method and its hyperparameters. Each method's own settings live in a
/// sub-table named after it, so switching methods keeps the others' values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MethodConfig {
    pub name: MethodKind,
    /// Label smoothing ε of the cross-entropy baseline.
    pub label_smoothing: f32,
    pub asm: AsmConfig,
    pub scn: ScnConfig,
    pub soft: SoftConfig,
    pub cb: CbConfig,
    pub eac: EacConfig,
    pub rul: RulConfig,
    pub lnsu: LnsuConfig,
    pub rmfer: RmferConfig,
}

impl Default for MethodConfig {
    fn default() -> Self {
        Self {
            name: MethodKind::Ce,
            label_smoothing: 0.0,
            asm: AsmConfig::default(),
            scn: ScnConfig::default(),
            soft: SoftConfig::default(),
            cb: CbConfig::default(),
            eac: EacConfig::default(),
            rul: RulConfig::default(),
            lnsu: LnsuConfig::default(),
            rmfer: RmferConfig::default(),
        }
    }
}

/// Class-balanced loss (Cui et al., CVPR 2019).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CbConfig {
    /// β of the effective number E_c = (1 − β^{n_c}) / (1 − β).
    pub beta: f64,
}

impl Default for CbConfig {
    fn default() -> Self {
        Self { beta: 0.9999 }
    }
}

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

impl EacSecondView {
    pub const ALL: [EacSecondView; 3] = [Self::Auto, Self::Mirror, Self::Separate];

    pub fn key(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Mirror => "mirror",
            Self::Separate => "separate",
        }
    }
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

impl RulArchitecture {
    pub const ALL: [RulArchitecture; 2] = [Self::Official, Self::Pooled];

    pub fn key(self) -> &'static str {
        match self {
            Self::Official => "official",
            Self::Pooled => "pooled",
        }
    }
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

/// Leave No Stone Unturned (Zhang et al., NeurIPS 2023).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LnsuConfig {
    /// Smoothing mass ε of the re-balanced smooth labels.
    pub epsilon: f32,
    /// Weight of the re-balanced attention consistency loss.
    pub attention_weight: f32,
    /// Class weights are `weight_scale · N / n_c`; 0.1 reproduces the official RAF-DB
    /// constants from RAF-DB's training counts.
    pub weight_scale: f32,
}

impl Default for LnsuConfig {
    fn default() -> Self {
        Self {
            epsilon: 0.3,
            attention_weight: 0.1,
            weight_scale: 0.1,
        }
    }
}

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

impl ContrastPrior {
    pub const ALL: [ContrastPrior; 2] = [Self::Clip, Self::Cosine];

    pub fn key(self) -> &'static str {
        match self {
            Self::Clip => "clip",
            Self::Cosine => "cosine",
        }
    }
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

impl AsmPartition {
    pub const ALL: [AsmPartition; 2] = [Self::Online, Self::EvalPass];

    pub fn key(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::EvalPass => "eval_pass",
        }
    }
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

impl MutualityRamp {
    pub const ALL: [MutualityRamp; 2] = [Self::Man, Self::Progress];

    pub fn key(self) -> &'static str {
        match self {
            Self::Man => "man",
            Self::Progress => "progress",
        }
    }
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

impl NoisyLoss {
    pub const ALL: [NoisyLoss; 2] = [Self::Mse, Self::Kl];

    pub fn key(self) -> &'static str {
        match self {
            Self::Mse => "mse",
            Self::Kl => "kl",
        }
    }
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

impl SetReduction {
    pub const ALL: [SetReduction; 2] = [Self::SetMean, Self::Batch];

    pub fn key(self) -> &'static str {
        match self {
            Self::SetMean => "set_mean",
            Self::Batch => "batch",
        }
    }
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

impl RelabelScope {
    pub const ALL: [RelabelScope; 2] = [Self::Batch, Self::LowGroup];

    pub fn key(self) -> &'static str {
        match self {
            Self::Batch => "batch",
            Self::LowGroup => "low_group",
        }
    }
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    Sgd,
    Adam,
    Adamw,
}

impl OptimizerKind {
    pub const ALL: [OptimizerKind; 3] = [Self::Sgd, Self::Adam, Self::Adamw];

    pub fn key(self) -> &'static str {
        match self {
            Self::Sgd => "sgd",
            Self::Adam => "adam",
            Self::Adamw => "adamw",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OptimizerConfig {
    pub kind: OptimizerKind,
    pub lr: f64,
    pub weight_decay: f64,
    /// SGD momentum.
    pub momentum: f64,
    pub nesterov: bool,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// Sharpness-aware minimisation's radius ρ (0.05 in RMFER); 0 = plain steps. With SAM
    /// each step takes two forward and backward passes.
    pub sam_rho: f64,
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        Self {
            kind: OptimizerKind::Adamw,
            lr: 1e-3,
            weight_decay: 1e-4,
            momentum: 0.9,
            nesterov: false,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            sam_rho: 0.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    Constant,
    /// Multiply by `gamma` every `step_epochs` epochs.
    Step,
    /// Cosine decay to `min_lr_ratio · lr` at the last step.
    Cosine,
}

impl ScheduleKind {
    pub const ALL: [ScheduleKind; 3] = [Self::Constant, Self::Step, Self::Cosine];

    pub fn key(self) -> &'static str {
        match self {
            Self::Constant => "constant",
            Self::Step => "step",
            Self::Cosine => "cosine",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScheduleConfig {
    pub kind: ScheduleKind,
    /// Linear warm-up from 0 over this many epochs (fractions allowed).
    pub warmup_epochs: f64,
    pub step_epochs: usize,
    pub gamma: f64,
    pub min_lr_ratio: f64,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self {
            kind: ScheduleKind::Cosine,
            warmup_epochs: 0.0,
            step_epochs: 10,
            gamma: 0.1,
            min_lr_ratio: 0.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub eval_batch_size: usize,
    /// Worker threads for the compute kernels (0 = all cores).
    pub threads: usize,
    /// Emit a progress event every this many steps.
    pub log_every: usize,
    /// Measure flip consistency of the class activation maps on the validation set and
    /// send an attention gallery every this many epochs (0 = never).
    pub attention_every: usize,
    /// Validation faces in the attention gallery (the same faces every time).
    pub attention_gallery: usize,
    /// The order an epoch visits the training split in.
    pub sampler: Sampler,
    /// Embed validation features with t-SNE and MDS every this many epochs (0 = never).
    pub embedding_every: usize,
    /// Validation faces embedded (a fixed, class-stratified draw; 0 = all).
    pub embedding_points: usize,
}

/// How an epoch orders the training samples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampler {
    /// A seeded shuffle of the whole split.
    #[default]
    Shuffle,
    /// As many samples as the split, every class equally often, one of each class in every
    /// run of K (RMFER's class-balanced batches).
    ClassBalanced,
}

impl Sampler {
    pub const ALL: [Sampler; 2] = [Self::Shuffle, Self::ClassBalanced];

    pub fn key(self) -> &'static str {
        match self {
            Self::Shuffle => "shuffle",
            Self::ClassBalanced => "class_balanced",
        }
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 64,
            eval_batch_size: 256,
            threads: 0,
            log_every: 10,
            attention_every: 1,
            attention_gallery: 32,
            sampler: Sampler::Shuffle,
            embedding_every: 0,
            embedding_points: 1000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OutputConfig {
    /// Folder under which each run gets its own directory.
    pub dir: PathBuf,
}

impl Default for OutputConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("runs"),
        }
    }
}

fn read_text(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        what: "cannot read",
        path: path.to_path_buf(),
        source,
    })
}

/// TOML text as a table; `origin` names it in errors.
fn parse_table(text: &str, origin: &str) -> Result<toml::Table, Error> {
    text.parse().map_err(|e: toml::de::Error| Error::Syntax {
        origin: origin.to_string(),
        message: e.to_string(),
    })
}

impl Experiment {
    /// Reads a preset file and applies `key=value` overrides (dotted paths).
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self, Error> {
        let text = read_text(path)?;
        let origin = path.display().to_string();
        let table = parse_table(&text, &origin)?;
        // An empty file (a failed copy, a wrong path) would otherwise train the default
        // experiment without a word.
        if table.is_empty() {
            return Err(Error::Syntax {
                origin,
                message: "the preset is empty: it sets no key (a preset needs at least `name` \
                          and its [data] section)"
                    .into(),
            });
        }
        Self::from_table(table, &origin, overrides, validate::validate)
    }

    /// Reads a run's recorded `config.toml`: keys added to ferlab after the run was
    /// recorded take the values that reproduce what it did (`recorded`).
    pub fn load_recorded(path: &Path, overrides: &[String]) -> Result<Self, Error> {
        let text = read_text(path)?;
        Self::recorded_from_toml(&text, &path.display().to_string(), overrides)
    }

    /// A recorded experiment from its TOML text (a run's config, or the one its Started
    /// event carries). Its files are not checked: its data may have moved since it trained,
    /// and whatever opens the data later says what is missing.
    pub fn recorded_from_toml(
        text: &str,
        origin: &str,
        overrides: &[String],
    ) -> Result<Self, Error> {
        let mut table = parse_table(text, origin)?;
        recorded::fill_earlier_behaviour(&mut table);
        Self::from_table(table, origin, overrides, validate::validate_recorded)
    }

    /// Parses TOML text (`origin` names it in errors), applies overrides, validates.
    pub fn from_toml(text: &str, origin: &str, overrides: &[String]) -> Result<Self, Error> {
        Self::from_table(
            parse_table(text, origin)?,
            origin,
            overrides,
            validate::validate,
        )
    }

    /// Applies overrides to a parsed experiment and validates it.
    fn from_table(
        mut table: toml::Table,
        origin: &str,
        overrides: &[String],
        validate: fn(&Experiment) -> Vec<Problem>,
    ) -> Result<Self, Error> {
        // A preset's `[sweep]` section is for `ferlab sweep`; the experiment is the rest.
        table.remove("sweep");
        let mut problems = Vec::new();
        for ov in overrides {
            if let Err(p) = apply_override(&mut table, ov) {
                problems.push(p);
            }
        }
        let mut unknown = Vec::new();
        let typed = {
            let value = toml::Value::Table(table);
            let mut on_unknown = |path: serde_ignored::Path| unknown.push(path.to_string());
            let ignored = serde_ignored::Deserializer::new(value, &mut on_unknown);
            serde_path_to_error::deserialize::<_, Experiment>(ignored)
        };
        let experiment = match typed {
            Ok(e) => e,
            Err(e) => {
                // toml appends "in `path`" to its messages; the path is reported separately.
                let message = e.inner().to_string();
                let message = message
                    .split("\nin `")
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_string();
                problems.push(Problem {
                    path: e.path().to_string(),
                    message,
                });
                return Err(Error::Invalid {
                    origin: origin.to_string(),
                    problems,
                });
            }
        };
        problems.extend(unknown.into_iter().map(|path| Problem {
            message: "unknown key".to_string(),
            path,
        }));
        problems.extend(validate(&experiment));
        if problems.is_empty() {
            Ok(experiment)
        } else {
            Err(Error::Invalid {
                origin: origin.to_string(),
                problems,
            })
        }
    }

    /// The fully resolved TOML form (every field written), as stored in a run.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("an Experiment always serialises to TOML")
    }

    /// Every problem of this experiment, each with the dotted path of its field.
    pub fn validate(&self) -> Vec<Problem> {
        validate::validate(self)
    }
}
