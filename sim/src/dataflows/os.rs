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
//! Mapping parameters: [`OsMapping`]. The GLB always holds the strip's ifmaps of every channel.

use std::ops::ControlFlow;

use serde::ser::SerializeStruct;
use serde::Serialize;

use crate::arch::HwConfig;
use crate::counts::{AccessCounts, NestCounts};
use crate::cycle::{Buffers, CyclePass, StreamPass, Work};
use crate::dataflow::{params, Cost, Dataflow, DataflowModel, Mapping};
use crate::dataflows::{chunks, keep_best, layer_taps, small_rf, taps, Storage};
use crate::rs::{e_sums, strip_rows, Dims, GlbNeed};
use crate::tiles::{balanced, Tiles};
use crate::workload::Layer;
use crate::Evaluation;

/// An output-stationary mapping. Field order is the tie-break order (`select::better`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OsMapping {
    /// Images per PE (its RF holds their psums).
    pub n: usize,
    /// Ofmap columns per pass.
    pub ofmap_cols: usize,
    /// Filters per pass: array columns used.
    pub filters: usize,
    /// Ofmap rows per pass (e x ofmap_cols pixels on the array rows).
    pub e: usize,
}

impl crate::dataflow::Params for OsMapping {
    fn images(&self) -> usize {
        self.n
    }
    fn ifmap_resident(&self) -> bool {
        true
    }
}

/// The JSON keys Ember has always written (see `ws::WsMapping`'s): `q` ofmap columns, `t`
/// filters, `m` = `t`, `p` = `r` = 1, resident ifmaps.
impl Serialize for OsMapping {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("OsMapping", 8)?;
        st.serialize_field("n", &self.n)?;
        st.serialize_field("p", &1)?;
        st.serialize_field("q", &self.ofmap_cols)?;
        st.serialize_field("r", &1)?;
        st.serialize_field("t", &self.filters)?;
        st.serialize_field("e", &self.e)?;
        st.serialize_field("m", &self.filters)?;
        st.serialize_field("ifmap_resident", &true)?;
        st.end()
    }
}

fn glb_need(l: &Layer, batch: usize, mp: &OsMapping, rows_max: u64) -> GlbNeed {
    let n = mp.n.min(batch) as u64;
    let t = mp.filters.min(l.mg()) as u64;
    GlbNeed {
        filters: t * (l.cg() * l.r * l.s) as u64,
        ifmaps: n * l.cg() as u64 * rows_max * l.w as u64,
        psums: n * (mp.e.min(l.e()) * mp.ofmap_cols.min(l.f())) as u64 * t,
    }
}

