//! Pretrained weights in torchvision's layout, from `.safetensors` or PyTorch `.pth` files
//! (a plain state dict, or one under `state_dict` / `model`, with DataParallel's `module.`
//! prefix removed), and the face ResNet's TensorFlow.js manifest (`.json`).

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};

use super::face_resnet::from_tfjs;
use super::tfjs::read_manifest;
use super::{Backbone, FerModel, LoadReport};
use crate::compute::Error;
use crate::contract::config::ScaleAffine;

/// The size of `path` if it is a regular file (after links): a weights file named by a
/// user or a manifest is read whole, and `/dev/zero` or a pipe never ends.
pub fn regular_file(path: &Path) -> Result<u64, Error> {
    let meta =
        std::fs::metadata(path).map_err(|e| Error::file(path, format!("cannot read: {e}")))?;
    if !meta.is_file() {
        return Err(Error::file(
            path,
            "is not a regular file (a device, pipe or folder): weights are read only from files",
        ));
    }
    Ok(meta.len())
}

/// Reads every tensor of a weights file, keyed by its (prefix-stripped) name.
pub fn read_weights(path: &Path) -> Result<HashMap<String, Tensor>, Error> {
    regular_file(path)?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let named: Vec<(String, Tensor)> = match ext.as_str() {
        "safetensors" => candle_core::safetensors::load(path, &Device::Cpu)
            .map_err(|e| Error::file(path, e))?
            .into_iter()
            .collect(),
        "pth" | "pt" | "bin" | "ckpt" => read_pth(path)?,
        other => {
            return Err(Error::file(
                path,
                format!("unknown weights format `.{other}` (expected .safetensors or .pth)"),
            ));
        }
    };
    if named.is_empty() {
        return Err(Error::file(path, "no tensors found"));
    }
    let tensors = strip_common_prefix(named);
    check_finite(path, &tensors)?;
    Ok(tensors)
}

/// Refuses a file whose floating-point tensors hold a NaN or an infinity, naming the first
/// such tensor (by name order) and the value's position: such weights would otherwise load
/// as if fine and surface later as a diverged run or null outputs.
pub fn check_finite(path: &Path, tensors: &HashMap<String, Tensor>) -> Result<(), Error> {
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    for name in names {
        let t = &tensors[name];
        if !t.dtype().is_float() {
            continue;
        }
        let values = t
            .flatten_all()
            .and_then(|t| t.to_dtype(candle_core::DType::F32))
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| Error::file(path, format!("tensor `{name}`: {e}")))?;
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::file(
                path,
                format!(
                    "tensor `{name}` holds {} (value {i} of {}): the file is damaged or \
                     was written by a diverged run",
                    values[i],
                    values.len()
                ),
            ));
        }
    }
    Ok(())
}

fn read_pth(path: &Path) -> Result<Vec<(String, Tensor)>, Error> {
    let err =
        |e: candle_core::Error| Error::file(path, format!("cannot read as a PyTorch file: {e}"));
    let plain = candle_core::pickle::read_all(path).map_err(err)?;
    if !plain.is_empty() {
        return Ok(plain);
    }
    for key in ["state_dict", "model", "model_state_dict"] {
        if let Ok(found) = candle_core::pickle::read_all_with_key(path, Some(key))
            && !found.is_empty()
        {
            return Ok(found);
        }
    }
    Ok(Vec::new())
}

/// Removes a prefix every name shares (`module.` from DataParallel, `model.`, `backbone.`).
fn strip_common_prefix(named: Vec<(String, Tensor)>) -> HashMap<String, Tensor> {
    for prefix in ["module.", "model.", "backbone."] {
        if named.iter().all(|(n, _)| n.starts_with(prefix)) {
            return named
                .into_iter()
                .map(|(n, t)| (n[prefix.len()..].to_string(), t))
                .collect();
        }
    }
    named.into_iter().collect()
}

