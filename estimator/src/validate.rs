//! Comparing the simulator with chip measurements (`traces/measurements/*.toml`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use ember_sim::error::{line_of, line_of_key, toml_error, Location, SimError};
use ember_sim::files::{read_text, wrong_kind, FileKind};
use ember_sim::{Dataflow, Network};

use ember_sim::cycle::{simulate, Replay};

use crate::hardware::Hardware;
use crate::power::PowerBreakdown;
use crate::run::Objective;

/// A measurement file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Measurements {
    pub name: String,
    pub source: String,
    /// Name of the network the layers belong to (checked against the trace).
    pub network: String,
    pub batch: usize,
    /// The chip's average power over the measured layers (mW), when the source gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_power_mw: Option<f64>,
    #[serde(rename = "layer")]
    pub layers: Vec<MeasuredLayer>,
    /// The file it was read from, for errors (empty when built in code).
    #[serde(skip)]
    pub path: std::path::PathBuf,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MeasuredLayer {
    pub name: String,
    pub power_mw: Option<f64>,
    pub total_latency_ms: Option<f64>,
    pub processing_latency_ms: Option<f64>,
    pub active_pes: Option<f64>,
    pub glb_mb: Option<f64>,
    pub dram_mb: Option<f64>,
    /// Energy efficiency, GOPS/W: 2 x the layer's nominal MACs (zeros included) over the chip's
    /// energy for the layer, DRAM excluded, clock, control and leakage included (the Eyeriss
    /// v2 paper's definition, JETCAS 2019 §V, footnote 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gops_per_w: Option<f64>,
}

