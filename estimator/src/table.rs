//! Energy per action at each level of the storage hierarchy and per MAC, with the source of
//! every number: Accelergy's per-component, per-action tables, as a config's `[energy]` table.
//!
//! A level's price is one number (a read and a write cost it, a gated access nothing, as in the
//! ISCA 2016 table) or a table of actions: `{ read, write, gated_read, gated_write, hop, router }`
//! (`write` defaults to `read`, the others to 0; `hop` and `router` price a hierarchical mesh's
//! link and router traversals at the network level). A gated access is one the sparsity rules gate
//! (a zero operand: the access is clock-gated, not performed); run-length coding moves fewer
//! words, so it lowers the reads and writes themselves. A level whose storage differs per data
//! type (the Eyeriss chip's filter spad is SRAM, its ifmap and psum spads registers, JSSC 2017
//! §V-C) takes one price per data type: `{ weights = .., ifmaps = .., psums = .. }`, each a number
//! or a table of actions. The table is keyed by the config's level names and resolved against
//! its level list once, when the config loads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize, Serializer};

use ember_sim::{DataType, Levels};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Units {
    /// Relative to one 16-bit MAC (ISCA 2016).
    #[serde(rename = "normalized")]
    Normalized,
    #[serde(rename = "pJ")]
    Picojoules,
}

impl Units {
    pub fn label(&self) -> &'static str {
        match self {
            Units::Normalized => "normalized (1 = one 16-bit MAC)",
            Units::Picojoules => "pJ",
        }
    }
    pub fn key(&self) -> &'static str {
        match self {
            Units::Normalized => "normalized",
            Units::Picojoules => "pJ",
        }
    }
}

/// How energy scales when the word width differs from the table's reference width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scaling {
    None,
    Linear,
    Quadratic,
}

impl Scaling {
    fn factor(&self, ratio: f64) -> f64 {
        match self {
            Scaling::None => 1.0,
            Scaling::Linear => ratio,
            Scaling::Quadratic => ratio * ratio,
        }
    }
}

/// Energy of each action at one level.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub read: f64,
    pub write: f64,
    #[serde(default)]
    pub gated_read: f64,
    #[serde(default)]
    pub gated_write: f64,
    /// A network level on a hierarchical mesh: per word per mesh link crossed, and per router
    /// a word passes (`ember_sim::NocCounts`); 0 (the default) on a bus, where there are none.
    #[serde(default)]
    pub hop: f64,
    #[serde(default)]
    pub router: f64,
}

impl Price {
    /// A read and a write cost `e`, a gated access nothing (the ISCA 2016 table's form).
    pub fn flat(e: f64) -> Price {
        Price {
            read: e,
            write: e,
            gated_read: 0.0,
            gated_write: 0.0,
            hop: 0.0,
            router: 0.0,
        }
    }
    fn is_flat(&self) -> bool {
        self.write == self.read
            && [self.gated_read, self.gated_write, self.hop, self.router] == [0.0; 4]
    }
    fn scaled(&self, k: f64) -> Price {
        Price {
            read: self.read * k,
            write: self.write * k,
            gated_read: self.gated_read * k,
            gated_write: self.gated_write * k,
            hop: self.hop * k,
            router: self.router * k,
        }
    }
    fn actions(&self) -> [(&'static str, f64); 6] {
        [
            ("read", self.read),
            ("write", self.write),
            ("gated_read", self.gated_read),
            ("gated_write", self.gated_write),
            ("hop", self.hop),
            ("router", self.router),
        ]
    }
}

/// Written as it is read: one number when flat, else the table of actions.
impl Serialize for Price {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.is_flat() {
            return s.serialize_f64(self.read);
        }
        let mut m = BTreeMap::new();
        for (k, v) in self.actions() {
            // The mesh actions only where priced: a bus table is written as it always was.
            if v != 0.0 || !matches!(k, "hop" | "router") {
                m.insert(k, v);
            }
        }
        m.serialize(s)
    }
}

/// The prices of one level, per data type (all three equal unless the table gives them apart).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelPrice {
    pub weights: Price,
    pub ifmaps: Price,
    pub psums: Price,
}

impl LevelPrice {
    /// Every data type at the price `p`.
    pub fn uniform(p: Price) -> LevelPrice {
        LevelPrice {
            weights: p,
            ifmaps: p,
            psums: p,
        }
    }
    pub fn get(&self, d: DataType) -> Price {
        match d {
            DataType::Weights => self.weights,
            DataType::Ifmaps => self.ifmaps,
            DataType::Psums => self.psums,
        }
    }
    fn is_uniform(&self) -> bool {
        self.weights == self.ifmaps && self.ifmaps == self.psums
    }
}

