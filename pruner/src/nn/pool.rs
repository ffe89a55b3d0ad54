//! Max pooling on NHWC activations (no padding).

use ndarray::{ArrayD, Ix4};
use rayon::prelude::*;

use super::out_size;

#[derive(Debug, Clone)]
pub struct MaxPool2d {
    pub kernel: usize,
    pub stride: usize,
    cache: Option<Cache>,
}

#[derive(Debug, Clone)]
struct Cache {
    in_dim: (usize, usize, usize, usize),
    /// Per output element, the offset of the winning input inside its sample.
    argmax: Vec<u32>,
}

impl MaxPool2d {
    pub fn new(kernel: usize, stride: usize) -> Self {
        MaxPool2d {
            kernel,
            stride,
            cache: None,
        }
    }

    pub fn out_size(&self, h: usize) -> usize {
        out_size(h, self.kernel, self.stride, 0)
    }

    pub fn forward(&mut self, x: ArrayD<f32>, train: bool) -> ArrayD<f32> {
        let x = x
            .into_dimensionality::<Ix4>()
            .expect("4-D input to max-pool");
        let (n, h, w, c) = x.dim();
        let (oh, ow) = (self.out_size(h), self.out_size(w));
        let x = x.as_standard_layout();
        let src = x.as_slice().expect("standard layout");
        let mut out = vec![0.0f32; n * oh * ow * c];
        let mut argmax = vec![0u32; n * oh * ow * c];
        let (k, st) = (self.kernel, self.stride);
        out.par_chunks_mut(oh * ow * c)
            .zip(argmax.par_chunks_mut(oh * ow * c))
            .zip(src.par_chunks(h * w * c))
            .for_each(|((o, a), xs)| {
                for y in 0..oh {
                    for xx in 0..ow {
                        for ch in 0..c {
                            let mut at = (y * st * w + xx * st) * c + ch;
                            let mut best = xs[at];
                            for i in 0..k {
                                for j in 0..k {
                                    let idx = ((y * st + i) * w + xx * st + j) * c + ch;
                                    // `>` keeps the first maximum, like PyTorch.
                                    if xs[idx] > best {
                                        best = xs[idx];
                                        at = idx;
                                    }
                                }
                            }
                            let oi = (y * ow + xx) * c + ch;
                            o[oi] = best;
                            a[oi] = at as u32;
                        }
                    }
                }
            });
        if train {
            self.cache = Some(Cache {
                in_dim: (n, h, w, c),
                argmax,
            });
        }
        ArrayD::from_shape_vec(vec![n, oh, ow, c], out).expect("length matches shape")
    }

    pub fn backward(&mut self, dy: ArrayD<f32>) -> ArrayD<f32> {
        let Cache { in_dim, argmax } = self
            .cache
            .take()
            .expect("backward after a training forward");
        let (n, h, w, c) = in_dim;
        let dy = dy.as_standard_layout();
        let dys = dy.as_slice().expect("standard layout");
        let per_out = dys.len() / n;
        let mut dx = vec![0.0f32; n * h * w * c];
        dx.par_chunks_mut(h * w * c)
            .zip(dys.par_chunks(per_out))
            .zip(argmax.par_chunks(per_out))
            .for_each(|((d, g), a)| {
                for (&gv, &ai) in g.iter().zip(a) {
                    d[ai as usize] += gv;
                }
            });
        ArrayD::from_shape_vec(vec![n, h, w, c], dx).expect("length matches shape")
    }
}
