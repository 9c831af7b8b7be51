//! Datasets: loading (synthetic, image folder, FER2013 csv), corruption (label noise,
//! imbalance), augmentation and batching.

pub mod affectnet;
pub mod augment;
pub mod clips;
pub mod corrupt;
pub mod decode;
pub mod fer2013_csv;
pub mod ferplus;
pub mod image_folder;
pub mod listed;
pub mod loader;
pub mod preview;
pub mod rafdb;
pub mod sampler;
pub mod subsample;
pub mod synthetic;
pub mod unlabeled;

use serde::{Deserialize, Serialize};

use crate::compute::Error;
use crate::contract::config::{DataSource, Experiment};
use crate::contract::event::DataStats;

/// What is known to be true of a sample, independent of the label training sees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SampleTruth {
    /// The label before any injected noise (for synthetic data: the dominant expression).
    pub clean_label: u8,
    /// For a blended face, the second expression and its weight in (0, 0.5].
    pub blend: Option<(u8, f32)>,
}

/// One split: images as u8 pixels, `N × C × S × S`, with given labels and, where known,
/// the ground truth.
#[derive(Debug, Clone, Default)]
pub struct Split {
    pub size: usize,
    pub channels: usize,
    pub images: Vec<u8>,
    /// Labels training sees (after injected noise).
    pub labels: Vec<u8>,
    pub truth: Option<Vec<SampleTruth>>,
    /// File path or generator id of each sample, for galleries and error messages.
    pub ids: Vec<String>,
}

impl Split {
    pub fn new(size: usize, channels: usize) -> Self {
        Self {
            size,
            channels,
            ..Self::default()
        }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn pixels_per_image(&self) -> usize {
        self.channels * self.size * self.size
    }

    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.pixels_per_image();
        &self.images[i * n..(i + 1) * n]
    }

    pub fn push(&mut self, pixels: &[u8], label: u8, truth: Option<SampleTruth>, id: String) {
        debug_assert_eq!(pixels.len(), self.pixels_per_image());
        self.images.extend_from_slice(pixels);
        self.labels.push(label);
        if let Some(t) = truth {
            self.truth.get_or_insert_with(Vec::new).push(t);
        }
        self.ids.push(id);
    }

    /// A new split holding the samples at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Split {
        let mut out = Split::new(self.size, self.channels);
        out.images.reserve(indices.len() * self.pixels_per_image());
        for &i in indices {
            out.images.extend_from_slice(self.image(i));
            out.labels.push(self.labels[i]);
            out.ids.push(self.ids[i].clone());
        }
        out.truth = self
            .truth
            .as_ref()
            .map(|t| indices.iter().map(|&i| t[i]).collect());
        out
    }

    pub fn class_counts(&self, num_classes: usize) -> Vec<usize> {
        let mut counts = vec![0; num_classes];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// Indices whose given label differs from the clean one (known only with truth).
    pub fn flipped(&self) -> Option<Vec<bool>> {
        self.truth.as_ref().map(|t| {
            t.iter()
                .zip(&self.labels)
                .map(|(t, &l)| t.clean_label != l)
                .collect()
        })
    }
}

/// What the corruption step did to the training split.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CorruptionReport {
    /// Labels flipped by injected noise.
    pub flipped: usize,
    /// Training-set size when the noise was drawn.
    pub noised_of: usize,
    /// μ of n_l' = n_l · μ^l, when an imbalance factor was applied.
    pub imbalance_mu: Option<f64>,
    /// Class counts before the imbalance step.
    pub counts_before_imbalance: Option<Vec<usize>>,
}

/// A dataset ready for training: class names in order, two splits, what was done to it.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub classes: Vec<String>,
    pub train: Split,
    pub val: Split,
    pub corruption: CorruptionReport,
    /// Images that could not be read and were skipped, with the reason.
    pub skipped: Vec<String>,
    /// One line describing where the data came from.
    pub origin: String,
}

impl Dataset {
    pub fn num_classes(&self) -> usize {
        self.classes.len()
    }
}