impl MeasuredLayer {
    /// Every metric of the layer, measured or not, in report order.
    fn values(&self) -> [(&'static str, Option<f64>); 7] {
        [
            ("active_pes", self.active_pes),
            ("processing_latency_ms", self.processing_latency_ms),
            ("total_latency_ms", self.total_latency_ms),
            ("dram_mb", self.dram_mb),
            ("glb_mb", self.glb_mb),
            ("power_mw", self.power_mw),
            ("gops_per_w", self.gops_per_w),
        ]
    }
}

/// The metrics, in report order.
pub const METRICS: [&str; 7] = [
    "active_pes",
    "processing_latency_ms",
    "total_latency_ms",
    "dram_mb",
    "glb_mb",
    "power_mw",
    "gops_per_w",
];

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Compared {
    pub measured: f64,
    pub simulated: f64,
    pub error_pct: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LayerValidation {
    pub name: String,
    pub metrics: BTreeMap<String, Compared>,
    /// The simulated power by term, when the config has a `[power]` model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power: Option<PowerBreakdown>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Validation {
    pub layers: Vec<LayerValidation>,
    /// Per metric: mean and largest absolute error (%), and the measured and simulated sums.
    pub summary: BTreeMap<String, Summary>,
    /// Energy over time across the layers, by term, against the measured average (when the
    /// config has a `[power]` model).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average_power: Option<AveragePower>,
}

/// The simulated average power of the measured layers (total energy over total time).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct AveragePower {
    /// The measurement file's `average_power_mw` (absent when it has none: no nulls in JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured_mw: Option<f64>,
    pub simulated: PowerBreakdown,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_pct: Option<f64>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Summary {
    pub mean_abs_error_pct: f64,
    pub max_abs_error_pct: f64,
    pub measured_sum: f64,
    pub simulated_sum: f64,
    pub sum_error_pct: f64,
}

impl Measurements {
    pub fn load(path: &Path) -> Result<Measurements, SimError> {
        let text = read_text(path, FileKind::Measurements)?;
        Measurements::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Measurements, SimError> {
        let mut m: Measurements = toml::from_str(text).map_err(|e| {
            wrong_kind(path, text, FileKind::Measurements)
                .unwrap_or_else(|| toml_error(path, text, e))
        })?;
        m.path = path.to_path_buf();
        if m.batch == 0 || m.layers.is_empty() {
            return Err(SimError::Invalid {
                at: Location {
                    file: path.to_path_buf(),
                    line: Some(line_of(text, 0)),
                    key: Some("batch".into()),
                },
                rule: "a measurement file needs a batch of at least 1 and one [[layer]]".into(),
                fix: "give `batch` and the measured layers".into(),
            });
        }
        m.check_values(text)?;
        Ok(m)
    }

    /// Every measured value is a positive number: errors are relative to it.
    fn check_values(&self, text: &str) -> Result<(), SimError> {
        if let Some(v) = self
            .average_power_mw
            .filter(|v| !(*v > 0.0 && v.is_finite()))
        {
            return Err(SimError::Invalid {
                at: Location {
                    file: self.path.clone(),
                    line: Some(line_of_key(text, 0, "average_power_mw")),
                    key: Some("average_power_mw".into()),
                },
                rule: format!(
                    "`average_power_mw` = {v} must be a positive number: errors are relative to it"
                ),
                fix: "give the measured average power, or leave the key out".into(),
            });
        }
        for (i, l) in self.layers.iter().enumerate() {
            for (key, v) in l.values() {
                if v.is_some_and(|v| !(v > 0.0 && v.is_finite())) {
                    let from = text.find(&format!("name = \"{}\"", l.name)).unwrap_or(0);
                    return Err(SimError::Invalid {
                        at: Location {
                            file: self.path.clone(),
                            line: Some(line_of_key(text, from, key)),
                            key: Some(format!("layer[{i}].{key}")),
                        },
                        rule: format!(
                            "`{key}` = {} must be a positive number: errors are relative to it",
                            v.unwrap_or(0.0)
                        ),
                        fix: "give the measured value, or leave the key out".into(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// Map `net` on `hw` for `objective`, run it in cycle mode and compare with `meas`.
pub fn validate(
    hw: &Hardware,
    net: &Network,
    meas: &Measurements,
    objective: Objective,
) -> Result<Validation, SimError> {
    let mut layers = Vec::new();
    for m in &meas.layers {
        let Some(i) = net.layers.iter().position(|l| l.name == m.name) else {
            return Err(SimError::Invalid {
                at: Location {
                    file: meas.path.clone(),
                    line: None,
                    key: Some(format!("layer `{}`", m.name)),
                },
                rule: format!("no layer `{}` in network `{}`", m.name, net.name),
                fix: "use the trace's layer names".into(),
            });
        };
        let (sim, power) = simulated(hw, net, i, meas.batch, objective)?;
        layers.push(LayerValidation {
            name: m.name.clone(),
            metrics: compared(m, &sim),
            power,
        });
    }
    let summary = summarise(&layers);
    let powers: Vec<PowerBreakdown> = layers.iter().filter_map(|l| l.power).collect();
    let average_power = crate::power::average(&powers).map(|simulated| AveragePower {
        measured_mw: meas.average_power_mw,
        simulated,
        error_pct: meas
            .average_power_mw
            .map(|m| 100.0 * (simulated.total_mw - m) / m),
    });
    Ok(Validation {
        layers,
        summary,
        average_power,
    })
}

/// Layer `i` of `net` mapped for `objective` and run in cycle mode: the simulated value of
/// every metric a measurement file can hold (power only when `hw` has an energy table), and
/// the power by term when it has a `[power]` model.
fn simulated(
    hw: &Hardware,
    net: &Network,
    i: usize,
    batch: usize,
    objective: Objective,
) -> Result<(BTreeMap<&'static str, f64>, Option<PowerBreakdown>), SimError> {
    let ms = |c: u64| c as f64 / hw.arch.core.clock_mhz / 1e3;
    let bytes = hw.arch.word_bytes();
    // Only the measured layers are mapped (the edp objective times every candidate).
    let l = &net.layers[i];
    let r = hw.run_layer_with(l, batch, Dataflow::RowStationary, i == 0, objective)?;
    let params = hw.mapped_cycle_params(l, i == 0, &r.eval.mapping);
    let c = simulate(
        l,
        &hw.arch,
        batch,
        &r.eval.mapping,
        &params,
        Replay::Memo,
        None,
    );
    let roles = hw.arch.roles();
    let level_words = |i: u8| r.energy.accesses.words(i as usize);
    let mut sim: BTreeMap<&str, f64> = BTreeMap::new();
    sim.insert("active_pes", r.eval.active_pes as f64);
    sim.insert("processing_latency_ms", ms(c.processing_cycles));
    sim.insert("total_latency_ms", ms(c.total_cycles));
    sim.insert("dram_mb", level_words(roles.dram) * bytes / 1e6);
    sim.insert("glb_mb", level_words(roles.glb) * bytes / 1e6);
    // Chip power: everything but DRAM, over the whole layer time. (`static_mw` is 0 beside a
    // [power] model, checked when the config loads.)
    let power = hw.layer_power(&r, i == 0, c.total_cycles);
    let mw = match &power {
        Some(p) => Some(p.total_mw),
        None => hw
            .chip_access_pj(&r, i == 0)
            .map(|pj| pj / ms(c.total_cycles) * 1e-6),
    };
    if let Some(mw) = mw {
        sim.insert("power_mw", mw);
        // Operations per joule of chip energy (mW x ms = uJ), in G/W.
        let chip_uj = mw * ms(c.total_cycles);
        sim.insert("gops_per_w", 2.0 * r.eval.macs as f64 / chip_uj * 1e-3);
    }
    Ok((sim, power))
}

/// Every metric both measured for `m` and simulated, with the simulation's error.
fn compared(m: &MeasuredLayer, sim: &BTreeMap<&str, f64>) -> BTreeMap<String, Compared> {
    let mut metrics = BTreeMap::new();
    for (k, v) in m.values() {
        if let (Some(mv), Some(&sv)) = (v, sim.get(k)) {
            metrics.insert(
                k.to_string(),
                Compared {
                    measured: mv,
                    simulated: sv,
                    error_pct: 100.0 * (sv - mv) / mv,
                },
            );
        }
    }
    metrics
}

/// Per metric over the layers that have it: the mean and largest absolute error, and the
/// error of the summed values.
fn summarise(layers: &[LayerValidation]) -> BTreeMap<String, Summary> {
    let mut summary = BTreeMap::new();
    for k in METRICS {
        let vals: Vec<&Compared> = layers.iter().filter_map(|l| l.metrics.get(k)).collect();
        if vals.is_empty() {
            continue;
        }
        let abs: Vec<f64> = vals.iter().map(|c| c.error_pct.abs()).collect();
        let (ms_, ss) = (
            vals.iter().map(|c| c.measured).sum::<f64>(),
            vals.iter().map(|c| c.simulated).sum::<f64>(),
        );
        summary.insert(
            k.to_string(),
            Summary {
                mean_abs_error_pct: abs.iter().sum::<f64>() / abs.len() as f64,
                max_abs_error_pct: abs.iter().cloned().fold(0.0, f64::max),
                measured_sum: ms_,
                simulated_sum: ss,
                sum_error_pct: 100.0 * (ss - ms_) / ms_,
            },
        );
    }
    summary
}

impl Validation {
    /// The power model's terms per layer and on average, as text lines under the validate
    /// table (empty without a `[power]` model).
    pub fn power_lines(&self) -> String {
        let Some(avg) = &self.average_power else {
            return String::new();
        };
        let mut out = String::from(
            "\npower by term (mW; [power] of the config): access + clock + control + leakage = total\n",
        );
        let row = |name: &str, p: &PowerBreakdown| {
            format!(
                "  {name:<8} {:>6.1} + {:>6.1} + {:>6.1} + {:>5.2} = {:>6.1}",
                p.access_mw, p.clock_mw, p.control_mw, p.leakage_mw, p.total_mw
            )
        };
        for l in &self.layers {
            if let Some(p) = &l.power {
                out += &row(&l.name, p);
                if let Some(c) = l.metrics.get("power_mw") {
                    out += &format!("  (chip {:.1}, {:+.1}%)", c.measured, c.error_pct);
                }
                out += "\n";
            }
        }
        let p = &avg.simulated;
        out += &row("average", p);
        if let (Some(m), Some(e)) = (avg.measured_mw, avg.error_pct) {
            out += &format!("  (chip {m:.1}, {e:+.1}%)");
        }
        out += "\n";
        let share = |v: f64| 100.0 * v / p.total_mw;
        out += &format!(
            "  share of the average: access {:.1}%, clock {:.1}%, control {:.1}%, leakage {:.3}% (average = energy / time over the layers)\n",
            share(p.access_mw),
            share(p.clock_mw),
            share(p.control_mw),
            share(p.leakage_mw)
        );
        out
    }
}
