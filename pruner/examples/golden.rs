//! Prints checksums of what the engine computes on the fixture (training both built-in models
//! for one epoch, then one round of each pruning method), so that a structural change of the
//! engine can be checked to keep every bit: run before and after, compare the output.
//!
//! cargo run --release -p ember-pruner --example golden

use std::path::Path;

use ember_estimator::Hardware;
use ember_pruner::energy::EnergyModel;
use ember_pruner::model::zoo;
use ember_pruner::{prune, train, Dataset, Method, Network, PruneConfig, TrainConfig};

fn checksum(net: &Network) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (_, p) in net.params() {
        for v in p.value().iter() {
            h = (h ^ u64::from(v.to_bits())).wrapping_mul(0x100_0000_01b3);
        }
    }
    h
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fashion-mnist-small");
    let data = Dataset::load(&dir, 0.25).expect("fixture");
    let energy = EnergyModel::eap(Hardware::eyeriss_v1());
    for name in zoo::MODEL_NAMES {
        let mut net = Network::new(zoo::by_name(name).expect("built-in"), 1).expect("valid");
        let cfg = TrainConfig {
            epochs: 1,
            batch_size: 32,
            seed: 1,
            ..TrainConfig::default()
        };
        let hist = train(&mut net, &data, &cfg, |_| {}).expect("trains");
        println!(
            "{name}: trained {:016x} loss {:?}",
            checksum(&net),
            hist[0].train_loss.to_bits()
        );
        for method in [Method::Eap, Method::Magnitude] {
            let pc = PruneConfig {
                method,
                max_rounds: 1,
                calibration_samples: 32,
                refit_samples: 256,
                confidence: 0.5,
                max_accuracy_drop: 0.03,
                ..PruneConfig::default()
            };
            let out = prune(&net, &data, &energy, &pc, None, None, |_| {})
                .expect("prunes")
                .expect("not stopped");
            println!(
                "{name} {}: pruned {:016x} energy {:?} nonzero {} val {:?}",
                method.key(),
                checksum(&out.net),
                out.pruned.energy.total.to_bits(),
                out.pruned.nonzero_weights,
                out.pruned.val_accuracy.to_bits()
            );
        }
    }
}
