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
//! or on how often the run was interrupted and resumed.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use rayon::prelude::*;
use serde::Deserialize;

use ember_estimator::{EnergyTable, Hardware};
use ember_sim::{Dataflow, Network};

use crate::cmd::net::load_net;
use crate::output::{plot_file, write_atomic, OutFile};
use crate::report::{energy_by_level, energy_unit, utilization};

#[derive(Args, Debug)]
pub struct SweepArgs {
    /// The space file (TOML): base config and parameter lists.
    #[arg(long, value_name = "FILE.toml", required_unless_present = "merge")]
    pub space: Option<PathBuf>,
    /// Workload trace (TOML); default: the embedded traces/alexnet.toml.
    #[arg(long, value_name = "FILE")]
    pub net: Option<PathBuf>,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpaceFile {
    base: PathBuf,
    #[serde(default)]
    grid: Grid,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Grid {
    dataflow: Option<Vec<Dataflow>>,
    rows: Option<Vec<usize>>,
    cols: Option<Vec<usize>>,
    filter_spad_words: Option<Vec<usize>>,
    ifmap_spad_words: Option<Vec<usize>>,
    psum_spad_words: Option<Vec<usize>>,
    glb_words: Option<Vec<usize>>,
    batch: Option<Vec<usize>>,
    energy: Option<Vec<String>>,
}

/// The loaded space: base config and the value lists (never empty).
pub struct Space {
    base: Hardware,
    energy_names: Vec<String>,
    energy_tables: Vec<EnergyTable>,
    dataflow: Vec<Dataflow>,
    batch: Vec<usize>,
    /// rows, cols, filter spad, ifmap spad, psum spad, glb words.
    sizes: [Vec<usize>; 6],
}

/// One grid point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    pub index: usize,
    pub energy: usize,
    pub dataflow: Dataflow,
    pub batch: usize,
    pub sizes: [usize; 6],
}

pub const HEADER: &str = "index,dataflow,rows,cols,filter_spad_words,ifmap_spad_words,psum_spad_words,glb_words,batch,energy_table,storage_words,status,energy_total,energy_mac,energy_dram,energy_glb,energy_array,energy_rf,cycles,utilization,pareto";
/// Columns of `HEADER` read back (checked against it by a test below).
const COL_STORAGE: usize = 10;
const COL_STATUS: usize = 11;
const COL_ENERGY: usize = 12;
const COL_CYCLES: usize = 18;
/// The last column; a complete row has `COL_PARETO + 1` fields.
const COL_PARETO: usize = 20;

impl Space {
    pub fn load(path: &Path) -> Result<Space> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the space file", path.display()))?;
        let file: SpaceFile = toml::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{}: {}; fix: see `ember sweep --help` and the README for the keys",
                path.display(),
                e.to_string().trim()
            )
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let base = Hardware::load(&dir.join(&file.base))?;
        let g = file.grid;
        let a = &base.arch;
        let list = |v: Option<Vec<usize>>, default: usize, key: &str| -> Result<Vec<usize>> {
            let v = v.unwrap_or_else(|| vec![default]);
            if v.is_empty() || v.contains(&0) {
                bail!(
                    "{}: grid.{key} must be a non-empty list of positive integers",
                    path.display()
                );
            }
            Ok(v)
        };
        let sizes = [
            list(g.rows, a.array.rows, "rows")?,
            list(g.cols, a.array.cols, "cols")?,
            list(
                g.filter_spad_words,
                a.pe.filter_spad_words,
                "filter_spad_words",
            )?,
            list(
                g.ifmap_spad_words,
                a.pe.ifmap_spad_words,
                "ifmap_spad_words",
            )?,
            list(g.psum_spad_words, a.pe.psum_spad_words, "psum_spad_words")?,
            list(g.glb_words, a.glb.words, "glb_words")?,
        ];
        let batch = list(g.batch, 4, "batch")?;
        let dataflow = g.dataflow.unwrap_or_else(|| vec![a.dataflow]);
        if dataflow.is_empty() {
            bail!("{}: grid.dataflow must not be empty", path.display());
        }
        let energy_names = g.energy.unwrap_or_else(|| vec!["base".into()]);
        if energy_names.is_empty() {
            bail!("{}: grid.energy must not be empty", path.display());
        }
        let mut energy_tables = Vec::new();
        for name in &energy_names {
            if name == "base" {
                energy_tables.push(base.energy.clone());
            } else {
                energy_tables.push(Hardware::load(&dir.join(name))?.energy);
            }
        }
        Ok(Space {
            base,
            energy_names,
            energy_tables,
            dataflow,
            batch,
            sizes,
        })
    }

    fn radix(&self) -> Vec<usize> {
        let mut r = vec![
            self.energy_names.len(),
            self.dataflow.len(),
            self.batch.len(),
        ];
        r.extend(self.sizes.iter().map(|s| s.len()));
        r
    }

    pub fn len(&self) -> usize {
        self.radix().iter().product()
    }

    pub fn point(&self, index: usize) -> Point {
        let radix = self.radix();
        let mut digits = vec![0; radix.len()];
        let mut rest = index;
        for i in (0..radix.len()).rev() {
            digits[i] = rest % radix[i];
            rest /= radix[i];
        }
        let mut sizes = [0; 6];
        for (j, s) in sizes.iter_mut().enumerate() {
            *s = self.sizes[j][digits[3 + j]];
        }
        Point {
            index,
            energy: digits[0],
            dataflow: self.dataflow[digits[1]],
            batch: self.batch[digits[2]],
            sizes,
        }
    }

    /// The point's hardware.
    fn hardware(&self, p: &Point) -> Hardware {
        let mut hw = self.base.clone();
        let a = &mut hw.arch;
        a.array.rows = p.sizes[0];
        a.array.cols = p.sizes[1];
        a.pe.filter_spad_words = p.sizes[2];
        a.pe.ifmap_spad_words = p.sizes[3];
        a.pe.psum_spad_words = p.sizes[4];
        a.glb.words = p.sizes[5];
        a.dataflow = p.dataflow;
        hw.energy = self.energy_tables[p.energy].clone();
        hw
    }

    /// The parameter columns of a row (everything before `storage_words`).
    fn params(&self, p: &Point) -> String {
        let s = p.sizes;
        format!(
            "{},{},{},{},{},{},{},{},{},{}",
            p.index,
            p.dataflow.code(),
            s[0],
            s[1],
            s[2],
            s[3],
            s[4],
            s[5],
            p.batch,
            self.energy_names[p.energy].replace(',', ";"),
        )
    }

    /// Evaluate one point: the row without its `pareto` column.
    pub fn evaluate(&self, net: &Network, p: &Point) -> String {
        let hw = self.hardware(p);
        let storage = hw.arch.storage_words();
        let head = format!("{},{storage}", self.params(p));
        match hw.run(net, p.batch, p.dataflow) {
            Ok(res) => {
                let cycles = res.cycles();
                let util = utilization(res.macs(), cycles, &hw);
                let lv = energy_by_level(&res.total);
                format!(
                    "{head},ok,{},{},{},{},{},{},{cycles},{util:.6}",
                    res.total.total, lv[0], lv[1], lv[2], lv[3], lv[4],
                )
            }
            Err(_) => format!("{head},no_mapping,,,,,,,,"),
        }
    }
}

