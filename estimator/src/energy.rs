//! From access counts to energy: the sparsity rules turn dense counts into the accesses that
//! really happen, then the energy table prices them.

use serde::Serialize;

use ember_sim::{DataType, Evaluation, Layer, Level};

use crate::sparsity::{rlc_ratio, GatedRf, SparsityRules};
use crate::table::EnergyTable;

/// Accesses after gating and run-length coding, per level x data type (reads, writes).
/// Expected values under i.i.d. zeros, hence fractional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct EffectiveCounts {
    /// [level][data type] = (reads, writes), in `Level::ALL` x `DataType::ALL` order.
    pub rw: [[(f64, f64); 3]; 4],
}

impl EffectiveCounts {
    pub fn get(&self, l: Level, d: DataType) -> (f64, f64) {
        self.rw[l as usize][d as usize]
    }
    fn set(&mut self, l: Level, d: DataType, v: (f64, f64)) {
        self.rw[l as usize][d as usize] = v;
    }
}

/// Energy of one layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LayerEnergy {
    pub effective_macs: f64,
    pub accesses: EffectiveCounts,
    pub mac: f64,
    /// [level] in `Level::ALL` order.
    pub by_level: [f64; 4],
    /// [data type] in `DataType::ALL` order (MAC energy belongs to no data type).
    pub by_data_type: [f64; 3],
    /// [level][data type].
    pub cell: [[f64; 3]; 4],
    /// Static energy (static power x time), absolute tables only.
    pub leakage: f64,
    pub total: f64,
}

impl LayerEnergy {
    pub fn level(&self, l: Level) -> f64 {
        self.by_level[l as usize]
    }
    pub fn data_type(&self, d: DataType) -> f64 {
        self.by_data_type[d as usize]
    }

    pub fn add(&mut self, o: &LayerEnergy) {
        self.effective_macs += o.effective_macs;
        self.mac += o.mac;
        self.leakage += o.leakage;
        self.total += o.total;
        for l in 0..4 {
            self.by_level[l] += o.by_level[l];
            for d in 0..3 {
                self.cell[l][d] += o.cell[l][d];
                let (a, b) = o.accesses.rw[l][d];
                self.accesses.rw[l][d].0 += a;
                self.accesses.rw[l][d].1 += b;
            }
        }
        for d in 0..3 {
            self.by_data_type[d] += o.by_data_type[d];
        }
    }
}

/// What the estimator needs besides the counts.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub table: &'a EnergyTable,
    pub rules: &'a SparsityRules,
    pub word_bits: usize,
    /// The network's first layer reads the raw input image (never run-length coded on the chip).
    pub first_layer: bool,
    /// Seconds per cycle, for static energy (0 when the table has none).
    pub seconds_per_cycle: f64,
}

/// Accesses that really happen under the sparsity rules.
pub fn effective(layer: &Layer, ev: &Evaluation, cx: &Context) -> (f64, EffectiveCounts) {
    let r = cx.rules;
    let (dw, di, dof) = (
        layer.weight_density,
        layer.ifmap_density,
        layer.ofmap_density,
    );
    let gate = r.mac_fraction(dw, di);
    let mut out = EffectiveCounts::default();
    for l in Level::ALL {
        for d in DataType::ALL {
            let rw = ev.counts.get(l, d);
            out.set(l, d, (rw.reads as f64, rw.writes as f64));
        }
    }
    // Gating: a gated MAC skips the other operand's RF read, or all of its RF accesses.
    let rf = |d| out.get(Level::Rf, d);
    let (wr, ww) = rf(DataType::Weights);
    let (ir, iw) = rf(DataType::Ifmaps);
    let (pr, pw) = rf(DataType::Psums);
    match r.gated_rf {
        GatedRf::WeightRead => {
            let wgate = if r.gate_zero_ifmaps { di } else { 1.0 };
            let igate = if r.gate_zero_weights { dw } else { 1.0 };
            out.set(Level::Rf, DataType::Weights, (wr * wgate, ww));
            out.set(Level::Rf, DataType::Ifmaps, (ir * igate, iw));
        }
        GatedRf::All => {
            out.set(Level::Rf, DataType::Weights, (wr * gate, ww));
            out.set(Level::Rf, DataType::Ifmaps, (ir * gate, iw));
            out.set(Level::Rf, DataType::Psums, (pr * gate, pw * gate));
        }
    }
    // Run-length coding of DRAM traffic.
    let bits = cx.word_bits;
    if r.rlc_fmaps {
        let (ir, iw) = out.get(Level::Dram, DataType::Ifmaps);
        if !cx.first_layer || r.rlc_first_input {
            out.set(
                Level::Dram,
                DataType::Ifmaps,
                (ir * rlc_ratio(di, bits), iw),
            );
        }
        let (pr, pw) = out.get(Level::Dram, DataType::Psums);
        out.set(
            Level::Dram,
            DataType::Psums,
            (pr, pw * rlc_ratio(dof, bits)),
        );
    }
    if r.rlc_weights {
        let (wr, ww) = out.get(Level::Dram, DataType::Weights);
        out.set(
            Level::Dram,
            DataType::Weights,
            (wr * rlc_ratio(dw, bits), ww),
        );
    }
    (ev.macs as f64 * gate, out)
}

/// Energy of one layer under one mapping.
pub fn estimate(layer: &Layer, ev: &Evaluation, cx: &Context) -> LayerEnergy {
    let (effective_macs, accesses) = effective(layer, ev, cx);
    let mut e = LayerEnergy {
        effective_macs,
        accesses,
        mac: effective_macs * cx.table.mac(cx.word_bits),
        ..LayerEnergy::default()
    };
    for l in Level::ALL {
        let price = cx.table.access(l, cx.word_bits);
        for d in DataType::ALL {
            let (rd, wr) = accesses.get(l, d);
            let v = (rd + wr) * price;
            e.cell[l as usize][d as usize] = v;
            e.by_level[l as usize] += v;
            e.by_data_type[d as usize] += v;
        }
    }
    // Static power only means something in absolute units: mW x s = mJ = 1e9 pJ.
    e.leakage = cx.table.static_mw * ev.cycles as f64 * cx.seconds_per_cycle * 1e9;
    e.total = e.mac + e.by_level.iter().sum::<f64>() + e.leakage;
    e
}
