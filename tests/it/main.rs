//! The integration tests, as one test binary: the suite links candle, wgpu, eframe and
//! plotters once instead of once per file. Each module is one area, run with
//! `cargo test --release` (or one area: `cargo test --release --test it workbench::`).

mod cli;
mod common;
mod face_resnet;
mod golden;
mod hostile;
mod imbalanced;
mod layers;
mod loaders;
mod noisy_labels;
mod ops;
mod panel_plug;
mod pretrained;
mod reliability;
mod run_format;
mod runs_table;
mod semi_supervised;
mod training;
mod workbench;
