//! Real-format loaders on fixture files written in the exact format.

mod common;

use ferlab::config::{BadImagePolicy, DataConfig, DataSource, Experiment};
use ferlab::data;

fn folder_config(root: &std::path::Path) -> DataConfig {
    DataConfig {
        source: DataSource::ImageFolder,
        path: root.to_path_buf(),
        image_size: 24,
        ..DataConfig::default()
    }
}

/// FER2013's folder layout: train/val with its seven class-folder names, png and jpg.
fn write_fer2013_folders(root: &std::path::Path) {
    let classes = [
        "angry", "disgust", "fear", "happy", "neutral", "sad", "surprise",
    ];
    for (split, n) in [("train", 3u32), ("val", 2)] {
        for (ci, class) in classes.iter().enumerate() {
            for k in 0..n {
                let ext = if k % 2 == 0 { "jpg" } else { "png" };
                common::write_image(
                    &root
                        .join(split)
                        .join(class)
                        .join(format!("img_{ci}_{k}.{ext}")),
                    48,
                    ci as u32 * 10 + k,
                );
            }
        }
    }
}

#[test]
fn image_folder_maps_fer2013_class_names_and_resizes() {
    let dir = tempfile::tempdir().unwrap();
    write_fer2013_folders(dir.path());
    let exp = Experiment {
        data: folder_config(dir.path()),
        ..Experiment::default()
    };
    assert!(exp.validate().is_empty(), "{:?}", exp.validate());
    let ds = data::build(&exp).unwrap();
    assert_eq!(ds.train.len(), 21);
    assert_eq!(ds.val.len(), 14);
    assert_eq!(ds.train.class_counts(7), vec![3; 7]);
    assert_eq!(ds.train.images.len(), 21 * 24 * 24);
    // angry -> anger (index 5 of surprise, fear, disgust, happiness, sadness, anger, neutral)
    let i = ds
        .train
        .ids
        .iter()
        .position(|p| p.contains("/angry/"))
        .unwrap();
    assert_eq!(ds.train.labels[i], 5);
    let i = ds
        .train
        .ids
        .iter()
        .position(|p| p.contains("/happy/"))
        .unwrap();
    assert_eq!(ds.train.labels[i], 3);
}

#[test]
fn corrupt_images_are_skipped_with_their_path_or_fail_the_run() {
    let dir = tempfile::tempdir().unwrap();
    write_fer2013_folders(dir.path());
    let bad = dir.path().join("train/fear/broken.jpg");
    std::fs::write(&bad, b"this is not a jpeg").unwrap();
    let mut exp = Experiment {
        data: folder_config(dir.path()),
        ..Experiment::default()
    };
    let ds = data::build(&exp).unwrap();
    assert_eq!(ds.skipped.len(), 1);
    assert!(ds.skipped[0].contains("broken.jpg"), "{:?}", ds.skipped);
    assert_eq!(ds.train.len(), 21);
    exp.data.on_bad_image = BadImagePolicy::Fail;
    let err = data::build(&exp).unwrap_err().to_string();
    assert!(
        err.contains("broken.jpg") && err.contains("unreadable image"),
        "{err}"
    );
}

#[test]
fn a_class_folder_that_matches_no_class_is_a_preset_problem() {
    let dir = tempfile::tempdir().unwrap();
    write_fer2013_folders(dir.path());
    common::write_image(&dir.path().join("train/contempt/x.png"), 48, 1);
    let exp = Experiment {
        data: folder_config(dir.path()),
        ..Experiment::default()
    };
    let problems = exp.validate();
    assert!(
        problems
            .iter()
            .any(|p| p.path == "data.train_split" && p.message.contains("contempt")),
        "{problems:?}"
    );
}

fn csv_row(code: usize, usage: &str, seed: usize) -> String {
    let pixels: Vec<String> = (0..48 * 48)
        .map(|i| ((i * 3 + seed * 17) % 256).to_string())
        .collect();
    format!("{code},{},{usage}", pixels.join(" "))
}

