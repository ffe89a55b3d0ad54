//! Nodes with several inputs: channel concatenation (inception and fire
//! modules) and element-wise addition (residual connections).

use ndarray::{ArrayD, Axis, Slice};

use super::Tensor;

#[derive(Debug, Clone, Default)]
pub struct Concat {
    /// Channels of each input of the last forward pass.
    widths: Vec<usize>,
}

impl Concat {
    /// Joins NHWC maps along C.
    pub fn forward(&mut self, xs: Vec<Tensor>) -> Tensor {
        let axis = Axis(xs[0].ndim() - 1);
        self.widths = xs.iter().map(|x| x.len_of(axis)).collect();
        let views: Vec<_> = xs.iter().map(|x| x.view()).collect();
        ndarray::concatenate(axis, &views)
            .expect("shapes checked when the network was built")
            .as_standard_layout()
            .into_owned()
            .into_shared()
    }

    pub fn backward(&mut self, dy: ArrayD<f32>) -> Vec<Option<ArrayD<f32>>> {
        let axis = Axis(dy.ndim() - 1);
        let mut at = 0;
        self.widths
            .iter()
            .map(|&w| {
                let part = dy
                    .slice_axis(axis, Slice::from(at..at + w))
                    .as_standard_layout()
                    .into_owned();
                at += w;
                Some(part)
            })
            .collect()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Add {
    inputs: usize,
}

impl Add {
    /// Sums maps of equal shape, in input order.
    pub fn forward(&mut self, xs: Vec<Tensor>) -> Tensor {
        self.inputs = xs.len();
        let mut it = xs.into_iter();
        let mut sum = it.next().expect("at least two inputs");
        for x in it {
            sum += &x;
        }
        sum
    }

    pub fn backward(&mut self, dy: ArrayD<f32>) -> Vec<Option<ArrayD<f32>>> {
        let mut out: Vec<Option<ArrayD<f32>>> =
            (1..self.inputs).map(|_| Some(dy.clone())).collect();
        out.insert(0, Some(dy));
        out
    }
}
