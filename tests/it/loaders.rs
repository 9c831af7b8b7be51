//! Real-format loaders on fixture files written in the exact format.

use super::common;
use ferlab::compute::method::REGISTRY;

use ferlab::compute::data;
use ferlab::contract::config::{BadImagePolicy, DataConfig, DataSource, Experiment};

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
    assert!(
        exp.validate(&REGISTRY).is_empty(),
        "{:?}",
        exp.validate(&REGISTRY)
    );
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
    let problems = exp.validate(&REGISTRY);
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
    assert!(exp.validate(&REGISTRY).is_empty());
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
        &REGISTRY,
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

/// RAF-DB basic: the partition file (labels 1..7) and the aligned faces.
fn write_rafdb(root: &std::path::Path) {
    let rows = [
        ("train_00001.jpg", 1),
        ("train_00002.jpg", 4),
        ("train_00003.jpg", 7),
        ("train_00004.jpg", 4),
        ("test_0001.jpg", 5),
        ("test_0002.jpg", 2),
    ];
    let mut text = String::new();
    for (k, (name, label)) in rows.iter().enumerate() {
        text += &format!("{name} {label}\n");
        let stem = name.trim_end_matches(".jpg");
        common::write_image(
            &root
                .join("Image/aligned")
                .join(format!("{stem}_aligned.jpg")),
            100,
            k as u32,
        );
    }
    std::fs::create_dir_all(root.join("EmoLabel")).unwrap();
    std::fs::write(root.join("EmoLabel/list_patition_label.txt"), text).unwrap();
}

fn rafdb_experiment(root: &std::path::Path, noisy: Option<std::path::PathBuf>) -> Experiment {
    Experiment {
        data: DataConfig {
            source: DataSource::RafDb,
            path: root.to_path_buf(),
            val_split: "test".into(),
            image_size: 32,
            noisy_labels: noisy,
            ..DataConfig::default()
        },
        ..Experiment::default()
    }
}

#[test]
fn rafdb_reads_the_partition_file_in_its_own_class_order() {
    let dir = tempfile::tempdir().unwrap();
    write_rafdb(dir.path());
    let exp = rafdb_experiment(dir.path(), None);
    assert!(
        exp.validate(&REGISTRY).is_empty(),
        "{:?}",
        exp.validate(&REGISTRY)
    );
    let ds = data::build(&exp).unwrap();
    assert_eq!(ds.classes[0], "surprise");
    assert_eq!(ds.classes[6], "neutral");
    // Labels 1, 4, 7, 4 → surprise, happiness, neutral, happiness.
    assert_eq!(ds.train.labels, vec![0, 3, 6, 3]);
    assert_eq!(ds.val.labels, vec![4, 1]);
    assert!(ds.train.ids[0].ends_with("Image/aligned/train_00001_aligned.jpg"));
    assert!(ds.train.truth.is_none());
    assert_eq!(ds.train.images.len(), 4 * 32 * 32);
}

#[test]
fn rafdb_noisy_lists_in_both_published_formats_become_labels_over_truth() {
    let dir = tempfile::tempdir().unwrap();
    write_rafdb(dir.path());
    // EAC / SOFT format: bare names, labels 1..7; train_00002 flipped happiness → anger.
    let eac = dir.path().join("noise01_plus1.txt");
    std::fs::write(
        &eac,
        "train_00001.jpg 1\ntrain_00002.jpg 6\ntrain_00003.jpg 7\ntrain_00004.jpg 4\n",
    )
    .unwrap();
    // SCN format: full paths of the aligned faces, labels 0..6; train_00003 neutral → fear.
    let scn = dir.path().join("0.1noise_train.txt");
    std::fs::write(
        &scn,
        "/x/RAFDB/aligned/train_00001_aligned.jpg 0\n/x/RAFDB/aligned/train_00002_aligned.jpg 3\n\
         /x/RAFDB/aligned/train_00003_aligned.jpg 1\n/x/RAFDB/aligned/train_00004_aligned.jpg 3\n",
    )
    .unwrap();
    for (list, labels, flipped) in [
        (eac, vec![0, 5, 6, 3], vec![false, true, false, false]),
        (scn, vec![0, 3, 1, 3], vec![false, false, true, false]),
    ] {
        let ds = data::build(&rafdb_experiment(dir.path(), Some(list.clone()))).unwrap();
        assert_eq!(ds.train.labels, labels, "{}", list.display());
        assert_eq!(ds.train.flipped().unwrap(), flipped);
        let truth: Vec<u8> = ds
            .train
            .truth
            .unwrap()
            .iter()
            .map(|t| t.clean_label)
            .collect();
        assert_eq!(truth, vec![0, 3, 6, 3]);
    }
    // A list missing a training image names it.
    let short = dir.path().join("short.txt");
    std::fs::write(&short, "train_00001.jpg 1\n").unwrap();
    let err = data::build(&rafdb_experiment(dir.path(), Some(short)))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("short.txt") && err.contains("train_00002.jpg"),
        "{err}"
    );
    // A bad label names file and line.
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "train_00001.jpg 1\ntrain_00002.jpg 9\n").unwrap();
    let err = data::build(&rafdb_experiment(dir.path(), Some(bad)))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("bad.txt, line 2") && err.contains("label 9"),
        "{err}"
    );
}

