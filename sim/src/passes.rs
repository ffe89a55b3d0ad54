//! The row-stationary loop nest executed literally, pass by pass.
//!
//! This is the second, independent derivation of a mapping's access counts: it walks every
//! processing pass in loop order and counts what each pass moves from its actual tile sizes,
//! with no factorisation. `rs::assemble` must agree with it exactly (tests), and the
//! cycle-level engine builds on the same walk.

use std::ops::ControlFlow;

use crate::arch::HwConfig;
use crate::counts::{AccessCounts, NestCounts};
use crate::rs::segment::{segment_cols, segment_of, segment_rows, segment_width, tiles};
use crate::rs::strip_rows;
use crate::rs::RsMapping;
use crate::workload::Layer;

/// One processing pass: the tile of each loop dimension it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// First channel group and count: the pass runs `groups` groups side by side, each on its
    /// own PE sets with its own data (`RsMapping::u`), everything below per group.
    pub group: usize,
    pub groups: usize,
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
    /// The filter segment: first filter row and rows, first filter column and columns (the
    /// whole filter unless the mapping splits it).
    pub r0: usize,
    pub rk: usize,
    pub s0: usize,
    pub sk: usize,
    /// Psums come in from the GLB: a later channel chunk or filter segment.
    pub reload: bool,
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

/// Walk every pass of `mp` on `l` in loop order, until `f` breaks.
pub fn for_each_pass(
    l: &Layer,
    batch: usize,
    mp: &RsMapping,
    mut f: impl FnMut(&Pass) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let (cg, mg) = (l.cg(), l.mg());
    let segs = tiles(l, segment_of(l, mp));
    for (group, groups) in chunks(l.groups, mp.u) {
        for (n0, n) in chunks(batch, mp.n) {
            for (e0, e) in chunks(l.e(), mp.e) {
                let mut first_of_strip = true;
                for (mc0, mc) in chunks(mg, mp.m) {
                    let c_chunks: Vec<_> = chunks(cg, mp.q * mp.r).collect();
                    for (ci, &(c0, c)) in c_chunks.iter().enumerate() {
                        let mut first_of_chunk = true;
                        for (si, &seg) in segs.iter().enumerate() {
                            let last = ci + 1 == c_chunks.len() && si + 1 == segs.len();
                            let reload = ci > 0 || si > 0;
                            let proto = Pass {
                                group,
                                groups,
                                n0,
                                n,
                                e0,
                                e,
                                m0: mc0,
                                m: mc,
                                c0,
                                c,
                                r0: seg.0,
                                rk: seg.1,
                                s0: seg.2,
                                sk: seg.3,
                                reload,
                                t_used: 0,
                                r_used: c.div_ceil(mp.q),
                                p_max: 0,
                                q_max: c.min(mp.q),
                                first_of_strip,
                                first_of_chunk,
                                drains: 0,
                            };
                            filter_chunks(mp, &proto, last, &mut f)?;
                            first_of_strip = false;
                            first_of_chunk = false;
                        }
                    }
                }
            }
        }
    }
    ControlFlow::Continue(())
}

/// The passes of one segment of one channel chunk: the m-chunk of `proto` in pieces of p·t
/// filters. `last`: the chunk and segment close the m-chunk's accumulation (its ofmaps drain
/// after the last piece).
fn filter_chunks(
    mp: &RsMapping,
    proto: &Pass,
    last: bool,
    f: &mut impl FnMut(&Pass) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let m_pieces: Vec<_> = chunks(proto.m, mp.p * mp.t).collect();
    for (mi, &(m_off, m)) in m_pieces.iter().enumerate() {
        let first = mi == 0;
        let pass = Pass {
            m0: proto.m0 + m_off,
            m,
            t_used: m.div_ceil(mp.p),
            p_max: m.min(mp.p),
            first_of_strip: proto.first_of_strip && first,
            first_of_chunk: proto.first_of_chunk && first,
            drains: if last && mi + 1 == m_pieces.len() {
                proto.m
            } else {
                0
            },
            ..*proto
        };
        f(&pass)?;
    }
    ControlFlow::Continue(())
}

