//! The storage hierarchy as a list of levels, from DRAM inwards (Timeloop's
//! `Topology::Specs{levels}`): each level has a name (the key of its energy price and of its
//! counts in every output), a label (its column head in tables and plots) and a kind.
//!
//! Every dataflow here is defined against four positions (`counts::NestCounts`): the off-chip
//! backing store, the global buffer the array reads, the on-array network and the PEs' own
//! storage. A level list names those four and says where they sit; its kinds are the roles:
//!
//! | kind | level | how many |
//! |---|---|---|
//! | `dram` | the off-chip backing store | one, outermost |
//! | `staging` | a buffer the DRAM traffic of the data types it holds passes through (an L2) | up to `counts::MAX_STAGES`, after the DRAM |
//! | `buffer` | the global buffer the array reads | one, after the DRAM (and staging levels) |
//! | `network` | the on-array network(s) | one, after the buffer |
//! | `pe` | per-PE storage (spads / RF) | one, innermost |
//!
//! This is the only place that tells the kinds apart (`Levels::new`); everything downstream
//! indexes levels by position. A staging level's counts follow from the DRAM's
//! (`counts::AccessCounts::place`), so every dataflow and both simulation modes count it alike.

use serde::{Deserialize, Serialize};

use super::{Capacity, StageSpec};
use crate::counts::{DataType, Roles, Stage, MAX_LEVELS};

/// What a level is to the loop nest (module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LevelKind {
    Dram,
    Staging,
    Buffer,
    Network,
    Pe,
}

impl LevelKind {
    pub fn key(self) -> &'static str {
        match self {
            LevelKind::Dram => "dram",
            LevelKind::Staging => "staging",
            LevelKind::Buffer => "buffer",
            LevelKind::Network => "network",
            LevelKind::Pe => "pe",
        }
    }
}

/// One level of the hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    /// Its key in energy tables and outputs (`dram`, `glb`, `array`, `rf` on Eyeriss).
    pub name: String,
    /// Its column head in tables and plots (`DRAM`, `GLB`, `array`, `RF` on Eyeriss).
    pub label: String,
    pub kind: LevelKind,
    /// Where the config defines it, for error messages: a section (`glb`) or a list entry
    /// (`level[1]`).
    #[serde(skip)]
    pub key: String,
    /// What a `staging` level holds and its capacity (None for the other kinds: they hold what
    /// the dataflow moves through their position).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<StageSpec>,
}

/// The level list of a config, checked: one level of each kind, in the order of the table in
/// the module doc, at most `MAX_LEVELS`, names unique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Levels {
    list: Vec<Level>,
    #[serde(skip)]
    roles: Roles,
}

/// Names a level may not take: they are the other keys of an `[energy]` table.
pub const RESERVED_NAMES: [&str; 8] = [
    "units",
    "mac",
    "reference_bits",
    "mac_scaling",
    "memory_scaling",
    "source",
    "static_mw",
    "level",
];

/// A level-list error: (key, rule, fix).
pub type LevelError = (String, String, String);

impl Levels {
    /// Check `list` and find where the nest's positions sit.
    pub fn new(list: Vec<Level>) -> Result<Levels, LevelError> {
        if list.len() > MAX_LEVELS {
            return Err((
                "level".into(),
                format!(
                    "{} levels; a config may list at most {MAX_LEVELS}",
                    list.len()
                ),
                "merge levels that play the same part".into(),
            ));
        }
        for (i, l) in list.iter().enumerate() {
            check_name(l)?;
            if let Some(first) = list[..i].iter().find(|o| o.name == l.name) {
                return Err((
                    format!("{}.name", l.key),
                    format!(
                        "level name `{}` is used twice ({} and {})",
                        l.name, first.key, l.key
                    ),
                    "give every level its own name".into(),
                ));
            }
        }
        let kinds: Vec<LevelKind> = list.iter().map(|l| l.kind).collect();
        let stages = kinds
            .iter()
            .skip(1)
            .take_while(|&&k| k == LevelKind::Staging)
            .count();
        let mut order = vec![LevelKind::Dram];
        order.extend(std::iter::repeat_n(LevelKind::Staging, stages));
        order.extend([LevelKind::Buffer, LevelKind::Network, LevelKind::Pe]);
        if kinds != order {
            let have: Vec<&str> = kinds.iter().map(|k| k.key()).collect();
            return Err((
                "level".into(),
                format!(
                    "the levels are of kinds [{}]; the hierarchy must be, from DRAM inwards, one `dram`, any `staging` levels, one `buffer` (the global buffer), one `network` and one `pe` level",
                    have.join(", ")
                ),
                "list the levels outermost first: dram, staging (optional), buffer, network, pe"
                    .into(),
            ));
        }
        let mut roles = Roles {
            dram: 0,
            glb: stages as u8 + 1,
            array: stages as u8 + 2,
            rf: stages as u8 + 3,
            levels: list.len() as u8,
            stage_count: stages as u8,
            ..Roles::default()
        };
        for (i, l) in list.iter().enumerate().skip(1).take(stages) {
            let holds = check_stage(l)?;
            roles.stages[i - 1] = Stage {
                level: i as u8,
                holds,
            };
        }
        Ok(Levels { list, roles })
    }

