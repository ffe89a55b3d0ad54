//! `validate`: the simulator against chip measurements. The measurement file's owner is
//! `estimator::validate` (format and comparison); this is the request around it.

use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};

use ember_estimator::validate::{validate as compare_with, Measurements, Validation};
use ember_estimator::{Hardware, Objective};
use ember_sim::Network;

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
            objective: Objective::default(),
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
    let meas = load_measurements(req.measured.as_deref())?;
    let hw = load_hardware(req.hardware.as_deref())?;
    let loaded = req.workload.load(None)?;
    let mut report = run(&hw, &loaded.network, &meas, req.objective)?;
    report.warnings = loaded.warnings;
    Ok(report)
}

/// [`validate`] on a loaded network and hardware; `measured`: a measurement file, or `None` for
/// the embedded JSSC 2017 Table V.
pub fn validate_loaded(
    hw: &Hardware,
    net: &Network,
    measured: Option<&Path>,
    objective: Objective,
) -> Result<ValidateReport> {
    run(hw, net, &load_measurements(measured)?, objective)
}

fn load_measurements(measured: Option<&Path>) -> Result<Measurements> {
    Ok(match measured {
        Some(p) => Measurements::load(p)?,
        None => Measurements::parse(
            Path::new("traces/measurements/eyeriss-jssc17-alexnet.toml"),
            JSSC17,
        )?,
    })
}

fn run(
    hw: &Hardware,
    net: &Network,
    meas: &Measurements,
    objective: Objective,
) -> Result<ValidateReport> {
    let validation = compare_with(hw, net, meas, objective)?;
    Ok(ValidateReport {
        validation,
        measurements: meas.name.clone(),
        network: net.name.clone(),
        hardware: hw.arch.name.clone(),
        batch: meas.batch,
        objective,
        has_energy_pj: hw.energy_pj.is_some(),
        warnings: Vec::new(),
    })
}
