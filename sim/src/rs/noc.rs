//! Row-stationary on a hierarchical mesh (Eyeriss v2's HM-NoC, `arch::mesh`): where a
//! mapping's PE sets sit on the clusters, which clusters each word must reach, the multicast
//! mode that makes (JETCAS 2019 §III-B, Fig. 8), and the hops and routers it costs.
//!
//! Placement. A set slot is `seg.rows x fold` PE rows by min(e, cols) columns (`set_capacity`);
//! slots tile the array from the top-left. The r channel sets of one filter set accumulate
//! psums into one another, so they form a *chain* of r slots stacked in one slot column (psums
//! move only vertically); chain `u_i·t + t_i` (group replica, filter set) fills the slot
//! columns top to bottom, then left to right. A folded set's segments stack downwards.
//!
//! Counting, per distinct word injected (the plan's rule, generalised): the word travels a
//! multicast tree over the clusters whose PEs need it, a trunk down the westmost of those
//! clusters' columns and a branch east along each of their rows. `routers` = the clusters the
//! tree touches, `hops` = routers - 1. On a line of k clusters at stride s that is the plan's
//! (k - 1)·s, on a contiguous block k - 1; it also covers an ifmap row's diagonal, which is
//! neither. Words are those the network counts: a weight once per pass; an ifmap row of each
//! padded input row (padding is made at the array edge, as the network's reads count it); a
//! psum once up its chain. Passes differ only in their tile sizes, so the closed form sums the
//! same per-pass function over the distinct tile shapes, each times how often it occurs.

use std::collections::BTreeSet;

use crate::arch::{HwConfig, Mesh};
use crate::counts::{DataType, NocCounts};
use crate::passes::Pass;
use crate::rs::mapping::RsMapping;
use crate::rs::segment::{segment_of, segment_width, tiles};
use crate::tiles::Tiles;
use crate::workload::Layer;

/// How one data type's words reach the PEs of a pass (JETCAS 2019 Fig. 8): each to one PE
/// (unicast), to every PE the pass uses (broadcast), to a contiguous group of PEs (grouped
/// multicast) or to PEs spread at a stride (interleaved multicast). Psums are not multicast:
/// theirs is unicast when a chain stays in one cluster, grouped when it crosses clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Unicast,
    Broadcast,
    Grouped,
    Interleaved,
}

/// A mapping's set slots on the mesh.
#[derive(Debug, Clone, Copy)]
pub struct Placement {
    mesh: Mesh,
    /// PE rows per filter-row segment of a set, and per slot (times the fold).
    seg_rows: usize,
    slot_rows: usize,
    slot_cols: usize,
    array_cols: usize,
    /// Chains per slot column, and slot columns.
    per_col: usize,
    slot_col_count: usize,
    r: usize,
    t: usize,
}

impl Placement {
    /// The placement of `mp` on `hw`'s mesh; None on a bus.
    pub fn new(l: &Layer, hw: &HwConfig, mp: &RsMapping) -> Option<Placement> {
        let mesh = hw.mesh()?;
        let seg_rows = segment_of(l, mp).rows;
        let fold = mp.e.div_ceil(hw.array.cols);
        let slot_rows = seg_rows * fold;
        Some(Placement {
            mesh,
            seg_rows,
            slot_rows,
            slot_cols: mp.e.min(hw.array.cols),
            array_cols: hw.array.cols,
            per_col: (hw.array.rows / slot_rows) / mp.r,
            slot_col_count: if fold == 1 { hw.array.cols / mp.e } else { 1 },
            r: mp.r,
            t: mp.t,
        })
    }

    /// Whether the u·t chains of r sets each fit one slot column.
    pub fn chains_fit(&self, u: usize) -> bool {
        u * self.t <= self.per_col * self.slot_col_count
    }

    /// The PE (row, column) of set (u_i, t_i, r_i)'s position (filter row `rr`, ofmap row
    /// `ee` of the strip).
    #[inline]
    fn pe(&self, [ui, ti, ri]: [usize; 3], rr: usize, ee: usize) -> (usize, usize) {
        let chain = ui * self.t + ti;
        let slot_row = (chain % self.per_col.max(1)) * self.r + ri;
        let slot_col = chain / self.per_col.max(1);
        let fold = ee / self.array_cols;
        (
            slot_row * self.slot_rows + fold * self.seg_rows + rr,
            slot_col * self.slot_cols + ee % self.array_cols,
        )
    }

    fn cluster(&self, (row, col): (usize, usize)) -> (usize, usize) {
        (
            row / self.mesh.cluster_pes.rows,
            col / self.mesh.cluster_pes.cols,
        )
    }
}

