//! `[pe] compressed_weights` (Eyeriss v2's weight spad holds non-zeros only, JETCAS 2019
//! p. 302 and its Table III): the capacity by hand, a located error, and on the sparse
//! MobileNet trace mappings that hold more dense weights per PE than the spad has entries,
//! never costing more energy than the dense spad (the compressed one admits a superset).

mod common;

use common::{config, trace};
use ember_estimator::sparsity::{csc_ratio, CSC_WEIGHT_ADDRESS_BITS};
use ember_estimator::{Hardware, Objective};
use ember_sim::dataflow::MappingOf;
use ember_sim::rs::segment::segment_of;
use ember_sim::rs::RsMapping;
use ember_sim::{Dataflow, SimError};

fn parse(text: &str) -> Result<Hardware, SimError> {
    Hardware::parse(std::path::Path::new("cw.toml"), text)
}

/// By hand, the v2 PE (192 weight entries, 16 ifmap words, 32 psums): at weight density 1/4 the
/// filter spad holds ⌊192 / 0.25⌋ = 768 dense weights, so on 1x1 filters with q = 16 channels
/// a PE takes p = min(768 / 16, 32 psums) = 32 filters, where the dense spad takes 192 / 16 =
/// 12. At density 1 nothing changes; without the key nothing changes at any density.
#[test]
fn capacity_by_hand() {
    let pe = config("eyeriss-v2.toml").arch.pe;
    assert!(pe.compressed_weights);
    assert_eq!(pe.for_density(0.25).filter_spad_words, 768);
    assert_eq!(pe.for_density(0.25).max_p(16, 1), 32);
    assert_eq!(pe.for_density(1.0).max_p(16, 1), 12);
    assert_eq!(pe.for_density(0.3).filter_spad_words, 640); // ⌊192 / 0.3⌋ = ⌊640.0⌋
                                                            // Only where the weights move compressed (the csc rule): at density 0.64 a column of p
                                                            // weights takes 0.64 x 12 bits a weight in pairs plus a 7-bit address, 7.68 + 7 / p bits
                                                            // against 8 dense, so compressed only for p >= 22. With q = 16 channels a compressed spad
                                                            // would hold ⌊192 / 0.64⌋ / 16 = 18 filters, too few to compress: p stays within the
                                                            // dense 192 / 16 = 12. With q = 8, p = 22..32 compress and fit (300 / 8 = 37 > 32), and
                                                            // p up to 24 fit dense: every p up to the 32 psums holds.
    for p in 1..=32 {
        assert_eq!(
            pe.holds_filters(p, 16, 1, 0.64, 8),
            p <= 12,
            "q = 16, p = {p}"
        );
        assert!(pe.holds_filters(p, 8, 1, 0.64, 8), "q = 8, p = {p}");
    }
    assert!(pe.for_weights(0.64, 22, 8).filter_spad_words == 300);
    assert!(pe.for_weights(0.64, 21, 8).filter_spad_words == 192);
    let dense = config("eyeriss-v1.5.toml").arch.pe;
    assert!(!dense.compressed_weights);
    assert_eq!(dense.for_density(0.25), dense);
}

#[test]
fn unified_rf_is_refused_by_key() {
    let text = std::fs::read_to_string(common::root().join("hw_configs/eyeriss-v2.toml")).unwrap();
    let spads = "filter_spad_words = 192\nifmap_spad_words = 16\npsum_spad_words = 32\n";
    assert!(text.contains(spads), "eyeriss-v2.toml changed its spads");
    let e = parse(&text.replacen(spads, "rf_words = 240\n", 1))
        .expect_err("a unified RF with compressed weights")
        .to_string();
    assert!(
        e.contains("cw.toml") && e.contains("compressed_weights"),
        "{e}"
    );
    assert!(e.contains("unified RF"), "{e}");
}

/// The sparse MobileNet 0.5-128 trace (published weight densities on 8 pointwise layers), at
/// batch 1, energy objective. With the compressed spad every layer's energy is at most the
/// dense spad's (a superset of mappings), some sparse layer maps more dense weights per PE than
/// the 192 entries, and each mapping's expected non-zeros per PE fit them.
#[test]
fn sparse_layers_map_more_weights_per_pe() {
    let hw = config("eyeriss-v2.toml");
    let mut dense = hw.clone();
    dense.arch.pe.compressed_weights = false;
    let net = trace("mobilenet_v1_0.5_128_sparse.toml");
    let run = |h: &Hardware| {
        h.run_with(&net, 1, Dataflow::RowStationary, Objective::Energy)
            .unwrap()
    };
    let (cw, dn) = (run(&hw), run(&dense));
    let mut beyond = 0;
    for (a, b) in cw.layers.iter().zip(&dn.layers) {
        let name = &a.layer.name;
        assert!(
            a.energy.total <= b.energy.total * (1.0 + 1e-12),
            "{name}: {} > {}",
            a.energy.total,
            b.energy.total
        );
        let m = RsMapping::of(&a.eval.mapping).expect("row stationary");
        let weights = m.p * m.q * segment_of(&a.layer, m).cols;
        if weights > 192 {
            // Beyond the entries: only as compressed columns, whose expected non-zeros fit.
            let d = a.layer.weight_density;
            assert!(
                csc_ratio(d, m.p as u64, CSC_WEIGHT_ADDRESS_BITS, 8) < 1.0,
                "{name}"
            );
            assert!(
                weights as f64 * d <= 192.0 + 1e-9,
                "{name}: {} non-zeros",
                weights as f64 * d
            );
            beyond += 1;
        }
    }
    assert!(beyond > 0, "no sparse layer maps beyond the dense spad");
}

/// The pruned search equals the exhaustive one on every layer with zero weights of the sparse
/// trace, where the compressed spad makes the feasible filters per PE non-contiguous.
#[test]
fn search_equals_exhaustive_on_sparse_layers() {
    let hw = config("eyeriss-v2.toml");
    let net = trace("mobilenet_v1_0.5_128_sparse.toml");
    for (i, l) in net.layers.iter().enumerate() {
        if l.weight_density >= 1.0 {
            continue;
        }
        let r = hw
            .run_layer(l, 1, Dataflow::RowStationary, i == 0)
            .expect("maps");
        let energy = ember_estimator::EnergyObjective::new(l, &hw.context(i == 0));
        let cost = |ev: &ember_sim::Evaluation| energy.energy(ev);
        let best = ember_sim::rs::search_reference(l, &hw.arch, 1, &cost).expect("fits");
        let got = cost(&r.eval);
        assert!(
            (got - cost(&best)).abs() <= 1e-9 * got,
            "{}: search {got}, exhaustive {}",
            l.name,
            cost(&best)
        );
    }
}
