//! `[mapper] group_sets` (Eyeriss v2 plan, step 4; JETCAS 2019, Fig. 4): channel groups of a
//! grouped or depthwise convolution side by side on the array, u groups a pass. Off (the
//! default) nothing changes; on, a layer with one group maps as before, the searches still
//! equal the exhaustive one, cycle mode still counts what the closed form counts, and a
//! depthwise layer keeps the array busy.

mod common;

use common::{config, configs, trace};
use ember_estimator::run::Objective;
use ember_estimator::{EnergyObjective, Hardware};
use ember_sim::cycle::{
    latency_lower_bound, simulate, total_cycles_lower_bound, total_cycles_within, CycleParams,
    Replay,
};
use ember_sim::dataflow::MappingOf;
use ember_sim::rs::RsMapping;
use ember_sim::{Dataflow, Evaluation, Layer, Mapping, Network};
use proptest::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

fn with_group_sets(mut hw: Hardware) -> Hardware {
    hw.arch.mapper.group_sets = true;
    hw
}

/// `hw` with the key off, whatever its file says (eyeriss-v1-scaled turns it on).
fn without_group_sets(mut hw: Hardware) -> Hardware {
    hw.arch.mapper.group_sets = false;
    hw
}

fn u_of(ev: &Evaluation) -> usize {
    RsMapping::of(&ev.mapping).expect("row-stationary").u
}

/// The grouped layers of the shipped traces: every depthwise layer of both MobileNets and
/// AlexNet's two-group CONV2, CONV4, CONV5.
fn grouped_layers() -> Vec<(Network, Vec<usize>)> {
    [
        "mobilenet_v1.toml",
        "mobilenet_v1_0.5_128.toml",
        "alexnet.toml",
    ]
    .into_iter()
    .map(|name| {
        let net = trace(name);
        let grouped = (0..net.layers.len())
            .filter(|&i| net.layers[i].groups > 1)
            .collect();
        (net, grouped)
    })
    .collect()
}

/// With the key on, a layer of one group maps exactly as without it (its search tries u = 1
/// only), and a grouped layer never costs more energy (its space holds the old one): every
/// trace x config, minimum energy at batch 2. (Off, the golden outputs pin every byte.)
#[test]
fn one_group_maps_as_before_and_groups_never_cost_more() {
    let mut grouped = 0;
    for net in common::traces() {
        for hw in configs() {
            let off = without_group_sets(hw.clone())
                .run(&net, 2, Dataflow::RowStationary)
                .unwrap();
            let on = with_group_sets(hw)
                .run(&net, 2, Dataflow::RowStationary)
                .unwrap();
            for (a, b) in off.layers.iter().zip(&on.layers) {
                let tag = format!("{} {}", net.name, a.layer.name);
                assert_eq!(u_of(&a.eval), 1, "{tag}");
                if a.layer.groups == 1 {
                    assert_eq!(a.eval, b.eval, "{tag}");
                    assert_eq!(a.energy, b.energy, "{tag}");
                } else {
                    grouped += 1;
                    assert!(b.energy.total <= a.energy.total, "{tag}");
                    assert_eq!(b.eval.macs, b.layer.macs(2), "{tag}");
                }
            }
        }
    }
    assert!(grouped > 0);
}

