//! Huge workloads: counts are exact or the layer is refused by name, never wrapped (issue 11,
//! item 3).

mod common;

use ember_sim::{map_layer, Dataflow, Evaluation, Layer};
use proptest::prelude::*;

/// The layer's dense MACs in wide arithmetic.
fn macs_wide(l: &Layer, batch: usize) -> u128 {
    [batch, l.m, l.e(), l.f(), l.cg(), l.r, l.s]
        .iter()
        .map(|&v| v as u128)
        .product()
}

/// A valid layer with sizes up to about 2^32 in any dimension.
fn huge_layer() -> impl Strategy<Value = Layer> {
    (
        0u32..33,
        0u32..33,
        0u32..14,
        1usize..4,
        0usize..3,
        1usize..4,
    )
        .prop_map(|(c_exp, m_exp, hw_exp, r, pad, stride)| {
            let (c, m) = (1usize << c_exp, 1usize << m_exp);
            let h = (1usize << hw_exp).max(r);
            let mut l = Layer::conv("HUGE", c, h, h, m, r, r);
            l.pad = pad;
            l.stride = stride.min(r);
            l
        })
}

fn energy_like(ev: &Evaluation) -> f64 {
    let c = &ev.counts;
    ev.macs as f64
        + 200.0
            * (c.dram().weights.total() + c.dram().ifmaps.total() + c.dram().psums.total()) as f64
        + 6.0 * (c.glb().weights.total() + c.glb().ifmaps.total() + c.glb().psums.total()) as f64
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    /// Every dataflow either maps the layer with its exact MAC count, or refuses it with an
    /// error naming it.
    #[test]
    fn huge_layers_are_exact_or_refused(l in huge_layer(), batch_exp in 0u32..33,
                                        df in 0usize..4) {
        let batch = 1usize << batch_exp;
        let hw = common::hw(12, 14, 1 << 20, 0);
        let dataflow = [Dataflow::RowStationary, Dataflow::WeightStationary,
            Dataflow::OutputStationary, Dataflow::NoLocalReuse][df];
        match map_layer(&l, &hw, batch, dataflow, &energy_like) {
            Ok(ev) => {
                prop_assert_eq!(ev.macs as u128, macs_wide(&l, batch));
                // No PE does more than one MAC a cycle.
                prop_assert!(ev.cycles as u128 * ev.active_pes as u128 >= ev.macs as u128);
                // Every MAC reads a weight: from the RF, or from the GLB without one (NLR).
                let c = &ev.counts;
                prop_assert_eq!(c.rf().weights.reads + c.glb().weights.reads.min(ev.macs) * u64::from(df == 3), ev.macs);
            }
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(msg.contains("HUGE"), "{}", msg);
            }
        }
    }
}

/// A small valid layer with any filter shape, for checking the bound on real counts.
fn small_layer() -> impl Strategy<Value = Layer> {
    (
        1usize..9,
        1usize..9,
        0usize..8,
        0usize..3,
        1usize..4,
        1usize..3,
        1usize..7,
        1usize..9,
    )
        .prop_map(|(r, s, extra, pad, stride, groups, cpg, mpg)| {
            let h = (r.max(s) + extra).saturating_sub(2 * pad).max(1);
            let mut l = Layer::conv("L", cpg * groups, h, h + 1, mpg * groups, r, s);
            l.pad = pad;
            l.stride = stride.min(r).min(s);
            l.groups = groups;
            l
        })
        .prop_filter("filter fits the padded input", |l| {
            l.r <= l.hp() && l.s <= l.wp()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]
    /// `Layer::count_bound` bounds every count and the cycles of every candidate mapping each
    /// dataflow's search evaluates (row-stationary: the exhaustive reference search).
    #[test]
    fn count_bound_bounds_every_candidate(l in small_layer(), batch in 1usize..4,
                                          rows in 2usize..14, spad in 1usize..13) {
        let mut hw = common::hw(rows, 14, 1 << 14, 0);
        hw.pe.ifmap_spad_words = spad;
        let bound = l.count_bound(batch).expect("a valid layer");
        let worst = std::cell::Cell::new(0u64);
        let watch = |ev: &Evaluation| {
            let c = &ev.counts;
            let all = c
                .levels()
                .iter()
                .flat_map(|p| [p.weights, p.ifmaps, p.psums])
                .flat_map(|rw| [rw.reads, rw.writes])
                .chain([ev.cycles, ev.macs])
                .max()
                .unwrap();
            worst.set(worst.get().max(all));
            0.0
        };
        ember_sim::rs::search_reference(&l, &hw, batch, &watch);
        for df in [Dataflow::WeightStationary, Dataflow::OutputStationary, Dataflow::NoLocalReuse] {
            let _ = map_layer(&l, &hw, batch, df, &watch);
        }
        prop_assert!(worst.get() as u128 <= bound, "{} > {}", worst.get(), bound);
    }
}
