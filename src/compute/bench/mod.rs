//! Timing of training steps, evaluation and single operations, for `ferlab bench`.
//! Throughputs are medians of timed iterations after warm-up.

pub mod peak;

use std::collections::HashMap;
use std::time::Instant;

use candle_core::{Device, Result, Tensor, Var};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

use crate::compute::method::losses::cross_entropy;
use crate::compute::model::{FerModel, Mode};
use crate::compute::ops;
use crate::compute::optim::Optimizer;
use crate::contract::config::{Backbone, Kernels, ModelConfig, OptimizerConfig};

/// The benchmarked architectures, at their benchmark input sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BenchModel {
    /// Small CNN on 1 × 48 × 48.
    SmallCnn,
    /// ResNet-18 on 3 × 112 × 112.
    Resnet18,
    /// The face ResNet on 3 × 112 × 112 (its input size; scale layers folded).
    FaceResnet,
}

impl BenchModel {
    pub fn key(self) -> &'static str {
        match self {
            Self::SmallCnn => "small_cnn",
            Self::Resnet18 => "resnet18",
            Self::FaceResnet => "face_resnet",
        }
    }

    pub const ALL: [BenchModel; 3] = [Self::SmallCnn, Self::Resnet18, Self::FaceResnet];

    /// The model of `key`, or an error listing the keys.
    pub fn parse(key: &str) -> std::result::Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|m| m.key() == key)
            .ok_or_else(|| {
                let keys: Vec<&str> = Self::ALL.iter().map(|m| m.key()).collect();
                format!("unknown model `{key}` ({})", keys.join(", "))
            })
    }

    pub fn input(self) -> (usize, usize) {
        match self {
            Self::SmallCnn => (1, 48),
            Self::Resnet18 | Self::FaceResnet => (3, 112),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pass {
    /// Forward, cross-entropy, backward, AdamW step.
    Train,
    /// Forward in evaluation mode.
    Eval,
}

impl Pass {
    pub fn key(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Eval => "eval",
        }
    }
}

/// How long to measure.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub warmup: usize,
    pub iters: usize,
    /// Stop early once this many seconds were timed (after at least two iterations).
    pub max_secs: f64,
}

pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        f64::NAN
    } else {
        s[s.len() / 2]
    }
}

fn timed(budget: Budget, device: &Device, mut f: impl FnMut() -> Result<()>) -> Result<Vec<f64>> {
    for _ in 0..budget.warmup {
        f()?;
    }
    device.synchronize()?;
    let start = Instant::now();
    let mut times = Vec::new();
    while times.len() < budget.iters
        && (times.len() < 2 || start.elapsed().as_secs_f64() < budget.max_secs)
    {
        let t = Instant::now();
        f()?;
        device.synchronize()?;
        times.push(t.elapsed().as_secs_f64());
    }
    Ok(times)
}

fn random(dims: &[usize], seed: u64, device: &Device) -> Result<Tensor> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let n: usize = dims.iter().product();
    let v: Vec<f32> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
    Tensor::from_vec(v, dims, device)
}

/// Keeps a model and optimiser per (architecture, kernels), so rounds reuse them.
pub struct ModelBench {
    device: Device,
    models: HashMap<(BenchModel, Kernels), (FerModel, Optimizer)>,
}

impl ModelBench {
    pub fn new(device: Device) -> Self {
        Self {
            device,
            models: HashMap::new(),
        }
    }

