//! End-to-end tests of the `ember` binary: the default run, the output formats, and a clear
//! error (file, line or key, and a fix; non-zero exit; no panic) for each kind of bad input.

mod common;
#[path = "../onnx/tests/common/mod.rs"]
mod onnx_common;

use std::path::{Path, PathBuf};

use common::{ember, scratch_dir};

/// A file `name` holding `text`, in a directory of its own (removed when the first value is
/// dropped: keep it alive while the file is used).
fn scratch(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = scratch_dir(&format!("cli-{name}"));
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    (dir, p)
}

/// Runs with the given args, expects failure, returns stderr.
fn fails(args: &[&str]) -> String {
    let out = ember(args);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "expected failure for {args:?}");
    assert!(!err.contains("panicked"), "panic for {args:?}: {err}");
    assert!(err.contains("fix:"), "no fix in: {err}");
    assert_eq!(
        err.trim().lines().count(),
        1,
        "one error line expected: {err}"
    );
    err
}

const CONV: &str = "name = \"t\"\nsource = \"test\"\n\n[[layer]]\nname = \"L1\"\nc = 3\nh = 8\nw = 8\nm = 4\nr = 3\n";

fn trace_with(line: &str) -> String {
    format!("{CONV}{line}\n")
}

#[test]
fn default_run_prints_alexnet_table() {
    let out = ember(&[]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("AlexNet on eyeriss-v1"));
    for l in ["CONV1", "CONV5", "FC8", "total"] {
        assert!(text.contains(l), "{l} missing");
    }
    // `ember` alone is `ember sim` with the embedded defaults.
    let sim = ember(&[
        "sim",
        "--net",
        "traces/alexnet.toml",
        "--hw",
        "hw_configs/eyeriss-v1.toml",
    ]);
    assert_eq!(String::from_utf8(sim.stdout).unwrap(), text);
}

#[test]
fn json_schema_keys() {
    let out = ember(&["sim", "--format", "json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for k in [
        "network", "hardware", "batch", "dataflow", "units", "layers", "total",
    ] {
        assert!(v.get(k).is_some(), "top-level {k}");
    }
    assert_eq!(v["batch"], 4);
    let l = &v["layers"][0];
    for k in [
        "name",
        "macs",
        "effective_macs",
        "active_pes",
        "cycles",
        "utilization",
        "mapping",
        "accesses",
        "energy",
    ] {
        assert!(l.get(k).is_some(), "layer {k}");
    }
    // CONV1: 4 images x 96 filters x 55x55 outputs x 3x11x11 weights.
    assert_eq!(l["macs"], 4 * 96 * 55 * 55 * 3 * 11 * 11);
    assert_eq!(l["macs"], 421_660_800u64);
    for lv in ["dram", "glb", "array", "rf"] {
        for d in ["weights", "ifmaps", "psums"] {
            assert!(l["accesses"][lv][d]["reads"].is_u64(), "{lv}.{d}");
            assert!(l["accesses"][lv][d]["writes"].is_u64(), "{lv}.{d}");
        }
        assert!(l["energy"]["by_level"][lv].is_number());
    }
    for d in ["weights", "ifmaps", "psums"] {
        assert!(l["energy"]["by_data_type"][d].is_number());
    }
    // The total is the sum of the layers.
    let sum: f64 = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["energy"]["total"].as_f64().unwrap())
        .sum();
    let total = v["total"]["energy"]["total"].as_f64().unwrap();
    assert!((sum - total).abs() <= 1e-9 * total);
    // Σ of the eight per-layer MAC counts of the foundation issue: 4 images x 724,406,816
    // (AlexNet's MACs per image, CONV2/4/5 in two groups as on the original two GPUs).
    assert_eq!(v["total"]["macs"], 2_897_627_264u64);
    assert_eq!(v["total"]["macs"], 4 * 724_406_816u64);
}

#[test]
fn csv_and_atomic_out() {
    let dir = scratch_dir("out");
    let out = dir.path().join("alexnet.csv");
    let o = ember(&["sim", "--format", "csv", "--out", out.to_str().unwrap()]);
    assert!(o.status.success());
    let text = std::fs::read_to_string(&out).unwrap();
    // Header, AlexNet's eight layers, total.
    assert_eq!(text.lines().count(), 1 + 8 + 1);
    assert!(text.lines().next().unwrap().starts_with("layer,macs,"));
    // Nothing else left behind (the temp file was renamed).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    // A folder that does not exist: an error, and no file.
    let bad = dir.path().join("missing").join("x.csv");
    let err = fails(&["sim", "--format", "csv", "--out", bad.to_str().unwrap()]);
    assert!(err.contains("x.csv"));
    assert!(!bad.exists());
}

#[test]
fn malformed_toml() {
    let (_dir, p) = scratch("malformed.toml", "name = \"t\"\nsource = \n");
    let err = fails(&["sim", "--net", p.to_str().unwrap()]);
    assert!(err.contains("malformed.toml:2"), "{err}");
}

