//! The row-stationary mapping search: an exact branch-and-bound (`search`), the plain
//! exhaustive oracle it is tested against (`search_reference`), and the stream
//! `dataflow::search_lower_bounded` bounds from below (`stream`). All visit the same space:
//! for every filter segment and strip width, every (n, p, q, r, t, u) and GLB tiling that fits
//! (`search_reference` and `stream` build their candidates in `candidates`).
//!
//! Groups per pass `u` (`[mapper] group_sets`) change no count, only the cycles (ceil(G / u)
//! group chunks) and the GLB and sets a pass takes, so the bounds below take the cycles at the
//! largest u the sets allow.

use std::cell::RefCell;
use std::collections::HashMap;

use super::noc;
use super::segment::{mapping_segment, seg_sums, segments, SegSums};
use super::{
    assemble, chunk_sums, e_sums, evaluation, glb_need_with, ifmap_fetches, m_chunk_sums,
    set_capacity, strip_widths, Dims, MSide, Sums,
};
use crate::arch::{HwConfig, PeSpec};
use crate::counts::{AccessCounts, DataType, Roles};
use crate::rs::mapping::{RsMapping, Segment};
use crate::select::keep;
use crate::tiles::{balanced, Tiles};
use crate::workload::Layer;
use crate::Evaluation;

type Cost<'a> = &'a dyn Fn(&Evaluation) -> f64;
type Best = Option<(f64, Evaluation)>;

/// Whether even the lower-bound sums `floor` cost more than the incumbent (strictly: a tie
/// could still win on the tie-break).
fn beaten(best: &Best, d: &Dims, floor: &Sums, cost: Cost) -> bool {
    let Some((bc, b)) = best else {
        return false;
    };
    let (nest, cycles) = assemble(d, floor);
    let probe = Evaluation {
        mapping: b.mapping,
        counts: AccessCounts::place(&nest, b.counts.roles()),
        macs: d.macs,
        cycles,
        active_pes: 0,
    };
    cost(&probe) > *bc
}

/// What every candidate with one filter segment and one strip width shares.
struct Strip<'a> {
    l: &'a Layer,
    d: Dims,
    roles: Roles,
    seg: Segment,
    e: usize,
    /// PE sets that fit the array.
    cap: usize,
    e_count: u64,
    e_rows: u64,
    e_rows_max: u64,
    seg_sums: SegSums,
    /// Groups per pass to try, largest first: the distinct ceil(G / k) (`balanced`), since for
    /// one number of group chunks the smallest u moves the same words in the same time with
    /// the least GLB and sets; just 1 without `[mapper] group_sets` or groups.
    us: Vec<usize>,
    /// The config when its network is a hierarchical mesh (`noc`): candidates then count hops
    /// and routers, and must fit the mesh.
    mesh_hw: Option<&'a HwConfig>,
    /// Whether (r, t, u) fits the mesh, as found so far (`noc::check` depends on nothing else
    /// within a strip).
    mesh_fits: RefCell<HashMap<(usize, usize, usize), bool>>,
    /// MAC lanes per PE (`[pe] simd`).
    simd: u64,
    /// The PE at its most (`PeSpec::for_density`): the bound on q and p every search path
    /// enumerates to, `holds` deciding each p.
    pe_most: PeSpec,
}

impl<'a> Strip<'a> {
    /// Do `p` filters of `q` channels fit a PE's filter spad? Always within the dense limit;
    /// beyond it (up to `PeSpec::for_density`'s) only where the weights are compressed at `p`.
    fn holds(&self, hw: &HwConfig, p: usize, q: usize) -> bool {
        !hw.pe.compressed_weights
            || hw.pe.holds_filters(
                p,
                q,
                self.seg.cols,
                self.l.weight_density,
                hw.core.word_bits,
            )
    }