    /// Seconds per iteration of `pass` at `batch`.
    pub fn time(
        &mut self,
        model: BenchModel,
        pass: Pass,
        batch: usize,
        kernels: Kernels,
        budget: Budget,
    ) -> Result<Vec<f64>> {
        let device = self.device.clone();
        if let std::collections::hash_map::Entry::Vacant(e) = self.models.entry((model, kernels)) {
            let cfg = ModelConfig {
                backbone: match model {
                    BenchModel::SmallCnn => Backbone::SmallCnn,
                    BenchModel::Resnet18 => Backbone::Resnet18,
                    BenchModel::FaceResnet => Backbone::FaceResnet,
                },
                input_size: model.input().1,
                width: 32,
                convs_per_stage: 1,
                kernels,
                ..ModelConfig::default()
            };
            let m = FerModel::new(&cfg, model.input().0, 7, &device, 0)?;
            let opt = Optimizer::new(&OptimizerConfig::default(), m.parameters(), kernels);
            e.insert((m, opt));
        }
        let (m, opt) = self
            .models
            .get_mut(&(model, kernels))
            .expect("inserted above");
        let (c, s) = model.input();
        let x = random(&[batch, c, s, s], 1, &device)?;
        let labels: Vec<u32> = (0..batch as u32).map(|i| i % 7).collect();
        let y = Tensor::from_vec(labels, batch, &device)?;
        match pass {
            Pass::Train => timed(budget, &device, || {
                let out = m.forward(&x, Mode::Train { seed: 0 })?;
                let loss = cross_entropy(&out.logits, &y, 0.0)?;
                let grads = loss.backward()?;
                opt.step(&grads, 1e-3)
            }),
            Pass::Eval => timed(budget, &device, || {
                let out = m.forward(&x, Mode::Eval)?;
                out.logits.to_device(&Device::Cpu).map(|_| ())
            }),
        }
    }
}

/// A convolution of the benchmarked models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvShape {
    pub name: &'static str,
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub oc: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
}

impl ConvShape {
    /// Multiply-adds × 2 of the forward pass.
    pub fn flops(&self) -> f64 {
        let oh = (self.h + 2 * self.pad - self.k) / self.stride + 1;
        let ow = (self.w + 2 * self.pad - self.k) / self.stride + 1;
        2.0 * (self.n * self.oc * oh * ow * self.c * self.k * self.k) as f64
    }
}

/// The convolutions that dominate the small CNN (batch 64), ResNet-18 (batch 32) and the
/// face ResNet at 112 px (batch 64: its stem, one convolution of each stage and the first
/// down block's strided one).
pub fn profile_shapes() -> Vec<ConvShape> {
    let s = |name, n, c, h, oc, k, stride, pad| ConvShape {
        name,
        n,
        c,
        h,
        w: h,
        oc,
        k,
        stride,
        pad,
    };
    vec![
        s("small_cnn stage1", 64, 1, 48, 32, 3, 1, 1),
        s("small_cnn stage2", 64, 32, 24, 64, 3, 1, 1),
        s("small_cnn stage3", 64, 64, 12, 128, 3, 1, 1),
        s("small_cnn stage4", 64, 128, 6, 256, 3, 1, 1),
        s("resnet18 conv1", 32, 3, 112, 64, 7, 2, 3),
        s("resnet18 layer1", 32, 64, 28, 64, 3, 1, 1),
        s("resnet18 layer2", 32, 128, 14, 128, 3, 1, 1),
        s("resnet18 layer3", 32, 256, 7, 256, 3, 1, 1),
        s("resnet18 layer4", 32, 512, 4, 512, 3, 1, 1),
        s("face_resnet stem", 64, 3, 112, 32, 7, 2, 0),
        s("face_resnet stage32", 64, 32, 26, 32, 3, 1, 1),
        s("face_resnet down64", 64, 32, 26, 64, 3, 2, 0),
        s("face_resnet stage64", 64, 64, 13, 64, 3, 1, 1),
        s("face_resnet stage128", 64, 128, 6, 128, 3, 1, 1),
        s("face_resnet stage256", 64, 256, 3, 256, 3, 1, 1),
    ]
}

/// Seconds of a convolution: forward, backward (both gradients) and, on ferlab's CPU
/// kernels, the weight gradient alone.
pub struct ConvTimes {
    pub forward: Vec<f64>,
    pub backward: Vec<f64>,
    pub weight_grad: Option<Vec<f64>>,
}