/// Written as it is read: one price when every data type has it, else one per data type.
impl Serialize for LevelPrice {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.is_uniform() {
            return self.weights.serialize(s);
        }
        let mut m = BTreeMap::new();
        for d in DataType::ALL {
            m.insert(d.key(), self.get(d));
        }
        m.serialize(s)
    }
}

/// An `[energy]` table as written: the fixed keys, and one price per level name.
#[derive(Debug, Clone, Deserialize)]
pub struct EnergySpec {
    pub units: Units,
    pub mac: f64,
    #[serde(default = "sixteen")]
    pub reference_bits: usize,
    #[serde(default = "quadratic")]
    pub mac_scaling: Scaling,
    #[serde(default = "linear")]
    pub memory_scaling: Scaling,
    pub source: String,
    #[serde(default)]
    pub static_mw: f64,
    /// Every other key: the price of the level of that name.
    #[serde(flatten)]
    pub levels: BTreeMap<String, toml::Value>,
}

fn sixteen() -> usize {
    16
}
fn quadratic() -> Scaling {
    Scaling::Quadratic
}
fn linear() -> Scaling {
    Scaling::Linear
}

/// A table error: (key, rule, fix).
pub type TableError = (String, String, String);

/// An energy table resolved against a config's levels: `levels[i]` prices level `i`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnergyTable {
    pub units: Units,
    pub mac: f64,
    /// Word width the numbers were measured or derived at.
    pub reference_bits: usize,
    pub mac_scaling: Scaling,
    pub memory_scaling: Scaling,
    /// Where the numbers come from.
    pub source: String,
    /// Static (leakage and clock) power of the chip, in mW, for absolute tables; it adds
    /// power x time to a layer's energy.
    pub static_mw: f64,
    /// (level name, price), in the config's level order. Serialised as keys of the table
    /// itself, as the file writes them (and as the sweep's grid fingerprint has always seen
    /// them).
    #[serde(flatten, serialize_with = "as_map")]
    pub levels: Vec<(String, LevelPrice)>,
}

fn as_map<S: Serializer>(v: &[(String, LevelPrice)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(v.iter().map(|(k, p)| (k, p)))
}

impl EnergyTable {
    /// The ISCA 2016 normalised table (65 nm, 16-bit, relative to one MAC) for the Eyeriss
    /// levels.
    pub fn isca16() -> EnergyTable {
        let price = |name: &str, e: f64| (name.to_string(), LevelPrice::uniform(Price::flat(e)));
        EnergyTable {
            units: Units::Normalized,
            mac: 1.0,
            reference_bits: 16,
            mac_scaling: Scaling::Quadratic,
            memory_scaling: Scaling::Linear,
            source: "Chen, Emer, Sze, ISCA 2016, normalised energy cost per access (65 nm, relative to one 16-bit MAC)".into(),
            static_mw: 0.0,
            levels: vec![
                price("dram", 200.0),
                price("glb", 6.0),
                price("array", 2.0),
                price("rf", 1.0),
            ],
        }
    }

    /// The table `spec` (config section `section`) for the config's `levels`: every level
    /// priced, every other key a known one (the values are checked by `check_as`).
    pub fn resolve(
        spec: &EnergySpec,
        levels: &Levels,
        section: &str,
    ) -> Result<EnergyTable, TableError> {
        let names = levels.names();
        if let Some(extra) = spec.levels.keys().find(|k| !names.contains(&k.as_str())) {
            return Err((
                format!("{section}.{extra}"),
                format!(
                    "`{extra}` is neither a key of [{section}] nor a level of this config (levels: {})",
                    names.join(", ")
                ),
                "remove or rename the key; price each level by its name".into(),
            ));
        }
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let key = format!("{section}.{name}");
            let v = spec.levels.get(name).ok_or_else(|| {
                (
                    key.clone(),
                    format!("no price for level `{name}`"),
                    format!("add `{name} = <energy per access>` to [{section}]"),
                )
            })?;
            out.push((name.to_string(), level_price_of(v, &key)?));
        }
        Ok(EnergyTable {
            units: spec.units,
            mac: spec.mac,
            reference_bits: spec.reference_bits,
            mac_scaling: spec.mac_scaling,
            memory_scaling: spec.memory_scaling,
            source: spec.source.clone(),
            static_mw: spec.static_mw,
            levels: out,
        })
    }

    /// This table for another config's `levels` (the same names, perhaps in another order), or
    /// the name of the first level it does not price.
    pub fn for_levels(&self, levels: &Levels) -> Result<EnergyTable, String> {
        let mut out = Vec::with_capacity(levels.len());
        for name in levels.names() {
            let p = self
                .levels
                .iter()
                .find(|(n, _)| n == name)
                .ok_or_else(|| name.to_string())?;
            out.push(p.clone());
        }
        Ok(EnergyTable {
            levels: out,
            ..self.clone()
        })
    }

    /// Prices of data type `d` at level `i` (the config's order) for words of `bits`.
    #[inline]
    pub fn access(&self, i: usize, d: DataType, bits: usize) -> Price {
        self.levels[i].1.get(d).scaled(
            self.memory_scaling
                .factor(bits as f64 / self.reference_bits as f64),
        )
    }

    /// Energy per MAC for operands of `bits`.
    pub fn mac(&self, bits: usize) -> f64 {
        self.mac
            * self
                .mac_scaling
                .factor(bits as f64 / self.reference_bits as f64)
    }

    /// Why the `[energy]` table is unusable, as (key, rule, fix).
    pub fn check(&self) -> Result<(), TableError> {
        self.check_as("energy")
    }

    /// Why the table of config section `section` is unusable, as (key, rule, fix).
    pub fn check_as(&self, section: &str) -> Result<(), TableError> {
        let mut prices = vec![
            (format!("{section}.mac"), self.mac),
            (format!("{section}.static_mw"), self.static_mw),
        ];
        for (name, lp) in &self.levels {
            for d in DataType::ALL {
                let p = lp.get(d);
                let level = if lp.is_uniform() {
                    format!("{section}.{name}")
                } else {
                    format!("{section}.{name}.{}", d.key())
                };
                for (action, v) in p.actions() {
                    let key = if p.is_flat() {
                        level.clone()
                    } else {
                        format!("{level}.{action}")
                    };
                    prices.push((key, v));
                }
            }
        }
        for (key, v) in &prices {
            // Finite and below 1e30 per access, so sums over any layer stay finite.
            if !(0.0..=1e30).contains(v) {
                return Err((
                    key.clone(),
                    format!("`{key}` = {v} must be a finite, non-negative energy (at most 1e30)"),
                    "give the energy per access".into(),
                ));
            }
        }
        if prices.iter().all(|(_, v)| *v == 0.0) {
            return Err((
                format!("{section}.mac"),
                format!("every price of [{section}] is 0: every energy would be 0, and no share or ratio of energies exists"),
                "give the energy of a MAC and of an access to each level".into(),
            ));
        }
        if !(1..=64).contains(&self.reference_bits) {
            return Err((
                format!("{section}.reference_bits"),
                format!(
                    "reference_bits = {} must be from 1 to 64",
                    self.reference_bits
                ),
                "give the word width of the table, e.g. 16".into(),
            ));
        }
        Ok(())
    }
}

