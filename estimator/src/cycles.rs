//! Cycle mode for a whole network: the chosen mappings executed by `sim::cycle`, with the DRAM
//! compression and zero skipping that the sparsity rules and the hardware imply.

use ember_sim::cycle::{simulate, simulate_masked, CycleParams, CycleStats, PassRecord, Replay};
use ember_sim::masks::{Gating, Masks};
use ember_sim::sparse_pe::SparsePe;
use ember_sim::DataType;

use crate::energy::{csc_compressed_for, csc_skipped_for, Factors};
use crate::hardware::Hardware;
use crate::run::NetworkResult;

/// Sees every executed pass, with its layer's name.
pub type PassObserver<'a> = &'a mut dyn FnMut(&str, &PassRecord);

impl Hardware {
    /// What `sim::cycle` needs to know about zeros for layer `i` of `res`. With compressed
    /// sparse columns, whether a data type's zeros are skipped depends on the mapping (a
    /// segment too short to pay its address goes uncompressed, zeros processed), so the MAC
    /// cycles skip what the energy of the layer's own mapping skips.
    pub fn cycle_params(&self, res: &NetworkResult, i: usize) -> CycleParams {
        let r = &res.layers[i];
        self.mapped_cycle_params(&r.layer, i == 0, &r.eval.mapping)
    }

    /// `layer_cycle_params` for `l` under `mapping`: with compressed sparse columns and zero
    /// skipping, the MAC cycles skip the zeros the mapping's own segments let the PE skip.
    /// (`layer_cycle_params` takes the cheapest segments, so its fraction is never above this
    /// one: the search's time bounds stay bounds.)
    pub fn mapped_cycle_params(
        &self,
        l: &ember_sim::Layer,
        first_layer: bool,
        mapping: &ember_sim::Mapping,
    ) -> CycleParams {
        let base = self.layer_cycle_params(l, first_layer);
        self.cycle_params_for(base, l, first_layer, mapping)
    }

    /// `base` (the layer's `layer_cycle_params`) for `mapping`: unchanged unless compressed
    /// sparse columns make the skipped zeros depend on the mapping's segments. The edp search
    /// calls this per candidate, so it computes nothing in the common case.
    #[inline]
    pub fn cycle_params_for(
        &self,
        mut base: CycleParams,
        l: &ember_sim::Layer,
        first_layer: bool,
        mapping: &ember_sim::Mapping,
    ) -> CycleParams {
        if self.sparsity.csc && self.arch.pe.skip_zero_cycles {
            let cx = self.context(first_layer);
            let skipped = csc_skipped_for(l, &cx, Some(mapping));
            self.set_sparse_pe(&mut base, l, skipped);
        }
        base
    }

    /// The sparse PE skipping `skipped` (ifmap, weight densities; `None`: nothing) on `l`: its
    /// busiest PE's expected time, and the floor the latency bounds take over every pass.
    fn set_sparse_pe(
        &self,
        p: &mut CycleParams,
        l: &ember_sim::Layer,
        skipped: Option<(f64, f64)>,
    ) {
        let Some((di, dw)) = skipped else {
            p.sparse_pe = None;
            p.mac_cycle_fraction = 1.0;
            return;
        };
        let sp = SparsePe {
            ifmap_density: di,
            weight_density: dw,
        };
        let pe = &self.arch.pe;
        p.mac_cycle_fraction = sp.floor_fraction(l.mg().min(pe.max_p(1, 1)), pe.simd);
        p.sparse_pe = Some(sp);
    }

    /// What `sim::cycle` needs to know about zeros for `l`, for any mapping. With compressed
    /// sparse columns the words moved depend on the mapping's segments; the timing takes them
    /// without the segment addresses (energy prices those), and the cheapest segments' zero
    /// skipping, a floor on any mapping's (`mapped_cycle_params` has the mapping's own).
    pub fn layer_cycle_params(&self, l: &ember_sim::Layer, first_layer: bool) -> CycleParams {
        let cx = self.context(first_layer);
        let f = if self.sparsity.csc {
            let d = (l.weight_density, l.ifmap_density, l.ofmap_density);
            Factors::csc(d, Some((0, 0)), &cx)
        } else {
            Factors::new(l, &cx)
        };
        let dram = self.arch.roles().dram as usize;
        let mut p = CycleParams {
            dram_scale: [
                f.kept[dram][DataType::Weights as usize].0,
                f.kept[dram][DataType::Ifmaps as usize].0,
                f.kept[dram][DataType::Psums as usize].1,
            ],
            mac_cycle_fraction: if self.arch.pe.skip_zero_cycles {
                f.mac
            } else {
                1.0
            },
            sparse_pe: None,
        };
        if self.sparsity.csc && self.arch.pe.skip_zero_cycles {
            self.set_sparse_pe(&mut p, l, csc_skipped_for(l, &cx, None));
        }
        p
    }

    /// Which zeros of real masks let the PE skip a MAC on `l` under `mapping`: those the
    /// sparsity rules gate, or, with compressed sparse columns, those of the data types the
    /// mapping's segments compress (an uncompressed type's zeros are processed).
    fn gating(
        &self,
        l: &ember_sim::Layer,
        first_layer: bool,
        mapping: &ember_sim::Mapping,
    ) -> Gating {
        if self.sparsity.csc {
            let cx = self.context(first_layer);
            let (ifmaps, weights) = csc_compressed_for(l, &cx, Some(mapping)).unwrap_or_default();
            return Gating {
                ifmaps,
                weights,
                csc: true,
            };
        }
        Gating {
            ifmaps: self.sparsity.gate_zero_ifmaps,
            weights: self.sparsity.gate_zero_weights,
            csc: false,
        }
    }

    /// Execute every layer's mapping cycle by cycle; `trace` sees every pass (with its layer).
    pub fn simulate_cycles(
        &self,
        res: &NetworkResult,
        trace: Option<PassObserver<'_>>,
    ) -> Vec<CycleStats> {
        self.simulate_cycles_masked(res, &[], trace)
    }

    /// As `simulate_cycles`, with real zeros where `masks[i]` is given for layer `i` (see
    /// `ember_sim::masks`; the sparsity rules say which zero operands are gated).
    pub fn simulate_cycles_masked(
        &self,
        res: &NetworkResult,
        masks: &[Option<Masks>],
        mut trace: Option<PassObserver<'_>>,
    ) -> Vec<CycleStats> {
        res.layers
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let params = self.cycle_params(res, i);
                let gating = self.gating(&r.layer, i == 0, &r.eval.mapping);
                let mut per_pass = |p: &PassRecord| {
                    if let Some(t) = trace.as_deref_mut() {
                        t(&r.layer.name, p);
                    }
                };
                let (l, mp) = (&r.layer, &r.eval.mapping);
                match masks.get(i).and_then(Option::as_ref) {
                    Some(m) => simulate_masked(
                        l,
                        &self.arch,
                        res.batch,
                        mp,
                        &params,
                        m,
                        gating,
                        Some(&mut per_pass),
                    ),
                    None => simulate(
                        l,
                        &self.arch,
                        res.batch,
                        mp,
                        &params,
                        Replay::Memo,
                        Some(&mut per_pass),
                    ),
                }
            })
            .collect()
    }
}
