//! Row-stationary dataflow: the capacity rules, the analytic access counts of a mapping, and the
//! exhaustive mapping search (`search`).
//!
//! Loop nest of one layer (outermost first), which both simulation modes follow:
//!
//! ```text
//! for group chunk (u groups, side by side on the array; u = 1 without [mapper] group_sets)
//!   for n-chunk (n images)
//!     for e-strip (e ofmap rows)            [resident: ifmap strip, all channels, DRAM -> GLB]
//!       for m-chunk (m filters, psums in GLB)
//!         for c-chunk (q·r channels)        [not resident: ifmap strip of these channels, DRAM -> GLB]
//!           for filter segment (rows x cols of the filter; one, the whole filter, if it fits)
//!             for filter chunk (p·t filters)  = one processing pass:
//!               filters  DRAM -> filter GLB -> array (each weight to the e PEs of its row) -> spad
//!               ifmaps   GLB -> array (each PE gets its q rows, n images) -> spad
//!               psums    GLB -> array (except in the first c-chunk's first segment), up the
//!                        columns, -> GLB
//!         ofmaps of the m-chunk GLB -> DRAM
//! ```
//!
//! A filter taller than the array or wider than the spads is split into segments
//! (`segment`): each runs as its own passes on a PE set as tall as its rows, reading the input
//! rows and columns its taps need, and its psums accumulate in the GLB like a channel chunk's.
//!
//! The u groups of a pass share nothing: each has its own filters, ifmaps and psums, so a pass
//! moves u times one group's words and the counts do not depend on u; only the time does (the
//! groups' MACs run in parallel) and the GLB holds u groups' tiles.
//!
//! Every count is a product of per-dimension sums over chunks (`Tiles`), so the analytic model is
//! exact, including partial last chunks.

pub mod mapping;
mod model;
pub mod noc;
mod search;
pub mod segment;

pub use mapping::{RsMapping, Segment};
pub use model::RowStationary;
pub use search::{search, search_reference};
pub use segment::{segment_of, segments};

use crate::arch::{HwConfig, SetFitting};
use crate::counts::{AccessCounts, DataType, NestCounts, Roles};
use crate::tiles::{balanced, Tiles};
use crate::workload::Layer;
use crate::Evaluation;

use segment::{seg_sums, segment_rows, SegSums};

/// Layer dimensions as u64, per group.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dims {
    pub g: u64,
    pub n: u64,
    pub c: u64,
    pub m: u64,
    pub e: u64,
    pub f: u64,
    pub r: u64,
    pub s: u64,
    pub w: u64,
    pub macs: u64,
}

impl Dims {
    pub fn new(l: &Layer, batch: usize) -> Dims {
        Dims {
            g: l.groups as u64,
            n: batch as u64,
            c: l.cg() as u64,
            m: l.mg() as u64,
            e: l.e() as u64,
            f: l.f() as u64,
            r: l.r as u64,
            s: l.s as u64,
            w: l.w as u64,
            macs: l.macs(batch),
        }
    }
}

/// Unpadded input rows that ofmap rows [e0, e0 + len) read (through the whole filter).
pub fn strip_rows(l: &Layer, e0: usize, len: usize) -> u64 {
    segment_rows(l, e0, len, 0, l.r)
}

/// Per-dimension sums the counts need.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sums {
    /// Group chunks (passes of u groups side by side): ceil(G / u).
    pub g_count: u64,
    /// n-chunks.
    pub n_count: u64,
    /// e-strips, and Σ unpadded input rows over strips.
    pub e_count: u64,
    pub e_rows: u64,
    /// filter chunks (p·t): count, Σ filter sets used.
    pub m_count: u64,
    pub t_used: u64,
    /// With `simd` MAC lanes per PE: Σ over chunks of the busiest PE's MAC steps per ifmap,
    /// ceil(p_max/simd) (the largest per-PE filter count at simd 1), and Σ over chunks and
    /// filter sets of each PE's ifmap reads per ifmap, ceil(p/simd) (the filters, m, at simd 1).
    pub p_lanes: u64,
    pub p_reads: u64,
    /// channel chunks (q·r): count, Σ channel sets used, Σ largest per-PE channel count.
    pub c_count: u64,
    pub r_used: u64,
    pub q_max: u64,
    /// How many times the ifmap strips come from DRAM.
    pub ifmap_fetches: u64,
    /// Filter segments.
    pub seg: SegSums,
}

