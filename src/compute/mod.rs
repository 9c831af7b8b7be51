//! Compute: data loading and corruption, the kernels, models, methods, optimisers, the
//! training engine and the measurements of models (attention, embeddings). Imports the
//! contract; what it tells the world leaves as [`crate::contract::event::Event`]s.

pub mod analysis;
pub mod bench;
pub mod data;
pub mod error;
pub mod method;
pub mod model;
pub mod ops;
pub mod optim;
pub mod train;

pub use error::{Error, Result};
