//! The accelerator's architecture: the PE array, the storage hierarchy as a list of levels
//! (`levels`), what each level of the nest's four positions holds (spads, global buffer, buses,
//! DRAM link), and the clock.
//!
//! Prices are not here: `sim` counts, the estimator prices (see ARCHITECTURE.md).

pub mod levels;
pub mod mesh;
mod spads;

use serde::{Deserialize, Serialize};

use crate::counts::DataType;
use crate::dataflow::Dataflow;
pub use levels::{Level, LevelKind, Levels};
pub use mesh::{Grid, Links, Mesh, Topology, TypeNet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArraySpec {
    pub rows: usize,
    pub cols: usize,
}

/// Per-PE storage, in words: three spads (`filter_spad_words`, `ifmap_spad_words`,
/// `psum_spad_words`), or one register file `rf_words` whose split the mapper chooses (the
/// three spad keys are then absent and 0). See `spads`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeSpec {
    #[serde(default)]
    pub filter_spad_words: usize,
    #[serde(default)]
    pub ifmap_spad_words: usize,
    #[serde(default)]
    pub psum_spad_words: usize,
    /// A unified RF of this many words per PE, split among the data types per mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rf_words: Option<usize>,
    /// Pipeline depth; a pass pays it once to fill.
    #[serde(default = "default_pipeline")]
    pub pipeline_stages: usize,
    /// The PE skips the cycle of a gated (zero-operand) MAC, not only its energy. The Eyeriss
    /// chip does not: gating saves power, cycles are unchanged (JSSC 2017 §V-C).
    #[serde(default)]
    pub skip_zero_cycles: bool,
    /// MACs per cycle per PE on as many filters sharing one ifmap (Eyeriss v2's SIMD-2: "fetching
    /// two weights instead of one for computing two MAC operations per cycle with the same
    /// iact", JETCAS 2019 p. 302). Row stationary only. Default 1, not serialised then.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub simd: usize,
    /// When the PEs of a pass wait for one another while skipping zeros: at every ofmap column
    /// (the default), or only at the pass's end. Default not serialised.
    #[serde(default, skip_serializing_if = "PeSync::is_column")]
    pub sync: PeSync,
    /// The filter spad holds compressed sparse columns: only non-zero weights take entries
    /// (Eyeriss v2's weight data spad, "96 x (24b/12b) = 192" non-zeros, JETCAS 2019 p. 302;
    /// its Table III: a sparse layer maps more weights per PE). The mapper takes the layer's
    /// weight density as each PE's share (`PeSpec::for_density`); real masks may put more
    /// non-zeros in one PE than that. Three spads only. Default false, not serialised.
    #[serde(default, skip_serializing_if = "is_false")]
    pub compressed_weights: bool,
}

/// When the PEs of a pass wait for one another; it matters only when they skip zeros, and so
/// work unequally (`skip_zero_cycles`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeSync {
    /// At every ofmap column: the busiest PE of each column sets its time (an array in
    /// lockstep).
    #[default]
    Column,
    /// At the pass's end: each PE runs through its columns on its own (FIFOs between PEs), and
    /// the PE with the most work sets the pass's time (Eyeriss v2: "the throughput of the
    /// entire DNN accelerator will be bounded by the PE that has the most non-zero MACs",
    /// JETCAS 2019 p. 295).
    Pass,
}

impl PeSync {
    fn is_column(&self) -> bool {
        *self == PeSync::Column
    }
}

fn default_pipeline() -> usize {
    1
}
fn one() -> usize {
    1
}
fn is_one(v: &usize) -> bool {
    *v == 1
}

/// The global buffer. `words` holds ifmaps and psums; `filter_words` is a separate filter
/// staging buffer (Eyeriss: 8 kB), 0 when filters share `words`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlbSpec {
    pub words: usize,
    #[serde(default)]
    pub filter_words: usize,
    pub banks: usize,
    pub bank_width_bits: usize,
    /// The data types it holds; the others bypass it, straight between DRAM and the array
    /// (Eyeriss v2: "weights are not stored in GLB", JETCAS 2019 p. 296). Absent: all three
    /// (not serialised then, so a config's fingerprint is unchanged). Checked by `check`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holds: Option<GlbHolds>,
    /// Final ofmaps leave the array straight for DRAM instead of through the GLB (Eyeriss v2:
    /// "the final output activations skip the GLB cluster"). Default false, not serialised.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ofmaps_to_dram: bool,
    /// Per-type capacity within `words` (Eyeriss v2's GLB cluster: "iacts have three banks
    /// ... and psums have four banks", JETCAS 2019 p. 296). Absent: ifmaps and psums share
    /// `words` (not serialised then). Row stationary's mappings honour it; the stream
    /// dataflows take the ISCA 2016 equal-storage GLB instead (`dataflows::storage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<GlbPartition>,
}

