//! The face ResNet and its TensorFlow.js manifest loader, on fixtures the tests write
//! themselves: a manifest of random weights, some float32 and some uint8-quantised, checked
//! against an independent transcription of the original's forward pass written here with
//! candle's own operations (conv with bias, scale, ReLU; 'valid' pools; zero padding by
//! concatenation, as `residualLayer.ts` does it).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use ferlab::compute::model::descriptor::pretrained_face_resnet;
use ferlab::compute::model::face_resnet::{BLOCKS, MEAN_RGB};
use ferlab::compute::model::pretrained::load_pretrained;
use ferlab::compute::model::{Backbone as Net, FerModel, Mode};
use ferlab::contract::config::{
    Backbone, Experiment, Kernels, ModelConfig, ScaleAffine, face_resnet_map_side,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// One manifest entry: name, shape, values as the original sees them, and its storage.
pub(crate) struct Weight {
    name: String,
    shape: Vec<usize>,
    values: Vec<f32>,
    /// `Some((min, scale, q))`: stored as uint8 `q`, values `min + scale · q`.
    quantised: Option<(f64, f64, Vec<u8>)>,
}

fn weight(
    name: &str,
    shape: &[usize],
    rng: &mut ChaCha8Rng,
    quantise: bool,
    around: f32,
    spread: f32,
) -> Weight {
    let n: usize = shape.iter().product();
    if quantise {
        let (min, scale) = ((around - spread) as f64, (2.0 * spread) as f64 / 255.0);
        let q: Vec<u8> = (0..n).map(|_| rng.random::<u8>()).collect();
        let values = q.iter().map(|&q| (min + scale * q as f64) as f32).collect();
        Weight {
            name: name.into(),
            shape: shape.to_vec(),
            values,
            quantised: Some((min, scale, q)),
        }
    } else {
        let values = (0..n)
            .map(|_| around + spread * (2.0 * rng.random::<f32>() - 1.0))
            .collect();
        Weight {
            name: name.into(),
            shape: shape.to_vec(),
            values,
            quantised: None,
        }
    }
}

/// The face ResNet's tensors with random values: filters He-sized, `scale` around 1; every
/// other convolution's tensors uint8-quantised, the rest float32.
pub(crate) fn fixture_weights(seed: u64) -> Vec<Weight> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut shapes = vec![("conv32_down".to_string(), 7, 3, 32)];
    let mut cin = 32;
    for (name, cout, _) in BLOCKS {
        shapes.push((format!("{name}/conv1"), 3, cin, cout));
        shapes.push((format!("{name}/conv2"), 3, cout, cout));
        cin = cout;
    }
    let mut out = Vec::new();
    for (i, (prefix, k, cin, cout)) in shapes.into_iter().enumerate() {
        let q = i % 2 == 0;
        let he = (2.0 / (k * k * cin) as f32).sqrt() * 1.7;
        out.push(weight(
            &format!("{prefix}/conv/filters"),
            &[k, k, cin, cout],
            &mut rng,
            q,
            0.0,
            he,
        ));
        out.push(weight(
            &format!("{prefix}/conv/bias"),
            &[cout],
            &mut rng,
            q,
            0.0,
            0.05,
        ));
        out.push(weight(
            &format!("{prefix}/scale/weights"),
            &[cout],
            &mut rng,
            !q,
            0.6,
            0.3,
        ));
        out.push(weight(
            &format!("{prefix}/scale/biases"),
            &[cout],
            &mut rng,
            q,
            0.0,
            0.1,
        ));
    }
    out.push(weight("fc", &[256, 128], &mut rng, false, 0.0, 0.1));
    out
}

