//! Loading a workload for any command that takes `--net`: a trace file, an ONNX model (by its
//! `.onnx` extension), or the embedded AlexNet; `--input-shape` for ONNX models.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use clap::Args;

use ember_sim::Network;

/// The embedded default workload, so `ember` runs from any directory.
pub const ALEXNET: &str = include_str!("../../traces/alexnet.toml");

/// `--net` and `--input-shape`, shared by every command that reads a workload.
#[derive(Args, Debug, Clone, Default)]
pub struct NetArgs {
    /// Workload: a trace (TOML) or an ONNX model (.onnx); default: the embedded
    /// traces/alexnet.toml.
    #[arg(long, value_name = "FILE")]
    pub net: Option<PathBuf>,
    /// Input shape of an ONNX --net, CxHxW or NxCxHxW (e.g. 3x227x227); overrides the graph's.
    /// Layers are per image: N is not a batch size, and if given must be 1 or the run's batch
    /// (--batch). A trace fixes its own shapes, so this is an error with one.
    #[arg(long, value_name = "[Nx]CxHxW")]
    pub input_shape: Option<String>,
}

/// Parse `--input-shape` (`CxHxW` or `NxCxHxW`, positive); N must be 1 or `batch` (the
/// command's batch, when it runs one).
pub fn parse_input_shape(s: &str, batch: Option<usize>) -> Result<[usize; 4]> {
    let bad = || {
        anyhow!(
            "--input-shape `{s}`: expected C x H x W or N x C x H x W of positive integers; fix: e.g. --input-shape 3x227x227"
        )
    };
    let parts = s.split(['x', 'X']).count();
    let full = if parts == 3 {
        format!("1x{s}")
    } else {
        s.to_string()
    };
    let shape = ember_onnx::parse_input_shape(&full).ok_or_else(bad)?;
    if shape.contains(&0) {
        return Err(bad());
    }
    let [n, c, h, w] = shape;
    if n != 1 && Some(n) != batch {
        let (run, also) = match batch {
            Some(b) => (
                format!(", but the batch is {b} (--batch)"),
                format!(" and --batch {n}"),
            ),
            None => (String::new(), String::new()),
        };
        bail!(
            "--input-shape `{s}`: N = {n}{run}; N is not a batch size here (layers are per image); fix: give --input-shape {c}x{h}x{w}{also}"
        );
    }
    Ok(shape)
}

/// Import an ONNX model, printing the importer's warnings to stderr.
pub fn import_onnx(path: &Path, shape: Option<[usize; 4]>) -> Result<Network> {
    let imported = ember_onnx::import_report(path, shape)?;
    for w in &imported.warnings {
        eprintln!("warning: {}: {w}", path.display());
    }
    Ok(imported.network)
}

fn is_onnx(p: &Path) -> bool {
    p.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
}

/// Load `--net`: a trace, an ONNX model, or (no path) the embedded AlexNet. `batch` is the
/// command's batch, if it runs one (it checks `--input-shape`'s N).
pub fn load_net(args: &NetArgs, batch: Option<usize>) -> Result<Network> {
    let shape = match &args.input_shape {
        None => None,
        Some(s) => {
            let what = match &args.net {
                Some(p) if is_onnx(p) => None,
                Some(p) => Some(format!(
                    "{} is a trace, whose layers fix their shapes",
                    p.display()
                )),
                None => Some("the default workload is the AlexNet trace".to_string()),
            };
            if let Some(what) = what {
                bail!(
                    "--input-shape `{s}` applies to ONNX models only, and {what}; fix: drop --input-shape, or edit the trace's shapes"
                );
            }
            Some(parse_input_shape(s, batch)?)
        }
    };
    Ok(match &args.net {
        Some(p) if is_onnx(p) => import_onnx(p, shape)?,
        Some(p) => Network::load(p)?,
        None => Network::parse(Path::new("traces/alexnet.toml"), ALEXNET)?,
    })
}
