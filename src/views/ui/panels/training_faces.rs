//! A run's training faces as small grayscale pictures, rebuilt from its recorded config on
//! a helper thread: the mining gallery pages through every moved sample, and a report
//! carries pictures of only 32 of them.
//!
//! The split is rebuilt as training built it (`data::build`: same files, subsampling and
//! label noise from the run's seed), so a report's sample index names the same face. Image
//! folders are read at thumbnail size in one channel (what a face is and where it stands do
//! not depend on its pixel size); generated faces are generated as the run had them. When
//! the rebuilt split's size differs from the one the run recorded, its data changed since,
//! and no picture is shown rather than a wrong one.

use crossbeam_channel::{Receiver, bounded};

use crate::compute::data;
use crate::compute::method::REGISTRY;
use crate::contract::config::{DataSource, Experiment};

/// Side of a thumbnail read from image folders.
pub const THUMB_SIDE: usize = 48;

/// Every training face, one gray plane each.
pub struct TrainingFaces {
    pub side: usize,
    pixels: Vec<u8>,
}

impl TrainingFaces {
    pub fn len(&self) -> usize {
        self.pixels.len() / (self.side * self.side).max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The face at `index` of the training split.
    pub fn face(&self, index: usize) -> Option<&[u8]> {
        let n = self.side * self.side;
        self.pixels.get(index * n..(index + 1) * n)
    }
}

/// Rebuilds the training split of a run from its config text; `recorded_count` is how many
/// training faces the run reported (its data stats), checked against the rebuilt split.
pub fn load(config: &str, recorded_count: Option<usize>) -> Result<TrainingFaces, String> {
    let mut exp = Experiment::recorded_from_toml(config, "the run's config", &[], &REGISTRY)
        .map_err(|e| e.to_string())?;
    if exp.data.source != DataSource::Synthetic {
        exp.data.image_size = THUMB_SIDE;
        exp.data.channels = 1;
    }
    let ds = data::build(&exp).map_err(|e| format!("the run's data cannot be read: {e}"))?;
    if let Some(then) = recorded_count
        && then != ds.train.len()
    {
        return Err(format!(
            "the run's training data changed since it trained ({} faces now, {then} then): \
             its sample numbers no longer name the same faces",
            ds.train.len()
        ));
    }
    let side = ds.train.size;
    let plane = side * side;
    let mut pixels = Vec::with_capacity(ds.train.len() * plane);
    for i in 0..ds.train.len() {
        // The first channel is enough for a thumbnail.
        pixels.extend_from_slice(&ds.train.image(i)[..plane]);
    }
    Ok(TrainingFaces { side, pixels })
}

/// Where the faces of one run stand.
#[derive(Default)]
pub enum FacesState {
    #[default]
    NotAsked,
    Loading(Receiver<Result<TrainingFaces, String>>),
    Ready(TrainingFaces),
    Failed(String),
}

/// The faces of the run the mining panel shows, loaded once per run.
#[derive(Default)]
pub struct FaceLoader {
    /// The run (its id) the state is for.
    pub run: String,
    pub state: FacesState,
}

impl FaceLoader {
    /// Forgets another run's faces.
    pub fn follow(&mut self, run: &str) {
        if self.run != run {
            self.run = run.to_string();
            self.state = FacesState::NotAsked;
        }
    }

    /// Starts loading on a helper thread (once).
    pub fn request(&mut self, config: String, recorded_count: Option<usize>, ctx: &egui::Context) {
        if !matches!(self.state, FacesState::NotAsked) {
            return;
        }
        let (tx, rx) = bounded(1);
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("ferlab-training-faces".into())
            .spawn(move || {
                let _ = tx.send(load(&config, recorded_count));
                ctx.request_repaint();
            });
        self.state = match spawned {
            Ok(_) => FacesState::Loading(rx),
            Err(e) => FacesState::Failed(format!("cannot start a thread to read them: {e}")),
        };
    }

    /// Takes a finished load.
    pub fn poll(&mut self) {
        if let FacesState::Loading(rx) = &self.state
            && let Ok(result) = rx.try_recv()
        {
            self.state = match result {
                Ok(faces) => FacesState::Ready(faces),
                Err(e) => FacesState::Failed(e),
            };
        }
    }

    pub fn faces(&self) -> Option<&TrainingFaces> {
        match &self.state {
            FacesState::Ready(f) => Some(f),
            _ => None,
        }
    }
}
