//! The space file of `ember sweep`: a base config and value lists whose product is the grid.

use std::path::Path;

use serde::Deserialize;

use ember_estimator::{EnergyTable, Hardware, Units};
use ember_sim::{Dataflow, HwConfig, Network};

use super::results::{Metrics, SweepRow};
use crate::error::{ExploreError, Result};
use crate::json::{energy_by_level, utilization};

/// A rule of the space file broken: the file named, then `detail` (key, rule, fix).
fn invalid(path: &Path, detail: String) -> ExploreError {
    ExploreError::Space {
        path: path.to_path_buf(),
        detail,
    }
}

/// Most grid points a space may have: far beyond any sweep that finishes, small enough that the
/// mixed-radix index arithmetic cannot overflow.
const MAX_POINTS: usize = 1 << 32;

fn parse(path: &Path, text: &str) -> Result<SpaceFile> {
    toml::from_str(text).map_err(|e| {
        // The TOML error spans lines (a caret under the line): one line, as every error.
        let message = e
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        invalid(
            path,
            format!("{message}; fix: see `ember sweep --help` and the README for the keys"),
        )
    })
}

/// A `grid` list of sizes or batches, the base's `default` alone when absent.
fn positive_list(
    path: &Path,
    v: Option<Vec<usize>>,
    default: usize,
    key: &str,
) -> Result<Vec<usize>> {
    let v = v.unwrap_or_else(|| vec![default]);
    if v.is_empty() || v.contains(&0) {
        return Err(invalid(path, format!(
            "key `grid.{key}` must be a non-empty list of positive integers; fix: e.g. `{key} = [{default}]`, or drop the key to keep the base's value"
        )));
    }
    Ok(v)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpaceFile {
    base: std::path::PathBuf,
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
    rf_words: Option<Vec<usize>>,
    glb_words: Option<Vec<usize>>,
    batch: Option<Vec<usize>>,
    energy: Option<Vec<String>>,
}

/// The loaded space: base config and the value lists (never empty).
pub struct Space {
    pub base: Hardware,
    energy_names: Vec<String>,
    energy_tables: Vec<EnergyTable>,
    dataflow: Vec<Dataflow>,
    batch: Vec<usize>,
    /// rows, cols, filter spad, ifmap spad, psum spad, unified RF, glb words.
    sizes: [Vec<usize>; 7],
}

/// One grid point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    pub index: usize,
    pub energy: usize,
    pub dataflow: Dataflow,
    pub batch: usize,
    pub sizes: [usize; 7],
}

