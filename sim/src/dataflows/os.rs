//! Output-stationary (OS, ISCA 2016 §V-B): each PE accumulates the psums of one ofmap pixel
//! of one filter, for `n` images, in its RF over all C·R·S MACs; psums never leave a PE before
//! they are final. Array rows take a tile of ofmap pixels (`e` rows x `q` columns, e·q <= rows),
//! array columns take `t` filters (the study's OSB: multiple ofmap channels, multiple pixels).
//! Every cycle each row receives one ifmap tap (read from the GLB unless it is padding,
//! multicast to the row's `t` PEs) and each column one weight (read from the GLB, multicast down
//! the column, kept in the PE's register for its `n` images).
//!
//! Loop nest (outermost first), walked literally by [`walk`]:
//!
//! ```text
//! for g in groups
//!   for n-chunk (n images)
//!     for e-strip (e ofmap rows)        [ifmap strip, all channels, DRAM -> GLB]
//!       for m-chunk (t filters)         [their weights, DRAM -> GLB]
//!         for f-tile (q ofmap columns)  = one pass: C·R·S steps of n MACs per PE
//!           ofmaps  RF -> array -> GLB -> DRAM at the end of the pass
//! ```
//!
//! Mapping fields (`Mapping` is row-stationary-shaped; see `mapping.rs`): `n` = images per PE,
//! `e` = ofmap rows per pass, `q` = ofmap columns per pass, `t` = filters per pass, `m` = `t`;
//! `p` = `r` = 1, `ifmap_resident` = true.

use crate::arch::HwConfig;
use crate::counts::{AccessCounts, NestCounts};
use crate::dataflow::Dataflow;
use crate::dataflows::{chunks, keep_best, layer_taps, storage, taps};
use crate::mapping::Mapping;
use crate::rs::{e_sums, strip_rows, Dims};
use crate::tiles::{balanced, Tiles};
use crate::workload::Layer;
use crate::Evaluation;

fn glb_need(l: &Layer, batch: usize, mp: &Mapping, rows_max: u64) -> u64 {
    let n = mp.n.min(batch) as u64;
    let t = mp.t.min(l.mg()) as u64;
    let ifmaps = n * l.cg() as u64 * rows_max * l.w as u64;
    let weights = t * (l.cg() * l.r * l.s) as u64;
    let out = n * (mp.e.min(l.e()) * mp.q.min(l.f())) as u64 * t;
    ifmaps + weights + out
}

/// Why an OS mapping does not fit, if it does not.
pub fn check(l: &Layer, hw: &HwConfig, batch: usize, mp: &Mapping) -> Result<(), String> {
    let st = storage(hw, Dataflow::OutputStationary);
    if mp.dataflow != Dataflow::OutputStationary {
        return Err(format!(
            "mapping is for {}, not output-stationary",
            mp.dataflow
        ));
    }
    if mp.segment.is_some() {
        return Err("filter segments are a row-stationary mapping field".into());
    }
    if [mp.n, mp.q, mp.t, mp.e, mp.m].contains(&0) {
        return Err("every mapping parameter must be at least 1".into());
    }
    if mp.p != 1 || mp.r != 1 || mp.m != mp.t || !mp.ifmap_resident {
        return Err("OS mappings have p = r = 1, m = t and resident ifmaps".into());
    }
    if mp.n > batch || mp.e > l.e() || mp.q > l.f() || mp.t > l.mg() {
        return Err(format!(
            "n, e, q, t must not exceed the batch {batch}, ofmap rows {}, columns {}, filters {}",
            l.e(),
            l.f(),
            l.mg()
        ));
    }
    if mp.e * mp.q > hw.array.rows || mp.t > hw.array.cols {
        return Err(format!(
            "{} pixels x {} filters exceed the {}x{} array",
            mp.e * mp.q,
            mp.t,
            hw.array.rows,
            hw.array.cols
        ));
    }
    if mp.n + 1 > st.rf_words {
        return Err(format!(
            "RF {} words < n + 1 = {} (n psums and a weight)",
            st.rf_words,
            mp.n + 1
        ));
    }
    let (_, _, rows_max) = e_sums(l, mp.e);
    let need = glb_need(l, batch, mp, rows_max);
    if need > st.glb_words as u64 {
        return Err(format!("GLB {} < {need} words", st.glb_words));
    }
    Ok(())
}

struct Sums {
    n_count: u64,
    e_count: u64,
    e_rows: u64,
    m_count: u64,
    f_count: u64,
}

fn assemble(l: &Layer, d: &Dims, s: &Sums, taps: (u64, u64)) -> (NestCounts, u64) {
    let mut a = NestCounts::default();
    let rs = d.r * d.s;
    let filt = d.g * d.m * d.c * rs;
    a.dram.weights.reads = filt * s.n_count * s.e_count;
    a.glb.weights.writes = a.dram.weights.reads;
    a.glb.weights.reads = a.dram.weights.reads * s.f_count;
    a.array.weights.reads = filt * s.n_count * d.e * d.f;
    a.rf.weights.writes = a.array.weights.reads;
    a.rf.weights.reads = d.macs;
    a.dram.ifmaps.reads = d.g * d.n * d.c * s.e_rows * l.w as u64;
    a.glb.ifmaps.writes = a.dram.ifmaps.reads;
    a.glb.ifmaps.reads = d.g * d.n * d.c * taps.0 * taps.1 * s.m_count;
    a.array.ifmaps.reads = d.g * d.n * d.c * rs * d.e * d.f * d.m;
    let ofmap = d.g * d.n * d.m * d.e * d.f;
    a.rf.psums.reads = d.macs;
    a.rf.psums.writes = d.macs;
    a.array.psums.writes = ofmap;
    a.glb.psums.writes = ofmap;
    a.glb.psums.reads = ofmap;
    a.dram.psums.writes = ofmap;
    let cycles = d.g * d.n * d.c * rs * s.e_count * s.m_count * s.f_count;
    (a, cycles)
}

