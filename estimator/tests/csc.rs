//! The `csc` sparsity preset (Eyeriss v2's compressed sparse columns; issue 16 step 9): dense
//! data costs exactly what it costs with no sparsity rules, a hand-derived case, energy never
//! rises when a density falls, and the mapper's pruned search still equals the exhaustive one.

mod common;

use common::{config, trace};
use ember_estimator::sparsity::{Preset, SparsityRules};
use ember_estimator::{estimate, EnergyObjective, Hardware};
use ember_sim::rs::RsMapping;
use ember_sim::{evaluate_mapping, DataType, Dataflow, Layer, Mapping};
use proptest::prelude::*;

fn with_preset(p: Preset) -> Hardware {
    let mut hw = config("eyeriss-v1.toml");
    hw.sparsity = SparsityRules::preset(p);
    hw
}

/// Every AlexNet layer with all densities 1: under `csc` the PE takes every data type
/// uncompressed (a 12-bit pair per 8- or 16-bit value would not shrink it), so each cell is
/// exactly the `none` preset's, for the mapping `none` picks.
#[test]
fn dense_data_costs_what_no_rules_cost() {
    let (none, csc) = (with_preset(Preset::None), with_preset(Preset::Csc));
    let mut net = trace("alexnet.toml");
    for l in &mut net.layers {
        (l.weight_density, l.ifmap_density, l.ofmap_density) = (1.0, 1.0, 1.0);
    }
    for (i, l) in net.layers.iter().enumerate() {
        let r = none
            .run_layer(l, 4, Dataflow::RowStationary, i == 0)
            .unwrap();
        let a = estimate(l, &r.eval, &none.context(i == 0));
        let b = estimate(l, &r.eval, &csc.context(i == 0));
        assert_eq!(a.total, b.total, "{}", l.name);
        assert_eq!(a.cell, b.cell, "{}", l.name);
    }
}

/// By hand, 8-bit words, a 3x3 stride-1 layer mapped with q = 4 channels and p = 8 filters per
/// PE, ifmap and weight densities 0.5. Ifmap segments of q·U = 4 values with a 4-bit address:
/// 0.5 / (1 - 0.5^16) = 0.500008 pairs of 12 bits a value + 4/4 address bits = 7.0001 of 8 bits,
/// ratio 0.875013. Weight columns of p = 8 with a 7-bit address: 6.0001 + 7/8 = 6.8751 bits,
/// ratio 0.859389. So ifmaps and weights move at those ratios at every level (the spads are
/// filled compressed); the PE reads half the ifmaps and a quarter of the weights, computes a
/// quarter of the MACs and updates a quarter of the psums.
#[test]
fn a_hand_case() {
    let mut hw = with_preset(Preset::None);
    hw.arch.core.word_bits = 8;
    let mut csc = hw.clone();
    csc.sparsity = SparsityRules::preset(Preset::Csc);
    let mut l = Layer::conv("L", 8, 10, 10, 16, 3, 3);
    l.pad = 1;
    (l.weight_density, l.ifmap_density, l.ofmap_density) = (0.5, 0.5, 1.0);
    let mp = Mapping::from(RsMapping {
        n: 1,
        p: 8,
        q: 4,
        r: 1,
        t: 1,
        e: 10,
        m: 16,
        ifmap_resident: false,
        segment: None,
        u: 1,
    });
    let ev = evaluate_mapping(&l, &hw.arch, 1, &mp).expect("fits");
    let (a, b) = (
        estimate(&l, &ev, &hw.context(false)),
        estimate(&l, &ev, &csc.context(false)),
    );
    let (ri, rw) = (7.0001 / 8.0, 6.8751 / 8.0);
    let roles = hw.arch.roles();
    let (w, i, p) = (
        DataType::Weights as usize,
        DataType::Ifmaps as usize,
        DataType::Psums as usize,
    );
    let close = |x: f64, y: f64, what: &str| {
        assert!(
            (x - y).abs() <= 1e-4 * x.abs().max(1.0),
            "{what}: {x} vs {y}"
        )
    };
    for lv in [roles.dram, roles.glb, roles.array] {
        let lv = lv as usize;
        close(b.cell[lv][i], a.cell[lv][i] * ri, "ifmaps");
        close(b.cell[lv][w], a.cell[lv][w] * rw, "weights");
        close(b.cell[lv][p], a.cell[lv][p], "psums");
    }
    let rf = roles.rf as usize;
    let rf_ifmaps = ev.counts.rf().ifmaps;
    let rf_weights = ev.counts.rf().weights;
    close(
        b.accesses.actions(rf, DataType::Ifmaps).reads,
        rf_ifmaps.reads as f64 * 0.5,
        "rf ifmap reads",
    );
    close(
        b.accesses.actions(rf, DataType::Ifmaps).writes,
        rf_ifmaps.writes as f64 * ri,
        "rf ifmap writes",
    );
    close(
        b.accesses.actions(rf, DataType::Weights).reads,
        rf_weights.reads as f64 * 0.25,
        "rf weight reads",
    );
    close(b.cell[rf][p], a.cell[rf][p] * 0.25, "psum spad");
    close(b.mac, a.mac * 0.25, "MACs");
    let obj = EnergyObjective::new(&l, &csc.context(false)).energy(&ev);
    close(obj, b.total, "objective");
}

