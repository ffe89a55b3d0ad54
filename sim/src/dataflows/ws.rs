//! Weight-stationary (WS, ISCA 2016 §V-A), and the channel x filter array shared with
//! no-local-reuse (`nlr`, §V-C).
//!
//! The array holds a block of weights of one filter position (r, s): array rows take `cc`
//! input channels, array columns `mc` groups of filters, and a WS PE keeps `k` filters' weights
//! of its channel in its RF (stationary for the whole pass). Each ifmap pixel is read from the
//! GLB once and multicast along its channel row; a psum enters the top of its filter column
//! (zero, or reloaded from the GLB), gains one MAC in each of the `cc` PEs on its way down
//! (spatial accumulation, no psum is kept in a PE), and leaves the array for the GLB.
//! NLR is the same array without RFs: every MAC's weight is read from the GLB and sent to its PE.
//!
//! Loop nest (outermost first), walked literally by [`walk`]:
//!
//! ```text
//! for g in groups
//!   for n-chunk (n images)
//!     for e-strip (e ofmap rows)            [resident: ifmap strip, all channels, DRAM -> GLB]
//!       for m-block (mb filters, psums in GLB)
//!         for c-chunk (cc channels)         [not resident: ifmap strip of these channels]
//!           for m-chunk (mc·k filters)
//!             for (r, s) in filter positions  = one pass:
//!               weights  DRAM -> GLB (mm·cc words); WS: GLB -> array -> RF once;
//!                        NLR: GLB -> array -> PE at every MAC
//!               ifmaps   GLB (non-padding taps) -> array, multicast to the PEs of a row
//!                        (WS: -> RF register, read once per MAC)
//!               psums    GLB -> array (not for the first c-chunk and position), down the
//!                        column (cc - 1 hops), array -> GLB; after the last c-chunk and
//!                        position, GLB -> DRAM
//! ```
//!
//! Mapping parameters: [`WsMapping`] (NLR: `nlr::NlrMapping`, the same without filters per PE).

use std::ops::ControlFlow;

use serde::ser::SerializeStruct;
use serde::Serialize;

use crate::arch::HwConfig;
use crate::counts::{AccessCounts, NestCounts};
use crate::cycle::{Buffers, CyclePass, StreamPass, Work};
use crate::dataflow::{params, Cost, Dataflow, DataflowModel, Mapping};
use crate::dataflows::{chunks, keep_best, layer_taps, small_rf, taps, Storage};
use crate::rs::{chunk_sums, e_sums, strip_rows, Dims, GlbNeed};
use crate::tiles::{balanced, Tiles};
use crate::workload::Layer;
use crate::Evaluation;

/// A weight-stationary mapping. Field order is the tie-break order (`select::better`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WsMapping {
    /// Images per pass.
    pub n: usize,
    /// Filters whose weights a PE keeps (k).
    pub filters_per_pe: usize,
    /// Input channels per pass: array rows used (cc).
    pub channels: usize,
    /// Filter groups per pass: array columns used (mc; a column holds k filters).
    pub columns: usize,
    /// Ofmap rows per strip.
    pub e: usize,
    /// Filters whose psums the GLB holds while the channel loop runs (mb, a multiple of
    /// columns x filters_per_pe).
    pub block: usize,
    /// The GLB holds the strip's ifmaps of every channel (fetched from DRAM once per strip).
    pub ifmap_resident: bool,
}

impl crate::dataflow::Params for WsMapping {
    fn images(&self) -> usize {
        self.n
    }
    fn ifmap_resident(&self) -> bool {
        self.ifmap_resident
    }
}

/// The JSON keys of the mappings Ember has always written (row-stationary's letters: `r`
/// channels, `t` columns, `q` filters per PE, `m` block, `p` = 1), so that existing outputs and
/// the scripts reading them keep working.
impl Serialize for WsMapping {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("WsMapping", 8)?;
        st.serialize_field("n", &self.n)?;
        st.serialize_field("p", &1)?;
        st.serialize_field("q", &self.filters_per_pe)?;
        st.serialize_field("r", &self.channels)?;
        st.serialize_field("t", &self.columns)?;
        st.serialize_field("e", &self.e)?;
        st.serialize_field("m", &self.block)?;
        st.serialize_field("ifmap_resident", &self.ifmap_resident)?;
        st.end()
    }
}

