//! Dataflows: how a layer's loops are laid onto the PE array (Chen, Emer, Sze, ISCA 2016 §V-VI).

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Dataflow {
    /// Row-stationary (Eyeriss): filter rows stay in the PE, ifmap rows slide diagonally,
    /// psums accumulate vertically.
    #[serde(rename = "rs")]
    RowStationary,
}

impl Dataflow {
    pub fn code(&self) -> &'static str {
        match self {
            Dataflow::RowStationary => "rs",
        }
    }
}

impl fmt::Display for Dataflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dataflow::RowStationary => "row-stationary",
        })
    }
}

impl std::str::FromStr for Dataflow {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "rs" | "row-stationary" => Ok(Dataflow::RowStationary),
            other => Err(format!("unknown dataflow `{other}`; expected `rs`")),
        }
    }
}
