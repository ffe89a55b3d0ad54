//! `ember sim`: the energy table of one network on one hardware config.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, ValueEnum};

use ember_estimator::Hardware;
use ember_sim::{Dataflow, Network};

use crate::output::emit;
use crate::report;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Table,
    Json,
    Csv,
}

#[derive(Args, Debug)]
pub struct SimArgs {
    /// Workload: a trace (TOML) or an ONNX model (.onnx); default: the embedded
    /// traces/alexnet.toml.
    #[arg(long, value_name = "FILE")]
    pub net: Option<PathBuf>,
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
}

impl Default for SimArgs {
    /// What `ember` with no arguments runs.
    fn default() -> Self {
        SimArgs {
            net: None,
            hw: None,
            batch: 4,
            format: Format::Table,
            out: None,
        }
    }
}

/// Load a trace or ONNX model, or the embedded AlexNet (see `cmd::net`).
pub fn load_net(path: Option<&Path>) -> Result<Network> {
    crate::cmd::net::load_net(path)
}

/// Load a hardware config, or the embedded Eyeriss chip.
pub fn load_hw(path: Option<&Path>) -> Result<Hardware> {
    Ok(match path {
        Some(p) => Hardware::load(p)?,
        None => Hardware::eyeriss_v1(),
    })
}

pub fn run(args: &SimArgs) -> Result<()> {
    let net = load_net(args.net.as_deref())?;
    let hw = load_hw(args.hw.as_deref())?;
    let batch = args.batch.max(1) as usize;
    let dataflow: Dataflow = hw.arch.dataflow;
    let res = hw.run(&net, batch, dataflow)?;
    let text = match args.format {
        Format::Table => report::to_table(&res, &hw),
        Format::Json => serde_json::to_string_pretty(&report::to_json(&res, &hw))? + "\n",
        Format::Csv => report::to_csv(&res, &hw),
    };
    emit(args.out.as_deref(), &text)
}
