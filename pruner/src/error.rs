//! One error type for the whole crate, so callers (the CLI) can match on the
//! kind of failure and every message names the file it is about.

use std::path::PathBuf;

/// Everything that can go wrong in `ember-pruner`.
#[derive(Debug, thiserror::Error)]
pub enum PrunerError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A malformed MNIST-format (IDX) file: wrong magic, truncated, bad dims.
    #[error("{}: invalid IDX file: {reason}", path.display())]
    Idx { path: PathBuf, reason: String },

    #[error(
        "no data set at {} ({missing}); fix: install Fashion-MNIST with `apt-get install \
         dataset-fashion-mnist`, or pass --data with an IDX folder, an image folder (train/, \
         test/) or a .npz file",
        dir.display()
    )]
    DatasetNotFound { dir: PathBuf, missing: String },

    /// Images and labels of one split disagree, or a split is too small.
    #[error("{}: inconsistent data set: {reason}", path.display())]
    Dataset { path: PathBuf, reason: String },

    #[error("{}: invalid architecture: {reason}", path.display())]
    ArchFile { path: PathBuf, reason: String },

    /// An architecture that cannot be built (shapes do not chain, zero sizes).
    #[error("invalid architecture: {0}")]
    Arch(String),

    #[error("{}: invalid safetensors file: {reason}", path.display())]
    Safetensors { path: PathBuf, reason: String },

    /// A tensor handed to the API has the wrong shape or contents.
    #[error("tensor {name}: {reason}")]
    Tensor { name: String, reason: String },

    #[error("invalid training configuration: {0}")]
    Config(String),

    /// The accelerator model could not map or estimate a layer.
    #[error("energy estimate failed: {0}")]
    Energy(String),

    /// An ONNX model Ember cannot execute (unsupported operator, layout).
    #[error("{}: {reason}", path.display())]
    Onnx { path: PathBuf, reason: String },

    /// A pruning checkpoint that does not belong to this run or is damaged.
    #[error("{}: invalid checkpoint: {reason}", path.display())]
    Checkpoint { path: PathBuf, reason: String },
}

pub type Result<T, E = PrunerError> = std::result::Result<T, E>;

impl PrunerError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        PrunerError::Io {
            path: path.into(),
            source,
        }
    }
}
