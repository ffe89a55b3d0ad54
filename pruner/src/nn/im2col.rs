//! Lowering of NHWC convolution windows to GEMM rows and back.
//!
//! Row `(n, oh, ow)` of the column matrix holds the receptive field of one
//! output pixel, ordered `(group, r, s, channel-in-group)`. With NHWC input the
//! channels of one pixel are contiguous, and with one group a whole kernel row
//! `s = 0..S` is one contiguous run, so both directions are mostly `memcpy`.
//! Samples are independent, so both directions run in parallel over the batch
//! without any cross-thread reduction (keeps results deterministic).

use rayon::prelude::*;

use super::out_size;

/// Shape of one convolution on one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeom {
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub r: usize,
    pub s: usize,
    pub stride: usize,
    pub pad: usize,
    pub groups: usize,
}

impl ConvGeom {
    pub fn out_h(&self) -> usize {
        out_size(self.h, self.r, self.stride, self.pad)
    }
    pub fn out_w(&self) -> usize {
        out_size(self.w, self.s, self.stride, self.pad)
    }
    /// Output pixels per sample.
    pub fn pixels(&self) -> usize {
        self.out_h() * self.out_w()
    }
    pub fn group_channels(&self) -> usize {
        self.c / self.groups
    }
    /// Columns of the lowered matrix (`groups * R * S * C/groups`).
    pub fn row_len(&self) -> usize {
        self.r * self.s * self.c
    }
    /// Range of kernel columns `s` whose input column lies inside the image.
    fn valid_s(&self, iw0: isize) -> (usize, usize) {
        let lo = (-iw0).clamp(0, self.s as isize) as usize;
        let hi = (self.w as isize - iw0).clamp(0, self.s as isize) as usize;
        (lo, hi.max(lo))
    }
}

/// `x`: `N*H*W*C` input; `cols`: `N*P*K` output, fully overwritten. In
/// parallel over the samples.
pub fn im2col(x: &[f32], g: &ConvGeom, cols: &mut [f32]) {
    let in_len = g.h * g.w * g.c;
    let out_len = g.pixels() * g.row_len();
    cols.par_chunks_mut(out_len)
        .zip(x.par_chunks(in_len))
        .for_each(|(dst, src)| lower_sample(src, g, dst));
}

/// [`im2col`] on the calling thread: for a block of samples that is one
/// unit of a parallel loop.
pub fn lower(x: &[f32], g: &ConvGeom, cols: &mut [f32]) {
    let in_len = g.h * g.w * g.c;
    let out_len = g.pixels() * g.row_len();
    for (dst, src) in cols.chunks_mut(out_len).zip(x.chunks(in_len)) {
        lower_sample(src, g, dst);
    }
}

/// `dcols`: `N*P*K` gradient of the lowered matrix; `dx`: `N*H*W*C`,
/// overwritten with the sum over the windows. On the calling thread.
pub fn raise(dcols: &[f32], g: &ConvGeom, dx: &mut [f32]) {
    let in_len = g.h * g.w * g.c;
    let out_len = g.pixels() * g.row_len();
    for (dst, src) in dx.chunks_mut(in_len).zip(dcols.chunks(out_len)) {
        dst.fill(0.0);
        raise_sample(src, g, dst);
    }
}

/// One kernel row `r` of the receptive field of the output pixel `pixel`
/// (row-major index into the sample's output).
struct KernelRow {
    pixel: usize,
    r: usize,
    /// Input row, `None` when it lies in the zero padding.
    ih: Option<usize>,
    /// Input column of kernel column `s = 0` (negative in the left padding).
    iw0: isize,
    /// Kernel columns `s_lo..s_hi` fall inside the image.
    s_lo: usize,
    s_hi: usize,
}

/// Visits every kernel row of every output pixel of one sample, in the
/// order `(oh, ow, r)`: the walk shared by [`lower_sample`] and
/// [`raise_sample`] (the order fixes col2im's summation order). Inlined into
/// both, so the closure costs nothing.
#[inline(always)]
fn for_each_kernel_row(g: &ConvGeom, mut f: impl FnMut(KernelRow)) {
    let ow_n = g.out_w();
    for oh in 0..g.out_h() {
        let ih0 = (oh * g.stride) as isize - g.pad as isize;
        for ow in 0..ow_n {
            let iw0 = (ow * g.stride) as isize - g.pad as isize;
            let (s_lo, s_hi) = g.valid_s(iw0);
            for r in 0..g.r {
                let ih = ih0 + r as isize;
                f(KernelRow {
                    pixel: oh * ow_n + ow,
                    r,
                    ih: (ih >= 0 && (ih as usize) < g.h).then_some(ih as usize),
                    iw0,
                    s_lo,
                    s_hi,
                });
            }
        }
    }
}

fn lower_sample(x: &[f32], g: &ConvGeom, out: &mut [f32]) {
    let (k, c) = (g.row_len(), g.c);
    let cg = g.group_channels();
    let rscg = g.r * g.s * cg;
    for_each_kernel_row(g, |kr| {
        let row = &mut out[kr.pixel * k..][..k];
        let (s_lo, s_hi) = (kr.s_lo, kr.s_hi);
        for gi in 0..g.groups {
            let seg = &mut row[gi * rscg + kr.r * g.s * cg..][..g.s * cg];
            let Some(ih) = kr.ih else {
                seg.fill(0.0);
                continue;
            };
            seg[..s_lo * cg].fill(0.0);
            seg[s_hi * cg..].fill(0.0);
            let src_row = &x[ih * g.w * c..][..g.w * c];
            if g.groups == 1 {
                if s_hi > s_lo {
                    let iw = (kr.iw0 + s_lo as isize) as usize;
                    seg[s_lo * c..s_hi * c]
                        .copy_from_slice(&src_row[iw * c..][..(s_hi - s_lo) * c]);
                }
            } else {
                for s in s_lo..s_hi {
                    let iw = (kr.iw0 + s as isize) as usize;
                    seg[s * cg..][..cg].copy_from_slice(&src_row[iw * c + gi * cg..][..cg]);
                }
            }
        }
    });
}

fn raise_sample(dcols: &[f32], g: &ConvGeom, dx: &mut [f32]) {
    let (k, c) = (g.row_len(), g.c);
    let cg = g.group_channels();
    let rscg = g.r * g.s * cg;
    for_each_kernel_row(g, |kr| {
        let Some(ih) = kr.ih else { return };
        let row = &dcols[kr.pixel * k..][..k];
        let dst_row = &mut dx[ih * g.w * c..][..g.w * c];
        for gi in 0..g.groups {
            let seg = &row[gi * rscg + kr.r * g.s * cg..][..g.s * cg];
            for s in kr.s_lo..kr.s_hi {
                let iw = (kr.iw0 + s as isize) as usize;
                let d = &mut dst_row[iw * c + gi * cg..][..cg];
                for (a, b) in d.iter_mut().zip(&seg[s * cg..][..cg]) {
                    *a += *b;
                }
            }
        }
    });
}
