use candle_core::{Device, Tensor, Var};

use super::*;
use crate::contract::config::{Kernels, OptimizerConfig};

fn cfg(kind: OptimizerKind) -> OptimizerConfig {
    OptimizerConfig {
        kind,
        lr: 0.1,
        weight_decay: 0.01,
        momentum: 0.9,
        nesterov: false,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        sam_rho: 0.0,
    }
}

/// Runs `steps` steps minimising Σ w² / 2 (gradient = w) from w0.
fn run(kind: OptimizerKind, nesterov: bool, host: bool, steps: usize) -> Vec<f32> {
    let w = Var::from_tensor(&Tensor::new(&[1.0f32, -2.0, 0.5], &Device::Cpu).unwrap()).unwrap();
    let mut c = cfg(kind);
    c.nesterov = nesterov;
    let mut opt = Optimizer::new(&c, vec![("w".into(), w.clone())], Kernels::Auto);
    for _ in 0..steps {
        let loss = (w.as_tensor().sqr().unwrap().sum_all().unwrap() * 0.5).unwrap();
        let grads = loss.backward().unwrap();
        if host {
            opt.step(&grads, c.lr).unwrap();
        } else {
            let rule = opt.rule(c.lr, opt.slots[0].steps + 1);
            let g = grads.get(w.as_tensor()).unwrap().clone();
            step_device(&w, &g, &mut opt.slots[0], rule).unwrap();
            opt.slots[0].steps += 1;
            opt.steps += 1;
        }
    }
    w.as_tensor().to_vec1().unwrap()
}

/// PyTorch's update rules written out scalar by scalar.
fn reference(kind: OptimizerKind, nesterov: bool, steps: usize) -> Vec<f32> {
    let c = cfg(kind);
    let mut out = Vec::new();
    for w0 in [1.0f64, -2.0, 0.5] {
        let (mut w, mut m, mut v) = (w0, 0.0f64, 0.0f64);
        for t in 1..=steps {
            let grad = w;
            match kind {
                OptimizerKind::Sgd => {
                    let g = grad + c.weight_decay * w;
                    m = if t == 1 { g } else { c.momentum * m + g };
                    let d = if nesterov { g + c.momentum * m } else { m };
                    w -= c.lr * d;
                }
                OptimizerKind::Adam | OptimizerKind::Adamw => {
                    let decoupled = kind == OptimizerKind::Adamw;
                    let g = if decoupled {
                        grad
                    } else {
                        grad + c.weight_decay * w
                    };
                    if decoupled {
                        w *= 1.0 - c.lr * c.weight_decay;
                    }
                    m = c.beta1 * m + (1.0 - c.beta1) * g;
                    v = c.beta2 * v + (1.0 - c.beta2) * g * g;
                    let mh = m / (1.0 - c.beta1.powi(t as i32));
                    let vh = v / (1.0 - c.beta2.powi(t as i32));
                    w -= c.lr * mh / (vh.sqrt() + c.eps);
                }
            }
        }
        out.push(w as f32);
    }
    out
}

fn close(a: &[f32], b: &[f32]) {
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() < 1e-5, "{a:?} vs {b:?}");
    }
}

#[test]
fn every_rule_matches_pytorch_on_both_paths() {
    for (kind, nesterov) in [
        (OptimizerKind::Sgd, false),
        (OptimizerKind::Sgd, true),
        (OptimizerKind::Adam, false),
        (OptimizerKind::Adamw, false),
    ] {
        let want = reference(kind, nesterov, 5);
        close(&run(kind, nesterov, true, 5), &want);
        close(&run(kind, nesterov, false, 5), &want);
    }
}

#[test]
fn state_round_trips_through_tensors() {
    let c = cfg(OptimizerKind::Adamw);
    let w = Var::from_tensor(&Tensor::new(&[1.0f32, -2.0], &Device::Cpu).unwrap()).unwrap();
    let mut a = Optimizer::new(&c, vec![("w".into(), w.clone())], Kernels::Auto);
    let loss = w.as_tensor().sqr().unwrap().sum_all().unwrap();
    a.step(&loss.backward().unwrap(), 0.1).unwrap();
    let saved: std::collections::HashMap<String, Tensor> =
        a.state_tensors().unwrap().into_iter().collect();
    assert!(saved.contains_key("optim.w.first") && saved.contains_key("optim.w.second"));
    let mut b = Optimizer::new(&c, vec![("w".into(), w.clone())], Kernels::Auto);
    b.load_state(&saved).unwrap();
    assert_eq!(b.steps, 1);
    let again: std::collections::HashMap<String, Tensor> =
        b.state_tensors().unwrap().into_iter().collect();
    for (k, t) in &saved {
        let values = |t: &Tensor| -> Vec<f32> {
            let t = t.flatten_all().unwrap();
            t.to_dtype(candle_core::DType::F32)
                .unwrap()
                .to_vec1()
                .unwrap()
        };
        let (x, y) = (values(t), values(&again[k]));
        assert_eq!(x, y, "{k}");
    }
}

