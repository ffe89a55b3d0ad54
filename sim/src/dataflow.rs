//! Dataflows: how a layer's loops are laid onto the PE array (Chen, Emer, Sze, ISCA 2016 §V-VI).

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Dataflow {
    /// Row-stationary (Eyeriss): filter rows stay in the PE, ifmap rows slide diagonally,
    /// psums accumulate vertically.
    #[serde(rename = "rs")]
    RowStationary,
    /// Weight-stationary: weights stay in the RF, ifmaps are multicast along rows, psums
    /// accumulate down the columns and go back to the GLB (`dataflows::ws`).
    #[serde(rename = "ws")]
    WeightStationary,
    /// Output-stationary: each PE accumulates its ofmap pixels in its RF; ifmaps and weights
    /// stream from the GLB (`dataflows::os`).
    #[serde(rename = "os")]
    OutputStationary,
    /// No local reuse: no RF; weights from the GLB at every MAC, psums through the array to the
    /// GLB (`dataflows::nlr`).
    #[serde(rename = "nlr")]
    NoLocalReuse,
}

impl Dataflow {
    pub const ALL: [Dataflow; 4] = [
        Dataflow::RowStationary,
        Dataflow::WeightStationary,
        Dataflow::OutputStationary,
        Dataflow::NoLocalReuse,
    ];
    pub fn code(&self) -> &'static str {
        match self {
            Dataflow::RowStationary => "rs",
            Dataflow::WeightStationary => "ws",
            Dataflow::OutputStationary => "os",
            Dataflow::NoLocalReuse => "nlr",
        }
    }
}

impl fmt::Display for Dataflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dataflow::RowStationary => "row-stationary",
            Dataflow::WeightStationary => "weight-stationary",
            Dataflow::OutputStationary => "output-stationary",
            Dataflow::NoLocalReuse => "no-local-reuse",
        })
    }
}

impl std::str::FromStr for Dataflow {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "rs" | "row-stationary" => Ok(Dataflow::RowStationary),
            "ws" | "weight-stationary" => Ok(Dataflow::WeightStationary),
            "os" | "output-stationary" => Ok(Dataflow::OutputStationary),
            "nlr" | "no-local-reuse" => Ok(Dataflow::NoLocalReuse),
            other => Err(format!(
                "unknown dataflow `{other}`; expected `rs`, `ws`, `os` or `nlr`"
            )),
        }
    }
}
