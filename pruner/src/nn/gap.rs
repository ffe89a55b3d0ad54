//! Global average pooling: `[N, H, W, C]` -> `[N, C]`.

use ndarray::{ArrayD, Ix2};

use super::conv::dims4;
use super::Tensor;

#[derive(Debug, Clone, Default)]
pub struct GlobalAvgPool {
    dims: Option<(usize, usize, usize, usize)>,
}

impl GlobalAvgPool {
    pub fn forward(&mut self, x: Tensor) -> Tensor {
        let (n, h, w, c) = dims4(&x);
        self.dims = Some((n, h, w, c));
        let x = super::standard_tensor(x);
        let xs = x.as_slice().expect("standard");
        let inv = 1.0 / (h * w) as f32;
        let mut out = vec![0.0f32; n * c];
        for (o, sample) in out.chunks_mut(c).zip(xs.chunks(h * w * c)) {
            for px in sample.chunks(c) {
                for (a, &v) in o.iter_mut().zip(px) {
                    *a += v;
                }
            }
            o.iter_mut().for_each(|v| *v *= inv);
        }
        ArrayD::from_shape_vec(vec![n, c], out)
            .expect("n x c")
            .into_shared()
    }

    pub fn backward(&mut self, dy: ArrayD<f32>) -> ArrayD<f32> {
        let (n, h, w, c) = self.dims.take().expect("backward after forward");
        let dy = dy.into_dimensionality::<Ix2>().expect("[N, C] gradient");
        let inv = 1.0 / (h * w) as f32;
        let mut dx = vec![0.0f32; n * h * w * c];
        for (ni, sample) in dx.chunks_mut(h * w * c).enumerate() {
            for px in sample.chunks_mut(c) {
                for (d, &g) in px.iter_mut().zip(dy.row(ni)) {
                    *d = g * inv;
                }
            }
        }
        ArrayD::from_shape_vec(vec![n, h, w, c], dx).expect("n x h x w x c")
    }
}
