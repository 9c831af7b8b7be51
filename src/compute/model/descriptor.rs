//! Face descriptors of image files from the face ResNet with its pretrained descriptor
//! matrix: what `ferlab describe` prints, to check the port value by value against the
//! original (`bench/face_descriptors.mjs`).

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};

use super::face_resnet::FaceResNet;
use super::{Backbone, FerModel};
use crate::compute::Error;
use crate::compute::model::pretrained::load_pretrained;
use crate::contract::config::{
    Backbone as BackboneKind, FACE_RESNET_DOWN_BLOCKS, FACE_RESNET_MIN_INPUT, Kernels,
    MAX_INPUT_SIZE, ModelConfig, ScaleAffine,
};

/// The face ResNet with the weights of the manifest at `weights`, taking RGB in [0, 1]
/// (no data normalisation to undo) at `input_size`, its last `stride_one` down blocks at
/// stride 1 (`model.stride_one_blocks`); and the loader's report.
pub fn pretrained_face_resnet(
    weights: &Path,
    input_size: usize,
    stride_one: usize,
    dilated: bool,
    affine: ScaleAffine,
    kernels: Kernels,
) -> Result<(FerModel, String), Error> {
    let (lo, hi) = (FACE_RESNET_MIN_INPUT, MAX_INPUT_SIZE);
    if !(lo..=hi).contains(&input_size) {
        return Err(Error::Data(format!(
            "--input-size must be from {lo} to {hi} (150 is the original's), got {input_size}"
        )));
    }
    if stride_one > FACE_RESNET_DOWN_BLOCKS {
        return Err(Error::Data(format!(
            "--stride-one-blocks must be from 0 to {FACE_RESNET_DOWN_BLOCKS}, got {stride_one}"
        )));
    }
    let cfg = ModelConfig {
        backbone: BackboneKind::FaceResnet,
        input_size,
        stride_one_blocks: stride_one,
        stride_one_dilated: dilated,
        scale_affine: affine,
        kernels,
        ..ModelConfig::default()
    };
    let mut model = FerModel::new(&cfg, 3, 1, &Device::Cpu, 0).map_err(Error::from)?;
    model.backbone.set_input_norm(0.0, 1.0);
    let (report, text) = load_pretrained(&model, weights)?;
    // The classifier head `fc` is new: only the backbone must come from the file.
    let backbone_missing = report.missing.iter().any(|n| !n.starts_with("fc."));
    if backbone_missing || !report.mismatched.is_empty() {
        return Err(Error::file(
            weights,
            format!("not the face ResNet's weights: {text}"),
        ));
    }
    Ok((model, text))
}

fn net(model: &FerModel) -> &FaceResNet {
    match &model.backbone {
        Backbone::FaceResnet(n) => n,
        _ => unreachable!("pretrained_face_resnet builds a face ResNet"),
    }
}

/// The largest image side `ferlab describe` reads.
pub const MAX_IMAGE_SIDE: u32 = 4096;

/// An image file as a 1 × 3 × H × W tensor of RGB in [0, 1].
pub fn read_rgb(path: &Path) -> Result<Tensor, Error> {
    let cannot =
        |e: &dyn std::fmt::Display| Error::file(path, format!("cannot read as an image: {e}"));
    let mut reader = image::ImageReader::open(path)
        .map_err(|e| cannot(&e))?
        .with_guessed_format()
        .map_err(|e| cannot(&e))?;
    // A face is resized to the input side anyway; a huge (or hostile) image would take
    // gigabytes as floats before that.
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| cannot(&e))?.to_rgb8();
    let (w, h) = img.dimensions();
    let (w, h) = (w as usize, h as usize);
    let mut planes = vec![0f32; 3 * w * h];
    for (i, px) in img.pixels().enumerate() {
        for c in 0..3 {
            planes[c * w * h + i] = px[c] as f32 / 255.0;
        }
    }
    Tensor::from_vec(planes, (1, 3, h, w), &Device::Cpu).map_err(Error::from)
}

/// The 128-d descriptor of each image (resized to the model's input side if it is not
/// that size already: bilinear with half-pixel centres, which is not face-api's resize —
/// give it faces at the input size to compare with the original).
pub fn face_descriptors(
    model: &FerModel,
    images: &[PathBuf],
) -> Vec<(PathBuf, Result<Vec<f32>, Error>)> {
    let net = net(model);
    images
        .iter()
        .map(|path| {
            let d = read_rgb(path).and_then(|x| {
                let d = net
                    .descriptor(&x)
                    .and_then(|d| d.flatten_all()?.to_vec1::<f32>())
                    .map_err(|e| Error::file(path, e))?;
                match d.iter().find(|v| !v.is_finite()) {
                    Some(v) => Err(Error::file(
                        path,
                        format!("the descriptor holds {v}: the weights overflow on this image"),
                    )),
                    None => Ok(d),
                }
            });
            (path.clone(), d)
        })
        .collect()
}
