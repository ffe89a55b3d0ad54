//! A unified RF (`pe.rf_words`, the mapper chooses the split) against a second derivation: the
//! best row-stationary mapping with one RF of U words must cost exactly the least, over every
//! split of U into three spads (filter f, ifmap i, psum p, f + i + p = U) that hold a whole
//! filter row (f, i >= S), of the best mapping with those separate spads. A mapping fits U iff
//! it fits some split (its own ifmap, filter and psum needs are one), so the two minima are the
//! same number. (A split with i or f below S would cut the row into column segments, which the
//! search only does when a row cannot fit, so such splits search another space.)

mod common;

use ember_sim::{map_layer, Dataflow, Evaluation, Layer};
use proptest::prelude::*;

/// The ISCA 2016 normalised prices (MAC 1, RF 1, array 2, GLB 6, DRAM 200) over the counts: a
/// cost that is monotone in every count, as the pruned search requires.
fn energy_like(ev: &Evaluation) -> f64 {
    let price = [200.0, 6.0, 2.0, 1.0];
    let c = &ev.counts;
    let levels = c.levels();
    let access: f64 = levels
        .iter()
        .zip(price)
        .map(|(l, p)| p * l.total() as f64)
        .sum();
    access + ev.macs as f64
}

fn unified(u: usize) -> ember_sim::HwConfig {
    let mut hw = common::hw(6, 7, 1 << 12, 0);
    hw.pe.filter_spad_words = 0;
    hw.pe.ifmap_spad_words = 0;
    hw.pe.psum_spad_words = 0;
    hw.pe.rf_words = Some(u);
    hw
}

fn split(f: usize, i: usize, p: usize) -> ember_sim::HwConfig {
    let mut hw = common::hw(6, 7, 1 << 12, 0);
    hw.pe.filter_spad_words = f;
    hw.pe.ifmap_spad_words = i;
    hw.pe.psum_spad_words = p;
    hw
}

prop_compose! {
    fn layer()(r in 1usize..4, extra in 0usize..6, c in 1usize..7, m in 1usize..9,
               stride in 1usize..3) -> Layer {
        let mut l = Layer::conv("L", c, r + extra, r + extra, m, r, r);
        l.stride = stride.min(r);
        l
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn unified_rf_equals_the_best_split(l in layer(), u in 3usize..22, batch in 1usize..3) {
        // A whole filter row with one channel, one filter and its psum fits (else both sides
        // segment, and the splits that fit differ in segment widths).
        prop_assume!(2 * l.s < u);
        let rs = Dataflow::RowStationary;
        let got = map_layer(&l, &unified(u), batch, rs, &energy_like).ok();
        let mut best: Option<f64> = None;
        for f in l.s..u {
            for i in l.s..u - f {
                let p = u - f - i;
                if let Ok(ev) = map_layer(&l, &split(f, i, p), batch, rs, &energy_like) {
                    let c = energy_like(&ev);
                    best = Some(best.map_or(c, |b: f64| b.min(c)));
                }
            }
        }
        prop_assert_eq!(got.as_ref().map(energy_like), best, "U = {}", u);
    }
}

/// A config gives either the three spads or one RF; both, or an RF too small for one ifmap, one
/// weight and one psum, is refused with the key and a fix.
#[test]
fn rf_words_and_spads_are_exclusive() {
    let mut both = unified(64);
    both.pe.psum_spad_words = 4;
    let (key, rule, fix) = ember_sim::arch::check(&both).unwrap_err();
    assert!(key.ends_with(".rf_words"), "{key}");
    assert!(
        rule.contains("both given") && fix.contains("either"),
        "{rule} / {fix}"
    );
    let (key, rule, _) = ember_sim::arch::check(&unified(2)).unwrap_err();
    assert!(key.ends_with(".rf_words"), "{key}");
    assert!(rule.contains("= 2"), "{rule}");
    assert!(ember_sim::arch::check(&unified(3)).is_ok());
    let (key, _, fix) = ember_sim::arch::check(&split(4, 0, 4)).unwrap_err();
    assert!(key.ends_with(".ifmap_spad_words"), "{key}");
    assert!(fix.contains("rf_words"), "{fix}");
}
