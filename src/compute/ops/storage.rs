//! Access to candle's CPU storage as plain f32 slices.

use candle_core::{CpuStorage, Device, Layout, Result, Storage, Tensor};

/// The f32 elements of a contiguous CPU storage view.
pub fn cpu_f32<'a>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [f32]> {
    let data = s.as_slice::<f32>()?;
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&data[a..b]),
        None => candle_core::bail!("ferlab op: expected a contiguous tensor"),
    }
}

/// The f32 elements of a contiguous tensor's storage (CPU only).
pub fn as_cpu_f32<'a>(s: &'a Storage, l: &Layout) -> Result<&'a [f32]> {
    match s {
        Storage::Cpu(c) => cpu_f32(c, l),
        _ => candle_core::bail!("ferlab op: expected a CPU tensor"),
    }
}

pub fn tensor_from_vec(v: Vec<f32>, dims: &[usize], device: &Device) -> Result<Tensor> {
    Tensor::from_vec(v, dims, device)
}

/// Whether the fast CPU kernels apply to this tensor.
pub fn is_cpu_f32(t: &Tensor) -> bool {
    t.device().is_cpu() && t.dtype() == candle_core::DType::F32
}
