//! The analytic counts (`rs::evaluate`, per-dimension sums) against the literal pass-by-pass
//! walk (`passes::walk`) of the same mapping: two derivations that must agree on every count
//! and on cycles, for random layers and random mappings that fit.

mod common;

use ember_sim::dataflow::MappingOf;
use ember_sim::dataflows::walk;
use ember_sim::rs::RsMapping;
use ember_sim::rs::Segment;
use ember_sim::{evaluate_mapping, Dataflow, Layer, Mapping};
use proptest::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

static COMPARED: AtomicUsize = AtomicUsize::new(0);

prop_compose! {
    fn layer()(r in 1usize..6, extra in 0usize..12, pad in 0usize..3, stride_pick in 0usize..3,
               groups in 1usize..4, cpg in 1usize..9, mpg in 1usize..13) -> Layer {
        common::random_layer([r, extra, pad, stride_pick], [groups, cpg, mpg])
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn walk_equals_analytic(l in layer(), batch in 1usize..5, n in 1usize..5, p in 1usize..6,
                            q in 1usize..4, r in 1usize..4, t in 1usize..4, e in 1usize..20,
                            mk in 1usize..4, resident in any::<bool>()) {
        prop_assume!(l.r <= l.hp() && l.stride <= l.r);
        let hw = common::hw(16, 16, 1 << 20, 0);
        let mp = Mapping::from(RsMapping {
            n: n.min(batch),
            p: p.min(l.mg()),
            q: q.min(l.cg()),
            r,
            t,
            e: e.min(l.e()),
            m: p.min(l.mg()) * t * mk,
            ifmap_resident: resident,
            segment: None,
            u: 1,
        });
        let Ok(ev) = evaluate_mapping(&l, &hw, batch, &mp) else {
            return Ok(()); // does not fit: nothing to compare
        };
        COMPARED.fetch_add(1, Ordering::Relaxed);
        let (counts, cycles) = walk(&l, &hw, batch, &mp);
        prop_assert_eq!(ev.counts, counts);
        prop_assert_eq!(ev.cycles, cycles);
        prop_assert_eq!(ev.macs, l.macs(batch));
    }
}

#[test]
fn most_random_mappings_fit() {
    walk_equals_analytic();
    // The generator is meant to produce mostly mappings that fit, so the comparison above is
    // not vacuous.
    let n = COMPARED.load(Ordering::Relaxed);
    assert!(n >= 150, "only {n} of 400 random mappings fit");
}

/// AlexNet CONV1 with the chip's documented mapping (JSSC 2017: 11x7 sets, t = 2, p = 16):
/// counts worked out by hand from the loop nest.
#[test]
fn conv1_counts_by_hand() {
    let mut l = Layer::conv("CONV1", 3, 227, 227, 96, 11, 11);
    l.stride = 4;
    let hw = common::hw(12, 14, 51200, 4096);
    let mp = Mapping::from(RsMapping {
        n: 1,
        p: 16,
        q: 1,
        r: 1,
        t: 2,
        e: 7,
        m: 32,
        ifmap_resident: true,
        segment: None,
        u: 1,
    });
    let ev = evaluate_mapping(&l, &hw, 4, &mp).expect("the chip's mapping fits the chip");
    // 55 ofmap rows in strips of 7: 7 strips of 7 and one of 6 -> 8 strips.
    // Filters: 96 x 3 x 11 x 11 = 34,848 words, fetched once per (image, strip): x 4 x 8.
    assert_eq!(ev.counts.dram().weights.reads, 34_848 * 32);
    // Each weight reaches the e PEs of its row: 34,848 x 4 images x 55 rows.
    assert_eq!(ev.counts.array().weights.reads, 34_848 * 4 * 55);
    // Ifmap rows per strip: 7 strips read (7-1)*4+11 = 35 rows, the last (6 rows) 31:
    // 7*35 + 31 = 276 rows x 227 columns x 3 channels x 4 images, fetched once (resident).
    assert_eq!(ev.counts.dram().ifmaps.reads, 276 * 227 * 3 * 4);
    // ... and read from the GLB once per filter chunk: ceil(96 / 32) = 3.
    assert_eq!(ev.counts.glb().ifmaps.reads, 276 * 227 * 3 * 4 * 3);
    // Ofmaps 96 x 55 x 55 x 4 leave once; psums are written to the GLB once per channel chunk
    // (3 chunks of q·r = 1 channel) and read back for the 2 later chunks plus the drain.
    let ofmaps = 96 * 55 * 55 * 4;
    assert_eq!(ev.counts.dram().psums.writes, ofmaps);
    assert_eq!(ev.counts.glb().psums.writes, ofmaps * 3);
    assert_eq!(ev.counts.glb().psums.reads, ofmaps * 3);
    // Vertical accumulation: 11 PEs -> 10 hops, plus 1 reload for the 2 later chunks.
    assert_eq!(ev.counts.array().psums.reads, ofmaps * (3 * 10 + 2));
    // Cycles: per pass a PE does n·p·q·F·S = 1·16·1·55·11 MACs; passes = 4 images x 8 strips x
    // 3 filter chunks (32, 32, 32) x 3 channels.
    assert_eq!(ev.cycles, 16 * 55 * 11 * 4 * 8 * 3 * 3);
    assert_eq!(ev.active_pes, 154);
}

/// A trace written by `Network::to_toml` parses back to the same network, even with control
/// characters in its name (found by the ONNX importer's fuzzing).
#[test]
fn to_toml_round_trips() {
    let mut l = Layer::conv("a\"b", 3, 8, 8, 4, 3, 3);
    l.pad = 1;
    l.ifmap_density = 0.5;
    let net = ember_sim::Network {
        name: "n\nnet\u{7}".into(),
        source: "line1\r\nline2".into(),
        chain: false,
        layers: vec![l],
    };
    let text = net.to_toml();
    let back = ember_sim::Network::parse(std::path::Path::new("x.toml"), &text).expect("parses");
    assert_eq!(back, net);
}

prop_compose! {
    /// Layers whose filters may be taller than a small array or wider than a small spad.
    fn big_filter_layer()(r in 1usize..10, s in 1usize..10, extra in 0usize..6,
                          pad in 0usize..3, stride_pick in 0usize..3, groups in 1usize..3,
                          cpg in 1usize..5, mpg in 1usize..7) -> Layer {
        let stride = 1 + stride_pick % r.min(s);
        let h = (r.max(s) + extra).saturating_sub(2 * pad).max(1);
        let mut l = Layer::conv("L", cpg * groups, h, h + 1, mpg * groups, r, s);
        l.stride = stride;
        l.pad = pad;
        l.groups = groups;
        l
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    /// Filters split into segments across passes: the closed form equals the walk for random
    /// segment sizes, and every searched mapping replays and walks to the same counts.
    #[test]
    fn split_walk_equals_analytic(l in big_filter_layer(), batch in 1usize..4, n in 1usize..4,
                                  p in 1usize..4, q in 1usize..3, r in 1usize..3,
                                  t in 1usize..3, e in 1usize..8, mk in 1usize..3,
                                  resident in any::<bool>(), rows in 1usize..10,
                                  cols in 1usize..10) {
        prop_assume!(l.r <= l.hp() && l.s <= l.wp());
        let hw = common::hw(6, 6, 1 << 20, 0);
        let mut small = hw.clone();
        small.pe.ifmap_spad_words = 4;
        let segment = Segment { rows: rows.min(l.r), cols: cols.min(l.s) };
        let mp = Mapping::from(RsMapping {
            n: n.min(batch),
            p: p.min(l.mg()),
            q: q.min(l.cg()),
            r,
            t,
            e: e.min(l.e()),
            m: p.min(l.mg()) * t * mk,
            ifmap_resident: resident,
            segment: Some(segment),
            u: 1,
        });
        if let Ok(ev) = evaluate_mapping(&l, &hw, batch, &mp) {
            SPLIT_COMPARED.fetch_add(1, Ordering::Relaxed);
            let (counts, cycles) = walk(&l, &hw, batch, &mp);
            prop_assert_eq!(ev.counts, counts);
            prop_assert_eq!(ev.cycles, cycles);
            prop_assert_eq!(ev.macs, l.macs(batch));
        }
        let cost = |ev: &ember_sim::Evaluation| ev.counts.glb().ifmaps.reads as f64 + ev.cycles as f64;
        let found = ember_sim::map_layer(&l, &small, batch, Dataflow::RowStationary, &cost);
        if let Ok(ev) = found {
            prop_assert!(RsMapping::of(&ev.mapping).unwrap().segment.is_some() == (l.r > 6 || l.s > 4), "{:?}", ev.mapping);
            let again = evaluate_mapping(&l, &small, batch, &ev.mapping).expect("replays");
            prop_assert_eq!(&again, &ev);
            prop_assert_eq!(walk(&l, &small, batch, &ev.mapping), (ev.counts, ev.cycles));
        }
    }
}

static SPLIT_COMPARED: AtomicUsize = AtomicUsize::new(0);

#[test]
fn most_random_split_mappings_fit() {
    split_walk_equals_analytic();
    let n = SPLIT_COMPARED.load(Ordering::Relaxed);
    assert!(n >= 100, "only {n} of 400 random split mappings fit");
}

/// A 4x4 fully connected layer (one channel, one filter) on a 2-row array with a 2-word ifmap
/// spad: the filter is cut into 2x2 segments, four passes whose psums meet in the GLB. Counts
/// worked out by hand.
#[test]
fn split_counts_by_hand() {
    let mut l = Layer::conv("FC", 1, 4, 4, 1, 4, 4);
    l.kind = ember_sim::LayerKind::Fc;
    let mut hw = common::hw(2, 14, 1 << 16, 0);
    hw.pe.ifmap_spad_words = 2;
    let mp = Mapping::from(RsMapping {
        n: 1,
        p: 1,
        q: 1,
        r: 1,
        t: 1,
        e: 1,
        m: 1,
        ifmap_resident: true,
        segment: Some(Segment { rows: 2, cols: 2 }),
        u: 1,
    });
    let ev = evaluate_mapping(&l, &hw, 1, &mp).expect("fits");
    let c = &ev.counts;
    // 16 weights, each fetched once (by the pass of its segment) and sent to its one PE.
    assert_eq!((c.dram().weights.reads, c.array().weights.reads), (16, 16));
    // The 4x4 input comes from DRAM once; each pass reads its 2 rows x 2 columns from the GLB
    // and each of its 2 PEs receives a 2-column row.
    assert_eq!(c.dram().ifmaps.reads, 16);
    assert_eq!(
        (c.glb().ifmaps.reads, c.array().ifmaps.reads),
        (4 * 4, 4 * 2 * 2)
    );
    // One output: each pass sends its psum up a 2-PE column (1 hop) and out to the GLB; the
    // last three first bring the previous psum in (1 hop each): 1 + 3 x 2 hops.
    assert_eq!(c.array().psums.reads, 7);
    assert_eq!(
        (
            c.glb().psums.writes,
            c.glb().psums.reads,
            c.dram().psums.writes
        ),
        (4, 4, 1)
    );
    // Each pass: 1 column x 2 taps a PE.
    assert_eq!((ev.cycles, ev.macs, ev.active_pes), (8, 16, 2));
    // The mapper finds a split mapping on its own; the whole filter fits neither way.
    let best = ember_sim::map_layer(&l, &hw, 1, Dataflow::RowStationary, &|e| e.cycles as f64)
        .expect("maps");
    let seg = RsMapping::of(&best.mapping)
        .unwrap()
        .segment
        .expect("split");
    assert!(seg.rows <= 2 && seg.cols <= 2, "{seg:?}");
}

prop_compose! {
    /// Grouped layers, from two groups to nine, depthwise ones (one channel and one filter a
    /// group) among them.
    fn grouped_layer()(r in 1usize..5, extra in 0usize..8, pad in 0usize..3,
                       stride_pick in 0usize..3, groups in 2usize..10, cpg in 1usize..4,
                       mpg in 1usize..5) -> Layer {
        let stride = 1 + stride_pick % r;
        let h = (r + extra).saturating_sub(2 * pad).max(1).max(r.saturating_sub(2 * pad));
        let mut l = Layer::conv("L", cpg * groups, h, h, mpg * groups, r, r);
        l.stride = stride;
        l.pad = pad;
        l.groups = groups;
        l
    }
}

static GROUPED_COMPARED: AtomicUsize = AtomicUsize::new(0);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    /// Channel groups side by side (`[mapper] group_sets`, u groups a pass): for random grouped
    /// layers and mappings with u >= 1, the closed form equals the walk; cycle mode counts the
    /// same words pass by pass and the same MAC cycles, replaying pass shapes as stepping every
    /// pass; and the same mapping one group a pass moves exactly the same words, keeps 1/u of
    /// the PEs busy and takes G / ceil(G / u) times as long (G passes of the group loop
    /// instead of ceil(G / u), each as long).
    #[test]
    fn grouped_walk_equals_analytic(l in grouped_layer(), batch in 1usize..4, n in 1usize..4,
                                    p in 1usize..4, q in 1usize..3, r in 1usize..3,
                                    t in 1usize..3, e in 1usize..12, mk in 1usize..3,
                                    resident in any::<bool>(), u in 1usize..10) {
        use ember_sim::cycle::{simulate, CycleParams, Replay};
        prop_assume!(l.r <= l.hp() && l.stride <= l.r);
        let mut hw = common::hw(16, 16, 1 << 20, 0);
        hw.mapper.group_sets = true;
        let one = RsMapping {
            n: n.min(batch),
            p: p.min(l.mg()),
            q: q.min(l.cg()),
            r,
            t,
            e: e.min(l.e()),
            m: p.min(l.mg()) * t * mk,
            ifmap_resident: resident,
            segment: None,
            u: 1,
        };
        let u = u.min(l.groups);
        let mp = Mapping::from(RsMapping { u, ..one });
        let Ok(ev) = evaluate_mapping(&l, &hw, batch, &mp) else {
            return Ok(()); // does not fit: nothing to compare
        };
        GROUPED_COMPARED.fetch_add(1, Ordering::Relaxed);
        let (counts, cycles) = walk(&l, &hw, batch, &mp);
        prop_assert_eq!(ev.counts, counts);
        prop_assert_eq!(ev.cycles, cycles);
        prop_assert_eq!(ev.macs, l.macs(batch));
        let params = CycleParams::default();
        let memo = simulate(&l, &hw, batch, &mp, &params, Replay::Memo, None);
        prop_assert_eq!(memo.counts, ev.counts);
        prop_assert_eq!(memo.mac_cycles, ev.cycles);
        prop_assert_eq!(memo.passes as usize, walk_passes(&l, batch, &mp));
        let all = simulate(&l, &hw, batch, &mp, &params, Replay::StepAll, None);
        prop_assert_eq!(&memo, &all);
        // Fewer groups a pass need fewer sets and less GLB: one group a pass fits too.
        let single = evaluate_mapping(&l, &hw, batch, &Mapping::from(one)).expect("u = 1 fits");
        prop_assert_eq!(single.counts, ev.counts);
        prop_assert_eq!(single.active_pes * u, ev.active_pes);
        let chunks = l.groups.div_ceil(u) as u64;
        prop_assert_eq!(single.cycles * chunks, ev.cycles * l.groups as u64);
    }
}

/// The passes of a mapping, counted from the walk.
fn walk_passes(l: &Layer, batch: usize, mp: &Mapping) -> usize {
    let mut passes = 0;
    let _ = ember_sim::passes::for_each_pass(l, batch, RsMapping::of(mp).unwrap(), |_| {
        passes += 1;
        std::ops::ControlFlow::Continue(())
    });
    passes
}

#[test]
fn most_random_grouped_mappings_fit() {
    grouped_walk_equals_analytic();
    let n = GROUPED_COMPARED.load(Ordering::Relaxed);
    assert!(n >= 100, "only {n} of 300 random grouped mappings fit");
}

/// A mapping that puts several groups in a pass is refused without `[mapper] group_sets`, and
/// with it when u is 0, exceeds the layer's groups, or its sets exceed the array: typed
/// errors, no panic.
#[test]
fn group_sets_are_checked() {
    let mut l = Layer::conv("dw", 8, 6, 6, 8, 3, 3);
    l.pad = 1;
    l.groups = 8;
    let mut hw = common::hw(12, 14, 1 << 16, 0);
    let with = |u: usize| {
        Mapping::from(RsMapping {
            n: 1,
            p: 1,
            q: 1,
            r: 1,
            t: 1,
            e: 6,
            m: 1,
            ifmap_resident: true,
            segment: None,
            u,
        })
    };
    let refused = |hw: &ember_sim::HwConfig, u: usize| {
        evaluate_mapping(&l, hw, 1, &with(u))
            .expect_err("refused")
            .to_string()
    };
    assert!(
        refused(&hw, 2).contains("group_sets"),
        "{}",
        refused(&hw, 2)
    );
    hw.mapper.group_sets = true;
    assert!(refused(&hw, 0).contains("at least 1"));
    assert!(refused(&hw, 9).contains("groups"));
    // 3 x 6 sets: 2 across the 14 columns, 4 down the 12 rows = 8 sets, so u = 8 fits.
    let ev = evaluate_mapping(&l, &hw, 1, &with(8)).expect("8 sets fit");
    assert_eq!(ev.active_pes, 8 * 18);
    let mut narrow = common::hw(12, 11, 1 << 16, 0);
    narrow.mapper.group_sets = true;
    // 1 across the 11 columns: 4 sets.
    assert!(
        refused(&narrow, 5).contains("r·t·u = 5"),
        "{}",
        refused(&narrow, 5)
    );
}
