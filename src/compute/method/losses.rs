//! Loss functions shared by the methods.

use candle_core::{D, Result, Tensor};
use candle_nn::ops::log_softmax;

/// Mean cross-entropy with label smoothing ε: `(1-ε)·NLL + ε·mean_k(-log p_k)`.
/// `labels` is a u32 vector of class indices.
pub fn cross_entropy(logits: &Tensor, labels: &Tensor, smoothing: f32) -> Result<Tensor> {
    let logp = log_softmax(logits, D::Minus1)?;
    let nll = logp.gather(&labels.unsqueeze(1)?, 1)?.squeeze(1)?.neg()?;
    if smoothing <= 0.0 {
        return nll.mean_all();
    }
    let uniform = logp.mean(D::Minus1)?.neg()?;
    let eps = smoothing as f64;
    ((nll * (1.0 - eps))? + (uniform * eps)?)?.mean_all()
}

/// Per-sample negative log-likelihood −log p_y (a vector).
pub fn nll(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    let logp = log_softmax(logits, D::Minus1)?;
    logp.gather(&labels.unsqueeze(1)?, 1)?.squeeze(1)?.neg()
}

/// Per-sample cross-entropy against soft targets (rows summing to 1): `-Σ_k t_k log p_k`.
pub fn soft_cross_entropy(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let logp = log_softmax(logits, D::Minus1)?;
    (targets * logp)?.sum(D::Minus1)?.neg()
}

/// Per-sample KL(target ‖ softmax(logits)) = Σ_k t_k (log t_k − log p_k); the target is
/// a constant (no gradient flows into it).
pub fn kl_to_target(logits: &Tensor, target: &Tensor) -> Result<Tensor> {
    let target = target.detach();
    // t·log t with 0·log 0 = 0.
    let t_log_t = (&target * target.clamp(1e-12f32, 1f32)?.log()?)?.sum(D::Minus1)?;
    t_log_t + soft_cross_entropy(logits, &target)?
}

/// The exponential "sigmoid" ramp-up of Laine & Aila: exp(−5 (1 − t/L)²), 1 once t ≥ L.
pub fn sigmoid_rampup(current: f64, length: f64) -> f64 {
    if length <= 0.0 {
        return 1.0;
    }
    let phase = 1.0 - (current / length).clamp(0.0, 1.0);
    (-5.0 * phase * phase).exp()
}

/// Sum of `values` (a vector) over the rows where `mask` is 1, divided by `n`.
pub fn masked_sum(values: &Tensor, mask: &[f32], n: usize) -> Result<Tensor> {
    let m = Tensor::from_slice(mask, mask.len(), values.device())?;
    (values * m)?.sum_all()? / n.max(1) as f64
}

/// Index of the largest logit of each row.
pub fn argmax(logits: &Tensor) -> Result<Vec<u32>> {
    logits.argmax(D::Minus1)?.to_vec1::<u32>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn lse(row: &[f64]) -> f64 {
        row.iter().map(|v| v.exp()).sum::<f64>().ln()
    }

    #[test]
    fn cross_entropy_matches_hand_computation() {
        let rows = [[2.0f64, 0.5, -1.0], [0.1, 0.2, 0.3]];
        let labels = [0u32, 2];
        let logits = Tensor::new(&[[2.0f32, 0.5, -1.0], [0.1, 0.2, 0.3]], &Device::Cpu).unwrap();
        let y = Tensor::new(&labels, &Device::Cpu).unwrap();
        let want: f64 = rows
            .iter()
            .zip(labels)
            .map(|(r, l)| lse(r) - r[l as usize])
            .sum::<f64>()
            / 2.0;
        let got = cross_entropy(&logits, &y, 0.0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap() as f64;
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        // Smoothing 0.1: 0.9·NLL + 0.1·mean_k(-log p_k).
        let smooth: f64 = rows
            .iter()
            .zip(labels)
            .map(|(r, l)| {
                let z = lse(r);
                0.9 * (z - r[l as usize]) + 0.1 * r.iter().map(|v| z - v).sum::<f64>() / 3.0
            })
            .sum::<f64>()
            / 2.0;
        let got = cross_entropy(&logits, &y, 0.1)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap() as f64;
        assert!((got - smooth).abs() < 1e-5, "{got} vs {smooth}");
    }

    #[test]
    fn kl_to_target_matches_hand_computation() {
        let logits = Tensor::new(&[[0.0f32, (2.0f32).ln()]], &Device::Cpu).unwrap();
        // p = (1/3, 2/3); t = (1/2, 1/2): KL = ½ln(3/2) + ½ln(3/4).
        let t = Tensor::new(&[[0.5f32, 0.5]], &Device::Cpu).unwrap();
        let got = kl_to_target(&logits, &t).unwrap().to_vec1::<f32>().unwrap()[0];
        let want = 0.5 * (1.5f32).ln() + 0.5 * (0.75f32).ln();
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        // A one-hot target: KL = −log p_k, and zero entries contribute nothing.
        let t = Tensor::new(&[[0.0f32, 1.0]], &Device::Cpu).unwrap();
        let got = kl_to_target(&logits, &t).unwrap().to_vec1::<f32>().unwrap()[0];
        assert!((got + (2.0f32 / 3.0).ln()).abs() < 1e-6);
    }

    #[test]
    fn sigmoid_rampup_goes_from_exp_minus_5_to_one() {
        assert!((sigmoid_rampup(0.0, 10.0) - (-5.0f64).exp()).abs() < 1e-12);
        assert!((sigmoid_rampup(5.0, 10.0) - (-1.25f64).exp()).abs() < 1e-12);
        assert_eq!(sigmoid_rampup(12.0, 10.0), 1.0);
        assert_eq!(sigmoid_rampup(3.0, 0.0), 1.0);
    }

    #[test]
    fn soft_targets_reduce_to_hard_ones() {
        let logits = Tensor::new(&[[1.0f32, 2.0, 3.0]], &Device::Cpu).unwrap();
        let t = Tensor::new(&[[0.0f32, 1.0, 0.0]], &Device::Cpu).unwrap();
        let y = Tensor::new(&[1u32], &Device::Cpu).unwrap();
        let a = soft_cross_entropy(&logits, &t)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()[0];
        let b = cross_entropy(&logits, &y, 0.0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!((a - b).abs() < 1e-6);
    }
}