pub(crate) fn e_sums(l: &Layer, e: usize) -> (u64, u64, u64) {
    let tiles = Tiles::new(l.e(), e);
    let mut rows = 0;
    let mut max = 0;
    let mut e0 = 0;
    for len in tiles.iter() {
        let k = strip_rows(l, e0, len as usize);
        rows += k;
        max = max.max(k);
        e0 += len as usize;
    }
    (tiles.count(), rows, max)
}

/// (count, Σ sets used, Σ largest per-PE share) of chunks of `per_pe * sets` over `dim`.
pub(crate) fn chunk_sums(dim: u64, per_pe: u64, sets: u64) -> (u64, u64, u64) {
    let tiles = Tiles::new(dim as usize, (per_pe * sets) as usize);
    (
        tiles.count(),
        tiles.sum(|c| c.div_ceil(per_pe)),
        tiles.sum(|c| c.min(per_pe)),
    )
}

/// The filter-side sums of chunks of `p·t` filters over `dim`: the count and Σ sets used, as
/// `chunk_sums`, then `Sums::p_lanes` and `Sums::p_reads` for `simd` lanes (at simd 1, the Σ
/// largest per-PE share and `dim`).
pub(crate) fn m_chunk_sums(dim: u64, p: u64, t: u64, simd: u64) -> MSide {
    let (count, t_used, p_max) = chunk_sums(dim, p, t);
    if simd == 1 {
        return MSide {
            count,
            t_used,
            lanes: p_max,
            reads: dim,
        };
    }
    let tiles = Tiles::new(dim as usize, (p * t) as usize);
    MSide {
        count,
        t_used,
        lanes: tiles.sum(|c| c.min(p).div_ceil(simd)),
        reads: tiles.sum(|c| chunk_ifmap_reads(c, p, simd)),
    }
}

/// Ifmap reads per ifmap a chunk of `c` filters takes over PEs of `p` filters and `simd` lanes:
/// each full PE ceil(p / simd), the last PE ceil(its rest / simd) (`c` at simd 1).
pub(crate) fn chunk_ifmap_reads(c: u64, p: u64, simd: u64) -> u64 {
    (c / p) * p.div_ceil(simd) + (c % p).div_ceil(simd)
}

/// The filter side of a mapping's sums (`m_chunk_sums`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MSide {
    pub count: u64,
    pub t_used: u64,
    pub lanes: u64,
    pub reads: u64,
}

/// Counts and cycles of a mapping, from the per-dimension sums.
pub(crate) fn assemble(d: &Dims, s: &Sums) -> (NestCounts, u64) {
    let mut a = NestCounts::default();
    let filt = d.g * d.m * d.c * d.r * d.s;
    // Weights: each pass fetches its filters once; each weight reaches the e PEs of its row.
    let w_fetch = filt * s.n_count * s.e_count;
    a.dram.weights.reads = w_fetch;
    a.glb.weights.writes = w_fetch;
    a.glb.weights.reads = w_fetch;
    a.array.weights.reads = filt * s.n_count * d.e;
    a.rf.weights.writes = a.array.weights.reads;
    a.rf.weights.reads = d.macs;
    // Ifmaps: the strip (all rows the filter reads) comes from DRAM; each pass reads the rows
    // and columns of its segment once from the GLB and multicasts them; every PE receives its
    // segment's padded row for each of its channels and images, once per filter set.
    let strip = d.g * d.n * d.c * d.w * s.e_rows;
    a.dram.ifmaps.reads = strip * s.ifmap_fetches;
    a.glb.ifmaps.writes = a.dram.ifmaps.reads;
    a.glb.ifmaps.reads = d.g * d.n * d.c * s.seg.cols * s.seg.rows * s.m_count;
    a.array.ifmaps.reads = d.g * d.n * s.seg.width * d.r * d.e * d.c * s.t_used;
    a.rf.ifmaps.writes = a.array.ifmaps.reads;
    // One ifmap read feeds the PE's `simd` lanes: each of its p filters' MACs at simd 1.
    a.rf.ifmaps.reads = if s.p_reads == d.m {
        d.macs
    } else {
        d.macs / d.m * s.p_reads
    };
    // Psums: a segment's rows x r_used PEs per column chain (R·r_used over the row tiles), fed
    // from the GLB except in the first channel chunk's first segment.
    let ofmap = d.g * d.n * d.m * d.e * d.f;
    let trips = s.c_count * s.seg.k_r * s.seg.k_s;
    a.rf.psums.reads = d.macs;
    a.rf.psums.writes = d.macs;
    a.array.psums.reads = ofmap * (d.r * s.seg.k_s * s.r_used - 1);
    a.array.psums.writes = ofmap * trips;
    a.glb.psums.writes = ofmap * trips;
    a.glb.psums.reads = ofmap * trips; // (trips - 1) psum reloads + 1 ofmap drain
    a.dram.psums.writes = ofmap;
    // The groups of a pass run in parallel: time counts group chunks, not groups.
    let cycles = s.g_count * d.n * s.e_count * d.f * s.seg.k_r * d.s * s.p_lanes * s.q_max;
    (a, cycles)
}