impl Space {
    /// Read and check a space file. Its base config and energy tables load through their
    /// owner (`Hardware`), with that format's located errors.
    pub fn load(path: &Path) -> Result<Space> {
        let text = std::fs::read_to_string(path).map_err(|source| ExploreError::SpaceRead {
            path: path.to_path_buf(),
            source,
        })?;
        let file = parse(path, &text)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let base = Hardware::load(&dir.join(&file.base))?;
        let g = file.grid;
        let a = &base.arch;
        let list = |v, default, key: &str| positive_list(path, v, default, key);
        let (spads, rf) = pe_lists(path, &g, a)?;
        let [filter, ifmap, psum] = spads;
        let sizes = [
            list(g.rows, a.array.rows, "rows")?,
            list(g.cols, a.array.cols, "cols")?,
            filter,
            ifmap,
            psum,
            rf,
            list(g.glb_words, a.glb.words, "glb_words")?,
        ];
        let batch = list(g.batch, 4, "batch")?;
        let dataflow = g.dataflow.unwrap_or_else(|| vec![a.dataflow]);
        if dataflow.is_empty() {
            return Err(invalid(path, "key `grid.dataflow` must not be empty; fix: list dataflows, e.g. [\"rs\"], or drop the key".into()));
        }
        let energy_names = g.energy.unwrap_or_else(|| vec!["base".into()]);
        if energy_names.is_empty() {
            return Err(invalid(path, "key `grid.energy` must not be empty; fix: list configs whose [energy] table to use, e.g. [\"base\"], or drop the key".into()));
        }
        let energy_tables = energy_tables(path, &base, &energy_names)?;
        let space = Space {
            base,
            energy_names,
            energy_tables,
            dataflow,
            batch,
            sizes,
        };
        let points = space.radix().iter().try_fold(1usize, |acc, &r| {
            acc.checked_mul(r).filter(|&n| n <= MAX_POINTS)
        });
        if points.is_none() {
            return Err(invalid(
                path,
                format!("the grid has more than {MAX_POINTS} points; fix: shorten the value lists"),
            ));
        }
        Ok(space)
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

    /// Refuse a grid batch at which `net`'s counts could overflow (every point of that batch
    /// would fail; a row would call it `no_mapping`, which it is not).
    pub fn check_batches(&self, path: &Path, net: &Network) -> Result<()> {
        for &b in &self.batch {
            if let Err(e) = net.check_size(b) {
                return Err(invalid(
                    path,
                    format!(
                        "key `grid.batch` = {b}: {}",
                        e.to_string().replace("lower --batch", "lower grid.batch")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The number of grid points (at least 1: no value list is empty).
    pub fn points(&self) -> usize {
        self.radix().iter().product()
    }

    /// The energy units every point of the grid reports in (one for the whole grid, checked
    /// on load).
    pub fn units(&self) -> Units {
        self.energy_tables[0].units
    }

    pub fn point(&self, index: usize) -> Point {
        let radix = self.radix();
        let mut digits = vec![0; radix.len()];
        let mut rest = index;
        for i in (0..radix.len()).rev() {
            digits[i] = rest % radix[i];
            rest /= radix[i];
        }
        let mut sizes = [0; 7];
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
        a.pe.rf_words = (p.sizes[5] > 0).then_some(p.sizes[5]);
        a.glb.words = p.sizes[6];
        a.dataflow = p.dataflow;
        hw.energy = self.energy_tables[p.energy].clone();
        hw
    }

    /// Evaluate one point: its row (the pareto flag is the whole grid's, set when written).
    pub fn evaluate(&self, net: &Network, p: &Point) -> SweepRow {
        let hw = self.hardware(p);
        let metrics = hw.run(net, p.batch, p.dataflow).ok().map(|res| {
            let cycles = res.cycles();
            Metrics {
                energy_total: res.total.total,
                energy_by_level: energy_by_level(&res.total),
                cycles,
                utilization: utilization(res.macs(), cycles, &hw),
            }
        });
        SweepRow {
            index: p.index,
            dataflow: p.dataflow,
            sizes: p.sizes,
            batch: p.batch,
            // A comma would split the CSV field.
            energy_table: self.energy_names[p.energy].replace(',', ";"),
            units: self.energy_tables[p.energy].units,
            storage_words: hw.arch.storage_words(),
            metrics,
        }
    }

    /// A fingerprint of everything a row's numbers depend on: the base config as loaded, every
    /// value list (energy tables by content), and the network. Two runs share a results file
    /// only if their fingerprints agree.
    pub fn fingerprint(&self, net: &Network) -> String {
        let desc = serde_json::json!({
            "format": "ember-sweep-2",
            "arch": self.base.arch,
            "sparsity": self.base.sparsity,
            "energy": self.energy_tables,
            "energy_names": self.energy_names,
            "dataflow": self.dataflow.iter().map(|d| d.code()).collect::<Vec<_>>(),
            "batch": self.batch,
            "sizes": self.sizes,
            "network": net,
        });
        format!("{:016x}", fnv1a(desc.to_string().as_bytes()))
    }
}

/// The PE storage lists: the three spads' (each the base's alone when absent) and `[0]` for the
/// RF on a three-spad base; `[0]` for each spad and the RF's list on a unified-RF base. A grid
/// key for the kind of storage the base does not have is refused (a point cannot have both).
fn pe_lists(path: &Path, g: &Grid, a: &HwConfig) -> Result<([Vec<usize>; 3], Vec<usize>)> {
    let spad_keys = [
        (
            "filter_spad_words",
            &g.filter_spad_words,
            a.pe.filter_spad_words,
        ),
        (
            "ifmap_spad_words",
            &g.ifmap_spad_words,
            a.pe.ifmap_spad_words,
        ),
        ("psum_spad_words", &g.psum_spad_words, a.pe.psum_spad_words),
    ];
    match a.pe.rf_words {
        Some(u) => {
            if let Some((key, _, _)) = spad_keys.iter().find(|(_, v, _)| v.is_some()) {
                return Err(invalid(path, format!(
                    "key `grid.{key}`: the base config has one unified RF per PE (`rf_words`), not three spads; fix: vary `grid.rf_words` instead, or use a base with spads"
                )));
            }
            let rf = positive_list(path, g.rf_words.clone(), u, "rf_words")?;
            Ok(([vec![0], vec![0], vec![0]], rf))
        }
        None => {
            if g.rf_words.is_some() {
                return Err(invalid(path, "key `grid.rf_words`: the base config has three spads, not one unified RF; fix: vary the spad sizes instead, or use a base with `rf_words` (e.g. eyeriss-isca16-256)".into()));
            }
            let mut lists = spad_keys
                .iter()
                .map(|(key, v, d)| positive_list(path, (*v).clone(), *d, key));
            let mut next = || lists.next().expect("three keys");
            Ok(([next()?, next()?, next()?], vec![0]))
        }
    }
}

/// The `[energy]` table of each `grid.energy` entry, all in one unit: a Pareto front cannot
/// rank normalised energy against picojoules, and no conversion between them is defined.
fn energy_tables(path: &Path, base: &Hardware, names: &[String]) -> Result<Vec<EnergyTable>> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tables: Vec<EnergyTable> = Vec::new();
    for name in names {
        let table = if name == "base" {
            base.energy.clone()
        } else {
            // Priced in the base's level order; a table lacking one of its levels cannot be.
            Hardware::load(&dir.join(name))?
                .energy
                .for_levels(&base.arch.levels)
                .map_err(|level| {
                    invalid(path, format!(
                        "key `grid.energy`: `{name}` has no price for the base config's level `{level}`; fix: list configs whose levels are the base's"
                    ))
                })?
        };
        if let Some(first) = tables.first().filter(|f| f.units != table.units) {
            return Err(invalid(path, format!(
                "key `grid.energy` mixes energy units: `{}` is in {} but `{name}` is in {}; one Pareto front cannot rank both; fix: list tables of one unit only (run the others as a separate sweep)",
                names[0],
                first.units.key(),
                table.units.key()
            )));
        }
        tables.push(table);
    }
    Ok(tables)
}

/// 64-bit FNV-1a: a stable hash (the standard library's may change between Rust releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