    fn new(
        l: &'a Layer,
        hw: &'a HwConfig,
        d: Dims,
        seg: Segment,
        e: usize,
        cap: usize,
    ) -> Strip<'a> {
        let (e_count, e_rows, e_rows_max) = e_sums(l, e);
        Strip {
            l,
            d,
            roles: hw.roles(),
            seg,
            e,
            cap,
            e_count,
            e_rows,
            e_rows_max,
            seg_sums: seg_sums(l, e, seg),
            us: group_sets(l, hw),
            mesh_hw: hw.mesh().map(|_| hw),
            mesh_fits: RefCell::new(HashMap::new()),
            simd: hw.pe.simd as u64,
            pe_most: hw.pe.for_density(l.weight_density),
        }
    }

    /// Whether r x t sets of u groups fit the array (`cap`) and, on a mesh, its links.
    fn fits(&self, r: usize, t: usize, u: usize) -> bool {
        if r * t * u > self.cap {
            return false;
        }
        let Some(hw) = self.mesh_hw else {
            return true;
        };
        *self
            .mesh_fits
            .borrow_mut()
            .entry((r, t, u))
            .or_insert_with(|| {
                // p = q = 1 uses all r x t sets, as every candidate's fullest pass does.
                let mp = self.mapping(1, [1, 1, r, t], u, t, true);
                noc::check(self.l, hw, &mp).is_ok()
            })
    }

    #[inline]
    fn mapping(
        &self,
        n: usize,
        [p, q, r, t]: [usize; 4],
        u: usize,
        m: usize,
        resident: bool,
    ) -> RsMapping {
        RsMapping {
            n,
            p,
            q,
            r,
            t,
            e: self.e,
            m,
            ifmap_resident: resident,
            segment: mapping_segment(self.l, self.seg),
            u,
        }
    }

    /// The group chunks of `u` groups per pass.
    #[inline]
    fn g_count(&self, u: usize) -> u64 {
        self.d.g.div_ceil(u as u64)
    }

    /// The most groups per pass of any candidate with `r` channel sets: as many as the sets
    /// allow beside one filter set (a bound: they may not fit beside t > 1).
    #[inline]
    fn u_most(&self, r: usize) -> usize {
        let most = self.us.iter().find(|&&u| r * u <= self.cap).copied();
        most.unwrap_or(1)
    }

    /// The fewest group chunks of any candidate with `r` channel sets.
    #[inline]
    fn g_floor(&self, r: usize) -> u64 {
        self.g_count(self.u_most(r))
    }

    /// A floor on the filter-side sums of every candidate with at most `p_hi` filters per PE
    /// and `t_cap` filter sets: each chunk holds at most p_hi·t_cap filters, each set at most
    /// p_hi, and a chunk's busiest PE at least its share over t_cap sets; Σ ceil(x/simd) is at
    /// least ceil(Σ x / simd).
    #[inline]
    fn m_floor(&self, p_hi: u64, t_cap: u64) -> MSide {
        let m = self.d.m;
        MSide {
            count: m.div_ceil(p_hi * t_cap),
            t_used: m.div_ceil(p_hi),
            lanes: m.div_ceil(t_cap).div_ceil(self.simd),
            reads: m.div_ceil(self.simd),
        }
    }

    /// The sums of a candidate from its group-chunk, image, filter-side and channel-side sums.
    #[inline]
    fn sums(&self, [g_count, n_count]: [u64; 2], m_side: MSide, c_side: (u64, u64, u64)) -> Sums {
        let (c_count, r_used, q_max) = c_side;
        Sums {
            g_count,
            n_count,
            e_count: self.e_count,
            e_rows: self.e_rows,
            m_count: m_side.count,
            t_used: m_side.t_used,
            p_lanes: m_side.lanes,
            p_reads: m_side.reads,
            c_count,
            r_used,
            q_max,
            ifmap_fetches: 1,
            seg: self.seg_sums,
        }
    }

    /// The evaluation of a candidate.
    #[inline(always)]
    fn evaluate(&self, mp: RsMapping, mut sums: Sums) -> Evaluation {
        sums.ifmap_fetches = ifmap_fetches(&self.d, &mp);
        evaluation(self.l, &self.d, self.roles, mp, &sums, self.mesh_hw)
    }

    /// The evaluation of a candidate without its hops and routers, which `stream` may leave
    /// out (`DataflowModel::stream`; `RowStationary::complete` adds them).
    #[inline(always)]
    fn evaluate_bare(&self, mp: RsMapping, mut sums: Sums) -> Evaluation {
        sums.ifmap_fetches = ifmap_fetches(&self.d, &mp);
        evaluation(self.l, &self.d, self.roles, mp, &sums, None)
    }

    /// Evaluate a candidate and keep it if it wins.
    #[inline(always)]
    fn consider(&self, mp: RsMapping, sums: Sums, cost: Cost, best: &mut Best) {
        let ev = self.evaluate(mp, sums);
        let c = cost(&ev);
        keep(best, c, ev);
    }
}

