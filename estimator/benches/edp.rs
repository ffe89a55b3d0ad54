//! The timing-aware (edp) mapping search on whole networks, one thread: the streaming search
//! (`search_lower_bounded` as `--objective edp` runs it: subtrees skipped by their floor, the
//! buffer-aware bound `latency_lower_bound`, timings that stop once they lose) against the
//! collecting search of the first edp objective (`search_lower_bounded_reference` with the
//! counts-only bound `total_cycles_lower_bound`, every timing run to the end), both in this run.
//! Targets (fidelity II issue, item 2): whole AlexNet batch 4 < 50 ms, VGG-16 batch 64 < 1 s.
//! The old search on VGG-16 batch 64 takes minutes, so it is timed once (printed as
//! `old ... single iteration`) instead of sampled by criterion. `benches/edp_cli.rs` (the
//! `ember` package) times whole commands against another build, such as main's.

use std::path::Path;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use ember_estimator::{EnergyObjective, Hardware, Objective};
use ember_sim::cycle::{simulate, total_cycles_lower_bound, Replay};
use ember_sim::{map_layer, Dataflow, Evaluation, Network};

/// The old `--objective edp` pipeline's mappings: per layer the minimum-energy search, then
/// every candidate collected, sorted by the counts-only bound and timed until none can win.
fn old_edp(hw: &Hardware, net: &Network, batch: usize) -> Vec<Evaluation> {
    let df = Dataflow::RowStationary;
    let mut out = Vec::new();
    for (i, l) in net.layers.iter().enumerate() {
        let cx = hw.context(i == 0);
        let energy = EnergyObjective::new(l, &cx);
        let cost = |ev: &Evaluation| energy.energy(ev);
        let mut eval = map_layer(l, &hw.arch, batch, df, &cost).expect("maps");
        let params = hw.layer_cycle_params(l, i == 0);
        let edp = |ev: &Evaluation| {
            let c = simulate(l, &hw.arch, batch, &ev.mapping, &params, Replay::Memo, None);
            c.total_cycles as f64 * energy.energy(ev)
        };
        let lower = |ev: &Evaluation| {
            total_cycles_lower_bound(l, &hw.arch, ev, &params).floor() * energy.energy(ev)
        };
        if let Some(ev) = ember_sim::dataflow::search_lower_bounded_reference(
            df, l, &hw.arch, batch, &lower, &edp,
        ) {
            eval = ev;
        }
        out.push(eval);
    }
    out
}

/// The new pipeline's mappings (`Hardware::run_with`, as `ember sim --objective edp` runs).
fn new_edp(hw: &Hardware, net: &Network, batch: usize) -> Vec<Evaluation> {
    let res = hw
        .run_with(net, batch, Dataflow::RowStationary, Objective::Edp)
        .expect("maps");
    res.layers.into_iter().map(|r| r.eval).collect()
}

fn edp(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let hw = Hardware::load(&root.join("hw_configs/eyeriss-v1.toml")).expect("config");
    for (name, batch, sample_old) in [("alexnet", 4, true), ("vgg16", 64, false)] {
        let net = Network::load(&root.join(format!("traces/{name}.toml"))).expect("trace");
        let mut g = c.benchmark_group(format!("edp_{name}_batch{batch}"));
        g.sample_size(10);
        g.bench_function("new", |b| b.iter(|| new_edp(&hw, &net, batch)));
        if sample_old {
            g.bench_function("old", |b| b.iter(|| old_edp(&hw, &net, batch)));
        } else {
            let t = Instant::now();
            let old = old_edp(&hw, &net, batch);
            let secs = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let new = new_edp(&hw, &net, batch);
            let new_secs = t.elapsed().as_secs_f64();
            assert_eq!(old, new, "{name}: the two searches disagree");
            println!(
                "edp_{name}_batch{batch}/old single iteration: {secs:.2} s \
                 (new, one iteration: {new_secs:.3} s; ratio {:.0}x)",
                secs / new_secs
            );
        }
        g.finish();
    }
}

criterion_group!(benches, edp);
criterion_main!(benches);
