//! `ember import`: turn an ONNX model into an editable trace file.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use ember_explore::{workload::import_onnx, InputShape};

use crate::cmd::net::print_warnings;
use crate::output::{emit, out_file};

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The ONNX model.
    #[arg(value_name = "MODEL.onnx")]
    pub model: PathBuf,
    /// Input shape, CxHxW or 1xCxHxW (e.g. 3x227x227); overrides the graph's. A trace holds
    /// per-image layers, so N, if given, must be 1.
    #[arg(long, value_name = "[1x]CxHxW")]
    pub input_shape: Option<String>,
    /// Write the trace to FILE (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace --out if it already exists.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &ImportArgs) -> Result<()> {
    let out = out_file(args.out.as_deref(), args.force)?;
    let shape = match args.input_shape.as_deref() {
        Some(s) => {
            let shape = InputShape::parse(s)?;
            shape.check_batch(None)?;
            Some(shape.dims)
        }
        None => None,
    };
    let loaded = import_onnx(&args.model, shape)?;
    print_warnings(&loaded.warnings);
    emit(out.as_ref(), &ember_onnx::write_trace(&loaded.network))
}
