//! `ExploreError`: what can go wrong between the models and a report. Input-file errors stay the
//! models' own (`SimError`, `OnnxError`: file, line, key, rule, fix) and pass through unchanged;
//! the variants here are the requests' own rules and the sweep's two file formats. Every message
//! ends in a fix, as the CLI prints it as it is.

use std::path::PathBuf;

use ember_sim::SimError;

/// Which role a sweep results file plays, so its error names the fix for that role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The output of a run (it would be resumed or replaced).
    Out,
    /// An input of a merge.
    MergeInput,
}

impl Role {
    fn fix(self) -> &'static str {
        match self {
            Role::Out => "choose another --out, or pass --force to replace it",
            Role::MergeInput => "give --merge the files written by `ember sweep --shard I/N`",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExploreError {
    /// A trace, hardware config, measurement or masks file, or a mapping that does not fit.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// An ONNX model.
    #[error(transparent)]
    Onnx(#[from] ember_onnx::OnnxError),

    #[error("--input-shape `{text}`: expected C x H x W or N x C x H x W of positive integers; fix: e.g. --input-shape 3x227x227")]
    InputShapeSyntax { text: String },
    /// N of an input shape is neither 1 nor the run's batch.
    #[error("--input-shape `{text}`: N = {n}{}; N is not a batch size here (layers are per image); fix: give --input-shape {c}x{h}x{w}{}",
        batch.map_or(String::new(), |b| format!(", but the batch is {b} (--batch)")),
        batch.map_or(String::new(), |_| format!(" and --batch {n}")))]
    InputShapeBatch {
        text: String,
        n: usize,
        c: usize,
        h: usize,
        w: usize,
        batch: Option<usize>,
    },
    /// An input shape given with a workload whose shapes are fixed (a trace).
    #[error("--input-shape `{text}` applies to ONNX models only, and {what}; fix: drop --input-shape, or edit the trace's shapes")]
    InputShapeNotOnnx { text: String, what: String },

    /// A list of layer tables (not a file) that is not an array of `[[layer]]` tables.
    #[error("{name}: {}{detail}; fix: give a list of layer tables with the keys of a trace's [[layer]] (name, c, h, w, m; optional r, s, stride, pad, groups, kind, weight_density, ifmap_density, ofmap_density, pool)",
        index.map_or(String::new(), |i| format!("layer[{i}]: ")))]
    Layers {
        name: String,
        index: Option<usize>,
        detail: String,
    },
    /// Densities named for a layer the network does not have.
    #[error("densities for layer `{layer}`: network `{network}` has no such layer; fix: name one of its layers: {names}")]
    NoSuchLayer {
        layer: String,
        network: String,
        names: String,
    },
    #[error("densities for layer `{layer}`: `{key}` = {value} is outside (0, 1]; fix: give the fraction of non-zero values, e.g. 0.45")]
    Density {
        layer: String,
        key: &'static str,
        value: f64,
    },

    #[error("sparsity preset `{preset}`: unknown; fix: give `none`, `chip`, `eap` or `csc`")]
    UnknownPreset { preset: String },

    /// Compared candidates price energy in different units.
    #[error("{name}: energy is in {units}, but {first} is in {first_units}: ratios and one plot axis need one unit; fix: compare configs whose [energy] tables share a unit (copy one table's `units` and prices into the other)")]
    MixedUnits {
        name: String,
        units: &'static str,
        first: String,
        first_units: &'static str,
    },
    /// A floor on busy PEs that is not a share of the array.
    #[error("--min-active-pes {value}: must be a share of the PEs, from 0 to 1; fix: e.g. --min-active-pes 0.9 for mappings that keep 90 % of the PEs busy")]
    MinActivePes { value: f64 },
    /// A batch of no images: nothing to map (every front end's rule, so none clamps it).
    #[error("batch = 0: a batch is at least one image; fix: give batch >= 1")]
    ZeroBatch,
    #[error("compare needs at least two candidates; fix: give several --hw, or --dataflow with several dataflows")]
    TooFewCandidates,
    /// Chip energy asked of a config without the tables it needs.
    #[error("{name}: --energy chip prices on-chip accesses with [energy_pj] and adds clock, control and leakage from [power], and this config has no {missing} section; fix: add it (see hw_configs/eyeriss-v1.toml), or compare --energy total")]
    NoChipModel { name: String, missing: &'static str },

    /// The sweep space file cannot be read.
    #[error("{}: cannot read the space file; fix: check the path (e.g. sweeps/small.toml)", path.display())]
    SpaceRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The sweep space file breaks a rule; `detail` names the key, the rule and the fix.
    #[error("{}: {detail}", path.display())]
    Space { path: PathBuf, detail: String },

    #[error("{}: cannot read: {source}; fix: check the path (a results CSV of `ember sweep`)", path.display())]
    ResultsRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file that is not a results file of this version.
    #[error("{}: not an `ember sweep` results file of this version ({why}); fix: {}", path.display(), role.fix())]
    NotResults {
        path: PathBuf,
        role: Role,
        why: String,
    },
    /// A results file whose level energy columns (line 1) are another hierarchy's.
    #[error("{}, line 1: the level energy columns are {found}, but {whose} writes {want}: the file holds another hierarchy's results; fix: {fix}", path.display())]
    LevelColumns {
        path: PathBuf,
        /// The `energy_<level>` columns of the file and those expected, comma-separated.
        /// (`Box<str>`: keeps `ExploreError` small enough to return by value.)
        found: Box<str>,
        want: Box<str>,
        whose: Box<str>,
        fix: Box<str>,
    },
    /// The output file holds another grid's or shard's rows.
    #[error("{}: holds {rows} rows of another sweep (grid {found}) than this run (grid {want}: another space, network or shard); fix: choose another --out, or pass --force to replace it", path.display())]
    OtherSweep {
        path: PathBuf,
        rows: usize,
        /// "GRID, N points, shard I/N" of the file and of the run.
        found: String,
        want: String,
    },
    /// A merge input that is missing, of another grid, doubled or unfinished.
    #[error("{detail}; fix: {fix}")]
    Merge { detail: String, fix: String },
}

pub type Result<T, E = ExploreError> = std::result::Result<T, E>;
