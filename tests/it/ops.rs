//! ferlab's CPU kernels against candle's reference operations (values and gradients) on
//! random shapes, and against finite differences.

use candle_core::{Device, Tensor, Var};
use ferlab::compute::ops;
use ferlab::contract::config::Kernels;

const AUTO: Kernels = Kernels::Auto;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random(dims: &[usize], rng: &mut ChaCha8Rng) -> Tensor {
    let n: usize = dims.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    Tensor::from_vec(v, dims, &Device::Cpu).unwrap()
}

/// Largest absolute element.
fn max_abs(t: &Tensor) -> f32 {
    t.abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    max_abs(&(a - b).unwrap())
}

fn scale(t: &Tensor) -> f32 {
    max_abs(t).max(1.0)
}

/// Gradients of Σ(f(inputs) · r) for a fixed random r, wrt every input.
fn grads(inputs: &[Tensor], r: &Tensor, f: &dyn Fn(&[Tensor]) -> Tensor) -> (Tensor, Vec<Tensor>) {
    let vars: Vec<Var> = inputs
        .iter()
        .map(|t| Var::from_tensor(t).unwrap())
        .collect();
    let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let y = f(&ts);
    let loss = (&y * r).unwrap().sum_all().unwrap();
    let g = loss.backward().unwrap();
    (
        y,
        vars.iter()
            .map(|v| g.get(v.as_tensor()).unwrap().clone())
            .collect(),
    )
}

fn assert_same(
    inputs: &[Tensor],
    ours: &dyn Fn(&[Tensor]) -> Tensor,
    reference: &dyn Fn(&[Tensor]) -> Tensor,
    what: &str,
    rng: &mut ChaCha8Rng,
) {
    let probe = ours(inputs);
    let r = random(probe.dims(), rng);
    let (y1, g1) = grads(inputs, &r, ours);
    let (y2, g2) = grads(inputs, &r, reference);
    let d = max_abs_diff(&y1, &y2);
    assert!(d <= 1e-4 * scale(&y2), "{what}: forward differs by {d}");
    for (i, (a, b)) in g1.iter().zip(&g2).enumerate() {
        let d = max_abs_diff(a, b);
        assert!(d <= 2e-4 * scale(b), "{what}: gradient {i} differs by {d}");
    }
}

#[test]
fn conv2d_matches_candle_on_random_shapes() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    // (n, c, h, w, oc, k, stride, pad)
    let cases = [
        (2, 3, 7, 7, 4, 3, 1, 1),
        (3, 1, 9, 7, 5, 3, 2, 1),
        (1, 4, 5, 5, 2, 1, 1, 0),
        (5, 2, 11, 11, 3, 1, 2, 0),
        (2, 3, 13, 9, 4, 7, 2, 3),
        (4, 5, 6, 6, 7, 3, 1, 0),
        (33, 3, 4, 4, 6, 3, 1, 1),
        (2, 3, 8, 6, 4, 5, 1, 2),
        (2, 2, 1, 7, 3, 3, 1, 1),
        (2, 2, 9, 9, 3, 5, 3, 2),
        // The face ResNet's stem (7×7/2, no padding) and down blocks (3×3/2) at odd sizes.
        (2, 3, 17, 15, 4, 7, 2, 0),
        (3, 4, 13, 13, 5, 3, 2, 0),
        // Rows narrower than the stride.
        (2, 2, 5, 2, 3, 3, 3, 1),
        // "Same" padding wider than the row, and a 1×1 map (every off-centre tap reads
        // padding).
        (3, 2, 4, 2, 3, 5, 1, 2),
        (2, 3, 1, 1, 2, 3, 1, 1),
    ];
    for (n, c, h, w, oc, k, stride, pad) in cases {
        let x = random(&[n, c, h, w], &mut rng);
        let wt = random(&[oc, c, k, k], &mut rng);
        assert_same(
            &[x, wt],
            &|t| ops::conv2d(&t[0], &t[1], stride, pad, AUTO).unwrap(),
            &|t| t[0].conv2d(&t[1], pad, stride, 1, 1).unwrap(),
            &format!("conv n{n} c{c} {h}x{w} oc{oc} k{k} s{stride} p{pad}"),
            &mut rng,
        );
    }
}