/// The multicast tree of one word (module doc), built PE by PE.
struct Tree {
    /// Per cluster row: (westmost, eastmost) column touched; usize::MAX when none.
    rows: Vec<(usize, usize)>,
    touched: Vec<usize>,
}

impl Tree {
    fn new(mesh: &Mesh) -> Tree {
        Tree {
            rows: vec![(usize::MAX, 0); mesh.clusters.rows],
            touched: Vec::new(),
        }
    }

    fn add(&mut self, (row, col): (usize, usize)) {
        let e = &mut self.rows[row];
        if e.0 == usize::MAX {
            self.touched.push(row);
            *e = (col, col);
        } else {
            *e = (e.0.min(col), e.1.max(col));
        }
    }

    /// (routers, spans several cluster rows, spans several cluster columns); resets the tree.
    fn take(&mut self) -> (u64, bool, bool) {
        if self.touched.is_empty() {
            return (0, false, false);
        }
        let (lo, hi) = self
            .touched
            .iter()
            .fold((usize::MAX, 0), |(lo, hi), &r| (lo.min(r), hi.max(r)));
        let west = self
            .touched
            .iter()
            .map(|&r| self.rows[r].0)
            .min()
            .unwrap_or(0);
        let east = self
            .touched
            .iter()
            .map(|&r| self.rows[r].1)
            .max()
            .unwrap_or(0);
        let branches: usize = self.touched.iter().map(|&r| self.rows[r].1 - west).sum();
        for &r in &self.touched {
            self.rows[r] = (usize::MAX, 0);
        }
        self.touched.clear();
        ((hi - lo + 1 + branches) as u64, hi > lo, east > west)
    }
}

/// A pass's tile sizes, all the mesh counts depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub groups: usize,
    pub e: usize,
    pub rk: usize,
    /// Filters and channels of the pass (split over its sets p and q at a time).
    pub m: usize,
    pub c: usize,
}

/// Per unit of a pass's linear factors (sk for weights, images x width for ifmaps, images x f
/// for psums): (hops, routers) per data type; and whether any tree spans several cluster rows
/// or columns, per data type.
#[derive(Debug, Clone, Copy, Default)]
struct Unit {
    cost: [[u64; 2]; 3],
    spans: [[bool; 2]; 3],
}

impl Unit {
    fn add(&mut self, d: DataType, words: u64, (routers, rows, cols): (u64, bool, bool)) {
        if routers == 0 {
            return;
        }
        let i = d as usize;
        self.cost[i][0] += words * (routers - 1);
        self.cost[i][1] += words * routers;
        self.spans[i][0] |= rows;
        self.spans[i][1] |= cols;
    }
}

/// The mesh cost of one pass shape per unit of its linear factors.
fn unit(pl: &Placement, l: &Layer, mp: &RsMapping, s: &Shape) -> Unit {
    let mut u = Unit::default();
    let mut tree = Tree::new(&pl.mesh);
    let (t_used, r_used) = (s.m.div_ceil(mp.p), s.c.div_ceil(mp.q));
    let share = |total: usize, per: usize, i: usize| per.min(total - i * per) as u64;
    for ui in 0..s.groups {
        for ti in 0..t_used {
            for ri in 0..r_used {
                let words = share(s.m, mp.p, ti) * share(s.c, mp.q, ri);
                for rr in 0..s.rk {
                    for ee in 0..s.e {
                        tree.add(pl.cluster(pl.pe([ui, ti, ri], rr, ee)));
                    }
                    u.add(DataType::Weights, words, tree.take());
                }
            }
            // A psum climbs its chain: every channel set's rows in its column.
            for ee in 0..s.e {
                for ri in 0..r_used {
                    for rr in 0..s.rk {
                        tree.add(pl.cluster(pl.pe([ui, ti, ri], rr, ee)));
                    }
                }
                u.add(DataType::Psums, share(s.m, mp.p, ti), tree.take());
            }
        }
        // An ifmap row goes to the PEs whose ee·stride + rr is its offset, in every filter set.
        for ri in 0..r_used {
            for delta in 0..(s.e - 1) * l.stride + s.rk {
                for ti in 0..t_used {
                    for ee in 0..s.e {
                        if let Some(rr) = delta.checked_sub(ee * l.stride).filter(|&rr| rr < s.rk) {
                            tree.add(pl.cluster(pl.pe([ui, ti, ri], rr, ee)));
                        }
                    }
                }
                u.add(DataType::Ifmaps, share(s.c, mp.q, ri), tree.take());
            }
        }
    }
    u
}

