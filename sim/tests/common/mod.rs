//! A hardware config for tests: the Eyeriss chip's spads, buses and link on any array and GLB.

use ember_sim::arch::{ArraySpec, CoreSpec, DramSpec, GlbSpec, MapperSpec, NocSpec, PeSpec};
use ember_sim::{Dataflow, HwConfig, Layer};

/// The random layer the walk-against-closed-form properties draw (each test picks its own
/// ranges): an `r` x `r` filter with a stride below it, `groups` groups of `cpg` channels and
/// `mpg` filters, an input at least as tall as the padded filter needs.
#[allow(dead_code)] // not every test binary draws layers
pub fn random_layer(
    [r, extra, pad, stride_pick]: [usize; 4],
    [groups, cpg, mpg]: [usize; 3],
) -> Layer {
    let stride = 1 + stride_pick % r;
    let h = (r + extra)
        .saturating_sub(2 * pad)
        .max(1)
        .max(r.saturating_sub(2 * pad));
    let mut l = Layer::conv("L", cpg * groups, h, h, mpg * groups, r, r);
    l.stride = stride;
    l.pad = pad;
    l.groups = groups;
    l
}

pub fn hw(rows: usize, cols: usize, glb_words: usize, filter_words: usize) -> HwConfig {
    HwConfig {
        name: "test".into(),
        dataflow: Dataflow::RowStationary,
        array: ArraySpec { rows, cols },
        pe: PeSpec {
            filter_spad_words: 224,
            ifmap_spad_words: 12,
            psum_spad_words: 24,
            rf_words: None,
            pipeline_stages: 1,
            skip_zero_cycles: false,
            simd: 1,
            sync: Default::default(),
            compressed_weights: false,
        },
        glb: GlbSpec {
            words: glb_words,
            filter_words,
            banks: 25,
            bank_width_bits: 64,
            holds: None,
            ofmaps_to_dram: false,
            partition: None,
        },
        noc: NocSpec {
            filter_bus_bits: 64,
            ifmap_bus_bits: 16,
            psum_bus_bits: 64,
            psum_out_bus_bits: None,
            ..Default::default()
        },
        dram: DramSpec {
            bus_bits: 64,
            clock_mhz: 60.0,
            overlap_fmaps: true,
        },
        core: CoreSpec {
            clock_mhz: 200.0,
            word_bits: 16,
            psum_bits: None,
            scan_chain_bits: 0,
        },
        mapper: MapperSpec::default(),
        levels: ember_sim::Levels::eyeriss(),
    }
}
