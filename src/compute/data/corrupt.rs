//! Corruptions of the training split: imbalance (n_l' = n_l · μ^l) and label noise.
//! Both are recorded in the dataset's ground truth and its `CorruptionReport`.

use rand::Rng;
use rand::seq::SliceRandom;

use super::{Dataset, SampleTruth, Split, subsample};
use crate::compute::Error;
use crate::contract::config::{CorruptionConfig, NoiseKind};
use crate::contract::seed::{self, purpose};

pub fn apply(ds: &mut Dataset, cfg: &CorruptionConfig, seed: u64) -> Result<(), Error> {
    let c = ds.num_classes();
    if cfg.imbalance_factor > 1.0 {
        let before = ds.train.class_counts(c);
        let plan = imbalance_counts(&before, cfg.imbalance_factor as f64)?;
        ds.train = subsample::to_counts(
            &ds.train,
            &plan.counts,
            seed::derive(seed, &[purpose::IMBALANCE]),
        );
        ds.corruption.imbalance_mu = Some(plan.mu);
        ds.corruption.counts_before_imbalance = Some(before);
    }
    if cfg.noise != NoiseKind::None && cfg.noise_rate > 0.0 {
        let flipped = inject_noise(&mut ds.train, c, cfg.noise, cfg.noise_rate, seed);
        ds.corruption.flipped = flipped;
        ds.corruption.noised_of = ds.train.len();
    }
    Ok(())
}

/// Target counts of an imbalanced split.
#[derive(Debug, Clone, PartialEq)]
pub struct ImbalancePlan {
    pub mu: f64,
    /// Per class, in the dataset's class order.
    pub counts: Vec<usize>,
}

/// Solves μ so that max/min of n_l' = n_l · μ^l equals `factor`, where l ranks the classes
/// by their natural count (largest first, l = 0), and returns the counts (rounded down).
pub fn imbalance_counts(counts: &[usize], factor: f64) -> Result<ImbalancePlan, Error> {
    let mut order: Vec<usize> = (0..counts.len()).filter(|&i| counts[i] > 0).collect();
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
    if order.len() < 2 {
        return Err(Error::Data(
            "an imbalance factor needs at least two non-empty classes".into(),
        ));
    }
    let last = order.len() - 1;
    let n_max = counts[order[0]] as f64;
    let n_min = counts[order[last]] as f64;
    let natural = n_max / n_min;
    if natural > factor + 1e-9 {
        return Err(Error::Data(format!(
            "corruption.imbalance_factor {factor} is below the split's natural imbalance {natural:.2} \
             (max {n_max} / min {n_min}); choose a factor of at least {natural:.2}"
        )));
    }
    let mu = (n_max / (factor * n_min)).powf(1.0 / last as f64);
    let mut target = counts.to_vec();
    for (l, &cls) in order.iter().enumerate() {
        // A small epsilon keeps exact products (e.g. n · 1.0) from rounding down by one.
        let n = (counts[cls] as f64 * mu.powi(l as i32) + 1e-9).floor() as usize;
        target[cls] = n.max(1);
    }
    Ok(ImbalancePlan { mu, counts: target })
}

