//! Every core setting, described once: the editor's form in this order, each field's type
//! and range for validation. A method's own settings are in its module (`compute::method`).

use super::schema::{Field, Kind, PathKind, Range, When, Widget};

/// A group of fields the editor draws under one header.
pub struct Section {
    pub title: &'static str,
    /// Open on first show.
    pub open: bool,
    pub fields: &'static [Field],
}

const fn count(min: u64, max: u64) -> Kind {
    Kind::Count { min, max }
}

const fn number(range: Range, widget: Widget) -> Kind {
    Kind::Number { range, widget }
}

const ANY: u64 = u64::MAX;
const NOT_SYNTHETIC: &[When] = &[When {
    path: "data.source",
    is: &[
        "image_folder",
        "fer2013_csv",
        "raf_db",
        "ferplus",
        "affectnet",
    ],
}];
const SYNTHETIC: &[When] = &[When {
    path: "data.source",
    is: &["synthetic"],
}];

const EXPERIMENT: &[Field] = &[
    Field::new("name", "name", Kind::Text { must_fill: true }),
    Field::new(
        "description",
        "description",
        Kind::Text { must_fill: false },
    )
    .help("what the experiment is, in one line (shown in the preset list)"),
    Field::new("group", "group", Kind::Text { must_fill: false })
        .help("the preset list's group: the comparison or paper it belongs to"),
    Field::new("seed", "seed", count(0, ANY)),
    Field::new("device", "device", Kind::Text { must_fill: true })
        .help("cpu, or cuda:N for the N-th NVIDIA GPU (a build with --features cuda)"),
];

const DATA: &[Field] = &[
    Field::new(
        "data.source",
        "source",
        Kind::Choice(&[
            "synthetic",
            "image_folder",
            "fer2013_csv",
            "raf_db",
            "ferplus",
            "affectnet",
        ]),
    ),
    Field::new(
        "data.path",
        "path",
        Kind::Path(PathKind {
            optional: false,
            folder: false,
            filter: None,
        }),
    )
    .help("dataset root (image folder, RAF-DB, AffectNet) or csv file (FER2013, FERPlus votes)")
    .when(NOT_SYNTHETIC),
    Field::new(
        "data.noisy_labels",
        "noisy-label list",
        Kind::Path(PathKind {
            optional: true,
            folder: false,
            filter: None,
        }),
    )
    .help("a published noisy-label list to train on (the partition labels become truth)")
    .when(&[When {
        path: "data.source",
        is: &["raf_db"],
    }]),
    Field::new(
        "data.images",
        "fer2013.csv",
        Kind::Path(PathKind {
            optional: false,
            folder: false,
            filter: Some(("csv", &["csv"])),
        }),
    )
    .help("the original fer2013.csv whose rows hold FERPlus's pixels")
    .when(&[When {
        path: "data.source",
        is: &["ferplus"],
    }]),
    Field::new("data.drop_contempt", "drop contempt", Kind::Bool)
        .help("7 classes instead of 8")
        .when(&[When {
            path: "data.source",
            is: &["ferplus", "affectnet"],
        }]),
    Field::new(
        "data.train_split",
        "train split",
        Kind::Text { must_fill: true },
    )
    .help("sub-folder (image folder) or Usage value (csv) of the training split")
    .when(NOT_SYNTHETIC),
    Field::new(
        "data.val_split",
        "val split",
        Kind::Text { must_fill: true },
    )
    .help("sub-folder (image folder) or Usage value (csv) of the validation split")
    .when(NOT_SYNTHETIC),
    Field::new(
        "data.on_bad_image",
        "bad images",
        Kind::Choice(&["skip", "fail"]),
    )
    .help("skip: report each unreadable image and go on; fail: stop at the first")
    .when(NOT_SYNTHETIC),
    Field::new(
        "data.image_size",
        "image size",
        count(16, super::MAX_INPUT_SIZE as u64),
    )
    .help("side of the square images the model sees, in pixels"),
    Field::new("data.channels", "channels", count(1, 3))
        .help("1 = grayscale, 3 = RGB (grayscale sources are replicated)"),
    Field::new(
        "data.max_train_per_class",
        "max train / class",
        count(0, ANY),
    )
    .help("0 = all; otherwise drawn with the seed"),
    Field::new("data.max_val_per_class", "max val / class", count(0, ANY))
        .help("0 = all; otherwise drawn with the seed"),
    Field::new(
        "data.synthetic.train_per_class",
        "train / class",
        count(1, 1_000_000),
    )
    .when(SYNTHETIC),
    Field::new(
        "data.synthetic.val_per_class",
        "val / class",
        count(1, 1_000_000),
    )
    .when(SYNTHETIC),
    Field::new(
        "data.synthetic.identities",
        "identities",
        count(1, 1_000_000),
    )
    .help("distinct faces drawn from")
    .when(SYNTHETIC),
    Field::new(
        "data.synthetic.blend_fraction",
        "blend fraction",
        number(Range::closed(0.0, 1.0), Widget::slider(0.0, 1.0)),
    )
    .help("fraction of faces that blend two expressions (ambiguous samples)")
    .when(SYNTHETIC),
    Field::new(
        "data.synthetic.pixel_noise",
        "pixel noise",
        number(Range::closed(0.0, 0.5), Widget::slider(0.0, 0.5)),
    )
    .help("standard deviation of the pixel noise, in grey levels")
    .when(SYNTHETIC),
];

