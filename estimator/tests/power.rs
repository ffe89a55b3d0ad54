//! Power beyond access energy (issue 13, deliverable 3): the clock network, control and
//! leakage of a config's `[power]` section, and what `ember validate` gives on the Eyeriss chip.

mod common;

use std::path::Path;

use common::{config, root, trace};
use ember_estimator::power::{average, Cited, PowerBreakdown, PowerSpec};
use ember_estimator::run::Objective;
use ember_estimator::validate::{validate, Measurements};
use ember_estimator::Hardware;

fn cited(value: f64) -> Cited {
    Cited {
        value,
        source: "test".into(),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// The formula on a small case, every number derived by hand:
/// - V = 0.5 V, C_clock = 100 pF: clock energy per cycle C·V² = 100 × 0.25 = 25 pJ; over 100
///   cycles 2500 pJ. The clock is 100 MHz, so the layer takes t = 100 / 1e8 = 1 µs.
/// - access energy 1000 pJ (given).
/// - control fraction 0.2: control = 0.2 / 0.8 × (1000 + 2500) = 875 pJ (then control is 20 %
///   of access + clock + control = 4375 pJ: 875 / 4375 = 0.2).
/// - leakage: 1000 gates × 1 µm + 2000 bits × 0.5 µm = 2000 µm; × 1e-9 A/µm = 2 µA;
///   × 0.5 V = 1 µW = 0.001 mW.
/// - power: 1000 pJ / 1 µs = 1 mW; clock 2.5 mW; control 0.875 mW; total
///   1 + 2.5 + 0.875 + 0.001 = 4.376 mW.
#[test]
fn power_formula_by_hand() {
    let spec = PowerSpec {
        vdd_v: cited(0.5),
        clock_pf: cited(100.0),
        pe_clock_pf: None,
        control_fraction: cited(0.2),
        leakage_a_per_um: cited(1e-9),
        logic_gates: cited(1000.0),
        gate_leak_um: cited(1.0),
        sram_bits: cited(2000.0),
        sram_bit_leak_um: cited(0.5),
    };
    let m = spec.check().unwrap();
    assert!(close(m.clock_pj_per_cycle(1.0), 25.0));
    assert!(
        close(m.clock_pj_per_cycle(0.25), 25.0),
        "no PE loads given: nothing gated"
    );
    assert!(close(m.leakage_mw(), 0.001));
    let p = m.power(1000.0, 100, 100.0, 1.0);
    assert!(close(p.access_mw, 1.0), "{p:?}");
    assert!(close(p.clock_mw, 2.5), "{p:?}");
    assert!(close(p.control_mw, 0.875), "{p:?}");
    assert!(close(p.leakage_mw, 0.001), "{p:?}");
    assert!(close(p.total_mw, 4.376), "{p:?}");
    assert!(close(p.time_ms, 0.001), "{p:?}");
}

/// Idle PEs are clock gated (JSSC 2017 §IV-A): with 80 of the 100 pF in the PEs and a quarter of
/// the PEs busy, the clock switches 100 - 80 x 0.75 = 40 pF: 40 x 0.5² = 10 pJ a cycle, 1000 pJ
/// over 100 cycles of 1 µs, 1 mW (2.5 mW with every PE busy). PE loads above the whole clock's
/// are refused by key.
#[test]
fn idle_pes_are_clock_gated() {
    let mut spec = PowerSpec {
        vdd_v: cited(0.5),
        clock_pf: cited(100.0),
        pe_clock_pf: Some(cited(80.0)),
        control_fraction: cited(0.0),
        leakage_a_per_um: cited(0.0),
        logic_gates: cited(0.0),
        gate_leak_um: cited(0.0),
        sram_bits: cited(0.0),
        sram_bit_leak_um: cited(0.0),
    };
    let m = spec.check().unwrap();
    assert!(close(m.clock_pj_per_cycle(0.25), 10.0));
    assert!(close(m.power(0.0, 100, 100.0, 0.25).clock_mw, 1.0));
    assert!(close(m.power(0.0, 100, 100.0, 1.0).clock_mw, 2.5));
    spec.pe_clock_pf = Some(cited(120.0));
    let (key, rule, _) = spec.check().unwrap_err();
    assert_eq!(key, "power.pe_clock_pf");
    assert!(rule.contains("exceeds `power.clock_pf`"), "{rule}");
}

/// The average is energy over time: 10 mW for 1 ms and 40 mW for 3 ms is
/// (10 + 120) µJ / 4 ms = 32.5 mW (not the plain mean, 25 mW).
#[test]
fn average_is_energy_over_time() {
    let layer = |mw: f64, ms: f64| PowerBreakdown {
        access_mw: mw,
        clock_mw: 0.0,
        control_mw: 0.0,
        leakage_mw: 0.0,
        total_mw: mw,
        time_ms: ms,
    };
    let a = average(&[layer(10.0, 1.0), layer(40.0, 3.0)]).unwrap();
    assert!(close(a.total_mw, 32.5), "{a:?}");
    assert!(close(a.time_ms, 4.0));
    assert!(average(&[]).is_none());
}

fn eyeriss_text() -> String {
    std::fs::read_to_string(root().join("hw_configs/eyeriss-v1.toml")).unwrap()
}

fn parse_err(text: &str) -> String {
    Hardware::parse(Path::new("x.toml"), text)
        .unwrap_err()
        .to_string()
}

/// Bad values are refused by key, with the line and a fix.
#[test]
fn bad_power_values_name_key_line_and_fix() {
    let text = eyeriss_text();
    let line_of = |t: &str, key: &str| {
        t.lines()
            .position(|l| l.starts_with(key))
            .map(|i| i + 1)
            .unwrap()
    };
    // A control share of 1 would make control energy infinite.
    let t = text.replace(
        "control_fraction = { value = 0.15,",
        "control_fraction = { value = 1.0,",
    );
    let e = parse_err(&t);
    assert!(e.contains("power.control_fraction"), "{e}");
    assert!(
        e.contains(&format!(":{}", line_of(&t, "control_fraction"))),
        "{e}"
    );
    assert!(e.contains("below 1"), "{e}");
    // A negative capacitance.
    let t = text.replace("clock_pf = { value = 531.3,", "clock_pf = { value = -1.0,");
    let e = parse_err(&t);
    assert!(
        e.contains("power.clock_pf") && e.contains("non-negative"),
        "{e}"
    );
    // A value without its source.
    let t = text.replace(
        "source = \"CACTI 6.5/7 technology.cc, 65 nm ITRS LSTP device: I_off_n = 9.12e-12 A/um at 300 K\"",
        "source = \" \"",
    );
    let e = parse_err(&t);
    assert!(
        e.contains("power.leakage_a_per_um") && e.contains("no source"),
        "{e}"
    );
    // A bare number is not a cited value.
    let t = text.replace(
        "vdd_v = { value = 1.0, source = \"Chen et al., JSSC 52(1) 2017, Table V: AlexNet measured at 1 V, 200 MHz\" }",
        "vdd_v = 1.0",
    );
    let e = parse_err(&t);
    assert!(
        e.contains(&format!(":{}", line_of(&t, "vdd_v"))) && e.contains("not a bare number"),
        "{e}"
    );
    // Static power twice.
    let t = text.replace("static_mw = 0.0", "static_mw = 30.0");
    let e = parse_err(&t);
    assert!(
        e.contains("energy_pj.static_mw") && e.contains("twice"),
        "{e}"
    );
    // [power] needs pJ access energies.
    let (head, tail) = text.split_once("\n[energy_pj]\n").unwrap();
    let (_, rest) = tail.split_once("\n[power]\n").unwrap();
    let t = format!("{head}\n[power]\n{rest}");
    let e = parse_err(&t);
    assert!(e.contains("no [energy_pj]"), "{e}");
}

/// `ember validate` on AlexNet CONV1-5 (JSSC 2017 Table V), mapped for EDP as validate does.
///
/// What the model gives, term by term, derived by hand from the `[power]` parameters:
/// - clock: C·V²·f with the idle PEs' loads gated, C = 531.3 pF − 522.0 pF × idle / 168, at
///   1 V and 200 MHz (the clock runs every cycle of the layer, DRAM-bound cycles included):
///   CONV1 (154 PEs busy, JSSC 2017 Table V) 531.3 − 43.5 = 487.8 pF, 97.56 mW; CONV2 (135)
///   531.3 − 102.54 = 428.76 pF, 85.75 mW; CONV3-5 (156) 531.3 − 37.29 = 494.01 pF, 98.80 mW.
/// - leakage: 9.12e-12 A/µm × (1 176 000 × 0.630 µm + 1 486 848 × 0.3003 µm) × 1 V
///   = 9.12e-12 × 1 187 380 µm = 10.83 µW = 0.0108 mW.
/// - control: 0.15 / 0.85 × (access + clock).
///
/// The errors (recorded in tests/golden and the README, not tuned): the clock and control
/// terms are layer-independent shares, so the per-layer trend is that of the access energy,
/// which is flat (157-180 mW) while the chip falls from 332 mW (CONV1, no zero ifmaps to gate)
/// to 235 mW (CONV4, 79 % zeros). The acceptance bounds (±15 % per layer, ±10 % on average)
/// do not hold and are not asserted.
#[test]
fn alexnet_validate_power_terms() {
    let hw = config("eyeriss-v1.toml");
    let net = trace("alexnet.toml");
    let meas = Measurements::load(&root().join("traces/measurements/eyeriss-jssc17-alexnet.toml"))
        .unwrap();
    let v = validate(&hw, &net, &meas, Objective::Edp).unwrap();
    let leak: f64 = 9.12e-12 * (1_176_000.0 * 0.630 + 1_486_848.0 * 0.3003) * 1.0 * 1e3;
    assert!((leak - 0.01083).abs() < 1e-5, "{leak}");
    for l in &v.layers {
        let p = l.power.expect("eyeriss-v1 has a [power] model");
        let busy = l.metrics["active_pes"].measured;
        let clock_pf = 531.3 - 522.0 * (168.0 - busy) / 168.0;
        assert!(
            (p.clock_mw - clock_pf * 0.2).abs() < 1e-9,
            "{}: {p:?}",
            l.name
        );
        assert!(close(p.leakage_mw, leak), "{}: {p:?}", l.name);
        assert!(
            close(p.control_mw, 0.15 / 0.85 * (p.access_mw + p.clock_mw)),
            "{}: {p:?}",
            l.name
        );
        assert!(close(
            p.total_mw,
            p.access_mw + p.clock_mw + p.control_mw + p.leakage_mw
        ));
        // The compared figure is the model's total.
        assert!(close(l.metrics["power_mw"].simulated, p.total_mw));
    }
    // Each error is the model's total against the chip's measured power (JSSC 2017 Table V:
    // 332, 288, 266, 235, 236 mW), and the average against its 278 mW.
    let table_v = [
        ("CONV1", 332.0),
        ("CONV2", 288.0),
        ("CONV3", 266.0),
        ("CONV4", 235.0),
        ("CONV5", 236.0),
    ];
    for (name, chip) in table_v {
        let l = v.layers.iter().find(|l| l.name == name).unwrap();
        let m = &l.metrics["power_mw"];
        assert_eq!(m.measured, chip, "{name}");
        let want = (l.power.unwrap().total_mw - chip) / chip * 100.0;
        assert!(
            close(m.error_pct, want),
            "{name}: {} vs {want}",
            m.error_pct
        );
    }
    let avg = v.average_power.unwrap();
    assert_eq!(avg.measured_mw, Some(278.0));
    let want = (avg.simulated.total_mw - 278.0) / 278.0 * 100.0;
    assert!(close(avg.error_pct.unwrap(), want), "{avg:?}");
    // The errors as recorded when the model was written (README, closing note of issue 13),
    // to two decimals: a change to any term shows here with its size. Tolerance: half of the
    // record's last digit, nothing more.
    let names = ["CONV1", "CONV2", "CONV3", "CONV4", "CONV5"];
    for (name, want) in names.iter().zip(ERRORS) {
        let l = v.layers.iter().find(|l| l.name == *name).unwrap();
        let e = l.metrics["power_mw"].error_pct;
        assert!(
            (e - want).abs() <= 0.005,
            "{name} power {e:+.3}% (recorded {want:+.2}%)"
        );
    }
    let e = avg.error_pct.unwrap();
    assert!(
        (e - ERRORS[5]).abs() <= 0.005,
        "average {e:+.3}% (recorded {:+.2}%)",
        ERRORS[5]
    );
}

/// Power errors (%) of CONV1-5 and of the average, as recorded in the README. History: CONV5
/// and the average moved (+33.20 -> +36.31, +16.81 -> +17.09) when the trace gained FC6's
/// published ifmap density (CONV5's ofmaps compress: less time, the same on-chip energy); then
/// every layer moved (-6.66/+17.00/+22.81/+37.02/+36.31, average +17.09) when idle PEs were
/// clock gated as JSSC 2017 §IV-A says the chip does (CONV2, 135 of 168 PEs busy, most); then
/// CONV1, CONV2, CONV5 and the average moved (-9.74/+8.62/+32.60, +11.93) when those layers'
/// ofmaps (written to DRAM before pooling) got their published pre-pooling densities: fewer
/// words to drain, a shorter layer, the same on-chip energy.
const ERRORS: [f64; 6] = [-7.80, 9.26, 19.51, 33.28, 33.95, 12.78];
