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
//!
//! Also as the official code: unless the run is its `baseline_mt` variant
//! (`student_attention = false`), the student carries an SCN-style importance module
//! α = σ(FC(f)) on the features `fc` reads (after dropout, as `Res18Feature.forward`
//! drops out before both; the official factory sets `drop_rate = 0`); the cross-entropy is taken on α·logits and the
//! consistency term on the plain logits (`cons_logit = pure_logits`). There is no rank
//! regularisation, the teacher has no importance module, and evaluation uses the plain
//! logits (`mode_val`). The ramp-up's t is the integer epoch (`get_current_consistency_weight
//! (epoch)`, called once per batch with the epoch number); `fractional_rampup = true`
//! uses the epoch's fraction done instead.

mod settings;

use candle_core::{D, Device, Result, Tensor, Var};
use candle_nn::ops::softmax;

use candle_nn::ops::sigmoid;

use super::losses::{cross_entropy, kl_to_target, sigmoid_rampup};
use super::{BatchTensors, Losses, Method, StepContext};
use crate::compute::data::augment::View;
use crate::compute::model::layers::Linear;
use crate::compute::model::{FerModel, Mode};
use crate::contract::config::Experiment;
use crate::contract::seed::{self, purpose};
pub use settings::SoftConfig;

pub const ENTRY: super::Entry = super::Entry {
    schema: settings::SCHEMA,
    build: |b| {
        let cfg = settings::of(b.exp)?;
        Ok(Box::new(Soft::new(b.exp, &cfg, b.model, b.device)?))
    },
    head: super::pooled_head,
};

pub struct Soft {
    cfg: SoftConfig,
    teacher: FerModel,
    /// The student's importance module (F → 1), unless `student_attention` is off.
    attention: Option<Linear>,
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
    pub fn new(
        exp: &Experiment,
        cfg: &SoftConfig,
        model: &FerModel,
        device: &Device,
    ) -> Result<Self> {
        let mut teacher = FerModel::new(
            &exp.model,
            exp.data.channels,
            model.num_classes(),
            device,
            exp.seed,
        )?;
        teacher
            .backbone
            .set_input_norm(exp.augment.mean, exp.augment.std);
        // Start from the student's weights (which may be pretrained).
        for ((_, t), (_, s)) in teacher.named_vars().iter().zip(model.named_vars()) {
            t.set(s.as_tensor())?;
        }
        let attention = if cfg.student_attention {
            let mut rng = seed::rng(exp.seed, &[purpose::METHOD, 3]);
            Some(Linear::new(model.feature_dim(), 1, &mut rng, device)?)
        } else {
            None
        };
        Ok(Self {
            cfg: cfg.clone(),
            teacher,
            attention,
            global_step: 0,
        })
    }

    /// The consistency weight at this step.
    fn consistency_weight(&self, ctx: &StepContext) -> f64 {
        let t = if self.cfg.fractional_rampup {
            ctx.epoch_progress()
        } else {
            ctx.epoch as f64
        };
        self.cfg.consistency as f64 * sigmoid_rampup(t, self.cfg.rampup_epochs as f64)
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
        let class_logits = match &self.attention {
            Some(a) => out
                .logits
                .broadcast_mul(&sigmoid(&a.forward(&out.head_input)?)?)?,
            None => out.logits.clone(),
        };
        let ce = cross_entropy(&class_logits, &batch.labels, 0.0)?;
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
        let weight = self.consistency_weight(ctx);
        let consistency = (kl_to_target(&out.logits, &target)?.mean_all()? * weight)?;
        Ok(Losses {
            total: (&ce + &consistency)?,
            terms: vec![("ce", ce), ("soft_consistency", consistency)],
            logits: out.logits,
        })
    }

