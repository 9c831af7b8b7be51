//! `ferlab export RUN_DIR...`: every figure of each run into `RUN_DIR/figures/` (or
//! `--out DIR/<run>/`), and with several runs the comparison figures into `--out`.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use ferlab::contract::run::view::RunView;
use ferlab::views::figures::{self, ExportSize, FigureSize, ImageFormat};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Formats {
    Png,
    Svg,
    Both,
}

impl Formats {
    fn list(self) -> Vec<ImageFormat> {
        match self {
            Self::Png => vec![ImageFormat::Png],
            Self::Svg => vec![ImageFormat::Svg],
            Self::Both => vec![ImageFormat::Png, ImageFormat::Svg],
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// Run directories, or folders of run directories (a sweep, a runs folder).
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "both")]
    pub format: Formats,
    /// Write each run's figures to OUT/<run>/ and the comparison figures to OUT (default:
    /// RUN_DIR/figures/, and ./figures for comparisons).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Figure size in inches, WIDTHxHEIGHT (default: 6.4x4.8, the attention grid 7.5x3.9,
    /// the confusion matrix 6x5.4).
    #[arg(long)]
    pub size: Option<String>,
    /// PNG resolution (SVGs are vector; their size is in CSS pixels, 96 per inch).
    #[arg(long, default_value_t = 200)]
    pub dpi: u32,
}

/// `path` itself if it is a run, else the runs directly inside it (sorted).
pub fn expand_runs(path: &Path) -> Result<Vec<PathBuf>> {
    if path.join("events.jsonl").is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries = std::fs::read_dir(path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let mut runs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("events.jsonl").is_file())
        .collect();
    runs.sort();
    if runs.is_empty() {
        return Err(anyhow!(
            "{} is not a run directory (no events.jsonl) and holds none",
            path.display()
        ));
    }
    Ok(runs)
}

pub fn run(args: ExportArgs) -> Result<()> {
    // Parsing a size checks the dpi too; without --size each figure kind has its own.
    let parsed = FigureSize::parse_inches(args.size.as_deref().unwrap_or("1x1"), args.dpi)?;
    let size = ExportSize {
        inches: args
            .size
            .is_some()
            .then_some((parsed.width_in, parsed.height_in)),
        dpi: args.dpi,
    };
    let formats = args.format.list();
    let mut dirs = Vec::new();
    for p in &args.runs {
        dirs.extend(expand_runs(p)?);
    }
    let mut views = Vec::new();
    let mut targets: Vec<PathBuf> = Vec::new();
    for dir in &dirs {
        let view = RunView::replay(dir)?;
        for line in &view.unreadable {
            eprintln!("warning: unreadable event skipped: {line}");
        }
        if view.epochs.is_empty() {
            eprintln!("skipped {}: no finished epoch", dir.display());
            continue;
        }
        let target = match &args.out {
            // Copies of one run share its id: each gets its own folder, none overwritten.
            Some(out) => {
                let mut target = out.join(&view.run_id);
                let mut k = 2;
                while targets.contains(&target) {
                    target = out.join(format!("{}-{k}", view.run_id));
                    k += 1;
                }
                target
            }
            None => dir.join("figures"),
        };
        targets.push(target.clone());
        let written = figures::export_run(&view, &target, &formats, size)
            .map_err(|e| anyhow!("{}: {e}", dir.display()))?;
        println!(
            "{}: {} figure file(s) in {}",
            view.run_id,
            written.len(),
            target.display()
        );
        views.push(view);
    }
    if views.is_empty() {
        return Err(anyhow!("no run had a finished epoch"));
    }
    if views.len() > 1 {
        let target = args.out.clone().unwrap_or_else(|| PathBuf::from("figures"));
        let written = figures::export_comparison(&views, &target, &formats, size)?;
        for p in written {
            println!("wrote {}", p.display());
        }
    }
    Ok(())
}
