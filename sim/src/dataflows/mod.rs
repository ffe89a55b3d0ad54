//! The comparison dataflows of the ISCA 2016 study (Chen, Emer, Sze, "Eyeriss: A Spatial
//! Architecture for Energy-Efficient Dataflow for CNNs", ISCA 2016, §V-VI) beside row-stationary
//! (`crate::rs`): weight-stationary (`ws`), output-stationary (`os`) and no-local-reuse (`nlr`).
//!
//! Each implements `crate::dataflow::DataflowModel` over parameters of its own (`WsMapping`,
//! `OsMapping`, `NlrMapping`): a capacity check, closed-form counts (`evaluate`, per-dimension
//! sums), a literal pass-by-pass walk (`walk`) that must agree with them exactly, an exhaustive
//! search minimising the caller's cost (ties broken by the shared rule in `crate::select`), and
//! the passes cycle mode steps (a preload and a stream of equal steps, `cycle::StreamPass`).
//! Counts follow the conventions of `crate::counts` so the estimator prices every dataflow alike.
//!
//! ## Equal storage (ISCA 2016 §VI-A)
//!
//! The study compares dataflows "under the same hardware area": the same PEs, the same total
//! on-chip storage, re-partitioned between the per-PE RF and the global buffer to suit each
//! dataflow. Ember keeps the config's total on-chip storage `T = HwConfig::storage_words()`
//! (GLB + filter buffer + all spads, in words) and partitions it per dataflow ([`storage`]):
//!
//! | dataflow | RF per PE (words) | GLB (words, shared by all data types) |
//! |---|---|---|
//! | rs  | the config's three spads | the config's GLB (+ filter buffer) |
//! | ws  | `pe.ifmap_spad_words + pe.psum_spad_words`, or `pe.rf_words` | T − PEs x RF |
//! | os  | `pe.ifmap_spad_words + pe.psum_spad_words`, or `pe.rf_words` | T − PEs x RF |
//! | nlr | 0 (no RF, the study's definition) | T |
//!
//! NLR has no RF by definition (§V-C), so all its storage is GLB. WS and OS need only a small
//! RF (a few stationary weights, or the psums of one PE); Ember's rule gives them the config's
//! two small spads (32 words on `eyeriss-isca16-256`, 36 on the
//! chip) and moves the large filter spad's storage into the GLB. A config with one unified RF
//! per PE (`pe.rf_words`, the study's own 512 B RF) has no spad split to re-partition: WS and
//! OS get that RF and the config's GLB, the hardware RS runs on, and use what they need of it. Equal *words* stand in for
//! equal *area* (an RF word costs more area than a GLB word, so this favours RS slightly less
//! than an area-exact split would). The rule depends only on the config, never on the layer.

pub mod nlr;
pub mod os;
pub mod ws;

use crate::arch::HwConfig;
use crate::counts::AccessCounts;
use crate::dataflow::{Dataflow, Mapping};
use crate::workload::Layer;

/// The storage a dataflow sees on a config (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Storage {
    /// RF words per PE.
    pub rf_words: usize,
    /// Global buffer words, shared by weights, ifmaps and psums.
    pub glb_words: usize,
}

/// The equal-storage partition of `hw` for `df` (ISCA 2016 §VI-A; module doc): each
/// dataflow's `DataflowModel::storage`.
pub fn storage(hw: &HwConfig, df: Dataflow) -> Storage {
    df.model().storage(hw)
}

/// WS and OS: the config's two small spads per PE, the rest of its storage GLB; with a unified
/// RF, that RF and the config's GLB (the hardware row-stationary runs on).
pub(crate) fn small_rf(hw: &HwConfig) -> Storage {
    if let Some(u) = hw.pe.rf_words {
        return Storage {
            rf_words: u,
            glb_words: hw.storage_words() - hw.pes() * u,
        };
    }
    let small = hw.pe.ifmap_spad_words + hw.pe.psum_spad_words;
    Storage {
        rf_words: small,
        glb_words: hw.storage_words() - hw.pes() * small,
    }
}

/// NLR: no RF; all the config's storage is GLB.
pub(crate) fn all_glb(hw: &HwConfig) -> Storage {
    Storage {
        rf_words: 0,
        glb_words: hw.storage_words(),
    }
}

/// Is padded coordinate `p` inside the unpadded map of `size` with `pad` on each side?
fn inside(p: usize, pad: usize, size: usize) -> bool {
    p >= pad && p < pad + size
}

/// Σ over outputs y in [y0, y0 + len) and filter taps i in [i0, i0 + k) of 1 when the input
/// coordinate y·stride + i is not padding: the GLB reads a window sweep really makes.
pub(crate) fn taps(
    y0: usize,
    len: usize,
    i0: usize,
    k: usize,
    stride: usize,
    pad: usize,
    size: usize,
) -> u64 {
    let mut n = 0;
    for y in y0..y0 + len {
        for i in i0..i0 + k {
            n += u64::from(inside(y * stride + i, pad, size));
        }
    }
    n
}

/// Non-padding taps over the whole layer: (rows: Σ_y<E Σ_i<R, columns: Σ_x<F Σ_j<S).
pub(crate) fn layer_taps(l: &Layer) -> (u64, u64) {
    (
        taps(0, l.e(), 0, l.r, l.stride, l.pad, l.h),
        taps(0, l.f(), 0, l.s, l.stride, l.pad, l.w),
    )
}

/// Chunks (start, len) of `dim` by `size`, in loop order.
pub(crate) fn chunks(dim: usize, size: usize) -> impl Iterator<Item = (usize, usize)> {
    let size = size.max(1);
    (0..dim).step_by(size).map(move |s| (s, size.min(dim - s)))
}

/// Evaluate `ev` and keep it if it beats the incumbent (the shared tie-break, `select`).
pub(crate) fn keep_best(
    best: &mut Option<(f64, crate::Evaluation)>,
    ev: crate::Evaluation,
    cost: &dyn Fn(&crate::Evaluation) -> f64,
) {
    crate::select::keep(best, cost(&ev), ev);
}

/// Counts and cycles of any mapping by walking its loop nest pass by pass (its dataflow's
/// `DataflowModel::walk`). No capacity check: use `crate::evaluate_mapping` for that.
pub fn walk(l: &Layer, hw: &HwConfig, batch: usize, mp: &Mapping) -> (AccessCounts, u64) {
    mp.model()
        .walk(l, hw, batch, mp)
        .expect("a mapping's own dataflow accepts it")
}
