//! ferlab: a research workbench for robust facial expression recognition.
//!
//! Three layers, each importing only those below it (a test, `tests/it/layers`, holds
//! every `use` to this):
//! 1. [`contract`] — the experiment schema and validation, the event types, run directories
//!    and the fold of a run's events into its state. No candle, egui or plotters.
//! 2. [`compute`] — data, kernels, models, methods, optimisers, the training engine and the
//!    measurements; emits the contract's events.
//! 3. [`views`] — the workbench, figures, tables and sweeps; read runs through the contract
//!    and start the engine, never touching a tensor.
//!
//! Data flows one way: a preset becomes a [`contract::config::Experiment`];
//! [`compute::data::build`] makes the dataset; the [`compute::train::Engine`] trains a model
//! with a method on its own thread and emits [`contract::event::Event`]s, which the run
//! directory records and every view draws from.

pub mod compute;
pub mod contract;
pub mod views;
