//! From access counts to energy: the sparsity rules turn dense counts into the actions that
//! really happen (reads, writes, gated reads and writes), then the energy table prices each
//! action at each level.

use serde::{Serialize, Serializer};

use ember_sim::dataflow::MappingOf;
use ember_sim::rs::RsMapping;
use ember_sim::{DataType, Evaluation, Layer, Mapping, NocCounts, Roles, MAX_LEVELS};

use crate::sparsity::{
    csc_ratio, rlc_ratio, GatedRf, SparsityRules, CSC_IFMAP_ADDRESS_BITS, CSC_WEIGHT_ADDRESS_BITS,
};
use crate::table::{EnergyTable, Price};

/// The actions at one level for one data type: expected values under i.i.d. zeros, hence
/// fractional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Actions {
    pub reads: f64,
    pub writes: f64,
    /// Accesses the zero-gating rules gate (not performed; priced as gated).
    pub gated_reads: f64,
    pub gated_writes: f64,
}

impl Actions {
    /// Energy at `p`. With equal read and write prices, one multiply of the sum (the rounding
    /// every earlier figure was computed with).
    #[inline]
    fn energy(&self, p: &Price) -> f64 {
        let mut e = if p.read == p.write {
            (self.reads + self.writes) * p.read
        } else {
            self.reads * p.read + self.writes * p.write
        };
        if p.gated_read != 0.0 {
            e += self.gated_reads * p.gated_read;
        }
        if p.gated_write != 0.0 {
            e += self.gated_writes * p.gated_write;
        }
        e
    }
}

/// Accesses after gating and run-length coding, per level x data type.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EffectiveCounts {
    levels: usize,
    /// [level][data type], in the config's level order x `DataType::ALL`.
    cells: [[Actions; 3]; MAX_LEVELS],
}

impl EffectiveCounts {
    /// (reads, writes) at level `i`.
    pub fn get(&self, i: usize, d: DataType) -> (f64, f64) {
        let a = &self.cells[i][d as usize];
        (a.reads, a.writes)
    }
    /// Every action at level `i`.
    pub fn actions(&self, i: usize, d: DataType) -> Actions {
        self.cells[i][d as usize]
    }
    /// Reads and writes of every data type at level `i` (words moved).
    pub fn words(&self, i: usize) -> f64 {
        DataType::ALL
            .iter()
            .map(|&d| {
                let (r, w) = self.get(i, d);
                r + w
            })
            .sum()
    }
    pub fn len(&self) -> usize {
        self.levels
    }
    pub fn is_empty(&self) -> bool {
        self.levels == 0
    }
}

impl Serialize for EffectiveCounts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.cells[..self.levels].serialize(s)
    }
}

/// Energy of one layer, per level of the config (its level order) and per data type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LayerEnergy {
    pub effective_macs: f64,
    pub accesses: EffectiveCounts,
    pub mac: f64,
    /// Levels priced (the config's level count).
    pub levels: usize,
    /// [level], in the config's level order (only the first `levels` are used).
    #[serde(skip)]
    pub by_level: [f64; MAX_LEVELS],
    /// [data type] in `DataType::ALL` order (MAC energy belongs to no data type).
    pub by_data_type: [f64; 3],
    /// [level][data type].
    #[serde(skip)]
    pub cell: [[f64; 3]; MAX_LEVELS],
    /// Static energy (static power x time), absolute tables only.
    pub leakage: f64,
    pub total: f64,
}

impl LayerEnergy {
    /// Energy at level `i` of the config.
    pub fn level(&self, i: usize) -> f64 {
        self.by_level[i]
    }
    /// Energy per level, outermost first.
    pub fn levels(&self) -> &[f64] {
        &self.by_level[..self.levels]
    }
    pub fn data_type(&self, d: DataType) -> f64 {
        self.by_data_type[d as usize]
    }

    pub fn add(&mut self, o: &LayerEnergy) {
        self.effective_macs += o.effective_macs;
        self.mac += o.mac;
        self.leakage += o.leakage;
        self.total += o.total;
        self.levels = self.levels.max(o.levels);
        self.accesses.levels = self.accesses.levels.max(o.accesses.levels);
        for l in 0..MAX_LEVELS {
            self.by_level[l] += o.by_level[l];
            for d in 0..3 {
                self.cell[l][d] += o.cell[l][d];
                let (a, b) = (&mut self.accesses.cells[l][d], &o.accesses.cells[l][d]);
                a.reads += b.reads;
                a.writes += b.writes;
                a.gated_reads += b.gated_reads;
                a.gated_writes += b.gated_writes;
            }
        }
        for d in 0..3 {
            self.by_data_type[d] += o.by_data_type[d];
        }
    }
}

