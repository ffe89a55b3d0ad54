//! The whole AlexNet run of `ember` (batch 4, eyeriss-v1): mapping search for all 8 layers
//! plus energy estimation, on one thread. Target (foundation issue): under 50 ms; the peers
//! take 1 to 2.5 minutes for this job (shared/reference/eyeriss.md).

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use ember_estimator::{estimate, EnergyObjective, Hardware};
use ember_sim::{Dataflow, Network};

fn load() -> (Network, Hardware) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let net = Network::load(&root.join("traces/alexnet.toml")).expect("trace");
    let hw = Hardware::load(&root.join("hw_configs/eyeriss-v1.toml")).expect("config");
    (net, hw)
}

fn alexnet(c: &mut Criterion) {
    let (net, hw) = load();
    c.bench_function("alexnet_eyeriss_v1_batch4", |b| {
        b.iter(|| hw.run(&net, 4, Dataflow::RowStationary).expect("runs"))
    });
    // Baseline in the same run: the same mapping space with every candidate evaluated.
    c.bench_function("alexnet_eyeriss_v1_batch4_exhaustive", |b| {
        b.iter(|| {
            let mut total = 0.0;
            for (i, l) in net.layers.iter().enumerate() {
                let cx = hw.context(i == 0);
                let obj = EnergyObjective::new(l, &cx);
                let ev = ember_sim::rs::search_reference(l, &hw.arch, 4, &|ev| obj.energy(ev))
                    .expect("maps");
                total += estimate(l, &ev, &cx).total;
            }
            total
        })
    });
    let isca = Hardware::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../hw_configs/eyeriss-isca16-256.toml"),
    )
    .expect("config");
    c.bench_function("alexnet_isca16_256_batch16", |b| {
        b.iter(|| isca.run(&net, 16, Dataflow::RowStationary).expect("runs"))
    });
}

criterion_group!(benches, alexnet);
criterion_main!(benches);