/// Why an OS mapping does not fit, if it does not.
pub fn check(l: &Layer, hw: &HwConfig, batch: usize, mp: &OsMapping) -> Result<(), String> {
    let st = small_rf(hw);
    if [mp.n, mp.ofmap_cols, mp.filters, mp.e].contains(&0) {
        return Err("every mapping parameter must be at least 1".into());
    }
    if mp.n > batch || mp.e > l.e() || mp.ofmap_cols > l.f() || mp.filters > l.mg() {
        return Err(format!(
            "n, e, ofmap columns, filters must not exceed the batch {batch}, ofmap rows {}, columns {}, filters {}",
            l.e(),
            l.f(),
            l.mg()
        ));
    }
    if mp.e * mp.ofmap_cols > hw.array.rows || mp.filters > hw.array.cols {
        return Err(format!(
            "{} pixels x {} filters exceed the {}x{} array",
            mp.e * mp.ofmap_cols,
            mp.filters,
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
    let words = need.filters + need.ifmaps + need.psums;
    if words > st.glb_words as u64 {
        return Err(format!("GLB {} < {words} words", st.glb_words));
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

fn active_pes(l: &Layer, mp: &OsMapping) -> usize {
    mp.e.min(l.e()) * mp.ofmap_cols.min(l.f()) * mp.filters.min(l.mg())
}

/// Closed-form counts of an OS mapping (after checking that it fits).
pub fn evaluate(
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    mp: &OsMapping,
) -> Result<Evaluation, String> {
    check(l, hw, batch, mp)?;
    let d = Dims::new(l, batch);
    let (e_count, e_rows, _) = e_sums(l, mp.e);
    let s = Sums {
        n_count: Tiles::new(batch, mp.n).count(),
        e_count,
        e_rows,
        m_count: Tiles::new(l.mg(), mp.filters).count(),
        f_count: Tiles::new(l.f(), mp.ofmap_cols).count(),
    };
    let (nest, cycles) = assemble(l, &d, &s, layer_taps(l));
    Ok(Evaluation {
        mapping: (*mp).into(),
        counts: AccessCounts::place(&nest, hw.roles()),
        macs: d.macs,
        cycles,
        active_pes: active_pes(l, mp),
    })
}

/// One pass: one f-tile of one m-chunk of one e-strip, with its ifmap fetch.
#[derive(Debug, Clone, Copy)]
struct Pass {
    n: u64,
    m: u64,
    /// Pixels on the array (e x f-tile), and the real taps the pass reads per channel.
    pixels: u64,
    taps: u64,
    /// Ifmap words (first pass of a strip) and weight words (first of an m-chunk) fetched
    /// from DRAM into the GLB before the pass.
    ifmap_fetch: u64,
    weight_fetch: u64,
}

/// Every pass of `mp` in loop order (the loop nest in the module doc).
fn for_each_pass(
    l: &Layer,
    batch: usize,
    mp: &OsMapping,
    f: &mut dyn FnMut(&Pass) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let cg = l.cg() as u64;
    let crs = cg * (l.r * l.s) as u64;
    for _g in 0..l.groups {
        for (_, nn) in chunks(batch, mp.n) {
            let nn = nn as u64;
            for (e0, ee) in chunks(l.e(), mp.e) {
                let mut ifmap_fetch = nn * cg * strip_rows(l, e0, ee) * l.w as u64;
                let row_taps = taps(e0, ee, 0, l.r, l.stride, l.pad, l.h);
                for (_, mm) in chunks(l.mg(), mp.filters) {
                    let mut weight_fetch = mm as u64 * crs;
                    for (f0, ff) in chunks(l.f(), mp.ofmap_cols) {
                        let col_taps = taps(f0, ff, 0, l.s, l.stride, l.pad, l.w);
                        f(&Pass {
                            n: nn,
                            m: mm as u64,
                            pixels: (ee * ff) as u64,
                            taps: row_taps * col_taps,
                            ifmap_fetch,
                            weight_fetch,
                        })?;
                        ifmap_fetch = 0;
                        weight_fetch = 0;
                    }
                }
            }
        }
    }
    ControlFlow::Continue(())
}

/// What one pass moves, counted from its own tile; its MAC cycles.
fn pass_counts(l: &Layer, p: &Pass, a: &mut NestCounts) -> u64 {
    let cg = l.cg() as u64;
    let crs = cg * (l.r * l.s) as u64;
    let (nn, mm, pixels) = (p.n, p.m, p.pixels);
    a.dram.ifmaps.reads += p.ifmap_fetch;
    a.glb.ifmaps.writes += p.ifmap_fetch;
    a.dram.weights.reads += p.weight_fetch;
    a.glb.weights.writes += p.weight_fetch;
    let macs = nn * mm * pixels * crs;
    // Weights: read once, multicast down each column to its pixels.
    a.glb.weights.reads += mm * crs;
    a.array.weights.reads += mm * crs * pixels;
    a.rf.weights.writes += mm * crs * pixels;
    a.rf.weights.reads += macs;
    // Ifmaps: each real tap read once, multicast along the row.
    a.glb.ifmaps.reads += nn * cg * p.taps;
    a.array.ifmaps.reads += nn * crs * pixels * mm;
    // Psums stay in the RF; the finished ofmaps leave.
    a.rf.psums.reads += macs;
    a.rf.psums.writes += macs;
    let outs = nn * mm * pixels;
    a.array.psums.writes += outs;
    a.glb.psums.writes += outs;
    a.glb.psums.reads += outs;
    a.dram.psums.writes += outs;
    nn * crs
}

/// The pass as cycle mode steps it: C·R·S steps, each a weight per filter column and an ifmap
/// tap per image for each pixel row, n MACs per PE; the finished ofmaps drain after the last.
fn stream(l: &Layer, p: &Pass) -> StreamPass {
    StreamPass {
        preload: 0,
        steps: (l.cg() * l.r * l.s) as u64,
        step_macs: p.n,
        step_in: [p.m, p.n * p.pixels, 0],
        step_out: 0,
        drain: p.n * p.m * p.pixels,
    }
}

/// The OS loop nest executed literally, pass by pass.
pub fn walk(l: &Layer, hw: &HwConfig, batch: usize, mp: &OsMapping) -> (AccessCounts, u64) {
    let mut a = NestCounts::default();
    let mut cycles = 0;
    let _ = for_each_pass(l, batch, mp, &mut |p| {
        cycles += pass_counts(l, p, &mut a);
        ControlFlow::Continue(())
    });
    (AccessCounts::place(&a, hw.roles()), cycles)
}

/// Exhaustive search over (n, e, q, t); the cheapest by `cost` wins, ties broken by fewer
/// cycles, then by the smaller mapping tuple.
pub fn search(l: &Layer, hw: &HwConfig, batch: usize, cost: Cost) -> Option<Evaluation> {
    let d = Dims::new(l, batch);
    let st = small_rf(hw);
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
                    let mp = OsMapping {
                        n,
                        ofmap_cols: q,
                        filters: t,
                        e,
                    };
                    let need = glb_need(l, batch, &mp, rows_max);
                    if need.filters + need.ifmaps + need.psums > st.glb_words as u64 {
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
                        mapping: mp.into(),
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

/// Output-stationary behind the dataflow trait.
pub struct OutputStationary;

fn own(mp: &Mapping) -> Result<&OsMapping, String> {
    params(mp, Dataflow::OutputStationary)
}

impl DataflowModel for OutputStationary {
    fn check(&self, l: &Layer, hw: &HwConfig, batch: usize, mp: &Mapping) -> Result<(), String> {
        check(l, hw, batch, own(mp)?)
    }
    fn evaluate(
        &self,
        l: &Layer,
        hw: &HwConfig,
        batch: usize,
        mp: &Mapping,
    ) -> Result<Evaluation, String> {
        evaluate(l, hw, batch, own(mp)?)
    }
    fn walk(
        &self,
        l: &Layer,
        hw: &HwConfig,
        batch: usize,
        mp: &Mapping,
    ) -> Result<(AccessCounts, u64), String> {
        Ok(walk(l, hw, batch, own(mp)?))
    }
    fn search(&self, l: &Layer, hw: &HwConfig, batch: usize, cost: Cost) -> Option<Evaluation> {
        search(l, hw, batch, cost)
    }
    /// `search` evaluates every candidate: it is its own reference.
    fn search_reference(
        &self,
        l: &Layer,
        hw: &HwConfig,
        batch: usize,
        cost: Cost,
    ) -> Option<Evaluation> {
        search(l, hw, batch, cost)
    }
    fn passes(
        &self,
        l: &Layer,
        _hw: &HwConfig,
        batch: usize,
        mp: &Mapping,
        f: &mut dyn FnMut(&CyclePass) -> ControlFlow<()>,
    ) -> Result<(), String> {
        let _ = for_each_pass(l, batch, own(mp)?, &mut |p| {
            let mut counts = NestCounts::default();
            pass_counts(l, p, &mut counts);
            f(&CyclePass {
                counts,
                work: Work::Stream(stream(l, p)),
            })
        });
        Ok(())
    }
    fn buffers(
        &self,
        l: &Layer,
        hw: &HwConfig,
        batch: usize,
        mp: &Mapping,
    ) -> Result<Buffers, String> {
        let mp = own(mp)?;
        let (_, _, rows_max) = e_sums(l, mp.e);
        Ok(Buffers {
            need: glb_need(l, batch, mp, rows_max),
            glb_words: small_rf(hw).glb_words as u64,
            filter_words: 0,
            partition: None, // the equal-storage GLB (`dataflows::storage`)
        })
    }
    /// Weights stream with the steps, one per filter column.
    fn weights_before_macs(&self) -> bool {
        false
    }
    fn storage(&self, hw: &HwConfig) -> Storage {
        small_rf(hw)
    }
    fn no_mapping(&self) -> (String, String) {
        (
            "no output-stationary tiling fits the array, RF and GLB".into(),
            "enlarge glb.words or the array".into(),
        )
    }
}
