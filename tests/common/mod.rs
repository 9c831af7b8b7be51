//! Helpers shared by the integration tests: tiny experiments and fixture writers.
#![allow(dead_code)]

use std::path::Path;

use ferlab::config::Experiment;

/// A small synthetic experiment that trains in seconds.
pub fn tiny_experiment(out: &Path) -> Experiment {
    let text = format!(
        r#"
name = "tiny"
seed = 3
[data]
image_size = 32
[data.synthetic]
train_per_class = 40
val_per_class = 12
identities = 30
[augment]
crop_padding = 2
brightness = 0.1
contrast = 0.1
[model]
width = 8
[optimizer]
lr = 0.003
[train]
epochs = 3
batch_size = 32
log_every = 1
[output]
dir = "{}"
"#,
        out.display()
    );
    Experiment::from_toml(&text, "tiny", &[]).expect("valid tiny experiment")
}

/// Writes a grey PNG or JPEG of `size` × `size` with a pattern depending on `seed`.
pub fn write_image(path: &Path, size: u32, seed: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let img = image::GrayImage::from_fn(size, size, |x, y| {
        image::Luma([((x * 7 + y * 13 + seed * 31) % 256) as u8])
    });
    img.save(path).unwrap();
}