/// `[glb] partition = { ifmaps, psums }`: the words each may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlbPartition {
    pub ifmaps: usize,
    pub psums: usize,
}

impl GlbPartition {
    /// Are `ifmaps` and `psums` words each within their share?
    pub fn admits(&self, ifmaps: u64, psums: u64) -> bool {
        ifmaps <= self.ifmaps as u64 && psums <= self.psums as u64
    }
}

impl GlbSpec {
    /// Do `ifmaps` and `psums` words fit beside `shared` filter words: within `words`, and
    /// each within its `partition` share?
    pub fn fits(&self, shared: u64, ifmaps: u64, psums: u64) -> bool {
        shared + ifmaps + psums <= self.words as u64
            && self.partition.is_none_or(|p| p.admits(ifmaps, psums))
    }

    /// The most psum words that fit beside `shared` filter words and `ifmaps` ifmap words;
    /// `None` when the ifmaps do not fit.
    pub fn psum_room(&self, shared: u64, ifmaps: u64) -> Option<u64> {
        let free = (self.words as u64).checked_sub(shared + ifmaps)?;
        match self.partition {
            None => Some(free),
            Some(p) => (ifmaps <= p.ifmaps as u64).then_some(free.min(p.psums as u64)),
        }
    }

    /// The data types the GLB does not hold, as a bit set (`counts::Roles::glb_bypass`).
    pub fn bypass(&self) -> u8 {
        self.holds.map_or(0, |h| 0b111 & !h.mask)
    }
}

/// `[glb] holds`: the listed data types as a bit set, and how many entries the list had (so
/// `check` can refuse a duplicate with the line of the key; a `Vec` would cost `GlbSpec` its
/// `Copy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<DataType>", into = "Vec<DataType>")]
pub struct GlbHolds {
    mask: u8,
    listed: usize,
}

impl GlbHolds {
    pub fn holds(&self, d: DataType) -> bool {
        self.mask & (1 << d as u8) != 0
    }
}

impl From<Vec<DataType>> for GlbHolds {
    fn from(list: Vec<DataType>) -> GlbHolds {
        GlbHolds {
            mask: list.iter().fold(0, |m, &d| m | (1 << d as u8)),
            listed: list.len(),
        }
    }
}

impl From<GlbHolds> for Vec<DataType> {
    fn from(h: GlbHolds) -> Vec<DataType> {
        DataType::ALL.into_iter().filter(|&d| h.holds(d)).collect()
    }
}

/// A staging buffer between DRAM and the GLB (a `[[level]]` of kind `staging`), e.g. a shared
/// L2 SRAM: every word of a data type it holds that crosses the DRAM link passes through it
/// (written in, read out once); the data types it does not hold bypass it. It is priced per
/// access by its own `[energy]` entry. It models no reuse of its own, so its capacity does not
/// constrain or change the mapping: it is checked and carried for the hardware's description
/// (and for a later mapper that exploits it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// Capacity in words: shared by the data types it holds, or one per data type.
    pub words: Capacity,
    /// The data types it holds (default: all three).
    #[serde(default = "all_types")]
    pub holds: Vec<DataType>,
}

fn all_types() -> Vec<DataType> {
    DataType::ALL.to_vec()
}

/// A level's capacity: `words = 131072`, or `words = { weights = 65536, ifmaps = 65536 }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Capacity {
    Shared(usize),
    PerType(std::collections::BTreeMap<DataType, usize>),
}

