//! Filter segments: a filter taller than the array or wider than the spads is cut into tiles of
//! rows x columns, each computed by its own processing passes; their psums meet in the GLB, as
//! those of successive channel chunks do. This module holds the geometry of a segment: which
//! input rows and columns its passes read.

use crate::arch::HwConfig;
use crate::rs::mapping::{RsMapping, Segment};
use crate::tiles::{balanced, Tiles};
use crate::workload::Layer;

/// The part of the filter one pass of `mp` holds: its segment, or the whole filter.
#[inline]
pub fn segment_of(l: &Layer, mp: &RsMapping) -> Segment {
    mp.segment.unwrap_or(Segment {
        rows: l.r,
        cols: l.s,
    })
}

/// The mapping field for segment `seg`: `None` when it is the whole filter, so mappings of
/// layers that fit keep their one shape.
pub fn mapping_segment(l: &Layer, seg: Segment) -> Option<Segment> {
    ((seg.rows, seg.cols) != (l.r, l.s)).then_some(seg)
}

/// The segments a search on `hw` tries: the whole filter when it fits (R rows on the array,
/// a filter row of S in the ifmap and filter spads); otherwise every balanced tile size that
/// fits, largest first, in each direction that does not.
pub fn segments(l: &Layer, hw: &HwConfig) -> Vec<Segment> {
    let fitting = |dim: usize, room: usize| -> Vec<usize> {
        if dim <= room {
            vec![dim]
        } else {
            balanced(dim).into_iter().filter(|&k| k <= room).collect()
        }
    };
    let width = hw.pe.max_row();
    let rows = fitting(l.r, hw.array.rows);
    let cols = fitting(l.s, width);
    rows.iter()
        .flat_map(|&r| cols.iter().map(move |&c| Segment { rows: r, cols: c }))
        .collect()
}

/// The filter row tiles (first row, rows) and column tiles (first column, columns) of `seg`,
/// in loop order (row-major).
pub fn tiles(l: &Layer, seg: Segment) -> Vec<(usize, usize, usize, usize)> {
    let starts = |dim: usize, size: usize| {
        let mut at = 0;
        Tiles::new(dim, size)
            .iter()
            .map(|k| {
                let t = (at, k as usize);
                at += k as usize;
                t
            })
            .collect::<Vec<_>>()
    };
    let cols = starts(l.s, seg.cols);
    starts(l.r, seg.rows)
        .into_iter()
        .flat_map(|(r0, rk)| cols.iter().map(move |&(s0, sk)| (r0, rk, s0, sk)))
        .collect()
}

/// Unpadded input rows that ofmap rows [e0, e0 + len) read through filter rows [r0, r0 + rk).
pub fn segment_rows(l: &Layer, e0: usize, len: usize, r0: usize, rk: usize) -> u64 {
    let lo = e0 * l.stride + r0;
    let hi = (e0 + len - 1) * l.stride + r0 + rk; // exclusive, padded coordinates
    let lo = lo.max(l.pad);
    let hi = hi.min(l.pad + l.h);
    hi.saturating_sub(lo) as u64
}

/// Padded input columns each PE of a pass of `sk` filter columns receives per row: the padded
/// row less the columns that only the other segments' taps read (the whole row, Wp, for the
/// whole filter).
pub fn segment_width(l: &Layer, sk: usize) -> u64 {
    (l.wp() - l.s + sk) as u64
}

/// Unpadded input columns a pass of filter columns [s0, s0 + sk) reads from the GLB: its
/// window of `segment_width` padded columns from s0, less the padding (W for the whole
/// filter).
pub fn segment_cols(l: &Layer, s0: usize, sk: usize) -> u64 {
    let hi = (s0 + segment_width(l, sk) as usize).min(l.pad + l.w);
    hi.saturating_sub(s0.max(l.pad)) as u64
}

/// Sums over a mapping's segments for strips of `e` ofmap rows: the closed form multiplies
/// them with the other dimensions' sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegSums {
    /// Row tiles and column tiles.
    pub k_r: u64,
    pub k_s: u64,
    /// Σ over e-strips and row tiles of the unpadded rows a pass reads.
    pub rows: u64,
    /// Σ over column tiles of the unpadded columns a pass reads, and of the padded columns a
    /// PE receives.
    pub cols: u64,
    pub width: u64,
}

pub(crate) fn seg_sums(l: &Layer, e: usize, seg: Segment) -> SegSums {
    let row_tiles = Tiles::new(l.r, seg.rows);
    let col_tiles = Tiles::new(l.s, seg.cols);
    let (mut rows, mut e0) = (0, 0);
    for len in Tiles::new(l.e(), e).iter() {
        let mut r0 = 0;
        for rk in row_tiles.iter() {
            rows += segment_rows(l, e0, len as usize, r0, rk as usize);
            r0 += rk as usize;
        }
        e0 += len as usize;
    }
    let (mut cols, mut width, mut s0) = (0, 0, 0);
    for sk in col_tiles.iter() {
        cols += segment_cols(l, s0, sk as usize);
        width += segment_width(l, sk as usize);
        s0 += sk as usize;
    }
    SegSums {
        k_r: row_tiles.count(),
        k_s: col_tiles.count(),
        rows,
        cols,
        width,
    }
}