/// Central finite differences of Σ(f(inputs) · r) at a few coordinates of every input,
/// against the analytic gradients of `f`.
fn check_finite_differences(
    inputs: &[Tensor],
    f: &dyn Fn(&[Tensor]) -> Tensor,
    what: &str,
    rng: &mut ChaCha8Rng,
) {
    let probe = f(inputs);
    let r = random(probe.dims(), rng);
    let value = |ts: &[Tensor]| -> f64 {
        let y = f(ts).to_dtype(candle_core::DType::F64).unwrap();
        (y * r.to_dtype(candle_core::DType::F64).unwrap())
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
    };
    let (_, g) = grads(inputs, &r, f);
    let eps = 1e-2f32;
    for (which, base) in inputs.iter().enumerate() {
        let flat: Vec<f32> = base.flatten_all().unwrap().to_vec1().unwrap();
        let gflat: Vec<f32> = g[which].flatten_all().unwrap().to_vec1().unwrap();
        for _ in 0..6 {
            let idx = rng.random_range(0..flat.len());
            let shifted = |delta: f32| {
                let mut v = flat.clone();
                v[idx] += delta;
                let mut ts = inputs.to_vec();
                ts[which] = Tensor::from_vec(v, base.dims(), &Device::Cpu).unwrap();
                value(&ts)
            };
            let numeric = (shifted(eps) - shifted(-eps)) / (2.0 * eps as f64);
            let analytic = gflat[idx] as f64;
            assert!(
                (numeric - analytic).abs() < 5e-3 * (1.0 + analytic.abs()),
                "{what}: input {which} index {idx}: numeric {numeric} analytic {analytic}"
            );
        }
    }
}

#[test]
fn conv2d_gradients_match_finite_differences_where_candle_cannot_check_them() {
    // candle 0.11's conv2d backward returns a wrongly shaped input gradient when the
    // strided output does not cover the input's last columns (9x6, k3, s2, p1 gives 9x5):
    // these shapes are checked against finite differences instead.
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for (n, c, h, w, oc, k, stride, pad) in [
        (2, 2, 5, 4, 3, 3, 2, 1),
        (3, 1, 9, 6, 5, 3, 2, 1),
        (2, 3, 8, 8, 2, 3, 3, 0),
    ] {
        let x = random(&[n, c, h, w], &mut rng);
        let wt = random(&[oc, c, k, k], &mut rng);
        check_finite_differences(
            &[x, wt],
            &|t| ops::conv2d(&t[0], &t[1], stride, pad, AUTO).unwrap(),
            &format!("conv {h}x{w} k{k} s{stride} p{pad}"),
            &mut rng,
        );
    }
}

#[test]
fn pooling_and_batch_norm_gradients_match_finite_differences() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let x = random(&[2, 3, 7, 7], &mut rng);
    check_finite_differences(
        std::slice::from_ref(&x),
        &|t| ops::max_pool2d(&t[0], 3, 2, 1, AUTO).unwrap(),
        "max pool",
        &mut rng,
    );
    let gamma = (random(&[3], &mut rng) + 1.5).unwrap();
    let beta = random(&[3], &mut rng);
    check_finite_differences(
        &[x, gamma, beta],
        &|t| {
            ops::batch_norm_train(&t[0], &t[1], &t[2], 1e-5, false, AUTO)
                .unwrap()
                .0
        },
        "batch norm",
        &mut rng,
    );
}

#[test]
fn max_pool_matches_the_reference_for_any_kernel_stride_and_padding() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for (n, c, h, w, k, stride, pad) in [
        (2, 3, 8, 8, 2, 2, 0),
        (2, 2, 9, 7, 3, 2, 1),
        (1, 4, 10, 10, 3, 1, 1),
        (3, 1, 7, 7, 3, 3, 0),
        (2, 2, 11, 11, 5, 2, 2),
        // The face ResNet's stem pool: 3×3/2 without padding on an odd map.
        (2, 3, 13, 13, 3, 2, 0),
    ] {
        let x = random(&[n, c, h, w], &mut rng);
        assert_same(
            &[x],
            &|t| ops::max_pool2d(&t[0], k, stride, pad, AUTO).unwrap(),
            &|t| ops::reference::max_pool2d(&t[0], k, stride, pad).unwrap(),
            &format!("max pool {h}x{w} k{k} s{stride} p{pad}"),
            &mut rng,
        );
    }
}