#[test]
fn unknown_key_in_trace() {
    let (_dir, p) = scratch("unknown.toml", &trace_with("colour = 3"));
    let err = fails(&["sim", "--net", p.to_str().unwrap()]);
    assert!(
        err.contains("unknown.toml:11") && err.contains("unknown field `colour`"),
        "{err}"
    );
}

#[test]
fn unknown_key_in_hw() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("hw_configs/eyeriss-v1.toml"),
    )
    .unwrap()
    .replace("cols = 14", "cols = 14\ncolumns = 14");
    let (_dir, p) = scratch("hw-unknown.toml", &text);
    let err = fails(&["sim", "--hw", p.to_str().unwrap()]);
    assert!(
        err.contains("hw-unknown.toml:") && err.contains("unknown field `columns`"),
        "{err}"
    );
}

#[test]
fn zero_dimension() {
    let (_dir, p) = scratch("zero.toml", &CONV.replace("m = 4", "m = 0"));
    let err = fails(&["sim", "--net", p.to_str().unwrap()]);
    assert!(
        err.contains("zero.toml:9") && err.contains("layer[0].m"),
        "{err}"
    );
}

#[test]
fn filter_larger_than_padded_input() {
    let (_dir, p) = scratch("big-filter.toml", &CONV.replace("r = 3", "r = 11"));
    let err = fails(&["sim", "--net", p.to_str().unwrap()]);
    assert!(
        err.contains("big-filter.toml:10") && err.contains("larger than the padded input"),
        "{err}"
    );
}

#[test]
fn stride_skips_input() {
    let (_dir, p) = scratch("stride.toml", &trace_with("stride = 4"));
    let err = fails(&["sim", "--net", p.to_str().unwrap()]);
    assert!(
        err.contains("stride.toml:11") && err.contains("never be read"),
        "{err}"
    );
}

/// A spad smaller than a filter row no longer stops row-stationary: the filter is split into
/// segments (JSON `mapping.segment`). A spad of 0 words is an error at its line.
#[test]
fn rf_smaller_than_a_filter_row_splits_it() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("hw_configs/eyeriss-v1.toml"),
    )
    .unwrap();
    let (_dir, p) = scratch(
        "small-rf.toml",
        &text.replace("ifmap_spad_words = 12 ", "ifmap_spad_words = 8 "),
    );
    let out = ember(&["sim", "--hw", p.to_str().unwrap(), "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // AlexNet CONV1 has 11-wide filter rows.
    let seg = &v["layers"][0]["mapping"]["segment"];
    assert!(seg["cols"].as_u64().unwrap() <= 8, "{seg}");
    assert_eq!(seg["rows"], 11);
    assert!(v["layers"][1]["mapping"].get("segment").is_none());
    let (_dir, p) = scratch(
        "zero-rf.toml",
        &text.replace("ifmap_spad_words = 12 ", "ifmap_spad_words = 0 "),
    );
    let err = fails(&["sim", "--hw", p.to_str().unwrap()]);
    let line = text
        .lines()
        .position(|l| l.starts_with("ifmap_spad_words"))
        .unwrap()
        + 1;
    assert!(err.contains(&format!("zero-rf.toml:{line}")), "{err}");
    assert!(err.contains("pe.ifmap_spad_words"), "{err}");
}

#[test]
fn missing_file() {
    let err = fails(&["sim", "--net", "traces/no-such-net.toml"]);
    assert!(
        err.contains("traces/no-such-net.toml") && err.contains("cannot read"),
        "{err}"
    );
}

/// The `.toml` files directly in `dir` (under the workspace root).
fn tomls(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

/// Every `.onnx` file in the repository (none is tracked today; the test models are built by
/// `onnx/tests/common`), outside build folders.
fn onnx_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if p.is_dir() && !name.starts_with('.') && name != "target" {
            onnx_files(&p, out);
        } else if p
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("onnx"))
        {
            out.push(p);
        }
    }
}

