//! Structure-aware fuzzing of the two text inputs (issue 11, item 12): random traces and random
//! hardware configs, valid TOML with random keys, types and extreme values. Every input either
//! loads and runs (every dataflow, and cycle mode on small layers) to finite numbers, or fails
//! with an error that carries a fix; nothing panics.
//!
//! A few seconds by default. The long run: `EMBER_FUZZ_CASES=20000 cargo test --release -p
//! ember-estimator --test fuzz -- --nocapture` (prints cases and time).

mod common;

use std::path::Path;
use std::time::Instant;

use std::sync::atomic::{AtomicUsize, Ordering};

use ember_estimator::Hardware;
use ember_sim::{Dataflow, Network};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use toml::Value;

/// Cases per property: `EMBER_FUZZ_CASES`, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("EMBER_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A TOML value of any type, biased to the extremes a size or density can take.
fn value() -> impl Strategy<Value = Value> {
    let ints = prop_oneof![
        0i64..24,
        Just(0),
        Just(-1),
        Just(i64::MAX),
        Just(i64::MIN),
        Just(1 << 31),
        Just(1 << 32),
        Just((1 << 32) + 1),
        Just(1 << 53),
        Just(65536),
    ]
    .prop_map(Value::Integer);
    let floats = prop_oneof![
        0.0f64..2.0,
        Just(0.0),
        Just(-0.0),
        Just(1e-300),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(1e300),
        Just(-1.0),
    ]
    .prop_map(Value::Float);
    let strings = prop_oneof![
        Just("rs".to_string()),
        Just("fc".to_string()),
        Just("pJ".to_string()),
        Just("normalized".to_string()),
        Just("chip".to_string()),
        Just(String::new()),
        "[a-z\"\\\\\n\u{7}é]{0,12}",
    ]
    .prop_map(Value::String);
    prop_oneof![
        6 => ints,
        3 => floats,
        2 => strings,
        1 => any::<bool>().prop_map(Value::Boolean),
        1 => prop::collection::vec(0i64..5, 0..3)
            .prop_map(|v| Value::Array(v.into_iter().map(Value::Integer).collect())),
    ]
}

const LAYER_KEYS: &[&str] = &[
    "name",
    "kind",
    "c",
    "h",
    "w",
    "m",
    "r",
    "s",
    "stride",
    "pad",
    "groups",
    "ifmap_density",
    "weight_density",
    "ofmap_density",
    "pool",
    "colour",
];

/// A sensible value for a layer key (so most layers are valid and get mapped).
fn sensible(key: &str) -> BoxedStrategy<Value> {
    match key {
        "name" => "[A-Za-z0-9_]{1,6}".prop_map(Value::String).boxed(),
        "kind" => prop_oneof![Just("conv"), Just("fc")]
            .prop_map(|s| Value::String(s.into()))
            .boxed(),
        "c" | "m" => (1i64..40).prop_map(Value::Integer).boxed(),
        "h" | "w" => (1i64..20).prop_map(Value::Integer).boxed(),
        "r" | "s" => (1i64..16).prop_map(Value::Integer).boxed(),
        "stride" | "groups" => (1i64..4).prop_map(Value::Integer).boxed(),
        "pad" => (0i64..3).prop_map(Value::Integer).boxed(),
        "pool" => (1i64..4, 1i64..3)
            .prop_map(|(k, s)| {
                let mut t = toml::Table::new();
                t.insert("kernel".into(), Value::Integer(k));
                t.insert("stride".into(), Value::Integer(s));
                Value::Table(t)
            })
            .boxed(),
        _ => (0.05f64..1.0).prop_map(Value::Float).boxed(),
    }
}

/// One `[[layer]]` table: each key absent, sensible or (one time in `wild`) any value at all.
fn layer(wild: u32) -> impl Strategy<Value = toml::Table> {
    let fields: Vec<_> = LAYER_KEYS
        .iter()
        .map(|&k| {
            let present = if k == "colour" { 0.03 } else { 0.85 };
            let v = prop_oneof![wild => sensible(k), 1 => value().boxed()];
            (prop::bool::weighted(present), v).prop_map(move |(p, v)| p.then_some((k, v)))
        })
        .collect();
    fields.prop_map(|kv| {
        kv.into_iter()
            .flatten()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    })
}

