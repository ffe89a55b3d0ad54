//! Sweep throughput: layer evaluations (mapping search + energy estimate) per second on one
//! core, over a small grid like `sweeps/alexnet-1000.toml`: AlexNet at batch 4 on 2 array
//! shapes x 2 GLB sizes x the 4 dataflows (16 points x 8 layers = 128 layer evaluations per
//! iteration). Target (issue 5): >= 10,000 layer evaluations per second per core.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ember_estimator::Hardware;
use ember_sim::{Dataflow, Network};

fn grid() -> (Network, Vec<(Hardware, Dataflow)>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let net = Network::load(&root.join("traces/alexnet.toml")).expect("trace");
    let base = Hardware::load(&root.join("hw_configs/eyeriss-isca16-256.toml")).expect("config");
    let mut points = Vec::new();
    for (rows, cols) in [(12, 14), (16, 16)] {
        for glb in [32768, 65536] {
            for df in Dataflow::ALL {
                let mut hw = base.clone();
                hw.arch.array.rows = rows;
                hw.arch.array.cols = cols;
                hw.arch.glb.words = glb;
                points.push((hw, df));
            }
        }
    }
    (net, points)
}

fn sweep(c: &mut Criterion) {
    let (net, points) = grid();
    let evals = (points.len() * net.layers.len()) as u64;
    let mut g = c.benchmark_group("sweep");
    g.throughput(Throughput::Elements(evals));
    g.bench_function("alexnet_b4_16_points_layer_evals", |b| {
        b.iter(|| {
            let mut n = 0;
            for (hw, df) in &points {
                for (i, layer) in net.layers.iter().enumerate() {
                    if hw.run_layer(layer, 4, *df, i == 0).is_ok() {
                        n += 1;
                    }
                }
            }
            n
        })
    });
    g.finish();
}

criterion_group!(benches, sweep);
criterion_main!(benches);
