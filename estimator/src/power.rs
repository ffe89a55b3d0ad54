//! Chip power that is not access energy: the clock network, control, and leakage
//! (a config's `[power]` section; issue 13, "Fidelity II", deliverable 3).
//!
//! Over a layer that takes `t` seconds (`cycles` core cycles at `f`):
//!
//! ```text
//! E_access  = MAC + on-chip access energy (the [energy_pj] table; DRAM excluded)
//! E_clock   = (C_clock − C_pe · idle PEs / PEs) · V² · cycles
//!                                                         (the clock tree and its clocked loads;
//!                                                          PEs no set covers are clock gated)
//! E_control = c / (1 − c) · (E_access + E_clock)          (control is a fraction c of on-chip
//!                                                          dynamic energy, as in CNNergy)
//! P_leak    = I_off · (gates · W_gate + sram_bits · W_bit) · V
//! P         = (E_access + E_clock + E_control) / t + P_leak
//! ```
//!
//! Every parameter is a `{ value, source }` pair in the config: no number enters the model
//! without the publication it comes from, and none is fitted to a chip's measured power.
//! The spec is parsed with serde at the edge; the model itself is a plain struct.

use serde::{Deserialize, Serialize};

/// A number and where it comes from: `{ value = <number>, source = "<publication>" }`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(try_from = "RawCited")]
pub struct Cited {
    pub value: f64,
    pub source: String,
}

/// `Cited` as a file may write it: a bare number is read only to be refused by name.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawCited {
    Cited { value: f64, source: String },
    Bare(f64),
    Other(toml::Value),
}

impl TryFrom<RawCited> for Cited {
    type Error = String;
    fn try_from(raw: RawCited) -> Result<Cited, String> {
        match raw {
            RawCited::Cited { value, source } => Ok(Cited { value, source }),
            RawCited::Bare(v) => Err(format!(
                "a [power] parameter is `{{ value = {v}, source = \"<publication, table or page>\" }}`, not a bare number: every power parameter says where it comes from"
            )),
            RawCited::Other(v) => Err(format!(
                "a [power] parameter is `{{ value = <number>, source = \"<publication>\" }}`, not {v}"
            )),
        }
    }
}

/// `[power]` as written in a hardware config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerSpec {
    /// Supply voltage (V).
    pub vdd_v: Cited,
    /// Capacitance the clock switches every cycle (pF): the tree and its clocked loads.
    pub clock_pf: Cited,
    /// The part of `clock_pf` in the PEs' clocked loads (pF, all PEs), which the chip clock-gates
    /// in the PEs a layer leaves idle; absent: every PE is clocked every cycle.
    #[serde(default)]
    pub pe_clock_pf: Option<Cited>,
    /// Share of on-chip dynamic energy spent in control (0 ≤ c < 1).
    pub control_fraction: Cited,
    /// Off-state leakage current per µm of transistor width (A/µm).
    pub leakage_a_per_um: Cited,
    /// Logic gates (2-input NAND equivalents).
    pub logic_gates: Cited,
    /// Leaking transistor width per gate (µm).
    pub gate_leak_um: Cited,
    /// On-chip SRAM bits.
    pub sram_bits: Cited,
    /// Leaking transistor width per SRAM bit (µm).
    pub sram_bit_leak_um: Cited,
}

/// The checked power model of a config.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerModel {
    pub vdd_v: f64,
    pub clock_pf: f64,
    /// 0 when the config gives no `pe_clock_pf` (no clock gating of idle PEs).
    pub pe_clock_pf: f64,
    pub control_fraction: f64,
    pub leakage_a_per_um: f64,
    pub logic_gates: f64,
    pub gate_leak_um: f64,
    pub sram_bits: f64,
    pub sram_bit_leak_um: f64,
    /// (key, source) of every parameter, in the order above.
    pub sources: Vec<(&'static str, String)>,
}

/// A `[power]` error: (key, rule, fix).
pub type PowerError = (String, String, String);

impl PowerSpec {
    fn entries(&self) -> Vec<(&'static str, &Cited)> {
        let mut all = vec![
            ("vdd_v", &self.vdd_v),
            ("clock_pf", &self.clock_pf),
            ("control_fraction", &self.control_fraction),
            ("leakage_a_per_um", &self.leakage_a_per_um),
            ("logic_gates", &self.logic_gates),
            ("gate_leak_um", &self.gate_leak_um),
            ("sram_bits", &self.sram_bits),
            ("sram_bit_leak_um", &self.sram_bit_leak_um),
        ];
        if let Some(c) = &self.pe_clock_pf {
            all.push(("pe_clock_pf", c));
        }
        all
    }