/// A layer whose keys agree (a valid trace layer), possibly huge, for the cases that get mapped.
fn consistent_layer() -> impl Strategy<Value = toml::Table> {
    let size = prop_oneof![8 => 1i64..24, 1 => 24i64..600, 1 => Just(1 << 20)];
    (
        (1i64..6, 1i64..4, size.clone(), size, 1i64..20, 1i64..20),
        (
            0i64..3,
            1i64..4,
            any::<bool>(),
            prop::option::of((1i64..3, 1i64..3)),
        ),
        (0.05f64..1.0, 0.05f64..1.0, "[a-z]{1,4}"),
    )
        .prop_map(
            |((g, cg, mg, hw_extra, r, s), (pad, stride, fc, pool), (di, dw, name))| {
                let mut t = toml::Table::new();
                let int = Value::Integer;
                t.insert("name".into(), Value::String(name));
                let (h, w) = if fc {
                    (r, s)
                } else {
                    (r + hw_extra % 7, s + hw_extra % 5)
                };
                // Mostly small channel counts, sometimes huge ones (the size rules must catch
                // those that could overflow, and the search must cope with the others).
                let wide = |v: i64| if v % 17 == 0 { v << 20 } else { v % 64 + 1 };
                t.insert(
                    "c".into(),
                    int(g * cg * if mg % 23 == 0 { 1 << 20 } else { 1 }),
                );
                t.insert("m".into(), int(g * wide(mg)));
                t.insert("h".into(), int(h));
                t.insert("w".into(), int(w));
                if fc {
                    t.insert("kind".into(), Value::String("fc".into()));
                    t.insert("c".into(), int(cg));
                    t.insert("m".into(), int(mg));
                } else {
                    t.insert("r".into(), int(r));
                    t.insert("s".into(), int(s));
                    t.insert("pad".into(), int(pad));
                    t.insert("stride".into(), int(stride.min(r).min(s)));
                    t.insert("groups".into(), int(g));
                    if let Some((k, st)) = pool {
                        let mut p = toml::Table::new();
                        p.insert("kernel".into(), int(k));
                        p.insert("stride".into(), int(st));
                        t.insert("pool".into(), Value::Table(p));
                    }
                }
                t.insert("ifmap_density".into(), Value::Float(di));
                t.insert("weight_density".into(), Value::Float(dw));
                t
            },
        )
}

/// A whole trace's text.
fn trace() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            1 => prop::collection::vec(layer(8), 0..4),
            1 => prop::collection::vec(layer(200), 1..4),
            2 => prop::collection::vec(consistent_layer(), 1..4),
        ],
        prop::bool::weighted(0.1),
        prop::option::weighted(0.9, "[ -~\u{7}\n]{0,10}"),
    )
        .prop_map(|(layers, chain, name)| {
            let mut t = toml::Table::new();
            if let Some(n) = name {
                t.insert("name".into(), Value::String(n));
            }
            t.insert("source".into(), Value::String("fuzz".into()));
            t.insert("chain".into(), Value::Boolean(chain));
            t.insert(
                "layer".into(),
                Value::Array(layers.into_iter().map(Value::Table).collect()),
            );
            toml::to_string(&t).unwrap_or_default()
        })
}

/// Every number a result carries is finite, and so is what the reports derive from it.
fn assert_finite(res: &ember_estimator::NetworkResult, hw: &Hardware) -> Result<(), String> {
    let mut all = vec![res.total.total, res.total.mac, res.total.effective_macs];
    for l in &res.layers {
        let e = &l.energy;
        all.extend([e.total, e.mac, e.leakage, e.effective_macs]);
        all.extend(e.by_level);
        all.extend(e.by_data_type);
        all.push(l.eval.utilization(&hw.arch));
        for i in 0..e.accesses.len() {
            for d in ember_sim::DataType::ALL {
                let a = e.accesses.actions(i, d);
                all.extend([a.reads, a.writes, a.gated_reads, a.gated_writes]);
            }
        }
    }
    match all.iter().find(|v| !v.is_finite()) {
        Some(v) => Err(format!("non-finite {v} in {}", res.network)),
        None => Ok(()),
    }
}

/// Outcomes seen: [inputs that loaded, networks mapped, cycle-mode runs, mapping errors].
static SEEN: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];

fn seen(i: usize) {
    SEEN[i].fetch_add(1, Ordering::Relaxed);
}

