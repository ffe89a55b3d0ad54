//! `--net` and `--input-shape` for any command that takes a workload; loading it is
//! `ember_explore::Workload`'s.

use std::path::PathBuf;

use clap::Args;

use ember_explore::Workload;

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

impl NetArgs {
    pub fn workload(&self) -> Workload {
        Workload {
            path: self.net.clone(),
            input_shape: self.input_shape.clone(),
        }
    }
}

/// The ONNX importer's notes, on stderr (data goes to stdout).
pub fn print_warnings(warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}
