//! Batch normalisation over the channels of NHWC maps (PyTorch's
//! `BatchNorm2d`: eps 1e-5, momentum 0.1, the unbiased batch variance in the
//! running estimate). Training normalises with the batch's statistics;
//! inference with the running ones, as a per-channel affine map that
//! [`BatchNorm2d::folded`] hands to the convolution before it.

use ndarray::{ArrayD, Ix1};
use rayon::prelude::*;

use super::conv::dims4;
use super::param::Param;
use super::Tensor;

const EPS: f64 = 1e-5;
const MOMENTUM: f64 = 0.1;
/// Rows (pixels) per block of the parallel reductions; fixed, so sums do not
/// depend on the thread count.
const BLOCK: usize = 4096;

#[derive(Debug, Clone)]
pub struct BatchNorm2d {
    pub name: String,
    pub channels: usize,
    /// γ, `[C]`
    pub weight: Param,
    /// β, `[C]`
    pub bias: Param,
    pub running_mean: ArrayD<f32>,
    pub running_var: ArrayD<f32>,
    /// Training batches seen (PyTorch's `num_batches_tracked`).
    pub batches_tracked: i64,
    cache: Option<Cache>,
}

#[derive(Debug, Clone)]
struct Cache {
    /// The normalised input x̂, `[rows, C]`.
    xhat: Vec<f32>,
    inv_std: Vec<f32>,
    dims: Vec<usize>,
}

/// Per-channel sums of `f(value, channel)` over rows, block by block.
fn channel_sums(x: &[f32], c: usize, f: impl Fn(f32, usize) -> f64 + Sync) -> Vec<f64> {
    let parts: Vec<Vec<f64>> = x
        .par_chunks(BLOCK * c)
        .map(|blk| {
            let mut s = vec![0.0f64; c];
            for row in blk.chunks(c) {
                for (ch, (&v, acc)) in row.iter().zip(&mut s).enumerate() {
                    *acc += f(v, ch);
                }
            }
            s
        })
        .collect();
    let mut total = vec![0.0f64; c];
    for p in parts {
        for (t, v) in total.iter_mut().zip(p) {
            *t += v;
        }
    }
    total
}

impl BatchNorm2d {
    pub fn new(name: &str, channels: usize) -> Self {
        BatchNorm2d {
            name: name.to_string(),
            channels,
            weight: Param::new(ArrayD::ones(vec![channels])),
            bias: Param::new(ArrayD::zeros(vec![channels])),
            running_mean: ArrayD::zeros(vec![channels]),
            running_var: ArrayD::ones(vec![channels]),
            batches_tracked: 0,
            cache: None,
        }
    }

    /// The inference map as `y = scale * x + shift` per channel.
    pub fn folded(&self) -> (Vec<f32>, Vec<f32>) {
        let g = self.weight.view::<Ix1>();
        let b = self.bias.view::<Ix1>();
        (0..self.channels)
            .map(|ch| {
                let inv = 1.0 / (f64::from(self.running_var[[ch]]) + EPS).sqrt();
                let scale = f64::from(g[ch]) * inv;
                let shift = f64::from(b[ch]) - scale * f64::from(self.running_mean[[ch]]);
                (scale as f32, shift as f32)
            })
            .unzip()
    }

