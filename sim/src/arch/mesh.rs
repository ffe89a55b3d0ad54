//! The network level's topology: a bus (every Eyeriss v1 config: the GIN/GON, one width per
//! data type, no hops), or Eyeriss v2's hierarchical mesh (HM-NoC, Chen et al., JETCAS 2019
//! §III-B): the PEs grouped into clusters on a 2-D grid, each cluster with its own routers per
//! data type, linked to its neighbours along the directions that data type may travel.
//!
//! This module owns the keys and their checks; `rs::noc` places a mapping's PE sets on the
//! clusters and counts hops and routers.

use serde::{Deserialize, Serialize};

use super::NocSpec;
use crate::counts::DataType;

/// `topology` of the network level; absent means `bus` (and is not serialised, so a bus
/// config's fingerprint is what it was).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topology {
    #[default]
    Bus,
    HierarchicalMesh,
}

impl Topology {
    pub fn is_bus(&self) -> bool {
        *self == Topology::Bus
    }
}

/// A rows x cols grid (of clusters, or of PEs in a cluster).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    pub rows: usize,
    pub cols: usize,
}

/// The mesh links a data type may use between clusters (v2: weights only horizontally, "the
/// vertical connections … can be removed"; psums only vertically, "only allowed to be
/// accumulated across PEs in the vertical direction", JETCAS 2019 p. 299).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Links {
    Both,
    Horizontal,
    Vertical,
}

impl Links {
    pub fn vertical(self) -> bool {
        self != Links::Horizontal
    }
    pub fn horizontal(self) -> bool {
        self != Links::Vertical
    }
}

/// One data type's network in each cluster: its routers (each a source port into the cluster,
/// v2: 3 for ifmaps and weights, 4 for psums), their port width and the links it may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeNet {
    pub routers: usize,
    pub port_bits: usize,
    pub mesh: Links,
}

/// A checked hierarchical mesh (`NocSpec::mesh`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mesh {
    pub clusters: Grid,
    pub cluster_pes: Grid,
    /// Indexed by `DataType`.
    pub nets: [TypeNet; 3],
}

impl Mesh {
    pub fn net(&self, d: DataType) -> TypeNet {
        self.nets[d as usize]
    }
    /// The most bits per cycle data type `d` can get: every router of every cluster
    /// delivering its own word (`rs::noc::delivery_bits` with k = 1).
    pub fn widest_bits(&self, d: DataType) -> u64 {
        let net = self.net(d);
        (self.clusters.rows * self.clusters.cols * net.routers * net.port_bits) as u64
    }
    pub fn clusters(&self) -> usize {
        self.clusters.rows * self.clusters.cols
    }
}

/// (key, rule, fix), as `arch::check`.
type KeyError = (String, String, String);

impl NocSpec {
    /// The mesh the network level's keys describe, checked against the array: none on a bus
    /// (where the mesh keys must be absent), else every key present, positive, and the array
    /// exactly the clusters' PEs. `at` is the level's key (`noc`, `level[2]`).
    pub fn resolve_mesh(&self, at: &str, array: Grid) -> Result<Option<Mesh>, KeyError> {
        let topology = self.topology;
        let key = |f: &str| format!("{at}.{f}");
        let names = ["clusters", "cluster_pes", "weights", "ifmaps", "psums"];
        let given = [
            self.clusters.is_some(),
            self.cluster_pes.is_some(),
            self.weights.is_some(),
            self.ifmaps.is_some(),
            self.psums.is_some(),
        ];
        if topology.is_bus() {
            return match given.iter().position(|&g| g) {
                None => Ok(None),
                Some(i) => Err((
                    key(names[i]),
                    format!("`{}` describes a hierarchical mesh, but the network is a bus (no `topology`, or \"bus\")", key(names[i])),
                    "set topology = \"hierarchical_mesh\", or remove the mesh keys".into(),
                )),
            };
        }
        if let Some(i) = given.iter().position(|&g| !g) {
            return Err((
                key(names[i]),
                format!("topology = \"hierarchical_mesh\" needs `{}`", key(names[i])),
                "give clusters = { rows, cols }, cluster_pes = { rows, cols } and, for each of \
                 weights, ifmaps and psums, { routers, port_bits, mesh }"
                    .into(),
            ));
        }
        let (Some(clusters), Some(cluster_pes), Some(w), Some(i), Some(p)) = (
            self.clusters,
            self.cluster_pes,
            self.weights,
            self.ifmaps,
            self.psums,
        ) else {
            unreachable!("every key was found present above")
        };
        let mesh = Mesh {
            clusters,
            cluster_pes,
            nets: [w, i, p],
        };
        check_sizes(&mesh, at)?;
        let (rows, cols) = (
            clusters.rows * cluster_pes.rows,
            clusters.cols * cluster_pes.cols,
        );
        if (rows, cols) != (array.rows, array.cols) {
            return Err((
                key("clusters"),
                format!(
                    "{} x {} clusters of {} x {} PEs make a {rows} x {cols} array, but [array] is {} x {}",
                    clusters.rows, clusters.cols, cluster_pes.rows, cluster_pes.cols, array.rows, array.cols
                ),
                "make array.rows = clusters.rows x cluster_pes.rows and array.cols = clusters.cols x cluster_pes.cols".into(),
            ));
        }
        Ok(Some(mesh))
    }
}

/// Every size at least 1 and at most 2^16 (as the bus widths, `arch::limits`).
fn check_sizes(m: &Mesh, at: &str) -> Result<(), KeyError> {
    const MAX: usize = 1 << 16;
    let mut sizes = vec![
        ("clusters.rows".to_string(), m.clusters.rows),
        ("clusters.cols".to_string(), m.clusters.cols),
        ("cluster_pes.rows".to_string(), m.cluster_pes.rows),
        ("cluster_pes.cols".to_string(), m.cluster_pes.cols),
    ];
    for d in DataType::ALL {
        let n = m.net(d);
        sizes.push((format!("{}.routers", d.key()), n.routers));
        sizes.push((format!("{}.port_bits", d.key()), n.port_bits));
    }
    for (f, v) in sizes {
        if v == 0 || v > MAX {
            let k = format!("{at}.{f}");
            return Err((
                k.clone(),
                format!("`{k}` = {v} must be from 1 to {MAX}"),
                "give a positive count".into(),
            ));
        }
    }
    Ok(())
}
