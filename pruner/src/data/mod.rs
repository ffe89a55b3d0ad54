//! Data sets: MNIST-style IDX files, image folders, NumPy arrays.

mod arrays;
mod dataset;
mod folder;
mod idx;
mod prep;

pub use dataset::{
    load_split, DataFiles, Dataset, Split, CLASS_NAMES, DEFAULT_DATA_DIR, DEFAULT_VAL_FRACTION,
};
pub use idx::{read_idx, write_idx_gz, IdxArray};
pub use prep::Preprocess;