/// Writes `weights` as a TensorFlow.js manifest and its one shard into `dir`.
pub(crate) fn write_manifest(dir: &Path, weights: &[Weight]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let mut bin = Vec::new();
    let mut entries = Vec::new();
    for w in weights {
        let mut entry = serde_json::json!({ "name": w.name, "shape": w.shape, "dtype": "float32" });
        match &w.quantised {
            Some((min, scale, q)) => {
                entry["quantization"] =
                    serde_json::json!({ "dtype": "uint8", "min": min, "scale": scale });
                bin.extend_from_slice(q);
            }
            None => w.values.iter().for_each(|v| bin.extend(v.to_le_bytes())),
        }
        entries.push(entry);
    }
    std::fs::write(dir.join("model.bin"), bin).unwrap();
    let manifest = serde_json::json!([{ "paths": ["model.bin"], "weights": entries }]);
    let path = dir.join("model-weights_manifest.json");
    std::fs::write(&path, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    path
}

/// The original's forward pass (`FaceRecognitionNet.ts`), transcribed with candle's own
/// operations in NCHW from the manifest's values: the 128-d descriptors of RGB in [0, 1].
fn reference_descriptor(weights: &[Weight], rgb: &Tensor) -> Tensor {
    let dev = &Device::Cpu;
    let w: HashMap<&str, Tensor> = weights
        .iter()
        .map(|w| {
            (
                w.name.as_str(),
                Tensor::from_vec(w.values.clone(), w.shape.as_slice(), dev).unwrap(),
            )
        })
        .collect();
    let vec4 = |t: &Tensor| t.reshape((1, t.dim(0).unwrap(), 1, 1)).unwrap();
    let conv = |x: &Tensor, prefix: &str, stride: usize, same: bool, relu: bool| {
        let f = w[format!("{prefix}/conv/filters").as_str()]
            .permute((3, 2, 0, 1))
            .unwrap();
        let pad = if same { f.dim(2).unwrap() / 2 } else { 0 };
        let out = x.conv2d(&f, pad, stride, 1, 1).unwrap();
        let out = out
            .broadcast_add(&vec4(&w[format!("{prefix}/conv/bias").as_str()]))
            .unwrap();
        let out = out
            .broadcast_mul(&vec4(&w[format!("{prefix}/scale/weights").as_str()]))
            .unwrap()
            .broadcast_add(&vec4(&w[format!("{prefix}/scale/biases").as_str()]))
            .unwrap();
        if relu { out.relu().unwrap() } else { out }
    };
    let mean = Tensor::new(&MEAN_RGB, dev)
        .unwrap()
        .reshape((1, 3, 1, 1))
        .unwrap();
    let x = ((rgb * 255.0).unwrap().broadcast_sub(&mean).unwrap() / 255.0).unwrap();
    let mut out = conv(&x, "conv32_down", 2, false, true);
    out = out.max_pool2d_with_stride(3, 2).unwrap();
    for (name, _, down) in BLOCKS {
        let h = conv(
            &out,
            &format!("{name}/conv1"),
            if down { 2 } else { 1 },
            !down,
            true,
        );
        let mut h = conv(&h, &format!("{name}/conv2"), 1, true, false);
        let skip = if down {
            let pooled = out.avg_pool2d_with_stride(2, 2).unwrap();
            let (n, c, ph, pw) = pooled.dims4().unwrap();
            let (_, hc, hh, _) = h.dims4().unwrap();
            if hh != ph {
                let zw = Tensor::zeros((n, hc, 1, h.dim(3).unwrap()), DType::F32, dev).unwrap();
                h = Tensor::cat(&[&h, &zw], 2).unwrap();
                let zh = Tensor::zeros((n, hc, ph, 1), DType::F32, dev).unwrap();
                h = Tensor::cat(&[&h, &zh], 3).unwrap();
            }
            if c != hc {
                Tensor::cat(
                    &[
                        &pooled,
                        &Tensor::zeros((n, c, ph, pw), DType::F32, dev).unwrap(),
                    ],
                    1,
                )
                .unwrap()
            } else {
                pooled
            }
        } else {
            out.clone()
        };
        out = (h + skip).unwrap().relu().unwrap();
    }
    out.mean((2, 3)).unwrap().matmul(&w["fc"]).unwrap()
}

fn random_rgb(n: usize, side: usize, seed: u64) -> Tensor {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let v: Vec<f32> = (0..n * 3 * side * side).map(|_| rng.random()).collect();
    Tensor::from_vec(v, (n, 3, side, side), &Device::Cpu).unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    max_abs(&(a - b).unwrap())
}

fn max_abs(a: &Tensor) -> f32 {
    a.abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar()
        .unwrap()
}

fn net(model: &FerModel) -> &ferlab::compute::model::face_resnet::FaceResNet {
    match &model.backbone {
        Net::FaceResnet(n) => n,
        _ => panic!("not a face ResNet"),
    }
}

#[test]
fn the_map_side_follows_the_valid_convolutions() {
    assert_eq!(face_resnet_map_side(150, 0), Some(2));
    assert_eq!(face_resnet_map_side(112, 0), Some(1));
    assert_eq!(face_resnet_map_side(103, 0), Some(1));
    assert_eq!(face_resnet_map_side(102, 0), None);
    assert_eq!(face_resnet_map_side(48, 0), None);
    assert_eq!(face_resnet_map_side(224, 0), Some(3));
}

/// Weights whose filters are their own mirror image (each row averaged with its reverse):
/// such a network maps a mirrored face to mirrored features, up to the original's one-sided
/// 'valid' edges.
fn mirror_symmetric(weights: Vec<Weight>) -> Vec<Weight> {
    weights
        .into_iter()
        .map(|w| {
            let [kh, kw, cin, cout] = match w.shape[..] {
                [a, b, c, d] if w.name.ends_with("filters") => [a, b, c, d],
                _ => return w,
            };
            let at = |h: usize, x: usize, i: usize, o: usize| ((h * kw + x) * cin + i) * cout + o;
            let mut values = w.values.clone();
            for h in 0..kh {
                for x in 0..kw {
                    for i in 0..cin {
                        for o in 0..cout {
                            values[at(h, x, i, o)] = 0.5
                                * (w.values[at(h, x, i, o)] + w.values[at(h, kw - 1 - x, i, o)]);
                        }
                    }
                }
            }
            Weight {
                values,
                quantised: None,
                ..w
            }
        })
        .collect()
}

/// `model.stride_one_blocks` gives the maps the side `face_resnet_map_side` promises, with
/// the pretrained tensors loaded as they are; and a face's mirror image gets the mirrored
/// maps (closer to the face's maps flipped than to them as they are; up to the original's
/// one-sided 'valid' edges, 0.32 of the distance here). With the original network at 112 px
/// every map is one number, its own mirror, and this cannot hold.
#[test]
fn stride_one_blocks_give_larger_maps_that_flip_with_the_face() {
    use ferlab::compute::model::cam::flip_horizontal;
    let dir = tempfile::tempdir().unwrap();
    let manifest = write_manifest(dir.path(), &mirror_symmetric(fixture_weights(7)));
    for (side, want) in [(112, [1, 3, 6, 13, 26]), (150, [2, 4, 8, 17, 35])] {
        for (k, w) in want.into_iter().enumerate() {
            assert_eq!(face_resnet_map_side(side, k), Some(w), "{side} px, {k}");
        }
        for k in [0, 2] {
            let (model, _) = pretrained_face_resnet(
                &manifest,
                side,
                k,
                false,
                ScaleAffine::Folded,
                Kernels::Auto,
            )
            .unwrap();
            let out = model.forward(&random_rgb(1, side, 1), Mode::Eval).unwrap();
            assert_eq!(
                out.fmap.dims(),
                &[1, 256, want[k], want[k]],
                "{side} px, {k}"
            );
        }
    }
    assert_eq!(face_resnet_map_side(112, 5), None);

    // A bright disc left of centre on grey.
    let side = 112;
    let mut v = vec![0.1f32; 3 * side * side];
    for c in 0..3 {
        for y in 0..side {
            for x in 0..side {
                let d2 = (x as f32 - 34.0).powi(2) + (y as f32 - 56.0).powi(2);
                v[(c * side + y) * side + x] += 0.9 * (-d2 / (2.0 * 12.0f32.powi(2))).exp();
            }
        }
    }
    let face = Tensor::from_vec(v, (1, 3, side, side), &Device::Cpu).unwrap();
    let (model, _) = pretrained_face_resnet(
        &manifest,
        side,
        2,
        false,
        ScaleAffine::Folded,
        Kernels::Auto,
    )
    .unwrap();
    let maps = |x: &Tensor| {
        let out = model.forward(x, Mode::Eval).unwrap();
        model.class_maps(&out.fmap).unwrap()
    };
    let of_face = maps(&face);
    let of_mirror = maps(&flip_horizontal(&face).unwrap());
    assert_eq!(of_face.dims(), &[1, 1, 6, 6]);
    let rms = |a: &Tensor, b: &Tensor| -> f32 {
        (a - b)
            .unwrap()
            .sqr()
            .unwrap()
            .mean_all()
            .unwrap()
            .sqrt()
            .unwrap()
            .to_scalar()
            .unwrap()
    };
    let flipped = flip_horizontal(&of_face).unwrap();
    let (mirrored, unmoved) = (rms(&of_mirror, &flipped), rms(&of_mirror, &of_face));
    assert!(
        mirrored < 0.5 * unmoved,
        "the mirror's maps against the face's flipped: rms {mirrored}; unflipped: {unmoved}"
    );
}

/// LNSU and EAC on 1×1 maps are cautioned at the setting that fixes it; CE is not, nor
/// LNSU on 6×6 maps.
#[test]
fn flip_consistency_on_tiny_maps_is_cautioned() {
    let mut e = Experiment::default();
    e.model.backbone = Backbone::FaceResnet;
    e.model.input_size = 112;
    for (method, stride_one, cautioned) in [
        ("lnsu", 0, true),
        ("eac", 0, true),
        ("ce", 0, false),
        ("lnsu", 2, false),
    ] {
        e.method.name = method.into();
        e.model.stride_one_blocks = stride_one;
        let c = e.cautions(&ferlab::compute::method::REGISTRY);
        assert_eq!(!c.is_empty(), cautioned, "{method}, {stride_one}: {c:?}");
        if cautioned {
            assert_eq!(c[0].path, "model.stride_one_blocks");
            assert!(c[0].message.contains("1×1"), "{}", c[0].message);
        }
    }
}

/// The port against the transcription, at 150 px (the last two down blocks pad their
/// convolution's output) and 112 px (the first and third do), both ways of keeping the
/// scale layers, both kernel sets; the manifest holds float32 and uint8-quantised tensors.
#[test]
fn descriptors_match_an_independent_transcription_of_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let weights = fixture_weights(3);
    let manifest = write_manifest(dir.path(), &weights);
    for side in [150, 112] {
        let x = random_rgb(2, side, side as u64);
        let want = reference_descriptor(&weights, &x);
        assert!(
            max_abs(&want) > 1e-2,
            "the fixture's descriptors vanish: {}",
            max_abs(&want)
        );
        for affine in [ScaleAffine::Folded, ScaleAffine::Separate] {
            for kernels in [Kernels::Auto, Kernels::Candle] {
                let (model, _) =
                    pretrained_face_resnet(&manifest, side, 0, false, affine, kernels).unwrap();
                let got = net(&model).descriptor(&x).unwrap();
                assert_eq!(got.dims(), &[2, 128]);
                let diff = max_abs_diff(&got, &want);
                assert!(
                    diff <= 1e-4 * max_abs(&want),
                    "{side} px, {affine:?}, {kernels:?}: max |diff| {diff} of {}",
                    max_abs(&want)
                );
            }
        }
    }
}

