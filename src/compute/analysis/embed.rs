//! 2-D embeddings of feature vectors for the embedding views: Barnes-Hut t-SNE (the
//! `bhtsne` crate) and classical MDS (only the top eigenvectors, by randomised subspace
//! iteration), and the feature statistics reported beside them.

use bhtsne::tSNE;
use rand::Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;

use crate::compute::Error;
use crate::compute::ops::gemm::{Mat, matmul};
use crate::contract::seed::{self, purpose};

/// Row-major `n × d` feature vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    pub data: Vec<f32>,
    pub n: usize,
    pub d: usize,
}

impl Features {
    pub fn new(data: Vec<f32>, n: usize, d: usize) -> Result<Self, Error> {
        if data.len() != n * d {
            return Err(Error::Analysis(format!(
                "{} values are not {n} vectors of {d}",
                data.len()
            )));
        }
        Ok(Self { data, n, d })
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.d..(i + 1) * self.d]
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TsneParams {
    pub perplexity: f32,
    pub iterations: usize,
    /// Barnes-Hut accuracy (0.5 as in scikit-learn).
    pub theta: f32,
    pub seed: u64,
}

impl Default for TsneParams {
    fn default() -> Self {
        Self {
            perplexity: 30.0,
            iterations: 1000,
            theta: 0.5,
            seed: 0,
        }
    }
}

/// Barnes-Hut t-SNE to 2-D: `n × 2` row-major. The start is seeded (a small Gaussian, as
/// scikit-learn's random init); bhtsne's parallel sums still make runs differ slightly.
pub fn tsne(x: &Features, p: TsneParams) -> Result<Vec<f32>, Error> {
    // t-SNE needs more than 3·perplexity neighbours per point.
    if (x.n as f32) <= 3.0 * p.perplexity + 1.0 {
        return Err(Error::Analysis(format!(
            "t-SNE with perplexity {} needs more than {} points, got {}",
            p.perplexity,
            (3.0 * p.perplexity + 1.0) as usize,
            x.n
        )));
    }
    let mut rng = seed::rng(p.seed, &[purpose::METHOD, 200]);
    let start: Vec<f32> = (0..x.n * 2)
        .map(|_| 1e-4 * rng.sample::<f32, _>(StandardNormal))
        .collect();
    let rows: Vec<&[f32]> = x.data.chunks(x.d).collect();
    let mut t: tSNE<f32, &[f32]> = tSNE::new(&rows);
    t.perplexity(p.perplexity)
        .epochs(p.iterations)
        .initial_embedding(start)
        .barnes_hut(p.theta, |a, b| euclidean(a, b));
    Ok(t.embedding())
}

fn euclidean(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}

/// Classical MDS of feature vectors to 2-D: the double-centred squared-distance matrix of
/// Euclidean features is the centred Gram matrix, so no distances are formed.
pub fn mds_features(x: &Features, seed: u64) -> Vec<f32> {
    let mut centred = x.data.clone();
    for j in 0..x.d {
        let mean = (0..x.n).map(|i| x.data[i * x.d + j]).sum::<f32>() / x.n as f32;
        for i in 0..x.n {
            centred[i * x.d + j] -= mean;
        }
    }
    let m = Mat::rows(&centred, x.n, x.d);
    let gram = product(m, m.t());
    top_coordinates(&gram, x.n, 2, seed)
}

/// Classical MDS (Torgerson) of a row-major `n × n` matrix of squared distances to `k`
/// dimensions: B = −½·J·D²·J, coordinates = top eigenvectors · √eigenvalue.
pub fn mds(squared_distances: &[f32], n: usize, k: usize, seed: u64) -> Vec<f32> {
    let d2 = squared_distances;
    let row_mean: Vec<f32> = (0..n)
        .map(|i| d2[i * n..(i + 1) * n].iter().sum::<f32>() / n as f32)
        .collect();
    let total = row_mean.iter().sum::<f32>() / n as f32;
    let mut b = vec![0.0f32; n * n];
    b.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
        for (j, v) in row.iter_mut().enumerate() {
            // Rows and columns have the same means: D² is symmetric.
            *v = -0.5 * (d2[i * n + j] - row_mean[i] - row_mean[j] + total);
        }
    });
    top_coordinates(&b, n, k, seed)
}