    pub fn forward(&mut self, x: Tensor, train: bool) -> Tensor {
        let (n, h, w, c) = dims4(&x);
        let mut x = super::standard_tensor(x);
        if !train {
            let (scale, shift) = self.folded();
            x.as_slice_mut()
                .expect("standard")
                .par_chunks_mut(BLOCK * c)
                .for_each(|blk| {
                    for row in blk.chunks_mut(c) {
                        for ((v, &a), &b) in row.iter_mut().zip(&scale).zip(&shift) {
                            *v = a * *v + b;
                        }
                    }
                });
            return x;
        }
        let rows = n * h * w;
        let xs = x.as_slice().expect("standard");
        let mean: Vec<f64> = channel_sums(xs, c, |v, _| f64::from(v))
            .into_iter()
            .map(|s| s / rows as f64)
            .collect();
        let var: Vec<f64> = channel_sums(xs, c, |v, ch| (f64::from(v) - mean[ch]).powi(2))
            .into_iter()
            .map(|s| s / rows as f64)
            .collect();
        let inv_std: Vec<f32> = var
            .iter()
            .map(|v| (1.0 / (v + EPS).sqrt()) as f32)
            .collect();
        let mut xhat = vec![0.0f32; xs.len()];
        let (g, b) = (self.weight.view::<Ix1>(), self.bias.view::<Ix1>());
        let meanf: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
        xhat.par_chunks_mut(BLOCK * c)
            .zip(
                x.as_slice_mut()
                    .expect("standard")
                    .par_chunks_mut(BLOCK * c),
            )
            .for_each(|(hb, xb)| {
                for (hr, xr) in hb.chunks_mut(c).zip(xb.chunks_mut(c)) {
                    for ch in 0..c {
                        hr[ch] = (xr[ch] - meanf[ch]) * inv_std[ch];
                        xr[ch] = g[ch] * hr[ch] + b[ch];
                    }
                }
            });
        let unbiased = rows as f64 / (rows.max(2) - 1) as f64;
        for ch in 0..c {
            let rm = &mut self.running_mean[[ch]];
            *rm = ((1.0 - MOMENTUM) * f64::from(*rm) + MOMENTUM * mean[ch]) as f32;
            let rv = &mut self.running_var[[ch]];
            *rv = ((1.0 - MOMENTUM) * f64::from(*rv) + MOMENTUM * var[ch] * unbiased) as f32;
        }
        self.batches_tracked += 1;
        self.cache = Some(Cache {
            xhat,
            inv_std,
            dims: vec![n, h, w, c],
        });
        x
    }

    /// dβ = Σ dy, dγ = Σ dy·x̂, dx = γ/σ · (dy − dβ/N − x̂·dγ/N).
    pub fn backward(&mut self, dy: ArrayD<f32>) -> ArrayD<f32> {
        let Cache {
            xhat,
            inv_std,
            dims,
        } = self
            .cache
            .take()
            .expect("backward after a training forward");
        let c = self.channels;
        let rows = xhat.len() / c;
        let mut dy = super::conv::standard(dy);
        let dys = dy.as_slice().expect("standard");
        let dbeta = channel_sums(dys, c, |v, _| f64::from(v));
        let dgamma: Vec<f64> = {
            let parts: Vec<Vec<f64>> = dys
                .par_chunks(BLOCK * c)
                .zip(xhat.par_chunks(BLOCK * c))
                .map(|(d, h)| {
                    let mut s = vec![0.0f64; c];
                    for (dr, hr) in d.chunks(c).zip(h.chunks(c)) {
                        for ch in 0..c {
                            s[ch] += f64::from(dr[ch]) * f64::from(hr[ch]);
                        }
                    }
                    s
                })
                .collect();
            let mut t = vec![0.0f64; c];
            for p in parts {
                for (a, b) in t.iter_mut().zip(p) {
                    *a += b;
                }
            }
            t
        };
        let g = self.weight.view::<Ix1>();
        let k: Vec<f32> = (0..c).map(|ch| g[ch] * inv_std[ch]).collect();
        let mb: Vec<f32> = dbeta.iter().map(|&v| (v / rows as f64) as f32).collect();
        let mg: Vec<f32> = dgamma.iter().map(|&v| (v / rows as f64) as f32).collect();
        dy.as_slice_mut()
            .expect("standard")
            .par_chunks_mut(BLOCK * c)
            .zip(xhat.par_chunks(BLOCK * c))
            .for_each(|(d, h)| {
                for (dr, hr) in d.chunks_mut(c).zip(h.chunks(c)) {
                    for ch in 0..c {
                        dr[ch] = k[ch] * (dr[ch] - mb[ch] - hr[ch] * mg[ch]);
                    }
                }
            });
        let to = |v: Vec<f64>| {
            ArrayD::from_shape_vec(vec![c], v.into_iter().map(|x| x as f32).collect())
        };
        self.bias.set_grad(to(dbeta).expect("C values"));
        self.weight.set_grad(to(dgamma).expect("C values"));
        dy.into_shape_with_order(dims).expect("same length")
    }
}
