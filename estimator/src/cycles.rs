//! Cycle mode for a whole network: the chosen mappings executed by `sim::cycle`, with the DRAM
//! compression and zero skipping that the sparsity rules and the hardware imply.

use ember_sim::cycle::{simulate, CycleParams, CycleStats, PassRecord, Replay};
use ember_sim::{DataType, Level};

use crate::energy::Factors;
use crate::hardware::Hardware;
use crate::run::NetworkResult;

/// Sees every executed pass, with its layer's name.
pub type PassObserver<'a> = &'a mut dyn FnMut(&str, &PassRecord);

impl Hardware {
    /// What `sim::cycle` needs to know about zeros for layer `i` of `res`.
    pub fn cycle_params(&self, res: &NetworkResult, i: usize) -> CycleParams {
        self.layer_cycle_params(&res.layers[i].layer, i == 0)
    }

    /// What `sim::cycle` needs to know about zeros for `l`.
    pub fn layer_cycle_params(&self, l: &ember_sim::Layer, first_layer: bool) -> CycleParams {
        let f = Factors::new(l, &self.context(first_layer));
        let dram = Level::Dram as usize;
        CycleParams {
            dram_scale: [
                f.cell[dram][DataType::Weights as usize].0,
                f.cell[dram][DataType::Ifmaps as usize].0,
                f.cell[dram][DataType::Psums as usize].1,
            ],
            mac_cycle_fraction: if self.arch.pe.skip_zero_cycles {
                f.mac
            } else {
                1.0
            },
        }
    }

    /// Execute every layer's mapping cycle by cycle; `trace` sees every pass (with its layer).
    pub fn simulate_cycles(
        &self,
        res: &NetworkResult,
        mut trace: Option<PassObserver<'_>>,
    ) -> Vec<CycleStats> {
        res.layers
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let params = self.cycle_params(res, i);
                let mut per_pass = |p: &PassRecord| {
                    if let Some(t) = trace.as_deref_mut() {
                        t(&r.layer.name, p);
                    }
                };
                simulate(
                    &r.layer,
                    &self.arch,
                    res.batch,
                    &r.eval.mapping,
                    &params,
                    Replay::Memo,
                    Some(&mut per_pass),
                )
            })
            .collect()
    }
}