/// Times a convolution. ferlab's kernels are called directly; candle's backward is its
/// autograd pass of Σ(y · g) less the forward (the product and sum are a few memory passes).
pub fn time_conv(
    shape: ConvShape,
    kernels: Kernels,
    budget: Budget,
    device: &Device,
) -> Result<ConvTimes> {
    let x = random(&[shape.n, shape.c, shape.h, shape.w], 2, device)?;
    let w = random(&[shape.oc, shape.c, shape.k, shape.k], 3, device)?;
    if kernels == Kernels::Auto && crate::compute::ops::is_cpu_f32(&x) {
        use crate::compute::ops::conv;
        let g = conv::ConvGeom::new(x.dims(), w.dims(), shape.stride, shape.pad)?;
        let (xv, wv) = (
            x.flatten_all()?.to_vec1::<f32>()?,
            w.flatten_all()?.to_vec1::<f32>()?,
        );
        let dy = random(&[shape.n, shape.oc, g.oh, g.ow], 4, device)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let run = |f: &dyn Fn()| {
            timed(budget, device, || {
                f();
                Ok(())
            })
        };
        return Ok(ConvTimes {
            forward: run(&|| {
                std::hint::black_box(conv::forward(&g, &xv, &wv));
            })?,
            backward: run(&|| {
                std::hint::black_box(conv::backward(&g, &xv, &wv, &dy, true));
            })?,
            weight_grad: Some(run(&|| {
                std::hint::black_box(conv::backward(&g, &xv, &wv, &dy, false));
            })?),
        });
    }
    let x = Var::from_tensor(&x)?;
    let w = Var::from_tensor(&w)?;
    let conv = |x: &Tensor, w: &Tensor| ops::conv2d(x, w, shape.stride, shape.pad, kernels);
    let y = conv(x.as_tensor(), w.as_tensor())?;
    let g = random(y.dims(), 4, device)?;
    let forward = timed(budget, device, || {
        conv(&x.as_tensor().detach(), &w.as_tensor().detach()).map(|_| ())
    })?;
    let f = median(&forward);
    let both = timed(budget, device, || {
        let y = conv(x.as_tensor(), w.as_tensor())?;
        (y * &g)?.sum_all()?.backward().map(|_| ())
    })?;
    Ok(ConvTimes {
        forward,
        backward: both.iter().map(|t| (t - f).max(1e-9)).collect(),
        weight_grad: None,
    })
}

/// Seconds of batch norm + ReLU, forward and backward, on `dims`.
pub fn time_batch_norm(
    dims: &[usize],
    kernels: Kernels,
    budget: Budget,
    device: &Device,
) -> Result<Vec<f64>> {
    let c = dims[1];
    let x = Var::from_tensor(&random(dims, 5, device)?)?;
    let gamma = Var::ones(c, candle_core::DType::F32, device)?;
    let beta = Var::zeros(c, candle_core::DType::F32, device)?;
    let g = random(dims, 6, device)?;
    timed(budget, device, || {
        let (y, ..) = ops::batch_norm_train(
            x.as_tensor(),
            gamma.as_tensor(),
            beta.as_tensor(),
            1e-5,
            true,
            kernels,
        )?;
        (y * &g)?.sum_all()?.backward().map(|_| ())
    })
}

/// Seconds of max pooling, forward and backward.
pub fn time_max_pool(
    dims: &[usize],
    k: usize,
    stride: usize,
    pad: usize,
    kernels: Kernels,
    budget: Budget,
    device: &Device,
) -> Result<Vec<f64>> {
    let x = Var::from_tensor(&random(dims, 7, device)?)?;
    let probe = ops::max_pool2d(x.as_tensor(), k, stride, pad, kernels)?;
    let g = random(probe.dims(), 8, device)?;
    timed(budget, device, || {
        let y = ops::max_pool2d(x.as_tensor(), k, stride, pad, kernels)?;
        (y * &g)?.sum_all()?.backward().map(|_| ())
    })
}

/// Seconds of one AdamW step over ResNet-18's parameters.
pub fn time_optimizer(kernels: Kernels, budget: Budget, device: &Device) -> Result<Vec<f64>> {
    let cfg = ModelConfig {
        backbone: Backbone::Resnet18,
        kernels,
        ..ModelConfig::default()
    };
    let m = FerModel::new(&cfg, 3, 7, device, 0)?;
    let params = m.parameters();
    let loss = params
        .iter()
        .map(|(_, v)| v.as_tensor().sum_all())
        .collect::<Result<Vec<_>>>()?;
    let total = Tensor::stack(&loss, 0)?.sum_all()?;
    let grads = total.backward()?;
    let mut opt = Optimizer::new(&OptimizerConfig::default(), params, kernels);
    timed(budget, device, || opt.step(&grads, 1e-3))
}
