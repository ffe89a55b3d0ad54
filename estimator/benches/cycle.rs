//! Cycle mode on whole networks (mapping search included), one thread. Targets (cycle-level
//! issue): AlexNet batch 4 <= 1 s, VGG-16 batch 3 <= 10 s.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use ember_estimator::Hardware;
use ember_sim::{Dataflow, Network};

fn cycle(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let hw = Hardware::load(&root.join("hw_configs/eyeriss-v1.toml")).expect("config");
    for (name, batch) in [("alexnet", 4), ("vgg16", 3)] {
        let net = Network::load(&root.join(format!("traces/{name}.toml"))).expect("trace");
        c.bench_function(&format!("cycle_{name}_batch{batch}"), |b| {
            b.iter(|| {
                let res = hw.run(&net, batch, Dataflow::RowStationary).expect("runs");
                hw.simulate_cycles(&res, None)
            })
        });
    }
}

criterion_group!(benches, cycle);
criterion_main!(benches);
