//! `ferlab describe`: the face ResNet's 128-d descriptors of image files with its
//! pretrained weights, one JSON object per line — to check the port value by value against
//! the original TensorFlow.js network (`bench/face-descriptors.sh`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use ferlab::compute::model::descriptor::{face_descriptors, pretrained_face_resnet};
use ferlab::contract::config::{Kernels, ScaleAffine};

#[derive(Args, Debug)]
pub struct DescribeArgs {
    /// The face ResNet's TensorFlow.js weights manifest (face_recognition_model-weights_manifest.json).
    #[arg(long)]
    pub weights: PathBuf,
    /// Images (PNG, JPEG, PPM), RGB; resized to the input side if they are not that size.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// The network's input side (150 is the original's).
    #[arg(long, default_value_t = 150)]
    pub input_size: usize,
    /// How many of the last down blocks run at stride 1 (`model.stride_one_blocks`; 0 is
    /// the original network).
    #[arg(long, default_value_t = 0)]
    pub stride_one_blocks: usize,
    /// With stride-1 blocks, the later convolutions dilated (`model.stride_one_dilated`).
    #[arg(long)]
    pub stride_one_dilated: bool,
    /// The scale layers folded into the convolutions, or kept apart.
    #[arg(long, value_enum, default_value = "folded")]
    pub scale_affine: AffineArg,
    /// Run candle's own operations instead of ferlab's kernels.
    #[arg(long)]
    pub candle: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum AffineArg {
    Folded,
    Separate,
}

pub fn run(a: DescribeArgs) -> Result<()> {
    let affine = match a.scale_affine {
        AffineArg::Folded => ScaleAffine::Folded,
        AffineArg::Separate => ScaleAffine::Separate,
    };
    let kernels = if a.candle {
        Kernels::Candle
    } else {
        Kernels::Auto
    };
    let (model, report) = pretrained_face_resnet(
        &a.weights,
        a.input_size,
        a.stride_one_blocks,
        a.stride_one_dilated,
        affine,
        kernels,
    )?;
    eprintln!("{report}");
    let mut out = std::io::stdout().lock();
    let mut failed = Vec::new();
    for (path, d) in face_descriptors(&model, &a.images) {
        match d {
            Ok(d) => {
                let line =
                    serde_json::json!({ "file": path.display().to_string(), "descriptor": d });
                writeln!(out, "{line}")?;
            }
            Err(e) => {
                eprintln!("error: {e}");
                failed.push(path);
            }
        }
    }
    // The good images are printed; the exit status says that some were not.
    match failed.len() {
        0 => Ok(()),
        n => Err(anyhow::anyhow!(
            "{n} of {} images could not be described (named above)",
            a.images.len()
        )),
    }
}
