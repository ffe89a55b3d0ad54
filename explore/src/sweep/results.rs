//! The results file of `ember sweep`: one CSV row per grid point, sorted by index. Every row
//! says which grid it belongs to (`grid`, a fingerprint of the space and network, and
//! `grid_points`) and which shard of the run wrote it (`shard` = I/N), so a resumed run never
//! mixes grids and a merge can prove it has every shard, each once.
//!
//! Rows are typed (`SweepRow`): evaluated points become rows, rows become text only when the
//! file is written, and a file read back (resume, merge) becomes rows again. The Pareto front
//! is computed from the rows, never from the text. Numbers are written so they read back to
//! the same bits (`{}` of f64 is the shortest round-trip form; utilisation has a fixed six
//! decimals, which a parse and re-print keep), so a resumed file's bytes equal a fresh run's.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use ember_estimator::Units;
use ember_sim::Dataflow;

use crate::error::{ExploreError, Result, Role};

pub const HEADER: &str = "index,dataflow,rows,cols,filter_spad_words,ifmap_spad_words,psum_spad_words,glb_words,batch,energy_table,energy_units,storage_words,status,energy_total,energy_mac,energy_dram,energy_glb,energy_array,energy_rf,cycles,utilization,grid,grid_points,shard,pareto";
/// Fields of a row up to `utilization` (checked against `HEADER` by a test below).
const ROW_FIELDS: usize = 21;
/// The `status` field (`ok` or `no_mapping`); the figures follow it.
const STATUS: usize = 12;
/// Energy columns after `energy_total`: MAC, then the four Eyeriss levels (the only levels a
/// sweep's base may have: `Space::load`).
const LEVEL_FIELDS: usize = 5;
/// A complete line: the row, then grid, grid_points, shard and pareto.
const LINE_FIELDS: usize = ROW_FIELDS + 4;

/// Which run wrote a file: the grid and the shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub grid: String,
    pub points: usize,
    pub shard: usize,
    pub shards: usize,
}

impl Origin {
    /// The indices this shard covers.
    pub fn indices(&self) -> impl Iterator<Item = usize> + '_ {
        (self.shard..self.points).step_by(self.shards)
    }
    fn shard_label(&self) -> String {
        format!("{}/{}", self.shard, self.shards)
    }
    /// "GRID, N points, shard I/N", as errors name a run.
    fn describe(&self) -> String {
        format!(
            "{}, {} points, shard {}",
            self.grid,
            self.points,
            self.shard_label()
        )
    }
}

/// One grid point's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepRow {
    pub index: usize,
    pub dataflow: Dataflow,
    /// rows, cols, filter spad, ifmap spad, psum spad, GLB words.
    pub sizes: [usize; 6],
    pub batch: usize,
    /// The `grid.energy` entry whose table priced the point, as written (commas as `;`).
    pub energy_table: String,
    pub units: Units,
    pub storage_words: usize,
    /// `None`: no mapping of some layer fits the point's hardware.
    pub metrics: Option<Metrics>,
}

/// A feasible point's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    pub energy_total: f64,
    /// MAC (with static), then each level, outermost first.
    pub energy_by_level: Vec<f64>,
    pub cycles: u64,
    /// A row read back from a file has the six decimals the file holds.
    pub utilization: f64,
}

impl SweepRow {
    /// The point's (energy, cycles, storage), the objectives its front minimises, if feasible.
    pub fn objectives(&self) -> Option<(f64, u64, usize)> {
        let m = self.metrics.as_ref()?;
        Some((m.energy_total, m.cycles, self.storage_words))
    }

