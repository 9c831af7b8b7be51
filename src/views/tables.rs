//! Tables of several runs (one row per run, or per class, or an ablation grid) as
//! Markdown, CSV or LaTeX, for papers.

use crate::contract::run::results::RunResult;
use crate::contract::run::view::RunOutcome;
use crate::views::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TableFormat {
    Markdown,
    Csv,
    Latex,
}

const HEADER: [&str; 10] = [
    "method",
    "noise",
    "epochs",
    "best overall %",
    "best mean %",
    "last overall %",
    "last mean %",
    "noisy-set precision %",
    "noisy-set recall %",
    "run",
];

fn cells(r: &RunResult) -> Vec<String> {
    let pct = |v: f32| format!("{:.2}", 100.0 * v);
    let opt = |v: Option<f32>| v.map_or("–".to_string(), pct);
    vec![
        r.method.clone(),
        format!("{:.0}%", 100.0 * r.noise_rate),
        match &r.outcome {
            RunOutcome::Finished => format!("{} (best {})", r.epochs, r.best_epoch),
            // A run that did not finish says so beside its results.
            other => format!(
                "{} of {}, {} (best {})",
                r.epochs,
                r.planned_epochs,
                other.word(),
                r.best_epoch
            ),
        },
        pct(r.best_overall),
        pct(r.best_mean),
        pct(r.last_overall),
        pct(r.last_mean),
        opt(r.mining.and_then(|m| m.noisy.precision)),
        opt(r.mining.and_then(|m| m.noisy.recall)),
        r.run.clone(),
    ]
}

/// A table ready to render: header, cells, and the accuracy behind each cell (None for
/// columns whose best value is not marked).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub values: Vec<Vec<Option<f32>>>,
}

impl Table {
    /// The run table: settings, best / last overall and mean accuracy, mining quality.
    pub fn runs(results: &[RunResult]) -> Self {
        let values = results
            .iter()
            .map(|r| {
                let mut v = vec![None; HEADER.len()];
                v[3] = Some(r.best_overall);
                v[4] = Some(r.best_mean);
                v[5] = Some(r.last_overall);
                v[6] = Some(r.last_mean);
                v
            })
            .collect();
        Self {
            header: HEADER.iter().map(|h| h.to_string()).collect(),
            rows: results.iter().map(cells).collect(),
            values,
        }
    }

    /// The per-class table of the imbalanced-FER papers (LNSU Tables 1–2): one row per run,
    /// a column per class in the dataset's order, then overall and mean accuracy, all at
    /// each run's best epoch. Runs must share their classes.
    pub fn per_class(results: &[RunResult]) -> Result<Self, Error> {
        let classes = results
            .first()
            .map(|r| r.classes.clone())
            .unwrap_or_default();
        if let Some(other) = results.iter().find(|r| r.classes != classes) {
            return Err(Error::Table(format!(
                "{} has classes [{}], the first run has [{}]: a per-class table needs the same classes",
                other.run,
                other.classes.join(", "),
                classes.join(", ")
            )));
        }
        let mut header = vec!["method".to_string()];
        header.extend(classes.iter().cloned());
        header.extend(["overall".to_string(), "mean".to_string(), "run".to_string()]);
        let pct = |v: Option<f32>| v.map_or("–".to_string(), |v| format!("{:.2}", 100.0 * v));
        let mut rows = Vec::new();
        let mut values = Vec::new();
        for r in results {
            let mut v = vec![None];
            v.extend(r.best_per_class.iter().copied());
            v.extend([Some(r.best_overall), Some(r.best_mean), None]);
            let mut row = vec![r.method.clone()];
            row.extend(v[1..v.len() - 1].iter().map(|&x| pct(x)));
            row.push(r.run.clone());
            rows.push(row);
            values.push(v);
        }
        // Then a row per group of runs that differ only in their seed: each column's
        // mean ± sd (n) over the group (not marked as a best: it is no run of its own).
        for members in seed_groups(results) {
            let column = |f: &dyn Fn(&RunResult) -> Option<f32>| {
                let xs: Vec<f32> = members.iter().filter_map(|&i| f(&results[i])).collect();
                mean_sd_text(&xs).0
            };
            let first = &results[members[0]];
            let mut row = vec![format!("{} (mean ± sd)", first.method)];
            for k in 0..classes.len() {
                row.push(column(&|r| r.best_per_class.get(k).copied().flatten()));
            }
            row.push(column(&|r| Some(r.best_overall)));
            row.push(column(&|r| Some(r.best_mean)));
            row.push(format!("{} seeds", members.len()));
            values.push(vec![None; row.len()]);
            rows.push(row);
        }
        Ok(Self {
            header,
            rows,
            values,
        })
    }