const CORRUPTION: &[Field] = &[
    Field::new(
        "corruption.noise",
        "label noise",
        Kind::Choice(&["none", "symmetric", "pair_flip"]),
    )
    .help("symmetric: to a uniformly drawn other class; pair_flip: to the next class"),
    Field::new(
        "corruption.noise_rate",
        "noise rate",
        number(Range::below(0.0, 1.0), Widget::slider(0.0, 0.9)),
    )
    .help("fraction of training labels flipped (exactly round(rate · N))"),
    Field::new(
        "corruption.imbalance_factor",
        "imbalance factor",
        number(Range::AtLeast(1.0), Widget::log_slider(1.0, 200.0)),
    )
    .help("max / min class count of the training split (n_l · μ^l); 1 = natural counts"),
];

const AUGMENT: &[Field] = &[
    Field::new("augment.hflip", "horizontal flip", Kind::Bool),
    Field::new("augment.crop_padding", "crop padding", count(0, ANY))
        .help("random crop after zero padding by this many pixels"),
    Field::new(
        "augment.brightness",
        "brightness",
        number(Range::closed(0.0, 1.0), Widget::slider(0.0, 1.0)),
    ),
    Field::new(
        "augment.contrast",
        "contrast",
        number(Range::closed(0.0, 1.0), Widget::slider(0.0, 1.0)),
    ),
    Field::new(
        "augment.erase_prob",
        "random erasing",
        number(Range::closed(0.0, 1.0), Widget::slider(0.0, 1.0)),
    ),
    Field::new(
        "augment.mean",
        "normalisation mean",
        number(Range::closed(0.0, 1.0), Widget::slider(0.0, 1.0)),
    )
    .help("inputs are (x − mean) / std, x in [0, 1]"),
    Field::new(
        "augment.std",
        "normalisation std",
        number(Range::Positive, Widget::Drag { speed: 0.01 }),
    ),
];

const SMALL_CNN: &[When] = &[When {
    path: "model.backbone",
    is: &["small_cnn"],
}];

const FACE_RESNET: &[When] = &[When {
    path: "model.backbone",
    is: &["face_resnet"],
}];

