//! Embeddings of validation features during a run: t-SNE and classical MDS of a fixed,
//! class-stratified set of validation faces, with the feature-space measurements RMFER's
//! analysis reports. Computed on a worker thread so training does not wait for them.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::Instant;

use super::attention::gallery_indices;
use super::embed::{Features, TsneParams, centre_distances, cosine_gap, mds_features, tsne};
use crate::compute::Error;
use crate::compute::data::Split;
use crate::contract::codec::base64_encode;
use crate::contract::event::FilterReport;
use crate::contract::event::embedding::{EmbeddingFaces, EmbeddingSnapshot};

impl EmbeddingFaces {
    pub fn of(split: &Split, indices: &[usize]) -> Self {
        let side = split.size * split.size;
        let mut pixels = Vec::with_capacity(indices.len() * side);
        for &i in indices {
            pixels.extend_from_slice(&split.image(i)[..side]);
        }
        Self {
            image_size: split.size,
            indices: indices.to_vec(),
            pixels: base64_encode(&pixels),
            ids: indices.iter().map(|&i| split.ids[i].clone()).collect(),
        }
    }
}

/// A fixed, class-stratified draw of at most `points` validation faces (0 = all), sorted:
/// the attention gallery's round-robin over classes, so rare classes are kept.
pub fn embedding_indices(labels: &[u8], classes: usize, points: usize, seed: u64) -> Vec<usize> {
    if points == 0 || points >= labels.len() {
        return (0..labels.len()).collect();
    }
    let mut chosen = gallery_indices(labels, classes, points, seed);
    chosen.sort_unstable();
    chosen
}

/// What the worker embeds.
pub struct EmbeddingJob {
    pub epoch: usize,
    pub indices: Vec<usize>,
    pub labels: Vec<u32>,
    pub predictions: Vec<u32>,
    /// Features of the points, `n × d`.
    pub features: Vec<f32>,
    pub dim: usize,
    pub classes: usize,
    pub seed: u64,
    pub filter: Option<FilterReport>,
}

/// Embeds one job's features (the worker's body; callable directly).
pub fn compute(job: EmbeddingJob) -> Result<EmbeddingSnapshot, Error> {
    let n = job.indices.len();
    let x = Features::new(job.features, n, job.dim)?;
    let labels: Vec<u8> = job.labels.iter().map(|&l| l as u8).collect();
    let t0 = Instant::now();
    let mut mds = mds_features(&x, job.seed);
    let mds_secs = t0.elapsed().as_secs_f32();
    let rms = (mds.iter().map(|v| v * v).sum::<f32>() / n.max(1) as f32).sqrt();
    if rms > 0.0 {
        mds.iter_mut().for_each(|v| *v /= rms);
    }
    let plane = Features::new(mds.clone(), n, 2)?;
    // Perplexity 30 as scikit-learn's default, lowered for small sets so t-SNE can run.
    let perplexity = 30f32.min((n as f32 - 2.0) / 3.0);
    let t1 = Instant::now();
    let (tsne_xy, note) = if perplexity >= 2.0 {
        let params = TsneParams {
            perplexity,
            seed: job.seed,
            ..TsneParams::default()
        };
        (tsne(&x, params)?, None)
    } else {
        (
            Vec::new(),
            Some(format!("t-SNE needs at least 8 points, got {n}")),
        )
    };
    let tsne_secs = t1.elapsed().as_secs_f32();
    let gap = cosine_gap(&x, &labels);
    Ok(EmbeddingSnapshot {
        epoch: job.epoch,
        indices: job.indices,
        labels: job.labels,
        predictions: job.predictions,
        tsne: tsne_xy,
        mds,
        tsne_secs,
        mds_secs,
        centre_distance: centre_distances(&plane, &labels, job.classes),
        cosine_same: gap.same,
        cosine_different: gap.different,
        filter: job.filter,
        note,
    })
}

/// A thread that embeds jobs in order; results are collected without blocking.
pub struct EmbeddingWorker {
    jobs: Option<Sender<EmbeddingJob>>,
    results: Receiver<Result<EmbeddingSnapshot, Error>>,
    handle: Option<JoinHandle<()>>,
    pending: usize,
}

