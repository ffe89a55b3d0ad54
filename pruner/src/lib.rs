//! Energy-aware pruning for small CNNs.
//!
//! A CPU CNN engine with 0/1 weight masks ([`nn`]), Fashion-MNIST loading
//! ([`data`]), built-in architectures and PyTorch-compatible model files
//! ([`model`]), training ([`train`]), the energy of a model on the simulated
//! accelerator ([`energy`]), and energy-aware and magnitude pruning
//! ([`prune`]).

pub mod atomic;
pub mod data;
pub mod error;
pub mod model;
pub mod nn;
pub mod train;

pub use data::{Dataset, Split};
pub use error::{PrunerError, Result};
pub use model::{load_model, save_model, Architecture, LayerKind, LayerShape};
pub use nn::{Network, OptimizerKind};
pub use train::{evaluate, logits, train, EpochStats, LrSchedule, Progress, TrainConfig};
pub mod energy;
pub mod masks;
pub use energy::{measure_densities, sim_layers, Densities, EnergyModel, ModelEnergy};
pub mod prune;
pub use prune::{
    prune, Allocation, Criterion, LayerOrder, Method, PruneConfig, PruneEvent, PruneOutcome,
};
