//! Energy of a model on an Eyeriss-class accelerator: the model's layer
//! shapes, its real weight masks and the activation densities measured on a
//! calibration batch become `ember_sim::Layer`s, and the estimator maps and
//! prices each one (`Hardware::run_layer`).

use ndarray::{s, Array4, Axis};
use serde::{Deserialize, Serialize};

use ember_estimator::{Hardware, LayerEnergy, LevelValues, Preset, SparsityRules};
use ember_sim::{DataType, Layer as SimLayer, LayerKind as SimKind};

use crate::error::{PrunerError, Result};
use crate::model::{LayerKind, LayerShape};
use crate::nn::{Network, Tensor};

/// Non-zero fractions of one conv/fc layer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Densities {
    /// Weights kept by the mask (1.0 without a mask).
    pub weight: f64,
    /// Non-zero inputs of the layer on the calibration batch.
    pub ifmap: f64,
    /// Non-zero outputs after the layer's ReLU (its raw output when none
    /// follows) on the calibration batch.
    pub ofmap: f64,
}

/// Fraction of non-zero weights of every conv/fc layer, in network order.
pub fn weight_densities(net: &Network) -> Vec<f64> {
    net.layers()
        .iter()
        .filter_map(|l| l.weight_and_bias())
        .map(|(_, w, _)| w.live_count() as f64 / w.value().len() as f64)
        .collect()
}

fn nonzero(a: &Tensor) -> usize {
    a.iter().filter(|&&v| v != 0.0).count()
}

/// Weight densities from the masks and ifmap/ofmap densities measured on
/// `images` (run in chunks of 128 in inference mode). A layer's ofmap is its
/// output as the next layers read it: after its batch norm and ReLU, when
/// it alone feeds them.
pub fn measure_densities(net: &mut Network, images: &Array4<f32>) -> Result<Vec<Densities>> {
    const CHUNK: usize = 128;
    let idx = net.param_layer_indices();
    let acts: Vec<usize> = idx.iter().map(|&i| net.activation_of(i)).collect();
    let (mut nz_in, mut tot_in) = (vec![0usize; idx.len()], vec![0usize; idx.len()]);
    let (mut nz_out, mut tot_out) = (vec![0usize; idx.len()], vec![0usize; idx.len()]);
    let n = images.len_of(Axis(0));
    if n == 0 {
        return Err(PrunerError::Config("empty calibration batch".into()));
    }
    for start in (0..n).step_by(CHUNK) {
        let end = (start + CHUNK).min(n);
        let x = images.slice(s![start..end, .., .., ..]).to_owned();
        net.forward_observed(x, |i, inputs, output| {
            if let Some(k) = idx.iter().position(|&j| j == i) {
                nz_in[k] += nonzero(&inputs[0]);
                tot_in[k] += inputs[0].len();
            }
            for (k, _) in acts.iter().enumerate().filter(|(_, &a)| a == i) {
                nz_out[k] += nonzero(output);
                tot_out[k] += output.len();
            }
        })?;
    }
    let w = weight_densities(net);
    Ok((0..idx.len())
        .map(|k| Densities {
            weight: w[k],
            ifmap: nz_in[k] as f64 / tot_in[k] as f64,
            ofmap: nz_out[k] as f64 / tot_out[k] as f64,
        })
        .collect())
}

/// The simulator's view of the model. A fully connected layer is a
/// convolution whose filter covers its input map (R = H, S = W), as
/// `LayerShape` describes it and as traces write `kind = "fc"`.
pub fn sim_layers(shapes: &[LayerShape], densities: &[Densities]) -> Vec<SimLayer> {
    shapes
        .iter()
        .zip(densities)
        .map(|(sh, d)| {
            let mut l = SimLayer::conv(&sh.name, sh.c_in, sh.h_in, sh.w_in, sh.m_out, sh.r, sh.s);
            l.kind = match sh.kind {
                LayerKind::Conv => SimKind::Conv,
                LayerKind::Fc => SimKind::Fc,
            };
            l.stride = sh.stride;
            l.pad = sh.pad;
            l.groups = sh.groups;
            l.weight_density = d.weight;
            l.ifmap_density = d.ifmap;
            l.ofmap_density = d.ofmap;
            l
        })
        .collect()
}

