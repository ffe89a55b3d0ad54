//! Access counts: what the simulator hands the estimator.
//!
//! Two views of the same accesses:
//! - [`NestCounts`]: what a dataflow's loop nest moves at the four positions every dataflow
//!   here is defined against (Chen, Emer, Sze, ISCA 2016 §V): the off-chip backing store
//!   (`dram`), the global buffer the array reads (`glb`), the inter-PE network (`array`) and the
//!   PEs' own storage (`rf`). Dataflows write these, in their own closed forms and walks.
//! - [`AccessCounts`]: the same accesses per level of the hardware config's level list
//!   (`arch::Levels`, DRAM first), x data type x action (read, write): what the estimator prices
//!   and the reports print. A config names its levels and may add levels of its own; the nest's
//!   positions are placed where the config's levels of those roles sit.
//!
//! Conventions (the same for every dataflow and both simulation modes):
//! - counts are dense words of `core.word_bits`: zero gating and run-length coding are the
//!   estimator's business;
//! - the backing store and buffers hold unpadded feature maps; padding zeros are made at the
//!   array edge, so network and PE ifmap counts include them;
//! - the network counts word hops: `reads` are words delivered into a PE (from the GLB or from a
//!   neighbour PE), `writes` are psum words leaving the array for the GLB;
//! - `psums` include the final ofmap writes.

use std::ops::{Add, AddAssign, Mul};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadWrite {
    pub reads: u64,
    pub writes: u64,
}

impl ReadWrite {
    pub fn total(&self) -> u64 {
        self.reads + self.writes
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    Weights,
    Ifmaps,
    Psums,
}

impl DataType {
    pub const ALL: [DataType; 3] = [DataType::Weights, DataType::Ifmaps, DataType::Psums];
    pub fn key(&self) -> &'static str {
        ["weights", "ifmaps", "psums"][*self as usize]
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerDataType {
    pub weights: ReadWrite,
    pub ifmaps: ReadWrite,
    pub psums: ReadWrite,
}

impl PerDataType {
    pub fn get(&self, d: DataType) -> ReadWrite {
        match d {
            DataType::Weights => self.weights,
            DataType::Ifmaps => self.ifmaps,
            DataType::Psums => self.psums,
        }
    }
    pub fn get_mut(&mut self, d: DataType) -> &mut ReadWrite {
        match d {
            DataType::Weights => &mut self.weights,
            DataType::Ifmaps => &mut self.ifmaps,
            DataType::Psums => &mut self.psums,
        }
    }
    /// Reads plus writes of every data type.
    pub fn total(&self) -> u64 {
        self.weights.total() + self.ifmaps.total() + self.psums.total()
    }
}

impl AddAssign for PerDataType {
    fn add_assign(&mut self, o: PerDataType) {
        self.weights = self.weights + o.weights;
        self.ifmaps = self.ifmaps + o.ifmaps;
        self.psums = self.psums + o.psums;
    }
}

impl Mul<u64> for PerDataType {
    type Output = PerDataType;
    fn mul(self, k: u64) -> PerDataType {
        PerDataType {
            weights: self.weights * k,
            ifmaps: self.ifmaps * k,
            psums: self.psums * k,
        }
    }
}

/// The accesses of a dataflow's loop nest at its four positions (module doc).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NestCounts {
    pub dram: PerDataType,
    pub glb: PerDataType,
    pub array: PerDataType,
    pub rf: PerDataType,
    /// Mesh traffic of the network position on a hierarchical mesh (`rs::noc`); zero on a bus,
    /// and then not serialised.
    #[serde(default, skip_serializing_if = "NocCounts::is_zero")]
    pub noc: NocCounts,
}

impl AddAssign for NestCounts {
    fn add_assign(&mut self, o: NestCounts) {
        self.dram += o.dram;
        self.glb += o.glb;
        self.array += o.array;
        self.rf += o.rf;
        self.noc += o.noc;
    }
}

impl Mul<u64> for NestCounts {
    type Output = NestCounts;
    fn mul(self, k: u64) -> NestCounts {
        NestCounts {
            dram: self.dram * k,
            glb: self.glb * k,
            array: self.array * k,
            rf: self.rf * k,
            noc: self.noc * k,
        }
    }
}

/// What the words of each data type (indexed by `DataType`) cost on a hierarchical mesh, summed
/// over the distinct words injected: `hops`, mesh links crossed between clusters, and
/// `routers`, router traversals (every cluster a word's multicast tree touches, source
/// included: a tree's hops + 1). Words delivered into PEs stay the network's `reads`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NocCounts {
    pub hops: [u64; 3],
    pub routers: [u64; 3],
}

impl NocCounts {
    pub fn is_zero(&self) -> bool {
        *self == NocCounts::default()
    }
}

