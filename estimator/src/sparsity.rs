//! How zeros save energy: zero gating of MACs and RF reads, run-length coding of DRAM traffic.
//!
//! Presets (JSSC 2017 §IV-B, §V-C; Yang, Chen, Sze, CVPR 2017):
//! - `none`: every MAC and access counted (the ISCA 2016 study);
//! - `chip`: the Eyeriss chip: a zero ifmap gates the MAC and the filter spad read; feature maps
//!   to and from DRAM are run-length coded, except the first layer's input image;
//! - `eap`: energy-aware pruning's model: a MAC is gated when either operand is zero, which also
//!   skips every RF access of that MAC; pruned weights are run-length coded too;
//! - `csc`: Eyeriss v2 (JETCAS 2019 §IV-C): ifmaps and weights move in compressed sparse column
//!   form from DRAM into the PE, and zeros are skipped there (`csc_ratio`, `energy::Factors`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    None,
    Chip,
    Eap,
    Csc,
}

/// Which RF accesses a gated MAC skips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GatedRf {
    /// Only the other operand's read (the chip skips the filter spad read).
    WeightRead,
    /// Weight, ifmap and psum reads and the psum write.
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SparsityRules {
    pub preset: Preset,
    /// A MAC whose ifmap is zero does not switch the datapath.
    pub gate_zero_ifmaps: bool,
    /// A MAC whose weight is zero does not switch the datapath.
    pub gate_zero_weights: bool,
    pub gated_rf: GatedRf,
    /// Run-length code feature maps crossing DRAM.
    pub rlc_fmaps: bool,
    /// Run-length code the first layer's input too (the chip does not).
    pub rlc_first_input: bool,
    /// Run-length code weights read from DRAM.
    pub rlc_weights: bool,
    /// Ifmaps and weights in CSC form all the way into the PE, zeros skipped there (Eyeriss
    /// v2); replaces the gating and run-length rules above.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub csc: bool,
}

/// The `[sparsity]` table: a preset, optionally with individual rules overridden.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SparsitySpec {
    pub preset: Option<Preset>,
    pub gate_zero_ifmaps: Option<bool>,
    pub gate_zero_weights: Option<bool>,
    pub gated_rf: Option<GatedRf>,
    pub rlc_fmaps: Option<bool>,
    pub rlc_first_input: Option<bool>,
    pub rlc_weights: Option<bool>,
    pub csc: Option<bool>,
}

impl SparsityRules {
    pub fn preset(p: Preset) -> SparsityRules {
        match p {
            Preset::None => SparsityRules {
                preset: p,
                gate_zero_ifmaps: false,
                gate_zero_weights: false,
                gated_rf: GatedRf::WeightRead,
                rlc_fmaps: false,
                rlc_first_input: false,
                rlc_weights: false,
                csc: false,
            },
            Preset::Chip => SparsityRules {
                preset: p,
                gate_zero_ifmaps: true,
                gate_zero_weights: false,
                gated_rf: GatedRf::WeightRead,
                rlc_fmaps: true,
                rlc_first_input: false,
                rlc_weights: false,
                csc: false,
            },
            Preset::Eap => SparsityRules {
                preset: p,
                gate_zero_ifmaps: true,
                gate_zero_weights: true,
                gated_rf: GatedRf::All,
                rlc_fmaps: true,
                rlc_first_input: false,
                rlc_weights: true,
                csc: false,
            },
            // No gating or run-length rule: compressed columns replace them.
            Preset::Csc => SparsityRules {
                preset: p,
                csc: true,
                ..SparsityRules::preset(Preset::None)
            },
        }
    }

    pub fn from_spec(spec: &SparsitySpec) -> SparsityRules {
        let mut r = SparsityRules::preset(spec.preset.unwrap_or(Preset::None));
        if let Some(v) = spec.gate_zero_ifmaps {
            r.gate_zero_ifmaps = v;
        }
        if let Some(v) = spec.gate_zero_weights {
            r.gate_zero_weights = v;
        }
        if let Some(v) = spec.gated_rf {
            r.gated_rf = v;
        }
        if let Some(v) = spec.rlc_fmaps {
            r.rlc_fmaps = v;
        }
        if let Some(v) = spec.rlc_first_input {
            r.rlc_first_input = v;
        }
        if let Some(v) = spec.rlc_weights {
            r.rlc_weights = v;
        }
        if let Some(v) = spec.csc {
            r.csc = v;
        }
        r
    }

    /// Fraction of MACs that switch the datapath.
    pub fn mac_fraction(&self, weight_density: f64, ifmap_density: f64) -> f64 {
        let mut g = 1.0;
        if self.gate_zero_ifmaps {
            g *= ifmap_density;
        }
        if self.gate_zero_weights {
            g *= weight_density;
        }
        g
    }
}

/// Bits of the run in a run-length pair (runs of up to 31 zeros).
pub const RLC_RUN_BITS: usize = 5;
/// Width of the DRAM words the pairs are packed into.
pub const RLC_PACK_BITS: usize = 64;

/// Words of `word_bits` that run-length coding moves per dense word, for i.i.d. zeros at the
/// given density. A pair covers a run of up to 31 zeros and the value after it, so a pair spans
/// on average Σ_{k=0}^{31} z^k = (1 - z^32) / (1 - z) values (z = 1 - density); pairs are
/// packed floor(64 / (5 + word_bits)) to a 64-bit word (3 for 16-bit data, as on the chip).
/// The encoder sends a block raw when coding would not shrink it (one mode bit per block,
/// neglected), so the ratio never exceeds 1 and a dense map costs exactly its dense words.
pub fn rlc_ratio(density: f64, word_bits: usize) -> f64 {
    let d = density.clamp(0.0, 1.0);
    let z = 1.0 - d;
    let pairs_per_value = if d == 0.0 {
        1.0 / 32.0
    } else {
        d / (1.0 - z.powi(32))
    };
    let pairs_per_pack = (RLC_PACK_BITS / (RLC_RUN_BITS + word_bits)).max(1) as f64;
    let words_per_pack = RLC_PACK_BITS as f64 / word_bits as f64;
    (pairs_per_value / pairs_per_pack * words_per_pack).min(1.0)
}

// The compressed-sparse-column format's sizes live with the hardware model (`ember_sim::csc`):
// the mapper sizes compressed spads with them too.
pub use ember_sim::csc::{
    csc_ratio, CSC_COUNT_BITS, CSC_IFMAP_ADDRESS_BITS, CSC_WEIGHT_ADDRESS_BITS,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rlc_dense_costs_dense() {
        assert_eq!(rlc_ratio(1.0, 16), 1.0);
    }

    #[test]
    fn rlc_all_zero_by_hand() {
        // 32 zeros per pair, 3 pairs per 64-bit word = 4 16-bit words: 4 / 96 words per value.
        assert!((rlc_ratio(0.0, 16) - 4.0 / 96.0).abs() < 1e-12);
    }

    #[test]
    fn rlc_half_density_by_hand() {
        // d = 0.5: pairs per value = 0.5 / (1 - 2^-32) ~ 0.5; x 4/3 words per pair = 2/3.
        assert!((rlc_ratio(0.5, 16) - 2.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn rlc_monotone() {
        let mut prev = 0.0;
        for i in 0..=1000 {
            let r = rlc_ratio(i as f64 / 1000.0, 16);
            assert!(r >= prev);
            prev = r;
        }
    }
}
