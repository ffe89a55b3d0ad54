//! What a pruning run does: the method, its options, the accuracy budget
//! and the fine-tuning schedule. Serialised into the checkpoint fingerprint
//! and the report, so a run can be reproduced from its `report.json`.

use serde::{Deserialize, Serialize};

use crate::error::{PrunerError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Energy-aware pruning (Yang, Chen, Sze, CVPR 2017): layer by layer,
    /// most energy first, each layer pruned as far as the budget allows.
    Eap,
    /// Magnitude pruning as Han et al. (NIPS 2015) made it: per-layer rates
    /// from a sensitivity analysis, iterative prune and retrain.
    Magnitude,
}

impl Method {
    pub fn key(&self) -> &'static str {
        match self {
            Method::Eap => "eap",
            Method::Magnitude => "magnitude",
        }
    }

    /// The step (`layer_budget_scale`) a user gets without asking, chosen per
    /// method on the validation split only (seed 1, `scripts/tune_step.sh`,
    /// steps 1, 2 and 4): eap's energy reduction was highest at step 1 on
    /// LeNet-5 (2.60x vs 2.51x, 2.49x) and on vgg-mini (3.25x vs 3.16x,
    /// 3.23x); magnitude's at step 2 on LeNet-5 (2.18x vs 1.85x, 2.01x).
    pub fn default_layer_budget_scale(&self) -> f32 {
        match self {
            Method::Eap => 1.0,
            Method::Magnitude => 2.0,
        }
    }
}

/// Which layer the layer-by-layer method visits next (eap's first idea).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerOrder {
    /// Highest simulated energy first, re-estimated after every layer.
    Energy,
    /// Network order, input to output.
    Network,
    /// Most (remaining) weights first.
    Weights,
}

/// How the layer-by-layer method chooses the weights it keeps (eap's second
/// idea).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// The largest weights of each output channel.
    Magnitude,
    /// The largest weights, then greedily the weights whose return most
    /// reduces the layer's output-feature-map error (`restore_fraction`).
    OutputError,
}

/// What the magnitude method's allocation buys with accuracy: the gain of
/// a layer's next rate step in its sensitivity analysis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Allocation {
    /// Weights removed (Han et al.: compression).
    #[default]
    Weights,
    /// Simulated energy saved: the same checked allocation, spending the
    /// accuracy budget where it buys the most energy (eap's objective with
    /// Han et al.'s global choice of per-layer rates).
    Energy,
}

