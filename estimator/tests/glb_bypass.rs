//! `[glb] holds` and `[glb] ofmaps_to_dram` through the config format, the estimator and cycle
//! mode: located errors with a fix; cycle-mode counts equal the analytic counts on every trace
//! and dataflow with the keys on; the energy-and-time (edp) row-stationary search equals the
//! exhaustive one with them on.

mod common;

use common::{trace, traces};
use ember_estimator::Hardware;
use ember_sim::cycle::{simulate, Replay};
use ember_sim::{Dataflow, SimError};

fn v1_text() -> String {
    std::fs::read_to_string(common::root().join("hw_configs/eyeriss-v1.toml")).unwrap()
}

fn parse(text: &str) -> Result<Hardware, SimError> {
    Hardware::parse(std::path::Path::new("bypass.toml"), text)
}

/// eyeriss-v1 with `[glb]` lines `extra` added (after `bank_width_bits`), and the filter buffer
/// set to `filter_words`.
fn v1_with(extra: &str, filter_words: usize) -> String {
    v1_text()
        .replacen(
            "filter_words = 4096",
            &format!("filter_words = {filter_words}"),
            1,
        )
        .replacen(
            "bank_width_bits = 64\n",
            &format!("bank_width_bits = 64\n{extra}\n"),
            1,
        )
}

#[test]
fn holds_errors_name_file_line_key_and_fix() {
    let cases = [
        (v1_with("holds = []", 0), "glb.holds", "is empty"),
        (
            v1_with("holds = [\"ifmaps\", \"psums\", \"ifmaps\"]", 0),
            "glb.holds",
            "twice",
        ),
        (
            v1_with("holds = [\"weights\", \"ifmaps\"]", 0),
            "glb.holds",
            "leaves out psums",
        ),
        (
            v1_with("holds = [\"ifmaps\", \"psums\"]", 4096),
            "glb.filter_words",
            "weights bypass",
        ),
        (
            v1_with("holds = [\"filters\", \"psums\"]", 0),
            "glb.holds",
            "unknown variant",
        ),
    ];
    for (bad, key, rule) in cases {
        let e = parse(&bad).expect_err(rule).to_string();
        let line = bad
            .lines()
            .position(|l| l.starts_with(key.split('.').nth(1).unwrap()))
            .unwrap()
            + 1;
        assert!(e.contains(&format!("bypass.toml:{line}")), "{rule}: {e}");
        // A misspelt type is refused by the TOML reader, at its line, before keys are named.
        if rule != "unknown variant" {
            assert!(e.contains(&format!("`{key}`")), "{rule}: {e}");
        }
        assert!(e.contains(rule) && e.contains("fix:"), "{rule}: {e}");
    }
    // The `[[level]]` form names the list entry.
    let l2 = std::fs::read_to_string(common::root().join("hw_configs/eyeriss-v1-l2.toml")).unwrap();
    let bad = l2.replacen(
        "bank_width_bits = 64\n",
        "bank_width_bits = 64\nholds = []\n",
        1,
    );
    let e = parse(&bad).expect_err("empty").to_string();
    assert!(e.contains("`level[2].holds`") && e.contains("fix:"), "{e}");
}

/// Eyeriss v2's routing on the v1 chip: weights bypass (no filter buffer), final ofmaps to DRAM;
/// and ifmaps bypassing instead.
fn bypass_configs() -> Vec<Hardware> {
    [
        v1_with("holds = [\"ifmaps\", \"psums\"]\nofmaps_to_dram = true", 0),
        v1_with("holds = [\"weights\", \"psums\"]", 4096),
        v1_with("holds = [\"psums\"]\nofmaps_to_dram = true", 0),
    ]
    .iter()
    .map(|t| parse(t).unwrap_or_else(|e| panic!("{e}")))
    .collect()
}

/// Every access cycle mode counts pass by pass equals the analytic count, every trace x
/// dataflow, with the keys on (`counts::AccessCounts::place` routes both alike); cycles stay
/// above the DRAM bound of the words the routed link moves.
#[test]
fn cycle_mode_counts_equal_analytic_with_bypass() {
    for hw in bypass_configs() {
        for net in traces() {
            for df in Dataflow::ALL {
                let res = hw.run(&net, 2, df).unwrap_or_else(|e| panic!("{e}"));
                let stats = hw.simulate_cycles(&res, None);
                for (r, c) in res.layers.iter().zip(&stats) {
                    let tag = format!("{} / {df} / {} / {:?}", net.name, r.layer.name, hw.arch.glb);
                    assert_eq!(c.counts, r.eval.counts, "{tag}");
                    let dram = (c.dram_words / hw.arch.dram_words_per_cycle()).floor() as u64;
                    assert!(c.total_cycles >= dram, "{tag}");
                }
            }
        }
    }
}

/// The edp search (lower-bounded, stopping timings) equals timing every candidate of the
/// exhaustive search, with weights bypassing the GLB and ofmaps to DRAM.
#[test]
fn edp_search_equals_exhaustive_with_bypass() {
    use ember_estimator::run::Objective;
    use ember_estimator::EnergyObjective;
    for hw in bypass_configs() {
        let net = trace("alexnet.toml");
        for i in [1, 3] {
            let l = &net.layers[i];
            let got = hw
                .run_layer_with(l, 2, Dataflow::RowStationary, false, Objective::Edp)
                .unwrap();
            let energy = EnergyObjective::new(l, &hw.context(false));
            let params = hw.layer_cycle_params(l, false);
            let edp = |ev: &ember_sim::Evaluation| {
                let c = simulate(l, &hw.arch, 2, &ev.mapping, &params, Replay::Memo, None);
                c.total_cycles as f64 * energy.energy(ev)
            };
            let want = ember_sim::rs::search_reference(l, &hw.arch, 2, &edp).unwrap();
            assert_eq!(got.eval, want, "{} {:?}", l.name, hw.arch.glb);
        }
    }
}
