//! `ember-explore` against the CLI: one library call returns what the command prints as JSON
//! (the contract a second front end, such as a Python package, relies on), and a sweep's typed
//! rows render to the command's results file, also after a resume.

mod common;

use std::path::PathBuf;

use common::{ember, ok, scratch_dir};
use ember_estimator::Objective;
use ember_explore::sweep::results;
use ember_explore::{
    CompareRequest, EnergyScope, Mode, SimOptions, SimRequest, Sweep, ValidateRequest, Workload,
};
use ember_sim::Dataflow;

fn pretty<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap() + "\n"
}

#[test]
fn sim_report_serialises_to_the_cli_json() {
    let rep = ember_explore::sim(&SimRequest::default()).unwrap();
    assert_eq!(pretty(&rep), ok(&["sim", "--format", "json"]));
    let req = SimRequest {
        workload: Workload::file("traces/resnet18.toml"),
        hardware: Some(PathBuf::from("hw_configs/eyeriss-isca16-256.toml")),
        options: SimOptions {
            batch: 2,
            dataflow: Some(Dataflow::WeightStationary),
            mode: Mode::Cycle,
            ..SimOptions::default()
        },
    };
    let rep = ember_explore::sim(&req).unwrap();
    let cli = ok(&[
        "sim",
        "--net",
        "traces/resnet18.toml",
        "--hw",
        "hw_configs/eyeriss-isca16-256.toml",
        "--batch",
        "2",
        "--dataflow",
        "ws",
        "--mode",
        "cycle",
        "--format",
        "json",
    ]);
    assert_eq!(pretty(&rep), cli);
}

#[test]
fn compare_and_validate_reports_serialise_to_the_cli_json() {
    let req = CompareRequest {
        workload: Workload::default(),
        hardware: vec![],
        dataflows: vec![Dataflow::RowStationary, Dataflow::OutputStationary],
        batch: 4,
        objective: Objective::default(),
        min_active_pes: None,
        mode: Mode::Analytic,
        energy: EnergyScope::Total,
        masks: None,
    };
    let rep = ember_explore::compare(&req).unwrap();
    let cli = ok(&["compare", "--dataflow", "rs,os", "--format", "json"]);
    assert_eq!(pretty(&rep), cli);

    let req = ValidateRequest {
        objective: Objective::Energy,
        ..ValidateRequest::default()
    };
    let rep = ember_explore::validate(&req).unwrap();
    let cli = ok(&["validate", "--objective", "energy", "--format", "json"]);
    assert_eq!(pretty(&rep), cli);
}

#[test]
fn request_errors_are_the_cli_errors() {
    let req = CompareRequest {
        workload: Workload::default(),
        hardware: vec![],
        dataflows: vec![],
        batch: 4,
        objective: Objective::default(),
        min_active_pes: None,
        mode: Mode::Analytic,
        energy: EnergyScope::Total,
        masks: None,
    };
    let err = ember_explore::compare(&req).unwrap_err();
    assert!(matches!(err, ember_explore::ExploreError::TooFewCandidates));
    let cli = ember(&["compare"]);
    assert_eq!(
        String::from_utf8_lossy(&cli.stderr),
        format!("error: {err}\n")
    );

    let req = SimRequest {
        workload: Workload {
            path: Some("traces/alexnet.toml".into()),
            input_shape: Some("3x227x227".into()),
        },
        ..SimRequest::default()
    };
    let err = ember_explore::sim(&req).unwrap_err();
    assert!(
        err.to_string().contains("applies to ONNX models only"),
        "{err}"
    );
}

/// The typed rows of a whole run render to the file `ember sweep` writes, and a file cut
/// short resumes (read back as typed rows) to the same bytes.
#[test]
fn sweep_rows_render_to_the_cli_results_file() {
    let dir = scratch_dir("explore-sweep");
    let out = dir.path().join("all.csv");
    let out_s = out.to_str().unwrap();
    let args = [
        "sweep",
        "--space",
        "sweeps/small.toml",
        "--jobs",
        "1",
        "--out",
        out_s,
    ];
    ok(&args);
    let cli = std::fs::read_to_string(&out).unwrap();

    let sweep = Sweep::load("sweeps/small.toml".as_ref(), &Workload::default(), 0, 1).unwrap();
    let mut rep = sweep.run();
    assert_eq!(rep.pareto, ember_explore::sweep::pareto(&rep.rows));
    assert!(rep.pareto.iter().any(|&f| f));
    assert_eq!(results::render(&mut rep.rows, &rep.origin), cli);

    // Keep the header and the first 10 rows, as an interrupted run leaves them.
    let cut: String = cli.split_inclusive('\n').take(11).collect();
    std::fs::write(&out, cut).unwrap();
    let kept = results::resume(&out, &sweep.origin, false).unwrap();
    assert_eq!(kept.len(), 10);
    // Equal but for utilisation, which the file holds to six decimals.
    for (k, r) in kept.iter().zip(&rep.rows) {
        let strip = |r: &ember_explore::SweepRow| {
            let mut r = r.clone();
            r.metrics.as_mut().unwrap().utilization = 0.0;
            r
        };
        assert_eq!(strip(k), strip(r));
    }
    ok(&args);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), cli);
}

