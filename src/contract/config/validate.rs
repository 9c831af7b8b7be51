//! Every rule an experiment must satisfy, each reported with its field path.
//!
//! The CLI prints these problems and the workbench shows them beside the fields, so both
//! give the same words.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::classes::{ClassMatch, match_class_folder};
use super::{Backbone, DataSource, Experiment, MethodKind, NoiseKind};

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Dotted path of the field, e.g. `optimizer.lr`.
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

pub fn format_problems(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

struct Checker {
    problems: Vec<Problem>,
    /// Whether files and folders the experiment names are checked to exist.
    files: bool,
}

impl Checker {
    fn fail(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.to_string(),
            message: message.into(),
        });
    }

    fn range_f64(&mut self, path: &str, v: f64, lo: f64, hi: f64, hi_inclusive: bool) {
        let ok = v.is_finite() && v >= lo && if hi_inclusive { v <= hi } else { v < hi };
        if !ok {
            let close = if hi_inclusive { ']' } else { ')' };
            self.fail(path, format!("must be in [{lo}, {hi}{close}, got {v}"));
        }
    }

    fn range_usize(&mut self, path: &str, v: usize, lo: usize, hi: usize) {
        if v < lo || v > hi {
            self.fail(path, format!("must be between {lo} and {hi}, got {v}"));
        }
    }

    fn positive(&mut self, path: &str, v: f64) {
        if !(v.is_finite() && v > 0.0) {
            self.fail(path, format!("must be a positive number, got {v}"));
        }
    }
}

pub(super) fn validate(e: &Experiment) -> Vec<Problem> {
    validate_with(e, true)
}

/// Every check but those of files and folders: a recorded run's data may have moved since
/// it trained (runs copied from a cluster, a renamed disk), and reading its results needs
/// none of it; whatever later opens the data says what is missing.
pub(super) fn validate_recorded(e: &Experiment) -> Vec<Problem> {
    validate_with(e, false)
}

