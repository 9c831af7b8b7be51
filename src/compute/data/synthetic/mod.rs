//! The built-in dataset: procedural grey faces with known ground truth.
//!
//! Each face is an identity (head, proportions, skin, hair, accessories, resting face)
//! wearing an expression (action-unit-like parameters of a class prototype scaled by an
//! intensity, sometimes blended with a second expression), shot under a random pose and
//! light with pixel noise. Training and validation faces come from disjoint identities.

pub mod clips;
pub mod expression;
pub mod identity;
pub mod render;

use rand::Rng;
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;

use super::{CorruptionReport, Dataset, SampleTruth, Split};
use crate::contract::config::SyntheticConfig;
use crate::contract::config::classes::canonical_names;
use crate::contract::seed::{self, purpose};
use expression::{Expression, blend_partners, intensity_range, prototype};
use identity::Identity;
use render::{Shot, render};

pub const NUM_CLASSES: usize = 7;

/// Generates the synthetic dataset at `size × size` with `channels` channels.
pub fn generate(cfg: &SyntheticConfig, size: usize, channels: usize, seed: u64) -> Dataset {
    let train_people = identities(seed, 0, cfg.identities);
    let val_people = identities(seed, 1, (cfg.identities / 4).max(1));
    let train = make_split(
        cfg,
        &train_people,
        cfg.train_per_class,
        size,
        channels,
        seed,
        0,
    );
    let val = make_split(cfg, &val_people, cfg.val_per_class, size, channels, seed, 1);
    Dataset {
        classes: canonical_names(),
        train,
        val,
        corruption: CorruptionReport::default(),
        skipped: Vec::new(),
        origin: format!(
            "synthetic faces ({} + {} per class, {} identities, {:.0}% blends, seed {seed})",
            cfg.train_per_class,
            cfg.val_per_class,
            cfg.identities,
            100.0 * cfg.blend_fraction
        ),
    }
}

fn identities(seed: u64, split: u64, n: usize) -> Vec<Identity> {
    (0..n)
        .map(|i| {
            Identity::sample(&mut seed::rng(
                seed,
                &[purpose::SYNTHETIC, 100 + split, i as u64],
            ))
        })
        .collect()
}

/// The expression of one face of class `class`, and its blend partner if it is blended.
pub fn sample_expression(
    class: usize,
    blend_fraction: f32,
    rng: &mut impl Rng,
) -> (Expression, Option<(u8, f32)>) {
    let (lo, hi) = intensity_range(class);
    let k = rng.random_range(lo..hi);
    let mut expr = prototype(class).scaled(k);
    let mut blend = None;
    if rng.random_bool(blend_fraction as f64) {
        let partners = blend_partners(class);
        // First partners are the most common confusions: weights 3, 2, 1.
        let weights: Vec<usize> = (0..partners.len()).map(|i| partners.len() - i).collect();
        let total: usize = weights.iter().sum();
        let mut pick = rng.random_range(0..total);
        let mut partner = partners[0];
        for (p, w) in partners.iter().zip(&weights) {
            if pick < *w {
                partner = *p;
                break;
            }
            pick -= w;
        }
        let w = rng.random_range(0.25..0.5f32);
        let (plo, phi) = intensity_range(partner);
        let kp = rng.random_range(plo..phi);
        expr = expr.scaled(1.0 - w).plus(prototype(partner).scaled(kp * w));
        blend = Some((partner as u8, w));
    }
    (expr, blend)
}

/// Renders one face as `channels × size × size` u8 pixels.
pub fn render_face(
    person: &Identity,
    expr: Expression,
    size: usize,
    channels: usize,
    pixel_noise: f32,
    rng: &mut impl Rng,
) -> Vec<u8> {
    let jitter = Normal::new(0.0f32, 0.05).expect("valid sigma");
    let mut offsets = [0.0f32; 11];
    for v in offsets.iter_mut() {
        *v = jitter.sample(rng);
    }
    let worn = expr
        .plus(person.resting)
        .plus(Expression::jitter(offsets))
        .clamped();
    let shot = Shot::sample(rng);
    let grey = render(person, &worn, &shot, size, pixel_noise, rng);
    let plane: Vec<u8> = grey.iter().map(|v| (v * 255.0).round() as u8).collect();
    let mut out = Vec::with_capacity(channels * plane.len());
    for _ in 0..channels {
        out.extend_from_slice(&plane);
    }
    out
}

fn make_split(
    cfg: &SyntheticConfig,
    people: &[Identity],
    per_class: usize,
    size: usize,
    channels: usize,
    seed: u64,
    split_id: u64,
) -> Split {
    let n = per_class * NUM_CLASSES;
    let faces: Vec<(Vec<u8>, u8, SampleTruth, String)> = (0..n)
        .into_par_iter()
        .map(|j| {
            let class = j % NUM_CLASSES;
            let mut rng = seed::rng(seed, &[purpose::SYNTHETIC, split_id, j as u64]);
            let who = rng.random_range(0..people.len());
            let (expr, blend) = sample_expression(class, cfg.blend_fraction, &mut rng);
            let pixels = render_face(
                &people[who],
                expr,
                size,
                channels,
                cfg.pixel_noise,
                &mut rng,
            );
            let truth = SampleTruth {
                clean_label: class as u8,
                blend,
            };
            let split_name = if split_id == 0 { "train" } else { "val" };
            (
                pixels,
                class as u8,
                truth,
                format!("synthetic/{split_name}/{j}/person{who}"),
            )
        })
        .collect();
    let mut split = Split::new(size, channels);
    split.images.reserve(n * split.pixels_per_image());
    for (pixels, label, truth, id) in faces {
        split.push(&pixels, label, Some(truth), id);
    }
    split
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> SyntheticConfig {
        SyntheticConfig {
            train_per_class: 6,
            val_per_class: 2,
            identities: 8,
            blend_fraction: 0.5,
            pixel_noise: 0.03,
        }
    }

    #[test]
    fn generation_is_deterministic_and_balanced() {
        let a = generate(&small(), 32, 1, 3);
        let b = generate(&small(), 32, 1, 3);
        let c = generate(&small(), 32, 1, 4);
        assert_eq!(a.train.images, b.train.images);
        assert_ne!(a.train.images, c.train.images);
        assert_eq!(a.train.class_counts(7), vec![6; 7]);
        assert_eq!(a.val.class_counts(7), vec![2; 7]);
        assert_eq!(a.train.images.len(), 42 * 32 * 32);
    }

    #[test]
    fn ground_truth_records_blends() {
        let d = generate(&small(), 32, 1, 1);
        let truth = d.train.truth.as_ref().unwrap();
        let blends = truth.iter().filter(|t| t.blend.is_some()).count();
        assert!(blends > 5 && blends < 37, "{blends} blends of 42");
        for (t, &l) in truth.iter().zip(&d.train.labels) {
            assert_eq!(t.clean_label, l);
            if let Some((p, w)) = t.blend {
                assert_ne!(p, l);
                assert!((0.25..0.5).contains(&w));
            }
        }
    }

    #[test]
    fn faces_are_not_blank_and_differ_by_class() {
        let mut cfg = small();
        cfg.blend_fraction = 0.0;
        cfg.pixel_noise = 0.0;
        let d = generate(&cfg, 48, 1, 9);
        let img = d.train.image(0);
        let mean = img.iter().map(|&v| v as f64).sum::<f64>() / img.len() as f64;
        let var = img.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / img.len() as f64;
        assert!(var.sqrt() > 20.0, "a face has contrast, std {}", var.sqrt());
        assert_ne!(d.train.image(0), d.train.image(1));
    }
}
