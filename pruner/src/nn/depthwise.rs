//! Depthwise convolution (groups = in channels = out channels, MobileNet's
//! 3x3 layers) computed directly on NHWC maps: for every output pixel and
//! kernel tap, one multiply-add across the channel vector, which the
//! compiler vectorises. im2col with one channel per group would run a
//! thousand-odd one-column GEMMs per layer instead.
//!
//! Samples are split into fixed blocks (as the GEMM path does); the weight
//! and bias gradients are the blocks' partial sums added in block order, so
//! results do not depend on the thread count.

use rayon::prelude::*;

use super::im2col::ConvGeom;

/// Samples per block of the weight-gradient reduction.
const BLOCK: usize = 8;

/// Weights `[C, 1, R, S]` (OIHW) as taps `[R * S][C]`.
pub fn taps(w: &[f32], g: &ConvGeom) -> Vec<f32> {
    let (c, rs) = (g.c, g.r * g.s);
    let mut t = vec![0.0f32; rs * c];
    for ch in 0..c {
        for k in 0..rs {
            t[k * c + ch] = w[ch * rs + k];
        }
    }
    t
}

/// Inverse of [`taps`].
pub fn untaps(t: &[f32], g: &ConvGeom) -> Vec<f32> {
    let (c, rs) = (g.c, g.r * g.s);
    let mut w = vec![0.0f32; rs * c];
    for ch in 0..c {
        for k in 0..rs {
            w[ch * rs + k] = t[k * c + ch];
        }
    }
    w
}

/// Visits every (output pixel, kernel tap) pair of one sample whose input
/// pixel lies inside the map: `f(output offset, input offset, tap index)`,
/// offsets in units of whole channel vectors.
#[inline(always)]
fn for_each_tap(g: &ConvGeom, mut f: impl FnMut(usize, usize, usize)) {
    let (oh, ow) = (g.out_h(), g.out_w());
    for y in 0..oh {
        for x in 0..ow {
            for r in 0..g.r {
                let ih = (y * g.stride + r) as isize - g.pad as isize;
                if ih < 0 || ih >= g.h as isize {
                    continue;
                }
                for s in 0..g.s {
                    let iw = (x * g.stride + s) as isize - g.pad as isize;
                    if iw < 0 || iw >= g.w as isize {
                        continue;
                    }
                    f(y * ow + x, ih as usize * g.w + iw as usize, r * g.s + s);
                }
            }
        }
    }
}

/// `out` (`N*OH*OW*C`) = bias + depthwise convolution of `x` (`N*H*W*C`).
pub fn forward(x: &[f32], taps: &[f32], bias: &[f32], g: &ConvGeom, out: &mut [f32]) {
    let c = g.c;
    let (in_len, out_len) = (g.h * g.w * c, g.pixels() * c);
    out.par_chunks_mut(out_len)
        .zip(x.par_chunks(in_len))
        .for_each(|(o, xs)| {
            for px in o.chunks_mut(c) {
                px.copy_from_slice(bias);
            }
            for_each_tap(g, |op, ip, k| {
                let (dst, src, wt) = (
                    &mut o[op * c..][..c],
                    &xs[ip * c..][..c],
                    &taps[k * c..][..c],
                );
                for ((d, &v), &w) in dst.iter_mut().zip(src).zip(wt) {
                    *d += v * w;
                }
            });
        });
}

/// Weight-tap and bias gradients, and the input gradient when `dx` is given.
pub fn backward(
    x: &[f32],
    dy: &[f32],
    taps: &[f32],
    g: &ConvGeom,
    dx: Option<&mut [f32]>,
) -> (Vec<f32>, Vec<f32>) {
    let c = g.c;
    let rs = g.r * g.s;
    let (in_len, out_len) = (g.h * g.w * c, g.pixels() * c);
    let n = x.len() / in_len;
    let blocks = n.div_ceil(BLOCK);
    let mut parts = vec![0.0f32; blocks * (rs + 1) * c];
    parts
        .par_chunks_mut((rs + 1) * c)
        .zip(
            x.par_chunks(BLOCK * in_len)
                .zip(dy.par_chunks(BLOCK * out_len)),
        )
        .for_each(|(p, (xb, dyb))| {
            let (dt, db) = p.split_at_mut(rs * c);
            for (xs, ds) in xb.chunks(in_len).zip(dyb.chunks(out_len)) {
                for px in ds.chunks(c) {
                    for (a, &v) in db.iter_mut().zip(px) {
                        *a += v;
                    }
                }
                for_each_tap(g, |op, ip, k| {
                    let (acc, d, v) = (
                        &mut dt[k * c..][..c],
                        &ds[op * c..][..c],
                        &xs[ip * c..][..c],
                    );
                    for ((a, &gy), &xv) in acc.iter_mut().zip(d).zip(v) {
                        *a += gy * xv;
                    }
                });
            }
        });
    let mut sum = vec![0.0f32; (rs + 1) * c];
    for p in parts.chunks((rs + 1) * c) {
        for (s, v) in sum.iter_mut().zip(p) {
            *s += v;
        }
    }
    if let Some(dx) = dx {
        dx.par_chunks_mut(in_len)
            .zip(dy.par_chunks(out_len))
            .for_each(|(d, ds)| {
                d.fill(0.0);
                for_each_tap(g, |op, ip, k| {
                    let (acc, gy, wt) = (
                        &mut d[ip * c..][..c],
                        &ds[op * c..][..c],
                        &taps[k * c..][..c],
                    );
                    for ((a, &v), &w) in acc.iter_mut().zip(gy).zip(wt) {
                        *a += v * w;
                    }
                });
            });
    }
    let db = sum.split_off(rs * c);
    (sum, db)
}
