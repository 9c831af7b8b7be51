//! Batching on a prefetch thread: the next batches are decoded and augmented while the model
//! trains on the current one.
//!
//! Every random choice is a function of (seed, epoch, sample index), so a batch is the same
//! whichever thread makes it and a resumed run sees exactly the batches it would have seen.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, bounded};
use rand::seq::SliceRandom;

use super::Split;
use super::augment::{View, make_view};
use crate::contract::config::AugmentConfig;
use crate::contract::seed::{self, purpose};

/// One batch: the dataset indices it holds, their given labels and one tensor-ready buffer
/// (`B × C × S × S`) per requested view.
#[derive(Debug, Clone)]
pub struct Batch {
    pub step: usize,
    pub indices: Vec<usize>,
    pub labels: Vec<u32>,
    pub views: Vec<Vec<f32>>,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
}

/// The order in which an epoch visits the training split.
pub fn shuffled_order(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut seed::rng(seed, &[purpose::SHUFFLE, epoch as u64]));
    order
}

/// Splits an order into batches; a final batch of one sample is dropped (batch norm needs two).
pub fn batch_bounds(n: usize, batch_size: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < n {
        let end = (start + batch_size).min(n);
        if end - start >= 2 || out.is_empty() {
            out.push((start, end));
        }
        start = end;
    }
    out
}

/// What a prefetcher produces.
#[derive(Debug, Clone)]
pub struct BatchSpec {
    pub order: Vec<usize>,
    pub batch_size: usize,
    /// First step to produce (resuming mid-epoch).
    pub start_step: usize,
    pub views: Vec<View>,
    pub augment: AugmentConfig,
    pub seed: u64,
    pub epoch: usize,
}

impl BatchSpec {
    pub fn num_steps(&self) -> usize {
        batch_bounds(self.order.len(), self.batch_size).len()
    }
}

/// Makes one batch synchronously.
pub fn make_batch(split: &Split, spec: &BatchSpec, step: usize) -> Batch {
    let (start, end) = batch_bounds(spec.order.len(), spec.batch_size)[step];
    let indices: Vec<usize> = spec.order[start..end].to_vec();
    let labels = indices.iter().map(|&i| split.labels[i] as u32).collect();
    let per = split.pixels_per_image();
    let views = spec
        .views
        .iter()
        .enumerate()
        .map(|(v, &view)| {
            let mut buf = vec![0.0f32; indices.len() * per];
            for (k, &i) in indices.iter().enumerate() {
                let mut rng = seed::rng(
                    spec.seed,
                    &[purpose::AUGMENT, spec.epoch as u64, v as u64, i as u64],
                );
                make_view(
                    split.image(i),
                    split.channels,
                    split.size,
                    view,
                    &spec.augment,
                    &mut rng,
                    &mut buf[k * per..(k + 1) * per],
                );
            }
            buf
        })
        .collect();
    Batch {
        step,
        indices,
        labels,
        views,
    }
}

/// Produces the batches of a spec on its own thread, a few ahead of the consumer.
pub struct Prefetcher {
    rx: Receiver<Batch>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Prefetcher {
    pub fn spawn(split: Arc<Split>, spec: BatchSpec, depth: usize) -> Self {
        let (tx, rx) = bounded(depth.max(1));
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("ferlab-prefetch".into())
            .spawn(move || {
                for step in spec.start_step..spec.num_steps() {
                    if stop_flag.load(Ordering::Relaxed) {
                        return;
                    }
                    if tx.send(make_batch(&split, &spec, step)).is_err() {
                        return;
                    }
                }
            })
            .expect("spawning the prefetch thread");
        Self {
            rx,
            stop,
            handle: Some(handle),
        }
    }

    /// The next batch, or None at the end of the epoch.
    pub fn next_batch(&mut self) -> Option<Batch> {
        self.rx.recv().ok()
    }
}

impl Drop for Prefetcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Drain so a blocked sender wakes up and sees the flag.
        while self.rx.try_recv().is_ok() {}
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(n: usize) -> Split {
        let mut s = Split::new(4, 1);
        for i in 0..n {
            s.push(&[i as u8; 16], (i % 3) as u8, None, format!("{i}"));
        }
        s
    }

    #[test]
    fn bounds_cover_everything_but_a_lone_last_sample() {
        assert_eq!(batch_bounds(10, 4), vec![(0, 4), (4, 8), (8, 10)]);
        assert_eq!(batch_bounds(9, 4), vec![(0, 4), (4, 8)]);
        assert_eq!(batch_bounds(1, 4), vec![(0, 1)]);
    }

    #[test]
    fn prefetched_batches_equal_direct_ones_and_resume_mid_epoch() {
        let s = Arc::new(split(50));
        let spec = BatchSpec {
            order: shuffled_order(50, 1, 0),
            batch_size: 8,
            start_step: 0,
            views: vec![View::Train, View::Plain],
            augment: AugmentConfig::default(),
            seed: 1,
            epoch: 0,
        };
        let mut p = Prefetcher::spawn(s.clone(), spec.clone(), 2);
        let mut got = Vec::new();
        while let Some(b) = p.next_batch() {
            got.push(b);
        }
        assert_eq!(got.len(), 7);
        for b in &got {
            let direct = make_batch(&s, &spec, b.step);
            assert_eq!(direct.views, b.views);
            assert_eq!(direct.indices, b.indices);
        }
        let resumed = BatchSpec {
            start_step: 4,
            ..spec
        };
        let mut p = Prefetcher::spawn(s, resumed, 2);
        let first = p.next_batch().unwrap();
        assert_eq!(first.step, 4);
        assert_eq!(first.views, got[4].views);
    }

    #[test]
    fn dropping_a_prefetcher_early_does_not_hang() {
        let s = Arc::new(split(200));
        let spec = BatchSpec {
            order: (0..200).collect(),
            batch_size: 4,
            start_step: 0,
            views: vec![View::Plain],
            augment: AugmentConfig::default(),
            seed: 0,
            epoch: 0,
        };
        let mut p = Prefetcher::spawn(s, spec, 1);
        p.next_batch().unwrap();
        drop(p);
    }
}
