//! `ember sweep`: a grid of hardware configs x dataflows x batches x energy tables, evaluated
//! in parallel, resumable, shardable; the Pareto front over (energy, latency, storage) marked.
//!
//! The space file (TOML, strict):
//!
//! ```toml
//! base = "../hw_configs/eyeriss-isca16-256.toml"  # relative to the space file
//! [grid]                      # every list is optional; absent = the base config's value
//! dataflow = ["rs", "ws", "os", "nlr"]
//! rows = [8, 12, 16]
//! cols = [8, 14, 16]
//! filter_spad_words = [112, 224]
//! ifmap_spad_words = [12]
//! psum_spad_words = [16, 24]
//! glb_words = [32768, 65536]
//! batch = [1, 4]              # default [4]
//! energy = ["base", "../hw_configs/eyeriss-v1.toml"]  # the [energy] table of these configs
//! ```
//!
//! Grid index: mixed radix over the lists in the order energy, dataflow, batch, rows, cols,
//! filter_spad_words, ifmap_spad_words, psum_spad_words, glb_words (last fastest). Rows are
//! written sorted by index, so the file's bytes never depend on `--jobs`, `--shard` + `--merge`,
//! or on how often the run was interrupted and resumed. The file format is `results`.

mod results;
mod space;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use rayon::prelude::*;

use ember_estimator::Units;

use crate::cmd::net::{load_net, NetArgs};
use crate::output::{plot_file, write_atomic, OutFile};
use crate::report::energy_unit;

use results::{Contents, Origin, Role, Row};
pub use space::{Point, Space};

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

/// The rows of `--out` this run keeps: all of them when the file is this run's own (same grid
/// and shard), none when it is new or `--force` replaces it; any other file is an error and
/// stays untouched.
fn resume(args: &SweepArgs, origin: &Origin) -> Result<Vec<Row>> {
    if !args.out.exists() {
        return Ok(vec![]);
    }
    let contents = match results::read(&args.out, Role::Out) {
        Ok(c) => c,
        Err(_) if args.force => return Ok(vec![]),
        Err(e) => return Err(e),
    };
    let Contents {
        origin: found,
        mut rows,
    } = contents;
    match found {
        None => Ok(vec![]),
        Some(f) if f == *origin => {
            rows.retain(|(i, _)| *i < origin.points && i % origin.shards == origin.shard);
            rows.sort_by_key(|r| r.0);
            rows.dedup_by_key(|r| r.0);
            Ok(rows)
        }
        Some(_) if args.force => Ok(vec![]),
        Some(f) => bail!(
            "{}: holds {} rows of another sweep (grid {}, {} points, shard {}/{}) than this run (grid {}, {} points, shard {}/{}: another space, network or shard); fix: choose another --out, or pass --force to replace it",
            args.out.display(),
            rows.len(),
            f.grid,
            f.points,
            f.shard,
            f.shards,
            origin.grid,
            origin.points,
            origin.shard,
            origin.shards
        ),
    }
}

pub fn run(args: &SweepArgs) -> Result<()> {
    if !args.merge.is_empty() {
        return merge(args);
    }
    let space_path = args.space.as_ref().context("--space is required")?;
    OutFile::resumable(&args.out)?;
    let plot_out = plot_file(args.plot.as_deref(), args.force)?;
    let space = Space::load(space_path)?;
    let net = load_net(&args.net, None)?;
    space.check_batches(space_path, &net)?;
    let (shard, shards) = match &args.shard {
        Some(s) => parse_shard(s)?,
        None => (0, 1),
    };
    let origin = Origin {
        grid: space.fingerprint(&net),
        points: space.len(),
        shard,
        shards,
    };
    let mut done = resume(args, &origin)?;
    let have: std::collections::HashSet<usize> = done.iter().map(|r| r.0).collect();
    let pending: Vec<Point> = origin
        .indices()
        .filter(|i| !have.contains(i))
        .map(|i| space.point(i))
        .collect();
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
    if !done.is_empty() {
        eprintln!(
            "{}: resuming, {} rows kept, {} to evaluate",
            args.out.display(),
            done.len(),
            pending.len()
        );
    }
    let batch = (jobs * 16).max(16);
    let mut last = Instant::now();
    for (ci, chunk) in pending.chunks(batch).enumerate() {
        let rows: Vec<Row> = pool.install(|| {
            chunk
                .par_iter()
                .map(|p| {
                    let r = (p.index, space.evaluate(&net, p));
                    bar.inc(1);
                    r
                })
                .collect()
        });
        done.extend(rows);
        let last_chunk = (ci + 1) * batch >= pending.len();
        if !last_chunk && last.elapsed().as_secs_f64() >= args.checkpoint_secs {
            write_atomic(&args.out, results::render(&mut done, &origin).as_bytes())?;
            last = Instant::now();
        }
    }
    bar.finish_and_clear();
    let text = results::render(&mut done, &origin);
    write_atomic(&args.out, text.as_bytes())?;
    if let Some(p) = &plot_out {
        plot(p, &text, energy_unit(space.units()).0)?;
    }
    Ok(())
}

fn merge(args: &SweepArgs) -> Result<()> {
    let out = OutFile::new(&args.out, args.force)?;
    let plot_out = plot_file(args.plot.as_deref(), args.force)?;
    for p in &args.merge {
        if !p.is_file() {
            bail!(
                "{}: no such sweep file; fix: give --merge the files written by `ember sweep --shard I/N`",
                p.display()
            );
        }
    }
    let (mut rows, origin) = results::merge(&args.merge)?;
    // Every row of a grid carries the same units (checked when the space loads).
    let units = match rows
        .first()
        .and_then(|(_, r)| r.split(',').nth(results::COL_UNITS))
    {
        Some("pJ") => energy_unit(Units::Picojoules).0.to_string(),
        Some("normalized") | None => energy_unit(Units::Normalized).0.to_string(),
        Some(other) => other.to_string(),
    };
    let text = results::render(&mut rows, &origin);
    out.write(text.as_bytes())?;
    if let Some(p) = &plot_out {
        plot(p, &text, &units)?;
    }
    Ok(())
}

fn plot(path: &OutFile, text: &str, units: &str) -> Result<()> {
    let mut pts = Vec::new();
    for line in text.lines().skip(1) {
        if let Some((e, c, _)) = results::objectives(line) {
            pts.push((c / 1e6, e / 1e6, line.ends_with(",1")));
        }
    }
    crate::plot::sweep_plot(
        path,
        &format!("sweep: {} points, Pareto front in red", pts.len()),
        &format!("network energy ({units})"),
        &pts,
    )
}