/// The network level: bus widths, bits per core cycle, and its topology (`arch::mesh`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NocSpec {
    pub filter_bus_bits: usize,
    pub ifmap_bus_bits: usize,
    /// Psums into the array (Eyeriss: the psum GIN).
    pub psum_bus_bits: usize,
    /// Psums out of the array, a separate network (Eyeriss: the GON, "the same architecture as
    /// the GIN; only the direction of data transfer is reversed", 64 b, JSSC 2017 §V-B).
    /// Absent: as wide as `psum_bus_bits`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psum_out_bus_bits: Option<usize>,
    /// `bus` (absent; the widths above) or `hierarchical_mesh` (the keys below; `arch::mesh`).
    /// None of them is serialised on a bus, so a bus config's fingerprint is unchanged.
    #[serde(default, skip_serializing_if = "Topology::is_bus")]
    pub topology: Topology,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<Grid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_pes: Option<Grid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<TypeNet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ifmaps: Option<TypeNet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psums: Option<TypeNet>,
}

impl NocSpec {
    pub fn psum_out_bits(&self) -> usize {
        self.psum_out_bus_bits.unwrap_or(self.psum_bus_bits)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DramSpec {
    pub bus_bits: usize,
    pub clock_mhz: f64,
    /// Whether the array keeps processing while ifmaps load from DRAM and ofmaps drain to it
    /// (when the GLB can hold both tiles). The Eyeriss chip does not: "the chip does not perform
    /// processing while it is loading ifmap from DRAM or dumping ofmaps to DRAM" (JSSC 2017
    /// §VI-A); it does preload the next pass's filters during a pass (§V-A), whatever this says.
    #[serde(default = "default_true")]
    pub overlap_fmaps: bool,
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoreSpec {
    pub clock_mhz: f64,
    pub word_bits: usize,
    /// Width of a psum on chip, when wider than a word (Eyeriss v2: 8-bit data, 20-bit psums;
    /// JETCAS 2019 §IV). Absent: psums are words. It prices psum accesses on chip; ofmaps leave
    /// for DRAM as words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psum_bits: Option<usize>,
    /// Configuration bits shifted in serially before each layer, one per core cycle (Eyeriss: a
    /// 1794-bit scan chain, "less than 100 us", JSSC 2017 §III-B). 0: no configuration time.
    #[serde(default)]
    pub scan_chain_bits: usize,
}

impl CoreSpec {
    /// Bits of a psum on chip: `psum_bits`, or a word.
    pub fn psum_bits(&self) -> usize {
        self.psum_bits.unwrap_or(self.word_bits)
    }
}

/// How the row-stationary mapper may fit a PE set onto the array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SetFitting {
    /// The Eyeriss chip's policy (JSSC 2017 §III-C; design brief §3): a set wider than the
    /// array is segmented (folded) whenever the folded set fits, and strip-mined only when it
    /// does not, into strips that tile the array width (e divides `cols`) so that replicas fill
    /// it. AlexNet CONV2 5x27 -> 5x14 + 5x13; CONV1 11x55 -> strips of 14 (or 7, replicated).
    #[default]
    Eyeriss,
    /// Any strip width 1..=E: the whole space, for exploring other control policies.
    Free,
}

/// Knobs of the mapping search that belong to the hardware's control, not its storage.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapperSpec {
    #[serde(default)]
    pub set_fitting: SetFitting,
    /// The least share of the array's PEs a mapping must keep busy (active PEs / PEs, 0..=1):
    /// the ISCA 2016 study compared dataflows with the array fully used. 0 (the default, not
    /// serialised so a config's fingerprint is unchanged): any mapping.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub min_active_pes: f64,
    /// Whether the row-stationary array may hold PE sets of several channel groups of a
    /// grouped or depthwise convolution in one pass (Eyeriss v2, JETCAS 2019, Fig. 4), the
    /// mapping's `u`; false (the default, not serialised so a config's fingerprint is
    /// unchanged): one group per pass, as Eyeriss v1.
    #[serde(default, skip_serializing_if = "is_false")]
    pub group_sets: bool,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

fn is_false(v: &bool) -> bool {
    !*v
}

impl MapperSpec {
    /// The least number of busy PEs a mapping on `pes` PEs may have: the share rounded up
    /// (0.9 x 256 = 230.4 -> 231), less a hair so that a product that is whole in exact
    /// arithmetic but a float ulp above it (0.07 x 100 = 7.000000000000001) is not raised to 8.
    pub fn least_active_pes(&self, pes: usize) -> usize {
        (self.min_active_pes * pes as f64 - 1e-9).ceil().max(0.0) as usize
    }
}

/// Architecture of one accelerator. `levels` lists the storage hierarchy, DRAM first; `dram`,
/// `glb`, `noc` and `pe` describe its levels of each kind (`arch::levels`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HwConfig {
    pub name: String,
    pub dataflow: Dataflow,
    pub array: ArraySpec,
    /// Not serialised when it is the four Eyeriss levels the sections `[dram]`, `[glb]`,
    /// `[noc]`, `[pe]` imply: a config's serialised form (the sweep's grid fingerprint) is then
    /// what it was before levels were data, and results files stay resumable.
    #[serde(skip_serializing_if = "Levels::is_eyeriss")]
    pub levels: Levels,
    pub pe: PeSpec,
    pub glb: GlbSpec,
    pub noc: NocSpec,
    pub dram: DramSpec,
    pub core: CoreSpec,
    pub mapper: MapperSpec,
}

impl HwConfig {
    /// Where the nest's positions sit in `levels`.
    #[inline]
    pub fn roles(&self) -> crate::counts::Roles {
        crate::counts::Roles {
            glb_bypass: self.glb.bypass(),
            ofmaps_to_dram: self.glb.ofmaps_to_dram,
            ..self.levels.roles()
        }
    }
    pub fn pes(&self) -> usize {
        self.array.rows * self.array.cols
    }