/// The groups per pass a search tries on `hw`, largest first (see `Strip::us`).
fn group_sets(l: &Layer, hw: &HwConfig) -> Vec<usize> {
    if hw.mapper.group_sets && l.groups > 1 {
        balanced(l.groups)
    } else {
        vec![1]
    }
}

/// Each filter segment and strip width the searches visit, in order.
fn strips<'a>(l: &'a Layer, hw: &'a HwConfig, d: Dims) -> Vec<Strip<'a>> {
    let mut out = Vec::new();
    for seg in segments(l, hw) {
        for e in strip_widths(l, hw, seg.rows) {
            if let Some(cap) = set_capacity(seg.rows, hw, e) {
                out.push(Strip::new(l, hw, d, seg, e, cap));
            }
        }
    }
    out
}

/// The batch chunk sizes (largest first) and their counts.
fn batch_chunks(batch: usize) -> Vec<(usize, u64)> {
    balanced(batch)
        .into_iter()
        .map(|n| (n, Tiles::new(batch, n).count()))
        .collect()
}

/// The pruned search's state: candidate lists and the incumbent.
struct Search<'a> {
    hw: &'a HwConfig,
    ns: Vec<(usize, u64)>,
    cost: Cost<'a>,
    best: Best,
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
pub fn search(l: &Layer, hw: &HwConfig, batch: usize, cost: Cost) -> Option<Evaluation> {
    let d = Dims::new(l, batch);
    let mut s = Search {
        hw,
        ns: batch_chunks(batch),
        cost,
        best: None,
    };
    // Candidate replication counts, largest first, per filter-segment width.
    let mut lists: Option<(usize, Lists)> = None;
    for strip in strips(l, hw, d) {
        let cols = strip.seg.cols;
        if lists.as_ref().is_none_or(|(c, _)| *c != cols) {
            lists = Some((cols, Lists::new(l, hw, cols)));
        }
        if let Some((_, lists)) = &lists {
            s.strip(&strip, lists);
        }
    }
    s.best.map(|(_, ev)| ev)
}

/// Channel sets `r` per `q` and filter sets `t` per `p`, each largest first.
struct Lists {
    r_lists: Vec<Vec<usize>>,
    t_lists: Vec<Vec<usize>>,
}

impl Lists {
    fn new(l: &Layer, hw: &HwConfig, cols: usize) -> Lists {
        let (cg, mg) = (l.cg(), l.mg());
        let pe = hw.pe.for_density(l.weight_density);
        let qmax = pe.max_q(cols).min(cg);
        let p_top = pe.max_p(1, cols).min(mg);
        Lists {
            r_lists: (0..=qmax)
                .map(|q| balanced(cg.div_ceil(q.max(1))))
                .collect(),
            t_lists: (0..=p_top)
                .map(|p| balanced(mg.div_ceil(p.max(1))))
                .collect(),
        }
    }
}

