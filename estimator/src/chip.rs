//! A layer's chip energy and power: what a chip's measured or post-layout power counts. Its
//! on-chip accesses and MACs priced by the config's absolute `[energy_pj]` table (DRAM left out:
//! chip papers report DRAM traffic apart), plus the `[power]` model's clock, control and
//! leakage over the layer's time (`power`). One composition for `validate` (power, GOPS/W) and
//! `compare --energy chip`.

use crate::energy::estimate;
use crate::hardware::Hardware;
use crate::power::PowerBreakdown;
use crate::run::LayerResult;

impl Hardware {
    /// The on-chip access energy of `r` (MACs included, DRAM excluded) at `[energy_pj]`'s
    /// prices, pJ; None without that table. `first_layer`: `r` is the network's first layer
    /// (its input is not run-length coded).
    pub fn chip_access_pj(&self, r: &LayerResult, first_layer: bool) -> Option<f64> {
        let table = self.energy_pj.as_ref()?;
        let mut cx = self.context(first_layer);
        cx.table = table;
        let e = estimate(&r.layer, &r.eval, &cx);
        Some(e.total - e.level(self.arch.roles().dram as usize))
    }

    /// The power of `r` by term over `cycles` core cycles, idle PEs' clock gated; None without
    /// `[energy_pj]` and `[power]`.
    pub fn layer_power(
        &self,
        r: &LayerResult,
        first_layer: bool,
        cycles: u64,
    ) -> Option<PowerBreakdown> {
        let model = self.power.as_ref()?;
        let access_pj = self.chip_access_pj(r, first_layer)?;
        let active = r.eval.active_pes as f64 / self.arch.pes() as f64;
        Some(model.power(access_pj, cycles, self.arch.core.clock_mhz, active))
    }
}