    /// The row's CSV fields up to `utilization`.
    fn write_csv(&self, out: &mut String) {
        let s = self.sizes;
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            self.index,
            self.dataflow.code(),
            s[0],
            s[1],
            s[2],
            s[3],
            s[4],
            s[5],
            self.batch,
            self.energy_table,
            self.units.key(),
            self.storage_words,
        );
        match &self.metrics {
            Some(m) => {
                let _ = write!(out, ",ok,{}", m.energy_total);
                for v in &m.energy_by_level {
                    let _ = write!(out, ",{v}");
                }
                let _ = write!(out, ",{},{:.6}", m.cycles, m.utilization);
            }
            // Empty energy, level, cycles and utilisation fields.
            None => {
                out.push_str(",no_mapping");
                out.push_str(&",".repeat(ROW_FIELDS - STATUS - 1));
            }
        }
    }

    /// A row from its fields up to `utilization`; `None` if any does not parse.
    fn parse(f: &[&str]) -> Option<SweepRow> {
        let num = |i: usize| f[i].parse::<usize>().ok();
        let metrics = match f[STATUS] {
            "ok" => Some(Metrics {
                energy_total: f[13].parse().ok()?,
                energy_by_level: f[14..14 + LEVEL_FIELDS]
                    .iter()
                    .map(|v| v.parse().ok())
                    .collect::<Option<_>>()?,
                cycles: f[19].parse().ok()?,
                utilization: f[20].parse().ok()?,
            }),
            "no_mapping" if f[13..ROW_FIELDS].iter().all(|v| v.is_empty()) => None,
            _ => return None,
        };
        Some(SweepRow {
            index: num(0)?,
            dataflow: f[1].parse().ok()?,
            sizes: [num(2)?, num(3)?, num(4)?, num(5)?, num(6)?, num(7)?],
            batch: num(8)?,
            energy_table: f[9].to_string(),
            units: match f[10] {
                "normalized" => Units::Normalized,
                "pJ" => Units::Picojoules,
                _ => return None,
            },
            storage_words: num(11)?,
            metrics,
        })
    }
}

