//! Pretrained ResNet-18 weights in torchvision's layout, from `.safetensors` and from
//! PyTorch `.pth` archives that the tests write themselves in `torch.save`'s format.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use candle_core::{Device, Tensor};
use ferlab::compute::model::FerModel;
use ferlab::compute::model::pretrained::load_pretrained;
use ferlab::contract::config::{Backbone, ModelConfig};

fn resnet18(classes: usize, seed: u64) -> FerModel {
    let cfg = ModelConfig {
        backbone: Backbone::Resnet18,
        ..ModelConfig::default()
    };
    FerModel::new(&cfg, 3, classes, &Device::Cpu, seed).unwrap()
}

/// The state dict of an ImageNet-style ResNet-18 (1,000 classes), as `name -> (shape, values)`,
/// with torchvision's `num_batches_tracked` counters, one tensor left out and one extra.
fn torchvision_like_state() -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let source = resnet18(1000, 99);
    let mut state: Vec<(String, Vec<usize>, Vec<f32>)> = source
        .named_vars()
        .into_iter()
        .filter(|(name, _)| name != "layer4.1.bn2.bias")
        .map(|(name, var)| {
            let t = var.as_tensor();
            let values = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            (name, t.dims().to_vec(), values)
        })
        .collect();
    state.push(("layer1.0.bn1.num_batches_tracked".into(), vec![], vec![7.0]));
    state.push((
        "projection.weight".into(),
        vec![2, 2],
        vec![1.0, 2.0, 3.0, 4.0],
    ));
    state
}

/// Writes a `torch.save` archive (`archive/data.pkl`, pickle protocol 2, and one raw
/// little-endian float32 storage per tensor), optionally under `key` and with every name
/// prefixed by `prefix` (as DataParallel's `module.`).
fn write_pth(
    path: &Path,
    state: &[(String, Vec<usize>, Vec<f32>)],
    key: Option<&str>,
    prefix: &str,
) {
    let mut pkl: Vec<u8> = vec![0x80, 2];
    let unicode = |pkl: &mut Vec<u8>, s: &str| {
        pkl.push(b'X');
        pkl.extend((s.len() as u32).to_le_bytes());
        pkl.extend(s.as_bytes());
    };
    let int = |pkl: &mut Vec<u8>, v: usize| {
        pkl.push(b'J');
        pkl.extend((v as i32).to_le_bytes());
    };
    let ordered_dict = |pkl: &mut Vec<u8>| {
        pkl.extend(b"ccollections\nOrderedDict\n)R");
    };
    if let Some(key) = key {
        pkl.push(b'}');
        unicode(&mut pkl, key);
    }
    ordered_dict(&mut pkl);
    pkl.push(b'(');
    for (i, (name, shape, values)) in state.iter().enumerate() {
        unicode(&mut pkl, &format!("{prefix}{name}"));
        pkl.extend(b"ctorch._utils\n_rebuild_tensor_v2\n(");
        // The storage, by persistent id: ('storage', torch.FloatStorage, key, 'cpu', numel).
        pkl.push(b'(');
        unicode(&mut pkl, "storage");
        pkl.extend(b"ctorch\nFloatStorage\n");
        unicode(&mut pkl, &i.to_string());
        unicode(&mut pkl, "cpu");
        int(&mut pkl, values.len());
        pkl.extend(b"tQ");
        int(&mut pkl, 0);
        pkl.push(b'(');
        for &d in shape {
            int(&mut pkl, d);
        }
        pkl.push(b't');
        // Contiguous strides.
        pkl.push(b'(');
        for k in 0..shape.len() {
            int(&mut pkl, shape[k + 1..].iter().product());
        }
        pkl.push(b't');
        pkl.push(0x89);
        ordered_dict(&mut pkl);
        pkl.extend(b"tR");
    }
    pkl.push(b'u');
    if key.is_some() {
        pkl.push(b's');
    }
    pkl.push(b'.');

    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("archive/data.pkl", stored).unwrap();
    zip.write_all(&pkl).unwrap();
    for (i, (_, _, values)) in state.iter().enumerate() {
        zip.start_file(format!("archive/data/{i}"), stored).unwrap();
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        zip.write_all(&bytes).unwrap();
    }
    zip.start_file("archive/version", stored).unwrap();
    zip.write_all(b"3\n").unwrap();
    zip.finish().unwrap();
}

