//! Every method's loss against central finite differences, on a tiny model: the gradient
//! that backpropagation gives each trainable tensor (backbone, head, the method's
//! branches and projection heads) must match the loss's change along a random direction,
//! and a tensor that gets an exactly-zero gradient while the loss moves fails outright —
//! the signature of an op without a backward pass (candle-nn's `softmax_last_dim` once cut
//! RMFER's projection head off this way). Run under both kernel paths, so the candle
//! reference path (the one CUDA takes) is checked too.
//!
//! The weights are f32 (ferlab's kernels are), so the differences use small steps and take
//! the median of three step sizes: ReLU and max-pool kinks crossed within a step, not
//! round-off, limit the agreement (a few % at these steps, converging as the step
//! shrinks), and the tolerance of 12% still fails a gradient scaled by ¼ or cut by 90%.
//! Where the official code stops a gradient on purpose (EAC's and LNSU's maps read the
//! head detached; ASM's `stop_gradient = true` detaches its targets), the tensor is only checked to
//! receive a gradient, since the finite difference sees the stopped path too.

use std::sync::Arc;

use candle_core::{DType, Device, Result, Tensor};
use rand::SeedableRng;

use super::{BatchTensors, Method, StepContext};
use crate::compute::data::augment::make_view;
use crate::compute::data::{self, unlabeled};
use crate::compute::model::FerModel;
use crate::contract::config::{Experiment, Kernels, UnlabeledSource};

/// Steps of the central differences along a direction of unit-normal entries; their
/// median is compared.
const STEPS: [f64; 3] = [5e-5, 1e-4, 2e-4];
/// Relative and absolute tolerance of backprop against the finite differences.
const RELATIVE: f64 = 0.12;
const ABSOLUTE: f64 = 1e-2;

fn tiny(method: &str, kernels: Kernels) -> Experiment {
    let mut exp = Experiment {
        seed: 5,
        ..Experiment::default()
    };
    exp.method.name = method.into();
    exp.data.image_size = 24;
    exp.data.synthetic.train_per_class = 2;
    exp.data.synthetic.val_per_class = 1;
    exp.data.synthetic.identities = 6;
    exp.model.width = 4;
    exp.model.convs_per_stage = 1;
    exp.model.kernels = kernels;
    exp.augment.erase_prob = 0.5;
    set(&mut exp, "method.rmfer.projection_dim", 8);
    set(&mut exp, "method.rmfer.epoch_pre", 0);
    set(&mut exp, "method.rmfer.anchors", 2);
    set(&mut exp, "method.rmfer.candidates", 6);
    set(&mut exp, "method.rmfer.min_gap", 2);
    set(&mut exp, "method.rul.uncertainty_dim", 8);
    set(&mut exp, "method.asm.warmup_epochs", 0);
    set(&mut exp, "method.asm.thresholds", "fixed");
    // Mined from the batch itself: the tiny case has no evaluation pass.
    set(&mut exp, "method.asm.partition", "online");
    if method == "rmfer" {
        exp.unlabeled.source = UnlabeledSource::SyntheticClips;
        exp.unlabeled.videos = 1;
        exp.unlabeled.people = 3;
        exp.unlabeled.frames = 8;
        exp.unlabeled.max_lag = 1;
    }
    exp
}

struct Case {
    model: FerModel,
    method: Box<dyn Method>,
    batch: BatchTensors,
    ctx: StepContext,
}

fn case(exp: &Experiment) -> Case {
    let dev = Device::Cpu;
    let dataset = data::build(exp).expect("synthetic data");
    let unlabeled = unlabeled::load(exp).expect("clips").map(Arc::new);
    let model = FerModel::for_experiment(
        exp,
        super::head_of(exp).unwrap(),
        dataset.num_classes(),
        &dev,
    )
    .unwrap();
    let method = super::build(exp, &model, &dataset.train, unlabeled, &dev).unwrap();
    let train = &dataset.train;
    let n = train.len().min(10);
    let (c, s) = (train.channels, train.size);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let views = method
        .views()
        .into_iter()
        .map(|view| {
            let mut buf = vec![0f32; n * c * s * s];
            for (i, out) in buf.chunks_mut(c * s * s).enumerate() {
                make_view(train.image(i), c, s, view, &exp.augment, &mut rng, out);
            }
            Tensor::from_vec(buf, (n, c, s, s), &dev).unwrap()
        })
        .collect();
    let label_vec: Vec<u32> = train.labels[..n].iter().map(|&l| l as u32).collect();
    Case {
        model,
        method,
        batch: BatchTensors {
            views,
            labels: Tensor::new(label_vec.as_slice(), &dev).unwrap(),
            label_vec,
            indices: (0..n).collect(),
        },
        ctx: StepContext {
            epoch: 1,
            step: 0,
            epochs: 10,
            steps_per_epoch: 4,
            seed: 9,
        },
    }
}

impl Case {
    fn loss(&mut self) -> Result<Tensor> {
        Ok(self.method.loss(&self.model, &self.batch, &self.ctx)?.total)
    }