    /// The model, or why a value is unusable (keys are `power.<name>.value` / `.source`).
    pub fn check(&self) -> Result<PowerModel, PowerError> {
        for (name, c) in self.entries() {
            if c.source.trim().is_empty() {
                return Err((
                    format!("power.{name}"),
                    format!("`power.{name}` has no source: every power parameter says where it comes from"),
                    "give `source = \"<publication, table or page>\"` beside the value".into(),
                ));
            }
            if !(c.value.is_finite() && (0.0..=1e30).contains(&c.value)) {
                return Err((
                    format!("power.{name}"),
                    format!(
                        "`power.{name}` = {} must be a finite, non-negative number (at most 1e30)",
                        c.value
                    ),
                    "give the published value in the unit the key names".into(),
                ));
            }
        }
        if self.vdd_v.value <= 0.0 {
            return Err((
                "power.vdd_v".into(),
                format!(
                    "`power.vdd_v` = {} V: a chip needs a positive supply",
                    self.vdd_v.value
                ),
                "give the supply voltage the chip was measured at, e.g. 1.0".into(),
            ));
        }
        if self.control_fraction.value >= 1.0 {
            return Err((
                "power.control_fraction".into(),
                format!(
                    "`power.control_fraction` = {} must be below 1: it is the share of on-chip dynamic energy spent in control, and control energy is c / (1 - c) times the rest",
                    self.control_fraction.value
                ),
                "give the share as a fraction, e.g. 0.15 for 15 %".into(),
            ));
        }
        let pe_clock_pf = self.pe_clock_pf.as_ref().map_or(0.0, |c| c.value);
        if pe_clock_pf > self.clock_pf.value {
            return Err((
                "power.pe_clock_pf".into(),
                format!(
                    "`power.pe_clock_pf` = {pe_clock_pf} pF exceeds `power.clock_pf` = {} pF: it is the PEs' part of the clocked capacitance",
                    self.clock_pf.value
                ),
                "give the PEs' clocked loads only, at most clock_pf".into(),
            ));
        }
        Ok(PowerModel {
            vdd_v: self.vdd_v.value,
            clock_pf: self.clock_pf.value,
            pe_clock_pf,
            control_fraction: self.control_fraction.value,
            leakage_a_per_um: self.leakage_a_per_um.value,
            logic_gates: self.logic_gates.value,
            gate_leak_um: self.gate_leak_um.value,
            sram_bits: self.sram_bits.value,
            sram_bit_leak_um: self.sram_bit_leak_um.value,
            sources: self
                .entries()
                .into_iter()
                .map(|(k, c)| (k, c.source.clone()))
                .collect(),
        })
    }
}

/// The power of one layer, by term (mW), over `time_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PowerBreakdown {
    pub access_mw: f64,
    pub clock_mw: f64,
    pub control_mw: f64,
    pub leakage_mw: f64,
    pub total_mw: f64,
    pub time_ms: f64,
}

impl PowerModel {
    /// Clock energy per cycle (pJ) with a share `active` (0..=1) of the PEs clocked: C·V²
    /// (pF × V² = pJ), the idle PEs' loads gated.
    pub fn clock_pj_per_cycle(&self, active: f64) -> f64 {
        let gated = self.pe_clock_pf * (1.0 - active.clamp(0.0, 1.0));
        (self.clock_pf - gated) * self.vdd_v * self.vdd_v
    }

    /// Leakage power (mW): I_off · (gates · W_gate + bits · W_bit) · V.
    pub fn leakage_mw(&self) -> f64 {
        let width_um =
            self.logic_gates * self.gate_leak_um + self.sram_bits * self.sram_bit_leak_um;
        self.leakage_a_per_um * width_um * self.vdd_v * 1e3
    }

    /// The power of a layer whose on-chip access energy (MACs included, DRAM excluded) is
    /// `access_pj`, which takes `cycles` cycles of a `clock_mhz` clock and keeps a share
    /// `active` of the PEs busy (the rest clock gated).
    pub fn power(
        &self,
        access_pj: f64,
        cycles: u64,
        clock_mhz: f64,
        active: f64,
    ) -> PowerBreakdown {
        let seconds = cycles as f64 / (clock_mhz * 1e6);
        // pJ over s: 1 pJ / 1 s = 1e-12 W = 1e-9 mW.
        let mw = |pj: f64| {
            if seconds > 0.0 {
                pj * 1e-9 / seconds
            } else {
                0.0
            }
        };
        let clock_pj = self.clock_pj_per_cycle(active) * cycles as f64;
        let c = self.control_fraction;
        let control_pj = c / (1.0 - c) * (access_pj + clock_pj);
        let (access_mw, clock_mw, control_mw) = (mw(access_pj), mw(clock_pj), mw(control_pj));
        let leakage_mw = self.leakage_mw();
        PowerBreakdown {
            access_mw,
            clock_mw,
            control_mw,
            leakage_mw,
            total_mw: access_mw + clock_mw + control_mw + leakage_mw,
            time_ms: seconds * 1e3,
        }
    }
}

/// Time-weighted mean of layer powers: total energy over total time (how a chip's average
/// power over a network is measured).
pub fn average(layers: &[PowerBreakdown]) -> Option<PowerBreakdown> {
    let t: f64 = layers.iter().map(|p| p.time_ms).sum();
    if layers.is_empty() || t <= 0.0 {
        return None;
    }
    let mean =
        |f: fn(&PowerBreakdown) -> f64| layers.iter().map(|p| f(p) * p.time_ms).sum::<f64>() / t;
    Some(PowerBreakdown {
        access_mw: mean(|p| p.access_mw),
        clock_mw: mean(|p| p.clock_mw),
        control_mw: mean(|p| p.control_mw),
        leakage_mw: mean(|p| p.leakage_mw),
        total_mw: mean(|p| p.total_mw),
        time_ms: t,
    })
}