    /// The feature-space table of RMFER's analysis, from each run's last embedding: best
    /// accuracies, cosine similarity of same- and different-label pairs and their gap
    /// (Tables 6, 13), mean distance to the class centre in the MDS plane (Table 14), and
    /// the share of attention-filtered positives with the anchor's expression beside the
    /// share among all candidates (Table 12). Runs without an embedding are an error.
    pub fn embeddings(results: &[RunResult]) -> Result<Self, Error> {
        let header = [
            "method",
            "best overall %",
            "best mean %",
            "epoch",
            "cos same",
            "cos different",
            "cos gap",
            "centre distance",
            "kept pos same %",
            "candidate pos same %",
            "kept neg different %",
            "run",
        ];
        let pct = |v: Option<f32>| v.map_or("–".to_string(), |v| format!("{:.1}", 100.0 * v));
        let mut rows = Vec::new();
        let mut values = Vec::new();
        for r in results {
            let e = r.embedding.as_ref().ok_or_else(|| {
                Error::Table(format!(
                    "{}: no embedding (set train.embedding_every > 0)",
                    r.run
                ))
            })?;
            let f = e.filter.as_ref();
            rows.push(vec![
                r.method.clone(),
                format!("{:.2}", 100.0 * r.best_overall),
                format!("{:.2}", 100.0 * r.best_mean),
                (e.epoch + 1).to_string(),
                format!("{:.3}", e.cosine_same),
                format!("{:.3}", e.cosine_different),
                format!("{:.3}", e.cosine_gap()),
                e.mean_centre_distance()
                    .map_or("–".into(), |d| format!("{d:.3}")),
                pct(f.and_then(|f| f.kept_positive_ratio())),
                pct(f.and_then(|f| f.candidate_positive_ratio())),
                pct(f.and_then(|f| f.kept_negative_ratio())),
                r.run.clone(),
            ]);
            let mut v = vec![None; header.len()];
            v[1] = Some(r.best_overall);
            v[2] = Some(r.best_mean);
            v[6] = Some(e.cosine_gap());
            values.push(v);
        }
        Ok(Self {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows,
            values,
        })
    }

    /// An ablation grid (ASM supplementary Table 1, RMFER Table 7): rows are the values of
    /// one setting, columns those of another, each cell the mean of `value` over the runs
    /// that share both (seeds), written `mean ± sd (n)` where there are several.
    /// `cells` are (row value, column value, value in [0, 1]); rows and columns keep the
    /// order they first appear in, or numeric order when every value is a number.
    pub fn grid(row_key: &str, col_key: &str, cells: &[(String, String, f32)]) -> Self {
        let mut rows_seen: Vec<&String> = Vec::new();
        let mut cols_seen: Vec<&String> = Vec::new();
        for (r, c, _) in cells {
            if !rows_seen.contains(&r) {
                rows_seen.push(r);
            }
            if !cols_seen.contains(&c) {
                cols_seen.push(c);
            }
        }
        sort_numerically(&mut rows_seen);
        sort_numerically(&mut cols_seen);
        let mut header = vec![format!("{row_key} / {col_key}")];
        header.extend(cols_seen.iter().map(|c| c.to_string()));
        let mut rows = Vec::new();
        let mut values = Vec::new();
        for r in &rows_seen {
            let mut row = vec![r.to_string()];
            let mut vals = vec![None];
            for c in &cols_seen {
                let xs: Vec<f32> = cells
                    .iter()
                    .filter(|(rr, cc, _)| rr == *r && cc == *c)
                    .map(|(_, _, v)| *v)
                    .collect();
                let (text, mean) = mean_sd_text(&xs);
                row.push(text);
                vals.push(mean);
            }
            rows.push(row);
            values.push(vals);
        }
        Self {
            header,
            rows,
            values,
        }
    }