fn active_pes(l: &Layer, mp: &Mapping) -> usize {
    mp.e.min(l.e()) * mp.q.min(l.f()) * mp.t.min(l.mg())
}

/// Closed-form counts of an OS mapping (after checking that it fits).
pub fn evaluate(
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    mp: &Mapping,
) -> Result<Evaluation, String> {
    check(l, hw, batch, mp)?;
    let d = Dims::new(l, batch);
    let (e_count, e_rows, _) = e_sums(l, mp.e);
    let s = Sums {
        n_count: Tiles::new(batch, mp.n).count(),
        e_count,
        e_rows,
        m_count: Tiles::new(l.mg(), mp.t).count(),
        f_count: Tiles::new(l.f(), mp.q).count(),
    };
    let (nest, cycles) = assemble(l, &d, &s, layer_taps(l));
    Ok(Evaluation {
        mapping: *mp,
        counts: AccessCounts::place(&nest, hw.roles()),
        macs: d.macs,
        cycles,
        active_pes: active_pes(l, mp),
    })
}

/// The OS loop nest executed literally, pass by pass.
pub fn walk(l: &Layer, hw: &HwConfig, batch: usize, mp: &Mapping) -> (AccessCounts, u64) {
    let cg = l.cg() as u64;
    let crs = cg * (l.r * l.s) as u64;
    let mut a = NestCounts::default();
    let mut cycles = 0;
    for _g in 0..l.groups {
        for (_, nn) in chunks(batch, mp.n) {
            let nn = nn as u64;
            for (e0, ee) in chunks(l.e(), mp.e) {
                let fetch = nn * cg * strip_rows(l, e0, ee) * l.w as u64;
                a.dram.ifmaps.reads += fetch;
                a.glb.ifmaps.writes += fetch;
                let row_taps = taps(e0, ee, 0, l.r, l.stride, l.pad, l.h);
                for (_, mm) in chunks(l.mg(), mp.t) {
                    let mm = mm as u64;
                    a.dram.weights.reads += mm * crs;
                    a.glb.weights.writes += mm * crs;
                    for (f0, ff) in chunks(l.f(), mp.q) {
                        let pixels = (ee * ff) as u64;
                        let macs = nn * mm * pixels * crs;
                        // Weights: read once, multicast down each column to its pixels.
                        a.glb.weights.reads += mm * crs;
                        a.array.weights.reads += mm * crs * pixels;
                        a.rf.weights.writes += mm * crs * pixels;
                        a.rf.weights.reads += macs;
                        // Ifmaps: each real tap read once, multicast along the row.
                        let col_taps = taps(f0, ff, 0, l.s, l.stride, l.pad, l.w);
                        a.glb.ifmaps.reads += nn * cg * row_taps * col_taps;
                        a.array.ifmaps.reads += nn * crs * pixels * mm;
                        // Psums stay in the RF; the finished ofmaps leave.
                        a.rf.psums.reads += macs;
                        a.rf.psums.writes += macs;
                        let outs = nn * mm * pixels;
                        a.array.psums.writes += outs;
                        a.glb.psums.writes += outs;
                        a.glb.psums.reads += outs;
                        a.dram.psums.writes += outs;
                        cycles += nn * crs;
                    }
                }
            }
        }
    }
    (AccessCounts::place(&a, hw.roles()), cycles)
}

/// Exhaustive search over (n, e, q, t); the cheapest by `cost` wins, ties broken by fewer
/// cycles, then by the smaller mapping tuple.
pub fn search(
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    cost: &dyn Fn(&Evaluation) -> f64,
) -> Option<Evaluation> {
    let d = Dims::new(l, batch);
    let st = storage(hw, Dataflow::OutputStationary);
    let taps = layer_taps(l);
    let mut best: Option<(f64, Evaluation)> = None;
    for e in balanced(l.e()).into_iter().filter(|&e| e <= hw.array.rows) {
        let (e_count, e_rows, rows_max) = e_sums(l, e);
        for q in balanced(l.f())
            .into_iter()
            .filter(|&q| e * q <= hw.array.rows)
        {
            let f_count = Tiles::new(l.f(), q).count();
            for n in balanced(batch).into_iter().filter(|&n| n < st.rf_words) {
                let n_count = Tiles::new(batch, n).count();
                for t in balanced(l.mg()).into_iter().filter(|&t| t <= hw.array.cols) {
                    let mp = Mapping {
                        dataflow: Dataflow::OutputStationary,
                        n,
                        p: 1,
                        q,
                        r: 1,
                        t,
                        e,
                        m: t,
                        ifmap_resident: true,
                        segment: None,
                    };
                    if glb_need(l, batch, &mp, rows_max) > st.glb_words as u64 {
                        continue;
                    }
                    let s = Sums {
                        n_count,
                        e_count,
                        e_rows,
                        m_count: Tiles::new(l.mg(), t).count(),
                        f_count,
                    };
                    let (nest, cycles) = assemble(l, &d, &s, taps);
                    let ev = Evaluation {
                        mapping: mp,
                        counts: AccessCounts::place(&nest, hw.roles()),
                        macs: d.macs,
                        cycles,
                        active_pes: active_pes(l, &mp),
                    };
                    keep_best(&mut best, ev, cost);
                }
            }
        }
    }
    best.map(|(_, ev)| ev)
}
