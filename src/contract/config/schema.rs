//! One description per setting. The editor draws its form from these fields, validation
//! takes each field's type and range from them, `--set` paths and a preset's keys are known
//! when a field describes them, and the results table names a method by its schema.
//!
//! The core settings are described in [`super::fields`]; each method describes its own
//! section in its module under `compute::method`, handed to the contract as a
//! [`MethodSchema`] through the [`Methods`] catalog (the contract never names a method).

use toml::{Table, Value};

use super::{Experiment, Problem};

/// One setting: its dotted path in the experiment's TOML, how it is shown and checked.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Dotted path, e.g. `optimizer.lr`.
    pub path: &'static str,
    /// The editor's label.
    pub label: &'static str,
    /// A hint on hover (empty: none).
    pub help: &'static str,
    pub kind: Kind,
    /// The field is in effect (shown, and checked) only when each of these holds.
    pub when: &'static [When],
}

/// "The setting at `path` is one of `is`" (values written as in TOML, without quotes).
#[derive(Debug, Clone, Copy)]
pub struct When {
    pub path: &'static str,
    pub is: &'static [&'static str],
}

/// What a field holds, with its valid range and how the editor edits it.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Bool,
    /// A whole number in `min..=max` (counts, epochs, sizes; `u64::MAX` = no bound).
    Count {
        min: u64,
        max: u64,
    },
    /// A real number in `range`, edited with `widget`.
    Number {
        range: Range,
        widget: Widget,
    },
    /// One of the listed words.
    Choice(&'static [&'static str]),
    /// Free text (`must_fill`: empty is a problem).
    Text {
        must_fill: bool,
    },
    /// A file or folder; `optional` ones are absent when empty.
    Path(PathKind),
    /// The method's key, one of the catalog's.
    Method,
}

