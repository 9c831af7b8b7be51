//! Unlabeled faces of reaction clips, in memory, with the clip structure RMFER's prior reads:
//! which faces share a frame and which are the same person. Built from the synthetic clip
//! generator (hidden expressions kept as truth) or from the user's clip folders.

use std::collections::HashMap;

use rayon::prelude::*;

use super::clips::scan_clips;
use super::decode::decode_file;
use super::synthetic::clips::{ClipConfig, generate_clips};
use crate::compute::Error;
use crate::contract::config::{Experiment, UnlabeledSource};

/// Faces of reaction clips: pixels `N × C × S × S` and where each face sits in its clip.
#[derive(Debug, Clone, Default)]
pub struct Unlabeled {
    pub size: usize,
    pub channels: usize,
    pub images: Vec<u8>,
    pub video: Vec<usize>,
    pub frame: Vec<usize>,
    /// The person, numbered within the whole set.
    pub person: Vec<usize>,
    /// Hidden expressions (synthetic clips only); never seen by training.
    pub truth: Option<Vec<u8>>,
    /// File path or generator id of each face.
    pub ids: Vec<String>,
    pub origin: String,
    /// Faces of each (video, frame), and of each person, for the prior's lookups.
    by_frame: HashMap<(usize, usize), Vec<usize>>,
    by_person: HashMap<usize, Vec<usize>>,
}

impl Unlabeled {
    fn indexed(mut self) -> Self {
        for i in 0..self.len() {
            self.by_frame
                .entry((self.video[i], self.frame[i]))
                .or_default()
                .push(i);
            self.by_person.entry(self.person[i]).or_default().push(i);
        }
        self
    }

    pub fn len(&self) -> usize {
        self.video.len()
    }

    pub fn is_empty(&self) -> bool {
        self.video.is_empty()
    }

    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.channels * self.size * self.size;
        &self.images[i * n..(i + 1) * n]
    }

    /// Candidate positives of face `a` under the clip prior: the other faces of its frame.
    pub fn positives(&self, a: usize) -> Vec<usize> {
        self.by_frame[&(self.video[a], self.frame[a])]
            .iter()
            .copied()
            .filter(|&i| i != a)
            .collect()
    }

    /// Candidate negatives of face `a`: the same person at least `min_gap` frames away.
    pub fn negatives(&self, a: usize, min_gap: usize) -> Vec<usize> {
        self.by_person[&self.person[a]]
            .iter()
            .copied()
            .filter(|&i| self.frame[i].abs_diff(self.frame[a]) >= min_gap)
            .collect()
    }

    /// Faces the prior gives at least one candidate positive and one negative.
    pub fn anchors(&self, min_gap: usize) -> Vec<usize> {
        (0..self.len())
            .filter(|&a| {
                self.by_frame[&(self.video[a], self.frame[a])].len() > 1
                    && self.by_person[&self.person[a]]
                        .iter()
                        .any(|&i| self.frame[i].abs_diff(self.frame[a]) >= min_gap)
            })
            .collect()
    }
}

/// Loads the experiment's unlabeled faces, if it has any.
pub fn load(exp: &Experiment) -> Result<Option<Unlabeled>, Error> {
    let u = &exp.unlabeled;
    let (size, channels) = (exp.data.image_size, exp.data.channels);
    let set = match u.source {
        UnlabeledSource::None => return Ok(None),
        UnlabeledSource::SyntheticClips => {
            let cfg = ClipConfig {
                videos: u.videos,
                people_per_video: u.people,
                frames: u.frames,
                max_lag: u.max_lag,
                deviation: u.deviation,
                ..ClipConfig::default()
            };
            // Its own seed stream: the clips' people are not the labelled sets' identities.
            let seed = crate::contract::seed::derive(exp.seed, &[13]);
            let clips = generate_clips(&cfg, size, channels, exp.data.synthetic.pixel_noise, seed);
            let ids = (0..clips.len())
                .map(|i| {
                    format!(
                        "clip v{} f{} p{}",
                        clips.video[i], clips.frame[i], clips.person[i]
                    )
                })
                .collect();
            Unlabeled {
                size,
                channels,
                person: (0..clips.len())
                    .map(|i| clips.video[i] * u.people + clips.person[i])
                    .collect(),
                images: clips.pixels,
                video: clips.video,
                frame: clips.frame,
                truth: Some(clips.truth),
                ids,
                origin: format!(
                    "synthetic reaction clips: {} videos x {} people x {} frames",
                    u.videos, u.people, u.frames
                ),
                ..Unlabeled::default()
            }
        }
        UnlabeledSource::Clips => {
            let set = scan_clips(&u.path)?;
            let decoded: Vec<Result<Vec<u8>, Error>> = set
                .faces
                .par_iter()
                .map(|f| decode_file(&f.path, size, channels))
                .collect();
            let mut out = Unlabeled {
                size,
                channels,
                origin: format!(
                    "clips under {}: {} videos, {} faces",
                    u.path.display(),
                    set.videos.len(),
                    set.faces.len()
                ),
                ..Unlabeled::default()
            };
            let mut people: HashMap<(usize, String), usize> = HashMap::new();
            for (face, pixels) in set.faces.iter().zip(decoded) {
                let pixels = pixels?;
                let next = people.len();
                let person = *people
                    .entry((face.video, face.person.clone()))
                    .or_insert(next);
                out.images.extend_from_slice(&pixels);
                out.video.push(face.video);
                out.frame.push(face.frame);
                out.person.push(person);
                out.ids.push(face.path.display().to_string());
            }
            out
        }
    };
    Ok(Some(set.indexed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_clips_index_frames_and_people() {
        let mut exp = Experiment::default();
        exp.data.image_size = 16;
        exp.unlabeled.source = UnlabeledSource::SyntheticClips;
        exp.unlabeled.videos = 2;
        exp.unlabeled.people = 3;
        exp.unlabeled.frames = 12;
        let u = load(&exp).unwrap().unwrap();
        assert_eq!(u.len(), 2 * 3 * 12);
        assert_eq!(u.images.len(), u.len() * 16 * 16);
        for a in [0, 17, 40] {
            let pos = u.positives(a);
            assert_eq!(pos.len(), 2, "two other people in the frame");
            assert!(
                pos.iter()
                    .all(|&i| u.frame[i] == u.frame[a] && u.video[i] == u.video[a] && i != a)
            );
            let neg = u.negatives(a, 5);
            assert!(!neg.is_empty());
            assert!(
                neg.iter()
                    .all(|&i| u.person[i] == u.person[a] && u.frame[i].abs_diff(u.frame[a]) >= 5)
            );
        }
        // People of different videos are different people.
        assert_ne!(u.person[0], u.person[3 * 12]);
        assert_eq!(u.anchors(5).len(), u.len());
        assert!(u.anchors(20).is_empty(), "no frames 20 apart in 12");
    }
}