/// A batch of zero images is refused by the library itself (it was clamped to 1 before, which
/// only the CLI's argument parser kept users from seeing): the same message for every front end.
#[test]
fn a_zero_batch_is_refused_not_clamped() {
    let zero = |e: ember_explore::ExploreError| {
        assert!(matches!(e, ember_explore::ExploreError::ZeroBatch), "{e}");
        assert!(e.to_string().contains("fix: give batch >= 1"), "{e}");
    };
    let sim = SimRequest {
        options: SimOptions {
            batch: 0,
            ..SimOptions::default()
        },
        ..SimRequest::default()
    };
    zero(ember_explore::sim(&sim).unwrap_err());
    let compare = CompareRequest {
        workload: Workload::default(),
        hardware: vec![],
        dataflows: vec![Dataflow::RowStationary, Dataflow::OutputStationary],
        batch: 0,
        objective: Objective::default(),
        min_active_pes: None,
        mode: Mode::Analytic,
        energy: EnergyScope::Total,
        masks: None,
    };
    zero(ember_explore::compare(&compare).unwrap_err());
}

/// A unified-RF base (eyeriss-isca16-256) sweeps `rf_words`: each row's RF is the grid's value,
/// its storage the GLB plus PEs x RF, and its counts those of `ember sim` on that config. A grid
/// key for the kind of PE storage the base lacks is refused, naming the key.
#[test]
fn sweep_varies_a_unified_rf() {
    let dir = scratch_dir("explore-rf");
    let space = dir.path().join("rf.toml");
    let base = std::fs::canonicalize("hw_configs/eyeriss-isca16-256.toml").unwrap();
    let write = |grid: &str| {
        std::fs::write(
            &space,
            format!(
                "base = {:?}\n[grid]\ndataflow = [\"rs\"]\n{grid}",
                base.display()
            ),
        )
        .unwrap();
    };
    write("rf_words = [64, 256]\n");
    let sweep = Sweep::load(&space, &Workload::default(), 0, 1).unwrap();
    let rep = sweep.run();
    assert_eq!(rep.rows.len(), 2);
    for (row, rf) in rep.rows.iter().zip([64, 256]) {
        assert_eq!(row.sizes[2..6], [0, 0, 0, rf]);
        assert_eq!(row.storage_words, 65536 + 256 * rf);
    }
    // The 256-word point is the shipped config itself: the same energy as `ember sim`.
    let sim: serde_json::Value = serde_json::from_str(&ok(&[
        "sim",
        "--hw",
        "hw_configs/eyeriss-isca16-256.toml",
        "--objective",
        "energy",
        "--format",
        "json",
    ]))
    .unwrap();
    let total = rep.rows[1].metrics.as_ref().unwrap().energy_total;
    assert_eq!(sim["total"]["energy"]["total"].as_f64().unwrap(), total);

    write("filter_spad_words = [224]\n");
    let err = Sweep::load(&space, &Workload::default(), 0, 1)
        .err()
        .unwrap();
    let msg = err.to_string();
    assert!(
        msg.contains("grid.filter_spad_words") && msg.contains("rf_words"),
        "{msg}"
    );
    let spads = std::fs::canonicalize("hw_configs/eyeriss-v1.toml").unwrap();
    std::fs::write(
        &space,
        format!("base = {:?}\n[grid]\nrf_words = [256]\n", spads.display()),
    )
    .unwrap();
    let msg = Sweep::load(&space, &Workload::default(), 0, 1)
        .err()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("grid.rf_words") && msg.contains("three spads"),
        "{msg}"
    );
}
