//! `--net model.onnx` and `ember import` end to end, on a model the test builds (an
//! inception-style graph from the importer's own test helpers).

mod common;
#[path = "../onnx/tests/common/mod.rs"]
mod onnx_common;

use common::{ember, scratch_dir};

#[test]
fn sim_and_import_an_onnx_model() {
    let dir = scratch_dir("onnx-cli");
    let model = dir.path().join("sample.onnx");
    std::fs::write(&model, onnx_common::sample().bytes()).unwrap();
    let m = model.to_str().unwrap();

    // The trace `import` writes loads back and gives the same simulation as the model itself.
    let trace = dir.path().join("sample.toml");
    let out = ember(&["import", m, "--out", trace.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let direct = ember(&["sim", "--net", m, "--batch", "1", "--format", "json"]);
    let via = ember(&[
        "sim",
        "--net",
        trace.to_str().unwrap(),
        "--batch",
        "1",
        "--format",
        "json",
    ]);
    assert!(direct.status.success() && via.status.success());
    let a: serde_json::Value = serde_json::from_slice(&direct.stdout).unwrap();
    let b: serde_json::Value = serde_json::from_slice(&via.stdout).unwrap();
    assert_eq!(a["layers"], b["layers"]);
    // The stem: 16 filters of 3x3x3 over 32x32 (pad 1): 16·32·32·27 MACs.
    assert_eq!(a["layers"][0]["macs"], 16 * 32 * 32 * 27);

    // --input-shape overrides the graph's input: a 64x64 image has 4x the stem MACs.
    let big = ember(&[
        "sim",
        "--net",
        m,
        "--input-shape",
        "1x3x64x64",
        "--batch",
        "1",
        "--format",
        "json",
    ]);
    let c: serde_json::Value = serde_json::from_slice(&big.stdout).unwrap();
    assert_eq!(c["layers"][0]["macs"], 4 * 16 * 32 * 32 * 27);

    // A truncated model is an error naming the file, not a panic.
    let bytes = std::fs::read(&model).unwrap();
    let cut = dir.path().join("cut.onnx");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = ember(&["sim", "--net", cut.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && !err.contains("panicked") && err.contains("cut"),
        "{err}"
    );
    // A malformed --input-shape too.
    let out = ember(&["sim", "--net", m, "--input-shape", "3x64"]);
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--input-shape")
    );
}