/// Run `net` on `hw` in every dataflow (and cycle mode on small layers); every error carries a
/// fix and every result is finite.
fn run_all(net: &Network, hw: &Hardware, batch: usize) -> Result<(), TestCaseError> {
    seen(0);
    for df in Dataflow::ALL {
        match hw.run(net, batch, df) {
            Ok(res) => {
                seen(1);
                assert_finite(&res, hw).map_err(TestCaseError::fail)?;
                let small = res.layers.iter().all(|l| l.eval.cycles < 1 << 20);
                if df == Dataflow::RowStationary && small {
                    seen(2);
                    for c in hw.simulate_cycles(&res, None) {
                        prop_assert!(c.dram_words.is_finite());
                        prop_assert!(c.total_cycles >= c.mac_cycles);
                    }
                }
            }
            Err(e) => {
                seen(3);
                prop_assert!(e.to_string().contains("fix:"), "no fix: {}", e)
            }
        }
    }
    Ok(())
}

fn report(what: &str, n: u32, t: Instant) {
    let s: Vec<usize> = SEEN.iter().map(|a| a.swap(0, Ordering::Relaxed)).collect();
    eprintln!(
        "fuzz: {n} {what} in {:.1} s: {} loaded; {} network runs mapped, {} in cycle mode, {} refused with a fix",
        t.elapsed().as_secs_f64(),
        s[0],
        s[1],
        s[2],
        s[3]
    );
}

fn runner(n: u32) -> TestRunner {
    TestRunner::new(Config {
        cases: n,
        failure_persistence: None,
        ..Config::default()
    })
}

#[test]
fn random_traces_load_or_fail_with_a_fix() {
    let hws: Vec<Hardware> = common::configs();
    let n = cases(150);
    let t = Instant::now();
    runner(n)
        .run(
            &(trace(), 0usize..4, prop_oneof![1usize..4, Just(1 << 20)]),
            |(text, h, batch)| {
                match Network::parse(Path::new("fuzz.toml"), &text) {
                    Ok(net) => run_all(&net, &hws[h % hws.len()], batch)?,
                    Err(e) => prop_assert!(e.to_string().contains("fix:"), "no fix: {}", e),
                }
                Ok(())
            },
        )
        .unwrap();
    report("traces", n, t);
}

/// Every key a hardware config has, by section ("" = top level), plus one it does not.
const HW_KEYS: &[(&str, &[&str])] = &[
    ("", &["name", "description", "dataflow", "colour"]),
    ("array", &["rows", "cols"]),
    (
        "pe",
        &[
            "filter_spad_words",
            "ifmap_spad_words",
            "psum_spad_words",
            "rf_words",
            "pipeline_stages",
            "skip_zero_cycles",
        ],
    ),
    (
        "glb",
        &["words", "filter_words", "banks", "bank_width_bits"],
    ),
    (
        "noc",
        &[
            "filter_bus_bits",
            "ifmap_bus_bits",
            "psum_bus_bits",
            "psum_out_bus_bits",
        ],
    ),
    ("dram", &["bus_bits", "clock_mhz", "overlap_fmaps"]),
    (
        "core",
        &["clock_mhz", "word_bits", "psum_bits", "scan_chain_bits"],
    ),
    (
        "energy",
        &[
            "units",
            "mac",
            "rf",
            "array",
            "glb",
            "dram",
            "reference_bits",
            "mac_scaling",
            "memory_scaling",
            "static_mw",
        ],
    ),
    ("energy_pj", &["units", "mac", "dram", "static_mw"]),
    // Cited values: any edit sets a bare number or deletes one, both refused with a fix.
    (
        "power",
        &["vdd_v", "clock_pf", "control_fraction", "sram_bits"],
    ),
    (
        "sparsity",
        &[
            "preset",
            "gate_zero_ifmaps",
            "gated_rf",
            "rlc_fmaps",
            "rlc_weights",
            "csc",
        ],
    ),
    ("mapper", &["set_fitting", "group_sets"]),
];

/// One edit of a config: set a key to a value (sensible or any), or delete it.
#[derive(Debug, Clone)]
enum Edit {
    Set(usize, usize, Value),
    Delete(usize, usize),
    DeleteSection(usize),
}

