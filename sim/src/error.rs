//! Errors for loading and checking workloads and hardware.
//!
//! Every user-facing error names the file, the line (when one is known), the key, the rule
//! that was broken and how to fix it: the CLI prints them as they are.

use std::fmt;
use std::path::PathBuf;

/// Where in an input file a problem sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Dotted key path, e.g. `layer[2].stride` or `pe.ifmap_spad_words`.
    pub key: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{}: cannot read file: {source}; fix: check the path (relative paths are taken from the current directory)", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Malformed TOML or a key the schema does not know.
    #[error("{at}: {message}; fix: {fix}")]
    Parse {
        at: Location,
        message: String,
        fix: String,
    },
    /// Well-formed input that breaks a rule of the model.
    #[error("{at}: {rule}; fix: {fix}")]
    Invalid {
        at: Location,
        rule: String,
        fix: String,
    },
    /// A workload whose counts could overflow the model's 64-bit counters.
    #[error("{what}: its access and cycle counts could reach {bound}, beyond the {limit} the model counts exactly; fix: lower --batch, or the layer's sizes")]
    TooLarge {
        what: String,
        bound: String,
        limit: String,
    },
    /// No mapping of the layer fits the hardware.
    #[error("layer `{layer}`: no {dataflow} mapping fits the hardware: {reason}; fix: {fix}")]
    NoMapping {
        layer: String,
        dataflow: String,
        reason: String,
        fix: String,
        /// The hardware key to change, when one alone is at fault.
        key: Option<String>,
    },
}

/// 1-based line of byte offset `at` in `text`.
pub fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

/// Line of `key = ...` inside the table that starts at byte `from` (the first match at or after
/// `from`, before the next table header), or the table's own line when the key is absent.
pub fn line_of_key(text: &str, from: usize, key: &str) -> usize {
    let start = from.min(text.len());
    let mut offset = start;
    for (i, raw) in text[start..].split_inclusive('\n').enumerate() {
        let line = raw.trim_start();
        if i > 0 && line.starts_with('[') {
            break;
        }
        if let Some(rest) = line.strip_prefix(key) {
            if rest.trim_start().starts_with('=') {
                return line_of(text, offset);
            }
        }
        offset += raw.len();
    }
    line_of(text, start)
}

/// Turn a `toml` deserialisation error into a located parse error.
pub fn toml_error(path: &std::path::Path, text: &str, err: toml::de::Error) -> SimError {
    let line = err.span().map(|s| line_of(text, s.start));
    let message = err
        .message()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    // toml's word for an enum given a number, a flag or an array.
    let message = if message == "wanted string or table" {
        "expected a name in quotes here (the key takes one of a few names)".to_string()
    } else {
        message
    };
    let fix = if message.starts_with("unknown field") {
        "remove or rename the key; the accepted keys are listed above".to_string()
    } else if message.starts_with("missing field") {
        "add the key to this table".to_string()
    } else if message.starts_with("expected a name in quotes") {
        "quote one of the names the README lists for the key, e.g. dataflow = \"rs\"".to_string()
    } else {
        "correct the TOML syntax or value type at that line".to_string()
    };
    SimError::Parse {
        at: Location {
            file: path.to_path_buf(),
            line,
            key: None,
        },
        message,
        fix,
    }
}

pub type Result<T, E = SimError> = std::result::Result<T, E>;
