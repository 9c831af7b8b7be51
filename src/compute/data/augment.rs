//! Per-sample augmentation and normalisation into the model's f32 input.

use rand::Rng;

use crate::contract::config::AugmentConfig;

/// How one view of a batch is made from the stored image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The configured training augmentation.
    Train,
    /// No augmentation (evaluation).
    Plain,
    /// No augmentation, mirrored left-right.
    Flipped,
    /// Training augmentation followed by random erasing (a "strong" view).
    Strong,
    /// The training augmentation without its random flip (EAC's x1 on noisy labels).
    TrainUnflipped,
    /// The face mirrored, then the training augmentation without its random flip: EAC's
    /// x2 on noisy labels, the mirror of `TrainUnflipped` with its own crop and erasing.
    TrainMirrored,
}

/// Writes the normalised, augmented `C × S × S` image into `out`.
pub fn make_view(
    pixels: &[u8],
    channels: usize,
    size: usize,
    view: View,
    cfg: &AugmentConfig,
    rng: &mut impl Rng,
    out: &mut [f32],
) {
    let plane = size * size;
    for (o, &p) in out.iter_mut().zip(pixels) {
        *o = p as f32 / 255.0;
    }
    match view {
        View::Plain => {}
        View::Flipped => hflip(out, channels, size),
        View::Train | View::Strong | View::TrainUnflipped | View::TrainMirrored => {
            let flip = match view {
                View::TrainUnflipped => false,
                View::TrainMirrored => true,
                _ => cfg.hflip && rng.random_bool(0.5),
            };
            if flip {
                hflip(out, channels, size);
            }
            if cfg.crop_padding > 0 {
                let p = cfg.crop_padding as i64;
                let dx = rng.random_range(-p..=p);
                let dy = rng.random_range(-p..=p);
                shift(out, channels, size, dx, dy);
            }
            if cfg.brightness > 0.0 || cfg.contrast > 0.0 {
                let b = if cfg.brightness > 0.0 {
                    rng.random_range(-cfg.brightness..cfg.brightness)
                } else {
                    0.0
                };
                let c = if cfg.contrast > 0.0 {
                    rng.random_range(1.0 - cfg.contrast..1.0 + cfg.contrast)
                } else {
                    1.0
                };
                for ch in out.chunks_mut(plane) {
                    let mean = ch.iter().sum::<f32>() / plane as f32;
                    for v in ch.iter_mut() {
                        *v = ((*v - mean) * c + mean + b).clamp(0.0, 1.0);
                    }
                }
            }
        }
    }
    for v in out.iter_mut() {
        *v = (*v - cfg.mean) / cfg.std;
    }
    let erase_p = match view {
        View::Train | View::TrainUnflipped | View::TrainMirrored => cfg.erase_prob,
        View::Strong => 1.0,
        _ => 0.0,
    };
    if erase_p > 0.0 && rng.random_bool(erase_p as f64) {
        random_erase(out, channels, size, rng);
    }
}

/// Mirrors every channel left-right in place.
pub fn hflip(img: &mut [f32], channels: usize, size: usize) {
    for c in 0..channels {
        for y in 0..size {
            let row = &mut img[(c * size + y) * size..(c * size + y + 1) * size];
            row.reverse();
        }
    }
}

/// Translates by (dx, dy) pixels, filling uncovered pixels with 0 (zero-padded random crop).
pub(crate) fn shift(img: &mut [f32], channels: usize, size: usize, dx: i64, dy: i64) {
    if dx == 0 && dy == 0 {
        return;
    }
    let s = size as i64;
    let src = img.to_vec();
    for c in 0..channels {
        let base = c * size * size;
        for y in 0..s {
            for x in 0..s {
                let (sx, sy) = (x - dx, y - dy);
                img[base + (y * s + x) as usize] = if sx >= 0 && sx < s && sy >= 0 && sy < s {
                    src[base + (sy * s + sx) as usize]
                } else {
                    0.0
                };
            }
        }
    }
}

