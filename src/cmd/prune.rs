//! `ember prune`: energy-aware (or magnitude) pruning of a trained model, with the energy of
//! every layer from the simulator, a table on stdout and `report.json` beside the pruned model.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use serde_json::{json, Value};

use ember_pruner::data::{DEFAULT_DATA_DIR, DEFAULT_VAL_FRACTION};
use ember_pruner::energy::{EnergyModel, LayerEnergyInfo};
use ember_pruner::prune::Summary;
use ember_pruner::{
    prune, save_model, Dataset, Method, Progress, PruneConfig, PruneEvent, PruneOutcome,
};

use crate::cmd::sim::load_hw;
use crate::cmd::{load_trained, progress_bar, say};
use crate::output::write_atomic;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// Energy-aware pruning (Yang, Chen, Sze, CVPR 2017).
    Eap,
    /// Magnitude pruning (Han et al. 2015).
    Magnitude,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Trained model directory (from `ember train`).
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    #[arg(long, value_enum)]
    pub method: MethodArg,
    /// Largest allowed validation accuracy drop from the baseline (0.01 = one point).
    #[arg(long, default_value_t = 0.01)]
    pub max_accuracy_drop: f32,
    /// Hardware config (TOML); default: the embedded hw_configs/eyeriss-v1.toml. Energy uses the
    /// `eap` sparsity preset whatever the file says.
    #[arg(long, value_name = "FILE")]
    pub hw: Option<PathBuf>,
    /// Prune for these classes only, e.g. 0,1,2 (data and accuracy restricted to them).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub classes: Option<Vec<u8>>,
    /// Folder with the four Fashion-MNIST IDX files.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    pub data: PathBuf,
    /// Fine-tuning epochs after each pruning round (the same for both methods).
    #[arg(long, default_value_t = 1)]
    pub finetune_epochs: usize,
    /// Output directory: pruned model, report.json, checkpoint/.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Most prune + fine-tune rounds.
    #[arg(long, default_value_t = 3)]
    pub max_rounds: usize,
    /// Fine-tune on a seeded random subset of N training images per round.
    #[arg(long, value_name = "N")]
    pub finetune_samples: Option<usize>,
    /// Validation images scored during the per-layer search (default: all).
    #[arg(long, value_name = "N")]
    pub search_samples: Option<usize>,
    /// Per-layer search budget as a multiple of --max-accuracy-drop.
    #[arg(long, default_value_t = 1.0)]
    pub layer_budget_scale: f32,
    /// Validation images on which activation densities are measured.
    #[arg(long, default_value_t = 256)]
    pub calibration_samples: usize,
    /// Training images over which the least-squares refit matches the unpruned outputs (eap).
    #[arg(long, default_value_t = 1024)]
    pub refit_samples: usize,
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

pub fn run(args: &PruneArgs) -> Result<()> {
    let net = load_trained(&args.model)?;
    let mut data = Dataset::load(&args.data, DEFAULT_VAL_FRACTION)?;
    if let Some(n) = args.train_limit {
        data.train = data.train.head(n);
    }
    let hw = load_hw(args.hw.as_deref())?;
    let hw_name = hw.arch.name.clone();
    let energy = EnergyModel::eap(hw);
    let method = match args.method {
        MethodArg::Eap => Method::Eap,
        MethodArg::Magnitude => Method::Magnitude,
    };
    if let Some(c) = &args.classes {
        if c.is_empty() || c.iter().any(|&x| x >= 10) {
            bail!("--classes {c:?}: fix: give class indices in 0..10, e.g. --classes 0,1,2");
        }
    }
    let cfg = PruneConfig {
        method,
        max_accuracy_drop: args.max_accuracy_drop,
        layer_budget_scale: args.layer_budget_scale,
        classes: args.classes.clone(),
        max_rounds: args.max_rounds,
        finetune_epochs: args.finetune_epochs,
        finetune_samples: args.finetune_samples,
        finetune_lr: args.finetune_lr,
        calibration_samples: args.calibration_samples,
        refit_samples: args.refit_samples,
        search_samples: args.search_samples,
        seed: args.seed,
        ..PruneConfig::default()
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;

    let bar = progress_bar(0, "{elapsed_precise} [{bar:30}] {pos}/{len} {msg}");
    let outcome = prune(
        &net,
        &data,
        &energy,
        &cfg,
        Some(&args.out.join("checkpoint")),
        args.stop_after_layers,
        |ev| match ev {
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
                "kept {:.3}: val {:.4} {}",
                fraction,
                accuracy,
                if accepted { "ok" } else { "too low" }
            )),
            PruneEvent::LayerDone(s) => {
                bar.inc(1);
                say(&bar, format!(
                    "round {} {}: density {:.3} -> {:.3}, val {:.4}{}, energy {:.4e} -> {:.4e} ({:.1} s)",
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
                    s.seconds
                ));
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
                &bar,
                format!(
                "round {}: energy {:.4e} -> {:.4e}, val {:.4} before / {:.4} after fine-tuning{}",
                r.round,
                r.energy_before,
                r.energy_after,
                r.val_accuracy_before_finetune,
                r.val_accuracy,
                if r.accepted { "" } else { " — over budget, undone" }
            ),
            ),
        },
    )?;
    bar.finish_and_clear();
    let Some(outcome) = outcome else {
        eprintln!(
            "stopped after {} layer(s); rerun the same command to resume from {}",
            args.stop_after_layers.unwrap_or(0),
            args.out.join("checkpoint").display()
        );
        return Ok(());
    };
    save_model(&outcome.net, &args.out)
        .with_context(|| format!("saving to {}", args.out.display()))?;
    let report = report_json(args, &cfg, &hw_name, &outcome);
    let path = args.out.join("report.json");
    write_atomic(
        &path,
        format!("{}\n", serde_json::to_string_pretty(&report)?).as_bytes(),
    )?;
    print!("{}", table(args, &hw_name, &outcome));
    println!("report: {}", path.display());
    Ok(())
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        f64::INFINITY
    }
}

