//! RAF-DB basic: `root/EmoLabel/list_patition_label.txt` (the dataset's own spelling), lines
//! `train_00001.jpg 5` with labels 1..7 = surprise, fear, disgust, happiness, sadness,
//! anger, neutral (ferlab's canonical order), and the aligned faces
//! `root/Image/aligned/train_00001_aligned.jpg`. Splits are the name prefixes: `train`
//! and `test` (`val` also means `test`).
//!
//! `data.noisy_labels` names a published noisy-label list: lines `<image> <label>`, where
//! the image is `train_00001.jpg` (EAC / SOFT lists, labels 1..7) or a path ending in
//! `train_00001_aligned.jpg` (SCN lists, labels 0..6). A list that uses label 0 anywhere is
//! read as 0-based, otherwise as 1-based. Training then sees the list's labels and the
//! partition file's labels become the ground truth, so mining quality can be measured.

use std::collections::HashMap;
use std::path::Path;

use super::listed::{ListedImage, load_listed};
use super::{CorruptionReport, Dataset, SampleTruth};
use crate::compute::Error;
use crate::contract::config::DataConfig;
use crate::contract::config::classes::canonical_names;
use crate::contract::config::layout::{RAFDB_IMAGE_DIR, RAFDB_LABEL_FILE};

fn prefix(split: &str) -> String {
    match split {
        "val" | "test" => "test_".into(),
        other => format!("{other}_"),
    }
}

/// Reads `<name> <label>` lines; labels are returned as written.
fn read_label_lines(path: &Path) -> Result<Vec<(String, usize, usize)>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::File {
        path: path.to_path_buf(),
        message: format!("cannot read: {e}"),
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut parts = line.split_whitespace();
        let (Some(name), Some(label), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Error::Line {
                path: path.to_path_buf(),
                line: i + 1,
                message: format!("expected `<image> <label>`, found `{line}`"),
            });
        };
        let label: usize = label.parse().map_err(|_| Error::Line {
            path: path.to_path_buf(),
            line: i + 1,
            message: format!("label `{label}` is not a number"),
        })?;
        out.push((name.to_string(), label, i + 1));
    }
    Ok(out)
}

/// `train_00001_aligned.jpg`, `/x/y/train_00001.jpg` → `train_00001`.
fn image_key(name: &str) -> String {
    let file = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let stem = file.rsplit_once('.').map_or(file, |(s, _)| s);
    stem.strip_suffix("_aligned").unwrap_or(stem).to_string()
}

/// The noisy list as image key → 0-based label.
fn read_noisy_list(path: &Path) -> Result<HashMap<String, u8>, Error> {
    let lines = read_label_lines(path)?;
    let zero_based = lines.iter().any(|(_, l, _)| *l == 0);
    let (lo, hi) = if zero_based { (0, 6) } else { (1, 7) };
    let mut out = HashMap::new();
    for (name, label, line) in lines {
        if label < lo || label > hi {
            return Err(Error::Line {
                path: path.to_path_buf(),
                line,
                message: format!(
                    "label {label} is outside {lo}..{hi} (the list reads as {}-based)",
                    lo
                ),
            });
        }
        out.insert(image_key(&name), (label - lo) as u8);
    }
    Ok(out)
}

pub fn load(d: &DataConfig) -> Result<Dataset, Error> {
    let label_path = d.path.join(RAFDB_LABEL_FILE);
    let lines = read_label_lines(&label_path)?;
    let noisy = d.noisy_labels.as_deref().map(read_noisy_list).transpose()?;
    let (train_prefix, val_prefix) = (prefix(&d.train_split), prefix(&d.val_split));
    let mut train = Vec::new();
    let mut val = Vec::new();
    for (name, label, line) in lines {
        if !(1..=7).contains(&label) {
            return Err(Error::Line {
                path: label_path.clone(),
                line,
                message: format!("label {label} is outside 1..7"),
            });
        }
        let clean = (label - 1) as u8;
        let key = image_key(&name);
        let path = d
            .path
            .join(RAFDB_IMAGE_DIR)
            .join(format!("{key}_aligned.jpg"));
        let source = format!("{}, line {line}", label_path.display());
        if name.starts_with(&train_prefix) {
            let (given, truth) = match &noisy {
                Some(list) => {
                    let given = *list.get(&key).ok_or_else(|| Error::File {
                        path: d.noisy_labels.clone().unwrap_or_default(),
                        message: format!("the noisy-label list has no entry for {name}"),
                    })?;
                    let truth = SampleTruth {
                        clean_label: clean,
                        blend: None,
                    };
                    (given, Some(truth))
                }
                None => (clean, None),
            };
            train.push(ListedImage {
                path,
                label: given,
                truth,
                crop: None,
                source,
            });
        } else if name.starts_with(&val_prefix) {
            val.push(ListedImage {
                path,
                label: clean,
                truth: None,
                crop: None,
                source,
            });
        }
    }
    let mut skipped = Vec::new();
    let train = load_listed(train, d, &mut skipped)?;
    let val = load_listed(val, d, &mut skipped)?;
    let mut origin = format!("RAF-DB {}", d.path.display());
    if let Some(p) = &d.noisy_labels {
        origin += &format!(" with noisy labels {}", p.display());
    }
    Ok(Dataset {
        classes: canonical_names(),
        train,
        val,
        corruption: CorruptionReport::default(),
        skipped,
        origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_keys_ignore_folders_suffix_and_extension() {
        assert_eq!(image_key("train_00001.jpg"), "train_00001");
        assert_eq!(
            image_key("/a/b/aligned/train_00002_aligned.jpg"),
            "train_00002"
        );
        assert_eq!(image_key("test_0003_aligned.png"), "test_0003");
    }
}
