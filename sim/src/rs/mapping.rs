//! Row-stationary mapping parameters (`Mapping::RowStationary`).

use serde::Serialize;

/// Row-stationary mapping parameters, named as in Chen et al. (ISCA 2016, JSSC 2017):
///
/// - a PE set is R rows x `e` columns (strip-mined to `e` <= E ofmap rows; folded into
///   ceil(e / cols) segments stacked vertically when wider than the array);
/// - `r` x `t` sets are replicated: `r` channel groups accumulate their psums in the array, `t`
///   filter groups share ifmap rows;
/// - a PE interleaves `p` filters and `q` channels;
/// - a processing pass covers `n` images, q·r channels, p·t filters and `e` ofmap rows;
/// - the GLB holds the psums of `m` ofmap channels (a multiple of p·t) while the channel loop
///   runs, and, if `ifmap_resident`, the ifmap strip of every channel so that it is fetched from
///   DRAM once rather than once per chunk of `m` channels;
/// - a filter taller than the array or wider than the spads is cut into `segment`s, each run
///   as its own passes whose psums accumulate in the GLB, as a channel chunk's do;
/// - with `[mapper] group_sets`, `u` channel groups of a grouped convolution run side by side
///   in one pass, each on its own copy of the r x t sets (Eyeriss v2, JETCAS 2019, Fig. 4).
///
/// Field order is the tie-break order of `select::better` (the mapping tuple).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RsMapping {
    pub n: usize,
    pub p: usize,
    pub q: usize,
    pub r: usize,
    pub t: usize,
    pub e: usize,
    pub m: usize,
    pub ifmap_resident: bool,
    /// The part of the filter one pass holds, when the whole R x S filter does not fit;
    /// `None`: the whole filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<Segment>,
    /// Channel groups per pass (1: one group at a time, the only value without
    /// `[mapper] group_sets`; not serialised then, so outputs keep their bytes). The last
    /// pass of the group loop holds the G mod u groups left, if any.
    #[serde(skip_serializing_if = "is_one")]
    pub u: usize,
}

fn is_one(v: &usize) -> bool {
    *v == 1
}

/// A filter segment: at most `rows` filter rows by `cols` filter columns. The filter is cut
/// into row tiles of `rows` and column tiles of `cols` (the last of each smaller); a pass
/// computes one tile pair, taking `rows` PE rows and holding `cols` weights per filter row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Segment {
    pub rows: usize,
    pub cols: usize,
}

impl crate::dataflow::Params for RsMapping {
    fn images(&self) -> usize {
        self.n
    }
    fn ifmap_resident(&self) -> bool {
        self.ifmap_resident
    }
}
