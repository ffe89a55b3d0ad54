//! `ember train`: train a built-in CNN on Fashion-MNIST and save it as a model directory.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;

use ember_pruner::model::zoo;
use ember_pruner::{
    evaluate, save_model, train, LrSchedule, Network, OptimizerKind, Progress, TrainConfig,
};

use crate::cmd::data::DataArgs;
use crate::cmd::{progress_bar, say};

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Architecture: lenet5, vgg-mini, inception-mini, squeeze-mini, resnet-mini or mobilenet-mini.
    #[arg(long)]
    pub model: String,
    #[command(flatten)]
    pub data: DataArgs,
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Seeds weight initialisation and shuffling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Adam learning rate (cosine decay to 0).
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f32,
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// L2 penalty added to the gradient of every weight tensor (conv, fc, batch-norm scale), as
    /// PyTorch's `Adam(weight_decay=)`; biases are not decayed.
    #[arg(long, default_value_t = 0.0, value_name = "WD")]
    pub weight_decay: f32,
    /// Model directory to write (model.toml, model.safetensors).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Train on the first N training images only.
    #[arg(long, hide = true)]
    pub limit: Option<usize>,
}

pub fn run(args: &TrainArgs) -> Result<()> {
    let Some(arch) = zoo::by_name(&args.model) else {
        bail!(
            "unknown model {:?}; fix: use one of {:?}",
            args.model,
            zoo::MODEL_NAMES
        );
    };
    anyhow::ensure!(
        args.weight_decay >= 0.0 && args.weight_decay.is_finite(),
        "--weight-decay {}: must be a finite number >= 0; fix: e.g. --weight-decay 5e-4",
        args.weight_decay
    );
    anyhow::ensure!(
        args.epochs > 0,
        "--epochs 0: training needs at least one epoch; fix: give --epochs N with N >= 1"
    );
    let mut net = Network::new(arch, args.seed)?;
    let mut data = args.data.load_for(&net)?;
    if let Some(n) = args.limit {
        data.train = data.train.head(n);
    }
    eprintln!(
        "data: {} train / {} val / {} test images",
        data.train.len(),
        data.val.len(),
        data.test.len()
    );
    let cfg = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        lr: args.lr,
        optimizer: OptimizerKind::adam().with_weight_decay(args.weight_decay),
        lr_schedule: LrSchedule::Cosine,
        seed: args.seed,
    };
    let batches = data.train.len().div_ceil(args.batch_size.max(1));
    let bar = progress_bar(
        (batches * args.epochs) as u64,
        "{elapsed_precise} [{bar:40}] {pos}/{len} batches {msg} (eta {eta})",
    );
    let history = train(&mut net, &data, &cfg, |p| match p {
        Progress::Batch { epoch, loss, .. } => {
            bar.inc(1);
            bar.set_message(format!("epoch {epoch} loss {loss:.3}"));
        }
        Progress::Epoch(s) => say(
            &bar,
            format!(
                "epoch {}: loss {:.4}, train accuracy {:.4}, val accuracy {:.4} ({:.1} s)",
                s.epoch,
                s.train_loss,
                s.train_accuracy,
                s.val_accuracy.unwrap_or(f32::NAN),
                s.seconds
            ),
        ),
    })?;
    bar.finish_and_clear();
    let val = history
        .last()
        .and_then(|s| s.val_accuracy)
        .unwrap_or(f32::NAN);
    let test = evaluate(&mut net, &data.test.images, &data.test.labels)?;
    save_model(&net, &args.out).with_context(|| format!("saving to {}", args.out.display()))?;
    println!(
        "{}: {} epoch{}, val accuracy {:.4}, test accuracy {:.4}, saved to {}",
        args.model,
        history.len(),
        if history.len() == 1 { "" } else { "s" },
        val,
        test,
        args.out.display()
    );
    Ok(())
}
