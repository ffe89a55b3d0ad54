//! Cycle mode against the analytic model, the MAC and DRAM bounds, and replay against stepping
//! every pass.

mod common;

use common::{config, configs, trace, traces};
use ember_sim::cycle::{simulate, CycleParams, Replay};
use ember_sim::Dataflow;

/// For every trace x config x dataflow: every access counted in cycle mode (pass by pass, as
/// the dataflow's `passes` hand them to the engine) equals the analytic closed form exactly;
/// cycles are never below the MAC bound (effective MACs / active PEs) nor the DRAM bound
/// (compressed words / link words per cycle); MAC cycles are the analytic cycles (at most
/// those on a config that skips zero-gated MACs' cycles).
#[test]
fn cycle_mode_matches_analytic_and_bounds() {
    for net in traces() {
        for hw in configs() {
            for df in common::dataflows(&hw) {
                cycle_matches_analytic(&net, &hw, df);
            }
        }
    }
}

/// One trace x config x dataflow of `cycle_mode_matches_analytic_and_bounds`.
fn cycle_matches_analytic(net: &ember_sim::Network, hw: &ember_estimator::Hardware, df: Dataflow) {
    let res = hw.run(net, 2, df).unwrap_or_else(|e| panic!("{e}"));
    let stats = hw.simulate_cycles(&res, None);
    for (r, c) in res.layers.iter().zip(&stats) {
        let tag = format!("{} / {} / {df} / {}", net.name, hw.arch.name, r.layer.name);
        assert_eq!(c.counts, r.eval.counts, "{tag}");
        if hw.arch.pe.skip_zero_cycles {
            // Gated MACs skip their cycles: at most the dense busiest-PE cycles.
            assert!(c.mac_cycles <= r.eval.cycles, "{tag}");
        } else {
            assert_eq!(c.mac_cycles, r.eval.cycles, "{tag}");
        }
        // Each busy PE does at most `simd` MACs a cycle.
        let lanes = (r.eval.active_pes * hw.arch.pe.simd) as f64;
        let mac_bound = (r.energy.effective_macs / lanes).floor() as u64;
        assert!(
            c.total_cycles >= mac_bound,
            "{tag}: {} < MAC bound {mac_bound}",
            c.total_cycles
        );
        assert!(c.processing_cycles >= c.mac_cycles, "{tag}");
        let dram_bound = (c.dram_words / hw.arch.dram_words_per_cycle()).floor() as u64;
        assert!(
            c.total_cycles >= dram_bound,
            "{tag}: {} < DRAM bound {dram_bound}",
            c.total_cycles
        );
        assert!(c.total_cycles >= c.processing_cycles, "{tag}");
    }
}

/// Replaying one stepped pass per shape gives exactly what stepping every cycle of every pass
/// gives, on small layers (every layer of AlexNet at batch 1 but the big FC ones, and the
/// first VGG-16 block at batch 1), for every dataflow.
#[test]
fn replay_equals_stepping_every_pass() {
    for (name, take) in [
        ("alexnet.toml", 5),
        ("vgg16.toml", 2),
        ("mobilenet_v1.toml", 4),
    ] {
        let net = trace(name);
        let hw = config("eyeriss-v1.toml");
        for df in Dataflow::ALL {
            for (i, l) in net.layers.iter().take(take).enumerate() {
                let r = hw.run_layer(l, 1, df, i == 0).unwrap();
                let p = CycleParams::default();
                let memo = simulate(l, &hw.arch, 1, &r.eval.mapping, &p, Replay::Memo, None);
                let all = simulate(l, &hw.arch, 1, &r.eval.mapping, &p, Replay::StepAll, None);
                assert_eq!(memo, all, "{name} {df} {}", l.name);
            }
        }
    }
}