/// What tells the two channel x filter dataflows apart: a property table, not a match.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ArrayKind {
    pub dataflow: Dataflow,
    /// PEs keep their weights in an RF (WS); without one (NLR) every MAC's weight comes from
    /// the GLB.
    pub rf: bool,
    /// The mapping of this dataflow with the parameters of `m`.
    pub wrap: fn(WsMapping) -> Mapping,
    /// The on-chip storage it sees.
    pub storage: fn(&HwConfig) -> Storage,
}

pub(crate) const WS: ArrayKind = ArrayKind {
    dataflow: Dataflow::WeightStationary,
    rf: true,
    wrap: Mapping::WeightStationary,
    storage: small_rf,
};

/// Words the GLB must hold for a mapping (strip rows of the tallest strip given).
fn glb_need(l: &Layer, batch: usize, mp: &WsMapping, rows_max: u64) -> GlbNeed {
    let (cg, mg) = (l.cg(), l.mg());
    let n = mp.n.min(batch) as u64;
    let cc = mp.channels.min(cg) as u64;
    let chans = if mp.ifmap_resident { cg as u64 } else { cc };
    GlbNeed {
        filters: (mp.columns * mp.filters_per_pe).min(mg) as u64 * cc,
        ifmaps: n * chans * rows_max * l.w as u64,
        psums: n * mp.block.min(mg) as u64 * mp.e.min(l.e()) as u64 * l.f() as u64,
    }
}

