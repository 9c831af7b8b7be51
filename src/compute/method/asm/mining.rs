//! ASM's Sample Mining: every training sample goes to the clean, ambiguous or noisy set by
//! comparing its confidence in its given label with its class's thresholds; the ledger keeps
//! each sample's set over an epoch and reports counts, quality against known ground truth
//! and the samples that moved between sets.

use serde::{Deserialize, Serialize};

use crate::compute::data::Split;
use crate::contract::event::mining::{
    ClassThresholds, MOVES_LISTED, MiningQuality, MiningReport, MoveRecord, MovedSample,
    SetQuality, Subset,
};

/// The mining rule: s ≥ T_c → clean; s < T_n → noisy; otherwise ambiguous.
pub fn classify(confidence: f32, noisy_threshold: f32, clean_threshold: f32) -> Subset {
    if confidence >= clean_threshold {
        Subset::Clean
    } else if confidence < noisy_threshold {
        Subset::Noisy
    } else {
        Subset::Ambiguous
    }
}

/// Moved samples kept per report (each carries a thumbnail).
pub const GALLERY: usize = 32;
const UNSEEN: u8 = u8::MAX;

/// Every sample's set, confidence and prediction in the current and previous epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MiningLedger {
    pub current: Vec<u8>,
    pub previous: Vec<u8>,
    pub confidence: Vec<f32>,
    pub predicted: Vec<u8>,
    /// Per class: sum of p_i(k) over samples labelled k this epoch, and their count.
    pub class_sums: Vec<(f64, usize)>,
}

impl MiningLedger {
    pub fn new(samples: usize, classes: usize) -> Self {
        Self {
            current: vec![UNSEEN; samples],
            previous: vec![UNSEEN; samples],
            confidence: vec![0.0; samples],
            predicted: vec![0; samples],
            class_sums: vec![(0.0, 0); classes],
        }
    }

    pub fn record(
        &mut self,
        index: usize,
        label: usize,
        confidence: f32,
        predicted: u8,
        set: Subset,
    ) {
        self.current[index] = set.code();
        self.confidence[index] = confidence;
        self.predicted[index] = predicted;
        let s = &mut self.class_sums[label];
        s.0 += confidence as f64;
        s.1 += 1;
    }

    /// This epoch's mean confidence per class (None for a class with no sample).
    pub fn class_means(&self) -> Vec<Option<f32>> {
        self.class_sums
            .iter()
            .map(|&(sum, n)| (n > 0).then(|| (sum / n as f64) as f32))
            .collect()
    }

    /// Summarises the epoch and starts the next one.
    pub fn finish_epoch(
        &mut self,
        train: &Split,
        thresholds: Option<ClassThresholds>,
        base: (f32, f32),
        adaptive: bool,
        class_mean: Vec<f32>,
    ) -> MiningReport {
        let classes = self.class_sums.len();
        let mut counts = vec![[0usize; 3]; classes];
        let mut moves = [[0usize; 3]; 3];
        let mut moved_idx = Vec::new();
        for (i, (&cur, &prev)) in self.current.iter().zip(&self.previous).enumerate() {
            let Some(set) = Subset::from_code(cur) else {
                continue;
            };
            counts[train.labels[i] as usize][set as usize] += 1;
            if let Some(before) = Subset::from_code(prev)
                && before != set
            {
                moves[before as usize][set as usize] += 1;
                moved_idx.push(i);
            }
        }
        let quality = train.flipped().map(|flipped| self.quality(&flipped));
        let moved = even_spread(&moved_idx, GALLERY)
            .map(|i| self.moved_sample(train, i))
            .collect();
        let moves_listed = even_spread(&moved_idx, MOVES_LISTED)
            .map(|i| self.move_record(train, i))
            .collect();
        self.previous = std::mem::replace(&mut self.current, vec![UNSEEN; self.previous.len()]);
        self.class_sums = vec![(0.0, 0); classes];
        MiningReport {
            thresholds,
            base,
            adaptive,
            class_mean,
            counts,
            moves,
            quality,
            moved,
            moves_listed,
        }
    }

    fn quality(&self, flipped: &[bool]) -> MiningQuality {
        let (mut noisy, mut noisy_hit, mut clean, mut clean_hit) = (0, 0, 0, 0);
        let truly_noisy = flipped.iter().filter(|&&f| f).count();
        for (&code, &f) in self.current.iter().zip(flipped) {
            match Subset::from_code(code) {
                Some(Subset::Noisy) => {
                    noisy += 1;
                    noisy_hit += f as usize;
                }
                Some(Subset::Clean) => {
                    clean += 1;
                    clean_hit += !f as usize;
                }
                _ => {}
            }
        }
        MiningQuality {
            noisy: SetQuality::of(noisy_hit, noisy, truly_noisy),
            clean: SetQuality::of(clean_hit, clean, flipped.len() - truly_noisy),
            noise_rate: truly_noisy as f32 / flipped.len().max(1) as f32,
        }
    }

    fn move_record(&self, train: &Split, i: usize) -> MoveRecord {
        MoveRecord {
            index: i as u32,
            from: Subset::from_code(self.previous[i]).unwrap_or(Subset::Clean),
            to: Subset::from_code(self.current[i]).unwrap_or(Subset::Clean),
            given: train.labels[i],
            predicted: self.predicted[i],
            truth: train.truth.as_ref().map(|t| t[i].clean_label),
            confidence: self.confidence[i],
        }
    }

