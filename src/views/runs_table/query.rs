//! What the runs table shows of a folder's runs: filtered (by text and per column), sorted by
//! a column, and grouped — runs that share every setting but the seed, or the shown
//! settings — with each group's metrics as mean ± sd (n).

use std::collections::BTreeMap;

use super::columns::Column;
use super::record::RunRecord;

/// Settings that name or describe a run but do not change what it trains: never a reason
/// to split a group.
pub const IDENTITY_KEYS: [&str; 3] = ["name", "description", "group"];

/// The grouped settings of a run, `(key, value)` in key order.
type GroupKey = Vec<(String, String)>;

/// How runs are gathered into groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Grouping {
    #[default]
    None,
    /// Runs whose settings are all equal except the seed (and name, description, group):
    /// the seeds of one configuration.
    AllButSeed,
    /// Runs equal in the shown setting columns (except the seed).
    ShownSettings,
}

impl Grouping {
    pub const ALL: [Grouping; 3] = [
        Grouping::None,
        Grouping::AllButSeed,
        Grouping::ShownSettings,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Grouping::None => "none",
            Grouping::AllButSeed => "all_but_seed",
            Grouping::ShownSettings => "shown_settings",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.key() == key)
    }

    pub fn label(self) -> &'static str {
        match self {
            Grouping::None => "none",
            Grouping::AllButSeed => "runs that differ only in their seed",
            Grouping::ShownSettings => "runs equal in the shown settings",
        }
    }
}

/// A column filter: `>50`, `<=0.3`, `=0.2`, `40..60` on numbers; `!text` excludes; anything
/// else is a case-insensitive part of the cell's text.
#[derive(Debug, Clone, PartialEq)]
enum Condition {
    Compare(std::cmp::Ordering, bool, f64),
    Range(f64, f64),
    Contains(String),
    Excludes(String),
}

impl Condition {
    fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        if t.is_empty() {
            return None;
        }
        let num = |s: &str| s.trim().parse::<f64>().ok();
        use std::cmp::Ordering::*;
        for (prefix, ord, or_equal) in [
            (">=", Greater, true),
            ("<=", Less, true),
            (">", Greater, false),
            ("<", Less, false),
            ("=", Equal, true),
        ] {
            if let Some(rest) = t.strip_prefix(prefix)
                && let Some(x) = num(rest)
            {
                return Some(Condition::Compare(ord, or_equal, x));
            }
        }
        if let Some((a, b)) = t.split_once("..")
            && let (Some(a), Some(b)) = (num(a), num(b))
        {
            return Some(Condition::Range(a.min(b), a.max(b)));
        }
        if let Some(rest) = t.strip_prefix('!') {
            return Some(Condition::Excludes(rest.to_lowercase()));
        }
        Some(Condition::Contains(t.to_lowercase()))
    }

    fn holds(&self, text: &str, number: Option<f64>) -> bool {
        match self {
            Condition::Compare(ord, or_equal, x) => number.is_some_and(|v| {
                let o = v.total_cmp(x);
                o == *ord || (*or_equal && (v - x).abs() <= 1e-9 * x.abs().max(1.0))
            }),
            Condition::Range(a, b) => number.is_some_and(|v| *a <= v && v <= *b),
            Condition::Contains(part) => text.to_lowercase().contains(part),
            Condition::Excludes(part) => !text.to_lowercase().contains(part),
        }
    }
}

/// Everything the user chose about the table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableQuery {
    pub columns: Vec<Column>,
    /// Part of a run's name or of any shown cell (case-insensitive).
    pub text: String,
    /// Per-column conditions, by column.
    pub column_filters: BTreeMap<Column, String>,
    /// The column sorted by, and whether descending; None keeps newest first.
    pub sort: Option<(Column, bool)>,
    pub grouping: Grouping,
}

/// What a group is, by its method and experiment (`ASM-AT · noise30`): the methods of its
/// runs and their experiment's name (the first and how many more where they differ).
fn group_title(runs: &[RunRecord], members: &[usize]) -> String {
    let distinct = |f: &dyn Fn(&RunRecord) -> String| {
        let mut out: Vec<String> = Vec::new();
        for &i in members {
            let v = f(&runs[i]);
            if !v.is_empty() && !out.contains(&v) {
                out.push(v);
            }
        }
        out
    };
    let methods = distinct(&|r| r.method.clone()).join(" / ");
    // Seeds of one experiment share its name; where they do not, the first and a count.
    let names = distinct(&|r| r.setting("name").map_or(String::new(), |v| v.text.clone()));
    let names = match names.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first} +{}", rest.len()),
    };
    match (methods.is_empty(), names.is_empty()) {
        (false, false) => format!("{methods} · {names}"),
        (false, true) => methods,
        _ => names,
    }
}

