//! Helpers shared by the end-to-end tests of the `ember` binary.
#![allow(dead_code)] // each test file uses its own subset

use std::path::Path;
use std::process::{Command, Output};

/// Run `ember` with `args` from the workspace root.
pub fn ember(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ember"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("runs")
}

/// Run `ember`, expect success, return stdout.
pub fn ok(args: &[&str]) -> String {
    let out = ember(args);
    assert!(
        out.status.success(),
        "ember {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A fresh, empty directory for one test, removed with everything in it when dropped (keep
/// the value alive while the test uses the folder). `tag` only names it, for debugging.
pub fn scratch_dir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("ember-{tag}-"))
        .tempdir()
        .expect("a temp dir")
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
