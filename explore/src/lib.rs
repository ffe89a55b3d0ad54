//! `ember-explore`: what sits between the models (`ember-sim`, `ember-estimator`, `ember-onnx`)
//! and a user interface. Each command of the `ember` CLI is one call here that loads its inputs
//! through their formats' owners, runs the models and returns a typed report:
//!
//! - [`sim`]: the whole-network pipeline (workload, hardware, masks, mapping, energy, cycle
//!   mode) -> [`SimReport`];
//! - [`compare`]: several configs or dataflows on one network -> [`CompareReport`];
//! - [`sweep`]: a grid of configs as typed rows with their Pareto front -> [`SweepRow`]s;
//! - [`validate`]: the simulator against chip measurements -> [`ValidateReport`].
//!
//! A report serialises to exactly the JSON document the CLI prints for it (`--format json`),
//! so another front end (a Python package) returns the same structure by serialising the same
//! value. Formatting as tables, CSV and plots is the caller's. Errors are typed
//! ([`ExploreError`]); the models' own errors (file, line, key, rule, fix) pass through.
//!
//! Dependencies point one way: this crate uses the models; no model crate uses it.

pub mod chip;
pub mod compare;
pub mod error;
pub mod json;
pub mod sim;
pub mod sweep;
pub mod validate;
pub mod workload;

pub use chip::ChipEnergy;
pub use compare::{
    compare, compare_loaded, Candidate, CompareOptions, CompareReport, CompareRequest, CompareRow,
    EnergyScope,
};
pub use error::{ExploreError, Result, Role};
pub use json::{energy_by_level, sum_cycles, utilization};
pub use sim::{
    sim, simulate, with_min_active_pes, Mode, PassTrace, SimOptions, SimReport, SimRequest,
};
pub use sweep::{Sweep, SweepReport, SweepRow};
pub use validate::{validate, validate_loaded, ValidateReport, ValidateRequest};
pub use workload::{
    hardware_named, import_onnx_bytes, load_hardware, network_from_layers, set_densities,
    set_sparsity_preset, Densities, InputShape, LoadedNetwork, Workload, SHIPPED_HARDWARE,
};