    fn extra_params(&self) -> Vec<(String, Var)> {
        match &self.attention {
            Some(a) => vec![
                ("soft.attention.weight".into(), a.weight.clone()),
                ("soft.attention.bias".into(), a.bias.clone()),
            ],
            None => Vec::new(),
        }
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

    fn load_state(&mut self, state: &serde_json::Value) -> crate::compute::Result<()> {
        self.global_step = state["global_step"].as_u64().unwrap_or(0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::method::test_support::{cyclic_batch, first_step};

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
    fn the_ramp_up_steps_by_integer_epoch_as_the_official_code() {
        let exp = Experiment::default();
        let dev = Device::Cpu;
        let model = FerModel::new(&exp.model, 1, 7, &dev, 1).unwrap();
        let soft = Soft::new(&exp, &SoftConfig::default(), &model, &dev).unwrap();
        let at = |epoch, step| StepContext {
            epoch,
            step,
            epochs: 10,
            steps_per_epoch: 4,
            seed: 0,
        };
        // Weight 10, L = 5: epoch 2 → 10·exp(−5·0.6²) on every step of the epoch.
        let want = 10.0 * (-5.0f64 * 0.36).exp();
        for step in 0..4 {
            assert!((soft.consistency_weight(&at(2, step)) - want).abs() < 1e-12);
        }
        assert!((soft.consistency_weight(&at(0, 3)) - 10.0 * (-5.0f64).exp()).abs() < 1e-12);
        let fractional = SoftConfig {
            fractional_rampup: true,
            ..SoftConfig::default()
        };
        let smooth = Soft::new(&exp, &fractional, &model, &dev).unwrap();
        let half = 10.0 * (-5.0f64 * (1.0 - 2.5 / 5.0f64).powi(2)).exp();
        assert!((smooth.consistency_weight(&at(2, 2)) - half).abs() < 1e-12);
    }

    #[test]
    fn the_importance_reads_the_dropped_features_like_the_official_student() {
        // Official `Res18Feature.forward`: x = Dropout(x); α = σ(FC_α(x)); CE on α·fc(x).
        use crate::compute::model::layers::dropout;
        let mut exp = Experiment::default();
        exp.model.width = 4;
        exp.model.dropout = 0.5;
        let dev = Device::Cpu;
        let model = FerModel::new(&exp.model, 1, 3, &dev, 1).unwrap();
        let x = Tensor::randn(0f32, 1.0, (6, 1, 12, 12), &dev).unwrap();
        let batch = cyclic_batch(vec![x.clone(), x.clone()], 3);
        let ctx = first_step(1, 0);
        let mut soft = Soft::new(&exp, &SoftConfig::default(), &model, &dev).unwrap();
        let losses = soft.loss(&model, &batch, &ctx).unwrap();
        let got = losses
            .terms
            .iter()
            .find(|(n, _)| *n == "ce")
            .unwrap()
            .1
            .clone();
        let out = model.forward(&x, Mode::Train { seed: ctx.seed }).unwrap();
        let dropped = dropout(&out.features, 0.5, ctx.seed).unwrap();
        let alpha = sigmoid(&soft.attention.as_ref().unwrap().forward(&dropped).unwrap()).unwrap();
        let logits = model
            .fc
            .forward(&dropped)
            .unwrap()
            .broadcast_mul(&alpha)
            .unwrap();
        let official = cross_entropy(&logits, &batch.labels, 0.0).unwrap();
        let (got, official) = (
            got.to_scalar::<f32>().unwrap(),
            official.to_scalar::<f32>().unwrap(),
        );
        assert!(
            (got - official).abs() < 1e-6,
            "{got} vs official {official}"
        );
    }

    #[test]
    fn the_student_attention_weights_the_ce_and_not_the_consistency() {
        let mut exp = Experiment::default();
        exp.model.width = 4;
        let dev = Device::Cpu;
        let model = FerModel::new(&exp.model, 1, 3, &dev, 1).unwrap();
        let x = Tensor::randn(0f32, 1.0, (6, 1, 12, 12), &dev).unwrap();
        let batch = cyclic_batch(vec![x.clone(), x], 3);
        let ctx = first_step(1, 0);
        let mut soft = Soft::new(&exp, &SoftConfig::default(), &model, &dev).unwrap();
        assert_eq!(soft.extra_params().len(), 2);
        let with = soft.loss(&model, &batch, &ctx).unwrap();
        let baseline_mt = SoftConfig {
            student_attention: false,
            ..SoftConfig::default()
        };
        let mut plain = Soft::new(&exp, &baseline_mt, &model, &dev).unwrap();
        assert!(plain.extra_params().is_empty());
        let without = plain.loss(&model, &batch, &ctx).unwrap();
        let term = |l: &Losses, name: &str| {
            l.terms
                .iter()
                .find(|(n, _)| *n == name)
                .unwrap()
                .1
                .to_scalar::<f32>()
                .unwrap()
        };
        // Same consistency (plain logits, same teacher), different CE (α·logits).
        assert_eq!(
            term(&with, "soft_consistency"),
            term(&without, "soft_consistency")
        );
        assert_ne!(term(&with, "ce"), term(&without, "ce"));
    }

    #[test]
    fn the_teacher_moves_towards_the_student() {
        let exp = Experiment::default();
        let dev = Device::Cpu;
        let model = FerModel::new(&exp.model, 1, 7, &dev, 1).unwrap();
        let mut soft = Soft::new(&exp, &SoftConfig::default(), &model, &dev).unwrap();
        let (name, w) = model.parameters()[0].clone();
        w.set(&(w.as_tensor() + 1.0).unwrap()).unwrap();
        // A copy: the Var's tensor shares storage with what `set` overwrites.
        let before = soft.teacher.parameters()[0].1.as_tensor().copy().unwrap();
        let ctx = first_step(1, 0);
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