impl Search<'_> {
    /// Every (q, r) and then (p, t) of one strip, skipping subtrees a lower bound rules out.
    fn strip(&mut self, s: &Strip, lists: &Lists) {
        let (d, hw) = (&s.d, self.hw);
        let mg = s.l.mg();
        for (q, r_list) in lists.r_lists.iter().enumerate().skip(1).rev() {
            let pmax = s.pe_most.max_p(q, s.seg.cols).min(mg);
            if pmax == 0 {
                // The filter spad cannot hold q channels' rows of even one filter.
                continue;
            }
            for &r in r_list.iter().skip_while(|&&r| r > s.cap) {
                let c_side = chunk_sums(d.c, q as u64, r as u64);
                let t_cap = (s.cap / r).max(1) as u64;
                let g_floor = s.g_floor(r);
                // Bound: the cheapest any (p, t, u) below could be (every m-side sum and the
                // group chunks at their floor); a monotone cost lets the whole subtree go if
                // even that loses.
                let floor = |p_hi: u64| s.sums([g_floor, 1], s.m_floor(p_hi, t_cap), c_side);
                if beaten(&self.best, d, &floor(pmax as u64), self.cost) {
                    continue;
                }
                for (p, t_list) in lists
                    .t_lists
                    .iter()
                    .enumerate()
                    .take(pmax + 1)
                    .skip(1)
                    .rev()
                {
                    if !s.holds(hw, p, q) || beaten(&self.best, d, &floor(p as u64), self.cost) {
                        continue;
                    }
                    self.filter_sets(s, [p, q, r], t_list, c_side);
                }
            }
        }
    }

    /// Every `t` and `u` for one (p, q, r), and for each the batch chunks and GLB tilings worth
    /// trying.
    fn filter_sets(
        &mut self,
        s: &Strip,
        [p, q, r]: [usize; 3],
        t_list: &[usize],
        c_side: (u64, u64, u64),
    ) {
        let (l, hw) = (s.l, self.hw);
        let (cg, mg) = (l.cg(), l.mg());
        let qr = (q * r).min(cg) as u64;
        let filter_words = hw.glb.filter_words as u64;
        // Filters that bypass the GLB (`[glb] holds`) stream from DRAM and take no buffer.
        let bypass = !s.roles.glb_holds(DataType::Weights);
        // Lists run from the largest t and u down; the sets that fit and the filter buffer
        // (u groups' filters) both bound them from above.
        let staged = |t: usize| match bypass {
            true => 0,
            false => (p * t).min(mg) as u64 * qr * (s.seg.rows * s.seg.cols) as u64,
        };
        let too_big = |t: usize, u: usize| {
            !s.fits(r, t, u) || (filter_words > 0 && u as u64 * staged(t) > filter_words)
        };
        for &t in t_list.iter().skip_while(|&&t| too_big(t, 1)) {
            let m_side = m_chunk_sums(s.d.m, p as u64, t as u64, s.simd);
            for &u in s.us.iter().skip_while(|&&u| too_big(t, u)) {
                let shared = if filter_words > 0 { 0 } else { staged(t) };
                self.tilings(s, [p, q, r, t], u, u as u64 * shared, (m_side, c_side));
            }
        }
    }

    /// The batch chunks and GLB tilings worth trying for one (p, q, r, t, u), whose filters
    /// take `shared` words of the GLB.
    fn tilings(
        &mut self,
        s: &Strip,
        [p, q, r, t]: [usize; 4],
        u: usize,
        shared: u64,
        (m_side, c_side): (MSide, (u64, u64, u64)),
    ) {
        let l = s.l;
        let (cg, mg) = (l.cg(), l.mg());
        let qr = (q * r).min(cg) as u64;
        let glb = &self.hw.glb;
        // Per image, the u groups' strips of one channel and psums of one filter.
        // (None when ifmaps bypass the GLB, `[glb] holds`: they stream from DRAM.)
        let strip_per_channel = match s.roles.glb_holds(DataType::Ifmaps) {
            true => u as u64 * s.e_rows_max * l.w as u64,
            false => 0,
        };
        let psum_per_filter = u as u64 * (s.e * l.f()) as u64;
        let (pt, pqrt, g_count) = (p * t, [p, q, r, t], s.g_count(u));
        // Resident: the GLB holds every channel's strip and p·t filters' psums.
        let resident_fits = |n: u64| {
            let (ifmaps, psums) = (
                n * cg as u64 * strip_per_channel,
                n * pt as u64 * psum_per_filter,
            );
            glb.fits(shared, ifmaps, psums)
        };
        let resident_n = self
            .ns
            .iter()
            .find(|&&(n, _)| resident_fits(n as u64))
            .copied();
        if let Some((n, n_count)) = resident_n {
            let sums = s.sums([g_count, n_count], m_side, c_side);
            let mp = s.mapping(n, pqrt, u, pt, true);
            s.consider(mp, sums, self.cost, &mut self.best);
        }
        // Not resident: only at an n too large for resident ifmaps; the most psums that fit
        // cut the ifmap refetches.
        let limit = resident_n.map_or(0, |(n, _)| n);
        for &(n, n_count) in self.ns.iter().filter(|&&(n, _)| n > limit) {
            let ifmaps = n as u64 * qr * strip_per_channel;
            let Some(free) = glb.psum_room(shared, ifmaps) else {
                continue;
            };
            let fit = (free / (n as u64 * psum_per_filter)) as usize / pt * pt;
            if fit < pt {
                continue;
            }
            let m = fit.min(mg.div_ceil(pt) * pt);
            let sums = s.sums([g_count, n_count], m_side, c_side);
            let mp = s.mapping(n, pqrt, u, m, false);
            s.consider(mp, sums, self.cost, &mut self.best);
        }
    }
}

