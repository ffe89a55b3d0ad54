//! Zero skipping from real masks: a pass worked out by hand, and all-ones masks equal to the
//! dense model.

mod common;

use ember_sim::arch::PeSync;
use ember_sim::cycle::{simulate, simulate_masked, CycleParams, Replay};
use ember_sim::masks::{Gating, Masks};
use ember_sim::rs::RsMapping;
use ember_sim::{Dataflow, Layer, Mapping};

fn one_pass_mapping() -> Mapping {
    Mapping::from(RsMapping {
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
    })
}

/// A 4x4 single-channel input, one 3x3 filter, no padding: E = F = 2, one pass on a 3x2 PE
/// set. PE (filter row rr, ofmap row y) reads input row y + rr; on ofmap column x it multiplies
/// input columns x..x+2. So a column costs the most non-zeros any input row 0..3 has in that
/// window. With the mask below, column 0 sees rows with 1, 0, 2, 0 non-zeros (cost 2) and
/// column 1 sees 0, 1, 1, 0 (cost 1): 3 MAC cycles, against 3 + 3 dense.
#[test]
fn busiest_pe_by_hand() {
    let (l, mut hw) = hand_case();
    #[rustfmt::skip]
    let masks = ifmap_masks([
        1, 0, 0, 0,
        0, 0, 0, 1,
        1, 1, 0, 0,
        0, 0, 0, 0,
    ]);
    let (mp, p) = (one_pass_mapping(), CycleParams::default());
    let gate_ifmaps = gating(true, false, false);
    let c = simulate_masked(&l, &hw, 1, &mp, &p, &masks, gate_ifmaps, None);
    assert_eq!(c.mac_cycles, 3);
    let dense = simulate(&l, &hw, 1, &mp, &p, Replay::StepAll, None);
    assert_eq!(dense.mac_cycles, 6);
    // Weights gated instead: the filter's first column zero leaves 2 MACs per PE per column.
    let wm = first_filter_column_zero();
    let c = simulate_masked(&l, &hw, 1, &mp, &p, &wm, gating(false, true, false), None);
    assert_eq!(c.mac_cycles, 4);
    // Without zero skipping in the hardware, masks change no cycle.
    hw.pe.skip_zero_cycles = false;
    let c = simulate_masked(&l, &hw, 1, &mp, &p, &masks, gate_ifmaps, None);
    assert_eq!(c, simulate(&l, &hw, 1, &mp, &p, Replay::StepAll, None));
}

/// The hand cases' layer (a 4x4 input, one 3x3 filter) on an array that skips gated MACs.
fn hand_case() -> (Layer, ember_sim::HwConfig) {
    let mut hw = common::hw(12, 14, 4096, 0);
    hw.pe.skip_zero_cycles = true;
    (Layer::conv("L", 1, 4, 4, 1, 3, 3), hw)
}

/// A 4x4 ifmap mask (1 = non-zero), no weight mask.
fn ifmap_masks(bits: [u8; 16]) -> Masks {
    Masks {
        ifmaps: Some(bits.iter().map(|&v| v == 1).collect()),
        weights: None,
    }
}

/// All ifmaps non-zero; the 3x3 filter's first column zero.
fn first_filter_column_zero() -> Masks {
    let w = (0..9).map(|i| i % 3 != 0).collect();
    Masks {
        ifmaps: Some(vec![true; 16]),
        weights: Some(w),
    }
}

fn gating(ifmaps: bool, weights: bool, csc: bool) -> Gating {
    Gating {
        ifmaps,
        weights,
        csc,
    }
}

/// The layer and mapping of `busiest_pe_by_hand`, with input rows 0 and 1 busiest in turn:
/// row 0 = 1 1 0 0 has 2 then 1 non-zeros in the windows of ofmap columns 0 and 1, row 1 =
/// 0 0 1 1 has 1 then 2, rows 2 and 3 none. PEs waiting at every column take 2 + 2 cycles;
/// PEs waiting only at the pass's end take the busiest PE's total, 2 + 1 = 3 (JETCAS 2019
/// p. 295). Weights gated instead, with compressed sparse columns, a non-zero ifmap whose
/// weight is zero still takes its cycle (p. 302).
#[test]
fn pass_sync_and_compressed_columns_by_hand() {
    let (l, mut hw) = hand_case();
    #[rustfmt::skip]
    let masks = ifmap_masks([
        1, 1, 0, 0,
        0, 0, 1, 1,
        0, 0, 0, 0,
        0, 0, 0, 0,
    ]);
    let (mp, p) = (one_pass_mapping(), CycleParams::default());
    let gate = gating(true, false, false);
    let c = simulate_masked(&l, &hw, 1, &mp, &p, &masks, gate, None);
    assert_eq!(c.mac_cycles, 4);
    hw.pe.sync = PeSync::Pass;
    let c = simulate_masked(&l, &hw, 1, &mp, &p, &masks, gate, None);
    assert_eq!(c.mac_cycles, 3);
    // The filter's first column zero: 2 + 2 cycles without compressed columns
    // (`busiest_pe_by_hand`), 3 + 3 with them, the dense run's.
    let wm = first_filter_column_zero();
    let c = simulate_masked(&l, &hw, 1, &mp, &p, &wm, gating(false, true, true), None);
    assert_eq!(c.mac_cycles, 6);
}

