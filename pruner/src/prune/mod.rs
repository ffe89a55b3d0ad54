//! Pruning a trained network within an accuracy budget.
//!
//! Two methods, one driver. The driver runs rounds: the method prunes
//! ([`RoundMethod`]), the network is fine-tuned under the masks, and the
//! round is accepted when the validation accuracy drop is within the budget
//! at the configured confidence ([`accuracy::Change::within`]) and the
//! method's objective fell (eap: the simulated energy after fine-tuning;
//! magnitude: the non-zero weights). A rejected round is undone and retried
//! with half the step (the accuracy the network may lose while pruning).
//! Every method gets the same rounds, so the same fine-tuning epochs.
//!
//! - [`Method::Eap`], energy-aware pruning (Yang, Chen, Sze, CVPR 2017),
//!   layer by layer ([`greedy`]): most simulated energy first, weights kept
//!   by output-feature-map error, refitted by least squares ([`lsq`]); each
//!   idea can be switched off for ablations ([`LayerOrder`], [`Criterion`],
//!   `refit`).
//! - [`Method::Magnitude`], Han et al. 2015 ([`sensitivity`]): per-layer
//!   rates from a sensitivity analysis, iterative prune and retrain.
//!
//! Every decision uses the validation split; the test split is only scored
//! for the report. With a checkpoint directory the state is saved after
//! every layer and every fine-tune, so a killed run resumes where it stopped.

pub mod accuracy;
mod checkpoint;
pub mod config;
mod greedy;
mod layer;
pub mod lsq;
mod sensitivity;

use std::path::Path;

use ndarray::Array4;
use rand::{seq::SliceRandom, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::{Dataset, Split};
use crate::energy::{EnergyModel, ModelEnergy};
use crate::error::{PrunerError, Result};
use crate::nn::{Network, OptimizerKind};
use crate::train::{train, LrSchedule, Progress, TrainConfig};
use accuracy::{Change, Correct};
use checkpoint::Checkpointer;
pub use config::{Allocation, Criterion, LayerOrder, Method, PruneConfig};
use layer::{LayerView, SuffixScorer};

/// One visited layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerStep {
    /// 1-based.
    pub round: usize,
    pub layer: String,
    pub density_before: f64,
    pub density_after: f64,
    /// Search-split accuracy with the layer pruned, before fine-tuning.
    pub val_accuracy: f32,
    /// With the refit: the same weights without it.
    pub val_accuracy_no_refit: Option<f32>,
    /// Squared output error relative to ‖Y‖² on the refit images, with the
    /// weights pruned only and pruned + refit (when statistics were taken).
    pub output_error_pruned: Option<f64>,
    pub output_error_refit: Option<f64>,
    /// Model energy before and after this layer.
    pub energy_before: f64,
    pub energy_after: f64,
    /// eap: the pruned layer raised the model's energy and was put back.
    #[serde(default)]
    pub energy_rise_undone: bool,
    pub seconds: f64,
}