/// A pass worked out by hand: AlexNet CONV3-like layer, one pass, filter bus 64 bits.
#[test]
fn one_pass_by_hand() {
    use ember_sim::rs::RsMapping;
    use ember_sim::{Layer, Mapping};
    // 1 image, 4 channels of 5x5 (pad 1), 2 filters 3x3: E = F = 5. Mapping: everything in one
    // pass (p = 2, q = 4, r = t = 1, e = 5).
    let mut l = Layer::conv("L", 4, 5, 5, 2, 3, 3);
    l.pad = 1;
    let hw = config("eyeriss-v1.toml");
    let mp = Mapping::from(RsMapping {
        n: 1,
        p: 2,
        q: 4,
        r: 1,
        t: 1,
        e: 5,
        m: 2,
        ifmap_resident: true,
        segment: None,
        u: 1,
    });
    let c = simulate(
        &l,
        &hw.arch,
        1,
        &mp,
        &CycleParams::default(),
        Replay::StepAll,
        None,
    );
    // Filter load: 2·4·3·3 = 72 words over 4 words/cycle = 18 cycles.
    assert_eq!(c.stalls.filter_load, 18);
    // MACs per column on each PE: p·q·S = 24; 5 columns: 120 MAC cycles.
    assert_eq!(c.mac_cycles, 120);
    // Ifmap bus, 1 word/cycle: a column of the strip is 4 channels x 5 rows = 20 words. Column
    // 0 needs real columns 0..1 (its window is padded column 0..2): 40 words -> stall 40 cycles
    // before the first MAC. Column x then needs columns up to x + 1: 20 more words, arriving
    // while the 24-cycle column computes, so no further ifmap stalls.
    assert_eq!(c.stalls.ifmap_bus, 40);
    // Psums out: 2 filters x 5 rows = 10 words per column at 4 words/cycle: 3 cycles, hidden
    // behind the next column except the last one's (3 cycles of draining, psum-bus time).
    assert_eq!(c.stalls.psum_bus, 3);
    // Pipeline: 3 stages, 2 extra cycles to drain.
    assert_eq!(c.stalls.pipeline, 2);
    // Before all of it, the layer's 1794 configuration bits, one per cycle.
    assert_eq!(c.stalls.configuration, 1794);
    assert_eq!(c.processing_cycles, 1794 + 18 + 40 + 120 + 3 + 2);
}

/// The psum networks in and out of the array are separate (Eyeriss's psum GIN and GON, JSSC
/// 2017 §V-B) and bounded by the GLB's psum banks. AlexNet CONV2 with p = 22, q = 2 (one 5x27
/// set folded in two, 135 PEs): a column of a pass with m filters costs m·q·S = 10m MAC cycles
/// and moves m·e = 27m psum words in and 27m out. At 4 words/cycle each way that is 6.75m
/// cycles: hidden behind the next column; only the last column's 27m words leave after the
/// last MAC, ceil(27m / 4) cycles. The 128 filters of a group run in pieces of 22, 22, 22, 22,
/// 22 and 18, so every 6 passes drain 5 x ceil(594 / 4) + ceil(486 / 4) = 867 cycles. One
/// 64-bit GLB bank for everything (in + out share 4 words/cycle: 13.5m > 10m) must stall more.
/// A 16-bit output network (27m cycles a column) makes every column from the third wait for the
/// psums of the column two before it to leave: 27m - 10m = 17m cycles, for the 25 of the 27
/// columns of a pass; the last column starts with 27m words waiting, 10m leave during its MACs,
/// and its own 27m join them: 44m cycles of draining. Every 6 passes: (25 x 17 + 44) x 128.
#[test]
fn psum_networks_and_banks() {
    use ember_sim::rs::RsMapping;
    use ember_sim::{Mapping, Network};
    let net = Network::load(&common::root().join("traces/alexnet.toml")).unwrap();
    let l = &net.layers[1];
    let hw = config("eyeriss-v1.toml");
    let mp = Mapping::from(RsMapping {
        n: 1,
        p: 22,
        q: 2,
        r: 1,
        t: 1,
        e: 27,
        m: 22,
        ifmap_resident: true,
        segment: None,
        u: 1,
    });
    ember_sim::evaluate_mapping(l, &hw.arch, 4, &mp).expect("the mapping fits eyeriss-v1");
    let run = |arch: &ember_sim::HwConfig| {
        simulate(l, arch, 4, &mp, &CycleParams::default(), Replay::Memo, None)
    };
    let base = run(&hw.arch);
    assert_eq!(base.passes % 6, 0);
    assert_eq!(base.stalls.psum_bus, base.passes / 6 * 867);
    let mut one_bank = hw.arch.clone();
    one_bank.glb.banks = 1;
    assert!(run(&one_bank).stalls.psum_bus > 0);
    let mut narrow = hw.arch.clone();
    narrow.noc.psum_out_bus_bits = Some(16);
    let slow = run(&narrow);
    assert_eq!(slow.stalls.psum_bus, base.passes / 6 * (25 * 17 + 44) * 128);
}

