//! Seconds per training epoch of a built-in model on Fashion-MNIST's 55,000
//! training images (Adam, no validation pass), the figure `bench/` compares
//! with PyTorch.
//!
//! cargo run --release -p ember-pruner --example epoch_time -- vgg-mini 2 128 [DATA_DIR]

use std::path::PathBuf;

use ember_pruner::data::{DEFAULT_DATA_DIR, DEFAULT_VAL_FRACTION};
use ember_pruner::model::zoo;
use ember_pruner::{train, Dataset, Network, Progress, TrainConfig};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let model = args.next().unwrap_or_else(|| "lenet5".into());
    let epochs: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(1);
    let batch: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(128);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| DEFAULT_DATA_DIR.into()));
    let Some(arch) = zoo::by_name(&model) else {
        eprintln!("unknown model {model}; use one of {:?}", zoo::MODEL_NAMES);
        std::process::exit(2);
    };
    let mut data = Dataset::load(&dir, DEFAULT_VAL_FRACTION).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    data.val = data.val.head(0); // time training only
    let mut net = Network::new(arch, 0).expect("built-in model");
    let cfg = TrainConfig {
        epochs,
        batch_size: batch,
        ..TrainConfig::default()
    };
    let threads = rayon::current_num_threads();
    train(&mut net, &data, &cfg, |p| {
        if let Progress::Epoch(s) = p {
            println!(
                "{model} epoch {} images {} batch {batch} threads {threads} seconds {:.3} loss {:.4}",
                s.epoch,
                data.train.len(),
                s.seconds,
                s.train_loss
            );
        }
    })
    .expect("training runs");
}