impl Allocation {
    fn is_weights(&self) -> bool {
        *self == Allocation::Weights
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PruneConfig {
    pub method: Method,
    /// Layer-by-layer method (eap): visiting order.
    pub order: LayerOrder,
    /// Layer-by-layer method (eap): which weights a layer keeps.
    pub criterion: Criterion,
    /// Layer-by-layer method (eap): refit the kept weights by least squares
    /// against the unpruned layer's output (eap's third idea).
    pub refit: bool,
    /// Magnitude method: what its allocation maximises per unit of accuracy.
    /// Left out of the serialised form at its default, so reports and
    /// checkpoints written before it existed still match.
    #[serde(default, skip_serializing_if = "Allocation::is_weights")]
    pub allocation: Allocation,
    /// Largest allowed drop of accuracy from the baseline after fine-tuning
    /// (0.01 = one point).
    pub max_accuracy_drop: f32,
    /// A round is accepted when the drop a held-out split of the test
    /// split's size would show is within the budget at this one-sided
    /// confidence, predicted from the validation split
    /// ([`super::accuracy::Change::upper`]). 0.5 turns the margin off.
    pub confidence: f64,
    /// Accuracy the network may lose while a round prunes (before
    /// fine-tuning), from where the round starts, as a multiple of
    /// `max_accuracy_drop`: the step size.
    pub layer_budget_scale: f32,
    /// Restrict data (training, validation, test) to these classes.
    pub classes: Option<Vec<u8>>,
    /// Prune + fine-tune rounds, rejected ones included: every method gets
    /// the same fine-tuning epochs.
    pub max_rounds: usize,
    /// Fine-tuning epochs per round; 0: none (the pruned model is for the
    /// user to fine-tune elsewhere, e.g. in PyTorch with the masks).
    pub finetune_epochs: usize,
    /// Training samples per fine-tuning round (a seeded random subset);
    /// `None`: the whole training split.
    pub finetune_samples: Option<usize>,
    pub finetune_lr: f32,
    pub finetune_batch: usize,
    /// Validation images (the first ones) on which activation densities are
    /// measured for the energy estimate.
    pub calibration_samples: usize,
    /// Training images (the first ones) over which the least-squares refit
    /// matches the unpruned layer's output. Not validation images: the
    /// refit would fit the very images the accuracy budget is judged on.
    pub refit_samples: usize,
    /// At most this many lowered rows (output pixels x images) enter a conv
    /// layer's refit statistics; more are thinned evenly.
    pub refit_max_rows: usize,
    /// Validation images (the first ones) scored while a round prunes;
    /// `None`: all. Round acceptance always uses the whole split. Default
    /// 5,000 of the 10,000: half the search time, and the search only sets
    /// the step (its floor is a heuristic, the acceptance is the budget).
    pub search_samples: Option<usize>,
    /// Binary-search steps on a layer's kept fraction (eap) or on the
    /// sensitivity tolerance (magnitude).
    pub search_steps: usize,
    /// Share of each channel's kept weights chosen by output-error
    /// restoration instead of magnitude (criterion `output_error`).
    pub restore_fraction: f64,
    /// Ridge of the refit, relative to the mean diagonal of the Gram matrix,
    /// pulling towards the weights before pruning.
    pub ridge: f64,
    /// Magnitude method: fractions of a layer's remaining weights removed in
    /// its sensitivity analysis, increasing.
    pub sensitivity_rates: Vec<f64>,
    pub seed: u64,
}

impl Default for PruneConfig {
    fn default() -> Self {
        PruneConfig {
            method: Method::Eap,
            order: LayerOrder::Energy,
            criterion: Criterion::OutputError,
            refit: true,
            allocation: Allocation::Weights,
            max_accuracy_drop: 0.01,
            confidence: 0.95,
            layer_budget_scale: 1.0,
            classes: None,
            max_rounds: 6,
            finetune_epochs: 1,
            finetune_samples: None,
            finetune_lr: 3e-4,
            finetune_batch: 64,
            calibration_samples: 256,
            refit_samples: 1024,
            refit_max_rows: 131_072,
            search_samples: Some(5000),
            search_steps: 7,
            restore_fraction: 0.2,
            ridge: 1e-3,
            sensitivity_rates: vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95],
            seed: 0,
        }
    }
}

impl PruneConfig {
    /// Restoration share the criterion implies.
    pub(crate) fn restore(&self) -> f64 {
        match self.criterion {
            Criterion::Magnitude => 0.0,
            Criterion::OutputError => self.restore_fraction,
        }
    }

    /// Whether the layer-by-layer options differ from eap's own (energy
    /// order, output-error criterion, refit): an ablation.
    pub fn is_ablation(&self) -> bool {
        (self.order, self.criterion, self.refit)
            != (LayerOrder::Energy, Criterion::OutputError, true)
    }

    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(PrunerError::Config(m));
        if !(0.0..1.0).contains(&self.max_accuracy_drop) {
            return bad(format!(
                "max accuracy drop {} must be in [0, 1)",
                self.max_accuracy_drop
            ));
        }
        if !(0.5..1.0).contains(&self.confidence) {
            return bad(format!(
                "confidence {} must be in [0.5, 1) (0.5: no margin)",
                self.confidence
            ));
        }
        if self.max_rounds == 0 || self.calibration_samples == 0 {
            return bad("rounds and calibration samples must be positive".into());
        }
        if let Some(c) = &self.classes {
            if c.is_empty() || c.iter().any(|&x| x >= 10) {
                return bad(format!("classes {c:?} must be a non-empty subset of 0..10"));
            }
        }
        if !(0.0..=1.0).contains(&self.restore_fraction) || self.ridge < 0.0 {
            return bad("restore fraction must be in [0, 1] and ridge non-negative".into());
        }
        if self.layer_budget_scale.is_nan() || self.layer_budget_scale <= 0.0 {
            return bad("the layer budget scale must be positive".into());
        }
        let r = &self.sensitivity_rates;
        if r.is_empty()
            || r.windows(2).any(|w| w[0] >= w[1])
            || r[0] <= 0.0
            || r[r.len() - 1] >= 1.0
        {
            return bad(format!(
                "sensitivity rates {r:?} must increase strictly inside (0, 1)"
            ));
        }
        if self.method == Method::Eap && self.allocation != Allocation::Weights {
            return bad(
                "the allocation is an option of magnitude pruning's sensitivity analysis; \
                 eap visits layers one by one"
                    .into(),
            );
        }
        if self.method == Method::Magnitude && self.is_ablation() {
            return bad(
                "order, criterion and refit are options of the layer-by-layer method (eap); \
                 magnitude pruning chooses per-layer rates from its sensitivity analysis"
                    .into(),
            );
        }
        Ok(())
    }
}
