//! Sweeps: a preset's `[sweep]` section expanded into runs, run here a few at a time or on
//! a Slurm cluster as a job array, and summarised in tables.

pub mod folder;
pub mod slurm;
pub mod spec;
pub mod summary;

pub use folder::{Manifest, PointStatus, SweepFolder};
pub use spec::{SweepPoint, SweepPreset, SweepSpec};
