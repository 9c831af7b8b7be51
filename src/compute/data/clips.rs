//! Reaction clips brought by the user: face crops laid out as
//! `ROOT/<video>/<frame>/<face_id>.<png|jpg|jpeg|bmp>`, where `<face_id>` names the same
//! person in every frame of a video. Frames sort by number when their names are numbers.
//! RMFER's prior reads off this layout (`data::unlabeled` indexes it): faces of one frame
//! are candidate positives (people reacting to the same moment), the same face far apart in
//! time a candidate negative.

use std::path::{Path, PathBuf};

use crate::compute::Error;

const EXTENSIONS: [&str; 4] = ["png", "jpg", "jpeg", "bmp"];

/// One face crop of a clip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipFace {
    pub path: PathBuf,
    /// Index into `ClipSet::videos`.
    pub video: usize,
    /// The frame's position in its video (0-based, in time order).
    pub frame: usize,
    /// The person, as named by the file stem.
    pub person: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClipSet {
    pub videos: Vec<String>,
    pub faces: Vec<ClipFace>,
}

/// Folder or file names in time order: numerically where every name is a number.
fn sorted_names(mut names: Vec<String>) -> Vec<String> {
    if names.iter().all(|n| n.parse::<u64>().is_ok()) {
        names.sort_by_key(|n| n.parse::<u64>().unwrap_or(0));
    } else {
        names.sort();
    }
    names
}

fn entries(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let read = std::fs::read_dir(dir).map_err(|e| Error::io("cannot read", dir, e))?;
    Ok(read.filter_map(|e| e.ok().map(|e| e.path())).collect())
}

fn name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Lists every face of every clip under `root`; a file where a folder belongs (or the
/// reverse) is an error naming it.
pub fn scan_clips(root: &Path) -> Result<ClipSet, Error> {
    let mut set = ClipSet::default();
    let videos: Vec<PathBuf> = entries(root)?;
    if let Some(f) = videos.iter().find(|p| !p.is_dir()) {
        return Err(Error::file(
            f,
            "expected a folder per video (ROOT/<video>/<frame>/<face_id>.png)",
        ));
    }
    for video_name in sorted_names(videos.iter().map(|p| name(p)).collect()) {
        let video_dir = root.join(&video_name);
        let frames = entries(&video_dir)?;
        if let Some(f) = frames.iter().find(|p| !p.is_dir()) {
            return Err(Error::file(
                f,
                format!("expected a folder per frame inside video {video_name}"),
            ));
        }
        let video = set.videos.len();
        set.videos.push(video_name);
        for (frame, frame_name) in sorted_names(frames.iter().map(|p| name(p)).collect())
            .into_iter()
            .enumerate()
        {
            let frame_dir = video_dir.join(&frame_name);
            let mut faces: Vec<PathBuf> = entries(&frame_dir)?
                .into_iter()
                .filter(|p| {
                    p.extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
                })
                .collect();
            if let Some(d) = faces.iter().find(|p| p.is_dir()) {
                return Err(Error::file(d, "expected face images in a frame folder"));
            }
            faces.sort();
            for path in faces {
                let person = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                set.faces.push(ClipFace {
                    path,
                    video,
                    frame,
                    person,
                });
            }
        }
    }
    if set.faces.is_empty() {
        return Err(Error::file(root, "no face images found"));
    }
    Ok(set)
}
