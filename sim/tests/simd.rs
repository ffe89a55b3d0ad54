//! `[pe] simd` (Eyeriss v2's SIMD-2, JETCAS 2019 p. 302: two weights fetched "for computing two
//! MAC operations per cycle with the same iact"): a row-stationary PE does up to `simd` of its
//! filters' MACs per ifmap read and per cycle. Checked by hand, closed form against the walk
//! and cycle mode, the search against the exhaustive one, and zero skipping against the
//! non-zero MACs counted straight from random masks.

mod common;

use ember_sim::arch::PeSync;
use ember_sim::cycle::{simulate, simulate_masked, CycleParams, Replay};
use ember_sim::dataflows::walk;
use ember_sim::masks::{Gating, Masks};
use ember_sim::rs::RsMapping;
use ember_sim::{evaluate_mapping, Dataflow, Evaluation, HwConfig, Layer, Mapping};
use proptest::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Cases that fit and were compared, per property (so neither is vacuous).
static WALKED: AtomicUsize = AtomicUsize::new(0);
static SKIPPED: AtomicUsize = AtomicUsize::new(0);

fn with_simd(simd: usize) -> HwConfig {
    let mut hw = common::hw(16, 16, 1 << 20, 0);
    hw.pe.simd = simd;
    hw
}

fn rs(p: usize, q: usize, r: usize, t: usize, e: usize, m: usize) -> Mapping {
    Mapping::from(RsMapping {
        n: 1,
        p,
        q,
        r,
        t,
        e,
        m,
        ifmap_resident: true,
        segment: None,
        u: 1,
    })
}

/// 2 channels of 5x5, 3 filters of 3x3, no padding: E = F = 3, MACs = 3·2·3·3·3·3 = 486. One
/// pass: p = 3 filters and q = 2 channels per PE, on a 3x3 PE set. Each PE does, per ofmap
/// column, q·S = 6 ifmaps x p = 3 filters: 18 MACs in 18 cycles at simd 1, and in
/// 6 x ceil(3/2) = 12 cycles at simd 2 (the third filter's lane pairs with an idle one). Over
/// F = 3 columns: 54 and 36 cycles. Ifmap spad reads: one per MAC at simd 1 (486); at simd 2
/// one per two MAC steps' worth, ceil(3/2) = 2 reads per ifmap instead of 3: 486 / 3 x 2 = 324.
/// Nothing else moves differently.
#[test]
fn three_filters_on_two_lanes_by_hand() {
    let l = Layer::conv("L", 2, 5, 5, 3, 3, 3);
    let mp = rs(3, 2, 1, 1, 3, 3);
    let one = evaluate_mapping(&l, &with_simd(1), 1, &mp).unwrap();
    let two = evaluate_mapping(&l, &with_simd(2), 1, &mp).unwrap();
    assert_eq!((one.macs, one.cycles, two.cycles), (486, 54, 36));
    let (a, b) = (one.counts.nest(), two.counts.nest());
    assert_eq!((a.rf.ifmaps.reads, b.rf.ifmaps.reads), (486, 324));
    let mut b_as_one = *b;
    b_as_one.rf.ifmaps.reads = a.rf.ifmaps.reads;
    assert_eq!(&b_as_one, a, "only the ifmap spad reads change");
    // The walk and cycle mode agree.
    let hw = with_simd(2);
    assert_eq!(walk(&l, &hw, 1, &mp), (two.counts, 36));
    let c = simulate(
        &l,
        &hw,
        1,
        &mp,
        &CycleParams::default(),
        Replay::StepAll,
        None,
    );
    assert_eq!((c.mac_cycles, c.counts), (36, two.counts));
}