#[test]
fn the_loader_reports_what_it_loaded_skipped_and_could_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let mut weights = fixture_weights(5);
    // One layer's bias left out, one foreign tensor added, one filter of the wrong shape.
    weights.retain(|w| w.name != "conv128_1/conv2/conv/bias");
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    weights.push(weight("landmarks/fc", &[4, 4], &mut rng, true, 0.0, 1.0));
    let wrong = weights
        .iter_mut()
        .find(|w| w.name == "conv64_2/conv1/conv/filters")
        .unwrap();
    *wrong = weight(
        "conv64_2/conv1/conv/filters",
        &[3, 3, 64, 32],
        &mut rng,
        false,
        0.0,
        0.1,
    );
    let manifest = write_manifest(dir.path(), &weights);
    let cfg = ModelConfig {
        backbone: Backbone::FaceResnet,
        scale_affine: ScaleAffine::Separate,
        ..ModelConfig::default()
    };
    let model = FerModel::new(&cfg, 1, 7, &Device::Cpu, 1).unwrap();
    let (report, text) = load_pretrained(&model, &manifest).unwrap();
    // 29 convolutions × (weight, scale, shift) + the descriptor, less the layer without
    // its bias (3) and the mis-shaped filter (1).
    assert_eq!(report.loaded, 29 * 3 + 1 - 3 - 1, "{text}");
    for name in [
        "conv128_1.conv2.weight",
        "conv128_1.conv2.scale",
        "conv128_1.conv2.shift",
    ] {
        assert!(
            report.missing.contains(&name.to_string()),
            "{name} not missing: {text}"
        );
    }
    assert!(report.missing.contains(&"fc.weight".to_string()), "{text}");
    assert_eq!(report.mismatched.len(), 1, "{text}");
    assert!(
        report.mismatched[0].starts_with("conv64_2.conv1.weight"),
        "{text}"
    );
    assert!(
        report.unexpected.contains(&"landmarks/fc".to_string()),
        "{text}"
    );
    // The layer's three other tensors were not used either.
    assert!(
        report
            .unexpected
            .contains(&"conv128_1/conv2/conv/filters".to_string()),
        "{text}"
    );
    assert!(
        text.contains("uint8-quantised") && text.contains("learnable scale"),
        "{text}"
    );
}

