//! Row-stationary dataflow: the capacity rules, the analytic access counts of a mapping, and the
//! exhaustive mapping search.
//!
//! Loop nest of one layer (outermost first), which both simulation modes follow:
//!
//! ```text
//! for g in groups
//!   for n-chunk (n images)
//!     for e-strip (e ofmap rows)            [resident: ifmap strip, all channels, DRAM -> GLB]
//!       for m-chunk (m filters, psums in GLB)
//!         for c-chunk (q·r channels)        [not resident: ifmap strip of these channels, DRAM -> GLB]
//!           for filter chunk (p·t filters)  = one processing pass:
//!               filters  DRAM -> filter GLB -> array (each weight to the e PEs of its row) -> spad
//!               ifmaps   GLB -> array (each PE gets its q rows, n images) -> spad
//!               psums    GLB -> array (except the first c-chunk), up the columns, -> GLB
//!         ofmaps of the m-chunk GLB -> DRAM
//! ```
//!
//! Every count is a product of per-dimension sums over chunks (`Tiles`), so the analytic model is
//! exact, including partial last chunks.

use crate::counts::AccessCounts;
use crate::dataflow::Dataflow;
use crate::hw::{HwConfig, SetFitting};
use crate::mapping::Mapping;
use crate::select::keep;
use crate::tiles::{balanced, Tiles};
use crate::workload::Layer;
use crate::Evaluation;

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
    pub wp: u64,
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
            wp: l.wp() as u64,
            macs: l.macs(batch),
        }
    }
}

/// Unpadded input rows that ofmap rows [e0, e0 + len) read.
pub fn strip_rows(l: &Layer, e0: usize, len: usize) -> u64 {
    let lo = e0 * l.stride;
    let hi = (e0 + len - 1) * l.stride + l.r; // exclusive, padded coordinates
    let lo = lo.max(l.pad);
    let hi = hi.min(l.pad + l.h);
    hi.saturating_sub(lo) as u64
}

/// Per-dimension sums the counts need.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sums {
    /// n-chunks.
    pub n_count: u64,
    /// e-strips, and Σ unpadded input rows over strips.
    pub e_count: u64,
    pub e_rows: u64,
    /// filter chunks (p·t): count, Σ filter sets used, Σ largest per-PE filter count.
    pub m_count: u64,
    pub t_used: u64,
    pub p_max: u64,
    /// channel chunks (q·r): count, Σ channel sets used, Σ largest per-PE channel count.
    pub c_count: u64,
    pub r_used: u64,
    pub q_max: u64,
    /// How many times the ifmap strips come from DRAM.
    pub ifmap_fetches: u64,
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

/// Counts and cycles of a mapping, from the per-dimension sums.
pub(crate) fn assemble(d: &Dims, s: &Sums) -> (AccessCounts, u64) {
    let mut a = AccessCounts::default();
    let filt = d.g * d.m * d.c * d.r * d.s;
    // Weights: each pass fetches its filters once; each weight reaches the e PEs of its row.
    let w_fetch = filt * s.n_count * s.e_count;
    a.dram.weights.reads = w_fetch;
    a.glb.weights.writes = w_fetch;
    a.glb.weights.reads = w_fetch;
    a.array.weights.reads = filt * s.n_count * d.e;
    a.rf.weights.writes = a.array.weights.reads;
    a.rf.weights.reads = d.macs;
    // Ifmaps: each pass reads its strip rows once from the GLB and multicasts them; every PE
    // receives its padded row for each of its channels and images, once per filter set.
    let strip = d.g * d.n * d.c * d.w * s.e_rows;
    a.dram.ifmaps.reads = strip * s.ifmap_fetches;
    a.glb.ifmaps.writes = a.dram.ifmaps.reads;
    a.glb.ifmaps.reads = strip * s.m_count;
    a.array.ifmaps.reads = d.g * d.n * d.wp * d.r * d.e * d.c * s.t_used;
    a.rf.ifmaps.writes = a.array.ifmaps.reads;
    a.rf.ifmaps.reads = d.macs;
    // Psums: R·r_used PEs per column chain, fed from the GLB after the first channel chunk.
    let ofmap = d.g * d.n * d.m * d.e * d.f;
    a.rf.psums.reads = d.macs;
    a.rf.psums.writes = d.macs;
    a.array.psums.reads = ofmap * (d.r * s.r_used - 1);
    a.array.psums.writes = ofmap * s.c_count;
    a.glb.psums.writes = ofmap * s.c_count;
    a.glb.psums.reads = ofmap * s.c_count; // (c_count - 1) psum reloads + 1 ofmap drain
    a.dram.psums.writes = ofmap;
    let cycles = d.g * d.n * s.e_count * d.f * d.s * s.p_max * s.q_max;
    (a, cycles)
}