#[test]
fn max_pool_with_kernel_equal_stride_matches_candle_forward() {
    // candle 0.11's max_pool2d backward multiplies the gradient by the window's mask average
    // (1/k² for a unique maximum) instead of dividing by the number of maxima, so only its
    // forward pass serves as a reference; the gradient is checked against finite differences.
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let x = random(&[3, 4, 12, 10], &mut rng);
    let ours = ops::max_pool2d(&x, 2, 2, 0, AUTO).unwrap();
    let theirs = x.max_pool2d(2).unwrap();
    assert_eq!(max_abs_diff(&ours, &theirs), 0.0);
    check_finite_differences(
        std::slice::from_ref(&x),
        &|t| ops::max_pool2d(&t[0], 2, 2, 0, AUTO).unwrap(),
        "max pool 2x2",
        &mut rng,
    );
    // The candle path (CUDA, `kernels = "candle"`) must not inherit that backward: same
    // values and gradients as ferlab's kernel, and as finite differences. Odd sizes drop
    // the last row / column as PyTorch does.
    for dims in [[3, 4, 12, 10], [2, 3, 9, 7]] {
        let x = random(&dims, &mut rng);
        assert_same(
            std::slice::from_ref(&x),
            &|t| ops::max_pool2d(&t[0], 2, 2, 0, AUTO).unwrap(),
            &|t| ops::max_pool2d(&t[0], 2, 2, 0, Kernels::Candle).unwrap(),
            &format!("max pool 2x2 candle path {dims:?}"),
            &mut rng,
        );
        check_finite_differences(
            &[x],
            &|t| ops::max_pool2d(&t[0], 2, 2, 0, Kernels::Candle).unwrap(),
            "max pool 2x2, candle path",
            &mut rng,
        );
    }
    // Ties (flat backgrounds, erased patches, ReLU zeros): one element per window takes
    // the gradient, the first, as in PyTorch and ferlab's kernel — not every tied one.
    let flat = Tensor::ones((1, 2, 4, 6), candle_core::DType::F32, &Device::Cpu).unwrap();
    assert_same(
        &[flat],
        &|t| ops::max_pool2d(&t[0], 2, 2, 0, AUTO).unwrap(),
        &|t| ops::max_pool2d(&t[0], 2, 2, 0, Kernels::Candle).unwrap(),
        "max pool 2x2 over ties",
        &mut rng,
    );
}

/// One training step of a whole model under `kernels`: its gradients and the change one
/// SGD-with-momentum step makes to its weights, by parameter name.
type Step = (Vec<(String, Tensor)>, Vec<(String, Tensor)>);

fn train_step(cfg: &ferlab::contract::config::ModelConfig, x: &Tensor, y: &Tensor) -> Step {
    use ferlab::compute::model::{FerModel, Mode};
    use ferlab::contract::config::{OptimizerConfig, OptimizerKind};
    let kernels = cfg.kernels;
    let model = FerModel::new(cfg, 1, 5, &Device::Cpu, 17).unwrap();
    let params = model.parameters();
    let before: Vec<Tensor> = params
        .iter()
        .map(|(_, v)| v.as_tensor().copy().unwrap())
        .collect();
    let out = model.forward(x, Mode::Train { seed: 1 }).unwrap();
    let loss = ferlab::compute::method::losses::cross_entropy(&out.logits, y, 0.0).unwrap();
    let grads = loss.backward().unwrap();
    let g = params
        .iter()
        .map(|(n, v)| {
            (
                n.clone(),
                grads.get(v.as_tensor()).expect(n).copy().unwrap(),
            )
        })
        .collect();
    let opt = OptimizerConfig {
        kind: OptimizerKind::Sgd,
        lr: 0.1,
        momentum: 0.9,
        weight_decay: 5e-4,
        ..OptimizerConfig::default()
    };
    let mut optimizer = ferlab::compute::optim::Optimizer::new(&opt, params.clone(), kernels);
    optimizer.step(&grads, 0.1).unwrap();
    let updates = params
        .iter()
        .zip(&before)
        .map(|((n, v), b)| (n.clone(), (v.as_tensor() - b).unwrap()))
        .collect();
    (g, updates)
}

