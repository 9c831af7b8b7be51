//! Measurements of models and runs.

pub mod metrics;
pub mod results;

pub use metrics::Metrics;
