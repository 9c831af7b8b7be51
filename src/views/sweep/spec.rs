//! A preset's `[sweep]` section and its expansion into points: a list of settings and/or a
//! grid over any config keys, each run once per seed.
//!
//! ```toml
//! [sweep]
//! seeds = [1, 2, 3]          # each point once per seed (the top-level `seed` key)
//! parallel = 2               # runs at once on this machine
//! [sweep.grid]               # every combination
//! "method.cb.beta" = [0.99, 0.999, 0.9999]
//! "optimizer.lr" = [0.01, 0.1]
//! [[sweep.points]]           # and/or an explicit list, crossed with the grid
//! "method.name" = "ce"
//! ```

use crate::compute::method::REGISTRY;
use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::contract::config::Experiment;
use crate::views::Error;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// Keys with their values; every combination is a point (keys in sorted order).
    #[serde(default)]
    pub grid: toml::Table,
    /// Explicit points, each a table of `"dotted.key" = value`.
    #[serde(default)]
    pub points: Vec<toml::Table>,
    #[serde(default)]
    pub seeds: Vec<i64>,
    #[serde(default = "one")]
    pub parallel: usize,
}

fn one() -> usize {
    1
}

/// The most runs one sweep may make: each point is a whole training run (and a folder, and
/// a resolved config in memory while it is expanded), so a grid past this is a typo or
/// several sweeps.
pub const MAX_POINTS: usize = 10_000;

impl SweepSpec {
    /// How many runs the sweep makes (listed points × grid combinations × seeds), counted
    /// without expanding anything; None past `usize`.
    pub fn point_count(&self) -> Option<usize> {
        let grid = self.grid.values().try_fold(1usize, |acc, v| {
            acc.checked_mul(v.as_array().map_or(1, Vec::len))
        })?;
        grid.checked_mul(self.points.len().max(1))?
            .checked_mul(self.seeds.len().max(1))
    }
}

/// One run of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// Its directory name inside the sweep folder, made of its settings.
    pub name: String,
    /// `(dotted key, value)` in the order they were applied.
    pub settings: Vec<(String, toml::Value)>,
    /// The resolved experiment (TOML).
    pub config: String,
}

