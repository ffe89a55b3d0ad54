//! Prices per data type at a level, and psums wider than words on chip (issue 16 step 2; the
//! Eyeriss chip's filter spad is SRAM and its ifmap and psum spads registers, JSSC 2017 §V-C;
//! Eyeriss v2 has 8-bit data and 20-bit psums, JETCAS 2019).
//!
//! Each check holds one mapping fixed (the uniform config's) and derives the expected energy
//! from the uniform one by hand: a data type's energy at a level scales by exactly its price
//! ratio, and a psum twice as wide costs twice as much on chip (linear memory scaling) and the
//! same to and from DRAM.

mod common;

use common::{config, trace};
use ember_estimator::{estimate, EnergyObjective, Hardware};
use ember_sim::{DataType, Dataflow};

fn parse(text: &str) -> Result<Hardware, ember_sim::SimError> {
    Hardware::parse(std::path::Path::new("prices.toml"), text)
}

fn v1_text() -> String {
    std::fs::read_to_string(common::root().join("hw_configs/eyeriss-v1.toml")).unwrap()
}

/// For every AlexNet layer mapped on `base` (minimum energy), `other` prices the same mapping:
/// each level x data type cell must be `base`'s times `ratio(level, type)`, and the mapper's
/// objective on `other` must equal its estimate. Returns the number of layers checked.
fn scales_by(base: &Hardware, other: &Hardware, ratio: &dyn Fn(usize, DataType) -> f64) -> usize {
    let net = trace("alexnet.toml");
    for (i, l) in net.layers.iter().enumerate() {
        let r = base
            .run_layer(l, 4, Dataflow::RowStationary, i == 0)
            .unwrap();
        let e0 = estimate(l, &r.eval, &base.context(i == 0));
        let cx = other.context(i == 0);
        let e1 = estimate(l, &r.eval, &cx);
        assert_eq!(e0.mac, e1.mac, "{}", l.name);
        for lv in 0..e0.levels {
            for d in DataType::ALL {
                let (a, b) = (
                    e0.cell[lv][d as usize] * ratio(lv, d),
                    e1.cell[lv][d as usize],
                );
                assert!((a - b).abs() <= 1e-9 * a.max(1.0), "{} {lv} {d:?}", l.name);
            }
        }
        let obj = EnergyObjective::new(l, &cx).energy(&r.eval);
        assert!((obj - e1.total).abs() <= 1e-9 * e1.total, "{}", l.name);
    }
    net.layers.len()
}

/// The RF priced per data type (weights 1.5, ifmaps 0.5, psums 0.75, against 1 for all): every
/// RF cell of every AlexNet layer scales by its own ratio, nothing else moves, and the mapper's
/// objective prices the same.
#[test]
fn each_data_type_pays_its_own_price() {
    let base = config("eyeriss-v1.toml");
    let text = v1_text().replacen(
        "rf = 1.0\n",
        "rf = { weights = 1.5, ifmaps = 0.5, psums = 0.75 }\n",
        1,
    );
    let typed = parse(&text).expect("loads");
    let rf = base.arch.roles().rf as usize;
    let ratio = [1.5, 0.5, 0.75];
    let k = |lv: usize, d: DataType| if lv == rf { ratio[d as usize] } else { 1.0 };
    assert_eq!(scales_by(&base, &typed, &k), 8);
    // Written back as it was read.
    let json = serde_json::to_value(&typed.energy).unwrap();
    assert_eq!(json["rf"]["weights"], 1.5);
    assert_eq!(json["glb"], 6.0);
}

/// psum_bits = 32 on a 16-bit config: psum energy doubles at the GLB, the array and the RF,
/// stays at the DRAM, and the MAC and the other data types do not move.
#[test]
fn wide_psums_cost_their_width_on_chip() {
    let base = config("eyeriss-v1.toml");
    let text = v1_text().replacen("word_bits = 16 ", "word_bits = 16\npsum_bits = 32 ", 1);
    assert_ne!(text, v1_text());
    let wide = parse(&text).expect("loads");
    assert_eq!(wide.arch.core.psum_bits(), 32);
    let dram = base.arch.roles().dram as usize;
    let k = |lv: usize, d: DataType| {
        if d == DataType::Psums && lv != dram {
            2.0
        } else {
            1.0
        }
    };
    assert_eq!(scales_by(&base, &wide, &k), 8);
}

/// A per-type table names all three data types and only them; each rule broken is an error at
/// its key with a fix.
#[test]
fn data_type_price_errors_name_the_key() {
    let cases = [
        (
            "rf = { weights = 1.0, ifmaps = 1.0 }\n",
            "energy.rf",
            "not `psums`",
        ),
        (
            "rf = { weights = 1.0, ifmaps = 1.0, psums = 1.0, read = 1.0 }\n",
            "energy.rf",
            "mixes data types",
        ),
        (
            "rf = { weights = 1.0, ifmaps = -1.0, psums = 1.0 }\n",
            "energy.rf.ifmaps",
            "non-negative",
        ),
        (
            "rf = { weights = { read = 1.0, writ = 1.0 }, ifmaps = 1.0, psums = 1.0 }\n",
            "energy.rf.weights",
            "not a price table",
        ),
    ];
    for (to, key, rule) in cases {
        let bad = v1_text().replacen("rf = 1.0\n", to, 1);
        let e = parse(&bad).expect_err(to).to_string();
        assert!(e.contains(&format!("key `{key}`")), "{to}: {e}");
        assert!(e.contains(rule) && e.contains("fix:"), "{to}: {e}");
    }
    let bad = v1_text().replacen("word_bits = 16 ", "word_bits = 16\npsum_bits = 0 ", 1);
    let e = parse(&bad).expect_err("psum_bits = 0").to_string();
    assert!(e.contains("core.psum_bits"), "{e}");
}