/// Random erasing (Zhong et al. 2020): a rectangle of 2-33% of the area with aspect ratio in
/// [0.3, 3.3] is set to 0 (the normalised mean).
fn random_erase(img: &mut [f32], channels: usize, size: usize, rng: &mut impl Rng) {
    let area = (size * size) as f32;
    for _ in 0..10 {
        let target = rng.random_range(0.02..0.33) * area;
        let log_ratio = rng.random_range((0.3f32).ln()..(3.3f32).ln());
        let ratio = log_ratio.exp();
        let h = (target * ratio).sqrt().round() as usize;
        let w = (target / ratio).sqrt().round() as usize;
        if h == 0 || w == 0 || h >= size || w >= size {
            continue;
        }
        let y0 = rng.random_range(0..=size - h);
        let x0 = rng.random_range(0..=size - w);
        for c in 0..channels {
            for y in y0..y0 + h {
                let row = (c * size + y) * size;
                img[row + x0..row + x0 + w].fill(0.0);
            }
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn cfg() -> AugmentConfig {
        AugmentConfig {
            mean: 0.0,
            std: 1.0,
            ..AugmentConfig::default()
        }
    }

    #[test]
    fn eac_separate_views_are_mirrors_with_their_own_draws() {
        let px: Vec<u8> = (0..64).map(|i| (i * 4) as u8).collect();
        let flip_only = AugmentConfig {
            hflip: true,
            crop_padding: 0,
            brightness: 0.0,
            contrast: 0.0,
            erase_prob: 0.0,
            ..cfg()
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for _ in 0..8 {
            let (mut a, mut b) = ([0.0f32; 64], [0.0f32; 64]);
            make_view(
                &px,
                1,
                8,
                View::TrainUnflipped,
                &flip_only,
                &mut rng,
                &mut a,
            );
            make_view(&px, 1, 8, View::TrainMirrored, &flip_only, &mut rng, &mut b);
            // Never flipped at random: x1 is the face as given, x2 always its mirror.
            let plain: Vec<f32> = px.iter().map(|&p| p as f32 / 255.0).collect();
            assert_eq!(a.to_vec(), plain);
            hflip(&mut b, 1, 8);
            assert_eq!(a, b);
        }
        // With erasing always on, each view erases its own patch.
        let erase = AugmentConfig {
            erase_prob: 1.0,
            ..flip_only
        };
        let (mut a, mut b) = ([0.0f32; 64], [0.0f32; 64]);
        let mut differ = false;
        for _ in 0..8 {
            make_view(&px, 1, 8, View::TrainUnflipped, &erase, &mut rng, &mut a);
            make_view(&px, 1, 8, View::TrainMirrored, &erase, &mut rng, &mut b);
            hflip(&mut b, 1, 8);
            differ |= a != b;
        }
        assert!(differ);
    }

    #[test]
    fn plain_view_only_normalises() {
        let px = [0u8, 51, 102, 255];
        let mut out = [0.0f32; 4];
        let c = AugmentConfig {
            mean: 0.5,
            std: 0.25,
            ..AugmentConfig::default()
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        make_view(&px, 1, 2, View::Plain, &c, &mut rng, &mut out);
        let want = [-2.0, -1.2, -0.4, 2.0];
        for (o, w) in out.iter().zip(want) {
            assert!((o - w).abs() < 1e-5, "{out:?}");
        }
    }

    #[test]
    fn flipped_view_mirrors_rows() {
        let px = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
        let mut out = [0.0f32; 9];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        make_view(&px, 1, 3, View::Flipped, &cfg(), &mut rng, &mut out);
        let got: Vec<u8> = out.iter().map(|v| (v * 255.0).round() as u8).collect();
        assert_eq!(got, vec![3, 2, 1, 6, 5, 4, 9, 8, 7]);
    }

    #[test]
    fn shift_moves_content_and_pads_with_zero() {
        let mut img: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        shift(&mut img, 1, 3, 1, 0);
        assert_eq!(img, vec![0.0, 1.0, 2.0, 0.0, 4.0, 5.0, 0.0, 7.0, 8.0]);
    }

    #[test]
    fn strong_view_erases_a_rectangle() {
        let px = vec![200u8; 32 * 32];
        let mut out = vec![0.0f32; 32 * 32];
        let c = AugmentConfig {
            brightness: 0.0,
            contrast: 0.0,
            crop_padding: 0,
            hflip: false,
            mean: 0.0,
            std: 1.0,
            erase_prob: 0.0,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        make_view(&px, 1, 32, View::Strong, &c, &mut rng, &mut out);
        let zeros = out.iter().filter(|&&v| v == 0.0).count();
        assert!((20..32 * 32 / 2).contains(&zeros), "{zeros} erased pixels");
    }
}
