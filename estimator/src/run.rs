//! The pipeline for a whole network: map each layer at minimum energy, then estimate it.

use serde::Serialize;

use ember_sim::{map_layer, Dataflow, Evaluation, Layer, Network, SimError};

use crate::energy::{estimate, Context, EnergyObjective, LayerEnergy};
use crate::hardware::Hardware;

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
        }
    }

    /// Map one layer at minimum energy (the mapper's default objective) and estimate it.
    pub fn run_layer(
        &self,
        layer: &Layer,
        batch: usize,
        dataflow: Dataflow,
        first_layer: bool,
    ) -> Result<LayerResult, SimError> {
        let cx = self.context(first_layer);
        let objective = EnergyObjective::new(layer, &cx);
        let cost = |ev: &Evaluation| objective.energy(ev);
        let eval =
            map_layer(layer, &self.arch, batch, dataflow, &cost).map_err(|e| self.locate(e))?;
        let energy = estimate(layer, &eval, &cx);
        Ok(LayerResult {
            layer: layer.clone(),
            eval,
            energy,
        })
    }

    /// Map and estimate every layer of `net`.
    pub fn run(
        &self,
        net: &Network,
        batch: usize,
        dataflow: Dataflow,
    ) -> Result<NetworkResult, SimError> {
        let mut layers = Vec::with_capacity(net.layers.len());
        let mut total = LayerEnergy::default();
        for (i, layer) in net.layers.iter().enumerate() {
            let r = self.run_layer(layer, batch, dataflow, i == 0)?;
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

    /// Point a mapping failure caused by one config key at that key's line in this file.
    fn locate(&self, err: SimError) -> SimError {
        match err {
            SimError::NoMapping {
                layer,
                reason,
                fix,
                key: Some(key),
                ..
            } => self.invalid(&key, format!("layer `{layer}`: {reason}"), fix),
            other => other,
        }
    }
}