/// A group of runs: their shared settings (the ones grouped by) and members.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The method and experiment of its runs (`ASM-AT · noise30`).
    pub title: String,
    /// `key=value` of the grouped settings that tell this group from the others and are not
    /// shown as columns; empty when the columns tell the groups apart.
    pub label: String,
    /// Indices into the runs, in the table's order.
    pub members: Vec<usize>,
}

/// The table's body, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Rows {
    Runs(Vec<usize>),
    Groups(Vec<Group>),
}

impl TableQuery {
    /// Whether `run` passes the text filter and every column filter.
    pub fn keeps(&self, run: &RunRecord) -> bool {
        let text = self.text.trim().to_lowercase();
        if !text.is_empty()
            && !run.id.to_lowercase().contains(&text)
            && !self
                .columns
                .iter()
                .any(|c| c.text(run).to_lowercase().contains(&text))
        {
            return false;
        }
        self.column_filters.iter().all(|(column, filter)| {
            Condition::parse(filter).is_none_or(|c| c.holds(&column.text(run), column.number(run)))
        })
    }

    /// The table as shown, as CSV: a row per shown run in the table's order, its name, its
    /// group (when grouped) and every shown column, values as the cells print them.
    pub fn csv(&self, runs: &[RunRecord]) -> String {
        let mut header = vec!["run".to_string()];
        if self.grouping != Grouping::None {
            header.push("group".into());
        }
        header.extend(self.columns.iter().map(Column::key));
        let mut out = crate::views::tables::csv_line(&header);
        let line = |run: &RunRecord, group: Option<&str>| {
            let mut fields = vec![run.id.clone()];
            fields.extend(group.map(str::to_string));
            fields.extend(self.columns.iter().map(|c| c.text(run)));
            crate::views::tables::csv_line(&fields)
        };
        match self.rows(runs) {
            Rows::Runs(order) => order.iter().for_each(|&i| out += &line(&runs[i], None)),
            Rows::Groups(groups) => {
                for (n, g) in groups.iter().enumerate() {
                    let name = if g.label.is_empty() {
                        format!("group {}", n + 1)
                    } else {
                        g.label.clone()
                    };
                    for &i in &g.members {
                        out += &line(&runs[i], Some(&name));
                    }
                }
            }
        }
        out
    }

    /// The runs kept, sorted.
    pub fn order(&self, runs: &[RunRecord]) -> Vec<usize> {
        let mut kept: Vec<usize> = (0..runs.len()).filter(|&i| self.keeps(&runs[i])).collect();
        if let Some((column, descending)) = &self.sort {
            kept.sort_by(|&a, &b| {
                let (ra, rb) = (&runs[a], &runs[b]);
                let o = column.compare(ra, rb);
                // Runs without a value stay last in both directions.
                let alike = column.number(ra).is_some() == column.number(rb).is_some();
                if *descending && alike { o.reverse() } else { o }
            });
        }
        kept
    }

