//! `report.json` of one pruning run, and the table printed from it.

use std::fmt::Write;

use serde_json::{json, Value};

use ember_pruner::energy::LayerEnergyInfo;
use ember_pruner::prune::Summary;
use ember_pruner::{PruneConfig, PruneOutcome};

use super::PruneArgs;

/// `a / b`; null in JSON when `b` is zero (a model pruned to nothing).
fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
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
    serde_json::to_value(&l.energy).expect("serialisable")
}

/// The serde name of a unit enum value (`network`, `output_error`).
fn key<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

/// The method with its options, e.g. `eap` or `eap[order=network,refit=off]`.
pub fn variant(cfg: &PruneConfig) -> String {
    let d = PruneConfig::default();
    let mut opts = Vec::new();
    if cfg.order != d.order {
        opts.push(format!("order={}", key(&cfg.order)));
    }
    if cfg.criterion != d.criterion {
        opts.push(format!("criterion={}", key(&cfg.criterion)));
    }
    if cfg.refit != d.refit {
        opts.push(format!("refit={}", if cfg.refit { "on" } else { "off" }));
    }
    if cfg.allocation != d.allocation {
        opts.push(format!("allocate={}", key(&cfg.allocation)));
    }
    match opts.is_empty() {
        true => cfg.method.key().to_string(),
        false => format!("{}[{}]", cfg.method.key(), opts.join(",")),
    }
}

pub fn json(args: &PruneArgs, cfg: &PruneConfig, hw: &str, units: &str, o: &PruneOutcome) -> Value {
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
        "variant": variant(cfg),
        "model": args.model.display().to_string(),
        "hardware": hw,
        "sparsity_preset": "eap",
        "energy_units": units,
        "classes": cfg.classes,
        "max_accuracy_drop": cfg.max_accuracy_drop,
        "confidence": cfg.confidence,
        "finetune_epochs_total": o.finetune_epochs,
        "baseline": summary_json(&o.baseline),
        "pruned": summary_json(&o.pruned),
        "val_change": o.val_change,
        "test_change": o.test_change,
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

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn times(v: &Value) -> String {
    v.as_f64()
        .map_or_else(|| "all".to_string(), |x| format!("{x:.2}x"))
}

/// The terminal table of a report (from [`json`]).
pub fn table(r: &Value) -> String {
    let mut t = String::new();
    let classes = r["classes"]
        .as_array()
        .map(|c| format!(", classes {}", Value::from(c.clone())))
        .unwrap_or_default();
    let _ = writeln!(
        t,
        "{} pruning of {} on {} (eap sparsity){classes}",
        r["variant"].as_str().unwrap_or("?"),
        r["model"].as_str().unwrap_or("?"),
        r["hardware"].as_str().unwrap_or("?"),
    );
    let _ = writeln!(
        t,
        "{:<8} {:>9} {:>9} {:>11} {:>11} {:>7}",
        "layer", "density", "ifmap", "E before", "E after", "ratio"
    );
    for l in r["layers"].as_array().into_iter().flatten() {
        let (b, a) = (f(&l["energy_before"]), f(&l["energy_after"]));
        let _ = writeln!(
            t,
            "{:<8} {:>9.4} {:>9.4} {:>11.4e} {:>11.4e} {:>7}",
            l["name"].as_str().unwrap_or("?"),
            f(&l["density"]),
            f(&l["ifmap_density"]),
            b,
            a,
            times(&ratio(b, a).map_or(Value::Null, Value::from))
        );
    }
    let (b, p) = (&r["baseline"], &r["pruned"]);
    let _ = writeln!(
        t,
        "{:<8} {:>9} {:>9} {:>11.4e} {:>11.4e} {:>7}",
        "total",
        "",
        "",
        f(&b["energy"]),
        f(&p["energy"]),
        times(&r["energy_reduction"])
    );
    let change = |c: &Value| {
        format!(
            "{:+.2} points (95% {:+.2} to {:+.2})",
            -100.0 * f(&c["drop"]),
            -100.0 * f(&c["drop_high95"]),
            -100.0 * f(&c["drop_low95"])
        )
    };
    let _ = writeln!(
        t,
        "weights {} -> {} ({})",
        b["nonzero_weights"],
        p["nonzero_weights"],
        times(&r["weight_reduction"])
    );
    let _ = writeln!(
        t,
        "val accuracy {:.4} -> {:.4}: {}",
        f(&b["val_accuracy"]),
        f(&p["val_accuracy"]),
        change(&r["val_change"])
    );
    let _ = writeln!(
        t,
        "test accuracy {:.4} -> {:.4}: {}",
        f(&b["test_accuracy"]),
        f(&p["test_accuracy"]),
        change(&r["test_change"])
    );
    t
}