#[test]
fn a_broken_manifest_is_named_with_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let weights = fixture_weights(7);
    let manifest = write_manifest(dir.path(), &weights);
    let cfg = ModelConfig {
        backbone: Backbone::FaceResnet,
        ..ModelConfig::default()
    };
    let model = FerModel::new(&cfg, 1, 7, &Device::Cpu, 1).unwrap();

    // A shard cut short: the manifest, the shard and both sizes are named.
    let bin = dir.path().join("model.bin");
    let bytes = std::fs::read(&bin).unwrap();
    std::fs::write(&bin, &bytes[..bytes.len() - 1000]).unwrap();
    let err = load_pretrained(&model, &manifest).unwrap_err().to_string();
    assert!(
        err.contains("model-weights_manifest.json")
            && err.contains("model.bin")
            && err.contains(&format!("take {} bytes", bytes.len()))
            && err.contains(&format!("hold {}", bytes.len() - 1000)),
        "{err}"
    );

    // A shard too long.
    let mut longer = bytes.clone();
    longer.extend([0u8; 8]);
    std::fs::write(&bin, &longer).unwrap();
    let err = load_pretrained(&model, &manifest).unwrap_err().to_string();
    assert!(err.contains("shards hold"), "{err}");

    // Not JSON of a manifest: its line and column.
    std::fs::write(
        &manifest,
        "[{\"paths\": [\"model.bin\"],\n \"weights\": 3}]",
    )
    .unwrap();
    let err = load_pretrained(&model, &manifest).unwrap_err().to_string();
    assert!(err.contains("line 2"), "{err}");

    // A manifest for another backbone.
    write_manifest(dir.path(), &weights);
    let small = FerModel::new(&ModelConfig::default(), 1, 7, &Device::Cpu, 1).unwrap();
    let err = load_pretrained(&small, &manifest).unwrap_err().to_string();
    assert!(err.contains("face_resnet"), "{err}");
}