const MODEL: &[Field] = &[
    Field::new(
        "model.backbone",
        "backbone",
        Kind::Choice(&["small_cnn", "resnet18", "face_resnet"]),
    )
    .help("face_resnet: dlib's face-identity ResNet; start it from its weights (pretrained)"),
    Field::new("model.width", "width", count(4, 256))
        .help("channels of the first stage; later stages double it")
        .when(SMALL_CNN),
    Field::new("model.convs_per_stage", "convs / stage", count(1, 4))
        .help("conv-BN-ReLU blocks per stage")
        .when(SMALL_CNN),
    Field::new(
        "model.dropout",
        "dropout",
        number(Range::below(0.0, 1.0), Widget::slider(0.0, 0.9)),
    ),
    Field::new(
        "model.pretrained",
        "pretrained",
        Kind::Path(PathKind {
            optional: true,
            folder: false,
            filter: Some(("weights", &["safetensors", "pth", "pt", "json"])),
        }),
    )
    .help(
        "weights to start from: torchvision layout (.safetensors, .pth) or the face ResNet's TensorFlow.js manifest (.json)",
    ),
    Field::new("model.input_size", "input size", count(0, super::MAX_INPUT_SIZE as u64))
        .help("faces are resized to this side inside the model (grey → RGB); 0 = 150 (native); 112 is about 1.8× faster; at least 103")
        .when(FACE_RESNET),
    Field::new(
        "model.scale_affine",
        "scale layers",
        Kind::Choice(&["folded", "separate"]),
    )
    .help("the per-channel scale after each conv: folded into the conv, or its own learnable scale and shift")
    .when(FACE_RESNET),
    Field::new(
        "model.stride_one_blocks",
        "stride-1 blocks",
        count(0, super::FACE_RESNET_DOWN_BLOCKS as u64),
    )
    .help("how many of the last down blocks keep their input's size (stride 1, 'same' padding, shortcut unpooled): larger class activation maps from the same filters. Maps at 112 / 150 px: 0 → 1×1 / 2×2 (flip consistency degenerate), 1 → 3×3 / 4×4, 2 → 6×6 / 8×8 (7×7 at 120 px), 3 → 13×13 / 17×17. Changes the pretrained network: three epochs of CE on FER2013 at 2 blocks, 120 px reached 52.8% against the original's 55.0% (README); see also stride-1 dilated")
    .when(FACE_RESNET),
    Field::new("model.stride_one_dilated", "stride-1 dilated", Kind::Bool)
        .help("with stride-1 blocks: every convolution after a kept block dilated (by 2, by 4 after two), its shortcut a dense 2×2 pool, as DeepLab's atrous networks: each pretrained filter keeps its receptive field and the maps hold the original's values on its grid (exactly at odd map sides, e.g. 7×7 at 120 px with 2 blocks)")
        .when(FACE_RESNET),
    Field::new(
        "model.backbone_lr_scale",
        "backbone lr ×",
        number(Range::closed(0.0, 10.0), Widget::Drag { speed: 0.01 }),
    )
    .help("the backbone's learning rate as a multiple of the optimiser's; the new head keeps the optimiser's (0.3 for a pretrained backbone)"),
    Field::new(
        "model.freeze_backbone_epochs",
        "freeze backbone (epochs)",
        count(0, ANY),
    )
    .help("train only the head for this many first epochs"),
    Field::new(
        "model.kernels",
        "kernels",
        Kind::Choice(&["auto", "candle"]),
    )
    .help("auto: ferlab's CPU kernels on the CPU; candle: candle's operations (reference)"),
];

const METHOD: &[Field] = &[Field::new("method.name", "method", Kind::Method)];

const SAM_HELP: &str = "sharpness-aware minimisation radius (0.05 in RMFER, whose ResNet-18 has \
     batch norm; the face ResNet, without it, stays at chance at 0.05: use 0.01); 0 = off; two \
     passes per step";
const SGD: &[When] = &[When {
    path: "optimizer.kind",
    is: &["sgd"],
}];
const ADAM: &[When] = &[When {
    path: "optimizer.kind",
    is: &["adam", "adamw"],
}];