/// A value of the type `key` takes, often at an extreme: a size, a clock or energy, a flag, a
/// name.
fn typed(key: &'static str) -> BoxedStrategy<Value> {
    let name = |names: &'static [&'static str]| {
        prop::sample::select(names)
            .prop_map(|s| Value::String(s.to_string()))
            .boxed()
    };
    match key {
        "skip_zero_cycles" | "overlap_fmaps" | "gate_zero_ifmaps" | "rlc_fmaps" | "rlc_weights"
        | "group_sets" => any::<bool>().prop_map(Value::Boolean).boxed(),
        "clock_mhz" | "mac" | "rf" | "array" | "glb" | "dram" | "static_mw" => {
            prop_oneof![0.0f64..2000.0, Just(0.0), Just(1e-3), Just(1e6), Just(1e30)]
                .prop_map(Value::Float)
                .boxed()
        }
        "dataflow" => name(&["rs", "ws", "os", "nlr"]),
        "units" => name(&["normalized", "pJ"]),
        "mac_scaling" | "memory_scaling" => name(&["none", "linear", "quadratic"]),
        "preset" => name(&["none", "chip", "eap", "csc"]),
        "gated_rf" => name(&["weight_read", "all"]),
        "set_fitting" => name(&["eyeriss", "free"]),
        "name" | "description" => "[ -~]{0,8}".prop_map(Value::String).boxed(),
        _ => prop_oneof![
            1i64..64,
            64i64..70_000,
            Just(1 << 16),
            Just(1 << 20),
            Just(1 << 40)
        ]
        .prop_map(Value::Integer)
        .boxed(),
    }
}

fn edit() -> impl Strategy<Value = Edit> {
    let section = 0..HW_KEYS.len();
    let typed_set = (section.clone(), any::<usize>()).prop_flat_map(|(s, k)| {
        let keys = HW_KEYS[s].1;
        typed(keys[k % keys.len()]).prop_map(move |v| Edit::Set(s, k, v))
    });
    prop_oneof![
        8 => typed_set,
        3 => (section.clone(), any::<usize>(), value()).prop_map(|(s, k, v)| Edit::Set(s, k, v)),
        2 => (section.clone(), any::<usize>()).prop_map(|(s, k)| Edit::Delete(s, k)),
        1 => section.prop_map(Edit::DeleteSection),
    ]
}

fn apply(t: &mut toml::Table, e: &Edit) {
    let (section, keys) = match e {
        Edit::Set(s, ..) | Edit::Delete(s, _) | Edit::DeleteSection(s) => HW_KEYS[*s],
    };
    if let Edit::DeleteSection(_) = e {
        if !section.is_empty() {
            t.remove(section);
        }
        return;
    }
    let table = if section.is_empty() {
        t
    } else {
        match t
            .entry(section)
            .or_insert_with(|| Value::Table(toml::Table::new()))
        {
            Value::Table(inner) => inner,
            _ => return,
        }
    };
    match e {
        Edit::Set(_, k, v) => {
            table.insert(keys[k % keys.len()].to_string(), v.clone());
        }
        Edit::Delete(_, k) => {
            table.remove(keys[k % keys.len()]);
        }
        Edit::DeleteSection(_) => {}
    }
}

