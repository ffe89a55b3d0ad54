//! Hardware config files (`hw_configs/*.toml`): the architecture `sim` models, plus the energy
//! table and sparsity rules the estimator applies.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use ember_sim::error::{line_of_key, toml_error, Location, SimError};
use ember_sim::files::{read_text, wrong_kind, FileKind};
use ember_sim::hw::{ArraySpec, CoreSpec, DramSpec, GlbSpec, MapperSpec, NocSpec, PeSpec};
use ember_sim::{Dataflow, HwConfig};

use crate::sparsity::{SparsityRules, SparsitySpec};
use crate::table::EnergyTable;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HwFile {
    name: String,
    description: String,
    #[serde(default = "rs")]
    dataflow: Dataflow,
    array: ArraySpec,
    pe: PeSpec,
    glb: GlbSpec,
    noc: NocSpec,
    dram: DramSpec,
    core: CoreSpec,
    energy: EnergyTable,
    /// An absolute (pJ) table beside a normalised default, for power figures.
    energy_pj: Option<EnergyTable>,
    #[serde(default)]
    sparsity: SparsitySpec,
    #[serde(default)]
    mapper: MapperSpec,
}

fn rs() -> Dataflow {
    Dataflow::RowStationary
}

/// A loaded hardware config.
#[derive(Debug, Clone)]
pub struct Hardware {
    pub arch: HwConfig,
    pub description: String,
    pub energy: EnergyTable,
    /// Optional absolute table (`[energy_pj]`), used for power (`ember validate`).
    pub energy_pj: Option<EnergyTable>,
    pub sparsity: SparsityRules,
    /// Where it was loaded from, and its text, so later errors can point at a key's line.
    pub path: PathBuf,
    text: String,
    /// Built into the binary (no --hw given): errors must not send the user to a file they
    /// may not have.
    builtin: bool,
}

impl Hardware {
    pub fn load(path: &Path) -> Result<Hardware, SimError> {
        let text = read_text(path, FileKind::Hardware)?;
        Hardware::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Hardware, SimError> {
        let file: HwFile = toml::from_str(text).map_err(|e| {
            wrong_kind(path, text, FileKind::Hardware).unwrap_or_else(|| toml_error(path, text, e))
        })?;
        let arch = HwConfig {
            name: file.name,
            dataflow: file.dataflow,
            array: file.array,
            pe: file.pe,
            glb: file.glb,
            noc: file.noc,
            dram: file.dram,
            core: file.core,
            mapper: file.mapper,
        };
        let hw = Hardware {
            arch,
            description: file.description,
            energy: file.energy,
            energy_pj: file.energy_pj,
            sparsity: SparsityRules::from_spec(&file.sparsity),
            path: path.to_path_buf(),
            text: text.to_string(),
            builtin: false,
        };
        let tables = |_| match &hw.energy_pj {
            Some(pj) => hw.energy.check().and_then(|_| pj.check_as("energy_pj")),
            None => hw.energy.check(),
        };
        if let Err((key, rule, fix)) = ember_sim::hw::check(&hw.arch).and_then(tables) {
            return Err(hw.invalid(&key, rule, fix));
        }
        Ok(hw)
    }

    /// An error located at `key` (dotted `table.key`) of this file.
    pub fn invalid(&self, key: &str, rule: String, fix: String) -> SimError {
        let (table, field) = key.split_once('.').unwrap_or(("", key));
        let header = format!("[{table}]");
        let from = if table.is_empty() {
            0
        } else {
            self.text.find(&header).unwrap_or(0)
        };
        self.error_at(
            Some(line_of_key(&self.text, from, field)),
            Some(key),
            rule,
            fix,
        )
    }

    /// An error about this config as a whole (no one key is at fault).
    pub fn invalid_whole(&self, rule: String, fix: String) -> SimError {
        self.error_at(None, None, rule, fix)
    }

    fn error_at(
        &self,
        line: Option<usize>,
        key: Option<&str>,
        rule: String,
        fix: String,
    ) -> SimError {
        let (file, fix) = if self.builtin {
            (
                PathBuf::from(format!(
                    "the built-in {} config (no --hw given; {} in the Ember sources)",
                    self.arch.name,
                    self.path.display()
                )),
                format!(
                    "{fix}, in a copy of {} passed with --hw",
                    self.path.display()
                ),
            )
        } else {
            (self.path.clone(), fix)
        };
        SimError::Invalid {
            at: Location {
                file,
                line,
                key: key.map(str::to_string),
            },
            rule,
            fix,
        }
    }

    /// Whether this is the config built into the binary (no file of the user's).
    pub fn is_builtin(&self) -> bool {
        self.builtin
    }

    /// The embedded Eyeriss chip config (the default of `ember`).
    pub fn eyeriss_v1() -> Hardware {
        let mut hw = Hardware::parse(Path::new("hw_configs/eyeriss-v1.toml"), EYERISS_V1)
            .expect("the embedded eyeriss-v1 config is valid (tested)");
        hw.builtin = true;
        hw
    }
}

/// `hw_configs/eyeriss-v1.toml`, embedded so `ember` runs from anywhere.
pub const EYERISS_V1: &str = include_str!("../../hw_configs/eyeriss-v1.toml");
