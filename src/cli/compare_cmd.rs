//! `ferlab compare A B`: two groups of runs (each a run directory or a folder of them, e.g.
//! one method over three seeds) compared accuracy by accuracy — mean ± sd of each, the
//! difference, a paired t-test over the seeds both ran, and which criterion, if any, makes
//! the difference more than seed-to-seed noise (`views::compare`).

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use ferlab::compute::method::REGISTRY;
use ferlab::contract::run::results::{RunResult, read_run};
use ferlab::contract::run::view::RunOutcome;
use ferlab::views::compare::{Comparison, group_name};
use ferlab::views::tables::TableFormat;

#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Group A: a run directory or a folder of runs (e.g. one method's seeds).
    pub a: PathBuf,
    /// Group B, the same way.
    pub b: PathBuf,
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: TableFormat,
}

fn group(path: &Path) -> Result<Vec<RunResult>> {
    let mut runs = Vec::new();
    for dir in super::export_cmd::expand_runs(path)? {
        let r = read_run(&dir, &REGISTRY).map_err(|e| anyhow!("{}: {e}", dir.display()))?;
        match &r.outcome {
            RunOutcome::Finished => runs.push(r),
            // A run cut short would compare an earlier epoch with finished ones.
            other => eprintln!(
                "skipped: {} did not finish ({})",
                dir.display(),
                other.word()
            ),
        }
    }
    if runs.is_empty() {
        return Err(anyhow!("{}: no finished run to compare", path.display()));
    }
    Ok(runs)
}

pub fn run(args: CompareArgs) -> Result<()> {
    let a = group(&args.a)?;
    let b = group(&args.b)?;
    let comparison = Comparison::new(&group_name(&a), &a, &group_name(&b), &b);
    print!("{}", comparison.table().render(args.format));
    if comparison.shared_seeds.len() < a.len().max(b.len()) {
        eprintln!(
            "note: {} seed(s) shared; the paired test uses those only",
            comparison.shared_seeds.len()
        );
    }
    Ok(())
}
