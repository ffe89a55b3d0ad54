//! Properties over every trace x every hardware config in the repository.

mod common;

use common::{configs, traces};
use ember_estimator::{estimate, Hardware, Preset, SparsityRules};
use ember_sim::dataflows::walk;
use ember_sim::{Dataflow, Network};
use proptest::prelude::*;

fn each(mut f: impl FnMut(&Network, &Hardware)) {
    let nets = traces();
    let hws = configs();
    assert!(nets.len() >= 6 && hws.len() >= 3);
    for net in &nets {
        for hw in &hws {
            f(net, hw);
        }
    }
}

/// Each weight, each needed ifmap value and each ofmap value crosses DRAM at least once; the
/// ofmaps exactly once. Dense counts (before run-length coding).
#[test]
fn every_value_crosses_dram() {
    each(|net, hw| {
        let res = hw
            .run(net, 2, Dataflow::RowStationary)
            .unwrap_or_else(|e| panic!("{e}"));
        for r in &res.layers {
            let (l, c) = (&r.layer, &r.eval.counts);
            let tag = format!("{} / {} / {}", net.name, hw.arch.name, l.name);
            assert!(c.dram().weights.reads >= l.weights(), "{tag}: weights");
            assert_eq!(c.dram().psums.writes, l.ofmap_words(2), "{tag}: ofmaps");
            // Rows the windows touch (all of them unless the stride leaves a tail unread).
            let touched = ((l.e() - 1) * l.stride + l.r).min(l.pad + l.h)
                - l.pad.min((l.e() - 1) * l.stride + l.r);
            let needed = (2 * l.c * touched.min(l.h) * l.w) as u64;
            assert!(
                c.dram().ifmaps.reads >= needed,
                "{tag}: ifmaps {} < {needed}",
                c.dram().ifmaps.reads
            );
        }
    });
}

/// The chosen mapping never exceeds a spad, the GLB or the filter buffer, and the analytic
/// counts equal the pass-by-pass walk of the same mapping.
#[test]
fn mappings_fit_and_counts_cross_check() {
    each(|net, hw| {
        let res = hw
            .run(net, 2, Dataflow::RowStationary)
            .unwrap_or_else(|e| panic!("{e}"));
        for r in &res.layers {
            let tag = format!("{} / {} / {}", net.name, hw.arch.name, r.layer.name);
            r.eval
                .mapping
                .model()
                .check(&r.layer, &hw.arch, 2, &r.eval.mapping)
                .unwrap_or_else(|e| panic!("{tag}: {e}"));
            let (counts, cycles) = walk(&r.layer, &hw.arch, 2, &r.eval.mapping);
            assert_eq!(counts, r.eval.counts, "{tag}");
            assert_eq!(cycles, r.eval.cycles, "{tag}");
            assert_eq!(r.eval.macs, r.layer.macs(2), "{tag}");
        }
    });
}

/// With every density 1, the chip and eap rules give exactly the dense (`none`) result.
#[test]
fn dense_presets_agree() {
    each(|net, hw| {
        let mut dense = net.clone();
        for l in &mut dense.layers {
            l.weight_density = 1.0;
            l.ifmap_density = 1.0;
            l.ofmap_density = 1.0;
        }
        let mut totals = vec![];
        for p in [Preset::None, Preset::Chip, Preset::Eap] {
            let mut h = hw.clone();
            h.sparsity = SparsityRules::preset(p);
            let res = h
                .run(&dense, 1, Dataflow::RowStationary)
                .unwrap_or_else(|e| panic!("{e}"));
            totals.push(res.total.total);
        }
        assert_eq!(totals[0], totals[1], "{} / {}", net.name, hw.arch.name);
        assert_eq!(totals[0], totals[2], "{} / {}", net.name, hw.arch.name);
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Lowering any density of any layer never raises the energy, under every preset, both for
    /// a fixed mapping and for the re-optimised one.
    #[test]
    fn energy_monotone_in_density(pick in 0usize..1000, which in 0usize..3, from in 0.05f64..1.0,
                                  drop in 0.0f64..1.0, preset in 0usize..3) {
        let nets = traces();
        let hws = configs();
        let net = &nets[pick % nets.len()];
        let mut hw = hws[(pick / nets.len()) % hws.len()].clone();
        hw.sparsity = SparsityRules::preset([Preset::None, Preset::Chip, Preset::Eap][preset]);
        let li = (pick / 7) % net.layers.len();
        let mut hi = net.layers[li].clone();
        let d = match which { 0 => &mut hi.weight_density, 1 => &mut hi.ifmap_density, _ => &mut hi.ofmap_density };
        *d = from;
        let mut lo = hi.clone();
        let d = match which { 0 => &mut lo.weight_density, 1 => &mut lo.ifmap_density, _ => &mut lo.ofmap_density };
        *d = from * drop;
        prop_assume!(*d > 0.0);
        let first = li == 0;
        let r_hi = hw.run_layer(&hi, 2, Dataflow::RowStationary, first).unwrap();
        let r_lo = hw.run_layer(&lo, 2, Dataflow::RowStationary, first).unwrap();
        prop_assert!(r_lo.energy.total <= r_hi.energy.total);
        // Same mapping, lower density.
        let same = estimate(&lo, &r_hi.eval, &hw.context(first));
        prop_assert!(same.total <= r_hi.energy.total);
    }
}

/// The mapper's linear objective equals the estimator's full energy for every chosen mapping.
#[test]
fn objective_equals_estimate() {
    each(|net, hw| {
        let res = hw
            .run(net, 2, Dataflow::RowStationary)
            .unwrap_or_else(|e| panic!("{e}"));
        for (i, r) in res.layers.iter().enumerate() {
            let cx = hw.context(i == 0);
            let lin = ember_estimator::EnergyObjective::new(&r.layer, &cx).energy(&r.eval);
            assert!(
                (lin - r.energy.total).abs() <= 1e-9 * r.energy.total,
                "{} {}",
                r.layer.name,
                hw.arch.name
            );
        }
    });
}

/// The pruned search returns exactly what evaluating every candidate returns, for the energy
/// objective (monotone in every count), on every layer of every trace x config, at two batches.
/// On a hierarchical mesh every fifth layer: the exhaustive reference builds every candidate's
/// multicast trees, minutes over whole networks; `hm_noc`'s tests search the mesh in depth.
#[test]
fn search_equals_exhaustive_reference() {
    each(|net, hw| {
        let step = if hw.arch.mesh().is_some() { 5 } else { 1 };
        for batch in [1, 3] {
            for (i, l) in net.layers.iter().enumerate().step_by(step) {
                let cx = hw.context(i == 0);
                let obj = ember_estimator::EnergyObjective::new(l, &cx);
                let cost = |ev: &ember_sim::Evaluation| obj.energy(ev);
                let fast = ember_sim::rs::search(l, &hw.arch, batch, &cost);
                let slow = ember_sim::rs::search_reference(l, &hw.arch, batch, &cost);
                assert_eq!(
                    fast, slow,
                    "{} / {} / {} / batch {batch}",
                    net.name, hw.arch.name, l.name
                );
            }
        }
    });
}
