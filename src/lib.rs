//! ferlab: a research workbench for robust facial expression recognition.
//!
//! Data flows one way: a preset becomes an [`config::Experiment`]; [`data::build`] makes the
//! dataset (with its corruptions and ground truth); the [`train::Engine`] trains a
//! [`model::FerModel`] with a [`method::Method`] on its own thread and emits
//! [`train::Event`]s, which the run directory records and every view draws from.

pub mod analysis;
pub mod bench;
pub mod codec;
pub mod config;
pub mod data;
pub mod figures;
pub mod method;
pub mod model;
pub mod ops;
pub mod optim;
pub mod run;
pub mod seed;
pub mod sweep;
pub mod train;
pub mod ui;
