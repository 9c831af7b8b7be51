//! SOFT — soft label smoothing with a mean teacher (Lukov et al., ECCV 2022; toharl/soft).
//!
//! From the official code (`main_fer.py`, `mean_teacher/losses.py::softmax_kl_loss_sl2`):
//! the student is trained with cross-entropy on the given label plus a consistency term,
//! KL(s ‖ p_student) (batch mean), where s is the teacher's softmax made "soft-smoothed":
//! classes the teacher gives more than τ keep their probability, renormalised to 1 − ε;
//! the others share ε uniformly. The teacher is an exponential moving average of the
//! student's parameters (decay min(1 − 1/(step+1), 0.999)), fed its own augmentation of
//! the batch; the consistency weight ramps up as exp(−5(1 − t/L)²) over L epochs
//! (their RAF-DB script: weight 10, L = 5, ε = 0.3, τ = 1/7).

use candle_core::{D, Device, Result, Tensor, Var};
use candle_nn::ops::softmax;

use super::losses::{cross_entropy, kl_to_target, sigmoid_rampup};
use super::{BatchTensors, Losses, Method, StepContext};
use crate::config::{Experiment, SoftConfig};
use crate::data::augment::View;
use crate::model::{FerModel, Mode};

pub struct Soft {
    cfg: SoftConfig,
    teacher: FerModel,
    global_step: u64,
}

/// Soft label smoothing of one probability row: entries above τ keep their share of 1 − ε,
/// the rest split ε evenly. If no entry is above τ (only possible for a uniform row when
/// τ = 1/C) the row is uniform, where the official code would divide by zero.
pub fn soft_smooth(probs: &[f32], epsilon: f32, tau: f32) -> Vec<f32> {
    let c = probs.len();
    let kept: f32 = probs.iter().filter(|&&p| p > tau).sum();
    let k = probs.iter().filter(|&&p| p > tau).count();
    let rest = c - k;
    probs
        .iter()
        .map(|&p| {
            let high = if p > tau && kept > 0.0 {
                p / kept * (1.0 - epsilon)
            } else {
                0.0
            };
            let low = if p > tau {
                0.0
            } else if rest > 0 {
                epsilon / rest as f32
            } else {
                0.0
            };
            if k == 0 { 1.0 / c as f32 } else { high + low }
        })
        .collect()
}

impl Soft {
    pub fn new(exp: &Experiment, model: &FerModel, device: &Device) -> Result<Self> {
        let teacher = FerModel::new(
            &exp.model,
            exp.data.channels,
            model.num_classes(),
            device,
            exp.seed,
        )?;
        // Start from the student's weights (which may be pretrained).
        for ((_, t), (_, s)) in teacher.named_vars().iter().zip(model.named_vars()) {
            t.set(s.as_tensor())?;
        }
        Ok(Self {
            cfg: exp.method.soft.clone(),
            teacher,
            global_step: 0,
        })
    }

    fn tau(&self, classes: usize) -> f32 {
        if self.cfg.tau > 0.0 {
            self.cfg.tau
        } else {
            1.0 / classes as f32
        }
    }
}

impl Method for Soft {
    fn name(&self) -> &'static str {
        "soft"
    }

    fn views(&self) -> Vec<View> {
        vec![View::Train, View::Train]
    }

    fn loss(
        &mut self,
        model: &FerModel,
        batch: &BatchTensors,
        ctx: &StepContext,
    ) -> Result<Losses> {
        let out = model.forward(&batch.views[0], Mode::Train { seed: ctx.seed })?;
        let ce = cross_entropy(&out.logits, &batch.labels, 0.0)?;
        let teacher_logits = self
            .teacher
            .forward(&batch.views[1], Mode::Train { seed: ctx.seed ^ 1 })?
            .logits
            .detach();
        let probs = softmax(&teacher_logits, D::Minus1)?.to_vec2::<f32>()?;
        let c = model.num_classes();
        let tau = self.tau(c);
        let target: Vec<f32> = probs
            .iter()
            .flat_map(|row| soft_smooth(row, self.cfg.epsilon, tau))
            .collect();
        let target = Tensor::from_vec(target, (probs.len(), c), out.logits.device())?;
        let weight = self.cfg.consistency as f64
            * sigmoid_rampup(ctx.epoch_progress(), self.cfg.rampup_epochs as f64);
        let consistency = (kl_to_target(&out.logits, &target)?.mean_all()? * weight)?;
        Ok(Losses {
            total: (&ce + &consistency)?,
            terms: vec![("ce", ce), ("soft_consistency", consistency)],
            logits: out.logits,
        })
    }

    fn buffers(&self) -> Vec<(String, Var)> {
        self.teacher
            .named_vars()
            .into_iter()
            .map(|(n, v)| (format!("soft.teacher.{n}"), v))
            .collect()
    }

    fn after_step(&mut self, model: &FerModel, _ctx: &StepContext) -> Result<()> {
        self.global_step += 1;
        let a = (1.0 - 1.0 / (self.global_step as f64 + 1.0)).min(self.cfg.ema_decay as f64);
        for ((_, t), (_, s)) in self.teacher.parameters().iter().zip(model.parameters()) {
            let next = ((t.as_tensor() * a)? + (s.as_tensor().detach() * (1.0 - a))?)?;
            t.set(&next)?;
        }
        Ok(())
    }

    fn state(&self) -> serde_json::Value {
        serde_json::json!({ "global_step": self.global_step })
    }

    fn load_state(&mut self, state: &serde_json::Value) -> std::result::Result<(), String> {
        self.global_step = state["global_step"].as_u64().unwrap_or(0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_smoothing_keeps_likely_classes_and_spreads_epsilon() {
        // τ = 0.25: classes 0 and 1 kept (0.5 and 0.3 → renormalised over 0.8 to 0.7).
        let s = soft_smooth(&[0.5, 0.3, 0.15, 0.05], 0.3, 0.25);
        let want = [0.5 / 0.8 * 0.7, 0.3 / 0.8 * 0.7, 0.15, 0.15];
        for (a, b) in s.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{s:?}");
        }
        assert!((s.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        // Nothing above τ: uniform.
        let s = soft_smooth(&[0.25, 0.25, 0.25, 0.25], 0.3, 0.25);
        assert!(s.iter().all(|&v| (v - 0.25).abs() < 1e-6));
    }

    #[test]
    fn the_teacher_moves_towards_the_student() {
        let exp = Experiment::default();
        let dev = Device::Cpu;
        let model = FerModel::new(&exp.model, 1, 7, &dev, 1).unwrap();
        let mut soft = Soft::new(&exp, &model, &dev).unwrap();
        let (name, w) = model.parameters()[0].clone();
        w.set(&(w.as_tensor() + 1.0).unwrap()).unwrap();
        // A copy: the Var's tensor shares storage with what `set` overwrites.
        let before = soft.teacher.parameters()[0].1.as_tensor().copy().unwrap();
        let ctx = StepContext {
            epoch: 0,
            step: 0,
            epochs: 1,
            steps_per_epoch: 1,
            seed: 0,
        };
        // The first step uses decay min(1 − 1/2, 0.999) = 0.5.
        soft.after_step(&model, &ctx).unwrap();
        let after = soft.teacher.parameters()[0].1.as_tensor().clone();
        let moved = (after - before)
            .unwrap()
            .mean_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!((moved - 0.5).abs() < 1e-5, "{name}: {moved}");
    }
}
