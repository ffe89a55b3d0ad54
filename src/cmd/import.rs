//! `ember import`: turn an ONNX model into an editable trace file.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::cmd::net::{import_onnx, input_shape};
use crate::output::{emit, out_file};

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The ONNX model.
    #[arg(value_name = "MODEL.onnx")]
    pub model: PathBuf,
    /// Write the trace to FILE (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace --out if it already exists.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &ImportArgs) -> Result<()> {
    let out = out_file(args.out.as_deref(), args.force)?;
    let net = import_onnx(&args.model, input_shape())?;
    emit(out.as_ref(), &ember_onnx::write_trace(&net))
}