/// What the estimator needs besides the counts.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub table: &'a EnergyTable,
    pub rules: &'a SparsityRules,
    pub word_bits: usize,
    /// The network's first layer reads the raw input image (never run-length coded on the chip).
    pub first_layer: bool,
    /// Seconds per cycle, for static energy (0 when the table has none).
    pub seconds_per_cycle: f64,
    /// Where the DRAM and the PEs' storage sit in the config's level list (the sparsity rules
    /// act on those two).
    pub roles: Roles,
    /// Width of a psum on chip (`core.psum_bits`; the word width unless the config says).
    pub psum_bits: usize,
}

impl Context<'_> {
    /// The price of data type `d` at level `l`, at its width: psums at `psum_bits` on chip, and
    /// at the word width to and from DRAM (the ofmaps leave quantised to words).
    pub fn price(&self, l: usize, d: DataType) -> Price {
        let bits = if d == DataType::Psums && l != self.roles.dram as usize {
            self.psum_bits
        } else {
            self.word_bits
        };
        self.table.access(l, d, bits)
    }
}

/// Whether ifmaps and weights move in compressed sparse columns at `segments` (ifmap, weight
/// segment lengths) of `bits`-bit words: a data type that coding would not shrink goes
/// uncompressed, and the PE processes its zeros. `Factors::csc`'s rule.
pub fn csc_compressed(
    (dw, di): (f64, f64),
    (seg_i, seg_w): (u64, u64),
    bits: usize,
) -> (bool, bool) {
    (
        csc_ratio(di, seg_i, CSC_IFMAP_ADDRESS_BITS, bits) < 1.0,
        csc_ratio(dw, seg_w, CSC_WEIGHT_ADDRESS_BITS, bits) < 1.0,
    )
}

/// What the sparsity rules leave of each dense count, per level, data type and direction, and
/// per MAC: `kept` of it is performed, `gated` of it gated (the rest, run-length coding's
/// saving, is not moved at all). Both depend only on the layer's densities, so one table serves
/// every mapping.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Factors {
    pub mac: f64,
    /// [level][data type] = (reads, writes).
    pub kept: [[(f64, f64); 3]; MAX_LEVELS],
    pub gated: [[(f64, f64); 3]; MAX_LEVELS],
}

impl Factors {
    /// The factors of `layer` under `mapping`: the mapping-independent rules (`new`), or, with
    /// compressed sparse columns, the rules at the mapping's segment lengths (`csc`).
    pub fn for_mapping(layer: &Layer, cx: &Context, mapping: &Mapping) -> Factors {
        if cx.rules.csc {
            let d = (
                layer.weight_density,
                layer.ifmap_density,
                layer.ofmap_density,
            );
            return Factors::csc(d, csc_segments(layer.stride, mapping), cx);
        }
        Factors::new(layer, cx)
    }

    /// Eyeriss v2's compressed sparse columns (JETCAS 2019 §IV-C): ifmaps and weights move as
    /// (4-bit count, value) pairs, one address per segment (q·U ifmaps, the p weights of a
    /// column), from DRAM through the GLB and the network into the spads, and the PE reads and
    /// computes only non-zero ifmaps and, for each, only non-zero weights (psum spad read and
    /// write with each MAC). A data type that coding would not shrink goes uncompressed, zeros
    /// included and processed ("the count in the CSC format is fixed to zero"). Psums are never
    /// compressed; the ofmaps leave for DRAM in pairs (assumed: they are the next layer's
    /// compressed ifmaps), with no address. Without segments (a dataflow other than
    /// row-stationary) everything is dense.
    pub fn csc(
        (dw, di, dof): (f64, f64, f64),
        segments: Option<(u64, u64)>,
        cx: &Context,
    ) -> Factors {
        let mut f = Factors {
            mac: 1.0,
            kept: [[(1.0, 1.0); 3]; MAX_LEVELS],
            gated: [[(0.0, 0.0); 3]; MAX_LEVELS],
        };
        let Some((seg_i, seg_w)) = segments else {
            return f;
        };
        let bits = cx.word_bits;
        let ri = csc_ratio(di, seg_i, CSC_IFMAP_ADDRESS_BITS, bits);
        let rw = csc_ratio(dw, seg_w, CSC_WEIGHT_ADDRESS_BITS, bits);
        // Compressed where coding shrinks the data (`csc_compressed`'s rule, on these ratios).
        let (si, sw) = (
            if ri < 1.0 { di } else { 1.0 },
            if rw < 1.0 { dw } else { 1.0 },
        );
        let r = cx.roles;
        let (w, i, p) = (
            DataType::Weights as usize,
            DataType::Ifmaps as usize,
            DataType::Psums as usize,
        );
        for l in [r.dram, r.glb, r.array, r.rf] {
            f.kept[l as usize][i] = (ri, ri);
            f.kept[l as usize][w] = (rw, rw);
        }
        f.kept[r.dram as usize][p].1 = csc_ratio(dof, 0, 0, bits);
        let rf = r.rf as usize;
        f.mac = si * sw;
        f.kept[rf][i].0 = si;
        f.kept[rf][w].0 = si * sw;
        f.kept[rf][p] = (si * sw, si * sw);
        f
    }

