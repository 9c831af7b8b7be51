//! Compute devices: `cpu` or `cuda:N` (CUDA needs a build with `--features cuda`).

use candle_core::Device;

use crate::compute::Error;
use crate::contract::config::device::DeviceSpec;

/// Opens the device, with a clear message where CUDA is asked for but not available.
pub fn open_device(spec: DeviceSpec) -> Result<Device, Error> {
    match spec {
        DeviceSpec::Cpu => Ok(Device::Cpu),
        DeviceSpec::Cuda(n) => {
            if !candle_core::utils::cuda_is_available() {
                return Err(Error::Device(format!(
                    "device cuda:{n} was requested, but this ferlab was built without CUDA \
                     support; rebuild with `cargo build --release --features cuda` or set device = \"cpu\""
                )));
            }
            Device::new_cuda(n).map_err(|e| Error::Device(format!("cannot open cuda:{n}: {e}")))
        }
    }
}

pub fn describe(device: &Device) -> String {
    match device {
        Device::Cpu => format!("cpu ({} threads)", rayon::current_num_threads()),
        Device::Cuda(_) => "cuda".into(),
        Device::Metal(_) => "metal".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuda_without_support_is_a_clear_error() {
        if !candle_core::utils::cuda_is_available() {
            let e = open_device(DeviceSpec::Cuda(0)).unwrap_err();
            assert!(e.to_string().contains("built without CUDA"), "{e}");
        }
    }
}