#[test]
fn random_hardware_configs_load_or_fail_with_a_fix() {
    let root = common::root().join("hw_configs");
    let bases: Vec<toml::Table> = ["eyeriss-v1.toml", "eyeriss-isca16-256.toml"]
        .iter()
        .map(|f| {
            std::fs::read_to_string(root.join(f))
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    let net = Network::parse(
        Path::new("small.toml"),
        "name = \"small\"\nsource = \"fuzz\"\n[[layer]]\nname = \"conv\"\nc = 3\nh = 12\nw = 12\nm = 8\nr = 3\npad = 1\n[[layer]]\nname = \"dw\"\nc = 8\nh = 12\nw = 12\nm = 8\nr = 3\ngroups = 8\n[[layer]]\nname = \"fc\"\nkind = \"fc\"\nc = 8\nh = 10\nw = 10\nm = 10\n",
    )
    .unwrap();
    let n = cases(150);
    let t = Instant::now();
    runner(n)
        .run(
            &(
                any::<bool>(),
                prop::collection::vec(edit(), 1..5),
                1usize..4,
            ),
            |(which, edits, batch)| {
                let mut t = bases[usize::from(which)].clone();
                for e in &edits {
                    apply(&mut t, e);
                }
                let text = toml::to_string(&t).unwrap_or_default();
                match Hardware::parse(Path::new("fuzz-hw.toml"), &text) {
                    Ok(hw) => run_all(&net, &hw, batch)?,
                    Err(e) => prop_assert!(e.to_string().contains("fix:"), "no fix: {}", e),
                }
                Ok(())
            },
        )
        .unwrap();
    report("hardware configs", n, t);
}

/// Found by the fuzzing above: a filter spad smaller than q filter rows for some q the ifmap
/// spad allows (8 words against 4 x 3) divided by zero in the search's bound.
#[test]
fn filter_spad_smaller_than_the_ifmap_rows_maps() {
    let mut hw = common::config("eyeriss-v1.toml");
    hw.arch.pe.filter_spad_words = 8;
    let net = common::trace("alexnet.toml");
    let res = hw.run(&net, 1, Dataflow::RowStationary).expect("maps");
    for l in &res.layers {
        l.eval
            .mapping
            .model()
            .check(&l.layer, &hw.arch, 1, &l.eval.mapping)
            .expect("fits");
    }
}

/// A measurement file: AlexNet's layer names (and others), metrics with any value.
fn measurements() -> impl Strategy<Value = String> {
    let metric = prop_oneof![3 => (0.1f64..500.0).prop_map(Value::Float), 1 => value()];
    let layer = (
        prop::sample::select(vec!["CONV1", "CONV3", "FC8", "CONV9"]),
        prop::collection::vec(
            (
                prop::sample::select(vec![
                    "power_mw",
                    "total_latency_ms",
                    "processing_latency_ms",
                    "active_pes",
                    "glb_mb",
                    "dram_mb",
                    "gops_per_w",
                ]),
                metric,
            ),
            0..4,
        ),
    );
    (
        prop::collection::vec(layer, 0..3),
        // Small batches, or values no measurement can have (a large valid batch only makes
        // cycle mode long: millions of passes).
        prop_oneof![
            4 => (1i64..5).prop_map(Value::Integer),
            1 => prop::sample::select(vec![0, -1, i64::MAX, 1 << 62]).prop_map(Value::Integer),
            1 => value().prop_filter("no large valid batch", |v| !matches!(v, Value::Integer(i) if *i > 4)),
        ],
    )
        .prop_map(|(layers, batch)| {
            let mut t = toml::Table::new();
            t.insert("name".into(), Value::String("m".into()));
            t.insert("source".into(), Value::String("fuzz".into()));
            t.insert("network".into(), Value::String("AlexNet".into()));
            t.insert("batch".into(), batch);
            let ls = layers
                .into_iter()
                .map(|(name, metrics)| {
                    let mut l = toml::Table::new();
                    l.insert("name".into(), Value::String(name.into()));
                    for (k, v) in metrics {
                        l.insert(k.into(), v);
                    }
                    Value::Table(l)
                })
                .collect();
            t.insert("layer".into(), Value::Array(ls));
            toml::to_string(&t).unwrap_or_default()
        })
}

#[test]
fn random_measurement_files_validate_or_fail_with_a_fix() {
    use ember_estimator::validate::{validate, Measurements};
    let hw = common::config("eyeriss-v1.toml");
    let net = common::trace("alexnet.toml");
    let n = cases(60);
    let t = Instant::now();
    runner(n)
        .run(&measurements(), |text| {
            match Measurements::parse(Path::new("fuzz-meas.toml"), &text) {
                Ok(m) => {
                    seen(0);
                    match validate(&hw, &net, &m, ember_estimator::Objective::Energy) {
                        Ok(v) => {
                            seen(1);
                            let json = serde_json::to_string(&v).unwrap_or_default();
                            prop_assert!(!json.contains("null"), "{}", json);
                            for s in v.summary.values() {
                                prop_assert!(s.mean_abs_error_pct.is_finite());
                                prop_assert!(s.sum_error_pct.is_finite());
                            }
                        }
                        Err(e) => {
                            seen(3);
                            prop_assert!(e.to_string().contains("fix:"), "no fix: {}", e)
                        }
                    }
                }
                Err(e) => prop_assert!(e.to_string().contains("fix:"), "no fix: {}", e),
            }
            Ok(())
        })
        .unwrap();
    report("measurement files", n, t);
}

/// Found by the fuzzing above: a 2^40-bit word (cycle mode stepped for ever over a 64-bit bus)
/// and a 2^32-row array (PE counts overflowed) loaded; every size now has a bound, named at
/// its key.
#[test]
fn sizes_beyond_any_accelerator_are_refused_at_their_key() {
    let text = std::fs::read_to_string(common::root().join("hw_configs/eyeriss-v1.toml")).unwrap();
    for (from, to, key) in [
        (
            "word_bits = 16",
            "word_bits = 1099511627776",
            "core.word_bits",
        ),
        ("rows = 12", "rows = 4294967296", "array.rows"),
        ("clock_mhz = 200.0", "clock_mhz = 1e-300", "core.clock_mhz"),
        ("dram = 200.0", "dram = 1e300", "energy.dram"),
    ] {
        assert!(text.contains(from), "{from}");
        let e = Hardware::parse(Path::new("x.toml"), &text.replacen(from, to, 1))
            .expect_err(to)
            .to_string();
        assert!(e.contains(key) && e.contains("fix:"), "{e}");
    }
}