/// Array columns a set of `e` ofmap rows occupies, and how many sets fit.
pub(crate) fn set_capacity(l: &Layer, hw: &HwConfig, e: usize) -> Option<usize> {
    let fold = e.div_ceil(hw.array.cols);
    let tall = l.r * fold;
    if tall > hw.array.rows {
        return None;
    }
    let across = if fold == 1 { hw.array.cols / e } else { 1 };
    Some(across * (hw.array.rows / tall))
}

/// The strip widths `e` the search tries under the config's set-fitting policy.
pub fn strip_widths(l: &Layer, hw: &HwConfig) -> Vec<usize> {
    match hw.mapper.set_fitting {
        SetFitting::Free => balanced(l.e()),
        SetFitting::Eyeriss => {
            if set_capacity(l, hw, l.e()).is_some() {
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
pub fn check(l: &Layer, hw: &HwConfig, batch: usize, mp: &Mapping) -> Result<(), String> {
    let (cg, mg) = (l.cg(), l.mg());
    let pos = [mp.n, mp.p, mp.q, mp.r, mp.t, mp.e, mp.m];
    if pos.contains(&0) {
        return Err("every mapping parameter must be at least 1".into());
    }
    if mp.n > batch || mp.p > mg || mp.q > cg || mp.e > l.e() {
        return Err(format!(
            "n, p, q, e must not exceed the batch {batch}, filters {mg}, channels {cg}, ofmap rows {}",
            l.e()
        ));
    }
    if mp.q * l.s > hw.pe.ifmap_spad_words {
        return Err(format!(
            "ifmap spad {} < q·S = {}",
            hw.pe.ifmap_spad_words,
            mp.q * l.s
        ));
    }
    if mp.p * mp.q * l.s > hw.pe.filter_spad_words {
        return Err(format!(
            "filter spad {} < p·q·S = {}",
            hw.pe.filter_spad_words,
            mp.p * mp.q * l.s
        ));
    }
    if mp.p > hw.pe.psum_spad_words {
        return Err(format!(
            "psum spad {} < p = {}",
            hw.pe.psum_spad_words, mp.p
        ));
    }
    let cap = set_capacity(l, hw, mp.e).ok_or_else(|| {
        format!(
            "a PE set of {} x {} does not fit the {}x{} array",
            l.r, mp.e, hw.array.rows, hw.array.cols
        )
    })?;
    if mp.r * mp.t > cap {
        return Err(format!(
            "r·t = {} sets exceed the {cap} that fit",
            mp.r * mp.t
        ));
    }
    let pt = mp.p * mp.t;
    if !mp.m.is_multiple_of(pt) || mp.m > mg.div_ceil(pt) * pt {
        return Err(format!(
            "m = {} must be a multiple of p·t = {pt}, at most the filters rounded up",
            mp.m
        ));
    }
    let need = glb_need(l, batch, mp);
    if hw.glb.filter_words > 0 {
        if need.filters > hw.glb.filter_words as u64 {
            return Err(format!(
                "filter buffer {} < {} filter words per pass",
                hw.glb.filter_words, need.filters
            ));
        }
        if need.ifmaps + need.psums > hw.glb.words as u64 {
            return Err(format!(
                "GLB {} < {} ifmap + {} psum words",
                hw.glb.words, need.ifmaps, need.psums
            ));
        }
    } else if need.filters + need.ifmaps + need.psums > hw.glb.words as u64 {
        return Err(format!(
            "GLB {} < {} filter + {} ifmap + {} psum words",
            hw.glb.words, need.filters, need.ifmaps, need.psums
        ));
    }
    Ok(())
}

pub struct GlbNeed {
    pub filters: u64,
    pub ifmaps: u64,
    pub psums: u64,
}

pub fn glb_need(l: &Layer, batch: usize, mp: &Mapping) -> GlbNeed {
    let (cg, mg) = (l.cg(), l.mg());
    let (_, _, rows_max) = e_sums(l, mp.e);
    glb_need_with(l, batch.min(mp.n), mp, rows_max, cg, mg)
}

fn glb_need_with(
    l: &Layer,
    n: usize,
    mp: &Mapping,
    rows_max: u64,
    cg: usize,
    mg: usize,
) -> GlbNeed {
    let chans = if mp.ifmap_resident {
        cg
    } else {
        (mp.q * mp.r).min(cg)
    };
    GlbNeed {
        filters: ((mp.p * mp.t).min(mg) * (mp.q * mp.r).min(cg) * l.r * l.s) as u64,
        ifmaps: (n * chans) as u64 * rows_max * l.w as u64,
        psums: (n * mp.m.min(mg) * mp.e.min(l.e()) * l.f()) as u64,
    }
}

/// Evaluate a given mapping (after checking that it fits).
pub fn evaluate(
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    mp: &Mapping,
) -> Result<Evaluation, String> {
    check(l, hw, batch, mp)?;
    let d = Dims::new(l, batch);
    let (e_count, e_rows, _) = e_sums(l, mp.e);
    let (m_count, t_used, p_max) = chunk_sums(d.m, mp.p as u64, mp.t as u64);
    let (c_count, r_used, q_max) = chunk_sums(d.c, mp.q as u64, mp.r as u64);
    let sums = Sums {
        n_count: Tiles::new(batch, mp.n).count(),
        e_count,
        e_rows,
        m_count,
        t_used,
        p_max,
        c_count,
        r_used,
        q_max,
        ifmap_fetches: ifmap_fetches(&d, mp),
    };
    Ok(evaluation(l, &d, *mp, &sums))
}

/// DRAM fetches of each ifmap strip: once if resident, else once per chunk of `m` filters.
fn ifmap_fetches(d: &Dims, mp: &Mapping) -> u64 {
    if mp.ifmap_resident {
        1
    } else {
        d.m.div_ceil(mp.m as u64)
    }
}

/// The evaluation of `mp` from its per-dimension sums (every search and `evaluate` end here).
fn evaluation(l: &Layer, d: &Dims, mp: Mapping, sums: &Sums) -> Evaluation {
    let (counts, cycles) = assemble(d, sums);
    Evaluation {
        mapping: mp,
        counts,
        macs: d.macs,
        cycles,
        active_pes: active_pes(l, &mp),
    }
}

/// PEs busy in a full pass.
pub fn active_pes(l: &Layer, mp: &Mapping) -> usize {
    let c_first = (mp.q * mp.r).min(l.cg());
    let m_first = (mp.p * mp.t).min(l.mg());
    l.r * mp.e.min(l.e()) * c_first.div_ceil(mp.q) * m_first.div_ceil(mp.p)
}

/// Reasons no mapping can exist, checked before the search so the error names the culprit.
pub fn fit_problem(l: &Layer, hw: &HwConfig) -> Option<(String, String, String)> {
    if l.s > hw.pe.ifmap_spad_words {
        return Some((
            "pe.ifmap_spad_words".into(),
            format!(
                "the ifmap spad ({} words) holds less than one filter row of `{}` (S = {})",
                hw.pe.ifmap_spad_words, l.name, l.s
            ),
            format!("set pe.ifmap_spad_words to at least {}", l.s),
        ));
    }
    if l.s > hw.pe.filter_spad_words {
        return Some((
            "pe.filter_spad_words".into(),
            format!(
                "the filter spad ({} words) holds less than one filter row of `{}` (S = {})",
                hw.pe.filter_spad_words, l.name, l.s
            ),
            format!("set pe.filter_spad_words to at least {}", l.s),
        ));
    }
    if l.r > hw.array.rows {
        return Some((
            "array.rows".into(),
            format!(
                "a row-stationary PE set needs R = {} rows for `{}`, the array has {}",
                l.r, l.name, hw.array.rows
            ),
            format!("set array.rows to at least {}", l.r),
        ));
    }
    None
}

/// Whether even the lower-bound sums `floor` cost more than the incumbent (strictly: a tie
/// could still win on the tie-break).
fn beaten(
    best: &Option<(f64, Evaluation)>,
    d: &Dims,
    floor: &Sums,
    cost: &dyn Fn(&Evaluation) -> f64,
) -> bool {
    let Some((bc, b)) = best else {
        return false;
    };
    let (counts, cycles) = assemble(d, floor);
    let probe = Evaluation {
        mapping: b.mapping,
        counts,
        macs: d.macs,
        cycles,
        active_pes: 0,
    };
    cost(&probe) > *bc
}

/// Exhaustive search over the row-stationary mapping space: the cheapest mapping by `cost`
/// wins, ties broken as in `select::better`.
///
/// `cost` must depend only on the counts, MACs and cycles, and must not decrease when any of
/// them increases (true of energy: prices and sparsity factors are non-negative). Under that
/// contract the search skips, without changing the result (tested against
/// `search_reference`): subtrees whose lower-bound counts already cost more than the best so
/// far, and two families of candidates that can only tie or lose:
/// - for resident ifmaps, every `n` but the largest that fits (a smaller `n` only adds filter
///   fetches);
/// - non-resident ifmaps at an `n` where resident ifmaps also fit (same counts, except at
///   least as many ifmap fetches).
pub fn search(
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    cost: &dyn Fn(&Evaluation) -> f64,
) -> Option<Evaluation> {
    let d = Dims::new(l, batch);
    let (cg, mg) = (l.cg(), l.mg());
    let mut best: Option<(f64, Evaluation)> = None;
    let qmax = (hw.pe.ifmap_spad_words / l.s).min(cg);
    let ns: Vec<(usize, u64)> = balanced(batch)
        .into_iter()
        .map(|n| (n, Tiles::new(batch, n).count()))
        .collect();
    let glb = hw.glb.words as u64;
    // Candidate replication counts, largest first, computed once per layer.
    let p_top = (hw.pe.filter_spad_words / l.s)
        .min(hw.pe.psum_spad_words)
        .min(mg);
    let t_lists: Vec<Vec<usize>> = (0..=p_top)
        .map(|p| balanced(mg.div_ceil(p.max(1))))
        .collect();
    let r_lists: Vec<Vec<usize>> = (0..=qmax)
        .map(|q| balanced(cg.div_ceil(q.max(1))))
        .collect();
    let filter_words = hw.glb.filter_words;
    for e in strip_widths(l, hw) {
        let Some(cap) = set_capacity(l, hw, e) else {
            continue;
        };
        let (e_count, e_rows, e_rows_max) = e_sums(l, e);
        let strip_per_channel = e_rows_max * l.w as u64;
        let psum_per_filter = (e * l.f()) as u64;
        for (q, r_list) in r_lists.iter().enumerate().skip(1).rev() {
            let pmax = (hw.pe.filter_spad_words / (q * l.s))
                .min(hw.pe.psum_spad_words)
                .min(mg);
            for &r in r_list.iter().skip_while(|&&r| r > cap) {
                let (c_count, r_used, q_max) = chunk_sums(d.c, q as u64, r as u64);
                let qr = (q * r).min(cg) as u64;
                let t_cap = (cap / r).max(1) as u64;
                // Bound: the cheapest any (p, t) below could be (every m-side sum at its
                // floor); a monotone cost lets the whole subtree go if even that loses.
                let floor = |p_hi: u64| Sums {
                    n_count: 1,
                    e_count,
                    e_rows,
                    m_count: d.m.div_ceil(p_hi * t_cap),
                    t_used: d.m.div_ceil(p_hi),
                    p_max: d.m.div_ceil(t_cap),
                    c_count,
                    r_used,
                    q_max,
                    ifmap_fetches: 1,
                };
                if beaten(&best, &d, &floor(pmax as u64), cost) {
                    continue;
                }
                for (p, t_list) in t_lists.iter().enumerate().take(pmax + 1).skip(1).rev() {
                    if beaten(&best, &d, &floor(p as u64), cost) {
                        continue;
                    }
                    // Lists run from the largest t down; the sets that fit and the filter
                    // buffer both bound t from above.
                    let staged = |t: usize| (p * t).min(mg) as u64 * qr * (l.r * l.s) as u64;
                    let too_big = |t: usize| {
                        r * t > cap || (filter_words > 0 && staged(t) > filter_words as u64)
                    };
                    for &t in t_list.iter().skip_while(|&&t| too_big(t)) {
                        let pt = p * t;
                        let filters = staged(t);
                        let shared = if hw.glb.filter_words > 0 { 0 } else { filters };
                        let (m_count, t_used, p_max) = chunk_sums(d.m, p as u64, t as u64);
                        let mut consider = |n: usize, n_count: u64, resident: bool, m: usize| {
                            let mp = Mapping {
                                dataflow: Dataflow::RowStationary,
                                n,
                                p,
                                q,
                                r,
                                t,
                                e,
                                m,
                                ifmap_resident: resident,
                            };
                            let sums = Sums {
                                n_count,
                                e_count,
                                e_rows,
                                m_count,
                                t_used,
                                p_max,
                                c_count,
                                r_used,
                                q_max,
                                ifmap_fetches: ifmap_fetches(&d, &mp),
                            };
                            let ev = evaluation(l, &d, mp, &sums);
                            let c = cost(&ev);
                            keep(&mut best, c, ev);
                        };
                        // Resident: the GLB holds every channel's strip and p·t filters' psums.
                        let resident_need = |n: u64| {
                            shared
                                + n * (cg as u64 * strip_per_channel + pt as u64 * psum_per_filter)
                        };
                        let resident_n = ns.iter().find(|&&(n, _)| resident_need(n as u64) <= glb);
                        if let Some(&(n, n_count)) = resident_n {
                            consider(n, n_count, true, pt);
                        }
                        // Not resident: only at an n too large for resident ifmaps; the most
                        // psums that fit cut the ifmap refetches.
                        let limit = resident_n.map_or(0, |&(n, _)| n);
                        for &(n, n_count) in ns.iter().filter(|&&(n, _)| n > limit) {
                            let ifmaps = n as u64 * qr * strip_per_channel;
                            let Some(free) = glb.checked_sub(shared + ifmaps) else {
                                continue;
                            };
                            let fit = (free / (n as u64 * psum_per_filter)) as usize / pt * pt;
                            if fit < pt {
                                continue;
                            }
                            consider(n, n_count, false, fit.min(mg.div_ceil(pt) * pt));
                        }
                    }
                }
            }
        }
    }
    best.map(|(_, ev)| ev)
}

/// The plain exhaustive search, every candidate evaluated: the oracle `search` is tested
/// against (it skips only candidates that a monotone cost cannot prefer).
#[doc(hidden)]
pub fn search_reference(
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    cost: &dyn Fn(&Evaluation) -> f64,
) -> Option<Evaluation> {
    let d = Dims::new(l, batch);
    let (cg, mg) = (l.cg(), l.mg());
    let mut best: Option<(f64, Evaluation)> = None;
    let qmax = (hw.pe.ifmap_spad_words / l.s).min(cg);
    for e in strip_widths(l, hw) {
        let Some(cap) = set_capacity(l, hw, e) else {
            continue;
        };
        let (e_count, e_rows, e_rows_max) = e_sums(l, e);
        for n in balanced(batch) {
            let n_count = Tiles::new(batch, n).count();
            for q in 1..=qmax {
                let pmax = (hw.pe.filter_spad_words / (q * l.s))
                    .min(hw.pe.psum_spad_words)
                    .min(mg);
                let c_sets = cg.div_ceil(q);
                for r in balanced(c_sets).into_iter().filter(|&r| r <= cap) {
                    let (c_count, r_used, q_max) = chunk_sums(d.c, q as u64, r as u64);
                    for p in 1..=pmax {
                        let m_sets = mg.div_ceil(p);
                        for t in balanced(m_sets).into_iter().filter(|&t| r * t <= cap) {
                            let pt = p * t;
                            let filters = (pt.min(mg) * (q * r).min(cg) * l.r * l.s) as u64;
                            if hw.glb.filter_words > 0 && filters > hw.glb.filter_words as u64 {
                                continue;
                            }
                            let shared = if hw.glb.filter_words > 0 { 0 } else { filters };
                            let (m_count, t_used, p_max) = chunk_sums(d.m, p as u64, t as u64);
                            for resident in [true, false] {
                                let base = Mapping {
                                    dataflow: Dataflow::RowStationary,
                                    n,
                                    p,
                                    q,
                                    r,
                                    t,
                                    e,
                                    m: pt,
                                    ifmap_resident: resident,
                                };
                                let need = glb_need_with(l, n, &base, e_rows_max, cg, mg);
                                let free = (hw.glb.words as u64).checked_sub(shared + need.ifmaps);
                                let Some(free) = free else { continue };
                                let per_filter = (n * e * l.f()) as u64;
                                let fit = (free / per_filter) as usize / pt * pt;
                                if fit < pt {
                                    continue;
                                }
                                // Resident ifmaps need no bigger m; otherwise the most psums
                                // that fit cut the ifmap refetches.
                                let m = if resident {
                                    pt
                                } else {
                                    fit.min(mg.div_ceil(pt) * pt)
                                };
                                let mp = Mapping { m, ..base };
                                let sums = Sums {
                                    n_count,
                                    e_count,
                                    e_rows,
                                    m_count,
                                    t_used,
                                    p_max,
                                    c_count,
                                    r_used,
                                    q_max,
                                    ifmap_fetches: ifmap_fetches(&d, &mp),
                                };
                                let ev = evaluation(l, &d, mp, &sums);
                                let c = cost(&ev);
                                keep(&mut best, c, ev);
                            }
                        }
                    }
                }
            }
        }
    }
    best.map(|(_, ev)| ev)
}

/// The exhaustive space of `search_reference`, for a cost that is expensive to evaluate but has
/// a cheap lower bound: candidates are visited by ascending `lower` (which must never exceed
/// `cost`), and the search stops once no unvisited candidate can beat or tie the best found.
/// The result is exactly `search_reference` with `cost` (the same tie-break, a total order).
pub fn search_lower_bounded(
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    lower: &dyn Fn(&Evaluation) -> f64,
    cost: &dyn Fn(&Evaluation) -> f64,
) -> Option<Evaluation> {
    let all = std::cell::RefCell::new(Vec::new());
    search_reference(l, hw, batch, &|ev| {
        all.borrow_mut().push((lower(ev), ev.clone()));
        0.0
    });
    let mut all = all.into_inner();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut best: Option<(f64, Evaluation)> = None;
    for (bound, ev) in all {
        if best.as_ref().is_some_and(|(c, _)| bound > *c) {
            break;
        }
        let c = cost(&ev);
        keep(&mut best, c, ev);
    }
    best.map(|(_, ev)| ev)
}
