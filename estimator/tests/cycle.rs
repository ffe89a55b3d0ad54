//! Cycle mode against the analytic model, the MAC and DRAM bounds, and replay against stepping
//! every pass.

mod common;

use common::{config, configs, trace, traces};
use ember_sim::cycle::{simulate, CycleParams, Replay};
use ember_sim::Dataflow;

/// For every trace x config: every access counted in cycle mode equals the analytic count;
/// cycles are never below the MAC bound (effective MACs / active PEs) nor the DRAM bound
/// (compressed words / link words per cycle); MAC cycles are the analytic cycles.
#[test]
fn cycle_mode_matches_analytic_and_bounds() {
    for net in traces() {
        for hw in configs() {
            let res = hw
                .run(&net, 2, Dataflow::RowStationary)
                .unwrap_or_else(|e| panic!("{e}"));
            let stats = hw.simulate_cycles(&res, None);
            for (r, c) in res.layers.iter().zip(&stats) {
                let tag = format!("{} / {} / {}", net.name, hw.arch.name, r.layer.name);
                assert_eq!(c.counts, r.eval.counts, "{tag}");
                assert_eq!(c.mac_cycles, r.eval.cycles, "{tag}");
                let mac_bound = (r.energy.effective_macs / r.eval.active_pes as f64).floor() as u64;
                assert!(
                    c.total_cycles >= mac_bound,
                    "{tag}: {} < MAC bound {mac_bound}",
                    c.total_cycles
                );
                assert!(c.processing_cycles >= c.mac_cycles, "{tag}");
                let dram_bound = (c.dram_words / hw.arch.dram_words_per_cycle()).floor() as u64;
                assert!(
                    c.total_cycles >= dram_bound,
                    "{tag}: {} < DRAM bound {dram_bound}",
                    c.total_cycles
                );
                assert!(c.total_cycles >= c.processing_cycles, "{tag}");
            }
        }
    }
}

/// Replaying one stepped pass per shape gives exactly what stepping every cycle of every pass
/// gives, on small layers (every layer of AlexNet at batch 1 but the big FC ones, and the
/// first VGG-16 block at batch 1).
#[test]
fn replay_equals_stepping_every_pass() {
    for (name, take) in [
        ("alexnet.toml", 5),
        ("vgg16.toml", 2),
        ("mobilenet_v1.toml", 4),
    ] {
        let net = trace(name);
        let hw = config("eyeriss-v1.toml");
        for (i, l) in net.layers.iter().take(take).enumerate() {
            let r = hw.run_layer(l, 1, Dataflow::RowStationary, i == 0).unwrap();
            let p = CycleParams::default();
            let memo = simulate(l, &hw.arch, 1, &r.eval.mapping, &p, Replay::Memo, None);
            let all = simulate(l, &hw.arch, 1, &r.eval.mapping, &p, Replay::StepAll, None);
            assert_eq!(memo, all, "{name} {}", l.name);
        }
    }
}

/// A pass worked out by hand: AlexNet CONV3-like layer, one pass, filter bus 64 bits.
#[test]
fn one_pass_by_hand() {
    use ember_sim::{Layer, Mapping};
    // 1 image, 4 channels of 5x5 (pad 1), 2 filters 3x3: E = F = 5. Mapping: everything in one
    // pass (p = 2, q = 4, r = t = 1, e = 5).
    let mut l = Layer::conv("L", 4, 5, 5, 2, 3, 3);
    l.pad = 1;
    let hw = config("eyeriss-v1.toml");
    let mp = Mapping {
        dataflow: Dataflow::RowStationary,
        n: 1,
        p: 2,
        q: 4,
        r: 1,
        t: 1,
        e: 5,
        m: 2,
        ifmap_resident: true,
    };
    let c = simulate(
        &l,
        &hw.arch,
        1,
        &mp,
        &CycleParams::default(),
        Replay::StepAll,
        None,
    );
    // Filter load: 2·4·3·3 = 72 words over 4 words/cycle = 18 cycles.
    assert_eq!(c.stalls.filter_load, 18);
    // MACs per column on each PE: p·q·S = 24; 5 columns: 120 MAC cycles.
    assert_eq!(c.mac_cycles, 120);
    // Ifmap bus, 1 word/cycle: a column of the strip is 4 channels x 5 rows = 20 words. Column
    // 0 needs real columns 0..1 (its window is padded column 0..2): 40 words -> stall 40 cycles
    // before the first MAC. Column x then needs columns up to x + 1: 20 more words, arriving
    // while the 24-cycle column computes, so no further ifmap stalls.
    assert_eq!(c.stalls.ifmap_bus, 40);
    // Psums out: 2 filters x 5 rows = 10 words per column at 4 words/cycle: 3 cycles, hidden
    // behind the next column except the last one's (3 cycles of draining).
    // Pipeline: 3 stages, 2 extra cycles to drain.
    assert_eq!(c.stalls.pipeline, 2);
    assert_eq!(c.processing_cycles, 18 + 40 + 120 + 3 + 2);
}
