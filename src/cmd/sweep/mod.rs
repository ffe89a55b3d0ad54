//! `ember sweep`: a grid of hardware configs x dataflows x batches x energy tables, evaluated
//! in parallel, resumable, shardable; the Pareto front over (energy, latency, storage) marked.
//!
//! The space file, the grid, its typed rows, the results file format and the Pareto front are
//! `ember_explore::sweep`'s; this module schedules the points on threads, shows progress, writes
//! checkpoints and draws the plot.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use rayon::prelude::*;

use ember_estimator::Units;
use ember_explore::sweep::{pareto, results, Sweep, SweepRow};

use crate::cmd::net::{print_warnings, NetArgs};
use crate::output::{plot_file, write_atomic, OutFile};
use crate::report::energy_unit;

#[derive(Args, Debug)]
pub struct SweepArgs {
    /// The space file (TOML): base config and parameter lists.
    #[arg(long, value_name = "FILE.toml", required_unless_present = "merge")]
    pub space: Option<PathBuf>,
    #[command(flatten)]
    pub net: NetArgs,
    /// Worker threads (a local pool), at least 1; default: all cores.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Evaluate only the grid points whose index % N == I.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Join sweep files (shards) into --out instead of evaluating.
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["space", "shard"])]
    pub merge: Vec<PathBuf>,
    /// The results CSV; rows already in it are kept and not evaluated again.
    #[arg(long, value_name = "FILE.csv")]
    pub out: PathBuf,
    /// Also draw the energy-latency scatter with the Pareto front to FILE.svg.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Replace an --out that is not a results file of this grid and shard (without it such a
    /// file is an error and stays untouched), and an existing --plot.
    #[arg(long)]
    pub force: bool,
    /// Seconds between checkpoints of the output file.
    #[arg(long, default_value_t = 5.0, hide = true)]
    pub checkpoint_secs: f64,
}

fn parse_shard(s: &str) -> Result<(usize, usize)> {
    let bad =
        || anyhow::anyhow!("--shard `{s}`: expected I/N with 0 <= I < N; fix: e.g. --shard 0/4");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

pub fn run(args: &SweepArgs) -> Result<()> {
    if !args.merge.is_empty() {
        return merge(args);
    }
    let space_path = args.space.as_ref().context("--space is required")?;
    OutFile::resumable(&args.out)?;
    let plot_out = plot_file(args.plot.as_deref(), args.force)?;
    let (shard, shards) = match &args.shard {
        Some(s) => parse_shard(s)?,
        None => (0, 1),
    };
    let sweep = Sweep::load(space_path, &args.net.workload(), shard, shards)?;
    print_warnings(&sweep.warnings);
    let mut done = results::resume(&args.out, &sweep.origin, args.force)?;
    let pending = sweep.pending(&done);
    if !done.is_empty() {
        eprintln!(
            "{}: resuming, {} rows kept, {} to evaluate",
            args.out.display(),
            done.len(),
            pending.len()
        );
    }
    evaluate(args, &sweep, &pending, &mut done)?;
    let text = results::render(&mut done, &sweep.origin);
    write_atomic(&args.out, text.as_bytes())?;
    if let Some(p) = &plot_out {
        plot(p, &done, energy_unit(sweep.space.units()).0)?;
    }
    Ok(())
}

/// Evaluate `pending` on `--jobs` threads into `done`, a chunk at a time, writing a checkpoint
/// of the file every `--checkpoint-secs` (an interrupted run resumes from it).
fn evaluate(
    args: &SweepArgs,
    sweep: &Sweep,
    pending: &[ember_explore::sweep::Point],
    done: &mut Vec<SweepRow>,
) -> Result<()> {
    let jobs = args
        .jobs
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .context("cannot start the worker threads")?;
    let bar = crate::cmd::progress_bar(
        pending.len() as u64,
        "{elapsed_precise} [{bar:40}] {pos}/{len} points (eta {eta})",
    );
    let batch = (jobs * 16).max(16);
    let mut last = Instant::now();
    for (ci, chunk) in pending.chunks(batch).enumerate() {
        let rows: Vec<SweepRow> = pool.install(|| {
            chunk
                .par_iter()
                .map(|p| {
                    let r = sweep.evaluate(p);
                    bar.inc(1);
                    r
                })
                .collect()
        });
        done.extend(rows);
        let last_chunk = (ci + 1) * batch >= pending.len();
        if !last_chunk && last.elapsed().as_secs_f64() >= args.checkpoint_secs {
            write_atomic(&args.out, results::render(done, &sweep.origin).as_bytes())?;
            last = Instant::now();
        }
    }
    bar.finish_and_clear();
    Ok(())
}

fn merge(args: &SweepArgs) -> Result<()> {
    let out = OutFile::new(&args.out, args.force)?;
    let plot_out = plot_file(args.plot.as_deref(), args.force)?;
    let (mut rows, origin) = results::merge(&args.merge)?;
    // Every row of a grid carries the same units (checked when the space loads).
    let units = rows.first().map_or(Units::Normalized, |r| r.units);
    let text = results::render(&mut rows, &origin);
    out.write(text.as_bytes())?;
    if let Some(p) = &plot_out {
        plot(p, &rows, energy_unit(units).0)?;
    }
    Ok(())
}

/// Energy against latency of every feasible row (in index order), the front marked.
fn plot(path: &OutFile, rows: &[SweepRow], units: &str) -> Result<()> {
    let pts: Vec<(f64, f64, bool)> = rows
        .iter()
        .zip(pareto(rows))
        .filter_map(|(r, front)| {
            let (energy, cycles, _) = r.objectives()?;
            Some((cycles as f64 / 1e6, energy / 1e6, front))
        })
        .collect();
    crate::plot::sweep_plot(
        path,
        &format!("sweep: {} points, Pareto front in red", pts.len()),
        &format!("network energy ({units})"),
        &pts,
    )
}
