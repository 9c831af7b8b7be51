//! A small VGG-style CNN sized for 48×48 faces: four stages of width w, 2w, 4w, 8w, each
//! `convs_per_stage` × (3×3 conv, BN, ReLU); 2×2 max pooling after the first three stages,
//! so a 48×48 input leaves a 6×6 map for the class activation maps.

use candle_core::{Device, Result, Tensor};
use rand::Rng;

use super::layers::{BatchNorm2d, Collector, Conv2d, ConvSpec, Mode, conv_bn, join};
use crate::compute::ops::PoolSpec;
use crate::contract::config::Kernels;

pub struct ConvBnRelu {
    pub conv: Conv2d,
    pub bn: BatchNorm2d,
}

impl ConvBnRelu {
    fn forward(&self, x: &Tensor, mode: Mode, pool: Option<PoolSpec>) -> Result<Tensor> {
        conv_bn(&self.conv, &self.bn, x, mode, true, pool)
    }
}

const POOL_2X2: PoolSpec = PoolSpec {
    k: 2,
    stride: 2,
    pad: 0,
};

pub struct SmallCnn {
    pub stages: Vec<Vec<ConvBnRelu>>,
    pub out_channels: usize,
    pub kernels: Kernels,
}

impl SmallCnn {
    pub fn new(
        in_channels: usize,
        width: usize,
        convs_per_stage: usize,
        kernels: Kernels,
        rng: &mut impl Rng,
        device: &Device,
    ) -> Result<Self> {
        let mut stages = Vec::new();
        let mut cin = in_channels;
        for s in 0..4 {
            let cout = width << s;
            let mut convs = Vec::new();
            for _ in 0..convs_per_stage {
                convs.push(ConvBnRelu {
                    conv: Conv2d::new(
                        ConvSpec {
                            cin,
                            cout,
                            k: 3,
                            stride: 1,
                            pad: 1,
                        },
                        kernels,
                        rng,
                        device,
                    )?,
                    bn: BatchNorm2d::new(cout, kernels, device)?,
                });
                cin = cout;
            }
            stages.push(convs);
        }
        Ok(Self {
            stages,
            out_channels: cin,
            kernels,
        })
    }

    /// The last feature map (N × 8w × S/8 × S/8).
    pub fn forward(&self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        let mut h = x.clone();
        let last_stage = self.stages.len() - 1;
        for (s, stage) in self.stages.iter().enumerate() {
            for (j, block) in stage.iter().enumerate() {
                // The stage's pooling runs inside its last block.
                let pool = (s < last_stage && j + 1 == stage.len()).then_some(POOL_2X2);
                h = block.forward(&h, mode, pool)?;
            }
        }
        Ok(h)
    }

    pub fn collect(&self, prefix: &str, c: &mut Collector) {
        for (s, stage) in self.stages.iter().enumerate() {
            for (j, block) in stage.iter().enumerate() {
                let p = join(prefix, &format!("stages.{s}.{j}"));
                block.conv.collect(&join(&p, "conv"), c);
                block.bn.collect(&join(&p, "bn"), c);
            }
        }
    }
}
