//! The Eyeriss v2 comparison configs price their storage by one stated rule, from their own
//! capacities: these tests recompute every price from the rule and the config's sizes, so a
//! capacity edited without its price (or a price typed wrong) fails here.
//!
//! The rule (hw_configs/eyeriss-v1-scaled.toml, `[energy]` comment): energy per access of an
//! SRAM or register file of `size` bytes, for a word of `bits`, is
//! 1.6 pJ x (size / 512 B)^k x bits / 16, with k = ln 6 / ln 200: the power law through the
//! ISCA 2016 table's RF (0.5 kB, 1 MAC) and GLB (100 kB, 6 MACs) points, at 1.6 pJ per 16-bit
//! MAC (Chen, Emer, Sze, ISCA 2016; Horowitz, ISSCC 2014, scaled to 65 nm and 1 V).

use std::path::Path;

use ember_estimator::Hardware;
use ember_sim::{DataType, Dataflow};

/// The size rule, pJ per access.
fn size_rule(bytes: f64, bits: f64) -> f64 {
    let k = 6f64.ln() / 200f64.ln();
    1.6 * (bytes / 512.0).powf(k) * bits / 16.0
}

/// Prices are written to three significant figures: half a unit in the third figure.
const ROUNDING: f64 = 0.005;

fn close(what: &str, got: f64, want: f64) {
    let err = (got - want).abs() / want;
    assert!(
        err <= ROUNDING,
        "{what}: the config says {got:.4} pJ, the size rule {want:.4} pJ ({:.2} % apart)",
        100.0 * err
    );
}

#[test]
fn v1_scaled_prices_follow_the_size_rule_from_its_own_capacities() {
    let hw = Hardware::load(Path::new("hw_configs/eyeriss-v1-scaled.toml")).unwrap();
    let (arch, table) = (&hw.arch, &hw.energy);
    let word = arch.core.word_bits;
    let psum = arch.core.psum_bits();
    assert_eq!(
        (word, psum),
        (8, 20),
        "JETCAS 2019 p. 296: 8-bit data, 20-bit psums"
    );
    let at = |name: &str| arch.levels.position(name).unwrap();
    let read = |level: &str, d: DataType, bits: usize| table.access(at(level), d, bits).read;
    let bytes = |words: usize, bits: usize| (words * bits) as f64 / 8.0;

    let pe = &arch.pe;
    close(
        "filter spad, one 8-bit weight",
        read("rf", DataType::Weights, word),
        size_rule(bytes(pe.filter_spad_words, word), word as f64),
    );
    close(
        "ifmap spad, one 8-bit ifmap",
        read("rf", DataType::Ifmaps, word),
        size_rule(bytes(pe.ifmap_spad_words, word), word as f64),
    );
    close(
        "psum spad, one 20-bit psum",
        read("rf", DataType::Psums, psum),
        size_rule(bytes(pe.psum_spad_words, psum), psum as f64),
    );
    close(
        "GLB, one 8-bit ifmap",
        read("glb", DataType::Ifmaps, word),
        size_rule(bytes(arch.glb.words, word), word as f64),
    );
    // The array is ISCA 2016's 2 MACs per 16-bit word, linear in width.
    close(
        "array, one 8-bit word",
        read("array", DataType::Ifmaps, word),
        2.0 * 1.6 * word as f64 / 16.0,
    );
    // Horowitz (ISSCC 2014, 45 nm, 0.9 V): 8-bit multiply 0.2 pJ, 32-bit add 0.1 pJ (a 20-bit
    // add 5/8 of it), scaled by 65/45 x (1/0.9)^2 to 65 nm and 1 V.
    let horowitz = (0.2 + 0.1 * 20.0 / 32.0) * (65.0 / 45.0) / (0.9f64 * 0.9);
    close("MAC, 8 x 8 bits", table.mac(word), horowitz);
    // The absolute table `validate` reads is the same one.
    assert_eq!(hw.energy_pj.as_ref(), Some(table));
}

/// v1.5 and v2 (the v2 paper's architecture, with v1's dense PE and with v2's sparse PE):
/// their GLB is v2's banks (an ifmap bank 1.5 kB read 24 bits at a time, a psum bank 1.875 kB
/// read 40 bits at a time, JETCAS 2019 p. 296 and p. 298's port widths), priced per 8 bits of
/// the access; the mesh's hops are 0.1 pJ per bit per mm over the configs' assumed cluster
/// pitches (0.55 mm vertical, 2.2 mm horizontal) and a router 10 % of a vertical hop. v1.5's
/// spads are v1-scaled's; v2's by the sparse PE's own sizes: weights 96 x 24 b (288 B) read
/// 24 bits at a time, iacts 16 x 12 b (24 B) read 12 bits at a time, psums as v1-scaled.
#[test]
fn v1_5_and_v2_prices_follow_the_size_rule_and_the_wire_rule() {
    let per8 = |bytes: f64, access_bits: f64| size_rule(bytes, access_bits) * 8.0 / access_bits;
    for (file, weights, ifmaps) in [
        ("eyeriss-v1.5", per8(192.0, 8.0), per8(16.0, 8.0)),
        ("eyeriss-v2", per8(288.0, 24.0), per8(24.0, 12.0)),
    ] {
        let hw = Hardware::load(Path::new(&format!("hw_configs/{file}.toml"))).unwrap();
        let (arch, table) = (&hw.arch, &hw.energy);
        let at = |name: &str| arch.levels.position(name).unwrap();
        let price = |level: &str, d: DataType| table.access(at(level), d, 8);
        close(
            &format!("{file} weight spad"),
            price("rf", DataType::Weights).read,
            weights,
        );
        close(
            &format!("{file} ifmap spad"),
            price("rf", DataType::Ifmaps).read,
            ifmaps,
        );
        close(
            &format!("{file} psum spad"),
            price("rf", DataType::Psums).read,
            per8(80.0, 20.0),
        );
        close(
            &format!("{file} GLB ifmaps"),
            price("glb", DataType::Ifmaps).read,
            per8(1536.0, 24.0),
        );
        close(
            &format!("{file} GLB psums"),
            price("glb", DataType::Psums).read,
            per8(1920.0, 40.0),
        );
        let wire = |mm: f64| 0.1 * 8.0 * mm;
        close(
            &format!("{file} weight hop"),
            price("array", DataType::Weights).hop,
            wire(2.2),
        );
        for d in [DataType::Ifmaps, DataType::Psums] {
            close(
                &format!("{file} {d:?} hop"),
                price("array", d).hop,
                wire(0.55),
            );
        }
        for d in DataType::ALL {
            close(
                &format!("{file} {d:?} router"),
                price("array", d).router,
                0.1 * wire(0.55),
            );
        }
        assert_eq!(
            hw.energy_pj.as_ref(),
            Some(table),
            "{file}: one table for energy and power"
        );
    }
}

/// v2's SIMD lanes are modelled for row stationary only: another dataflow is refused, naming
/// the key, not run as if the lanes were not there.
#[test]
fn v2_refuses_other_dataflows_for_its_simd_lanes() {
    let hw = Hardware::load(Path::new("hw_configs/eyeriss-v2.toml")).unwrap();
    let net = ember_sim::Network::load(Path::new("traces/alexnet.toml")).unwrap();
    for df in [Dataflow::WeightStationary, Dataflow::OutputStationary] {
        let err = hw.run(&net, 1, df).unwrap_err().to_string();
        assert!(err.contains("pe.simd") && err.contains("fix"), "{err}");
    }
    assert!(hw.run(&net, 1, Dataflow::RowStationary).is_ok());
}