/// Scale a unit by a pass's linear factors: filter columns `sk`, images `n`, ifmap width.
fn scale(u: &Unit, sk: u64, n: u64, width: u64, f: u64) -> NocCounts {
    let k = [sk, n * width, n * f];
    let mut out = NocCounts::default();
    for (i, (cost, k)) in u.cost.iter().zip(k).enumerate() {
        out.hops[i] = cost[0] * k;
        out.routers[i] = cost[1] * k;
    }
    out
}

/// The mesh counts of a mapping's passes, one by one (the walk and cycle mode): a pass's unit
/// depends only on its tile shape, and a mapping has few distinct shapes but may have
/// thousands of passes, so each shape's unit is built once (`unit` walks every PE of the pass;
/// building it per pass was 96 % of an edp search on the v1.5 mesh).
pub struct PassNoc<'a> {
    pl: Placement,
    l: &'a Layer,
    mp: &'a RsMapping,
    /// The shapes seen so far: a handful per mapping, so a scan beats hashing.
    units: Vec<(Shape, Unit)>,
}

impl<'a> PassNoc<'a> {
    /// The counter of `mp`'s passes on `hw`'s mesh; None on a bus.
    pub fn new(l: &'a Layer, hw: &HwConfig, mp: &'a RsMapping) -> Option<PassNoc<'a>> {
        Some(PassNoc {
            pl: Placement::new(l, hw, mp)?,
            l,
            mp,
            units: Vec::new(),
        })
    }

    /// The mesh counts of pass `p`.
    pub fn counts(&mut self, p: &Pass) -> NocCounts {
        let shape = Shape {
            groups: p.groups,
            e: p.e,
            rk: p.rk,
            m: p.m,
            c: p.c,
        };
        let l = self.l;
        let u = match self.units.iter().find(|(s, _)| *s == shape) {
            Some((_, u)) => *u,
            None => {
                let u = unit(&self.pl, l, self.mp, &shape);
                self.units.push((shape, u));
                u
            }
        };
        let width = segment_width(l, p.sk);
        scale(&u, p.sk as u64, p.n as u64, width, l.f() as u64)
    }
}

/// Sizes of the chunks of `dim` in pieces of `size`, each with how many there are.
fn classes(dim: usize, size: usize) -> Vec<(usize, u64)> {
    let t = Tiles::new(dim, size);
    let mut out = vec![(t.size as usize, t.full)];
    if t.rem > 0 {
        out.push((t.rem as usize, 1));
    }
    out
}

/// The filter pieces of every pass (m-chunks of `m`, each in pieces of p·t), by size.
fn m_pieces(mg: usize, mp: &RsMapping) -> Vec<(usize, u64)> {
    let mut out: Vec<(usize, u64)> = Vec::new();
    for (mc, k) in classes(mg, mp.m) {
        for (piece, j) in classes(mc, mp.p * mp.t) {
            match out.iter_mut().find(|(s, _)| *s == piece) {
                Some(e) => e.1 += k * j,
                None => out.push((piece, k * j)),
            }
        }
    }
    out
}

/// The closed form: the per-pass counts summed over the distinct pass shapes, each times its
/// passes; the linear factors (images, filter columns, widths) summed over their own chunks.
pub fn closed_form(pl: &Placement, l: &Layer, batch: usize, mp: &RsMapping) -> NocCounts {
    let seg = segment_of(l, mp);
    let n_count = Tiles::new(batch, mp.n).count();
    let (mut sk_sum, mut width_sum) = (0, 0);
    let (mut row_tiles, mut col_tiles): (Vec<usize>, BTreeSet<(usize, usize)>) =
        (Vec::new(), BTreeSet::new());
    for (r0, rk, s0, sk) in tiles(l, seg) {
        if s0 == 0 {
            row_tiles.push(rk);
        }
        if r0 == 0 {
            col_tiles.insert((s0, sk));
        }
    }
    for &(_, sk) in &col_tiles {
        sk_sum += sk as u64;
        width_sum += segment_width(l, sk);
    }
    let k_s = col_tiles.len() as u64;
    let f = l.f() as u64;
    let mut out = NocCounts::default();
    for (groups, gk) in classes(l.groups, mp.u) {
        for (e, ek) in classes(l.e(), mp.e) {
            for &rk in &row_tiles {
                for &(m, mk) in &m_pieces(l.mg(), mp) {
                    for (c, ck) in classes(l.cg(), mp.q * mp.r) {
                        let shape = Shape {
                            groups,
                            e,
                            rk,
                            m,
                            c,
                        };
                        let u = unit(pl, l, mp, &shape);
                        // Weights: once per pass (every image chunk, every column tile);
                        // ifmaps: each image, each column tile's width; psums: each image and
                        // column tile.
                        let mut k = scale(&u, sk_sum, batch as u64, width_sum, f * k_s);
                        k.hops[0] *= n_count;
                        k.routers[0] *= n_count;
                        out += k * (gk * ek * mk * ck);
                    }
                }
            }
        }
    }
    out
}

