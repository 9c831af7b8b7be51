//! `ferlab table RUN_DIR...`: one row per run (method, noise, best and last overall / mean
//! accuracy, mining quality), or with `--per-class` the accuracy of each class beside
//! overall and mean, as Markdown, CSV or LaTeX.

use ferlab::compute::method::REGISTRY;
use std::path::PathBuf;

use anyhow::{Result, anyhow};
use ferlab::contract::run::results::{RunResult, read_run};
use ferlab::contract::run::view::RunOutcome;
use ferlab::views::tables::{Table, TableFormat};

#[derive(clap::Args, Debug)]
pub struct TableArgs {
    /// Run directories (each with an events.jsonl), or folders of them.
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: TableFormat,
    /// One column per class (the dataset's order), then overall and mean accuracy, at each
    /// run's best epoch.
    #[arg(long)]
    pub per_class: bool,
    /// RMFER's feature-space measurements from each run's last t-SNE / MDS embedding:
    /// cosine similarity gap, distance to class centre, attention-filter label ratios.
    #[arg(long, conflicts_with_all = ["per_class", "grid"])]
    pub embedding: bool,
    /// An ablation grid instead: rows are the values of the first dotted config key,
    /// columns those of the second, cells the best accuracy (mean ± sd over runs sharing
    /// both, e.g. seeds). Example: --grid method.asm.noisy_threshold,method.asm.clean_threshold
    #[arg(long, value_name = "ROW_KEY,COL_KEY", conflicts_with = "per_class")]
    pub grid: Option<String>,
    /// The accuracy a grid shows.
    #[arg(long, value_enum, default_value = "overall", requires = "grid")]
    pub metric: Metric,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Metric {
    Overall,
    Mean,
}

pub fn run(args: TableArgs) -> Result<()> {
    let mut results = Vec::new();
    let mut problems = Vec::new();
    let mut dirs = Vec::new();
    for p in &args.runs {
        dirs.extend(super::export_cmd::expand_runs(p)?);
    }
    for dir in &dirs {
        match read_run(dir, &REGISTRY) {
            Ok(r) => {
                // Said here as the workbench says it: a line that could not be read.
                for w in &r.warnings {
                    eprintln!("warning: unreadable event skipped: {w}");
                }
                if let RunOutcome::Failed(error) = &r.outcome {
                    eprintln!("warning: {} failed: {error}", dir.display());
                }
                results.push(r);
            }
            Err(e) => problems.push(e),
        }
    }
    for p in &problems {
        eprintln!("skipped: {p}");
    }
    if results.is_empty() {
        return Err(anyhow!("none of the {} run(s) could be read", dirs.len()));
    }
    let table = if let Some(keys) = &args.grid {
        grid(&results, keys, args.metric)?
    } else if args.embedding {
        Table::embeddings(&results)?
    } else if args.per_class {
        Table::per_class(&results)?
    } else {
        Table::runs(&results)
    };
    print!("{}", table.render(args.format));
    Ok(())
}

fn grid(results: &[RunResult], keys: &str, metric: Metric) -> Result<Table> {
    let (row_key, col_key) = keys
        .split_once(',')
        .map(|(a, b)| (a.trim(), b.trim()))
        .ok_or_else(|| anyhow!("--grid wants two keys, ROW_KEY,COL_KEY; got `{keys}`"))?;
    let mut cells = Vec::new();
    for r in results {
        let value = |key: &str| {
            r.setting(key)
                .ok_or_else(|| anyhow!("{}: its config has no key `{key}`", r.run))
        };
        let v = match metric {
            Metric::Overall => r.best_overall,
            Metric::Mean => r.best_mean,
        };
        cells.push((value(row_key)?, value(col_key)?, v));
    }
    Ok(Table::grid(row_key, col_key, &cells))
}
