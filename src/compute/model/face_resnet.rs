//! dlib's face recognition ResNet (the network of `@vladmandic/face-api`'s
//! `faceRecognitionNet`, written from its TypeScript sources): a 7×7/2 'valid' convolution
//! and 3×3/2 max pool, then residual blocks of 32, 64, 128 and 256 channels — 29
//! convolutions — global average pooling and a 256 → 128 matrix giving the face descriptor.
//! Every convolution has a bias and is followed by a per-channel `scale` layer (dlib's
//! batch norm, frozen after training). A down block halves with a 3×3/2 'valid'
//! convolution; its shortcut is a 2×2 average pool with the new channels zero-padded, and
//! where the convolution comes out one row and column short they are zero-padded too.
//!
//! For classification the head reads the 256 pooled features (the descriptor matrix is kept
//! as a buffer for [`FaceResNet::descriptor`]), and class activation maps come from the last
//! feature map as with the other backbones (2 × 2 at the native 150 px, 1 × 1 at 112).
//!
//! **Where this departs from the original** (`model.stride_one_blocks` > 0): maps of 1×1 or
//! 2×2 leave nothing for flip consistency to compare (a 1×1 map is its own mirror), while the
//! papers read 7×7 maps of a ResNet at 224 px. As person re-identification's "last stride 1"
//! does, the last N down blocks keep their input's size: their first convolution runs at
//! stride 1 with 'same' padding (the original: stride 2, 'valid'), and their shortcut skips
//! the 2×2 average pool (at stride 1 there is nothing to pool down to) and only widens the
//! channels with zeros. The filters are the pretrained ones; each later layer sees its
//! features at twice the resolution it was trained on, without dilation (so its receptive
//! field in the face halves). The descriptors move from the original's by as much as
//! `bench/face-resnet-maps.sh` measures.
//!
//! With `model.stride_one_dilated` the network is made dense as DeepLab's "atrous" networks
//! are, so each pretrained filter keeps its receptive field: after a down block kept at
//! stride 1 every convolution is dilated by 2 (by 4 after two such blocks; a kept block's
//! first convolution runs at the rate before it), and the kept block's shortcut is the
//! 2×2 average pool at stride 1 whose window at `i` is `{i − r, i}` (zeros before the
//! start) instead of none. On the grid the original computes — the odd positions after one
//! kept block, those `≡ 3 (mod 4)` after two — the maps then hold the original's values
//! exactly wherever the original's 'valid' convolution needed no zero row (odd map sides:
//! 120 px with two kept blocks gives 7×7 maps whose centre is the original's 1×1), and
//! the positions between are the same filters on windows shifted by one step of the
//! original's grid. A dilated convolution runs as the ordinary one on the map's
//! interleaved sub-grids (`ops::atrous`).
//!
//! The input adapter resizes the data's faces (bilinear, half-pixel centres) to
//! `model.input_size` and replicates grey to RGB inside the model, so the data and its
//! augmentation stay at the dataset's size; it undoes the data's `(x − mean) / std` and
//! applies the original's normalisation `(255·x − mean_rgb) / 255`.
//!
//! The `scale` layers train as `model.scale_affine` says: folded into the convolution's
//! filters and bias (default), or as their own learnable scale and shift. Tensor names are
//! the manifest's with `/` → `.`, `conv/filters` → `weight`; [`from_tfjs`] converts.

use std::collections::HashMap;

use candle_core::{DType, Device, Result, Tensor, Var};
use rand::Rng;

use super::layers::{Collector, Conv2d, ConvSpec, Mode, join};
use crate::compute::ops;
use crate::contract::config::{
    FACE_RESNET_DOWN_BLOCKS, Kernels, ScaleAffine, face_resnet_map_side,
};

/// dlib's mean RGB, in 0-255 pixel values.
pub const MEAN_RGB: [f32; 3] = [122.782, 117.001, 104.298];

/// Width of the pooled features the classifier reads.
pub const FEATURES: usize = 256;
/// Width of the face descriptor.
pub const DESCRIPTOR: usize = 128;

