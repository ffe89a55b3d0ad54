//! A layer's chip energy: what a chip's measured or post-layout power counts. On-chip accesses
//! and MACs priced by the config's absolute `[energy_pj]` table (DRAM left out: the Eyeriss v2
//! paper reports DRAM traffic apart, in MB), plus the `[power]` model's clock, control and
//! leakage over the layer's time. It is the energy behind an energy-efficiency figure (GOPS/W,
//! inferences per joule), where `[energy]`'s total prices accesses only, DRAM included.

use serde::Serialize;

use ember_estimator::{Hardware, LayerResult};

use crate::error::{ExploreError, Result};

/// A layer's chip energy by term, pJ.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ChipEnergy {
    /// On-chip accesses and MACs at `[energy_pj]`'s prices.
    pub access_pj: f64,
    pub clock_pj: f64,
    pub control_pj: f64,
    pub leakage_pj: f64,
}

impl ChipEnergy {
    pub fn total_pj(&self) -> f64 {
        self.access_pj + self.clock_pj + self.control_pj + self.leakage_pj
    }

    /// Accumulate another layer's (network totals).
    pub fn add(&mut self, o: &ChipEnergy) {
        self.access_pj += o.access_pj;
        self.clock_pj += o.clock_pj;
        self.control_pj += o.control_pj;
        self.leakage_pj += o.leakage_pj;
    }
}

/// Why `hw` (named `name` in errors) cannot give chip energy, if it cannot.
pub fn check_chip_model(name: &str, hw: &Hardware) -> Result<()> {
    let missing = match (&hw.energy_pj, &hw.power) {
        (None, _) => "[energy_pj]",
        (Some(_), None) => "[power]",
        (Some(_), Some(_)) => return Ok(()),
    };
    Err(ExploreError::NoChipModel {
        name: name.to_string(),
        missing,
    })
}

/// The chip energy of layer `r` (the network's first layer if `first_layer`), which takes
/// `cycles` cycles: `Hardware::layer_power`'s terms over the layer's time. `hw` must pass
/// `check_chip_model`.
pub fn chip_energy(hw: &Hardware, r: &LayerResult, first_layer: bool, cycles: u64) -> ChipEnergy {
    let Some(p) = hw.layer_power(r, first_layer, cycles) else {
        return ChipEnergy::default();
    };
    // mW x ms = uJ = 1e6 pJ.
    let pj = |mw: f64| mw * p.time_ms * 1e6;
    ChipEnergy {
        access_pj: pj(p.access_mw),
        clock_pj: pj(p.clock_mw),
        control_pj: pj(p.control_mw),
        leakage_pj: pj(p.leakage_mw),
    }
}
