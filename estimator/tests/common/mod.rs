//! Loading every trace and hardware config shipped in the repository.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use ember_estimator::Hardware;
use ember_sim::Network;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn toml_files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .expect("folder exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    v
}

pub fn traces() -> Vec<Network> {
    toml_files("traces")
        .iter()
        .map(|p| Network::load(p).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

pub fn configs() -> Vec<Hardware> {
    toml_files("hw_configs")
        .iter()
        .map(|p| Hardware::load(p).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

pub fn trace(name: &str) -> Network {
    Network::load(&root().join("traces").join(name)).unwrap_or_else(|e| panic!("{e}"))
}

pub fn config(name: &str) -> Hardware {
    Hardware::load(&root().join("hw_configs").join(name)).unwrap_or_else(|e| panic!("{e}"))
}

/// A fresh, empty directory for one test, removed with everything in it when dropped (keep
/// the value alive while the test uses the folder).
pub fn scratch_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("ember-test-")
        .tempdir()
        .expect("a temp dir")
}