/// Eyeriss stops processing while ifmaps load and ofmaps drain (`dram.overlap_fmaps = false`,
/// JSSC 2017 §VI-A): its total time is at least the on-chip time plus the time the link needs
/// for the (compressed) ifmap and ofmap words. With overlap allowed, the same mapping finishes
/// no later.
#[test]
fn fmap_traffic_not_overlapped_on_eyeriss() {
    let net = trace("alexnet.toml");
    let hw = config("eyeriss-v1.toml");
    assert!(!hw.arch.dram.overlap_fmaps);
    let res = hw.run(&net, 4, Dataflow::RowStationary).unwrap();
    let stats = hw.simulate_cycles(&res, None);
    let mut overlapping = hw.arch.clone();
    overlapping.dram.overlap_fmaps = true;
    for (i, (r, c)) in res.layers.iter().zip(&stats).enumerate() {
        let p = hw.cycle_params(&res, i);
        let d = c.counts.dram();
        let fmap_words =
            d.ifmaps.reads as f64 * p.dram_scale[1] + d.psums.writes as f64 * p.dram_scale[2];
        let bound = c.processing_cycles as f64 + fmap_words / hw.arch.dram_words_per_cycle();
        assert!(
            c.total_cycles as f64 >= bound.floor(),
            "{}: {} < {bound}",
            r.layer.name,
            c.total_cycles
        );
        let o = simulate(
            &r.layer,
            &overlapping,
            4,
            &r.eval.mapping,
            &p,
            Replay::Memo,
            None,
        );
        assert!(o.total_cycles <= c.total_cycles, "{}", r.layer.name);
        assert_eq!(o.processing_cycles, c.processing_cycles);
    }
}

/// The edp objective visits candidates by a lower bound and stops early; it must pick exactly
/// what timing every candidate of the exhaustive search picks (AlexNet CONV2-5 and two
/// MobileNet layers; the first also shows the tie-break is the same).
#[test]
fn edp_search_equals_exhaustive() {
    use ember_estimator::run::Objective;
    use ember_estimator::EnergyObjective;
    let hw = config("eyeriss-v1.toml");
    for (name, range) in [("alexnet.toml", 1..5), ("mobilenet_v1.toml", 0..2)] {
        let net = trace(name);
        for i in range {
            let l = &net.layers[i];
            let got = hw
                .run_layer_with(l, 2, Dataflow::RowStationary, i == 0, Objective::Edp)
                .unwrap();
            let energy = EnergyObjective::new(l, &hw.context(i == 0));
            let params = hw.layer_cycle_params(l, i == 0);
            let edp = |ev: &ember_sim::Evaluation| {
                let c = simulate(l, &hw.arch, 2, &ev.mapping, &params, Replay::Memo, None);
                c.total_cycles as f64 * energy.energy(ev)
            };
            let want = ember_sim::rs::search_reference(l, &hw.arch, 2, &edp).unwrap();
            assert_eq!(got.eval, want, "{name} {}", l.name);
        }
    }
}

