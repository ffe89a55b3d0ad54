//! Energy-aware pruning (Yang, Chen, Sze, CVPR 2017) and the magnitude
//! pruning baseline (Han et al. 2015).
//!
//! One round of energy-aware pruning visits every conv/fc layer, the layer
//! with the highest simulated energy first (re-estimated after each layer).
//! For the visited layer a binary search on the kept fraction finds the
//! fewest weights that keep validation accuracy within the budget; each
//! candidate keeps, per output channel, the largest weights by magnitude and
//! then greedily restores the weights whose return most reduces the output
//! feature-map error, and refits the kept weights (and bias) by least squares
//! against the unpruned layer's output on a calibration batch ([`lsq`]).
//! After all layers the network is fine-tuned under the masks. Rounds repeat
//! while energy falls and validation accuracy holds.
//!
//! Magnitude pruning runs the same loop with network order, a layer-wide
//! magnitude threshold and no refit, with the same budget and fine-tuning.
//!
//! Every decision uses the validation split; the test split is only scored
//! for the report. With a checkpoint directory the state is saved after
//! every layer and every fine-tune, so a killed run resumes where it stopped.

pub mod lsq;

use std::fs;
use std::path::{Path, PathBuf};

use ndarray::{s, Array2, Array4, ArrayD, Axis, Ix2, Ix4};
use rand::{seq::SliceRandom, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::data::{Dataset, Split};
use crate::energy::{EnergyModel, ModelEnergy};
use crate::error::{PrunerError, Result};
use crate::model::{load_model, save_model};
use crate::nn::im2col::im2col;
use crate::nn::{argmax_rows, gemm_to_oihw, oihw_to_gemm, Layer, Network, OptimizerKind};
use crate::train::{count_correct, evaluate, train, LrSchedule, Progress, TrainConfig};
use lsq::LayerStats;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Energy-aware pruning.
    Eap,
    /// Magnitude pruning (Han et al. 2015).
    Magnitude,
}

