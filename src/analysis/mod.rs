//! Measurements of models and runs.

pub mod attention;
pub mod embed;
pub mod embedding;
pub mod metrics;
pub mod results;

pub use metrics::Metrics;