/// How many PE sets of `rows` filter rows x `e` ofmap rows fit the array (a set wider than the
/// array is folded into stacked segments of its columns).
pub(crate) fn set_capacity(rows: usize, hw: &HwConfig, e: usize) -> Option<usize> {
    let fold = e.div_ceil(hw.array.cols);
    let tall = rows * fold;
    if tall > hw.array.rows {
        return None;
    }
    // A folded set sends each weight to PEs in several rows: a mesh whose weights move only
    // horizontally (Eyeriss v2) cannot, so such a set strip-mines instead.
    if fold > 1
        && hw
            .mesh()
            .is_some_and(|m| !m.net(DataType::Weights).mesh.vertical())
    {
        return None;
    }
    let across = if fold == 1 { hw.array.cols / e } else { 1 };
    Some(across * (hw.array.rows / tall))
}

/// The strip widths `e` the search tries for PE sets of `rows` filter rows under the config's
/// set-fitting policy.
pub fn strip_widths(l: &Layer, hw: &HwConfig, rows: usize) -> Vec<usize> {
    match hw.mapper.set_fitting {
        SetFitting::Free => balanced(l.e()),
        SetFitting::Eyeriss => {
            if set_capacity(rows, hw, l.e()).is_some() {
                vec![l.e()]
            } else {
                let cols = hw.array.cols.min(l.e());
                (1..=cols)
                    .rev()
                    .filter(|&e| hw.array.cols.is_multiple_of(e))
                    .collect()
            }
        }
    }
}

/// Why a mapping does not fit, if it does not.
pub fn check(l: &Layer, hw: &HwConfig, batch: usize, mp: &RsMapping) -> Result<(), String> {
    let (cg, mg) = (l.cg(), l.mg());
    let pos = [mp.n, mp.p, mp.q, mp.r, mp.t, mp.e, mp.m, mp.u];
    if pos.contains(&0) {
        return Err("every mapping parameter must be at least 1".into());
    }
    if mp.n > batch || mp.p > mg || mp.q > cg || mp.e > l.e() {
        return Err(format!(
            "n, p, q, e must not exceed the batch {batch}, filters {mg}, channels {cg}, ofmap rows {}",
            l.e()
        ));
    }
    let seg = segment_of(l, mp);
    if !(1..=l.r).contains(&seg.rows) || !(1..=l.s).contains(&seg.cols) {
        return Err(format!(
            "a segment of {} x {} filter rows x columns must lie within the {} x {} filter",
            seg.rows, seg.cols, l.r, l.s
        ));
    }
    check_spads(l, hw, mp, seg.cols)?;
    check_groups(l, hw, mp)?;
    let cap = set_capacity(seg.rows, hw, mp.e).ok_or_else(|| {
        format!(
            "a PE set of {} x {} does not fit the {}x{} array",
            seg.rows, mp.e, hw.array.rows, hw.array.cols
        )
    })?;
    // Each of the u groups of a pass takes its own r x t sets.
    let sets = mp.r * mp.t * mp.u;
    if sets > cap {
        return Err(if mp.u == 1 {
            format!("r·t = {sets} sets exceed the {cap} that fit")
        } else {
            format!("r·t·u = {sets} sets exceed the {cap} that fit")
        });
    }
    let pt = mp.p * mp.t;
    if !mp.m.is_multiple_of(pt) || mp.m > mg.div_ceil(pt) * pt {
        return Err(format!(
            "m = {} must be a multiple of p·t = {pt}, at most the filters rounded up",
            mp.m
        ));
    }
    noc::check(l, hw, mp)?;
    check_glb(hw, &glb_need(l, batch, mp).held(hw.roles()))
}