/// `lhs · rhs`, row blocks in parallel.
fn product(lhs: Mat, rhs: Mat) -> Vec<f32> {
    let (m, n) = (lhs.rows, rhs.cols);
    let mut out = vec![0.0f32; m * n];
    const BLOCK: usize = 128;
    out.par_chunks_mut(BLOCK * n)
        .enumerate()
        .for_each(|(b, dst)| {
            let rows = dst.len() / n;
            let sub = Mat {
                data: &lhs.data[b * BLOCK * lhs.rs..],
                rows,
                ..lhs
            };
            matmul(dst, n, sub, rhs, false);
        });
    out
}

/// The `k` leading eigenvectors of the symmetric `n × n` matrix `b`, each scaled by the
/// square root of its (non-negative) eigenvalue, as `n × k` row-major. Randomised subspace
/// iteration (Halko, Martinsson & Tropp 2011) with a few extra vectors, then Rayleigh-Ritz:
/// O(n² · (k + 8)) per iteration instead of a full O(n³) eigendecomposition.
fn top_coordinates(b: &[f32], n: usize, k: usize, seed: u64) -> Vec<f32> {
    let m = (k + 8).min(n);
    let mut rng = seed::rng(seed, &[purpose::METHOD, 201]);
    let mut q: Vec<f32> = (0..n * m)
        .map(|_| rng.sample::<f32, _>(StandardNormal))
        .collect();
    orthonormalise(&mut q, n, m, &mut rng);
    let bm = Mat::rows(b, n, n);
    for _ in 0..12 {
        q = product(bm, Mat::rows(&q, n, m));
        orthonormalise(&mut q, n, m, &mut rng);
    }
    // Rayleigh-Ritz: the small matrix Qᵀ·B·Q holds B's action on the subspace.
    let bq = product(bm, Mat::rows(&q, n, m));
    let small = product(Mat::rows(&q, n, m).t(), Mat::rows(&bq, n, m));
    let small: Vec<f64> = small.iter().map(|&v| v as f64).collect();
    let (values, vectors) = jacobi_eigen(&small, m);
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &c| values[c].total_cmp(&values[a]));
    let mut out = vec![0.0f32; n * k];
    for (c, &e) in order.iter().take(k).enumerate() {
        let scale = values[e].max(0.0).sqrt();
        for i in 0..n {
            let v: f64 = (0..m)
                .map(|j| q[i * m + j] as f64 * vectors[j * m + e])
                .sum();
            out[i * k + c] = (v * scale) as f32;
        }
    }
    out
}

/// Modified Gram-Schmidt on the `m` columns of the row-major `n × m` matrix `q`. A column
/// that the others already span (B of low rank maps the block into fewer dimensions) is
/// replaced by a fresh random one, so the block stays orthonormal.
fn orthonormalise(q: &mut [f32], n: usize, m: usize, rng: &mut impl Rng) {
    for c in 0..m {
        for _attempt in 0..4 {
            let before = column_norm(q, n, m, c);
            for p in 0..c {
                let dot: f64 = (0..n)
                    .map(|i| q[i * m + c] as f64 * q[i * m + p] as f64)
                    .sum();
                for i in 0..n {
                    q[i * m + c] -= (dot as f32) * q[i * m + p];
                }
            }
            let norm = column_norm(q, n, m, c);
            if norm > 1e-4 * before && norm > 1e-30 {
                for i in 0..n {
                    q[i * m + c] = (q[i * m + c] as f64 / norm) as f32;
                }
                break;
            }
            for i in 0..n {
                q[i * m + c] = rng.sample::<f32, _>(StandardNormal);
            }
        }
    }
}