/// MobileNet's conv_dw_13: 1024 groups of one 7x7 channel, a 3x3 filter, stride 1, pad 1, so
/// E = F = 7. On a 12 x 16 array a PE set is R = 3 rows by e = 7 columns (E = 7 fits the 16
/// columns, so the set is whole): 16 / 7 = 2 sets across and 12 / 3 = 4 down, 8 sets. A group
/// has one channel and one filter, so it uses one set (r = t = 1): one group a pass keeps
/// 3 x 7 = 21 of the 192 PEs busy, whatever the mapping. With group_sets, u = 8 groups side by
/// side (8 = 1024 / 128 is one of the balanced chunk sizes) keep 8 x 21 = 168 busy, the most
/// any mapping can (a ninth set does not fit), and the 1024 groups take 128 group chunks
/// instead of 1024: 8 times fewer MAC cycles for the same words moved.
#[test]
fn depthwise_dw13_fills_the_array_by_hand() {
    let net = trace("mobilenet_v1.toml");
    let l = net
        .layers
        .iter()
        .find(|l| l.name == "conv_dw_13")
        .expect("the trace has conv_dw_13");
    assert_eq!(
        (l.c, l.m, l.groups, l.h, l.r, l.stride, l.pad, l.e()),
        (1024, 1024, 1024, 7, 3, 1, 1, 7)
    );
    let mut off = config("eyeriss-v1.toml");
    off.arch.array.cols = 16;
    let on = with_group_sets(off.clone());
    // The most active PEs of any mapping: the exhaustive search's best at cost -active PEs.
    let most = |hw: &Hardware| {
        let best = ember_sim::rs::search_reference(l, &hw.arch, 1, &|ev| -(ev.active_pes as f64));
        best.expect("maps").active_pes
    };
    assert_eq!(most(&off), 21);
    assert_eq!(most(&on), 168);
    // The mapper picks it: the energy is the same (no word is shared between groups, and
    // normalised energy has no static term), and on equal cost fewer cycles win.
    let a = off.run_layer(l, 1, Dataflow::RowStationary, false).unwrap();
    let b = on.run_layer(l, 1, Dataflow::RowStationary, false).unwrap();
    assert_eq!((a.eval.active_pes, u_of(&a.eval)), (21, 1));
    assert_eq!((b.eval.active_pes, u_of(&b.eval)), (168, 8));
    assert_eq!(a.eval.counts, b.eval.counts);
    assert_eq!(a.eval.cycles, 8 * b.eval.cycles);
    assert_eq!(b.eval.macs, 1024 * 7 * 7 * 9);
    // JSON names u only when a pass holds more than one group.
    let json = |ev: &Evaluation| serde_json::to_value(ev.mapping).unwrap();
    assert_eq!(json(&b.eval)["u"], 8);
    assert!(json(&a.eval).get("u").is_none());
    // A ninth set does not fit.
    let nine = Mapping::from(RsMapping {
        u: 9,
        ..*RsMapping::of(&b.eval.mapping).unwrap()
    });
    let e = ember_sim::evaluate_mapping(l, &on.arch, 1, &nine).unwrap_err();
    assert!(e.to_string().contains("r·t·u = 9 sets exceed the 8"), "{e}");
}

/// The pruned search returns what evaluating every candidate returns with group_sets on, for
/// minimum energy and for energy plus a price per cycle (so that u, which changes only the
/// cycles, decides the cost): every grouped layer of the shipped traces, every config, batches
/// 1 and 3.
#[test]
fn search_with_group_sets_equals_exhaustive_reference() {
    let mut wide = 0;
    for (net, grouped) in grouped_layers() {
        for hw in configs().into_iter().map(with_group_sets) {
            for &i in &grouped {
                let l = &net.layers[i];
                let energy = EnergyObjective::new(l, &hw.context(i == 0));
                let priced = |ev: &Evaluation| energy.energy(ev) + 50.0 * ev.cycles as f64;
                let plain = |ev: &Evaluation| energy.energy(ev);
                let costs: [&dyn Fn(&Evaluation) -> f64; 2] = [&plain, &priced];
                for batch in [1, 3] {
                    for cost in costs {
                        let fast = ember_sim::rs::search(l, &hw.arch, batch, cost);
                        let slow = ember_sim::rs::search_reference(l, &hw.arch, batch, cost);
                        let tag = format!("{} {} {} batch {batch}", hw.arch.name, l.name, i);
                        assert_eq!(fast, slow, "{tag}");
                        wide += usize::from(fast.is_some_and(|ev| u_of(&ev) > 1));
                    }
                }
            }
        }
    }
    assert!(wide > 0, "some search puts several groups in a pass");
}

/// The edp search (candidates visited by their lower bound, timings stopped once they cannot
/// win) picks exactly what timing every candidate of the exhaustive search picks, with groups
/// side by side: MobileNet's first depthwise layers and the last (conv_dw_1, conv_dw_2,
/// conv_dw_13), at batch 2 on eyeriss-v1. conv_dw_2 (E = 56, stride 2) keeps one group a pass:
/// its 3 x 56 set folds into 4 x 3 rows of 14 and fills the 12 x 14 array alone.
#[test]
fn edp_search_with_group_sets_equals_exhaustive() {
    let hw = with_group_sets(config("eyeriss-v1.toml"));
    let net = trace("mobilenet_v1.toml");
    for name in ["conv_dw_1", "conv_dw_2", "conv_dw_13"] {
        let l = net.layers.iter().find(|l| l.name == name).unwrap();
        let got = hw
            .run_layer_with(l, 2, Dataflow::RowStationary, false, Objective::Edp)
            .unwrap();
        let want = common::edp_by_exhaustion(&hw, l, 2);
        assert_eq!(got.eval, want, "{name}");
        assert_eq!(
            u_of(&want) > 1,
            name != "conv_dw_2",
            "{name}: {:?}",
            want.mapping
        );
    }
}

