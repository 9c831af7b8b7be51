//! A class-balanced epoch order (RMFER's sampler): as many samples as the split has, the
//! same number from every class, arranged so that each run of K consecutive samples holds
//! one of each of the K classes — every batch whose size is a multiple of K is balanced.

use rand::seq::SliceRandom;

use crate::contract::seed::{self, purpose};

/// The class-balanced order of an epoch over samples labelled `labels` (classes without
/// samples are skipped). Each class is drawn from a fresh shuffle of its members, reshuffled
/// whenever it runs out, so a small class repeats only once all its members have appeared.
pub fn class_balanced_order(labels: &[u8], classes: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut rng = seed::rng(seed, &[purpose::SHUFFLE, 1_000_000 + epoch as u64]);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, &l) in labels.iter().enumerate() {
        members[l as usize].push(i);
    }
    let present: Vec<usize> = (0..classes).filter(|&c| !members[c].is_empty()).collect();
    if present.is_empty() {
        return Vec::new();
    }
    // Whole rounds up to the split's size; the last one is cut to fit.
    let rounds = labels.len().div_ceil(present.len());
    let mut pools: Vec<Vec<usize>> = vec![Vec::new(); classes];
    let mut order = Vec::with_capacity(rounds * present.len());
    for _ in 0..rounds {
        let mut round = present.clone();
        round.shuffle(&mut rng);
        for c in round {
            if pools[c].is_empty() {
                pools[c] = members[c].clone();
                pools[c].shuffle(&mut rng);
            }
            order.push(pools[c].pop().expect("refilled above"));
        }
    }
    order.truncate(labels.len());
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_window_of_k_holds_each_class_once() {
        // 40 of class 0, 8 of class 1, 2 of class 2, none of class 3.
        let labels: Vec<u8> = (0..50)
            .map(|i| {
                if i < 40 {
                    0
                } else if i < 48 {
                    1
                } else {
                    2
                }
            })
            .collect();
        let order = class_balanced_order(&labels, 4, 7, 0);
        assert_eq!(
            order.len(),
            50,
            "as long as the split: 16 rounds of 3 and 2 more"
        );
        for window in order[..48].chunks(3) {
            let mut classes: Vec<u8> = window.iter().map(|&i| labels[i]).collect();
            classes.sort();
            assert_eq!(classes, [0, 1, 2]);
        }
        // Class 2 (two faces) cycles: each face 8 times in the 16 whole rounds; class 0
        // never repeats in an epoch.
        let count = |i: usize| order.iter().filter(|&&j| j == i).count();
        let in_rounds = |i: usize| order[..48].iter().filter(|&&j| j == i).count();
        assert_eq!((in_rounds(48), in_rounds(49)), (8, 8));
        assert!((0..40).all(|i| count(i) <= 1));
        assert_eq!(order, class_balanced_order(&labels, 4, 7, 0));
        assert_ne!(order, class_balanced_order(&labels, 4, 7, 1));
    }
}