/// The residual blocks in order: manifest prefix, output channels, whether it halves.
pub const BLOCKS: [(&str, usize, bool); 14] = [
    ("conv32_1", 32, false),
    ("conv32_2", 32, false),
    ("conv32_3", 32, false),
    ("conv64_down", 64, true),
    ("conv64_1", 64, false),
    ("conv64_2", 64, false),
    ("conv64_3", 64, false),
    ("conv128_down", 128, true),
    ("conv128_1", 128, false),
    ("conv128_2", 128, false),
    ("conv256_down", 256, true),
    ("conv256_1", 256, false),
    ("conv256_2", 256, false),
    ("conv256_down_out", 256, true),
];

/// A convolution with bias followed by the per-channel `scale` layer (and optionally ReLU).
/// Folded, `scale` is a constant 1 and `shift` holds the folded bias; separate, both learn.
pub struct ScaledConv {
    pub conv: Conv2d,
    pub scale: Option<Var>,
    ones: Tensor,
    pub shift: Var,
    /// Dilation of a 3×3 'same' convolution at stride 1 (1: none; see the module doc).
    pub dilation: usize,
}

impl ScaledConv {
    fn new(
        spec: ConvSpec,
        affine: ScaleAffine,
        kernels: Kernels,
        rng: &mut impl Rng,
        device: &Device,
    ) -> Result<Self> {
        let c = spec.cout;
        Ok(Self {
            conv: Conv2d::new(spec, kernels, rng, device)?,
            scale: match affine {
                ScaleAffine::Folded => None,
                ScaleAffine::Separate => Some(Var::ones(c, DType::F32, device)?),
            },
            ones: Tensor::ones(c, DType::F32, device)?,
            shift: Var::zeros(c, DType::F32, device)?,
            dilation: 1,
        })
    }

    fn dilated(mut self, rate: usize) -> Self {
        self.dilation = rate;
        self
    }

    fn forward(&self, x: &Tensor, mode: Mode, relu: bool) -> Result<Tensor> {
        let scale = self.scale.as_ref().map_or(&self.ones, |s| s.as_tensor());
        let c = &self.conv;
        // In training one graph node with a backward; in evaluation no graph at all.
        let conv_affine = if mode.is_train() {
            ops::conv2d_affine_train
        } else {
            ops::conv2d_affine
        };
        ops::atrous::dilated(x, self.dilation, |x| {
            conv_affine(
                x,
                c.weight.as_tensor(),
                scale,
                self.shift.as_tensor(),
                c.stride,
                c.pad,
                relu,
                c.kernels,
            )
        })
    }

    fn collect(&self, prefix: &str, c: &mut Collector) {
        c.param(prefix, "weight", &self.conv.weight);
        if let Some(s) = &self.scale {
            c.param(prefix, "scale", s);
        }
        c.param(prefix, "shift", &self.shift);
    }
}

pub struct Residual {
    pub conv1: ScaledConv,
    pub conv2: ScaledConv,
    /// A down block: its shortcut widens the channels with zeros.
    pub down: bool,
    /// A down block that halves (the original); false at stride 1 (see the module doc).
    pub halves: bool,
    /// A down block at stride 1 in a dilated network: its shortcut is the dense 2×2
    /// average pool at this rate (see the module doc).
    pub dense_pool: Option<usize>,
}

impl Residual {
    fn forward(&self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        let h = self.conv1.forward(x, mode, true)?;
        let h = self.conv2.forward(&h, mode, false)?;
        let kernels = self.conv1.conv.kernels;
        if !self.down {
            return ops::add_relu(&h, x, kernels);
        }
        if let Some(rate) = self.dense_pool {
            return ops::atrous::dense_shortcut_add_relu(&h, x, rate);
        }
        // The original pads the convolution's output at the bottom and right to the
        // shortcut's size, and the shortcut's channels with zeros.
        ops::down_shortcut_add_relu(&h, x, self.halves, kernels)
    }

    fn collect(&self, prefix: &str, c: &mut Collector) {
        self.conv1.collect(&join(prefix, "conv1"), c);
        self.conv2.collect(&join(prefix, "conv2"), c);
    }
}

