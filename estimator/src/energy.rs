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

/// What the sparsity rules leave of each dense count: effective = dense x factor, per level,
/// data type and direction, and per MAC. Zero gating and run-length coding both scale a count
/// by a factor that depends only on the layer's densities, so one table serves every mapping.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Factors {
    pub mac: f64,
    /// [level][data type] = (reads, writes).
    pub cell: [[(f64, f64); 3]; 4],
}

impl Factors {
    pub fn new(layer: &Layer, cx: &Context) -> Factors {
        let r = cx.rules;
        let (dw, di, dof) = (
            layer.weight_density,
            layer.ifmap_density,
            layer.ofmap_density,
        );
        let gate = r.mac_fraction(dw, di);
        let mut f = Factors {
            mac: gate,
            cell: [[(1.0, 1.0); 3]; 4],
        };
        let rf = Level::Rf as usize;
        let (w, i, p) = (
            DataType::Weights as usize,
            DataType::Ifmaps as usize,
            DataType::Psums as usize,
        );
        // Gating: a gated MAC skips the other operand's RF read, or all of its RF accesses.
        match r.gated_rf {
            GatedRf::WeightRead => {
                f.cell[rf][w].0 = if r.gate_zero_ifmaps { di } else { 1.0 };
                f.cell[rf][i].0 = if r.gate_zero_weights { dw } else { 1.0 };
            }
            GatedRf::All => {
                f.cell[rf][w].0 = gate;
                f.cell[rf][i].0 = gate;
                f.cell[rf][p] = (gate, gate);
            }
        }
        // Run-length coding of DRAM traffic.
        let dram = Level::Dram as usize;
        let bits = cx.word_bits;
        if r.rlc_fmaps {
            if !cx.first_layer || r.rlc_first_input {
                f.cell[dram][i].0 = rlc_ratio(di, bits);
            }
            f.cell[dram][p].1 = rlc_ratio(dof, bits);
        }
        if r.rlc_weights {
            f.cell[dram][w].0 = rlc_ratio(dw, bits);
        }
        f
    }
}

/// Accesses that really happen under the sparsity rules.
pub fn effective(layer: &Layer, ev: &Evaluation, cx: &Context) -> (f64, EffectiveCounts) {
    let f = Factors::new(layer, cx);
    let mut out = EffectiveCounts::default();
    for l in Level::ALL {
        for d in DataType::ALL {
            let rw = ev.counts.get(l, d);
            let (fr, fw) = f.cell[l as usize][d as usize];
            out.set(l, d, (rw.reads as f64 * fr, rw.writes as f64 * fw));
        }
    }
    (ev.macs as f64 * f.mac, out)
}

/// A layer's energy as a linear function of its dense counts: the mapper's objective, cheap
/// enough to evaluate for every candidate mapping. Equal to `estimate(..).total`.
#[derive(Debug, Clone, Copy)]
pub struct EnergyObjective {
    mac: f64,
    cycle: f64,
    /// [level][data type] = (per read, per write).
    cell: [[(f64, f64); 3]; 4],
}

impl EnergyObjective {
    pub fn new(layer: &Layer, cx: &Context) -> EnergyObjective {
        let f = Factors::new(layer, cx);
        let mut cell = f.cell;
        for l in Level::ALL {
            let price = cx.table.access(l, cx.word_bits);
            for c in &mut cell[l as usize] {
                c.0 *= price;
                c.1 *= price;
            }
        }
        EnergyObjective {
            mac: f.mac * cx.table.mac(cx.word_bits),
            cycle: static_per_cycle(cx),
            cell,
        }
    }

    pub fn energy(&self, ev: &Evaluation) -> f64 {
        let mut e = self.mac * ev.macs as f64 + self.cycle * ev.cycles as f64;
        let levels = [
            &ev.counts.dram,
            &ev.counts.glb,
            &ev.counts.array,
            &ev.counts.rf,
        ];
        for (l, per) in levels.iter().enumerate() {
            let c = &self.cell[l];
            e += c[0].0 * per.weights.reads as f64
                + c[0].1 * per.weights.writes as f64
                + c[1].0 * per.ifmaps.reads as f64
                + c[1].1 * per.ifmaps.writes as f64
                + c[2].0 * per.psums.reads as f64
                + c[2].1 * per.psums.writes as f64;
        }
        e
    }
}

/// Static energy per cycle: mW x s = mJ = 1e9 pJ (absolute tables only).
fn static_per_cycle(cx: &Context) -> f64 {
    cx.table.static_mw * cx.seconds_per_cycle * 1e9
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
    e.leakage = static_per_cycle(cx) * ev.cycles as f64;
    e.total = e.mac + e.by_level.iter().sum::<f64>() + e.leakage;
    e
}
