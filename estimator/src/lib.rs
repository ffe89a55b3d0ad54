//! `ember-estimator`: energy per layer from `sim`'s access counts.
//!
//! Owns the energy tables, the sparsity and bit-width rules and the hardware config file format;
//! composes `sim`'s mapper with the energy objective into a whole-network run.

pub mod chip;
pub mod cycles;
pub mod energy;
pub mod hardware;
pub mod masks;
pub mod power;
pub mod run;
pub mod sparsity;
pub mod table;
pub mod validate;

pub use energy::{
    estimate, Actions, Context, EffectiveCounts, EnergyObjective, Factors, LayerEnergy, LevelValues,
};
pub use hardware::Hardware;
pub use run::{LayerResult, NetworkResult, Objective};
pub use sparsity::{Preset, SparsityRules};
pub use table::{EnergySpec, EnergyTable, LevelPrice, Price, Units};