impl AddAssign for NocCounts {
    fn add_assign(&mut self, o: NocCounts) {
        for (a, b) in self.hops.iter_mut().zip(o.hops) {
            *a += b;
        }
        for (a, b) in self.routers.iter_mut().zip(o.routers) {
            *a += b;
        }
    }
}

impl Mul<u64> for NocCounts {
    type Output = NocCounts;
    fn mul(self, k: u64) -> NocCounts {
        NocCounts {
            hops: self.hops.map(|v| v * k),
            routers: self.routers.map(|v| v * k),
        }
    }
}

/// Most levels a config may list: more than any Eyeriss-class design has (Timeloop's published
/// Eyeriss example has five); it bounds the staging levels `Roles` carries and the fixed-size
/// per-level arrays of the estimator.
pub const MAX_LEVELS: usize = 6;

/// Most staging levels (buffers between DRAM and the GLB, `arch::levels`) a config may list:
/// the level slots the four positions of the nest leave.
pub const MAX_STAGES: usize = MAX_LEVELS - 4;

/// A staging level: its index in the level list and the data types it holds (bit `d` set for
/// `DataType` `d`); the others bypass it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Stage {
    pub level: u8,
    pub holds: u8,
}

impl Stage {
    pub fn holds(&self, d: DataType) -> bool {
        self.holds & (1 << d as u8) != 0
    }
}

/// Where the four positions of the loop nest sit in a config's level list (indices, outermost
/// first), the staging levels between DRAM and the GLB, and how many levels the list has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Roles {
    pub dram: u8,
    pub glb: u8,
    pub array: u8,
    pub rf: u8,
    pub levels: u8,
    /// The first `stage_count` are the staging levels, outermost first.
    pub stages: [Stage; MAX_STAGES],
    pub stage_count: u8,
    /// The data types the global buffer does not hold (bit `d` for `DataType` `d`; 0, the
    /// default, holds all three): `[glb] holds` (Eyeriss v2: weights bypass the GLB).
    pub glb_bypass: u8,
    /// Final ofmaps leave the array straight for DRAM, skipping the GLB (`[glb] ofmaps_to_dram`).
    pub ofmaps_to_dram: bool,
}

impl Roles {
    /// The four positions as the only levels, in nest order (every Eyeriss config).
    pub const NEST: Roles = Roles {
        dram: 0,
        glb: 1,
        array: 2,
        rf: 3,
        levels: 4,
        stages: [Stage { level: 0, holds: 0 }; MAX_STAGES],
        stage_count: 0,
        glb_bypass: 0,
        ofmaps_to_dram: false,
    };

    /// The staging levels, outermost first.
    pub fn stages(&self) -> &[Stage] {
        &self.stages[..self.stage_count as usize]
    }

    /// Whether the global buffer holds data type `d` (`[glb] holds`).
    pub fn glb_holds(&self, d: DataType) -> bool {
        self.glb_bypass & (1 << d as u8) == 0
    }
}

/// Moves the accesses of a data type the global buffer does not hold, and of final ofmaps sent
/// straight to DRAM, off the buffer (`Roles::glb_bypass`, `Roles::ofmaps_to_dram`). One rule for
/// every dataflow, exact because every dataflow here writes its nest by the same conventions:
/// - weights and ifmaps are read from DRAM only to fill the buffer (DRAM reads = buffer writes)
///   and leave the buffer only for the array (buffer reads = words the network takes in). When
///   the buffer does not hold them, each word the array took from it comes from DRAM instead:
///   DRAM reads = the buffer's reads, the buffer none. The network and PE counts do not change
///   (the same words reach the same PEs; Eyeriss v2 routes weights from off-chip to the router
///   clusters, JETCAS 2019 p. 296). `arch::check` refuses a buffer that does not hold psums.
/// - psums reach DRAM only as final ofmaps, each written into the buffer once by the array and
///   read out once to drain (DRAM psum writes = ofmap words, counted in the buffer's psum reads
///   and writes). Sent straight to DRAM, that write and that read leave the buffer.
///
/// It must see a nest once (it is not idempotent): `AccessCounts::place` applies it to a
/// dataflow's raw nest, and every sum of placed counts stays placed (the rule is linear).
#[inline]
fn route(nest: &mut NestCounts, roles: Roles) {
    for d in [DataType::Weights, DataType::Ifmaps] {
        if !roles.glb_holds(d) {
            nest.dram.get_mut(d).reads = nest.glb.get(d).reads;
            *nest.glb.get_mut(d) = ReadWrite::default();
        }
    }
    if roles.ofmaps_to_dram {
        let drain = nest.dram.psums.writes;
        let glb = &mut nest.glb.psums;
        glb.writes = glb.writes.saturating_sub(drain);
        glb.reads = glb.reads.saturating_sub(drain);
    }
}