#[test]
fn ferplus_takes_the_majority_vote_on_fer2013_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let header = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF";
    let votes = [
        "Training,fer0000000.png,4,0,0,1,3,2,0,0,0,0", // neutral
        "Training,fer0000001.png,0,10,0,0,0,0,0,0,0,0", // happiness
        "Training,,0,10,0,0,0,0,0,0,0,0",              // no image name: dropped
        "Training,fer0000003.png,0,0,0,0,0,0,0,2,8,0", // unknown wins: dropped
        "Training,fer0000004.png,5,5,0,0,0,0,0,0,0,0", // tie: dropped
        "Training,fer0000005.png,0,0,0,0,0,0,1,6,0,3", // contempt
        "PublicTest,fer0000006.png,0,0,7,0,0,0,3,0,0,0", // surprise
    ];
    let votes_path = dir.path().join("fer2013new.csv");
    std::fs::write(&votes_path, format!("{header}\n{}\n", votes.join("\n"))).unwrap();
    let pixels: Vec<String> = (0..7)
        .map(|k| csv_row(0, if k < 6 { "Training" } else { "PublicTest" }, k))
        .collect();
    let pixels_path = dir.path().join("fer2013.csv");
    std::fs::write(
        &pixels_path,
        format!("emotion,pixels,Usage\n{}\n", pixels.join("\n")),
    )
    .unwrap();
    let mut exp = Experiment {
        data: DataConfig {
            source: DataSource::Ferplus,
            path: votes_path.clone(),
            images: pixels_path.clone(),
            image_size: 48,
            ..DataConfig::default()
        },
        ..Experiment::default()
    };
    assert!(
        exp.validate(&REGISTRY).is_empty(),
        "{:?}",
        exp.validate(&REGISTRY)
    );
    let ds = data::build(&exp).unwrap();
    assert_eq!(ds.classes.len(), 8);
    assert_eq!(ds.classes[7], "contempt");
    assert_eq!(ds.train.labels, vec![0, 1, 7]);
    assert_eq!(ds.val.labels, vec![2]);
    // Row order pairs votes with pixels: the second kept face is csv row 2 (seed 1).
    let want: Vec<u8> = (0..48 * 48).map(|i| ((i * 3 + 17) % 256) as u8).collect();
    assert_eq!(ds.train.image(1), want.as_slice());
    exp.data.drop_contempt = true;
    let ds = data::build(&exp).unwrap();
    assert_eq!(ds.classes.len(), 7);
    assert_eq!(ds.train.labels, vec![0, 1]);
    // A vote that is not a number names file, line and column.
    std::fs::write(
        &votes_path,
        format!("{header}\nTraining,fer0000000.png,4,x,0,1,3,2,0,0,0,0\n"),
    )
    .unwrap();
    let err = data::build(&exp).err().unwrap().to_string();
    assert!(
        err.contains("fer2013new.csv, line 2") && err.contains("happiness"),
        "{err}"
    );
}

