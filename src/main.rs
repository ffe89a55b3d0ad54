//! `ember`: the command line. It parses arguments, loads files, runs the pipeline and prints;
//! the models live in the library crates.

mod cmd;
mod output;
mod plot;
mod report;

use clap::{Parser, Subcommand};

/// Training and pruning allocate and free activation tensors of megabytes
/// on every layer; glibc's malloc hands those back to the kernel and takes
/// fresh zeroed pages each time, and the page faults cost as much as the
/// arithmetic (measured: a vgg-mini epoch 47 s with glibc, 33 s with
/// mimalloc, same bytes out).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Energy of CNNs on Eyeriss-class spatial accelerators.
///
/// With no command, prints AlexNet (batch 4) on the Eyeriss chip: `ember sim`.
#[derive(Parser, Debug)]
#[command(name = "ember", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Map every layer of a network at minimum energy and report accesses, cycles and energy.
    Sim(cmd::sim::SimArgs),
    /// Convert an ONNX model into an editable trace file.
    Import(cmd::import::ImportArgs),
    /// Compare the simulator with chip measurements (JSSC 2017 Table V by default).
    Validate(cmd::validate::ValidateArgs),
    /// Compare configs or dataflows on one network: energy, cycles, utilisation and ratios.
    Compare(cmd::compare::CompareArgs),
    /// Evaluate a grid of configs in parallel (resumable, shardable); mark the Pareto front.
    Sweep(cmd::sweep::SweepArgs),
    /// Train a built-in CNN (lenet5, vgg-mini, inception-mini, ...) on Fashion-MNIST or your data.
    Train(cmd::train::TrainArgs),
    /// Prune a trained model or an ONNX model (energy-aware or magnitude); energy before and after.
    Prune(cmd::prune::PruneArgs),
    /// Score a model (directory or ONNX) on a data split; optionally write its logits (.npy).
    Eval(cmd::eval::EvalArgs),
    /// Write a model directory as ONNX (opset 13), for PyTorch and onnxruntime.
    Export(cmd::export::ExportArgs),
    /// Record which inputs and weights of a model are non-zero on real images (for sim --masks).
    Masks(cmd::masks::MasksArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        None => cmd::sim::run(&cmd::sim::SimArgs::default()),
        Some(Command::Sim(args)) => cmd::sim::run(&args),
        Some(Command::Import(args)) => cmd::import::run(&args),
        Some(Command::Validate(args)) => cmd::validate::run(&args),
        Some(Command::Compare(args)) => cmd::compare::run(&args),
        Some(Command::Sweep(args)) => cmd::sweep::run(&args),
        Some(Command::Train(args)) => cmd::train::run(&args),
        Some(Command::Prune(args)) => cmd::prune::run(&args),
        Some(Command::Eval(args)) => cmd::eval::run(&args),
        Some(Command::Export(args)) => cmd::export::run(&args),
        Some(Command::Masks(args)) => cmd::masks::run(&args),
    };
    if let Err(e) = result {
        eprintln!("error: {}", render(&e));
        std::process::exit(1);
    }
}

/// The error and the causes under it that its message does not already state (library errors
/// embed their source in their own message; `with_context` wrappers do not), with a fix.
fn render(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out += ": ";
            }
            out += &text;
        }
    }
    if !out.contains("fix:") {
        if let Some(fix) = pruner_fix(e) {
            out += "; fix: ";
            out += fix;
        }
    }
    out
}

/// The pruner's errors say what went wrong, not always in the `fix:` form every other error
/// uses: the fix for each kind.
fn pruner_fix(e: &anyhow::Error) -> Option<&'static str> {
    use ember_pruner::PrunerError as P;
    let p = e.chain().find_map(|c| c.downcast_ref::<P>())?;
    Some(match p {
        P::DatasetNotFound { .. } => {
            "pass --data with the folder that holds them (pruner/tests/fixtures/fashion-mnist-small for a quick try)"
        }
        P::Io { .. } => "check the path and its permissions",
        P::Idx { .. } | P::Dataset { .. } => {
            "give --data intact data: IDX files, an image folder (train/, test/) or NumPy arrays \
             (see `ember prune --help`)"
        }
        P::Onnx { .. } => {
            "export the model (in eval mode) with only the operators Ember executes, listed above"
        }
        P::ArchFile { .. } | P::Safetensors { .. } | P::Arch(_) => {
            "give a model directory written by `ember train` or `ember prune`"
        }
        P::Checkpoint { .. } => "remove the checkpoint folder to start over, or rerun with the settings that wrote it",
        P::Config(_) => "check the numbers given to the command's flags (see `ember COMMAND --help`)",
        _ => "see the message above; `ember COMMAND --help` lists every flag",
    })
}