/// Why `mp` cannot run on the mesh, if it cannot: a chain of channel sets must fit one slot
/// column (psums move only vertically), and no data type's words may need a link its mesh
/// lacks (v2's weights only horizontally, psums only vertically). Checked on the mapping's
/// fullest pass: every other pass uses a subset of its PEs.
pub fn check(l: &Layer, hw: &HwConfig, mp: &RsMapping) -> Result<(), String> {
    let Some(pl) = Placement::new(l, hw, mp) else {
        return Ok(());
    };
    if !pl.chains_fit(mp.u) {
        return Err(format!(
            "{} chains of r = {} sets do not each fit one column of set slots on the mesh (psums move only vertically)",
            mp.u * mp.t,
            mp.r
        ));
    }
    let u = unit(&pl, l, mp, &full_shape(l, mp));
    for d in DataType::ALL {
        let links = pl.mesh.net(d).mesh;
        let [rows, cols] = u.spans[d as usize];
        if (rows && !links.vertical()) || (cols && !links.horizontal()) {
            return Err(format!(
                "{} would cross the mesh {}, but their mesh is {:?}",
                d.key(),
                if rows { "vertically" } else { "horizontally" },
                links
            )
            .to_lowercase());
        }
    }
    Ok(())
}

/// The fullest pass of `mp`: its first.
fn full_shape(l: &Layer, mp: &RsMapping) -> Shape {
    Shape {
        groups: mp.u.min(l.groups),
        e: mp.e.min(l.e()),
        rk: segment_of(l, mp).rows,
        m: (mp.p * mp.t).min(mp.m).min(l.mg()),
        c: (mp.q * mp.r).min(l.cg()),
    }
}

/// The multicast mode of each data type (weights, ifmaps, psums) of `mp`'s fullest pass, from
/// its word with the largest multicast group (the first such); None on a bus.
pub fn modes(l: &Layer, hw: &HwConfig, mp: &RsMapping) -> Option<[Mode; 3]> {
    let pl = Placement::new(l, hw, mp)?;
    let s = full_shape(l, mp);
    let (t_used, r_used) = (s.m.div_ceil(mp.p), s.c.div_ceil(mp.q));
    let sets = |ui: usize| (0..t_used).flat_map(move |ti| (0..r_used).map(move |ri| [ui, ti, ri]));
    let index = |(row, col): (usize, usize)| pe_index(&pl.mesh, row, col);
    let mut active = BTreeSet::new();
    let (mut w_best, mut i_best) = (BTreeSet::new(), BTreeSet::new());
    let mut chain_clusters = 1;
    for ui in 0..s.groups {
        for set in sets(ui) {
            for rr in 0..s.rk {
                let row: BTreeSet<usize> = (0..s.e).map(|ee| index(pl.pe(set, rr, ee))).collect();
                active.extend(row.iter().copied());
                if row.len() > w_best.len() {
                    w_best = row;
                }
            }
        }
        for ri in 0..r_used {
            for delta in 0..(s.e - 1) * l.stride + s.rk {
                let mut group = BTreeSet::new();
                for ti in 0..t_used {
                    for ee in 0..s.e {
                        if let Some(rr) = delta.checked_sub(ee * l.stride).filter(|&rr| rr < s.rk) {
                            group.insert(index(pl.pe([ui, ti, ri], rr, ee)));
                        }
                    }
                }
                if group.len() > i_best.len() {
                    i_best = group;
                }
            }
        }
        for ti in 0..t_used {
            for ee in 0..s.e {
                let clusters: BTreeSet<(usize, usize)> = (0..r_used)
                    .flat_map(|ri| (0..s.rk).map(move |rr| (ri, rr)))
                    .map(|(ri, rr)| pl.cluster(pl.pe([ui, ti, ri], rr, ee)))
                    .collect();
                chain_clusters = chain_clusters.max(clusters.len());
            }
        }
    }
    let psums = if chain_clusters > 1 {
        Mode::Grouped
    } else {
        Mode::Unicast
    };
    Some([
        classify(&w_best, active.len()),
        classify(&i_best, active.len()),
        psums,
    ])
}

