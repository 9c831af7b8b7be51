//! Measurements of models and runs.

pub mod metrics;

pub use metrics::Metrics;
