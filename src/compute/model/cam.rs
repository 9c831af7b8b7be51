//! Class activation maps and their flip consistency (EAC, LNSU, the attention panel).
//!
//! With the last feature map F (N × F × h × w) and the head's weights W (K × F), the map
//! of class k is `M_k = Σ_f W_kf · F_f`; because the head follows global average pooling,
//! the mean of `M_k` plus the bias is exactly the logit of class k.

use candle_core::{D, Result, Tensor};

/// Maps of every class, N × K × h × w. Pass `weight.detach()` to keep the head out of a
/// loss's gradient, as the official EAC / LNSU code does.
pub fn class_maps(fmap: &Tensor, weight: &Tensor) -> Result<Tensor> {
    let (n, f, h, w) = fmap.dims4()?;
    let k = weight.dims2()?.0;
    let flat = fmap.reshape((n, f, h * w))?.contiguous()?;
    let weight = weight.unsqueeze(0)?.broadcast_as((n, k, f))?.contiguous()?;
    weight.matmul(&flat)?.reshape((n, k, h, w))
}

/// Mirrors a tensor left-right (reverses its last axis). The official code samples with a
/// negated x grid (bilinear, border padding, align_corners): on the map's own pixel grid
/// that is exactly this reversal.
pub fn flip_horizontal(t: &Tensor) -> Result<Tensor> {
    let w = t.dim(D::Minus1)?;
    let idx: Vec<u32> = (0..w as u32).rev().collect();
    let idx = Tensor::from_vec(idx, w, t.device())?;
    t.contiguous()?.index_select(&idx, t.rank() - 1)
}

/// Flip consistency per sample and class, N × K: the mean over the map of
/// `(M(x) − flip(M(flip x)))²`. Zero when the maps follow the flip exactly.
pub fn flip_mse(maps: &Tensor, maps_of_flipped: &Tensor) -> Result<Tensor> {
    let back = flip_horizontal(maps_of_flipped)?;
    (maps - back)?.sqr()?.mean(D::Minus1)?.mean(D::Minus1)
}

/// Bilinear upsampling of one `h × w` map to `out_h × out_w` (align-corners: the map's corner
/// cells land on the image's corner pixels), for display.
pub fn upsample_bilinear(map: &[f32], h: usize, w: usize, out_h: usize, out_w: usize) -> Vec<f32> {
    let coord = |i: usize, n_out: usize, n_in: usize| -> (usize, usize, f32) {
        if n_in == 1 || n_out == 1 {
            return (0, 0, 0.0);
        }
        let x = i as f32 * (n_in - 1) as f32 / (n_out - 1) as f32;
        let x0 = (x.floor() as usize).min(n_in - 1);
        let x1 = (x0 + 1).min(n_in - 1);
        (x0, x1, x - x0 as f32)
    };
    let mut out = Vec::with_capacity(out_h * out_w);
    for oy in 0..out_h {
        let (y0, y1, fy) = coord(oy, out_h, h);
        for ox in 0..out_w {
            let (x0, x1, fx) = coord(ox, out_w, w);
            let top = map[y0 * w + x0] * (1.0 - fx) + map[y0 * w + x1] * fx;
            let bottom = map[y1 * w + x0] * (1.0 - fx) + map[y1 * w + x1] * fx;
            out.push(top * (1.0 - fy) + bottom * fy);
        }
    }
    out
}

