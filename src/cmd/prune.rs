//! `ember prune`: energy-aware (or magnitude) pruning of a trained model, with the energy of
//! every layer from the simulator, a table on stdout and `report.json` beside the pruned model;
//! `--sweep-budget` runs every method at every budget and draws the energy-accuracy curves.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use serde_json::Value;

use ember_pruner::energy::EnergyModel;
use ember_pruner::model::onnx::Imported;
use ember_pruner::{
    prune, save_model, Allocation, Criterion, Dataset, LayerOrder, Method, Network, Progress,
    PruneConfig, PruneEvent,
};

use crate::cmd::data::DataArgs;
use crate::cmd::{load_any, progress_bar, say};
use crate::output::write_atomic;
use ember_explore::load_hardware;

mod report;
mod sweep;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// Energy-aware pruning (Yang, Chen, Sze, CVPR 2017).
    Eap,
    /// Magnitude pruning as Han et al. 2015 made it: per-layer rates from a sensitivity
    /// analysis, iterative prune and retrain.
    Magnitude,
}

impl MethodArg {
    fn method(self) -> Method {
        match self {
            MethodArg::Eap => Method::Eap,
            MethodArg::Magnitude => Method::Magnitude,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OrderArg {
    /// Highest simulated energy first (eap).
    Energy,
    /// Input to output.
    Network,
    /// Most remaining weights first.
    Weights,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CriterionArg {
    /// Largest weights of each output channel.
    Magnitude,
    /// Largest weights, then the ones whose return most reduces the output-feature-map error (eap).
    OutputError,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AllocateArg {
    /// Weights removed per unit of accuracy (Han et al.).
    Weights,
    /// Simulated energy saved per unit of accuracy.
    Energy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// The model: a directory from `ember train`, or an ONNX file (your own model: the pruned
    /// model is written back into its graph as OUT/model.onnx).
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,
    /// Pruning method; with --sweep-budget a list (e.g. eap,magnitude).
    #[arg(long, value_enum, value_delimiter = ',', required = true)]
    pub method: Vec<MethodArg>,
    /// Largest allowed accuracy drop from the baseline (0.01 = one point), judged on validation
    /// data with the margin of --confidence.
    #[arg(long, default_value_t = 0.01)]
    pub max_accuracy_drop: f32,
    /// Run every --method at each of these budgets (e.g. 0.0025,0.005,0.01,0.02,0.04) into
    /// OUT/METHOD-BUDGET/, then write OUT/sweep.csv and the curves OUT/sweep-accuracy.svg and
    /// OUT/sweep-weights.svg.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        conflicts_with = "max_accuracy_drop"
    )]
    pub sweep_budget: Option<Vec<f32>>,
    /// One-sided confidence that the drop a held-out split of the test split's size would show
    /// stays within the budget; 0.5 accepts on the validation drop alone.
    #[arg(long, default_value_t = 0.95)]
    pub confidence: f64,
    /// eap ablation: the order layers are visited in.
    #[arg(long, value_enum)]
    pub order: Option<OrderArg>,
    /// eap ablation: which weights a layer keeps.
    #[arg(long, value_enum)]
    pub criterion: Option<CriterionArg>,
    /// eap ablation: least-squares refit of the kept weights.
    #[arg(long, value_enum)]
    pub refit: Option<OnOff>,
    /// Magnitude pruning: what its per-layer rate allocation buys per unit of accuracy
    /// (default weights, as Han et al.).
    #[arg(long, value_enum)]
    pub allocate: Option<AllocateArg>,
    /// Hardware config (TOML); default: the embedded hw_configs/eyeriss-v1.toml. Energy uses the
    /// `eap` sparsity preset whatever the file says.
    #[arg(long, value_name = "FILE")]
    pub hw: Option<PathBuf>,
    /// Prune for these classes only, e.g. 0,1,2 (data and accuracy restricted to them).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub classes: Option<Vec<u8>>,
    #[command(flatten)]
    pub data: DataArgs,
    /// Fine-tuning epochs after each pruning round (the same for every method).
    #[arg(long, default_value_t = 1)]
    pub finetune_epochs: usize,
    /// No fine-tuning: write the pruned model and masks for fine-tuning elsewhere (PyTorch; the
    /// README shows how to keep the masks there).
    #[arg(long, conflicts_with = "finetune_epochs")]
    pub no_finetune: bool,
    /// Output directory: pruned model, report.json, checkpoint/.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Prune + fine-tune rounds, rejected ones included (the same for every method).
    #[arg(long, default_value_t = PruneConfig::default().max_rounds)]
    pub max_rounds: usize,
    /// Fine-tune on a seeded random subset of N training images per round.
    #[arg(long, value_name = "N")]
    pub finetune_samples: Option<usize>,
    /// Validation images scored while a round prunes (the first N); acceptance always scores
    /// the whole validation split.
    #[arg(long, value_name = "N", default_value_t = PruneConfig::default().search_samples.unwrap_or(usize::MAX))]
    pub search_samples: usize,
    /// Accuracy the network may lose while a round prunes, from where the round starts (before
    /// fine-tuning), as a multiple of
    /// the budget (halved after a rejected round). Default: the method's step tuned on
    /// validation data (eap 1, magnitude 2).
    #[arg(long)]
    pub layer_budget_scale: Option<f32>,
    /// Validation images on which activation densities are measured.
    #[arg(long, default_value_t = 256)]
    pub calibration_samples: usize,
    /// Training images over which the least-squares refit matches the unpruned outputs (eap).
    #[arg(long, default_value_t = 1024)]
    pub refit_samples: usize,
    /// Adam learning rate of fine-tuning (cosine decay).
    #[arg(long, default_value_t = 3e-4)]
    pub finetune_lr: f32,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Stop after this many layers (testing resumption).
    #[arg(long, hide = true)]
    pub stop_after_layers: Option<usize>,
    /// Use only the first N training images (fast tests).
    #[arg(long, hide = true)]
    pub train_limit: Option<usize>,
}

/// What every run of one invocation shares.
struct Job {
    net: Network,
    /// The ONNX model the network came from, to write the result back into.
    onnx: Option<Imported>,
    units: String,
    data: Dataset,
    energy: EnergyModel,
    hw_name: String,
}

pub fn run(args: &PruneArgs) -> Result<()> {
    check_args(args)?;
    // Everything is read and checked before anything is written to --out.
    let loaded = load_any(&args.model)?;
    let mut data = args.data.load_for(&loaded.net)?;
    if let Some(n) = args.train_limit {
        data.train = data.train.head(n);
    }
    let hw = load_hardware(args.hw.as_deref())?;
    let job = Job {
        net: loaded.net,
        onnx: loaded.onnx,
        units: serde_json::to_value(hw.energy.units)?
            .as_str()
            .unwrap_or("normalized")
            .to_string(),
        data,
        hw_name: hw.arch.name.clone(),
        energy: EnergyModel::eap(hw),
    };
    match &args.sweep_budget {
        Some(budgets) => sweep::run(args, &job, budgets),
        None => {
            let cfg = config(args, args.method[0].method(), args.max_accuracy_drop);
            run_one(args, &job, &cfg, &args.out)?;
            Ok(())
        }
    }
}

fn check_args(args: &PruneArgs) -> Result<()> {
    if let Some(c) = &args.classes {
        if c.is_empty() || c.iter().any(|&x| x >= 10) {
            bail!("--classes {c:?}: fix: give class indices in 0..10, e.g. --classes 0,1,2");
        }
    }
    if args.sweep_budget.is_none() && args.method.len() != 1 {
        bail!("--method takes one method unless --sweep-budget is given; fix: --method eap");
    }
    if args.allocate.is_some() && args.method.contains(&MethodArg::Eap) {
        bail!(
            "--allocate is an option of --method magnitude (how its sensitivity analysis spends \
             the budget); eap visits layers one by one; fix: drop --allocate or use --method \
             magnitude"
        );
    }
    let ablation = args.order.is_some() || args.criterion.is_some() || args.refit.is_some();
    if ablation && args.method.contains(&MethodArg::Magnitude) {
        bail!(
            "--order, --criterion and --refit are options of --method eap (its ablations); \
             magnitude pruning takes per-layer rates from its sensitivity analysis; \
             fix: drop them or use --method eap"
        );
    }
    if let Some(b) = &args.sweep_budget {
        if b.is_empty() || b.iter().any(|x| !(0.0..1.0).contains(x)) {
            bail!("--sweep-budget {b:?}: fix: give budgets in [0, 1), e.g. 0.005,0.01,0.02");
        }
    }
    Ok(())
}

/// The configuration of one run.
fn config(args: &PruneArgs, method: Method, budget: f32) -> PruneConfig {
    let d = PruneConfig::default();
    PruneConfig {
        method,
        order: match args.order {
            None => d.order,
            Some(OrderArg::Energy) => LayerOrder::Energy,
            Some(OrderArg::Network) => LayerOrder::Network,
            Some(OrderArg::Weights) => LayerOrder::Weights,
        },
        criterion: match args.criterion {
            None => d.criterion,
            Some(CriterionArg::Magnitude) => Criterion::Magnitude,
            Some(CriterionArg::OutputError) => Criterion::OutputError,
        },
        refit: args.refit.map_or(d.refit, |r| r == OnOff::On),
        allocation: match args.allocate {
            None | Some(AllocateArg::Weights) => Allocation::Weights,
            Some(AllocateArg::Energy) => Allocation::Energy,
        },
        max_accuracy_drop: budget,
        confidence: args.confidence,
        layer_budget_scale: args
            .layer_budget_scale
            .unwrap_or(method.default_layer_budget_scale()),
        classes: args.classes.clone(),
        max_rounds: args.max_rounds,
        finetune_epochs: if args.no_finetune {
            0
        } else {
            args.finetune_epochs
        },
        finetune_samples: args.finetune_samples,
        finetune_lr: args.finetune_lr,
        calibration_samples: args.calibration_samples,
        refit_samples: args.refit_samples,
        search_samples: Some(args.search_samples),
        seed: args.seed,
        ..d
    }
}

/// Prunes into `out` and returns the report, or `None` when stopped early
/// (resumption tests). A finished run in `out` with the same settings is
/// reported again, not redone; one with other settings is refused.
fn run_one(args: &PruneArgs, job: &Job, cfg: &PruneConfig, out: &Path) -> Result<Option<Value>> {
    let report_path = out.join("report.json");
    if let Some(done) = finished_report(&report_path, args, cfg)? {
        eprintln!(
            "{} holds a finished run with these settings; reporting it (delete the directory \
             to run again)",
            out.display()
        );
        print!("{}", report::table(&done));
        return Ok(Some(done));
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let bar = progress_bar(0, "{elapsed_precise} [{bar:30}] {pos}/{len} {msg}");
    let outcome = prune(
        &job.net,
        &job.data,
        &job.energy,
        cfg,
        Some(&out.join("checkpoint")),
        args.stop_after_layers,
        |ev| on_event(&bar, ev),
    )?;
    bar.finish_and_clear();
    let Some(outcome) = outcome else {
        eprintln!(
            "stopped after {} layer(s); rerun the same command to resume from {}",
            args.stop_after_layers.unwrap_or(0),
            out.join("checkpoint").display()
        );
        return Ok(None);
    };
    save_model(&outcome.net, out).with_context(|| format!("saving to {}", out.display()))?;
    if let Some(onnx) = &job.onnx {
        write_atomic(&out.join("model.onnx"), &onnx.write_pruned(&outcome.net))?;
    }
    let rep = report::json(args, cfg, &job.hw_name, &job.units, &outcome);
    write_atomic(
        &report_path,
        format!("{}\n", serde_json::to_string_pretty(&rep)?).as_bytes(),
    )?;
    print!("{}", report::table(&rep));
    println!("report: {}", report_path.display());
    Ok(Some(rep))
}

/// The report in `path` if it belongs to this model and configuration.
fn finished_report(path: &Path, args: &PruneArgs, cfg: &PruneConfig) -> Result<Option<Value>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let rep: Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a report of `ember prune`", path.display()))?;
    let same = rep["config"] == serde_json::to_value(cfg)?
        && rep["model"] == args.model.display().to_string();
    if !same {
        bail!(
            "{} holds the result of a run with another model or other settings; fix: use \
             another --out, or delete that directory to replace it",
            path.parent().unwrap_or(path).display()
        );
    }
    Ok(Some(rep))
}

fn on_event(bar: &indicatif::ProgressBar, ev: PruneEvent<'_>) {
    match ev {
        PruneEvent::Status(s) => bar.set_message(s.to_string()),
        PruneEvent::LayerStart {
            round,
            index,
            of,
            name,
        } => {
            bar.set_length(of as u64);
            bar.set_position(index as u64 - 1);
            bar.set_message(format!("round {round}: pruning {name}"));
        }
        PruneEvent::Candidate {
            fraction,
            accuracy,
            accepted,
        } => bar.set_message(format!(
            "candidate {fraction:.3}: val {accuracy:.4} {}",
            if accepted { "ok" } else { "too low" }
        )),
        PruneEvent::LayerDone(s) => {
            bar.inc(1);
            say(
                bar,
                format!(
                    "round {} {}: density {:.3} -> {:.3}, val {:.4}{}, energy {:.4e} -> {:.4e}{} ({:.1} s)",
                    s.round,
                    s.layer,
                    s.density_before,
                    s.density_after,
                    s.val_accuracy,
                    s.val_accuracy_no_refit
                        .map(|a| format!(" (no refit {a:.4})"))
                        .unwrap_or_default(),
                    s.energy_before,
                    s.energy_after,
                    if s.energy_rise_undone { " (pruning raised the energy: undone)" } else { "" },
                    s.seconds
                ),
            );
        }
        PruneEvent::Train(Progress::Batch {
            epoch,
            batch,
            batches,
            loss,
        }) => {
            bar.set_length(batches as u64);
            bar.set_position(batch as u64);
            bar.set_message(format!("fine-tune epoch {epoch} loss {loss:.3}"));
        }
        PruneEvent::Train(Progress::Epoch(_)) => {}
        PruneEvent::RoundDone(r) => say(
            bar,
            format!(
                "round {} (step x{}): energy {:.4e} -> {:.4e}, val {:.4} before / {:.4} after \
                 fine-tuning, drop {:+.2} +- {:.2} points{}",
                r.round,
                r.step_scale,
                r.energy_before,
                r.energy_after,
                r.val_accuracy_before_finetune,
                r.val_accuracy,
                100.0 * r.val_change.drop,
                100.0 * r.val_change.std_error,
                match (r.within_budget, r.improved) {
                    (true, true) => "",
                    (false, _) => " — over budget: undone, the next round halves the step",
                    (true, false) => {
                        " — the objective did not fall: undone, the next round halves the step"
                    }
                }
            ),
        ),
    }
}