const OPTIMIZER: &[Field] = &[
    Field::new(
        "optimizer.kind",
        "optimizer",
        Kind::Choice(&["sgd", "adam", "adamw"]),
    ),
    Field::new(
        "optimizer.lr",
        "learning rate",
        number(Range::Positive, Widget::log_slider(1e-6, 1.0)),
    ),
    Field::new(
        "optimizer.weight_decay",
        "weight decay",
        number(Range::closed(0.0, 1.0), Widget::log_slider(0.0, 0.1)),
    ),
    Field::new(
        "optimizer.momentum",
        "momentum",
        number(Range::below(0.0, 1.0), Widget::slider(0.0, 0.99)),
    )
    .when(SGD),
    Field::new("optimizer.nesterov", "nesterov", Kind::Bool).when(SGD),
    Field::new(
        "optimizer.beta1",
        "beta1",
        number(Range::below(0.0, 1.0), Widget::slider(0.0, 0.999)),
    )
    .when(ADAM),
    Field::new(
        "optimizer.beta2",
        "beta2",
        number(Range::below(0.0, 1.0), Widget::slider(0.0, 0.9999)),
    )
    .when(ADAM),
    Field::new(
        "optimizer.eps",
        "eps",
        number(Range::Positive, Widget::Drag { speed: 1e-9 }),
    )
    .when(ADAM),
    Field::new(
        "optimizer.sam_rho",
        "SAM rho",
        number(Range::closed(0.0, 10.0), Widget::Drag { speed: 0.005 }),
    )
    .help(SAM_HELP),
];

const SCHEDULE: &[Field] = &[
    Field::new(
        "schedule.kind",
        "schedule",
        Kind::Choice(&["constant", "step", "cosine"]),
    ),
    Field::new(
        "schedule.warmup_epochs",
        "warm-up epochs",
        number(Range::AtLeast(0.0), Widget::Drag { speed: 0.1 }),
    )
    .help("linear warm-up from 0 over this many epochs (fractions allowed)"),
    Field::new("schedule.step_epochs", "step every", count(1, 100_000)).when(&[When {
        path: "schedule.kind",
        is: &["step"],
    }]),
    Field::new(
        "schedule.gamma",
        "gamma",
        number(Range::closed(0.0, 1.0), Widget::slider(0.0, 1.0)),
    )
    .when(&[When {
        path: "schedule.kind",
        is: &["step"],
    }]),
    Field::new(
        "schedule.min_lr_ratio",
        "final lr ratio",
        number(Range::closed(0.0, 1.0), Widget::slider(0.0, 1.0)),
    )
    .when(&[When {
        path: "schedule.kind",
        is: &["cosine"],
    }]),
];

const TRAIN: &[Field] = &[
    Field::new("train.epochs", "epochs", count(1, 100_000)),
    Field::new("train.batch_size", "batch size", count(2, 4096)),
    Field::new("train.eval_batch_size", "eval batch size", count(1, 8192)),
    Field::new("train.threads", "threads", count(0, 512)).help("0 = all cores"),
    Field::new("train.log_every", "progress every", count(1, 1_000_000))
        .help("steps between progress events"),
    Field::new("train.attention_every", "attention every", count(0, ANY))
        .help("epochs between attention galleries and flip-consistency measures; 0 = never"),
    Field::new("train.attention_gallery", "attention faces", count(1, 256)),
    Field::new("train.embedding_every", "embedding every", count(0, ANY))
        .help("epochs between t-SNE / MDS embeddings of validation features; 0 = never"),
    Field::new("train.embedding_points", "embedded faces", count(0, ANY))
        .help("validation faces embedded (class-stratified); 0 = all"),
    Field::new(
        "train.sampler",
        "sampler",
        Kind::Choice(&["shuffle", "class_balanced"]),
    )
    .help("class_balanced: every class equally often, one of each in every run of K samples"),
    Field::new(
        "train.tta",
        "validation views",
        Kind::Choice(&["none", "flip", "ten_crop"]),
    )
    .help(
        "test-time augmentation of every validation: flip = the face and its mirror (2x the \
         evaluation time), ten_crop = the centre and the four corners shifted by \
         augment.crop_padding, each mirrored (10x); the mean of their softmax",
    ),
    Field::number(
        "train.logit_adjustment",
        "logit adjustment τ",
        Range::closed(0.0, super::MAX_LOGIT_ADJUSTMENT),
        Widget::slider(0.0, 2.0),
    )
    .help(
        "post-hoc logit adjustment of every validation (Menon et al. 2021): each class's \
         probability divided by its training frequency to the power τ before the prediction; \
         1 = the Bayes rule for mean per-class accuracy, 0 = off; training does not see it",
    ),
];

