//! Post-hoc logit adjustment (Menon et al., "Long-tail learning via logit adjustment",
//! ICLR 2021): each face is classified by argmax_k log p_k − τ·log π_k, with π the training
//! split's class frequencies, and its probabilities renormalised from those scores. τ = 1 is
//! the Bayes rule for the balanced error (one minus the mean per-class accuracy) when p is
//! calibrated; τ = 0 is the plain argmax. It is applied at evaluation only: training, and
//! the weights it leaves, are the same with any τ, so one run can be read both ways.

use candle_core::{D, Result, Tensor};

/// The offsets τ·log π_k to subtract from log-probabilities, or None for τ = 0. A class
/// without training samples counts as one (its offset stays finite).
pub fn offsets(train_counts: &[usize], tau: f32) -> Option<Vec<f32>> {
    if tau == 0.0 || train_counts.is_empty() {
        return None;
    }
    let total: usize = train_counts.iter().map(|&n| n.max(1)).sum();
    Some(
        train_counts
            .iter()
            .map(|&n| tau * (n.max(1) as f32 / total as f32).ln())
            .collect(),
    )
}

/// Log-probabilities (N × K) adjusted by `offsets` and renormalised.
pub fn adjust(log_p: &Tensor, offsets: &[f32]) -> Result<Tensor> {
    let o = Tensor::from_slice(offsets, (1, offsets.len()), log_p.device())?;
    candle_nn::ops::log_softmax(&log_p.broadcast_sub(&o)?, D::Minus1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn a_rare_class_wins_where_its_prior_outweighs_the_evidence() {
        // Priors 0.9 / 0.1; a face at p = (0.6, 0.4): 0.6 / 0.9 < 0.4 / 0.1, so with τ = 1
        // class 1 wins, renormalised to (0.6/0.9, 0.4/0.1) / sum.
        let o = offsets(&[90, 10], 1.0).unwrap();
        let log_p = Tensor::new(&[[0.6f32.ln(), 0.4f32.ln()]], &Device::Cpu).unwrap();
        let p = adjust(&log_p, &o)
            .unwrap()
            .exp()
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let (a, b) = (0.6 / 0.9, 0.4 / 0.1);
        assert!((p[0][0] - a / (a + b)).abs() < 1e-6, "{p:?}");
        assert!((p[0][1] - b / (a + b)).abs() < 1e-6, "{p:?}");
        // τ = 0 leaves evaluation alone; an empty class stays finite.
        assert!(offsets(&[90, 10], 0.0).is_none());
        assert!(offsets(&[5, 0], 1.0).unwrap().iter().all(|v| v.is_finite()));
    }
}
