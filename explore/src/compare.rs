//! `compare`: one network on several candidates (hardware configs, or dataflows on one config),
//! per layer and in total, each comparable with the first.

use std::path::PathBuf;

use serde::{Serialize, Serializer};
use serde_json::{json, Value};

use ember_estimator::{Hardware, LayerEnergy, NetworkResult, Objective, Units};
use ember_sim::cycle::CycleStats;
use ember_sim::masks::Masks;
use ember_sim::{Dataflow, Network};

use crate::chip::{check_chip_model, chip_energy, ChipEnergy};
use crate::error::{ExploreError, Result};
use crate::json::{cycle_json, energy_by_level, network_json, utilization};
use crate::sim::{apply_masks, Mode};
use crate::workload::{load_hardware, Workload};

/// Which energy the candidates are compared on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EnergyScope {
    /// Every access priced by `[energy]`, DRAM included (what `ember sim` reports).
    #[default]
    Total,
    /// The chip's: on-chip accesses at `[energy_pj]` plus `[power]`'s clock, control and
    /// leakage over each layer's time, DRAM left out (`chip`): the energy behind GOPS/W.
    Chip,
}

impl std::str::FromStr for EnergyScope {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<EnergyScope, String> {
        match s {
            "total" => Ok(EnergyScope::Total),
            "chip" => Ok(EnergyScope::Chip),
            e => Err(format!("unknown energy `{e}`; expected `total` or `chip`")),
        }
    }
}

/// How every candidate is run and priced (one setting for all, so ratios compare like with
/// like).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CompareOptions {
    pub batch: usize,
    pub objective: Objective,
    /// Cycles in closed form, or from the cycle engine (NoC, buffer and DRAM stalls).
    pub mode: Mode,
    pub energy: EnergyScope,
    /// Real zeros (safetensors, from `ember masks`), as `SimOptions::masks`: every candidate
    /// runs the same non-zeros, so the ratios compare hardware, not data.
    pub masks: Option<PathBuf>,
}

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
    /// Cycles in closed form or from the cycle engine.
    pub mode: Mode,
    /// Total access energy, or the chip's.
    pub energy: EnergyScope,
    /// Real zeros for every candidate (as `ember sim --masks`); `None`: the trace's densities.
    pub masks: Option<PathBuf>,
}

/// One evaluated candidate.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub hw: Hardware,
    /// "config dataflow", e.g. `eyeriss-v1 rs`.
    pub label: String,
    pub result: NetworkResult,
    /// Per layer, in cycle mode.
    pub cycle_stats: Option<Vec<CycleStats>>,
    /// Per layer, when compared on chip energy.
    pub chip: Option<Vec<ChipEnergy>>,
}

/// Every candidate, in request order (configs outer, dataflows inner). Serialises to the
/// document `ember compare --format json` prints.
#[derive(Debug, Clone)]
pub struct CompareReport {
    pub candidates: Vec<Candidate>,
    /// The energy the candidates are compared on.
    pub energy: EnergyScope,
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
    let opts = CompareOptions {
        batch: req.batch,
        objective: req.objective,
        mode: req.mode,
        energy: req.energy,
        masks: req.masks.clone(),
    };
    let mut report = compare_loaded(&loaded.network, hws, &req.dataflows, &opts)?;
    report.warnings = loaded.warnings;
    Ok(report)
}

/// Run `net` on every (named) config x dataflow as `opts` says; `dataflows` empty: each
/// config's own.
pub fn compare_loaded(
    net: &Network,
    hws: Vec<(String, Hardware)>,
    dataflows: &[Dataflow],
    opts: &CompareOptions,
) -> Result<CompareReport> {
    if opts.batch == 0 {
        return Err(ExploreError::ZeroBatch);
    }
    match opts.energy {
        EnergyScope::Total => same_units(&hws)?,
        EnergyScope::Chip => {
            for (name, hw) in &hws {
                check_chip_model(name, hw)?;
            }
        }
    }
    // Loaded once, after the configs' cheap checks: every candidate reads the same zeros.
    let mut net = net.clone();
    let masks = apply_masks(&mut net, opts.masks.as_deref(), opts.batch)?;
    let mut candidates = Vec::new();
    for (_, hw) in hws {
        let dfs = if dataflows.is_empty() {
            vec![hw.arch.dataflow]
        } else {
            dataflows.to_vec()
        };
        for df in dfs {
            candidates.push(candidate(&net, &hw, df, &masks, opts)?);
        }
    }
    if candidates.len() < 2 {
        return Err(ExploreError::TooFewCandidates);
    }
    Ok(CompareReport {
        candidates,
        energy: opts.energy,
        warnings: Vec::new(),
    })
}