/// FER2013-like data (48×48 grey, the data's normalisation) is resized and replicated in
/// the model: the same as giving it the RGB face at the input size.
#[test]
fn grey_faces_are_resized_and_replicated_inside_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = write_manifest(dir.path(), &fixture_weights(9));
    let (model, _) =
        pretrained_face_resnet(&manifest, 112, 0, false, ScaleAffine::Folded, Kernels::Auto)
            .unwrap();
    let grey = random_rgb(1, 48, 4).narrow(1, 0, 1).unwrap();
    let (mean, std) = (0.5f32, 0.25f32);
    let normalised = ((&grey - mean as f64).unwrap() / std as f64).unwrap();
    let mut data_model = {
        let cfg = ModelConfig {
            backbone: Backbone::FaceResnet,
            input_size: 112,
            ..ModelConfig::default()
        };
        FerModel::new(&cfg, 1, 7, &Device::Cpu, 0).unwrap()
    };
    data_model.backbone.set_input_norm(mean, std);
    load_pretrained(&data_model, &manifest).unwrap();
    let got = net(&data_model).forward(&normalised, Mode::Eval).unwrap();
    assert_eq!(got.dims(), &[1, 256, 1, 1]);
    // The same face resized by hand (bilinear, half-pixel centres) and replicated.
    let side = 112;
    let mut resized = vec![0f32; side * side];
    let g = grey.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let src = |i: usize| ((i as f64 + 0.5) * 48.0 / side as f64 - 0.5).clamp(0.0, 47.0);
    for y in 0..side {
        for x in 0..side {
            let (sy, sx) = (src(y), src(x));
            let (y0, x0) = (sy.floor() as usize, sx.floor() as usize);
            let (y1, x1) = ((y0 + 1).min(47), (x0 + 1).min(47));
            let (fy, fx) = ((sy - y0 as f64) as f32, (sx - x0 as f64) as f32);
            let at = |yy: usize, xx: usize| g[yy * 48 + xx];
            resized[y * side + x] = (1.0 - fy) * ((1.0 - fx) * at(y0, x0) + fx * at(y0, x1))
                + fy * ((1.0 - fx) * at(y1, x0) + fx * at(y1, x1));
        }
    }
    let plane = Tensor::from_vec(resized, (1, 1, side, side), &Device::Cpu).unwrap();
    let rgb = Tensor::cat(&[&plane, &plane, &plane], 1).unwrap();
    let want = net(&model).forward(&rgb, Mode::Eval).unwrap();
    let diff = max_abs_diff(&got, &want);
    assert!(diff <= 1e-4 * max_abs(&want).max(1e-3), "max |diff| {diff}");
}