fn column_norm(q: &[f32], n: usize, m: usize, c: usize) -> f64 {
    (0..n)
        .map(|i| (q[i * m + c] as f64).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// Eigenvalues and eigenvectors (columns of the row-major result) of a small symmetric
/// matrix by cyclic Jacobi rotations.
fn jacobi_eigen(a: &[f64], m: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = a.to_vec();
    let mut v = vec![0.0; m * m];
    for i in 0..m {
        v[i * m + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..m)
            .flat_map(|i| (0..m).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * m + j].powi(2))
            .sum();
        let scale: f64 = (0..m)
            .map(|i| a[i * m + i].powi(2))
            .sum::<f64>()
            .max(1e-300);
        if off <= 1e-24 * scale {
            break;
        }
        for p in 0..m {
            for r in p + 1..m {
                let apr = a[p * m + r];
                if apr.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[r * m + r] - a[p * m + p]) / (2.0 * apr);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for kk in 0..m {
                    let (akp, akr) = (a[kk * m + p], a[kk * m + r]);
                    a[kk * m + p] = c * akp - s * akr;
                    a[kk * m + r] = s * akp + c * akr;
                }
                for kk in 0..m {
                    let (apk, ark) = (a[p * m + kk], a[r * m + kk]);
                    a[p * m + kk] = c * apk - s * ark;
                    a[r * m + kk] = s * apk + c * ark;
                }
                for kk in 0..m {
                    let (vkp, vkr) = (v[kk * m + p], v[kk * m + r]);
                    v[kk * m + p] = c * vkp - s * vkr;
                    v[kk * m + r] = s * vkp + c * vkr;
                }
            }
        }
    }
    ((0..m).map(|i| a[i * m + i]).collect(), v)
}

/// Mean Euclidean distance of each class's features to its class centre (RMFER Table 14);
/// None for a class without samples.
pub fn centre_distances(x: &Features, labels: &[u8], classes: usize) -> Vec<Option<f32>> {
    (0..classes)
        .map(|c| {
            let members: Vec<usize> = (0..x.n).filter(|&i| labels[i] as usize == c).collect();
            if members.is_empty() {
                return None;
            }
            let mut centre = vec![0.0f32; x.d];
            for &i in &members {
                centre.iter_mut().zip(x.row(i)).for_each(|(s, v)| *s += v);
            }
            centre.iter_mut().for_each(|s| *s /= members.len() as f32);
            let total: f32 = members.iter().map(|&i| euclidean(x.row(i), &centre)).sum();
            Some(total / members.len() as f32)
        })
        .collect()
}

/// Mean cosine similarity of same-label pairs and of different-label pairs (RMFER Tables 6
/// and 13); their difference is the gap a discriminative feature space widens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CosineGap {
    pub same: f32,
    pub different: f32,
}

impl CosineGap {
    pub fn gap(&self) -> f32 {
        self.same - self.different
    }
}

pub fn cosine_gap(x: &Features, labels: &[u8]) -> CosineGap {
    let mut unit = x.data.clone();
    unit.chunks_mut(x.d).for_each(|r| {
        let norm = r.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        r.iter_mut().for_each(|v| *v /= norm);
    });
    let m = Mat::rows(&unit, x.n, x.d);
    let gram = product(m, m.t());
    let (mut same, mut ns, mut diff, mut nd) = (0.0f64, 0usize, 0.0f64, 0usize);
    for i in 0..x.n {
        for j in i + 1..x.n {
            let c = gram[i * x.n + j] as f64;
            if labels[i] == labels[j] {
                same += c;
                ns += 1;
            } else {
                diff += c;
                nd += 1;
            }
        }
    }
    CosineGap {
        same: (same / ns.max(1) as f64) as f32,
        different: (diff / nd.max(1) as f64) as f32,
    }
}

