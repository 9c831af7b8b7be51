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

/// Per-sample cross-entropy against soft targets (rows summing to 1): `-Σ_k t_k log p_k`.
pub fn soft_cross_entropy(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let logp = log_softmax(logits, D::Minus1)?;
    (targets * logp)?.sum(D::Minus1)?.neg()
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