/// A PE's place in the array, row by row: "grouped" PEs are contiguous in it (a weight's row of
/// PEs, across clusters too), "interleaved" ones strided (an ifmap row down the filter sets).
fn pe_index(m: &Mesh, row: usize, col: usize) -> usize {
    row * m.clusters.cols * m.cluster_pes.cols + col
}

/// The mode of a word sent to the PEs `group` of a pass that uses `active` PEs.
fn classify(group: &BTreeSet<usize>, active: usize) -> Mode {
    let k = group.len();
    let span = match (group.first(), group.last()) {
        (Some(lo), Some(hi)) => hi - lo + 1,
        _ => 0,
    };
    if k <= 1 {
        Mode::Unicast
    } else if k == active {
        Mode::Broadcast
    } else if span == k {
        Mode::Grouped
    } else {
        Mode::Interleaved
    }
}

/// The bits per cycle the mesh delivers of each data type (weights, ifmaps, psums) to `mp`'s
/// passes, before what feeds it (the plan's rule, JETCAS 2019 §III-B): (independent sources)
/// x port bits, where a word occupies a router in each of the k clusters of its multicast
/// group, so the routers of the clusters a pass uses carry (clusters x routers / k) words at
/// once. k is the largest group of the data type in `mp`'s fullest pass (a psum's: the
/// clusters of its chain); every other pass uses a subset of its PEs, and one width per
/// mapping keeps cycle mode's bounds, which take the mapping's ports, bounds. Broadcast iacts
/// on v2's 16 clusters get 3 x 24 b, unicast ones 48 x 24 b. None on a bus.
pub fn delivery_bits(l: &Layer, hw: &HwConfig, mp: &RsMapping) -> Option<[u64; 3]> {
    let pl = Placement::new(l, hw, mp)?;
    let s = full_shape(l, mp);
    let (t_used, r_used) = (s.m.div_ceil(mp.p), s.c.div_ceil(mp.q));
    let cols = pl.mesh.clusters.cols;
    let bit = |set: [usize; 3], rr: usize, ee: usize| {
        let (row, col) = pl.cluster(pl.pe(set, rr, ee));
        row * cols + col
    };
    // Cluster sets as bits, reused word by word: the edp search asks this of every candidate
    // it bounds.
    let mut groups = Groups::new(pl.mesh.clusters.rows * cols);
    for ui in 0..s.groups {
        for ti in 0..t_used {
            for ri in 0..r_used {
                for rr in 0..s.rk {
                    (0..s.e).for_each(|ee| groups.add(bit([ui, ti, ri], rr, ee)));
                    groups.take(DataType::Weights);
                }
            }
            for ee in 0..s.e {
                for ri in 0..r_used {
                    (0..s.rk).for_each(|rr| groups.add(bit([ui, ti, ri], rr, ee)));
                }
                groups.take(DataType::Psums);
            }
        }
        for ri in 0..r_used {
            for delta in 0..(s.e - 1) * l.stride + s.rk {
                for ti in 0..t_used {
                    for ee in 0..s.e {
                        if let Some(rr) = delta.checked_sub(ee * l.stride).filter(|&rr| rr < s.rk) {
                            groups.add(bit([ui, ti, ri], rr, ee));
                        }
                    }
                }
                groups.take(DataType::Ifmaps);
            }
        }
    }
    let used = groups
        .used
        .iter()
        .map(|w| w.count_ones() as usize)
        .sum::<usize>();
    Some(DataType::ALL.map(|d| {
        let net = pl.mesh.net(d);
        let sources = (used * net.routers / groups.k[d as usize]).max(1);
        (sources * net.port_bits) as u64
    }))
}

/// The clusters of one word (bits), of every word so far, and the largest group per type.
struct Groups {
    word: Vec<u64>,
    used: Vec<u64>,
    k: [usize; 3],
}

impl Groups {
    fn new(clusters: usize) -> Groups {
        let n = clusters.div_ceil(64);
        Groups {
            word: vec![0; n],
            used: vec![0; n],
            k: [1; 3],
        }
    }

    fn add(&mut self, cluster: usize) {
        self.word[cluster / 64] |= 1 << (cluster % 64);
    }

    /// Close the word of type `d`.
    fn take(&mut self, d: DataType) {
        let mut k = 0;
        for (w, u) in self.word.iter_mut().zip(&mut self.used) {
            k += w.count_ones() as usize;
            *u |= *w;
            *w = 0;
        }
        self.k[d as usize] = self.k[d as usize].max(k);
    }
}