prop_compose! {
    fn layer()(r in 1usize..4, extra in 0usize..8, pad in 0usize..2, cpg in 1usize..6,
               mpg in 1usize..10, groups in 1usize..3) -> Layer {
        let h = (r + extra).max(r);
        let mut l = Layer::conv("L", cpg * groups, h, h, mpg * groups, r, r);
        l.pad = pad.min(r - 1);
        l.groups = groups;
        l
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    /// Closed form, walk and cycle mode count alike at any lane count, partial chunks
    /// included.
    #[test]
    fn closed_form_equals_walk_and_cycle_mode(l in layer(), simd in 2usize..4, p in 1usize..7,
                                              q in 1usize..3, r in 1usize..3, t in 1usize..3,
                                              e in 1usize..10, mk in 1usize..3) {
        let hw = with_simd(simd);
        let p = p.min(l.mg());
        let mp = rs(p, q.min(l.cg()), r, t, e.min(l.e()), p * t * mk);
        let Ok(ev) = evaluate_mapping(&l, &hw, 2, &mp) else {
            return Ok(());
        };
        WALKED.fetch_add(1, Ordering::Relaxed);
        prop_assert_eq!(walk(&l, &hw, 2, &mp), (ev.counts, ev.cycles));
        let c = simulate(&l, &hw, 2, &mp, &CycleParams::default(), Replay::StepAll, None);
        prop_assert_eq!(c.counts, ev.counts);
        prop_assert_eq!(c.mac_cycles, ev.cycles);
    }

    /// Zero skipping never does a MAC in less than its share of a cycle: over a layer, the MAC
    /// cycles x PEs x lanes are at least the MACs whose ifmap and weight are both non-zero,
    /// counted straight from the masks (the acceptance property), whether PEs wait at
    /// every column or at the pass's end, with or without compressed columns. All-ones masks on an
    /// unpadded layer give exactly the dense run (padding is a zero the gated PE skips).
    #[test]
    fn skipping_never_counts_fewer_than_the_nonzero_macs(l in layer(), simd in 1usize..3,
                                                         p in 1usize..5, t in 1usize..3,
                                                         seed in any::<u64>(), keep in 1u64..4,
                                                         csc in any::<bool>(),
                                                         by_pass in any::<bool>()) {
        let mut hw = with_simd(simd);
        hw.pe.skip_zero_cycles = true;
        if by_pass {
            hw.pe.sync = PeSync::Pass;
        }
        let p = p.min(l.mg());
        let mp = rs(p, 1, 1, t, l.e(), p * t);
        let Ok(ev) = evaluate_mapping(&l, &hw, 1, &mp) else {
            return Ok(());
        };
        SKIPPED.fetch_add(1, Ordering::Relaxed);
        let masks = random_masks(&l, seed, keep);
        let gate = Gating { ifmaps: true, weights: true, csc };
        let params = CycleParams::default();
        let c = simulate_masked(&l, &hw, 1, &mp, &params, &masks, gate, None);
        let pes = ev.active_pes as u64;
        prop_assert!(c.mac_cycles * pes * simd as u64 >= nonzero_macs(&l, &masks),
            "{} cycles x {} PEs x {} lanes < {} non-zero MACs", c.mac_cycles, pes, simd,
            nonzero_macs(&l, &masks));
        let ones = Masks {
            ifmaps: Some(vec![true; l.c * l.h * l.w]),
            weights: Some(vec![true; l.m * l.cg() * l.r * l.s]),
        };
        if l.pad == 0 {
            let dense = simulate(&l, &hw, 1, &mp, &params, Replay::StepAll, None);
            prop_assert_eq!(simulate_masked(&l, &hw, 1, &mp, &params, &ones, gate, None), dense);
        }
    }
}

/// Masks keeping about `keep` in 4 values (a small xorshift, so a case replays from its seed).
fn random_masks(l: &Layer, seed: u64, keep: u64) -> Masks {
    let mut x = seed | 1;
    let mut bit = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % 4 < keep
    };
    Masks {
        ifmaps: Some((0..l.c * l.h * l.w).map(|_| bit()).collect()),
        weights: Some((0..l.m * l.cg() * l.r * l.s).map(|_| bit()).collect()),
    }
}

/// MACs with both operands non-zero, by the convolution's definition (padding is zero).
fn nonzero_macs(l: &Layer, m: &Masks) -> u64 {
    let (ifm, w) = (m.ifmaps.as_ref().unwrap(), m.weights.as_ref().unwrap());
    let (cg, mg) = (l.cg(), l.mg());
    let mut n = 0;
    for g in 0..l.groups {
        for f in 0..mg {
            for ch in 0..cg {
                for y in 0..l.e() {
                    for x in 0..l.f() {
                        for rr in 0..l.r {
                            for s in 0..l.s {
                                let (h, wc) = (y * l.stride + rr, x * l.stride + s);
                                let (Some(h), Some(wc)) =
                                    (h.checked_sub(l.pad), wc.checked_sub(l.pad))
                                else {
                                    continue;
                                };
                                if h >= l.h || wc >= l.w {
                                    continue;
                                }
                                let c = g * cg + ch;
                                let on_i = ifm[(c * l.h + h) * l.w + wc];
                                let on_w = w[(((g * mg + f) * cg + ch) * l.r + rr) * l.s + s];
                                n += u64::from(on_i && on_w);
                            }
                        }
                    }
                }
            }
        }
    }
    n
}

/// The search with two lanes finds what the exhaustive one finds (its floors on the lane
/// sums are floors).
#[test]
fn search_equals_exhaustive_with_two_lanes() {
    let hw = with_simd(2);
    let cost = |e: &Evaluation| {
        let c = e.counts.nest();
        (c.dram.total() * 200 + c.glb.total() * 6 + c.array.total() * 2 + c.rf.total()) as f64
            * e.cycles as f64
    };
    let mut dw = Layer::conv("dw", 6, 8, 8, 6, 3, 3);
    dw.groups = 6;
    dw.pad = 1;
    for l in [
        Layer::conv("a", 3, 9, 9, 7, 3, 3),
        Layer::conv("b", 4, 6, 6, 5, 1, 1),
        dw,
    ] {
        let model = Dataflow::RowStationary.model();
        let fast = model.search(&l, &hw, 2, &cost).expect("maps");
        let slow = model.search_reference(&l, &hw, 2, &cost).expect("maps");
        assert_eq!(fast.mapping, slow.mapping, "{}", l.name);
        assert_eq!(fast.counts, slow.counts, "{}", l.name);
    }
}

#[test]
fn most_random_cases_fit() {
    closed_form_equals_walk_and_cycle_mode();
    skipping_never_counts_fewer_than_the_nonzero_macs();
    let (w, k) = (
        WALKED.load(Ordering::Relaxed),
        SKIPPED.load(Ordering::Relaxed),
    );
    assert!(
        w >= 150 && k >= 150,
        "only {w} and {k} of 300 random cases fit"
    );
}
