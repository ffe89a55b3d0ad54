//! Filters taller than the array or wider than the spads, split into segments across passes:
//! the invariants every other layer keeps (pruned search = exhaustive search, cycle mode =
//! analytic counts, replay = stepping, the edp time bounds) on random such layers and arrays.

mod common;

use ember_estimator::{EnergyObjective, Hardware};
use ember_sim::cycle::{
    latency_lower_bound, simulate, total_cycles_lower_bound, total_cycles_within, Replay,
};
use ember_sim::dataflow::MappingOf;
use ember_sim::rs::RsMapping;
use ember_sim::{Dataflow, Layer, LayerKind};
use proptest::prelude::*;

/// eyeriss-v1 with a smaller array and spads, so modest filters need splitting.
fn small_chip(rows: usize, spad: usize, glb_words: usize) -> Hardware {
    let mut hw = common::config("eyeriss-v1.toml");
    hw.arch.array.rows = rows;
    hw.arch.pe.ifmap_spad_words = spad;
    hw.arch.glb.words = glb_words;
    hw
}

prop_compose! {
    fn layer()(r in 1usize..9, s in 1usize..9, extra in 0usize..5, pad in 0usize..3,
               stride_pick in 0usize..3, groups in 1usize..3, cpg in 1usize..5,
               mpg in 1usize..9, fc in any::<bool>(), density in 0.3f64..1.0) -> Layer {
        let mut l = if fc {
            let mut l = Layer::conv("FC", cpg, r, s, mpg, r, s);
            l.kind = LayerKind::Fc;
            l
        } else {
            let stride = 1 + stride_pick % r.min(s);
            let h = (r.max(s) + extra).saturating_sub(2 * pad).max(1);
            let mut l = Layer::conv("CONV", cpg * groups, h, h + 2, mpg * groups, r, s);
            l.stride = stride;
            l.pad = pad;
            l.groups = groups;
            l
        };
        l.ifmap_density = density;
        l
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(120))]
    #[test]
    fn split_layers_keep_every_invariant(l in layer(), batch in 1usize..4, rows in 2usize..7,
                                         spad in 2usize..7, first in any::<bool>()) {
        prop_assume!(l.r <= l.hp() && l.s <= l.wp());
        let hw = small_chip(rows, spad, 1 << 15);
        let cx = hw.context(first);
        let obj = EnergyObjective::new(&l, &cx);
        let cost = |ev: &ember_sim::Evaluation| obj.energy(ev);
        // Pruned search = exhaustive search.
        let fast = ember_sim::rs::search(&l, &hw.arch, batch, &cost);
        let slow = ember_sim::rs::search_reference(&l, &hw.arch, batch, &cost);
        prop_assert_eq!(&fast, &slow);
        let ev = fast.expect("a big GLB always maps");
        prop_assert_eq!(RsMapping::of(&ev.mapping).unwrap().segment.is_some(), l.r > rows || l.s > spad);
        prop_assert_eq!(ev.macs, l.macs(batch));
        // Cycle mode counts every access the analytic model counts, and the same MAC cycles;
        // replaying pass shapes equals stepping every pass.
        let params = hw.layer_cycle_params(&l, first);
        let memo = simulate(&l, &hw.arch, batch, &ev.mapping, &params, Replay::Memo, None);
        let all = simulate(&l, &hw.arch, batch, &ev.mapping, &params, Replay::StepAll, None);
        prop_assert_eq!(memo.counts, ev.counts);
        prop_assert_eq!(memo.mac_cycles, ev.cycles);
        prop_assert_eq!(&memo, &all);
        // The edp search's time bounds hold.
        let bound = total_cycles_lower_bound(&l, &hw.arch, &ev, &params);
        prop_assert!(bound <= memo.total_cycles as f64, "{} > {}", bound, memo.total_cycles);
        let bound = latency_lower_bound(&l, &hw.arch, batch, &ev, &params);
        prop_assert!(bound <= memo.total_cycles as f64, "{} > {}", bound, memo.total_cycles);
        // A timing limited to its own total is never stopped, and ends at that total.
        let total = memo.total_cycles;
        let within = total_cycles_within(&l, &hw.arch, batch, &ev, &params, &|b| b > total);
        prop_assert_eq!(within, Some(total));
    }
}

/// The edp objective on split layers picks what timing every candidate picks.
#[test]
fn edp_search_equals_exhaustive_on_split_layers() {
    use ember_estimator::run::Objective;
    let hw = small_chip(4, 4, 1 << 15);
    let mut fc = Layer::conv("fc", 6, 7, 7, 10, 7, 7);
    fc.kind = LayerKind::Fc;
    let mut conv = Layer::conv("conv", 3, 12, 12, 8, 5, 6);
    conv.pad = 1;
    for l in [fc, conv] {
        let got = hw
            .run_layer_with(&l, 2, Dataflow::RowStationary, false, Objective::Edp)
            .unwrap();
        assert!(
            RsMapping::of(&got.eval.mapping).unwrap().segment.is_some(),
            "{}",
            l.name
        );
        let energy = EnergyObjective::new(&l, &hw.context(false));
        let params = hw.layer_cycle_params(&l, false);
        let edp = |ev: &ember_sim::Evaluation| {
            let c = simulate(&l, &hw.arch, 2, &ev.mapping, &params, Replay::Memo, None);
            c.total_cycles as f64 * energy.energy(ev)
        };
        let want = ember_sim::rs::search_reference(&l, &hw.arch, 2, &edp).unwrap();
        assert_eq!(got.eval, want, "{}", l.name);
    }
}
