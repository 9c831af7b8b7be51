//! One run directory, summarised for the runs table: its settings as dotted keys and its
//! metrics, read through the one fold ([`RunView::replay`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::compute::method::REGISTRY;
use crate::contract::config::Experiment;
use crate::contract::config::schema::leaves;
use crate::contract::run::results::method_label;
use crate::contract::run::view::{RunStatus, RunView};
use crate::views::sweep::spec::value_text;

use super::metric::Metric;

/// A setting's value: as written, and as a number where it is one (for sorting and means).
#[derive(Debug, Clone, PartialEq)]
pub struct SettingValue {
    pub text: String,
    pub number: Option<f64>,
}

impl SettingValue {
    fn of(value: &toml::Value) -> Self {
        let number = match value {
            toml::Value::Integer(i) => Some(*i as f64),
            toml::Value::Float(f) => Some(*f),
            _ => None,
        };
        Self {
            text: value_text(value),
            number,
        }
    }
}

/// What the runs table knows of one run directory.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub dir: PathBuf,
    pub id: String,
    pub status: String,
    /// Stopped (or killed) with a checkpoint to continue from.
    pub resumable: bool,
    pub epochs_done: usize,
    pub epochs_total: usize,
    /// Every setting of the resolved experiment, by dotted key (`corruption.noise_rate`).
    pub settings: BTreeMap<String, SettingValue>,
    /// The method as the papers' tables name it (ASM-AT, CE); empty if unreadable.
    pub method: String,
    pub metrics: BTreeMap<Metric, f64>,
    /// Why the settings or some events could not be read, if so.
    pub warnings: Vec<String>,
}

impl RunRecord {
    /// Reads `dir`; why not when it holds no events file the fold can open.
    pub fn read(dir: &Path) -> Result<Self, String> {
        let view = RunView::replay(dir).map_err(|e| e.to_string())?;
        let mut warnings = view.unreadable.clone();
        let text = view.config.clone().or_else(|| {
            // Only a regular file: a link to a device would be read without end.
            let path = dir.join("config.toml");
            std::fs::metadata(&path)
                .is_ok_and(|m| m.is_file())
                .then(|| std::fs::read_to_string(&path).ok())
                .flatten()
        });
        let (settings, method) = match text {
            Some(text) => settings_of(&text, dir, &mut warnings),
            None => (BTreeMap::new(), String::new()),
        };
        let status = view.status.label().to_string();
        let resumable = view.status == RunStatus::Stopped
            && dir.join("checkpoints").join("last.safetensors").is_file();
        Ok(Self {
            dir: dir.to_path_buf(),
            id: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            status,
            resumable,
            epochs_done: view.epochs.len(),
            epochs_total: view.epochs_total,
            settings,
            method,
            metrics: metrics_of(&view),
            warnings,
        })
    }

    pub fn setting(&self, key: &str) -> Option<&SettingValue> {
        self.settings.get(key)
    }
}

/// The resolved experiment's settings flattened to dotted keys; a config this version
/// cannot resolve falls back to its keys as written, with a warning naming the run.
fn settings_of(
    text: &str,
    dir: &Path,
    warnings: &mut Vec<String>,
) -> (BTreeMap<String, SettingValue>, String) {
    let origin = format!("{} (recorded config)", dir.display());
    let (table, method) = match Experiment::recorded_from_toml(text, &origin, &[], &REGISTRY) {
        Ok(exp) => (
            exp.to_toml().parse::<toml::Table>().ok(),
            method_label(&exp, &REGISTRY),
        ),
        Err(e) => {
            warnings.push(e.to_string());
            (text.parse::<toml::Table>().ok(), String::new())
        }
    };
    let settings = table
        .map(|t| {
            leaves(&t)
                .iter()
                .map(|(k, v)| (k.clone(), SettingValue::of(v)))
                .collect()
        })
        .unwrap_or_default();
    (settings, method)
}

