//! Zero skipping from real data: which ifmaps and weights of a layer are non-zero.
//!
//! With densities alone, cycle mode charges every column of a pass the average work of its
//! busiest PE (`p·q·S` scaled by the fraction of MACs not gated), or on the sparse PE the
//! expected work of its busiest PE (`sparse_pe`). With masks, it counts the
//! MACs each PE really performs on each ofmap column (those whose gated operands are non-zero)
//! and the column takes as long as the busiest PE: what an array in lockstep does.

use crate::arch::PeSync;
use crate::passes::Pass;
use crate::rs::RsMapping;
use crate::sparse_pe::spread;
use crate::workload::Layer;

/// Non-zero operands of one layer (true = non-zero), row-major.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Masks {
    /// `[batch][c][h][w]`, the layer's unpadded input; `None`: no ifmap mask.
    pub ifmaps: Option<Vec<bool>>,
    /// `[m][c / groups][r][s]`; `None`: no weight mask.
    pub weights: Option<Vec<bool>>,
}

/// Which zero operands let a PE skip a MAC's cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Gating {
    pub ifmaps: bool,
    pub weights: bool,
    /// The PE reads compressed sparse columns (Eyeriss v2): a non-zero ifmap costs a cycle
    /// even when all its MACs are gated (it is fetched, and its weight column's address read,
    /// JETCAS 2019 p. 302); without it a gated MAC is simply not issued.
    pub csc: bool,
}

impl Masks {
    /// The element counts `l` at `batch` implies: (ifmaps, weights).
    pub fn expected_len(l: &Layer, batch: usize) -> (usize, usize) {
        (batch * l.c * l.h * l.w, l.m * l.cg() * l.r * l.s)
    }

    /// Non-zero fraction of each mask present: (ifmaps, weights).
    pub fn densities(&self) -> (Option<f64>, Option<f64>) {
        let frac = |v: &Vec<bool>| v.iter().filter(|&&b| b).count() as f64 / v.len().max(1) as f64;
        (
            self.ifmaps.as_ref().map(frac),
            self.weights.as_ref().map(frac),
        )
    }
}

/// MAC cycles of each ofmap column of pass `p` (image-major, `p.n · F` entries): the most MAC
/// steps any PE of the pass takes on that column when gated MACs are skipped. A PE of `simd`
/// lanes does an ifmap's non-zero MACs `simd` at a time (the Eyeriss v2 PE packs a column's
/// non-zero weights, JETCAS 2019 p. 302), so an ifmap costs ceil(its MACs / simd) steps, and
/// with compressed sparse columns at least one (`Gating::csc`). The PEs
/// of all the pass's groups run in lockstep, so the busiest of any group sets the column's time.
///
/// With `PeSync::Pass` the PEs wait for one another only at the pass's end: the pass takes its
/// busiest PE's total, spread evenly over the columns (`sparse_pe::spread`).
pub(crate) fn column_costs(
    l: &Layer,
    mp: &RsMapping,
    p: &Pass,
    (m, g): (&Masks, Gating),
    (simd, sync): (usize, PeSync),
) -> Vec<u64> {
    let mut costs = vec![0u64; p.n * l.f()];
    let mut busiest_total = 0u64;
    for group in p.group..p.group + p.groups {
        group_costs(
            l,
            mp,
            p,
            group,
            (m, g, simd),
            (&mut costs, &mut busiest_total),
        );
    }
    if sync == PeSync::Pass {
        let mean = busiest_total as f64 / costs.len().max(1) as f64;
        for (i, c) in costs.iter_mut().enumerate() {
            *c = spread(mean, i as u64);
        }
    }
    costs
}

/// Raise `costs` to the work of the busiest PE of `group`'s sets in pass `p`, column by column,
/// and `busiest_total` to the most work any one of them does over the whole pass.
fn group_costs(
    l: &Layer,
    mp: &RsMapping,
    p: &Pass,
    group: usize,
    (m, g, simd): (&Masks, Gating, usize),
    (costs, busiest_total): (&mut [u64], &mut u64),
) {
    let f_out = l.f();
    let (cg, mg) = (l.cg(), l.mg());
    let ifmap_on = |img: usize, ch: usize, hr: Option<usize>, wc: isize| -> bool {
        // Padding is a zero; without ifmap gating it still costs its MAC.
        let inside = hr.is_some() && wc >= 0 && (wc as usize) < l.w;
        if !g.ifmaps {
            return true;
        }
        if !inside {
            return false;
        }
        match &m.ifmaps {
            Some(v) => v[((img * l.c + ch) * l.h + hr.unwrap()) * l.w + wc as usize],
            None => true,
        }
    };
    let weight_on = |f: usize, chg: usize, rr: usize, s: usize| -> bool {
        if !g.weights {
            return true;
        }
        match &m.weights {
            Some(v) => v[((f * cg + chg) * l.r + rr) * l.s + s],
            None => true,
        }
    };
    for ti in 0..p.t_used {
        let f_lo = p.m0 + ti * mp.p;
        let f_hi = (f_lo + mp.p).min(p.m0 + p.m);
        for ri in 0..p.r_used {
            let c_lo = p.c0 + ri * mp.q;
            let c_hi = (c_lo + mp.q).min(p.c0 + p.c);
            for rr in p.r0..p.r0 + p.rk {
                for ee in 0..p.e {
                    let h = (p.e0 + ee) * l.stride + rr;
                    let hr = h.checked_sub(l.pad).filter(|&v| v < l.h);
                    let mut total = 0u64;
                    for img in 0..p.n {
                        for x in 0..f_out {
                            let mut work = 0u64;
                            for chg in c_lo..c_hi {
                                let ch = group * cg + chg;
                                for s in p.s0..p.s0 + p.sk {
                                    let wc = (x * l.stride + s) as isize - l.pad as isize;
                                    if !ifmap_on(p.n0 + img, ch, hr, wc) {
                                        continue;
                                    }
                                    let macs = (f_lo..f_hi)
                                        .filter(|&f| weight_on(group * mg + f, chg, rr, s))
                                        .count();
                                    // Compressed columns: a non-zero ifmap takes a cycle
                                    // even when none of its weights is (`sparse_pe` takes
                                    // the same rule).
                                    work += macs.div_ceil(simd).max(g.csc as usize) as u64;
                                }
                            }
                            let c = &mut costs[img * f_out + x];
                            *c = (*c).max(work);
                            total += work;
                        }
                    }
                    *busiest_total = (*busiest_total).max(total);
                }
            }
        }
    }
}
