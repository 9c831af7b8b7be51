//! `ferlab train`: a run on the command line, with a progress bar; Ctrl-C is not trapped,
//! so a killed run resumes from its last checkpoint with `--resume`.

use std::path::PathBuf;

use anyhow::{Result, anyhow};
use clap::Args;

use super::progress::Progress;
use super::{Overrides, load_preset};
use ferlab::compute::train::{Engine, Launch, Outcome};

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Preset (TOML) to run; not needed with --resume.
    pub preset: Option<PathBuf>,
    #[command(flatten)]
    pub overrides: Overrides,
    /// Put the run directory under this folder (instead of the preset's output.dir).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in this directory from its last checkpoint.
    #[arg(long, value_name = "RUN_DIR")]
    pub resume: Option<PathBuf>,
    /// Only print epoch lines and warnings.
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(args: TrainArgs) -> Result<()> {
    let launch = match (&args.resume, &args.preset) {
        (Some(dir), Some(preset)) => {
            return Err(anyhow!(
                "--resume continues {} with the config it recorded; the preset {} would be \
                 ignored. Drop it (change the recorded config with --set key=value).",
                dir.display(),
                preset.display()
            ));
        }
        (Some(dir), None) if args.out.is_some() => {
            return Err(anyhow!(
                "--resume continues {} in its own folder; --out does not apply. Drop it.",
                dir.display()
            ));
        }
        (Some(dir), None) => Launch::Resume {
            dir: dir.clone(),
            overrides: args.overrides.set.clone(),
        },
        (None, Some(preset)) => {
            let mut exp = load_preset(preset, &args.overrides)?;
            if let Some(out) = &args.out {
                exp.output.dir = out.clone();
            }
            Launch::New(Box::new(exp))
        }
        (None, None) => return Err(anyhow!("give a preset to train, or --resume RUN_DIR")),
    };
    drive(launch, args.quiet)
}

/// Runs a launch to its end, printing progress; Ok when it finished or was stopped.
pub fn drive(launch: Launch, quiet: bool) -> Result<()> {
    let engine = Engine::start(launch, None)?;
    let mut progress = Progress::new(quiet);
    for event in engine.events().iter() {
        progress.show(&event);
        if event.is_terminal() {
            break;
        }
    }
    match engine.join() {
        Ok(Outcome::Finished(_)) | Ok(Outcome::Stopped(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
