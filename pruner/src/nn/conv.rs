//! 2-D convolution (stride, zero padding, groups) on NHWC activations,
//! lowered to GEMM with im2col.
//!
//! Weights are kept in PyTorch's OIHW layout so that masks, saved files and
//! pruning code all see one layout; they are permuted to the GEMM's OHWI
//! order on each call, which costs nothing next to the GEMM itself.

use ndarray::{
    linalg::general_mat_mul, s, Array1, Array2, Array4, ArrayD, ArrayView4, Axis, Ix1, Ix4,
};
use rand_chacha::ChaCha8Rng;

use super::im2col::{col2im, im2col, ConvGeom};
use super::init::he_uniform;
use super::param::Param;

#[derive(Debug, Clone)]
pub struct Conv2d {
    pub name: String,
    pub in_channels: usize,
    pub out_channels: usize,
    pub kernel: (usize, usize),
    pub stride: usize,
    pub padding: usize,
    pub groups: usize,
    /// `[M, C/groups, R, S]`
    pub weight: Param,
    /// `[M]`
    pub bias: Param,
    cache: Option<Cache>,
    /// The lowered-input matrix of the previous batch, kept for reuse: at
    /// tens of MB it is served by fresh `mmap`s otherwise, and the page
    /// faults of touching them cost as much as the im2col itself.
    spare: Option<Array2<f32>>,
}

#[derive(Debug, Clone)]
struct Cache {
    geom: ConvGeom,
    batch: usize,
    cols: Array2<f32>,
}

