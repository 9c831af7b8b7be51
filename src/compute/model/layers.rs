//! Layers as plain structs of candle `Var`s, named the way torchvision names them.

use candle_core::{DType, Device, Result, Tensor, Var};
use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};

use crate::compute::ops::{self, PoolSpec};
use crate::contract::config::Kernels;

/// Whether a forward pass trains (batch statistics, dropout) or evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Training; `seed` drives this step's dropout masks.
    Train {
        seed: u64,
    },
    Eval,
}

impl Mode {
    pub fn is_train(self) -> bool {
        matches!(self, Mode::Train { .. })
    }
}

/// Collects a model's tensors by name: trainable parameters and non-trained buffers.
#[derive(Default)]
pub struct Collector {
    pub params: Vec<(String, Var)>,
    pub buffers: Vec<(String, Var)>,
}

impl Collector {
    pub fn param(&mut self, prefix: &str, name: &str, v: &Var) {
        self.params.push((join(prefix, name), v.clone()));
    }

    pub fn buffer(&mut self, prefix: &str, name: &str, v: &Var) {
        self.buffers.push((join(prefix, name), v.clone()));
    }
}

pub fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn var_from(values: Vec<f32>, dims: &[usize], device: &Device) -> Result<Var> {
    Var::from_tensor(&Tensor::from_vec(values, dims, device)?)
}

/// Kaiming-normal weights, fan-out mode, ReLU gain (torchvision's ResNet initialisation).
fn kaiming_normal(
    dims: &[usize],
    fan_out: usize,
    rng: &mut impl Rng,
    device: &Device,
) -> Result<Var> {
    let std = (2.0 / fan_out as f64).sqrt() as f32;
    let normal = Normal::new(0.0f32, std).expect("positive std");
    let n: usize = dims.iter().product();
    var_from((0..n).map(|_| normal.sample(rng)).collect(), dims, device)
}

fn uniform(dims: &[usize], bound: f32, rng: &mut impl Rng, device: &Device) -> Result<Var> {
    let u = Uniform::new_inclusive(-bound, bound).expect("valid bounds");
    let n: usize = dims.iter().product();
    var_from((0..n).map(|_| u.sample(rng)).collect(), dims, device)
}

/// Shape of a square convolution without bias.
#[derive(Debug, Clone, Copy)]
pub struct ConvSpec {
    pub cin: usize,
    pub cout: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
}

pub struct Conv2d {
    pub weight: Var,
    pub stride: usize,
    pub pad: usize,
    pub kernels: Kernels,
}

