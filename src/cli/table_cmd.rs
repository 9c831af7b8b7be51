//! `ferlab table RUN_DIR...`: one row per run (method, noise, best and last overall / mean
//! accuracy, mining quality), or with `--per-class` the accuracy of each class beside
//! overall and mean, as Markdown, CSV or LaTeX.

use std::path::PathBuf;

use anyhow::{Result, anyhow};
use ferlab::analysis::results::{Table, TableFormat, read_run};

#[derive(clap::Args, Debug)]
pub struct TableArgs {
    /// Run directories (each with an events.jsonl).
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: TableFormat,
    /// One column per class (the dataset's order), then overall and mean accuracy, at each
    /// run's best epoch.
    #[arg(long)]
    pub per_class: bool,
}

pub fn run(args: TableArgs) -> Result<()> {
    let mut results = Vec::new();
    let mut problems = Vec::new();
    for dir in &args.runs {
        match read_run(dir) {
            Ok(r) => results.push(r),
            Err(e) => problems.push(e),
        }
    }
    for p in &problems {
        eprintln!("skipped: {p}");
    }
    if results.is_empty() {
        return Err(anyhow!(
            "none of the {} run(s) could be read",
            args.runs.len()
        ));
    }
    let table = if args.per_class {
        Table::per_class(&results).map_err(|e| anyhow!(e))?
    } else {
        Table::runs(&results)
    };
    print!("{}", table.render(args.format));
    Ok(())
}