    fn moved_sample(&self, train: &Split, i: usize) -> MovedSample {
        let s = train.size;
        MovedSample {
            index: i,
            from: Subset::from_code(self.previous[i]).unwrap_or(Subset::Clean),
            to: Subset::from_code(self.current[i]).unwrap_or(Subset::Clean),
            given: train.labels[i],
            predicted: self.predicted[i],
            truth: train.truth.as_ref().map(|t| t[i].clean_label),
            confidence: self.confidence[i],
            size: s,
            // The first channel is enough for a thumbnail.
            thumbnail: crate::contract::codec::base64_encode(&train.image(i)[..s * s]),
        }
    }
}

/// At most `cap` of `items`, evenly spread over them (all of them when they fit).
fn even_spread(items: &[usize], cap: usize) -> impl Iterator<Item = usize> + '_ {
    let step = items.len().div_ceil(cap).max(1);
    items.iter().copied().step_by(step).take(cap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::data::SampleTruth;

    #[test]
    fn the_mining_rule_splits_at_the_thresholds() {
        assert_eq!(classify(0.8, 0.2, 0.8), Subset::Clean);
        assert_eq!(classify(0.79, 0.2, 0.8), Subset::Ambiguous);
        assert_eq!(classify(0.2, 0.2, 0.8), Subset::Ambiguous);
        assert_eq!(classify(0.19, 0.2, 0.8), Subset::Noisy);
    }

    fn split(labels: &[u8], clean: &[u8]) -> Split {
        let mut s = Split::new(2, 1);
        for (i, (&l, &c)) in labels.iter().zip(clean).enumerate() {
            let truth = SampleTruth {
                clean_label: c,
                blend: None,
            };
            s.push(&[i as u8; 4], l, Some(truth), format!("s{i}"));
        }
        s
    }

    #[test]
    fn ledger_counts_quality_and_moves() {
        // Samples 1 and 3 carry flipped labels.
        let train = split(&[0, 1, 1, 0], &[0, 0, 1, 1]);
        let mut ledger = MiningLedger::new(4, 2);
        for (i, set) in [Subset::Clean, Subset::Clean, Subset::Clean, Subset::Clean]
            .into_iter()
            .enumerate()
        {
            ledger.record(i, train.labels[i] as usize, 0.9, train.labels[i], set);
        }
        let first = ledger.finish_epoch(&train, None, (0.2, 0.8), true, vec![0.9, 0.9]);
        assert_eq!(first.counts, vec![[2, 0, 0], [2, 0, 0]]);
        assert_eq!(first.moves, [[0; 3]; 3]);
        let q = first.quality.unwrap();
        assert_eq!(q.noisy.precision, None);
        assert_eq!(q.noisy.recall, Some(0.0));
        assert_eq!(q.clean.precision, Some(0.5));
        assert_eq!(q.clean.recall, Some(1.0));

        // Second epoch: 1 → noisy (right), 2 → ambiguous, 3 → noisy (right), 0 stays clean.
        let sets = [
            Subset::Clean,
            Subset::Noisy,
            Subset::Ambiguous,
            Subset::Noisy,
        ];
        let conf = [0.95, 0.05, 0.5, 0.1];
        for i in 0..4 {
            ledger.record(i, train.labels[i] as usize, conf[i], 0, sets[i]);
        }
        assert_eq!(ledger.class_means(), vec![Some(0.525), Some(0.275)]);
        let second = ledger.finish_epoch(&train, None, (0.2, 0.8), true, vec![0.5, 0.3]);
        assert_eq!(second.counts, vec![[1, 0, 1], [0, 1, 1]]);
        assert_eq!(second.moves[0][2], 2);
        assert_eq!(second.moves[0][1], 1);
        let q = second.quality.unwrap();
        assert_eq!(q.noisy.precision, Some(1.0));
        assert_eq!(q.noisy.recall, Some(1.0));
        assert_eq!(q.clean.precision, Some(1.0));
        assert_eq!(q.clean.recall, Some(0.5));
        assert_eq!(second.moved.len(), 3);
        let m = &second.moved[0];
        assert_eq!(
            (m.index, m.from, m.to, m.truth),
            (1, Subset::Clean, Subset::Noisy, Some(0))
        );
        assert_eq!(
            crate::contract::codec::base64_decode(&m.thumbnail).unwrap(),
            vec![1u8; 4]
        );
        // Every move is listed, pictures or not.
        let listed: Vec<(u32, Subset, Subset, u8, Option<u8>)> = second
            .moves_listed
            .iter()
            .map(|r| (r.index, r.from, r.to, r.given, r.truth))
            .collect();
        assert_eq!(
            listed,
            vec![
                (1, Subset::Clean, Subset::Noisy, 1, Some(0)),
                (2, Subset::Clean, Subset::Ambiguous, 1, Some(1)),
                (3, Subset::Clean, Subset::Noisy, 0, Some(1)),
            ]
        );
        assert_eq!(second.moves_listed[0].confidence, 0.05);
    }

    /// More moves than a report lists: an even spread over the training set, at most
    /// `MOVES_LISTED` (the gallery shows 32 pictures; its pages go through these).
    #[test]
    fn a_report_lists_every_move_up_to_its_bound() {
        let n = MOVES_LISTED * 2 + 10;
        let labels: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();
        let train = split(&labels, &labels);
        let mut ledger = MiningLedger::new(n, 2);
        for set in [Subset::Clean, Subset::Noisy] {
            for (i, &label) in labels.iter().enumerate() {
                ledger.record(i, label as usize, 0.5, 0, set);
            }
            let report = ledger.finish_epoch(&train, None, (0.2, 0.8), true, vec![0.5; 2]);
            if set == Subset::Noisy {
                assert_eq!(report.moves[0][2], n);
                assert!(report.moves_listed.len() <= MOVES_LISTED);
                assert!(report.moves_listed.len() > MOVES_LISTED / 2);
                assert!(report.moves_listed.last().unwrap().index as usize > n * 9 / 10);
                assert_eq!(report.moved.len(), GALLERY);
            }
        }
    }
}