impl Method {
    pub fn key(&self) -> &'static str {
        match self {
            Method::Eap => "eap",
            Method::Magnitude => "magnitude",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PruneConfig {
    pub method: Method,
    /// Largest allowed drop of validation accuracy from the baseline after
    /// fine-tuning (0.01 = one point).
    pub max_accuracy_drop: f32,
    /// Per-layer search budget as a multiple of `max_accuracy_drop` (the
    /// accuracy before fine-tuning may fall this far below the baseline).
    pub layer_budget_scale: f32,
    /// Restrict data (training, validation, test) to these classes.
    pub classes: Option<Vec<u8>>,
    /// Most prune + fine-tune rounds.
    pub max_rounds: usize,
    /// A round that lowers energy by less than this fraction ends the run.
    pub min_energy_gain: f64,
    /// Fine-tuning epochs per round.
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
    /// Validation images (the first ones) scored during the per-layer search;
    /// `None`: all. Round acceptance always uses the whole split.
    pub search_samples: Option<usize>,
    /// Binary-search steps on the kept fraction.
    pub search_steps: usize,
    /// Share of each channel's kept weights chosen by greedy output-error
    /// restoration instead of magnitude (EAP only).
    pub restore_fraction: f64,
    /// Ridge of the refit, relative to the mean diagonal of the Gram matrix,
    /// pulling towards the weights before pruning (EAP only).
    pub ridge: f64,
    pub seed: u64,
}

impl Default for PruneConfig {
    fn default() -> Self {
        PruneConfig {
            method: Method::Eap,
            max_accuracy_drop: 0.01,
            layer_budget_scale: 1.0,
            classes: None,
            max_rounds: 3,
            min_energy_gain: 0.01,
            finetune_epochs: 1,
            finetune_samples: None,
            finetune_lr: 3e-4,
            finetune_batch: 64,
            calibration_samples: 256,
            refit_samples: 1024,
            refit_max_rows: 131_072,
            search_samples: None,
            search_steps: 7,
            restore_fraction: 0.2,
            ridge: 1e-3,
            seed: 0,
        }
    }
}

/// One visited layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerStep {
    /// 1-based.
    pub round: usize,
    pub layer: String,
    pub density_before: f64,
    pub density_after: f64,
    /// Validation accuracy (search subset) with the layer pruned, before
    /// fine-tuning.
    pub val_accuracy: f32,
    /// EAP: the same weights without the least-squares refit.
    pub val_accuracy_no_refit: Option<f32>,
    /// EAP: squared output error relative to ‖Y‖² on the calibration batch,
    /// pruned only and pruned + refit.
    pub output_error_pruned: Option<f64>,
    pub output_error_refit: Option<f64>,
    /// Model energy before and after this layer.
    pub energy_before: f64,
    pub energy_after: f64,
    pub seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRecord {
    /// 1-based.
    pub round: usize,
    pub energy_before: f64,
    pub energy_after: f64,
    pub val_accuracy_before_finetune: f32,
    pub val_accuracy: f32,
    pub nonzero_weights: usize,
    /// False when fine-tuning could not bring accuracy back within the
    /// budget; the round is then undone.
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
struct State {
    /// The configuration and model the run belongs to.
    fingerprint: String,
    /// 1-based round in progress.
    round: usize,
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

const STATE_FILE: &str = "state.json";

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
    check_config(cfg)?;
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
    let calib = data.val.head(cfg.calibration_samples).images;
    let search = data.val.head(cfg.search_samples.unwrap_or(usize::MAX));
    let refit_images = data.train.head(cfg.refit_samples).images;
    let shapes = original.layer_shapes();
    let n_layers = shapes.len();

    progress(PruneEvent::Status("scoring the baseline"));
    let baseline_val = evaluate(&mut original, &data.val.images, &data.val.labels)?;
    let baseline_energy = energy.model_energy(&mut original, &calib)?;
    // The per-layer search scores a validation subset: its floor is relative
    // to the baseline on that same subset.
    let baseline_search = evaluate(&mut original, &search.images, &search.labels)?;
    let floor_layer = baseline_search - cfg.max_accuracy_drop * cfg.layer_budget_scale;
    let floor_round = baseline_val - cfg.max_accuracy_drop;

    let fingerprint = fingerprint(cfg, &original);
    let ckpt = checkpoint.map(|d| Checkpointer {
        dir: d.to_path_buf(),
    });
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
                fingerprint: fingerprint.clone(),
                round: 1,
                done: Vec::new(),
                round_energy_start: baseline_energy.total,
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
    let mut finished_here = 0usize;
    while !state.finished {
        if state.done.len() < n_layers {
            let e_now = energy.model_energy(&mut current, &calib)?;
            let k = next_layer(cfg.method, &e_now, &state.done);
            progress(PruneEvent::LayerStart {
                round: state.round,
                index: state.done.len() + 1,
                of: n_layers,
                name: &shapes[k].name,
            });
            let mut step = prune_layer(
                &mut current,
                &mut original,
                k,
                &refit_images,
                &search,
                floor_layer,
                cfg,
                &mut progress,
            )?;
            step.round = state.round;
            step.energy_before = e_now.total;
            step.energy_after = energy.model_energy(&mut current, &calib)?.total;
            progress(PruneEvent::LayerDone(&step));
            state.steps.push(step);
            state.done.push(shapes[k].name.clone());
            if let Some(c) = &ckpt {
                c.save(&mut state, &current, false)?;
            }
            finished_here += 1;
            if stop_after_layers.is_some_and(|n| finished_here >= n) && state.done.len() < n_layers
            {
                return Ok(None);
            }
            continue;
        }

        // Every layer visited: fine-tune under the masks, then judge the round.
        let acc_pre = evaluate(&mut current, &data.val.images, &data.val.labels)?;
        progress(PruneEvent::Status("fine-tuning"));
        let started = std::time::Instant::now();
        let before_finetune = current.clone();
        finetune(&mut current, data, cfg, state.round, &mut progress)?;
        let mut acc = evaluate(&mut current, &data.val.images, &data.val.labels)?;
        // Fine-tuning is there to win accuracy back; on a small or noisy
        // split it can lose some, and then the weights before it are kept.
        let finetune_kept = acc >= acc_pre;
        if !finetune_kept {
            current = before_finetune;
            acc = acc_pre;
        }
        let e = energy.model_energy(&mut current, &calib)?.total;
        let accepted = acc >= floor_round;
        let record = RoundRecord {
            round: state.round,
            energy_before: state.round_energy_start,
            energy_after: e,
            val_accuracy_before_finetune: acc_pre,
            val_accuracy: acc,
            nonzero_weights: current.live_weights().0,
            accepted,
            finetune_kept,
            finetune_seconds: started.elapsed().as_secs_f64(),
        };
        progress(PruneEvent::RoundDone(&record));
        if accepted {
            let gain = 1.0 - e / state.round_energy_start;
            state.finished = gain < cfg.min_energy_gain || state.round >= cfg.max_rounds;
            state.round_energy_start = e;
            round_start = current.clone();
        } else {
            current = round_start.clone();
            state.finished = true;
        }
        state.rounds.push(record);
        state.round += 1;
        state.done.clear();
        if let Some(c) = &ckpt {
            c.save(&mut state, &current, true)?;
        }
    }

    progress(PruneEvent::Status("scoring the result"));
    let baseline = summary(&mut original, data, energy, &calib, baseline_val)?;
    let val = evaluate(&mut current, &data.val.images, &data.val.labels)?;
    let pruned = summary(&mut current, data, energy, &calib, val)?;
    Ok(Some(PruneOutcome {
        net: current,
        baseline,
        pruned,
        finetune_epochs: state.rounds.len() * cfg.finetune_epochs,
        steps: state.steps,
        rounds: state.rounds,
    }))
}

fn check_config(cfg: &PruneConfig) -> Result<()> {
    let bad = |m: String| Err(PrunerError::Config(m));
    if !(0.0..1.0).contains(&cfg.max_accuracy_drop) {
        return bad(format!(
            "max accuracy drop {} must be in [0, 1)",
            cfg.max_accuracy_drop
        ));
    }
    if cfg.max_rounds == 0 || cfg.finetune_epochs == 0 || cfg.calibration_samples == 0 {
        return bad("rounds, fine-tune epochs and calibration samples must be positive".into());
    }
    if let Some(c) = &cfg.classes {
        if c.is_empty() || c.iter().any(|&x| x >= 10) {
            return bad(format!("classes {c:?} must be a non-empty subset of 0..10"));
        }
    }
    if !(0.0..=1.0).contains(&cfg.restore_fraction) || cfg.ridge < 0.0 {
        return bad("restore fraction must be in [0, 1] and ridge non-negative".into());
    }
    Ok(())
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

/// EAP: the unvisited layer with the highest energy; magnitude: network order.
fn next_layer(method: Method, e: &ModelEnergy, done: &[String]) -> usize {
    let open = e
        .layers
        .iter()
        .enumerate()
        .filter(|(_, l)| !done.contains(&l.name));
    match method {
        Method::Magnitude => open.map(|(i, _)| i).next(),
        Method::Eap => open
            .max_by(|a, b| {
                a.1.energy
                    .total
                    .total_cmp(&b.1.energy.total)
                    .then(b.0.cmp(&a.0))
            })
            .map(|(i, _)| i),
    }
    .expect("called with a layer left")
}

fn summary(
    net: &mut Network,
    data: &Dataset,
    energy: &EnergyModel,
    calib: &Array4<f32>,
    val_accuracy: f32,
) -> Result<Summary> {
    let test_accuracy = evaluate(net, &data.test.images, &data.test.labels)?;
    let (nonzero_weights, total_weights) = net.live_weights();
    Ok(Summary {
        val_accuracy,
        test_accuracy,
        energy: energy.model_energy(net, calib)?,
        nonzero_weights,
        total_weights,
    })
}

fn finetune(
    net: &mut Network,
    data: &Dataset,
    cfg: &PruneConfig,
    round: usize,
    progress: &mut impl FnMut(PruneEvent<'_>),
) -> Result<()> {
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

// ---- one layer ----------------------------------------------------------------------------

/// Weight tensor as the GEMM matrix `[M, K]` (conv columns ordered
/// `(r, s, c)` like im2col), in f64.
fn to_gemm(w: &ArrayD<f32>) -> Array2<f64> {
    match w.view().into_dimensionality::<Ix4>() {
        Ok(w4) => oihw_to_gemm(w4).mapv(f64::from),
        Err(_) => w
            .view()
            .into_dimensionality::<Ix2>()
            .expect("conv or fc weight")
            .mapv(f64::from),
    }
}

/// Inverse of [`to_gemm`] for a tensor of `shape`.
fn from_gemm(g: &Array2<f64>, shape: &[usize]) -> ArrayD<f32> {
    let g = g.mapv(|v| v as f32);
    match *shape {
        [m, c, r, s] => gemm_to_oihw(g, [m, c, r, s]).into_dyn(),
        _ => g.into_dyn(),
    }
}

/// One candidate for a layer: weights (GEMM layout), mask, bias.
struct Candidate {
    w: Array2<f64>,
    mask: Array2<f64>,
    bias: Vec<f64>,
}

#[allow(clippy::too_many_arguments)]
fn prune_layer(
    current: &mut Network,
    original: &mut Network,
    k: usize,
    refit_images: &Array4<f32>,
    search: &Split,
    floor: f32,
    cfg: &PruneConfig,
    progress: &mut impl FnMut(PruneEvent<'_>),
) -> Result<LayerStep> {
    let started = std::time::Instant::now();
    let li = current.param_layer_indices()[k];
    let shape = current.layer_shapes()[k].clone();
    if shape.groups != 1 {
        return Err(PrunerError::Config(format!(
            "layer {}: grouped convolutions are not supported by the pruner",
            shape.name
        )));
    }
    let wname = format!("{}.weight", shape.name);
    let bname = format!("{}.bias", shape.name);
    let wparam = current.param(&wname).expect("layer exists");
    let wshape = wparam.shape().to_vec();
    let w_cur = to_gemm(wparam.value());
    let alive = match wparam.mask() {
        Some(m) => to_gemm(m),
        None => Array2::ones(w_cur.dim()),
    };
    let bias_cur: Vec<f64> = current
        .param(&bname)
        .expect("layer exists")
        .value()
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    let (m, kk) = w_cur.dim();
    let n_alive = alive.iter().filter(|&&v| v != 0.0).count();
    let total = m * kk;
    let density_before = n_alive as f64 / total as f64;

    // Search activations: the validation subset up to this layer's input.
    let prefix: Vec<ArrayD<f32>> = chunks(&search.images, 128)
        .map(|x| current.forward_range(x, 0..li))
        .collect();
    let n_net = current.layers().len();
    let score = |net: &mut Network| -> f32 {
        let mut correct = 0usize;
        let mut at = 0usize;
        for a in &prefix {
            let logits = net
                .forward_range(a.clone(), li..n_net)
                .into_dimensionality::<Ix2>()
                .expect("class scores");
            let n = logits.nrows();
            correct += count_correct(&argmax_rows(logits.view()), &search.labels[at..at + n]);
            at += n;
        }
        correct as f32 / search.len().max(1) as f32
    };

    let stats = match cfg.method {
        Method::Eap => Some(layer_stats(
            current,
            original,
            li,
            refit_images,
            cfg.refit_max_rows,
        )?),
        Method::Magnitude => None,
    };

    // Layer-wide magnitude order of the alive weights.
    let mut order: Vec<(usize, usize)> = (0..m)
        .flat_map(|c| (0..kk).map(move |j| (c, j)))
        .filter(|&(c, j)| alive[[c, j]] != 0.0)
        .collect();
    order.sort_by(|a, b| {
        w_cur[[b.0, b.1]]
            .abs()
            .total_cmp(&w_cur[[a.0, a.1]].abs())
            .then(a.cmp(b))
    });

    let build = |keep: usize, refit: bool| -> Candidate {
        let mut mask = Array2::<f64>::zeros((m, kk));
        for &(c, j) in &order[..keep.min(order.len())] {
            mask[[c, j]] = 1.0;
        }
        let Some(st) = &stats else {
            let w = &w_cur * &mask;
            return Candidate {
                w,
                mask,
                bias: bias_cur.clone(),
            };
        };
        let rows: Vec<(Vec<f64>, Vec<f64>)> = (0..m)
            .into_par_iter()
            .map(|c| {
                let kc = mask.row(c).iter().filter(|&&v| v != 0.0).count();
                let mut wa: Vec<f64> = w_cur.row(c).to_vec();
                wa.push(bias_cur[c]);
                let alive_c: Vec<bool> = alive.row(c).iter().map(|&v| v != 0.0).collect();
                let restore = (cfg.restore_fraction * kc as f64).floor() as usize;
                let kept = st.select(c, &wa, &alive_c, kc, restore);
                let out = if refit {
                    st.refit(c, &kept, &wa, cfg.ridge)
                } else {
                    let mut v = vec![0.0; kk + 1];
                    for &j in &kept {
                        v[j] = wa[j];
                    }
                    v[kk] = wa[kk];
                    v
                };
                let mut mrow = vec![0.0; kk];
                for &j in &kept {
                    mrow[j] = 1.0;
                }
                (out, mrow)
            })
            .collect();
        let mut w = Array2::<f64>::zeros((m, kk));
        let mut mask = Array2::<f64>::zeros((m, kk));
        let mut bias = vec![0.0; m];
        for (c, (out, mrow)) in rows.into_iter().enumerate() {
            for j in 0..kk {
                w[[c, j]] = out[j] * mrow[j];
                mask[[c, j]] = mrow[j];
            }
            bias[c] = out[kk];
        }
        Candidate { w, mask, bias }
    };
    let install = |net: &mut Network, cand: &Candidate| -> Result<()> {
        net.set_mask(&wname, Some(from_gemm(&cand.mask, &wshape)))?;
        let p = net.param_mut(&wname).expect("layer exists");
        p.set_value(&wname, from_gemm(&cand.w, &wshape))?;
        let b = ArrayD::from_shape_vec(vec![m], cand.bias.iter().map(|&v| v as f32).collect())
            .expect("bias length");
        net.param_mut(&bname)
            .expect("layer exists")
            .set_value(&bname, b)
    };
    let saved_w = current.param(&wname).expect("exists").clone();
    let saved_b = current.param(&bname).expect("exists").clone();
    let restore_saved = |net: &mut Network| -> Result<()> {
        net.set_mask(&wname, saved_w.mask().cloned())?;
        net.param_mut(&wname)
            .expect("exists")
            .set_value(&wname, saved_w.value().clone())?;
        net.param_mut(&bname)
            .expect("exists")
            .set_value(&bname, saved_b.value().clone())
    };

    // Binary search on the kept count: `hi` always passes (the current
    // weights), `lo` fails or is zero.
    let base_acc = score(current);
    let (mut lo, mut hi) = (0usize, n_alive);
    let mut best: Option<(usize, f32)> = None;
    for _ in 0..cfg.search_steps {
        if hi - lo <= 1 {
            break;
        }
        let mid = (lo + hi) / 2;
        let cand = build(mid, true);
        install(current, &cand)?;
        let acc = score(current);
        let ok = acc >= floor;
        progress(PruneEvent::Candidate {
            fraction: mid as f64 / total as f64,
            accuracy: acc,
            accepted: ok,
        });
        if ok {
            hi = mid;
            best = Some((mid, acc));
        } else {
            lo = mid;
        }
    }

    let mut step = LayerStep {
        round: 0,
        layer: shape.name.clone(),
        density_before,
        density_after: density_before,
        val_accuracy: base_acc,
        val_accuracy_no_refit: None,
        output_error_pruned: None,
        output_error_refit: None,
        energy_before: 0.0,
        energy_after: 0.0,
        seconds: 0.0,
    };
    match best {
        None => restore_saved(current)?,
        Some((keep, acc)) => {
            let cand = build(keep, true);
            if let Some(st) = &stats {
                // The refit's effect at the chosen amount: accuracy and
                // output error with the same support, without the refit.
                let plain = build(keep, false);
                install(current, &plain)?;
                step.val_accuracy_no_refit = Some(score(current));
                let yy: f64 = st.yy.sum().max(1e-300);
                let err = |c: &Candidate| -> f64 {
                    (0..m)
                        .map(|ch| {
                            let mut v: Vec<f64> = c.w.row(ch).to_vec();
                            v.push(c.bias[ch]);
                            st.error(ch, &v)
                        })
                        .sum::<f64>()
                        / yy
                };
                step.output_error_pruned = Some(err(&plain));
                step.output_error_refit = Some(err(&cand));
            }
            install(current, &cand)?;
            step.val_accuracy = acc;
            step.density_after =
                current.param(&wname).expect("exists").live_count() as f64 / total as f64;
        }
    }
    step.seconds = started.elapsed().as_secs_f64();
    Ok(step)
}

fn chunks(images: &Array4<f32>, size: usize) -> impl Iterator<Item = ArrayD<f32>> + '_ {
    let n = images.len_of(Axis(0));
    (0..n).step_by(size).map(move |s0| {
        images
            .slice(s![s0..(s0 + size).min(n), .., .., ..])
            .to_owned()
            .into_dyn()
    })
}

/// Normal-equation statistics of param layer at `li`: inputs from the
/// current (pruned) network, targets from the original network's output.
fn layer_stats(
    current: &mut Network,
    original: &mut Network,
    li: usize,
    images: &Array4<f32>,
    max_rows: usize,
) -> Result<LayerStats> {
    let mut stats: Option<LayerStats> = None;
    let n_images = images.len_of(Axis(0));
    let mut row_at = 0usize; // global index of the next lowered row
    for x in chunks(images, 32) {
        let n_chunk = x.shape()[0];
        let input = current.forward_range(x.clone(), 0..li);
        let target = original.forward_range(x, 0..li + 1);
        let (lowered, y) = match &current.layers()[li] {
            Layer::Conv2d(l) => {
                let a = input.into_dimensionality::<Ix4>().expect("NHWC");
                let (n, h, w, _) = a.dim();
                let g = l.geom(h, w);
                let a = a.as_standard_layout();
                let mut cols = Array2::<f32>::zeros((n * g.pixels(), g.row_len()));
                im2col(
                    a.as_slice().expect("standard"),
                    &g,
                    cols.as_slice_mut().expect("fresh"),
                );
                let m = l.out_channels;
                let y = target
                    .as_standard_layout()
                    .into_owned()
                    .into_shape_with_order((n * g.pixels(), m))
                    .expect("output shape");
                (cols, y)
            }
            Layer::Linear(_) => (
                input.into_dimensionality::<Ix2>().expect("features"),
                target.into_dimensionality::<Ix2>().expect("features"),
            ),
            _ => unreachable!("param layer"),
        };
        // Thin conv rows evenly (every `step`-th row over the whole batch).
        let rows = lowered.nrows();
        let per_image = rows / n_chunk;
        let step = (n_images * per_image).div_ceil(max_rows.max(1)).max(1);
        let (lowered, y) = if step > 1 {
            let idx: Vec<usize> = (0..rows)
                .filter(|r| (row_at + r).is_multiple_of(step))
                .collect();
            (lowered.select(Axis(0), &idx), y.select(Axis(0), &idx))
        } else {
            (lowered, y)
        };
        row_at += rows;
        let st = stats.get_or_insert_with(|| LayerStats::new(lowered.ncols(), y.ncols()));
        st.accumulate(lowered.view(), y.view());
    }
    stats.ok_or_else(|| PrunerError::Config("empty calibration batch".into()))
}

// ---- checkpoints --------------------------------------------------------------------------

struct Checkpointer {
    dir: PathBuf,
}

impl Checkpointer {
    fn load(&self, fingerprint: &str) -> Result<Option<(State, Network, Network)>> {
        let path = self.dir.join(STATE_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(PrunerError::io(&path, e)),
        };
        let bad = |reason: String| PrunerError::Checkpoint {
            path: path.clone(),
            reason,
        };
        let state: State = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if state.fingerprint != fingerprint {
            return Err(bad(
                "it was written by a run with other settings or another model; \
                 use another --out or delete the checkpoint"
                    .into(),
            ));
        }
        let current = load_model(&self.dir.join(&state.current))?;
        let round_start = load_model(&self.dir.join(&state.round_start))?;
        Ok(Some((state, current, round_start)))
    }

    /// Writes the model into a fresh directory, then the state file
    /// atomically (the commit point), then drops directories no longer
    /// referenced. `new_round`: the current model also becomes the round start.
    fn save(&self, state: &mut State, current: &Network, new_round: bool) -> Result<()> {
        fs::create_dir_all(&self.dir).map_err(|e| PrunerError::io(&self.dir, e))?;
        state.seq += 1;
        let name = format!("model-{:05}", state.seq);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let _ = fs::remove_dir_all(&tmp);
        save_model(current, &tmp)?;
        let dst = self.dir.join(&name);
        // A run killed between this rename and the state file leaves an
        // unreferenced directory of the same name behind.
        let _ = fs::remove_dir_all(&dst);
        fs::rename(&tmp, &dst).map_err(|e| PrunerError::io(&dst, e))?;
        state.current = name.clone();
        if new_round {
            state.round_start = name.clone();
        }
        let json = serde_json::to_string_pretty(state).expect("state serialises");
        write_atomic(&self.dir.join(STATE_FILE), json.as_bytes())?;
        if let Ok(entries) = fs::read_dir(&self.dir) {
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n.starts_with("model-") && n != state.current && n != state.round_start {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
        Ok(())
    }

    /// Saves the model a run starts from (once, before the first layer).
    fn save_start(&self, net: &Network) -> Result<()> {
        fs::create_dir_all(&self.dir).map_err(|e| PrunerError::io(&self.dir, e))?;
        let start = self.dir.join("model-start");
        if start.exists() {
            return Ok(());
        }
        let tmp = self.dir.join(".model-start.tmp");
        let _ = fs::remove_dir_all(&tmp);
        save_model(net, &tmp)?;
        fs::rename(&tmp, &start).map_err(|e| PrunerError::io(&start, e))
    }
}