pub(crate) fn check(
    v: &ArrayKind,
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    mp: &WsMapping,
) -> Result<(), String> {
    let (cg, mg) = (l.cg(), l.mg());
    let st = (v.storage)(hw);
    let k = mp.filters_per_pe;
    if [mp.n, k, mp.channels, mp.columns, mp.e, mp.block].contains(&0) {
        return Err("every mapping parameter must be at least 1".into());
    }
    if mp.n > batch || mp.e > l.e() || mp.channels > cg || k > mg {
        return Err(format!(
            "n, e, channels, filters per PE must not exceed the batch {batch}, ofmap rows {}, channels {cg}, filters {mg}",
            l.e()
        ));
    }
    if mp.channels > hw.array.rows || mp.columns > hw.array.cols {
        return Err(format!(
            "{} channels x {} filter groups exceed the {}x{} array",
            mp.channels, mp.columns, hw.array.rows, hw.array.cols
        ));
    }
    if mp.columns > mg.div_ceil(k) {
        return Err(format!(
            "{} columns would leave one without filters",
            mp.columns
        ));
    }
    // k stationary weights + one ifmap register.
    if v.rf && k + 1 > st.rf_words {
        return Err(format!(
            "RF {} words < k + 1 = {} (k weights and an ifmap)",
            st.rf_words,
            k + 1
        ));
    }
    let fp = mp.columns * k;
    if !mp.block.is_multiple_of(fp) || mp.block > mg.div_ceil(fp) * fp {
        return Err(format!(
            "the psum block of {} filters must be a multiple of columns x k = {fp}, at most the filters rounded up",
            mp.block
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

/// Per-dimension sums of the closed form.
#[derive(Clone, Copy)]
struct Sums {
    n_count: u64,
    e_count: u64,
    e_rows: u64,
    /// c-chunks.
    c_count: u64,
    /// m-blocks (ifmap refetches when not resident).
    blocks: u64,
    /// m-chunks over all blocks: count, Σ columns used, Σ most filters in a PE.
    m_count: u64,
    cols: u64,
    k_max: u64,
}

fn m_sums(mg: u64, mb: u64, k: u64, mc: u64) -> (u64, u64, u64, u64) {
    let blocks = Tiles::new(mg as usize, mb as usize);
    let (mut count, mut cols, mut kmax) = (0, 0, 0);
    for (b, times) in [(blocks.size, blocks.full), (blocks.rem, 1)] {
        if b == 0 || times == 0 {
            continue;
        }
        let (c, u, m) = chunk_sums(b, k, mc);
        count += c * times;
        cols += u * times;
        kmax += m * times;
    }
    (blocks.count(), count, cols, kmax)
}

fn assemble(v: &ArrayKind, l: &Layer, d: &Dims, s: &Sums, taps: (u64, u64)) -> (NestCounts, u64) {
    let mut a = NestCounts::default();
    let rs = d.r * d.s;
    let filt = d.g * d.m * d.c * rs;
    let w_fetch = filt * s.n_count * s.e_count;
    a.dram.weights.reads = w_fetch;
    a.glb.weights.writes = w_fetch;
    if v.rf {
        a.glb.weights.reads = w_fetch;
        a.array.weights.reads = w_fetch;
        a.rf.weights.writes = w_fetch;
        a.rf.weights.reads = d.macs;
    } else {
        a.glb.weights.reads = d.macs;
        a.array.weights.reads = d.macs;
    }
    // Ifmaps.
    let strip = d.g * d.n * d.c * l.w as u64 * s.e_rows;
    a.dram.ifmaps.reads = strip * s.blocks;
    a.glb.ifmaps.writes = a.dram.ifmaps.reads;
    a.glb.ifmaps.reads = d.g * d.n * d.c * taps.0 * taps.1 * s.m_count;
    a.array.ifmaps.reads = d.g * d.n * d.e * d.f * d.c * rs * s.cols;
    if v.rf {
        a.rf.ifmaps.writes = a.array.ifmaps.reads;
        a.rf.ifmaps.reads = d.macs;
    }
    // Psums: one trip down a column per (c-chunk, position).
    let ofmap = d.g * d.n * d.m * d.e * d.f;
    let trips = ofmap * s.c_count * rs;
    a.array.psums.writes = trips;
    a.glb.psums.writes = trips;
    a.array.psums.reads = ofmap * (rs * d.c - 1);
    a.glb.psums.reads = trips; // trips - ofmap reloads + ofmap drains
    a.dram.psums.writes = ofmap;
    let cycles = d.g * d.n * d.e * d.f * rs * s.c_count * s.k_max;
    (a, cycles)
}

fn active_pes(l: &Layer, mp: &WsMapping) -> usize {
    let k = mp.filters_per_pe;
    mp.channels.min(l.cg()) * (mp.columns * k).min(l.mg()).div_ceil(k)
}

/// Closed-form counts of a mapping (after checking that it fits).
pub(crate) fn evaluate(
    v: &ArrayKind,
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    mp: &WsMapping,
) -> Result<Evaluation, String> {
    check(v, l, hw, batch, mp)?;
    let d = Dims::new(l, batch);
    let (e_count, e_rows, _) = e_sums(l, mp.e);
    let (k, mc) = (mp.filters_per_pe as u64, mp.columns as u64);
    let (blocks, m_count, cols, k_max) = m_sums(d.m, mp.block as u64, k, mc);
    let s = Sums {
        n_count: Tiles::new(batch, mp.n).count(),
        e_count,
        e_rows,
        c_count: Tiles::new(d.c as usize, mp.channels).count(),
        blocks: if mp.ifmap_resident { 1 } else { blocks },
        m_count,
        cols,
        k_max,
    };
    let (nest, cycles) = assemble(v, l, &d, &s, layer_taps(l));
    Ok(Evaluation {
        mapping: (v.wrap)(*mp),
        counts: AccessCounts::place(&nest, hw.roles()),
        macs: d.macs,
        cycles,
        active_pes: active_pes(l, mp),
    })
}

/// One pass: one filter position (i, j) of one m-chunk, with the tiles of the loops around it.
#[derive(Debug, Clone, Copy)]
struct Pass {
    n: u64,
    e0: usize,
    e: usize,
    /// Channels, filters, filter columns used and the most filters in one PE.
    c: u64,
    m: u64,
    cols_used: u64,
    k_max: u64,
    /// Filter position.
    i: usize,
    j: usize,
    /// Ifmap words fetched from DRAM into the GLB before the pass.
    fetch: u64,
    /// Psums come in from the GLB (not the first channel chunk's first position).
    reload: bool,
    /// The pass closes its filters' accumulation: their ofmaps leave for DRAM.
    drains: bool,
}

/// Every pass of `mp` in loop order (the loop nest in the module doc).
fn for_each_pass(
    l: &Layer,
    batch: usize,
    mp: &WsMapping,
    f: &mut dyn FnMut(&Pass) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let (cg, mg) = (l.cg(), l.mg());
    let k = mp.filters_per_pe;
    let w = l.w as u64;
    for _g in 0..l.groups {
        for (_, nn) in chunks(batch, mp.n) {
            let nn = nn as u64;
            for (e0, ee) in chunks(l.e(), mp.e) {
                let rows = strip_rows(l, e0, ee);
                let mut first_of_strip = true;
                for (_, bb) in chunks(mg, mp.block) {
                    for (c0, cc) in chunks(cg, mp.channels) {
                        let mut first_of_chunk = true;
                        for (_, mm) in chunks(bb, mp.columns * k) {
                            for (i, j) in (0..l.r).flat_map(|i| (0..l.s).map(move |j| (i, j))) {
                                let fetch =
                                    match (mp.ifmap_resident, first_of_strip, first_of_chunk) {
                                        (true, true, _) => nn * cg as u64 * rows * w,
                                        (false, _, true) => nn * cc as u64 * rows * w,
                                        _ => 0,
                                    };
                                first_of_strip = false;
                                first_of_chunk = false;
                                f(&Pass {
                                    n: nn,
                                    e0,
                                    e: ee,
                                    c: cc as u64,
                                    m: mm as u64,
                                    cols_used: mm.div_ceil(k) as u64,
                                    k_max: mm.min(k) as u64,
                                    i,
                                    j,
                                    fetch,
                                    reload: c0 > 0 || i > 0 || j > 0,
                                    drains: c0 + cc == cg && i + 1 == l.r && j + 1 == l.s,
                                })?;
                            }
                        }
                    }
                }
            }
        }
    }
    ControlFlow::Continue(())
}

/// What one pass moves, counted from its own tile; its MAC cycles.
fn pass_counts(v: &ArrayKind, l: &Layer, p: &Pass, a: &mut NestCounts) -> u64 {
    let f = l.f() as u64;
    let (nn, mm, cc, ee) = (p.n, p.m, p.c, p.e as u64);
    let macs = nn * mm * cc * ee * f;
    a.dram.ifmaps.reads += p.fetch;
    a.glb.ifmaps.writes += p.fetch;
    // Weights of this position.
    let words = mm * cc;
    a.dram.weights.reads += words;
    a.glb.weights.writes += words;
    if v.rf {
        a.glb.weights.reads += words;
        a.array.weights.reads += words;
        a.rf.weights.writes += words;
        a.rf.weights.reads += macs;
    } else {
        a.glb.weights.reads += macs;
        a.array.weights.reads += macs;
    }
    // Ifmaps: one GLB read per real tap, one delivery per PE.
    let real = taps(p.e0, p.e, p.i, 1, l.stride, l.pad, l.h)
        * taps(0, l.f(), p.j, 1, l.stride, l.pad, l.w);
    a.glb.ifmaps.reads += nn * cc * real;
    let delivered = nn * cc * ee * f * p.cols_used;
    a.array.ifmaps.reads += delivered;
    if v.rf {
        a.rf.ifmaps.writes += delivered;
        a.rf.ifmaps.reads += macs;
    }
    // Psums: in (reload), down cc PEs, out.
    let outs = nn * mm * ee * f;
    let reload = u64::from(p.reload);
    a.glb.psums.reads += outs * reload;
    a.array.psums.reads += outs * (reload + cc - 1);
    a.array.psums.writes += outs;
    a.glb.psums.writes += outs;
    if p.drains {
        a.glb.psums.reads += outs;
        a.dram.psums.writes += outs;
    }
    nn * ee * f * p.k_max
}

/// The pass as cycle mode steps it: WS preloads the pass's weights into the RFs; then each
/// ofmap pixel is a step (an ifmap word per channel row, the psums of the pass's filters in,
/// down and out; k MACs on the busiest PE); NLR sends each step's weights with it.
fn stream(v: &ArrayKind, l: &Layer, p: &Pass) -> StreamPass {
    let weights = p.m * p.c;
    StreamPass {
        preload: if v.rf { weights } else { 0 },
        steps: p.n * p.e as u64 * l.f() as u64,
        step_macs: p.k_max,
        step_in: [
            if v.rf { 0 } else { weights },
            p.c,
            p.m * u64::from(p.reload),
        ],
        step_out: p.m,
        drain: 0,
    }
}

/// The loop nest executed literally, pass by pass: counts and cycles.
pub(crate) fn walk(
    v: &ArrayKind,
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    mp: &WsMapping,
) -> (AccessCounts, u64) {
    let mut a = NestCounts::default();
    let mut cycles = 0;
    let _ = for_each_pass(l, batch, mp, &mut |p| {
        cycles += pass_counts(v, l, p, &mut a);
        ControlFlow::Continue(())
    });
    (AccessCounts::place(&a, hw.roles()), cycles)
}

/// The passes of `mp` for cycle mode.
pub(crate) fn passes(
    v: &ArrayKind,
    l: &Layer,
    batch: usize,
    mp: &WsMapping,
    f: &mut dyn FnMut(&CyclePass) -> ControlFlow<()>,
) {
    let _ = for_each_pass(l, batch, mp, &mut |p| {
        let mut counts = NestCounts::default();
        pass_counts(v, l, p, &mut counts);
        f(&CyclePass {
            counts,
            work: Work::Stream(stream(v, l, p)),
        })
    });
}

/// The GLB tiles of `mp`, in the dataflow's one shared GLB.
pub(crate) fn buffers(
    v: &ArrayKind,
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    mp: &WsMapping,
) -> Buffers {
    let (_, _, rows_max) = e_sums(l, mp.e);
    Buffers {
        need: glb_need(l, batch, mp, rows_max),
        glb_words: (v.storage)(hw).glb_words as u64,
        filter_words: 0,
        partition: None, // the equal-storage GLB (`dataflows::storage`)
    }
}

/// Exhaustive search over (cc, k, mc) x (e, n, residency); mb = the most psums that fit.
///
/// Pruning that never changes the result for a cost that does not fall when a count rises
/// (every energy objective): the spatial choice (cc, k, mc) fixes every count but the weight
/// refetches (∝ n-chunks x e-strips) and the ifmap DRAM fetches (∝ strip rows x m-blocks),
/// and fixes the cycles; the cheapest conceivable temporal choice (one n-chunk, one e-strip,
/// one m-block) bounds its cost from below, and a spatial choice whose bound is already worse
/// than the best mapping found is skipped.
pub(crate) fn search(
    v: &ArrayKind,
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    cost: Cost,
) -> Option<Evaluation> {
    search_space(v, l, hw, batch, cost, true)
}

/// The search, pruning by the bounds above or (`prune` false) evaluating every candidate.
/// Loops, outermost first: channels per array row (cc), filters per PE (k), filter columns
/// (mc), then the temporal choices; candidates are visited in this order in both modes, so
/// ties break alike.
fn search_space(
    v: &ArrayKind,
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    cost: Cost,
    prune: bool,
) -> Option<Evaluation> {
    let space = Space {
        v,
        l,
        hw,
        batch,
        d: Dims::new(l, batch),
        taps: layer_taps(l),
        cost,
        prune,
        min_rows: e_sums(l, l.e()).1,
        glb: (v.storage)(hw).glb_words as u64,
        temporal: temporal_choices(l, batch),
    };
    let ks = filters_per_pe(v, l, hw);
    let mut best: Option<(f64, Evaluation)> = None;
    for cc in balanced(l.cg()).into_iter().filter(|&c| c <= hw.array.rows) {
        for &k in &ks {
            space.filters(cc, k, &mut best);
        }
    }
    best.map(|(_, ev)| ev)
}

/// Filters per PE: as many as the RF holds beside an ifmap; one without an RF.
fn filters_per_pe(v: &ArrayKind, l: &Layer, hw: &HwConfig) -> Vec<usize> {
    if v.rf {
        let rf_words = (v.storage)(hw).rf_words;
        balanced(l.mg())
            .into_iter()
            .filter(|&k| k < rf_words)
            .collect()
    } else {
        vec![1]
    }
}

/// A temporal choice: `n` images and `e` ofmap rows per strip, with the sums they fix.
struct Temporal {
    e: usize,
    n: usize,
    e_count: u64,
    e_rows: u64,
    rows_max: u64,
    n_count: u64,
}

/// Every (e, n), e outermost: the same for every spatial choice, so listed once.
fn temporal_choices(l: &Layer, batch: usize) -> Vec<Temporal> {
    let mut temporal = Vec::new();
    for e in balanced(l.e()) {
        let (e_count, e_rows, rows_max) = e_sums(l, e);
        for n in balanced(batch) {
            temporal.push(Temporal {
                e,
                n,
                e_count,
                e_rows,
                rows_max,
                n_count: Tiles::new(batch, n).count(),
            });
        }
    }
    temporal
}

/// What every candidate of one layer's search shares.
struct Space<'a> {
    v: &'a ArrayKind,
    l: &'a Layer,
    hw: &'a HwConfig,
    batch: usize,
    d: Dims,
    taps: (u64, u64),
    cost: Cost<'a>,
    prune: bool,
    /// Ifmap rows read by one strip of the whole map: the fewest any e reads.
    min_rows: u64,
    /// The GLB's words in the dataflow's share of the config.
    glb: u64,
    temporal: Vec<Temporal>,
}

impl Space<'_> {
    /// Closed-form evaluation of `mp` from its per-dimension sums.
    fn evaluate(&self, mp: WsMapping, s: &Sums) -> Evaluation {
        let (nest, cycles) = assemble(self.v, self.l, &self.d, s, self.taps);
        Evaluation {
            mapping: (self.v.wrap)(mp),
            counts: AccessCounts::place(&nest, self.hw.roles()),
            macs: self.d.macs,
            cycles,
            active_pes: active_pes(self.l, &mp),
        }
    }

    /// Whether a bound (`mp` with the cheapest conceivable sums `s`) already costs more than
    /// the best mapping found, so nothing it stands for can win. Never when not pruning, and
    /// not before a first mapping is found.
    fn beaten(&self, best: &Option<(f64, Evaluation)>, mp: WsMapping, s: &Sums) -> bool {
        match (self.prune, best) {
            (true, Some((bc, _))) => (self.cost)(&self.evaluate(mp, s)) > *bc,
            _ => false,
        }
    }

    /// The candidates with `cc` channels per array row and `k` filters per PE, after a bound
    /// over every column count: the fewest filter chunks (the widest mc), columns and busiest
    /// PE, one n-chunk, e-strip and m-block.
    fn filters(&self, cc: usize, k: usize, best: &mut Option<(f64, Evaluation)>) {
        let (l, d, batch) = (self.l, &self.d, self.batch);
        let mg = l.mg();
        let c_count = Tiles::new(l.cg(), cc).count();
        let mcs: Vec<usize> = balanced(mg.div_ceil(k))
            .into_iter()
            .filter(|&t| t <= self.hw.array.cols)
            .collect();
        if let Some(&widest) = mcs.first() {
            let s = Sums {
                n_count: 1,
                e_count: 1,
                e_rows: self.min_rows,
                c_count,
                blocks: 1,
                m_count: d.m.div_ceil((k * widest) as u64),
                cols: d.m.div_ceil(k as u64),
                k_max: k.min(mg) as u64,
            };
            let mapping = WsMapping {
                n: batch,
                filters_per_pe: k,
                channels: cc,
                columns: widest,
                e: l.e(),
                block: k * widest,
                ifmap_resident: true,
            };
            if self.beaten(best, mapping, &s) {
                return;
            }
        }
        for mc in mcs {
            self.columns(cc, c_count, k, mc, best);
        }
    }

    /// The candidates of one spatial choice (cc, k, mc), after its own bound (one n-chunk,
    /// e-strip and m-block): every temporal choice, with ifmaps resident or not.
    fn columns(
        &self,
        cc: usize,
        c_count: u64,
        k: usize,
        mc: usize,
        best: &mut Option<(f64, Evaluation)>,
    ) {
        let fp = mc * k;
        // Chunks of fp filters: the same whatever the m-blocks (multiples of fp).
        let (m_count, cols, k_max) = chunk_sums(self.d.m, k as u64, mc as u64);
        let base = Sums {
            n_count: 1,
            e_count: 1,
            e_rows: self.min_rows,
            c_count,
            blocks: 1,
            m_count,
            cols,
            k_max,
        };
        let spatial = WsMapping {
            n: self.batch,
            filters_per_pe: k,
            channels: cc,
            columns: mc,
            e: self.l.e(),
            block: fp,
            ifmap_resident: true,
        };
        if self.beaten(best, spatial, &base) {
            return;
        }
        for t in &self.temporal {
            for resident in [true, false] {
                let Some((mb, blocks)) = self.m_block(t, cc, fp, resident) else {
                    continue;
                };
                let mp = WsMapping {
                    n: t.n,
                    e: t.e,
                    block: mb,
                    ifmap_resident: resident,
                    ..spatial
                };
                let s = Sums {
                    n_count: t.n_count,
                    e_count: t.e_count,
                    e_rows: t.e_rows,
                    blocks,
                    ..base
                };
                keep_best(best, self.evaluate(mp, &s), self.cost);
            }
        }
    }

    /// The m-block (filters whose psums the GLB keeps) and the number of m-blocks. Resident
    /// ifmaps (the strip of every channel) leave room for one m-chunk's psums; otherwise the
    /// GLB holds as many whole m-chunks' psums as fit beside the strip of `cc` channels and the
    /// chunk's weights. `None` when not even one m-chunk's psums fit.
    fn m_block(&self, t: &Temporal, cc: usize, fp: usize, resident: bool) -> Option<(usize, u64)> {
        let l = self.l;
        let (cg, mg) = (l.cg(), l.mg());
        let (f, w) = (l.f() as u64, l.w as u64);
        let weights = (fp.min(mg) * cc) as u64;
        let (n64, e64) = (t.n as u64, t.e as u64);
        let chans = if resident { cg } else { cc } as u64;
        let fixed = n64 * chans * t.rows_max * w + weights;
        let free = self.glb.checked_sub(fixed)?;
        let fit = (free / (n64 * e64 * f)) as usize / fp * fp;
        if fit < fp {
            return None;
        }
        Some(if resident {
            (fp, 1)
        } else {
            let mb = fit.min(mg.div_ceil(fp) * fp);
            (mb, Tiles::new(mg, mb).count())
        })
    }
}

/// Weight-stationary behind the dataflow trait.
pub struct WeightStationary;

fn own(mp: &Mapping) -> Result<&WsMapping, String> {
    params(mp, Dataflow::WeightStationary)
}

impl DataflowModel for WeightStationary {
    fn check(&self, l: &Layer, hw: &HwConfig, batch: usize, mp: &Mapping) -> Result<(), String> {
        check(&WS, l, hw, batch, own(mp)?)
    }
    fn evaluate(
        &self,
        l: &Layer,
        hw: &HwConfig,
        batch: usize,
        mp: &Mapping,
    ) -> Result<Evaluation, String> {
        evaluate(&WS, l, hw, batch, own(mp)?)
    }
    fn walk(
        &self,
        l: &Layer,
        hw: &HwConfig,
        batch: usize,
        mp: &Mapping,
    ) -> Result<(AccessCounts, u64), String> {
        Ok(walk(&WS, l, hw, batch, own(mp)?))
    }
    fn search(&self, l: &Layer, hw: &HwConfig, batch: usize, cost: Cost) -> Option<Evaluation> {
        search(&WS, l, hw, batch, cost)
    }
    fn search_reference(
        &self,
        l: &Layer,
        hw: &HwConfig,
        batch: usize,
        cost: Cost,
    ) -> Option<Evaluation> {
        reference(&WS, l, hw, batch, cost)
    }
    fn passes(
        &self,
        l: &Layer,
        _hw: &HwConfig,
        batch: usize,
        mp: &Mapping,
        f: &mut dyn FnMut(&CyclePass) -> ControlFlow<()>,
    ) -> Result<(), String> {
        passes(&WS, l, batch, own(mp)?, f);
        Ok(())
    }
    fn buffers(
        &self,
        l: &Layer,
        hw: &HwConfig,
        batch: usize,
        mp: &Mapping,
    ) -> Result<Buffers, String> {
        Ok(buffers(&WS, l, hw, batch, own(mp)?))
    }
    fn weights_before_macs(&self) -> bool {
        true
    }
    fn storage(&self, hw: &HwConfig) -> Storage {
        (WS.storage)(hw)
    }
    fn no_mapping(&self) -> (String, String) {
        no_mapping(&WS)
    }
}

/// Every candidate of `search`'s space evaluated, for any cost.
pub(crate) fn reference(
    v: &ArrayKind,
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    cost: Cost,
) -> Option<Evaluation> {
    search_space(v, l, hw, batch, cost, false)
}

pub(crate) fn no_mapping(v: &ArrayKind) -> (String, String) {
    (
        format!("no {} tiling fits the array, RF and GLB", v.dataflow),
        "enlarge glb.words or the array".into(),
    )
}
