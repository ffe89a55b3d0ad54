//! The whole-network pipeline of `ember sim`: load the workload and hardware, apply real masks,
//! map and price every layer, and optionally run cycle mode — one call, one serialisable report.

use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};

use ember_estimator::masks::{apply_densities, load_masks};
use ember_estimator::{Hardware, NetworkResult, Objective};
use ember_sim::cycle::{CycleStats, PassRecord};
use ember_sim::masks::Masks;
use ember_sim::{Dataflow, Network};

use crate::error::{ExploreError, Result};
use crate::json;
use crate::workload::{load_hardware, Workload};

/// analytic: counts and cycles in closed form; cycle: the mapping executed pass by pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Analytic,
    Cycle,
}

impl std::str::FromStr for Mode {
    type Err = String;

    /// The CLI's `--mode` values, for front ends that take text (the Python package).
    fn from_str(s: &str) -> std::result::Result<Mode, String> {
        match s {
            "analytic" => Ok(Mode::Analytic),
            "cycle" => Ok(Mode::Cycle),
            m => Err(format!(
                "unknown mode `{m}`; expected `analytic` or `cycle`"
            )),
        }
    }
}

/// How to run a loaded network on loaded hardware.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Images per batch (at least 1).
    pub batch: usize,
    /// The dataflow; `None`: the config's own.
    pub dataflow: Option<Dataflow>,
    pub objective: Objective,
    /// Overrides the config's `[mapper] min_active_pes` (a share of the PEs every mapping
    /// must keep busy); `None`: the config's.
    pub min_active_pes: Option<f64>,
    pub mode: Mode,
    /// Real zeros (safetensors, from `ember masks`): they set the layers' densities and, in
    /// cycle mode, the time of every ofmap column.
    pub masks: Option<PathBuf>,
    /// In cycle mode, keep every pass as executed (`SimReport::passes`).
    pub record_passes: bool,
}

impl Default for SimOptions {
    /// What `ember` with no arguments runs.
    fn default() -> Self {
        SimOptions {
            batch: 4,
            dataflow: None,
            objective: Objective::default(),
            min_active_pes: None,
            mode: Mode::Analytic,
            masks: None,
            record_passes: false,
        }
    }
}

/// Everything `ember sim` is asked, as data.
#[derive(Debug, Clone, Default)]
pub struct SimRequest {
    pub workload: Workload,
    /// A hardware config; `None`: the embedded Eyeriss chip.
    pub hardware: Option<PathBuf>,
    pub options: SimOptions,
}

/// One executed pass of one layer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassTrace {
    pub layer: String,
    pub record: PassRecord,
}

/// A run's result. It serialises to exactly the document `ember sim --format json` prints.
#[derive(Debug, Clone)]
pub struct SimReport {
    pub hardware: Hardware,
    pub result: NetworkResult,
    /// Per layer, in cycle mode.
    pub cycles: Option<Vec<CycleStats>>,
    /// Every pass as executed, when `record_passes` was set in cycle mode.
    pub passes: Vec<PassTrace>,
    /// The ONNX importer's notes, each naming the model.
    pub warnings: Vec<String>,
}

impl SimReport {
    /// The JSON document (analytic, or with cycle-mode timing).
    pub fn to_json(&self) -> serde_json::Value {
        match &self.cycles {
            None => json::network_json(&self.result, &self.hardware),
            Some(c) => json::cycle_json(&self.result, &self.hardware, c),
        }
    }
}

impl Serialize for SimReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

/// Load what `req` names and run it.
pub fn sim(req: &SimRequest) -> Result<SimReport> {
    let loaded = req.workload.load(Some(req.options.batch))?;
    let hw = load_hardware(req.hardware.as_deref())?;
    let mut report = simulate(loaded.network, hw, &req.options)?;
    report.warnings = loaded.warnings;
    Ok(report)
}

/// Run a loaded network on loaded hardware.
pub fn simulate(mut net: Network, hw: Hardware, opts: &SimOptions) -> Result<SimReport> {
    let batch = opts.batch;
    if batch == 0 {
        return Err(ExploreError::ZeroBatch);
    }
    let hw = with_min_active_pes(hw, opts.min_active_pes)?;
    let masks = apply_masks(&mut net, opts.masks.as_deref(), batch)?;
    let dataflow = opts.dataflow.unwrap_or(hw.arch.dataflow);
    let result = hw.run_with(&net, batch, dataflow, opts.objective)?;
    let mut passes = Vec::new();
    let cycles = match opts.mode {
        Mode::Analytic => None,
        Mode::Cycle if opts.record_passes => {
            let mut record = |layer: &str, p: &PassRecord| {
                passes.push(PassTrace {
                    layer: layer.to_string(),
                    record: *p,
                })
            };
            Some(hw.simulate_cycles_masked(&result, &masks, Some(&mut record)))
        }
        // No observer unless asked: a run of millions of passes need not build their records.
        Mode::Cycle => Some(hw.simulate_cycles_masked(&result, &masks, None)),
    };
    Ok(SimReport {
        hardware: hw,
        result,
        cycles,
        passes,
        warnings: Vec::new(),
    })
}

/// The masks of `path` for each layer of `net` at `batch`, with the layers' ifmap and weight
/// densities set from them; no file: none. One function so that `sim` and `compare` read a
/// masks file alike (its checks name the file and tensor) and price the same densities.
pub(crate) fn apply_masks(
    net: &mut Network,
    path: Option<&Path>,
    batch: usize,
) -> Result<Vec<Option<Masks>>> {
    let Some(p) = path else {
        return Ok(Vec::new());
    };
    let masks = load_masks(p, net, batch)?;
    apply_densities(net, &masks);
    Ok(masks)
}

/// `hw` with its `[mapper] min_active_pes` replaced by `share` (when given).
pub fn with_min_active_pes(mut hw: Hardware, share: Option<f64>) -> Result<Hardware> {
    if let Some(v) = share {
        if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
            return Err(ExploreError::MinActivePes { value: v });
        }
        hw.arch.mapper.min_active_pes = v;
    }
    Ok(hw)
}
