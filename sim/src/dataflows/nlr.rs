//! No-local-reuse (NLR, ISCA 2016 §V-C; DianNao-style): PEs have no RF at all. The array is the
//! channel x filter array of `ws` (rows: channels, columns: filters, psums accumulated down a
//! column and sent to the GLB after every filter position), but no weight is kept: each MAC's
//! weight is read from the GLB and sent to its PE. All the config's storage is GLB
//! (`dataflows::all_glb`). Loop nest, counts, walk and search: `ws` with the `NLR` array kind.

use std::ops::ControlFlow;

use serde::ser::SerializeStruct;
use serde::Serialize;

use crate::arch::HwConfig;
use crate::counts::AccessCounts;
use crate::cycle::{Buffers, CyclePass};
use crate::dataflow::{params, Cost, Dataflow, DataflowModel, Mapping};
use crate::dataflows::ws::{self, ArrayKind, WsMapping};
use crate::dataflows::{all_glb, Storage};
use crate::workload::Layer;
use crate::Evaluation;

/// A no-local-reuse mapping: `ws::WsMapping` without filters per PE (a PE holds no weight).
/// Field order is the tie-break order (`select::better`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NlrMapping {
    /// Images per pass.
    pub n: usize,
    /// Input channels per pass: array rows used.
    pub channels: usize,
    /// Filters per pass: array columns used.
    pub columns: usize,
    /// Ofmap rows per strip.
    pub e: usize,
    /// Filters whose psums the GLB holds while the channel loop runs (a multiple of columns).
    pub block: usize,
    /// The GLB holds the strip's ifmaps of every channel.
    pub ifmap_resident: bool,
}

impl crate::dataflow::Params for NlrMapping {
    fn images(&self) -> usize {
        self.n
    }
    fn ifmap_resident(&self) -> bool {
        self.ifmap_resident
    }
}

/// The JSON keys Ember has always written (see `WsMapping`'s): `p` = `q` = 1.
impl Serialize for NlrMapping {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("NlrMapping", 8)?;
        st.serialize_field("n", &self.n)?;
        st.serialize_field("p", &1)?;
        st.serialize_field("q", &1)?;
        st.serialize_field("r", &self.channels)?;
        st.serialize_field("t", &self.columns)?;
        st.serialize_field("e", &self.e)?;
        st.serialize_field("m", &self.block)?;
        st.serialize_field("ifmap_resident", &self.ifmap_resident)?;
        st.end()
    }
}

impl NlrMapping {
    /// The channel x filter array's mapping with one filter per column.
    fn array(&self) -> WsMapping {
        WsMapping {
            n: self.n,
            filters_per_pe: 1,
            channels: self.channels,
            columns: self.columns,
            e: self.e,
            block: self.block,
            ifmap_resident: self.ifmap_resident,
        }
    }
}

/// `ws`'s searches make k = 1 mappings only for an array without RF.
fn from_array(m: WsMapping) -> Mapping {
    debug_assert_eq!(m.filters_per_pe, 1);
    Mapping::NoLocalReuse(NlrMapping {
        n: m.n,
        channels: m.channels,
        columns: m.columns,
        e: m.e,
        block: m.block,
        ifmap_resident: m.ifmap_resident,
    })
}

const NLR: ArrayKind = ArrayKind {
    dataflow: Dataflow::NoLocalReuse,
    rf: false,
    wrap: from_array,
    storage: all_glb,
};

/// No-local-reuse behind the dataflow trait.
pub struct NoLocalReuse;

fn own(mp: &Mapping) -> Result<WsMapping, String> {
    params::<NlrMapping>(mp, Dataflow::NoLocalReuse).map(NlrMapping::array)
}

impl DataflowModel for NoLocalReuse {
    fn check(&self, l: &Layer, hw: &HwConfig, batch: usize, mp: &Mapping) -> Result<(), String> {
        ws::check(&NLR, l, hw, batch, &own(mp)?)
    }
    fn evaluate(
        &self,
        l: &Layer,
        hw: &HwConfig,
        batch: usize,
        mp: &Mapping,
    ) -> Result<Evaluation, String> {
        ws::evaluate(&NLR, l, hw, batch, &own(mp)?)
    }
    fn walk(
        &self,
        l: &Layer,
        hw: &HwConfig,
        batch: usize,
        mp: &Mapping,
    ) -> Result<(AccessCounts, u64), String> {
        Ok(ws::walk(&NLR, l, hw, batch, &own(mp)?))
    }
    fn search(&self, l: &Layer, hw: &HwConfig, batch: usize, cost: Cost) -> Option<Evaluation> {
        ws::search(&NLR, l, hw, batch, cost)
    }
    fn search_reference(
        &self,
        l: &Layer,
        hw: &HwConfig,
        batch: usize,
        cost: Cost,
    ) -> Option<Evaluation> {
        ws::reference(&NLR, l, hw, batch, cost)
    }
    fn passes(
        &self,
        l: &Layer,
        _hw: &HwConfig,
        batch: usize,
        mp: &Mapping,
        f: &mut dyn FnMut(&CyclePass) -> ControlFlow<()>,
    ) -> Result<(), String> {
        ws::passes(&NLR, l, batch, &own(mp)?, f);
        Ok(())
    }
    fn buffers(
        &self,
        l: &Layer,
        hw: &HwConfig,
        batch: usize,
        mp: &Mapping,
    ) -> Result<Buffers, String> {
        Ok(ws::buffers(&NLR, l, hw, batch, &own(mp)?))
    }
    /// Every MAC's weight comes with its step.
    fn weights_before_macs(&self) -> bool {
        false
    }
    fn storage(&self, hw: &HwConfig) -> Storage {
        all_glb(hw)
    }
    fn no_mapping(&self) -> (String, String) {
        ws::no_mapping(&NLR)
    }
}