/// The bounds the edp search prunes by never exceed what cycle mode gives: the counts-only
/// bound, the buffer-aware one (`latency_lower_bound`), and the bound a timing stops on after
/// each pass (`total_cycles_within` never stops a run that ends within its limit, and a run it
/// lets end gives cycle mode's total). Every candidate of AlexNet CONV1, CONV3, CONV5 and three
/// MobileNet layers, and 700 of the 140k candidates of AlexNet FC8 (batch 2), in
/// row-stationary; 20 candidates spread over the space of AlexNet CONV2, CONV3 and FC8 and of
/// two MobileNet layers in each other dataflow (timing all of theirs takes minutes); with the
/// chip's compression, on eyeriss-v1 and on a copy that also skips zero cycles.
#[test]
fn time_lower_bound_holds_for_every_candidate() {
    let mut skipping = config("eyeriss-v1.toml");
    skipping.arch.pe.skip_zero_cycles = true;
    let (alexnet, mobilenet) = (trace("alexnet.toml"), trace("mobilenet_v1.toml"));
    // (network, layer, dataflows, candidates to check).
    let rs: &[Dataflow] = &[Dataflow::RowStationary];
    let others = &Dataflow::ALL[1..];
    let mut cases: Vec<(&ember_sim::Network, usize, &[Dataflow], u64)> = vec![
        (&alexnet, 0, rs, u64::MAX),
        (&alexnet, 2, rs, u64::MAX),
        (&alexnet, 4, rs, u64::MAX),
        (&alexnet, 7, rs, 700),
    ];
    for i in 1..5 {
        cases.push((&mobilenet, i, rs, u64::MAX));
    }
    for i in [1, 2, 7] {
        cases.push((&alexnet, i, others, 20));
    }
    for i in [1, 2] {
        cases.push((&mobilenet, i, others, 20));
    }
    let mut stopped = 0;
    for hw in [config("eyeriss-v1.toml"), skipping] {
        for &(net, i, dfs, most) in &cases {
            for &df in dfs {
                let (seen, stops) = bounds_hold(&hw, &net.layers[i], i == 0, df, most);
                assert!(seen > 0, "{} {} {df}", net.name, net.layers[i].name);
                stopped += stops;
            }
        }
    }
    assert!(stopped > 0, "a timing limited below its total stops");
}

/// `time_lower_bound_holds_for_every_candidate` on about `most` candidates spread evenly over
/// the space of one layer in one dataflow (batch 2): how many were checked, and how many
/// timings limited to 99 % of their total stopped.
fn bounds_hold(
    hw: &ember_estimator::Hardware,
    l: &ember_sim::Layer,
    first: bool,
    df: Dataflow,
    most: u64,
) -> (u64, u64) {
    use ember_sim::cycle::{latency_lower_bound, total_cycles_lower_bound, total_cycles_within};
    use std::cell::Cell;
    let params = hw.layer_cycle_params(l, first);
    let space = Cell::new(0u64);
    df.model().search_reference(l, &hw.arch, 2, &|_| {
        space.set(space.get() + 1);
        0.0
    });
    let every = space.get().div_ceil(most).max(1);
    let (seen, checked, stops) = (Cell::new(0u64), Cell::new(0u64), Cell::new(0u64));
    let check = |ev: &ember_sim::Evaluation| {
        seen.set(seen.get() + 1);
        if !(seen.get() - 1).is_multiple_of(every) {
            return 0.0;
        }
        checked.set(checked.get() + 1);
        let c = simulate(l, &hw.arch, 2, &ev.mapping, &params, Replay::Memo, None);
        let total = c.total_cycles;
        let tag = format!("{} {df} {:?}", l.name, ev.mapping);
        for bound in [
            total_cycles_lower_bound(l, &hw.arch, ev, &params),
            latency_lower_bound(l, &hw.arch, 2, ev, &params),
        ] {
            assert!(bound <= total as f64, "{tag}: bound {bound} > {total}");
        }
        let within = |limit: u64| total_cycles_within(l, &hw.arch, 2, ev, &params, &|b| b > limit);
        assert_eq!(within(total), Some(total), "{tag}");
        match within(total - total / 100 - 1) {
            None => stops.set(stops.get() + 1),
            Some(t) => assert_eq!(t, total, "{tag}"),
        }
        0.0
    };
    df.model().search_reference(l, &hw.arch, 2, &check);
    (checked.get(), stops.get())
}

