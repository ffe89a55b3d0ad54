//! `ember-sim`: an Eyeriss-class spatial accelerator model.
//!
//! Owns the workload (`Layer`, `Network`), the architecture (`HwConfig`), dataflows and their
//! mappings, and the access counts and cycles a mapping produces. It never prices an access:
//! the mapper minimises a cost closure handed in by the caller (the estimator's energy, usually).

pub mod arch;
pub mod counts;
pub mod csc;
pub mod cycle;
pub mod dataflow;
pub mod dataflows;
pub mod error;
pub mod files;
pub mod masks;
pub mod passes;
pub mod rs;
mod select;
pub mod sparse_pe;
pub mod tiles;
pub mod workload;

pub use arch::{Capacity, HwConfig, Level, LevelKind, Levels, StageSpec};
pub use counts::{
    AccessCounts, DataType, NestCounts, NocCounts, PerDataType, ReadWrite, Roles, Stage,
    MAX_LEVELS, MAX_STAGES,
};
pub use dataflow::{Dataflow, DataflowModel, Mapping};
pub use error::{Location, SimError};
pub use workload::{Layer, LayerKind, Network, Pool};

use serde::Serialize;

/// What one mapping of one layer costs in accesses and time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub mapping: Mapping,
    pub counts: AccessCounts,
    /// Dense MACs: the layer's arithmetic.
    pub macs: u64,
    /// Processing cycles: Σ over passes of the busiest PE's MACs.
    pub cycles: u64,
    /// PEs busy in a full pass. 0 only in a search's lower-bound probe (counts no candidate
    /// beats, under the incumbent's mapping): a cost that depends on the mapping itself, not only
    /// on the counts, must price a probe at its cheapest (`Evaluation::is_probe`).
    pub active_pes: usize,
}

impl Evaluation {
    /// Is this a search's lower-bound probe rather than a mapping's evaluation?
    pub fn is_probe(&self) -> bool {
        self.active_pes == 0
    }

    /// MACs / (cycles x all PEs x their `simd` lanes): the share of the array's peak MAC rate.
    pub fn utilization(&self, hw: &HwConfig) -> f64 {
        self.macs as f64 / (self.cycles as f64 * hw.peak_macs_per_cycle() as f64)
    }
}

/// Find the cheapest mapping of `layer` on `hw` for `batch` images under `dataflow`.
pub fn map_layer(
    layer: &Layer,
    hw: &HwConfig,
    batch: usize,
    dataflow: Dataflow,
    cost: &dyn Fn(&Evaluation) -> f64,
) -> Result<Evaluation, SimError> {
    let no_mapping = |reason: String, fix: String, key: Option<String>| SimError::NoMapping {
        layer: layer.name.clone(),
        dataflow: dataflow.to_string(),
        reason,
        fix,
        key,
    };
    if batch == 0 {
        return Err(no_mapping(
            "batch is 0".into(),
            "use a batch of at least 1".into(),
            None,
        ));
    }
    layer.check_size(batch)?;
    let model = dataflow.model();
    let least = hw.mapper.least_active_pes(hw.pes());
    if least == 0 {
        return model.search(layer, hw, batch, cost).ok_or_else(|| {
            let (reason, fix) = model.no_mapping();
            no_mapping(reason, fix, None)
        });
    }
    // A floor on busy PEs is not monotone in the counts, so the pruned search cannot apply it:
    // the whole space is streamed, a mapping below the floor costing infinity (exact, since
    // the bound is the cost itself).
    let kept = |ev: &Evaluation| {
        if ev.active_pes >= least {
            cost(ev)
        } else {
            f64::INFINITY
        }
    };
    // The bound for whole parts of the space is the cost itself (monotone in the counts and
    // the cycles, and never above `kept`); a candidate's cost is `kept`.
    let bounded = dataflow::Bounded {
        lower: &kept,
        floor: cost,
        cost: &|ev: &Evaluation, _limit: f64| Some(kept(ev)),
    };
    match dataflow::search_lower_bounded(dataflow, layer, hw, batch, &bounded) {
        Some(ev) if ev.active_pes >= least => Ok(ev),
        Some(_) => Err(no_mapping(
            format!(
                "no mapping keeps {least} of the {} PEs busy (min_active_pes = {})",
                hw.pes(),
                hw.mapper.min_active_pes
            ),
            "lower --min-active-pes (or [mapper] min_active_pes)".into(),
            // Not located in the config: the floor may come from the command line.
            None,
        )),
        None => {
            let (reason, fix) = model.no_mapping();
            Err(no_mapping(reason, fix, None))
        }
    }
}

/// Evaluate a given mapping (replay), checking every capacity.
pub fn evaluate_mapping(
    layer: &Layer,
    hw: &HwConfig,
    batch: usize,
    mapping: &Mapping,
) -> Result<Evaluation, SimError> {
    layer.check_size(batch)?;
    mapping
        .model()
        .evaluate(layer, hw, batch, mapping)
        .map_err(|reason| SimError::NoMapping {
            layer: layer.name.clone(),
            dataflow: mapping.dataflow().to_string(),
            reason,
            fix: "choose mapping parameters within the capacities".into(),
            key: None,
        })
}
