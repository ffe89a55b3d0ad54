//! `ember validate`'s acceptance: the simulator against the Eyeriss chip's measurements (JSSC
//! 2017 Table V, traces/measurements/eyeriss-jssc17-alexnet.toml), with the mapping objective
//! `validate` uses (energy x delay) and no parameter taken from the table.

mod common;

use common::{config, root, trace};
use ember_estimator::run::Objective;
use ember_estimator::validate::{validate, Measurements};

#[test]
fn alexnet_on_eyeriss_within_tolerances() {
    let hw = config("eyeriss-v1.toml");
    let net = trace("alexnet.toml");
    let meas = Measurements::load(&root().join("traces/measurements/eyeriss-jssc17-alexnet.toml"))
        .unwrap();
    let v = validate(&hw, &net, &meas, Objective::Edp).unwrap();
    let err = |layer: &str, metric: &str| {
        v.layers.iter().find(|l| l.name == layer).unwrap().metrics[metric].error_pct
    };
    for l in ["CONV1", "CONV2", "CONV3", "CONV4", "CONV5"] {
        assert_eq!(err(l, "active_pes"), 0.0, "{l}");
        let p = err(l, "processing_latency_ms");
        assert!(p.abs() <= 15.0, "{l} processing latency {p:+.1}%");
        let d = err(l, "dram_mb");
        assert!(d.abs() <= 20.0, "{l} DRAM {d:+.1}%");
    }
    // GLB: CONV2-5 within 20 %. CONV1 is the known miss (+32 %, see README "Validation"):
    // staging CONV1's filters through the 8 kB filter buffer for every image and strip.
    for l in ["CONV2", "CONV3", "CONV4", "CONV5"] {
        let g = err(l, "glb_mb");
        assert!(g.abs() <= 20.0, "{l} GLB {g:+.1}%");
    }
    let total = v.summary["total_latency_ms"].sum_error_pct;
    assert!(total.abs() <= 15.0, "total latency summed {total:+.1}%");
}
