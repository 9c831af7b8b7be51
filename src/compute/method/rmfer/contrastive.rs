//! RMFER's building blocks (Cho et al.): inter-sample attention with a self-masking
//! softmax, and the attention-based contrastive loss with its candidate filter.

use candle_core::{D, Result, Tensor};

/// What the self mask puts on the diagonal before the softmax (the official code's −1e7).
const SELF_MASK: f64 = -1e7;

/// Row-normalised projections: each row scaled to unit length.
pub fn unit_rows(z: &Tensor) -> Result<Tensor> {
    let norm = z
        .sqr()?
        .sum_keepdim(D::Minus1)?
        .sqrt()?
        .clamp(1e-12, f64::MAX)?;
    z.broadcast_div(&norm)
}

/// Cosine similarities of the rows of `z` (N × P) divided by `tau`: N × N.
pub fn scaled_cosine(z: &Tensor, tau: f64) -> Result<Tensor> {
    let u = unit_rows(z)?;
    u.matmul(&u.t()?)? / tau
}

/// Self-masking softmax: S with its diagonal set to −1e7, softmax over each row, so a
/// sample attends to the others and never to itself. N × N, rows sum to 1.
///
/// The softmax is built from differentiable primitives: IAL trains the projection head
/// and the backbone through it. (candle-nn's `softmax_last_dim` has no backward pass, so
/// with it the projection head never left its initialisation.)
pub fn self_masking_attention(z: &Tensor, tau: f64) -> Result<Tensor> {
    let s = scaled_cosine(z, tau)?;
    let n = s.dim(0)?;
    let eye = Tensor::eye(n, s.dtype(), s.device())?;
    // S·(1 − I) + (−1e7)·I.
    let masked = ((s * (1.0 - &eye)?)? + (eye * SELF_MASK)?)?;
    row_softmax(&masked)
}

/// Softmax over the last dimension with a backward pass. The row maximum is subtracted
/// detached: the softmax does not depend on the shift, so no gradient is lost.
pub fn row_softmax(x: &Tensor) -> Result<Tensor> {
    let m = x.max_keepdim(D::Minus1)?.detach();
    let e = x.broadcast_sub(&m)?.exp()?;
    e.broadcast_div(&e.sum_keepdim(D::Minus1)?)
}

/// Attention features: each sample's feature replaced by the attention-weighted mix of the
/// other samples' features, A · F (N × F).
pub fn attention_features(attention: &Tensor, features: &Tensor) -> Result<Tensor> {
    attention.matmul(features)
}

/// `torch.quantile`'s default (linear interpolation between the order statistics at
/// position q·(n − 1)); `None` for no values.
pub fn quantile(values: &[f32], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v: Vec<f64> = values.iter().map(|&x| x as f64).collect();
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f64))
}

/// Indices of the candidates to keep (computed without gradients), as the official code
/// selects them: positives whose similarity to the anchor is strictly above the (1 − γ)
/// quantile of the candidate positives' similarities, negatives strictly below the γ
/// quantile of the negatives'. Positives come most similar first, negatives least similar
/// first.
///
/// One departure, on purpose: where the strict comparison keeps nothing (a single
/// candidate, or all similarities equal) the most similar positive and the least similar
/// negative are kept, so an anchor with candidates always has a loss term. The official
/// code would divide by an empty sum there.
pub fn filter_candidates(
    positive_similarity: &[f32],
    negative_similarity: &[f32],
    gamma: f32,
) -> (Vec<usize>, Vec<usize>) {
    let ranked = |sims: &[f32], descending: bool| -> Vec<usize> {
        let mut idx: Vec<usize> = (0..sims.len()).collect();
        idx.sort_by(|&a, &b| {
            let o = sims[a].total_cmp(&sims[b]);
            if descending { o.reverse() } else { o }
        });
        idx
    };
    // γ as written (0.1, not the f32's 0.10000000149), so that q·(n − 1) lands where
    // `torch.quantile(S, 1 - 0.1)` puts it: at n = 11 exactly on an order statistic.
    let gamma: f64 = gamma.to_string().parse().unwrap_or(gamma as f64);
    let keep = |sims: &[f32], descending: bool| -> Vec<usize> {
        let order = ranked(sims, descending);
        let q = if descending { 1.0 - gamma } else { gamma };
        let Some(threshold) = quantile(sims, q) else {
            return order;
        };
        let passes = |s: f32| {
            if descending {
                s as f64 > threshold
            } else {
                (s as f64) < threshold
            }
        };
        let kept = order.iter().take_while(|&&i| passes(sims[i])).count();
        order[..kept.max(1)].to_vec()
    };
    (
        keep(positive_similarity, true),
        keep(negative_similarity, false),
    )
}

