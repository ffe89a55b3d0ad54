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
//! | `buffer` | the global buffer the array reads | one, after the DRAM |
//! | `network` | the on-array network(s) | one, after the buffer |
//! | `pe` | per-PE storage (spads / RF) | one, innermost |
//!
//! This is the only place that tells the kinds apart (`Levels::new`); everything downstream
//! indexes levels by position.

use serde::{Deserialize, Serialize};

use crate::counts::{Roles, MAX_LEVELS};

/// What a level is to the loop nest (module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LevelKind {
    Dram,
    Buffer,
    Network,
    Pe,
}

impl LevelKind {
    pub fn key(self) -> &'static str {
        match self {
            LevelKind::Dram => "dram",
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
        let order = [
            LevelKind::Dram,
            LevelKind::Buffer,
            LevelKind::Network,
            LevelKind::Pe,
        ];
        let kinds: Vec<LevelKind> = list.iter().map(|l| l.kind).collect();
        if kinds != order {
            let have: Vec<&str> = kinds.iter().map(|k| k.key()).collect();
            return Err((
                "level".into(),
                format!(
                    "the levels are of kinds [{}]; the hierarchy must be, from DRAM inwards, one `dram`, one `buffer` (the global buffer), one `network` and one `pe` level",
                    have.join(", ")
                ),
                "list the levels outermost first: dram, buffer, network, pe".into(),
            ));
        }
        let roles = Roles {
            dram: 0,
            glb: 1,
            array: 2,
            rf: 3,
            levels: list.len() as u8,
        };
        Ok(Levels { list, roles })
    }

    /// The four Eyeriss levels, with the names and labels every Eyeriss config uses.
    pub fn eyeriss() -> Levels {
        let level = |name: &str, label: &str, kind| Level {
            name: name.into(),
            label: label.into(),
            kind,
            key: name.into(),
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
