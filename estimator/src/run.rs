//! The pipeline for a whole network: map each layer for an `Objective`, then estimate it.

use serde::Serialize;

use ember_sim::cycle::{latency_lower_bound, total_cycles_lower_bound, total_cycles_within};
use ember_sim::dataflow::{search_lower_bounded, Bounded};
use ember_sim::{map_layer, Dataflow, Evaluation, Layer, Network, SimError};

use crate::energy::{estimate, Context, EnergyObjective, LayerEnergy};
use crate::hardware::Hardware;

/// What the mapper minimises.
///
/// The default is `Edp`, the mapping a chip designer would run: minimum energy alone leaves the
/// array waiting (on AlexNet/eyeriss-v1 it strips CONV1 to 11x14 with t = 1, 34.8 ms in cycle
/// mode against the chip's 16.5 ms), while energy x latency picks the structure the chip
/// used (JSSC 2017: CONV1 11x7 with t = 2, CONV2 one folded set, CONV4-5 r = t = 2) and is what
/// `validate` compares with the chip, so `sim --mode cycle` and `validate` agree by
/// construction. Loops that re-price a network thousands of times (pruning, sweeps) ask for
/// `Energy` explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// Energy (the estimator's, with the config's sparsity rules): fast, exact pruned search.
    Energy,
    /// Energy x total latency in cycle mode: candidates are executed (those of least lower bound
    /// on their EDP first, then any other whose bound can still win), so a mapping that starves
    /// on a bus or waits on DRAM pays for it. Every dataflow; slower than `Energy`.
    #[default]
    Edp,
}

impl std::str::FromStr for Objective {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "energy" => Ok(Objective::Energy),
            "edp" => Ok(Objective::Edp),
            o => Err(format!(
                "unknown objective `{o}`; expected `energy` or `edp`"
            )),
        }
    }
}

/// One layer's result.
#[derive(Debug, Clone, Serialize)]
pub struct LayerResult {
    pub layer: Layer,
    pub eval: Evaluation,
    pub energy: LayerEnergy,
}

/// A network's result: per layer, and summed.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkResult {
    pub network: String,
    pub hardware: String,
    pub batch: usize,
    pub dataflow: Dataflow,
    pub layers: Vec<LayerResult>,
    pub total: LayerEnergy,
}

impl NetworkResult {
    pub fn macs(&self) -> u64 {
        self.layers.iter().map(|l| l.eval.macs).sum()
    }
    pub fn cycles(&self) -> u64 {
        self.layers.iter().map(|l| l.eval.cycles).sum()
    }
}

