//! `ember compare`: one network on several candidates (hardware configs, or dataflows on one
//! config), per layer and in total, each with its ratio to the first candidate.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use ember_explore::compare::ratio;
use ember_explore::{CompareReport, CompareRequest, CompareRow, EnergyScope, Mode};
use ember_sim::Dataflow;

use crate::cmd::net::{print_warnings, NetArgs};
use crate::cmd::sim::Format;
use crate::output::{emit, out_file, plot_file};
use crate::report::{energy_unit, Table};

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ModeArg {
    Analytic,
    Cycle,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum EnergyArg {
    Total,
    Chip,
}

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
    /// What the mapper minimises for every candidate, as in `ember sim`: edp (default) or
    /// energy.
    #[arg(long, default_value = "edp", value_name = "edp|energy")]
    pub objective: ember_estimator::Objective,
    /// Only mappings that keep at least this share of each config's PEs busy (0 to 1), as in
    /// `ember sim`; default: each config's `[mapper] min_active_pes`.
    #[arg(long, value_name = "SHARE")]
    pub min_active_pes: Option<f64>,
    /// Cycles in closed form (analytic) or from the cycle engine with its network, buffer and
    /// DRAM stalls (cycle), as in `ember sim`.
    #[arg(long, value_enum, default_value_t = ModeArg::Analytic)]
    pub mode: ModeArg,
    /// Energy compared: total (every access priced by [energy], DRAM included, as `ember
    /// sim`) or chip (on-chip accesses priced by [energy_pj], plus [power]'s clock, control
    /// and leakage over each layer's time; DRAM left out: the energy behind GOPS/W).
    #[arg(long, value_enum, default_value_t = EnergyArg::Total)]
    pub energy: EnergyArg,
    /// Real zeros for every candidate, as in `ember sim` (safetensors, from `ember masks`):
    /// LAYER.ifmaps [batch,C,H,W] and LAYER.weights [M,C/groups,R,S] set the layers'
    /// densities, and in cycle mode with `pe.skip_zero_cycles` the time of every ofmap column.
    #[arg(long, value_name = "FILE.safetensors")]
    pub masks: Option<PathBuf>,
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

impl CompareArgs {
    /// The request the flags make.
    pub fn request(&self) -> CompareRequest {
        CompareRequest {
            workload: self.net.workload(),
            hardware: self.hw.clone(),
            dataflows: self.dataflow.clone(),
            batch: self.batch as usize,
            objective: self.objective,
            min_active_pes: self.min_active_pes,
            mode: match self.mode {
                ModeArg::Analytic => Mode::Analytic,
                ModeArg::Cycle => Mode::Cycle,
            },
            energy: match self.energy {
                EnergyArg::Total => EnergyScope::Total,
                EnergyArg::Chip => EnergyScope::Chip,
            },
            masks: self.masks.clone(),
        }
    }
}

pub fn run(args: &CompareArgs) -> Result<()> {
    let out = out_file(args.out.as_deref(), args.force)?;
    let plot = plot_file(args.plot.as_deref(), args.force)?;
    let rep = ember_explore::compare(&args.request())?;
    print_warnings(&rep.warnings);
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&rep)? + "\n",
        Format::Csv => to_csv(&rep),
        Format::Table => to_table(&rep),
    };
    let cands = &rep.candidates;
    if let Some(p) = &plot {
        let first = &cands[0];
        let (unit, div) = energy_unit(rep.units());
        let layers: Vec<String> = first
            .result
            .layers
            .iter()
            .map(|l| l.layer.name.clone())
            .collect();
        let labels: Vec<String> = cands.iter().map(|c| c.label.clone()).collect();
        let cols = rep.level_columns();
        let energy: Vec<Vec<f64>> = cands
            .iter()
            .map(|c| {
                let mut rows = c.rows(&cols);
                rows.pop(); // the total
                rows.iter().map(|r| r.energy / div).collect()
            })
            .collect();
        let what = match rep.energy {
            EnergyScope::Total => "energy",
            EnergyScope::Chip => "chip energy",
        };
        let title = format!(
            "{}, batch {}: {what} per layer",
            first.result.network, first.result.batch
        );
        crate::plot::compare_plot(p, &title, unit, &layers, &labels, &energy)?;
    }
    emit(out.as_ref(), &text)
}

/// CSV: one row per candidate x layer (and total). Total energy: by level (a column of a level
/// the candidate's config lacks is empty); chip energy: by term.
pub fn to_csv(rep: &CompareReport) -> String {
    let cands = &rep.candidates;
    let cols = rep.level_columns();
    let mut out = String::from("candidate,hardware,dataflow,layer,energy_units,energy_total");
    match rep.energy {
        EnergyScope::Total => {
            out += ",energy_mac";
            for (name, _) in &cols {
                out += &format!(",energy_{name}");
            }
        }
        EnergyScope::Chip => out += ",chip_access,chip_clock,chip_control,chip_leakage",
    }
    out += ",cycles,utilization,energy_ratio,cycles_ratio\n";
    let base = cands[0].rows(&cols);
    for (ci, c) in cands.iter().enumerate() {
        for (i, r) in c.rows(&cols).into_iter().enumerate() {
            let (be, bc) = (base[i].energy, base[i].cycles as f64);
            let parts: Vec<String> = match c.chip_row(i) {
                Some(t) => [t.access_pj, t.clock_pj, t.control_pj, t.leakage_pj]
                    .iter()
                    .map(f64::to_string)
                    .collect(),
                None => r
                    .by_level
                    .iter()
                    .map(|v| v.map_or(String::new(), |v| v.to_string()))
                    .collect(),
            };
            out += &format!(
                "{ci},{},{},{},{},{},{},{},{:.4},{:.4},{:.4}\n",
                c.hw.arch.name,
                c.result.dataflow.code(),
                r.name,
                rep.units().key(),
                r.energy,
                parts.join(","),
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
pub fn to_table(rep: &CompareReport) -> String {
    let cands = &rep.candidates;
    let first = &cands[0];
    let (unit, div) = energy_unit(rep.units());
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
    let cols = rep.level_columns();
    let all: Vec<Vec<CompareRow>> = cands.iter().map(|c| c.rows(&cols)).collect();
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
    let what = match rep.energy {
        EnergyScope::Total => "Energy",
        EnergyScope::Chip => "Chip energy (on chip, with clock, control and leakage; no DRAM)",
    };
    out += &render(format!("{what}: {unit}, ratio to [0]"), &|c, r| {
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
    if rep.energy == EnergyScope::Chip {
        out += &render(
            format!("Chip energy by term, access/clock/control/leakage: {unit}"),
            &|c, r| {
                let t = cands[c].chip_row(r).unwrap_or_default();
                [t.access_pj, t.clock_pj, t.control_pj, t.leakage_pj]
                    .iter()
                    .map(|v| format!("{:.1}", v / div))
                    .collect::<Vec<_>>()
                    .join("/")
            },
        );
        return out;
    }
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
