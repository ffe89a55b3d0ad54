//! Loading a workload for any command that takes `--net`: a trace file, an ONNX model (by its
//! `.onnx` extension), or the embedded AlexNet.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{anyhow, Result};

use ember_sim::Network;

/// The embedded default workload, so `ember` runs from any directory.
pub const ALEXNET: &str = include_str!("../../traces/alexnet.toml");

/// `--input-shape` (a global flag: every command that takes `--net` honours it).
static INPUT_SHAPE: OnceLock<Option<[usize; 4]>> = OnceLock::new();

/// Parse and remember the global `--input-shape NxCxHxW`.
pub fn set_input_shape(s: Option<&str>) -> Result<()> {
    let shape = match s {
        None => None,
        Some(s) => Some(ember_onnx::parse_input_shape(s).ok_or_else(|| {
            anyhow!("--input-shape `{s}`: expected N x C x H x W, e.g. 1x3x227x227; fix: give four positive integers joined by `x`")
        })?),
    };
    let _ = INPUT_SHAPE.set(shape);
    Ok(())
}

pub fn input_shape() -> Option<[usize; 4]> {
    INPUT_SHAPE.get().copied().flatten()
}

/// Import an ONNX model, printing the importer's warnings to stderr.
pub fn import_onnx(path: &Path, shape: Option<[usize; 4]>) -> Result<Network> {
    let imported = ember_onnx::import_report(path, shape)?;
    for w in &imported.warnings {
        eprintln!("warning: {}: {w}", path.display());
    }
    Ok(imported.network)
}

/// Load `--net`: a trace, an ONNX model, or (no path) the embedded AlexNet.
pub fn load_net(path: Option<&Path>) -> Result<Network> {
    Ok(match path {
        Some(p)
            if p.extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("onnx")) =>
        {
            import_onnx(p, input_shape())?
        }
        Some(p) => Network::load(p)?,
        None => Network::parse(Path::new("traces/alexnet.toml"), ALEXNET)?,
    })
}