impl Default for EmbeddingWorker {
    fn default() -> Self {
        Self::spawn()
    }
}

impl EmbeddingWorker {
    pub fn spawn() -> Self {
        let (job_tx, job_rx) = channel::<EmbeddingJob>();
        let (res_tx, res_rx) = channel();
        let handle = std::thread::Builder::new()
            .name("ferlab-embedding".into())
            .spawn(move || {
                for job in job_rx {
                    if res_tx.send(compute(job)).is_err() {
                        break;
                    }
                }
            })
            .expect("spawn the embedding thread");
        Self {
            jobs: Some(job_tx),
            results: res_rx,
            handle: Some(handle),
            pending: 0,
        }
    }

    pub fn submit(&mut self, job: EmbeddingJob) {
        if let Some(tx) = &self.jobs
            && tx.send(job).is_ok()
        {
            self.pending += 1;
        }
    }

    /// Results ready now.
    pub fn ready(&mut self) -> Vec<Result<EmbeddingSnapshot, Error>> {
        let out: Vec<_> = self.results.try_iter().collect();
        self.pending -= out.len();
        out
    }

    /// Waits for every submitted job.
    pub fn drain(&mut self) -> Vec<Result<EmbeddingSnapshot, Error>> {
        let mut out = Vec::with_capacity(self.pending);
        while self.pending > 0 {
            match self.results.recv() {
                Ok(r) => {
                    out.push(r);
                    self.pending -= 1;
                }
                Err(_) => break,
            }
        }
        out
    }

    pub fn pending(&self) -> usize {
        self.pending
    }
}

impl Drop for EmbeddingWorker {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::analysis::embed::gaussian_clusters;

    #[test]
    fn stratified_draw_keeps_every_class() {
        let labels: Vec<u8> = (0..1000)
            .map(|i| if i < 950 { 0 } else { 1 + (i % 3) as u8 })
            .collect();
        let idx = embedding_indices(&labels, 4, 100, 3);
        assert_eq!(idx.len(), 100);
        assert!(idx.windows(2).all(|w| w[0] < w[1]));
        for c in 0..4u8 {
            assert!(idx.iter().any(|&i| labels[i] == c), "class {c} kept");
        }
        assert_eq!(embedding_indices(&labels, 4, 0, 3).len(), 1000);
        assert_eq!(embedding_indices(&labels, 4, 100, 3), idx, "seeded");
    }

    #[test]
    fn worker_embeds_off_thread_and_measures_separation() {
        let (x, labels) = gaussian_clusters(240, 16, 4, 1.0, 5);
        let data = x.data;
        let job = |epoch| EmbeddingJob {
            epoch,
            indices: (0..240).collect(),
            labels: labels.iter().map(|&l| l as u32).collect(),
            predictions: labels.iter().map(|&l| l as u32).collect(),
            features: data.clone(),
            dim: 16,
            classes: 4,
            seed: 1,
            filter: None,
        };
        let mut worker = EmbeddingWorker::spawn();
        worker.submit(job(0));
        worker.submit(job(1));
        let mut got = worker.ready();
        got.extend(worker.drain());
        assert_eq!(worker.pending(), 0);
        let snaps: Vec<EmbeddingSnapshot> = got.into_iter().map(|r| r.unwrap()).collect();
        assert_eq!(snaps.iter().map(|s| s.epoch).collect::<Vec<_>>(), [0, 1]);
        let s = &snaps[0];
        assert_eq!((s.tsne.len(), s.mds.len()), (480, 480));
        // Well separated clusters: same-label pairs far more similar than different ones,
        // and class spreads in the unit-RMS MDS plane well below the plane's radius.
        assert!(s.cosine_gap() > 0.3, "gap {}", s.cosine_gap());
        assert!(
            s.mean_centre_distance().unwrap() < 0.6,
            "{:?}",
            s.centre_distance
        );
        let rms = (s.mds.iter().map(|v| v * v).sum::<f32>() / 240.0).sqrt();
        assert!((rms - 1.0).abs() < 1e-4);
    }
}