fn summary_json(s: &Summary) -> Value {
    json!({
        "val_accuracy": s.val_accuracy,
        "test_accuracy": s.test_accuracy,
        "energy": s.energy.total,
        "nonzero_weights": s.nonzero_weights,
        "total_weights": s.total_weights,
    })
}

fn breakdown(l: &LayerEnergyInfo) -> Value {
    serde_json::to_value(l.energy).expect("serialisable")
}

fn report_json(args: &PruneArgs, cfg: &PruneConfig, hw: &str, o: &PruneOutcome) -> Value {
    let layers: Vec<Value> = o
        .baseline
        .energy
        .layers
        .iter()
        .zip(&o.pruned.energy.layers)
        .map(|(b, a)| {
            json!({
                "name": a.name,
                "density": a.densities.weight,
                "ifmap_density": a.densities.ifmap,
                "ofmap_density": a.densities.ofmap,
                "baseline_ifmap_density": b.densities.ifmap,
                "energy_before": b.energy.total,
                "energy_after": a.energy.total,
                "energy_before_breakdown": breakdown(b),
                "energy_after_breakdown": breakdown(a),
            })
        })
        .collect();
    json!({
        "method": cfg.method.key(),
        "model": args.model.display().to_string(),
        "hardware": hw,
        "sparsity_preset": "eap",
        "energy_units": "normalized (the config's [energy] table; 1 = one MAC)",
        "classes": cfg.classes,
        "max_accuracy_drop": cfg.max_accuracy_drop,
        "finetune_epochs_total": o.finetune_epochs,
        "baseline": summary_json(&o.baseline),
        "pruned": summary_json(&o.pruned),
        "energy_reduction": ratio(o.baseline.energy.total, o.pruned.energy.total),
        "weight_reduction": ratio(
            o.baseline.nonzero_weights as f64,
            o.pruned.nonzero_weights as f64
        ),
        "layers": layers,
        "rounds": o.rounds,
        "steps": o.steps,
        "config": cfg,
    })
}

fn table(args: &PruneArgs, hw: &str, o: &PruneOutcome) -> String {
    use std::fmt::Write;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{} pruning of {} on {hw} (eap sparsity){}",
        match args.method {
            MethodArg::Eap => "energy-aware",
            MethodArg::Magnitude => "magnitude",
        },
        args.model.display(),
        args.classes
            .as_ref()
            .map(|c| format!(", classes {c:?}"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        t,
        "{:<8} {:>9} {:>9} {:>11} {:>11} {:>7}",
        "layer", "density", "ifmap", "E before", "E after", "ratio"
    );
    for (b, a) in o.baseline.energy.layers.iter().zip(&o.pruned.energy.layers) {
        let _ = writeln!(
            t,
            "{:<8} {:>9.4} {:>9.4} {:>11.4e} {:>11.4e} {:>6.2}x",
            a.name,
            a.densities.weight,
            a.densities.ifmap,
            b.energy.total,
            a.energy.total,
            ratio(b.energy.total, a.energy.total)
        );
    }
    let (b, p) = (&o.baseline, &o.pruned);
    let _ = writeln!(
        t,
        "{:<8} {:>9} {:>9} {:>11.4e} {:>11.4e} {:>6.2}x",
        "total",
        "",
        "",
        b.energy.total,
        p.energy.total,
        ratio(b.energy.total, p.energy.total)
    );
    let _ = writeln!(
        t,
        "weights {} -> {} ({:.2}x); val accuracy {:.4} -> {:.4}; test accuracy {:.4} -> {:.4}",
        b.nonzero_weights,
        p.nonzero_weights,
        ratio(b.nonzero_weights as f64, p.nonzero_weights as f64),
        b.val_accuracy,
        p.val_accuracy,
        b.test_accuracy,
        p.test_accuracy
    );
    t
}
