//! Synthetic reaction clips: several people watching one shared trigger. The trigger is a
//! timeline of expression segments; each person follows it with their own lag and
//! intensity and now and then shows something else, so RMFER's prior — "same frame ≈ same
//! expression, same person far apart in time ≈ different" — usually but not always holds.
//! The expressions are kept as ground truth for evaluation; training never sees them.

use rand::Rng;
use rayon::prelude::*;

use super::identity::Identity;
use super::{NUM_CLASSES, render_face, sample_expression};
use crate::contract::seed::{self, purpose};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClipConfig {
    pub videos: usize,
    pub people_per_video: usize,
    pub frames: usize,
    /// Frames each segment of the trigger lasts (drawn from this range).
    pub segment: (usize, usize),
    /// The largest lag, in frames, between the trigger and a person's reaction.
    pub max_lag: usize,
    /// Chance that a person shows another expression than the trigger's in a frame.
    pub deviation: f32,
}

impl Default for ClipConfig {
    fn default() -> Self {
        Self {
            videos: 8,
            people_per_video: 5,
            frames: 24,
            segment: (4, 8),
            max_lag: 2,
            deviation: 0.15,
        }
    }
}

/// Rendered clips, one entry per face, in (video, frame, person) order.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticClips {
    pub size: usize,
    pub channels: usize,
    /// `channels × size × size` pixels per face, concatenated.
    pub pixels: Vec<u8>,
    pub video: Vec<usize>,
    pub frame: Vec<usize>,
    /// The person, numbered within the video.
    pub person: Vec<usize>,
    /// Hidden ground truth: the expression shown.
    pub truth: Vec<u8>,
}

impl SyntheticClips {
    pub fn len(&self) -> usize {
        self.truth.len()
    }

    pub fn is_empty(&self) -> bool {
        self.truth.is_empty()
    }

    /// Fraction of same-frame pairs that share their true expression, and of same-person
    /// pairs at least `min_gap` frames apart that differ: how often the prior holds.
    pub fn prior_agreement(&self, min_gap: usize) -> (f32, f32) {
        let (mut same, mut same_n, mut diff, mut diff_n) = (0usize, 0usize, 0usize, 0usize);
        for i in 0..self.len() {
            for j in i + 1..self.len() {
                if self.video[i] != self.video[j] {
                    continue;
                }
                if self.frame[i] == self.frame[j] {
                    same_n += 1;
                    same += usize::from(self.truth[i] == self.truth[j]);
                } else if self.person[i] == self.person[j]
                    && self.frame[i].abs_diff(self.frame[j]) >= min_gap
                {
                    diff_n += 1;
                    diff += usize::from(self.truth[i] != self.truth[j]);
                }
            }
        }
        (
            same as f32 / same_n.max(1) as f32,
            diff as f32 / diff_n.max(1) as f32,
        )
    }
}

/// Generates the clips; people are new identities, apart from the labelled sets'.
pub fn generate_clips(
    cfg: &ClipConfig,
    size: usize,
    channels: usize,
    pixel_noise: f32,
    seed: u64,
) -> SyntheticClips {
    struct Face {
        video: usize,
        frame: usize,
        person: usize,
        class: usize,
    }
    let mut faces = Vec::new();
    let mut people = Vec::new();
    for v in 0..cfg.videos {
        let mut rng = seed::rng(seed, &[purpose::SYNTHETIC, 300, v as u64]);
        // The trigger: segments of one expression each, consecutive segments differing.
        let mut timeline = Vec::with_capacity(cfg.frames + cfg.max_lag);
        let mut class = rng.random_range(0..NUM_CLASSES);
        while timeline.len() < cfg.frames + cfg.max_lag {
            let len = rng.random_range(cfg.segment.0..=cfg.segment.1.max(cfg.segment.0));
            timeline.extend(std::iter::repeat_n(class, len));
            class = (class + rng.random_range(1..NUM_CLASSES)) % NUM_CLASSES;
        }
        let lags: Vec<usize> = (0..cfg.people_per_video)
            .map(|_| rng.random_range(0..=cfg.max_lag))
            .collect();
        for p in 0..cfg.people_per_video {
            people.push(Identity::sample(&mut seed::rng(
                seed,
                &[purpose::SYNTHETIC, 301, v as u64, p as u64],
            )));
        }
        for f in 0..cfg.frames {
            for (p, lag) in lags.iter().enumerate() {
                // A reaction follows the trigger `lag` frames late (the start repeats).
                let mut class = timeline[f.saturating_sub(*lag)];
                if rng.random_bool(cfg.deviation as f64) {
                    class = (class + rng.random_range(1..NUM_CLASSES)) % NUM_CLASSES;
                }
                faces.push(Face {
                    video: v,
                    frame: f,
                    person: p,
                    class,
                });
            }
        }
    }
    let face_len = channels * size * size;
    let pixels: Vec<u8> = faces
        .par_iter()
        .enumerate()
        .flat_map_iter(|(i, face)| {
            let mut rng = seed::rng(seed, &[purpose::SYNTHETIC, 302, i as u64]);
            let person = &people[face.video * cfg.people_per_video + face.person];
            let (expr, _) = sample_expression(face.class, 0.0, &mut rng);
            render_face(person, expr, size, channels, pixel_noise, &mut rng)
        })
        .collect();
    debug_assert_eq!(pixels.len(), faces.len() * face_len);
    SyntheticClips {
        size,
        channels,
        pixels,
        video: faces.iter().map(|f| f.video).collect(),
        frame: faces.iter().map(|f| f.frame).collect(),
        person: faces.iter().map(|f| f.person).collect(),
        truth: faces.iter().map(|f| f.class as u8).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_follow_the_trigger_usually_but_not_always() {
        let cfg = ClipConfig {
            videos: 6,
            people_per_video: 4,
            frames: 30,
            ..ClipConfig::default()
        };
        let clips = generate_clips(&cfg, 32, 1, 0.04, 5);
        assert_eq!(clips.len(), 6 * 4 * 30);
        assert_eq!(clips.pixels.len(), clips.len() * 32 * 32);
        let (same_frame, far_apart) = clips.prior_agreement(10);
        eprintln!(
            "prior holds: same frame {same_frame:.3}, same person >= 10 frames apart {far_apart:.3}"
        );
        // Lags and deviations break the prior sometimes; most of the time it holds.
        assert!(
            same_frame > 0.5 && same_frame < 0.95,
            "same frame agree {same_frame}"
        );
        assert!(
            far_apart > 0.6 && far_apart < 1.0,
            "far apart differ {far_apart}"
        );
        // Without lag or deviation, faces of a frame always agree.
        let strict = ClipConfig {
            max_lag: 0,
            deviation: 0.0,
            ..cfg
        };
        assert_eq!(
            generate_clips(&strict, 16, 1, 0.0, 5).prior_agreement(10).0,
            1.0
        );
        // Seeded.
        assert_eq!(generate_clips(&cfg, 32, 1, 0.04, 5), clips);
        // Every class appears.
        for c in 0..NUM_CLASSES as u8 {
            assert!(clips.truth.contains(&c), "class {c} missing");
        }
    }
}
