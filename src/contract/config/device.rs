//! The `device` setting: `cpu` or `cuda:N`. Opening one is the engine's job
//! (`train::device`); CUDA needs a build with `--features cuda`.

/// Whether this build can open a CUDA device (candle's CUDA backend is compiled in).
pub const CUDA_BUILT: bool = cfg!(feature = "cuda");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceSpec {
    Cpu,
    Cuda(usize),
}

pub fn parse_device(s: &str) -> Result<DeviceSpec, String> {
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
            .map_err(|_| format!("`{s}`: the CUDA ordinal must be a number"));
    }
    Err(format!("`{s}` is not a device; use \"cpu\" or \"cuda:N\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_device_names() {
        assert_eq!(parse_device("cpu"), Ok(DeviceSpec::Cpu));
        assert_eq!(parse_device("cuda:1"), Ok(DeviceSpec::Cuda(1)));
        assert_eq!(parse_device("cuda"), Ok(DeviceSpec::Cuda(0)));
        assert!(parse_device("gpu").is_err());
        assert!(parse_device("cuda:x").is_err());
    }
}