/// A row's (energy, cycles, storage) if it is a feasible point.
fn objectives(row: &str) -> Option<(f64, f64, f64)> {
    let f: Vec<&str> = row.split(',').collect();
    if f.get(COL_STATUS) != Some(&"ok") {
        return None;
    }
    Some((
        f.get(COL_ENERGY)?.parse().ok()?,
        f.get(COL_CYCLES)?.parse().ok()?,
        f[COL_STORAGE].parse().ok()?,
    ))
}

/// Pareto flags (minimise all three objectives) for rows without their pareto column.
fn pareto(rows: &[(usize, String)]) -> Vec<bool> {
    let obj: Vec<Option<(f64, f64, f64)>> = rows.iter().map(|(_, r)| objectives(r)).collect();
    let mut order: Vec<usize> = (0..rows.len()).filter(|&i| obj[i].is_some()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (obj[a].unwrap(), obj[b].unwrap());
        x.0.total_cmp(&y.0)
            .then(x.1.total_cmp(&y.1))
            .then(x.2.total_cmp(&y.2))
    });
    let mut front: Vec<(f64, f64, f64)> = Vec::new();
    let mut flag = vec![false; rows.len()];
    for i in order {
        let p = obj[i].unwrap();
        // Rows sorted by energy: only an earlier row can dominate this one.
        let dominated = front.iter().any(|q| {
            q.0 <= p.0 && q.1 <= p.1 && q.2 <= p.2 && (q.0 < p.0 || q.1 < p.1 || q.2 < p.2)
        });
        if !dominated {
            front.push(p);
            flag[i] = true;
        }
    }
    flag
}

/// The file text: header, rows sorted by index, each with its pareto flag.
fn render(rows: &mut [(usize, String)]) -> String {
    rows.sort_by_key(|r| r.0);
    let flags = pareto(rows);
    let mut out = String::with_capacity(rows.len() * 120);
    out += HEADER;
    out += "\n";
    for ((_, r), f) in rows.iter().zip(flags) {
        out += r;
        out += if f { ",1\n" } else { ",0\n" };
    }
    out
}

