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

/// The dataflows `hw` runs: all, but row stationary alone for a PE with SIMD lanes (the
/// others refuse `simd` > 1 rather than ignore it).
#[allow(dead_code)] // not every test binary uses it
pub fn dataflows(hw: &Hardware) -> Vec<ember_sim::Dataflow> {
    use ember_sim::Dataflow;
    if hw.arch.pe.simd > 1 {
        vec![Dataflow::RowStationary]
    } else {
        Dataflow::ALL.to_vec()
    }
}

/// The minimum-EDP row-stationary mapping of `l` (not a network's first layer) found the slow
/// way: every candidate of the exhaustive search run in cycle mode and priced, the oracle the
/// edp search must equal.
#[allow(dead_code)] // not every test binary uses it
pub fn edp_by_exhaustion(
    hw: &Hardware,
    l: &ember_sim::Layer,
    batch: usize,
) -> ember_sim::Evaluation {
    use ember_sim::cycle::{simulate, Replay};
    let energy = ember_estimator::EnergyObjective::new(l, &hw.context(false));
    let edp = |ev: &ember_sim::Evaluation| {
        let params = hw.mapped_cycle_params(l, false, &ev.mapping);
        let c = simulate(l, &hw.arch, batch, &ev.mapping, &params, Replay::Memo, None);
        c.total_cycles as f64 * energy.energy(ev)
    };
    ember_sim::rs::search_reference(l, &hw.arch, batch, &edp).expect("a mapping fits")
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

/// The streamed search of `model` visits what it must for layer `l` at `batch` on `hw`: with
/// its visitor answering a fixed bound, every candidate of `search_reference` whose floor
/// (energy x the counts-only time bound) does not exceed it; answering infinity, exactly
/// `search_reference`'s candidates (thresholds at quantiles of the floors). Shared by the
/// stream tests of `cycle.rs` and `group_sets.rs`.
pub fn stream_visits_what_it_must(
    hw: &Hardware,
    l: &ember_sim::Layer,
    first: bool,
    batch: usize,
    model: &dyn ember_sim::DataflowModel,
) {
    use ember_estimator::EnergyObjective;
    use ember_sim::cycle::total_cycles_lower_bound;
    let energy = EnergyObjective::new(l, &hw.context(first));
    let params = hw.layer_cycle_params(l, first);
    let floor = |ev: &ember_sim::Evaluation| {
        total_cycles_lower_bound(l, &hw.arch, ev, &params).floor() * energy.energy(ev)
    };
    let all = std::cell::RefCell::new(Vec::new());
    model.search_reference(l, &hw.arch, batch, &|ev| {
        all.borrow_mut().push((floor(ev), ev.mapping));
        0.0
    });
    let mut all = all.into_inner();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let tag = format!("{} {} batch {batch}", hw.arch.name, l.name);
    let n = all.len();
    for q in [0, n / 100, n / 10, n / 2, n - 1] {
        let wanted = if q + 1 == n { f64::INFINITY } else { all[q].0 };
        let mut seen = Vec::new();
        model.stream(l, &hw.arch, batch, &floor, &mut |ev| {
            // A mesh's stream hands out candidates without hops and routers (a floor on them);
            // compare each as the search would after completing it.
            let mut ev = ev.clone();
            model.complete(l, &hw.arch, batch, &mut ev);
            seen.push((floor(&ev), ev.mapping));
            wanted
        });
        seen.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        if wanted.is_infinite() {
            assert_eq!(seen, all, "{tag}: the whole space");
        }
        let mut rest = seen.iter();
        for c in all.iter().filter(|c| c.0 <= wanted) {
            assert!(rest.any(|s| s == c), "{tag}: {c:?} skipped below {wanted}");
        }
    }
}
