//! A synthetic person: head shape, proportions, skin tone, hair and accessories. All lengths
//! are in face units (the face canvas is 100 × 100).

use rand::Rng;
use rand_distr::{Distribution, Normal};

use super::expression::Expression;

#[derive(Debug, Clone)]
pub struct Identity {
    pub head_w: f32,
    pub head_h: f32,
    /// 0 = oval chin, 1 = square jaw.
    pub jaw: f32,
    pub skin: f32,
    pub background: f32,
    pub hair: f32,
    /// Where the hairline sits, as a fraction of the head's height from its top.
    pub hairline: f32,
    pub long_hair: bool,
    pub eye_y: f32,
    pub eye_dx: f32,
    pub eye_w: f32,
    pub brow_gap: f32,
    pub brow_thick: f32,
    pub brow_len: f32,
    pub nose_len: f32,
    pub nose_w: f32,
    pub mouth_y: f32,
    pub mouth_w: f32,
    pub lip: f32,
    pub glasses: bool,
    pub beard: bool,
    /// The person's resting face: small offsets added to every expression.
    pub resting: Expression,
}

impl Identity {
    pub fn sample(rng: &mut impl Rng) -> Self {
        let skin = rng.random_range(0.4..0.85);
        // Background at least 0.15 away from the skin tone so the face outline stays visible.
        let background = loop {
            let b: f32 = rng.random_range(0.05..0.95);
            if (b - skin).abs() > 0.15 {
                break b;
            }
        };
        let rest = Normal::new(0.0f32, 0.07).expect("valid sigma");
        let mut jitter = [0.0f32; 11];
        for v in jitter.iter_mut() {
            *v = rest.sample(rng);
        }
        Self {
            head_w: rng.random_range(29.0..37.0),
            head_h: rng.random_range(38.0..45.0),
            jaw: rng.random_range(0.0..1.0),
            skin,
            background,
            hair: rng.random_range(0.03..0.55),
            hairline: rng.random_range(0.18..0.4),
            long_hair: rng.random_bool(0.35),
            eye_y: rng.random_range(41.0..47.0),
            eye_dx: rng.random_range(12.0..15.5),
            eye_w: rng.random_range(4.2..6.0),
            brow_gap: rng.random_range(6.0..8.5),
            brow_thick: rng.random_range(1.8..3.2),
            brow_len: rng.random_range(9.0..12.5),
            nose_len: rng.random_range(10.0..15.0),
            nose_w: rng.random_range(4.0..6.5),
            mouth_y: rng.random_range(70.0..75.0),
            mouth_w: rng.random_range(9.0..12.5),
            lip: rng.random_range(1.8..3.0),
            glasses: rng.random_bool(0.12),
            beard: rng.random_bool(0.1),
            resting: Expression::jitter(jitter),
        }
    }
}
