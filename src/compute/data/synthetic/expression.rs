//! Expressions as action-unit-like parameters, and the seven class prototypes.
//!
//! The prototypes share features the way real expressions do: fear and surprise both raise
//! the brows, widen the eyes and open the mouth; disgust and anger both lower the brows,
//! wrinkle the nose and turn the corners down; sadness at low intensity is a small change
//! from neutral.

/// Action-unit-like parameters. Ranges are [0, 1] unless noted.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Expression {
    /// AU1+2: both brows up.
    pub brow_raise: f32,
    /// AU4: brows down and drawn together.
    pub brow_lower: f32,
    /// AU1: inner brow ends up (the oblique brow of sadness and fear).
    pub brow_inner: f32,
    /// AU5 (> 0) upper lid raised, AU7 (< 0) lids tightened; [-1, 1].
    pub eye_open: f32,
    /// AU6: cheeks up, lower lids pushed up.
    pub cheek_raise: f32,
    /// AU9: nose wrinkled.
    pub nose_wrinkle: f32,
    /// AU10: upper lip raised.
    pub upper_lip: f32,
    /// AU25-27: lips parted, jaw dropped.
    pub mouth_open: f32,
    /// AU20 (> 0) lips stretched sideways, (< 0) rounded; [-1, 1].
    pub mouth_stretch: f32,
    /// AU12 (> 0) corners up, AU15 (< 0) corners down; [-1, 1].
    pub corner: f32,
    /// AU23/24: lips pressed thin.
    pub lip_press: f32,
}

impl Expression {
    pub fn scaled(self, k: f32) -> Self {
        self.zip(Self::default(), |a, _| a * k)
    }

    pub fn plus(self, other: Self) -> Self {
        self.zip(other, |a, b| a + b)
    }

    fn zip(self, o: Self, f: impl Fn(f32, f32) -> f32) -> Self {
        Self {
            brow_raise: f(self.brow_raise, o.brow_raise),
            brow_lower: f(self.brow_lower, o.brow_lower),
            brow_inner: f(self.brow_inner, o.brow_inner),
            eye_open: f(self.eye_open, o.eye_open),
            cheek_raise: f(self.cheek_raise, o.cheek_raise),
            nose_wrinkle: f(self.nose_wrinkle, o.nose_wrinkle),
            upper_lip: f(self.upper_lip, o.upper_lip),
            mouth_open: f(self.mouth_open, o.mouth_open),
            mouth_stretch: f(self.mouth_stretch, o.mouth_stretch),
            corner: f(self.corner, o.corner),
            lip_press: f(self.lip_press, o.lip_press),
        }
    }

    /// Clamps every parameter to its range.
    pub fn clamped(self) -> Self {
        let u = |v: f32| v.clamp(0.0, 1.0);
        let s = |v: f32| v.clamp(-1.0, 1.0);
        Self {
            brow_raise: u(self.brow_raise),
            brow_lower: u(self.brow_lower),
            brow_inner: u(self.brow_inner),
            eye_open: s(self.eye_open),
            cheek_raise: u(self.cheek_raise),
            nose_wrinkle: u(self.nose_wrinkle),
            upper_lip: u(self.upper_lip),
            mouth_open: u(self.mouth_open),
            mouth_stretch: s(self.mouth_stretch),
            corner: s(self.corner),
            lip_press: u(self.lip_press),
        }
    }

    /// Small signed offsets (an identity's resting face, per-sample variation).
    pub fn jitter(values: [f32; 11]) -> Self {
        Self {
            brow_raise: values[0],
            brow_lower: values[1],
            brow_inner: values[2],
            eye_open: values[3],
            cheek_raise: values[4],
            nose_wrinkle: values[5],
            upper_lip: values[6],
            mouth_open: values[7],
            mouth_stretch: values[8],
            corner: values[9],
            lip_press: values[10],
        }
    }
}

/// The full-intensity prototype of each canonical class (surprise .. neutral).
pub fn prototype(class: usize) -> Expression {
    let e = Expression::default();
    match class {
        // surprise
        0 => Expression {
            brow_raise: 1.0,
            brow_inner: 0.2,
            eye_open: 0.9,
            mouth_open: 0.9,
            mouth_stretch: -0.5,
            ..e
        },
        // fear
        1 => Expression {
            brow_raise: 0.7,
            brow_inner: 0.8,
            brow_lower: 0.35,
            eye_open: 0.8,
            mouth_open: 0.45,
            mouth_stretch: 0.8,
            corner: -0.25,
            ..e
        },
        // disgust
        2 => Expression {
            brow_lower: 0.6,
            nose_wrinkle: 1.0,
            upper_lip: 0.9,
            eye_open: -0.45,
            cheek_raise: 0.3,
            corner: -0.45,
            mouth_open: 0.1,
            ..e
        },
        // happiness
        3 => Expression {
            corner: 1.0,
            cheek_raise: 0.9,
            eye_open: -0.3,
            mouth_open: 0.35,
            mouth_stretch: 0.4,
            ..e
        },
        // sadness
        4 => Expression {
            brow_inner: 0.9,
            brow_lower: 0.1,
            corner: -0.8,
            eye_open: -0.35,
            lip_press: 0.3,
            ..e
        },
        // anger
        5 => Expression {
            brow_lower: 1.0,
            eye_open: 0.25,
            lip_press: 0.9,
            nose_wrinkle: 0.35,
            corner: -0.3,
            mouth_stretch: -0.1,
            ..e
        },
        // neutral
        _ => e,
    }
}

/// Intensity range of each class: sadness is often subtle, surprise and happiness rarely.
pub fn intensity_range(class: usize) -> (f32, f32) {
    match class {
        4 => (0.25, 0.8),
        1 | 2 => (0.4, 1.0),
        _ => (0.5, 1.0),
    }
}

/// Likely blend partners of each class (the confusions of real FER): the first entries
/// are drawn more often.
pub fn blend_partners(class: usize) -> &'static [usize] {
    match class {
        0 => &[1, 3, 6],
        1 => &[0, 4, 2],
        2 => &[5, 4, 1],
        3 => &[0, 6],
        4 => &[6, 1, 5],
        5 => &[2, 4, 6],
        _ => &[4, 3, 5],
    }
}