/// The row-stationary stream the edp search runs (`DataflowModel::stream`) skips only
/// candidates whose floor (energy x the counts-only time bound, on the counts of the cheapest
/// conceivable candidate of a part of the space) exceeds what its visitor still wants: with
/// the visitor answering a fixed bound, every candidate of `search_reference` whose floor does
/// not exceed it is visited; answering infinity, exactly `search_reference`'s candidates are
/// (every AlexNet layer at batches 1 and 4, the first MobileNet layers and two small layers at
/// batch 3, on every Eyeriss config; thresholds at quantiles of the floors).
#[test]
fn stream_skips_only_what_its_floor_rules_out() {
    let (alexnet, mobilenet) = (trace("alexnet.toml"), trace("mobilenet_v1.toml"));
    let mut padded = ember_sim::Layer::conv("padded", 8, 9, 9, 12, 3, 3);
    padded.pad = 1;
    let mut cases: Vec<(&ember_sim::Layer, bool, usize)> = Vec::new();
    for (i, l) in alexnet.layers.iter().enumerate() {
        cases.push((l, i == 0, 1));
        cases.push((l, i == 0, 4));
    }
    for l in &mobilenet.layers[..4] {
        cases.push((l, false, 3));
    }
    cases.push((&padded, false, 3));
    let model = Dataflow::RowStationary.model();
    for hw in configs() {
        for &(l, first, batch) in &cases {
            common::stream_visits_what_it_must(&hw, l, first, batch, model);
        }
    }
}

/// The edp search of the other dataflows: the lower bound (streamed weights overlap the MACs
/// for OS and NLR, so their bound takes the longest of the three streams rather than a sum)
/// never exceeds what cycle mode gives for any sampled candidate, and visiting candidates by
/// it picks exactly what timing every candidate picks (two small layers, batch 2, eyeriss-v1
/// and its zero-skipping copy: timing every candidate of an AlexNet layer takes minutes).
#[test]
fn edp_of_every_dataflow_equals_exhaustive() {
    use ember_estimator::run::Objective;
    use ember_estimator::EnergyObjective;
    use ember_sim::cycle::{latency_lower_bound, total_cycles_lower_bound};
    let mut skipping = config("eyeriss-v1.toml");
    skipping.arch.pe.skip_zero_cycles = true;
    for hw in [config("eyeriss-v1.toml"), skipping] {
        let mut padded = ember_sim::Layer::conv("padded", 8, 9, 9, 12, 3, 3);
        padded.pad = 1;
        padded.ifmap_density = 0.6;
        let mut strided = ember_sim::Layer::conv("strided", 6, 11, 11, 20, 3, 3);
        strided.stride = 2;
        for (name, l) in [("padded", &padded), ("strided", &strided)] {
            let energy = EnergyObjective::new(l, &hw.context(false));
            let params = hw.layer_cycle_params(l, false);
            for df in &Dataflow::ALL[1..] {
                let edp = |ev: &ember_sim::Evaluation| {
                    let c = simulate(l, &hw.arch, 2, &ev.mapping, &params, Replay::Memo, None);
                    let bound = total_cycles_lower_bound(l, &hw.arch, ev, &params)
                        .max(latency_lower_bound(l, &hw.arch, 2, ev, &params));
                    assert!(
                        bound <= c.total_cycles as f64,
                        "{name} {df} {:?}",
                        ev.mapping
                    );
                    c.total_cycles as f64 * energy.energy(ev)
                };
                let want = df.model().search_reference(l, &hw.arch, 2, &edp).unwrap();
                let got = hw.run_layer_with(l, 2, *df, false, Objective::Edp).unwrap();
                assert_eq!(got.eval, want, "{name} {df} {}", l.name);
            }
        }
    }
}

