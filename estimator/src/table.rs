//! Energy per access of each memory level and per MAC, with the source of every number.

use serde::{Deserialize, Serialize};

use ember_sim::Level;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Units {
    /// Relative to one 16-bit MAC (ISCA 2016).
    #[serde(rename = "normalized")]
    Normalized,
    #[serde(rename = "pJ")]
    Picojoules,
}

impl Units {
    pub fn label(&self) -> &'static str {
        match self {
            Units::Normalized => "normalized (1 = one 16-bit MAC)",
            Units::Picojoules => "pJ",
        }
    }
    pub fn key(&self) -> &'static str {
        match self {
            Units::Normalized => "normalized",
            Units::Picojoules => "pJ",
        }
    }
}

/// How energy scales when the word width differs from the table's reference width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scaling {
    None,
    Linear,
    Quadratic,
}

impl Scaling {
    fn factor(&self, ratio: f64) -> f64 {
        match self {
            Scaling::None => 1.0,
            Scaling::Linear => ratio,
            Scaling::Quadratic => ratio * ratio,
        }
    }
}

/// The `[energy]` table of a hardware config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnergyTable {
    pub units: Units,
    pub mac: f64,
    pub rf: f64,
    pub array: f64,
    pub glb: f64,
    pub dram: f64,
    /// Word width the numbers were measured or derived at.
    #[serde(default = "sixteen")]
    pub reference_bits: usize,
    #[serde(default = "quadratic")]
    pub mac_scaling: Scaling,
    #[serde(default = "linear")]
    pub memory_scaling: Scaling,
    /// Where the numbers come from.
    pub source: String,
    /// Static (leakage and clock) power of the chip, in mW, for absolute tables; it adds
    /// power x time to a layer's energy.
    #[serde(default)]
    pub static_mw: f64,
}

fn sixteen() -> usize {
    16
}
fn quadratic() -> Scaling {
    Scaling::Quadratic
}
fn linear() -> Scaling {
    Scaling::Linear
}

impl EnergyTable {
    /// The ISCA 2016 normalised table (65 nm, 16-bit, relative to one MAC).
    pub fn isca16() -> EnergyTable {
        EnergyTable {
            units: Units::Normalized,
            mac: 1.0,
            rf: 1.0,
            array: 2.0,
            glb: 6.0,
            dram: 200.0,
            reference_bits: 16,
            mac_scaling: Scaling::Quadratic,
            memory_scaling: Scaling::Linear,
            source: "Chen, Emer, Sze, ISCA 2016, normalised energy cost per access (65 nm, relative to one 16-bit MAC)".into(),
            static_mw: 0.0,
        }
    }

    /// Energy per access at `level` for words of `bits`.
    pub fn access(&self, level: Level, bits: usize) -> f64 {
        let base = match level {
            Level::Dram => self.dram,
            Level::Glb => self.glb,
            Level::Array => self.array,
            Level::Rf => self.rf,
        };
        base * self
            .memory_scaling
            .factor(bits as f64 / self.reference_bits as f64)
    }

    /// Energy per MAC for operands of `bits`.
    pub fn mac(&self, bits: usize) -> f64 {
        self.mac
            * self
                .mac_scaling
                .factor(bits as f64 / self.reference_bits as f64)
    }

    /// Why the `[energy]` table is unusable, as (key, rule, fix).
    pub fn check(&self) -> Result<(), (String, String, String)> {
        self.check_as("energy")
    }

    /// Why the table of config section `section` is unusable, as (key, rule, fix).
    pub fn check_as(&self, section: &str) -> Result<(), (String, String, String)> {
        for (field, v) in [
            ("mac", self.mac),
            ("rf", self.rf),
            ("array", self.array),
            ("glb", self.glb),
            ("dram", self.dram),
            ("static_mw", self.static_mw),
        ] {
            // Finite and below 1e30 per access, so sums over any layer stay finite.
            if !(0.0..=1e30).contains(&v) {
                let key = format!("{section}.{field}");
                return Err((
                    key.clone(),
                    format!("`{key}` = {v} must be a finite, non-negative energy (at most 1e30)"),
                    "give the energy per access".into(),
                ));
            }
        }
        let prices = [
            self.mac,
            self.rf,
            self.array,
            self.glb,
            self.dram,
            self.static_mw,
        ];
        if prices.iter().all(|&v| v == 0.0) {
            return Err((
                format!("{section}.mac"),
                format!("every price of [{section}] is 0: every energy would be 0, and no share or ratio of energies exists"),
                "give the energy of a MAC and of an access to each level".into(),
            ));
        }
        if !(1..=64).contains(&self.reference_bits) {
            return Err((
                format!("{section}.reference_bits"),
                format!(
                    "reference_bits = {} must be from 1 to 64",
                    self.reference_bits
                ),
                "give the word width of the table, e.g. 16".into(),
            ));
        }
        Ok(())
    }
}
