//! Class weights for imbalanced training sets, computed from the training split's counts.

/// Samples per class among `labels`.
pub fn class_counts(labels: &[u8], num_classes: usize) -> Vec<usize> {
    let mut counts = vec![0; num_classes];
    for &l in labels {
        counts[l as usize] += 1;
    }
    counts
}

/// Class-balanced weights (Cui et al. 2019): α_c ∝ 1 / E_c with the effective number
/// E_c = (1 − β^{n_c}) / (1 − β), normalised so that Σ_c α_c = C. An empty class counts as
/// one sample (it never appears as a label, so its weight is never used).
pub fn class_balanced_weights(counts: &[usize], beta: f64) -> Vec<f32> {
    let inverse: Vec<f64> = counts
        .iter()
        .map(|&n| (1.0 - beta) / (1.0 - beta.powi(n.max(1) as i32)))
        .collect();
    let total: f64 = inverse.iter().sum();
    let c = counts.len() as f64;
    inverse.iter().map(|&a| (a * c / total) as f32).collect()
}

/// LNSU's class weights `scale · N / n_c`, larger for rarer classes. The official code
/// hard-codes RAF-DB's (0.951, 4.367, 1.711, 0.257, 0.619, 1.741, 0.486 for surprise ..
/// neutral); those are exactly `0.1 · 12271 / n_c` for RAF-DB's training counts, which is
/// the rule used here so that any split gets its own.
pub fn inverse_frequency_weights(counts: &[usize], scale: f32) -> Vec<f32> {
    let total: usize = counts.iter().sum();
    counts
        .iter()
        .map(|&n| scale * total as f32 / n.max(1) as f32)
        .collect()
}

/// Re-balanced smooth labels (LSR2 in the LNSU code): row y of the returned K × K matrix is
/// the target of label y — 1 − ε on y and ε spread over the other classes in proportion to
/// their weights.
pub fn rebalanced_targets(weights: &[f32], epsilon: f32) -> Vec<f32> {
    let k = weights.len();
    let mut rows = vec![0f32; k * k];
    for y in 0..k {
        let others: f32 = (0..k).filter(|&c| c != y).map(|c| weights[c]).sum();
        for c in 0..k {
            rows[y * k + c] = if c == y {
                1.0 - epsilon
            } else if others > 0.0 {
                epsilon * weights[c] / others
            } else {
                epsilon / (k - 1) as f32
            };
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RAF-DB basic training counts, surprise .. neutral.
    const RAFDB: [usize; 7] = [1290, 281, 717, 4772, 1982, 705, 2524];

    #[test]
    fn lnsu_weights_reproduce_the_official_constants() {
        let w = inverse_frequency_weights(&RAFDB, 0.1);
        let official: [f64; 7] = [
            0.95124031, 4.36690391, 1.71143654, 0.25714585, 0.6191221, 1.74056738, 0.48617274,
        ];
        for (a, b) in w.iter().zip(official) {
            assert!((*a as f64 - b).abs() < 1e-5, "{a} vs {b}");
        }
    }

    #[test]
    fn class_balanced_weights_by_hand() {
        // β = 0.5, counts 1 and 2: E = 1 and 1.5, α ∝ 1 and 2/3, normalised to sum 2.
        let w = class_balanced_weights(&[1, 2], 0.5);
        assert!(
            (w[0] - 1.2).abs() < 1e-6 && (w[1] - 0.8).abs() < 1e-6,
            "{w:?}"
        );
        // β → 0 makes every class weigh the same.
        let w = class_balanced_weights(&[10, 1000], 0.0);
        assert_eq!(w, vec![1.0, 1.0]);
    }

    #[test]
    fn rebalanced_targets_by_hand() {
        let t = rebalanced_targets(&[1.0, 2.0, 1.0], 0.3);
        let expect = [0.7, 0.2, 0.1, 0.15, 0.7, 0.15, 0.1, 0.2, 0.7];
        for (a, b) in t.iter().zip(expect) {
            assert!((a - b).abs() < 1e-6, "{t:?}");
        }
        assert_eq!(class_counts(&[0, 2, 2], 3), vec![1, 0, 2]);
    }
}
