//! `ember eval`: accuracy of a model (directory or ONNX) on a data split, and its logits.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};

use crate::cmd::data::DataArgs;
use crate::cmd::load_any;
use crate::output::{write_atomic, OutFile};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SplitArg {
    Train,
    Val,
    Test,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Model directory (from `ember train` or `ember prune`) or ONNX model.
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Which split to score.
    #[arg(long, value_enum, default_value = "test")]
    pub split: SplitArg,
    /// Also write the model's outputs [N, classes] as a float32 .npy file (before any final
    /// softmax of an ONNX model).
    #[arg(long, value_name = "FILE.npy")]
    pub logits: Option<PathBuf>,
    /// Replace an existing --logits file.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &EvalArgs) -> Result<()> {
    let out = args
        .logits
        .as_deref()
        .map(|p| OutFile::new(p, args.force))
        .transpose()?;
    let mut net = load_any(&args.model)?.net;
    let data = args.data.load_for(&net)?;
    let split = match args.split {
        SplitArg::Train => &data.train,
        SplitArg::Val => &data.val,
        SplitArg::Test => &data.test,
    };
    let logits = ember_pruner::logits(&mut net, &split.images)?;
    let pred = ember_pruner::nn::argmax_rows(logits.view());
    let correct = pred
        .iter()
        .zip(&split.labels)
        .filter(|(&p, &l)| p == usize::from(l))
        .count();
    println!(
        "{}: {:?} accuracy {:.4} ({correct} of {} images)",
        args.model.display(),
        args.split,
        correct as f64 / split.len().max(1) as f64,
        split.len()
    );
    if let (Some(out), Some(path)) = (out, &args.logits) {
        let mut bytes = Vec::new();
        ndarray_npy::WriteNpyExt::write_npy(&logits, &mut bytes)?;
        write_atomic(out.path(), &bytes)?;
        eprintln!("logits: {}", path.display());
    }
    Ok(())
}
