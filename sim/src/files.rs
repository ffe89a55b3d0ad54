//! Reading Ember's text input files, and telling one kind of file from another, so that a file
//! given in the wrong place (a model file as `--net`, a trace as `--hw`, a binary) gets an error
//! that says what it is and where it belongs rather than a schema complaint.

use std::path::Path;

use crate::error::{Location, SimError};

/// The kinds of TOML file Ember reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A workload (`traces/*.toml`).
    Trace,
    /// A hardware config (`hw_configs/*.toml`).
    Hardware,
    /// A model directory's `model.toml` (`ember train`, `ember prune`).
    Model,
    /// A sweep space (`sweeps/*.toml`).
    SweepSpace,
    /// Chip measurements (`traces/measurements/*.toml`).
    Measurements,
}

impl FileKind {
    /// The kind of `text`, from its top-level keys; `None` if it is not TOML or not Ember's.
    pub fn detect(text: &str) -> Option<FileKind> {
        let table: toml::Table = text.parse().ok()?;
        let has = |k: &str| table.contains_key(k);
        Some(if has("num_classes") || (has("input") && has("layers")) {
            FileKind::Model
        } else if has("array") && (has("pe") || has("level")) {
            FileKind::Hardware
        } else if has("base") && has("grid") {
            FileKind::SweepSpace
        } else if has("network") && has("batch") && has("layer") {
            FileKind::Measurements
        } else if has("layer") {
            FileKind::Trace
        } else {
            return None;
        })
    }

    /// What the file is, as a noun phrase.
    pub fn what(self) -> &'static str {
        match self {
            FileKind::Trace => "a trace (workload)",
            FileKind::Hardware => "a hardware config",
            FileKind::Model => "a model file written by `ember train` or `ember prune`",
            FileKind::SweepSpace => "a sweep space",
            FileKind::Measurements => "a measurement file",
        }
    }

    /// Where a file of this kind belongs.
    pub fn usage(self) -> &'static str {
        match self {
            FileKind::Trace => "pass it with --net",
            FileKind::Hardware => "pass it with --hw",
            FileKind::Model => {
                "write its trace with `ember masks --model DIR --out masks.safetensors --trace-out net.toml` and pass net.toml with --net"
            }
            FileKind::SweepSpace => "pass it with `ember sweep --space`",
            FileKind::Measurements => "pass it with `ember validate --measured`",
        }
    }

    /// A shipped example of the kind.
    fn example(self) -> &'static str {
        match self {
            FileKind::Trace => "traces/alexnet.toml",
            FileKind::Hardware => "hw_configs/eyeriss-v1.toml",
            FileKind::Model => "runs/lenet5/model.toml",
            FileKind::SweepSpace => "sweeps/small.toml",
            FileKind::Measurements => "traces/measurements/eyeriss-jssc17-alexnet.toml",
        }
    }
}

/// Read a text file expected to be of kind `expected`; binary data is named as such.
pub fn read_text(path: &Path, expected: FileKind) -> Result<String, SimError> {
    std::fs::read_to_string(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::InvalidData {
            SimError::Invalid {
                at: at(path),
                rule: format!(
                    "not a text file (it holds binary data), so not {}",
                    expected.what()
                ),
                fix: format!(
                    "give {} (TOML), e.g. {}",
                    expected.what(),
                    expected.example()
                ),
            }
        } else {
            SimError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

/// The error for a file that does not parse as `expected` because it is another kind of Ember
/// file; `None` when it is not recognisably another kind (the schema error says more then).
pub fn wrong_kind(path: &Path, text: &str, expected: FileKind) -> Option<SimError> {
    let found = FileKind::detect(text).filter(|&k| k != expected)?;
    Some(SimError::Invalid {
        at: at(path),
        rule: format!("this is {}, not {}", found.what(), expected.what()),
        fix: found.usage().to_string(),
    })
}

fn at(path: &Path) -> Location {
    Location {
        file: path.to_path_buf(),
        line: None,
        key: None,
    }
}
