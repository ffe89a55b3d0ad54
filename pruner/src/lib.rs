//! Energy-aware pruning for small CNNs.
//!
//! Phase 1: a CPU CNN engine with 0/1 weight masks ([`nn`]), Fashion-MNIST
//! loading ([`data`]), built-in architectures and PyTorch-compatible model
//! files ([`model`]), and training ([`train`]).

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
pub use train::{evaluate, train, EpochStats, LrSchedule, Progress, TrainConfig};
