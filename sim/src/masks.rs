//! Zero skipping from real data: which ifmaps and weights of a layer are non-zero.
//!
//! With densities alone, cycle mode charges every column of a pass the average work of its
//! busiest PE (`p·q·S` scaled by the fraction of MACs not gated). With masks, it counts the
//! MACs each PE really performs on each ofmap column (those whose gated operands are non-zero)
//! and the column takes as long as the busiest PE: what an array in lockstep does.

use crate::passes::Pass;
use crate::rs::RsMapping;
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
/// non-zero weights, JETCAS 2019 p. 302), so an ifmap costs ceil(its MACs / simd) steps. The PEs
/// of all the pass's groups run in lockstep, so the busiest of any group sets the column's time.
pub(crate) fn column_costs(
    l: &Layer,
    mp: &RsMapping,
    p: &Pass,
    (m, g): (&Masks, Gating),
    simd: usize,
) -> Vec<u64> {
    let mut costs = vec![0u64; p.n * l.f()];
    for group in p.group..p.group + p.groups {
        group_costs(l, mp, p, group, (m, g, simd), &mut costs);
    }
    costs
}

/// Raise `costs` to the work of the busiest PE of `group`'s sets in pass `p`, column by column.
fn group_costs(
    l: &Layer,
    mp: &RsMapping,
    p: &Pass,
    group: usize,
    (m, g, simd): (&Masks, Gating, usize),
    costs: &mut [u64],
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
                                    work += macs.div_ceil(simd) as u64;
                                }
                            }
                            let c = &mut costs[img * f_out + x];
                            *c = (*c).max(work);
                        }
                    }
                }
            }
        }
    }
}
