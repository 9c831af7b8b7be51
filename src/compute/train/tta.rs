//! Test-time augmentation: a face is classified by the mean of the softmax probabilities of
//! several views of it.
//!
//! - `flip`: the face and its mirror (2 views).
//! - `ten-crop`: the literature's ten crops (four corners and the centre, each also mirrored;
//!   Khaireddin & Chen 2021 on FER2013). ferlab's training crop is a zero-padded random
//!   translation of up to `shift` pixels (`augment.crop_padding`) rather than a smaller crop
//!   resized, so its ten crops are the same thing at test time: the four corner translations
//!   (±shift, ±shift), the centre (no translation), and their mirrors — views the network saw
//!   in training, at the network's own input size. The uncovered border is filled as the
//!   training crop fills it: with the normalised value of a black pixel.

use candle_core::{D, Result, Tensor};

use crate::compute::model::cam::flip_horizontal;
use crate::contract::config::TestTimeViews;

/// Which views a face is evaluated on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tta {
    /// The face only.
    #[default]
    None,
    /// The face and its mirror.
    Flip,
    /// The centre and four corner translations by `shift` pixels, each also mirrored.
    TenCrop { shift: usize },
}

impl Tta {
    /// Parses `none`, `flip` or `ten-crop` (the latter with the given shift).
    pub fn parse(name: &str, shift: usize) -> std::result::Result<Self, String> {
        match name {
            "none" => Ok(Tta::None),
            "flip" => Ok(Tta::Flip),
            "ten-crop" | "ten_crop" if shift == 0 => Err(
                "ten-crop needs a translation of at least 1 pixel: the run trained without \
                 random crops (augment.crop_padding = 0); give --tta-shift N"
                    .into(),
            ),
            "ten-crop" | "ten_crop" => Ok(Tta::TenCrop { shift }),
            other => Err(format!(
                "unknown test-time augmentation `{other}` (expected none, flip or ten-crop)"
            )),
        }
    }

    /// The experiment's setting, its ten crops translated by the training crop's padding.
    pub fn of_setting(views: TestTimeViews, crop_padding: usize) -> Self {
        match views {
            TestTimeViews::None => Tta::None,
            TestTimeViews::Flip => Tta::Flip,
            TestTimeViews::TenCrop => Tta::TenCrop {
                shift: crop_padding,
            },
        }
    }

    /// How many views each face is evaluated on.
    pub fn view_count(self) -> usize {
        match self {
            Tta::None => 1,
            Tta::Flip => 2,
            Tta::TenCrop { .. } => 10,
        }
    }

    pub fn describe(self) -> String {
        match self {
            Tta::None => "none".into(),
            Tta::Flip => "flip (2 views)".into(),
            Tta::TenCrop { shift } => format!("ten-crop (10 views, corners shifted {shift} px)"),
        }
    }
}

/// The views of a normalised N × C × S × S batch: the batch itself first, its mirror second
/// (evaluation reuses that view's pass for the attention maps); `black` is the normalised
/// value of a black pixel, which fills the border a translation uncovers.
pub fn views(x: &Tensor, tta: Tta, black: f32) -> Result<Vec<Tensor>> {
    match tta {
        Tta::None => Ok(vec![x.clone()]),
        Tta::Flip => Ok(vec![x.clone(), flip_horizontal(x)?]),
        Tta::TenCrop { shift } => {
            let s = shift as i64;
            let mut out = Vec::with_capacity(10);
            for (dx, dy) in [(0, 0), (-s, -s), (s, -s), (-s, s), (s, s)] {
                let v = translate(x, dx, dy, black)?;
                let mirrored = flip_horizontal(&v)?;
                out.push(v);
                out.push(mirrored);
            }
            Ok(out)
        }
    }
}

/// `out[y][x] = in[y − dy][x − dx]`, `fill` where that lies outside: the training crop's
/// translation (`augment::shift`) on a batch.
pub fn translate(x: &Tensor, dx: i64, dy: i64, fill: f32) -> Result<Tensor> {
    if dx == 0 && dy == 0 {
        return Ok(x.clone());
    }
    let (_, _, h, w) = x.dims4()?;
    let (px, py) = (dx.unsigned_abs() as usize, dy.unsigned_abs() as usize);
    if px >= w || py >= h {
        return x.ones_like()?.affine(0.0, fill as f64);
    }
    // Pad with `fill` on every side by the shift, then cut the window that moves the face.
    let padded = x
        .affine(1.0, -(fill as f64))?
        .pad_with_zeros(2, py, py)?
        .pad_with_zeros(3, px, px)?
        .affine(1.0, fill as f64)?;
    let top = (py as i64 - dy) as usize;
    let left = (px as i64 - dx) as usize;
    padded.narrow(2, top, h)?.narrow(3, left, w)
}

