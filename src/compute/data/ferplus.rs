//! FERPlus: the FER2013 faces relabelled by 10 annotators. `data.path` is `fer2013new.csv`
//! (columns Usage, Image name, neutral, happiness, surprise, sadness, anger, disgust, fear,
//! contempt, unknown, NF: votes out of 10), `data.images` the original `fer2013.csv` whose
//! rows, in order, hold the pixels. Majority vote: the class with the most votes; rows where
//! unknown or NF win, where the top vote is tied, or whose image name is empty are dropped.
//! Classes keep FERPlus's order (contempt last; `data.drop_contempt` drops its rows).

use std::io::{BufRead, BufReader};
use std::path::Path;

use super::decode::from_gray;
use super::fer2013_csv::{parse_row, usage_for};
use super::listed::csv_fields;
use super::{CorruptionReport, Dataset, Split};
use crate::compute::Error;
use crate::contract::config::{BadImagePolicy, DataConfig};

pub const CLASSES: [&str; 8] = [
    "neutral",
    "happiness",
    "surprise",
    "sadness",
    "anger",
    "disgust",
    "fear",
    "contempt",
];
const CONTEMPT: usize = 7;

/// `fer2013new.csv`'s columns: usage, image name, one vote count per class, unknown, NF.
fn header_columns() -> Vec<&'static str> {
    ["Usage", "Image name"]
        .into_iter()
        .chain(CLASSES)
        .chain(["unknown", "NF"])
        .collect()
}

/// The majority label of a row's 10 vote counts, or None (unknown / NF wins, or a tie).
pub fn majority(votes: &[u32; 10]) -> Option<usize> {
    let max = *votes.iter().max()?;
    if max == 0 {
        return None;
    }
    let mut winners = votes.iter().enumerate().filter(|(_, v)| **v == max);
    let (first, _) = winners.next()?;
    if winners.next().is_some() || first >= 8 {
        return None;
    }
    Some(first)
}

fn open_lines(path: &Path) -> Result<std::io::Lines<BufReader<std::fs::File>>, Error> {
    let file = std::fs::File::open(path).map_err(|e| Error::File {
        path: path.to_path_buf(),
        message: format!("cannot open: {e}"),
    })?;
    Ok(BufReader::new(file).lines())
}

pub fn load(d: &DataConfig) -> Result<Dataset, Error> {
    let votes_path = d.path.as_path();
    let pixels_path = d.images.as_path();
    let line_err = |path: &Path, line: usize, message: String| Error::Line {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut votes = open_lines(votes_path)?;
    let mut pixels = open_lines(pixels_path)?;
    let header = votes
        .next()
        .ok_or_else(|| line_err(votes_path, 1, "the csv is empty".into()))?
        .map_err(|e| line_err(votes_path, 1, e.to_string()))?;
    let expected = header_columns();
    let cols = csv_fields(header.trim());
    if cols.iter().map(|c| c.trim()).ne(expected.iter().copied()) {
        return Err(line_err(
            votes_path,
            1,
            format!(
                "expected the header `{}`, found `{header}`",
                expected.join(",")
            ),
        ));
    }
    pixels
        .next()
        .ok_or_else(|| line_err(pixels_path, 1, "the csv is empty".into()))?
        .map_err(|e| line_err(pixels_path, 1, e.to_string()))?;
    let (train_usage, val_usage) = (usage_for(&d.train_split), usage_for(&d.val_split));
    let mut train = Split::new(d.image_size, d.channels);
    let mut val = Split::new(d.image_size, d.channels);
    let mut skipped = Vec::new();
    for (i, row) in votes.enumerate() {
        let lineno = i + 2;
        let row = row.map_err(|e| line_err(votes_path, lineno, e.to_string()))?;
        let pixel_row = pixels.next().ok_or_else(|| {
            line_err(
                pixels_path,
                lineno,
                format!(
                    "has fewer rows than {} (row {lineno} missing)",
                    votes_path.display()
                ),
            )
        })?;
        let pixel_row = pixel_row.map_err(|e| line_err(pixels_path, lineno, e.to_string()))?;
        if row.trim().is_empty() {
            continue;
        }
        let f = csv_fields(row.trim());
        if f.len() != 12 {
            return Err(line_err(
                votes_path,
                lineno,
                format!("expected 12 columns, found {}", f.len()),
            ));
        }
        let usage = f[0].trim();
        let target = if usage == train_usage {
            &mut train
        } else if usage == val_usage {
            &mut val
        } else {
            continue;
        };
        if f[1].trim().is_empty() {
            continue;
        }
        let mut v = [0u32; 10];
        for (k, cell) in f[2..].iter().enumerate() {
            v[k] = cell.trim().parse().map_err(|_| {
                line_err(
                    votes_path,
                    lineno,
                    format!(
                        "column `{}`: `{}` is not a vote count",
                        expected[k + 2],
                        cell.trim()
                    ),
                )
            })?;
        }
        let Some(label) = majority(&v) else { continue };
        if d.drop_contempt && label == CONTEMPT {
            continue;
        }
        let gray = match parse_row(pixel_row.trim()) {
            Ok((_, gray, _)) => gray,
            Err(e) if d.on_bad_image == BadImagePolicy::Skip => {
                skipped.push(format!(
                    "{}, line {lineno}: {}",
                    pixels_path.display(),
                    e.reason()
                ));
                continue;
            }
            Err(e) => return Err(line_err(pixels_path, lineno, e.reason())),
        };
        let planar = from_gray(gray, 48, 48, d.image_size, d.channels);
        target.push(
            &planar,
            label as u8,
            None,
            format!("{}:{lineno}", f[1].trim()),
        );
    }
    let classes = CLASSES
        .iter()
        .take(if d.drop_contempt { 7 } else { 8 })
        .map(|s| s.to_string())
        .collect();
    Ok(Dataset {
        classes,
        train,
        val,
        corruption: CorruptionReport::default(),
        skipped,
        origin: format!(
            "FERPlus {} on {}",
            votes_path.display(),
            pixels_path.display()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_vote_drops_unknown_nf_and_ties() {
        assert_eq!(majority(&[0, 8, 1, 0, 0, 0, 0, 0, 1, 0]), Some(1));
        assert_eq!(majority(&[4, 4, 2, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(majority(&[1, 0, 0, 0, 0, 0, 0, 0, 9, 0]), None);
        assert_eq!(majority(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 10]), None);
        assert_eq!(majority(&[0, 0, 0, 0, 0, 0, 0, 6, 4, 0]), Some(7));
        assert_eq!(majority(&[0; 10]), None);
    }
}
