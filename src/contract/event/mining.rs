//! Sample mining as a run reports it: every training sample in the clean, ambiguous or noisy
//! set of its class's thresholds, with counts, moves and quality against known truth. ASM
//! reports it; any method that partitions its training samples can.

use serde::{Deserialize, Serialize};

/// The thresholds of every class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassThresholds {
    #[serde(with = "crate::contract::event::float")]
    pub noisy: Vec<f32>,
    #[serde(with = "crate::contract::event::float")]
    pub clean: Vec<f32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subset {
    Clean,
    Ambiguous,
    Noisy,
}

impl Subset {
    pub const ALL: [Subset; 3] = [Self::Clean, Self::Ambiguous, Self::Noisy];

    pub fn name(self) -> &'static str {
        match self {
            Self::Clean => "clean",
            Self::Ambiguous => "ambiguous",
            Self::Noisy => "noisy",
        }
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(c: u8) -> Option<Self> {
        Self::ALL.get(c as usize).copied()
    }
}

/// Precision and recall of a mined set against the truth (None where undefined).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SetQuality {
    #[serde(with = "crate::contract::event::float", default)]
    pub precision: Option<f32>,
    #[serde(with = "crate::contract::event::float", default)]
    pub recall: Option<f32>,
}

impl SetQuality {
    pub fn of(true_positive: usize, predicted: usize, actual: usize) -> Self {
        let ratio = |a: usize, b: usize| (b > 0).then(|| a as f32 / b as f32);
        Self {
            precision: ratio(true_positive, predicted),
            recall: ratio(true_positive, actual),
        }
    }
}

/// Mining against the ground truth: the noisy set against the truly flipped labels, the
/// clean set against the truly clean ones.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MiningQuality {
    pub noisy: SetQuality,
    pub clean: SetQuality,
    /// Fraction of training labels that are flipped.
    #[serde(with = "crate::contract::event::float")]
    pub noise_rate: f32,
}

/// A sample whose set changed since the previous epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MovedSample {
    pub index: usize,
    pub from: Subset,
    pub to: Subset,
    pub given: u8,
    pub predicted: u8,
    pub truth: Option<u8>,
    #[serde(with = "crate::contract::event::float")]
    pub confidence: f32,
    /// Side of the square grayscale thumbnail.
    pub size: usize,
    /// The thumbnail's pixels, base64.
    pub thumbnail: String,
}

/// A moved sample without its picture: the gallery pages through these (the pictures of
/// the ones without a thumbnail come from the run's training data). Short keys: an epoch
/// of a large noisy dataset lists thousands.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MoveRecord {
    /// Index in the training split.
    #[serde(rename = "i")]
    pub index: u32,
    #[serde(rename = "f")]
    pub from: Subset,
    #[serde(rename = "t")]
    pub to: Subset,
    #[serde(rename = "g")]
    pub given: u8,
    #[serde(rename = "p")]
    pub predicted: u8,
    /// The clean label, where the truth is known.
    #[serde(rename = "y", default, skip_serializing_if = "Option::is_none")]
    pub truth: Option<u8>,
    /// Confidence in the given label.
    #[serde(rename = "c", with = "crate::contract::event::float")]
    pub confidence: f32,
}

/// Most moves one report lists (spread evenly over the training set when more moved).
pub const MOVES_LISTED: usize = 4096;

/// One epoch of mining, as the threshold and mining panels show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MiningReport {
    /// Thresholds in effect during the epoch (None while warming up: all samples clean).
    pub thresholds: Option<ClassThresholds>,
    /// The base pair and whether thresholds adapt (false = fixed, FT).
    #[serde(with = "crate::contract::event::float")]
    pub base: (f32, f32),
    pub adaptive: bool,
    /// p̄_k after this epoch (what the next epoch's thresholds come from).
    #[serde(with = "crate::contract::event::float")]
    pub class_mean: Vec<f32>,
    /// Per class (by given label): [clean, ambiguous, noisy] counts.
    pub counts: Vec<[usize; 3]>,
    /// Transitions since the previous epoch, `moves[from][to]`.
    pub moves: [[usize; 3]; 3],
    pub quality: Option<MiningQuality>,
    /// Up to `GALLERY` of the samples that moved, spread over the training set.
    pub moved: Vec<MovedSample>,
    /// Every sample that moved, in training-set order, up to [`MOVES_LISTED`] (runs before
    /// 2026-12-07 have only `moved`).
    #[serde(default)]
    pub moves_listed: Vec<MoveRecord>,
}