fn write_safetensors(path: &Path, state: &[(String, Vec<usize>, Vec<f32>)]) {
    let tensors: HashMap<String, Tensor> = state
        .iter()
        .map(|(n, shape, v)| {
            (
                n.clone(),
                Tensor::from_vec(v.clone(), shape.as_slice(), &Device::Cpu).unwrap(),
            )
        })
        .collect();
    candle_core::safetensors::save(&tensors, path).unwrap();
}

/// Loads `path` into a fresh 7-class ResNet-18 and checks the report and the values.
fn check_load(path: &Path, state: &[(String, Vec<usize>, Vec<f32>)]) {
    let model = resnet18(7, 1);
    let total = model.named_vars().len();
    let (report, text) = load_pretrained(&model, path).unwrap();
    // Everything but the left-out tensor and the 1,000-class head.
    assert_eq!(report.loaded, total - 3, "{text}");
    assert_eq!(report.missing, ["layer4.1.bn2.bias"], "{text}");
    assert_eq!(report.unexpected, ["projection.weight"], "{text}");
    assert_eq!(
        report.mismatched,
        [
            "fc.weight: file [1000, 512] vs model [7, 512]",
            "fc.bias: file [1000] vs model [7]"
        ],
        "{text}"
    );
    for expected in [
        "tensors loaded",
        "2 kept their initialisation because shapes differ",
        "1 missing from the file (layer4.1.bn2.bias)",
        "1 in the file but not in the model (projection.weight)",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in: {text}");
    }
    let vars: HashMap<String, candle_core::Var> = model.named_vars().into_iter().collect();
    for name in [
        "conv1.weight",
        "layer3.1.conv2.weight",
        "layer2.0.downsample.1.running_var",
    ] {
        let (_, _, want) = state.iter().find(|(n, _, _)| n == name).unwrap();
        let got = vars[name]
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(&got, want, "{name} was not copied");
    }
}

#[test]
fn safetensors_in_torchvision_layout_load_with_a_clear_report() {
    let dir = tempfile::tempdir().unwrap();
    let state = torchvision_like_state();
    let path = dir.path().join("resnet18.safetensors");
    write_safetensors(&path, &state);
    check_load(&path, &state);
}

#[test]
fn pth_state_dicts_load_plain_and_under_a_key_with_dataparallel_names() {
    let dir = tempfile::tempdir().unwrap();
    let state = torchvision_like_state();
    let plain = dir.path().join("resnet18.pth");
    write_pth(&plain, &state, None, "");
    check_load(&plain, &state);
    // A training checkpoint: {"state_dict": {"module.conv1.weight": ...}}.
    let wrapped = dir.path().join("checkpoint.pth");
    write_pth(&wrapped, &state, Some("state_dict"), "module.");
    check_load(&wrapped, &state);
}

#[test]
fn unreadable_weights_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = resnet18(7, 1);
    let text_file = dir.path().join("weights.pth");
    std::fs::write(&text_file, "not a zip").unwrap();
    let e = load_pretrained(&model, &text_file).unwrap_err().to_string();
    assert!(
        e.contains("weights.pth") && e.contains("cannot read as a PyTorch file"),
        "{e}"
    );
    let other = dir.path().join("weights.h5");
    std::fs::write(&other, "x").unwrap();
    let e = load_pretrained(&model, &other).unwrap_err().to_string();
    assert!(
        e.contains("weights.h5") && e.contains("unknown weights format `.h5`"),
        "{e}"
    );
}