/// What a path field points to: for the editor's Browse… dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathKind {
    pub optional: bool,
    pub folder: bool,
    /// A dialog filter: (name, extensions).
    pub filter: Option<(&'static str, &'static [&'static str])>,
}

/// The valid values of a number.
#[derive(Debug, Clone, Copy)]
pub enum Range {
    /// Any finite number.
    Finite,
    /// Above zero.
    Positive,
    /// At least this.
    AtLeast(f64),
    /// Between `lo` and `hi`, each end included unless marked open.
    Between {
        lo: f64,
        hi: f64,
        lo_open: bool,
        hi_open: bool,
    },
}

impl Range {
    /// `[lo, hi]`.
    pub const fn closed(lo: f64, hi: f64) -> Self {
        Self::Between {
            lo,
            hi,
            lo_open: false,
            hi_open: false,
        }
    }

    /// `[lo, hi)`.
    pub const fn below(lo: f64, hi: f64) -> Self {
        Self::Between {
            lo,
            hi,
            lo_open: false,
            hi_open: true,
        }
    }

    /// `(lo, hi]`.
    pub const fn above(lo: f64, hi: f64) -> Self {
        Self::Between {
            lo,
            hi,
            lo_open: true,
            hi_open: false,
        }
    }

    /// `(lo, hi)`.
    pub const fn open(lo: f64, hi: f64) -> Self {
        Self::Between {
            lo,
            hi,
            lo_open: true,
            hi_open: true,
        }
    }

    fn check(self, v: f64) -> Option<String> {
        // Training computes in 32-bit floats: below the smallest normal one a value is
        // denormal or 0 there (an lr of 1e-320 trained at lr 0).
        if v != 0.0 && v.abs() < f32::MIN_POSITIVE as f64 {
            return Some(format!(
                "{v:e} is too small: training computes in 32-bit floats, where values below \
                 {:e} lose their precision or become 0",
                f32::MIN_POSITIVE
            ));
        }
        match self {
            Self::Finite => (!v.is_finite()).then(|| format!("must be a finite number, got {v}")),
            Self::Positive => {
                (!(v.is_finite() && v > 0.0)).then(|| format!("must be a positive number, got {v}"))
            }
            Self::AtLeast(lo) => {
                (!(v.is_finite() && v >= lo)).then(|| format!("must be at least {lo}, got {v}"))
            }
            Self::Between {
                lo,
                hi,
                lo_open,
                hi_open,
            } => {
                let above_lo = if lo_open { v > lo } else { v >= lo };
                let below_hi = if hi_open { v < hi } else { v <= hi };
                let ok = v.is_finite() && above_lo && below_hi;
                let (open, close) = (
                    if lo_open { '(' } else { '[' },
                    if hi_open { ')' } else { ']' },
                );
                (!ok).then(|| format!("must be in {open}{lo}, {hi}{close}, got {v}"))
            }
        }
    }
}

/// How the editor edits a number.
#[derive(Debug, Clone, Copy)]
pub enum Widget {
    /// A slider over `lo..=hi` (it never clamps what is typed), logarithmic if `log`.
    Slider { lo: f64, hi: f64, log: bool },
    /// A number dragged by `speed` per pixel.
    Drag { speed: f64 },
}

impl Widget {
    pub const fn slider(lo: f64, hi: f64) -> Self {
        Self::Slider { lo, hi, log: false }
    }

    pub const fn log_slider(lo: f64, hi: f64) -> Self {
        Self::Slider { lo, hi, log: true }
    }
}

impl Field {
    /// A field with no hint and no condition; the `with_*` methods add them.
    pub const fn new(path: &'static str, label: &'static str, kind: Kind) -> Self {
        Self {
            path,
            label,
            help: "",
            kind,
            when: &[],
        }
    }

    /// A real number in `range`, edited with `widget`.
    pub const fn number(
        path: &'static str,
        label: &'static str,
        range: Range,
        widget: Widget,
    ) -> Self {
        Self::new(path, label, Kind::Number { range, widget })
    }

    /// A whole number in `min..=max`.
    pub const fn count(path: &'static str, label: &'static str, min: u64, max: u64) -> Self {
        Self::new(path, label, Kind::Count { min, max })
    }

    pub const fn help(mut self, help: &'static str) -> Self {
        self.help = help;
        self
    }

    pub const fn when(mut self, when: &'static [When]) -> Self {
        self.when = when;
        self
    }

    /// Whether the field is in effect for `table` (an experiment's TOML form).
    pub fn applies(&self, table: &Table) -> bool {
        self.when.iter().all(|w| {
            lookup(table, w.path)
                .map(value_word)
                .is_some_and(|v| w.is.contains(&v.as_str()))
        })
    }

    /// What is wrong with `value` for this field, if anything. `None` for `value` means the
    /// key is absent, which only optional paths allow.
    pub fn check(&self, value: Option<&Value>, methods: &dyn Methods) -> Option<String> {
        let Some(value) = value else {
            return match self.kind {
                Kind::Path(PathKind { optional: true, .. }) => None,
                _ => Some("is missing".into()),
            };
        };
        match (self.kind, value) {
            (Kind::Bool, Value::Boolean(_)) => None,
            (Kind::Bool, v) => Some(format!("must be true or false, got {v}")),
            (Kind::Count { min, max }, Value::Integer(i)) => {
                let ok = *i >= 0 && (*i as u64) >= min && (*i as u64) <= max;
                (!ok).then(|| {
                    if max == u64::MAX {
                        format!("must be at least {min}, got {i}")
                    } else {
                        format!("must be between {min} and {max}, got {i}")
                    }
                })
            }
            (Kind::Count { .. }, v) => Some(format!("must be a whole number, got {v}")),
            (Kind::Number { range, .. }, Value::Float(f)) => range.check(*f),
            (Kind::Number { range, .. }, Value::Integer(i)) => range.check(*i as f64),
            (Kind::Number { .. }, v) => Some(format!("must be a number, got {v}")),
            (Kind::Choice(options), Value::String(s)) => (!options.contains(&s.as_str()))
                .then(|| format!("must be one of {}, got {s:?}", options.join(", "))),
            (Kind::Method, Value::String(s)) => methods
                .get(s)
                .is_none()
                .then(|| format!("unknown method {s:?}; one of {}", methods.keys().join(", "))),
            (Kind::Text { must_fill }, Value::String(s)) => {
                (must_fill && s.trim().is_empty()).then(|| "must not be empty".into())
            }
            (Kind::Path(_), Value::String(_)) => None,
            (_, v) => Some(format!("must be text, got {v}")),
        }
    }
}

impl Kind {
    /// The valid values in words, as `ferlab settings` lists them.
    pub fn valid_values(&self, methods: &dyn Methods) -> String {
        match *self {
            Kind::Bool => "true | false".into(),
            Kind::Count { min, max: u64::MAX } => format!("whole number ≥ {min}"),
            Kind::Count { min, max } => format!("whole number in {min}..={max}"),
            Kind::Number { range, .. } => match range {
                Range::Finite => "any number".into(),
                Range::Positive => "number > 0".into(),
                Range::AtLeast(lo) => format!("number ≥ {lo}"),
                Range::Between {
                    lo,
                    hi,
                    lo_open,
                    hi_open,
                } => format!(
                    "number in {}{lo}, {hi}{}",
                    if lo_open { '(' } else { '[' },
                    if hi_open { ')' } else { ']' }
                ),
            },
            Kind::Choice(options) => options.join(" | "),
            Kind::Text { .. } => "text".into(),
            Kind::Path(PathKind { optional: true, .. }) => "path (may be left out)".into(),
            Kind::Path(_) => "path".into(),
            Kind::Method => methods.keys().join(" | "),
        }
    }
}

/// A value as the word a [`When`] compares (strings without quotes).
fn value_word(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Settings that name or place a run rather than change what it trains: never what tells
/// two runs apart in a legend, a group or a seed group.
pub const NAMING_KEYS: [&str; 5] = ["name", "description", "group", "output.dir", "device"];

/// Every leaf value of a table by its dotted path (`optimizer.lr`, `method.asm.warmup`).
pub fn leaves(table: &Table) -> std::collections::BTreeMap<String, Value> {
    fn walk(table: &Table, prefix: &str, out: &mut std::collections::BTreeMap<String, Value>) {
        for (k, v) in table {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                Value::Table(t) => walk(t, &path, out),
                other => {
                    out.insert(path, other.clone());
                }
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(table, "", &mut out);
    out
}

/// The value at a dotted path of a table.
pub fn lookup<'a>(table: &'a Table, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut value = table.get(parts.next()?)?;
    for part in parts {
        value = value.as_table()?.get(part)?;
    }
    Some(value)
}

/// Sets the value at a dotted path, creating tables on the way; `Err` names the prefix
/// that is a value rather than a table.
pub fn set(table: &mut Table, path: &str, value: Value) -> Result<(), String> {
    let parts: Vec<&str> = path.split('.').collect();
    let mut current = table;
    for (i, part) in parts[..parts.len() - 1].iter().enumerate() {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        current = match entry {
            Value::Table(t) => t,
            _ => return Err(parts[..=i].join(".")),
        };
    }
    current.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

/// Removes the value at a dotted path (an optional setting left empty).
pub fn remove(table: &mut Table, path: &str) {
    let (parent, key) = match path.rsplit_once('.') {
        Some((p, k)) => (p, k),
        None => {
            table.remove(path);
            return;
        }
    };
    let mut current = table;
    for part in parent.split('.') {
        match current.get_mut(part) {
            Some(Value::Table(t)) => current = t,
            _ => return,
        }
    }
    current.remove(key);
}

/// What the contract knows of one method: its settings section `method.<key>`, the rules
/// between its settings, the name it is shown by, and what its recorded runs need.
pub struct MethodSchema {
    /// The `method.name` value and the section's key.
    pub key: &'static str,
    /// What it is, in one line (the editor's hint).
    pub summary: &'static str,
    /// Every setting of the method, with full dotted paths (`method.<key>.…`, or
    /// `method.label_smoothing` for cross-entropy).
    pub fields: &'static [Field],
    /// The section's defaults (every key of `method.<key>`; empty for a method without one).
    pub defaults: fn() -> Table,
    /// Rules between settings that no single field's range says; run only when the method
    /// is the experiment's and its fields passed their own checks.
    pub rules: fn(&Experiment, &mut Vec<Problem>),
    /// The name shown in tables and legends (an ablation's name carries its settings).
    pub label: fn(&Experiment) -> String,
    /// Fills keys its section lacks in a run recorded before they existed with the values
    /// that reproduce what the run did (see `recorded`).
    pub earlier_behaviour: fn(&mut Table),
    /// Whether the loss records per-sample state, which SAM's second pass would overwrite.
    pub per_sample_state: bool,
    /// Whether it trains on unlabeled faces (the editor opens the Unlabeled section).
    pub unlabeled: bool,
    /// Whether its loss compares a face's class activation maps with its mirror image's
    /// (degenerate on maps of [`super::DEGENERATE_MAP_SIDE`] or smaller).
    pub flip_consistency: bool,
}

impl MethodSchema {
    /// A method with no section, rules or history; the `key`'s capitals as its label.
    pub const fn plain(key: &'static str, summary: &'static str) -> Self {
        Self {
            key,
            summary,
            fields: &[],
            defaults: Table::new,
            rules: |_, _| {},
            label: |e| e.method.name.to_uppercase(),
            earlier_behaviour: |_| {},
            per_sample_state: false,
            unlabeled: false,
            flip_consistency: false,
        }
    }
}

/// The methods an experiment may name (`compute::method::REGISTRY`).
pub trait Methods {
    fn schemas(&self) -> Vec<&MethodSchema>;

    fn get(&self, key: &str) -> Option<&MethodSchema> {
        self.schemas().into_iter().find(|s| s.key == key)
    }

    fn keys(&self) -> Vec<&'static str> {
        self.schemas().iter().map(|s| s.key).collect()
    }
}

/// A typed section's defaults as a table (for [`MethodSchema::defaults`]).
pub fn defaults_of<T: Default + serde::Serialize>() -> Table {
    table_of(&T::default())
}

/// A value's TOML table as its text reads: through the text, so an `f32` 0.1 is the 0.1 a
/// config file shows rather than its `f64` widening 0.10000000149011612.
pub fn table_of<T: serde::Serialize>(value: &T) -> Table {
    toml::to_string(value)
        .ok()
        .and_then(|text| text.parse().ok())
        .expect("ferlab's settings serialise to a TOML table")
}