#[test]
fn affectnet_crops_faces_and_drops_non_expressions() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let header = "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal";
    let rows = [
        ("689/a.jpg", 1, "0.78", 0u32),
        ("689/b.png", 6, "-0.5", 1),
        ("12/c.jpg", 7, "0.1", 2),  // contempt
        ("12/d.jpg", 9, "0.0", 3),  // uncertain: dropped
        ("12/e.jpg", 10, "0.0", 4), // no face: dropped
    ];
    let mut train = format!("{header}\n");
    for (path, expr, valence, seed) in rows {
        common::write_image(&root.join("Manually_Annotated_Images").join(path), 80, seed);
        train += &format!("{path},10,10,60,60,\"30.1;40.2;50.3;60.4\",{expr},{valence},0.2\n");
    }
    std::fs::write(root.join("training.csv"), train).unwrap();
    common::write_image(&root.join("Manually_Annotated_Images/1/v.jpg"), 80, 9);
    std::fs::write(
        root.join("validation.csv"),
        format!("{header}\n1/v.jpg,0,0,80,80,\"1;2\",3,0.5,0.5\n"),
    )
    .unwrap();
    let mut exp = Experiment {
        data: DataConfig {
            source: DataSource::Affectnet,
            path: root.to_path_buf(),
            image_size: 30,
            ..DataConfig::default()
        },
        ..Experiment::default()
    };
    assert!(
        exp.validate(&REGISTRY).is_empty(),
        "{:?}",
        exp.validate(&REGISTRY)
    );
    let ds = data::build(&exp).unwrap();
    assert_eq!(ds.classes[0], "neutral");
    assert_eq!(ds.classes.len(), 8);
    assert_eq!(ds.train.labels, vec![1, 6, 7]);
    assert_eq!(ds.val.labels, vec![3]);
    // The crop (60 × 60 box at 10, 10) is resized to 30 × 30: pixel (0, 0) of the crop is
    // source pixel (10, 10) averaged with its neighbours; compare with a direct crop.
    let src = image::open(root.join("Manually_Annotated_Images/689/a.jpg")).unwrap();
    let want = src
        .crop_imm(10, 10, 60, 60)
        .resize_exact(30, 30, image::imageops::FilterType::Triangle)
        .to_luma8()
        .into_raw();
    assert_eq!(ds.train.image(0), want.as_slice());
    exp.data.drop_contempt = true;
    assert_eq!(data::build(&exp).unwrap().train.labels, vec![1, 6]);
    // A missing csv is a preset problem naming it.
    std::fs::remove_file(root.join("validation.csv")).unwrap();
    let problems = exp.validate(&REGISTRY);
    assert!(
        problems
            .iter()
            .any(|p| p.path == "data.path" && p.message.contains("validation.csv")),
        "{problems:?}"
    );
}