/// The bounds the edp search prunes by never exceed what cycle mode gives for any candidate
/// with groups side by side (every candidate of three MobileNet depthwise layers at batch 2,
/// eyeriss-v1 with group_sets and its zero-skipping copy), and a timing limited below its
/// total stops, one limited at its total does not.
#[test]
fn time_lower_bounds_hold_with_group_sets() {
    let mut skipping = with_group_sets(config("eyeriss-v1.toml"));
    skipping.arch.pe.skip_zero_cycles = true;
    let net = trace("mobilenet_v1.toml");
    let wide = std::cell::Cell::new(0);
    for hw in [with_group_sets(config("eyeriss-v1.toml")), skipping] {
        for i in [1, 3, 25] {
            let l = &net.layers[i];
            assert!(l.groups > 1, "{}", l.name);
            let params = hw.layer_cycle_params(l, false);
            let check = |ev: &Evaluation| {
                let c = simulate(l, &hw.arch, 2, &ev.mapping, &params, Replay::Memo, None);
                let total = c.total_cycles;
                let tag = format!("{} {:?}", l.name, ev.mapping);
                let lower = total_cycles_lower_bound(l, &hw.arch, ev, &params)
                    .max(latency_lower_bound(l, &hw.arch, 2, ev, &params));
                assert!(lower <= total as f64, "{tag}: bound {lower} > {total}");
                let within =
                    |limit: u64| total_cycles_within(l, &hw.arch, 2, ev, &params, &|b| b > limit);
                assert_eq!(within(total), Some(total), "{tag}");
                if let Some(t) = within(total - total / 100 - 1) {
                    assert_eq!(t, total, "{tag}");
                }
                0.0
            };
            ember_sim::rs::search_reference(l, &hw.arch, 2, &|ev| {
                wide.set(wide.get() + usize::from(u_of(ev) > 1));
                check(ev)
            });
        }
    }
    assert!(wide.get() > 0);
}

/// The row-stationary stream the edp search runs skips only candidates whose floor exceeds
/// what its visitor wants, with groups side by side: answering infinity it visits exactly the
/// exhaustive search's candidates, answering a fixed bound every candidate whose floor does
/// not exceed it (the first MobileNet depthwise layers and AlexNet CONV2, every config,
/// batches 1 and 3; thresholds at quantiles of the floors).
#[test]
fn stream_with_group_sets_skips_only_what_its_floor_rules_out() {
    let (mobilenet, alexnet) = (trace("mobilenet_v1.toml"), trace("alexnet.toml"));
    let layers = [
        &mobilenet.layers[1],
        &mobilenet.layers[3],
        &alexnet.layers[1],
    ];
    let model = Dataflow::RowStationary.model();
    for hw in configs().into_iter().map(with_group_sets) {
        for l in layers {
            for batch in [1, 3] {
                common::stream_visits_what_it_must(&hw, l, false, batch, model);
            }
        }
    }
}

/// Cycle mode counts, pass by pass, exactly what the closed form counts, and its MAC cycles
/// are the analytic cycles, with groups side by side: both MobileNets and AlexNet on every
/// config with group_sets, minimum energy at batch 2; replaying pass shapes equals stepping
/// every pass on the first MobileNet layers.
#[test]
fn cycle_mode_matches_analytic_with_group_sets() {
    for (net, _) in grouped_layers() {
        for hw in configs().into_iter().map(with_group_sets) {
            let res = hw.run(&net, 2, Dataflow::RowStationary).unwrap();
            let stats = hw.simulate_cycles(&res, None);
            for (r, c) in res.layers.iter().zip(&stats) {
                let tag = format!("{} / {} / {}", net.name, hw.arch.name, r.layer.name);
                assert_eq!(c.counts, r.eval.counts, "{tag}");
                if hw.arch.pe.skip_zero_cycles {
                    assert!(c.mac_cycles <= r.eval.cycles, "{tag}");
                } else {
                    assert_eq!(c.mac_cycles, r.eval.cycles, "{tag}");
                }
                assert!(c.total_cycles >= c.processing_cycles, "{tag}");
            }
        }
    }
    let hw = with_group_sets(config("eyeriss-v1.toml"));
    let net = trace("mobilenet_v1.toml");
    for l in &net.layers[..4] {
        let r = hw.run_layer(l, 1, Dataflow::RowStationary, false).unwrap();
        let p = CycleParams::default();
        let memo = simulate(l, &hw.arch, 1, &r.eval.mapping, &p, Replay::Memo, None);
        let all = simulate(l, &hw.arch, 1, &r.eval.mapping, &p, Replay::StepAll, None);
        assert_eq!(memo, all, "{}", l.name);
    }
}