    /// The largest value of each column, where the column has values that differ (a
    /// column where every run ties has no best).
    fn best(&self) -> Vec<Option<f32>> {
        (0..self.header.len())
            .map(|c| {
                let column: Vec<f32> = self
                    .values
                    .iter()
                    .filter_map(|v| v.get(c).copied().flatten())
                    .collect();
                let max = column.iter().copied().reduce(f32::max)?;
                column.iter().any(|&v| v != max).then_some(max)
            })
            .collect()
    }

    /// Whether the cell holds its column's best value (marked bold when rendered).
    pub fn is_best(&self, row: usize, col: usize) -> bool {
        let best = self.best();
        self.values[row]
            .get(col)
            .copied()
            .flatten()
            .is_some_and(|v| best[col] == Some(v))
    }

    /// Renders the table; in Markdown and LaTeX the best value of each accuracy column is
    /// bold (none where all runs tie).
    pub fn render(&self, format: TableFormat) -> String {
        // Every row's cells, the best of each accuracy column passed through `mark`.
        let marked = |mark: &dyn Fn(&str) -> String, plain: &dyn Fn(&str) -> String| {
            self.rows
                .iter()
                .enumerate()
                .map(|(i, row)| {
                    row.iter()
                        .enumerate()
                        .map(|(c, v)| {
                            if self.is_best(i, c) {
                                mark(v)
                            } else {
                                plain(v)
                            }
                        })
                        .collect::<Vec<String>>()
                })
                .collect::<Vec<_>>()
        };
        let n = self.header.len();
        let mut out = String::new();
        match format {
            TableFormat::Markdown => {
                out += &format!("| {} |\n", self.header.join(" | "));
                out += &format!("|{}\n", "---|".repeat(n));
                for shown in marked(&|v| format!("**{v}**"), &|v| v.to_string()) {
                    out += &format!("| {} |\n", shown.join(" | "));
                }
            }
            TableFormat::Csv => {
                for row in std::iter::once(&self.header).chain(&self.rows) {
                    out += &csv_line(row);
                }
            }
            TableFormat::Latex => {
                let esc = |s: &str| {
                    s.replace('\\', "\\textbackslash{}")
                        .replace('%', "\\%")
                        .replace('_', "\\_")
                        .replace('&', "\\&")
                        .replace('#', "\\#")
                        .replace('±', "$\\pm$")
                };
                out += &format!("\\begin{{tabular}}{{l{}}}\n\\toprule\n", "r".repeat(n - 1));
                let head: Vec<String> = self.header.iter().map(|h| esc(h)).collect();
                out += &format!("{} \\\\\n\\midrule\n", head.join(" & "));
                for shown in marked(&|v| format!("\\textbf{{{}}}", esc(v)), &|v| esc(v)) {
                    out += &format!("{} \\\\\n", shown.join(" & "));
                }
                out += "\\bottomrule\n\\end{tabular}\n";
            }
        }
        out
    }
}

/// Sorts values that all read as numbers by their value; leaves others as they are.
fn sort_numerically(values: &mut [&String]) {
    let numbers: Option<Vec<f64>> = values.iter().map(|v| v.parse().ok()).collect();
    if let Some(numbers) = numbers {
        let mut keyed: Vec<(f64, &String)> =
            numbers.into_iter().zip(values.iter().copied()).collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (slot, (_, v)) in values.iter_mut().zip(keyed) {
            *slot = v;
        }
    }
}