/// Tensors for a model read from a file, the file's tensors it had no use for, and a note
/// on the format for the report.
struct Read {
    tensors: HashMap<String, Tensor>,
    unused: Vec<String>,
    how: String,
}

/// A TensorFlow.js manifest converted to the face ResNet's tensors.
fn read_tfjs(model: &FerModel, path: &Path) -> Result<Read, Error> {
    let Backbone::FaceResnet(net) = &model.backbone else {
        return Err(Error::file(
            path,
            "a TensorFlow.js manifest fits only model.backbone = \"face_resnet\"",
        ));
    };
    let (raw, summary) = read_manifest(path)?;
    let affine = match net.stem.scale {
        Some(_) => ScaleAffine::Separate,
        None => ScaleAffine::Folded,
    };
    let (tensors, used) = from_tfjs(&raw, affine).map_err(|e| Error::file(path, e))?;
    let mut unused: Vec<String> = raw.keys().filter(|k| !used.contains(k)).cloned().collect();
    unused.sort();
    let how = format!(
        " (TensorFlow.js manifest: {} float32, {} uint8-quantised{} tensors; scale layers {})",
        summary.float32,
        summary.quantized_uint8,
        match summary.quantized_other {
            0 => String::new(),
            n => format!(", {n} otherwise quantised"),
        },
        match affine {
            ScaleAffine::Folded => "folded into the convolutions",
            ScaleAffine::Separate => "kept as learnable scale and shift",
        }
    );
    Ok(Read {
        tensors,
        unused,
        how,
    })
}

/// Loads what fits from `path` into `model` and describes what did not.
pub fn load_pretrained(model: &FerModel, path: &Path) -> Result<(LoadReport, String), Error> {
    let is_manifest = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let Read {
        tensors,
        unused,
        how,
    } = if is_manifest {
        read_tfjs(model, path)?
    } else {
        Read {
            tensors: read_weights(path)?,
            unused: Vec::new(),
            how: String::new(),
        }
    };
    // torchvision counts batches seen by each batch norm; ferlab does not need them.
    let tensors: HashMap<String, Tensor> = tensors
        .into_iter()
        .filter(|(n, _)| !n.ends_with("num_batches_tracked"))
        .collect();
    let mut report = model.load(&tensors).map_err(|e| Error::file(path, e))?;
    // A file that fills less than half of the model is for another model: training on it
    // would be labelled "pretrained" while it starts almost from scratch.
    let wanted = report.loaded + report.missing.len() + report.mismatched.len();
    if report.loaded * 2 < wanted {
        let first = report
            .missing
            .iter()
            .chain(&report.mismatched)
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        return Err(Error::file(
            path,
            format!(
                "only {} of the model's {wanted} tensors could be loaded from it (not there \
                 or of another shape: {first}, …): it holds weights of another model \
                 ({} tensors of its own were not used)",
                report.loaded,
                report.unexpected.len() + unused.len()
            ),
        ));
    }
    report.unexpected.extend(unused);
    let mut text = format!(
        "pretrained weights {}: {} tensors loaded{how}",
        path.display(),
        report.loaded
    );
    let list = |v: &[String]| {
        let shown: Vec<&str> = v.iter().take(8).map(String::as_str).collect();
        let more = if v.len() > 8 {
            format!(" and {} more", v.len() - 8)
        } else {
            String::new()
        };
        format!("{}{more}", shown.join(", "))
    };
    if !report.mismatched.is_empty() {
        text += &format!(
            "; {} kept their initialisation because shapes differ ({})",
            report.mismatched.len(),
            list(&report.mismatched)
        );
    }
    if !report.missing.is_empty() {
        text += &format!(
            "; {} missing from the file ({})",
            report.missing.len(),
            list(&report.missing)
        );
    }
    if !report.unexpected.is_empty() {
        text += &format!(
            "; {} in the file but not in the model ({})",
            report.unexpected.len(),
            list(&report.unexpected)
        );
    }
    Ok((report, text))
}
