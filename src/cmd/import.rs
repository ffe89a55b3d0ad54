//! `ember import`: turn an ONNX model into an editable trace file.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::cmd::net::{import_onnx, parse_input_shape};
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
    let shape = args
        .input_shape
        .as_deref()
        .map(|s| parse_input_shape(s, None))
        .transpose()?;
    let net = import_onnx(&args.model, shape)?;
    emit(out.as_ref(), &ember_onnx::write_trace(&net))
}
