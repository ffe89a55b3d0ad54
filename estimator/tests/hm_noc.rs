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

/// The toy with weights kept out of the GLB, as v2 (they stream from DRAM over the link).
fn toy_bypassing() -> Hardware {
    let text = toy_text().replace(
        "filter_words = 4096",
        "filter_words = 0\nholds = [\"ifmaps\", \"psums\"]",
    );
    parse(&text).unwrap_or_else(|e| panic!("{e}"))
}

fn rs(p: usize, t: usize, e: usize, m: usize, u: usize) -> Mapping {
    Mapping::from(RsMapping {
        n: 1,
        p,
        q: 1,
        r: 1,
        t,
        e,
        m,
        ifmap_resident: true,
        segment: None,
        u,
    })
}

/// Cycle mode's widths on the mesh follow each data type's multicast groups (the plan's rule:
/// clusters used x routers / k sources of port bits; the clustered GLB's banks feed their own
/// cluster's routers at port width, so only a type the GLB does not hold has another cap, the
/// DRAM link), by hand on the toy (2 x 2 clusters of 3 x 4 PEs; ifmaps and weights 3 routers
/// of 24 bits, psums 4 of 40; ifmap bus key 16 bits, unused on the mesh).
/// - Depthwise, ifmaps unicast: 6 groups of one 8 x 192 channel, 1 x 1 filters; e = 8 and u = 6
///   put group i on PE row i, all 8 columns: every cluster used. An ifmap row goes to the one PE
///   of its ofmap row: k = 1, 4 x 3 / 1 = 12 sources = 288 bits. A weight goes to its PE row, which
///   spans both cluster columns: k = 2, 4 x 3 / 2 = 6 sources = 144 bits (held in the GLB: no
///   link cap). A psum stays in its PE: k = 1, 4 x 4 = 16 x 40 = 640 bits, in and out.
/// - Fully connected, ifmaps broadcast: 4096 inputs, 48 outputs; t = 48 sets of one PE fill the
///   array, every input goes to all 48 PEs: k = 4 clusters, 4 x 3 / 4 = 3 sources = 72 bits.
///   A weight goes to one PE: 12 sources
///   = 288 bits.
/// - The same depthwise mapping with weights bypassing the GLB: the link (64 bits at 60 of 200
///   MHz = 19.2 bits per core cycle) caps the weights' 144 bits to 19.
#[test]
fn mesh_widths_by_hand_unicast_ifmaps_beat_broadcast() {
    use ember_sim::cycle::delivery_widths;
    let hw = toy();
    let mut dw = Layer::conv("dw", 6, 8, 192, 6, 1, 1);
    dw.groups = 6;
    let fc = Layer::conv("fc", 4096, 1, 1, 48, 1, 1);
    let dw_map = rs(1, 1, 8, 1, 6);
    let fc_map = rs(1, 48, 1, 48, 1);
    for (l, mp) in [(&dw, &dw_map), (&fc, &fc_map)] {
        ember_sim::evaluate_mapping(l, &hw.arch, 1, mp).unwrap_or_else(|e| panic!("{e}"));
    }
    let unicast = delivery_widths(&dw, &hw.arch, 1, &dw_map).unwrap();
    let broadcast = delivery_widths(&fc, &hw.arch, 1, &fc_map).unwrap();
    assert_eq!(unicast, [144, 288, 640, 640]);
    assert_eq!(broadcast[..2], [288, 72]);
    assert!(unicast[1] > broadcast[1]);
    let bypassing = delivery_widths(&dw, &toy_bypassing().arch, 1, &dw_map).unwrap();
    assert_eq!(bypassing, [19, 288, 640, 640]);
    // On a bus the keys' widths stay: the toy with its topology a bus.
    let mut bus = toy();
    bus.arch.noc.topology = ember_sim::arch::Topology::Bus;
    let widths = delivery_widths(&dw, &bus.arch, 1, &dw_map).unwrap();
    assert_eq!(widths, [64, 16, 64, 64]);
}

/// The bounds the edp search prunes by stay bounds on the mesh's widths: for about 150
/// candidates spread over the space of each of the first AlexNet and MobileNet 0.5-128 layers
/// (batch 2), on the toy and on the toy with weights bypassing the GLB, neither the counts-only
/// bound nor the buffer-aware one exceeds cycle mode's total, a timing limited to it ends with
/// it, and its counts equal the analytic ones.
#[test]
fn time_bounds_hold_on_a_mesh() {
    use ember_sim::cycle::{
        latency_lower_bound, simulate, total_cycles_lower_bound, total_cycles_within, Replay,
    };
    let mut layers = trace("alexnet.toml").layers;
    layers.truncate(2);
    layers.extend(
        trace("mobilenet_v1_0.5_128.toml")
            .layers
            .into_iter()
            .take(3),
    );
    let model = Dataflow::RowStationary.model();
    for hw in [toy(), toy_bypassing()] {
        for (i, l) in layers.iter().enumerate() {
            let params = hw.layer_cycle_params(l, i == 0);
            let space = std::cell::Cell::new(0u64);
            model.search_reference(l, &hw.arch, 2, &|_| {
                space.set(space.get() + 1);
                0.0
            });
            let every = space.get().div_ceil(150).max(1);
            let seen = std::cell::Cell::new(0u64);
            model.search_reference(l, &hw.arch, 2, &|ev| {
                seen.set(seen.get() + 1);
                if !(seen.get() - 1).is_multiple_of(every) {
                    return 0.0;
                }
                let c = simulate(l, &hw.arch, 2, &ev.mapping, &params, Replay::Memo, None);
                let (total, tag) = (c.total_cycles, format!("{} {:?}", l.name, ev.mapping));
                assert_eq!(c.counts, ev.counts, "{tag}");
                for bound in [
                    total_cycles_lower_bound(l, &hw.arch, ev, &params),
                    latency_lower_bound(l, &hw.arch, 2, ev, &params),
                ] {
                    assert!(bound <= total as f64, "{tag}: bound {bound} > {total}");
                }
                let within = total_cycles_within(l, &hw.arch, 2, ev, &params, &|b| b > total);
                assert_eq!(within, Some(total), "{tag}");
                0.0
            });
        }
    }
}

/// The edp search on the mesh (candidates streamed without hops and routers, completed only
/// when their bounds let them through; the mesh's widths in cycle mode) picks what timing every
/// candidate picks: small layers (a padded conv, a depthwise and a fully-connected one) at
/// batch 2 on the toy and on the toy with weights bypassing the GLB.
#[test]
fn edp_search_equals_exhaustive_on_a_mesh() {
    use ember_estimator::run::Objective;
    let mut padded = Layer::conv("padded", 4, 9, 9, 8, 3, 3);
    padded.pad = 1;
    let mut dw = Layer::conv("dw", 6, 10, 10, 6, 3, 3);
    dw.groups = 6;
    dw.pad = 1;
    let fc = Layer::conv("fc", 64, 1, 1, 40, 1, 1);
    for hw in [toy(), toy_bypassing()] {
        for l in [&padded, &dw, &fc] {
            let want = common::edp_by_exhaustion(&hw, l, 2);
            let got = hw
                .run_layer_with(l, 2, Dataflow::RowStationary, false, Objective::Edp)
                .unwrap();
            assert_eq!(got.eval, want, "{}", l.name);
            assert!(!got.eval.counts.noc().is_zero(), "{}", l.name);
        }
    }
}
