//! The command line: `ferlab` alone opens the workbench; subcommands run headless.

mod bench_cmd;
mod data_cmd;
mod eval_cmd;
mod progress;
mod train_cmd;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use ferlab::config::Experiment;

#[derive(Parser, Debug)]
#[command(name = "ferlab", version, about = "A research workbench for robust facial expression recognition")]
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
    }
}

/// Shared `--set key=value` option.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Overrides {
    /// Override a preset value, e.g. `--set train.epochs=5` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

pub fn load_preset(path: &PathBuf, overrides: &Overrides) -> anyhow::Result<Experiment> {
    Ok(Experiment::load(path, &overrides.set)?)
}
