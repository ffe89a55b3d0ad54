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

/// The columns before the level energies: the parameters, the status, the total and the MAC.
const HEAD: &str = "index,dataflow,rows,cols,filter_spad_words,ifmap_spad_words,psum_spad_words,rf_words,glb_words,batch,energy_table,energy_units,storage_words,status,energy_total,energy_mac";
/// The columns after the level energies: the figures, which run wrote the row, the front flag.
const TAIL: &str = "cycles,utilization,grid,grid_points,shard,pareto";
/// The `status` field (`ok` or `no_mapping`); the figures follow it.
const STATUS: usize = 13;
/// The `energy_total` field; `energy_mac` follows it, then one `energy_<level>` per level.
const TOTAL: usize = 14;
/// Columns of `HEAD`.
const HEAD_FIELDS: usize = TOTAL + 2;
/// The columns of the four-level Eyeriss configs, as every results file had before levels were
/// data (checked by a test below).
#[cfg(test)]
const EYERISS_HEADER: &str = "index,dataflow,rows,cols,filter_spad_words,ifmap_spad_words,psum_spad_words,rf_words,glb_words,batch,energy_table,energy_units,storage_words,status,energy_total,energy_mac,energy_dram,energy_glb,energy_array,energy_rf,cycles,utilization,grid,grid_points,shard,pareto";

/// The header of a results file whose base config has the levels `levels` (outermost first):
/// one `energy_<name>` column per level between `energy_mac` and `cycles`.
pub fn header(levels: &[String]) -> String {
    let mut h = String::from(HEAD);
    for l in levels {
        h += ",energy_";
        h += l;
    }
    h += ",";
    h += TAIL;
    h
}

/// The level names of a results file's header, if it is one (any level list).
fn header_levels(h: &str) -> Option<Vec<String>> {
    let mid = h.strip_prefix(HEAD)?.strip_suffix(TAIL)?;
    let mid = mid.strip_prefix(',')?.strip_suffix(',')?;
    mid.split(',')
        .map(|c| {
            c.strip_prefix("energy_")
                .filter(|n| !n.is_empty())
                .map(str::to_string)
        })
        .collect()
}

/// Where a row's fields sit, given how many levels the file has.
#[derive(Debug, Clone, Copy)]
struct Layout {
    levels: usize,
}

impl Layout {
    /// Fields of a row up to `utilization`.
    fn row_fields(self) -> usize {
        HEAD_FIELDS + self.levels + 2
    }
    /// A complete line: the row, then grid, grid_points, shard and pareto.
    fn line_fields(self) -> usize {
        self.row_fields() + 4
    }
}

/// Which run wrote a file: the grid, the shard, and the base config's levels (the file's
/// level energy columns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub grid: String,
    pub points: usize,
    pub shard: usize,
    pub shards: usize,
    /// The level names, outermost first: one `energy_<name>` column each.
    pub levels: Vec<String>,
}

