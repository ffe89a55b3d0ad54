//! Zero skipping from real masks: a pass worked out by hand, and all-ones masks equal to the
//! dense model.

mod common;

use ember_sim::cycle::{simulate, simulate_masked, CycleParams, Replay};
use ember_sim::masks::{Gating, Masks};
use ember_sim::{Dataflow, Layer, Mapping};

fn one_pass_mapping() -> Mapping {
    Mapping {
        dataflow: Dataflow::RowStationary,
        n: 1,
        p: 1,
        q: 1,
        r: 1,
        t: 1,
        e: 2,
        m: 1,
        ifmap_resident: true,
    }
}

/// A 4x4 single-channel input, one 3x3 filter, no padding: E = F = 2, one pass on a 3x2 PE
/// set. PE (filter row rr, ofmap row y) reads input row y + rr; on ofmap column x it multiplies
/// input columns x..x+2. So a column costs the most non-zeros any input row 0..3 has in that
/// window. With the mask below, column 0 sees rows with 1, 0, 2, 0 non-zeros (cost 2) and
/// column 1 sees 0, 1, 1, 0 (cost 1): 3 MAC cycles, against 3 + 3 dense.
#[test]
fn busiest_pe_by_hand() {
    let l = Layer::conv("L", 1, 4, 4, 1, 3, 3);
    let mut hw = common::hw(12, 14, 4096, 0);
    hw.pe.skip_zero_cycles = true;
    #[rustfmt::skip]
    let ifmaps = [
        1, 0, 0, 0,
        0, 0, 0, 1,
        1, 1, 0, 0,
        0, 0, 0, 0,
    ];
    let masks = Masks {
        ifmaps: Some(ifmaps.iter().map(|&v| v == 1).collect()),
        weights: None,
    };
    let mp = one_pass_mapping();
    let p = CycleParams::default();
    let gate_ifmaps = Gating {
        ifmaps: true,
        weights: false,
    };
    let c = simulate_masked(&l, &hw, 1, &mp, &p, &masks, gate_ifmaps, None);
    assert_eq!(c.mac_cycles, 3);
    let dense = simulate(&l, &hw, 1, &mp, &p, Replay::StepAll, None);
    assert_eq!(dense.mac_cycles, 6);
    // Weights gated instead: the filter's first column zero leaves 2 MACs per PE per column.
    let mut w = vec![true; 9];
    for rr in 0..3 {
        w[rr * 3] = false;
    }
    let wm = Masks {
        ifmaps: Some(vec![true; 16]),
        weights: Some(w),
    };
    let gate_weights = Gating {
        ifmaps: false,
        weights: true,
    };
    let c = simulate_masked(&l, &hw, 1, &mp, &p, &wm, gate_weights, None);
    assert_eq!(c.mac_cycles, 4);
    // Without zero skipping in the hardware, masks change no cycle.
    hw.pe.skip_zero_cycles = false;
    let c = simulate_masked(&l, &hw, 1, &mp, &p, &masks, gate_ifmaps, None);
    assert_eq!(c, simulate(&l, &hw, 1, &mp, &p, Replay::StepAll, None));
}

/// All-ones masks on an unpadded layer, over many passes (channel chunks, filter pieces, two
/// images, strips): exactly the dense run, every field.
#[test]
fn all_ones_masks_equal_dense() {
    let l = Layer::conv("L", 6, 9, 9, 8, 3, 3);
    let mut hw = common::hw(12, 14, 4096, 0);
    hw.pe.skip_zero_cycles = true;
    let mp = Mapping {
        dataflow: Dataflow::RowStationary,
        n: 1,
        p: 3,
        q: 2,
        r: 1,
        t: 2,
        e: 4,
        m: 6,
        ifmap_resident: false,
    };
    ember_sim::evaluate_mapping(&l, &hw, 2, &mp).expect("fits");
    let (ni, nw) = Masks::expected_len(&l, 2);
    let masks = Masks {
        ifmaps: Some(vec![true; ni]),
        weights: Some(vec![true; nw]),
    };
    let p = CycleParams::default();
    let all = Gating {
        ifmaps: true,
        weights: true,
    };
    let masked = simulate_masked(&l, &hw, 2, &mp, &p, &masks, all, None);
    let dense = simulate(&l, &hw, 2, &mp, &p, Replay::StepAll, None);
    assert!(masked.passes > 4);
    assert_eq!(masked, dense);
}