const OUTPUT: &[Field] = &[Field::new(
    "output.dir",
    "runs folder",
    Kind::Path(PathKind {
        optional: false,
        folder: true,
        filter: None,
    }),
)];

const CLIPS: &[When] = &[When {
    path: "unlabeled.source",
    is: &["synthetic_clips"],
}];

const UNLABELED: &[Field] = &[
    Field::new(
        "unlabeled.source",
        "source",
        Kind::Choice(&["none", "synthetic_clips", "clips"]),
    ),
    Field::new(
        "unlabeled.path",
        "clips",
        Kind::Path(PathKind {
            optional: false,
            folder: true,
            filter: None,
        }),
    )
    .help("clips laid out as <video>/<frame>/<face_id>.png")
    .when(&[When {
        path: "unlabeled.source",
        is: &["clips"],
    }]),
    Field::new("unlabeled.videos", "videos", count(1, 10_000)).when(CLIPS),
    Field::new("unlabeled.people", "people / video", count(1, 1000)).when(CLIPS),
    Field::new("unlabeled.frames", "frames", count(1, 100_000)).when(CLIPS),
    Field::new("unlabeled.max_lag", "max lag", count(0, ANY))
        .help("the largest lag, in frames, of a person behind the trigger")
        .when(CLIPS),
    Field::new(
        "unlabeled.deviation",
        "deviation",
        number(Range::closed(0.0, 1.0), Widget::slider(0.0, 1.0)),
    )
    .help("chance that a person shows another expression in a frame")
    .when(CLIPS),
];

/// The title of the section the active method's fields are drawn in (after `method.name`).
pub const METHOD_SECTION: &str = "Method";
/// The section opened when the method trains on unlabeled faces.
pub const UNLABELED_SECTION: &str = "Unlabeled";

/// The core settings in the editor's order.
pub const SECTIONS: &[Section] = &[
    Section {
        title: "Experiment",
        open: true,
        fields: EXPERIMENT,
    },
    Section {
        title: "Data",
        open: true,
        fields: DATA,
    },
    Section {
        title: "Corruption",
        open: true,
        fields: CORRUPTION,
    },
    Section {
        title: "Augmentation",
        open: false,
        fields: AUGMENT,
    },
    Section {
        title: "Model",
        open: true,
        fields: MODEL,
    },
    Section {
        title: METHOD_SECTION,
        open: true,
        fields: METHOD,
    },
    Section {
        title: UNLABELED_SECTION,
        open: false,
        fields: UNLABELED,
    },
    Section {
        title: "Optimizer",
        open: true,
        fields: OPTIMIZER,
    },
    Section {
        title: "Schedule",
        open: false,
        fields: SCHEDULE,
    },
    Section {
        title: "Training",
        open: true,
        fields: TRAIN,
    },
    Section {
        title: "Output",
        open: true,
        fields: OUTPUT,
    },
];

/// Every core field.
pub fn core_fields() -> impl Iterator<Item = &'static Field> {
    SECTIONS.iter().flat_map(|s| s.fields.iter())
}
