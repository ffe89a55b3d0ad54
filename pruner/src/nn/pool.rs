//! Max pooling on NHWC activations, with PyTorch's implicit -inf padding.

use ndarray::ArrayD;
use rayon::prelude::*;

use super::conv::dims4;
use super::{out_size, Tensor};

#[derive(Debug, Clone)]
pub struct MaxPool2d {
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
    cache: Option<Cache>,
}

#[derive(Debug, Clone)]
struct Cache {
    in_dim: (usize, usize, usize, usize),
    /// Per output element, the offset of the winning input inside its sample.
    argmax: Vec<u32>,
}

/// Input rows (or columns) of window `o` that lie inside `0..size`.
fn window(o: usize, stride: usize, pad: usize, kernel: usize, size: usize) -> (usize, usize) {
    let start = (o * stride) as isize - pad as isize;
    let lo = start.max(0) as usize;
    let hi = ((start + kernel as isize).min(size as isize)).max(0) as usize;
    (lo, hi.max(lo))
}

impl MaxPool2d {
    pub fn new(kernel: usize, stride: usize, padding: usize) -> Self {
        MaxPool2d {
            kernel,
            stride,
            padding,
            cache: None,
        }
    }

    pub fn out_size(&self, h: usize) -> usize {
        out_size(h, self.kernel, self.stride, self.padding)
    }

    pub fn forward(&mut self, x: Tensor, train: bool) -> Tensor {
        let (n, h, w, c) = dims4(&x);
        let (oh, ow) = (self.out_size(h), self.out_size(w));
        let x = super::standard_tensor(x);
        let src = x.as_slice().expect("standard layout");
        let mut out = vec![0.0f32; n * oh * ow * c];
        let mut argmax = vec![0u32; n * oh * ow * c];
        let (k, st, p) = (self.kernel, self.stride, self.padding);
        out.par_chunks_mut(oh * ow * c)
            .zip(argmax.par_chunks_mut(oh * ow * c))
            .zip(src.par_chunks(h * w * c))
            .for_each(|((o, a), xs)| {
                for y in 0..oh {
                    let (y0, y1) = window(y, st, p, k, h);
                    for xx in 0..ow {
                        let (x0, x1) = window(xx, st, p, k, w);
                        for ch in 0..c {
                            let mut at = (y0 * w + x0) * c + ch;
                            let mut best = xs[at];
                            for i in y0..y1 {
                                for j in x0..x1 {
                                    let idx = (i * w + j) * c + ch;
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
        ArrayD::from_shape_vec(vec![n, oh, ow, c], out)
            .expect("length matches shape")
            .into_shared()
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