#[test]
fn whole_models_train_the_same_under_both_kernel_paths() {
    // The stand-in for a GPU run: candle's operations (what CUDA executes) against
    // ferlab's CPU kernels, forward + backward + one optimiser step, every tensor.
    use ferlab::contract::config::{Backbone, ModelConfig, ScaleAffine};
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let base = ModelConfig {
        width: 8,
        dropout: 0.0,
        ..ModelConfig::default()
    };
    // The face ResNet at an odd input (odd maps: the average pool drops a row and a
    // column), with folded scale layers (its fused conv + affine and shortcut nodes) and
    // with trained ones, and with a stride-1 down block (the unpooled shortcut).
    let face = |input_size, stride_one_blocks, scale_affine| ModelConfig {
        backbone: Backbone::FaceResnet,
        input_size,
        stride_one_blocks,
        scale_affine,
        ..base.clone()
    };
    for (what, cfg, size) in [
        (
            "small CNN",
            ModelConfig {
                backbone: Backbone::SmallCnn,
                ..base.clone()
            },
            24,
        ),
        (
            "ResNet-18",
            ModelConfig {
                backbone: Backbone::Resnet18,
                ..base.clone()
            },
            32,
        ),
        ("face ResNet, folded", face(117, 0, ScaleAffine::Folded), 24),
        (
            "face ResNet, separate",
            face(105, 0, ScaleAffine::Separate),
            24,
        ),
        (
            "face ResNet, stride 1",
            face(105, 1, ScaleAffine::Folded),
            24,
        ),
    ] {
        let x = random(&[4, 1, size, size], &mut rng);
        let y = Tensor::new(&[0u32, 3, 1, 4], &Device::Cpu).unwrap();
        let (ga, wa) = train_step(
            &ModelConfig {
                kernels: AUTO,
                ..cfg.clone()
            },
            &x,
            &y,
        );
        let (gc, wc) = train_step(
            &ModelConfig {
                kernels: Kernels::Candle,
                ..cfg
            },
            &x,
            &y,
        );
        for ((name, a), (_, c)) in ga.iter().zip(&gc) {
            let err = max_abs_diff(a, c) / max_abs(a).max(1e-6);
            assert!(err < 1e-3, "{what}: gradient of {name}: relative {err}");
        }
        for ((name, a), (_, c)) in wa.iter().zip(&wc) {
            let err = max_abs_diff(a, c) / max_abs(a).max(1e-6);
            assert!(err < 1e-3, "{what}: update of {name}: relative {err}");
        }
    }
}

#[test]
fn batch_norm_matches_the_reference_with_and_without_relu() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for (dims, relu) in [
        (vec![4, 3, 5, 5], true),
        (vec![7, 6, 3, 2], false),
        (vec![9, 5], false),
    ] {
        let c = dims[1];
        let x = random(&dims, &mut rng);
        let gamma = (random(&[c], &mut rng) + 1.5).unwrap();
        let beta = random(&[c], &mut rng);
        assert_same(
            &[x.clone(), gamma.clone(), beta.clone()],
            &|t| {
                ops::batch_norm_train(&t[0], &t[1], &t[2], 1e-5, relu, AUTO)
                    .unwrap()
                    .0
            },
            &|t| {
                ops::reference::batch_norm_train(&t[0], &t[1], &t[2], 1e-5, relu)
                    .unwrap()
                    .0
            },
            &format!("batch norm {dims:?} relu {relu}"),
            &mut rng,
        );
        let (_, m1, v1, n1) = ops::batch_norm_train(&x, &gamma, &beta, 1e-5, relu, AUTO).unwrap();
        let (_, m2, v2, n2) =
            ops::reference::batch_norm_train(&x, &gamma, &beta, 1e-5, relu).unwrap();
        assert_eq!(n1, n2);
        assert!(max_abs_diff(&m1, &m2) < 1e-5 && max_abs_diff(&v1, &v2) < 1e-5);
    }
}