impl Origin {
    /// The indices this shard covers.
    pub fn indices(&self) -> impl Iterator<Item = usize> + '_ {
        (self.shard..self.points).step_by(self.shards)
    }
    fn shard_label(&self) -> String {
        format!("{}/{}", self.shard, self.shards)
    }
    /// Whether two lines were written by the same run (grid and shard; the levels are the
    /// header's).
    fn same_run(&self, o: &Origin) -> bool {
        (&self.grid, self.points, self.shard, self.shards) == (&o.grid, o.points, o.shard, o.shards)
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
    /// rows, cols, filter spad, ifmap spad, psum spad, unified RF, GLB words (the spads are 0
    /// on a unified-RF base, the RF 0 on a three-spad base).
    pub sizes: [usize; 7],
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
    /// MAC (with static), then each level of the base config, outermost first (one entry per
    /// `energy_*` column of the file after `energy_total`).
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
    fn write_csv(&self, out: &mut String, layout: Layout) {
        let s = self.sizes;
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{}",
            self.index,
            self.dataflow.code(),
            s[0],
            s[1],
            s[2],
            s[3],
            s[4],
            s[5],
            s[6],
            self.batch,
            self.energy_table,
            self.units.key(),
            self.storage_words,
        );
        match &self.metrics {
            Some(m) => {
                debug_assert_eq!(m.energy_by_level.len(), layout.levels + 1);
                let _ = write!(out, ",ok,{}", m.energy_total);
                for v in &m.energy_by_level {
                    let _ = write!(out, ",{v}");
                }
                let _ = write!(out, ",{},{:.6}", m.cycles, m.utilization);
            }
            // Empty energy, level, cycles and utilisation fields.
            None => {
                out.push_str(",no_mapping");
                out.push_str(&",".repeat(layout.row_fields() - STATUS - 1));
            }
        }
    }

    /// A row from its fields up to `utilization`; `None` if any does not parse.
    fn parse(f: &[&str], layout: Layout) -> Option<SweepRow> {
        let num = |i: usize| f[i].parse::<usize>().ok();
        // energy_total, energy_mac and the levels; then cycles and utilization.
        let cycles = TOTAL + 2 + layout.levels;
        let metrics = match f[STATUS] {
            "ok" => Some(Metrics {
                energy_total: f[TOTAL].parse().ok()?,
                energy_by_level: f[TOTAL + 1..cycles]
                    .iter()
                    .map(|v| v.parse().ok())
                    .collect::<Option<_>>()?,
                cycles: f[cycles].parse().ok()?,
                utilization: f[cycles + 1].parse().ok()?,
            }),
            "no_mapping" if f[TOTAL..layout.row_fields()].iter().all(|v| v.is_empty()) => None,
            _ => return None,
        };
        Some(SweepRow {
            index: num(0)?,
            dataflow: f[1].parse().ok()?,
            sizes: [
                num(2)?,
                num(3)?,
                num(4)?,
                num(5)?,
                num(6)?,
                num(7)?,
                num(8)?,
            ],
            batch: num(9)?,
            energy_table: f[10].to_string(),
            units: match f[11] {
                "normalized" => Units::Normalized,
                "pJ" => Units::Picojoules,
                _ => return None,
            },
            storage_words: num(12)?,
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
    let layout = Layout {
        levels: origin.levels.len(),
    };
    let mut out = String::with_capacity(rows.len() * 160);
    out += &header(&origin.levels);
    out += "\n";
    for (r, f) in rows.iter().zip(flags) {
        r.write_csv(&mut out, layout);
        out += &tail;
        out += if f { ",1\n" } else { ",0\n" };
    }
    out
}

/// A results file as read: its level columns (if it has a header), where its rows came from
/// (if it has any) and its complete rows.
pub struct Contents {
    pub levels: Option<Vec<String>>,
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

/// The level columns a file must have, and whose they are (for the error).
pub struct Expected<'a> {
    pub levels: &'a [String],
    /// "this sweep's base config", or the file that set them.
    pub whose: String,
    pub fix: String,
}

/// Read the complete rows of a results file. A last line without its newline (a write that
/// was cut short) is not a row; rows that disagree on their grid or shard are an error, and so
/// are level columns other than `want`'s.
pub fn read(path: &Path, role: Role, want: Option<&Expected>) -> Result<Contents> {
    let text = std::fs::read_to_string(path).map_err(|source| ExploreError::ResultsRead {
        path: path.to_path_buf(),
        source,
    })?;
    let mut lines = text.split('\n');
    let levels = match lines.next() {
        Some("") | None => {
            return Ok(Contents {
                levels: None,
                origin: None,
                rows: vec![],
            })
        }
        Some(h) => match header_levels(h) {
            Some(l) => l,
            None => return Err(not_results(path, role, "its header differs".into())),
        },
    };
    if let Some(w) = want.filter(|w| w.levels != levels.as_slice()) {
        return Err(ExploreError::LevelColumns {
            path: path.to_path_buf(),
            found: columns(&levels).into(),
            want: columns(w.levels).into(),
            whose: w.whose.as_str().into(),
            fix: w.fix.as_str().into(),
        });
    }
    let layout = Layout {
        levels: levels.len(),
    };
    let body: Vec<&str> = lines.collect();
    let mut origin: Option<Origin> = None;
    let mut rows = Vec::new();
    // The last piece is complete only if the file ends with a newline.
    let complete = &body[..body.len().saturating_sub(1)];
    for (i, line) in complete.iter().enumerate() {
        let Some((row, o)) = parse_line(line, layout) else {
            let why = format!(
                "line {} is not a row of {} fields",
                i + 2,
                layout.line_fields()
            );
            return Err(not_results(path, role, why));
        };
        match &origin {
            Some(first) if !first.same_run(&o) => {
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
            None => {
                origin = Some(Origin {
                    levels: levels.clone(),
                    ..o
                })
            }
        }
        rows.push(row);
    }
    Ok(Contents {
        levels: Some(levels),
        origin,
        rows,
    })
}

/// The level energy columns of `levels`, as the header writes them.
fn columns(levels: &[String]) -> String {
    levels
        .iter()
        .map(|l| format!("energy_{l}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The row and origin of one complete line (its pareto flag is recomputed when written; the
/// origin's levels are the header's, left empty here).
fn parse_line(line: &str, layout: Layout) -> Option<(SweepRow, Origin)> {
    let f: Vec<&str> = line.split(',').collect();
    let (row, line) = (layout.row_fields(), layout.line_fields());
    if f.len() != line || !(f[line - 1] == "0" || f[line - 1] == "1") {
        return None;
    }
    let (shard, shards) = f[row + 2].split_once('/')?;
    let origin = Origin {
        grid: f[row].to_string(),
        points: f[row + 1].parse().ok()?,
        shard: shard.parse().ok()?,
        shards: shards.parse().ok()?,
        levels: Vec::new(),
    };
    Some((SweepRow::parse(&f[..row], layout)?, origin))
}

/// The rows of `path` a run of `origin` keeps: all of them when the file is that run's own
/// (same level columns, grid and shard), none when it does not exist, is empty, or `force`
/// replaces it; any other file is an error and stays untouched.
pub fn resume(path: &Path, origin: &Origin, force: bool) -> Result<Vec<SweepRow>> {
    if !path.exists() {
        return Ok(vec![]);
    }
    let want = Expected {
        levels: &origin.levels,
        whose: format!(
            "this sweep's base config (levels {})",
            origin.levels.join(", ")
        ),
        fix: "choose another --out, or pass --force to replace it".into(),
    };
    let Contents {
        origin: found,
        mut rows,
        ..
    } = match read(path, Role::Out, Some(&want)) {
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
    // The level columns of the first file with a header: every other file's must be these.
    let mut columns: Option<(&PathBuf, Vec<String>)> = None;
    for p in files {
        let want = columns.as_ref().map(|(q, levels)| Expected {
            levels,
            whose: format!("{}, the first file given to --merge,", q.display()),
            fix: "merge the shards of one sweep only".into(),
        });
        let c = read(p, Role::MergeInput, want.as_ref())?;
        if columns.is_none() {
            columns = c.levels.clone().map(|l| (p, l));
        }
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
    if (&first.grid, first.points, first.shards, &first.levels)
        == (&o.grid, o.points, o.shards, &o.levels)
    {
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

    fn names(levels: &[&str]) -> Vec<String> {
        levels.iter().map(|l| l.to_string()).collect()
    }

    /// The four Eyeriss levels give the header every results file had before levels were
    /// data (files written then still resume), and any level list reads back from its header.
    #[test]
    fn header_is_the_level_list() {
        let eyeriss = names(&["dram", "glb", "array", "rf"]);
        assert_eq!(header(&eyeriss), EYERISS_HEADER);
        for levels in [eyeriss, names(&["dram", "l2", "glb", "array", "rf"])] {
            let h = header(&levels);
            assert_eq!(header_levels(&h).as_ref(), Some(&levels));
            let cols: Vec<&str> = h.split(',').collect();
            let layout = Layout {
                levels: levels.len(),
            };
            assert_eq!(cols.len(), layout.line_fields());
            assert_eq!(cols[STATUS], "status");
            assert_eq!(cols[TOTAL], "energy_total");
            assert_eq!(cols[TOTAL + 1], "energy_mac");
            assert_eq!(cols[TOTAL + 2], "energy_dram");
            assert_eq!(cols[TOTAL + 1 + levels.len()], "energy_rf");
            assert_eq!(cols[layout.row_fields() - 2], "cycles");
            assert_eq!(cols[layout.row_fields() - 1], "utilization");
            assert_eq!(cols[layout.row_fields()], "grid");
            assert_eq!(cols[layout.line_fields() - 1], "pareto");
        }
        assert_eq!(header_levels("index,dataflow"), None);
        assert_eq!(
            header_levels(&EYERISS_HEADER.replace("energy_glb", "glb")),
            None
        );
    }

    fn row(index: usize, metrics: Option<Metrics>) -> SweepRow {
        SweepRow {
            index,
            dataflow: Dataflow::RowStationary,
            sizes: [12, 14, 224, 12, 24, 0, 54_000],
            batch: 4,
            energy_table: "base".into(),
            units: Units::Normalized,
            storage_words: 100_000,
            metrics,
        }
    }

    /// Rows written and read back are the same rows, and render to the same bytes, with four
    /// levels or five.
    #[test]
    fn rows_read_back_to_the_same_bytes() {
        for levels in [
            names(&["dram", "glb", "array", "rf"]),
            names(&["dram", "l2", "glb", "array", "rf"]),
        ] {
            let mut by_level = vec![1.0 / 3.0, 2.5e-7, 3.0, 4.0e12, 0.1 + 0.2, 7.5];
            by_level.truncate(levels.len() + 1);
            let m = Metrics {
                energy_total: 27_400_190_123.456_78,
                energy_by_level: by_level,
                cycles: 31_178_000,
                utilization: 0.553_219_8,
            };
            let layout = Layout {
                levels: levels.len(),
            };
            let origin = Origin {
                grid: "00ff".into(),
                points: 4,
                shard: 0,
                shards: 1,
                levels,
            };
            let mut rows = vec![row(0, Some(m)), row(1, None)];
            let text = render(&mut rows, &origin);
            let back: Vec<SweepRow> = text
                .lines()
                .skip(1)
                .map(|l| parse_line(l, layout).expect("a row").0)
                .collect();
            assert_eq!(back[1], rows[1]);
            assert_eq!(render(&mut back.clone(), &origin), text);
        }
    }

    #[test]
    fn pareto_flags_the_undominated_feasible_rows() {
        let m = |e: f64, c: u64| {
            Some(Metrics {
                energy_total: e,
                energy_by_level: vec![0.0; 5],
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