#[test]
fn reaction_clips_list_faces_in_time_order_with_their_candidates() {
    use ferlab::compute::data::clips::scan_clips;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("clips");
    // Video "a": frames 1, 2, 9, 10 (numeric order), persons p1 and p2; video "b": one frame.
    for (frame, persons) in [
        ("1", &["p1", "p2"][..]),
        ("2", &["p1"]),
        ("9", &["p1", "p2"]),
        ("10", &["p2", "p1"]),
    ] {
        for (k, p) in persons.iter().enumerate() {
            common::write_image(
                &root.join("a").join(frame).join(format!("{p}.png")),
                16,
                k as u32,
            );
        }
    }
    common::write_image(&root.join("b/0001/x.jpg"), 16, 3);
    std::fs::write(root.join("a/2/notes.txt"), "ignored").unwrap();
    let set = scan_clips(&root).unwrap();
    assert_eq!(set.videos, ["a", "b"]);
    assert_eq!(set.faces.len(), 8);
    let frames: Vec<usize> = set
        .faces
        .iter()
        .filter(|f| f.video == 0)
        .map(|f| f.frame)
        .collect();
    assert_eq!(frames, [0, 0, 1, 2, 2, 3, 3]);
    // Frame "10" comes after "9".
    assert!(set.faces[5].path.ends_with("a/10/p1.png"));
    // Loaded as unlabeled data (same face order): the clip prior's candidates.
    let mut exp = ferlab::contract::config::Experiment::default();
    exp.data.image_size = 16;
    exp.unlabeled.source = ferlab::contract::config::UnlabeledSource::Clips;
    exp.unlabeled.path = root.clone();
    let u = ferlab::compute::data::unlabeled::load(&exp)
        .unwrap()
        .unwrap();
    assert_eq!(u.len(), 8);
    assert!(u.truth.is_none(), "the user's clips carry no expressions");
    // Anchor: p1 in frame 1 (index 0). Positives: p2 of the same frame.
    assert_eq!(u.positives(0), [1]);
    // Negatives: p1 two or more frames away (frames "9" and "10").
    let negatives: Vec<&str> = u
        .negatives(0, 2)
        .iter()
        .map(|&i| u.ids[i].as_str())
        .collect();
    assert_eq!(negatives.len(), 2);
    assert!(
        negatives.iter().all(|p| p.ends_with("p1.png")),
        "{negatives:?}"
    );
    assert!(u.positives(7).is_empty(), "alone in its frame");
    assert!(!u.anchors(2).contains(&7));
    // p2 of video "a" and x of video "b" are different people.
    assert_ne!(u.person[1], u.person[7]);

    // A file where a frame folder belongs is named.
    std::fs::write(root.join("b/stray.png"), "x").unwrap();
    let e = scan_clips(&root).unwrap_err().to_string();
    assert!(
        e.contains("stray.png") && e.contains("a folder per frame"),
        "{e}"
    );
    let e = scan_clips(&dir.path().join("missing"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing"), "{e}");
}

#[test]
fn quoted_csv_fields_load_and_an_all_skipped_split_gives_its_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fer2013.csv");
    // The standard CSV form of the same rows: every field quoted.
    let quote = |row: String| {
        row.split(',')
            .map(|f| format!("\"{f}\""))
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut rows = vec![quote("emotion,pixels,Usage".into())];
    for code in 0..7 {
        rows.push(quote(csv_row(code, "Training", code)));
        rows.push(quote(csv_row(code, "PublicTest", code + 20)));
    }
    std::fs::write(&path, rows.join("\n") + "\n").unwrap();
    let mut exp = Experiment {
        data: DataConfig {
            source: DataSource::Fer2013Csv,
            path: path.clone(),
            on_bad_image: BadImagePolicy::Skip,
            ..DataConfig::default()
        },
        ..Experiment::default()
    };
    let ds = data::build(&exp).unwrap();
    assert_eq!((ds.train.len(), ds.val.len(), ds.skipped.len()), (7, 7, 0));
    assert_eq!(ds.train.image(0)[1], 3);
    // Every training row broken: the error carries the reasons, not only "no images".
    let text = format!(
        "emotion,pixels,Usage\n3,1 2 3,Training\n9,{},Training\n{}\n",
        "0 ".repeat(2304),
        csv_row(2, "PublicTest", 1)
    );
    std::fs::write(&path, text).unwrap();
    let err = data::build(&exp).unwrap_err().to_string();
    assert!(
        err.contains("has no images")
            && err.contains("2 unreadable file(s) were skipped")
            && err.contains("line 2: expected 2304 pixels, found 3")
            && err.contains("line 3: emotion 9 is out of range"),
        "{err}"
    );
    exp.data.on_bad_image = BadImagePolicy::Fail;
    assert!(data::build(&exp).is_err());
}

#[test]
fn an_unreadable_class_folder_is_an_error_and_an_empty_class_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    write_fer2013_folders(dir.path());
    let exp = Experiment {
        data: folder_config(dir.path()),
        ..Experiment::default()
    };
    // A class without training faces: its folder is there, empty.
    for f in std::fs::read_dir(dir.path().join("train/disgust")).unwrap() {
        std::fs::remove_file(f.unwrap().path()).unwrap();
    }
    let ds = data::build(&exp).unwrap();
    let stats = ferlab::contract::event::DataStats::of(&ds);
    assert_eq!(
        stats.empty_class_warnings(),
        vec![format!(
            "class disgust has no training faces in {}",
            stats.origin
        )]
    );
    assert!(
        stats
            .to_text()
            .contains("warning: class disgust has no training faces")
    );
    // A symlink loop where a class folder should be: named, not silently dropped.
    #[cfg(unix)]
    {
        let link = dir.path().join("train/fear-loop");
        std::os::unix::fs::symlink(&link, &link).unwrap();
        let err = data::build(&exp).unwrap_err().to_string();
        assert!(
            err.contains("fear-loop") && err.contains("cannot read this entry"),
            "{err}"
        );
    }
}

/// The mining gallery's pictures of a run's moved samples come from its training split
/// rebuilt at thumbnail size in one channel: the same faces in the same order with the same
/// (noisy) labels as the run trained on at its own size; a split that changed is refused.
#[test]
fn training_faces_rebuild_the_runs_split_at_thumbnail_size() {
    use ferlab::views::ui::panels::training_faces::{self, THUMB_SIDE};
    let tmp = tempfile::tempdir().unwrap();
    write_fer2013_folders(tmp.path());
    let mut exp = Experiment {
        data: DataConfig {
            image_size: 112,
            channels: 3,
            ..folder_config(tmp.path())
        },
        ..Experiment::default()
    };
    exp.corruption.noise_rate = 0.3;
    exp.corruption.noise = ferlab::contract::config::NoiseKind::Symmetric;
    let trained = data::build(&exp).unwrap();
    let mut small = exp.clone();
    small.data.image_size = THUMB_SIDE;
    small.data.channels = 1;
    let rebuilt = data::build(&small).unwrap();
    assert_eq!(rebuilt.train.ids, trained.train.ids);
    assert_eq!(rebuilt.train.labels, trained.train.labels);
    assert_eq!(rebuilt.train.truth, trained.train.truth);
    assert!(trained.train.flipped().unwrap().iter().any(|&f| f));

    let config = exp.to_toml();
    let faces = training_faces::load(&config, Some(trained.train.len())).unwrap();
    assert_eq!(faces.len(), trained.train.len());
    assert_eq!(faces.side, THUMB_SIDE);
    assert_eq!(
        faces.face(0).unwrap(),
        &rebuilt.train.image(0)[..THUMB_SIDE * THUMB_SIDE]
    );
    let changed = training_faces::load(&config, Some(trained.train.len() + 1))
        .err()
        .expect("a split of another size is refused");
    assert!(changed.contains("changed since it trained"), "{changed}");
}