/// A level's prices as written: one price for every data type, or a table of them by data type
/// (all three named: a level moves every data type it holds, and a silent default would price
/// one at another's cost).
fn level_price_of(v: &toml::Value, key: &str) -> Result<LevelPrice, TableError> {
    let by_type = match v {
        toml::Value::Table(t) if t.keys().any(|k| DataType::ALL.iter().any(|d| d.key() == k)) => t,
        _ => return price_of(v, key).map(LevelPrice::uniform),
    };
    let wrong = |rule: String| {
        (
            key.to_string(),
            rule,
            "give one price for the level, or a table { weights = .., ifmaps = .., psums = .. } (each a number or a table of actions)".into(),
        )
    };
    if let Some(other) = by_type
        .keys()
        .find(|k| !DataType::ALL.iter().any(|d| d.key() == k.as_str()))
    {
        return Err(wrong(format!(
            "`{key}` mixes data types with `{other}`, which is not one (weights, ifmaps, psums)"
        )));
    }
    let get = |d: DataType| match by_type.get(d.key()) {
        Some(v) => price_of(v, &format!("{key}.{}", d.key())),
        None => Err(wrong(format!(
            "`{key}` prices some data types but not `{}`",
            d.key()
        ))),
    };
    Ok(LevelPrice {
        weights: get(DataType::Weights)?,
        ifmaps: get(DataType::Ifmaps)?,
        psums: get(DataType::Psums)?,
    })
}

/// A price as written: a number, or a table of actions.
fn price_of(v: &toml::Value, key: &str) -> Result<Price, TableError> {
    let wrong = |why: String| {
        (
            key.to_string(),
            format!("`{key}` {why}"),
            "give the energy per access (a number), or a table { read, write, gated_read, gated_write, hop, router } (write defaults to read, the others to 0)".into(),
        )
    };
    match v {
        toml::Value::Float(e) => Ok(Price::flat(*e)),
        toml::Value::Integer(e) => Ok(Price::flat(*e as f64)),
        toml::Value::Table(t) => {
            let mut t = t.clone();
            // `write` defaults to `read`.
            if let (Some(r), false) = (t.get("read").cloned(), t.contains_key("write")) {
                t.insert("write".into(), r);
            }
            toml::Value::Table(t)
                .try_into::<Price>()
                .map_err(|e| wrong(format!("is not a price table: {}", e.message().trim())))
        }
        other => Err(wrong(format!("is a {}, not an energy", other.type_str()))),
    }
}