#[test]
fn channel_affine_and_relu_match_candle() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let x = random(&[3, 4, 5, 6], &mut rng);
    let s = random(&[4], &mut rng);
    let b = random(&[4], &mut rng);
    for relu in [false, true] {
        assert_same(
            &[x.clone(), s.clone(), b.clone()],
            &|t| ops::channel_affine(&t[0], &t[1], &t[2], relu, AUTO).unwrap(),
            &|t| ops::reference::channel_affine(&t[0], &t[1], &t[2], relu).unwrap(),
            "affine",
            &mut rng,
        );
    }
    assert_same(
        &[x],
        &|t| ops::relu(&t[0], AUTO).unwrap(),
        &|t| t[0].relu().unwrap(),
        "relu",
        &mut rng,
    );
}

#[test]
fn conv2d_results_do_not_depend_on_the_thread_count() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let x = random(&[16, 8, 12, 12], &mut rng);
    let w = random(&[16, 8, 3, 3], &mut rng);
    let r = random(&[16, 16, 12, 12], &mut rng);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let (y, g) = grads(&[x.clone(), w.clone()], &r, &|t| {
                ops::conv2d(&t[0], &t[1], 1, 1, AUTO).unwrap()
            });
            let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            (flat(&y), flat(&g[0]), flat(&g[1]))
        })
    };
    let one = run(1);
    for threads in [2, 3] {
        let other = run(threads);
        assert_eq!(one.0, other.0);
        assert_eq!(one.1, other.1);
        // The weight gradient is summed in a fixed group order; with another thread count
        // the grouping differs, so allow float rounding.
        for (a, b) in one.2.iter().zip(&other.2) {
            assert!((a - b).abs() <= 1e-4 * a.abs().max(1.0));
        }
    }
}

#[test]
fn fused_evaluation_conv_bn_relu_equals_the_separate_ops() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    for (n, c, h, oc, k, stride, pad, relu) in [
        (3, 4, 9, 5, 3, 1, 1, true),
        (33, 2, 4, 3, 3, 2, 1, false),
        (2, 3, 8, 6, 1, 2, 0, true),
    ] {
        let x = random(&[n, c, h, h], &mut rng);
        let w = random(&[oc, c, k, k], &mut rng);
        let scale = random(&[oc], &mut rng);
        let shift = random(&[oc], &mut rng);
        let fused = ops::conv2d_affine(&x, &w, &scale, &shift, stride, pad, relu, AUTO).unwrap();
        let conv = x.conv2d(&w, pad, stride, 1, 1).unwrap();
        let reference = ops::reference::channel_affine(&conv, &scale, &shift, relu).unwrap();
        assert!(
            max_abs_diff(&fused, &reference) < 1e-4,
            "n{n} c{c} k{k} s{stride}"
        );
    }
}

#[test]
fn fused_training_conv_affine_relu_matches_the_separate_reference_ops() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    // (n, c, h, w, oc, k, stride, pad, relu): the face ResNet's 3×3 blocks on odd and 3×3
    // maps, its 3×3/2 down convolution and 7×7/2 stem, a batch over several chunks.
    for (n, c, h, w, oc, k, stride, pad, relu) in [
        (3, 4, 9, 7, 5, 3, 1, 1, true),
        (4, 5, 3, 3, 7, 3, 1, 1, false),
        (33, 2, 5, 5, 3, 3, 2, 0, true),
        (2, 3, 13, 11, 6, 7, 2, 0, true),
    ] {
        let x = random(&[n, c, h, w], &mut rng);
        let wt = random(&[oc, c, k, k], &mut rng);
        let shift = random(&[oc], &mut rng);
        // A constant scale (the folded scale layers): the fused node.
        let scale = random(&[oc], &mut rng);
        let reference = |t: &[Tensor], scale: &Tensor, shift: &Tensor| {
            let z = t[0].conv2d(&t[1], pad, stride, 1, 1).unwrap();
            ops::reference::channel_affine(&z, scale, shift, relu).unwrap()
        };
        assert_same(
            &[x.clone(), wt.clone(), shift.clone()],
            &|t| {
                ops::conv2d_affine_train(&t[0], &t[1], &scale, &t[2], stride, pad, relu, AUTO)
                    .unwrap()
            },
            &|t| reference(t, &scale, &t[2]),
            &format!("fused conv + affine n{n} {h}x{w} k{k} s{stride} relu {relu}"),
            &mut rng,
        );
        // A learned scale takes the separate ops and gets its gradient.
        assert_same(
            &[x, wt, scale, shift],
            &|t| {
                ops::conv2d_affine_train(&t[0], &t[1], &t[2], &t[3], stride, pad, relu, AUTO)
                    .unwrap()
            },
            &|t| reference(t, &t[2], &t[3]),
            &format!("conv + learned affine n{n} {h}x{w} k{k} s{stride} relu {relu}"),
            &mut rng,
        );
    }
}