/// Every shipped trace and ONNX model maps on every shipped config in row-stationary (filters
/// taller than the array or wider than the spads are split across passes).
#[test]
fn every_trace_and_model_runs_on_every_config_in_rs() {
    let dir = scratch_dir("every-net");
    let mut nets = tomls("traces");
    for (name, g) in onnx_common::models() {
        let p = dir.path().join(format!("{name}.onnx"));
        std::fs::write(&p, g.bytes()).unwrap();
        nets.push(p);
    }
    onnx_files(Path::new(env!("CARGO_MANIFEST_DIR")), &mut nets);
    let hws = tomls("hw_configs");
    assert!(nets.len() >= 8 && hws.len() >= 3, "{nets:?} {hws:?}");
    for net in &nets {
        for hw in &hws {
            let out = ember(&[
                "sim",
                "--net",
                net.to_str().unwrap(),
                "--hw",
                hw.to_str().unwrap(),
                "--dataflow",
                "rs",
                "--batch",
                "1",
                "--format",
                "csv",
            ]);
            assert!(
                out.status.success(),
                "{} on {}: {}",
                net.display(),
                hw.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn cycle_mode_and_trace() {
    let dir = scratch_dir("cycle");
    let trace = dir.path().join("passes.csv");
    let out = ember(&[
        "sim",
        "--mode",
        "cycle",
        "--format",
        "json",
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let l = &v["layers"][0];
    for k in [
        "mac_cycles",
        "processing_cycles",
        "total_cycles",
        "stalls",
        "passes",
    ] {
        assert!(l["timing"].get(k).is_some(), "timing.{k}");
    }
    assert_eq!(l["cycles"], l["timing"]["total_cycles"]);
    // One CSV record per pass of every layer, plus the header.
    let passes: u64 = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["timing"]["passes"].as_u64().unwrap())
        .sum();
    let csv = std::fs::read_to_string(&trace).unwrap();
    assert_eq!(csv.lines().count() as u64, passes + 1);
    assert!(csv.starts_with("layer,pass,start_cycle,end_cycle,"));
    // --trace without cycle mode is a clear error.
    let err = fails(&["sim", "--trace", trace.to_str().unwrap()]);
    assert!(err.contains("--mode cycle"));
}

#[test]
fn validate_reports_every_metric() {
    let out = ember(&["validate", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let layers = v["layers"].as_array().unwrap();
    // Table V measures the five CONV layers.
    assert_eq!(layers.len(), 5);
    for l in layers {
        for m in [
            "active_pes",
            "processing_latency_ms",
            "total_latency_ms",
            "dram_mb",
            "glb_mb",
            "power_mw",
        ] {
            let c = &l["metrics"][m];
            assert!(
                c["measured"].is_number()
                    && c["simulated"].is_number()
                    && c["error_pct"].is_number(),
                "{m}"
            );
        }
        // JSSC 2017 Table V active PEs are reproduced exactly.
        assert_eq!(l["metrics"]["active_pes"]["error_pct"], 0.0);
    }
    assert!(v["summary"]["dram_mb"]["mean_abs_error_pct"].is_number());
    let table = ember(&["validate"]);
    assert!(String::from_utf8_lossy(&table.stdout).contains("processing_latency_ms"));
}

/// A wrapped error keeps its cause: loading a model that is not there names the missing file
/// (the cause under the "loading the model" context), once.
#[test]
fn error_shows_its_cause_once() {
    let dir = scratch_dir("cause");
    let err = fails(&[
        "masks",
        "--model",
        "/nonexistent-model",
        "--out",
        dir.path().join("never").to_str().unwrap(),
    ]);
    assert!(
        err.contains("loading the model /nonexistent-model"),
        "{err}"
    );
    assert!(err.contains("model.toml"), "{err}");
    assert_eq!(err.matches("os error 2").count(), 1, "{err}");
}

/// Issue 13: plain `ember sim --mode cycle` maps as `ember validate` does (the edp default), so
/// both report the same latency for every measured layer, to the last digit of the JSON.
#[test]
fn default_cycle_sim_has_validates_latencies() {
    let sim: serde_json::Value =
        serde_json::from_str(&common::ok(&["sim", "--mode", "cycle", "--format", "json"])).unwrap();
    let val: serde_json::Value =
        serde_json::from_str(&common::ok(&["validate", "--format", "json"])).unwrap();
    let layers = val["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 5, "Table V measures CONV1-5");
    for v in layers {
        let name = v["name"].as_str().unwrap();
        let s = sim["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == name)
            .unwrap();
        for key in ["processing_latency_ms", "total_latency_ms"] {
            assert_eq!(
                s["timing"][key], v["metrics"][key]["simulated"],
                "{name} {key}"
            );
        }
    }
}

/// FC6 of AlexNet is bound by the DRAM link whatever the mapping: its 9216 x 4096 weights are
/// read once, 4 words of 16 bits per link cycle (64-bit link) at 60 MHz against the 200 MHz
/// core (JSSC 2017), so no mapping finishes in fewer than 37,748,736 / 4 x 200 / 60 =
/// 31,457,280 core cycles; the edp default is at most as slow as the minimum-energy mapping.
/// (Why the default leaves most PEs idle on FC layers: more PEs could not make them faster.)
#[test]
fn fc6_is_dram_bound_and_edp_is_no_slower() {
    let cycles = |objective: &str| -> u64 {
        let j: serde_json::Value = serde_json::from_str(&common::ok(&[
            "sim",
            "--mode",
            "cycle",
            "--format",
            "json",
            "--objective",
            objective,
        ]))
        .unwrap();
        let fc6 = j["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == "FC6")
            .unwrap()
            .clone();
        fc6["timing"]["total_cycles"].as_u64().unwrap()
    };
    let floor = 37_748_736u64 / 4 * 200 / 60;
    let (edp, energy) = (cycles("edp"), cycles("energy"));
    assert!(floor <= edp && edp <= energy, "{floor} {edp} {energy}");
}
