//! `ferlab data`: class counts, corruption figures and a picture of sample faces.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;

use super::{Overrides, load_preset};
use ferlab::compute::data;
use ferlab::contract::event::DataStats;

#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Class counts per split, noise rate and imbalance factor of a preset's data.
    Stats {
        preset: PathBuf,
        #[command(flatten)]
        overrides: Overrides,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Save a grid of training faces (a row per class) as a PNG.
    Preview {
        preset: PathBuf,
        #[command(flatten)]
        overrides: Overrides,
        /// Output PNG.
        #[arg(long, default_value = "preview.png")]
        out: PathBuf,
        /// Faces per class (1 to 200; one row of them per class).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=200))]
        per_class: u16,
    },
}

pub fn run(cmd: DataCommand) -> Result<()> {
    match cmd {
        DataCommand::Stats {
            preset,
            overrides,
            json,
        } => {
            let exp = load_preset(&preset, &overrides)?;
            let ds = data::build(&exp)?;
            let stats = DataStats::of(&ds);
            if json {
                println!("{}", serde_json::to_string_pretty(&stats)?);
            } else {
                print!("{}", stats.to_text());
            }
        }
        DataCommand::Preview {
            preset,
            overrides,
            out,
            per_class,
        } => {
            let exp = load_preset(&preset, &overrides)?;
            let ds = data::build(&exp)?;
            let grid = data::preview::class_grid(&ds.train, ds.num_classes(), per_class as usize);
            data::decode::save_png(&out, &grid.pixels, grid.width, grid.height, grid.channels)
                .map_err(anyhow::Error::msg)?;
            println!(
                "wrote {} ({} rows: {})",
                out.display(),
                ds.num_classes(),
                ds.classes.join(", ")
            );
        }
    }
    Ok(())
}
