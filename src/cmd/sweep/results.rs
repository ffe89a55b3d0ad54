//! The results file of `ember sweep`: one CSV row per grid point, sorted by index. Every row
//! says which grid it belongs to (`grid`, a fingerprint of the space and network, and
//! `grid_points`) and which shard of the run wrote it (`shard` = I/N), so a resumed run never
//! mixes grids and a merge can prove it has every shard, each once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

pub const HEADER: &str = "index,dataflow,rows,cols,filter_spad_words,ifmap_spad_words,psum_spad_words,glb_words,batch,energy_table,energy_units,storage_words,status,energy_total,energy_mac,energy_dram,energy_glb,energy_array,energy_rf,cycles,utilization,grid,grid_points,shard,pareto";
/// Columns of `HEADER` read back (checked against it by a test below).
pub const COL_UNITS: usize = 10;
const COL_STORAGE: usize = 11;
const COL_STATUS: usize = 12;
const COL_ENERGY: usize = 13;
const COL_CYCLES: usize = 19;
/// The first column the results file adds to an evaluated point.
const COL_GRID: usize = 21;
/// The last column; a complete row has `COL_PARETO + 1` fields.
const COL_PARETO: usize = 24;

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
}

/// A grid point's row up to `utilization`, keyed by its index.
pub type Row = (usize, String);

/// A results file as read: where its rows came from (if it has any) and its complete rows.
pub struct Contents {
    pub origin: Option<Origin>,
    pub rows: Vec<Row>,
}

/// Why a file cannot be read as results, worded for the role the file plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `--out` of a run (it would be resumed or replaced).
    Out,
    /// An input of `--merge`.
    MergeInput,
}

fn not_results(path: &Path, role: Role, why: &str) -> anyhow::Error {
    let fix = match role {
        Role::Out => "choose another --out, or pass --force to replace it",
        Role::MergeInput => "give --merge the files written by `ember sweep --shard I/N`",
    };
    anyhow::anyhow!(
        "{}: not an `ember sweep` results file of this version ({why}); fix: {fix}",
        path.display()
    )
}

/// Read the complete rows of a results file. A last line without its newline (a write that
/// was cut short) is not a row; rows that disagree on their grid or shard are an error.
pub fn read(path: &Path, role: Role) -> Result<Contents> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        anyhow::anyhow!(
            "{}: cannot read: {e}; fix: check the path (a results CSV of `ember sweep`)",
            path.display()
        )
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
        Some(_) => return Err(not_results(path, role, "its header differs")),
    }
    let body: Vec<&str> = lines.collect();
    let mut origin: Option<Origin> = None;
    let mut rows = Vec::new();
    for (i, line) in body.iter().enumerate() {
        // The last piece is complete only if the file ends with a newline.
        if i + 1 == body.len() {
            break;
        }
        let Some((index, row, o)) = parse_row(line) else {
            let why = format!("line {} is not a row of {} fields", i + 2, COL_PARETO + 1);
            return Err(not_results(path, role, &why));
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
                return Err(not_results(path, role, &why));
            }
            Some(_) => {}
            None => origin = Some(o),
        }
        rows.push((index, row));
    }
    Ok(Contents { origin, rows })
}

/// (index, the row up to `utilization`, origin) of one complete line.
fn parse_row(line: &str) -> Option<(usize, String, Origin)> {
    let f: Vec<&str> = line.split(',').collect();
    if f.len() != COL_PARETO + 1 || !(f[COL_PARETO] == "0" || f[COL_PARETO] == "1") {
        return None;
    }
    let (shard, shards) = f[COL_GRID + 2].split_once('/')?;
    let origin = Origin {
        grid: f[COL_GRID].to_string(),
        points: f[COL_GRID + 1].parse().ok()?,
        shard: shard.parse().ok()?,
        shards: shards.parse().ok()?,
    };
    let index = f[0].parse().ok()?;
    Some((index, f[..COL_GRID].join(","), origin))
}

