//! `[glb] holds` (a data type the global buffer does not hold streams between DRAM and the
//! array) and `[glb] ofmaps_to_dram` (final ofmaps skip the GLB): Eyeriss v2, JETCAS 2019 p. 296.
//! A one-pass hand case, walk == closed form on random layers and mappings with the keys on, the
//! same mapping's counts against the GLB holding everything (the rule of
//! `counts::AccessCounts::place`), and the pruned search against the exhaustive one.

mod common;

use ember_sim::arch::GlbHolds;
use ember_sim::dataflows::walk;
use ember_sim::rs::RsMapping;
use ember_sim::{evaluate_mapping, DataType, Evaluation, HwConfig, Layer, Mapping, ReadWrite};
use proptest::prelude::*;

fn holds(types: &[DataType]) -> Option<GlbHolds> {
    Some(GlbHolds::from(types.to_vec()))
}

fn rw(reads: u64, writes: u64) -> ReadWrite {
    ReadWrite { reads, writes }
}

/// A toy: 1 channel, a 3 x 3 ifmap, one 2 x 2 filter (E = F = 2), batch 1, on a 4 x 4 array
/// with a GLB of 13 words: 9 ifmap words (the whole 3 x 3 strip) + 4 psums, no room for the 4
/// filter words beside them.
#[test]
fn one_pass_with_weights_bypassing_by_hand() {
    let l = Layer::conv("toy", 1, 3, 3, 1, 2, 2);
    let mut hw = common::hw(4, 4, 13, 0);
    let mp = Mapping::from(RsMapping {
        n: 1,
        p: 1,
        q: 1,
        r: 1,
        t: 1,
        e: 2,
        m: 1,
        ifmap_resident: true,
        segment: None,
        u: 1,
    });
    // Holding all three, 4 filter + 9 ifmap + 4 psum words exceed the 13-word GLB.
    let err = evaluate_mapping(&l, &hw, 1, &mp).unwrap_err();
    let err = err.to_string();
    assert!(
        err.contains("GLB 13 < 4 filter + 9 ifmap + 4 psum words"),
        "{err}"
    );
    hw.glb.holds = holds(&[DataType::Ifmaps, DataType::Psums]);
    let ev = evaluate_mapping(&l, &hw, 1, &mp).expect("weights bypass: 9 + 4 words fit");
    let c = ev.counts;
    // MACs = E·F·R·S = 2·2·2·2 = 16, one pass.
    assert_eq!(ev.macs, 16);
    // Weights: the pass needs its 4 filter words once; with the GLB holding them that is 4 DRAM
    // reads, 4 GLB writes and 4 GLB reads. Bypassing, the 4 words the array takes come straight
    // from DRAM: 4 DRAM reads, no GLB access. Each weight reaches the e = 2 PEs of its filter
    // row: 8 network reads = 8 spad writes; each MAC reads one weight: 16 spad reads.
    assert_eq!(c.dram().weights, rw(4, 0));
    assert_eq!(c.glb().weights, rw(0, 0));
    assert_eq!(c.array().weights, rw(8, 0));
    assert_eq!(c.rf().weights, rw(16, 8));
    // Ifmaps, held: the strip is the 3 rows x 3 columns the two ofmap rows read = 9 DRAM reads
    // = 9 GLB writes; the pass reads them once (9 GLB reads) and each of the 2 PEs of a filter
    // row x 2 filter rows gets its 3-word row: 2·2·3 = 12 network reads = spad writes.
    assert_eq!(c.dram().ifmaps, rw(9, 0));
    assert_eq!(c.glb().ifmaps, rw(9, 9));
    assert_eq!(c.array().ifmaps, rw(12, 0));
    assert_eq!(c.rf().ifmaps, rw(16, 12));
    // Psums: 4 ofmap words, one channel chunk and segment (trips = 1): written once into the GLB
    // and drained once (4 reads) to DRAM (4 writes); the 2-row column passes 4·(2 - 1) = 4 psums
    // PE to PE; each MAC reads and writes its psum in the spad.
    assert_eq!(c.glb().psums, rw(4, 4));
    assert_eq!(c.dram().psums, rw(0, 4));
    assert_eq!(c.array().psums, rw(4, 4));
    assert_eq!(c.rf().psums, rw(16, 16));
    // Final ofmaps straight to DRAM: the one trip's write and the drain's read leave the GLB
    // (4·(trips - 1) = 0 each); DRAM still takes the 4 ofmap words, the network still moves them.
    hw.glb.ofmaps_to_dram = true;
    let c2 = evaluate_mapping(&l, &hw, 1, &mp).unwrap().counts;
    assert_eq!(c2.glb().psums, rw(0, 0));
    assert_eq!(c2.dram().psums, rw(0, 4));
    assert_eq!(c2.array().psums, rw(4, 4));
    assert_eq!(walk(&l, &hw, 1, &mp).0, c2);
}

