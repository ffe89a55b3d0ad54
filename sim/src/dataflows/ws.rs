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
//! Mapping fields (the `Mapping` struct is row-stationary-shaped; see `mapping.rs`): `n`, `e`,
//! `r` = cc (channels = array rows used), `t` = mc (filter groups = array columns used),
//! `q` = k (filters per PE; 1 for NLR), `m` = mb, `ifmap_resident`; `p` = 1.

use crate::arch::HwConfig;
use crate::counts::{AccessCounts, NestCounts};
use crate::dataflow::Dataflow;
use crate::dataflows::{chunks, keep_best, layer_taps, storage, taps};
use crate::mapping::Mapping;
use crate::rs::{chunk_sums, e_sums, strip_rows, Dims};
use crate::tiles::{balanced, Tiles};
use crate::workload::Layer;
use crate::Evaluation;

/// Which of the two channel x filter dataflows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Variant {
    Ws,
    Nlr,
}

impl Variant {
    fn dataflow(self) -> Dataflow {
        match self {
            Variant::Ws => Dataflow::WeightStationary,
            Variant::Nlr => Dataflow::NoLocalReuse,
        }
    }
}

/// Words the GLB must hold for a mapping (strip rows of the tallest strip given).
fn glb_need(l: &Layer, batch: usize, mp: &Mapping, rows_max: u64) -> u64 {
    let (cg, mg) = (l.cg(), l.mg());
    let n = mp.n.min(batch) as u64;
    let cc = mp.r.min(cg) as u64;
    let chans = if mp.ifmap_resident { cg as u64 } else { cc };
    let ifmaps = n * chans * rows_max * l.w as u64;
    let psums = n * mp.m.min(mg) as u64 * mp.e.min(l.e()) as u64 * l.f() as u64;
    let weights = (mp.t * mp.q).min(mg) as u64 * cc;
    ifmaps + psums + weights
}

pub(crate) fn check(
    v: Variant,
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    mp: &Mapping,
) -> Result<(), String> {
    if mp.segment.is_some() {
        return Err("filter segments are a row-stationary mapping field".into());
    }
    let (cg, mg) = (l.cg(), l.mg());
    let st = storage(hw, v.dataflow());
    if mp.dataflow != v.dataflow() {
        return Err(format!(
            "mapping is for {}, not {}",
            mp.dataflow,
            v.dataflow()
        ));
    }
    if [mp.n, mp.p, mp.q, mp.r, mp.t, mp.e, mp.m].contains(&0) {
        return Err("every mapping parameter must be at least 1".into());
    }
    if mp.p != 1 {
        return Err("p must be 1 (one channel per PE)".into());
    }
    if mp.n > batch || mp.e > l.e() || mp.r > cg || mp.q > mg {
        return Err(format!(
            "n, e, r (channels), q (filters per PE) must not exceed the batch {batch}, ofmap rows {}, channels {cg}, filters {mg}",
            l.e()
        ));
    }
    if mp.r > hw.array.rows || mp.t > hw.array.cols {
        return Err(format!(
            "{} channels x {} filter groups exceed the {}x{} array",
            mp.r, mp.t, hw.array.rows, hw.array.cols
        ));
    }
    if mp.t > mg.div_ceil(mp.q) {
        return Err(format!(
            "t = {} columns would leave one without filters",
            mp.t
        ));
    }
    match v {
        Variant::Nlr if mp.q != 1 => return Err("NLR has no RF: q must be 1".into()),
        // k stationary weights + one ifmap register.
        Variant::Ws if mp.q + 1 > st.rf_words => {
            return Err(format!(
                "RF {} words < q + 1 = {} (q weights and an ifmap)",
                st.rf_words,
                mp.q + 1
            ))
        }
        _ => {}
    }
    let fp = mp.t * mp.q;
    if !mp.m.is_multiple_of(fp) || mp.m > mg.div_ceil(fp) * fp {
        return Err(format!(
            "m = {} must be a multiple of t·q = {fp}, at most the filters rounded up",
            mp.m
        ));
    }
    let (_, _, rows_max) = e_sums(l, mp.e);
    let need = glb_need(l, batch, mp, rows_max);
    if need > st.glb_words as u64 {
        return Err(format!("GLB {} < {need} words", st.glb_words));
    }
    Ok(())
}