/// One config x dataflow, run and priced as `opts` says. `net` carries the masks' densities
/// already; `masks` (per layer, or empty) time the columns in cycle mode, so chip energy's
/// static terms run over the masked time.
fn candidate(
    net: &Network,
    hw: &Hardware,
    df: Dataflow,
    masks: &[Option<Masks>],
    opts: &CompareOptions,
) -> Result<Candidate> {
    let result = hw.run_with(net, opts.batch, df, opts.objective)?;
    let cycle_stats = match opts.mode {
        Mode::Analytic => None,
        Mode::Cycle => Some(hw.simulate_cycles_masked(&result, masks, None)),
    };
    let mut c = Candidate {
        hw: hw.clone(),
        label: format!("{} {}", hw.arch.name, df.code()),
        result,
        cycle_stats,
        chip: None,
    };
    if opts.energy == EnergyScope::Chip {
        let layers = c.result.layers.iter().enumerate();
        let chip = layers.map(|(i, l)| chip_energy(hw, l, i == 0, c.layer_cycles(i)));
        c.chip = Some(chip.collect());
    }
    Ok(c)
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
                let result = match &c.cycle_stats {
                    Some(stats) => cycle_json(&c.result, &c.hw, stats),
                    None => network_json(&c.result, &c.hw),
                };
                let mut v = json!({
                    "hardware": c.hw.arch.name,
                    "dataflow": c.result.dataflow.code(),
                    "result": result,
                });
                if let Some(chip) = c.chip_json() {
                    v["chip_energy_pj"] = chip;
                }
                v
            })
            .collect();
        json!({ "candidates": list })
    }

    /// The unit of the compared energies: `[energy]`'s, or picojoules for chip energy.
    pub fn units(&self) -> Units {
        match self.energy {
            EnergyScope::Total => self.candidates[0].hw.energy.units,
            EnergyScope::Chip => Units::Picojoules,
        }
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
    /// Rows per layer, then the total, with energy by level in the columns `cols`. Energy is
    /// the chip's when compared on chip energy; cycles are the cycle engine's in cycle mode.
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
            .enumerate()
            .map(|(i, l)| {
                let cycles = self.layer_cycles(i);
                CompareRow {
                    name: l.layer.name.clone(),
                    energy: self
                        .chip
                        .as_ref()
                        .map_or(l.energy.total, |c| c[i].total_pj()),
                    by_level: levels(&l.energy),
                    cycles,
                    util: match self.cycle_stats {
                        None => l.eval.utilization(&self.hw.arch),
                        Some(_) => utilization(l.eval.macs, cycles, &self.hw),
                    },
                }
            })
            .collect();
        let cycles = (0..self.result.layers.len())
            .map(|i| self.layer_cycles(i))
            .sum();
        out.push(CompareRow {
            name: "total".into(),
            energy: self
                .chip_total()
                .map_or(self.result.total.total, |c| c.total_pj()),
            by_level: levels(&self.result.total),
            cycles,
            util: utilization(self.result.macs(), cycles, &self.hw),
        });
        out
    }

    /// Layer `i`'s cycles: the cycle engine's (all stalls included) in cycle mode, else the
    /// closed form's.
    pub fn layer_cycles(&self, i: usize) -> u64 {
        match &self.cycle_stats {
            Some(s) => s[i].total_cycles,
            None => self.result.layers[i].eval.cycles,
        }
    }

    /// The chip energy summed over the layers, when compared on it.
    pub fn chip_total(&self) -> Option<ChipEnergy> {
        self.chip.as_ref().map(|c| {
            c.iter().fold(ChipEnergy::default(), |mut t, l| {
                t.add(l);
                t
            })
        })
    }

    /// Row `i`'s chip energy in `rows` order (a layer, or the total after the last one), when
    /// compared on chip energy.
    pub fn chip_row(&self, i: usize) -> Option<ChipEnergy> {
        let layers = self.chip.as_ref()?;
        match layers.get(i) {
            Some(l) => Some(*l),
            None => self.chip_total(),
        }
    }

    /// `{"layers": [{"name", terms...}], "total": {terms...}}`, when compared on chip energy.
    fn chip_json(&self) -> Option<Value> {
        let chip = self.chip.as_ref()?;
        let layers: Vec<Value> = chip
            .iter()
            .zip(&self.result.layers)
            .map(|(c, l)| {
                let mut v = serde_json::to_value(c).unwrap_or(Value::Null);
                v["name"] = json!(l.layer.name);
                v["total_pj"] = json!(c.total_pj());
                v
            })
            .collect();
        let total = self.chip_total()?;
        let mut t = serde_json::to_value(total).unwrap_or(Value::Null);
        t["total_pj"] = json!(total.total_pj());
        Some(json!({ "layers": layers, "total": t }))
    }
}