#[test]
fn fer2013_csv_splits_by_usage_and_maps_codes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fer2013.csv");
    let mut rows = vec!["emotion,pixels,Usage".to_string()];
    for code in 0..7 {
        rows.push(csv_row(code, "Training", code));
        rows.push(csv_row(code, "Training", code + 10));
        rows.push(csv_row(code, "PublicTest", code + 20));
        rows.push(csv_row(code, "PrivateTest", code + 30));
    }
    std::fs::write(&path, rows.join("\n") + "\n").unwrap();
    let exp = Experiment {
        data: DataConfig {
            source: DataSource::Fer2013Csv,
            path: path.clone(),
            ..DataConfig::default()
        },
        ..Experiment::default()
    };
    assert!(exp.validate().is_empty());
    let ds = data::build(&exp).unwrap();
    assert_eq!(ds.train.len(), 14);
    assert_eq!(ds.val.len(), 7);
    // Code 0 (angry) is anger, 5 (surprise) is surprise, 6 neutral.
    assert_eq!(ds.train.labels[0], 5);
    assert_eq!(ds.train.labels[10], 0);
    assert_eq!(ds.train.labels[12], 6);
    // Pixels survive unchanged at 48x48.
    assert_eq!(ds.train.image(0)[1], 3);
}

#[test]
fn a_bad_csv_row_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fer2013.csv");
    let text = format!(
        "emotion,pixels,Usage\n{}\n3,1 2 3,Training\n{}\n",
        csv_row(1, "Training", 0),
        csv_row(2, "PublicTest", 1)
    );
    std::fs::write(&path, text).unwrap();
    let mut exp = Experiment {
        data: DataConfig {
            source: DataSource::Fer2013Csv,
            path: path.clone(),
            on_bad_image: BadImagePolicy::Fail,
            ..DataConfig::default()
        },
        ..Experiment::default()
    };
    let err = data::build(&exp).unwrap_err().to_string();
    assert!(
        err.contains("line 3") && err.contains("expected 2304 pixels, found 3"),
        "{err}"
    );
    exp.data.on_bad_image = BadImagePolicy::Skip;
    let ds = data::build(&exp).unwrap();
    assert_eq!((ds.train.len(), ds.val.len(), ds.skipped.len()), (1, 1, 1));
    std::fs::write(&path, "label,pixels\n").unwrap();
    let err = data::build(&exp).unwrap_err().to_string();
    assert!(
        err.contains("line 1") && err.contains("emotion,pixels,Usage"),
        "{err}"
    );
}

#[test]
fn noise_and_imbalance_are_recorded_in_the_ground_truth() {
    let exp = Experiment::from_toml(
        r#"
[data]
image_size = 16
[data.synthetic]
train_per_class = 100
val_per_class = 5
identities = 20
[corruption]
noise = "symmetric"
noise_rate = 0.2
imbalance_factor = 10
"#,
        "inline",
        &[],
    )
    .unwrap();
    let ds = data::build(&exp).unwrap();
    let counts = ds.train.class_counts(7);
    // Equal natural counts: ranks follow class order, n_l = 100 · μ^l with μ^6 = 1/10,
    // then 20% of labels flip, which moves counts; check the pre-noise counts via truth.
    let truth = ds.train.truth.as_ref().unwrap();
    let mut clean = [0usize; 7];
    for t in truth {
        clean[t.clean_label as usize] += 1;
    }
    assert_eq!(clean, [100, 68, 46, 31, 21, 14, 10]);
    let flipped = ds.train.flipped().unwrap().iter().filter(|&&f| f).count();
    assert_eq!(flipped, (0.2f64 * ds.train.len() as f64).round() as usize);
    assert_eq!(ds.corruption.flipped, flipped);
    assert_eq!(counts.iter().sum::<usize>(), 290);
}