/// Groups of two or more of `results` (indices, in order) whose method and settings are
/// the same but for the seed and what only names or places a run.
fn seed_groups(results: &[RunResult]) -> Vec<Vec<usize>> {
    let key = |r: &RunResult| {
        let mut all = crate::contract::config::schema::leaves(&r.settings);
        all.retain(|k, _| {
            k != "seed" && !crate::contract::config::schema::NAMING_KEYS.contains(&k.as_str())
        });
        (r.method.clone(), all)
    };
    let keys: Vec<_> = results.iter().map(key).collect();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        match groups.iter_mut().find(|g| keys[g[0]] == *k) {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    groups.retain(|g| g.len() > 1);
    groups
}

/// Sample mean and standard deviation (n − 1); sd is `None` for fewer than two values.
pub fn mean_sd(xs: &[f64]) -> (f64, Option<f64>) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    if xs.len() < 2 {
        return (mean, None);
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, Some(var.sqrt()))
}

/// A mean and sd already in percent over `n` runs: `45.20`, or `45.20 ± 1.03 (3)`.
pub fn mean_sd_cell((mean, sd): (f64, Option<f64>), n: usize) -> String {
    match sd {
        Some(sd) => format!("{mean:.2} ± {sd:.2} ({n})"),
        None => format!("{mean:.2}"),
    }
}

/// `xs` (fractions) as percent: `45.20`, or `45.20 ± 1.03 (3)` over several runs (sample
/// standard deviation); `–` for none. Also returns the mean.
pub fn mean_sd_text(xs: &[f32]) -> (String, Option<f32>) {
    if xs.is_empty() {
        return ("–".into(), None);
    }
    let percent: Vec<f64> = xs.iter().map(|&x| 100.0 * f64::from(x)).collect();
    let (mean, sd) = mean_sd(&percent);
    (
        mean_sd_cell((mean, sd), xs.len()),
        Some((mean / 100.0) as f32),
    )
}

/// The run table of `results`, one row per run; in Markdown and LaTeX the best value of each
/// accuracy column is bold.
pub fn render(results: &[RunResult], format: TableFormat) -> String {
    Table::runs(results).render(format)
}