/// The attention-based contrastive loss, averaged over anchors: for each anchor,
/// −log( Σ_pos exp(s_ap) / Σ_{pos ∪ neg} exp(s_aj) ), s = cosine / τ.
/// `anchors` A × P, `positives` A × Kp × P, `negatives` A × Kn × P (projections).
pub fn contrastive_loss(
    anchors: &Tensor,
    positives: &Tensor,
    negatives: &Tensor,
    tau: f64,
) -> Result<Tensor> {
    let a = unit_rows(anchors)?.unsqueeze(1)?; // A × 1 × P
    let sim = |c: &Tensor| -> Result<Tensor> {
        let c = unit_rows(c)?;
        a.broadcast_mul(&c)?.sum(D::Minus1)? / tau // A × K
    };
    let sp = sim(positives)?;
    let sn = sim(negatives)?;
    let all = Tensor::cat(&[&sp, &sn], 1)?;
    // log Σ exp, stabilised by each row's maximum.
    let lse = |s: &Tensor| -> Result<Tensor> {
        let m = s.max_keepdim(1)?;
        s.broadcast_sub(&m)?.exp()?.sum_keepdim(1)?.log()? + m
    };
    (lse(&all)? - lse(&sp)?)?.mean_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn self_masking_softmax_puts_zero_weight_on_self() {
        let dev = Device::Cpu;
        let z = Tensor::new(&[[1.0f32, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.2]], &dev).unwrap();
        let attention = self_masking_attention(&z, 0.25).unwrap();
        let a = attention.to_vec2::<f32>().unwrap();
        for (i, row) in a.iter().enumerate() {
            assert_eq!(row[i], 0.0, "row {i}: {row:?}");
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        // Sample 0 attends most to its near-duplicate 1.
        assert!(a[0][1] > 0.9, "{:?}", a[0]);
        // By hand for row 2: cos(2, j) = 0, 0.1/‖(0.9, 0.1)‖, ·, 0.2/‖(-1, 0.2)‖.
        let c1 = 0.1 / (0.82f32).sqrt();
        let c3 = 0.2 / (1.04f32).sqrt();
        let e = [0.0f32.exp(), (c1 / 0.25).exp(), (c3 / 0.25).exp()];
        let total: f32 = e.iter().sum();
        for (j, want) in [(0, e[0] / total), (1, e[1] / total), (3, e[2] / total)] {
            assert!(
                (a[2][j] - want).abs() < 1e-5,
                "a[2][{j}] = {} vs {want}",
                a[2][j]
            );
        }
        // Attention features mix the others' features.
        let f = Tensor::new(&[[1.0f32], [2.0], [3.0], [4.0]], &dev).unwrap();
        let fa = attention_features(&attention, &f).unwrap();
        let want: f32 = (0..4).map(|j| a[2][j] * (j + 1) as f32).sum();
        assert!((fa.to_vec2::<f32>().unwrap()[2][0] - want).abs() < 1e-5);
    }

    #[test]
    fn contrastive_loss_on_a_hand_built_batch() {
        let dev = Device::Cpu;
        // One anchor along x; positives at 0° and 90°; one negative at 180°.
        let anchor = Tensor::new(&[[2.0f32, 0.0]], &dev).unwrap();
        let pos = Tensor::new(&[[[1.0f32, 0.0], [0.0, 3.0]]], &dev).unwrap();
        let neg = Tensor::new(&[[[-1.0f32, 0.0]]], &dev).unwrap();
        let tau = 0.5;
        let loss = contrastive_loss(&anchor, &pos, &neg, tau)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        // s = (2, 0) for the positives, −2 for the negative.
        let (p1, p2, n1) = (2.0f32.exp(), 0.0f32.exp(), (-2.0f32).exp());
        let want = -((p1 + p2) / (p1 + p2 + n1)).ln();
        assert!((loss - want).abs() < 1e-6, "{loss} vs {want}");
        // Swapping the roles (the negative as a positive) costs more.
        let swapped = contrastive_loss(&anchor, &neg.clone(), &pos.narrow(1, 0, 1).unwrap(), tau)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(swapped > loss);
        // Two anchors average.
        let two = contrastive_loss(
            &Tensor::cat(&[&anchor, &anchor], 0).unwrap(),
            &Tensor::cat(&[&pos, &pos], 0).unwrap(),
            &Tensor::cat(&[&neg, &neg], 0).unwrap(),
            tau,
        )
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
        assert!((two - want).abs() < 1e-6);
    }

    #[test]
    fn filter_keeps_the_most_similar_positives_and_least_similar_negatives() {
        let pos: Vec<f32> = (0..50).map(|i| i as f32 / 50.0).collect();
        let neg: Vec<f32> = (0..50).map(|i| 1.0 - i as f32 / 50.0).collect();
        let (p, n) = filter_candidates(&pos, &neg, 0.1);
        assert_eq!(p, [49, 48, 47, 46, 45]);
        assert_eq!(n, [49, 48, 47, 46, 45]);
        // At least one of each, even for few candidates.
        let (p, n) = filter_candidates(&[0.3, 0.9], &[0.5], 0.1);
        assert_eq!((p, n), (vec![1], vec![0]));
        // All equal: nothing is strictly above the quantile; the guard keeps one.
        let (p, n) = filter_candidates(&[0.5; 4], &[0.5; 4], 0.1);
        assert_eq!((p.len(), n.len()), (1, 1));
    }

    #[test]
    fn filter_follows_the_official_quantile_rule_at_small_pools() {
        // torch.quantile(arange(12), 0.9) = 9.9: 10 and 11 are strictly above it, where
        // keeping round(γ·n) = 1 would keep only 11. The same at 13 and 14 candidates.
        for (n, want) in [
            (12usize, 2usize),
            (13, 2),
            (14, 2),
            (15, 2),
            (11, 1),
            (20, 2),
        ] {
            let sims: Vec<f32> = (0..n).map(|i| i as f32).collect();
            let (p, neg) = filter_candidates(&sims, &sims, 0.1);
            assert_eq!(p.len(), want, "{n} candidates");
            assert_eq!(neg.len(), want, "{n} candidates");
            assert_eq!(p[0], n - 1);
            assert_eq!(neg[0], 0);
        }
        let q = quantile(&[0.0, 1.0, 2.0, 3.0], 0.9).unwrap();
        assert!((q - 2.7).abs() < 1e-12, "{q}");
    }

    #[test]
    fn attention_passes_gradient_to_the_projections() {
        // d/dz of Σ_ij A_ij·c_ij by central differences against backprop.
        let dev = Device::Cpu;
        let z0 = [
            [0.3f64, -0.2, 0.5],
            [0.1, 0.4, -0.3],
            [-0.6, 0.2, 0.1],
            [0.2, 0.2, 0.7],
        ];
        let c = Tensor::new(
            &[
                [0.0f64, 1.0, -2.0, 0.5],
                [0.3, 0.0, 1.5, -1.0],
                [2.0, -0.7, 0.0, 0.4],
                [-0.2, 0.9, 1.1, 0.0],
            ],
            &dev,
        )
        .unwrap();
        let f = |z: &Tensor| -> Tensor {
            (self_masking_attention(z, 0.25).unwrap() * &c)
                .unwrap()
                .sum_all()
                .unwrap()
        };
        let z = candle_core::Var::new(&z0, &dev).unwrap();
        let grads = f(z.as_tensor()).backward().unwrap();
        let g = grads.get(z.as_tensor()).expect("a gradient reaches z");
        let g = g.to_vec2::<f64>().unwrap();
        let h = 1e-6;
        let mut nonzero = 0;
        for i in 0..4 {
            for j in 0..3 {
                let at = |d: f64| {
                    let mut zz = z0;
                    zz[i][j] += d;
                    f(&Tensor::new(&zz, &dev).unwrap())
                        .to_scalar::<f64>()
                        .unwrap()
                };
                let fd = (at(h) - at(-h)) / (2.0 * h);
                assert!(
                    (g[i][j] - fd).abs() < 1e-6,
                    "({i}, {j}): {} vs {fd}",
                    g[i][j]
                );
                nonzero += (fd.abs() > 1e-3) as usize;
            }
        }
        assert!(nonzero > 6);
    }
}