/// Pareto flags (minimise energy, cycles and storage together), one per row.
pub fn pareto(rows: &[SweepRow]) -> Vec<bool> {
    let obj: Vec<Option<(f64, u64, usize)>> = rows.iter().map(SweepRow::objectives).collect();
    let mut order: Vec<(usize, (f64, u64, usize))> = obj
        .iter()
        .enumerate()
        .filter_map(|(i, o)| Some((i, (*o)?)))
        .collect();
    order.sort_by(|(_, x), (_, y)| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    let mut front: Vec<(f64, u64, usize)> = Vec::new();
    let mut flag = vec![false; rows.len()];
    for (i, p) in order {
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

/// The file text: header, rows sorted by index, each with its origin and pareto flag.
pub fn render(rows: &mut [SweepRow], origin: &Origin) -> String {
    rows.sort_by_key(|r| r.index);
    let flags = pareto(rows);
    let tail = format!(
        ",{},{},{}",
        origin.grid,
        origin.points,
        origin.shard_label()
    );
    let mut out = String::with_capacity(rows.len() * 160);
    out += HEADER;
    out += "\n";
    for (r, f) in rows.iter().zip(flags) {
        r.write_csv(&mut out);
        out += &tail;
        out += if f { ",1\n" } else { ",0\n" };
    }
    out
}

/// A results file as read: where its rows came from (if it has any) and its complete rows.
pub struct Contents {
    pub origin: Option<Origin>,
    pub rows: Vec<SweepRow>,
}

fn not_results(path: &Path, role: Role, why: String) -> ExploreError {
    ExploreError::NotResults {
        path: path.to_path_buf(),
        role,
        why,
    }
}

/// Read the complete rows of a results file. A last line without its newline (a write that
/// was cut short) is not a row; rows that disagree on their grid or shard are an error.
pub fn read(path: &Path, role: Role) -> Result<Contents> {
    let text = std::fs::read_to_string(path).map_err(|source| ExploreError::ResultsRead {
        path: path.to_path_buf(),
        source,
    })?;
    let mut lines = text.split('\n');
    match lines.next() {
        Some(h) if h == HEADER => {}
        Some("") | None => {
            return Ok(Contents {
                origin: None,
                rows: vec![],
            })
        }
        Some(_) => return Err(not_results(path, role, "its header differs".into())),
    }
    let body: Vec<&str> = lines.collect();
    let mut origin: Option<Origin> = None;
    let mut rows = Vec::new();
    // The last piece is complete only if the file ends with a newline.
    let complete = &body[..body.len().saturating_sub(1)];
    for (i, line) in complete.iter().enumerate() {
        let Some((row, o)) = parse_line(line) else {
            let why = format!("line {} is not a row of {LINE_FIELDS} fields", i + 2);
            return Err(not_results(path, role, why));
        };
        match &origin {
            Some(first) if *first != o => {
                let why = format!(
                    "line {} is of grid {} shard {}, earlier lines of grid {} shard {}",
                    i + 2,
                    o.grid,
                    o.shard_label(),
                    first.grid,
                    first.shard_label()
                );
                return Err(not_results(path, role, why));
            }
            Some(_) => {}
            None => origin = Some(o),
        }
        rows.push(row);
    }
    Ok(Contents { origin, rows })
}

/// The row and origin of one complete line (its pareto flag is recomputed when written).
fn parse_line(line: &str) -> Option<(SweepRow, Origin)> {
    let f: Vec<&str> = line.split(',').collect();
    if f.len() != LINE_FIELDS || !(f[LINE_FIELDS - 1] == "0" || f[LINE_FIELDS - 1] == "1") {
        return None;
    }
    let (shard, shards) = f[ROW_FIELDS + 2].split_once('/')?;
    let origin = Origin {
        grid: f[ROW_FIELDS].to_string(),
        points: f[ROW_FIELDS + 1].parse().ok()?,
        shard: shard.parse().ok()?,
        shards: shards.parse().ok()?,
    };
    Some((SweepRow::parse(&f[..ROW_FIELDS])?, origin))
}

/// The rows of `path` a run of `origin` keeps: all of them when the file is that run's own
/// (same grid and shard), none when it does not exist, is empty, or `force` replaces it; any
/// other file is an error and stays untouched.
pub fn resume(path: &Path, origin: &Origin, force: bool) -> Result<Vec<SweepRow>> {
    if !path.exists() {
        return Ok(vec![]);
    }
    let Contents {
        origin: found,
        mut rows,
    } = match read(path, Role::Out) {
        Ok(c) => c,
        Err(_) if force => return Ok(vec![]),
        Err(e) => return Err(e),
    };
    match found {
        None => Ok(vec![]),
        Some(f) if f == *origin => {
            rows.retain(|r| r.index < origin.points && r.index % origin.shards == origin.shard);
            rows.sort_by_key(|r| r.index);
            rows.dedup_by_key(|r| r.index);
            Ok(rows)
        }
        Some(_) if force => Ok(vec![]),
        Some(f) => Err(ExploreError::OtherSweep {
            path: path.to_path_buf(),
            rows: rows.len(),
            found: f.describe(),
            want: origin.describe(),
        }),
    }
}

fn merge_error(detail: String, fix: String) -> ExploreError {
    ExploreError::Merge { detail, fix }
}

/// The rows of a whole grid from its shard files: every file of one grid and shard count, each
/// shard once, each complete. Returns the merged rows and their origin (shard 0/1).
pub fn merge(files: &[PathBuf]) -> Result<(Vec<SweepRow>, Origin)> {
    for p in files {
        if !p.is_file() {
            return Err(merge_error(
                format!("{}: no such sweep file", p.display()),
                "give --merge the files written by `ember sweep --shard I/N`".into(),
            ));
        }
    }
    let mut shards: BTreeMap<usize, (&PathBuf, Contents)> = BTreeMap::new();
    let mut first: Option<(&PathBuf, Origin)> = None;
    for p in files {
        let c = read(p, Role::MergeInput)?;
        // A header alone: a shard with no points (more shards than points), or nothing; if
        // its shard has points, the missing-shard check below names it.
        let Some(o) = c.origin.clone() else {
            continue;
        };
        match &first {
            Some((fp, f)) => same_grid(p, &o, fp, f)?,
            None => first = Some((p, o.clone())),
        }
        if let Some((q, _)) = shards.get(&o.shard) {
            return Err(merge_error(
                format!(
                    "{} and {} are both shard {}",
                    q.display(),
                    p.display(),
                    o.shard_label()
                ),
                "give each shard once".into(),
            ));
        }
        complete_shard(p, &o, &c.rows)?;
        shards.insert(o.shard, (p, c));
    }
    let Some((_, o)) = first else {
        return Err(merge_error(
            "no file given to --merge has a row".into(),
            "give the shard files of a finished sweep".into(),
        ));
    };
    if let Some(missing) = (0..o.shards).find(|&i| i < o.points && !shards.contains_key(&i)) {
        return Err(merge_error(
            format!(
                "shard {missing}/{} is missing from --merge ({} of {} shards given)",
                o.shards,
                shards.len(),
                o.shards
            ),
            format!(
                "add the file written by `ember sweep --shard {missing}/{}`",
                o.shards
            ),
        ));
    }
    let rows = shards.into_values().flat_map(|(_, c)| c.rows).collect();
    let whole = Origin {
        shard: 0,
        shards: 1,
        ..o
    };
    Ok((rows, whole))
}

/// Shards of one sweep share grid, size and shard count.
fn same_grid(p: &Path, o: &Origin, first_path: &Path, first: &Origin) -> Result<()> {
    if (&first.grid, first.points, first.shards) == (&o.grid, o.points, o.shards) {
        return Ok(());
    }
    Err(merge_error(
        format!(
            "{}: shard {} of grid {} ({} points), but {} is shard {} of grid {} ({} points)",
            p.display(),
            o.shard_label(),
            o.grid,
            o.points,
            first_path.display(),
            first.shard_label(),
            first.grid,
            first.points
        ),
        "merge the shards of one sweep only".into(),
    ))
}

/// A shard file holds every row of its shard and no other (an interrupted run does not).
fn complete_shard(p: &Path, o: &Origin, rows: &[SweepRow]) -> Result<()> {
    let want = o.indices().count();
    if rows.len() == want && rows.iter().all(|r| r.index % o.shards == o.shard) {
        return Ok(());
    }
    Err(merge_error(
        format!(
            "{}: shard {} holds {} of its {want} rows (an interrupted run?)",
            p.display(),
            o.shard_label(),
            rows.len()
        ),
        format!(
            "rerun its `ember sweep --shard {}` command to finish it",
            o.shard_label()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_counts_match_the_header() {
        let cols: Vec<&str> = HEADER.split(',').collect();
        assert_eq!(cols.len(), LINE_FIELDS);
        assert_eq!(cols[STATUS], "status");
        assert_eq!(cols[13], "energy_total");
        assert_eq!(cols[14], "energy_mac");
        assert_eq!(cols[14 + LEVEL_FIELDS], "cycles");
        assert_eq!(cols[ROW_FIELDS - 1], "utilization");
        assert_eq!(cols[ROW_FIELDS], "grid");
        assert_eq!(cols[LINE_FIELDS - 1], "pareto");
    }

    fn row(index: usize, metrics: Option<Metrics>) -> SweepRow {
        SweepRow {
            index,
            dataflow: Dataflow::RowStationary,
            sizes: [12, 14, 224, 12, 24, 54_000],
            batch: 4,
            energy_table: "base".into(),
            units: Units::Normalized,
            storage_words: 100_000,
            metrics,
        }
    }

    /// Rows written and read back are the same rows, and render to the same bytes.
    #[test]
    fn rows_read_back_to_the_same_bytes() {
        let m = Metrics {
            energy_total: 27_400_190_123.456_78,
            energy_by_level: vec![1.0 / 3.0, 2.5e-7, 3.0, 4.0e12, 0.1 + 0.2],
            cycles: 31_178_000,
            utilization: 0.553_219_8,
        };
        let origin = Origin {
            grid: "00ff".into(),
            points: 4,
            shard: 0,
            shards: 1,
        };
        let mut rows = vec![row(0, Some(m)), row(1, None)];
        let text = render(&mut rows, &origin);
        let back: Vec<SweepRow> = text
            .lines()
            .skip(1)
            .map(|l| parse_line(l).expect("a row").0)
            .collect();
        assert_eq!(back[1], rows[1]);
        assert_eq!(render(&mut back.clone(), &origin), text);
    }

    #[test]
    fn pareto_flags_the_undominated_feasible_rows() {
        let m = |e: f64, c: u64| {
            Some(Metrics {
                energy_total: e,
                energy_by_level: vec![0.0; LEVEL_FIELDS],
                cycles: c,
                utilization: 0.5,
            })
        };
        let rows = vec![
            row(0, m(1.0, 10)),
            row(1, m(2.0, 5)),
            row(2, m(2.0, 20)),
            row(3, None),
        ];
        assert_eq!(pareto(&rows), vec![true, true, false, false]);
    }
}
