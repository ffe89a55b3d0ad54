//! `sweep`: a grid of hardware configs x dataflows x batches x energy tables, each point a typed
//! row; the Pareto front over (energy, latency, storage) computed from the rows.
//!
//! The space file (TOML, strict; its owner is `space`):
//!
//! ```toml
//! base = "../hw_configs/eyeriss-isca16-256.toml"  # relative to the space file
//! [grid]                      # every list is optional; absent = the base config's value
//! dataflow = ["rs", "ws", "os", "nlr"]
//! rows = [8, 12, 16]
//! cols = [8, 14, 16]
//! filter_spad_words = [112, 224]
//! ifmap_spad_words = [12]
//! psum_spad_words = [16, 24]   # a base with three spads; with a unified RF (`rf_words`):
//! # rf_words = [128, 256]     # instead (a point has one kind of PE storage, the base's)
//! glb_words = [32768, 65536]
//! batch = [1, 4]              # default [4]
//! energy = ["base", "../hw_configs/eyeriss-v1.toml"]  # the [energy] table of these configs
//! ```
//!
//! The base may have any level list (`[[level]]` tables, or the four Eyeriss sections). The
//! grid's sizes name the parts every hierarchy has, one each: `rows` and `cols` the array,
//! the three `*_spad_words` or `rf_words` the `pe` level, `glb_words` the global buffer (the `buffer` level,
//! `glb` in every shipped config). A `staging` level (an L2) keeps the base's spec: it models no
//! reuse, so its capacity changes no count and is no grid parameter (a key naming it, e.g.
//! `l2_words`, is an unknown key). Every `grid.energy` table must price every level of the
//! base. The results file has one energy column per level of the base, by name (the four
//! Eyeriss levels give the columns results files always had).
//!
//! Grid index: mixed radix over the lists in the order energy, dataflow, batch, rows, cols,
//! filter_spad_words, ifmap_spad_words, psum_spad_words, rf_words, glb_words (last fastest;
//! the kind of PE storage the base lacks is one value, 0, in the results file). Rows are
//! written sorted by index, so the file's bytes never depend on the thread count, on sharding
//! and merging, or on how often the run was interrupted and resumed. The file format is
//! `results`. Scheduling (threads, progress, checkpoints) is the caller's: `Sweep` hands out
//! points and evaluates one at a time, from any thread.

pub mod results;
mod space;

use std::collections::HashSet;
use std::path::Path;

use ember_sim::Network;

use crate::error::Result;
use crate::workload::Workload;

pub use results::{pareto, Metrics, Origin, SweepRow};
pub use space::{Point, Space};

/// A loaded sweep: the space, the network and the shard this run covers.
pub struct Sweep {
    pub space: Space,
    pub network: Network,
    /// The grid fingerprint and the shard: what a results file must match to be resumed.
    pub origin: Origin,
    /// The ONNX importer's notes, each naming the model.
    pub warnings: Vec<String>,
}

/// Every row of a run and its Pareto flags (one per row, in index order).
#[derive(Debug, Clone)]
pub struct SweepReport {
    pub rows: Vec<SweepRow>,
    pub pareto: Vec<bool>,
    pub origin: Origin,
}

impl Sweep {
    /// Load the space file and the workload, for shard `shard` of `shards` (0 of 1: the whole
    /// grid). A grid batch at which the network's counts could overflow is refused here.
    pub fn load(space: &Path, workload: &Workload, shard: usize, shards: usize) -> Result<Sweep> {
        let grid = Space::load(space)?;
        let loaded = workload.load(None)?;
        grid.check_batches(space, &loaded.network)?;
        let origin = Origin {
            grid: grid.fingerprint(&loaded.network),
            points: grid.points(),
            shard,
            shards,
            levels: grid
                .base
                .arch
                .levels
                .names()
                .into_iter()
                .map(String::from)
                .collect(),
        };
        Ok(Sweep {
            space: grid,
            network: loaded.network,
            origin,
            warnings: loaded.warnings,
        })
    }

    /// The points of this shard that `done` (rows already evaluated) lacks, in index order.
    pub fn pending(&self, done: &[SweepRow]) -> Vec<Point> {
        let have: HashSet<usize> = done.iter().map(|r| r.index).collect();
        self.origin
            .indices()
            .filter(|i| !have.contains(i))
            .map(|i| self.space.point(i))
            .collect()
    }

    /// Evaluate one point (safe to call from many threads at once).
    pub fn evaluate(&self, p: &Point) -> SweepRow {
        self.space.evaluate(&self.network, p)
    }

    /// Evaluate every point of the shard on this thread, with the Pareto front.
    pub fn run(&self) -> SweepReport {
        let rows: Vec<SweepRow> = self.pending(&[]).iter().map(|p| self.evaluate(p)).collect();
        SweepReport {
            pareto: pareto(&rows),
            rows,
            origin: self.origin.clone(),
        }
    }
}
