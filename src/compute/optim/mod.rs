//! Optimisers with state that goes into checkpoints (candle-nn's keep theirs private):
//! SGD with momentum / Nesterov, Adam (L2 decay), AdamW (decoupled decay), PyTorch's update
//! rules. On the CPU a step is one fused pass per parameter, in place.

mod fused;
pub mod sam;
pub mod schedule;

use std::collections::HashMap;

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};

use crate::compute::ops::is_cpu_f32;
use crate::contract::config::{Kernels, OptimizerConfig, OptimizerKind};
use fused::{FusedStep, Rule};

/// A moment buffer: host memory for the fused CPU step, a tensor elsewhere.
enum Buf {
    Empty,
    Host(Vec<f32>),
    Device(Tensor),
}

struct Slot {
    first: Buf,
    second: Buf,
    /// Steps this parameter took (PyTorch's per-parameter `step`): a parameter left out of
    /// some steps (a frozen backbone) starts its bias correction when it first moves.
    steps: u64,
}

pub struct Optimizer {
    pub cfg: OptimizerConfig,
    params: Vec<(String, Var)>,
    slots: Vec<Slot>,
    /// Completed steps (Adam's bias correction uses it).
    pub steps: u64,
    /// Whether CPU parameters take the fused in-place step.
    fused: bool,
    /// Each parameter's learning rate as a multiple of the step's (parameter groups).
    lr_scales: Vec<f64>,
}

impl Optimizer {
    /// An optimiser over `params`; `kernels = Candle` updates with candle tensor operations
    /// even on the CPU (the reference path).
    pub fn new(cfg: &OptimizerConfig, params: Vec<(String, Var)>, kernels: Kernels) -> Self {
        let slots = params
            .iter()
            .map(|_| Slot {
                first: Buf::Empty,
                second: Buf::Empty,
                steps: 0,
            })
            .collect();
        Self {
            cfg: cfg.clone(),
            params,
            slots,
            steps: 0,
            fused: kernels == Kernels::Auto,
            lr_scales: Vec::new(),
        }
    }

    /// Per-parameter learning-rate multiples, in the order of the parameters (missing
    /// ones are 1): PyTorch's parameter groups with their own `lr`. A multiple of exactly 0
    /// freezes the parameter: it is left out of the steps (no decay, no moments), as a
    /// parameter with `requires_grad = False` is in PyTorch.
    pub fn with_lr_scales(mut self, scales: Vec<f64>) -> Self {
        self.lr_scales = scales;
        self
    }

    /// Replaces the multiples of [`Self::with_lr_scales`] (a backbone unfrozen mid-run).
    pub fn set_lr_scales(&mut self, scales: Vec<f64>) {
        self.lr_scales = scales;
    }

    fn lr_scale(&self, i: usize) -> f64 {
        self.lr_scales.get(i).copied().unwrap_or(1.0)
    }

    pub fn params(&self) -> &[(String, Var)] {
        &self.params
    }

    /// The update of a parameter's `t`-th step (from 1).
    fn rule(&self, lr: f64, t: u64) -> Rule {
        let c = &self.cfg;
        let t = t as i32;
        match c.kind {
            OptimizerKind::Sgd => Rule::Sgd {
                lr,
                momentum: c.momentum,
                nesterov: c.nesterov,
                weight_decay: c.weight_decay,
                first_step: t == 1,
            },
            OptimizerKind::Adam | OptimizerKind::Adamw => Rule::Adam {
                lr,
                beta1: c.beta1,
                beta2: c.beta2,
                eps: c.eps,
                weight_decay: c.weight_decay,
                decoupled: c.kind == OptimizerKind::Adamw,
                bias1: 1.0 - c.beta1.powi(t),
                bias2: 1.0 - c.beta2.powi(t),
            },
        }
    }

    /// Applies one update with learning rate `lr` to every parameter that has a gradient.
    pub fn step(&mut self, grads: &GradStore, lr: f64) -> Result<()> {
        let rules: Vec<Option<Rule>> = (0..self.params.len())
            .map(|i| {
                let scale = self.lr_scale(i);
                (scale != 0.0).then(|| self.rule(lr * scale, self.slots[i].steps + 1))
            })
            .collect();
        for (((_, var), slot), rule) in self.params.iter().zip(self.slots.iter_mut()).zip(rules) {
            let (Some(grad), Some(rule)) = (grads.get(var.as_tensor()), rule) else {
                continue;
            };
            slot.steps += 1;
            if self.fused && is_cpu_f32(var.as_tensor()) {
                step_host(var, grad, slot, rule)?;
            } else {
                step_device(var, grad, slot, rule)?;
            }
        }
        self.steps += 1;
        Ok(())
    }