impl LayerStep {
    /// The record of a layer left as it was.
    fn unchanged(round: usize, view: &LayerView, val_accuracy: f32) -> Self {
        let density = view.n_alive() as f64 / view.total() as f64;
        LayerStep {
            round,
            layer: view.name.clone(),
            density_before: density,
            density_after: density,
            val_accuracy,
            val_accuracy_no_refit: None,
            output_error_pruned: None,
            output_error_refit: None,
            energy_before: 0.0,
            energy_after: 0.0,
            energy_rise_undone: false,
            seconds: 0.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRecord {
    /// 1-based.
    pub round: usize,
    /// Multiplier of the pruning step (halved after a rejected round).
    pub step_scale: f64,
    pub energy_before: f64,
    pub energy_after: f64,
    pub val_accuracy_before_finetune: f32,
    pub val_accuracy: f32,
    /// Validation change from the baseline after fine-tuning.
    pub val_change: Change,
    pub nonzero_weights: usize,
    /// Whether the drop was within the budget at the configured confidence.
    pub within_budget: bool,
    /// Whether the round lowered the method's objective (eap: the energy
    /// after fine-tuning, which moves the activation densities; magnitude:
    /// the non-zero weights).
    pub improved: bool,
    /// Both: otherwise the round is undone and the next one halves the step.
    pub accepted: bool,
    /// False when fine-tuning lowered validation accuracy and its result was
    /// dropped (the round keeps the weights from before it).
    pub finetune_kept: bool,
    pub finetune_seconds: f64,
}

/// A model's figures for the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub val_accuracy: f32,
    pub test_accuracy: f32,
    pub energy: ModelEnergy,
    pub nonzero_weights: usize,
    pub total_weights: usize,
}

#[derive(Debug, Clone)]
pub struct PruneOutcome {
    pub net: Network,
    pub baseline: Summary,
    pub pruned: Summary,
    /// Paired changes from the baseline on the validation and test splits.
    pub val_change: Change,
    pub test_change: Change,
    pub steps: Vec<LayerStep>,
    pub rounds: Vec<RoundRecord>,
    /// Fine-tuning epochs spent (rounds x epochs per round).
    pub finetune_epochs: usize,
}

#[derive(Debug, Clone, Copy)]
pub enum PruneEvent<'a> {
    Status(&'a str),
    LayerStart {
        round: usize,
        index: usize,
        of: usize,
        name: &'a str,
    },
    /// A candidate scored while pruning: `fraction` of the layer kept (eap,
    /// sensitivity analysis) or the tolerance tried (magnitude's search).
    Candidate {
        fraction: f64,
        accuracy: f32,
        accepted: bool,
    },
    LayerDone(&'a LayerStep),
    Train(Progress<'a>),
    RoundDone(&'a RoundRecord),
}

/// Resumable state, saved as `state.json` in the checkpoint directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct State {
    /// The configuration and model the run belongs to.
    fingerprint: String,
    /// 1-based round in progress.
    round: usize,
    step_scale: f64,
    /// Layers finished in this round.
    done: Vec<String>,
    round_energy_start: f64,
    steps: Vec<LayerStep>,
    rounds: Vec<RoundRecord>,
    finished: bool,
    /// Model directories (inside the checkpoint directory).
    current: String,
    round_start: String,
    seq: u64,
}

/// What one method does in a round: prune `current`, keeping the search
/// split's accuracy at or above `floor`, and [`Round::record`] every layer
/// it finishes. Returns false when told to stop (resumption tests).
pub(crate) trait RoundMethod {
    fn prune_round(&self, rc: &mut Round<'_>) -> Result<bool>;

    /// What a round must lower to be kept (besides keeping the budget).
    fn objective(&self, cfg: &PruneConfig) -> Objective;
}

/// The figure a method minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Objective {
    /// The model's simulated energy (eap).
    Energy,
    /// The number of non-zero weights (magnitude pruning's compression).
    Weights,
}

/// The method for a configuration: the one registry of methods.
fn method_for(cfg: &PruneConfig) -> &'static dyn RoundMethod {
    match cfg.method {
        Method::Eap => &greedy::Greedy,
        Method::Magnitude => &sensitivity::Sensitivity,
    }
}

/// Everything a method may read or change during one round.
pub(crate) struct Round<'a> {
    pub cfg: &'a PruneConfig,
    pub round: usize,
    /// Search-split accuracy the network must keep while pruning.
    pub floor: f32,
    pub search: &'a Split,
    pub refit_images: &'a Array4<f32>,
    pub calib: &'a Array4<f32>,
    pub energy: &'a EnergyModel,
    pub current: &'a mut Network,
    pub original: &'a mut Network,
    pub progress: &'a mut dyn FnMut(PruneEvent<'_>),
    state: &'a mut State,
    ckpt: Option<&'a Checkpointer>,
    /// Layers still to finish in this call before stopping (tests).
    stop_in: Option<usize>,
}

impl Round<'_> {
    /// Layers finished in this round so far.
    pub fn done(&self) -> &[String] {
        &self.state.done
    }

    /// Records finished layers and saves a checkpoint; false: stop here.
    pub fn record(&mut self, steps: Vec<LayerStep>) -> Result<bool> {
        for step in steps {
            (self.progress)(PruneEvent::LayerDone(&step));
            self.state.done.push(step.layer.clone());
            self.state.steps.push(step);
            if let Some(n) = self.stop_in.as_mut() {
                *n = n.saturating_sub(1);
            }
        }
        if let Some(c) = self.ckpt {
            c.save(self.state, self.current, false)?;
        }
        let n_layers = self.current.param_layer_indices().len();
        Ok(self.stop_in != Some(0) || self.state.done.len() >= n_layers)
    }
}

/// The data a run uses, split by purpose.
struct Splits<'a> {
    data: &'a Dataset,
    search: Split,
    calib: Array4<f32>,
    refit: Array4<f32>,
}

/// The baseline's figures every round is judged against.
struct Baseline {
    val: Correct,
    energy: f64,
}

