//! `ember train` and `ember prune` on the Fashion-MNIST fixture: report keys, and resumption
//! after a run stopped after one layer gives the same result as an uninterrupted run.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::scratch_dir;

fn ember() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ember"))
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("pruner/tests/fixtures/fashion-mnist-small")
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("ember runs");
    assert!(
        out.status.success(),
        "{:?} failed:\n{}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn prune_cmd(model: &Path, out: &Path) -> Command {
    let mut c = ember();
    c.args(["prune", "--method", "eap", "--max-rounds", "1"])
        .args(["--calibration-samples", "64", "--max-accuracy-drop", "0.02"])
        // 333 validation images: judge on the point estimate (no margin).
        .args(["--confidence", "0.5"])
        .arg("--model")
        .arg(model)
        .arg("--data")
        .arg(fixture())
        .arg("--out")
        .arg(out);
    c
}

#[test]
fn train_prune_report_and_resume() {
    let tmp = scratch_dir("train-prune");
    let model = tmp.path().join("lenet5");
    let stdout = run(ember()
        .args(["train", "--model", "lenet5", "--epochs", "3", "--seed", "1"])
        .arg("--data")
        .arg(fixture())
        .arg("--out")
        .arg(&model));
    assert!(stdout.contains("test accuracy"), "{stdout}");
    assert!(model.join("model.safetensors").is_file());

    // Uninterrupted.
    let full = tmp.path().join("full");
    let table = run(&mut prune_cmd(&model, &full));
    assert!(table.contains("total") && table.contains("fc1"), "{table}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(full.join("report.json")).unwrap()).unwrap();
    for key in [
        "method",
        "model",
        "hardware",
        "baseline",
        "pruned",
        "energy_reduction",
        "weight_reduction",
        "layers",
    ] {
        assert!(report.get(key).is_some(), "missing {key}");
    }
    assert_eq!(report["method"], "eap");
    assert_eq!(report["hardware"], "eyeriss-v1");
    for side in ["baseline", "pruned"] {
        for key in ["val_accuracy", "test_accuracy", "energy", "nonzero_weights"] {
            assert!(report[side][key].is_number(), "{side}.{key}");
        }
    }
    let layers = report["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 5);
    for l in layers {
        for key in [
            "name",
            "density",
            "ifmap_density",
            "energy_before",
            "energy_after",
        ] {
            assert!(l.get(key).is_some(), "layer key {key}");
        }
        for key in ["dram", "glb", "array", "rf"] {
            assert!(l["energy_after_breakdown"]["by_level"][key].is_number());
        }
        for key in ["weights", "ifmaps", "psums"] {
            assert!(l["energy_before_breakdown"]["by_data_type"][key].is_number());
        }
    }
    assert!(report["energy_reduction"].as_f64().unwrap() > 1.0);
    assert!(report["weight_reduction"].as_f64().unwrap() > 1.0);
    assert!(full.join("masks.safetensors").is_file());

    // Stopped after one layer, then the same command again.
    let resumed = tmp.path().join("resumed");
    run(prune_cmd(&model, &resumed).args(["--stop-after-layers", "1"]));
    assert!(!resumed.join("report.json").exists());
    assert!(resumed.join("checkpoint/state.json").is_file());
    run(prune_cmd(&model, &resumed).args(["--stop-after-layers", "2"]));
    assert!(!resumed.join("report.json").exists());
    run(&mut prune_cmd(&model, &resumed));
    for f in ["model.safetensors", "masks.safetensors"] {
        assert!(
            std::fs::read(full.join(f)).unwrap() == std::fs::read(resumed.join(f)).unwrap(),
            "{f} differs after resuming"
        );
    }
    let r2: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(resumed.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["pruned"], r2["pruned"]);
    assert_eq!(report["layers"], r2["layers"]);

    // Rerunning a finished run says so and reports it again, unchanged.
    let before = std::fs::read(resumed.join("report.json")).unwrap();
    let out = prune_cmd(&model, &resumed).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds a finished run"));
    assert_eq!(before, std::fs::read(resumed.join("report.json")).unwrap());

    // A finished run or a checkpoint from other settings is refused, not
    // silently replaced or mixed.
    let out = prune_cmd(&model, &resumed)
        .args(["--seed", "5"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("other settings"));
    assert_eq!(before, std::fs::read(resumed.join("report.json")).unwrap());
    let stopped = tmp.path().join("stopped");
    run(prune_cmd(&model, &stopped).args(["--stop-after-layers", "1"]));
    let out = prune_cmd(&model, &stopped)
        .args(["--seed", "5"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("checkpoint"));
}

/// `ember masks` on a trained model, then `ember sim --masks`: the masks' densities equal the
/// ones the trace got from the pruner's own measurement on the same images (two counts of the
/// same zeros), so the analytic energy is unchanged by --masks; cycle mode on a config that
/// skips zero cycles runs from the masks; a batch that does not match is a clear error.
#[test]
fn masks_drive_sim() {
    let tmp = scratch_dir("masks");
    let model = tmp.path().join("lenet5");
    let trained = run(ember()
        .args(["train", "--model", "lenet5", "--epochs", "1", "--seed", "2"])
        .arg("--data")
        .arg(fixture())
        .arg("--out")
        .arg(&model));
    assert!(trained.contains("lenet5: 1 epoch,"), "{trained}");
    let (masks, trace) = (tmp.path().join("m.safetensors"), tmp.path().join("t.toml"));
    let table = run(ember()
        .args(["masks", "--images", "2", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(fixture())
        .arg("--out")
        .arg(&masks)
        .arg("--trace-out")
        .arg(&trace));
    assert!(table.contains("conv1") && table.contains("fc3"), "{table}");
    let sim = |extra: &[&str]| {
        run(ember()
            .args(["sim", "--batch", "2", "--format", "json", "--net"])
            .arg(&trace)
            .args(extra))
    };
    let m = masks.to_str().unwrap();
    let plain: serde_json::Value = serde_json::from_str(&sim(&[])).unwrap();
    let masked: serde_json::Value = serde_json::from_str(&sim(&["--masks", m])).unwrap();
    assert_eq!(plain, masked);
    // The shipped what-if config of the README's example: the chip, skipping zero cycles.
    let hw = Path::new(env!("CARGO_MANIFEST_DIR")).join("hw_configs/eyeriss-v1-skip.toml");
    let h = hw.to_str().unwrap();
    let cyc: serde_json::Value =
        serde_json::from_str(&sim(&["--mode", "cycle", "--hw", h, "--masks", m])).unwrap();
    // Masks only remove work: every layer's masked MAC cycles lie between one cycle per ofmap
    // column and the dense busiest-PE cycles of the same mapping (the analytic `cycles`).
    let dense: serde_json::Value = serde_json::from_str(&sim(&["--hw", h, "--masks", m])).unwrap();
    for (c, d) in cyc["layers"]
        .as_array()
        .unwrap()
        .iter()
        .zip(dense["layers"].as_array().unwrap())
    {
        let masked = c["timing"]["mac_cycles"].as_u64().unwrap();
        assert!(
            masked >= 1 && masked <= d["cycles"].as_u64().unwrap(),
            "{c} vs {d}"
        );
    }
    let out = ember()
        .args(["sim", "--batch", "4", "--masks", m, "--net"])
        .arg(&trace)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("--batch 2"), "{err}");
}

/// `--sweep-budget`: every method at every budget in its own directory, one CSV row each,
/// and the two curves; a rerun reuses the finished runs.
#[test]
fn budget_sweep_writes_rows_and_curves() {
    let tmp = scratch_dir("sweep");
    let model = tmp.path().join("lenet5");
    run(ember()
        .args(["train", "--model", "lenet5", "--epochs", "2", "--seed", "3"])
        .arg("--data")
        .arg(fixture())
        .arg("--out")
        .arg(&model));
    let out = tmp.path().join("sweep");
    let sweep = || {
        let mut c = ember();
        c.args([
            "prune",
            "--method",
            "eap,magnitude",
            "--sweep-budget",
            "0.01,0.04",
        ])
        .args([
            "--max-rounds",
            "1",
            "--calibration-samples",
            "32",
            "--confidence",
            "0.5",
        ])
        .arg("--model")
        .arg(&model)
        .arg("--data")
        .arg(fixture())
        .arg("--out")
        .arg(&out);
        c
    };
    run(&mut sweep());
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 5, "header + 2 methods x 2 budgets:\n{csv}");
    assert!(rows[0].starts_with("variant,max_accuracy_drop,energy_reduction"));
    assert!(rows[1].starts_with("\"eap\",0.01") && rows[4].starts_with("\"magnitude\",0.04"));
    for f in ["sweep-accuracy.svg", "sweep-weights.svg"] {
        let svg = std::fs::read_to_string(out.join(f)).unwrap();
        assert!(
            svg.contains("<svg") && svg.contains("energy reduction"),
            "{f}"
        );
    }
    for d in ["eap-0.01", "eap-0.04", "magnitude-0.01", "magnitude-0.04"] {
        assert!(out.join(d).join("report.json").is_file(), "{d}");
    }
    // A rerun finds every run finished and writes the same rows.
    let again = sweep().output().unwrap();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("holds a finished run"));
    assert_eq!(csv, std::fs::read_to_string(out.join("sweep.csv")).unwrap());
}

/// Each method's own options are refused on the other method, before any work, with the fix.
#[test]
fn method_options_are_refused_on_the_other_method() {
    let tmp = scratch_dir("method-options");
    let out = tmp.path().join("out");
    for (method, opt, want) in [
        (
            "eap",
            ["--allocate", "energy"],
            "--allocate is an option of --method magnitude",
        ),
        (
            "magnitude",
            ["--order", "network"],
            "are options of --method eap",
        ),
    ] {
        let o = ember()
            .args(["prune", "--model", "lenet5", "--method", method])
            .args(opt)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            !o.status.success() && err.contains(want) && err.contains("fix:"),
            "{err}"
        );
        assert!(!out.exists());
    }
}