impl SweepPoint {
    pub fn setting(&self, key: &str) -> Option<&toml::Value> {
        self.settings.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// A preset's text split into its sweep and the experiment the points start from.
#[derive(Debug, Clone)]
pub struct SweepPreset {
    pub name: String,
    pub spec: SweepSpec,
    /// The preset without its `[sweep]` section.
    pub base: toml::Table,
}

impl SweepPreset {
    /// Parses a preset (`origin` names it in errors); it must have a `[sweep]` section.
    pub fn parse(text: &str, origin: &str) -> Result<Self, Error> {
        let mut table: toml::Table = text
            .parse()
            .map_err(|e| Error::Sweep(format!("{origin}: {e}")))?;
        let sweep = table
            .remove("sweep")
            .ok_or_else(|| Error::Sweep(format!("{origin}: the preset has no [sweep] section")))?;
        let spec: SweepSpec = sweep.try_into().map_err(|e: toml::de::Error| {
            Error::Sweep(format!("{origin}: [sweep]: {}", e.message()))
        })?;
        if spec.parallel == 0 {
            return Err(Error::Sweep(format!(
                "{origin}: sweep.parallel: must be at least 1"
            )));
        }
        for (key, values) in &spec.grid {
            match values.as_array() {
                Some(a) if !a.is_empty() => {}
                _ => {
                    return Err(Error::Sweep(format!(
                        "{origin}: sweep.grid.\"{key}\": must be a non-empty list of values"
                    )));
                }
            }
        }
        let count = spec.point_count();
        if count.is_none_or(|n| n > MAX_POINTS) {
            let sizes: Vec<String> = spec
                .grid
                .iter()
                .map(|(k, v)| format!("{k} ({})", v.as_array().map_or(0, Vec::len)))
                .collect();
            return Err(Error::Sweep(format!(
                "{origin}: [sweep] makes {} runs ({} point(s) × grid of {} × {} seed(s)); at \
                 most {MAX_POINTS} are allowed: split it into several sweeps",
                count.map_or("more than 2^64".to_string(), |n| n.to_string()),
                spec.points.len().max(1),
                if sizes.is_empty() {
                    "1".to_string()
                } else {
                    sizes.join(" × ")
                },
                spec.seeds.len().max(1)
            )));
        }
        let name = Experiment::from_toml(text, origin, &[], &REGISTRY)?.name;
        Ok(Self {
            name,
            spec,
            base: table,
        })
    }

    /// Every point: each listed point (or the preset alone) crossed with the grid, then
    /// with the seeds; each resolved and validated with `overrides` applied first.
    pub fn expand(&self, overrides: &[String]) -> Result<Vec<SweepPoint>, Error> {
        let bases: Vec<Vec<(String, toml::Value)>> = if self.spec.points.is_empty() {
            vec![Vec::new()]
        } else {
            self.spec
                .points
                .iter()
                .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .collect()
        };
        let mut combos: Vec<Vec<(String, toml::Value)>> = vec![Vec::new()];
        for (key, values) in &self.spec.grid {
            let values = values.as_array().expect("checked when parsed");
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    values.iter().map(move |v| {
                        let mut c = c.clone();
                        c.push((key.clone(), v.clone()));
                        c
                    })
                })
                .collect();
        }
        let seeds: Vec<Option<i64>> = if self.spec.seeds.is_empty() {
            vec![None]
        } else {
            self.spec.seeds.iter().map(|&s| Some(s)).collect()
        };
        let mut settings_list = Vec::new();
        for base in &bases {
            for combo in &combos {
                for seed in &seeds {
                    let mut s = base.clone();
                    s.extend(combo.iter().cloned());
                    if let Some(seed) = seed {
                        s.push(("seed".into(), toml::Value::Integer(*seed)));
                    }
                    settings_list.push(s);
                }
            }
        }
        let varying = varying_keys(&settings_list);
        let base_text = toml::to_string(&self.base)
            .map_err(|e| Error::Sweep(format!("cannot write the sweep's base preset: {e}")))?;
        let mut points = Vec::with_capacity(settings_list.len());
        let mut names = BTreeSet::new();
        for (i, settings) in settings_list.into_iter().enumerate() {
            let name = point_name(&settings, &varying);
            let mut all = overrides.to_vec();
            all.extend(settings.iter().map(|(k, v)| format!("{k}={v}")));
            let origin = format!("sweep point {i} ({name})");
            let exp = Experiment::from_toml(&base_text, &origin, &all, &REGISTRY)?;
            if !names.insert(name.clone()) {
                return Err(Error::Sweep(format!(
                    "two sweep points are both named {name}: their settings repeat"
                )));
            }
            points.push(SweepPoint {
                name,
                settings,
                config: exp.to_toml(),
            });
        }
        Ok(points)
    }
}