/// The streaming edp search (bounded memory, two passes, parts of the space skipped by the
/// counts-only floor, timings stopped once they cannot win) picks exactly what the collecting
/// one it replaced picks (`search_lower_bounded_reference`: every candidate sorted by bound and
/// timed in full), with the same bound: every AlexNet layer in row-stationary at batches 1 and
/// 4 on eyeriss-v1 with the buffer-aware bound (what the edp objective runs); and in every
/// dataflow, on eyeriss-v1, a copy that skips zero cycles and a copy that overlaps fmap traffic
/// (other buffering, other bound terms), holding 1, 5 or the default number of candidates (so
/// the second pass runs, also after a first pass that timed almost nothing): the first
/// MobileNet layers (a depthwise and a pointwise one) at batches 1 and 3 with that bound, and
/// two small layers at batches 1, 3 and 16 with it and with the counts-only bound (the
/// MobileNet layers take minutes with the latter). Each search runs with timings that stop
/// (`total_cycles_within`, what the edp objective runs) and, holding the default number, with
/// timings that run to the end.
#[test]
fn streaming_edp_search_equals_collecting() {
    use ember_sim::dataflow::SEARCH_KEPT;
    let mut skipping = config("eyeriss-v1.toml");
    skipping.arch.pe.skip_zero_cycles = true;
    let mut overlapping = config("eyeriss-v1.toml");
    overlapping.arch.dram.overlap_fmaps = true;
    let mut padded = ember_sim::Layer::conv("padded", 8, 9, 9, 12, 3, 3);
    padded.pad = 1;
    padded.ifmap_density = 0.6;
    let mut strided = ember_sim::Layer::conv("strided", 6, 11, 11, 20, 3, 3);
    strided.stride = 2;
    let alexnet = trace("alexnet.toml");
    let mobilenet = trace("mobilenet_v1.toml");
    // (layer, first layer, dataflows, batches, every config, bounds, candidates held).
    type Case<'a> = (
        &'a ember_sim::Layer,
        bool,
        &'a [Dataflow],
        &'a [usize],
        bool,
        usize,
        &'a [usize],
    );
    let all_held: &[usize] = &[1, 5, SEARCH_KEPT];
    let mut cases: Vec<Case> = Vec::new();
    for (i, l) in alexnet.layers.iter().enumerate() {
        let rs: &[Dataflow] = &[Dataflow::RowStationary];
        cases.push((l, i == 0, rs, &[1, 4], false, 1, &[SEARCH_KEPT]));
    }
    for l in [&mobilenet.layers[1], &mobilenet.layers[2]] {
        cases.push((l, false, &Dataflow::ALL, &[1, 3], true, 1, all_held));
    }
    for l in [&padded, &strided] {
        cases.push((l, false, &Dataflow::ALL, &[1, 3, 16], true, 2, all_held));
    }
    let mut compared = 0;
    for (h, hw) in [config("eyeriss-v1.toml"), skipping, overlapping]
        .iter()
        .enumerate()
    {
        for &(l, first, dfs, batches, every_hw, n_bounds, holds) in &cases {
            if !every_hw && h > 0 {
                continue;
            }
            for &df in dfs {
                for &batch in batches {
                    let run = (l, first, df, batch);
                    compared += streaming_equals_collecting(hw, run, n_bounds, holds);
                }
            }
        }
    }
    assert_eq!(compared, 2 * 16 + 4 * 48 + 4 * 144, "every case compared");
}

