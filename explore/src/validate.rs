//! `validate`: the simulator against chip measurements. The measurement file's owner is
//! `estimator::validate` (format and comparison); this is the request around it.

use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};

use ember_estimator::validate::{validate as compare_with, Measurements, Validation};
use ember_estimator::Objective;

use crate::error::Result;
use crate::workload::{load_hardware, Workload};

/// The embedded JSSC 2017 Table V measurements (Eyeriss running AlexNet).
pub const JSSC17: &str = include_str!("../../traces/measurements/eyeriss-jssc17-alexnet.toml");

/// Everything `ember validate` is asked, as data.
#[derive(Debug, Clone)]
pub struct ValidateRequest {
    /// A measurement file; `None`: the embedded JSSC 2017 Table V.
    pub measured: Option<PathBuf>,
    /// A hardware config; `None`: the embedded Eyeriss chip.
    pub hardware: Option<PathBuf>,
    /// The workload the measurements belong to.
    pub workload: Workload,
    pub objective: Objective,
}

impl Default for ValidateRequest {
    /// The chip measured at its operating throughput: mappings minimise energy x latency.
    fn default() -> Self {
        ValidateRequest {
            measured: None,
            hardware: None,
            workload: Workload::default(),
            objective: Objective::Edp,
        }
    }
}

/// The comparison and what it compared. Serialises to `ember validate --format json`: the
/// comparison alone.
#[derive(Debug, Clone)]
pub struct ValidateReport {
    pub validation: Validation,
    /// The measurement set's name, the network's and the hardware's.
    pub measurements: String,
    pub network: String,
    pub hardware: String,
    /// The batch the chip was measured at.
    pub batch: usize,
    pub objective: Objective,
    /// Whether the config has an `[energy_pj]` table: without one there are no power figures.
    pub has_energy_pj: bool,
    /// The ONNX importer's notes, each naming the model.
    pub warnings: Vec<String>,
}

impl Serialize for ValidateReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.validation.serialize(s)
    }
}

/// Load what `req` names, simulate the measured layers and compare.
pub fn validate(req: &ValidateRequest) -> Result<ValidateReport> {
    let meas = match &req.measured {
        Some(p) => Measurements::load(p)?,
        None => Measurements::parse(
            Path::new("traces/measurements/eyeriss-jssc17-alexnet.toml"),
            JSSC17,
        )?,
    };
    let hw = load_hardware(req.hardware.as_deref())?;
    let loaded = req.workload.load(None)?;
    let net = loaded.network;
    let validation = compare_with(&hw, &net, &meas, req.objective)?;
    Ok(ValidateReport {
        validation,
        measurements: meas.name.clone(),
        network: net.name.clone(),
        hardware: hw.arch.name.clone(),
        batch: meas.batch,
        objective: req.objective,
        has_energy_pj: hw.energy_pj.is_some(),
        warnings: loaded.warnings,
    })
}
