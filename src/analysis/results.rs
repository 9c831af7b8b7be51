//! A run's results read back from its `events.jsonl`, and tables of several runs (one row
//! per run) as Markdown, CSV or LaTeX.

use std::path::Path;

use crate::config::{Experiment, MethodKind, ThresholdMode};
use crate::method::mining::MiningQuality;
use crate::run::recorder;
use crate::train::Event;

/// What a table row shows of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    pub run: String,
    /// The method as the papers' tables name it (CE, SCN, SOFT, ASM-FT, ASM-AT).
    pub method: String,
    pub noise_rate: f32,
    pub epochs: usize,
    pub best_epoch: usize,
    pub best_overall: f32,
    pub best_mean: f32,
    pub last_overall: f32,
    pub last_mean: f32,
    /// Mining quality of the last epoch (ASM runs on data with known truth).
    pub mining: Option<MiningQuality>,
    pub seconds: f64,
}

/// The display name of an experiment's method; ASM's carries its mode and base pair, so an
/// ablation grid reads as one.
pub fn method_label(exp: &Experiment) -> String {
    match exp.method.name {
        MethodKind::Asm => {
            let a = &exp.method.asm;
            let mode = match a.thresholds {
                ThresholdMode::Adaptive => "AT",
                ThresholdMode::Fixed => "FT",
            };
            format!("ASM-{mode} [{}, {}]", a.noisy_threshold, a.clean_threshold)
        }
        other => other.key().to_uppercase(),
    }
}

/// Reads a run directory's events. Runs without a finished epoch are an error naming it.
pub fn read_run(dir: &Path) -> Result<RunResult, String> {
    let path = dir.join("events.jsonl");
    let log = recorder::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut exp = None;
    let mut epochs = Vec::new();
    let mut mining = None;
    let (mut first, mut last_time) = (None, 0.0);
    for r in &log.records {
        first.get_or_insert(r.time);
        last_time = r.time;
        match &r.event {
            Event::Started { config, .. } => {
                exp = Experiment::from_toml(config, &path.display().to_string(), &[]).ok();
            }
            Event::EpochEnd { epoch, val, .. } => {
                epochs.retain(|(e, _)| e != epoch);
                epochs.push((*epoch, val.clone()));
            }
            Event::Mining { report, .. } => mining = report.quality,
            _ => {}
        }
    }
    let exp = exp.ok_or_else(|| format!("{}: no readable Started event", path.display()))?;
    let (_, last) = epochs
        .last()
        .cloned()
        .ok_or_else(|| format!("{}: the run has no finished epoch", path.display()))?;
    let (best_epoch, best) = epochs
        .iter()
        .fold(
            None,
            |b: Option<&(usize, crate::analysis::Metrics)>, e| match b {
                Some(b) if b.1.overall >= e.1.overall => Some(b),
                _ => Some(e),
            },
        )
        .cloned()
        .expect("epochs is not empty");
    let run = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(RunResult {
        run,
        method: method_label(&exp),
        noise_rate: exp.corruption.noise_rate,
        epochs: epochs.len(),
        best_epoch: best_epoch + 1,
        best_overall: best.overall,
        best_mean: best.mean,
        last_overall: last.overall,
        last_mean: last.mean,
        mining,
        seconds: last_time - first.unwrap_or(last_time),
    })
}

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
        format!("{} (best {})", r.epochs, r.best_epoch),
        pct(r.best_overall),
        pct(r.best_mean),
        pct(r.last_overall),
        pct(r.last_mean),
        opt(r.mining.and_then(|m| m.noisy.precision)),
        opt(r.mining.and_then(|m| m.noisy.recall)),
        r.run.clone(),
    ]
}

/// The value of an accuracy column (the ones whose best value is marked).
fn accuracy(r: &RunResult, column: usize) -> Option<f32> {
    match column {
        3 => Some(r.best_overall),
        4 => Some(r.best_mean),
        5 => Some(r.last_overall),
        6 => Some(r.last_mean),
        _ => None,
    }
}

/// The table of `results`, one row per run; in Markdown and LaTeX the best value of each
/// accuracy column is bold.
pub fn render(results: &[RunResult], format: TableFormat) -> String {
    let rows: Vec<Vec<String>> = results.iter().map(cells).collect();
    let best: Vec<Option<f32>> = (0..HEADER.len())
        .map(|c| {
            results
                .iter()
                .filter_map(|r| accuracy(r, c))
                .reduce(f32::max)
        })
        .collect();
    let is_best =
        |row: usize, col: usize| accuracy(&results[row], col).is_some_and(|v| best[col] == Some(v));
    // Every row's cells, the best of each accuracy column passed through `mark`.
    let marked = |mark: &dyn Fn(&str) -> String, plain: &dyn Fn(&str) -> String| {
        rows.iter()
            .enumerate()
            .map(|(i, row)| {
                row.iter()
                    .enumerate()
                    .map(|(c, v)| if is_best(i, c) { mark(v) } else { plain(v) })
                    .collect::<Vec<String>>()
            })
            .collect::<Vec<_>>()
    };
    let mut out = String::new();
    match format {
        TableFormat::Markdown => {
            out += &format!("| {} |\n", HEADER.join(" | "));
            out += &format!("|{}\n", "---|".repeat(HEADER.len()));
            for shown in marked(&|v| format!("**{v}**"), &|v| v.to_string()) {
                out += &format!("| {} |\n", shown.join(" | "));
            }
        }
        TableFormat::Csv => {
            out += &HEADER.join(",");
            out.push('\n');
            for row in &rows {
                let quoted: Vec<String> = row
                    .iter()
                    .map(|v| {
                        if v.contains(',') {
                            format!("\"{v}\"")
                        } else {
                            v.clone()
                        }
                    })
                    .collect();
                out += &quoted.join(",");
                out.push('\n');
            }
        }
        TableFormat::Latex => {
            let esc = |s: &str| s.replace('%', "\\%").replace('_', "\\_");
            out += &format!(
                "\\begin{{tabular}}{{l{}}}\n\\toprule\n",
                "r".repeat(HEADER.len() - 1)
            );
            let head: Vec<String> = HEADER.iter().map(|h| esc(h)).collect();
            out += &format!("{} \\\\\n\\midrule\n", head.join(" & "));
            for shown in marked(&|v| format!("\\textbf{{{}}}", esc(v)), &|v| esc(v)) {
                out += &format!("{} \\\\\n", shown.join(" & "));
            }
            out += "\\bottomrule\n\\end{tabular}\n";
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
        }
    }

    #[test]
    fn asm_labels_carry_mode_and_threshold_pair() {
        let mut exp = Experiment::default();
        assert_eq!(method_label(&exp), "CE");
        exp.method.name = MethodKind::Asm;
        exp.method.asm.thresholds = ThresholdMode::Fixed;
        exp.method.asm.noisy_threshold = 0.05;
        exp.method.asm.clean_threshold = 0.95;
        assert_eq!(method_label(&exp), "ASM-FT [0.05, 0.95]");
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
}