    /// The table's rows: runs, or groups of runs with their members in order.
    pub fn rows(&self, runs: &[RunRecord]) -> Rows {
        if self.grouping == Grouping::None {
            return Rows::Runs(self.order(runs));
        }
        // Groups are made of all the runs, and a filter picks groups (any member passing
        // shows its group), so a group's mean ± sd (n) never changes because a filter hid
        // one of its seeds (37.11 ± 2.68 (3) became 38.66 ± 0.06 (2)).
        let unfiltered = TableQuery {
            text: String::new(),
            column_filters: BTreeMap::new(),
            ..self.clone()
        };
        let mut groups: Vec<(GroupKey, Vec<usize>)> = Vec::new();
        for i in unfiltered.order(runs) {
            let key = self.group_key(&runs[i]);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(i),
                None => groups.push((key, vec![i])),
            }
        }
        groups.retain(|(_, members)| members.iter().any(|&i| self.keeps(&runs[i])));
        if let Some((column, descending)) = &self.sort {
            // Groups sort by their mean (numbers) or first member (text).
            let mean = |members: &[usize]| {
                let xs: Vec<f64> = members
                    .iter()
                    .filter_map(|&i| column.number(&runs[i]))
                    .collect();
                (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
            };
            groups.sort_by(|a, b| match (mean(&a.1), mean(&b.1)) {
                (Some(x), Some(y)) if *descending => y.total_cmp(&x),
                (Some(x), Some(y)) => x.total_cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                // Members are already in order: keep the groups' order.
                (None, None) => std::cmp::Ordering::Equal,
            });
        }
        // A group's label: the grouped settings that differ between groups and are not
        // shown as columns (the columns already show the rest).
        let shown: Vec<&String> = self
            .columns
            .iter()
            .filter_map(|c| match c {
                Column::Setting(k) => Some(k),
                _ => None,
            })
            .collect();
        let differing = |key: &String| {
            let value = |g: &(GroupKey, Vec<usize>)| {
                g.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
            };
            groups.iter().any(|g| value(g) != value(&groups[0]))
        };
        let mut label_keys: Vec<String> = Vec::new();
        for (key, _) in groups.iter().flat_map(|g| g.0.iter()) {
            if !shown.contains(&key) && !label_keys.contains(key) && differing(key) {
                label_keys.push(key.clone());
            }
        }
        Rows::Groups(
            groups
                .iter()
                .map(|(key, members)| Group {
                    title: group_title(runs, members),
                    label: label_keys
                        .iter()
                        .map(|k| {
                            let v = key
                                .iter()
                                .find(|(kk, _)| kk == k)
                                .map_or("—", |(_, v)| v.as_str());
                            format!("{k}={v}")
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                    members: members.clone(),
                })
                .collect(),
        )
    }

    fn group_key(&self, run: &RunRecord) -> GroupKey {
        let grouped = |k: &str| k != "seed" && !IDENTITY_KEYS.contains(&k);
        match self.grouping {
            Grouping::None => Vec::new(),
            Grouping::AllButSeed => run
                .settings
                .iter()
                .filter(|(k, _)| grouped(k))
                .map(|(k, v)| (k.clone(), v.text.clone()))
                .collect(),
            Grouping::ShownSettings => self
                .columns
                .iter()
                .filter_map(|c| match c {
                    Column::Setting(k) if grouped(k) => Some((
                        k.clone(),
                        run.setting(k)
                            .map_or_else(|| "—".into(), |v| v.text.clone()),
                    )),
                    _ => None,
                })
                .collect(),
        }
    }
}

impl Column {
    /// A group's cell: a metric's mean ± sd (n); a setting's value when all members share
    /// it, else the distinct values (the seeds of the group); a status's counts.
    pub fn group_text(&self, runs: &[RunRecord], members: &[usize]) -> String {
        match self {
            Column::Metric(m) => {
                let xs: Vec<f64> = members
                    .iter()
                    .filter_map(|&i| runs[i].metrics.get(m).copied())
                    .collect();
                m.format_group(&xs)
            }
            _ => {
                let mut values: Vec<String> = Vec::new();
                for &i in members {
                    let t = self.text(&runs[i]);
                    if !values.contains(&t) {
                        values.push(t);
                    }
                }
                if values.len() > 1 && members.iter().all(|&i| self.number(&runs[i]).is_some()) {
                    values.sort_by(|a, b| {
                        a.parse::<f64>()
                            .unwrap_or(0.0)
                            .total_cmp(&b.parse::<f64>().unwrap_or(0.0))
                    });
                }
                values.join(", ")
            }
        }
    }
}

/// The settings that differ among `runs` (keys set in only some of them included), each
/// with every run's value ("—" where unset), in key order; identity keys left out.
pub fn config_diff(runs: &[&RunRecord]) -> Vec<(String, Vec<String>)> {
    let mut keys: Vec<&String> = runs.iter().flat_map(|r| r.settings.keys()).collect();
    keys.sort();
    keys.dedup();
    let method = |r: &RunRecord| r.setting("method.name").map(|v| v.text.clone());
    keys.into_iter()
        .filter(|k| !IDENTITY_KEYS.contains(&k.as_str()))
        .filter_map(|k| {
            // `method.<m>.…` is a setting only of the runs that train method m: compared
            // among them, "—" (not used) for the others.
            let owner = k
                .strip_prefix("method.")
                .and_then(|rest| rest.split_once('.'))
                .map(|(m, _)| m.to_string());
            let uses = |r: &RunRecord| owner.is_none() || method(r) == owner;
            let values: Vec<String> = runs
                .iter()
                .map(|r| match r.setting(k) {
                    Some(v) if uses(r) => v.text.clone(),
                    _ => "—".into(),
                })
                .collect();
            let used: Vec<&String> = runs
                .iter()
                .zip(&values)
                .filter(|(r, _)| uses(r))
                .map(|(_, v)| v)
                .collect();
            let differ = match owner {
                // Runs of other methods do not make a method's setting differ.
                Some(_) => used.iter().any(|v| *v != used[0]),
                None => values.iter().any(|v| *v != values[0]),
            };
            differ.then(|| (k.clone(), values))
        })
        .collect()
}