    pub fn new(layer: &Layer, cx: &Context) -> Factors {
        let r = cx.rules;
        let (dw, di, dof) = (
            layer.weight_density,
            layer.ifmap_density,
            layer.ofmap_density,
        );
        let gate = r.mac_fraction(dw, di);
        let mut f = Factors {
            mac: gate,
            kept: [[(1.0, 1.0); 3]; MAX_LEVELS],
            gated: [[(0.0, 0.0); 3]; MAX_LEVELS],
        };
        let rf = cx.roles.rf as usize;
        let (w, i, p) = (
            DataType::Weights as usize,
            DataType::Ifmaps as usize,
            DataType::Psums as usize,
        );
        // Gating: a gated MAC skips the other operand's RF read, or all of its RF accesses.
        match r.gated_rf {
            GatedRf::WeightRead => {
                f.kept[rf][w].0 = if r.gate_zero_ifmaps { di } else { 1.0 };
                f.kept[rf][i].0 = if r.gate_zero_weights { dw } else { 1.0 };
            }
            GatedRf::All => {
                f.kept[rf][w].0 = gate;
                f.kept[rf][i].0 = gate;
                f.kept[rf][p] = (gate, gate);
            }
        }
        for c in [w, i, p] {
            let (kr, kw) = f.kept[rf][c];
            f.gated[rf][c] = (1.0 - kr, 1.0 - kw);
        }
        // Run-length coding of DRAM traffic.
        let dram = cx.roles.dram as usize;
        let bits = cx.word_bits;
        if r.rlc_fmaps {
            if !cx.first_layer || r.rlc_first_input {
                f.kept[dram][i].0 = rlc_ratio(di, bits);
            }
            f.kept[dram][p].1 = rlc_ratio(dof, bits);
        }
        if r.rlc_weights {
            f.kept[dram][w].0 = rlc_ratio(dw, bits);
        }
        f
    }
}

/// Actions that really happen under the sparsity rules.
pub fn effective(layer: &Layer, ev: &Evaluation, cx: &Context) -> (f64, EffectiveCounts) {
    let f = Factors::for_mapping(layer, cx, &ev.mapping);
    let mut out = EffectiveCounts {
        levels: ev.counts.len(),
        ..EffectiveCounts::default()
    };
    for l in 0..ev.counts.len() {
        for d in DataType::ALL {
            let rw = ev.counts.get(l, d);
            let (kr, kw) = f.kept[l][d as usize];
            let (gr, gw) = f.gated[l][d as usize];
            let (r, w) = (rw.reads as f64, rw.writes as f64);
            out.cells[l][d as usize] = Actions {
                reads: r * kr,
                writes: w * kw,
                gated_reads: r * gr,
                gated_writes: w * gw,
            };
        }
    }
    (ev.macs as f64 * f.mac, out)
}

/// A layer's energy as a linear function of its dense counts: the mapper's objective, cheap
/// enough to evaluate for every candidate mapping. Equal to `estimate(..).total` (up to float
/// rounding with staging levels; exactly without).
///
/// It prices the nest's four positions directly (the counts the mapper builds): a staging
/// level's counts are the DRAM's dense reads + writes of what it holds (`AccessCounts`), so its
/// read and write prices fold into the DRAM's per dense word.
#[derive(Debug, Clone, Copy)]
pub struct EnergyObjective<'a> {
    mac: f64,
    cycle: f64,
    /// [position: dram, glb, array, rf][data type] = (per dense read, per dense write).
    cell: [[(f64, f64); 3]; 4],
    /// [data type] = (per hop, per router) on a hierarchical mesh (`noc_cells`).
    noc: [(f64, f64); 3],
    /// With compressed sparse columns the factors depend on the mapping's segments: the
    /// layer's densities and stride, and the context to price them in, per candidate.
    csc: Option<CscInputs<'a>>,
}

#[derive(Debug, Clone, Copy)]
struct CscInputs<'a> {
    densities: (f64, f64, f64),
    stride: usize,
    cx: Context<'a>,
}

