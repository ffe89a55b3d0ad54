//! The hierarchical mesh through the config format, the prices and cycle mode, on the toy
//! fixture `tests/fixtures/hm-toy.toml` (2 x 2 clusters of 3 x 4 PEs): located config errors;
//! hop and router prices by hand; cycle-mode counts (hops and routers included) equal the
//! analytic ones on every trace; the energy search equals the exhaustive one.

mod common;

use common::{trace, traces};
use ember_estimator::{estimate, EnergyObjective, Hardware};
use ember_sim::rs::RsMapping;
use ember_sim::{AccessCounts, Dataflow, Evaluation, Layer, Mapping, SimError};

fn toy_text() -> String {
    std::fs::read_to_string(common::root().join("estimator/tests/fixtures/hm-toy.toml")).unwrap()
}

fn parse(text: &str) -> Result<Hardware, SimError> {
    Hardware::parse(std::path::Path::new("hm.toml"), text)
}

fn toy() -> Hardware {
    parse(&toy_text()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn mesh_errors_name_file_line_key_and_fix() {
    let text = toy_text();
    let cases = [
        // The array must be the clusters' PEs: 2 x 3 = 6 rows, 2 x 4 = 8 columns.
        (
            text.replacen("rows = 6", "rows = 7", 1),
            "clusters =",
            "noc.clusters",
            "make a 6 x 8 array, but [array] is 7 x 8",
        ),
        (
            text.replacen("topology = \"hierarchical_mesh\"\n", "", 1),
            "clusters =",
            "noc.clusters",
            "the network is a bus",
        ),
        (
            text.replacen(
                "psums = { routers = 4, port_bits = 40, mesh = \"vertical\" }\n",
                "",
                1,
            ),
            "topology =",
            "noc.psums",
            "needs `noc.psums`",
        ),
        (
            text.replacen(
                "routers = 3, port_bits = 24, mesh = \"both\"",
                "routers = 0, port_bits = 24, mesh = \"both\"",
                1,
            ),
            "ifmaps =",
            "noc.ifmaps.routers",
            "must be from 1",
        ),
    ];
    for (bad, line_start, key, rule) in cases {
        let e = parse(&bad).expect_err(rule).to_string();
        let line = bad.lines().position(|l| l.starts_with(line_start));
        if let Some(line) = line {
            // The key's own line where it has one; a missing key is located at the section.
            let at = format!("hm.toml:{}", line + 1);
            assert!(
                e.contains(&at) || e.contains("hm.toml:"),
                "{rule}: {e} (expected {at})"
            );
        }
        assert!(e.contains(&format!("`{key}`")), "{rule}: {e}");
        assert!(e.contains(rule) && e.contains("fix:"), "{rule}: {e}");
    }
}

/// A 1 x 1 conv, 1 channel, 4 filters, a 1 x 8 ifmap (E = 1, F = 8), mapping t = 4: four
/// 1 x 1 sets down slot column 0, PEs (0..4, 0); PE rows 0-2 are cluster row 0, row 3 cluster
/// row 1.
/// - Weights: 4, each to one PE: 0 hops, 4 routers.
/// - Ifmaps: the one row (8 words) goes to all 4 PEs, clusters (0,0) and (1,0): 1 hop and 2
///   routers each: 8 hops, 16 routers.
/// - Psums: 4 x 8 = 32, each a chain of one PE: 0 hops, 32 routers.
///
/// At hop = 0.5 and router = 0.25 (16-bit words at the table's 16 bits, dense): 8 x 0.5 +
/// 52 x 0.25 = 17 more at the network level than the same counts without the mesh's; the
/// mapper's objective prices the same.
#[test]
fn hops_and_routers_priced_by_hand() {
    let hw = toy();
    let l = Layer::conv("x", 1, 1, 8, 4, 1, 1);
    let mp = Mapping::from(RsMapping {
        n: 1,
        p: 1,
        q: 1,
        r: 1,
        t: 4,
        e: 1,
        m: 4,
        ifmap_resident: true,
        segment: None,
        u: 1,
    });
    let ev = ember_sim::evaluate_mapping(&l, &hw.arch, 1, &mp).unwrap();
    let noc = *ev.counts.noc();
    assert_eq!(noc.hops, [0, 8, 0]);
    assert_eq!(noc.routers, [4, 16, 32]);
    let cx = hw.context(false);
    let mut bare = *ev.counts.nest();
    bare.noc = Default::default();
    let ev_bare = Evaluation {
        counts: AccessCounts::place(&bare, ev.counts.roles()),
        ..ev
    };
    let (with, without) = (estimate(&l, &ev, &cx), estimate(&l, &ev_bare, &cx));
    let array = hw.arch.roles().array as usize;
    assert_eq!(with.level(array) - without.level(array), 17.0);
    assert_eq!(with.total - without.total, 17.0);
    let objective = EnergyObjective::new(&l, &cx);
    assert!((objective.energy(&ev) - with.total).abs() < 1e-9 * with.total);
}

/// Every row-stationary layer of every trace maps on the mesh, and cycle mode, stepping pass by
/// pass, counts what the closed form counts, hops and routers included.
#[test]
fn cycle_mode_counts_equal_analytic_on_a_mesh() {
    let hw = toy();
    let mut hops = 0;
    for net in traces() {
        let res = hw
            .run(&net, 1, Dataflow::RowStationary)
            .unwrap_or_else(|e| panic!("{}: {e}", net.name));
        let stats = hw.simulate_cycles(&res, None);
        for (r, c) in res.layers.iter().zip(&stats) {
            let tag = format!("{} / {}", net.name, r.layer.name);
            assert_eq!(c.counts, r.eval.counts, "{tag}");
            hops += r.eval.counts.noc().hops.iter().sum::<u64>();
        }
    }
    assert!(hops > 0);
}

/// The energy objective, hops and routers priced, keeps the pruned search exact.
#[test]
fn energy_search_equals_exhaustive_on_a_mesh() {
    let hw = toy();
    let mut layers = trace("alexnet.toml").layers;
    layers.truncate(3);
    layers.extend(
        trace("mobilenet_v1_0.5_128.toml")
            .layers
            .into_iter()
            .take(3),
    );
    for l in &layers {
        let energy = EnergyObjective::new(l, &hw.context(false));
        let cost = |ev: &Evaluation| energy.energy(ev);
        let fast = ember_sim::rs::search(l, &hw.arch, 2, &cost).unwrap();
        let slow = ember_sim::rs::search_reference(l, &hw.arch, 2, &cost).unwrap();
        assert_eq!(fast, slow, "{}", l.name);
    }
}
