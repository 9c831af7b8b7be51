//! The command line: `ferlab` alone opens the workbench; subcommands run headless.

mod bench_cmd;
mod compare_cmd;
mod data_cmd;
mod describe_cmd;
mod eval_cmd;
mod export_cmd;
mod progress;
mod settings_cmd;
mod sweep_cmd;
mod table_cmd;
mod train_cmd;

use ferlab::compute::method::REGISTRY;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use ferlab::contract::config::Experiment;

#[derive(Parser, Debug)]
#[command(
    name = "ferlab",
    version,
    about = "A research workbench for robust facial expression recognition"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train an experiment headless (or resume a run).
    Train(train_cmd::TrainArgs),
    /// Evaluate a run's checkpoint on a dataset.
    Eval(eval_cmd::EvalArgs),
    /// Measure training and evaluation speed against candle's operations and PyTorch.
    Bench(bench_cmd::BenchArgs),
    /// Open the workbench, optionally with a preset loaded in the editor.
    Gui {
        /// Preset (TOML) to load into the editor.
        preset: Option<PathBuf>,
    },
    /// Drive the workbench window through a scripted tour and save screenshots of it
    /// (under Xvfb on a headless machine: `xvfb-run -a -s "-screen 0 1280x800x24" ferlab screenshots`).
    Screenshots(ScreenshotArgs),
    /// Check in the real window what tests cannot: copied text reaches the desktop's
    /// clipboard (read back with xclip) and file dialogs fall back to typed paths
    /// (`xvfb-run -a -s "-screen 0 1280x800x24" ferlab check-window`).
    CheckWindow,
    /// Print a results table of finished runs (Markdown, CSV or LaTeX).
    Table(table_cmd::TableArgs),
    /// Compare two groups of runs (e.g. two methods over the same seeds): mean ± sd, a
    /// paired t-test over shared seeds, and whether the difference exceeds the seed spread.
    Compare(compare_cmd::CompareArgs),
    /// Write publication figures (PNG / SVG) of runs, and comparisons of several.
    Export(export_cmd::ExportArgs),
    /// Run a preset's [sweep] here or as a Slurm job array; `sweep collect DIR` summarises.
    Sweep(sweep_cmd::SweepArgs),
    /// List every setting a preset or `--set` may give: default, valid values, meaning.
    Settings(settings_cmd::SettingsArgs),
    /// Print the face ResNet's 128-d descriptors of image files with its pretrained weights
    /// (JSON lines), to compare the port with the original (`bench/face-descriptors.sh`).
    Describe(describe_cmd::DescribeArgs),
    /// Inspect the data of a preset.
    Data {
        #[command(subcommand)]
        command: data_cmd::DataCommand,
    },
}

/// Runs a headless command.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Train(a) => train_cmd::run(a),
        Command::Eval(a) => eval_cmd::run(a),
        Command::Data { command } => data_cmd::run(command),
        Command::Bench(a) => bench_cmd::run(a),
        Command::Gui { preset } => open_workbench(preset),
        Command::Screenshots(a) => screenshots(a),
        Command::CheckWindow => check_window(),
        Command::Table(a) => table_cmd::run(a),
        Command::Compare(a) => compare_cmd::run(a),
        Command::Export(a) => export_cmd::run(a),
        Command::Sweep(a) => sweep_cmd::run(a),
        Command::Settings(a) => settings_cmd::run(a),
        Command::Describe(a) => describe_cmd::run(a),
    }
}

#[derive(clap::Args, Debug)]
pub struct ScreenshotArgs {
    /// Folder the PNGs go to.
    #[arg(long, default_value = "screenshots")]
    pub out: PathBuf,
    /// Preset the tour trains (twice: as it is and with 30% label noise).
    #[arg(long, default_value = "presets/quick.toml")]
    pub preset: PathBuf,
    /// Epochs of each tour run.
    #[arg(long, default_value_t = 4)]
    pub epochs: usize,
}

fn screenshots(a: ScreenshotArgs) -> anyhow::Result<()> {
    let runs_dir = std::env::temp_dir().join(format!("ferlab-tour-{}", std::process::id()));
    let options = ferlab::views::ui::tour::TourOptions {
        preset: a.preset,
        out: a.out,
        runs_dir: runs_dir.clone(),
        epochs: a.epochs,
        timeout: std::time::Duration::from_secs(300),
    };
    let result = ferlab::views::ui::tour::run(PathBuf::from("presets"), options);
    let _ = std::fs::remove_dir_all(&runs_dir);
    for p in result.map_err(anyhow::Error::msg)? {
        println!("wrote {}", p.display());
    }
    Ok(())
}

fn check_window() -> anyhow::Result<()> {
    let report = ferlab::views::ui::window_check::run().map_err(anyhow::Error::msg)?;
    match &report.dialog_unavailable {
        Some(true) => println!(
            "file dialog: unavailable on this desktop (answered at once); the window uses typed paths"
        ),
        Some(false) => println!("file dialog: answered (closed by the user)"),
        None => println!("file dialog: opened (still open when the check ended)"),
    }
    match &report.clipboard {
        Some(Ok(text)) if report.clipboard_ok() => {
            println!("clipboard: ok, read back {:?}", text);
            Ok(())
        }
        Some(Ok(text)) => anyhow::bail!(
            "clipboard: read back {:?}, expected {:?}",
            text,
            report.expected
        ),
        Some(Err(e)) => anyhow::bail!("clipboard: {e}"),
        None => anyhow::bail!("clipboard: the window closed before it was read"),
    }
}

/// Opens the workbench window; its preset list comes from `./presets`.
pub fn open_workbench(preset: Option<PathBuf>) -> anyhow::Result<()> {
    ferlab::views::ui::run(PathBuf::from("presets"), preset).map_err(anyhow::Error::msg)
}

/// Shared `--set key=value` option.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Overrides {
    /// Override a preset value, e.g. `--set train.epochs=5` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

pub fn load_preset(path: &std::path::Path, overrides: &Overrides) -> anyhow::Result<Experiment> {
    Ok(Experiment::load(path, &overrides.set, &REGISTRY)?)
}