/// Prunes a copy of `original` on `data` (validation for every decision);
/// energy from `energy`. With `checkpoint`, resumes from and saves to that
/// directory. `stop_after_layers` ends the call (returning `None`) after that
/// many layers were finished in this call — used to test resumption.
pub fn prune(
    original: &Network,
    data: &Dataset,
    energy: &EnergyModel,
    cfg: &PruneConfig,
    checkpoint: Option<&Path>,
    stop_after_layers: Option<usize>,
    mut progress: impl FnMut(PruneEvent<'_>),
) -> Result<Option<PruneOutcome>> {
    cfg.check()?;
    let filtered;
    let data = match &cfg.classes {
        Some(c) => {
            filtered = data.filter_classes(c);
            &filtered
        }
        None => data,
    };
    if data.val.is_empty() || data.train.is_empty() {
        return Err(PrunerError::Config(
            "pruning needs non-empty training and validation splits".into(),
        ));
    }
    let mut original = original.clone();
    let splits = Splits {
        data,
        search: data.val.head(cfg.search_samples.unwrap_or(usize::MAX)),
        calib: data.val.head(cfg.calibration_samples).images,
        refit: data.train.head(cfg.refit_samples).images,
    };
    progress(PruneEvent::Status("scoring the baseline"));
    let base = Baseline {
        val: SuffixScorer::new(&mut original, &data.val, 0).correct(&mut original),
        energy: energy.model_energy(&mut original, &splits.calib)?.total,
    };

    let ckpt = checkpoint.map(|d| Checkpointer {
        dir: d.to_path_buf(),
    });
    let fingerprint = fingerprint(cfg, &original);
    let (mut state, mut current, mut round_start) = match ckpt
        .as_ref()
        .map(|c| c.load(&fingerprint))
        .transpose()?
        .flatten()
    {
        Some(x) => {
            progress(PruneEvent::Status("resuming from the checkpoint"));
            x
        }
        None => (
            State {
                fingerprint,
                round: 1,
                step_scale: 1.0,
                done: Vec::new(),
                round_energy_start: base.energy,
                steps: Vec::new(),
                rounds: Vec::new(),
                finished: false,
                current: String::new(),
                round_start: "model-start".into(),
                seq: 0,
            },
            original.clone(),
            original.clone(),
        ),
    };
    if let Some(c) = &ckpt {
        if state.seq == 0 {
            c.save_start(&original)?;
        }
    }
    let method = method_for(cfg);
    let n_layers = original.param_layer_indices().len();
    let mut stop_in = stop_after_layers;
    while !state.finished {
        if state.done.len() < n_layers {
            // The step is measured from where the round starts (the round
            // start is in the checkpoint, so a resumed round gets the same
            // floor): each round may lose this much before fine-tuning wins
            // it back, and the acceptance keeps the run within the budget.
            let step = cfg.max_accuracy_drop * cfg.layer_budget_scale * state.step_scale as f32;
            let start =
                SuffixScorer::new(&mut round_start, &splits.search, 0).accuracy(&mut round_start);
            let mut rc = Round {
                cfg,
                round: state.round,
                floor: start - step,
                search: &splits.search,
                refit_images: &splits.refit,
                calib: &splits.calib,
                energy,
                current: &mut current,
                original: &mut original,
                progress: &mut progress,
                state: &mut state,
                ckpt: ckpt.as_ref(),
                stop_in,
            };
            let go_on = method.prune_round(&mut rc)?;
            stop_in = rc.stop_in;
            if !go_on {
                return Ok(None);
            }
            continue;
        }
        finish_round(
            method.objective(cfg),
            &mut state,
            &mut current,
            &mut round_start,
            &splits,
            &base,
            energy,
            cfg,
            &mut progress,
        )?;
        if let Some(c) = &ckpt {
            c.save(&mut state, &current, true)?;
        }
    }

    progress(PruneEvent::Status("scoring the result"));
    outcome(state, current, &mut original, &splits, &base, energy, cfg)
}

/// Fine-tunes the pruned network, then accepts the round or undoes it and
/// halves the step.
#[allow(clippy::too_many_arguments)]
fn finish_round(
    objective: Objective,
    state: &mut State,
    current: &mut Network,
    round_start: &mut Network,
    splits: &Splits<'_>,
    base: &Baseline,
    energy: &EnergyModel,
    cfg: &PruneConfig,
    progress: &mut impl FnMut(PruneEvent<'_>),
) -> Result<()> {
    let val = &splits.data.val;
    let score = |net: &mut Network| SuffixScorer::new(net, val, 0).correct(net);
    let pre = score(current);
    progress(PruneEvent::Status("fine-tuning"));
    let started = std::time::Instant::now();
    let before_finetune = current.clone();
    finetune(current, splits.data, cfg, state.round, progress)?;
    let mut now = score(current);
    // Fine-tuning is there to win accuracy back; on a small or noisy split
    // it can lose some, and then the weights before it are kept.
    let count = |c: &Correct| c.iter().filter(|&&v| v).count();
    let finetune_kept = count(&now) >= count(&pre);
    if !finetune_kept {
        *current = before_finetune;
        now = pre.clone();
    }
    let change = Change::new(&base.val, &now);
    let holdout = splits.data.test.len();
    let within_budget = change.within(f64::from(cfg.max_accuracy_drop), cfg.confidence, holdout);
    let e = energy.model_energy(current, &splits.calib)?.total;
    let nonzero = current.live_weights().0;
    let improved = match objective {
        Objective::Energy => e < state.round_energy_start,
        Objective::Weights => nonzero < round_start.live_weights().0,
    };
    let accepted = within_budget && improved;
    let record = RoundRecord {
        round: state.round,
        step_scale: state.step_scale,
        energy_before: state.round_energy_start,
        energy_after: e,
        val_accuracy_before_finetune: Change::new(&base.val, &pre).accuracy as f32,
        val_accuracy: change.accuracy as f32,
        val_change: change,
        nonzero_weights: nonzero,
        within_budget,
        improved,
        accepted,
        finetune_kept,
        finetune_seconds: started.elapsed().as_secs_f64(),
    };
    progress(PruneEvent::RoundDone(&record));
    let removed = round_start
        .live_weights()
        .0
        .saturating_sub(record.nonzero_weights);
    if accepted {
        state.round_energy_start = e;
        *round_start = current.clone();
        // A round that removes nothing leaves nothing for the next one.
        state.finished = removed == 0 || state.round >= cfg.max_rounds;
    } else {
        *current = round_start.clone();
        state.step_scale *= 0.5;
        state.finished = state.round >= cfg.max_rounds;
    }
    state.rounds.push(record);
    state.round += 1;
    state.done.clear();
    Ok(())
}

fn outcome(
    state: State,
    mut current: Network,
    original: &mut Network,
    splits: &Splits<'_>,
    base: &Baseline,
    energy: &EnergyModel,
    cfg: &PruneConfig,
) -> Result<Option<PruneOutcome>> {
    let data = splits.data;
    let test = |net: &mut Network| SuffixScorer::new(net, &data.test, 0).correct(net);
    let (test_base, test_now) = (test(original), test(&mut current));
    let val_now = SuffixScorer::new(&mut current, &data.val, 0).correct(&mut current);
    let val_change = Change::new(&base.val, &val_now);
    let test_change = Change::new(&test_base, &test_now);
    let summary = |net: &mut Network, val: f64, test: f64| -> Result<Summary> {
        let (nonzero_weights, total_weights) = net.live_weights();
        Ok(Summary {
            val_accuracy: val as f32,
            test_accuracy: test as f32,
            energy: energy.model_energy(net, &splits.calib)?,
            nonzero_weights,
            total_weights,
        })
    };
    let baseline = summary(
        original,
        val_change.baseline_accuracy,
        test_change.baseline_accuracy,
    )?;
    let pruned = summary(&mut current, val_change.accuracy, test_change.accuracy)?;
    Ok(Some(PruneOutcome {
        net: current,
        baseline,
        pruned,
        val_change,
        test_change,
        finetune_epochs: state.rounds.len() * cfg.finetune_epochs,
        steps: state.steps,
        rounds: state.rounds,
    }))
}

fn fingerprint(cfg: &PruneConfig, net: &Network) -> String {
    // Configuration plus a checksum of the starting weights.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (_, p) in net.params() {
        for v in p.value().iter() {
            h = (h ^ u64::from(v.to_bits())).wrapping_mul(0x100_0000_01b3);
        }
    }
    format!(
        "{}|{h:016x}",
        serde_json::to_string(cfg).expect("config serialises")
    )
}

fn finetune(
    net: &mut Network,
    data: &Dataset,
    cfg: &PruneConfig,
    round: usize,
    progress: &mut impl FnMut(PruneEvent<'_>),
) -> Result<()> {
    if cfg.finetune_epochs == 0 {
        return Ok(());
    }
    let seed = cfg.seed.wrapping_add(1000 * round as u64);
    let train_split = match cfg.finetune_samples {
        Some(n) if n < data.train.len() => {
            let mut idx: Vec<usize> = (0..data.train.len()).collect();
            idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed ^ 0x5eed));
            idx.truncate(n);
            let (images, labels) = data.train.gather(&idx);
            Split { images, labels }
        }
        _ => data.train.clone(),
    };
    let subset = Dataset {
        train: train_split,
        // Validation is scored by the caller, once.
        val: data.val.head(0),
        test: data.test.head(0),
    };
    let tc = TrainConfig {
        epochs: cfg.finetune_epochs,
        batch_size: cfg.finetune_batch,
        lr: cfg.finetune_lr,
        optimizer: OptimizerKind::adam(),
        lr_schedule: LrSchedule::Cosine,
        seed,
    };
    train(net, &subset, &tc, |p| progress(PruneEvent::Train(p)))?;
    Ok(())
}
