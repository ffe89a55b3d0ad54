//! Cuts the committed test fixture from the real Fashion-MNIST files:
//! the first 2,000 training and the first 1,000 test images, in file order.
//!
//! cargo run --release -p ember-pruner --example make_fixture -- \
//!     /usr/share/datasets/fashion-mnist pruner/tests/fixtures/fashion-mnist-small

use std::path::PathBuf;

use anyhow::{Context, Result};
use ember_pruner::data::{read_idx, write_idx_gz, DataFiles, IdxArray};

const TRAIN: usize = 2000;
const TEST: usize = 1000;

fn head(arr: &IdxArray, n: usize) -> IdxArray {
    let mut dims = arr.dims.clone();
    let per: usize = dims[1..].iter().product();
    dims[0] = n;
    IdxArray {
        dims,
        data: arr.data[..n * per].to_vec(),
    }
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let src = PathBuf::from(args.next().context("usage: make_fixture SRC_DIR OUT_DIR")?);
    let out = PathBuf::from(args.next().context("usage: make_fixture SRC_DIR OUT_DIR")?);
    std::fs::create_dir_all(&out)?;
    let files = DataFiles::find(&src)?;
    for (path, n, name) in [
        (&files.train_images, TRAIN, "train-images-idx3-ubyte.gz"),
        (&files.train_labels, TRAIN, "train-labels-idx1-ubyte.gz"),
        (&files.test_images, TEST, "t10k-images-idx3-ubyte.gz"),
        (&files.test_labels, TEST, "t10k-labels-idx1-ubyte.gz"),
    ] {
        write_idx_gz(&out.join(name), &head(&read_idx(path)?, n))?;
    }
    println!("wrote {}", out.display());
    Ok(())
}
