//! Every rule an experiment must satisfy, each reported with its field path.
//!
//! The CLI prints these problems and the workbench shows them beside the fields, so both
//! give the same words.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::classes::{ClassMatch, match_class_folder};
use super::fields;
use super::schema::{Field, Methods, lookup};
use super::{Backbone, DataSource, Experiment, NoiseKind};

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

    /// Each field in effect checked against its description.
    fn fields<'a>(
        &mut self,
        fields: impl IntoIterator<Item = &'a Field>,
        table: &toml::Table,
        methods: &dyn Methods,
    ) {
        for field in fields {
            if !field.applies(table) {
                continue;
            }
            if let Some(message) = field.check(lookup(table, field.path), methods) {
                self.fail(field.path, message);
            }
        }
    }
}

/// Every problem of `e`: each field in effect against its description (core fields and the
/// method's), unknown method sections and keys, then the rules between fields. Files and
/// folders are checked when `files` (not for a recorded run, whose data may have moved).
pub(super) fn validate(e: &Experiment, methods: &dyn Methods, files: bool) -> Vec<Problem> {
    let table = e.to_table();
    let mut c = Checker {
        problems: Vec::new(),
        files,
    };
    c.fields(fields::core_fields(), &table, methods);
    check_method_sections(&mut c, e, methods);
    let method = methods.get(&e.method.name);
    if let Some(schema) = method {
        c.fields(schema.fields, &table, methods);
    }
    let fields_ok = c.problems.is_empty();

    if e.name.contains(['/', '\\']) {
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
    check_generated_size(&mut c, e);
    check_corruption(&mut c, e);
    if e.augment.crop_padding > e.data.image_size / 4 {
        c.fail(
            "augment.crop_padding",
            format!(
                "must be at most a quarter of data.image_size ({}), got {}",
                e.data.image_size / 4,
                e.augment.crop_padding
            ),
        );
    }
    if e.train.tta == super::TestTimeViews::TenCrop && e.augment.crop_padding == 0 {
        c.fail(
            "train.tta",
            "ten_crop translates the corners by augment.crop_padding, which is 0: set \
             augment.crop_padding (the crops the network trains on), or use flip",
        );
    }
    if e.model
        .pretrained
        .as_ref()
        .is_some_and(|p| p.as_os_str().is_empty())
    {
        c.fail(
            "model.pretrained",
            "is empty: name a weights file, or remove the key to start from scratch",
        );
    } else if let Some(p) = &e.model.pretrained
        && c.files
        && !p.is_file()
    {
        let what = if p.exists() {
            "is not a regular file (a device, pipe or folder)"
        } else {
            "does not exist"
        };
        c.fail("model.pretrained", format!("file {} {what}", shown(p)));
    }
    check_model(&mut c, e);
    // SAM evaluates the method's loss twice per step; a method that records per-sample
    // state while computing it (ASM's mined sets, SCN's relabels) would see it overwritten
    // by the second, perturbed pass.
    if e.optimizer.sam_rho > 0.0 && method.is_some_and(|m| m.per_sample_state) {
        c.fail(
            "optimizer.sam_rho",
            format!(
                "SAM is not supported with method {}: it records per-sample state in its loss; use 0",
                e.method.name
            ),
        );
    }
    let s = &e.schedule;
    if s.warmup_epochs >= e.train.epochs as f64 && e.train.epochs > 0 {
        c.fail(
            "schedule.warmup_epochs",
            format!("must be shorter than train.epochs ({})", e.train.epochs),
        );
    }
    if e.train.embedding_points == 1 {
        c.fail("train.embedding_points", "must be 0 (all) or at least 2");
    }
    if e.output.dir.as_os_str().is_empty() {
        c.fail("output.dir", "must not be empty");
    }
    let u = &e.unlabeled;
    if c.files && u.source == super::UnlabeledSource::Clips && !u.path.is_dir() {
        c.fail(
            "unlabeled.path",
            format!(
                "{}: no such folder (expected <video>/<frame>/<face_id>.png under it)",
                shown(&u.path)
            ),
        );
    }
    // The method's own rules read its typed section, so they run once its fields are sound.
    if let Some(schema) = method
        && fields_ok
    {
        (schema.rules)(e, &mut c.problems);
    }
    c.problems
}

/// Every `method.<key>` section names a known method, and each of its keys a field.
fn check_method_sections(c: &mut Checker, e: &Experiment, methods: &dyn Methods) {
    for (key, value) in &e.method.sections {
        let section = format!("method.{key}");
        let Some(schema) = methods.get(key) else {
            c.fail(&section, "unknown key");
            continue;
        };
        let toml::Value::Table(table) = value else {
            c.fail(&section, "must be a table of the method's settings");
            continue;
        };
        for k in table.keys() {
            let path = format!("{section}.{k}");
            if !schema.fields.iter().any(|f| f.path == path) {
                c.fail(&path, "unknown key");
            }
        }
    }
}

fn check_data(c: &mut Checker, e: &Experiment) {
    let d = &e.data;
    if d.channels == 2 {
        c.fail("data.channels", "must be 1 or 3, got 2");
    }
    match d.source {
        DataSource::Synthetic => {}
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
                        format!("label file {} does not exist", shown(&labels)),
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
                        format!("csv file {} does not exist", shown(&csv)),
                    );
                }
            }
        }
    }
    if d.noisy_labels.is_some() && d.source != DataSource::RafDb {
        c.fail("data.noisy_labels", "is only read by the raf_db source");
    }
}

