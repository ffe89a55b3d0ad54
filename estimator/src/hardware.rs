//! Hardware config files (`hw_configs/*.toml`): the architecture `sim` models, plus the energy
//! table and sparsity rules the estimator applies. The one owner of the format.
//!
//! The storage hierarchy is a list of `[[level]]` tables from DRAM inwards (`name`, optional
//! `label`, `kind` and the keys of that kind; `ember_sim::arch::levels`). The four-level Eyeriss
//! hierarchy may instead be written as the sections `[dram]`, `[glb]`, `[noc]` and `[pe]`: the
//! levels `dram`, `glb`, `array` and `rf` (every shipped Eyeriss config is written so).

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;

use ember_sim::arch::{ArraySpec, CoreSpec, DramSpec, GlbSpec, MapperSpec, NocSpec, PeSpec};
use ember_sim::error::{line_of, line_of_key, toml_error, Location, SimError};
use ember_sim::files::{read_text, wrong_kind, FileKind};
use ember_sim::{Dataflow, HwConfig, Level, LevelKind, Levels, StageSpec};

use crate::power::{PowerModel, PowerSpec};
use crate::sparsity::{SparsityRules, SparsitySpec};
use crate::table::{EnergySpec, EnergyTable};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HwFile {
    name: String,
    description: String,
    #[serde(default = "rs")]
    dataflow: Dataflow,
    array: ArraySpec,
    /// The storage levels, DRAM first.
    #[serde(default)]
    level: Vec<toml::Spanned<toml::Table>>,
    /// The four-level shorthand.
    pe: Option<PeSpec>,
    glb: Option<GlbSpec>,
    noc: Option<NocSpec>,
    dram: Option<DramSpec>,
    core: CoreSpec,
    energy: EnergySpec,
    /// An absolute (pJ) table beside a normalised default, for power figures.
    energy_pj: Option<EnergySpec>,
    /// Clock, control and leakage power beside the `[energy_pj]` table (`crate::power`).
    power: Option<PowerSpec>,
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
    /// Optional clock, control and leakage model (`[power]`), used with `energy_pj`.
    pub power: Option<PowerModel>,
    pub sparsity: SparsityRules,
    /// Where it was loaded from, and its text, so later errors can point at a key's line.
    pub path: PathBuf,
    text: String,
    /// Built into the binary (no --hw given): errors must not send the user to a file they
    /// may not have.
    builtin: bool,
}

/// The specs of a hierarchy's levels, whichever way the file writes them.
struct Specs {
    levels: Vec<Level>,
    dram: DramSpec,
    glb: GlbSpec,
    noc: NocSpec,
    pe: PeSpec,
}

/// A config error before a `Hardware` exists: (key, rule, fix).
type KeyError = (String, String, String);

