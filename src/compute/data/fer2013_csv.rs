//! The original FER2013 csv: `emotion,pixels,Usage`, 48×48 grey pixels as space-separated
//! numbers, `Usage` one of Training / PublicTest / PrivateTest.

use std::io::{BufRead, BufReader};
use std::path::Path;

use super::decode::from_gray;
use super::{CorruptionReport, Dataset, Split};
use crate::compute::Error;
use crate::contract::config::classes::{FER2013_CODE_TO_CLASS, canonical_names};
use crate::contract::config::{BadImagePolicy, DataConfig};

const SIDE: usize = 48;

/// Maps ferlab's split names onto the csv's `Usage` values; other names are used verbatim.
pub fn usage_for(split: &str) -> &str {
    match split {
        "train" => "Training",
        "val" => "PublicTest",
        "test" => "PrivateTest",
        other => other,
    }
}

pub fn load(d: &DataConfig) -> Result<Dataset, Error> {
    let path = d.path.as_path();
    let file = std::fs::File::open(path).map_err(|e| Error::File {
        path: path.to_path_buf(),
        message: format!("cannot open: {e}"),
    })?;
    let train_usage = usage_for(&d.train_split);
    let val_usage = usage_for(&d.val_split);
    let mut train = Split::new(d.image_size, d.channels);
    let mut val = Split::new(d.image_size, d.channels);
    let mut skipped = Vec::new();
    let line_err = |line: usize, message: String| Error::Line {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut header_seen = false;
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let lineno = i + 1;
        let line = line.map_err(|e| line_err(lineno, format!("cannot read: {e}")))?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if !header_seen {
            header_seen = true;
            let cols: Vec<&str> = line.split(',').map(unquote).collect();
            if cols != ["emotion", "pixels", "Usage"] {
                return Err(line_err(
                    lineno,
                    format!("expected the header `emotion,pixels,Usage`, found `{line}`"),
                ));
            }
            continue;
        }
        match parse_row(line) {
            Ok((code, pixels, usage)) => {
                let target = if usage == train_usage {
                    &mut train
                } else if usage == val_usage {
                    &mut val
                } else {
                    continue;
                };
                let planar = from_gray(pixels, SIDE as u32, SIDE as u32, d.image_size, d.channels);
                target.push(
                    &planar,
                    FER2013_CODE_TO_CLASS[code] as u8,
                    None,
                    format!("{}:{lineno}", path.display()),
                );
            }
            Err(e) => match d.on_bad_image {
                BadImagePolicy::Fail => return Err(line_err(lineno, e.reason())),
                BadImagePolicy::Skip => {
                    skipped.push(format!("{}, line {lineno}: {}", path.display(), e.reason()))
                }
            },
        }
    }
    if !header_seen {
        return Err(Error::File {
            path: path.to_path_buf(),
            message: "the csv is empty".into(),
        });
    }
    Ok(Dataset {
        classes: canonical_names(),
        train,
        val,
        corruption: CorruptionReport::default(),
        skipped,
        origin: format!("FER2013 csv {}", display(path)),
    })
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// A CSV field without its surrounding spaces and double quotes (the pixel field is
/// quoted by many CSV writers; it holds no comma, so splitting on commas stays right).
fn unquote(field: &str) -> &str {
    let f = field.trim();
    f.strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .unwrap_or(f)
        .trim()
}

pub(super) fn parse_row(line: &str) -> Result<(usize, Vec<u8>, &str), Error> {
    let mut cols = line.splitn(3, ',').map(unquote);
    let (Some(e), Some(p), Some(u)) = (cols.next(), cols.next(), cols.next()) else {
        return Err(Error::Data(
            "expected 3 columns: emotion,pixels,Usage".into(),
        ));
    };
    let code: usize = e
        .trim()
        .parse()
        .map_err(|_| Error::Data(format!("emotion `{}` is not a number 0-6", e.trim())))?;
    if code >= 7 {
        return Err(Error::Data(format!("emotion {code} is out of range 0-6")));
    }
    let mut pixels = Vec::with_capacity(SIDE * SIDE);
    for tok in p.split_ascii_whitespace() {
        let v: u16 = tok
            .parse()
            .map_err(|_| Error::Data(format!("pixel `{tok}` is not a number 0-255")))?;
        if v > 255 {
            return Err(Error::Data(format!("pixel {v} is out of range 0-255")));
        }
        pixels.push(v as u8);
    }
    if pixels.len() != SIDE * SIDE {
        return Err(Error::Data(format!(
            "expected {} pixels, found {}",
            SIDE * SIDE,
            pixels.len()
        )));
    }
    Ok((code, pixels, u.trim()))
}
