//! `compare`: one network on several candidates (hardware configs, or dataflows on one config),
//! per layer and in total, each comparable with the first.

use std::path::PathBuf;

use serde::{Serialize, Serializer};
use serde_json::{json, Value};

use ember_estimator::{Hardware, LayerEnergy, NetworkResult, Objective};
use ember_sim::{Dataflow, Network};

use crate::error::{ExploreError, Result};
use crate::json::{energy_by_level, network_json, utilization};
use crate::workload::{load_hardware, Workload};

/// Everything `ember compare` is asked, as data.
#[derive(Debug, Clone)]
pub struct CompareRequest {
    pub workload: Workload,
    /// Hardware configs; empty: the embedded Eyeriss chip.
    pub hardware: Vec<PathBuf>,
    /// Dataflows run on every config; empty: each config's own.
    pub dataflows: Vec<Dataflow>,
    /// Images per batch (at least 1).
    pub batch: usize,
    /// What the mapper minimises for every candidate (as `sim`'s).
    pub objective: Objective,
    /// Overrides every config's `[mapper] min_active_pes`; `None`: each config's.
    pub min_active_pes: Option<f64>,
}

/// One evaluated candidate.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub hw: Hardware,
    /// "config dataflow", e.g. `eyeriss-v1 rs`.
    pub label: String,
    pub result: NetworkResult,
}

/// Every candidate, in request order (configs outer, dataflows inner). Serialises to the
/// document `ember compare --format json` prints.
#[derive(Debug, Clone)]
pub struct CompareReport {
    pub candidates: Vec<Candidate>,
    /// The ONNX importer's notes, each naming the model.
    pub warnings: Vec<String>,
}

/// One row of a candidate: a layer or the total.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareRow {
    pub name: String,
    pub energy: f64,
    /// MAC (with static) energy, then each of `CompareReport::level_columns` (None: the
    /// candidate's config has no such level).
    pub by_level: Vec<Option<f64>>,
    pub cycles: u64,
    pub util: f64,
}

/// `a / b`, NaN where the base is zero (a ratio to nothing is not a number, not infinity).
pub fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        f64::NAN
    } else {
        a / b
    }
}

/// Load what `req` names and run every candidate.
pub fn compare(req: &CompareRequest) -> Result<CompareReport> {
    let loaded = req.workload.load(Some(req.batch))?;
    let mut hws = Vec::new();
    if req.hardware.is_empty() {
        hws.push(("the built-in eyeriss-v1".to_string(), load_hardware(None)?));
    }
    for p in &req.hardware {
        hws.push((p.display().to_string(), load_hardware(Some(p))?));
    }
    let hws = hws
        .into_iter()
        .map(|(n, h)| Ok((n, crate::sim::with_min_active_pes(h, req.min_active_pes)?)))
        .collect::<Result<Vec<_>>>()?;
    let mut report = compare_loaded(
        &loaded.network,
        hws,
        &req.dataflows,
        req.batch,
        req.objective,
    )?;
    report.warnings = loaded.warnings;
    Ok(report)
}

/// Run `net` on every (named) config x dataflow, each mapped for `objective`; `dataflows`
/// empty: each config's own.
pub fn compare_loaded(
    net: &Network,
    hws: Vec<(String, Hardware)>,
    dataflows: &[Dataflow],
    batch: usize,
    objective: Objective,
) -> Result<CompareReport> {
    if batch == 0 {
        return Err(ExploreError::ZeroBatch);
    }
    same_units(&hws)?;
    let mut candidates = Vec::new();
    for (_, hw) in hws {
        let dfs = if dataflows.is_empty() {
            vec![hw.arch.dataflow]
        } else {
            dataflows.to_vec()
        };
        for df in dfs {
            let result = hw.run_with(net, batch, df, objective)?;
            let label = format!("{} {}", hw.arch.name, df.code());
            candidates.push(Candidate {
                hw: hw.clone(),
                label,
                result,
            });
        }
    }
    if candidates.len() < 2 {
        return Err(ExploreError::TooFewCandidates);
    }
    Ok(CompareReport {
        candidates,
        warnings: Vec::new(),
    })
}

/// Candidates are compared as ratios and drawn on one axis: their energies must share a unit
/// (no conversion between normalised units and picojoules is defined).
fn same_units(hws: &[(String, Hardware)]) -> Result<()> {
    let Some((first, h0)) = hws.first() else {
        return Ok(());
    };
    match hws.iter().find(|(_, h)| h.energy.units != h0.energy.units) {
        Some((name, h)) => Err(ExploreError::MixedUnits {
            name: name.clone(),
            units: h.energy.units.key(),
            first: first.clone(),
            first_units: h0.energy.units.key(),
        }),
        None => Ok(()),
    }
}

impl CompareReport {
    /// `{"candidates": [{"hardware", "dataflow", "result"}]}`, `result` = `ember sim`'s JSON.
    pub fn to_json(&self) -> Value {
        let list: Vec<Value> = self
            .candidates
            .iter()
            .map(|c| {
                json!({
                    "hardware": c.hw.arch.name,
                    "dataflow": c.result.dataflow.code(),
                    "result": network_json(&c.result, &c.hw),
                })
            })
            .collect();
        json!({ "candidates": list })
    }

    /// The levels of every candidate as one list of columns, (name, label): each config's
    /// levels in its own order, a level another config lacks placed after the levels before it.
    pub fn level_columns(&self) -> Vec<(String, String)> {
        let mut cols: Vec<(String, String)> = Vec::new();
        for c in &self.candidates {
            let mut at = 0;
            for l in &c.hw.arch.levels {
                match cols.iter().position(|(n, _)| *n == l.name) {
                    Some(i) => at = i + 1,
                    None => {
                        cols.insert(at, (l.name.clone(), l.label.clone()));
                        at += 1;
                    }
                }
            }
        }
        cols
    }
}

impl Serialize for CompareReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl Candidate {
    /// Rows per layer, then the total, with energy by level in the columns `cols`.
    pub fn rows(&self, cols: &[(String, String)]) -> Vec<CompareRow> {
        let levels = |e: &LayerEnergy| -> Vec<Option<f64>> {
            let own = energy_by_level(e);
            let mut v = vec![Some(own[0])];
            v.extend(
                cols.iter()
                    .map(|(name, _)| self.hw.arch.levels.position(name).map(|i| own[i + 1])),
            );
            v
        };
        let mut out: Vec<CompareRow> = self
            .result
            .layers
            .iter()
            .map(|l| CompareRow {
                name: l.layer.name.clone(),
                energy: l.energy.total,
                by_level: levels(&l.energy),
                cycles: l.eval.cycles,
                util: l.eval.utilization(&self.hw.arch),
            })
            .collect();
        let cycles = self.result.cycles();
        out.push(CompareRow {
            name: "total".into(),
            energy: self.result.total.total,
            by_level: levels(&self.result.total),
            cycles,
            util: utilization(self.result.macs(), cycles, &self.hw),
        });
        out
    }
}
