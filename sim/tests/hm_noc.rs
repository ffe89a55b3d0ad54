//! Eyeriss v2's hierarchical mesh (`[noc] topology = "hierarchical_mesh"`, `rs::noc`): the
//! three delivery patterns of JETCAS 2019 Fig. 9 by hand on a toy mesh, walk == closed form on
//! random mappings, the topology's mapping constraints, and the search against the exhaustive
//! one.

mod common;

use ember_sim::arch::{Grid, Links, Topology, TypeNet};
use ember_sim::dataflows::walk;
use ember_sim::rs::noc::{modes, Mode};
use ember_sim::rs::{RsMapping, Segment};
use ember_sim::{evaluate_mapping, HwConfig, Layer, Mapping, NocCounts};
use proptest::prelude::*;

fn net(mesh: Links) -> Option<TypeNet> {
    Some(TypeNet {
        routers: 1,
        port_bits: 16,
        mesh,
    })
}

/// A `rows x cols` array as `clusters` of `cluster_pes` (weights on `w_links`).
fn mesh_hw(clusters: [usize; 2], cluster_pes: [usize; 2], w_links: Links) -> HwConfig {
    let mut hw = common::hw(
        clusters[0] * cluster_pes[0],
        clusters[1] * cluster_pes[1],
        1 << 16,
        0,
    );
    hw.noc.topology = Topology::HierarchicalMesh;
    hw.noc.clusters = Some(Grid {
        rows: clusters[0],
        cols: clusters[1],
    });
    hw.noc.cluster_pes = Some(Grid {
        rows: cluster_pes[0],
        cols: cluster_pes[1],
    });
    hw.noc.weights = net(w_links);
    hw.noc.ifmaps = net(Links::Both);
    hw.noc.psums = net(Links::Vertical);
    hw
}

/// The toy of the plan: a 2 x 1 mesh of 1 x 2 clusters, so PE row i is cluster i (4 PEs).
fn toy() -> HwConfig {
    mesh_hw([2, 1], [1, 2], Links::Both)
}

fn rs(p: usize, q: usize, r: usize, t: usize, e: usize, m: usize) -> RsMapping {
    RsMapping {
        n: 1,
        p,
        q,
        r,
        t,
        e,
        m,
        ifmap_resident: true,
        segment: None,
        u: 1,
    }
}

/// (hops, routers) of weights, ifmaps, psums.
fn noc(l: &Layer, hw: &HwConfig, mp: RsMapping) -> ([u64; 3], [u64; 3]) {
    let ev = evaluate_mapping(l, hw, 1, &Mapping::from(mp)).expect("the mapping fits");
    let (walked, _) = walk(l, hw, 1, &ev.mapping);
    assert_eq!(walked, ev.counts, "walk == closed form");
    let n: NocCounts = *ev.counts.noc();
    (n.hops, n.routers)
}

/// CONV (Fig. 9a): a 1 x 1 conv, 1 channel, 2 filters, 2 x 3 ifmap (E = 2, F = 3). Mapping
/// p = q = r = 1, t = 2, e = 2: two 1 x 2 sets, filter set t_i on PE row t_i = cluster t_i.
/// - Weights: each of the 2 weights goes to the 2 PEs of its set's row, PEs {2t, 2t+1} of 4:
///   contiguous, not all -> grouped; 1 cluster -> 0 hops, 1 router each: hops 0, routers 2.
/// - Ifmaps: padded row ee (2 rows x 3 columns = 6 words) goes to PE (0, ee) and (1, ee), PEs
///   {ee, 2 + ee}: strided -> interleaved; clusters 0 and 1 (a vertical line, k = 2, s = 1):
///   1 hop, 2 routers each: hops 6, routers 12.
/// - Psums: 2 filters x 2 x 3 = 12 psums, each a chain of 1 PE in one cluster: hops 0,
///   routers 12; mode unicast.
#[test]
fn fig9_conv_grouped_and_interleaved() {
    let hw = toy();
    let l = Layer::conv("conv", 1, 2, 3, 2, 1, 1);
    let mp = rs(1, 1, 1, 2, 2, 2);
    assert_eq!(noc(&l, &hw, mp), ([0, 6, 0], [2, 12, 12]));
    assert_eq!(
        modes(&l, &hw, &mp),
        Some([Mode::Grouped, Mode::Interleaved, Mode::Unicast])
    );
}