/// Complete rows of a sweep file, keyed by index, without their pareto column.
fn read_rows(path: &Path) -> Result<Vec<(usize, String)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let mut lines = text.split('\n');
    match lines.next() {
        Some(h) if h == HEADER => {}
        Some("") | None => return Ok(vec![]),
        Some(_) => bail!(
            "{}: not an `ember sweep` results file (its header differs); fix: choose another --out or delete it",
            path.display()
        ),
    }
    let body: Vec<&str> = lines.collect();
    let mut rows = Vec::new();
    for (i, line) in body.iter().enumerate() {
        // The last line is complete only if the file ends with a newline.
        if i + 1 == body.len() {
            break;
        }
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != COL_PARETO + 1 || !(f[COL_PARETO] == "0" || f[COL_PARETO] == "1") {
            continue;
        }
        let Ok(index) = f[0].parse::<usize>() else {
            continue;
        };
        let cut = line.rfind(',').unwrap_or(line.len());
        rows.push((index, line[..cut].to_string()));
    }
    Ok(rows)
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
    let space = Space::load(space_path)?;
    let net = load_net(args.net.as_deref())?;
    let (shard, shards) = match &args.shard {
        Some(s) => parse_shard(s)?,
        None => (0, 1),
    };
    let mine: Vec<Point> = (0..space.len())
        .filter(|i| i % shards == shard)
        .map(|i| space.point(i))
        .collect();
    // Resume: keep complete rows of this grid and shard whose parameters match.
    let mut done: Vec<(usize, String)> = Vec::new();
    if args.out.exists() {
        let mut foreign = 0;
        for (index, row) in read_rows(&args.out)? {
            let mine = index < space.len() && index % shards == shard && {
                let head = space.params(&space.point(index));
                row.starts_with(&format!("{head},"))
            };
            if mine {
                done.push((index, row));
            } else {
                foreign += 1;
            }
        }
        if foreign > 0 {
            eprintln!(
                "warning: {}: {foreign} rows are not points of this grid (or shard) and will be dropped",
                args.out.display()
            );
        }
        done.sort_by_key(|r| r.0);
        done.dedup_by_key(|r| r.0);
    }
    let have: std::collections::HashSet<usize> = done.iter().map(|r| r.0).collect();
    let pending: Vec<Point> = mine
        .into_iter()
        .filter(|p| !have.contains(&p.index))
        .collect();
    let jobs = args
        .jobs
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
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
        let rows: Vec<(usize, String)> = pool.install(|| {
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
            write_atomic(&args.out, render(&mut done).as_bytes())?;
            last = Instant::now();
        }
    }
    bar.finish_and_clear();
    let text = render(&mut done);
    write_atomic(&args.out, text.as_bytes())?;
    if let Some(p) = &plot_out {
        plot(p, &text, Some(space.base.energy.units))?;
    }
    Ok(())
}

fn merge(args: &SweepArgs) -> Result<()> {
    let out = OutFile::new(&args.out, args.force)?;
    let plot_out = plot_file(args.plot.as_deref(), args.force)?;
    let mut all: std::collections::BTreeMap<usize, String> = Default::default();
    for p in &args.merge {
        if !p.exists() {
            bail!("{}: no such sweep file", p.display());
        }
        for (index, row) in read_rows(p)? {
            if let Some(prev) = all.get(&index) {
                if *prev != row {
                    bail!(
                        "{}: row {index} differs from the same row in an earlier file; fix: merge shards of one space only",
                        p.display()
                    );
                }
            }
            all.insert(index, row);
        }
    }
    let mut rows: Vec<(usize, String)> = all.into_iter().collect();
    let text = render(&mut rows);
    out.write(text.as_bytes())?;
    if let Some(p) = &plot_out {
        plot(p, &text, None)?;
    }
    Ok(())
}

fn plot(path: &OutFile, text: &str, units: Option<ember_estimator::Units>) -> Result<()> {
    let mut pts = Vec::new();
    for line in text.lines().skip(1) {
        if let Some((e, c, _)) = objectives(line) {
            pts.push((c / 1e6, e / 1e6, line.ends_with(",1")));
        }
    }
    // Merged shards do not know their units: only that the divisor is the same.
    let unit = units.map_or("x10^6 units of the energy table", |u| energy_unit(u).0);
    crate::plot::sweep_plot(
        path,
        &format!("sweep: {} points, Pareto front in red", pts.len()),
        &format!("network energy ({unit})"),
        &pts,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_indices_name_the_header_columns() {
        let cols: Vec<&str> = HEADER.split(',').collect();
        assert_eq!(cols[COL_STORAGE], "storage_words");
        assert_eq!(cols[COL_STATUS], "status");
        assert_eq!(cols[COL_ENERGY], "energy_total");
        assert_eq!(cols[COL_CYCLES], "cycles");
        assert_eq!(cols[COL_PARETO], "pareto");
        assert_eq!(cols.len(), COL_PARETO + 1);
    }
}