    /// The optimiser's state as named tensors (for checkpoints).
    pub fn state_tensors(&self) -> Result<Vec<(String, Tensor)>> {
        let mut out = Vec::new();
        for ((name, var), slot) in self.params.iter().zip(&self.slots) {
            for (suffix, buf) in [("first", &slot.first), ("second", &slot.second)] {
                let t = match buf {
                    Buf::Empty => continue,
                    Buf::Host(v) => Tensor::from_slice(v, var.dims(), &candle_core::Device::Cpu)?,
                    Buf::Device(t) => t.to_device(&candle_core::Device::Cpu)?,
                };
                out.push((format!("optim.{name}.{suffix}"), t));
            }
            out.push((
                format!("optim.{name}.steps"),
                Tensor::from_slice(&[slot.steps as f64], 1, &candle_core::Device::Cpu)?,
            ));
        }
        out.push((
            "optim.steps".into(),
            Tensor::from_slice(&[self.steps as f64], 1, &candle_core::Device::Cpu)?,
        ));
        Ok(out)
    }

    /// Restores state written by `state_tensors`.
    pub fn load_state(&mut self, tensors: &HashMap<String, Tensor>) -> Result<()> {
        if let Some(s) = tensors.get("optim.steps") {
            self.steps = s.to_vec1::<f64>()?[0] as u64;
        }
        for ((name, var), slot) in self.params.iter().zip(self.slots.iter_mut()) {
            // Checkpoints from before per-parameter steps: every parameter took them all.
            slot.steps = match tensors.get(&format!("optim.{name}.steps")) {
                Some(s) => s.to_vec1::<f64>()?[0] as u64,
                None => self.steps,
            };
            for (suffix, buf) in [("first", &mut slot.first), ("second", &mut slot.second)] {
                *buf = match tensors.get(&format!("optim.{name}.{suffix}")) {
                    None => Buf::Empty,
                    Some(t) if self.fused && is_cpu_f32(var.as_tensor()) => {
                        Buf::Host(t.flatten_all()?.to_vec1::<f32>()?)
                    }
                    Some(t) => Buf::Device(t.to_device(var.device())?),
                };
            }
        }
        Ok(())
    }
}

fn step_host(var: &Var, grad: &Tensor, slot: &mut Slot, rule: Rule) -> Result<()> {
    let n = var.elem_count();
    let needs_second = matches!(rule, Rule::Adam { .. });
    let needs_first = match rule {
        Rule::Sgd { momentum, .. } => momentum > 0.0,
        Rule::Adam { .. } => true,
    };
    for (buf, needed) in [
        (&mut slot.first, needs_first),
        (&mut slot.second, needs_second),
    ] {
        if needed && !matches!(buf, Buf::Host(_)) {
            *buf = Buf::Host(vec![0.0; n]);
        }
    }
    let mut empty_a = Vec::new();
    let mut empty_b = Vec::new();
    let first = match &mut slot.first {
        Buf::Host(v) => v,
        _ => &mut empty_a,
    };
    let second = match &mut slot.second {
        Buf::Host(v) => v,
        _ => &mut empty_b,
    };
    let op = FusedStep::new(rule, first, second);
    var.as_tensor().inplace_op2(&grad.contiguous()?, &op)
}

fn step_device(var: &Var, grad: &Tensor, slot: &mut Slot, rule: Rule) -> Result<()> {
    // Detached: arithmetic on a Var records autograd history, which the moment buffers would
    // otherwise chain from step to step (a leak of one model's worth of tensors per step).
    let p = &var.as_tensor().detach();
    let grad = &grad.detach();
    let take = |b: &Buf| match b {
        Buf::Device(t) => Some(t.clone()),
        _ => None,
    };
    match rule {
        Rule::Sgd {
            lr,
            momentum,
            nesterov,
            weight_decay,
            ..
        } => {
            let g = (grad + (p * weight_decay)?)?;
            let g = if momentum > 0.0 {
                let buf = match take(&slot.first) {
                    Some(b) => ((b * momentum)? + &g)?,
                    None => g.clone(),
                };
                slot.first = Buf::Device(buf.clone());
                if nesterov {
                    (g + (buf * momentum)?)?
                } else {
                    buf
                }
            } else {
                g
            };
            var.set(&(p - (g * lr)?)?)
        }
        Rule::Adam {
            lr,
            beta1,
            beta2,
            eps,
            weight_decay,
            decoupled,
            bias1,
            bias2,
        } => {
            let g = if decoupled {
                grad.clone()
            } else {
                (grad + (p * weight_decay)?)?
            };
            let m = take(&slot.first).unwrap_or(g.zeros_like()?);
            let v = take(&slot.second).unwrap_or(g.zeros_like()?);
            let m = ((m * beta1)? + (&g * (1.0 - beta1))?)?;
            let v = ((v * beta2)? + (g.sqr()? * (1.0 - beta2))?)?;
            let update = ((&m / bias1)? / ((&v / bias2)?.sqrt()? + eps)?)?;
            let base = if decoupled {
                (p * (1.0 - lr * weight_decay))?
            } else {
                p.clone()
            };
            slot.first = Buf::Device(m);
            slot.second = Buf::Device(v);
            var.set(&(base - (update * lr)?)?)
        }
    }
}

#[cfg(test)]
mod tests;