    /// The array's peak MAC rate: every PE's `simd` lanes busy.
    pub fn peak_macs_per_cycle(&self) -> usize {
        self.pes() * self.pe.simd
    }

    /// The hierarchical mesh of the network level; None on a bus (or a config `check` would
    /// refuse).
    #[inline]
    pub fn mesh(&self) -> Option<Mesh> {
        let n = &self.noc;
        if n.topology.is_bus() {
            return None;
        }
        Some(Mesh {
            clusters: n.clusters?,
            cluster_pes: n.cluster_pes?,
            nets: [n.weights?, n.ifmaps?, n.psums?],
        })
    }
    /// Words the DRAM link moves per core cycle.
    pub fn dram_words_per_cycle(&self) -> f64 {
        (self.dram.bus_bits as f64 / self.core.word_bits as f64) * self.dram.clock_mhz
            / self.core.clock_mhz
    }
    /// Bytes a word occupies off-chip (for MB figures).
    pub fn word_bytes(&self) -> f64 {
        self.core.word_bits as f64 / 8.0
    }
    /// On-chip storage in words: GLB, filter buffer and all spads.
    pub fn storage_words(&self) -> usize {
        self.glb.words + self.glb.filter_words + self.pes() * self.pe.rf_total()
    }
}

/// The key of `field` of the level `level` (a section, `glb.words`, or a list entry,
/// `level[1].words`).
fn key(level: &Level, field: &str) -> String {
    format!("{}.{field}", level.key)
}

/// Checks a config for values no mapping could use; returns (key, rule, fix).
pub fn check(hw: &HwConfig) -> Result<(), (String, String, String)> {
    let (pe, glb, noc, dram) = (
        hw.levels.rf(),
        hw.levels.glb(),
        hw.levels.array(),
        hw.levels.dram(),
    );
    let positive = [
        ("array.rows".to_string(), hw.array.rows),
        ("array.cols".to_string(), hw.array.cols),
        (key(pe, "pipeline_stages"), hw.pe.pipeline_stages),
        (key(pe, "simd"), hw.pe.simd),
        (key(glb, "words"), hw.glb.words),
        (key(glb, "banks"), hw.glb.banks),
        (key(glb, "bank_width_bits"), hw.glb.bank_width_bits),
        (key(noc, "filter_bus_bits"), hw.noc.filter_bus_bits),
        (key(noc, "ifmap_bus_bits"), hw.noc.ifmap_bus_bits),
        (key(noc, "psum_bus_bits"), hw.noc.psum_bus_bits),
        (key(noc, "psum_out_bus_bits"), hw.noc.psum_out_bits()),
        (key(dram, "bus_bits"), hw.dram.bus_bits),
        ("core.word_bits".to_string(), hw.core.word_bits),
        ("core.psum_bits".to_string(), hw.core.psum_bits()),
    ];
    check_pe_storage(hw, pe)?;
    check_glb_holds(hw, glb)?;
    check_glb_partition(hw, glb)?;
    let array = Grid {
        rows: hw.array.rows,
        cols: hw.array.cols,
    };
    hw.noc.resolve_mesh(&noc.key, array)?;
    for (key, v) in positive {
        if v == 0 {
            return Err((
                key.clone(),
                format!("`{key}` is 0 but must be at least 1"),
                "give a positive size".into(),
            ));
        }
    }
    let share = hw.mapper.min_active_pes;
    if !(share.is_finite() && (0.0..=1.0).contains(&share)) {
        return Err((
            "mapper.min_active_pes".into(),
            format!("`mapper.min_active_pes` = {share} must be a share of the PEs, from 0 to 1"),
            "give a fraction, e.g. 0.9 for mappings that keep 90 % of the PEs busy".into(),
        ));
    }
    for (key, v, max) in limits(hw) {
        if v > max {
            return Err((
                key.clone(),
                format!("`{key}` = {v} is larger than {max}, beyond any accelerator this models"),
                format!("give a value of at most {max}"),
            ));
        }
    }
    for (key, v) in [
        (key(dram, "clock_mhz"), hw.dram.clock_mhz),
        ("core.clock_mhz".to_string(), hw.core.clock_mhz),
    ] {
        if !(MIN_MHZ..=MAX_MHZ).contains(&v) {
            return Err((
                key.clone(),
                format!("`{key}` = {v} is not a clock from {MIN_MHZ} to {MAX_MHZ} MHz"),
                "give the clock in MHz".into(),
            ));
        }
    }
    Ok(())
}

/// The PE's storage is either three spads, each at least one word, or one RF of at least three
/// words (an ifmap, a weight and a psum), never both.
fn check_pe_storage(hw: &HwConfig, pe: &Level) -> Result<(), (String, String, String)> {
    let spads = [
        ("filter_spad_words", hw.pe.filter_spad_words),
        ("ifmap_spad_words", hw.pe.ifmap_spad_words),
        ("psum_spad_words", hw.pe.psum_spad_words),
    ];
    match hw.pe.rf_words {
        Some(u) => {
            if let Some((name, _)) = spads.iter().find(|(_, v)| *v > 0) {
                let k = key(pe, "rf_words");
                return Err((
                    k.clone(),
                    format!(
                        "`{k}` and `{}` are both given: a unified RF replaces the three spads",
                        key(pe, name)
                    ),
                    "give either `rf_words` (the mapper splits it) or the three spad sizes".into(),
                ));
            }
            if hw.pe.compressed_weights {
                let k = key(pe, "compressed_weights");
                return Err((
                    k.clone(),
                    format!(
                        "`{k}` is a filter spad's format, but `{}` is a unified RF",
                        key(pe, "rf_words")
                    ),
                    "give the three spad sizes, or remove compressed_weights".into(),
                ));
            }
            if u < 3 {
                let k = key(pe, "rf_words");
                return Err((
                    k.clone(),
                    format!("`{k}` = {u} cannot hold an ifmap, a weight and a psum"),
                    "give at least 3 words".into(),
                ));
            }
        }
        None => {
            for (name, v) in spads {
                if v == 0 {
                    let k = key(pe, name);
                    return Err((
                        k.clone(),
                        format!("`{k}` is 0 or missing but must be at least 1"),
                        "give the three spad sizes (filter_spad_words, ifmap_spad_words, \
                         psum_spad_words), or one unified `rf_words`"
                            .into(),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// `holds` of the global buffer: not empty, each type once, psums among them (every dataflow
/// here accumulates psums across passes in the GLB; Eyeriss v2: "psums are always stored in the
/// GLB"), and no filter buffer for weights that bypass it.
/// A partition's shares are positive and fit the buffer they divide.
fn check_glb_partition(hw: &HwConfig, glb: &Level) -> Result<(), (String, String, String)> {
    let Some(p) = hw.glb.partition else {
        return Ok(());
    };
    let k = key(glb, "partition");
    if p.ifmaps == 0 || p.psums == 0 {
        return Err((
            k.clone(),
            format!(
                "`{k}` gives ifmaps {} and psums {} words: each needs some",
                p.ifmaps, p.psums
            ),
            "give both a positive number of words, or remove the key (shared capacity)".into(),
        ));
    }
    if p.ifmaps + p.psums > hw.glb.words {
        return Err((
            k.clone(),
            format!(
                "`{k}` gives ifmaps {} + psums {} = {} words, more than `{}` = {}",
                p.ifmaps,
                p.psums,
                p.ifmaps + p.psums,
                key(glb, "words"),
                hw.glb.words
            ),
            "make the shares add up to at most words".into(),
        ));
    }
    Ok(())
}

fn check_glb_holds(hw: &HwConfig, glb: &Level) -> Result<(), (String, String, String)> {
    let Some(h) = hw.glb.holds else {
        return Ok(());
    };
    let k = key(glb, "holds");
    let err = |rule: String, fix: &str| Err((k.clone(), rule, fix.to_string()));
    if h.listed == 0 {
        return err(
            format!("`{k}` is empty: the global buffer must hold psums at least"),
            "list what it holds, e.g. holds = [\"ifmaps\", \"psums\"], or remove the key (all three)",
        );
    }
    if h.listed != h.mask.count_ones() as usize {
        return err(
            format!("`{k}` lists a data type twice"),
            "list each data type once",
        );
    }
    if !h.holds(DataType::Psums) {
        return err(
            format!("`{k}` leaves out psums, but psums accumulate across passes in the global buffer in every dataflow"),
            "add \"psums\" to holds; to send final ofmaps off-chip directly, set ofmaps_to_dram = true",
        );
    }
    if !h.holds(DataType::Weights) && hw.glb.filter_words > 0 {
        return Err((
            key(glb, "filter_words"),
            format!(
                "`{}` = {} is a filter buffer, but weights bypass the global buffer (`{k}`)",
                key(glb, "filter_words"),
                hw.glb.filter_words
            ),
            "set filter_words = 0, or add \"weights\" to holds".into(),
        ));
    }
    Ok(())
}

/// Clocks from 1 kHz to 1 THz: outside them, link and latency figures stop being finite.
const MIN_MHZ: f64 = 1e-3;
const MAX_MHZ: f64 = 1e6;

/// (key, value, largest value allowed): far beyond any Eyeriss-class design, and small enough
/// that PE counts, storage words and the bits cycle mode steps through stay exact and finite in
/// time (a 2^40-bit word over a 1-bit bus would step for ever).
fn limits(hw: &HwConfig) -> [(String, usize, usize); 20] {
    const K64: usize = 1 << 16;
    let (pe, glb, noc, dram) = (
        hw.levels.rf(),
        hw.levels.glb(),
        hw.levels.array(),
        hw.levels.dram(),
    );
    [
        ("array.rows".into(), hw.array.rows, K64),
        ("array.cols".into(), hw.array.cols, K64),
        (
            key(pe, "filter_spad_words"),
            hw.pe.filter_spad_words,
            1 << 20,
        ),
        (key(pe, "ifmap_spad_words"), hw.pe.ifmap_spad_words, 1 << 20),
        (key(pe, "psum_spad_words"), hw.pe.psum_spad_words, 1 << 20),
        (key(pe, "rf_words"), hw.pe.rf_words.unwrap_or(0), 1 << 20),
        (key(pe, "pipeline_stages"), hw.pe.pipeline_stages, 1 << 10),
        (key(pe, "simd"), hw.pe.simd, 64),
        (key(glb, "words"), hw.glb.words, 1 << 40),
        (key(glb, "filter_words"), hw.glb.filter_words, 1 << 40),
        (key(glb, "banks"), hw.glb.banks, K64),
        (key(glb, "bank_width_bits"), hw.glb.bank_width_bits, K64),
        (key(noc, "filter_bus_bits"), hw.noc.filter_bus_bits, K64),
        (key(noc, "ifmap_bus_bits"), hw.noc.ifmap_bus_bits, K64),
        (key(noc, "psum_bus_bits"), hw.noc.psum_bus_bits, K64),
        (key(noc, "psum_out_bus_bits"), hw.noc.psum_out_bits(), K64),
        (key(dram, "bus_bits"), hw.dram.bus_bits, K64),
        ("core.word_bits".into(), hw.core.word_bits, 64),
        ("core.psum_bits".into(), hw.core.psum_bits(), 64),
        (
            "core.scan_chain_bits".into(),
            hw.core.scan_chain_bits,
            1 << 32,
        ),
    ]
}
