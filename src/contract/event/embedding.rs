//! Embeddings as a run reports them: t-SNE and MDS of the same validation faces each
//! epoch, with the feature-space measurements, and the faces behind the points.

use serde::{Deserialize, Serialize};

use super::filter::FilterReport;
use crate::contract::Error;
use crate::contract::codec::base64_decode;

/// One epoch's embeddings of the same validation faces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingSnapshot {
    pub epoch: usize,
    /// Validation indices of the points, in the order of the coordinates.
    pub indices: Vec<usize>,
    pub labels: Vec<u32>,
    pub predictions: Vec<u32>,
    /// t-SNE coordinates, `n × 2` row-major; empty when there are too few points.
    #[serde(with = "crate::contract::event::float")]
    pub tsne: Vec<f32>,
    /// Classical MDS coordinates, `n × 2` row-major, scaled to unit RMS radius.
    #[serde(with = "crate::contract::event::float")]
    pub mds: Vec<f32>,
    #[serde(with = "crate::contract::event::float")]
    pub tsne_secs: f32,
    #[serde(with = "crate::contract::event::float")]
    pub mds_secs: f32,
    /// Mean distance of each class's points to their centre in the MDS plane (RMFER
    /// Table 14); None for a class without points.
    #[serde(with = "crate::contract::event::float")]
    pub centre_distance: Vec<Option<f32>>,
    /// Mean cosine similarity of same-label and of different-label feature pairs (RMFER
    /// Tables 6 and 13).
    #[serde(with = "crate::contract::event::float")]
    pub cosine_same: f32,
    #[serde(with = "crate::contract::event::float")]
    pub cosine_different: f32,
    /// RMFER's attention filter over the epoch's unlabeled anchors (Table 12).
    pub filter: Option<FilterReport>,
    /// Why the t-SNE is missing, when it is.
    pub note: Option<String>,
}

impl EmbeddingSnapshot {
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    pub fn cosine_gap(&self) -> f32 {
        self.cosine_same - self.cosine_different
    }

    /// Mean of the per-class centre distances over classes with points.
    pub fn mean_centre_distance(&self) -> Option<f32> {
        let d: Vec<f32> = self.centre_distance.iter().flatten().copied().collect();
        (!d.is_empty()).then(|| d.iter().sum::<f32>() / d.len() as f32)
    }
}

/// The faces behind the points (first channel), sent once per session so the panel can show
/// the face under the pointer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingFaces {
    pub image_size: usize,
    pub indices: Vec<usize>,
    /// `image_size²` bytes per face, in `indices` order, base64.
    pub pixels: String,
    pub ids: Vec<String>,
}

impl EmbeddingFaces {
    pub fn pixels(&self) -> Result<Vec<u8>, Error> {
        base64_decode(&self.pixels)
    }
}