/// Well-separated Gaussian clusters: `n` points in `d` dimensions around `classes`
/// centres; labels by cluster. For tests and the embedding benchmark.
pub fn gaussian_clusters(
    n: usize,
    d: usize,
    classes: usize,
    spread: f32,
    seed: u64,
) -> (Features, Vec<u8>) {
    let mut rng = seed::rng(seed, &[purpose::METHOD, 202]);
    let centres: Vec<f32> = (0..classes * d)
        .map(|_| 10.0 * rng.sample::<f32, _>(StandardNormal))
        .collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % classes) as u8).collect();
    let data: Vec<f32> = labels
        .iter()
        .flat_map(|&l| {
            let c = l as usize;
            (0..d)
                .map(|j| centres[c * d + j] + spread * rng.sample::<f32, _>(StandardNormal))
                .collect::<Vec<_>>()
        })
        .collect();
    (Features { data, n, d }, labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fraction of points whose nearest other point (in 2-D) has their label.
    fn nearest_neighbour_agreement(y: &[f32], labels: &[u8]) -> f32 {
        let n = labels.len();
        let hits = (0..n)
            .filter(|&i| {
                let nearest = (0..n)
                    .filter(|&j| j != i)
                    .min_by(|&a, &b| {
                        let da =
                            (y[2 * i] - y[2 * a]).powi(2) + (y[2 * i + 1] - y[2 * a + 1]).powi(2);
                        let db =
                            (y[2 * i] - y[2 * b]).powi(2) + (y[2 * i + 1] - y[2 * b + 1]).powi(2);
                        da.total_cmp(&db)
                    })
                    .unwrap();
                labels[nearest] == labels[i]
            })
            .count();
        hits as f32 / n as f32
    }

    #[test]
    fn tsne_separates_well_separated_clusters() {
        let (x, labels) = gaussian_clusters(300, 20, 4, 1.0, 3);
        let p = TsneParams {
            perplexity: 15.0,
            iterations: 500,
            ..TsneParams::default()
        };
        let y = tsne(&x, p).unwrap();
        assert_eq!(y.len(), 600);
        assert!(y.iter().all(|v| v.is_finite()));
        assert!(nearest_neighbour_agreement(&y, &labels) > 0.99);
        // The start is seeded, but bhtsne's parallel gradient sums round differently from
        // run to run, so a second run is another (equally good) picture.
        let again = tsne(&x, p).unwrap();
        assert!(nearest_neighbour_agreement(&again, &labels) > 0.99);
        assert!(tsne(&gaussian_clusters(20, 4, 2, 1.0, 1).0, p).is_err());
    }

    #[test]
    fn classical_mds_reproduces_a_known_distance_matrix() {
        // Points in the plane: MDS of their distances gives them back up to rotation, so
        // every pairwise distance matches.
        let pts = [
            (0.0f32, 0.0f32),
            (3.0, 0.0),
            (0.0, 4.0),
            (5.0, 5.0),
            (-2.0, 1.0),
            (1.0, -3.0),
        ];
        let n = pts.len();
        let d2: Vec<f32> = (0..n * n)
            .map(|ij| {
                let (a, b) = (pts[ij / n], pts[ij % n]);
                (a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)
            })
            .collect();
        let y = mds(&d2, n, 2, 5);
        for i in 0..n {
            for j in 0..n {
                let got = (y[2 * i] - y[2 * j]).powi(2) + (y[2 * i + 1] - y[2 * j + 1]).powi(2);
                let want = d2[i * n + j];
                assert!(
                    (got - want).abs() < 2e-3 * (1.0 + want),
                    "({i}, {j}): {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn mds_of_features_matches_mds_of_their_distances() {
        let (x, labels) = gaussian_clusters(120, 16, 3, 1.0, 9);
        let d2: Vec<f32> = (0..x.n * x.n)
            .map(|ij| euclidean(x.row(ij / x.n), x.row(ij % x.n)).powi(2))
            .collect();
        let a = mds_features(&x, 1);
        let b = mds(&d2, x.n, 2, 2);
        // Equal up to the sign of each axis.
        for c in 0..2 {
            let sign = if a[c] * b[c] >= 0.0 { 1.0 } else { -1.0 };
            for i in 0..x.n {
                assert!(
                    (a[2 * i + c] - sign * b[2 * i + c]).abs() < 1e-2 * (1.0 + b[2 * i + c].abs())
                );
            }
        }
        assert!(nearest_neighbour_agreement(&a, &labels) > 0.99);
    }

    #[test]
    fn jacobi_finds_eigenpairs() {
        let a = [2.0, 1.0, 0.0, 1.0, 2.0, 0.0, 0.0, 0.0, 5.0];
        let (mut values, _) = jacobi_eigen(&a, 3);
        values.sort_by(f64::total_cmp);
        for (got, want) in values.iter().zip([1.0, 3.0, 5.0]) {
            assert!((got - want).abs() < 1e-9, "{values:?}");
        }
    }

    #[test]
    fn centre_distances_and_cosine_gap_by_hand() {
        // Class 0 at (1, 0) and (3, 0): centre (2, 0), distances 1; class 1 at (0, 2) alone.
        let x = Features::new(vec![1.0, 0.0, 3.0, 0.0, 0.0, 2.0], 3, 2).unwrap();
        let labels = [0u8, 0, 1];
        assert_eq!(
            centre_distances(&x, &labels, 3),
            [Some(1.0), Some(0.0), None]
        );
        // Same-label pair: cos = 1; different pairs: (1,0)·(0,1) = 0 twice.
        let g = cosine_gap(&x, &labels);
        assert!((g.same - 1.0).abs() < 1e-6 && g.different.abs() < 1e-6);
        assert!((g.gap() - 1.0).abs() < 1e-6);
    }
}
