//! The `device` setting: `cpu` or `cuda:N`. Opening one is the engine's job
//! (`compute::train::device`); CUDA needs a build with `--features cuda`.

use crate::contract::Error;

/// Whether this build can open a CUDA device (candle's CUDA backend is compiled in).
pub const CUDA_BUILT: bool = cfg!(feature = "cuda");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceSpec {
    Cpu,
    Cuda(usize),
}

pub fn parse_device(s: &str) -> Result<DeviceSpec, Error> {
    let s = s.trim();
    if s == "cpu" {
        return Ok(DeviceSpec::Cpu);
    }
    if s == "cuda" {
        return Ok(DeviceSpec::Cuda(0));
    }
    if let Some(n) = s.strip_prefix("cuda:") {
        return n
            .parse()
            .map(DeviceSpec::Cuda)
            .map_err(|_| field(format!("`{s}`: the CUDA ordinal must be a number")));
    }
    Err(field(format!(
        "`{s}` is not a device; use \"cpu\" or \"cuda:N\""
    )))
}

fn field(message: String) -> Error {
    Error::Field {
        field: "device".into(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_device_names() {
        assert_eq!(parse_device("cpu").unwrap(), DeviceSpec::Cpu);
        assert_eq!(parse_device("cuda:1").unwrap(), DeviceSpec::Cuda(1));
        assert_eq!(parse_device("cuda").unwrap(), DeviceSpec::Cuda(0));
        assert!(parse_device("gpu").is_err());
        assert!(parse_device("cuda:x").is_err());
    }
}
