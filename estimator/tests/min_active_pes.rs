//! `[mapper] min_active_pes` (issue 13 item 4: the ISCA 2016 study compared dataflows with the
//! array fully used): the floor is applied exactly, on every dataflow and both objectives.

mod common;

use common::{config, trace};
use ember_estimator::run::Objective;
use ember_estimator::{EnergyObjective, Hardware};
use ember_sim::{Dataflow, Evaluation, Layer};

fn with_floor(share: f64) -> Hardware {
    let mut hw = config("eyeriss-isca16-256.toml");
    hw.arch.mapper.min_active_pes = share;
    hw
}

/// The mapping under a floor is the exhaustive search's best among the mappings that keep at
/// least ceil(share x 256) PEs busy (second method: each dataflow's plain exhaustive
/// `search_reference`, its cost infinite below the floor), for AlexNet CONV1, CONV3, FC8 on
/// the 256-PE study config at batch 16, every dataflow, shares 0.5 and 0.9.
#[test]
fn floor_search_equals_filtered_exhaustive_search() {
    let net = trace("alexnet.toml");
    for share in [0.5, 0.9] {
        let hw = with_floor(share);
        let least = (share * 256.0_f64).ceil() as usize;
        for i in [0, 2, 7] {
            let l: &Layer = &net.layers[i];
            let energy = EnergyObjective::new(l, &hw.context(i == 0));
            let cost = |ev: &Evaluation| {
                if ev.active_pes >= least {
                    energy.energy(ev)
                } else {
                    f64::INFINITY
                }
            };
            for df in Dataflow::ALL {
                let want = df.model().search_reference(l, &hw.arch, 16, &cost);
                let got = hw.run_layer_with(l, 16, df, i == 0, Objective::Energy);
                match want.filter(|ev| ev.active_pes >= least) {
                    Some(want) => {
                        let got = got.unwrap_or_else(|e| panic!("{} {df:?}: {e}", l.name));
                        assert_eq!(got.eval, want, "{} {df:?} share {share}", l.name);
                    }
                    None => assert!(got.is_err(), "{} {df:?} share {share}", l.name),
                }
            }
        }
    }
}

/// With a floor the edp objective's mapping keeps the floor too, and a floor of 0 is the
/// default (identical results).
#[test]
fn edp_keeps_the_floor_and_zero_is_the_default() {
    let net = trace("alexnet.toml");
    let (free, zero, high) = (
        config("eyeriss-isca16-256.toml"),
        with_floor(0.0),
        with_floor(0.9),
    );
    for (i, l) in net.layers.iter().enumerate().take(5) {
        let a = free.run_layer_with(l, 4, Dataflow::RowStationary, i == 0, Objective::Edp);
        let b = zero.run_layer_with(l, 4, Dataflow::RowStationary, i == 0, Objective::Edp);
        assert_eq!(a.unwrap().eval, b.unwrap().eval, "{}", l.name);
        if let Ok(r) = high.run_layer_with(l, 4, Dataflow::RowStationary, i == 0, Objective::Edp) {
            assert!(
                r.eval.active_pes >= 231,
                "{}: {}",
                l.name,
                r.eval.active_pes
            );
        }
    }
}

/// A layer too small to keep the floor is refused by the config key, with a fix: a 1x1
/// convolution of a 1x1 map, one channel to two filters, has two MACs an image, so no mapping
/// of any dataflow keeps more than two PEs busy at batch 1, far below 90 % of 256.
#[test]
fn an_unreachable_floor_names_the_key() {
    let hw = with_floor(0.9);
    let l = Layer::conv("tiny", 1, 1, 1, 2, 1, 1);
    for df in Dataflow::ALL {
        let e = hw
            .run_layer_with(&l, 1, df, false, Objective::Energy)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("min_active_pes") && e.contains("fix:"),
            "{df:?}: {e}"
        );
    }
}