    /// The four Eyeriss levels, with the names and labels every Eyeriss config uses.
    pub fn eyeriss() -> Levels {
        let level = |name: &str, label: &str, kind| Level {
            name: name.into(),
            label: label.into(),
            kind,
            key: name.into(),
            stage: None,
        };
        Levels::new(vec![
            level("dram", "DRAM", LevelKind::Dram),
            level("glb", "GLB", LevelKind::Buffer),
            level("array", "array", LevelKind::Network),
            level("rf", "RF", LevelKind::Pe),
        ])
        .expect("the Eyeriss levels are a valid list")
    }

    /// Whether these are the levels of `Levels::eyeriss()`: the same names, labels and kinds
    /// (where a config defines them does not matter).
    pub fn is_eyeriss(&self) -> bool {
        let same =
            |a: &Level, b: &Level| a.name == b.name && a.label == b.label && a.kind == b.kind;
        let e = Levels::eyeriss();
        self.len() == e.len() && self.iter().zip(e.iter()).all(|(a, b)| same(a, b))
    }

    pub fn roles(&self) -> Roles {
        self.roles
    }
    pub fn len(&self) -> usize {
        self.list.len()
    }
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
    pub fn iter(&self) -> std::slice::Iter<'_, Level> {
        self.list.iter()
    }
    pub fn get(&self, i: usize) -> &Level {
        &self.list[i]
    }
    /// The index of the level named `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.list.iter().position(|l| l.name == name)
    }
    /// The level of each position of the nest.
    pub fn dram(&self) -> &Level {
        &self.list[self.roles.dram as usize]
    }
    pub fn glb(&self) -> &Level {
        &self.list[self.roles.glb as usize]
    }
    pub fn array(&self) -> &Level {
        &self.list[self.roles.array as usize]
    }
    pub fn rf(&self) -> &Level {
        &self.list[self.roles.rf as usize]
    }
    /// The names, outermost first.
    pub fn names(&self) -> Vec<&str> {
        self.list.iter().map(|l| l.name.as_str()).collect()
    }
}

impl<'a> IntoIterator for &'a Levels {
    type Item = &'a Level;
    type IntoIter = std::slice::Iter<'a, Level>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

/// A name is a short identifier (it becomes a TOML key and a CSV column), not a reserved key.
fn check_name(l: &Level) -> Result<(), LevelError> {
    let ok = !l.name.is_empty()
        && l.name.len() <= 32
        && l.name.starts_with(|c: char| c.is_ascii_lowercase())
        && l.name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        return Err((
            format!("{}.name", l.key),
            format!(
                "level name `{}` is not a short lowercase identifier (a-z, 0-9, _; at most 32 characters, starting with a letter)",
                l.name
            ),
            "name the level like `glb` or `l2_sram`".into(),
        ));
    }
    if RESERVED_NAMES.contains(&l.name.as_str()) {
        return Err((
            format!("{}.name", l.key),
            format!(
                "level name `{}` is a key of the [energy] table already",
                l.name
            ),
            "choose another name".into(),
        ));
    }
    if l.label.is_empty() || l.label.chars().count() > 16 || l.label.chars().any(char::is_control) {
        return Err((
            format!("{}.label", l.key),
            format!(
                "label `{}` must be 1 to 16 printable characters",
                l.label.escape_debug()
            ),
            "give a short column head, e.g. \"GLB\"".into(),
        ));
    }
    Ok(())
}

/// A staging level's spec, checked: it holds at least one data type, each once, and has a
/// positive capacity for what it holds (shared, or one per held data type and only those).
/// Returns the held data types as a bit set (`counts::Stage`).
fn check_stage(l: &Level) -> Result<u8, LevelError> {
    let err = |field: &str, rule: String, fix: &str| -> LevelError {
        (format!("{}.{field}", l.key), rule, fix.to_string())
    };
    let Some(spec) = &l.stage else {
        return Err(err(
            "words",
            format!("staging level `{}` has no capacity", l.name),
            "add words = <capacity in words>",
        ));
    };
    let mut holds = 0u8;
    for &d in &spec.holds {
        if holds & (1 << d as u8) != 0 {
            return Err(err(
                "holds",
                format!("`holds` lists `{}` twice", d.key()),
                "list each data type once",
            ));
        }
        holds |= 1 << d as u8;
    }
    if holds == 0 {
        return Err(err(
            "holds",
            "`holds` is empty: a staging level every data type bypasses is not a level".into(),
            "list the data types it holds, e.g. holds = [\"weights\", \"ifmaps\"], or remove the level",
        ));
    }
    const MAX_WORDS: usize = 1 << 40;
    let capacity = |d: Option<DataType>, words: usize| {
        let what = d.map_or(String::new(), |d| format!(" for {}", d.key()));
        if words == 0 || words > MAX_WORDS {
            return Err(err(
                "words",
                format!("capacity{what} is {words} words; it must be from 1 to {MAX_WORDS}"),
                "give the capacity in words",
            ));
        }
        Ok(())
    };
    match &spec.words {
        Capacity::Shared(w) => capacity(None, *w)?,
        Capacity::PerType(map) => {
            for &d in &spec.holds {
                match map.get(&d) {
                    Some(&w) => capacity(Some(d), w)?,
                    None => {
                        return Err(err(
                            "words",
                            format!("no capacity for `{}`, which the level holds", d.key()),
                            "give every held data type a capacity, or one shared number",
                        ))
                    }
                }
            }
            if let Some(d) = map.keys().find(|d| !spec.holds.contains(d)) {
                return Err(err(
                    "words",
                    format!("a capacity for `{}`, which the level bypasses", d.key()),
                    "add it to `holds`, or drop its capacity",
                ));
            }
        }
    }
    Ok(holds)
}
