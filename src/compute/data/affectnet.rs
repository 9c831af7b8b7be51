//! AffectNet (manually annotated part): `root/training.csv` and `root/validation.csv` with
//! columns subDirectory_filePath, face_x, face_y, face_width, face_height,
//! facial_landmarks, expression, valence, arousal; images under
//! `root/Manually_Annotated_Images/`. Each face is cropped to its box before resizing.
//! Expressions 0..7 = neutral, happy, sad, surprise, fear, disgust, anger, contempt (the
//! dataset's order, kept); 8..10 (none, uncertain, no face) are dropped, and contempt too
//! with `data.drop_contempt` (AffectNet-7).

use super::listed::{ListedImage, csv_fields, load_listed};
use super::{CorruptionReport, Dataset};
use crate::compute::Error;
use crate::contract::config::DataConfig;
use crate::contract::config::layout::{AFFECTNET_IMAGE_DIR, affectnet_csv};

pub const CLASSES: [&str; 8] = [
    "neutral", "happy", "sad", "surprise", "fear", "disgust", "anger", "contempt",
];
const COLUMNS: [&str; 9] = [
    "subDirectory_filePath",
    "face_x",
    "face_y",
    "face_width",
    "face_height",
    "facial_landmarks",
    "expression",
    "valence",
    "arousal",
];

fn read_split(d: &DataConfig, split: &str) -> Result<Vec<ListedImage>, Error> {
    let path = affectnet_csv(&d.path, split);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::File {
        path: path.clone(),
        message: format!("cannot read: {e}"),
    })?;
    let err = |line: usize, message: String| Error::Line {
        path: path.clone(),
        line,
        message,
    };
    let mut lines = text.lines().enumerate();
    let Some((_, header)) = lines.next() else {
        return Err(err(1, "the csv is empty".into()));
    };
    let cols = csv_fields(header.trim());
    if cols.iter().map(|c| c.trim()).ne(COLUMNS) {
        return Err(err(
            1,
            format!(
                "expected the header `{}`, found `{header}`",
                COLUMNS.join(",")
            ),
        ));
    }
    let classes = if d.drop_contempt { 7 } else { 8 };
    let mut out = Vec::new();
    for (i, line) in lines {
        let lineno = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let f = csv_fields(line.trim());
        if f.len() != COLUMNS.len() {
            return Err(err(
                lineno,
                format!("expected {} columns, found {}", COLUMNS.len(), f.len()),
            ));
        }
        let num = |k: usize| -> Result<f64, Error> {
            f[k].trim().parse::<f64>().map_err(|_| {
                err(
                    lineno,
                    format!("column `{}`: `{}` is not a number", COLUMNS[k], f[k].trim()),
                )
            })
        };
        let expression = num(6)?;
        if expression < 0.0 || expression.fract() != 0.0 || expression > 10.0 {
            return Err(err(
                lineno,
                format!("column `expression`: {expression} is not a code 0..10"),
            ));
        }
        let expression = expression as usize;
        if expression >= classes {
            continue;
        }
        let bx = [num(1)?, num(2)?, num(3)?, num(4)?];
        let crop = (bx[2] > 0.0 && bx[3] > 0.0).then(|| {
            (
                bx[0].max(0.0) as u32,
                bx[1].max(0.0) as u32,
                bx[2] as u32,
                bx[3] as u32,
            )
        });
        out.push(ListedImage {
            path: d.path.join(AFFECTNET_IMAGE_DIR).join(f[0].trim()),
            label: expression as u8,
            truth: None,
            crop,
            source: format!("{}, line {lineno}", path.display()),
        });
    }
    Ok(out)
}

pub fn load(d: &DataConfig) -> Result<Dataset, Error> {
    let mut skipped = Vec::new();
    let train = load_listed(read_split(d, &d.train_split)?, d, &mut skipped)?;
    let val = load_listed(read_split(d, &d.val_split)?, d, &mut skipped)?;
    let n = if d.drop_contempt { 7 } else { 8 };
    Ok(Dataset {
        classes: CLASSES.iter().take(n).map(|s| s.to_string()).collect(),
        train,
        val,
        corruption: CorruptionReport::default(),
        skipped,
        origin: format!("AffectNet {}", d.path.display()),
    })
}
