//! `ember export`: a model directory as ONNX, for PyTorch and onnxruntime.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::cmd::load_trained;
use crate::output::{write_atomic, OutFile};

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Model directory (from `ember train` or `ember prune`).
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// The ONNX file to write: input `input` [N, C, H, W], output `logits` [N, classes], weights
    /// under PyTorch's state-dict names (pruned weights are zeros).
    #[arg(long, value_name = "FILE.onnx")]
    pub out: PathBuf,
    /// Replace an existing --out file.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &ExportArgs) -> Result<()> {
    let out = OutFile::new(&args.out, args.force)?;
    let net = load_trained(&args.model)?;
    write_atomic(out.path(), &ember_pruner::model::onnx::export(&net))?;
    let (live, total) = net.live_weights();
    println!(
        "{}: {} ({live} of {total} weights non-zero) -> {}",
        args.model.display(),
        net.arch().name,
        args.out.display()
    );
    Ok(())
}