/// Flips exactly round(rate · N) labels; returns how many were flipped.
pub fn inject_noise(
    split: &mut Split,
    num_classes: usize,
    kind: NoiseKind,
    rate: f32,
    seed: u64,
) -> usize {
    let n = split.len();
    if split.truth.is_none() {
        split.truth = Some(
            split
                .labels
                .iter()
                .map(|&l| SampleTruth {
                    clean_label: l,
                    blend: None,
                })
                .collect(),
        );
    }
    let k = ((rate as f64) * n as f64).round() as usize;
    let mut rng = seed::rng(seed, &[purpose::NOISE]);
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut rng);
    let c = num_classes as u8;
    for &i in &idx[..k.min(n)] {
        let old = split.labels[i];
        split.labels[i] = match kind {
            NoiseKind::None => old,
            NoiseKind::Symmetric => {
                // Uniform over the other C-1 classes.
                let r = rng.random_range(0..c - 1);
                if r >= old { r + 1 } else { r }
            }
            NoiseKind::PairFlip => (old + 1) % c,
        };
    }
    k.min(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn within_one(got: &[usize], want: &[usize]) -> bool {
        got.iter().zip(want).all(|(&g, &w)| g.abs_diff(w) <= 1)
    }

    #[test]
    fn rafdb_imbalance_table_is_reproduced() {
        let rafdb = [4772, 2524, 1982, 1290, 717, 705, 281];
        let f50 = imbalance_counts(&rafdb, 50.0).unwrap();
        assert!(
            within_one(&f50.counts, &[4772, 2108, 1382, 751, 349, 286, 95]),
            "{:?}",
            f50.counts
        );
        let f100 = imbalance_counts(&rafdb, 100.0).unwrap();
        assert!(
            within_one(&f100.counts, &[4772, 1878, 1097, 531, 220, 161, 48]),
            "{:?}",
            f100.counts
        );
        let max = *f100.counts.iter().max().unwrap() as f64;
        let min = *f100.counts.iter().min().unwrap() as f64;
        assert!((max / min - 100.0).abs() < 2.5, "{}", max / min);
    }

    #[test]
    fn imbalance_follows_rank_not_class_order() {
        // Classes out of count order: ranks must follow the counts.
        let counts = [100, 400, 200];
        let p = imbalance_counts(&counts, 10.0).unwrap();
        assert_eq!(p.counts[1], 400);
        assert!(p.counts[2] < 200 && p.counts[0] < p.counts[2]);
        assert_eq!(p.counts[0], 40);
    }

    #[test]
    fn a_factor_below_the_natural_imbalance_is_an_error() {
        let err = imbalance_counts(&[1000, 10], 5.0).unwrap_err().to_string();
        assert!(err.contains("natural imbalance 100.00"), "{err}");
    }

    fn split_with_labels(labels: &[u8]) -> Split {
        let mut s = Split::new(2, 1);
        for (i, &l) in labels.iter().enumerate() {
            s.push(&[0; 4], l, None, format!("s{i}"));
        }
        s
    }

    #[test]
    fn symmetric_noise_flips_an_exact_count_to_other_classes() {
        let labels: Vec<u8> = (0..1000).map(|i| (i % 7) as u8).collect();
        let mut s = split_with_labels(&labels);
        let k = inject_noise(&mut s, 7, NoiseKind::Symmetric, 0.3, 42);
        assert_eq!(k, 300);
        let flipped = s.flipped().unwrap();
        assert_eq!(flipped.iter().filter(|&&f| f).count(), 300);
        let truth = s.truth.as_ref().unwrap();
        for (i, t) in truth.iter().enumerate() {
            assert_eq!(t.clean_label, labels[i]);
        }
        // Every target class is reached.
        let mut targets = [0usize; 7];
        for (i, &f) in flipped.iter().enumerate() {
            if f {
                targets[s.labels[i] as usize] += 1;
            }
        }
        assert!(targets.iter().all(|&t| t > 20), "{targets:?}");
    }

    #[test]
    fn pair_flip_moves_to_the_next_class() {
        let labels: Vec<u8> = (0..100).map(|i| (i % 7) as u8).collect();
        let mut s = split_with_labels(&labels);
        let k = inject_noise(&mut s, 7, NoiseKind::PairFlip, 0.2, 1);
        assert_eq!(k, 20);
        for (i, &l) in s.labels.iter().enumerate() {
            assert!(l == labels[i] || l == (labels[i] + 1) % 7);
        }
    }

    #[test]
    fn noise_is_deterministic_by_seed() {
        let labels: Vec<u8> = (0..200).map(|i| (i % 7) as u8).collect();
        let mut a = split_with_labels(&labels);
        let mut b = split_with_labels(&labels);
        let mut c = split_with_labels(&labels);
        inject_noise(&mut a, 7, NoiseKind::Symmetric, 0.4, 5);
        inject_noise(&mut b, 7, NoiseKind::Symmetric, 0.4, 5);
        inject_noise(&mut c, 7, NoiseKind::Symmetric, 0.4, 6);
        assert_eq!(a.labels, b.labels);
        assert_ne!(a.labels, c.labels);
    }
}
