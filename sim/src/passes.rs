//! The row-stationary loop nest executed literally, pass by pass.
//!
//! This is the second, independent derivation of a mapping's access counts: it walks every
//! processing pass in loop order and counts what each pass moves from its actual tile sizes,
//! with no factorisation. `rs::assemble` must agree with it exactly (tests), and the
//! cycle-level engine builds on the same walk.

use crate::counts::AccessCounts;
use crate::mapping::Mapping;
use crate::rs::strip_rows;
use crate::workload::Layer;

/// One processing pass: the tile of each loop dimension it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub group: usize,
    /// First image and count.
    pub n0: usize,
    pub n: usize,
    /// First ofmap row and count.
    pub e0: usize,
    pub e: usize,
    /// First filter (within the group) and count.
    pub m0: usize,
    pub m: usize,
    /// First channel (within the group) and count.
    pub c0: usize,
    pub c: usize,
    /// Filter sets and channel sets this pass uses (<= t, <= r).
    pub t_used: usize,
    pub r_used: usize,
    /// Most filters / channels any one PE holds.
    pub p_max: usize,
    pub q_max: usize,
    /// The pass is the first of its e-strip (resident ifmaps are fetched now).
    pub first_of_strip: bool,
    /// The pass is the first of its m-chunk and channel chunk (non-resident ifmaps fetched now).
    pub first_of_chunk: bool,
    /// The pass closes an m-chunk's channel loop: its ofmaps leave for DRAM after it.
    pub drains: usize,
}

fn chunks(dim: usize, size: usize) -> impl Iterator<Item = (usize, usize)> {
    let size = size.max(1);
    (0..dim).step_by(size).map(move |s| (s, size.min(dim - s)))
}

/// Walk every pass of `mp` on `l` in loop order.
pub fn for_each_pass(l: &Layer, batch: usize, mp: &Mapping, mut f: impl FnMut(&Pass)) {
    let (cg, mg) = (l.cg(), l.mg());
    let pt = mp.p * mp.t;
    let qr = mp.q * mp.r;
    for group in 0..l.groups {
        for (n0, n) in chunks(batch, mp.n) {
            for (e0, e) in chunks(l.e(), mp.e) {
                let mut first_of_strip = true;
                for (mc0, mc) in chunks(mg, mp.m) {
                    let c_chunks: Vec<_> = chunks(cg, qr).collect();
                    for (ci, &(c0, c)) in c_chunks.iter().enumerate() {
                        let last_c = ci + 1 == c_chunks.len();
                        let mut first_of_chunk = true;
                        let m_pieces: Vec<_> = chunks(mc, pt).collect();
                        for (mi, &(m_off, m)) in m_pieces.iter().enumerate() {
                            let pass = Pass {
                                group,
                                n0,
                                n,
                                e0,
                                e,
                                m0: mc0 + m_off,
                                m,
                                c0,
                                c,
                                t_used: m.div_ceil(mp.p),
                                r_used: c.div_ceil(mp.q),
                                p_max: m.min(mp.p),
                                q_max: c.min(mp.q),
                                first_of_strip,
                                first_of_chunk,
                                drains: if last_c && mi + 1 == m_pieces.len() {
                                    mc
                                } else {
                                    0
                                },
                            };
                            f(&pass);
                            first_of_strip = false;
                            first_of_chunk = false;
                        }
                    }
                }
            }
        }
    }
}

/// What one pass moves, counted from its own tile (see the loop nest in `rs`).
pub fn pass_counts(l: &Layer, mp: &Mapping, p: &Pass, out: &mut AccessCounts) -> u64 {
    let (r, s) = (l.r as u64, l.s as u64);
    let (n, e, m, c) = (p.n as u64, p.e as u64, p.m as u64, p.c as u64);
    let f = l.f() as u64;
    let rows = strip_rows(l, p.e0, p.e);
    let macs = n * m * c * e * f * r * s;
    // Filters of the pass: DRAM -> filter buffer -> each of the e PEs of a filter row.
    let filt = m * c * r * s;
    out.dram.weights.reads += filt;
    out.glb.weights.writes += filt;
    out.glb.weights.reads += filt;
    out.array.weights.reads += filt * e;
    out.rf.weights.writes += filt * e;
    out.rf.weights.reads += macs;
    // Ifmaps: fetched into the GLB at the start of a strip (resident) or chunk (not).
    let strip_words = n * rows * l.w as u64;
    let fetch = if mp.ifmap_resident {
        if p.first_of_strip && p.m0 == 0 && p.c0 == 0 {
            // The whole group's channels for this strip, once.
            strip_words * l.cg() as u64
        } else {
            0
        }
    } else if p.first_of_chunk {
        strip_words * c
    } else {
        0
    };
    out.dram.ifmaps.reads += fetch;
    out.glb.ifmaps.writes += fetch;
    out.glb.ifmaps.reads += strip_words * c;
    // Each PE of every used filter set receives its padded row for each of its channels.
    out.array.ifmaps.reads += n * l.wp() as u64 * r * e * c * p.t_used as u64;
    out.rf.ifmaps.writes += n * l.wp() as u64 * r * e * c * p.t_used as u64;
    out.rf.ifmaps.reads += macs;
    // Psums: up R·r_used PEs, in from the GLB after the first channel chunk, out to the GLB.
    let psums = n * m * e * f;
    out.rf.psums.reads += macs;
    out.rf.psums.writes += macs;
    let reload = u64::from(p.c0 > 0);
    out.array.psums.reads += psums * (r * p.r_used as u64 - 1 + reload);
    out.array.psums.writes += psums;
    out.glb.psums.reads += psums * reload;
    out.glb.psums.writes += psums;
    if p.drains > 0 {
        let ofmaps = n * p.drains as u64 * e * f;
        out.glb.psums.reads += ofmaps;
        out.dram.psums.writes += ofmaps;
    }
    n * p.p_max as u64 * p.q_max as u64 * f * s
}

/// Counts and cycles of a mapping by walking every pass.
pub fn walk(l: &Layer, batch: usize, mp: &Mapping) -> (AccessCounts, u64) {
    let mut counts = AccessCounts::default();
    let mut cycles = 0;
    for_each_pass(l, batch, mp, |p| {
        cycles += pass_counts(l, mp, p, &mut counts)
    });
    (counts, cycles)
}