#[test]
fn the_tensor_path_keeps_no_autograd_history() {
    let c = cfg(OptimizerKind::Adam);
    let w = Var::from_tensor(&Tensor::new(&[1.0f32, -2.0], &Device::Cpu).unwrap()).unwrap();
    let mut opt = Optimizer::new(&c, vec![("w".into(), w.clone())], Kernels::Candle);
    for _ in 0..3 {
        let loss = w.as_tensor().sqr().unwrap().sum_all().unwrap();
        opt.step(&loss.backward().unwrap(), 0.1).unwrap();
    }
    for buf in [&opt.slots[0].first, &opt.slots[0].second] {
        match buf {
            Buf::Device(t) => assert!(!t.track_op(), "moment buffer records history"),
            _ => panic!("expected tensor moments"),
        }
    }
}

#[test]
fn parameter_groups_scale_their_learning_rate() {
    // Two copies of one parameter, the second at 10× the rate: after one plain SGD step
    // on Σ w²/2 (gradient w) the second moved ten times as far, on either path.
    for kernels in [Kernels::Auto, Kernels::Candle] {
        let make =
            || Var::from_tensor(&Tensor::new(&[1.0f32, -2.0], &Device::Cpu).unwrap()).unwrap();
        let (a, b) = (make(), make());
        let mut c = cfg(OptimizerKind::Sgd);
        c.momentum = 0.0;
        c.weight_decay = 0.0;
        let mut opt = Optimizer::new(
            &c,
            vec![("a".into(), a.clone()), ("b".into(), b.clone())],
            kernels,
        )
        .with_lr_scales(vec![1.0, 10.0]);
        let loss = ((a.as_tensor().sqr().unwrap().sum_all().unwrap()
            + b.as_tensor().sqr().unwrap().sum_all().unwrap())
        .unwrap()
            * 0.5)
            .unwrap();
        opt.step(&loss.backward().unwrap(), 0.01).unwrap();
        let (a, b) = (
            a.as_tensor().to_vec1::<f32>().unwrap(),
            b.as_tensor().to_vec1::<f32>().unwrap(),
        );
        assert_eq!(a, vec![0.99, -1.98]);
        assert!(
            (b[0] - 0.9).abs() < 1e-6 && (b[1] + 1.8).abs() < 1e-6,
            "{b:?}"
        );
    }
}

/// A parameter frozen for some steps (lr multiple 0) is not touched — no decay, no moments —
/// and, once unfrozen, takes the steps a fresh parameter takes (PyTorch's per-parameter
/// `step` in Adam's bias correction): the same values as an optimiser that never saw it.
#[test]
fn a_frozen_parameter_waits_and_then_steps_like_a_fresh_one() {
    for kernels in [Kernels::Auto, Kernels::Candle] {
        let make =
            || Var::from_tensor(&Tensor::new(&[1.0f32, -2.0], &Device::Cpu).unwrap()).unwrap();
        let c = cfg(OptimizerKind::Adamw);
        let loss_of = |vars: &[&Var]| {
            let mut total = Tensor::new(0f32, &Device::Cpu).unwrap();
            for v in vars {
                total = (total + v.as_tensor().sqr().unwrap().sum_all().unwrap()).unwrap();
            }
            total
        };
        let (head, frozen) = (make(), make());
        let mut opt = Optimizer::new(
            &c,
            vec![
                ("head".into(), head.clone()),
                ("frozen".into(), frozen.clone()),
            ],
            kernels,
        )
        .with_lr_scales(vec![1.0, 0.0]);
        for _ in 0..3 {
            opt.step(&loss_of(&[&head, &frozen]).backward().unwrap(), 0.1)
                .unwrap();
        }
        assert_eq!(
            frozen.as_tensor().to_vec1::<f32>().unwrap(),
            vec![1.0, -2.0]
        );
        opt.set_lr_scales(vec![1.0, 1.0]);
        opt.step(&loss_of(&[&head, &frozen]).backward().unwrap(), 0.1)
            .unwrap();

        let fresh = make();
        let mut alone = Optimizer::new(&c, vec![("fresh".into(), fresh.clone())], kernels);
        alone
            .step(&loss_of(&[&fresh]).backward().unwrap(), 0.1)
            .unwrap();
        let (got, want) = (
            frozen.as_tensor().to_vec1::<f32>().unwrap(),
            fresh.as_tensor().to_vec1::<f32>().unwrap(),
        );
        assert_eq!(got, want, "{kernels:?}");
    }
}
