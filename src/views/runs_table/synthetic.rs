//! A folder of synthetic runs, written as the trainer writes real ones (a `config.toml`, an
//! `events.jsonl` of Started, EpochEnd, Mining for ASM and Finished): for measuring the runs
//! table on a thousand runs and for its tests, without training any.

use std::io::Write;
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::compute::method::REGISTRY;
use crate::contract::config::Experiment;
use crate::contract::config::classes::CANONICAL;
use crate::contract::event::mining::{MiningQuality, SetQuality};
use crate::contract::event::{
    DataStats, Event, Metrics, MiningReport, Record, Summary, TrainSummary,
};
use crate::views::{Error, Result};

/// The settings a synthetic run varies; the rest are the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticRun {
    pub method: &'static str,
    pub noise_rate: f64,
    pub seed: u64,
    pub epochs: usize,
    /// Best overall accuracy (fraction) the run climbs to.
    pub peak: f32,
}

/// `count` runs over methods × noise rates × seeds, their accuracies a plausible function of
/// the three; the same `count` always gives the same runs.
pub fn plan(count: usize, epochs: usize) -> Vec<SyntheticRun> {
    const METHODS: [&str; 4] = ["ce", "asm", "scn", "soft"];
    const NOISE: [f64; 4] = [0.0, 0.1, 0.2, 0.3];
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    (0..count)
        .map(|i| {
            let method = METHODS[i % 4];
            let noise_rate = NOISE[(i / 4) % 4];
            let seed = (i / 16) as u64 + 1;
            let robust = if method == "ce" { 0.5 } else { 0.2 };
            let peak = 0.62 - robust * noise_rate as f32 + rng.random_range(-0.02..0.02);
            SyntheticRun {
                method,
                noise_rate,
                seed,
                epochs,
                peak,
            }
        })
        .collect()
}

/// Writes `runs` under `root` (created), one directory each; returns the directories.
pub fn write(root: &Path, runs: &[SyntheticRun]) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(root).map_err(|e| Error::io("cannot create", root, e))?;
    runs.iter()
        .enumerate()
        .map(|(i, run)| write_one(root, i, run))
        .collect()
}

fn write_one(root: &Path, index: usize, run: &SyntheticRun) -> Result<PathBuf> {
    let id = format!(
        "synthetic-{index:04}-{}-noise{:02}-seed{}",
        run.method,
        (run.noise_rate * 100.0).round(),
        run.seed
    );
    let dir = root.join(&id);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("cannot create", &dir, e))?;
    let mut exp = Experiment {
        name: id.clone(),
        seed: run.seed,
        ..Experiment::default()
    };
    exp.train.epochs = run.epochs;
    exp.method.name = run.method.into();
    exp.corruption.noise_rate = run.noise_rate as f32;
    if run.noise_rate > 0.0 {
        exp.set("corruption.noise", "symmetric")
            .map_err(|p| Error::Table(p.to_string()))?;
    }
    exp.resolve(&REGISTRY);
    let config = exp.to_toml();
    let config_path = dir.join("config.toml");
    std::fs::write(&config_path, &config)
        .map_err(|e| Error::io("cannot write", &config_path, e))?;

    let classes: Vec<String> = CANONICAL.map(String::from).to_vec();
    let k = classes.len();
    let mut rng = ChaCha8Rng::seed_from_u64(index as u64);
    let mut events = vec![Event::Started {
        run_id: id.clone(),
        run_dir: dir.display().to_string(),
        classes: classes.clone(),
        data: DataStats {
            origin: "synthetic".into(),
            classes,
            train_counts: vec![300; k],
            val_counts: vec![80; k],
            noise_rate: Some(run.noise_rate),
            imbalance_factor: 1.0,
            blended: Some(0),
            skipped: 0,
        },
        num_parameters: 120_000,
        device: "cpu".into(),
        epochs: run.epochs,
        steps_per_epoch: 33,
        batch_size: 64,
        resumed_at: None,
        config,
    }];
    let mut epochs = Vec::new();
    for epoch in 0..run.epochs {
        let progress = (epoch + 1) as f32 / run.epochs as f32;
        let accuracy = run.peak * (1.0 - (-4.0 * progress).exp()) + rng.random_range(-0.01..0.01);
        let val = predictions(&mut rng, k, 80, accuracy, 1.9 - accuracy);
        events.push(Event::EpochEnd {
            epoch,
            train: TrainSummary {
                loss: 2.0 - 1.2 * progress,
                terms: Default::default(),
                accuracy: accuracy + 0.05,
                images_per_sec: 80.0,
                seconds: 25.0,
                data_wait_secs: 0.0,
                lr: 0.002 * (1.0 - progress as f64),
            },
            val: val.clone(),
        });
        if run.method == "asm" && run.noise_rate > 0.0 {
            events.push(Event::Mining {
                epoch,
                report: Box::new(MiningReport {
                    thresholds: None,
                    base: (0.5, 0.2),
                    adaptive: true,
                    class_mean: vec![0.5; k],
                    counts: vec![[240, 30, 30]; k],
                    moves: [[0; 3]; 3],
                    quality: Some(MiningQuality {
                        noisy: SetQuality {
                            precision: Some(0.9 * progress),
                            recall: Some(0.5 * progress),
                        },
                        clean: SetQuality {
                            precision: Some(0.95),
                            recall: Some(0.9),
                        },
                        noise_rate: run.noise_rate as f32,
                    }),
                    moved: Vec::new(),
                    moves_listed: Vec::new(),
                }),
            });
        }
        epochs.push(val);
    }
    let best = epochs
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.overall.total_cmp(&b.1.overall))
        .map(|(i, m)| (i, m.clone()));
    if let (Some((best_epoch, best)), Some(last)) = (best, epochs.last()) {
        events.push(Event::Finished {
            summary: Summary {
                epochs: run.epochs,
                best_epoch: best_epoch + 1,
                best,
                last: last.clone(),
                seconds: 25.0 * run.epochs as f32,
            },
        });
    }
    let path = dir.join("events.jsonl");
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(&path).map_err(|e| Error::io("cannot write", &path, e))?,
    );
    for (i, event) in events.into_iter().enumerate() {
        let record = Record {
            time: 1.79e9 + index as f64 * 1000.0 + 25.0 * i as f64,
            event,
        };
        let line = serde_json::to_string(&record).map_err(|e| Error::file(&path, e))?;
        writeln!(file, "{line}").map_err(|e| Error::io("cannot write", &path, e))?;
    }
    file.flush()
        .map_err(|e| Error::io("cannot write", &path, e))?;
    Ok(dir)
}

/// Validation metrics of `per_class` faces per class, each right with probability `accuracy`.
fn predictions(
    rng: &mut ChaCha8Rng,
    k: usize,
    per_class: usize,
    accuracy: f32,
    loss: f32,
) -> Metrics {
    let mut truth = Vec::new();
    let mut pred = Vec::new();
    for c in 0..k as u32 {
        for _ in 0..per_class {
            truth.push(c);
            pred.push(if rng.random::<f32>() < accuracy {
                c
            } else {
                (c + rng.random_range(1..k as u32)) % k as u32
            });
        }
    }
    Metrics::from_predictions(&truth, &pred, k, loss)
}