fn validate_with(e: &Experiment, files: bool) -> Vec<Problem> {
    let mut c = Checker {
        problems: Vec::new(),
        files,
    };
    if e.name.trim().is_empty() {
        c.fail("name", "must not be empty");
    } else if e.name.contains(['/', '\\']) {
        c.fail("name", "must not contain path separators");
    }
    match super::device::parse_device(&e.device) {
        Err(_) => c.fail(
            "device",
            format!("must be \"cpu\" or \"cuda:N\", got {:?}", e.device),
        ),
        // Said before anything starts, beside the field, rather than when the run opens it.
        Ok(super::device::DeviceSpec::Cuda(_)) if !super::device::CUDA_BUILT => {
            c.fail(
                "device",
                "this ferlab was built without CUDA: rebuild with `cargo build --release --features cuda`, or use \"cpu\"",
            )
        }
        Ok(_) => {}
    }
    check_data(&mut c, e);
    check_corruption(&mut c, e);

    let a = &e.augment;
    c.range_f64("augment.brightness", a.brightness as f64, 0.0, 1.0, true);
    c.range_f64("augment.contrast", a.contrast as f64, 0.0, 1.0, true);
    c.range_f64("augment.erase_prob", a.erase_prob as f64, 0.0, 1.0, true);
    c.range_f64("augment.mean", a.mean as f64, 0.0, 1.0, true);
    c.positive("augment.std", a.std as f64);
    if a.crop_padding > e.data.image_size / 4 {
        c.fail(
            "augment.crop_padding",
            format!(
                "must be at most a quarter of data.image_size ({}), got {}",
                e.data.image_size / 4,
                a.crop_padding
            ),
        );
    }

    let m = &e.model;
    if m.backbone == Backbone::SmallCnn {
        c.range_usize("model.width", m.width, 4, 256);
        c.range_usize("model.convs_per_stage", m.convs_per_stage, 1, 4);
    }
    c.range_f64("model.dropout", m.dropout as f64, 0.0, 1.0, false);
    if let Some(p) = &m.pretrained
        && c.files
        && !p.is_file()
    {
        c.fail(
            "model.pretrained",
            format!("file {} does not exist", p.display()),
        );
    }

    let l = &e.method;
    c.range_f64(
        "method.label_smoothing",
        l.label_smoothing as f64,
        0.0,
        1.0,
        false,
    );
    check_methods(&mut c, e);

    let o = &e.optimizer;
    c.positive("optimizer.lr", o.lr);
    c.range_f64("optimizer.weight_decay", o.weight_decay, 0.0, 1.0, true);
    c.range_f64("optimizer.momentum", o.momentum, 0.0, 1.0, false);
    c.range_f64("optimizer.beta1", o.beta1, 0.0, 1.0, false);
    c.range_f64("optimizer.beta2", o.beta2, 0.0, 1.0, false);
    c.positive("optimizer.eps", o.eps);
    c.range_f64("optimizer.sam_rho", o.sam_rho, 0.0, 10.0, true);
    // SAM evaluates the method's loss twice per step; ASM (mined sets) and SCN (relabels)
    // record per-sample state while computing it, which the second, perturbed pass would
    // overwrite.
    if o.sam_rho > 0.0 && matches!(e.method.name, MethodKind::Asm | MethodKind::Scn) {
        c.fail(
            "optimizer.sam_rho",
            format!(
                "SAM is not supported with method {}: it records per-sample state in its loss; use 0",
                e.method.name.key()
            ),
        );
    }

    let s = &e.schedule;
    if !(s.warmup_epochs.is_finite() && s.warmup_epochs >= 0.0) {
        c.fail("schedule.warmup_epochs", "must be zero or positive");
    } else if s.warmup_epochs >= e.train.epochs as f64 && e.train.epochs > 0 {
        c.fail(
            "schedule.warmup_epochs",
            format!("must be shorter than train.epochs ({})", e.train.epochs),
        );
    }
    c.range_usize("schedule.step_epochs", s.step_epochs, 1, 100_000);
    c.range_f64("schedule.gamma", s.gamma, 0.0, 1.0, true);
    c.range_f64("schedule.min_lr_ratio", s.min_lr_ratio, 0.0, 1.0, true);

    let t = &e.train;
    c.range_usize("train.epochs", t.epochs, 1, 100_000);
    c.range_usize("train.batch_size", t.batch_size, 2, 4096);
    c.range_usize("train.eval_batch_size", t.eval_batch_size, 1, 8192);
    c.range_usize("train.threads", t.threads, 0, 512);
    c.range_usize("train.log_every", t.log_every, 1, 1_000_000);
    c.range_usize("train.attention_gallery", t.attention_gallery, 1, 256);
    if t.embedding_points == 1 {
        c.fail("train.embedding_points", "must be 0 (all) or at least 2");
    }

    if e.output.dir.as_os_str().is_empty() {
        c.fail("output.dir", "must not be empty");
    }
    c.problems
}

