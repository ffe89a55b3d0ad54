//! Trains a built-in model on Fashion-MNIST and saves it.
//!
//! cargo run --release -p ember-pruner --example train -- \
//!     --model lenet5 --epochs 8 --out /tmp/lenet5 [--data DIR] [--lr 1e-3]
//!     [--batch-size 64] [--optimizer adam|sgd] [--schedule cosine|constant]
//!     [--seed 0] [--limit N]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use ember_pruner::data::{Dataset, DEFAULT_DATA_DIR, DEFAULT_VAL_FRACTION};
use ember_pruner::model::zoo;
use ember_pruner::{
    evaluate, save_model, train, LrSchedule, Network, OptimizerKind, Progress, TrainConfig,
};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "lenet5")]
    model: String,
    #[arg(long, default_value_t = 5)]
    epochs: usize,
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value = DEFAULT_DATA_DIR)]
    data: PathBuf,
    #[arg(long, default_value_t = 1e-3)]
    lr: f32,
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    #[arg(long, default_value = "adam")]
    optimizer: String,
    #[arg(long, default_value = "cosine")]
    schedule: String,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Train on the first N training images only (for quick timing runs).
    #[arg(long)]
    limit: Option<usize>,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args = Args::parse();
    let Some(arch) = zoo::by_name(&args.model) else {
        bail!(
            "unknown model {:?}; known: {:?}",
            args.model,
            zoo::MODEL_NAMES
        );
    };
    let optimizer = match args.optimizer.as_str() {
        "adam" => OptimizerKind::adam(),
        "sgd" => OptimizerKind::sgd_momentum(),
        o => bail!("unknown optimizer {o:?} (adam|sgd)"),
    };
    let lr_schedule = match args.schedule.as_str() {
        "cosine" => LrSchedule::Cosine,
        "constant" => LrSchedule::Constant,
        s => bail!("unknown schedule {s:?} (cosine|constant)"),
    };
    let t = Instant::now();
    let mut data = Dataset::load(&args.data, DEFAULT_VAL_FRACTION)?;
    if let Some(n) = args.limit {
        let idx: Vec<usize> = (0..n.min(data.train.len())).collect();
        let (images, labels) = data.train.gather(&idx);
        data.train = ember_pruner::Split { images, labels };
    }
    println!(
        "data: {} train / {} val / {} test images, loaded in {:.1}s",
        data.train.len(),
        data.val.len(),
        data.test.len(),
        t.elapsed().as_secs_f64()
    );
    let cfg = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        lr: args.lr,
        optimizer,
        lr_schedule,
        seed: args.seed,
    };
    let mut net = Network::new(arch, args.seed)?;
    let history = train(&mut net, &data, &cfg, |p| match p {
        Progress::Batch {
            epoch,
            batch,
            batches,
            loss,
        } if batch % 200 == 0 => {
            eprintln!("  epoch {epoch} batch {batch}/{batches} loss {loss:.4}");
        }
        Progress::Epoch(s) => println!(
            "epoch {}: loss {:.4} train acc {:.4} val acc {:.4} ({:.1}s)",
            s.epoch,
            s.train_loss,
            s.train_accuracy,
            s.val_accuracy.unwrap_or(f32::NAN),
            s.seconds
        ),
        _ => {}
    })?;
    let mean_s = history.iter().map(|s| s.seconds).sum::<f64>() / history.len() as f64;
    let test_acc = evaluate(&mut net, &data.test.images, &data.test.labels)?;
    println!("mean {mean_s:.1} s/epoch; test accuracy {test_acc:.4}");
    save_model(&net, &args.out).with_context(|| format!("saving to {}", args.out.display()))?;
    println!("saved to {}", args.out.display());
    Ok(())
}
