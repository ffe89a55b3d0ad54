//! Cycle mode on whole networks (mapping search included), one thread. Targets (cycle-level
//! issue): AlexNet batch 4 <= 1 s, VGG-16 batch 3 <= 10 s. Also the edp mapping objective on
//! AlexNet CONV3 (batch 4): the lower-bounded search against timing every candidate (its
//! baseline, the exhaustive search both must agree with).

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use ember_estimator::{EnergyObjective, Hardware, Objective};
use ember_sim::cycle::{simulate, Replay};
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
    let net = Network::load(&root.join("traces/alexnet.toml")).expect("trace");
    let l = &net.layers[2];
    let mut g = c.benchmark_group("edp_alexnet_conv3_batch4");
    g.sample_size(10);
    g.bench_function("lower_bounded", |b| {
        b.iter(|| {
            hw.run_layer_with(l, 4, Dataflow::RowStationary, false, Objective::Edp)
                .expect("maps")
        })
    });
    g.bench_function("every_candidate", |b| {
        let energy = EnergyObjective::new(l, &hw.context(false));
        let params = hw.layer_cycle_params(l, false);
        let edp = |ev: &ember_sim::Evaluation| {
            let c = simulate(l, &hw.arch, 4, &ev.mapping, &params, Replay::Memo, None);
            c.total_cycles as f64 * energy.energy(ev)
        };
        b.iter(|| ember_sim::rs::search_reference(l, &hw.arch, 4, &edp).expect("maps"))
    });
    g.finish();
}

criterion_group!(benches, cycle);
criterion_main!(benches);