/// Bilinear resampling of the last two axes from `from` to `to` samples as a `to × from`
/// matrix (half-pixel centres, edges clamped: PyTorch's `align_corners=False`).
fn resize_matrix(from: usize, to: usize, device: &Device) -> Result<Tensor> {
    let mut m = vec![0f32; to * from];
    let ratio = from as f64 / to as f64;
    for i in 0..to {
        let src = ((i as f64 + 0.5) * ratio - 0.5).clamp(0.0, (from - 1) as f64);
        let i0 = src.floor() as usize;
        let i1 = (i0 + 1).min(from - 1);
        let f = (src - i0 as f64) as f32;
        m[i * from + i0] += 1.0 - f;
        m[i * from + i1] += f;
    }
    Tensor::from_vec(m, (to, from), device)
}

/// How the data's tensors become the network's input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InputAdapter {
    /// Side of the network's input.
    pub size: usize,
    /// The data's normalisation `(x − mean) / std` (x in [0, 1]), undone first.
    pub mean: f32,
    pub std: f32,
}

impl InputAdapter {
    /// N × C × h × w data (C = 1 or 3) → N × 3 × size × size, normalised as the original.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (_, c, h, w) = x.dims4()?;
        let device = x.device();
        let mut x = x.affine(self.std as f64, self.mean as f64)?;
        if w != self.size {
            x = x.broadcast_matmul(&resize_matrix(w, self.size, device)?.t()?)?;
        }
        if h != self.size {
            x = resize_matrix(h, self.size, device)?.broadcast_matmul(&x)?;
        }
        if c == 1 {
            x = Tensor::cat(&[&x, &x, &x], 1)?;
        }
        let mean = Tensor::from_vec(MEAN_RGB.map(|m| m / 255.0).to_vec(), (1, 3, 1, 1), device)?;
        x.broadcast_sub(&mean)
    }
}

pub struct FaceResNet {
    pub input: InputAdapter,
    pub stem: ScaledConv,
    pub blocks: Vec<Residual>,
    /// The 256 → 128 descriptor matrix (a buffer: the classifier does not use it).
    pub descriptor: Var,
    pub out_channels: usize,
}

fn spec(cin: usize, cout: usize, k: usize, stride: usize, pad: usize) -> ConvSpec {
    ConvSpec {
        cin,
        cout,
        k,
        stride,
        pad,
    }
}

impl FaceResNet {
    /// A network with fresh weights (Kaiming-normal filters, scale 1, shift 0), its input
    /// adapter set to `input` and its last `stride_one` down blocks at stride 1 (checked:
    /// [`face_resnet_map_side`]), the convolutions after them dilated where `dilated`.
    pub fn new(
        input: InputAdapter,
        stride_one: usize,
        dilated: bool,
        affine: ScaleAffine,
        kernels: Kernels,
        rng: &mut impl Rng,
        device: &Device,
    ) -> Result<Self> {
        if face_resnet_map_side(input.size, stride_one).is_none() {
            candle_core::bail!(
                "the face ResNet needs an input of at least {} px and at most {} stride-1 blocks, got {} px and {stride_one}",
                crate::contract::config::FACE_RESNET_MIN_INPUT,
                FACE_RESNET_DOWN_BLOCKS,
                input.size
            );
        }
        let stem = ScaledConv::new(spec(3, 32, 7, 2, 0), affine, kernels, rng, device)?;
        let mut blocks = Vec::new();
        let mut cin = 32;
        let mut downs_left = FACE_RESNET_DOWN_BLOCKS;
        // The dilation of the convolutions from here on (dilated networks only): doubled by
        // each down block kept at stride 1, whose own first convolution and pool run at the
        // rate before it.
        let mut rate = 1;
        for (_, cout, down) in BLOCKS {
            // The last `stride_one` down blocks keep their input's size.
            let halves = down && downs_left > stride_one;
            downs_left -= usize::from(down);
            let (stride, pad) = match (down, halves) {
                (true, true) => (2, 0),
                _ => (1, 1),
            };
            let dense_pool = (dilated && down && !halves).then_some(rate);
            let conv1_rate = if dilated { rate } else { 1 };
            if dense_pool.is_some() {
                rate *= 2;
            }
            let conv2_rate = if dilated { rate } else { 1 };
            blocks.push(Residual {
                conv1: ScaledConv::new(
                    spec(cin, cout, 3, stride, pad),
                    affine,
                    kernels,
                    rng,
                    device,
                )?
                .dilated(conv1_rate),
                conv2: ScaledConv::new(spec(cout, cout, 3, 1, 1), affine, kernels, rng, device)?
                    .dilated(conv2_rate),
                down,
                halves,
                dense_pool,
            });
            cin = cout;
        }
        Ok(Self {
            input,
            stem,
            blocks,
            descriptor: Var::zeros((FEATURES, DESCRIPTOR), DType::F32, device)?,
            out_channels: FEATURES,
        })
    }