/// What one pass moves, counted from its own tile (see the loop nest in `rs`): its `g` groups
/// each move their own words, and compute in parallel (the cycles are one group's). A PE of
/// `simd` MAC lanes does up to `simd` of its filters' MACs per ifmap read and cycle.
pub fn pass_counts(l: &Layer, mp: &RsMapping, p: &Pass, simd: usize, out: &mut NestCounts) -> u64 {
    let (r, s) = (p.rk as u64, p.sk as u64);
    let (n, e, m, c) = (p.n as u64, p.e as u64, p.m as u64, p.c as u64);
    let g = p.groups as u64;
    let f = l.f() as u64;
    // The strip (every row the whole filter reads) is what DRAM delivers; the pass reads the
    // rows and columns of its segment.
    let rows = strip_rows(l, p.e0, p.e);
    let (seg_rows, seg_cols) = (
        segment_rows(l, p.e0, p.e, p.r0, p.rk),
        segment_cols(l, p.s0, p.sk),
    );
    let width = segment_width(l, p.sk);
    let macs = g * n * m * c * e * f * r * s;
    // Filters of the pass: DRAM -> filter buffer -> each of the e PEs of a filter row.
    let filt = g * m * c * r * s;
    out.dram.weights.reads += filt;
    out.glb.weights.writes += filt;
    out.glb.weights.reads += filt;
    out.array.weights.reads += filt * e;
    out.rf.weights.writes += filt * e;
    out.rf.weights.reads += macs;
    // Ifmaps: fetched into the GLB at the start of a strip (resident) or chunk (not).
    let strip_words = g * n * rows * l.w as u64;
    let fetch = if mp.ifmap_resident {
        if p.first_of_strip && p.m0 == 0 && p.c0 == 0 {
            // The whole groups' channels for this strip, once.
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
    out.glb.ifmaps.reads += g * n * seg_rows * seg_cols * c;
    // Each PE of every used filter set receives its segment's padded row for each of its
    // channels.
    let delivered = g * n * width * r * e * c * p.t_used as u64;
    out.array.ifmaps.reads += delivered;
    out.rf.ifmaps.writes += delivered;
    // Each PE reads an ifmap once per ceil(its filters / simd) MAC steps: its filters at simd 1.
    let reads_per = crate::rs::chunk_ifmap_reads(m, mp.p as u64, simd as u64);
    out.rf.ifmaps.reads += macs / m * reads_per;
    // Psums: up the segment's rows x r_used PEs, in from the GLB unless this is the first
    // channel chunk's first segment, out to the GLB.
    let psums = g * n * m * e * f;
    out.rf.psums.reads += macs;
    out.rf.psums.writes += macs;
    let reload = u64::from(p.reload);
    out.array.psums.reads += psums * (r * p.r_used as u64 - 1 + reload);
    out.array.psums.writes += psums;
    out.glb.psums.reads += psums * reload;
    out.glb.psums.writes += psums;
    if p.drains > 0 {
        let ofmaps = g * n * p.drains as u64 * e * f;
        out.glb.psums.reads += ofmaps;
        out.dram.psums.writes += ofmaps;
    }
    n * p.p_max.div_ceil(simd) as u64 * p.q_max as u64 * f * s
}

/// Counts and cycles of a mapping by walking every pass, at the levels of `hw`.
pub fn walk(l: &Layer, hw: &HwConfig, batch: usize, mp: &RsMapping) -> (AccessCounts, u64) {
    let mut counts = NestCounts::default();
    let mut cycles = 0;
    let mut mesh = crate::rs::noc::PassNoc::new(l, hw, mp);
    let _ = for_each_pass(l, batch, mp, |p| {
        cycles += pass_counts(l, mp, p, hw.pe.simd, &mut counts);
        if let Some(noc) = &mut mesh {
            counts.noc += noc.counts(p);
        }
        ControlFlow::Continue(())
    });
    (AccessCounts::place(&counts, hw.roles()), cycles)
}