/// Keys whose value is not the same in every point (they name the points).
pub fn varying_keys(settings: &[Vec<(String, toml::Value)>]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for s in settings {
        for (k, _) in s {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    keys.retain(|k| {
        let mut values = settings
            .iter()
            .map(|s| s.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.to_string()));
        let first = values.next().flatten();
        values.any(|v| v != first)
    });
    keys
}

/// `beta=0.99_lr=0.1_seed=1`: each varying key by its last segment (the full key where two
/// share one), with characters unsafe in file names replaced.
pub fn point_name(settings: &[(String, toml::Value)], varying: &[String]) -> String {
    let short = |key: &str| -> String {
        let last = key.rsplit('.').next().unwrap_or(key);
        let clash = varying
            .iter()
            .filter(|k| k.rsplit('.').next() == Some(last))
            .count()
            > 1;
        if clash {
            key.to_string()
        } else {
            last.to_string()
        }
    };
    let parts: Vec<String> = varying
        .iter()
        .filter_map(|k| {
            let (_, v) = settings.iter().find(|(kk, _)| kk == k)?;
            Some(format!("{}={}", short(k), value_text(v)))
        })
        .collect();
    if parts.is_empty() {
        return "base".into();
    }
    parts
        .join("_")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._=-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// A value as a person writes it: strings without quotes.
pub fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRESET: &str = r#"
name = "grid-test"
[method]
name = "cb"
[sweep]
seeds = [1, 2]
parallel = 2
[sweep.grid]
"method.cb.beta" = [0.99, 0.9999]
"optimizer.lr" = [0.01, 0.05, 0.1]
"#;

    #[test]
    fn grid_times_seeds_expands_with_names_from_the_varying_keys() {
        let preset = SweepPreset::parse(PRESET, "grid.toml").unwrap();
        assert_eq!(preset.spec.parallel, 2);
        let points = preset.expand(&[]).unwrap();
        assert_eq!(points.len(), 2 * 3 * 2);
        assert_eq!(points[0].name, "beta=0.99_lr=0.01_seed=1");
        assert_eq!(points[11].name, "beta=0.9999_lr=0.1_seed=2");
        let exp = Experiment::from_toml(&points[11].config, "p", &[], &REGISTRY).unwrap();
        assert_eq!(
            exp.to_table()["method"]["cb"]["beta"].as_float(),
            Some(0.9999)
        );
        assert_eq!(exp.optimizer.lr, 0.1);
        assert_eq!(exp.seed, 2);
        assert_eq!(exp.name, "grid-test");
    }

    #[test]
    fn points_cross_the_grid_and_overrides_apply_to_all() {
        let text = r#"
name = "list"
[sweep]
[sweep.grid]
"train.epochs" = [1, 2]
[[sweep.points]]
"method.name" = "ce"
[[sweep.points]]
"method.name" = "lnsu"
"method.lnsu.epsilon" = 0.2
"#;
        let preset = SweepPreset::parse(text, "list.toml").unwrap();
        let points = preset.expand(&["train.batch_size=8".into()]).unwrap();
        let names: Vec<&str> = points.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "name=ce_epochs=1",
                "name=ce_epochs=2",
                "name=lnsu_epochs=1_epsilon=0.2",
                "name=lnsu_epochs=2_epsilon=0.2"
            ]
        );
        for p in &points {
            let exp = Experiment::from_toml(&p.config, "p", &[], &REGISTRY).unwrap();
            assert_eq!(exp.train.batch_size, 8);
        }
        assert_eq!(
            points[3].setting("method.lnsu.epsilon"),
            Some(&toml::Value::Float(0.2))
        );
    }

    #[test]
    fn bad_sweeps_name_the_field_or_point() {
        let no_sweep = SweepPreset::parse("name = \"x\"\n", "a.toml")
            .unwrap_err()
            .to_string();
        assert!(
            no_sweep.contains("a.toml") && no_sweep.contains("[sweep]"),
            "{no_sweep}"
        );
        let unknown = SweepPreset::parse("[sweep]\nseed = [1]\n", "b.toml")
            .unwrap_err()
            .to_string();
        assert!(
            unknown.contains("b.toml") && unknown.contains("seed"),
            "{unknown}"
        );
        let empty = SweepPreset::parse("[sweep.grid]\n\"seed\" = []\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(empty.contains("sweep.grid.\"seed\""), "{empty}");
        let bad = SweepPreset::parse("[sweep.grid]\n\"optimizer.lr\" = [0.1, -1.0]\n", "d.toml")
            .unwrap()
            .expand(&[])
            .unwrap_err()
            .to_string();
        assert!(
            bad.contains("sweep point 1 (lr=-1.0)") && bad.contains("optimizer.lr"),
            "{bad}"
        );
        let typo = SweepPreset::parse("[sweep.grid]\n\"optimiser.lr\" = [0.1, 0.2]\n", "e.toml")
            .unwrap()
            .expand(&[])
            .unwrap_err()
            .to_string();
        assert!(
            typo.contains("optimiser") && typo.contains("unknown key"),
            "{typo}"
        );
    }

    /// Ten keys of ten values are 10^10 runs: refused by counting, before anything is
    /// expanded (it used to grow by ~300 MB/s until memory ran out).
    #[test]
    fn a_grid_past_the_limit_is_refused_with_its_count() {
        let mut text = String::from("name = \"big\"\n[sweep]\nseeds = [1, 2]\n[sweep.grid]\n");
        for k in [
            "optimizer.lr",
            "optimizer.weight_decay",
            "optimizer.momentum",
            "seed",
        ] {
            let values: Vec<String> = (1..=10).map(|i| format!("{}", i as f64 / 100.0)).collect();
            let values = if k == "seed" {
                (1..=10).map(|i| i.to_string()).collect()
            } else {
                values
            };
            text += &format!("\"{k}\" = [{}]\n", values.join(", "));
        }
        let e = SweepPreset::parse(&text, "big.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("makes 20000 runs") && e.contains("at most 10000"),
            "{e}"
        );
        let mut huge = String::from("name = \"huge\"\n[sweep.grid]\n");
        for i in 0..10 {
            let values: Vec<String> = (0..100).map(|v| v.to_string()).collect();
            huge += &format!("\"train.k{i}\" = [{}]\n", values.join(", "));
        }
        let e = SweepPreset::parse(&huge, "huge.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("more than 2^64"), "{e}");
    }

    #[test]
    fn a_plain_preset_with_a_sweep_still_trains_its_base() {
        let exp = Experiment::from_toml(PRESET, "grid.toml", &[], &REGISTRY).unwrap();
        assert_eq!(exp.name, "grid-test");
    }
}