fn alexnet_layer(i: usize) -> Layer {
    trace("alexnet.toml").layers[i].clone()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// Energy never rises when a density falls, for a fixed mapping (each of the three
    /// densities lowered alone), and the mapper's objective equals the estimate.
    #[test]
    fn energy_is_monotone_in_density(i in 0usize..8, d in prop::array::uniform3(0.0f64..=1.0),
                                     which in 0usize..3, cut in 0.0f64..1.0) {
        let hw = with_preset(Preset::Csc);
        let mut l = alexnet_layer(i);
        (l.weight_density, l.ifmap_density, l.ofmap_density) = (d[0], d[1], d[2]);
        let r = hw.run_layer(&l, 2, Dataflow::RowStationary, i == 0).unwrap();
        let cx = hw.context(i == 0);
        let high = estimate(&l, &r.eval, &cx).total;
        let mut lower = l.clone();
        let v = [&mut lower.weight_density, &mut lower.ifmap_density, &mut lower.ofmap_density];
        *v[which] *= cut;
        let low = estimate(&lower, &r.eval, &cx).total;
        prop_assert!(low <= high * (1.0 + 1e-12), "{} -> {}", high, low);
        let obj = EnergyObjective::new(&l, &cx).energy(&r.eval);
        prop_assert!((obj - high).abs() <= 1e-9 * high);
    }
}

/// The pruned row-stationary search (lower-bound probes priced at the cheapest segments)
/// picks a mapping exactly as cheap as the exhaustive reference search, under `csc`, for every
/// AlexNet layer at its published densities.
#[test]
fn pruned_search_equals_exhaustive_under_csc() {
    let hw = with_preset(Preset::Csc);
    let net = trace("alexnet.toml");
    for (i, l) in net.layers.iter().enumerate() {
        let cx = hw.context(i == 0);
        let obj = EnergyObjective::new(l, &cx);
        let cost = |ev: &ember_sim::Evaluation| obj.energy(ev);
        let fast = ember_sim::rs::search(l, &hw.arch, 4, &cost).expect("maps");
        let slow = ember_sim::rs::search_reference(l, &hw.arch, 4, &cost).expect("maps");
        assert_eq!(cost(&fast), cost(&slow), "{}", l.name);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    /// The same on random small layers at random densities, 8-bit words (where compression is
    /// often a close call between segment lengths) and small spads.
    #[test]
    fn pruned_search_equals_exhaustive_on_random_layers(
        c in 1usize..12, m in 1usize..20, h in 3usize..12, r in 1usize..4,
        d in prop::array::uniform3(0.05f64..=1.0), batch in 1usize..3) {
        let mut hw = with_preset(Preset::Csc);
        hw.arch.core.word_bits = 8;
        let mut l = Layer::conv("L", c, h, h, m, r, r);
        (l.weight_density, l.ifmap_density, l.ofmap_density) = (d[0], d[1], d[2]);
        let cx = hw.context(false);
        let obj = EnergyObjective::new(&l, &cx);
        let cost = |ev: &ember_sim::Evaluation| obj.energy(ev);
        let fast = ember_sim::rs::search(&l, &hw.arch, batch, &cost);
        let slow = ember_sim::rs::search_reference(&l, &hw.arch, batch, &cost);
        prop_assert_eq!(fast.as_ref().map(&cost), slow.as_ref().map(&cost));
    }
}