    /// Checks every trainable tensor; returns their names. Tensors whose names start with
    /// one of `stopped` only need a gradient (a path to them is cut on purpose).
    fn check(&mut self, label: &str, stopped: &[&str]) -> Vec<String> {
        let grads = self.loss().unwrap().backward().unwrap();
        let mut params = self.model.parameters();
        params.extend(self.method.extra_params());
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let mut failures = Vec::new();
        for (name, var) in &params {
            let direction: Vec<f32> = (0..var.elem_count())
                .map(|_| rand_distr::Distribution::sample(&rand_distr::StandardNormal, &mut rng))
                .collect();
            let v = Tensor::from_vec(direction, var.dims(), &Device::Cpu).unwrap();
            let analytic = match grads.get(var.as_tensor()) {
                Some(g) => (g * &v)
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap() as f64,
                None => 0.0,
            };
            let original = var.as_tensor().copy().unwrap();
            let mut at = |offset: f64| {
                let moved = (&original + (&v * offset).unwrap()).unwrap();
                var.set(&moved).unwrap();
                self.loss()
                    .unwrap()
                    .to_dtype(DType::F64)
                    .unwrap()
                    .to_scalar::<f64>()
                    .unwrap()
            };
            let mut differences: Vec<f64> = STEPS
                .iter()
                .map(|&h| (at(h) - at(-h)) / (2.0 * h))
                .collect();
            var.set(&original).unwrap();
            differences.sort_by(f64::total_cmp);
            let numeric = differences[1];
            let scale = numeric.abs().max(analytic.abs());
            let cut = stopped.iter().any(|p| name.starts_with(p));
            if analytic == 0.0 && numeric.abs() > ABSOLUTE {
                failures.push(format!(
                    "{label} {name}: no gradient, but the loss moves ({numeric:.4})"
                ));
            } else if !cut && (numeric - analytic).abs() > RELATIVE * scale + ABSOLUTE {
                failures.push(format!(
                    "{label} {name}: backprop {analytic:.5} vs finite differences {numeric:.5}"
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        params.into_iter().map(|(n, _)| n).collect()
    }
}

/// Sets one method setting of a test experiment.
fn set(exp: &mut Experiment, path: &str, value: impl Into<toml::Value>) {
    exp.set(path, value).unwrap();
}

fn check_stopped(method: &str, stopped: &[&str], tweak: impl Fn(&mut Experiment)) -> Vec<String> {
    let mut names = Vec::new();
    for kernels in [Kernels::Auto, Kernels::Candle] {
        let mut exp = tiny(method, kernels);
        tweak(&mut exp);
        names = case(&exp).check(&format!("{method} ({kernels:?})"), stopped);
    }
    names
}

fn check(method: &str, tweak: impl Fn(&mut Experiment)) -> Vec<String> {
    check_stopped(method, &[], tweak)
}

/// EAC and LNSU read the head's weights detached in their maps (the official code).
const DETACHED_HEAD: &[&str] = &["fc.weight"];

fn has(names: &[String], prefix: &str) -> bool {
    names.iter().any(|n| n.starts_with(prefix))
}

#[test]
fn cross_entropy_cb_and_lnsu_gradients() {
    check("ce", |_| {});
    check("cb", |_| {});
    check_stopped("lnsu", DETACHED_HEAD, |_| {});
}

#[test]
fn eac_gradients_with_both_second_views() {
    for view in ["mirror", "separate"] {
        check_stopped("eac", DETACHED_HEAD, |e| {
            set(e, "method.eac.second_view", view)
        });
    }
}

#[test]
fn scn_gradients_reach_the_importance_branch() {
    let names = check("scn", |_| {});
    assert!(has(&names, "scn.attention"));
}

#[test]
fn soft_gradients_with_and_without_the_student_attention() {
    let names = check("soft", |_| {});
    assert!(has(&names, "soft.attention"));
    check("soft", |e| set(e, "method.soft.student_attention", false));
}

#[test]
fn rul_gradients_in_both_architectures() {
    let names = check("rul", |_| {});
    assert!(has(&names, "embedding.linear") && has(&names, "rul.log_variance.linear"));
    check("rul", |e| set(e, "method.rul.architecture", "pooled"));
}

#[test]
fn asm_gradients_in_every_set() {
    // Fixed thresholds that put every sample in one set: clean, ambiguous, noisy. MAN's
    // form (no stop-gradient) is checked in full everywhere; the detached form only gets
    // checked in full on the clean set (plain CE) — elsewhere each tensor must still
    // receive a gradient.
    for (noisy, clean) in [(0.0f32, 0.0f32), (0.0, 1.01), (1.01, 1.01)] {
        check("asm", |e| {
            set(e, "method.asm.noisy_threshold", noisy as f64);
            set(e, "method.asm.clean_threshold", clean as f64);
        });
        let stopped: &[&str] = if clean == 0.0 { &[] } else { &[""] };
        check_stopped("asm", stopped, |e| {
            set(e, "method.asm.noisy_threshold", noisy as f64);
            set(e, "method.asm.clean_threshold", clean as f64);
            set(e, "method.asm.stop_gradient", true);
            set(e, "method.asm.noisy_loss", "kl");
        });
    }
}

#[test]
fn rmfer_gradients_reach_the_projection_head_through_ial_and_acl() {
    let names = check("rmfer", |_| {});
    assert!(has(&names, "rmfer.projection") && has(&names, "rmfer.attention_head"));
    // IAL alone and ACL alone each train the projection head.
    check("rmfer", |e| set(e, "method.rmfer.acl", false));
    check("rmfer", |e| set(e, "method.rmfer.ial", false));
}