fn check_methods(c: &mut Checker, e: &Experiment) {
    let a = &e.method.asm;
    c.range_f64(
        "method.asm.noisy_threshold",
        a.noisy_threshold as f64,
        0.0,
        1.0,
        false,
    );
    c.range_f64(
        "method.asm.clean_threshold",
        a.clean_threshold as f64,
        0.0,
        1.0,
        true,
    );
    if a.noisy_threshold >= a.clean_threshold {
        c.fail(
            "method.asm.clean_threshold",
            format!(
                "must be above method.asm.noisy_threshold ({}), got {}",
                a.noisy_threshold, a.clean_threshold
            ),
        );
    }
    c.range_f64("method.asm.momentum", a.momentum as f64, 0.0, 1.0, false);
    if e.method.name == super::MethodKind::Asm {
        c.range_usize(
            "method.asm.warmup_epochs",
            a.warmup_epochs,
            0,
            e.train.epochs.saturating_sub(1),
        );
    }
    c.range_f64("method.asm.lambda_max", a.lambda_max as f64, 0.0, 1.0, true);
    c.range_f64("method.asm.beta", a.beta as f64, 0.0, 100.0, true);
    c.range_f64("method.asm.omega", a.omega as f64, 0.0, 100.0, true);
    c.range_f64("method.asm.gamma", a.gamma as f64, 0.0, 100.0, true);

    let s = &e.method.scn;
    c.range_f64(
        "method.scn.high_ratio",
        s.high_ratio as f64,
        0.0,
        1.0,
        false,
    );
    if s.high_ratio <= 0.0 {
        c.fail("method.scn.high_ratio", "must be above 0");
    }
    c.range_f64("method.scn.margin", s.margin as f64, 0.0, 1.0, true);
    c.range_f64(
        "method.scn.rank_weight",
        s.rank_weight as f64,
        0.0,
        100.0,
        true,
    );
    c.range_f64(
        "method.scn.relabel_margin",
        s.relabel_margin as f64,
        0.0,
        1.0,
        true,
    );

    let f = &e.method.soft;
    c.range_f64("method.soft.epsilon", f.epsilon as f64, 0.0, 1.0, false);
    c.range_f64("method.soft.tau", f.tau as f64, 0.0, 1.0, false);
    c.range_f64(
        "method.soft.consistency",
        f.consistency as f64,
        0.0,
        1000.0,
        true,
    );
    c.range_f64(
        "method.soft.rampup_epochs",
        f.rampup_epochs as f64,
        0.0,
        10_000.0,
        true,
    );
    c.range_f64("method.soft.ema_decay", f.ema_decay as f64, 0.0, 1.0, false);

    let m = &e.method;
    c.range_f64("method.cb.beta", m.cb.beta, 0.0, 1.0, false);
    c.range_f64("method.eac.lambda", m.eac.lambda as f64, 0.0, 1000.0, true);
    c.range_usize("method.rul.uncertainty_dim", m.rul.uncertainty_dim, 1, 4096);
    c.range_f64(
        "method.rul.head_dropout",
        m.rul.head_dropout as f64,
        0.0,
        1.0,
        false,
    );
    c.range_f64(
        "method.rul.classifier_lr_scale",
        m.rul.classifier_lr_scale,
        0.0,
        1e6,
        false,
    );
    if m.rul.classifier_lr_scale <= 0.0 {
        c.fail("method.rul.classifier_lr_scale", "must be above 0");
    }
    c.range_f64(
        "method.lnsu.epsilon",
        m.lnsu.epsilon as f64,
        0.0,
        1.0,
        false,
    );
    c.range_f64(
        "method.lnsu.attention_weight",
        m.lnsu.attention_weight as f64,
        0.0,
        1000.0,
        true,
    );
    c.positive("method.lnsu.weight_scale", m.lnsu.weight_scale as f64);
    check_rmfer(c, e);
}