/// Loads the experiment's dataset and applies its corruption, deterministically by seed.
pub fn build(exp: &Experiment) -> Result<Dataset, Error> {
    let d = &exp.data;
    let mut dataset = match d.source {
        DataSource::Synthetic => {
            synthetic::generate(&d.synthetic, d.image_size, d.channels, exp.seed)
        }
        DataSource::ImageFolder => image_folder::load(d)?,
        DataSource::Fer2013Csv => fer2013_csv::load(d)?,
        DataSource::RafDb => rafdb::load(d)?,
        DataSource::Ferplus => ferplus::load(d)?,
        DataSource::Affectnet => affectnet::load(d)?,
    };
    let c = dataset.num_classes();
    if d.max_train_per_class > 0 {
        dataset.train = subsample::per_class(
            &dataset.train,
            c,
            d.max_train_per_class,
            crate::contract::seed::derive(exp.seed, &[11]),
        );
    }
    if d.max_val_per_class > 0 {
        dataset.val = subsample::per_class(
            &dataset.val,
            c,
            d.max_val_per_class,
            crate::contract::seed::derive(exp.seed, &[12]),
        );
    }
    corrupt::apply(&mut dataset, &exp.corruption, exp.seed)?;
    for (name, split) in [("train", &dataset.train), ("val", &dataset.val)] {
        if split.is_empty() {
            // When every file was skipped, the reasons are the answer.
            let mut reasons = String::new();
            for r in dataset.skipped.iter().take(5) {
                reasons += &format!("\n  {r}");
            }
            if dataset.skipped.len() > 5 {
                reasons += &format!("\n  ... and {} more", dataset.skipped.len() - 5);
            }
            if !reasons.is_empty() {
                reasons = format!(
                    "; {} unreadable file(s) were skipped:{reasons}",
                    dataset.skipped.len()
                );
            }
            return Err(Error::Data(format!(
                "the {name} split of {} has no images{reasons}",
                dataset.origin
            )));
        }
    }
    Ok(dataset)
}

/// Loads only the validation split of the experiment's data (no corruption: evaluation is
/// against the given labels). Returns the class names and the split.
pub fn build_val(exp: &Experiment) -> Result<(Vec<String>, Split, Vec<String>), Error> {
    let d = &exp.data;
    let (classes, split, skipped) = match d.source {
        DataSource::Synthetic => {
            let ds = synthetic::generate(&d.synthetic, d.image_size, d.channels, exp.seed);
            (ds.classes, ds.val, Vec::new())
        }
        DataSource::ImageFolder => {
            let (split, skipped) = image_folder::load_one(d, &d.val_split)?;
            (
                crate::contract::config::classes::canonical_names(),
                split,
                skipped,
            )
        }
        DataSource::Fer2013Csv => {
            let ds = fer2013_csv::load(d)?;
            (ds.classes, ds.val, ds.skipped)
        }
        DataSource::RafDb => {
            let ds = rafdb::load(d)?;
            (ds.classes, ds.val, ds.skipped)
        }
        DataSource::Ferplus => {
            let ds = ferplus::load(d)?;
            (ds.classes, ds.val, ds.skipped)
        }
        DataSource::Affectnet => {
            let ds = affectnet::load(d)?;
            (ds.classes, ds.val, ds.skipped)
        }
    };
    if split.is_empty() {
        return Err(Error::Data(format!(
            "no images found for split `{}` of {}",
            d.val_split,
            d.path.display()
        )));
    }
    Ok((classes, split, skipped))
}

impl DataStats {
    pub fn of(ds: &Dataset) -> Self {
        let c = ds.num_classes();
        let train_counts = ds.train.class_counts(c);
        let nonzero: Vec<usize> = train_counts.iter().copied().filter(|&n| n > 0).collect();
        let imbalance_factor = match (nonzero.iter().max(), nonzero.iter().min()) {
            (Some(&max), Some(&min)) => max as f64 / min as f64,
            _ => 0.0,
        };
        let noise_rate = ds
            .train
            .flipped()
            .map(|f| f.iter().filter(|&&x| x).count() as f64 / f.len().max(1) as f64);
        let blended = ds
            .train
            .truth
            .as_ref()
            .map(|t| t.iter().filter(|t| t.blend.is_some()).count());
        Self {
            origin: ds.origin.clone(),
            classes: ds.classes.clone(),
            train_counts,
            val_counts: ds.val.class_counts(c),
            noise_rate,
            imbalance_factor,
            blended,
            skipped: ds.skipped.len(),
        }
    }
}