/// The plain exhaustive search, every candidate evaluated: the oracle `search` is tested
/// against (it skips only candidates that a monotone cost cannot prefer).
#[doc(hidden)]
pub fn search_reference(l: &Layer, hw: &HwConfig, batch: usize, cost: Cost) -> Option<Evaluation> {
    let d = Dims::new(l, batch);
    let mut best: Best = None;
    for strip in strips(l, hw, d) {
        for n in balanced(batch) {
            let n_count = Tiles::new(batch, n).count();
            reference_strip(&strip, hw, (n, n_count), cost, &mut best);
        }
    }
    best.map(|(_, ev)| ev)
}

/// Every (q, r, p, t, u, resident) of one strip and batch chunk, each with the most psums the
/// GLB holds when ifmaps are not resident.
fn reference_strip(
    s: &Strip,
    hw: &HwConfig,
    (n, n_count): (usize, u64),
    cost: Cost,
    best: &mut Best,
) {
    let (l, d) = (s.l, &s.d);
    let (cg, mg) = (l.cg(), l.mg());
    let qmax = s.pe_most.max_q(s.seg.cols).min(cg);
    for q in 1..=qmax {
        let pmax = s.pe_most.max_p(q, s.seg.cols).min(mg);
        for r in balanced(cg.div_ceil(q)).into_iter().filter(|&r| r <= s.cap) {
            let c_side = chunk_sums(d.c, q as u64, r as u64);
            for p in (1..=pmax).filter(|&p| s.holds(hw, p, q)) {
                for t in balanced(mg.div_ceil(p))
                    .into_iter()
                    .filter(|&t| r * t <= s.cap)
                {
                    for &u in s.us.iter().filter(|&&u| s.fits(r, t, u)) {
                        candidates(
                            s,
                            hw,
                            [p, q, r, t, u],
                            (n, n_count),
                            c_side,
                            &mut |mp, sums| s.consider(mp, sums, cost, best),
                        );
                    }
                }
            }
        }
    }
}

/// The candidates of one strip, (p, q, r, t, u) and batch chunk, with their sums: resident
/// ifmaps (no bigger m) and not (the most psums that fit, to cut the ifmap refetches), where
/// the filters fit the filter buffer and the tiles the GLB (u groups' of each).
fn candidates(
    s: &Strip,
    hw: &HwConfig,
    [p, q, r, t, u]: [usize; 5],
    (n, n_count): (usize, u64),
    c_side: (u64, u64, u64),
    f: &mut impl FnMut(RsMapping, Sums),
) {
    let l = s.l;
    let (cg, mg) = (l.cg(), l.mg());
    let pt = p * t;
    let mut filters = (u * pt.min(mg) * (q * r).min(cg) * s.seg.rows * s.seg.cols) as u64;
    if !s.roles.glb_holds(DataType::Weights) {
        filters = 0; // they stream from DRAM (`[glb] holds`): no buffer to fit
    }
    if hw.glb.filter_words > 0 && filters > hw.glb.filter_words as u64 {
        return;
    }
    let shared = if hw.glb.filter_words > 0 { 0 } else { filters };
    let m_side = m_chunk_sums(s.d.m, p as u64, t as u64, s.simd);
    for resident in [true, false] {
        let base = s.mapping(n, [p, q, r, t], u, pt, resident);
        let need = glb_need_with(l, n, &base, s.e_rows_max, cg, mg).held(s.roles);
        let Some(free) = hw.glb.psum_room(shared, need.ifmaps) else {
            continue;
        };
        let per_filter = (u * n * s.e * l.f()) as u64;
        let fit = (free / per_filter) as usize / pt * pt;
        if fit < pt {
            continue;
        }
        let m = if resident {
            pt
        } else {
            fit.min(mg.div_ceil(pt) * pt)
        };
        let sums = s.sums([s.g_count(u), n_count], m_side, c_side);
        f(RsMapping { m, ..base }, sums);
    }
}