/// Several groups per pass only where the control allows it, and no more than the layer has.
fn check_groups(l: &Layer, hw: &HwConfig, mp: &RsMapping) -> Result<(), String> {
    if mp.u > 1 && !hw.mapper.group_sets {
        return Err(format!(
            "u = {} groups per pass needs `[mapper] group_sets = true`",
            mp.u
        ));
    }
    if mp.u > l.groups {
        return Err(format!(
            "u = {} must not exceed the layer's {} groups",
            mp.u, l.groups
        ));
    }
    Ok(())
}

/// The spads of one PE hold a mapping's ifmap row (q channels of an `sk`-column segment
/// row), its filter rows (p filters of those; their expected non-zeros when the filter spad
/// holds compressed columns, `PeSpec::for_weights`) and p psums (`PeSpec::fits`).
fn check_spads(l: &Layer, hw: &HwConfig, mp: &RsMapping, sk: usize) -> Result<(), String> {
    let wb = hw.core.word_bits;
    hw.pe
        .for_weights(l.weight_density, mp.p, wb)
        .fits(mp.p, mp.q, sk)
}

/// One pass's filters, ifmaps and psums fit the GLB (each within its share when the GLB is
/// partitioned), or filters a separate filter buffer.
fn check_glb(hw: &HwConfig, need: &GlbNeed) -> Result<(), String> {
    let shared = if hw.glb.filter_words > 0 {
        if need.filters > hw.glb.filter_words as u64 {
            return Err(format!(
                "filter buffer {} < {} filter words per pass",
                hw.glb.filter_words, need.filters
            ));
        }
        0
    } else {
        need.filters
    };
    if hw.glb.fits(shared, need.ifmaps, need.psums) {
        return Ok(());
    }
    let split = hw
        .glb
        .partition
        .map(|p| format!(" (ifmaps at most {}, psums at most {})", p.ifmaps, p.psums))
        .unwrap_or_default();
    Err(format!(
        "GLB {}{split} < {shared} filter + {} ifmap + {} psum words",
        hw.glb.words, need.ifmaps, need.psums
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlbNeed {
    pub filters: u64,
    pub ifmaps: u64,
    pub psums: u64,
}

impl GlbNeed {
    /// What the GLB (and filter buffer) must hold when it holds only the data types `roles`
    /// says it does: a type that bypasses it streams from DRAM and takes none of its words.
    pub fn held(self, roles: Roles) -> GlbNeed {
        let keep = |d: DataType, words: u64| if roles.glb_holds(d) { words } else { 0 };
        GlbNeed {
            filters: keep(DataType::Weights, self.filters),
            ifmaps: keep(DataType::Ifmaps, self.ifmaps),
            psums: keep(DataType::Psums, self.psums),
        }
    }
}

/// One pass's tiles, whatever the GLB holds (`GlbNeed::held` drops the types that bypass it).
pub fn glb_need(l: &Layer, batch: usize, mp: &RsMapping) -> GlbNeed {
    let (cg, mg) = (l.cg(), l.mg());
    let (_, _, rows_max) = e_sums(l, mp.e);
    glb_need_with(l, batch.min(mp.n), mp, rows_max, cg, mg)
}

pub(crate) fn glb_need_with(
    l: &Layer,
    n: usize,
    mp: &RsMapping,
    rows_max: u64,
    cg: usize,
    mg: usize,
) -> GlbNeed {
    let chans = if mp.ifmap_resident {
        cg
    } else {
        (mp.q * mp.r).min(cg)
    };
    let seg = segment_of(l, mp);
    // The u groups of a pass each hold their own tiles.
    let u = mp.u as u64;
    GlbNeed {
        filters: u * ((mp.p * mp.t).min(mg) * (mp.q * mp.r).min(cg) * seg.rows * seg.cols) as u64,
        ifmaps: u * (n * chans) as u64 * rows_max * l.w as u64,
        psums: u * (n * mp.m.min(mg) * mp.e.min(l.e()) * l.f()) as u64,
    }
}

/// Evaluate a given mapping (after checking that it fits).
pub fn evaluate(
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    mp: &RsMapping,
) -> Result<Evaluation, String> {
    check(l, hw, batch, mp)?;
    let d = Dims::new(l, batch);
    let (e_count, e_rows, _) = e_sums(l, mp.e);
    let ms = m_chunk_sums(d.m, mp.p as u64, mp.t as u64, hw.pe.simd as u64);
    let (c_count, r_used, q_max) = chunk_sums(d.c, mp.q as u64, mp.r as u64);
    let sums = Sums {
        g_count: Tiles::new(l.groups, mp.u).count(),
        n_count: Tiles::new(batch, mp.n).count(),
        e_count,
        e_rows,
        m_count: ms.count,
        t_used: ms.t_used,
        p_lanes: ms.lanes,
        p_reads: ms.reads,
        c_count,
        r_used,
        q_max,
        ifmap_fetches: ifmap_fetches(&d, mp),
        seg: seg_sums(l, mp.e, segment_of(l, mp)),
    };
    Ok(evaluation(l, &d, hw.roles(), *mp, &sums, Some(hw)))
}

/// DRAM fetches of each ifmap strip: once if resident, else once per chunk of `m` filters.
#[inline]
pub(crate) fn ifmap_fetches(d: &Dims, mp: &RsMapping) -> u64 {
    if mp.ifmap_resident {
        1
    } else {
        d.m.div_ceil(mp.m as u64)
    }
}

/// The evaluation of `mp` from its per-dimension sums (every search and `evaluate` end here);
/// on a hierarchical mesh (`hw` given and its network one) with its hops and routers
/// (`noc::closed_form`).
#[inline]
pub(crate) fn evaluation(
    l: &Layer,
    d: &Dims,
    roles: Roles,
    mp: RsMapping,
    sums: &Sums,
    hw: Option<&HwConfig>,
) -> Evaluation {
    let (mut nest, cycles) = assemble(d, sums);
    if let Some(pl) = hw.and_then(|hw| noc::Placement::new(l, hw, &mp)) {
        nest.noc = noc::closed_form(&pl, l, d.n as usize, &mp);
    }
    Evaluation {
        mapping: mp.into(),
        counts: AccessCounts::place(&nest, roles),
        macs: d.macs,
        cycles,
        active_pes: active_pes(l, &mp),
    }
}

/// Add `mp`'s hops and routers to `ev`, a candidate counted without them, if `hw`'s network is
/// a mesh, and say whether it was (`search::stream` leaves them out: they only add to the
/// counts, and bounds on the counts without them rule most candidates out).
pub(crate) fn complete_noc(
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    mp: &RsMapping,
    ev: &mut Evaluation,
) -> bool {
    let Some(pl) = noc::Placement::new(l, hw, mp) else {
        return false;
    };
    ev.counts = ev.counts.with_noc(noc::closed_form(&pl, l, batch, mp));
    true
}

/// PEs busy in a full pass: each of its u groups keeps the sets of one group busy.
#[inline]
pub fn active_pes(l: &Layer, mp: &RsMapping) -> usize {
    let c_first = (mp.q * mp.r).min(l.cg());
    let m_first = (mp.p * mp.t).min(l.mg());
    let sets = c_first.div_ceil(mp.q) * m_first.div_ceil(mp.p) * mp.u.min(l.groups);
    segment_of(l, mp).rows * mp.e.min(l.e()) * sets
}