/// All-ones masks on an unpadded layer, over many passes (channel chunks, filter pieces, two
/// images, strips): exactly the dense run, every field.
#[test]
fn all_ones_masks_equal_dense() {
    let l = Layer::conv("L", 6, 9, 9, 8, 3, 3);
    let mut hw = common::hw(12, 14, 4096, 0);
    hw.pe.skip_zero_cycles = true;
    let mp = Mapping::from(RsMapping {
        n: 1,
        p: 3,
        q: 2,
        r: 1,
        t: 2,
        e: 4,
        m: 6,
        ifmap_resident: false,
        segment: None,
        u: 1,
    });
    let passes = all_ones_equal_dense(&l, &hw, &mp);
    assert!(passes > 4);
}

/// Runs `mp` at batch 2 with all-ones masks and densely, asserts they agree on every field,
/// and returns the passes.
fn all_ones_equal_dense(l: &Layer, hw: &ember_sim::HwConfig, mp: &Mapping) -> u64 {
    ember_sim::evaluate_mapping(l, hw, 2, mp).expect("fits");
    let (ni, nw) = Masks::expected_len(l, 2);
    let masks = Masks {
        ifmaps: Some(vec![true; ni]),
        weights: Some(vec![true; nw]),
    };
    let p = CycleParams::default();
    let all = Gating {
        ifmaps: true,
        weights: true,
        csc: false,
    };
    let masked = simulate_masked(l, hw, 2, mp, &p, &masks, all, None);
    let dense = simulate(l, hw, 2, mp, &p, Replay::StepAll, None);
    assert_eq!(masked, dense);
    masked.passes
}

mod random {
    use super::*;
    use proptest::prelude::*;

    /// Non-gated MACs of the whole layer counted straight from the convolution's definition
    /// (a second count, independent of passes and PEs): every (image, filter, ofmap pixel,
    /// channel, r, s) whose ifmap (padding is zero) and weight are both non-zero.
    fn direct_macs(l: &Layer, batch: usize, m: &Masks) -> u64 {
        let (iv, wv) = (m.ifmaps.as_ref().unwrap(), m.weights.as_ref().unwrap());
        let (cg, mg) = (l.cg(), l.mg());
        let mut n = 0;
        for img in 0..batch {
            for f in 0..l.m {
                let g = f / mg;
                for y in 0..l.e() {
                    for x in 0..l.f() {
                        for chg in 0..cg {
                            for rr in 0..l.r {
                                for s in 0..l.s {
                                    let (h, w) = (y * l.stride + rr, x * l.stride + s);
                                    if h < l.pad
                                        || w < l.pad
                                        || h - l.pad >= l.h
                                        || w - l.pad >= l.w
                                    {
                                        continue;
                                    }
                                    let ch = g * cg + chg;
                                    let i = ((img * l.c + ch) * l.h + h - l.pad) * l.w + w - l.pad;
                                    let k = ((f * cg + chg) * l.r + rr) * l.s + s;
                                    n += u64::from(iv[i] && wv[k]);
                                }
                            }
                        }
                    }
                }
            }
        }
        n
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// For random layers, mappings and masks: a column never takes less than the average
        /// work of its PEs, so MAC cycles x active PEs >= the directly counted MACs; and never
        /// more than the dense column. With `[mapper] group_sets` (the mapper, minimising
        /// cycles, puts several groups in a pass) the PEs of every group of a pass count.
        #[test]
        fn masked_cycles_between_bounds(r in 1usize..6, extra in 0usize..6, pad in 0usize..2,
                                        groups in 1usize..5, cpg in 1usize..4, mpg in 1usize..5,
                                        batch in 1usize..3, seed in any::<u64>(),
                                        p_density in 0.0f64..1.0, rows in 2usize..13,
                                        spad in 2usize..13, group_sets in any::<bool>()) {
            let h = (r + extra).max(1);
            let mut l = Layer::conv("L", cpg * groups, h, h, mpg * groups, r, r);
            l.pad = pad.min(r - 1);
            l.groups = groups;
            // Small arrays and spads split the filter into segments.
            let mut hw = common::hw(rows, 14, 1 << 16, 0);
            hw.pe.ifmap_spad_words = spad;
            hw.pe.skip_zero_cycles = true;
            hw.mapper.group_sets = group_sets;
            let ev = ember_sim::map_layer(&l, &hw, batch, Dataflow::RowStationary, &|e| e.cycles as f64)
                .expect("small layers fit");
            let (ni, nw) = Masks::expected_len(&l, batch);
            let mut state = seed | 1;
            let mut bit = || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % 1000) as f64 / 1000.0 < p_density
            };
            let masks = Masks {
                ifmaps: Some((0..ni).map(|_| bit()).collect()),
                weights: Some((0..nw).map(|_| bit()).collect()),
            };
            let both = Gating { ifmaps: true, weights: true, csc: false };
            let p = CycleParams::default();
            let c = simulate_masked(&l, &hw, batch, &ev.mapping, &p, &masks, both, None);
            let dense = simulate(&l, &hw, batch, &ev.mapping, &p, Replay::StepAll, None);
            let direct = direct_macs(&l, batch, &masks);
            prop_assert!(c.mac_cycles * ev.active_pes as u64 >= direct,
                "{} x {} < {}", c.mac_cycles, ev.active_pes, direct);
            prop_assert!(c.mac_cycles <= dense.mac_cycles);
            prop_assert_eq!(c.counts, dense.counts);
        }
    }
}