/// `search_reference`'s space for `dataflow::search_lower_bounded`, each candidate handed to
/// `visit`, which answers the largest bound it still wants. Channel sets (q, r) and then
/// filters per PE (p) are bounded from below as in `search` (the counts of their cheapest
/// conceivable candidate, `floor`), and skipped when even that bound exceeds the answer: most
/// of a fully-connected layer's 10^5-10^6 candidates go so. Largest q and p first, as `search`,
/// so that low bounds come early. On a mesh a candidate comes without its hops and routers
/// (`RowStationary::complete` adds them): counting them was most of an edp search's time, and
/// the bounds of all but the few candidates that may win rule them out without.
pub fn stream(
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    floor: Cost,
    visit: &mut dyn FnMut(&Evaluation) -> f64,
) {
    let d = Dims::new(l, batch);
    let mut s = Stream {
        hw,
        ns: batch_chunks(batch),
        floor,
        visit,
        wanted: f64::INFINITY,
    };
    for strip in strips(l, hw, d) {
        s.strip(&strip);
    }
}

/// The state of `stream`: where it hands candidates, and the largest bound last wanted.
struct Stream<'a, 'v> {
    hw: &'a HwConfig,
    ns: Vec<(usize, u64)>,
    floor: Cost<'a>,
    visit: &'v mut dyn FnMut(&Evaluation) -> f64,
    wanted: f64,
}

impl Stream<'_, '_> {
    /// Whether every candidate with channel sums `c_side`, `p <= p_hi`, `t <= t_cap`, at most
    /// `u_most` groups per pass and at least `n_count` batch chunks (at least the floor sums)
    /// has a bound above the one wanted.
    fn unwanted(
        &self,
        s: &Strip,
        [p_hi, q, r]: [usize; 3],
        c_side: (u64, u64, u64),
        n_count: u64,
    ) -> bool {
        let d = &s.d;
        let (p_hi, t_cap) = (p_hi as u64, (s.cap / r).max(1) as u64);
        let m_side = s.m_floor(p_hi, t_cap);
        let u = s.u_most(r);
        let mapping = s.mapping(1, [p_hi as usize, q, r, 1], u, p_hi as usize, true);
        let sums = s.sums([s.g_count(u), n_count], m_side, c_side);
        // No hops: a floor on the counts (the mesh's only add to them).
        let probe = evaluation(s.l, d, s.roles, mapping, &sums, None);
        (self.floor)(&probe) > self.wanted
    }

    /// Every (q, r, p) of one strip whose floor is wanted, largest first.
    fn strip(&mut self, s: &Strip) {
        let (l, d) = (s.l, &s.d);
        let (cg, mg) = (l.cg(), l.mg());
        let qmax = s.pe_most.max_q(s.seg.cols).min(cg);
        for q in (1..=qmax).rev() {
            let pmax = s.pe_most.max_p(q, s.seg.cols).min(mg);
            if pmax == 0 {
                continue;
            }
            for r in balanced(cg.div_ceil(q)).into_iter().filter(|&r| r <= s.cap) {
                let c_side = chunk_sums(d.c, q as u64, r as u64);
                // The fewest batch chunks: the whole batch in one.
                if self.unwanted(s, [pmax, q, r], c_side, 1) {
                    continue;
                }
                for p in (1..=pmax).rev() {
                    if !s.holds(self.hw, p, q) || self.unwanted(s, [p, q, r], c_side, 1) {
                        continue;
                    }
                    for i in 0..self.ns.len() {
                        if !self.unwanted(s, [p, q, r], c_side, self.ns[i].1) {
                            self.sets(s, [p, q, r], c_side, self.ns[i]);
                        }
                    }
                }
            }
        }
    }

    /// Every t, u and residency of one (p, q, r) and batch chunk.
    fn sets(&mut self, s: &Strip, [p, q, r]: [usize; 3], c_side: (u64, u64, u64), n: (usize, u64)) {
        let mg = s.l.mg();
        for t in balanced(mg.div_ceil(p))
            .into_iter()
            .filter(|&t| r * t <= s.cap)
        {
            for &u in s.us.iter().filter(|&&u| s.fits(r, t, u)) {
                candidates(s, self.hw, [p, q, r, t, u], n, c_side, &mut |mp, sums| {
                    self.wanted = (self.visit)(&s.evaluate_bare(mp, sums));
                });
            }
        }
    }
}