impl Conv2d {
    pub fn new(
        spec: ConvSpec,
        kernels: Kernels,
        rng: &mut impl Rng,
        device: &Device,
    ) -> Result<Self> {
        let ConvSpec { cin, cout, k, .. } = spec;
        Ok(Self {
            weight: kaiming_normal(&[cout, cin, k, k], cout * k * k, rng, device)?,
            stride: spec.stride,
            pad: spec.pad,
            kernels,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        ops::conv2d(
            x,
            self.weight.as_tensor(),
            self.stride,
            self.pad,
            self.kernels,
        )
    }

    pub fn collect(&self, prefix: &str, c: &mut Collector) {
        c.param(prefix, "weight", &self.weight);
    }
}

pub struct BatchNorm2d {
    pub weight: Var,
    pub bias: Var,
    pub running_mean: Var,
    pub running_var: Var,
    pub eps: f64,
    pub momentum: f64,
    pub kernels: Kernels,
}

impl BatchNorm2d {
    pub fn new(c: usize, kernels: Kernels, device: &Device) -> Result<Self> {
        Ok(Self {
            weight: Var::ones(c, DType::F32, device)?,
            bias: Var::zeros(c, DType::F32, device)?,
            running_mean: Var::zeros(c, DType::F32, device)?,
            running_var: Var::ones(c, DType::F32, device)?,
            eps: 1e-5,
            momentum: 0.1,
            kernels,
        })
    }

    /// Normalises `x` (with batch statistics in training, running ones in evaluation),
    /// optionally followed by ReLU. Training updates the running statistics like PyTorch
    /// (unbiased variance, momentum 0.1).
    pub fn forward(&self, x: &Tensor, mode: Mode, relu: bool) -> Result<Tensor> {
        if mode.is_train() {
            let (y, mean, var, count) = ops::batch_norm_train(
                x,
                self.weight.as_tensor(),
                self.bias.as_tensor(),
                self.eps,
                relu,
                self.kernels,
            )?;
            let m = self.momentum;
            let unbiased = count as f64 / (count.max(2) - 1) as f64;
            let rm = ((self.running_mean.as_tensor() * (1.0 - m))? + (mean * m)?)?;
            let rv = ((self.running_var.as_tensor() * (1.0 - m))? + (var * (m * unbiased))?)?;
            self.running_mean.set(&rm.detach())?;
            self.running_var.set(&rv.detach())?;
            Ok(y)
        } else {
            let (scale, shift) = self.folded()?;
            ops::channel_affine(x, &scale, &shift, relu, self.kernels)
        }
    }

    /// Moves the running statistics towards a batch's (unbiased variance, like PyTorch).
    pub fn update_running(&self, mean: &Tensor, var: &Tensor, count: usize) -> Result<()> {
        let m = self.momentum;
        let unbiased = count as f64 / (count.max(2) - 1) as f64;
        let rm = ((self.running_mean.as_tensor() * (1.0 - m))? + (mean * m)?)?;
        let rv = ((self.running_var.as_tensor() * (1.0 - m))? + (var * (m * unbiased))?)?;
        self.running_mean.set(&rm.detach())?;
        self.running_var.set(&rv.detach())
    }

    /// The evaluation-mode normalisation as a per-channel (scale, shift).
    pub fn folded(&self) -> Result<(Tensor, Tensor)> {
        let inv = self
            .running_var
            .as_tensor()
            .affine(1.0, self.eps)?
            .sqrt()?
            .recip()?;
        let scale = (self.weight.as_tensor() * inv)?;
        let shift = (self.bias.as_tensor() - (self.running_mean.as_tensor() * &scale)?)?;
        Ok((scale, shift))
    }

    pub fn collect(&self, prefix: &str, c: &mut Collector) {
        c.param(prefix, "weight", &self.weight);
        c.param(prefix, "bias", &self.bias);
        c.buffer(prefix, "running_mean", &self.running_mean);
        c.buffer(prefix, "running_var", &self.running_var);
    }
}

pub struct Linear {
    /// (out, in), as in PyTorch.
    pub weight: Var,
    pub bias: Var,
}

impl Linear {
    /// PyTorch's default initialisation: U(±1/√in) for weight and bias.
    pub fn new(cin: usize, cout: usize, rng: &mut impl Rng, device: &Device) -> Result<Self> {
        let bound = 1.0 / (cin as f32).sqrt();
        Ok(Self {
            weight: uniform(&[cout, cin], bound, rng, device)?,
            bias: uniform(&[cout], bound, rng, device)?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.matmul(&self.weight.as_tensor().t()?)?
            .broadcast_add(self.bias.as_tensor())
    }

    pub fn collect(&self, prefix: &str, c: &mut Collector) {
        c.param(prefix, "weight", &self.weight);
        c.param(prefix, "bias", &self.bias);
    }
}

/// `pool(relu(bn(conv(x))))`, ReLU and pooling optional. Training runs it as one fused
/// node; evaluation fuses the (running-statistics) normalisation into the convolution.
pub fn conv_bn(
    conv: &Conv2d,
    bn: &BatchNorm2d,
    x: &Tensor,
    mode: Mode,
    relu: bool,
    pool: Option<PoolSpec>,
) -> Result<Tensor> {
    if mode.is_train() {
        let (y, mean, var, count) = ops::conv_bn_train(
            x,
            conv.weight.as_tensor(),
            bn.weight.as_tensor(),
            bn.bias.as_tensor(),
            (conv.stride, conv.pad),
            bn.eps,
            relu,
            pool,
            conv.kernels,
        )?;
        bn.update_running(&mean, &var, count)?;
        return Ok(y);
    }
    let (scale, shift) = bn.folded()?;
    let y = ops::conv2d_affine(
        x,
        conv.weight.as_tensor(),
        &scale,
        &shift,
        conv.stride,
        conv.pad,
        relu,
        conv.kernels,
    )?;
    match pool {
        Some(p) => ops::max_pool2d(&y, p.k, p.stride, p.pad, conv.kernels),
        None => Ok(y),
    }
}

/// Inverted dropout with a mask drawn from the step's seed (candle's CPU RNG is unseedable).
pub fn dropout(x: &Tensor, p: f32, seed: u64) -> Result<Tensor> {
    if p <= 0.0 {
        return Ok(x.clone());
    }
    let mut rng = crate::contract::seed::rng(seed, &[crate::contract::seed::purpose::DROPOUT]);
    let keep = 1.0 - p;
    let mask: Vec<f32> = (0..x.elem_count())
        .map(|_| {
            if rng.random::<f32>() < keep {
                1.0 / keep
            } else {
                0.0
            }
        })
        .collect();
    let mask = Tensor::from_vec(mask, x.dims(), x.device())?;
    x * mask
}
