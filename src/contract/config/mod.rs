//! The experiment: every setting of a run, its TOML form and its validation.
//!
//! A preset is a partial TOML file; everything it leaves out takes the default below.
//! `load` reports every problem at once (unknown keys with their path, out-of-range values,
//! missing paths), so a researcher fixes a preset in one go.

pub mod cautions;
pub mod classes;
pub mod device;
pub mod fields;
pub mod layout;
mod overrides;
pub mod preset_text;
pub mod recorded;
pub mod resume;
pub mod schema;
mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Error;

pub use overrides::apply_override;
pub use schema::{MethodSchema, Methods};
pub use validate::{Problem, format_problems};

/// A whole experiment, as written in a preset and resolved into a run's `config.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Experiment {
    pub name: String,
    /// What the experiment is, in one line (the preset list shows it).
    pub description: String,
    /// The preset list's group: the comparison or paper the experiment belongs to.
    pub group: String,
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
            description: String::new(),
            group: String::new(),
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
    /// dlib's face-identity ResNet (29 convolutions, 150×150 RGB, 128-d descriptor), the
    /// weights of `@vladmandic/face-api` loaded from its TensorFlow.js manifest.
    FaceResnet,
}

/// How the face ResNet's per-channel `scale` layer (dlib's frozen batch norm after each
/// convolution) trains.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleAffine {
    /// Multiplied into the convolution's filters and bias when loading; the layer is a
    /// convolution with a bias.
    #[default]
    Folded,
    /// Kept as its own learnable per-channel scale and shift after each convolution.
    Separate,
}

/// The smallest input the face ResNet takes: every stage's 'valid' convolution must fit.
pub const FACE_RESNET_MIN_INPUT: usize = 103;

/// The largest input side any backbone takes (`data.image_size`, `model.input_size`,
/// `ferlab describe --input-size`): past it one image's activations alone take gigabytes.
pub const MAX_INPUT_SIZE: usize = 512;

/// The side of the face ResNet's last feature map for a square input of `input` pixels with
/// its last `stride_one` down blocks at stride 1 (`model.stride_one_blocks`), or `None` if
/// some 'valid' convolution does not fit (below [`FACE_RESNET_MIN_INPUT`]) or `stride_one`
/// is past [`FACE_RESNET_DOWN_BLOCKS`]: 7×7/2 convolution, 3×3/2 max pool, then four down
/// blocks that halve (3×3/2 convolution, the 2×2 average-pooled shortcut deciding the size)
/// unless they run at stride 1 ('same' 3×3 convolution, unpooled shortcut).
/// 150 → 2, 112 → 1; with two blocks at stride 1, 150 → 8, 112 → 6.
pub fn face_resnet_map_side(input: usize, stride_one: usize) -> Option<usize> {
    let halving = FACE_RESNET_DOWN_BLOCKS.checked_sub(stride_one)?;
    let stem = input.checked_sub(7)? / 2 + 1;
    let mut side = stem.checked_sub(3)? / 2 + 1;
    for _ in 0..halving {
        side.checked_sub(3)?;
        side /= 2;
    }
    Some(side)
}

/// The face ResNet's down blocks (each halves its input at stride 2).
pub const FACE_RESNET_DOWN_BLOCKS: usize = 4;

/// Class activation maps of this side or smaller make flip consistency degenerate: a 1×1
/// map is its own mirror, and a 2×2 one has one column a side.
pub const DEGENERATE_MAP_SIDE: usize = 2;

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
    /// Optional weights to start from: torchvision layout (.safetensors, .pth) or a
    /// TensorFlow.js weights manifest (.json, the face ResNet's).
    pub pretrained: Option<PathBuf>,
    /// Implementation of convolution, pooling, batch norm and the optimiser step.
    pub kernels: Kernels,
    /// Side of the square input the backbone sees: the data's images are resized to it
    /// (and grey replicated to RGB) inside the model, so the data stays small. Face ResNet
    /// only (the other backbones see `data.image_size`); 0 = its native 150.
    pub input_size: usize,
    /// The face ResNet's `scale` layers: folded into the convolutions or trained apart.
    pub scale_affine: ScaleAffine,
    /// How many of the face ResNet's last down blocks run at stride 1 (the "last stride 1"
    /// of person re-identification): the same filters on a larger last map, so class
    /// activation maps have room for a face's regions (0 = the original).
    pub stride_one_blocks: usize,
    /// With stride-1 blocks, the convolutions after them dilated (DeepLab's atrous
    /// networks): each pretrained filter keeps its receptive field, and the maps hold the
    /// original's values on its grid.
    pub stride_one_dilated: bool,
    /// The backbone's learning rate as a multiple of the optimiser's (the new head keeps
    /// the optimiser's): a pretrained backbone needs a lower one than its new head.
    pub backbone_lr_scale: f64,
    /// Train only the head for this many first epochs (the backbone's parameters are left
    /// out of the optimiser's steps).
    pub freeze_backbone_epochs: usize,
}