/// Depthwise (Fig. 9b): 2 groups of 1 channel and 1 filter, 1 x 1 filter, 4 x 3 ifmap (E = 4,
/// F = 3). Mapping e = 4 folds the 1 x 4 set into 2 segments of 2 columns: ofmap rows 0, 1 on
/// PE row 0 (cluster 0), rows 2, 3 on PE row 1 (cluster 1); one group per pass (u = 1).
/// - Weights: per group the one weight goes to all 4 PEs -> broadcast; clusters 0, 1: 1 hop,
///   2 routers; 2 groups: hops 2, routers 4.
/// - Ifmaps: padded row ee goes to the one PE of ofmap row ee -> unicast; 0 hops, 1 router per
///   word; 4 rows x 3 columns x 2 groups = 24 words: hops 0, routers 24.
/// - Psums: 4 x 3 x 2 groups = 24, one PE each: hops 0, routers 24.
#[test]
fn fig9_depthwise_weights_broadcast_ifmaps_unicast() {
    let hw = toy();
    let mut l = Layer::conv("dw", 2, 4, 3, 2, 1, 1);
    l.groups = 2;
    let mp = rs(1, 1, 1, 1, 4, 1);
    assert_eq!(noc(&l, &hw, mp), ([2, 0, 0], [4, 24, 24]));
    assert_eq!(
        modes(&l, &hw, &mp),
        Some([Mode::Broadcast, Mode::Unicast, Mode::Unicast])
    );
}

/// FC (Fig. 9c): 1 channel, 4 outputs, a 1 x 1 map (R = S = 1, E = F = 1). Mapping t = 4: four
/// 1 x 1 sets, chains of one set filling slot column 0 (PEs (0,0), (1,0)) then column 1.
/// - Weights: each of the 4 goes to one PE -> unicast: hops 0, routers 4.
/// - Ifmaps: the one word goes to all 4 PEs -> broadcast; clusters 0, 1: hops 1, routers 2.
/// - Psums: 4, one PE each: hops 0, routers 4.
#[test]
fn fig9_fc_weights_unicast_ifmaps_broadcast() {
    let hw = toy();
    let l = Layer::conv("fc", 1, 1, 1, 4, 1, 1);
    let mp = rs(1, 1, 1, 4, 1, 4);
    assert_eq!(noc(&l, &hw, mp), ([0, 1, 0], [4, 2, 4]));
    assert_eq!(
        modes(&l, &hw, &mp),
        Some([Mode::Unicast, Mode::Broadcast, Mode::Unicast])
    );
}

/// A psum chain across clusters: a 2 x 1 filter, 1 channel, 1 filter, 3 x 2 ifmap (E = F = 2):
/// one 2 x 2 set, filter row i on PE row i = cluster i.
/// - Psums: 2 x 2 = 4, each up a column of 2 PEs in clusters 0, 1: 1 hop, 2 routers each:
///   hops 4, routers 8; mode grouped (the chain crosses clusters).
/// - Weights: 2, each to the 2 PEs of its row (one cluster): hops 0, routers 2.
/// - Ifmaps: padded rows 0..3 (offsets ee + rr): row 0 to (0,0) in cluster 0; row 1 to (1,0)
///   and (0,1), clusters 1 and 0 (1 hop, 2 routers); row 2 to (1,1), cluster 1. 2 columns
///   each: hops 2, routers (1 + 2 + 1) x 2 = 8. Largest group 2 PEs {2, 1}: contiguous ->
///   grouped.
#[test]
fn psum_chain_crosses_clusters_vertically() {
    let hw = toy();
    let l = Layer::conv("chain", 1, 3, 2, 1, 2, 1);
    let mp = rs(1, 1, 1, 1, 2, 1);
    assert_eq!(noc(&l, &hw, mp), ([0, 2, 4], [2, 8, 8]));
    assert_eq!(
        modes(&l, &hw, &mp),
        Some([Mode::Grouped, Mode::Grouped, Mode::Grouped])
    );
}