    /// The last feature map, N × 256 × s × s (s = [`face_resnet_map_side`]).
    pub fn forward(&self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        let x = self.input.forward(x)?;
        let h = self.stem.forward(&x, mode, true)?;
        let kernels = self.stem.conv.kernels;
        let mut h = ops::max_pool2d(&h, 3, 2, 0, kernels)?;
        for block in &self.blocks {
            h = block.forward(&h, mode)?;
        }
        Ok(h)
    }

    /// The 128-d face descriptor of each face (evaluation mode): what the original's
    /// `computeFaceDescriptor` returns.
    pub fn descriptor(&self, x: &Tensor) -> Result<Tensor> {
        let pooled = self.forward(x, Mode::Eval)?.mean((2, 3))?;
        pooled.matmul(self.descriptor.as_tensor())
    }

    pub fn collect(&self, prefix: &str, c: &mut Collector) {
        self.stem.collect(&join(prefix, "conv32_down"), c);
        for ((name, _, _), block) in BLOCKS.iter().zip(&self.blocks) {
            block.collect(&join(prefix, name), c);
        }
        c.buffer(prefix, "descriptor", &self.descriptor);
    }
}

/// The manifest prefixes of every convolution, in order (`conv32_down`, `conv32_1/conv1`, …).
pub fn conv_prefixes() -> Vec<String> {
    let mut out = vec!["conv32_down".to_string()];
    for (name, _, _) in BLOCKS {
        out.push(format!("{name}/conv1"));
        out.push(format!("{name}/conv2"));
    }
    out
}

/// The face ResNet's named tensors from a TensorFlow.js manifest's (HWIO filters, separate
/// `conv/bias`, `scale/weights`, `scale/biases`, `fc`), for `affine`; and the manifest
/// names it used. A layer missing any of its four tensors is left out (the loader reports
/// the model's tensors that stayed unset).
pub fn from_tfjs(
    raw: &HashMap<String, Tensor>,
    affine: ScaleAffine,
) -> Result<(HashMap<String, Tensor>, Vec<String>)> {
    let mut out = HashMap::new();
    let mut used = Vec::new();
    for prefix in conv_prefixes() {
        let names = ["conv/filters", "conv/bias", "scale/weights", "scale/biases"]
            .map(|part| format!("{prefix}/{part}"));
        let [Some(filters), Some(bias), Some(s), Some(beta)] = names.clone().map(|n| raw.get(&n))
        else {
            continue;
        };
        if filters.rank() != 4 {
            candle_core::bail!(
                "{}: expected 4 dimensions, got {:?}",
                names[0],
                filters.dims()
            );
        }
        // HWIO → OIHW.
        let w = filters.permute((3, 2, 0, 1))?.contiguous()?;
        let shift = ((bias * s)? + beta)?;
        let model = prefix.replace('/', ".");
        match affine {
            ScaleAffine::Folded => {
                let o = s.dim(0)?;
                let w = w.broadcast_mul(&s.reshape((o, 1, 1, 1))?)?;
                out.insert(format!("{model}.weight"), w);
            }
            ScaleAffine::Separate => {
                out.insert(format!("{model}.weight"), w);
                out.insert(format!("{model}.scale"), s.clone());
            }
        }
        out.insert(format!("{model}.shift"), shift);
        used.extend(names);
    }
    if let Some(fc) = raw.get("fc") {
        out.insert("descriptor".into(), fc.clone());
        used.push("fc".into());
    }
    Ok((out, used))
}
