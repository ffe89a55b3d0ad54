//! `ember sim`: the energy table of one network on one hardware config.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};

use ember_explore::{PassTrace, SimOptions, SimRequest};
use ember_sim::Dataflow;

use crate::cmd::net::{print_warnings, NetArgs};
use crate::output::{emit, out_file, plot_file};
use crate::report;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Table,
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Mode {
    #[default]
    Analytic,
    Cycle,
}

#[derive(Args, Debug)]
pub struct SimArgs {
    #[command(flatten)]
    pub net: NetArgs,
    /// Hardware config (TOML); default: the embedded hw_configs/eyeriss-v1.toml.
    #[arg(long, value_name = "FILE")]
    pub hw: Option<PathBuf>,
    /// Images per batch.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the output to FILE (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// analytic: counts and cycles from the mapping in closed form; cycle: execute the mapping
    /// pass by pass, cycle by cycle (buses, pipeline, DRAM link), reporting stalls by cause.
    #[arg(long, value_enum, default_value_t = Mode::Analytic)]
    pub mode: Mode,
    /// What the mapper minimises: edp (default) = energy x cycle-mode latency, the mapping a
    /// chip designer runs (the one `validate` compares with the chip; candidates run in cycle
    /// mode only while a lower bound on their EDP can still win, in memory that does not grow
    /// with the batch), or energy alone (faster; may leave the array waiting).
    #[arg(long, default_value = "edp", value_name = "edp|energy")]
    pub objective: ember_estimator::Objective,
    /// Only mappings that keep at least this share of the PEs busy (active PEs / PEs, 0 to
    /// 1; the ISCA 2016 study's "array fully used" is 1); default: the config's
    /// `[mapper] min_active_pes` (0: any mapping).
    #[arg(long, value_name = "SHARE")]
    pub min_active_pes: Option<f64>,
    /// In cycle mode, write one CSV record per processing pass to FILE.
    #[arg(long, value_name = "FILE.csv")]
    pub trace: Option<PathBuf>,
    /// Dataflow (rs, ws, os, nlr); default: the config's `dataflow` key.
    #[arg(long, value_name = "DATAFLOW")]
    pub dataflow: Option<Dataflow>,
    /// Also draw per-layer energy by level and by data type to FILE.svg.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Real zeros (safetensors, from `ember masks`): LAYER.ifmaps [batch,C,H,W] and
    /// LAYER.weights [M,C/groups,R,S] set the layers' densities, and in cycle mode with
    /// `pe.skip_zero_cycles` the time of every ofmap column.
    #[arg(long, value_name = "FILE.safetensors")]
    pub masks: Option<PathBuf>,
    /// Replace output files that already exist (--out, --plot, --trace); without it an
    /// existing file is an error and stays untouched.
    #[arg(long)]
    pub force: bool,
}

impl Default for SimArgs {
    /// What `ember` with no arguments runs.
    fn default() -> Self {
        SimArgs {
            net: NetArgs::default(),
            hw: None,
            batch: 4,
            format: Format::Table,
            out: None,
            mode: Mode::Analytic,
            objective: ember_estimator::Objective::default(),
            min_active_pes: None,
            trace: None,
            dataflow: None,
            plot: None,
            masks: None,
            force: false,
        }
    }
}

impl SimArgs {
    /// The request the flags make.
    pub fn request(&self) -> SimRequest {
        SimRequest {
            workload: self.net.workload(),
            hardware: self.hw.clone(),
            options: SimOptions {
                batch: self.batch as usize,
                dataflow: self.dataflow,
                objective: self.objective,
                min_active_pes: self.min_active_pes,
                mode: match self.mode {
                    Mode::Analytic => ember_explore::Mode::Analytic,
                    Mode::Cycle => ember_explore::Mode::Cycle,
                },
                masks: self.masks.clone(),
                record_passes: self.trace.is_some(),
            },
        }
    }
}

pub fn run(args: &SimArgs) -> Result<()> {
    let out = out_file(args.out.as_deref(), args.force)?;
    let plot = plot_file(args.plot.as_deref(), args.force)?;
    if args.trace.is_some() && args.mode != Mode::Cycle {
        anyhow::bail!("--trace needs --mode cycle; fix: add `--mode cycle`");
    }
    let trace = out_file(args.trace.as_deref(), args.force)?;
    let rep = ember_explore::sim(&args.request())?;
    print_warnings(&rep.warnings);
    let (res, hw) = (&rep.result, &rep.hardware);
    let text = match (args.format, &rep.cycles) {
        (Format::Table, None) => report::to_table(res, hw),
        (Format::Table, Some(c)) => report::to_table(res, hw) + &report::cycle_table(res, hw, c),
        (Format::Json, _) => serde_json::to_string_pretty(&rep)? + "\n",
        (Format::Csv, None) => report::to_csv(res, hw),
        (Format::Csv, Some(c)) => report::to_csv_cycles(res, hw, c),
    };
    if let Some(f) = &trace {
        f.write(pass_csv(&rep.passes).as_bytes())?;
    }
    if let Some(p) = &plot {
        crate::plot::sim_plot(p, res, hw)?;
    }
    emit(out.as_ref(), &text)
}

/// The `--trace` file: one CSV record per pass as executed.
fn pass_csv(passes: &[PassTrace]) -> String {
    let mut csv = String::from(
        "layer,pass,start_cycle,end_cycle,stall_filter_load,stall_ifmap_bus,stall_psum_bus,stall_pipeline,stall_dram,glb_words,dram_words\n",
    );
    for PassTrace { layer, record: p } in passes {
        csv += &format!(
            "{layer},{},{},{},{},{},{},{},{},{},{:.1}\n",
            p.pass,
            p.start,
            p.end,
            p.filter_load,
            p.ifmap_bus,
            p.psum_bus,
            p.pipeline,
            p.dram_wait,
            p.glb_words,
            p.dram_words
        );
    }
    csv
}
