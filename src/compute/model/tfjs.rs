//! TensorFlow.js weights manifests: a JSON list of groups, each with the binary shard files
//! (`paths`, relative to the manifest) holding its tensors back to back in the order of
//! `weights`. A tensor is stored as its `dtype` (float32, int32) or, with a
//! `quantization` record, as uint8 / uint16 values `min + scale · q`, or float16.

use std::collections::HashMap;
use std::io::Read;
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
    scale: Option<f64>,
    min: Option<f64>,
}

/// How many tensors of each storage a manifest held (for the load report).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ManifestSummary {
    pub float32: usize,
    pub quantized_uint8: usize,
    pub quantized_other: usize,
}

/// How one entry is stored: its storage name, bytes per value and, for uint8 / uint16,
/// the affine map `min + scale · q`.
struct Storage {
    name: &'static str,
    width: usize,
    affine: Option<(f64, f64)>,
}

/// The largest manifest file read.
const MAX_MANIFEST_BYTES: u64 = 16 << 20;

/// Every tensor of the manifest at `path`, by its name, as f32 in its stored shape.
///
/// A manifest is untrusted input: its shards are read only from regular files inside the
/// manifest's folder, only as many bytes as the declared shapes take (the files' sizes are
/// checked against that before anything is read), names must be unique, a quantised entry
/// must give its scale and min, and every value must be finite.
pub fn read_manifest(path: &Path) -> Result<(HashMap<String, Tensor>, ManifestSummary), Error> {
    // The real manifest is 20 kB; a megabyte is generous and keeps /dev/zero out.
    if super::pretrained::regular_file(path)? > MAX_MANIFEST_BYTES {
        return Err(Error::file(
            path,
            format!("is over {MAX_MANIFEST_BYTES} bytes: not a weights manifest"),
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::file(path, e))?;
    // Editors on Windows may save JSON with a byte-order mark; JSON itself has none.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let groups: Vec<Group> = serde_json::from_str(text).map_err(|e| {
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
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let folder = dir
        .canonicalize()
        .map_err(|e| Error::file(dir, format!("the manifest's folder cannot be read: {e}")))?;
    let mut out = HashMap::new();
    let mut summary = ManifestSummary::default();
    for (g, group) in groups.iter().enumerate() {
        let storages: Vec<Storage> = group
            .weights
            .iter()
            .map(|entry| {
                storage(entry).map_err(|m| {
                    Error::file(path, format!("group {g}, weight `{}`: {m}", entry.name))
                })
            })
            .collect::<Result<_, _>>()?;
        let mut sizes = Vec::with_capacity(group.weights.len());
        for (entry, st) in group.weights.iter().zip(&storages) {
            let size = entry
                .shape
                .iter()
                .try_fold(st.width, |acc, &d| acc.checked_mul(d))
                .ok_or_else(|| {
                    Error::file(
                        path,
                        format!(
                            "group {g}, weight `{}`: shape {:?} is too large",
                            entry.name, entry.shape
                        ),
                    )
                })?;
            sizes.push(size);
        }
        let declared = sizes
            .iter()
            .try_fold(0usize, |acc, &s| acc.checked_add(s))
            .ok_or_else(|| Error::file(path, format!("group {g}: the shapes are too large")))?;
        let shards = shard_files(path, &folder, g, &group.paths)?;
        let held: u64 = shards.iter().map(|(_, len)| len).sum();
        if held != declared as u64 {
            let names: Vec<String> = shards
                .iter()
                .map(|(f, len)| format!("{} ({len} bytes)", f.display()))
                .collect();
            return Err(Error::file(
                path,
                format!(
                    "group {g}: the weights' shapes take {declared} bytes but its shards hold \
                     {held}: {}",
                    names.join(", ")
                ),
            ));
        }
        let mut bytes = Vec::with_capacity(declared);
        for (file, len) in &shards {
            let before = bytes.len();
            std::fs::File::open(file)
                .and_then(|f| f.take(*len).read_to_end(&mut bytes))
                .map_err(|e| {
                    Error::file(
                        path,
                        format!("group {g}: shard {} cannot be read: {e}", file.display()),
                    )
                })?;
            if (bytes.len() - before) as u64 != *len {
                return Err(Error::file(
                    path,
                    format!(
                        "group {g}: shard {} changed size while it was read",
                        file.display()
                    ),
                ));
            }
        }
        let mut at = 0usize;
        for ((entry, st), size) in group.weights.iter().zip(&storages).zip(&sizes) {
            let at_weight =
                |m: String| Error::file(path, format!("group {g}, weight `{}`: {m}", entry.name));
            let values = decode(st, &bytes[at..at + size]);
            at += size;
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                let why = match st.affine {
                    Some(_) => " (min + scale · q does not fit a 32-bit float)",
                    None => "",
                };
                return Err(at_weight(format!(
                    "value {i} is {}{why}: a weights file must hold finite numbers",
                    values[i]
                )));
            }
            match entry.quantization.as_ref().map(|q| q.dtype.as_str()) {
                None => summary.float32 += 1,
                Some("uint8") => summary.quantized_uint8 += 1,
                Some(_) => summary.quantized_other += 1,
            }
            let t = Tensor::from_vec(values, entry.shape.as_slice(), &Device::Cpu)
                .map_err(|e| at_weight(e.to_string()))?;
            if out.insert(entry.name.clone(), t).is_some() {
                return Err(at_weight(
                    "named twice in the manifest: which one to load is unclear".into(),
                ));
            }
        }
    }
    if out.is_empty() {
        return Err(Error::file(path, "the manifest lists no weights"));
    }
    Ok((out, summary))
}

/// The shard files of a group with their sizes: each a regular file inside `folder` (the
/// manifest's, resolved), so a manifest cannot make ferlab read `/dev/zero` or a file
/// elsewhere on the machine.
fn shard_files(
    manifest: &Path,
    folder: &Path,
    group: usize,
    paths: &[String],
) -> Result<Vec<(PathBuf, u64)>, Error> {
    let mut out = Vec::with_capacity(paths.len());
    for shard in paths {
        let bad = |m: String| Error::file(manifest, format!("group {group}: shard `{shard}` {m}"));
        let file = folder.join(shard);
        let real = file
            .canonicalize()
            .map_err(|e| bad(format!("cannot be read ({}): {e}", file.display())))?;
        if !real.starts_with(folder) {
            return Err(bad(format!(
                "is not inside the manifest's folder {} (it resolves to {}): shards are read \
                 only from there",
                folder.display(),
                real.display()
            )));
        }
        let meta = std::fs::metadata(&real)
            .map_err(|e| bad(format!("cannot be read ({}): {e}", real.display())))?;
        if !meta.is_file() {
            return Err(bad(format!("({}) is not a regular file", real.display())));
        }
        out.push((real, meta.len()));
    }
    Ok(out)
}

/// How `entry` is stored, or why it cannot be read.
fn storage(entry: &Entry) -> Result<Storage, String> {
    let affine = |q: &Quantization| match (q.scale, q.min) {
        (Some(scale), Some(min)) if scale.is_finite() && min.is_finite() => Ok(Some((min, scale))),
        (Some(_), Some(_)) => Err(format!(
            "{} quantization with a non-finite scale or min",
            q.dtype
        )),
        (None, _) => Err(format!("{} quantization without its `scale`", q.dtype)),
        (_, None) => Err(format!("{} quantization without its `min`", q.dtype)),
    };
    Ok(match &entry.quantization {
        Some(q) => match q.dtype.as_str() {
            "uint8" => Storage {
                name: "uint8",
                width: 1,
                affine: affine(q)?,
            },
            "uint16" => Storage {
                name: "uint16",
                width: 2,
                affine: affine(q)?,
            },
            "float16" => Storage {
                name: "float16",
                width: 2,
                affine: None,
            },
            other => return Err(format!("unknown quantization dtype `{other}`")),
        },
        None => match entry.dtype.as_str() {
            "float32" => Storage {
                name: "float32",
                width: 4,
                affine: None,
            },
            "int32" => Storage {
                name: "int32",
                width: 4,
                affine: None,
            },
            other => return Err(format!("unsupported dtype `{other}`")),
        },
    })
}

/// The values of one entry from exactly its bytes.
fn decode(st: &Storage, raw: &[u8]) -> Vec<f32> {
    let affine = |q: f64| -> f32 {
        let (min, scale) = st.affine.expect("quantised");
        (min + scale * q) as f32
    };
    match st.name {
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
    }
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

#[cfg(test)]
mod hostile_tests {
    use super::*;

    /// A folder with a manifest of one float32 weight `w` of `n` values in `w.bin`.
    fn manifest(dir: &Path, manifest: &str, bin: &[u8]) -> PathBuf {
        std::fs::write(dir.join("w.bin"), bin).unwrap();
        let path = dir.join("m.json");
        std::fs::write(&path, manifest).unwrap();
        path
    }

    fn one(paths: &str, shape: &str) -> String {
        format!(
            r#"[{{"paths": {paths}, "weights": [{{"name": "w", "shape": {shape}, "dtype": "float32"}}]}}]"#
        )
    }

    fn err(path: &Path) -> String {
        read_manifest(path).unwrap_err().to_string()
    }

    #[test]
    fn shards_outside_the_manifests_folder_or_not_files_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("weights");
        std::fs::create_dir(&inner).unwrap();
        std::fs::write(dir.path().join("secret.bin"), [0u8; 8]).unwrap();
        let bin = [0u8; 8];
        for (paths, needle) in [
            (r#"["/dev/zero"]"#, "not inside the manifest's folder"),
            (r#"["../secret.bin"]"#, "not inside the manifest's folder"),
            (r#"["missing.bin"]"#, "shard `missing.bin` cannot be read"),
            (r#"["."]"#, "is not a regular file"),
        ] {
            let m = manifest(&inner, &one(paths, "[2]"), &bin);
            let e = err(&m);
            assert!(e.contains(needle), "{paths}: {e}");
        }
        // A link inside the folder to a file outside it is outside too.
        std::os::unix::fs::symlink("/dev/zero", inner.join("zero.bin")).unwrap();
        let m = manifest(&inner, &one(r#"["zero.bin"]"#, "[2]"), &bin);
        assert!(err(&m).contains("resolves to /dev/zero"), "{}", err(&m));
    }

    #[test]
    fn declared_sizes_are_checked_against_the_shards_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        // A shape of 2^60 values allocates nothing: the shard's 8 bytes are compared first.
        let m = manifest(
            dir.path(),
            &one(r#"["w.bin"]"#, "[1073741824, 1073741824]"),
            &[0u8; 8],
        );
        let e = err(&m);
        assert!(
            e.contains("w.bin (8 bytes)") && e.contains("take 4611686018427387904"),
            "{e}"
        );
        let m = manifest(
            dir.path(),
            &one(r#"["w.bin"]"#, "[4294967296, 4294967296, 4294967296]"),
            &[0u8; 8],
        );
        assert!(err(&m).contains("is too large"), "{}", err(&m));
    }

    #[test]
    fn a_byte_order_mark_is_read_past_and_bad_entries_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let bin: Vec<u8> = [1.0f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let m = manifest(
            dir.path(),
            &format!("\u{feff}{}", one(r#"["w.bin"]"#, "[2]")),
            &bin,
        );
        let (t, _) = read_manifest(&m).unwrap();
        assert_eq!(t["w"].to_vec1::<f32>().unwrap(), vec![1.0, 2.0]);

        let twice = r#"[{"paths": ["w.bin"], "weights": [
            {"name": "w", "shape": [1], "dtype": "float32"},
            {"name": "w", "shape": [1], "dtype": "float32"}]}]"#;
        let e = err(&manifest(dir.path(), twice, &bin));
        assert!(e.contains("weight `w`: named twice"), "{e}");

        for (q, needle) in [
            (r#"{"dtype": "uint8", "min": 0.0}"#, "without its `scale`"),
            (r#"{"dtype": "uint16", "scale": 1.0}"#, "without its `min`"),
        ] {
            let text = format!(
                r#"[{{"paths": ["w.bin"], "weights": [{{"name": "q", "shape": [8], "dtype": "float32", "quantization": {q}}}]}}]"#
            );
            let e = err(&manifest(dir.path(), &text, &[0u8; 8]));
            assert!(e.contains("weight `q`") && e.contains(needle), "{e}");
        }
    }

    #[test]
    fn non_finite_values_are_named_with_their_weight() {
        let dir = tempfile::tempdir().unwrap();
        let bin: Vec<u8> = [1.0f32, f32::NAN]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let e = err(&manifest(dir.path(), &one(r#"["w.bin"]"#, "[2]"), &bin));
        assert!(e.contains("weight `w`: value 1 is NaN"), "{e}");
        // A uint8 scale whose products overflow a 32-bit float.
        let text = r#"[{"paths": ["w.bin"], "weights": [{"name": "q", "shape": [2], "dtype": "float32",
            "quantization": {"dtype": "uint8", "min": 0.0, "scale": 1e37}}]}]"#;
        let e = err(&manifest(dir.path(), text, &[1u8, 255]));
        assert!(
            e.contains("weight `q`: value 1 is inf") && e.contains("does not fit"),
            "{e}"
        );
    }
}
