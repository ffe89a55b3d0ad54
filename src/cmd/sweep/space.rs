//! The space file of `ember sweep`: a base config and value lists whose product is the grid.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use ember_estimator::{EnergyTable, Hardware, Units};
use ember_sim::{Dataflow, Network};

use crate::report::{energy_by_level, utilization};

/// Most grid points a space may have: far beyond any sweep that finishes, small enough that the
/// mixed-radix index arithmetic cannot overflow.
const MAX_POINTS: usize = 1 << 32;

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

impl Space {
    pub fn load(path: &Path) -> Result<Space> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "{}: cannot read the space file; fix: check the path (e.g. sweeps/small.toml)",
                path.display()
            )
        })?;
        let file: SpaceFile = toml::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{}: {}; fix: see `ember sweep --help` and the README for the keys",
                path.display(),
                e.to_string()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let base = Hardware::load(&dir.join(&file.base))?;
        if !base.arch.levels.is_eyeriss() {
            // The results file's columns (`results::HEADER`) are the four Eyeriss levels.
            bail!(
                "{}: key `base`: `{}` has the levels [{}], but a sweep's results file has columns for the four Eyeriss levels dram, glb, array, rf only; fix: sweep a config written with the sections [dram], [glb], [noc], [pe] (other hierarchies: `ember sim` and `ember compare`)",
                path.display(),
                file.base.display(),
                base.arch.levels.names().join(", ")
            );
        }
        let g = file.grid;
        let a = &base.arch;
        let list = |v: Option<Vec<usize>>, default: usize, key: &str| -> Result<Vec<usize>> {
            let v = v.unwrap_or_else(|| vec![default]);
            if v.is_empty() || v.contains(&0) {
                bail!(
                    "{}: key `grid.{key}` must be a non-empty list of positive integers; fix: e.g. `{key} = [{default}]`, or drop the key to keep the base's value",
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
            bail!(
                "{}: key `grid.dataflow` must not be empty; fix: list dataflows, e.g. [\"rs\"], or drop the key",
                path.display()
            );
        }
        let energy_names = g.energy.unwrap_or_else(|| vec!["base".into()]);
        if energy_names.is_empty() {
            bail!(
                "{}: key `grid.energy` must not be empty; fix: list configs whose [energy] table to use, e.g. [\"base\"], or drop the key",
                path.display()
            );
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
            bail!(
                "{}: the grid has more than {MAX_POINTS} points; fix: shorten the value lists",
                path.display()
            );
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
                bail!(
                    "{}: key `grid.batch` = {b}: {}",
                    path.display(),
                    e.to_string().replace("lower --batch", "lower grid.batch")
                );
            }
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
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
    pub fn params(&self, p: &Point) -> String {
        let s = p.sizes;
        format!(
            "{},{},{},{},{},{},{},{},{},{},{}",
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
            self.energy_tables[p.energy].units.key(),
        )
    }

    /// Evaluate one point: its row up to `utilization` (the results file adds the rest).
    pub fn evaluate(&self, net: &Network, p: &Point) -> String {
        let hw = self.hardware(p);
        let storage = hw.arch.storage_words();
        let head = format!("{},{storage}", self.params(p));
        match hw.run(net, p.batch, p.dataflow) {
            Ok(res) => {
                let cycles = res.cycles();
                let util = utilization(res.macs(), cycles, &hw);
                let lv: Vec<String> = energy_by_level(&res.total)
                    .iter()
                    .map(|v| v.to_string())
                    .collect();
                format!(
                    "{head},ok,{},{},{cycles},{util:.6}",
                    res.total.total,
                    lv.join(","),
                )
            }
            Err(_) => format!("{head},no_mapping,,{},,", ",".repeat(hw.arch.levels.len())),
        }
    }

    /// A fingerprint of everything a row's numbers depend on: the base config as loaded, every
    /// value list (energy tables by content), and the network. Two runs share a results file
    /// only if their fingerprints agree.
    pub fn fingerprint(&self, net: &Network) -> String {
        let desc = serde_json::json!({
            "format": "ember-sweep-1",
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
                    anyhow::anyhow!(
                        "{}: key `grid.energy`: `{name}` has no price for the base config's level `{level}`; fix: list configs whose levels are the base's",
                        path.display()
                    )
                })?
        };
        if let Some(first) = tables.first().filter(|f| f.units != table.units) {
            bail!(
                "{}: key `grid.energy` mixes energy units: `{}` is in {} but `{name}` is in {}; one Pareto front cannot rank both; fix: list tables of one unit only (run the others as a separate sweep)",
                path.display(),
                names[0],
                first.units.key(),
                table.units.key()
            );
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
