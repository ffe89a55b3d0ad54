//! Data sets in MNIST's IDX format.

mod dataset;
mod idx;

pub use dataset::{
    load_split, DataFiles, Dataset, Split, CLASS_NAMES, DEFAULT_DATA_DIR, DEFAULT_VAL_FRACTION,
};
pub use idx::{read_idx, write_idx_gz, IdxArray};
