//! `root/<split>/<class>/*.{jpg,jpeg,png}`: the common image-folder layout (FER2013 as
//! distributed in `../shared/datasets/fer2013`, most Kaggle mirrors, exported RAF-DB).

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::decode::decode_file;
use super::{CorruptionReport, Dataset, Split};
use crate::compute::Error;
use crate::contract::config::classes::{ClassMatch, canonical_names, match_class_folder};
use crate::contract::config::{BadImagePolicy, DataConfig};

const EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

pub fn load(d: &DataConfig) -> Result<Dataset, Error> {
    let mut skipped = Vec::new();
    let train = load_split(&d.path.join(&d.train_split), d, &mut skipped)?;
    let val = load_split(&d.path.join(&d.val_split), d, &mut skipped)?;
    Ok(Dataset {
        classes: canonical_names(),
        train,
        val,
        corruption: CorruptionReport::default(),
        skipped,
        origin: format!("image folder {}", d.path.display()),
    })
}

/// Loads one split folder `root/<split>` (for evaluation on a single folder).
pub fn load_one(d: &DataConfig, split: &str) -> Result<(Split, Vec<String>), Error> {
    let mut skipped = Vec::new();
    let s = load_split(&d.path.join(split), d, &mut skipped)?;
    Ok((s, skipped))
}

/// Lists `(path, class)` of every image below `dir`, sorted by class folder then file name.
pub fn list_images(dir: &Path) -> Result<Vec<(PathBuf, usize)>, Error> {
    let read = |p: &Path| {
        std::fs::read_dir(p).map_err(|e| Error::File {
            path: p.to_path_buf(),
            message: format!("cannot list folder: {e}"),
        })
    };
    // An entry that cannot be read (a dangling link, a symlink loop, no permission) is an
    // error naming it: dropping it would silently drop a class.
    let mut class_dirs: Vec<PathBuf> = Vec::new();
    for entry in read(dir)? {
        let entry = entry.map_err(|e| Error::File {
            path: dir.to_path_buf(),
            message: format!("cannot list folder: {e}"),
        })?;
        let path = entry.path();
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => class_dirs.push(path),
            Ok(_) => {}
            Err(e) => {
                return Err(Error::File {
                    path,
                    message: format!("cannot read this entry of the split folder: {e}"),
                });
            }
        }
    }
    class_dirs.sort();
    let mut out = Vec::new();
    for cdir in class_dirs {
        let name = cdir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let ClassMatch::Class(cls) = match_class_folder(&name) else {
            return Err(Error::File {
                path: cdir,
                message: "class folder matches no class".into(),
            });
        };
        let mut files: Vec<PathBuf> = read(&cdir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            })
            .collect();
        files.sort();
        out.extend(files.into_iter().map(|f| (f, cls)));
    }
    Ok(out)
}

fn load_split(dir: &Path, d: &DataConfig, skipped: &mut Vec<String>) -> Result<Split, Error> {
    let files = list_images(dir)?;
    let decoded: Vec<Result<Vec<u8>, Error>> = files
        .par_iter()
        .map(|(path, _)| decode_file(path, d.image_size, d.channels))
        .collect();
    let mut split = Split::new(d.image_size, d.channels);
    split.images.reserve(files.len() * split.pixels_per_image());
    for ((path, cls), result) in files.into_iter().zip(decoded) {
        match result {
            Ok(pixels) => split.push(&pixels, cls as u8, None, path.display().to_string()),
            Err(e) => match d.on_bad_image {
                BadImagePolicy::Fail => {
                    return Err(Error::File {
                        path,
                        message: format!(
                            "unreadable image ({}); set data.on_bad_image = \"skip\" to skip such files",
                            e.reason()
                        ),
                    });
                }
                BadImagePolicy::Skip => skipped.push(e.to_string()),
            },
        }
    }
    Ok(split)
}
