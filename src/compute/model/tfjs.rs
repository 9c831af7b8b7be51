//! TensorFlow.js weights manifests: a JSON list of groups, each with the binary shard files
//! (`paths`, relative to the manifest) holding its tensors back to back in the order of
//! `weights`. A tensor is stored as its `dtype` (float32, int32) or, with a
//! `quantization` record, as uint8 / uint16 values `min + scale · q`, or float16.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde::Deserialize;

use crate::compute::Error;

#[derive(Deserialize)]
struct Group {
    paths: Vec<String>,
    weights: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    shape: Vec<usize>,
    dtype: String,
    quantization: Option<Quantization>,
}

#[derive(Deserialize)]
struct Quantization {
    dtype: String,
    #[serde(default)]
    scale: f64,
    #[serde(default)]
    min: f64,
}

/// How many tensors of each storage a manifest held (for the load report).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ManifestSummary {
    pub float32: usize,
    pub quantized_uint8: usize,
    pub quantized_other: usize,
}

/// Every tensor of the manifest at `path`, by its name, as f32 in its stored shape.
pub fn read_manifest(path: &Path) -> Result<(HashMap<String, Tensor>, ManifestSummary), Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::file(path, e))?;
    let groups: Vec<Group> = serde_json::from_str(&text).map_err(|e| {
        Error::file(
            path,
            format!(
                "not a TensorFlow.js weights manifest (line {}, column {}): {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut out = HashMap::new();
    let mut summary = ManifestSummary::default();
    for (g, group) in groups.iter().enumerate() {
        let mut bytes = Vec::new();
        for shard in &group.paths {
            let file: PathBuf = dir.join(shard);
            let data = std::fs::read(&file).map_err(|e| {
                Error::file(
                    path,
                    format!("group {g}: shard {} cannot be read: {e}", file.display()),
                )
            })?;
            bytes.extend_from_slice(&data);
        }
        let mut at = 0usize;
        for entry in &group.weights {
            let (values, width) = decode(entry, &bytes[at.min(bytes.len())..]).map_err(|m| {
                Error::file(path, format!("group {g}, weight `{}`: {m}", entry.name))
            })?;
            at += width;
            match entry.quantization.as_ref().map(|q| q.dtype.as_str()) {
                None => summary.float32 += 1,
                Some("uint8") => summary.quantized_uint8 += 1,
                Some(_) => summary.quantized_other += 1,
            }
            let t = Tensor::from_vec(values, entry.shape.as_slice(), &Device::Cpu)
                .map_err(|e| Error::file(path, format!("weight `{}`: {e}", entry.name)))?;
            out.insert(entry.name.clone(), t);
        }
        if at != bytes.len() {
            return Err(Error::file(
                path,
                format!(
                    "group {g}: the weights take {at} bytes but the shards hold {}",
                    bytes.len()
                ),
            ));
        }
    }
    if out.is_empty() {
        return Err(Error::file(path, "the manifest lists no weights"));
    }
    Ok((out, summary))
}

/// The values of one entry from the start of `bytes`, and how many bytes it took.
fn decode(entry: &Entry, bytes: &[u8]) -> Result<(Vec<f32>, usize), String> {
    let n: usize = entry.shape.iter().product();
    let (storage, width) = match &entry.quantization {
        Some(q) => match q.dtype.as_str() {
            "uint8" => ("uint8", 1),
            "uint16" => ("uint16", 2),
            "float16" => ("float16", 2),
            other => return Err(format!("unknown quantization dtype `{other}`")),
        },
        None => match entry.dtype.as_str() {
            "float32" => ("float32", 4),
            "int32" => ("int32", 4),
            other => return Err(format!("unsupported dtype `{other}`")),
        },
    };
    let len = n * width;
    if bytes.len() < len {
        return Err(format!(
            "needs {len} bytes ({n} values of {storage}) but the shards end {} bytes short",
            len - bytes.len()
        ));
    }
    let raw = &bytes[..len];
    let affine = |q: f64| -> f32 {
        let r = entry.quantization.as_ref().expect("quantised");
        (r.min + r.scale * q) as f32
    };
    let values = match storage {
        "uint8" => raw.iter().map(|&q| affine(q as f64)).collect(),
        "uint16" => raw
            .chunks_exact(2)
            .map(|c| affine(u16::from_le_bytes([c[0], c[1]]) as f64))
            .collect(),
        "float16" => raw
            .chunks_exact(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        "int32" => raw
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32)
            .collect(),
        _ => raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    };
    Ok((values, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every storage the reader claims: float32, int32, uint8 / uint16 (min + scale · q) and
    /// float16, back to back in one shard split over two files.
    #[test]
    fn every_storage_decodes_to_its_values() {
        let dir = tempfile::tempdir().unwrap();
        let mut bin: Vec<u8> = Vec::new();
        bin.extend(1.5f32.to_le_bytes());
        bin.extend((-2.25f32).to_le_bytes());
        bin.extend(7i32.to_le_bytes());
        bin.extend([0u8, 10, 255]);
        bin.extend(300u16.to_le_bytes());
        bin.extend(half::f16::from_f32(0.5).to_le_bytes());
        std::fs::write(dir.path().join("a.bin"), &bin[..10]).unwrap();
        std::fs::write(dir.path().join("b.bin"), &bin[10..]).unwrap();
        let manifest = r#"[{"paths": ["a.bin", "b.bin"], "weights": [
            {"name": "f", "shape": [2], "dtype": "float32"},
            {"name": "i", "shape": [1], "dtype": "int32"},
            {"name": "q8", "shape": [3], "dtype": "float32", "quantization": {"dtype": "uint8", "min": -1.0, "scale": 0.1}},
            {"name": "q16", "shape": [1], "dtype": "float32", "quantization": {"dtype": "uint16", "min": 2.0, "scale": 0.01}},
            {"name": "h", "shape": [1, 1], "dtype": "float32", "quantization": {"dtype": "float16"}}
        ]}]"#;
        let path = dir.path().join("m.json");
        std::fs::write(&path, manifest).unwrap();
        let (t, summary) = read_manifest(&path).unwrap();
        let v = |n: &str| t[n].flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(v("f"), vec![1.5, -2.25]);
        assert_eq!(v("i"), vec![7.0]);
        let q8 = v("q8");
        for (got, want) in q8.iter().zip([-1.0f32, 0.0, 24.5]) {
            assert!((got - want).abs() < 1e-6, "{q8:?}");
        }
        assert!((v("q16")[0] - 5.0).abs() < 1e-6);
        assert_eq!(v("h"), vec![0.5]);
        assert_eq!(t["h"].dims(), &[1, 1]);
        assert_eq!(
            summary,
            ManifestSummary {
                float32: 2,
                quantized_uint8: 1,
                quantized_other: 2,
            }
        );
    }
}