/// A row's (energy, cycles, storage) if it is a feasible point.
pub fn objectives(row: &str) -> Option<(f64, f64, f64)> {
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
fn pareto(rows: &[Row]) -> Vec<bool> {
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

/// The file text: header, rows sorted by index, each with its origin and pareto flag.
pub fn render(rows: &mut [Row], origin: &Origin) -> String {
    rows.sort_by_key(|r| r.0);
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
    for ((_, r), f) in rows.iter().zip(flags) {
        out += r;
        out += &tail;
        out += if f { ",1\n" } else { ",0\n" };
    }
    out
}

/// The rows of a whole grid from its shard files: every file of one grid and shard count, each
/// shard once, each complete. Returns the merged rows and their origin (shard 0/1).
pub fn merge(files: &[PathBuf]) -> Result<(Vec<Row>, Origin)> {
    let mut shards: BTreeMap<usize, (&PathBuf, Contents)> = BTreeMap::new();
    let mut first: Option<(&PathBuf, Origin)> = None;
    for p in files {
        let c = read(p, Role::MergeInput)?;
        // A header alone: a shard with no points (more shards than points), or nothing; if
        // its shard has points, the missing-shard check below names it.
        let Some(o) = c.origin.clone() else {
            continue;
        };
        if let Some((fp, f)) = &first {
            if (&f.grid, f.points, f.shards) != (&o.grid, o.points, o.shards) {
                bail!(
                    "{}: shard {} of grid {} ({} points), but {} is shard {} of grid {} ({} points); fix: merge the shards of one sweep only",
                    p.display(), o.shard_label(), o.grid, o.points,
                    fp.display(), f.shard_label(), f.grid, f.points
                );
            }
        } else {
            first = Some((p, o.clone()));
        }
        if let Some((q, _)) = shards.get(&o.shard) {
            bail!(
                "{} and {} are both shard {}; fix: give each shard once",
                q.display(),
                p.display(),
                o.shard_label()
            );
        }
        let want = o.indices().count();
        if c.rows.len() != want || c.rows.iter().any(|(i, _)| i % o.shards != o.shard) {
            bail!(
                "{}: shard {} holds {} of its {want} rows (an interrupted run?); fix: rerun its `ember sweep --shard {}` command to finish it",
                p.display(), o.shard_label(), c.rows.len(), o.shard_label()
            );
        }
        shards.insert(o.shard, (p, c));
    }
    let (_, o) = first.context(
        "no file given to --merge has a row; fix: give the shard files of a finished sweep",
    )?;
    let has_points = |i: usize| i < o.points;
    if let Some(missing) = (0..o.shards).find(|&i| has_points(i) && !shards.contains_key(&i)) {
        bail!(
            "shard {missing}/{} is missing from --merge ({} of {} shards given); fix: add the file written by `ember sweep --shard {missing}/{}`",
            o.shards, shards.len(), o.shards, o.shards
        );
    }
    let rows = shards.into_values().flat_map(|(_, c)| c.rows).collect();
    let whole = Origin {
        shard: 0,
        shards: 1,
        ..o
    };
    Ok((rows, whole))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_indices_name_the_header_columns() {
        let cols: Vec<&str> = HEADER.split(',').collect();
        assert_eq!(cols[COL_UNITS], "energy_units");
        assert_eq!(cols[COL_STORAGE], "storage_words");
        assert_eq!(cols[COL_STATUS], "status");
        assert_eq!(cols[COL_ENERGY], "energy_total");
        assert_eq!(cols[COL_CYCLES], "cycles");
        assert_eq!(cols[COL_GRID], "grid");
        assert_eq!(cols[COL_GRID + 1], "grid_points");
        assert_eq!(cols[COL_GRID + 2], "shard");
        assert_eq!(cols[COL_PARETO], "pareto");
        assert_eq!(cols.len(), COL_PARETO + 1);
    }
}
