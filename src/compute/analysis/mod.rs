//! Measurements of models and runs.

pub mod attention;
pub mod embed;
pub mod embedding;