/// Accesses per level of a config's level list (outermost first) x data type x read/write.
///
/// Held as the nest's counts and the config's `Roles`: every level's counts follow from those
/// (a position's are the nest's, a staging level's the DRAM's dense traffic of what it holds),
/// so this is lossless and as small as the nest's counts — the mapper builds one per candidate,
/// and its speed depends on it. `level(i)` derives level `i`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccessCounts {
    roles: Roles,
    nest: NestCounts,
}

impl AccessCounts {
    /// No accesses, at the levels `roles` describes.
    pub fn zero(roles: Roles) -> AccessCounts {
        AccessCounts {
            roles,
            nest: NestCounts::default(),
        }
    }

    /// The nest's accesses at the levels of its positions, and at each staging level the
    /// DRAM traffic of the data types it holds: every word crossing the DRAM link is written into
    /// it and read out of it once, dense (the staging level models no reuse of its own; run-length
    /// coding is the DRAM link's). So a staging level's reads = writes = DRAM reads + writes of
    /// that data type, in closed form and walk alike. A data type the global buffer does not
    /// hold, and final ofmaps sent straight to DRAM, are routed around the buffer (`route`).
    #[inline(always)]
    pub fn place(nest: &NestCounts, roles: Roles) -> AccessCounts {
        let mut nest = *nest;
        if roles.glb_bypass != 0 || roles.ofmaps_to_dram {
            route(&mut nest, roles);
        }
        AccessCounts { roles, nest }
    }

    /// The counts at the nest's four positions.
    #[inline]
    pub fn nest(&self) -> &NestCounts {
        &self.nest
    }
    /// Number of levels.
    pub fn len(&self) -> usize {
        self.roles.levels as usize
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn roles(&self) -> Roles {
        self.roles
    }
    /// Level `i` of the list (0 = outermost; none past the last).
    pub fn level(&self, i: usize) -> PerDataType {
        let r = &self.roles;
        let at = |role: u8| i == role as usize;
        if at(r.dram) {
            self.nest.dram
        } else if at(r.glb) {
            self.nest.glb
        } else if at(r.array) {
            self.nest.array
        } else if at(r.rf) {
            self.nest.rf
        } else if let Some(st) = r.stages().iter().find(|st| at(st.level)) {
            let mut out = PerDataType::default();
            for d in DataType::ALL.into_iter().filter(|&d| st.holds(d)) {
                let words = self.nest.dram.get(d).total();
                *out.get_mut(d) = ReadWrite {
                    reads: words,
                    writes: words,
                };
            }
            out
        } else {
            PerDataType::default()
        }
    }
    pub fn get(&self, i: usize, d: DataType) -> ReadWrite {
        self.level(i).get(d)
    }
    /// The levels in order, outermost first.
    pub fn levels(&self) -> Vec<PerDataType> {
        (0..self.len()).map(|i| self.level(i)).collect()
    }
    /// The level of each position of the nest.
    pub fn dram(&self) -> &PerDataType {
        &self.nest.dram
    }
    pub fn glb(&self) -> &PerDataType {
        &self.nest.glb
    }
    pub fn array(&self) -> &PerDataType {
        &self.nest.array
    }
    pub fn rf(&self) -> &PerDataType {
        &self.nest.rf
    }
    /// Hops and routers on a hierarchical mesh (zero on a bus).
    pub fn noc(&self) -> &NocCounts {
        &self.nest.noc
    }
    /// These counts with the mesh's hops and routers `noc` (the routing of `place` leaves them
    /// as they are).
    pub fn with_noc(mut self, noc: NocCounts) -> AccessCounts {
        self.nest.noc = noc;
        self
    }
}

impl Serialize for AccessCounts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.levels().serialize(s)
    }
}

impl Add for ReadWrite {
    type Output = ReadWrite;
    fn add(self, o: ReadWrite) -> ReadWrite {
        ReadWrite {
            reads: self.reads + o.reads,
            writes: self.writes + o.writes,
        }
    }
}

impl Mul<u64> for ReadWrite {
    type Output = ReadWrite;
    fn mul(self, k: u64) -> ReadWrite {
        ReadWrite {
            reads: self.reads * k,
            writes: self.writes * k,
        }
    }
}

impl AddAssign for AccessCounts {
    /// Sum level by level (both sides count the same config's levels; an empty side takes the
    /// other's levels).
    fn add_assign(&mut self, o: AccessCounts) {
        if self.is_empty() {
            self.roles = o.roles;
        }
        // Every level is linear in the nest's counts, so summing those sums every level.
        self.nest += o.nest;
    }
}

impl Mul<u64> for AccessCounts {
    type Output = AccessCounts;
    fn mul(mut self, k: u64) -> AccessCounts {
        self.nest = self.nest * k;
        self
    }
}