/// The price of every action at every position per dense read and per dense write, under the
/// factors `f` (a staging level's prices fold into the DRAM's, as its counts follow them).
fn cells(f: &Factors, cx: &Context) -> [[(f64, f64); 3]; 4] {
    let priced = |l: usize, d: usize| {
        let p = cx.price(l, DataType::ALL[d]);
        let ((kr, kw), (gr, gw)) = (f.kept[l][d], f.gated[l][d]);
        let mut c = (kr * p.read, kw * p.write);
        if p.gated_read != 0.0 {
            c.0 += gr * p.gated_read;
        }
        if p.gated_write != 0.0 {
            c.1 += gw * p.gated_write;
        }
        c
    };
    let r = cx.roles;
    let mut cell = [[(0.0, 0.0); 3]; 4];
    for (pos, l) in [r.dram, r.glb, r.array, r.rf].into_iter().enumerate() {
        for (d, c) in cell[pos].iter_mut().enumerate() {
            *c = priced(l as usize, d);
        }
    }
    for st in r.stages() {
        for d in DataType::ALL.into_iter().filter(|&d| st.holds(d)) {
            let (read, write) = priced(st.level as usize, d as usize);
            let c = &mut cell[0][d as usize];
            c.0 += read + write;
            c.1 += read + write;
        }
    }
    cell
}

/// Per dense (read, write) at each position x data type (`cells`).
type Cells = [[(f64, f64); 3]; 4];
/// Per (hop, router) of each data type (`noc_cells`).
type NocCells = [(f64, f64); 3];

/// The network level's price per hop and per router traversal of each data type, times the share
/// of its words the sparsity rules leave moving (the network's kept reads): a word run-length
/// coding or compression removes crosses no link. Zero on a bus table.
fn noc_cells(f: &Factors, cx: &Context) -> [(f64, f64); 3] {
    let l = cx.roles.array as usize;
    DataType::ALL.map(|d| {
        let p = cx.price(l, d);
        let kept = f.kept[l][d as usize].0;
        (kept * p.hop, kept * p.router)
    })
}

/// Energy of a mesh's hops and routers at the per-data-type prices `noc` (`noc_cells`).
#[inline]
fn noc_energy(noc: &[(f64, f64); 3], n: &NocCounts) -> f64 {
    let mut e = 0.0;
    for (d, (hop, router)) in noc.iter().enumerate() {
        e += hop * n.hops[d] as f64 + router * n.routers[d] as f64;
    }
    e
}