/// Rescales values to [0, 1] (display only; a constant map becomes all zeros).
pub fn normalize_unit(values: &mut [f32]) {
    let (lo, hi) = values
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let span = hi - lo;
    for v in values.iter_mut() {
        *v = if span > 0.0 { (*v - lo) / span } else { 0.0 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn flip_reverses_the_last_axis() {
        let t = Tensor::arange(0f32, 6.0, &Device::Cpu)
            .unwrap()
            .reshape((1, 2, 3))
            .unwrap();
        let f = flip_horizontal(&t).unwrap().to_vec3::<f32>().unwrap();
        assert_eq!(f, vec![vec![vec![2.0, 1.0, 0.0], vec![5.0, 4.0, 3.0]]]);
    }

    #[test]
    fn flip_mse_is_hand_computed() {
        // One sample, one class, a 1 × 2 map: M = [1, 3], M' = [2, 2] → flip(M') = [2, 2].
        let m = Tensor::new(&[[[[1f32, 3.0]]]], &Device::Cpu).unwrap();
        let mf = Tensor::new(&[[[[2f32, 2.0]]]], &Device::Cpu).unwrap();
        let l = flip_mse(&m, &mf).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(l, vec![vec![1.0]]);
        // A map equal to the flip of the flipped image's map is consistent.
        let mf = Tensor::new(&[[[[3f32, 1.0]]]], &Device::Cpu).unwrap();
        assert_eq!(
            flip_mse(&m, &mf).unwrap().to_vec2::<f32>().unwrap(),
            vec![vec![0.0]]
        );
    }

    use crate::compute::model::{FerModel, Mode};
    use crate::contract::config::ModelConfig;

    fn tiny_model() -> FerModel {
        let cfg = ModelConfig {
            width: 4,
            ..ModelConfig::default()
        };
        FerModel::new(&cfg, 1, 3, &Device::Cpu, 11).unwrap()
    }

    fn random_input(seed: u64) -> Tensor {
        use rand::Rng;
        let mut rng = crate::contract::seed::rng(seed, &[]);
        let v: Vec<f32> = (0..2 * 16 * 16)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        Tensor::from_vec(v, (2, 1, 16, 16), &Device::Cpu).unwrap()
    }

    #[test]
    fn cam_is_the_weighted_sum_of_feature_maps() {
        let model = tiny_model();
        let out = model.forward(&random_input(1), Mode::Eval).unwrap();
        let maps = model.class_maps(&out.fmap).unwrap();
        let (n, f, h, w) = out.fmap.dims4().unwrap();
        let fmap: Vec<f32> = out.fmap.flatten_all().unwrap().to_vec1().unwrap();
        let got: Vec<f32> = maps.flatten_all().unwrap().to_vec1().unwrap();
        let weight = model.fc.weight.as_tensor().to_vec2::<f32>().unwrap();
        let k = weight.len();
        for i in 0..n {
            for (c, wc) in weight.iter().enumerate() {
                for cell in 0..h * w {
                    let expect: f32 = (0..f)
                        .map(|j| wc[j] * fmap[(i * f + j) * h * w + cell])
                        .sum();
                    let v = got[(i * k + c) * h * w + cell];
                    assert!((v - expect).abs() < 1e-4, "{v} vs {expect}");
                }
            }
        }
        // Global average pooling before the head: mean of M_k + bias_k = logit_k.
        let bias = model.fc.bias.as_tensor();
        let from_maps = maps.mean((2, 3)).unwrap().broadcast_add(bias).unwrap();
        let diff = (from_maps - &out.logits)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap();
        assert!(diff.to_scalar::<f32>().unwrap() < 1e-4);
    }

    /// Makes every 2-D kernel of the model mirror-symmetric left-right.
    fn symmetrize(model: &FerModel) {
        for (_, var) in model.parameters() {
            if var.rank() == 4 {
                let t = var.as_tensor();
                let sym = ((t + flip_horizontal(t).unwrap()).unwrap() * 0.5).unwrap();
                var.set(&sym).unwrap();
            }
        }
    }

    fn consistency(model: &FerModel, x: &Tensor) -> f32 {
        let a = model.forward(x, Mode::Eval).unwrap();
        let b = model
            .forward(&flip_horizontal(x).unwrap(), Mode::Eval)
            .unwrap();
        let l = flip_mse(
            &model.class_maps(&a.fmap).unwrap(),
            &model.class_maps(&b.fmap).unwrap(),
        )
        .unwrap();
        l.max_all().unwrap().to_scalar::<f32>().unwrap()
    }

    #[test]
    fn flip_consistency_is_zero_only_when_the_maps_follow_the_flip() {
        let model = tiny_model();
        let x = random_input(2);
        let symmetric_x = ((&x + flip_horizontal(&x).unwrap()).unwrap() * 0.5).unwrap();
        // An asymmetric input through a generic network: the maps do not follow the flip.
        assert!(
            consistency(&model, &x) > 1e-6,
            "{}",
            consistency(&model, &x)
        );
        symmetrize(&model);
        assert!(consistency(&model, &symmetric_x) < 1e-10);
        // A mirror-symmetric network is flip-equivariant on any input.
        assert!(
            consistency(&model, &x) < 1e-8,
            "{}",
            consistency(&model, &x)
        );
    }

    #[test]
    fn upsampling_keeps_corners_and_interpolates() {
        let up = upsample_bilinear(&[0.0, 1.0, 2.0, 3.0], 2, 2, 3, 3);
        assert_eq!(up, vec![0.0, 0.5, 1.0, 1.0, 1.5, 2.0, 2.0, 2.5, 3.0]);
    }
}