/// Training-mode forward and every parameter's gradient: ferlab's kernels against candle's.
#[test]
fn auto_and_candle_kernels_agree_in_training() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = write_manifest(dir.path(), &fixture_weights(11));
    let x = random_rgb(2, 48, 12).narrow(1, 0, 1).unwrap();
    let target = random_rgb(2, 16, 13)
        .flatten_all()
        .unwrap()
        .narrow(0, 0, 2 * 256)
        .unwrap()
        .reshape((2, 256, 1, 1))
        .unwrap();
    for affine in [ScaleAffine::Folded, ScaleAffine::Separate] {
        let mut results = Vec::new();
        for kernels in [Kernels::Auto, Kernels::Candle] {
            let cfg = ModelConfig {
                backbone: Backbone::FaceResnet,
                input_size: 104,
                scale_affine: affine,
                kernels,
                ..ModelConfig::default()
            };
            let model = FerModel::new(&cfg, 1, 7, &Device::Cpu, 0).unwrap();
            load_pretrained(&model, &manifest).unwrap();
            let out = model.forward(&x, Mode::Train { seed: 1 }).unwrap();
            let loss = (out.fmap.mul(&target).unwrap().sum_all().unwrap()
                + out.logits.sqr().unwrap().sum_all().unwrap())
            .unwrap();
            let grads = loss.backward().unwrap();
            let per_param: Vec<(String, Tensor)> = model
                .parameters()
                .into_iter()
                .map(|(n, v)| {
                    (
                        n,
                        grads
                            .get(v.as_tensor())
                            .expect("every parameter has a gradient")
                            .clone(),
                    )
                })
                .collect();
            results.push((out.fmap, per_param));
        }
        let (auto, candle) = (&results[0], &results[1]);
        assert!(
            max_abs_diff(&auto.0, &candle.0) <= 1e-4 * max_abs(&candle.0),
            "{affine:?} forward"
        );
        for ((name, a), (_, c)) in auto.1.iter().zip(&candle.1) {
            let d = max_abs_diff(a, c);
            assert!(
                d <= 2e-3 * max_abs(c).max(1e-6),
                "{affine:?} {name}: max |diff| {d} of {}",
                max_abs(c)
            );
        }
    }
}

