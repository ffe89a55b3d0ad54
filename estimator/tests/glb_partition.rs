//! `[glb] partition` (per-type GLB capacity, Eyeriss v2's ifmap and psum banks): located
//! errors with a fix; a mapping whose psums fit the shared total but not their share is
//! refused; the row-stationary search under a partition equals the exhaustive one; and a
//! partition only removes mappings, so no layer's optimal energy falls.

mod common;

use common::{config, trace};
use ember_estimator::{Hardware, Objective};
use ember_sim::arch::GlbPartition;
use ember_sim::rs::RsMapping;
use ember_sim::{Dataflow, Layer, Mapping, SimError};

fn v2_text() -> String {
    std::fs::read_to_string(common::root().join("hw_configs/eyeriss-v2.toml")).unwrap()
}

fn parse(text: &str) -> Result<Hardware, SimError> {
    Hardware::parse(std::path::Path::new("partition.toml"), text)
}

/// eyeriss-v2 with its partition line replaced by `line`.
fn v2_with(line: &str) -> String {
    let text = v2_text();
    let old = "partition = { ifmaps = 73728, psums = 49152 }";
    assert!(text.contains(old), "eyeriss-v2.toml changed its partition");
    text.replacen(old, line, 1)
}

#[test]
fn partition_errors_name_file_line_key_and_fix() {
    let cases = [
        (
            "partition = { ifmaps = 100000, psums = 49152 }",
            "more than `glb.words`",
        ),
        (
            "partition = { ifmaps = 0, psums = 49152 }",
            "each needs some",
        ),
        (
            "partition = { ifmaps = 73728, weights = 1 }",
            "unknown field",
        ),
    ];
    for (line, rule) in cases {
        let e = parse(&v2_with(line)).expect_err(line).to_string();
        assert!(e.contains("partition.toml"), "{line}: {e}");
        assert!(e.contains("partition"), "{line}: {e}");
        assert!(e.contains(rule), "{line}: {e}");
    }
    // A partition is accepted and kept; removing the line gives the shared buffer.
    let hw = parse(&v2_text()).expect("eyeriss-v2 parses");
    assert_eq!(
        hw.arch.glb.partition,
        Some(GlbPartition {
            ifmaps: 73728,
            psums: 49152
        })
    );
    let shared = parse(&v2_with("")).expect("no partition parses");
    assert_eq!(shared.arch.glb.partition, None);
}

/// By hand: a 1x1 convolution of 64 channels and 512 filters on a 56 x 56 map, one image,
/// e = 8 ofmap rows a pass. A PE holds q = 16 channels of p = 8 filters (ifmap spad 16, filter
/// spad 128 of 192, psum spad 8 of 32); r = 4 channel sets x t = 6 filter sets of 8 PEs fill
/// the 192 PEs. The GLB holds the ifmap strip, 64 channels x 8 rows x 56 = 28,672 words, and
/// the psums of the m filters of a chunk, m x 8 x 56. At m = 96: 43,008 psum words, within
/// the 49,152 share. At m = 144: 64,512, beyond the share, but with the strip 93,184 of the
/// shared 122,880: refused only when partitioned. At m = 240: 107,520 + 28,672 = 136,192,
/// beyond the whole GLB: refused either way.
#[test]
fn psums_over_their_share_are_refused_by_hand() {
    let l = Layer::conv("pw", 64, 56, 56, 512, 1, 1);
    let hw = config("eyeriss-v2.toml");
    let mut shared = hw.arch.clone();
    shared.glb.partition = None;
    let mp = |m: usize| {
        Mapping::from(RsMapping {
            n: 1,
            p: 8,
            q: 16,
            r: 4,
            t: 6,
            e: 8,
            m,
            ifmap_resident: false,
            segment: None,
            u: 1,
        })
    };
    for (m, with, without) in [(96, true, true), (144, false, true), (240, false, false)] {
        let ok = |arch| ember_sim::evaluate_mapping(&l, arch, 1, &mp(m));
        assert_eq!(
            ok(&hw.arch).is_ok(),
            with,
            "m = {m}, partitioned: {:?}",
            ok(&hw.arch).err()
        );
        assert_eq!(
            ok(&shared).is_ok(),
            without,
            "m = {m}, shared: {:?}",
            ok(&shared).err()
        );
    }
    let e = ember_sim::evaluate_mapping(&l, &hw.arch, 1, &mp(144)).unwrap_err();
    assert!(format!("{e:?}").contains("psums at most 49152"), "{e:?}");
}

/// The search (with its floors and pruning) finds the exhaustive optimum under the partition,
/// and the optimum's energy is never below the shared buffer's (a partition removes mappings,
/// adds none), on MobileNet v1 at batch 4, where the shares bind.
#[test]
fn search_is_exhaustive_and_a_partition_costs_energy() {
    let hw = config("eyeriss-v2.toml");
    let mut shared = hw.clone();
    shared.arch.glb.partition = None;
    let net = trace("mobilenet_v1.toml");
    let batch = 4;
    let part = hw
        .run_with(&net, batch, Dataflow::RowStationary, Objective::Energy)
        .unwrap();
    let free = shared
        .run_with(&net, batch, Dataflow::RowStationary, Objective::Energy)
        .unwrap();
    let mut bound = 0;
    for (a, b) in part.layers.iter().zip(&free.layers) {
        let (ea, eb) = (a.energy.total, b.energy.total);
        assert!(ea >= eb * (1.0 - 1e-12), "{}: {ea} < {eb}", a.layer.name);
        bound += (ea > eb * (1.0 + 1e-9)) as usize;
    }
    assert!(
        bound > 0,
        "the partition binds on no layer at batch {batch}"
    );
    for (i, r) in part.layers.iter().enumerate().step_by(9) {
        let energy = ember_estimator::EnergyObjective::new(&r.layer, &hw.context(i == 0));
        let cost = |ev: &ember_sim::Evaluation| energy.energy(ev);
        let best = ember_sim::rs::search_reference(&r.layer, &hw.arch, batch, &cost)
            .expect("a mapping fits");
        let got = cost(&r.eval);
        assert!(
            (got - cost(&best)).abs() <= 1e-9 * got,
            "{}: search {got}, exhaustive {}",
            r.layer.name,
            cost(&best)
        );
    }
}