/// Mean softmax probabilities of a model's logits over the views (each N × K).
pub fn mean_probabilities(logits: &[Tensor]) -> Result<Tensor> {
    let probs = logits
        .iter()
        .map(|l| candle_nn::ops::softmax(l, D::Minus1))
        .collect::<Result<Vec<_>>>()?;
    Tensor::stack(&probs, 0)?.mean(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::data::augment::{View, make_view};
    use crate::contract::config::AugmentConfig;
    use candle_core::Device;
    use rand::SeedableRng;

    #[test]
    fn a_translation_matches_the_training_crops_shift() {
        // The training crop translates in [0, 1] before normalising and fills with 0 (black);
        // `translate` works on the normalised batch with the normalised black.
        let (c, s) = (2usize, 7usize);
        let pixels: Vec<u8> = (0..c * s * s).map(|i| (i * 37 % 251) as u8).collect();
        let cfg = AugmentConfig {
            mean: 0.4,
            std: 0.2,
            ..AugmentConfig::default()
        };
        let mut plain = vec![0f32; c * s * s];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        make_view(&pixels, c, s, View::Plain, &cfg, &mut rng, &mut plain);
        let x = Tensor::from_vec(plain, (1, c, s, s), &Device::Cpu).unwrap();
        let black = (0.0 - cfg.mean) / cfg.std;
        for (dx, dy) in [(2i64, -3i64), (-1, 1), (3, 3), (0, -2)] {
            let got = translate(&x, dx, dy, black).unwrap();
            let got = got.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            // The training crop's own shift on the [0, 1] image, then normalised.
            let mut want: Vec<f32> = pixels.iter().map(|&p| p as f32 / 255.0).collect();
            crate::compute::data::augment::shift(&mut want, c, s, dx, dy);
            for v in want.iter_mut() {
                *v = (*v - cfg.mean) / cfg.std;
            }
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-6, "shift ({dx}, {dy}): {g} vs {w}");
            }
        }
    }

    /// The mean prediction of a small random network over the views of `x`.
    fn predict(x: &Tensor, tta: Tta) -> Vec<f32> {
        use crate::compute::model::{FerModel, Mode};
        use crate::contract::config::ModelConfig;
        let cfg = ModelConfig {
            width: 4,
            ..ModelConfig::default()
        };
        let model = FerModel::new(&cfg, 1, 3, &Device::Cpu, 11).unwrap();
        let logits: Vec<Tensor> = views(x, tta, -2.0)
            .unwrap()
            .iter()
            .map(|v| model.forward(v, Mode::Eval).unwrap().logits)
            .collect();
        mean_probabilities(&logits)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    }

    #[test]
    fn mirrored_views_make_a_prediction_the_same_for_a_face_and_its_mirror() {
        let v: Vec<f32> = (0..2 * 16 * 16)
            .map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0)
            .collect();
        let x = Tensor::from_vec(v, (2, 1, 16, 16), &Device::Cpu).unwrap();
        let mirrored = flip_horizontal(&x).unwrap();
        let gap = |a: Vec<f32>, b: Vec<f32>| {
            a.iter()
                .zip(&b)
                .map(|(p, q)| (p - q).abs())
                .fold(0f32, f32::max)
        };
        // Without test-time augmentation the network tells the two apart …
        assert!(gap(predict(&x, Tta::None), predict(&mirrored, Tta::None)) > 1e-4);
        // … with the mirrored views it cannot (the ten crops' corners mirror into each other).
        for tta in [Tta::Flip, Tta::TenCrop { shift: 2 }] {
            let d = gap(predict(&x, tta), predict(&mirrored, tta));
            assert!(d < 1e-5, "{tta:?}: {d}");
        }
    }

    #[test]
    fn ten_crops_are_five_translations_and_their_mirrors() {
        let x = Tensor::arange(0f32, 2.0 * 5.0 * 5.0, &Device::Cpu)
            .unwrap()
            .reshape((1, 2, 5, 5))
            .unwrap();
        let v = views(&x, Tta::TenCrop { shift: 1 }, -1.0).unwrap();
        assert_eq!(v.len(), 10);
        let eq = |a: &Tensor, b: &Tensor| {
            a.flatten_all().unwrap().to_vec1::<f32>().unwrap()
                == b.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        };
        // The first view is the face itself, each pair a view and its mirror.
        assert!(eq(&v[0], &x));
        for pair in v.chunks(2) {
            assert!(eq(&pair[1], &flip_horizontal(&pair[0]).unwrap()));
        }
        // The four corners differ from each other and from the centre.
        for i in (0..10).step_by(2) {
            for j in (i + 2..10).step_by(2) {
                assert!(!eq(&v[i], &v[j]), "views {i} and {j} are the same");
            }
        }
        assert!(
            Tta::parse("ten-crop", 0)
                .unwrap_err()
                .contains("--tta-shift")
        );
        assert_eq!(Tta::parse("flip", 0), Ok(Tta::Flip));
        assert!(Tta::parse("five-crop", 4).is_err());
    }
}