#[test]
fn fused_down_shortcut_matches_the_reference_ops() {
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    // (n, cin, h, w, c, hh, hw, halves): odd maps (the last row and column are not pooled),
    // a branch smaller than the pooled map (padded), the stride-1 variant without pooling.
    for (n, cin, h, w, c, hh, hw, halves) in [
        (3, 2, 7, 9, 4, 2, 4, true),
        (2, 3, 6, 6, 3, 3, 3, true),
        (4, 2, 5, 5, 5, 5, 5, false),
        (2, 4, 4, 6, 4, 3, 6, false),
    ] {
        let branch = random(&[n, c, hh, hw], &mut rng);
        let x = random(&[n, cin, h, w], &mut rng);
        assert_same(
            &[branch, x],
            &|t| ops::down_shortcut_add_relu(&t[0], &t[1], halves, AUTO).unwrap(),
            &|t| ops::reference::down_shortcut_add_relu(&t[0], &t[1], halves).unwrap(),
            &format!("down shortcut {h}x{w} → {hh}x{hw}, {cin} → {c} channels, halves {halves}"),
            &mut rng,
        );
    }
}

#[test]
fn add_relu_matches_candle() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let a = random(&[4, 3, 5, 5], &mut rng);
    let b = random(&[4, 3, 5, 5], &mut rng);
    assert_same(
        &[a, b],
        &|t| ops::add_relu(&t[0], &t[1], AUTO).unwrap(),
        &|t| (&t[0] + &t[1]).unwrap().relu().unwrap(),
        "add relu",
        &mut rng,
    );
}

#[test]
fn fused_conv_bn_relu_pool_matches_the_separate_reference_ops() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let pool2 = ops::PoolSpec {
        k: 2,
        stride: 2,
        pad: 0,
    };
    let pool3 = ops::PoolSpec {
        k: 3,
        stride: 2,
        pad: 1,
    };
    for (n, c, h, oc, k, stride, pad, relu, pool) in [
        (4, 3, 8, 5, 3, 1, 1, true, Some(pool2)),
        (3, 2, 9, 4, 3, 2, 1, false, None),
        (2, 3, 12, 6, 7, 2, 3, true, Some(pool3)),
        (5, 4, 6, 3, 3, 1, 1, true, None),
    ] {
        let x = random(&[n, c, h, h], &mut rng);
        let w = random(&[oc, c, k, k], &mut rng);
        let gamma = (random(&[oc], &mut rng) + 1.5).unwrap();
        let beta = random(&[oc], &mut rng);
        let what = format!("fused conv k{k} s{stride} relu {relu} pool {pool:?}");
        assert_same(
            &[x.clone(), w.clone(), gamma.clone(), beta.clone()],
            &|t| {
                ops::conv_bn_train(
                    &t[0],
                    &t[1],
                    &t[2],
                    &t[3],
                    (stride, pad),
                    1e-5,
                    relu,
                    pool,
                    AUTO,
                )
                .unwrap()
                .0
            },
            &|t| {
                let z = t[0].conv2d(&t[1], pad, stride, 1, 1).unwrap();
                let y = ops::reference::batch_norm_train(&z, &t[2], &t[3], 1e-5, relu)
                    .unwrap()
                    .0;
                match pool {
                    Some(p) => ops::reference::max_pool2d(&y, p.k, p.stride, p.pad).unwrap(),
                    None => y,
                }
            },
            &what,
            &mut rng,
        );
        let (_, m1, v1, _) =
            ops::conv_bn_train(&x, &w, &gamma, &beta, (stride, pad), 1e-5, relu, pool, AUTO)
                .unwrap();
        let z = x.conv2d(&w, pad, stride, 1, 1).unwrap();
        let (_, m2, v2, _) =
            ops::reference::batch_norm_train(&z, &gamma, &beta, 1e-5, relu).unwrap();
        assert!(
            max_abs_diff(&m1, &m2) < 1e-5 && max_abs_diff(&v1, &v2) < 1e-4,
            "{what}: statistics"
        );
    }
}

