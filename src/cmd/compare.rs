//! `ember compare`: one network on several candidates (hardware configs, or dataflows on one
//! config), per layer and in total, each with its ratio to the first candidate.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use serde_json::{json, Value};

use ember_estimator::{Hardware, NetworkResult};
use ember_sim::Dataflow;

use crate::cmd::net::{load_net, NetArgs};
use crate::cmd::sim::{load_hw, Format};
use crate::output::{emit, out_file, plot_file};
use crate::report::{self, energy_by_level, energy_unit, utilization, Table};

#[derive(Args, Debug)]
pub struct CompareArgs {
    #[command(flatten)]
    pub net: NetArgs,
    /// Hardware config (TOML), repeatable; default: the embedded eyeriss-v1.
    #[arg(long, value_name = "FILE")]
    pub hw: Vec<PathBuf>,
    /// Dataflows to compare, comma-separated (rs,ws,os,nlr); default: each config's own.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub dataflow: Vec<Dataflow>,
    /// Images per batch.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the output to FILE (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also draw grouped per-layer energy bars to FILE.svg.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Replace output files that already exist (--out, --plot).
    #[arg(long)]
    pub force: bool,
}

/// One evaluated candidate.
pub struct Candidate {
    pub hw: Hardware,
    pub label: String,
    pub result: NetworkResult,
}

/// Candidates are compared as ratios and drawn on one axis: their energies must share a unit
/// (no conversion between normalised units and picojoules is defined).
fn same_units(args: &CompareArgs, hws: &[Hardware]) -> Result<()> {
    let name = |i: usize| {
        args.hw
            .get(i)
            .map_or("the built-in eyeriss-v1".to_string(), |p| {
                p.display().to_string()
            })
    };
    if let Some(i) = hws
        .iter()
        .position(|h| h.energy.units != hws[0].energy.units)
    {
        bail!(
            "{}: energy is in {}, but {} is in {}: ratios and one plot axis need one unit; fix: compare configs whose [energy] tables share a unit (copy one table's `units` and prices into the other)",
            name(i),
            hws[i].energy.units.key(),
            name(0),
            hws[0].energy.units.key()
        );
    }
    Ok(())
}

/// Every (config, dataflow) candidate, in argument order (configs outer, dataflows inner).
pub fn run_candidates(args: &CompareArgs) -> Result<Vec<Candidate>> {
    let net = load_net(&args.net, Some(args.batch as usize))?;
    let batch = args.batch.max(1) as usize;
    let hws: Vec<Hardware> = if args.hw.is_empty() {
        vec![load_hw(None)?]
    } else {
        args.hw
            .iter()
            .map(|p| load_hw(Some(p)))
            .collect::<Result<_>>()?
    };
    same_units(args, &hws)?;
    let mut out = Vec::new();
    for hw in hws {
        let dfs = if args.dataflow.is_empty() {
            vec![hw.arch.dataflow]
        } else {
            args.dataflow.clone()
        };
        for df in dfs {
            let result = hw.run(&net, batch, df)?;
            let label = format!("{} {}", hw.arch.name, df.code());
            out.push(Candidate {
                hw: hw.clone(),
                label,
                result,
            });
        }
    }
    if out.len() < 2 {
        bail!("compare needs at least two candidates; fix: give several --hw, or --dataflow with several dataflows");
    }
    Ok(out)
}

pub fn run(args: &CompareArgs) -> Result<()> {
    let out = out_file(args.out.as_deref(), args.force)?;
    let plot = plot_file(args.plot.as_deref(), args.force)?;
    let cands = run_candidates(args)?;
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&to_json(&cands))? + "\n",
        Format::Csv => to_csv(&cands),
        Format::Table => to_table(&cands),
    };
    if let Some(p) = &plot {
        let first = &cands[0];
        let (unit, div) = energy_unit(first.hw.energy.units);
        let layers: Vec<String> = first
            .result
            .layers
            .iter()
            .map(|l| l.layer.name.clone())
            .collect();
        let labels: Vec<String> = cands.iter().map(|c| c.label.clone()).collect();
        let energy: Vec<Vec<f64>> = cands
            .iter()
            .map(|c| {
                c.result
                    .layers
                    .iter()
                    .map(|l| l.energy.total / div)
                    .collect()
            })
            .collect();
        let title = format!(
            "{}, batch {}: energy per layer",
            first.result.network, first.result.batch
        );
        crate::plot::compare_plot(p, &title, unit, &layers, &labels, &energy)?;
    }
    emit(out.as_ref(), &text)
}

/// `{"candidates": [{"hardware", "dataflow", "result"}]}`, `result` = `ember sim`'s JSON.
pub fn to_json(cands: &[Candidate]) -> Value {
    let list: Vec<Value> = cands
        .iter()
        .map(|c| {
            json!({
                "hardware": c.hw.arch.name,
                "dataflow": c.result.dataflow.code(),
                "result": report::to_json(&c.result, &c.hw),
            })
        })
        .collect();
    json!({ "candidates": list })
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        f64::NAN
    } else {
        a / b
    }
}

/// The levels of every candidate as one list of columns, (name, label): each config's levels
/// in its own order, a level another config lacks placed after the levels before it.
fn level_columns(cands: &[Candidate]) -> Vec<(String, String)> {
    let mut cols: Vec<(String, String)> = Vec::new();
    for c in cands {
        let mut at = 0;
        for l in &c.hw.arch.levels {
            match cols.iter().position(|(n, _)| *n == l.name) {
                Some(i) => at = i + 1,
                None => {
                    cols.insert(at, (l.name.clone(), l.label.clone()));
                    at += 1;
                }
            }
        }
    }
    cols
}