/// Two groups in one pass, worked out by hand on eyeriss-v1 (filter bus 4 words a cycle,
/// ifmap bus 1, psum output network 4): a depthwise layer of 2 groups, each one 5x5 channel
/// (pad 1) and one 3x3 filter, E = F = 5, mapped whole (e = 5, p = q = r = t = 1), u = 2. The
/// groups compute in parallel but the buses carry both groups' words:
/// - filter load: 2 x 9 = 18 words, ceil(18 / 4) = 5 cycles (one group: 9 words, 3 cycles);
/// - MACs: S = 3 a column, 5 columns: 15 cycles;
/// - ifmaps: a real column of the strip is 2 groups x 5 rows = 10 words. Ofmap column 0 needs
///   real columns 0..1 (20 words: 20 cycles before its first MAC); column x then needs
///   columns up to x + 1, 10 words more, of which 3 arrive while column x - 1 computes: 7
///   cycles each for columns 1-3 (column 4 needs no more): 20 + 3 x 7 = 41 cycles. One group
///   (5-word columns): 10 + 3 x 2 = 16;
/// - psums: the last column's 2 x 5 = 10 words leave at 4 a cycle, 3 cycles (one group: 2);
/// - pipeline: 2 cycles a pass; configuration 1794 before everything.
///
/// One pass: 5 + 15 + 41 + 3 + 2 = 66 cycles; one group a pass, two passes of
/// 3 + 15 + 16 + 2 + 2 = 38, 76 cycles.
#[test]
fn two_groups_one_pass_by_hand() {
    let mut l = Layer::conv("dw", 2, 5, 5, 2, 3, 3);
    l.pad = 1;
    l.groups = 2;
    let hw = with_group_sets(config("eyeriss-v1.toml"));
    let with = |u: usize| {
        Mapping::from(RsMapping {
            n: 1,
            p: 1,
            q: 1,
            r: 1,
            t: 1,
            e: 5,
            m: 1,
            ifmap_resident: true,
            segment: None,
            u,
        })
    };
    let run = |u: usize| {
        ember_sim::evaluate_mapping(&l, &hw.arch, 1, &with(u)).expect("fits");
        let p = CycleParams::default();
        simulate(&l, &hw.arch, 1, &with(u), &p, Replay::StepAll, None)
    };
    let (two, one) = (run(2), run(1));
    let s = two.stalls;
    assert_eq!(two.passes, 1);
    assert_eq!(
        (
            s.filter_load,
            two.mac_cycles,
            s.ifmap_bus,
            s.psum_bus,
            s.pipeline
        ),
        (5, 15, 41, 3, 2)
    );
    assert_eq!(two.processing_cycles, 1794 + 66);
    let s = one.stalls;
    assert_eq!(one.passes, 2);
    assert_eq!(
        (
            s.filter_load,
            one.mac_cycles,
            s.ifmap_bus,
            s.psum_bus,
            s.pipeline
        ),
        (6, 30, 32, 4, 4)
    );
    assert_eq!(one.processing_cycles, 1794 + 76);
    assert_eq!(two.counts, one.counts);
}

/// `group_sets` takes a flag: another type is a parse error located at its line, with a fix;
/// `true` loads and `false` is the default.
#[test]
fn group_sets_takes_a_flag() {
    let dir = common::scratch_dir();
    let base = std::fs::read_to_string(common::root().join("hw_configs/eyeriss-v1.toml")).unwrap();
    let load = |value: &str| {
        let text = format!("{base}\n[mapper]\ngroup_sets = {value}\n");
        let path = dir.path().join("hw.toml");
        std::fs::write(&path, &text).unwrap();
        let line = text.lines().count();
        (Hardware::load(&path), format!("hw.toml:{line}"))
    };
    for bad in ["\"yes\"", "1", "[true]"] {
        let (got, at) = load(bad);
        let e = got.expect_err("refused").to_string();
        assert!(e.contains(&at) && e.contains("fix:"), "{bad}: {e}");
    }
    assert!(load("true").0.unwrap().arch.mapper.group_sets);
    assert!(!load("false").0.unwrap().arch.mapper.group_sets);
    assert!(!config("eyeriss-v1.toml").arch.mapper.group_sets);
}

