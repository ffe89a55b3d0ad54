//! No-local-reuse (NLR, ISCA 2016 §V-C; DianNao-style): PEs have no RF at all. The array is the
//! channel x filter array of `ws` (rows: channels, columns: filters, psums accumulated down a
//! column and sent to the GLB after every filter position), but no weight is kept: each MAC's
//! weight is read from the GLB and sent to its PE. All the config's storage is GLB
//! (`dataflows::storage`). Loop nest, counts and walk: `ws` with `Variant::Nlr`.
//!
//! Mapping fields: `n`, `e`, `r` = channels per pass, `t` = filters per pass, `m` = filters
//! whose psums the GLB holds, `ifmap_resident`; `p` = `q` = 1.

use crate::arch::HwConfig;
use crate::counts::AccessCounts;
use crate::dataflows::ws::{self, Variant};
use crate::mapping::Mapping;
use crate::workload::Layer;
use crate::Evaluation;

pub fn check(l: &Layer, hw: &HwConfig, batch: usize, mp: &Mapping) -> Result<(), String> {
    ws::check(Variant::Nlr, l, hw, batch, mp)
}

/// Closed-form counts of an NLR mapping.
pub fn evaluate(
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    mp: &Mapping,
) -> Result<Evaluation, String> {
    ws::evaluate(Variant::Nlr, l, hw, batch, mp)
}

/// The NLR loop nest walked pass by pass.
pub fn walk(l: &Layer, hw: &HwConfig, batch: usize, mp: &Mapping) -> (AccessCounts, u64) {
    ws::walk(Variant::Nlr, l, hw, batch, mp)
}

/// The cheapest NLR mapping by `cost`.
pub fn search(
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    cost: &dyn Fn(&Evaluation) -> f64,
) -> Option<Evaluation> {
    ws::search(Variant::Nlr, l, hw, batch, cost)
}