impl ModelConfig {
    /// The side the backbone sees for data of `data_size` pixels (`input_size`, 0 = the
    /// backbone's own).
    pub fn effective_input_size(&self, data_size: usize) -> usize {
        match (self.backbone, self.input_size) {
            (Backbone::FaceResnet, 0) => 150,
            (Backbone::FaceResnet, s) => s,
            _ => data_size,
        }
    }
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
            input_size: 0,
            scale_affine: ScaleAffine::Folded,
            stride_one_blocks: 0,
            stride_one_dilated: false,
            backbone_lr_scale: 1.0,
            freeze_backbone_epochs: 0,
        }
    }
}

/// The training method: its key (one of `compute::method::REGISTRY`'s) and each method's
/// own section `method.<key>`, kept as TOML so switching methods keeps the others' values.
/// A method's module reads its section typed ([`MethodConfig::section`]) and describes its
/// fields ([`schema::MethodSchema`]); the contract never names a method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MethodConfig {
    pub name: String,
    /// Label smoothing ε of the cross-entropy baseline.
    pub label_smoothing: f32,
    /// `method.<key>` sections, by key.
    #[serde(flatten)]
    pub sections: BTreeMap<String, toml::Value>,
}

impl Default for MethodConfig {
    fn default() -> Self {
        Self {
            name: "ce".into(),
            label_smoothing: 0.0,
            sections: BTreeMap::new(),
        }
    }
}

impl MethodConfig {
    /// The section `method.<key>` typed; keys it lacks take `T`'s defaults.
    pub fn section<T: serde::de::DeserializeOwned + Default>(&self, key: &str) -> Result<T, Error> {
        match self.sections.get(key) {
            None => Ok(T::default()),
            Some(value) => value
                .clone()
                .try_into()
                .map_err(|e: toml::de::Error| Error::Field {
                    field: format!("method.{key}"),
                    message: e.message().to_string(),
                }),
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
    /// The views each validation face is classified on (test-time augmentation).
    pub tta: TestTimeViews,
    /// Post-hoc logit adjustment of every validation (Menon et al., ICLR 2021): each class's
    /// probability divided by its training frequency to the power τ before the prediction
    /// (1 = the rule for mean per-class accuracy; 0 = off). Training does not see it.
    pub logit_adjustment: f32,
}

/// The largest post-hoc logit adjustment τ (`train.logit_adjustment`, `ferlab eval
/// --logit-adjust`): past it the training prior decides every prediction alone.
pub const MAX_LOGIT_ADJUSTMENT: f64 = 10.0;

/// Test-time augmentation of the validation: the mean softmax over these views of a face.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestTimeViews {
    /// The face only.
    #[default]
    None,
    /// The face and its mirror.
    Flip,
    /// The centre and the four corners translated by `augment.crop_padding`, each mirrored.
    TenCrop,
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
            tta: TestTimeViews::None,
            logit_adjustment: 0.0,
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

/// The largest preset or recorded config read (a real one is a few kilobytes).
const MAX_PRESET_BYTES: u64 = 4 << 20;

/// A preset's (or recorded config's) text; refuses what is not a regular file of a
/// preset's size.
pub fn read_text(path: &Path) -> Result<String, Error> {
    let cannot = |source| Error::Io {
        what: "cannot read",
        path: path.to_path_buf(),
        source,
    };
    // `/dev/zero` or a pipe would be read until memory runs out.
    let meta = std::fs::metadata(path).map_err(cannot)?;
    // (A folder is left to the read, whose own error says so.)
    if !meta.is_dir() && (!meta.is_file() || meta.len() > MAX_PRESET_BYTES) {
        return Err(Error::Syntax {
            origin: path.display().to_string(),
            message: format!(
                "not a preset: presets are regular files of at most {} MiB",
                MAX_PRESET_BYTES >> 20
            ),
        });
    }
    std::fs::read_to_string(path).map_err(cannot)
}

/// TOML text as a table; `origin` names it in errors.
fn parse_table(text: &str, origin: &str) -> Result<toml::Table, Error> {
    text.parse().map_err(|e: toml::de::Error| Error::Syntax {
        origin: origin.to_string(),
        message: e.to_string(),
    })
}

/// Whether validation looks at the files and folders an experiment names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Files {
    Checked,
    /// A recorded run's data may have moved since it trained; whatever opens it later says
    /// what is missing.
    Unchecked,
}

impl Experiment {
    /// Reads a preset file and applies `key=value` overrides (dotted paths); `methods`
    /// knows each method's section.
    pub fn load(path: &Path, overrides: &[String], methods: &dyn Methods) -> Result<Self, Error> {
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
        Self::from_table(table, &origin, overrides, methods, Files::Checked)
    }

    /// Reads a run's recorded `config.toml`: keys added to ferlab after the run was
    /// recorded take the values that reproduce what it did (`recorded`).
    pub fn load_recorded(
        path: &Path,
        overrides: &[String],
        methods: &dyn Methods,
    ) -> Result<Self, Error> {
        let text = read_text(path)?;
        Self::recorded_from_toml(&text, &path.display().to_string(), overrides, methods)
    }