fn metrics_of(view: &RunView) -> BTreeMap<Metric, f64> {
    let mut m = BTreeMap::new();
    if let Some(best) = view.best() {
        m.insert(Metric::BestOverall, 100.0 * best.val.overall as f64);
        m.insert(Metric::BestMean, 100.0 * best.val.mean as f64);
        m.insert(Metric::BestMacroF1, 100.0 * best.val.macro_f1 as f64);
        m.insert(Metric::BestEpoch, best.epoch as f64);
    }
    if let Some(last) = view.epochs.last() {
        m.insert(Metric::LastOverall, 100.0 * last.val.overall as f64);
        m.insert(Metric::LastMean, 100.0 * last.val.mean as f64);
        m.insert(Metric::LastMacroF1, 100.0 * last.val.macro_f1 as f64);
    }
    if let Some((_, a)) = view.attention.last() {
        m.insert(Metric::FlipMse, a.mean as f64);
    }
    if let Some(q) = view.mining.last().and_then(|(_, r)| r.quality) {
        let mut put = |k, v: Option<f32>| {
            if let Some(v) = v {
                m.insert(k, 100.0 * v as f64);
            }
        };
        put(Metric::NoisyPrecision, q.noisy.precision);
        put(Metric::NoisyRecall, q.noisy.recall);
        put(Metric::CleanPrecision, q.clean.precision);
        put(Metric::CleanRecall, q.clean.recall);
    }
    if view.events_seen > 0 {
        m.insert(Metric::WallTime, view.span_secs);
    }
    m
}

/// What tells that a run directory changed since it was read: its events file's length
/// and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
}

impl Stamp {
    pub fn of(dir: &Path) -> Option<Self> {
        let meta = std::fs::metadata(dir.join("events.jsonl")).ok()?;
        Some(Self {
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

/// The runs of a folder, each read once and read again only when its events file changed.
#[derive(Debug, Default)]
pub struct Catalog {
    cached: BTreeMap<PathBuf, (Stamp, RunRecord)>,
    /// Runs read (not taken from the cache) by the last [`Catalog::scan`].
    pub last_read: usize,
    /// `folder: why` for each run folder of the last scan that could not be read (the
    /// table says how many and lists them, rather than leaving them out silently).
    pub unreadable: Vec<String>,
}

impl Catalog {
    /// The runs directly under `root` (directories with a `config.toml`), newest first.
    pub fn scan(&mut self, root: &Path) -> Vec<RunRecord> {
        self.last_read = 0;
        self.unreadable.clear();
        // Runs deleted since the last scan leave the cache.
        self.cached.retain(|dir, _| dir.is_dir());
        let dirs = run_dirs(root);
        self.read_all(&dirs)
    }

    /// The records of `dirs` (a folder's runs, a sweep's points), each from the cache while
    /// its events file is unchanged; counts the ones read in `last_read`.
    pub fn read_all(&mut self, dirs: &[PathBuf]) -> Vec<RunRecord> {
        let mut out = Vec::with_capacity(dirs.len());
        for dir in dirs {
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let Some(stamp) = Stamp::of(dir) else {
                self.unreadable.push(format!(
                    "{name}: no events.jsonl (not started, or its log is gone)"
                ));
                continue;
            };
            if let Some((old, record)) = self.cached.get(dir)
                && *old == stamp
            {
                out.push(record.clone());
                continue;
            }
            self.last_read += 1;
            match RunRecord::read(dir) {
                Ok(record) => {
                    self.cached.insert(dir.clone(), (stamp, record.clone()));
                    out.push(record);
                }
                Err(why) => self.unreadable.push(format!("{name}: {why}")),
            }
        }
        out
    }
}

/// Directories under `root` holding a `config.toml`, newest (by name, which starts with the
/// run's start time) first.
pub fn run_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs = subdirs(root, |p| p.join("config.toml").is_file());
    dirs.reverse();
    dirs
}

/// The entries of `root` that `keep` accepts, by name; none when `root` cannot be read.
pub fn subdirs(root: &Path, keep: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| keep(p))
        .collect();
    dirs.sort();
    dirs
}
