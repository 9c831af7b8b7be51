//! ResNet-18 with torchvision's tensor names (`conv1`, `bn1`, `layer1.0.conv1`, ...,
//! `layerN.0.downsample.{0,1}`), so torchvision-layout weights load into it.

use candle_core::{Device, Result, Tensor};
use rand::Rng;

use super::layers::{BatchNorm2d, Collector, Conv2d, ConvSpec, Mode, conv_bn, join};
use crate::compute::ops::{self, PoolSpec};
use crate::contract::config::Kernels;

fn conv(cin: usize, cout: usize, k: usize, stride: usize, pad: usize) -> ConvSpec {
    ConvSpec {
        cin,
        cout,
        k,
        stride,
        pad,
    }
}

pub struct BasicBlock {
    pub conv1: Conv2d,
    pub bn1: BatchNorm2d,
    pub conv2: Conv2d,
    pub bn2: BatchNorm2d,
    pub downsample: Option<(Conv2d, BatchNorm2d)>,
    pub kernels: Kernels,
}

impl BasicBlock {
    fn new(
        cin: usize,
        cout: usize,
        stride: usize,
        kernels: Kernels,
        rng: &mut impl Rng,
        device: &Device,
    ) -> Result<Self> {
        let downsample = if stride != 1 || cin != cout {
            Some((
                Conv2d::new(conv(cin, cout, 1, stride, 0), kernels, rng, device)?,
                BatchNorm2d::new(cout, kernels, device)?,
            ))
        } else {
            None
        };
        Ok(Self {
            conv1: Conv2d::new(conv(cin, cout, 3, stride, 1), kernels, rng, device)?,
            bn1: BatchNorm2d::new(cout, kernels, device)?,
            conv2: Conv2d::new(conv(cout, cout, 3, 1, 1), kernels, rng, device)?,
            bn2: BatchNorm2d::new(cout, kernels, device)?,
            downsample,
            kernels,
        })
    }

    fn forward(&self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        let h = conv_bn(&self.conv1, &self.bn1, x, mode, true, None)?;
        let h = conv_bn(&self.conv2, &self.bn2, &h, mode, false, None)?;
        let skip = match &self.downsample {
            Some((conv, bn)) => conv_bn(conv, bn, x, mode, false, None)?,
            None => x.clone(),
        };
        ops::add_relu(&h, &skip, self.kernels)
    }

    fn collect(&self, prefix: &str, c: &mut Collector) {
        self.conv1.collect(&join(prefix, "conv1"), c);
        self.bn1.collect(&join(prefix, "bn1"), c);
        self.conv2.collect(&join(prefix, "conv2"), c);
        self.bn2.collect(&join(prefix, "bn2"), c);
        if let Some((conv, bn)) = &self.downsample {
            conv.collect(&join(prefix, "downsample.0"), c);
            bn.collect(&join(prefix, "downsample.1"), c);
        }
    }
}

pub struct ResNet18 {
    pub conv1: Conv2d,
    pub bn1: BatchNorm2d,
    pub layers: Vec<Vec<BasicBlock>>,
    pub out_channels: usize,
    pub kernels: Kernels,
}

impl ResNet18 {
    pub fn new(
        in_channels: usize,
        kernels: Kernels,
        rng: &mut impl Rng,
        device: &Device,
    ) -> Result<Self> {
        let conv1 = Conv2d::new(conv(in_channels, 64, 7, 2, 3), kernels, rng, device)?;
        let bn1 = BatchNorm2d::new(64, kernels, device)?;
        let mut layers = Vec::new();
        let mut cin = 64;
        for (i, cout) in [64usize, 128, 256, 512].into_iter().enumerate() {
            let stride = if i == 0 { 1 } else { 2 };
            layers.push(vec![
                BasicBlock::new(cin, cout, stride, kernels, rng, device)?,
                BasicBlock::new(cout, cout, 1, kernels, rng, device)?,
            ]);
            cin = cout;
        }
        Ok(Self {
            conv1,
            bn1,
            layers,
            out_channels: 512,
            kernels,
        })
    }

    /// The last feature map (N × 512 × S/32 × S/32).
    pub fn forward(&self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        let stem_pool = PoolSpec {
            k: 3,
            stride: 2,
            pad: 1,
        };
        let mut h = conv_bn(&self.conv1, &self.bn1, x, mode, true, Some(stem_pool))?;
        for layer in &self.layers {
            for block in layer {
                h = block.forward(&h, mode)?;
            }
        }
        Ok(h)
    }

    pub fn collect(&self, prefix: &str, c: &mut Collector) {
        self.conv1.collect(&join(prefix, "conv1"), c);
        self.bn1.collect(&join(prefix, "bn1"), c);
        for (i, layer) in self.layers.iter().enumerate() {
            for (j, block) in layer.iter().enumerate() {
                block.collect(&join(prefix, &format!("layer{}.{j}", i + 1)), c);
            }
        }
    }
}