/// `streaming_edp_search_equals_collecting` on one layer, dataflow and batch: with the first
/// `n_bounds` of the buffer-aware and counts-only bounds, timings that stop holding each of
/// `holds` candidates and timings that run to the end holding the default number. How many
/// searches were compared.
fn streaming_equals_collecting(
    hw: &ember_estimator::Hardware,
    (l, first, df, batch): (&ember_sim::Layer, bool, Dataflow, usize),
    n_bounds: usize,
    holds: &[usize],
) -> usize {
    use ember_estimator::EnergyObjective;
    use ember_sim::cycle::{latency_lower_bound, total_cycles_lower_bound, total_cycles_within};
    use ember_sim::dataflow::{
        search_lower_bounded_keeping, search_lower_bounded_reference, Bounded, SEARCH_KEPT,
    };
    type Ev = ember_sim::Evaluation;
    let energy = EnergyObjective::new(l, &hw.context(first));
    let params = hw.layer_cycle_params(l, first);
    let edp = |ev: &Ev| {
        let c = simulate(l, &hw.arch, batch, &ev.mapping, &params, Replay::Memo, None);
        c.total_cycles as f64 * energy.energy(ev)
    };
    let counts_only =
        |ev: &Ev| total_cycles_lower_bound(l, &hw.arch, ev, &params).floor() * energy.energy(ev);
    let buffered =
        |ev: &Ev| latency_lower_bound(l, &hw.arch, batch, ev, &params).floor() * energy.energy(ev);
    let stopping = |ev: &Ev, limit: f64| {
        let e = energy.energy(ev);
        let over = |c: u64| c as f64 * e > limit;
        let c = total_cycles_within(l, &hw.arch, batch, ev, &params, &over)?;
        Some(c as f64 * e)
    };
    let full = |ev: &Ev, _: f64| Some(edp(ev));
    type Timed<'a> = &'a dyn Fn(&Ev, f64) -> Option<f64>;
    let costs: [(Timed, &[usize]); 2] = [(&stopping, holds), (&full, &[SEARCH_KEPT])];
    let bounds: [&dyn Fn(&Ev) -> f64; 2] = [&buffered, &counts_only];
    let mut compared = 0;
    for (b, lower) in bounds.iter().take(n_bounds).enumerate() {
        let want = search_lower_bounded_reference(df, l, &hw.arch, batch, lower, &edp);
        for (cost, holds) in costs {
            let floor = &counts_only;
            let bounded = Bounded { lower, floor, cost };
            for &kept in holds {
                let got = search_lower_bounded_keeping(kept, df, l, &hw.arch, batch, &bounded);
                let (hw, l) = (&hw.arch.name, &l.name);
                assert_eq!(
                    got, want,
                    "{hw} / {l} / {df} / batch {batch} / bound {b} / kept {kept}"
                );
                compared += 1;
            }
        }
    }
    compared
}

/// Every cycle of a layer is MAC work or a named stall (issue 13 item 6): total cycles =
/// MAC cycles + configuration + filter load + ifmap bus + psum bus + pipeline + DRAM, for every
/// shipped trace on every shipped config (row-stationary, batch 2) and AlexNet in every
/// dataflow; the last column's psums leaving after the last MAC count as psum-bus time.
#[test]
fn every_cycle_has_a_cause() {
    let check = |hw: &ember_estimator::Hardware, net: &ember_sim::Network, df: Dataflow| {
        let res = hw.run(net, 2, df).unwrap();
        for (c, l) in hw.simulate_cycles(&res, None).iter().zip(&res.layers) {
            let s = &c.stalls;
            let named = s.configuration + s.filter_load + s.ifmap_bus + s.psum_bus;
            let all = c.mac_cycles + named + s.pipeline + s.dram;
            assert_eq!(
                all, c.total_cycles,
                "{} {} {df:?}: {s:?}",
                hw.arch.name, l.layer.name
            );
        }
    };
    for hw in configs() {
        for net in traces() {
            check(&hw, &net, Dataflow::RowStationary);
        }
        for df in common::dataflows(&hw) {
            check(&hw, &trace("alexnet.toml"), df);
        }
    }
}
