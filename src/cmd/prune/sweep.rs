//! `ember prune --sweep-budget`: every method at every budget, each run in its own resumable
//! directory, then one CSV row per run and the two curves (test accuracy and weight reduction
//! against energy reduction).

use std::fmt::Write;

use anyhow::Result;
use serde_json::Value;

use super::{config, report, run_one, Job, PruneArgs};
use crate::output::write_atomic;
use crate::plot::{line_plot, Series};

const HEADER: &str = "variant,max_accuracy_drop,energy_reduction,weight_reduction,\
baseline_val_accuracy,val_accuracy,baseline_test_accuracy,test_accuracy,test_drop,\
test_drop_low95,test_drop_high95,energy_baseline,energy_pruned,nonzero_weights,total_weights,\
finetune_epochs_total";

pub fn run(args: &PruneArgs, job: &Job, budgets: &[f32]) -> Result<()> {
    std::fs::create_dir_all(&args.out)?;
    let mut rows: Vec<Value> = Vec::new();
    for &m in &args.method {
        for &b in budgets {
            let cfg = config(args, m.method(), b);
            let dir = args.out.join(format!("{}-{b}", report::variant(&cfg)));
            eprintln!(
                "== {} at a budget of {b} -> {}",
                report::variant(&cfg),
                dir.display()
            );
            match run_one(args, job, &cfg, &dir)? {
                Some(r) => rows.push(r),
                None => return Ok(()), // stopped early (tests)
            }
        }
    }
    let csv = args.out.join("sweep.csv");
    write_atomic(&csv, to_csv(&rows).as_bytes())?;
    let acc = args.out.join("sweep-accuracy.svg");
    let wts = args.out.join("sweep-weights.svg");
    // The model's own name (its directory or file), not the path it was given by.
    let model = args.model.file_stem().unwrap_or(args.model.as_os_str());
    let model = model.to_string_lossy();
    line_plot(
        &acc,
        &format!("{model}: test accuracy against energy reduction"),
        ("energy reduction (x)", "test accuracy (%)"),
        &series(&rows, |r| 100.0 * num(&r["pruned"]["test_accuracy"])),
        false,
    )?;
    line_plot(
        &wts,
        &format!("{model}: weight reduction against energy reduction"),
        ("energy reduction (x)", "weight reduction (x)"),
        &series(&rows, |r| num(&r["weight_reduction"])),
        true,
    )?;
    println!(
        "sweep: {} runs; {}, {}, {}",
        rows.len(),
        csv.display(),
        acc.display(),
        wts.display()
    );
    Ok(())
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// One line per variant, points in budget order at (energy reduction, `y`).
fn series(rows: &[Value], y: impl Fn(&Value) -> f64) -> Vec<Series> {
    let mut out: Vec<Series> = Vec::new();
    for r in rows {
        let name = r["variant"].as_str().unwrap_or("?").to_string();
        let p = (num(&r["energy_reduction"]), y(r));
        if !(p.0.is_finite() && p.1.is_finite()) {
            continue;
        }
        match out.iter_mut().find(|s| s.name == name) {
            Some(s) => s.points.push(p),
            None => out.push(Series {
                name,
                points: vec![p],
            }),
        }
    }
    out
}

fn to_csv(rows: &[Value]) -> String {
    let mut s = format!("{HEADER}\n");
    for r in rows {
        let (b, p, t) = (&r["baseline"], &r["pruned"], &r["test_change"]);
        let cells = [
            r["variant"].as_str().unwrap_or("?").to_string(),
            // The budget is an f32: print it as one (0.01, not 0.009999999776).
            format!("{}", num(&r["max_accuracy_drop"]) as f32),
            r["energy_reduction"].to_string(),
            r["weight_reduction"].to_string(),
            b["val_accuracy"].to_string(),
            p["val_accuracy"].to_string(),
            b["test_accuracy"].to_string(),
            p["test_accuracy"].to_string(),
            t["drop"].to_string(),
            t["drop_low95"].to_string(),
            t["drop_high95"].to_string(),
            b["energy"].to_string(),
            p["energy"].to_string(),
            p["nonzero_weights"].to_string(),
            p["total_weights"].to_string(),
            r["finetune_epochs_total"].to_string(),
        ];
        // A variant name holds commas: quote it.
        let _ = writeln!(s, "\"{}\",{}", cells[0], cells[1..].join(","));
    }
    s
}