prop_compose! {
    fn layer()(r in 1usize..5, extra in 0usize..10, pad in 0usize..2, stride_pick in 0usize..3,
               groups in 1usize..3, cpg in 1usize..7, mpg in 1usize..9) -> Layer {
        let stride = 1 + stride_pick % r;
        let h = (r + extra).saturating_sub(2 * pad).max(1).max(r.saturating_sub(2 * pad));
        let mut l = Layer::conv("L", cpg * groups, h, h, mpg * groups, r, r);
        l.stride = stride;
        l.pad = pad;
        l.groups = groups;
        l
    }
}

/// What the GLB holds: every combination with psums (the only lists `arch::check` accepts).
fn held(pick: u8) -> Option<GlbHolds> {
    let w = [DataType::Weights];
    let i = [DataType::Ifmaps];
    match pick % 4 {
        0 => None,
        1 => holds(&[i[0], DataType::Psums]),
        2 => holds(&[w[0], DataType::Psums]),
        _ => holds(&[DataType::Psums]),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    /// The walk equals the closed form with the keys on, and both equal the GLB-holds-all counts
    /// moved by the rule: a bypassed type's DRAM reads = its GLB reads there, its GLB accesses 0;
    /// with ofmaps to DRAM, GLB psum reads and writes less the ofmap words (N·M·E·F).
    #[test]
    fn walk_equals_analytic_with_bypass(l in layer(), batch in 1usize..4, n in 1usize..4,
                                        p in 1usize..5, q in 1usize..4, r in 1usize..3,
                                        t in 1usize..3, e in 1usize..12, mk in 1usize..3,
                                        resident in any::<bool>(), pick in 0u8..4,
                                        to_dram in any::<bool>()) {
        prop_assume!(l.r <= l.hp() && l.stride <= l.r);
        let all = common::hw(16, 16, 1 << 20, 0);
        let mut hw = all.clone();
        hw.glb.holds = held(pick);
        hw.glb.ofmaps_to_dram = to_dram;
        let mp = Mapping::from(RsMapping {
            n: n.min(batch), p: p.min(l.mg()), q: q.min(l.cg()), r, t, e: e.min(l.e()),
            m: p.min(l.mg()) * t * mk, ifmap_resident: resident, segment: None, u: 1,
        });
        let Ok(base) = evaluate_mapping(&l, &all, batch, &mp) else { return Ok(()) };
        let ev = evaluate_mapping(&l, &hw, batch, &mp).expect("needs no more GLB than all");
        let (counts, cycles) = walk(&l, &hw, batch, &mp);
        prop_assert_eq!(ev.counts, counts);
        prop_assert_eq!(ev.cycles, cycles);
        prop_assert_eq!(ev.cycles, base.cycles);
        let (b, c) = (base.counts, ev.counts);
        for d in [DataType::Weights, DataType::Ifmaps] {
            let kept = hw.roles().glb_holds(d);
            prop_assert_eq!(c.glb().get(d), if kept { b.glb().get(d) } else { rw(0, 0) });
            let dram = if kept { b.dram().get(d).reads } else { b.glb().get(d).reads };
            prop_assert_eq!(c.dram().get(d), rw(dram, 0));
        }
        let ofmap = (batch * l.m * l.e() * l.f()) as u64;
        let out = if to_dram { ofmap } else { 0 };
        prop_assert_eq!(c.glb().psums, rw(b.glb().psums.reads - out, b.glb().psums.writes - out));
        prop_assert_eq!(c.dram().psums, b.dram().psums);
        prop_assert_eq!(c.array(), b.array());
        prop_assert_eq!(c.rf(), b.rf());
    }
}

/// A monotone cost that weighs DRAM most, so moving a type off the GLB changes the choice.
fn cost(ev: &Evaluation) -> f64 {
    let c = &ev.counts;
    200.0 * c.dram().total() as f64
        + 6.0 * c.glb().total() as f64
        + 2.0 * c.array().total() as f64
        + c.rf().total() as f64
        + 1e-3 * ev.cycles as f64
}

fn configs() -> Vec<HwConfig> {
    let mut out = Vec::new();
    for pick in 0..4 {
        for to_dram in [false, true] {
            // A small GLB, so what it holds bounds the tilings.
            let mut hw = common::hw(8, 8, 3000, 0);
            hw.glb.holds = held(pick);
            hw.glb.ofmaps_to_dram = to_dram;
            out.push(hw);
        }
    }
    out
}

#[test]
fn pruned_search_equals_exhaustive_with_bypass() {
    let layers = [
        Layer::conv("a", 6, 13, 13, 8, 3, 3),
        Layer::conv("b", 3, 19, 19, 4, 5, 5),
        Layer::conv("c", 16, 6, 6, 16, 1, 1),
    ];
    for hw in configs() {
        for l in &layers {
            for batch in [1, 3] {
                let got = ember_sim::rs::search(l, &hw, batch, &cost);
                let want = ember_sim::rs::search_reference(l, &hw, batch, &cost);
                let key =
                    |e: &Option<Evaluation>| e.as_ref().map(|e| (cost(e), e.mapping, e.counts));
                assert_eq!(key(&got), key(&want), "{} on {:?}", l.name, hw.glb);
            }
        }
    }
}
