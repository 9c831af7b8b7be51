//! One optimiser step over a parameter as a single in-place pass (CPU).

use std::sync::Mutex;

use candle_core::{CpuStorage, InplaceOp2, Layout, Result};
use rayon::prelude::*;

use crate::compute::ops::storage::cpu_f32;

#[derive(Debug, Clone, Copy)]
pub enum Rule {
    Sgd {
        lr: f64,
        momentum: f64,
        nesterov: bool,
        weight_decay: f64,
        first_step: bool,
    },
    Adam {
        lr: f64,
        beta1: f64,
        beta2: f64,
        eps: f64,
        weight_decay: f64,
        /// AdamW: decay the weights directly instead of adding it to the gradient.
        decoupled: bool,
        bias1: f64,
        bias2: f64,
    },
}

/// The step as an in-place op on the parameter; moment buffers ride along in the op.
pub struct FusedStep<'a> {
    rule: Rule,
    moments: Mutex<(&'a mut Vec<f32>, &'a mut Vec<f32>)>,
}

impl<'a> FusedStep<'a> {
    pub fn new(rule: Rule, first: &'a mut Vec<f32>, second: &'a mut Vec<f32>) -> Self {
        Self {
            rule,
            moments: Mutex::new((first, second)),
        }
    }
}

const CHUNK: usize = 1 << 14;

impl InplaceOp2 for FusedStep<'_> {
    fn name(&self) -> &'static str {
        "ferlab-fused-optimizer-step"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<()> {
        let grad = cpu_f32(s2, l2)?;
        let Some((a, b)) = l1.contiguous_offsets() else {
            candle_core::bail!("fused step: parameter is not contiguous");
        };
        let CpuStorage::F32(data) = s1 else {
            candle_core::bail!("fused step: parameter is not f32");
        };
        let p = &mut data[a..b];
        let mut guard = self.moments.lock().expect("moments lock");
        let (first, second) = &mut *guard;
        match self.rule {
            Rule::Sgd {
                lr,
                momentum,
                nesterov,
                weight_decay,
                first_step,
            } => {
                let (lr, mo, wd) = (lr as f32, momentum as f32, weight_decay as f32);
                if mo > 0.0 {
                    p.par_chunks_mut(CHUNK)
                        .zip(grad.par_chunks(CHUNK))
                        .zip(first.par_chunks_mut(CHUNK))
                        .for_each(|((p, g), buf)| {
                            for ((p, &g), b) in p.iter_mut().zip(g).zip(buf) {
                                let g = g + wd * *p;
                                *b = if first_step { g } else { mo * *b + g };
                                let d = if nesterov { g + mo * *b } else { *b };
                                *p -= lr * d;
                            }
                        });
                } else {
                    p.par_chunks_mut(CHUNK)
                        .zip(grad.par_chunks(CHUNK))
                        .for_each(|(p, g)| {
                            for (p, &g) in p.iter_mut().zip(g) {
                                *p -= lr * (g + wd * *p);
                            }
                        });
                }
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
                let (b1, b2, eps) = (beta1 as f32, beta2 as f32, eps as f32);
                let step = (lr / bias1) as f32;
                let inv_sqrt_bias2 = (1.0 / bias2.sqrt()) as f32;
                let decay = if decoupled {
                    (1.0 - lr * weight_decay) as f32
                } else {
                    1.0
                };
                let l2 = if decoupled { 0.0 } else { weight_decay as f32 };
                p.par_chunks_mut(CHUNK)
                    .zip(grad.par_chunks(CHUNK))
                    .zip(
                        first
                            .par_chunks_mut(CHUNK)
                            .zip(second.par_chunks_mut(CHUNK)),
                    )
                    .for_each(|((p, g), (m, v))| {
                        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m).zip(v) {
                            let g = g + l2 * *p;
                            *m = b1 * *m + (1.0 - b1) * g;
                            *v = b2 * *v + (1.0 - b2) * g * g;
                            let denom = v.sqrt() * inv_sqrt_bias2 + eps;
                            *p = *p * decay - step * *m / denom;
                        }
                    });
            }
        }
        Ok(())
    }
}
