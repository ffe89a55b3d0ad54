//! `ember validate`: the simulator against chip measurements.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};

use ember_estimator::validate::METRICS;
use ember_estimator::Objective;
use ember_explore::{ValidateReport, ValidateRequest};

use crate::cmd::net::{print_warnings, NetArgs};
use crate::output::{emit, out_file};
use crate::report::Table;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Measurement file; default: the embedded traces/measurements/eyeriss-jssc17-alexnet.toml.
    #[arg(long, value_name = "FILE")]
    pub measured: Option<PathBuf>,
    /// Hardware config; default: the embedded hw_configs/eyeriss-v1.toml.
    #[arg(long, value_name = "FILE")]
    pub hw: Option<PathBuf>,
    /// The workload the measurements belong to (--net; default: the embedded AlexNet).
    #[command(flatten)]
    pub net: NetArgs,
    /// What the mapper minimises: edp (energy x cycle-mode latency: the chip was measured at
    /// its operating throughput, so slow mappings are not what it ran) or energy.
    #[arg(long, default_value = "edp", value_name = "energy|edp")]
    pub objective: Objective,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the output to FILE (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace --out if it already exists.
    #[arg(long)]
    pub force: bool,
}

impl ValidateArgs {
    /// The request the flags make.
    pub fn request(&self) -> ValidateRequest {
        ValidateRequest {
            measured: self.measured.clone(),
            hardware: self.hw.clone(),
            workload: self.net.workload(),
            objective: self.objective,
        }
    }
}

pub fn run(args: &ValidateArgs) -> Result<()> {
    let out = out_file(args.out.as_deref(), args.force)?;
    let rep = ember_explore::validate(&args.request())?;
    print_warnings(&rep.warnings);
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&rep)? + "\n",
        Format::Table => table(&rep),
    };
    emit(out.as_ref(), &text)
}

/// Per metric and layer: measured -> simulated (error), the sums in a last column.
fn table(rep: &ValidateReport) -> String {
    let v = &rep.validation;
    let mut out = format!(
        "{} vs {} on {} (batch {}, mappings minimise {:?})\nper cell: measured -> simulated (error = (simulated - measured) / measured)\n\n",
        rep.measurements, rep.network, rep.hardware, rep.batch, rep.objective
    );
    let present: Vec<&str> = METRICS
        .iter()
        .copied()
        .filter(|m| v.summary.contains_key(*m))
        .collect();
    let cell = |m: f64, s: f64, e: f64| format!("{m:.1} -> {s:.1} ({e:+.0}%)");
    // The sum is a column, not a row: no rule above the last row.
    let mut t = Table {
        head: vec!["metric".to_string()],
        rows: vec![],
        total: false,
    };
    t.head.extend(v.layers.iter().map(|l| l.name.clone()));
    t.head.push("sum".into());
    for m in &present {
        let mut row = vec![m.to_string()];
        for l in &v.layers {
            row.push(
                l.metrics
                    .get(*m)
                    .map_or("-".into(), |c| cell(c.measured, c.simulated, c.error_pct)),
            );
        }
        let s = &v.summary[*m];
        row.push(cell(s.measured_sum, s.simulated_sum, s.sum_error_pct));
        t.rows.push(row);
    }
    out += &t.render();
    out += "\nmean |error| per layer:";
    for m in &present {
        out += &format!(" {m} {:.1}%;", v.summary[*m].mean_abs_error_pct);
    }
    out += "\n";
    out += &v.power_lines();
    if !rep.has_energy_pj {
        out += "(no [energy_pj] table in the config: no power figures)\n";
    }
    out
}
