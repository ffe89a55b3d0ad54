//! Test hygiene: every test directory comes from one shared helper per test tree, and it
//! removes itself (a full test run leaves nothing behind in the system's temp folder).

mod common;

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Tests, benches and examples of the crates this tree owns (the pruner's tests use `tempfile`
/// directly) create scratch files only through their tree's `common::scratch_dir`.
#[test]
fn temp_dirs_come_from_the_shared_helper() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [
        "tests",
        "sim/tests",
        "estimator/tests",
        "onnx/tests",
        "sim/benches",
        "estimator/benches",
        "onnx/examples",
    ] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 10, "{files:?}");
    let this = Path::new(file!()).file_name().unwrap();
    let mut offenders = Vec::new();
    for f in &files {
        let is_helper = f.ends_with("common/mod.rs") || f.file_name() == Some(this);
        let text = std::fs::read_to_string(f).unwrap();
        for (i, line) in text.lines().enumerate() {
            let bad = line.contains("temp_dir()") || line.contains("\"/tmp");
            if bad && !is_helper {
                offenders.push(format!("{}:{}: {}", f.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "use common::scratch_dir():\n{}",
        offenders.join("\n")
    );
}

/// The helper's directory and everything in it are gone once it is dropped.
#[test]
fn scratch_dirs_remove_themselves() {
    let dir = common::scratch_dir("hygiene");
    let inner = dir.path().join("sub");
    std::fs::create_dir_all(&inner).unwrap();
    std::fs::write(inner.join("f.txt"), "x").unwrap();
    let path = dir.path().to_path_buf();
    drop(dir);
    assert!(!path.exists(), "{} left behind", path.display());
}