/// v2's weights move only horizontally: the depthwise fold above sends a weight to two cluster
/// rows, so it is refused, and the Eyeriss set fitting strip-mines instead; psum chains must fit
/// one column of set slots.
#[test]
fn topology_constraints_refuse_what_the_links_cannot_carry() {
    let hw = mesh_hw([2, 1], [1, 2], Links::Horizontal);
    let mut l = Layer::conv("dw", 2, 4, 3, 2, 1, 1);
    l.groups = 2;
    let err = evaluate_mapping(&l, &hw, 1, &Mapping::from(rs(1, 1, 1, 1, 4, 1)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not fit"), "{err}");
    let ev = ember_sim::map_layer(
        &l,
        &hw,
        1,
        ember_sim::Dataflow::RowStationary,
        &|e: &ember_sim::Evaluation| e.counts.nest().dram.total() as f64,
    )
    .expect("strip-mined sets map");
    let Mapping::RowStationary(mp) = ev.mapping else {
        panic!("row-stationary")
    };
    assert!(mp.e <= 2, "{mp:?}");
    // A chain of r = 3 one-row sets needs 3 PE rows in one column; the 2 x 2 array has 4
    // one-PE slots (so the sets alone would fit) but columns of 2.
    let hw = mesh_hw([1, 2], [2, 1], Links::Horizontal);
    let l = Layer::conv("c", 3, 2, 1, 1, 1, 1);
    let err = evaluate_mapping(&l, &hw, 1, &Mapping::from(rs(1, 1, 3, 1, 1, 1)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("chains of r = 3"), "{err}");
}

prop_compose! {
    fn layer()(r in 1usize..5, extra in 0usize..8, pad in 0usize..2, stride_pick in 0usize..3,
               groups in 1usize..3, cpg in 1usize..6, mpg in 1usize..8) -> Layer {
        common::random_layer([r, extra, pad, stride_pick], [groups, cpg, mpg])
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    /// Walk == closed form with hops and routers, on a 4 x 2 mesh of 2 x 3 clusters (8 x 6
    /// PEs), segments, group sets and partial chunks included.
    #[test]
    fn walk_equals_closed_form_on_a_mesh(l in layer(), batch in 1usize..4, n in 1usize..4,
                            p in 1usize..5, q in 1usize..4, r in 1usize..4, t in 1usize..4,
                            e in 1usize..12, mk in 1usize..3, u in 1usize..3,
                            rows in 1usize..5, resident in any::<bool>()) {
        prop_assume!(l.r <= l.hp() && l.stride <= l.r);
        let mut hw = mesh_hw([4, 2], [2, 3], Links::Both);
        hw.mapper.group_sets = true;
        let seg = Segment { rows: rows.min(l.r), cols: l.s };
        let mp = RsMapping {
            n: n.min(batch),
            p: p.min(l.mg()),
            q: q.min(l.cg()),
            r,
            t,
            e: e.min(l.e()),
            m: p.min(l.mg()) * t * mk,
            ifmap_resident: resident,
            segment: (seg.rows != l.r).then_some(seg),
            u: u.min(l.groups),
        };
        let mp = Mapping::from(mp);
        if let Ok(ev) = evaluate_mapping(&l, &hw, batch, &mp) {
            let (walked, cycles) = walk(&l, &hw, batch, &mp);
            prop_assert_eq!(walked, ev.counts);
            prop_assert_eq!(cycles, ev.cycles);
        }
    }
}

/// The pruned search equals the exhaustive one on a mesh, with a cost that prices hops.
#[test]
fn search_equals_exhaustive_on_a_mesh() {
    let mut hw = mesh_hw([4, 2], [2, 3], Links::Horizontal);
    hw.mapper.group_sets = true;
    let cost = |e: &ember_sim::Evaluation| {
        let n = e.counts.noc();
        let c = e.counts.nest();
        (c.dram.total() * 200 + c.glb.total() * 6 + c.array.total() * 2) as f64
            + n.hops.iter().sum::<u64>() as f64 * 3.0
            + n.routers.iter().sum::<u64>() as f64
    };
    let mut layers = vec![
        Layer::conv("a", 3, 9, 9, 8, 3, 3),
        Layer::conv("b", 4, 6, 6, 6, 1, 1),
    ];
    let mut dw = Layer::conv("dw", 6, 8, 8, 6, 3, 3);
    dw.groups = 6;
    dw.pad = 1;
    layers.push(dw);
    for l in layers {
        let model = ember_sim::Dataflow::RowStationary.model();
        let fast = model.search(&l, &hw, 2, &cost).expect("maps");
        let slow = model.search_reference(&l, &hw, 2, &cost).expect("maps");
        assert_eq!(fast.mapping, slow.mapping, "{}", l.name);
        assert_eq!(fast.counts, slow.counts, "{}", l.name);
        assert!(!fast.counts.noc().is_zero(), "{}", l.name);
        let checked = evaluate_mapping(&l, &hw, 2, &fast.mapping).expect("search result fits");
        assert_eq!(checked.counts, fast.counts);
    }
}