/// Energy of one layer, split by memory level and by data type
/// (normalised units of the config's `[energy]` table unless it is absolute).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnergyBreakdown {
    pub total: f64,
    /// MAC (datapath) energy.
    pub mac: f64,
    pub by_level: ByLevel,
    pub by_data_type: ByDataType,
}

/// Energy per level of the config, by level name, outermost first (`dram`, `glb`, `array`,
/// `rf` on the Eyeriss configs).
pub type ByLevel = LevelValues;

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ByDataType {
    pub weights: f64,
    pub ifmaps: f64,
    pub psums: f64,
}

impl EnergyBreakdown {
    /// The breakdown of `e`, priced on `hw`.
    pub fn of(e: &LayerEnergy, hw: &Hardware) -> Self {
        EnergyBreakdown {
            total: e.total,
            mac: e.mac,
            by_level: LevelValues::of(e, &hw.arch.levels),
            by_data_type: ByDataType {
                weights: e.data_type(DataType::Weights),
                ifmaps: e.data_type(DataType::Ifmaps),
                psums: e.data_type(DataType::Psums),
            },
        }
    }
}

/// One layer of a [`ModelEnergy`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerEnergyInfo {
    pub name: String,
    pub densities: Densities,
    pub energy: EnergyBreakdown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelEnergy {
    pub layers: Vec<LayerEnergyInfo>,
    pub total: f64,
}

/// The accelerator a model is priced on.
#[derive(Debug, Clone)]
pub struct EnergyModel {
    pub hw: Hardware,
    /// Images per batch handed to the mapper (1 by default).
    pub batch: usize,
}

impl EnergyModel {
    /// `hw` as given (its own sparsity rules), batch 1.
    pub fn new(hw: Hardware) -> Self {
        EnergyModel { hw, batch: 1 }
    }

    /// `hw` with energy-aware pruning's sparsity model (`eap` preset): zero
    /// weights and zero ifmaps gate MACs and their RF accesses, and sparse
    /// data is run-length coded in DRAM.
    pub fn eap(mut hw: Hardware) -> Self {
        hw.sparsity = SparsityRules::preset(Preset::Eap);
        EnergyModel::new(hw)
    }

    /// Maps and prices every layer (`first_layer` for index 0) with the
    /// config's dataflow.
    pub fn query(&self, layers: &[SimLayer]) -> Result<Vec<LayerEnergy>> {
        let df = self.hw.arch.dataflow;
        layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                self.hw
                    .run_layer(l, self.batch, df, i == 0)
                    .map(|r| r.energy)
                    .map_err(|e| PrunerError::Energy(format!("layer {}: {e}", l.name)))
            })
            .collect()
    }

    /// Energy of a model with the given per-layer densities.
    pub fn energy_of(&self, shapes: &[LayerShape], densities: &[Densities]) -> Result<ModelEnergy> {
        let layers = sim_layers(shapes, densities);
        let energies = self.query(&layers)?;
        let infos: Vec<LayerEnergyInfo> = shapes
            .iter()
            .zip(densities)
            .zip(&energies)
            .map(|((sh, d), e)| LayerEnergyInfo {
                name: sh.name.clone(),
                densities: *d,
                energy: EnergyBreakdown::of(e, &self.hw),
            })
            .collect();
        let total = infos.iter().map(|l| l.energy.total).sum();
        Ok(ModelEnergy {
            layers: infos,
            total,
        })
    }

    /// Measures the densities of `net` on `calibration` and prices it.
    pub fn model_energy(
        &self,
        net: &mut Network,
        calibration: &Array4<f32>,
    ) -> Result<ModelEnergy> {
        let d = measure_densities(net, calibration)?;
        self.energy_of(&net.layer_shapes(), &d)
    }
}