/// A NaN in the input must come out as NaN from every fused kernel, as it does in PyTorch:
/// `f32::max(NaN, 0)` is 0, and a ReLU or pooling that swallows NaN let a diverged run train
/// on with finite losses and NaN weights. (candle's own `relu` is `f32::max` too, and its
/// `argmax`, which the candle path's pooling gathers with, skips NaN: on that path — the
/// one CUDA takes — only the batch statistics are checked; the training loop's checks of
/// every gradient and weight catch a diverged run there.)
#[test]
fn kernels_propagate_nan_like_pytorch() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut v: Vec<f32> = (0..2 * 3 * 8 * 8)
        .map(|_| rng.random_range(-1.0f32..1.0))
        .collect();
    v[5] = f32::NAN;
    let x = Tensor::from_vec(v, (2, 3, 8, 8), &Device::Cpu).unwrap();
    let has_nan = |t: &Tensor| {
        t.flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
            .iter()
            .any(|v| v.is_nan())
    };
    let w = random(&[4, 3, 3, 3], &mut rng);
    let ones = Tensor::ones(4, candle_core::DType::F32, &Device::Cpu).unwrap();
    let zeros = Tensor::zeros(4, candle_core::DType::F32, &Device::Cpu).unwrap();
    let ones3 = ones.narrow(0, 0, 3).unwrap();
    let zeros3 = zeros.narrow(0, 0, 3).unwrap();
    // A down block's branch, with the pooled input's shape; the NaN comes from the input.
    let branch = Tensor::zeros((2, 3, 4, 4), candle_core::DType::F32, &Device::Cpu).unwrap();
    for kernels in [AUTO, Kernels::Candle] {
        let what = format!("{kernels:?}");
        // Outputs that pass through a ReLU.
        let relu_outputs = |kernels| -> Vec<(&str, Tensor)> {
            let pool = Some(ops::fused::PoolSpec {
                k: 2,
                stride: 2,
                pad: 0,
            });
            vec![
                ("relu", ops::relu(&x, kernels).unwrap()),
                ("add_relu", ops::add_relu(&x, &x, kernels).unwrap()),
                (
                    "channel_affine",
                    ops::channel_affine(&x, &ones3, &zeros3, true, kernels).unwrap(),
                ),
                (
                    "batch norm",
                    ops::batch_norm_train(&x, &ones3, &zeros3, 1e-5, true, kernels)
                        .unwrap()
                        .0,
                ),
                (
                    "conv affine",
                    ops::conv2d_affine(&x, &w, &ones, &zeros, 1, 1, true, kernels).unwrap(),
                ),
                (
                    "conv bn pool",
                    ops::conv_bn_train(&x, &w, &ones, &zeros, (1, 1), 1e-5, true, pool, kernels)
                        .unwrap()
                        .0,
                ),
                (
                    "conv affine (training)",
                    ops::conv2d_affine_train(&x, &w, &ones, &zeros, 1, 1, true, kernels).unwrap(),
                ),
                (
                    "down shortcut",
                    ops::down_shortcut_add_relu(&branch, &x, true, kernels).unwrap(),
                ),
            ]
        };
        if kernels == AUTO {
            for (name, y) in relu_outputs(kernels) {
                assert!(has_nan(&y), "{name} {what}");
            }
            for k in [2, 3] {
                let pooled = ops::max_pool2d(&x, k, k, 0, kernels).unwrap();
                assert!(has_nan(&pooled), "max_pool {k} {what}");
            }
        }
        let (_, mean, var, _) =
            ops::batch_norm_train(&x, &ones3, &zeros3, 1e-5, true, kernels).unwrap();
        assert!(
            has_nan(&mean) && has_nan(&var),
            "batch norm statistics {what}"
        );
        let (_, mean, var, _) =
            ops::conv_bn_train(&x, &w, &ones, &zeros, (1, 1), 1e-5, false, None, kernels).unwrap();
        assert!(has_nan(&mean) && has_nan(&var), "conv bn statistics {what}");
    }
}