/// Finite differences through the whole network (average-pool shortcut, zero padding,
/// input resize) against autodiff, for a few elements of a few parameters.
#[test]
fn gradients_match_finite_differences() {
    // The original, and the last two down blocks at stride 1 (unpooled shortcuts).
    for stride_one in [0, 2] {
        gradients_match_at(stride_one);
    }
}

fn gradients_match_at(stride_one: usize) {
    let dir = tempfile::tempdir().unwrap();
    let manifest = write_manifest(dir.path(), &fixture_weights(15));
    let cfg = ModelConfig {
        backbone: Backbone::FaceResnet,
        input_size: 112,
        stride_one_blocks: stride_one,
        scale_affine: ScaleAffine::Separate,
        kernels: Kernels::Candle,
        ..ModelConfig::default()
    };
    let model = FerModel::new(&cfg, 1, 3, &Device::Cpu, 0).unwrap();
    load_pretrained(&model, &manifest).unwrap();
    // f64 would be better for finite differences; the network runs in f32, so steps are
    // large and the tolerance loose, but a missing or scaled gradient is far outside it.
    let x = random_rgb(1, 40, 16).narrow(1, 0, 1).unwrap();
    let loss_of = |m: &FerModel| -> f64 {
        let out = m.forward(&x, Mode::Eval).unwrap();
        out.logits
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap() as f64
    };
    let out = model.forward(&x, Mode::Train { seed: 0 }).unwrap();
    let grads = out
        .logits
        .sqr()
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let params: HashMap<String, _> = model.parameters().into_iter().collect();
    for name in [
        "conv32_down.weight",
        "conv64_down.conv1.weight",
        "conv64_down.conv2.shift",
        "conv256_down_out.conv2.scale",
        "conv32_1.conv1.scale",
    ] {
        let var = &params[name];
        let g = grads
            .get(var.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let base = var
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        // The element with the largest gradient, so the difference is well above f32 noise.
        let i = (0..g.len())
            .max_by(|&a, &b| g[a].abs().total_cmp(&g[b].abs()))
            .unwrap();
        let h = 1e-2 * base[i].abs().max(1e-2);
        let at = |delta: f32| {
            let mut v = base.clone();
            v[i] += delta;
            var.set(&Tensor::from_vec(v, var.dims(), &Device::Cpu).unwrap())
                .unwrap();
            loss_of(&model)
        };
        let numeric = (at(h) - at(-h)) / (2.0 * h as f64);
        var.set(&Tensor::from_vec(base.clone(), var.dims(), &Device::Cpu).unwrap())
            .unwrap();
        let analytic = g[i] as f64;
        assert!(
            (numeric - analytic).abs() <= 0.05 * analytic.abs().max(1e-3),
            "stride-1 blocks {stride_one}, {name}[{i}]: autodiff {analytic}, finite differences {numeric}"
        );
    }
}

#[test]
fn settings_too_small_or_frozen_for_ever_are_refused_beside_their_fields() {
    let mut exp = Experiment::default();
    exp.model.backbone = Backbone::FaceResnet;
    exp.model.input_size = 96;
    exp.model.freeze_backbone_epochs = exp.train.epochs;
    let problems = exp.validate(&ferlab::compute::method::REGISTRY);
    let at = |path: &str| {
        problems
            .iter()
            .find(|p| p.path == path)
            .map(|p| p.message.clone())
    };
    assert!(
        at("model.input_size").is_some_and(|m| m.contains("at least 103")),
        "{problems:?}"
    );
    assert!(at("model.freeze_backbone_epochs").is_some(), "{problems:?}");
    exp.model.input_size = 0; // native 150
    exp.model.freeze_backbone_epochs = 1;
    let problems = exp.validate(&ferlab::compute::method::REGISTRY);
    assert!(
        !problems.iter().any(|p| p.path.starts_with("model.")),
        "{problems:?}"
    );
}

/// `model.stride_one_dilated`: the kept down blocks' later convolutions dilated and their
/// shortcuts densely pooled, the network holds the original's last feature map exactly on
/// the original's grid — the centre of the 3×3 map with one kept block, the centre of the
/// 7×7 one with two (120 px: every map side on the way is odd) — in evaluation and in
/// training mode (the fused training convolutions), whatever the weights.
#[test]
fn dilated_stride_one_blocks_hold_the_originals_map_on_its_grid() {
    let cfg = |stride_one, dilated| ModelConfig {
        backbone: Backbone::FaceResnet,
        input_size: 120,
        stride_one_blocks: stride_one,
        stride_one_dilated: dilated,
        ..ModelConfig::default()
    };
    let original = FerModel::new(&cfg(0, false), 3, 7, &Device::Cpu, 5).unwrap();
    let x = random_rgb(2, 120, 3);
    for mode in [Mode::Eval, Mode::Train { seed: 1 }] {
        let want = original.forward(&x, mode).unwrap().fmap;
        assert_eq!(want.dims(), &[2, 256, 1, 1]);
        for (kept, side) in [(1, 3), (2, 7)] {
            let dense = FerModel::new(&cfg(kept, true), 3, 7, &Device::Cpu, 5).unwrap();
            let got = dense.forward(&x, mode).unwrap().fmap;
            assert_eq!(got.dims(), &[2, 256, side, side], "{kept} kept");
            let centre = got
                .narrow(2, side / 2, 1)
                .unwrap()
                .narrow(3, side / 2, 1)
                .unwrap();
            let diff = max_abs_diff(&centre, &want);
            assert!(
                diff <= 1e-4 * max_abs(&want).max(1.0),
                "{kept} kept, {mode:?}: {diff} against {}",
                max_abs(&want)
            );
            // Off the grid the maps are the same filters on shifted windows, not copies.
            let corner = got.narrow(2, 0, 1).unwrap().narrow(3, 0, 1).unwrap();
            assert!(max_abs_diff(&corner, &want) > 1e-3, "{kept} kept");
        }
        // Without dilation the centre is not the original's.
        let plain = FerModel::new(&cfg(2, false), 3, 7, &Device::Cpu, 5).unwrap();
        let got = plain.forward(&x, mode).unwrap().fmap;
        let centre = got.narrow(2, 3, 1).unwrap().narrow(3, 3, 1).unwrap();
        assert!(max_abs_diff(&centre, &want) > 1e-3);
    }
}