/// One CSV line (RFC 4180): fields with a comma, quote or line break quoted.
pub fn csv_line<S: AsRef<str>>(fields: &[S]) -> String {
    let quote = |v: &str| {
        if v.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", v.replace('"', "\"\""))
        } else {
            v.to_string()
        }
    };
    let mut line = fields
        .iter()
        .map(|f| quote(f.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ablation_grid_averages_seeds_per_cell() {
        let cells: Vec<(String, String, f32)> = [
            ("0.2", "0.8", 0.50),
            ("0.2", "0.8", 0.52),
            ("0.2", "0.9", 0.40),
            ("0.1", "0.8", 0.45),
        ]
        .iter()
        .map(|(r, c, v)| (r.to_string(), c.to_string(), *v))
        .collect();
        let t = Table::grid("noisy_threshold", "clean_threshold", &cells);
        assert_eq!(
            t.header,
            ["noisy_threshold / clean_threshold", "0.8", "0.9"]
        );
        // Rows in numeric order, whatever order the runs came in.
        assert_eq!(t.rows[0], ["0.1", "45.00", "–"]);
        assert_eq!(t.rows[1], ["0.2", "51.00 ± 1.41 (2)", "40.00"]);
        let md = t.render(TableFormat::Markdown);
        assert!(
            md.contains("| 0.2 | **51.00 ± 1.41 (2)** | 40.00 |"),
            "{md}"
        );
        let tex = t.render(TableFormat::Latex);
        assert!(tex.contains("\\textbf{51.00 $\\pm$ 1.41 (2)}"), "{tex}");
        assert!(
            tex.contains("noisy\\_threshold / clean\\_threshold"),
            "{tex}"
        );
    }

    fn result(method: &str, best: f32, mean: f32) -> RunResult {
        RunResult {
            run: format!("{method}-run"),
            method: method.into(),
            noise_rate: 0.3,
            epochs: 10,
            best_epoch: 9,
            best_overall: best,
            best_mean: mean,
            last_overall: best - 0.01,
            last_mean: mean - 0.01,
            mining: None,
            seconds: 1.0,
            classes: vec!["fear".into(), "happy".into()],
            best_per_class: vec![Some(mean - 0.1), Some(mean + 0.1)],
            imbalance_factor: 1.0,
            settings: toml::Table::new(),
            embedding: None,
            planned_epochs: 10,
            outcome: RunOutcome::Finished,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn tables_mark_the_best_value_of_each_accuracy_column() {
        let rows = [result("CE", 0.5, 0.45), result("ASM-AT", 0.55, 0.44)];
        let md = render(&rows, TableFormat::Markdown);
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(
            lines[2].starts_with(
                "| CE | 30% | 10 (best 9) | 50.00 | **45.00** | 49.00 | **44.00** | – | – |"
            ),
            "{}",
            lines[2]
        );
        assert!(
            lines[3].contains("| **55.00** | 44.00 | **54.00** | 43.00 |"),
            "{}",
            lines[3]
        );
        let csv = render(&rows, TableFormat::Csv);
        assert_eq!(
            csv.lines().nth(1).unwrap(),
            "CE,30%,10 (best 9),50.00,45.00,49.00,44.00,–,–,CE-run"
        );
        let tex = render(&rows, TableFormat::Latex);
        assert!(
            tex.contains("ASM-AT & 30\\% & 10 (best 9) & \\textbf{55.00} & 44.00"),
            "{tex}"
        );
        assert!(tex.trim_end().ends_with("\\end{tabular}"));
    }

    #[test]
    fn per_class_table_has_a_column_per_class_and_marks_the_best() {
        let rows = [result("CE", 0.5, 0.45), result("LNSU", 0.48, 0.50)];
        let t = Table::per_class(&rows).unwrap();
        assert_eq!(
            t.header,
            ["method", "fear", "happy", "overall", "mean", "run"]
        );
        let md = t.render(TableFormat::Markdown);
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(
            lines[2],
            "| CE | 35.00 | 55.00 | **50.00** | 45.00 | CE-run |"
        );
        assert_eq!(
            lines[3],
            "| LNSU | **40.00** | **60.00** | 48.00 | **50.00** | LNSU-run |"
        );
        let csv = t.render(TableFormat::Csv);
        assert_eq!(
            csv.lines().next().unwrap(),
            "method,fear,happy,overall,mean,run"
        );
        let tex = t.render(TableFormat::Latex);
        assert!(
            tex.contains("LNSU & \\textbf{40.00} & \\textbf{60.00} & 48.00"),
            "{tex}"
        );
        // Two seeds of one experiment add a row of their mean ± sd (n).
        let seed = |s: i64, best: f32| {
            let mut r = result("CE", best, 0.45);
            r.settings.insert("seed".into(), toml::Value::Integer(s));
            r.run = format!("CE-seed{s}");
            r
        };
        let seeds = [seed(1, 0.5), seed(2, 0.6), result("LNSU", 0.48, 0.50)];
        let t = Table::per_class(&seeds).unwrap();
        assert_eq!(t.rows.len(), 4);
        assert_eq!(
            t.rows[3],
            [
                "CE (mean ± sd)",
                "35.00 ± 0.00 (2)",
                "55.00 ± 0.00 (2)",
                "55.00 ± 7.07 (2)",
                "45.00 ± 0.00 (2)",
                "2 seeds"
            ]
        );
        let mut other = result("EAC", 0.4, 0.4);
        other.classes = vec!["a".into(), "b".into()];
        let err = Table::per_class(&[rows[0].clone(), other])
            .unwrap_err()
            .to_string();
        assert!(err.contains("EAC-run"), "{err}");
    }
}