impl<'a> EnergyObjective<'a> {
    pub fn new(layer: &Layer, cx: &Context<'a>) -> EnergyObjective<'a> {
        let f = Factors::new(layer, cx);
        let csc = cx.rules.csc.then_some(CscInputs {
            densities: (
                layer.weight_density,
                layer.ifmap_density,
                layer.ofmap_density,
            ),
            stride: layer.stride,
            cx: *cx,
        });
        EnergyObjective {
            mac: f.mac * cx.table.mac(cx.word_bits),
            cycle: static_per_cycle(cx),
            cell: cells(&f, cx),
            noc: noc_cells(&f, cx),
            csc,
        }
    }

    #[inline]
    pub fn energy(&self, ev: &Evaluation) -> f64 {
        let Some(c) = &self.csc else {
            // The mapper's hot path: the cells priced once per layer, borrowed.
            return self.priced(self.mac, (&self.cell, &self.noc), ev);
        };
        // A probe bounds every mapping below it: price it at segments without address words,
        // the cheapest any mapping's segments can be (every factor is lowest).
        let segments = match ev.is_probe() {
            true => Some((0, 0)),
            false => csc_segments(c.stride, &ev.mapping),
        };
        let f = Factors::csc(c.densities, segments, &c.cx);
        self.priced(
            f.mac * c.cx.table.mac(c.cx.word_bits),
            (&cells(&f, &c.cx), &noc_cells(&f, &c.cx)),
            ev,
        )
    }

    /// Energy of `ev` at `mac` per MAC, the per-dense-word prices `cell` and the mesh's `noc`.
    #[inline]
    fn priced(&self, mac: f64, (cell, noc): (&Cells, &NocCells), ev: &Evaluation) -> f64 {
        let mut e = mac * ev.macs as f64 + self.cycle * ev.cycles as f64;
        let n = ev.counts.nest();
        if !n.noc.is_zero() {
            e += noc_energy(noc, &n.noc);
        }
        for (c, per) in cell.iter().zip([&n.dram, &n.glb, &n.array, &n.rf]) {
            e += c[0].0 * per.weights.reads as f64
                + c[0].1 * per.weights.writes as f64
                + c[1].0 * per.ifmaps.reads as f64
                + c[1].1 * per.ifmaps.writes as f64
                + c[2].0 * per.psums.reads as f64
                + c[2].1 * per.psums.writes as f64;
        }
        e
    }
}

/// The CSC segment lengths of a mapping: ifmaps in q·U values (C0·U, the q channels a PE
/// interleaves at stride U), weights in columns of p (M0); none for dataflows other than
/// row-stationary, whose PEs take no compressed data.
fn csc_segments(stride: usize, mapping: &Mapping) -> Option<(u64, u64)> {
    RsMapping::of(mapping).map(|m| ((m.q * stride) as u64, m.p as u64))
}

/// Whether ifmaps and weights of `layer` move in compressed sparse columns under `mapping`, or
/// under the cheapest segments (`None`: zero-cost addresses, compressed wherever any mapping
/// could be): `None` when nothing is (no `csc`, or a dataflow without segments, whose data
/// move dense).
pub fn csc_compressed_for(
    layer: &Layer,
    cx: &Context,
    mapping: Option<&Mapping>,
) -> Option<(bool, bool)> {
    if !cx.rules.csc {
        return None;
    }
    let segments = match mapping {
        Some(mp) => csc_segments(layer.stride, mp)?,
        None => (0, 0),
    };
    let d = (layer.weight_density, layer.ifmap_density);
    Some(csc_compressed(d, segments, cx.word_bits))
}

/// The densities (ifmaps, weights) the sparse PE skips on `layer` (`csc_compressed_for`; an
/// uncompressed type's zeros are processed: density 1).
pub fn csc_skipped_for(
    layer: &Layer,
    cx: &Context,
    mapping: Option<&Mapping>,
) -> Option<(f64, f64)> {
    let (ci, cw) = csc_compressed_for(layer, cx, mapping)?;
    Some((
        if ci { layer.ifmap_density } else { 1.0 },
        if cw { layer.weight_density } else { 1.0 },
    ))
}

/// Static energy per cycle: mW x s = mJ = 1e9 pJ (absolute tables only).
fn static_per_cycle(cx: &Context) -> f64 {
    cx.table.static_mw * cx.seconds_per_cycle * 1e9
}

/// Energy of one layer under one mapping.
pub fn estimate(layer: &Layer, ev: &Evaluation, cx: &Context) -> LayerEnergy {
    let (effective_macs, accesses) = effective(layer, ev, cx);
    let mut e = LayerEnergy {
        effective_macs,
        accesses,
        mac: effective_macs * cx.table.mac(cx.word_bits),
        levels: accesses.len(),
        ..LayerEnergy::default()
    };
    for l in 0..e.levels {
        for d in DataType::ALL {
            let v = accesses.actions(l, d).energy(&cx.price(l, d));
            e.cell[l][d as usize] = v;
            e.by_level[l] += v;
            e.by_data_type[d as usize] += v;
        }
    }
    // A hierarchical mesh's hops and routers, at the network level (none on a bus).
    let noc = ev.counts.noc();
    if !noc.is_zero() {
        let prices = noc_cells(&Factors::for_mapping(layer, cx, &ev.mapping), cx);
        let l = cx.roles.array as usize;
        for (d, (hop, router)) in prices.iter().enumerate() {
            let v = hop * noc.hops[d] as f64 + router * noc.routers[d] as f64;
            e.cell[l][d] += v;
            e.by_level[l] += v;
            e.by_data_type[d] += v;
        }
    }
    e.leakage = static_per_cycle(cx) * ev.cycles as f64;
    e.total = e.mac + e.levels().iter().sum::<f64>() + e.leakage;
    e
}

/// One value per level of a config, by level name, in the config's level order: serialised as
/// a map in that order (`{"dram": .., "glb": .., "array": .., "rf": ..}` on Eyeriss).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LevelValues(pub Vec<(String, f64)>);

impl LevelValues {
    /// Energy per level of `e`, named by `levels`.
    pub fn of(e: &LayerEnergy, levels: &ember_sim::Levels) -> LevelValues {
        LevelValues(
            levels
                .iter()
                .zip(e.levels())
                .map(|(l, &v)| (l.name.clone(), v))
                .collect(),
        )
    }
    /// The value of the level named `name`.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }
}

impl Serialize for LevelValues {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

impl<'de> serde::Deserialize<'de> for LevelValues {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = LevelValues;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map from level name to a number")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<LevelValues, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, f64>()? {
                    out.push((k, v));
                }
                Ok(LevelValues(out))
            }
        }
        d.deserialize_map(Visit)
    }
}