impl Hardware {
    pub fn context(&self, first_layer: bool) -> Context<'_> {
        Context {
            table: &self.energy,
            rules: &self.sparsity,
            word_bits: self.arch.core.word_bits,
            first_layer,
            seconds_per_cycle: 1e-6 / self.arch.core.clock_mhz,
            roles: self.arch.roles(),
            psum_bits: self.arch.core.psum_bits(),
        }
    }

    /// Map one layer at minimum energy (what pruning re-prices with) and estimate it.
    pub fn run_layer(
        &self,
        layer: &Layer,
        batch: usize,
        dataflow: Dataflow,
        first_layer: bool,
    ) -> Result<LayerResult, SimError> {
        self.run_layer_with(layer, batch, dataflow, first_layer, Objective::Energy)
    }

    /// Map one layer for `objective` and estimate it.
    pub fn run_layer_with(
        &self,
        layer: &Layer,
        batch: usize,
        dataflow: Dataflow,
        first_layer: bool,
        objective: Objective,
    ) -> Result<LayerResult, SimError> {
        if self.arch.pe.simd > 1 && dataflow != Dataflow::RowStationary {
            // Only the row-stationary PE's SIMD lanes are modelled; never ignore them silently.
            let key = format!("{}.simd", self.arch.levels.rf().key);
            return Err(self.invalid(
                &key,
                format!(
                    "`simd` = {} MAC lanes per PE is modelled for the row-stationary dataflow only, and this run asks for {}",
                    self.arch.pe.simd,
                    dataflow.code()
                ),
                "run with --dataflow rs, or set simd = 1 to compare other dataflows".into(),
            ));
        }
        let cx = self.context(first_layer);
        let energy_of = EnergyObjective::new(layer, &cx);
        let cost = |ev: &Evaluation| energy_of.energy(ev);
        // The minimum-energy mapping is the result for `Energy`; for `Edp` it costs a millisecond
        // and is what reports, with file and key, a layer that fits no mapping at all.
        let mut eval =
            map_layer(layer, &self.arch, batch, dataflow, &cost).map_err(|e| self.locate(e))?;
        if objective == Objective::Edp {
            // Energy x total cycles of cycle mode is not monotone in the counts alone, so the
            // whole space is searched; executing a candidate is what costs, and its time has a
            // lower bound from its counts and buffers (`latency_lower_bound`), so the space is
            // streamed and a candidate runs only while its bound on EDP can still win, and
            // stops as soon as the time it has taken shows it cannot (`total_cycles_within`).
            let params = self.layer_cycle_params(layer, first_layer);
            // `[mapper] min_active_pes`: a mapping below the floor never wins (map_layer
            // above has already refused a layer that no mapping can keep that busy); its cost
            // is infinite, so it exceeds any finite limit.
            let least = self.arch.mapper.least_active_pes(self.arch.pes());
            let edp = |ev: &Evaluation, limit: f64| {
                if ev.active_pes < least {
                    return (!limit.is_finite()).then_some(f64::INFINITY);
                }
                let energy = energy_of.energy(ev);
                let over = |cycles: u64| cycles as f64 * energy > limit;
                let params = self.cycle_params_for(params, layer, first_layer, &ev.mapping);
                let cycles = total_cycles_within(layer, &self.arch, batch, ev, &params, &over)?;
                Some(cycles as f64 * energy)
            };
            let lower = |ev: &Evaluation| {
                if ev.active_pes < least {
                    return f64::INFINITY;
                }
                latency_lower_bound(layer, &self.arch, batch, ev, &params).floor()
                    * energy_of.energy(ev)
            };
            // The counts-only part of `lower`: monotone in the counts, so it bounds whole parts
            // of the space from their cheapest conceivable counts.
            let floor = |ev: &Evaluation| {
                total_cycles_lower_bound(layer, &self.arch, ev, &params).floor()
                    * energy_of.energy(ev)
            };
            let bounded = Bounded {
                lower: &lower,
                floor: &floor,
                cost: &edp,
            };
            if let Some(ev) = search_lower_bounded(dataflow, layer, &self.arch, batch, &bounded) {
                eval = ev;
            }
        }
        let energy = estimate(layer, &eval, &cx);
        Ok(LayerResult {
            layer: layer.clone(),
            eval,
            energy,
        })
    }

    /// Map (at minimum energy) and estimate every layer of `net`.
    pub fn run(
        &self,
        net: &Network,
        batch: usize,
        dataflow: Dataflow,
    ) -> Result<NetworkResult, SimError> {
        self.run_with(net, batch, dataflow, Objective::Energy)
    }

    /// Map every layer of `net` for `objective`, and estimate it.
    pub fn run_with(
        &self,
        net: &Network,
        batch: usize,
        dataflow: Dataflow,
        objective: Objective,
    ) -> Result<NetworkResult, SimError> {
        net.check_size(batch)?;
        let mut layers = Vec::with_capacity(net.layers.len());
        let mut total = LayerEnergy::default();
        for (i, layer) in net.layers.iter().enumerate() {
            let r = self.run_layer_with(layer, batch, dataflow, i == 0, objective)?;
            total.add(&r.energy);
            layers.push(r);
        }
        Ok(NetworkResult {
            network: net.name.clone(),
            hardware: self.arch.name.clone(),
            batch,
            dataflow,
            layers,
            total,
        })
    }

    /// Point a mapping failure at this config: at the line of the key at fault when one is,
    /// else at the file.
    fn locate(&self, err: SimError) -> SimError {
        match err {
            SimError::NoMapping {
                layer,
                reason,
                fix,
                key: Some(key),
                ..
            } => self.invalid(&key, format!("layer `{layer}`: {reason}"), fix),
            SimError::NoMapping {
                layer,
                dataflow,
                reason,
                fix,
                key: None,
            } => self.invalid_whole(
                format!("layer `{layer}`: no {dataflow} mapping fits this hardware: {reason}"),
                fix,
            ),
            other => other,
        }
    }
}
