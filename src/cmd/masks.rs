//! `ember masks`: which inputs and weights of a trained (or pruned) model are non-zero on real
//! test images, written for `ember sim --masks`; optionally the model as a trace whose
//! densities were measured on the same images.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use ember_pruner::masks::{layer_masks, masks_safetensors};
use ember_pruner::{measure_densities, sim_layers};
use ember_sim::Network;

use crate::cmd::data::DataArgs;
use crate::cmd::load_any;
use crate::output::{out_file, OutFile};

#[derive(Args, Debug)]
pub struct MasksArgs {
    /// Model directory (from `ember train` or `ember prune`) or ONNX model.
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,
    /// Test images to run: the masks' batch (`ember sim --batch` must match).
    #[arg(long, default_value_t = 4)]
    pub images: usize,
    #[command(flatten)]
    pub data: DataArgs,
    /// Output: the masks (safetensors: LAYER.ifmaps [N,C,H,W], LAYER.weights [M,C/g,R,S], U8).
    #[arg(long, value_name = "FILE.safetensors")]
    pub out: PathBuf,
    /// Also write the model as a trace (TOML) with densities measured on the same images.
    #[arg(long, value_name = "FILE.toml")]
    pub trace_out: Option<PathBuf>,
    /// Replace output files that already exist (--out, --trace-out).
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &MasksArgs) -> Result<()> {
    anyhow::ensure!(
        args.images > 0,
        "--images 0: masks need at least one image; fix: give --images N with N >= 1"
    );
    let out = OutFile::new(&args.out, args.force)?;
    let trace_out = out_file(args.trace_out.as_deref(), args.force)?;
    let mut net = load_any(&args.model)?.net;
    let data = args.data.load_for(&net)?;
    let test = data.test.head(args.images);
    anyhow::ensure!(
        test.len() == args.images,
        "--images {}: the test split has only {} images; fix: ask for fewer",
        args.images,
        test.len()
    );
    let masks = layer_masks(&mut net, &test.images)?;
    out.write(&masks_safetensors(&masks, &args.out)?)?;
    let densities = measure_densities(&mut net, &test.images)?;
    println!("layer      ifmap density  weight density");
    for (m, d) in masks.iter().zip(&densities) {
        println!("{:<10} {:>13.4}  {:>14.4}", m.name, d.ifmap, d.weight);
    }
    if let Some(f) = &trace_out {
        let trace = Network {
            name: net.arch().name.clone(),
            source: format!(
                "ember masks: {} on the first {} test images of {}",
                args.model.display(),
                args.images,
                args.data.data.display()
            ),
            chain: false,
            layers: sim_layers(&net.layer_shapes(), &densities),
        };
        f.write(trace.to_toml().as_bytes())?;
    }
    Ok(())
}