prop_compose! {
    /// Grouped layers, depthwise ones among them, on eyeriss-v1 resized (any array from 3 x 3,
    /// either set-fitting policy, a GLB from tight to roomy, with or without a filter buffer)
    /// with group_sets.
    fn grouped_case()(r in 1usize..5, extra in 0usize..9, pad in 0usize..3,
                      stride_pick in 0usize..3, groups in 2usize..13, cpg in 1usize..4,
                      mpg in 1usize..6, rows in 3usize..13, cols in 3usize..17,
                      free in any::<bool>(), glb_log in 8u32..16, fbuf in any::<bool>())
                      -> (Layer, Hardware) {
        let stride = 1 + stride_pick % r;
        let h = (r + extra).saturating_sub(2 * pad).max(r.saturating_sub(2 * pad)).max(1);
        let mut l = Layer::conv("G", cpg * groups, h, h + 1, mpg * groups, r, r);
        l.stride = stride;
        l.pad = pad;
        l.groups = groups;
        let mut hw = with_group_sets(config("eyeriss-v1.toml"));
        hw.arch.array.rows = rows;
        hw.arch.array.cols = cols;
        if free {
            hw.arch.mapper.set_fitting = ember_sim::arch::SetFitting::Free;
        }
        hw.arch.glb.words = 1 << glb_log;
        hw.arch.glb.filter_words = if fbuf { 1 << (glb_log - 3) } else { 0 };
        (l, hw)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]
    /// Random grouped layers and arrays with group_sets: the pruned search equals the
    /// exhaustive reference for minimum energy, for energy plus a price per cycle from small
    /// to dominant (u changes only the cycles), and for cycles alone; the stream visits exactly
    /// the reference's candidates; the winner's MACs are the layer's and its cycle-mode counts
    /// the closed form's.
    #[test]
    fn random_grouped_searches_equal_reference((l, hw) in grouped_case(), batch in 1usize..4,
                                                price_log in 0i32..7) {
        prop_assume!(l.r <= l.hp());
        let energy = EnergyObjective::new(&l, &hw.context(false));
        let price = 10f64.powi(price_log);
        let plain = |ev: &Evaluation| energy.energy(ev);
        let priced = |ev: &Evaluation| energy.energy(ev) + price * ev.cycles as f64;
        let cycles = |ev: &Evaluation| ev.cycles as f64;
        let costs: [&dyn Fn(&Evaluation) -> f64; 3] = [&plain, &priced, &cycles];
        for cost in costs {
            let fast = ember_sim::rs::search(&l, &hw.arch, batch, cost);
            let slow = ember_sim::rs::search_reference(&l, &hw.arch, batch, cost);
            prop_assert_eq!(&fast, &slow);
            if let Some(ev) = fast {
                prop_assert_eq!(ev.macs, l.macs(batch));
                let c = simulate(&l, &hw.arch, batch, &ev.mapping, &CycleParams::default(),
                                 Replay::Memo, None);
                prop_assert_eq!(c.counts, ev.counts);
                prop_assert_eq!(c.mac_cycles, ev.cycles);
            }
        }
        let model = Dataflow::RowStationary.model();
        let every = std::cell::RefCell::new(Vec::new());
        model.search_reference(&l, &hw.arch, batch, &|ev| {
            every.borrow_mut().push(ev.mapping);
            0.0
        });
        let mut streamed = Vec::new();
        model.stream(&l, &hw.arch, batch, &plain, &mut |ev| {
            streamed.push(ev.mapping);
            f64::INFINITY
        });
        let mut every = every.into_inner();
        if every.iter().any(|mp| RsMapping::of(mp).unwrap().u > 1) {
            WIDE_CASES.fetch_add(1, Ordering::Relaxed);
        }
        every.sort();
        streamed.sort();
        prop_assert_eq!(streamed, every);
    }
}

static WIDE_CASES: AtomicUsize = AtomicUsize::new(0);

#[test]
fn most_random_grouped_spaces_hold_group_sets() {
    random_grouped_searches_equal_reference();
    let n = WIDE_CASES.load(Ordering::Relaxed);
    assert!(
        n >= 75,
        "only {n} of 150 random spaces hold a mapping with u > 1"
    );
}
