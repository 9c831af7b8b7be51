//! Seeded per-class subsampling: quick experiments on part of a dataset, imbalanced splits.

use rand::seq::SliceRandom;

use super::Split;
use crate::contract::seed;

/// Keeps at most `max` samples of each class, drawn with `seed`, in their original order.
pub fn per_class(split: &Split, num_classes: usize, max: usize, seed: u64) -> Split {
    to_counts(split, &vec![max; num_classes], seed)
}

/// Keeps at most `counts[c]` samples of class c, drawn with `seed`, in their original order.
pub fn to_counts(split: &Split, counts: &[usize], seed: u64) -> Split {
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); counts.len()];
    for (i, &l) in split.labels.iter().enumerate() {
        by_class[l as usize].push(i);
    }
    let mut rng = seed::rng(seed, &[]);
    let mut keep = Vec::new();
    for (idx, &n) in by_class.iter_mut().zip(counts) {
        idx.shuffle(&mut rng);
        keep.extend_from_slice(&idx[..n.min(idx.len())]);
    }
    keep.sort_unstable();
    split.select(&keep)
}