/// Per-dimension sums of the closed form.
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

fn assemble(v: Variant, l: &Layer, d: &Dims, s: &Sums, taps: (u64, u64)) -> (NestCounts, u64) {
    let mut a = NestCounts::default();
    let rs = d.r * d.s;
    let filt = d.g * d.m * d.c * rs;
    let w_fetch = filt * s.n_count * s.e_count;
    a.dram.weights.reads = w_fetch;
    a.glb.weights.writes = w_fetch;
    match v {
        Variant::Ws => {
            a.glb.weights.reads = w_fetch;
            a.array.weights.reads = w_fetch;
            a.rf.weights.writes = w_fetch;
            a.rf.weights.reads = d.macs;
        }
        Variant::Nlr => {
            a.glb.weights.reads = d.macs;
            a.array.weights.reads = d.macs;
        }
    }
    // Ifmaps.
    let strip = d.g * d.n * d.c * l.w as u64 * s.e_rows;
    a.dram.ifmaps.reads = strip * s.blocks;
    a.glb.ifmaps.writes = a.dram.ifmaps.reads;
    a.glb.ifmaps.reads = d.g * d.n * d.c * taps.0 * taps.1 * s.m_count;
    a.array.ifmaps.reads = d.g * d.n * d.e * d.f * d.c * rs * s.cols;
    if v == Variant::Ws {
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

fn active_pes(l: &Layer, mp: &Mapping) -> usize {
    mp.r.min(l.cg()) * (mp.t * mp.q).min(l.mg()).div_ceil(mp.q)
}

/// Closed-form counts of a mapping (after checking that it fits).
pub(crate) fn evaluate(
    v: Variant,
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    mp: &Mapping,
) -> Result<Evaluation, String> {
    check(v, l, hw, batch, mp)?;
    let d = Dims::new(l, batch);
    let (e_count, e_rows, _) = e_sums(l, mp.e);
    let (blocks, m_count, cols, k_max) = m_sums(d.m, mp.m as u64, mp.q as u64, mp.t as u64);
    let s = Sums {
        n_count: Tiles::new(batch, mp.n).count(),
        e_count,
        e_rows,
        c_count: Tiles::new(d.c as usize, mp.r).count(),
        blocks: if mp.ifmap_resident { 1 } else { blocks },
        m_count,
        cols,
        k_max,
    };
    let (nest, cycles) = assemble(v, l, &d, &s, layer_taps(l));
    Ok(Evaluation {
        mapping: *mp,
        counts: AccessCounts::place(&nest, hw.roles()),
        macs: d.macs,
        cycles,
        active_pes: active_pes(l, mp),
    })
}

/// The loop nest executed literally, pass by pass: counts and cycles.
pub(crate) fn walk(
    v: Variant,
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    mp: &Mapping,
) -> (AccessCounts, u64) {
    let (cg, mg) = (l.cg(), l.mg());
    let (f, w) = (l.f() as u64, l.w as u64);
    let k = mp.q;
    let mut a = NestCounts::default();
    let mut cycles = 0;
    for _g in 0..l.groups {
        for (_, nn) in chunks(batch, mp.n) {
            let nn = nn as u64;
            for (e0, ee) in chunks(l.e(), mp.e) {
                let rows = strip_rows(l, e0, ee);
                let mut first_of_strip = true;
                for (b0, bb) in chunks(mg, mp.m) {
                    for (c0, cc) in chunks(cg, mp.r) {
                        let last_c = c0 + cc == cg;
                        let mut first_of_chunk = true;
                        for (_, mm) in chunks(bb, mp.t * k) {
                            let cols_used = mm.div_ceil(k) as u64;
                            let k_max = mm.min(k) as u64;
                            let (mm, cc) = (mm as u64, cc as u64);
                            for i in 0..l.r {
                                for j in 0..l.s {
                                    let macs = nn * mm * cc * ee as u64 * f;
                                    // Ifmap strip into the GLB.
                                    let fetch = if mp.ifmap_resident {
                                        if first_of_strip {
                                            nn * cg as u64 * rows * w
                                        } else {
                                            0
                                        }
                                    } else if first_of_chunk {
                                        nn * cc * rows * w
                                    } else {
                                        0
                                    };
                                    first_of_strip = false;
                                    first_of_chunk = false;
                                    a.dram.ifmaps.reads += fetch;
                                    a.glb.ifmaps.writes += fetch;
                                    // Weights of this position.
                                    let words = mm * cc;
                                    a.dram.weights.reads += words;
                                    a.glb.weights.writes += words;
                                    match v {
                                        Variant::Ws => {
                                            a.glb.weights.reads += words;
                                            a.array.weights.reads += words;
                                            a.rf.weights.writes += words;
                                            a.rf.weights.reads += macs;
                                        }
                                        Variant::Nlr => {
                                            a.glb.weights.reads += macs;
                                            a.array.weights.reads += macs;
                                        }
                                    }
                                    // Ifmaps: one GLB read per real tap, one delivery per PE.
                                    let real = taps(e0, ee, i, 1, l.stride, l.pad, l.h)
                                        * taps(0, l.f(), j, 1, l.stride, l.pad, l.w);
                                    a.glb.ifmaps.reads += nn * cc * real;
                                    let delivered = nn * cc * ee as u64 * f * cols_used;
                                    a.array.ifmaps.reads += delivered;
                                    if v == Variant::Ws {
                                        a.rf.ifmaps.writes += delivered;
                                        a.rf.ifmaps.reads += macs;
                                    }
                                    // Psums: in (reload), down cc PEs, out.
                                    let outs = nn * mm * ee as u64 * f;
                                    let reload = u64::from(c0 > 0 || i > 0 || j > 0);
                                    a.glb.psums.reads += outs * reload;
                                    a.array.psums.reads += outs * (reload + cc - 1);
                                    a.array.psums.writes += outs;
                                    a.glb.psums.writes += outs;
                                    if last_c && i + 1 == l.r && j + 1 == l.s {
                                        a.glb.psums.reads += outs;
                                        a.dram.psums.writes += outs;
                                    }
                                    cycles += nn * ee as u64 * f * k_max;
                                }
                            }
                        }
                    }
                    let _ = b0;
                }
            }
        }
    }
    (AccessCounts::place(&a, hw.roles()), cycles)
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
    v: Variant,
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    cost: &dyn Fn(&Evaluation) -> f64,
) -> Option<Evaluation> {
    let d = Dims::new(l, batch);
    let (cg, mg) = (l.cg(), l.mg());
    let st = storage(hw, v.dataflow());
    let glb = st.glb_words as u64;
    let taps = layer_taps(l);
    let ks: Vec<usize> = match v {
        Variant::Nlr => vec![1],
        Variant::Ws => balanced(mg)
            .into_iter()
            .filter(|&k| k < st.rf_words)
            .collect(),
    };
    // Temporal choices: (e, n, e_count, e_rows, rows_max, n_count).
    let mut temporal = Vec::new();
    for e in balanced(l.e()) {
        let (e_count, e_rows, rows_max) = e_sums(l, e);
        for n in balanced(batch) {
            temporal.push((
                e,
                n,
                e_count,
                e_rows,
                rows_max,
                Tiles::new(batch, n).count(),
            ));
        }
    }
    let min_rows = e_sums(l, l.e()).1;
    let (f, w) = (l.f() as u64, l.w as u64);
    let mut best: Option<(f64, Evaluation)> = None;
    for cc in balanced(cg).into_iter().filter(|&c| c <= hw.array.rows) {
        let c_count = Tiles::new(cg, cc).count();
        for &k in &ks {
            let mcs: Vec<usize> = balanced(mg.div_ceil(k))
                .into_iter()
                .filter(|&t| t <= hw.array.cols)
                .collect();
            // A bound over every mc: the fewest filter chunks, columns and busiest PE.
            if let (Some((bc, _)), Some(&widest)) = (&best, mcs.first()) {
                let s = Sums {
                    n_count: 1,
                    e_count: 1,
                    e_rows: min_rows,
                    c_count,
                    blocks: 1,
                    m_count: d.m.div_ceil((k * widest) as u64),
                    cols: d.m.div_ceil(k as u64),
                    k_max: k.min(mg) as u64,
                };
                let (nest, cycles) = assemble(v, l, &d, &s, taps);
                let mapping = Mapping {
                    dataflow: v.dataflow(),
                    n: batch,
                    p: 1,
                    q: k,
                    r: cc,
                    t: widest,
                    e: l.e(),
                    m: k * widest,
                    ifmap_resident: true,
                    segment: None,
                };
                let bound = Evaluation {
                    mapping,
                    counts: AccessCounts::place(&nest, hw.roles()),
                    macs: d.macs,
                    cycles,
                    active_pes: active_pes(l, &mapping),
                };
                if cost(&bound) > *bc {
                    continue;
                }
            }
            for mc in mcs {
                let fp = mc * k;
                // Chunks of fp filters: the same whatever the m-blocks (multiples of fp).
                let (m_count, cols, k_max) = chunk_sums(d.m, k as u64, mc as u64);
                let sums = |n_count, e_count, e_rows, blocks| Sums {
                    n_count,
                    e_count,
                    e_rows,
                    c_count,
                    blocks,
                    m_count,
                    cols,
                    k_max,
                };
                let spatial = Mapping {
                    dataflow: v.dataflow(),
                    n: batch,
                    p: 1,
                    q: k,
                    r: cc,
                    t: mc,
                    e: l.e(),
                    m: fp,
                    ifmap_resident: true,
                    segment: None,
                };
                if let Some((bc, _)) = &best {
                    let (nest, cycles) = assemble(v, l, &d, &sums(1, 1, min_rows, 1), taps);
                    let bound = Evaluation {
                        mapping: spatial,
                        counts: AccessCounts::place(&nest, hw.roles()),
                        macs: d.macs,
                        cycles,
                        active_pes: active_pes(l, &spatial),
                    };
                    if cost(&bound) > *bc {
                        continue;
                    }
                }
                let weights = (fp.min(mg) * cc) as u64;
                for &(e, n, e_count, e_rows, rows_max, n_count) in &temporal {
                    let (n64, e64) = (n as u64, e as u64);
                    for resident in [true, false] {
                        let chans = if resident { cg } else { cc } as u64;
                        let fixed = n64 * chans * rows_max * w + weights;
                        let Some(free) = glb.checked_sub(fixed) else {
                            continue;
                        };
                        let fit = (free / (n64 * e64 * f)) as usize / fp * fp;
                        if fit < fp {
                            continue;
                        }
                        let mb = if resident {
                            fp
                        } else {
                            fit.min(mg.div_ceil(fp) * fp)
                        };
                        let blocks = if resident {
                            1
                        } else {
                            Tiles::new(mg, mb).count()
                        };
                        let mp = Mapping {
                            n,
                            e,
                            m: mb,
                            ifmap_resident: resident,
                            segment: None,
                            ..spatial
                        };
                        let (nest, cycles) =
                            assemble(v, l, &d, &sums(n_count, e_count, e_rows, blocks), taps);
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
    }
    best.map(|(_, ev)| ev)
}

pub fn check_ws(l: &Layer, hw: &HwConfig, batch: usize, mp: &Mapping) -> Result<(), String> {
    check(Variant::Ws, l, hw, batch, mp)
}

/// Closed-form counts of a WS mapping.
pub fn evaluate_ws(
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    mp: &Mapping,
) -> Result<Evaluation, String> {
    evaluate(Variant::Ws, l, hw, batch, mp)
}

/// The WS loop nest walked pass by pass.
pub fn walk_ws(l: &Layer, hw: &HwConfig, batch: usize, mp: &Mapping) -> (AccessCounts, u64) {
    walk(Variant::Ws, l, hw, batch, mp)
}

/// The cheapest WS mapping by `cost`.
pub fn search_ws(
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    cost: &dyn Fn(&Evaluation) -> f64,
) -> Option<Evaluation> {
    search(Variant::Ws, l, hw, batch, cost)
}
