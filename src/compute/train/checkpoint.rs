//! Checkpoint files: safetensors with the training state as JSON in the header's metadata,
//! so tensors and state are one file, replaced atomically.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};

use crate::compute::Error;
use crate::compute::model::pretrained::check_finite;

const STATE_KEY: &str = "ferlab.state";

fn err(path: &Path, message: impl std::fmt::Display) -> Error {
    Error::file(path, message)
}

/// Writes tensors and a JSON state to `path` atomically.
pub fn save(path: &Path, tensors: &[(String, Tensor)], state_json: &str) -> Result<(), Error> {
    let mut meta = HashMap::new();
    meta.insert(STATE_KEY.to_string(), state_json.to_string());
    let cpu: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(n, t)| Ok((n.clone(), t.to_device(&Device::Cpu)?.contiguous()?)))
        .collect::<candle_core::Result<_>>()
        .map_err(|e| err(path, e))?;
    let bytes = safetensors::serialize(cpu.iter().map(|(n, t)| (n.as_str(), t)), Some(meta))
        .map_err(|e| err(path, e))?;
    crate::contract::run::atomic::write(path, &bytes).map_err(|e| err(path, e))
}

/// Reads a checkpoint: its tensors (on `device`) and its JSON state, if any.
pub fn load(
    path: &Path,
    device: &Device,
) -> Result<(HashMap<String, Tensor>, Option<String>), Error> {
    crate::compute::model::pretrained::regular_file(path)?;
    let bytes = std::fs::read(path).map_err(|e| err(path, format!("cannot read: {e}")))?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| err(path, format!("not a safetensors file: {e}")))?;
    let state = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get(STATE_KEY).cloned());
    let tensors =
        candle_core::safetensors::load_buffer(&bytes, device).map_err(|e| err(path, e))?;
    // A checkpoint is never saved with NaN in it: one that holds some was altered since.
    check_finite(path, &tensors)?;
    Ok((tensors, state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensors_and_state_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.safetensors");
        let t = Tensor::new(&[[1.0f32, 2.0], [3.0, 4.0]], &Device::Cpu).unwrap();
        save(&p, &[("w".into(), t.clone())], "{\"epoch\":3}").unwrap();
        let (tensors, state) = load(&p, &Device::Cpu).unwrap();
        assert_eq!(
            tensors["w"].to_vec2::<f32>().unwrap(),
            t.to_vec2::<f32>().unwrap()
        );
        assert_eq!(state.as_deref(), Some("{\"epoch\":3}"));
    }

    #[test]
    fn a_checkpoint_holding_nan_is_refused_naming_the_tensor() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.safetensors");
        let ok = Tensor::new(&[1.0f32, 2.0], &Device::Cpu).unwrap();
        let bad = Tensor::new(&[1.0f32, f32::INFINITY, 3.0], &Device::Cpu).unwrap();
        save(&p, &[("a".into(), ok), ("b.weight".into(), bad)], "{}").unwrap();
        let e = load(&p, &Device::Cpu).unwrap_err().to_string();
        assert!(
            e.contains("c.safetensors") && e.contains("tensor `b.weight` holds inf (value 1 of 3)"),
            "{e}"
        );
    }

    #[test]
    fn a_corrupt_file_names_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.safetensors");
        std::fs::write(&p, b"not a checkpoint").unwrap();
        let e = load(&p, &Device::Cpu).unwrap_err().to_string();
        assert!(
            e.contains("bad.safetensors") && e.contains("not a safetensors"),
            "{e}"
        );
    }
}