/// A path as a problem names it: a relative one with the folder it is relative to (the
/// working folder, which the editor and the command line do not show).
fn shown(path: &Path) -> String {
    match std::env::current_dir() {
        Ok(cwd) if path.is_relative() => {
            format!("{} (relative to {})", path.display(), cwd.display())
        }
        _ => path.display().to_string(),
    }
}

fn check_file(c: &mut Checker, key: &str, path: &Path, source: &str) {
    if path.as_os_str().is_empty() {
        c.fail(key, format!("is required for the {source} source"));
    } else if !path.is_file() {
        c.fail(key, format!("file {} does not exist", shown(path)));
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
            format!("folder {} does not exist", shown(root)),
        );
        return;
    }
    for (split, key) in splits.iter().zip(["data.train_split", "data.val_split"]) {
        let dir = root.join(split);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            c.fail(key, format!("folder {} does not exist", shown(&dir)));
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
                format!("folder {} has no class sub-folders", shown(&dir)),
            );
        }
        for name in names {
            if let ClassMatch::Unknown = match_class_folder(&name) {
                c.fail(
                    key,
                    format!(
                        "class folder {} matches no class (known: {})",
                        shown(&dir.join(&name)),
                        super::classes::CANONICAL.join(", ")
                    ),
                );
            }
        }
    }
}

/// The most pixels a generated set (synthetic faces, synthetic clips) may hold in memory:
/// 4 GiB, 1.5 million faces at 48 px (FER2013 is 83 MB). Past it, a run would take the
/// machine's memory before its first step (10^6 faces per class at 512 px were accepted).
pub const MAX_GENERATED_BYTES: u64 = 4 << 30;

/// Generated data is held in memory; refuses a set larger than [`MAX_GENERATED_BYTES`],
/// beside the setting that makes it large.
fn check_generated_size(c: &mut Checker, e: &Experiment) {
    let d = &e.data;
    let face = (d.channels * d.image_size * d.image_size) as u64;
    let mut check = |key: &str, what: &str, faces: u64| {
        let bytes = faces.saturating_mul(face);
        if bytes > MAX_GENERATED_BYTES {
            c.fail(
                key,
                format!(
                    "{what} would hold {faces} faces of {}×{}×{} in memory, {:.1} GiB (at \
                     most {} GiB): fewer faces or a smaller data.image_size",
                    d.channels,
                    d.image_size,
                    d.image_size,
                    bytes as f64 / (1u64 << 30) as f64,
                    MAX_GENERATED_BYTES >> 30
                ),
            );
        }
    };
    if d.source == DataSource::Synthetic {
        let per_class = d.synthetic.train_per_class as u64 + d.synthetic.val_per_class as u64;
        let faces = per_class.saturating_mul(super::classes::CANONICAL.len() as u64);
        check("data.synthetic.train_per_class", "the synthetic set", faces);
    }
    let u = &e.unlabeled;
    if u.source == super::UnlabeledSource::SyntheticClips {
        let faces = (u.videos as u64)
            .saturating_mul(u.people as u64)
            .saturating_mul(u.frames as u64);
        check("unlabeled.frames", "the synthetic clips", faces);
    }
}

fn check_corruption(c: &mut Checker, e: &Experiment) {
    let k = &e.corruption;
    if k.noise == NoiseKind::None && k.noise_rate > 0.0 {
        c.fail(
            "corruption.noise_rate",
            "is set but corruption.noise is \"none\"; choose \"symmetric\" or \"pair_flip\"",
        );
    }
}

fn check_model(c: &mut Checker, e: &Experiment) {
    let m = &e.model;
    if m.backbone == Backbone::FaceResnet {
        let side = m.effective_input_size(e.data.image_size);
        // A count past the down blocks is the field's own range problem.
        if m.stride_one_blocks <= super::FACE_RESNET_DOWN_BLOCKS
            && super::face_resnet_map_side(side, m.stride_one_blocks).is_none()
        {
            c.fail(
                "model.input_size",
                format!(
                    "the face ResNet needs an input of at least {} px (its convolutions are 'valid'); got {side}: use 112 (fast) or 150 (native), or 0 for 150",
                    super::FACE_RESNET_MIN_INPUT
                ),
            );
        }
    }
    if m.freeze_backbone_epochs > 0 && m.freeze_backbone_epochs >= e.train.epochs {
        c.fail(
            "model.freeze_backbone_epochs",
            format!(
                "must be fewer than train.epochs ({}), or the backbone never trains",
                e.train.epochs
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A relative data path's problem says what it is relative to (the workbench's working
    /// folder is nowhere on screen).
    #[test]
    fn a_missing_relative_path_names_the_folder_it_is_relative_to() {
        let mut e = Experiment::default();
        e.data.source = DataSource::ImageFolder;
        e.data.path = "no-such-data/fer2013".into();
        struct NoMethods;
        impl Methods for NoMethods {
            fn schemas(&self) -> Vec<&super::super::MethodSchema> {
                Vec::new()
            }
        }
        let problems = validate(&e, &NoMethods, true);
        let cwd = std::env::current_dir().unwrap();
        let p = problems.iter().find(|p| p.path == "data.path").unwrap();
        assert_eq!(
            p.message,
            format!(
                "folder no-such-data/fer2013 (relative to {}) does not exist",
                cwd.display()
            )
        );
    }
}