fn check_rmfer(c: &mut Checker, e: &Experiment) {
    let r = &e.method.rmfer;
    c.range_f64("method.rmfer.lambda1", r.lambda1 as f64, 0.0, 1000.0, true);
    c.range_f64("method.rmfer.lambda2", r.lambda2 as f64, 0.0, 1000.0, true);
    c.positive("method.rmfer.tau", r.tau as f64);
    c.range_f64("method.rmfer.gamma", r.gamma as f64, 0.0, 1.0, true);
    if r.gamma <= 0.0 {
        c.fail("method.rmfer.gamma", "must be above 0");
    }
    c.range_usize("method.rmfer.candidates", r.candidates, 1, 1000);
    if r.prior == super::ContrastPrior::Cosine && r.candidates < 2 {
        // The cosine prior draws one pool of candidates for every anchor; an anchor drawn
        // into a pool of one has no other face to contrast with.
        c.fail(
            "method.rmfer.candidates",
            format!(
                "must be at least 2 with prior = \"cosine\", got {}",
                r.candidates
            ),
        );
    }
    c.range_usize("method.rmfer.anchors", r.anchors, 1, 1024);
    c.range_usize("method.rmfer.projection_dim", r.projection_dim, 2, 4096);
    let u = &e.unlabeled;
    c.range_usize("unlabeled.videos", u.videos, 1, 10_000);
    c.range_usize("unlabeled.frames", u.frames, 1, 100_000);
    c.range_usize("unlabeled.people", u.people, 1, 1000);
    c.range_f64("unlabeled.deviation", u.deviation as f64, 0.0, 1.0, true);
    if c.files && u.source == super::UnlabeledSource::Clips && !u.path.is_dir() {
        c.fail(
            "unlabeled.path",
            format!(
                "{}: no such folder (expected <video>/<frame>/<face_id>.png under it)",
                u.path.display()
            ),
        );
    }
    if e.method.name != MethodKind::Rmfer || !r.acl {
        return;
    }
    if u.source == super::UnlabeledSource::None {
        c.fail(
            "unlabeled.source",
            "RMFER's contrastive learning (method.rmfer.acl) needs unlabeled faces: \
             \"synthetic_clips\" or \"clips\"",
        );
    }
    if r.epoch_pre >= e.train.epochs {
        c.fail(
            "method.rmfer.epoch_pre",
            format!(
                "contrastive learning starts after epoch_pre; it must be below train.epochs ({}), got {}",
                e.train.epochs, r.epoch_pre
            ),
        );
    }
    if r.prior == super::ContrastPrior::Clip
        && u.people < 2
        && u.source == super::UnlabeledSource::SyntheticClips
    {
        c.fail(
            "unlabeled.people",
            "the clip prior needs at least 2 people per frame for candidate positives",
        );
    }
}

fn check_data(c: &mut Checker, e: &Experiment) {
    let d = &e.data;
    c.range_usize("data.image_size", d.image_size, 16, 512);
    if d.channels != 1 && d.channels != 3 {
        c.fail(
            "data.channels",
            format!("must be 1 or 3, got {}", d.channels),
        );
    }
    match d.source {
        DataSource::Synthetic => {
            let s = &d.synthetic;
            c.range_usize(
                "data.synthetic.train_per_class",
                s.train_per_class,
                1,
                1_000_000,
            );
            c.range_usize(
                "data.synthetic.val_per_class",
                s.val_per_class,
                1,
                1_000_000,
            );
            c.range_usize("data.synthetic.identities", s.identities, 1, 1_000_000);
            c.range_f64(
                "data.synthetic.blend_fraction",
                s.blend_fraction as f64,
                0.0,
                1.0,
                true,
            );
            c.range_f64(
                "data.synthetic.pixel_noise",
                s.pixel_noise as f64,
                0.0,
                0.5,
                true,
            );
        }
        _ if !c.files => {}
        DataSource::ImageFolder => check_image_folder(c, &d.path, &[&d.train_split, &d.val_split]),
        DataSource::Fer2013Csv => check_file(c, "data.path", &d.path, "fer2013_csv"),
        DataSource::RafDb => {
            if d.path.as_os_str().is_empty() {
                c.fail("data.path", "is required for the raf_db source");
            } else {
                let labels = d
                    .path
                    .join(crate::contract::config::layout::RAFDB_LABEL_FILE);
                if !labels.is_file() {
                    c.fail(
                        "data.path",
                        format!("label file {} does not exist", labels.display()),
                    );
                }
            }
            if let Some(p) = &d.noisy_labels {
                check_file(c, "data.noisy_labels", p, "raf_db");
            }
        }
        DataSource::Ferplus => {
            check_file(c, "data.path", &d.path, "ferplus (fer2013new.csv)");
            check_file(c, "data.images", &d.images, "ferplus (fer2013.csv)");
        }
        DataSource::Affectnet => {
            for split in [&d.train_split, &d.val_split] {
                let csv = crate::contract::config::layout::affectnet_csv(&d.path, split);
                if !csv.is_file() {
                    c.fail(
                        "data.path",
                        format!("csv file {} does not exist", csv.display()),
                    );
                }
            }
        }
    }
    if d.noisy_labels.is_some() && d.source != DataSource::RafDb {
        c.fail("data.noisy_labels", "is only read by the raf_db source");
    }
}

