//! Methods' losses and gradients against golden values computed by their official PyTorch
//! code (`tests/golden/official_losses.py`, which reads the official files and runs their
//! loss code as written; its output is `tests/golden/official_losses.json`). Unlike the
//! hand computations in the methods' unit tests, these numbers do not share ferlab's reading
//! of the papers: the classifier, the class activation maps (and what they detach), the flip
//! grid, the smoothing and the weighting are the official code's, the gradients PyTorch's.

use candle_core::{D, DType, Device, Tensor, Var};
use ferlab::compute::method::Losses;
use ferlab::compute::method::eac::eac_losses;
use ferlab::compute::method::flip_pair::pair_of;
use ferlab::compute::method::lnsu::{Lnsu, LnsuConfig};
use ferlab::compute::model::Output;
use serde_json::Value;

const GOLDEN: &str = include_str!("../golden/official_losses.json");

/// float32 against PyTorch's float32: summation orders differ.
const RELATIVE: f64 = 2e-5;

fn case(method: &str) -> Value {
    let golden: Value = serde_json::from_str(GOLDEN).expect("official_losses.json parses");
    golden["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["method"] == method)
        .unwrap_or_else(|| panic!("no golden case for {method}"))
        .clone()
}

/// The input named `name`: scale · sin(a · i + b) over the flat index, as the script makes it.
fn wave(case: &Value, name: &str) -> Var {
    let spec = case["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap();
    let shape: Vec<usize> = spec["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let (a, b, scale) = (
        spec["a"].as_f64().unwrap(),
        spec["b"].as_f64().unwrap(),
        spec["scale"].as_f64().unwrap(),
    );
    let n: usize = shape.iter().product();
    let values: Vec<f32> = (0..n)
        .map(|i| (scale * (a * i as f64 + b).sin()) as f32)
        .collect();
    Var::from_tensor(&Tensor::from_vec(values, shape, &Device::Cpu).unwrap()).unwrap()
}

fn close(what: &str, ours: f64, official: f64) {
    let tolerance = RELATIVE * official.abs().max(1e-3);
    assert!(
        (ours - official).abs() <= tolerance,
        "{what}: ferlab {ours} vs official {official}"
    );
}

fn scalar(t: &Tensor) -> f64 {
    t.to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap()
}

/// A gradient against the official one's sum, |sum| and sampled entries.
fn same_gradient(what: &str, ours: &Tensor, official: &Value) {
    let flat: Vec<f64> = ours
        .flatten_all()
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap()
        .to_vec1()
        .unwrap();
    let abs_sum: f64 = flat.iter().map(|v| v.abs()).sum();
    let scale = official["abs_sum"].as_f64().unwrap() / flat.len() as f64;
    let near = |ours: f64, theirs: f64, floor: f64, label: &str| {
        let tolerance = 1e-4 * theirs.abs().max(floor);
        assert!(
            (ours - theirs).abs() <= tolerance,
            "{what} {label}: ferlab {ours} vs official {theirs}"
        );
    };
    close(
        &format!("{what} |sum|"),
        abs_sum,
        official["abs_sum"].as_f64().unwrap(),
    );
    // A sum of n entries that may cancel: its rounding grows with √n times an entry.
    near(
        flat.iter().sum(),
        official["sum"].as_f64().unwrap(),
        scale * (flat.len() as f64).sqrt(),
        "sum",
    );
    let at = official["at"].as_array().unwrap();
    let values = official["values"].as_array().unwrap();
    for (i, v) in at.iter().zip(values) {
        let i = i.as_u64().unwrap() as usize;
        near(flat[i], v.as_f64().unwrap(), scale, &format!("entry {i}"));
    }
}

/// The model's head on given feature maps: global average pooling, then the linear layer.
fn pooled_output(fmap: &Tensor, weight: &Tensor, bias: &Tensor) -> Output {
    let features = fmap.flatten_from(2).unwrap().mean(D::Minus1).unwrap();
    let logits = features
        .matmul(&weight.t().unwrap())
        .unwrap()
        .broadcast_add(bias)
        .unwrap();
    Output {
        fmap: fmap.clone(),
        head_input: features.clone(),
        features,
        logits,
    }
}

struct Run {
    losses: Losses,
    inputs: [Var; 4],
}

/// Both views through the head, the flip pair, then `loss`; gradients of the total.
fn run(case: &Value, loss: impl Fn(ferlab::compute::method::flip_pair::FlipPair) -> Losses) -> Run {
    let inputs = ["fmap", "fmap_flipped_view", "fc_weight", "fc_bias"].map(|n| wave(case, n));
    let [fmap, fmap2, weight, bias] = &inputs;
    let out = pooled_output(fmap.as_tensor(), weight.as_tensor(), bias.as_tensor());
    let flipped = pooled_output(fmap2.as_tensor(), weight.as_tensor(), bias.as_tensor());
    let pair = pair_of(out, &flipped, weight.as_tensor()).unwrap();
    Run {
        losses: loss(pair),
        inputs,
    }
}

fn labels(case: &Value) -> Tensor {
    let labels: Vec<u32> = case["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_u64().unwrap() as u32)
        .collect();
    Tensor::new(labels.as_slice(), &Device::Cpu).unwrap()
}

/// Every term the official code gave (named as ferlab's) and the total.
fn same_losses(losses: &Losses, case: &Value) {
    for (name, official) in case["terms"].as_object().unwrap() {
        let (_, ours) = losses
            .terms
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("ferlab has no loss term {name}"));
        close(name, scalar(ours), official.as_f64().unwrap());
    }
    close(
        "total",
        scalar(&losses.total),
        case["loss"].as_f64().unwrap(),
    );
}

fn same_gradients(run: &Run, case: &Value) {
    let grads = run.losses.total.backward().unwrap();
    for (var, name) in run
        .inputs
        .iter()
        .zip(["fmap", "fmap_flipped_view", "fc_weight", "fc_bias"])
    {
        let grad = grads
            .get(var.as_tensor())
            .unwrap_or_else(|| panic!("no gradient reached {name}"));
        same_gradient(name, grad, &case["grad"][name]);
    }
}

#[test]
fn eac_matches_its_official_code() {
    let case = case("eac");
    let lambda = case["lambda"].as_f64().unwrap() as f32;
    let y = labels(&case);
    let run = run(&case, |pair| eac_losses(pair, &y, lambda).unwrap());
    same_losses(&run.losses, &case);
    same_gradients(&run, &case);
}

#[test]
fn lnsu_matches_its_official_code() {
    let case = case("lnsu");
    let counts: Vec<usize> = case["class_counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap() as usize)
        .collect();
    // The official constants are RAF-DB's 0.1 · N / n_c, which the default scale rebuilds.
    let official: Vec<f64> = case["balance_weight"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_f64().unwrap())
        .collect();
    let ours = ferlab::compute::method::balance::inverse_frequency_weights(&counts, 0.1);
    for (o, t) in ours.iter().zip(&official) {
        close("class weight", *o as f64, *t);
    }
    let lnsu = Lnsu::new(&LnsuConfig::default(), &counts, &Device::Cpu).unwrap();
    let y = labels(&case);
    let run = run(&case, |pair| lnsu.losses(pair, &y).unwrap());
    same_losses(&run.losses, &case);
    same_gradients(&run, &case);
}

#[test]
fn scn_matches_its_official_code() {
    use ferlab::compute::method::scn::{Scn, ScnConfig};
    use ferlab::compute::method::{BatchTensors, Method};
    let case = case("scn");
    let [x, fc_weight, fc_bias, attention_weight, attention_bias] = [
        "features",
        "fc_weight",
        "fc_bias",
        "attention_weight",
        "attention_bias",
    ]
    .map(|n| wave(&case, n));
    let (n, dim) = x.as_tensor().dims2().unwrap();
    let mut scn = Scn::new(&ScnConfig::default(), dim, &Device::Cpu, 7).unwrap();
    let params = scn.extra_params();
    params[0].1.set(attention_weight.as_tensor()).unwrap();
    params[1].1.set(attention_bias.as_tensor()).unwrap();
    let logits = x
        .as_tensor()
        .matmul(&fc_weight.as_tensor().t().unwrap())
        .unwrap()
        .broadcast_add(fc_bias.as_tensor())
        .unwrap();
    let out = Output {
        fmap: x.as_tensor().reshape((n, dim, 1, 1)).unwrap(),
        features: x.as_tensor().clone(),
        head_input: x.as_tensor().clone(),
        logits,
    };
    let first = case["first_index"].as_u64().unwrap() as usize;
    let label_vec: Vec<u32> = labels(&case).to_vec1().unwrap();
    let batch = BatchTensors {
        views: Vec::new(),
        labels: labels(&case),
        label_vec,
        indices: (first..first + n).collect(),
    };
    // The official epochs count from 1: its relabelling epoch is 0-based epoch − 1 here.
    let epoch = case["relabel_epoch"].as_u64().unwrap() as usize - 1;
    let losses = scn.losses(out, &batch, epoch).unwrap();
    same_losses(&losses, &case);
    let relabelled: Vec<(usize, u8)> = case["relabelled"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(i, l)| (i.parse().unwrap(), l.as_u64().unwrap() as u8))
        .collect();
    let ours: Vec<(usize, u8)> = scn.relabels().iter().map(|(&i, &l)| (i, l)).collect();
    let mut theirs = relabelled.clone();
    theirs.sort();
    assert_eq!(
        ours, theirs,
        "relabelled samples (dataset index, new label)"
    );
    let grads = losses.total.backward().unwrap();
    for (var, name) in [
        (&x, "features"),
        (&fc_weight, "fc_weight"),
        (&fc_bias, "fc_bias"),
        (&params[0].1, "attention_weight"),
        (&params[1].1, "attention_bias"),
    ] {
        let grad = grads
            .get(var.as_tensor())
            .unwrap_or_else(|| panic!("no gradient reached {name}"));
        same_gradient(name, grad, &case["grad"][name]);
    }
}