    /// A recorded experiment from its TOML text (a run's config, or the one its Started
    /// event carries). Its files are not checked: its data may have moved since it trained,
    /// and whatever opens the data later says what is missing.
    pub fn recorded_from_toml(
        text: &str,
        origin: &str,
        overrides: &[String],
        methods: &dyn Methods,
    ) -> Result<Self, Error> {
        let mut table = parse_table(text, origin)?;
        recorded::fill_earlier_behaviour(&mut table, methods);
        Self::from_table(table, origin, overrides, methods, Files::Unchecked)
    }

    /// Parses TOML text (`origin` names it in errors), applies overrides, validates.
    pub fn from_toml(
        text: &str,
        origin: &str,
        overrides: &[String],
        methods: &dyn Methods,
    ) -> Result<Self, Error> {
        Self::from_table(
            parse_table(text, origin)?,
            origin,
            overrides,
            methods,
            Files::Checked,
        )
    }

    /// Applies overrides to a parsed experiment, fills every method section's defaults and
    /// validates.
    fn from_table(
        mut table: toml::Table,
        origin: &str,
        overrides: &[String],
        methods: &dyn Methods,
        files: Files,
    ) -> Result<Self, Error> {
        // A preset's `[sweep]` section is for `ferlab sweep`; the experiment is the rest.
        table.remove("sweep");
        let mut problems = Vec::new();
        for ov in overrides {
            if let Err(p) = apply_override(&mut table, ov) {
                problems.push(p);
            }
        }
        let (experiment, unknown) = match Self::typed(table) {
            Ok(typed) => typed,
            Err(p) => {
                problems.push(p);
                return Err(Error::Invalid {
                    origin: origin.to_string(),
                    problems,
                });
            }
        };
        let mut experiment = experiment;
        experiment.resolve(methods);
        problems.extend(unknown.into_iter().map(|path| Problem {
            message: "unknown key".to_string(),
            path,
        }));
        problems.extend(validate::validate(
            &experiment,
            methods,
            files == Files::Checked,
        ));
        if problems.is_empty() {
            Ok(experiment)
        } else {
            Err(Error::Invalid {
                origin: origin.to_string(),
                problems,
            })
        }
    }

    /// The typed experiment of a table and the paths of the keys it did not know (method
    /// sections are checked against their schemas in validation).
    fn typed(table: toml::Table) -> Result<(Self, Vec<String>), Problem> {
        let mut unknown = Vec::new();
        let value = toml::Value::Table(table);
        let mut on_unknown = |path: serde_ignored::Path| unknown.push(path.to_string());
        let ignored = serde_ignored::Deserializer::new(value, &mut on_unknown);
        match serde_path_to_error::deserialize::<_, Experiment>(ignored) {
            Ok(e) => Ok((e, unknown)),
            Err(e) => {
                // toml appends "in `path`" to its messages; the path is reported separately.
                let message = e.inner().to_string();
                let message = message
                    .split("\nin `")
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_string();
                Err(Problem {
                    path: e.path().to_string(),
                    message,
                })
            }
        }
    }

    /// The experiment a TOML table holds, unchecked (the editor's form writes a table).
    pub fn from_form(table: toml::Table) -> Result<Self, Problem> {
        Self::typed(table).map(|(e, _)| e)
    }

    /// This experiment as a TOML table (the form the editor and the schema read).
    pub fn to_table(&self) -> toml::Table {
        schema::table_of(self)
    }

    /// Gives every registered method's section all its keys (its defaults where unset), so
    /// a run's `config.toml` records every value it trained with.
    pub fn resolve(&mut self, methods: &dyn Methods) {
        for schema in methods.schemas() {
            let mut section = (schema.defaults)();
            if section.is_empty() {
                continue;
            }
            if let Some(toml::Value::Table(given)) = self.method.sections.get(schema.key) {
                for (k, v) in given {
                    section.insert(k.clone(), v.clone());
                }
            }
            self.method
                .sections
                .insert(schema.key.to_string(), toml::Value::Table(section));
        }
    }

    /// Sets one dotted setting (`method.rmfer.acl`, `train.epochs`) as `--set` does, without
    /// validating; `Err` says what does not fit.
    pub fn set(&mut self, path: &str, value: impl Into<toml::Value>) -> Result<(), Problem> {
        let mut table = self.to_table();
        overrides::set_path(&mut table, path, value.into())?;
        *self = Self::from_form(table)?;
        Ok(())
    }

    /// The fully resolved TOML form (every field written), as stored in a run.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("an Experiment always serialises to TOML")
    }

    /// Every problem of this experiment, each with the dotted path of its field.
    pub fn validate(&self, methods: &dyn Methods) -> Vec<Problem> {
        validate::validate(self, methods, true)
    }

    /// Settings that run but undo what the method is for (see [`cautions`]).
    pub fn cautions(&self, methods: &dyn Methods) -> Vec<Problem> {
        cautions::cautions(self, methods)
    }
}