fn check_file(c: &mut Checker, key: &str, path: &Path, source: &str) {
    if path.as_os_str().is_empty() {
        c.fail(key, format!("is required for the {source} source"));
    } else if !path.is_file() {
        c.fail(key, format!("file {} does not exist", path.display()));
    }
}

fn check_image_folder(c: &mut Checker, root: &Path, splits: &[&str]) {
    if root.as_os_str().is_empty() {
        c.fail("data.path", "is required for the image_folder source");
        return;
    }
    if !root.is_dir() {
        c.fail(
            "data.path",
            format!("folder {} does not exist", root.display()),
        );
        return;
    }
    for (split, key) in splits.iter().zip(["data.train_split", "data.val_split"]) {
        let dir = root.join(split);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            c.fail(key, format!("folder {} does not exist", dir.display()));
            continue;
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        if names.is_empty() {
            c.fail(
                key,
                format!("folder {} has no class sub-folders", dir.display()),
            );
        }
        for name in names {
            if let ClassMatch::Unknown = match_class_folder(&name) {
                c.fail(
                    key,
                    format!(
                        "class folder {} matches no class (known: {})",
                        dir.join(&name).display(),
                        super::classes::CANONICAL.join(", ")
                    ),
                );
            }
        }
    }
}

fn check_corruption(c: &mut Checker, e: &Experiment) {
    let k = &e.corruption;
    c.range_f64(
        "corruption.noise_rate",
        k.noise_rate as f64,
        0.0,
        1.0,
        false,
    );
    if k.noise == NoiseKind::None && k.noise_rate > 0.0 {
        c.fail(
            "corruption.noise_rate",
            "is set but corruption.noise is \"none\"; choose \"symmetric\" or \"pair_flip\"",
        );
    }
    if !(k.imbalance_factor.is_finite() && k.imbalance_factor >= 1.0) {
        c.fail(
            "corruption.imbalance_factor",
            format!(
                "must be at least 1 (1 = natural counts), got {}",
                k.imbalance_factor
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::contract::config::Experiment;

    #[test]
    fn sam_is_refused_for_methods_with_per_sample_state() {
        let mut e = Experiment::default();
        e.optimizer.sam_rho = 0.05;
        assert!(e.validate().iter().all(|p| p.path != "optimizer.sam_rho"));
        e.method.name = crate::contract::config::MethodKind::Asm;
        let problems = e.validate();
        let p = problems.iter().find(|p| p.path == "optimizer.sam_rho");
        assert!(
            p.is_some_and(|p| p.message.contains("method asm")),
            "{problems:?}"
        );
        e.optimizer.sam_rho = -1.0;
        e.method.name = crate::contract::config::MethodKind::Ce;
        assert!(e.validate().iter().any(|p| p.path == "optimizer.sam_rho"));
    }

    #[test]
    fn device_names_are_checked_beside_the_field() {
        let mut e = Experiment {
            device: "gpu".into(),
            ..Experiment::default()
        };
        let problems = e.validate();
        assert!(problems.iter().any(|p| p.path == "device"), "{problems:?}");
        e.device = "cuda:0".into();
        let problems = e.validate();
        let cuda = problems.iter().find(|p| p.path == "device");
        if crate::contract::config::device::CUDA_BUILT {
            assert!(cuda.is_none(), "{problems:?}");
        } else {
            assert!(
                cuda.is_some_and(|p| p.message.contains("built without CUDA")),
                "{problems:?}"
            );
        }
    }
}