/// A dilated 3×3 convolution run as the ordinary one on the map's interleaved sub-grids
/// (`ops::atrous::dilated`) equals candle's dilated convolution, at odd and even sizes, with
/// the fused training op inside (scale, shift, ReLU); its gradients, through the padding,
/// the sub-grid permutations and the crop, match finite differences.
#[test]
fn dilated_convolution_by_sub_grids_matches_candle_and_finite_differences() {
    let mut rng = ChaCha8Rng::seed_from_u64(37);
    for (n, c, h, w, oc, rate) in [(2, 3, 7, 7, 4, 2), (1, 2, 6, 9, 3, 2), (2, 2, 7, 5, 3, 4)] {
        let x = random(&[n, c, h, w], &mut rng);
        let wt = random(&[oc, c, 3, 3], &mut rng);
        let scale = random(&[oc], &mut rng);
        let shift = random(&[oc], &mut rng);
        let ours_with = |relu: bool| {
            move |t: &[Tensor]| {
                ops::atrous::dilated(&t[0], rate, |x| {
                    ops::conv2d_affine_train(x, &t[1], &t[2], &t[3], 1, 1, relu, AUTO)
                })
                .unwrap()
            }
        };
        let ours = ours_with(true);
        let reference = |t: &[Tensor]| {
            let y = t[0].conv2d(&t[1], rate, 1, rate, 1).unwrap();
            let y = y
                .broadcast_mul(&t[2].reshape((1, oc, 1, 1)).unwrap())
                .unwrap()
                .broadcast_add(&t[3].reshape((1, oc, 1, 1)).unwrap())
                .unwrap();
            y.relu().unwrap()
        };
        let inputs = [x, wt, scale, shift];
        let diff = max_abs_diff(&ours(&inputs), &reference(&inputs));
        assert!(diff < 1e-4, "{h}x{w} rate {rate}: {diff}");
        // Without the ReLU: a step of the finite difference across its kink is no
        // derivative (the ReLU's own gradient is checked with the fused op's tests).
        check_finite_differences(
            &inputs,
            &ours_with(false),
            &format!("dilated {h}x{w} rate {rate}"),
            &mut rng,
        );
    }
}

/// The dense 2×2 pool at rate r averages `{i − r, i}` on each axis with zeros before the
/// start; on the odd positions (rate 1) it is the 2×2/2 pool of the map.
#[test]
fn dense_average_pool_matches_its_definition_and_the_strided_pool() {
    let mut rng = ChaCha8Rng::seed_from_u64(38);
    for (h, w, rate) in [(7, 7, 1), (6, 5, 2), (3, 4, 4)] {
        let x = random(&[2, 3, h, w], &mut rng);
        let got: Vec<f32> = ops::atrous::dense_avg_pool_2x2(&x, rate)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let v: Vec<f32> = x.flatten_all().unwrap().to_vec1().unwrap();
        let at = |p: usize, i: isize, j: isize| -> f32 {
            if i < 0 || j < 0 {
                0.0
            } else {
                v[(p * h + i as usize) * w + j as usize]
            }
        };
        let r = rate as isize;
        for p in 0..6 {
            for i in 0..h as isize {
                for j in 0..w as isize {
                    let want =
                        (at(p, i, j) + at(p, i - r, j) + at(p, i, j - r) + at(p, i - r, j - r))
                            / 4.0;
                    let got = got[(p * h + i as usize) * w + j as usize];
                    assert!((got - want).abs() < 1e-6, "{h}x{w} rate {rate} at {i},{j}");
                }
            }
        }
    }
    let x = random(&[1, 2, 7, 7], &mut rng);
    let dense = ops::atrous::dense_avg_pool_2x2(&x, 1).unwrap();
    let strided = x.avg_pool2d(2).unwrap();
    for i in 0..3 {
        for j in 0..3 {
            let d = dense
                .narrow(2, 2 * i + 1, 1)
                .unwrap()
                .narrow(3, 2 * j + 1, 1)
                .unwrap();
            let s = strided.narrow(2, i, 1).unwrap().narrow(3, j, 1).unwrap();
            assert!(max_abs_diff(&d, &s) < 1e-6);
        }
    }
}