impl Conv2d {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: &str,
        in_channels: usize,
        out_channels: usize,
        kernel: (usize, usize),
        stride: usize,
        padding: usize,
        groups: usize,
        rng: &mut ChaCha8Rng,
    ) -> Self {
        let cg = in_channels / groups;
        let shape = [out_channels, cg, kernel.0, kernel.1];
        let weight = he_uniform(&shape, cg * kernel.0 * kernel.1, rng);
        Conv2d {
            name: name.to_string(),
            in_channels,
            out_channels,
            kernel,
            stride,
            padding,
            groups,
            weight: Param::new(weight),
            bias: Param::new(ArrayD::zeros(vec![out_channels])),
            cache: None,
            spare: None,
        }
    }

    /// The convolution of this layer on an `h x w` input.
    pub(crate) fn geom(&self, h: usize, w: usize) -> ConvGeom {
        ConvGeom {
            h,
            w,
            c: self.in_channels,
            r: self.kernel.0,
            s: self.kernel.1,
            stride: self.stride,
            pad: self.padding,
            groups: self.groups,
        }
    }

    /// `[M, R*S*Cg]` in the column order produced by `im2col`.
    fn gemm_weight(&self) -> Array2<f32> {
        oihw_to_gemm(self.weight.view::<Ix4>())
    }

    /// `x`: `[N, H, W, C]` -> `[N, OH, OW, M]`.
    pub fn forward(&mut self, x: ArrayD<f32>, train: bool) -> ArrayD<f32> {
        let x = x
            .into_dimensionality::<Ix4>()
            .expect("shapes checked when the network was built");
        let (n, h, w, c) = x.dim();
        debug_assert_eq!(c, self.in_channels);
        let g = self.geom(h, w);
        let x = x.as_standard_layout();
        let shape = (n * g.pixels(), g.row_len());
        let mut cols = match self.spare.take() {
            Some(c) if c.dim() == shape => c,
            _ => Array2::<f32>::zeros(shape),
        };
        im2col(
            x.as_slice().expect("standard layout"),
            &g,
            cols.as_slice_mut().expect("fresh array"),
        );

        let wm = self.gemm_weight();
        let (m, groups) = (self.out_channels, self.groups);
        let (mg, kg) = (m / groups, g.row_len() / groups);
        let mut out = Array2::<f32>::zeros((n * g.pixels(), m));
        for gi in 0..groups {
            let a = cols.slice(s![.., gi * kg..(gi + 1) * kg]);
            let b = wm.slice(s![gi * mg..(gi + 1) * mg, ..]);
            let mut c_out = out.slice_mut(s![.., gi * mg..(gi + 1) * mg]);
            general_mat_mul(1.0, &a, &b.t(), 0.0, &mut c_out);
        }
        out += &self.bias.view::<Ix1>();

        self.cache = train.then_some(Cache {
            geom: g,
            batch: n,
            cols,
        });
        out.into_shape_with_order((n, g.out_h(), g.out_w(), m))
            .expect("contiguous")
            .into_dyn()
    }

    /// Stores weight/bias gradients; returns the input gradient when asked
    /// (the first layer of a network does not need one).
    pub fn backward(&mut self, dy: ArrayD<f32>, need_input_grad: bool) -> Option<ArrayD<f32>> {
        let Cache {
            geom: g,
            batch: n,
            cols,
        } = self
            .cache
            .take()
            .expect("backward called after a training forward");
        let (m, groups) = (self.out_channels, self.groups);
        let (mg, kg) = (m / groups, g.row_len() / groups);
        let dy = dy.as_standard_layout().into_owned();
        let dy = dy
            .into_shape_with_order((n * g.pixels(), m))
            .expect("output gradient matches output shape");

        let db: Array1<f32> = dy.sum_axis(Axis(0));
        self.bias.set_grad(db.into_dyn());

        let mut dw = Array2::<f32>::zeros((m, g.row_len() / groups));
        for gi in 0..groups {
            let a = dy.slice(s![.., gi * mg..(gi + 1) * mg]);
            let b = cols.slice(s![.., gi * kg..(gi + 1) * kg]);
            let mut c_out = dw.slice_mut(s![gi * mg..(gi + 1) * mg, ..]);
            general_mat_mul(1.0, &a.t(), &b, 0.0, &mut c_out);
        }
        let dw = gemm_to_oihw(dw, [m, g.group_channels(), g.r, g.s]);
        self.weight.set_grad(dw.into_dyn());

        if !need_input_grad {
            self.spare = Some(cols);
            return None;
        }
        let wm = self.gemm_weight();
        let mut dcols = cols; // same shape, reuse the allocation
        for gi in 0..groups {
            let a = dy.slice(s![.., gi * mg..(gi + 1) * mg]);
            let b = wm.slice(s![gi * mg..(gi + 1) * mg, ..]);
            let mut c_out = dcols.slice_mut(s![.., gi * kg..(gi + 1) * kg]);
            general_mat_mul(1.0, &a, &b, 0.0, &mut c_out);
        }
        let mut dx = ArrayD::<f32>::zeros(vec![n, g.h, g.w, g.c]);
        col2im(
            dcols.as_slice().expect("standard layout"),
            &g,
            dx.as_slice_mut().expect("fresh array"),
        );
        self.spare = Some(dcols);
        Some(dx)
    }
}

/// OIHW weights `[M, Cg, R, S]` as the GEMM matrix `[M, R*S*Cg]`, columns
/// ordered `(r, s, c)` like the rows of `im2col`.
pub(crate) fn oihw_to_gemm<A: Clone>(w: ArrayView4<'_, A>) -> Array2<A> {
    let m = w.len_of(Axis(0));
    let k = w.len() / m;
    w.permuted_axes([0, 2, 3, 1])
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((m, k))
        .expect("contiguous")
}

/// Inverse of [`oihw_to_gemm`] for OIHW `shape` `[M, Cg, R, S]`.
pub(crate) fn gemm_to_oihw<A: Clone>(g: Array2<A>, shape: [usize; 4]) -> Array4<A> {
    let [m, cg, r, s] = shape;
    g.into_shape_with_order((m, r, s, cg))
        .expect("sizes match")
        .permuted_axes([0, 3, 1, 2])
        .as_standard_layout()
        .into_owned()
}