/// One row of a candidate: a layer or the total.
struct Row {
    name: String,
    energy: f64,
    /// MAC (with static) energy, then each of `level_columns` (None: the candidate's config has
    /// no such level).
    by_level: Vec<Option<f64>>,
    cycles: u64,
    util: f64,
}

/// Rows per layer, then total, with energy by level in the columns `cols`.
fn rows(c: &Candidate, cols: &[(String, String)]) -> Vec<Row> {
    let levels = |e: &ember_estimator::LayerEnergy| -> Vec<Option<f64>> {
        let own = energy_by_level(e);
        let mut v = vec![Some(own[0])];
        v.extend(
            cols.iter()
                .map(|(name, _)| c.hw.arch.levels.position(name).map(|i| own[i + 1])),
        );
        v
    };
    let mut out: Vec<Row> = c
        .result
        .layers
        .iter()
        .map(|l| Row {
            name: l.layer.name.clone(),
            energy: l.energy.total,
            by_level: levels(&l.energy),
            cycles: l.eval.cycles,
            util: l.eval.utilization(&c.hw.arch),
        })
        .collect();
    let cycles = c.result.cycles();
    out.push(Row {
        name: "total".into(),
        energy: c.result.total.total,
        by_level: levels(&c.result.total),
        cycles,
        util: utilization(c.result.macs(), cycles, &c.hw),
    });
    out
}

/// CSV: one row per candidate x layer (and total); an energy column of a level the
/// candidate's config lacks is empty.
pub fn to_csv(cands: &[Candidate]) -> String {
    let cols = level_columns(cands);
    let mut out =
        String::from("candidate,hardware,dataflow,layer,energy_units,energy_total,energy_mac");
    for (name, _) in &cols {
        out += &format!(",energy_{name}");
    }
    out += ",cycles,utilization,energy_ratio,cycles_ratio\n";
    let base = rows(&cands[0], &cols);
    for (ci, c) in cands.iter().enumerate() {
        for (i, r) in rows(c, &cols).into_iter().enumerate() {
            let (be, bc) = (base[i].energy, base[i].cycles as f64);
            let levels: Vec<String> = r
                .by_level
                .iter()
                .map(|v| v.map_or(String::new(), |v| v.to_string()))
                .collect();
            out += &format!(
                "{ci},{},{},{},{},{},{},{},{:.4},{:.4},{:.4}\n",
                c.hw.arch.name,
                c.result.dataflow.code(),
                r.name,
                c.hw.energy.units.key(),
                r.energy,
                levels.join(","),
                r.cycles,
                r.util,
                ratio(r.energy, be),
                ratio(r.cycles as f64, bc),
            );
        }
    }
    out
}

/// The human table: energy and ratio per layer; cycles and utilisation; energy by level.
pub fn to_table(cands: &[Candidate]) -> String {
    let first = &cands[0];
    let (unit, div) = energy_unit(first.hw.energy.units);
    let mut out = format!(
        "{}, batch {}: {} candidates (ratios to the first, {})\n\n",
        first.result.network,
        first.result.batch,
        cands.len(),
        cands[0].label
    );
    for (i, c) in cands.iter().enumerate() {
        out += &format!("  [{i}] {} ({})\n", c.label, c.hw.description);
    }
    let cols = level_columns(cands);
    let all: Vec<Vec<Row>> = cands.iter().map(|c| rows(c, &cols)).collect();
    let names: Vec<String> = all[0].iter().map(|r| r.name.clone()).collect();
    let render = |title: String, cell: &dyn Fn(usize, usize) -> String| {
        let mut t = Table::with_total(&["layer"]);
        t.head.extend((0..cands.len()).map(|i| format!("[{i}]")));
        for (r, n) in names.iter().enumerate() {
            let mut row = vec![n.clone()];
            row.extend((0..cands.len()).map(|c| cell(c, r)));
            t.rows.push(row);
        }
        format!("\n{title}\n{}", t.render())
    };
    out += &render(format!("Energy: {unit}, ratio to [0]"), &|c, r| {
        let e = all[c][r].energy;
        if c == 0 {
            format!("{:.2}", e / div)
        } else {
            format!("{:.2} ({:.2}x)", e / div, ratio(e, all[0][r].energy))
        }
    });
    out += &render(
        "Cycles (k; ratio to [0]) and utilisation".into(),
        &|c, r| {
            let (cy, u) = (all[c][r].cycles, all[c][r].util);
            if c == 0 {
                format!("{:.1} {:.0}%", cy as f64 / 1e3, 100.0 * u)
            } else {
                format!(
                    "{:.1} ({:.2}x) {:.0}%",
                    cy as f64 / 1e3,
                    ratio(cy as f64, all[0][r].cycles as f64),
                    100.0 * u
                )
            }
        },
    );
    let labels: Vec<&str> = cols.iter().map(|(_, label)| label.as_str()).collect();
    out += &render(
        format!("Energy by level, MAC/{}: {unit}", labels.join("/")),
        &|c, r| {
            all[c][r]
                .by_level
                .iter()
                .map(|v| v.map_or("-".to_string(), |v| format!("{:.0}", v / div)))
                .collect::<Vec<_>>()
                .join("/")
        },
    );
    out
}