impl Hardware {
    pub fn load(path: &Path) -> Result<Hardware, SimError> {
        let text = read_text(path, FileKind::Hardware)?;
        Hardware::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Hardware, SimError> {
        let file: HwFile = toml::from_str(text).map_err(|e| {
            wrong_kind(path, text, FileKind::Hardware).unwrap_or_else(|| toml_error(path, text, e))
        })?;
        // Until the config is whole, errors are located from the text alone.
        let located = |(key, rule, fix): KeyError| invalid_at(path, text, &key, rule, fix);
        let specs = hierarchy(&file).map_err(located)?;
        let levels = Levels::new(specs.levels).map_err(located)?;
        let energy = EnergyTable::resolve(&file.energy, &levels, "energy").map_err(located)?;
        let energy_pj = match &file.energy_pj {
            Some(spec) => Some(EnergyTable::resolve(spec, &levels, "energy_pj").map_err(located)?),
            None => None,
        };
        let power = match &file.power {
            Some(spec) => Some(spec.check().map_err(located)?),
            None => None,
        };
        if power.is_some() {
            match &energy_pj {
                None => {
                    return Err(located((
                        "power".into(),
                        "[power] adds clock, control and leakage power to access energy in pJ, and this config has no [energy_pj] table".into(),
                        "add an [energy_pj] table (energy per access in pJ), or remove [power]".into(),
                    )))
                }
                Some(pj) if pj.static_mw > 0.0 => {
                    return Err(located((
                        "energy_pj.static_mw".into(),
                        format!("`energy_pj.static_mw` = {} mW beside a [power] section: static power would be counted twice", pj.static_mw),
                        "set `static_mw = 0` and let [power] model the clock and leakage, or remove [power]".into(),
                    )))
                }
                Some(_) => {}
            }
        }
        let arch = HwConfig {
            name: file.name,
            dataflow: file.dataflow,
            array: file.array,
            levels,
            pe: specs.pe,
            glb: specs.glb,
            noc: specs.noc,
            dram: specs.dram,
            core: file.core,
            mapper: file.mapper,
        };
        let hw = Hardware {
            arch,
            description: file.description,
            energy,
            energy_pj,
            power,
            sparsity: SparsityRules::from_spec(&file.sparsity),
            path: path.to_path_buf(),
            text: text.to_string(),
            builtin: false,
        };
        let tables = |_| match &hw.energy_pj {
            Some(pj) => hw.energy.check().and_then(|_| pj.check_as("energy_pj")),
            None => hw.energy.check(),
        };
        if let Err((key, rule, fix)) = ember_sim::arch::check(&hw.arch).and_then(tables) {
            return Err(hw.invalid(&key, rule, fix));
        }
        Ok(hw)
    }

    /// An error located at `key` (dotted `table.key`, or `level[i].key`) of this file.
    pub fn invalid(&self, key: &str, rule: String, fix: String) -> SimError {
        invalid_at(&self.path, &self.text, key, rule, fix).with_builtin(self)
    }

    /// An error about this config as a whole (no one key is at fault).
    pub fn invalid_whole(&self, rule: String, fix: String) -> SimError {
        SimError::Invalid {
            at: Location {
                file: self.path.clone(),
                line: None,
                key: None,
            },
            rule,
            fix,
        }
        .with_builtin(self)
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

/// Errors about the built-in config must not send the user to a file they may not have.
trait Builtin {
    fn with_builtin(self, hw: &Hardware) -> SimError;
}

impl Builtin for SimError {
    fn with_builtin(self, hw: &Hardware) -> SimError {
        match self {
            SimError::Invalid { at, rule, fix } if hw.builtin => SimError::Invalid {
                at: Location {
                    file: PathBuf::from(format!(
                        "the built-in {} config (no --hw given; {} in the Ember sources)",
                        hw.arch.name,
                        hw.path.display()
                    )),
                    ..at
                },
                rule,
                fix: format!("{fix}, in a copy of {} passed with --hw", hw.path.display()),
            },
            other => other,
        }
    }
}

/// An error at `key` of the config text: the line of the key, found from its table.
fn invalid_at(path: &Path, text: &str, key: &str, rule: String, fix: String) -> SimError {
    SimError::Invalid {
        at: Location {
            file: path.to_path_buf(),
            line: Some(line_of_config_key(text, key)),
            key: Some(key.to_string()),
        },
        rule,
        fix,
    }
}

/// The line of `key` in config text: `level[i].field` in the i-th `[[level]]` table,
/// `table.field` in `[table]` (or `table.sub.field` in `[table.sub]`, or the line of `sub` in
/// `[table]` when the sub-table is written inline).
fn line_of_config_key(text: &str, key: &str) -> usize {
    if let Some(rest) = key.strip_prefix("level[") {
        let (i, field) = rest.split_once(']').unwrap_or((rest, ""));
        let i: usize = i.parse().unwrap_or(0);
        let from = text
            .match_indices("[[level]]")
            .nth(i)
            .map_or(0, |(at, _)| at);
        let field = field.trim_start_matches('.');
        return if field.is_empty() {
            line_of(text, from)
        } else {
            line_of_key(text, from, field)
        };
    }
    let parts: Vec<&str> = key.split('.').collect();
    for split in (1..parts.len()).rev() {
        let header = format!("[{}]", parts[..split].join("."));
        if let Some(from) = header_at(text, &header) {
            return line_of_key(text, from, parts[split]);
        }
    }
    line_of_key(text, 0, parts[0])
}

/// Where the table header `header` opens a line of `text` (not where a comment names it).
fn header_at(text: &str, header: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let indent = line.len() - line.trim_start().len();
        if line.trim_start().starts_with(header) {
            return Some(offset + indent);
        }
        offset += line.len();
    }
    None
}

/// The hierarchy of `file`: its `[[level]]` list, or the four sections of the shorthand.
fn hierarchy(file: &HwFile) -> Result<Specs, KeyError> {
    let sections = [
        file.dram.is_some(),
        file.glb.is_some(),
        file.noc.is_some(),
        file.pe.is_some(),
    ];
    if !file.level.is_empty() {
        if sections.iter().any(|&s| s) {
            return Err((
                "level".into(),
                "the config gives both [[level]] tables and the sections [dram], [glb], [noc], [pe]".into(),
                "describe the hierarchy one way: as [[level]] tables, or (four Eyeriss levels) as the four sections".into(),
            ));
        }
        return level_list(&file.level);
    }
    match (&file.dram, &file.glb, &file.noc, &file.pe) {
        (Some(dram), Some(glb), Some(noc), Some(pe)) => {
            let level = |name: &str, label: &str, kind, key: &str| Level {
                name: name.into(),
                label: label.into(),
                kind,
                key: key.into(),
                stage: None,
            };
            Ok(Specs {
                levels: vec![
                    level("dram", "DRAM", LevelKind::Dram, "dram"),
                    level("glb", "GLB", LevelKind::Buffer, "glb"),
                    level("array", "array", LevelKind::Network, "noc"),
                    level("rf", "RF", LevelKind::Pe, "pe"),
                ],
                dram: *dram,
                glb: *glb,
                noc: *noc,
                pe: *pe,
            })
        }
        _ => {
            let missing: Vec<&str> = ["dram", "glb", "noc", "pe"]
                .iter()
                .zip(sections)
                .filter(|(_, s)| !s)
                .map(|(n, _)| *n)
                .collect();
            Err((
                missing[0].into(),
                format!(
                    "no storage hierarchy: missing section [{}] (give [[level]] tables, or all four sections [dram], [glb], [noc], [pe])",
                    missing.join("], [")
                ),
                format!("add the section [{}]", missing[0]),
            ))
        }
    }
}

/// The `[[level]]` tables: each level's name, label, kind and the spec of its kind.
fn level_list(tables: &[toml::Spanned<toml::Table>]) -> Result<Specs, KeyError> {
    let (mut levels, mut dram, mut glb, mut noc, mut pe) = (Vec::new(), None, None, None, None);
    for (i, t) in tables.iter().enumerate() {
        let key = format!("level[{i}]");
        let mut t = t.get_ref().clone();
        let text = |t: &mut toml::Table, field: &str| -> Result<Option<String>, KeyError> {
            match t.remove(field) {
                None => Ok(None),
                Some(toml::Value::String(s)) => Ok(Some(s)),
                Some(other) => Err((
                    format!("{key}.{field}"),
                    format!("`{field}` is a {}, not a string", other.type_str()),
                    format!("quote the {field}, e.g. {field} = \"glb\""),
                )),
            }
        };
        let name = text(&mut t, "name")?.ok_or_else(|| {
            (
                key.clone(),
                "the level has no `name`".into(),
                "add name = \"...\" (its key in [energy] and in outputs)".into(),
            )
        })?;
        let label = text(&mut t, "label")?.unwrap_or_else(|| name.clone());
        let kind_text = text(&mut t, "kind")?.unwrap_or_default();
        let kind: LevelKind = toml::Value::String(kind_text.clone())
            .try_into()
            .map_err(|_| {
                (
                    format!("{key}.kind"),
                    format!(
                        "level kind `{kind_text}` is not one of dram, staging, buffer, network, pe"
                    ),
                    "give kind = \"dram\", \"staging\", \"buffer\", \"network\" or \"pe\"".into(),
                )
            })?;
        let mut stage = None;
        match kind {
            LevelKind::Dram => dram = Some(spec::<DramSpec>(t, &key)?),
            LevelKind::Staging => stage = Some(spec::<StageSpec>(t, &key)?),
            LevelKind::Buffer => glb = Some(spec::<GlbSpec>(t, &key)?),
            LevelKind::Network => noc = Some(spec::<NocSpec>(t, &key)?),
            LevelKind::Pe => pe = Some(spec::<PeSpec>(t, &key)?),
        }
        levels.push(Level {
            name,
            label,
            kind,
            key,
            stage,
        });
    }
    // More than one of a kind, a kind missing or out of order: `Levels::new` says which (so
    // past it, each of the four positions has its spec).
    Levels::new(levels.clone())?;
    match (dram, glb, noc, pe) {
        (Some(dram), Some(glb), Some(noc), Some(pe)) => Ok(Specs {
            levels,
            dram,
            glb,
            noc,
            pe,
        }),
        _ => Err((
            "level".to_string(),
            "the hierarchy needs one level of each kind dram, buffer, network, pe".to_string(),
            "list the levels outermost first: dram, staging (optional), buffer, network, pe"
                .to_string(),
        )),
    }
}

/// The keys of a level table besides name, label and kind, as the spec of its kind.
fn spec<T: DeserializeOwned>(t: toml::Table, key: &str) -> Result<T, KeyError> {
    toml::Value::Table(t).try_into().map_err(|e| {
        let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
        let field = message
            .strip_prefix("unknown field `")
            .and_then(|r| r.split('`').next());
        let fix = if message.starts_with("unknown field") {
            "remove or rename the key; the accepted keys are listed above".to_string()
        } else if message.starts_with("missing field") {
            "add the key to this level".to_string()
        } else {
            "correct the value's type".to_string()
        };
        let at = match field {
            Some(f) => format!("{key}.{f}"),
            None => key.to_string(),
        };
        (at, message, fix)
    })
}

/// `hw_configs/eyeriss-v1.toml`, embedded so `ember` runs from anywhere.
pub const EYERISS_V1: &str = include_str!("../../hw_configs/eyeriss-v1.toml");
