//! Attention snapshots as a run reports them: class activation maps of validation faces,
//! of the original and the mirror image, and their flip consistency.

use serde::{Deserialize, Serialize};

use crate::contract::Error;
use crate::contract::codec::{base64_decode, base64_encode};

/// One evaluation's attention measurements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttentionSnapshot {
    pub epoch: usize,
    /// Side of the square face images.
    pub image_size: usize,
    pub map_height: usize,
    pub map_width: usize,
    /// Mean flip MSE of each class's map over all validation faces.
    #[serde(with = "crate::contract::event::float")]
    pub per_class: Vec<f32>,
    /// Mean over faces and classes.
    #[serde(with = "crate::contract::event::float")]
    pub mean: f32,
    /// Faces evaluated.
    pub count: usize,
    /// The fixed gallery, then this evaluation's least consistent faces.
    pub faces: Vec<AttentionFace>,
}

/// Why a face is in the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaceSource {
    /// One of the same validation faces shown at every evaluation.
    Gallery,
    /// Among this evaluation's least flip-consistent faces.
    LeastConsistent,
}

/// A validation face with the maps of every class, for its original and its mirror image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttentionFace {
    /// Index in the validation split.
    pub index: usize,
    pub id: String,
    pub source: FaceSource,
    pub label: u32,
    pub prediction: u32,
    #[serde(with = "crate::contract::event::float")]
    pub probabilities: Vec<f32>,
    /// The first channel, `image_size²` bytes, base64.
    pub pixels: String,
    /// Maps of the original, K × h × w little-endian f32, base64.
    pub maps: String,
    /// Maps of the mirror image, flipped back, same layout.
    pub flipped_back: String,
    /// Flip MSE of each class's map.
    #[serde(with = "crate::contract::event::float")]
    pub consistency: Vec<f32>,
}

impl AttentionFace {
    pub fn pixels(&self) -> Result<Vec<u8>, Error> {
        base64_decode(&self.pixels)
    }

    pub fn maps(&self) -> Result<Vec<f32>, Error> {
        decode_f32(&self.maps)
    }

    pub fn flipped_back(&self) -> Result<Vec<f32>, Error> {
        decode_f32(&self.flipped_back)
    }

    /// Mean flip MSE over the class maps.
    pub fn mean_consistency(&self) -> f32 {
        self.consistency.iter().sum::<f32>() / self.consistency.len().max(1) as f32
    }

    pub fn correct(&self) -> bool {
        self.label == self.prediction
    }
}

pub fn encode_f32(values: &[f32]) -> String {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    base64_encode(&bytes)
}

pub fn decode_f32(text: &str) -> Result<Vec<f32>, Error> {
    let bytes = base64_decode(text)?;
    if bytes.len() % 4 != 0 {
        return Err(Error::Decode(format!(
            "{} bytes are not whole f32 values",
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_round_trip() {
        let v = [0.0f32, -1.5, 3.25e-7, f32::MAX];
        assert_eq!(decode_f32(&encode_f32(&v)).unwrap(), v);
    }
}
