//! Row-stationary behind the dataflow trait: the functions of `rs`, `passes` and `cycle` on the
//! parameters of `RsMapping`.

use std::ops::ControlFlow;

use crate::arch::HwConfig;
use crate::counts::{AccessCounts, NestCounts};
use crate::cycle::{Buffers, CyclePass, Work};
use crate::dataflow::{params, Cost, Dataflow, DataflowModel, Mapping, MappingOf};
use crate::dataflows::Storage;
use crate::passes::{for_each_pass, pass_counts};
use crate::rs::{glb_need, RsMapping};
use crate::workload::Layer;
use crate::Evaluation;

/// The row-stationary dataflow (Eyeriss).
pub struct RowStationary;

fn own(mp: &Mapping) -> Result<&RsMapping, String> {
    params(mp, Dataflow::RowStationary)
}

impl DataflowModel for RowStationary {
    fn check(&self, l: &Layer, hw: &HwConfig, batch: usize, mp: &Mapping) -> Result<(), String> {
        super::check(l, hw, batch, own(mp)?)
    }

    fn evaluate(
        &self,
        l: &Layer,
        hw: &HwConfig,
        batch: usize,
        mp: &Mapping,
    ) -> Result<Evaluation, String> {
        super::evaluate(l, hw, batch, own(mp)?)
    }

    fn walk(
        &self,
        l: &Layer,
        hw: &HwConfig,
        batch: usize,
        mp: &Mapping,
    ) -> Result<(AccessCounts, u64), String> {
        Ok(crate::passes::walk(l, hw, batch, own(mp)?))
    }

    fn search(&self, l: &Layer, hw: &HwConfig, batch: usize, cost: Cost) -> Option<Evaluation> {
        super::search(l, hw, batch, cost)
    }

    fn search_reference(
        &self,
        l: &Layer,
        hw: &HwConfig,
        batch: usize,
        cost: Cost,
    ) -> Option<Evaluation> {
        super::search_reference(l, hw, batch, cost)
    }

    fn stream(
        &self,
        l: &Layer,
        hw: &HwConfig,
        batch: usize,
        floor: Cost,
        visit: &mut dyn FnMut(&Evaluation) -> f64,
    ) {
        super::search::stream(l, hw, batch, floor, visit)
    }

    /// The hops and routers `stream` leaves out on a mesh (`search::stream`).
    fn complete(&self, l: &Layer, hw: &HwConfig, batch: usize, ev: &mut Evaluation) -> bool {
        match RsMapping::of(&ev.mapping) {
            Some(&mp) => super::complete_noc(l, hw, batch, &mp, ev),
            None => false,
        }
    }

    fn passes(
        &self,
        l: &Layer,
        hw: &HwConfig,
        batch: usize,
        mp: &Mapping,
        f: &mut dyn FnMut(&CyclePass) -> ControlFlow<()>,
    ) -> Result<(), String> {
        let mapping = *own(mp)?;
        let mut mesh = super::noc::PassNoc::new(l, hw, &mapping);
        let _ = for_each_pass(l, batch, &mapping, |pass| {
            let mut p = CyclePass {
                counts: NestCounts::default(),
                work: Work::Rows {
                    pass,
                    mapping: &mapping,
                },
            };
            pass_counts(l, &mapping, pass, hw.pe.simd, &mut p.counts);
            if let Some(noc) = &mut mesh {
                p.counts.noc = noc.counts(pass);
            }
            f(&p)
        });
        Ok(())
    }

    fn buffers(
        &self,
        l: &Layer,
        hw: &HwConfig,
        batch: usize,
        mp: &Mapping,
    ) -> Result<Buffers, String> {
        Ok(Buffers {
            need: glb_need(l, batch, own(mp)?).held(hw.roles()),
            glb_words: hw.glb.words as u64,
            filter_words: hw.glb.filter_words as u64,
            partition: hw.glb.partition,
        })
    }

    /// The hierarchical mesh's widths (`noc::delivery_bits`).
    fn delivery_bits(&self, l: &Layer, hw: &HwConfig, mp: &Mapping) -> Option<[u64; 3]> {
        super::noc::delivery_bits(l, hw, own(mp).ok()?)
    }

    fn weights_before_macs(&self) -> bool {
        true
    }

    /// The config's own spads and GLB.
    fn storage(&self, hw: &HwConfig) -> Storage {
        Storage {
            rf_words: hw.pe.rf_total(),
            glb_words: hw.glb.words + hw.glb.filter_words,
        }
    }

    fn no_mapping(&self) -> (String, String) {
        // No filter is too large for the array or the spads (it is split into segments), so
        // only the GLB can leave the search empty.
        (
            "no combination of PE set, replication and GLB tiling fits the spads and GLB".into(),
            "enlarge glb.words / glb.filter_words or the spads".into(),
        )
    }
}