/// The same with the filter split into 2x2 segments (a 2-row array, a 2-word ifmap spad).
#[test]
fn all_ones_masks_equal_dense_when_split() {
    let l = Layer::conv("L", 3, 9, 9, 4, 3, 3);
    let mut hw = common::hw(2, 14, 4096, 0);
    hw.pe.ifmap_spad_words = 2;
    hw.pe.skip_zero_cycles = true;
    let mp = Mapping::from(RsMapping {
        n: 1,
        p: 2,
        q: 1,
        r: 1,
        t: 2,
        e: 3,
        m: 4,
        ifmap_resident: true,
        segment: Some(ember_sim::rs::Segment { rows: 2, cols: 2 }),
        u: 1,
    });
    assert!(all_ones_equal_dense(&l, &hw, &mp) >= 4 * 3 * 2);
}

/// Groups side by side (`RsMapping::u`): all-ones masks over a depthwise layer of 5 groups, 3
/// a pass (the second pass holds the 2 left), equal the dense run.
#[test]
fn all_ones_masks_equal_dense_with_group_sets() {
    let mut l = Layer::conv("dw", 5, 9, 9, 5, 3, 3);
    l.groups = 5;
    let mut hw = common::hw(12, 14, 4096, 0);
    hw.pe.skip_zero_cycles = true;
    hw.mapper.group_sets = true;
    let mp = Mapping::from(RsMapping {
        n: 1,
        p: 1,
        q: 1,
        r: 1,
        t: 1,
        e: 4,
        m: 1,
        ifmap_resident: true,
        segment: None,
        u: 3,
    });
    // 2 group chunks x 2 images x 2 strips (4 + 3 rows).
    assert_eq!(all_ones_equal_dense(&l, &hw, &mp), 2 * 2 * 2);
}

/// Two depthwise groups in one pass (u = 2), each a 4x4 single-channel input and a 3x3 filter
/// (E = F = 2): two 3x2 PE sets side by side, in lockstep, so a column takes as long as the
/// busiest PE of either group. Group 0 has the mask of `busiest_pe_by_hand` (columns cost 2
/// and 1). Group 1's input row 0 is 0 1 1 1: the PE of filter row 0 and ofmap row 0 reads it,
/// 2 non-zeros in column 0's window (input columns 0..2) and 3 in column 1's (1..3); its
/// other rows are zero. So the pass takes max(2, 2) + max(1, 3) = 5 MAC cycles, where one
/// group a pass takes 3 + 5 = 8, and dense 2 x 3 = 6 (u = 2) or 12 (u = 1).
#[test]
fn busiest_group_sets_the_column_by_hand() {
    let mut l = Layer::conv("dw", 2, 4, 4, 2, 3, 3);
    l.groups = 2;
    let mut hw = common::hw(12, 14, 4096, 0);
    hw.pe.skip_zero_cycles = true;
    hw.mapper.group_sets = true;
    #[rustfmt::skip]
    let ifmaps = [
        1, 0, 0, 0,
        0, 0, 0, 1,
        1, 1, 0, 0,
        0, 0, 0, 0,

        0, 1, 1, 1,
        0, 0, 0, 0,
        0, 0, 0, 0,
        0, 0, 0, 0,
    ];
    let masks = Masks {
        ifmaps: Some(ifmaps.iter().map(|&v| v == 1).collect()),
        weights: None,
    };
    let gate = Gating {
        ifmaps: true,
        weights: false,
        csc: false,
    };
    let p = CycleParams::default();
    let with = |u: usize| {
        Mapping::from(RsMapping {
            u,
            ..*ember_sim::dataflow::MappingOf::of(&one_pass_mapping()).unwrap()
        })
    };
    let run = |u: usize| simulate_masked(&l, &hw, 1, &with(u), &p, &masks, gate, None);
    let dense = |u: usize| simulate(&l, &hw, 1, &with(u), &p, Replay::StepAll, None);
    assert_eq!((run(2).mac_cycles, dense(2).mac_cycles), (5, 6));
    assert_eq!((run(1).mac_cycles, dense(1).mac_cycles), (8, 12));
    assert_eq!(run(2).counts, run(1).counts);
}
