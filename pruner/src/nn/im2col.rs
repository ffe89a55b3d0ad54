//! Lowering of NHWC convolution windows to GEMM rows and back.
//!
//! Row `(n, oh, ow)` of the column matrix holds the receptive field of one
//! output pixel, ordered `(group, r, s, channel-in-group)`. With NHWC input the
//! channels of one pixel are contiguous, and with one group a whole kernel row
//! `s = 0..S` is one contiguous run, so both directions are mostly `memcpy`.
//! Samples are independent, so both directions run in parallel over the batch
//! without any cross-thread reduction (keeps results deterministic).

use rayon::prelude::*;

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
        (self.h + 2 * self.pad - self.r) / self.stride + 1
    }
    pub fn out_w(&self) -> usize {
        (self.w + 2 * self.pad - self.s) / self.stride + 1
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

/// `x`: `N*H*W*C` input; `cols`: `N*P*K` output, fully overwritten.
pub fn im2col(x: &[f32], g: &ConvGeom, cols: &mut [f32]) {
    let in_len = g.h * g.w * g.c;
    let out_len = g.pixels() * g.row_len();
    cols.par_chunks_mut(out_len)
        .zip(x.par_chunks(in_len))
        .for_each(|(dst, src)| lower_sample(src, g, dst));
}

/// `dcols`: `N*P*K` gradient of the lowered matrix; `dx`: `N*H*W*C`, overwritten.
pub fn col2im(dcols: &[f32], g: &ConvGeom, dx: &mut [f32]) {
    let in_len = g.h * g.w * g.c;
    let out_len = g.pixels() * g.row_len();
    dx.par_chunks_mut(in_len)
        .zip(dcols.par_chunks(out_len))
        .for_each(|(dst, src)| {
            dst.fill(0.0);
            raise_sample(src, g, dst);
        });
}

fn lower_sample(x: &[f32], g: &ConvGeom, out: &mut [f32]) {
    let k = g.row_len();
    let cg = g.group_channels();
    let rscg = g.r * g.s * cg;
    let (ow_n, c) = (g.out_w(), g.c);
    for oh in 0..g.out_h() {
        let ih0 = (oh * g.stride) as isize - g.pad as isize;
        for ow in 0..ow_n {
            let iw0 = (ow * g.stride) as isize - g.pad as isize;
            let (s_lo, s_hi) = g.valid_s(iw0);
            let row = &mut out[(oh * ow_n + ow) * k..][..k];
            for r in 0..g.r {
                let ih = ih0 + r as isize;
                let inside = ih >= 0 && (ih as usize) < g.h;
                for gi in 0..g.groups {
                    let seg = &mut row[gi * rscg + r * g.s * cg..][..g.s * cg];
                    if !inside {
                        seg.fill(0.0);
                        continue;
                    }
                    seg[..s_lo * cg].fill(0.0);
                    seg[s_hi * cg..].fill(0.0);
                    let src_row = &x[ih as usize * g.w * c..][..g.w * c];
                    if g.groups == 1 {
                        if s_hi > s_lo {
                            let iw = (iw0 + s_lo as isize) as usize;
                            seg[s_lo * c..s_hi * c]
                                .copy_from_slice(&src_row[iw * c..][..(s_hi - s_lo) * c]);
                        }
                    } else {
                        for s in s_lo..s_hi {
                            let iw = (iw0 + s as isize) as usize;
                            seg[s * cg..][..cg].copy_from_slice(&src_row[iw * c + gi * cg..][..cg]);
                        }
                    }
                }
            }
        }
    }
}

fn raise_sample(dcols: &[f32], g: &ConvGeom, dx: &mut [f32]) {
    let k = g.row_len();
    let cg = g.group_channels();
    let rscg = g.r * g.s * cg;
    let (ow_n, c) = (g.out_w(), g.c);
    for oh in 0..g.out_h() {
        let ih0 = (oh * g.stride) as isize - g.pad as isize;
        for ow in 0..ow_n {
            let iw0 = (ow * g.stride) as isize - g.pad as isize;
            let (s_lo, s_hi) = g.valid_s(iw0);
            let row = &dcols[(oh * ow_n + ow) * k..][..k];
            for r in 0..g.r {
                let ih = ih0 + r as isize;
                if ih < 0 || ih as usize >= g.h {
                    continue;
                }
                let dst_row = &mut dx[ih as usize * g.w * c..][..g.w * c];
                for gi in 0..g.groups {
                    let seg = &row[gi * rscg + r * g.s * cg..][..g.s * cg];
                    for s in s_lo..s_hi {
                        let iw = (iw0 + s as isize) as usize;
                        let d = &mut dst_row[iw * c + gi * cg..][..cg];
                        for (a, b) in d.iter_mut().zip(&seg[s * cg..][..cg]) {
                            *a += *b;
                        }
                    }
                }
            }
        }
    }
}
