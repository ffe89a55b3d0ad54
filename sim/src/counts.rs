//! Access counts per memory level and data type: what the simulator hands the estimator.
//!
//! Conventions (the same for every dataflow and both simulation modes):
//! - counts are dense words of `core.word_bits`: zero gating and run-length coding are the
//!   estimator's business;
//! - `dram` and `glb` hold unpadded feature maps; padding zeros are made at the array edge, so
//!   `array` and `rf` ifmap counts include them;
//! - `array` counts word hops on the inter-PE network: `reads` are words delivered into a PE
//!   (from the GLB or from a neighbour PE), `writes` are psum words leaving the array for the GLB;
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataType {
    Weights,
    Ifmaps,
    Psums,
}

impl DataType {
    pub const ALL: [DataType; 3] = [DataType::Weights, DataType::Ifmaps, DataType::Psums];
    pub fn key(&self) -> &'static str {
        match self {
            DataType::Weights => "weights",
            DataType::Ifmaps => "ifmaps",
            DataType::Psums => "psums",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    Dram,
    Glb,
    Array,
    Rf,
}

impl Level {
    pub const ALL: [Level; 4] = [Level::Dram, Level::Glb, Level::Array, Level::Rf];
    pub fn key(&self) -> &'static str {
        match self {
            Level::Dram => "dram",
            Level::Glb => "glb",
            Level::Array => "array",
            Level::Rf => "rf",
        }
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
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessCounts {
    pub dram: PerDataType,
    pub glb: PerDataType,
    pub array: PerDataType,
    pub rf: PerDataType,
}

impl AccessCounts {
    pub fn level(&self, l: Level) -> &PerDataType {
        match l {
            Level::Dram => &self.dram,
            Level::Glb => &self.glb,
            Level::Array => &self.array,
            Level::Rf => &self.rf,
        }
    }
    pub fn level_mut(&mut self, l: Level) -> &mut PerDataType {
        match l {
            Level::Dram => &mut self.dram,
            Level::Glb => &mut self.glb,
            Level::Array => &mut self.array,
            Level::Rf => &mut self.rf,
        }
    }
    pub fn get(&self, l: Level, d: DataType) -> ReadWrite {
        self.level(l).get(d)
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
    fn add_assign(&mut self, o: AccessCounts) {
        for l in Level::ALL {
            for d in DataType::ALL {
                let v = self.get(l, d) + o.get(l, d);
                *self.level_mut(l).get_mut(d) = v;
            }
        }
    }
}

impl Mul<u64> for AccessCounts {
    type Output = AccessCounts;
    fn mul(mut self, k: u64) -> AccessCounts {
        for l in Level::ALL {
            for d in DataType::ALL {
                let v = self.get(l, d) * k;
                *self.level_mut(l).get_mut(d) = v;
            }
        }
        self
    }
}
