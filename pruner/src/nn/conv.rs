//! 2-D convolution (stride, zero padding, groups) on NHWC activations,
//! lowered to GEMM with im2col.
//!
//! Weights are kept in PyTorch's OIHW layout so that masks, saved files and
//! pruning code all see one layout; they are permuted to the GEMM's OHWI
//! order on each call, which costs nothing next to the GEMM itself.
//!
//! The batch is cut into blocks of whole images, a few thousand lowered rows
//! each (the block size depends only on the layer's shape): each block is
//! lowered into a per-thread scratch buffer that stays in cache and
//! multiplied there, instead of materialising the whole batch's lowered
//! matrix (115 MB for vgg-mini's conv2 at batch 128) and streaming it through
//! memory three times. The backward pass lowers each block again from the
//! saved input. Blocks run in parallel; the weight gradient is the sum of the
//! blocks' partial gradients in block order, so results do not depend on the
//! thread count.

use std::cell::RefCell;

use ndarray::{Array2, Array4, ArrayD, ArrayView4, Axis, Ix1, Ix4};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::depthwise;
use super::gemm::{matmul, MatMut, MatRef};
use super::im2col::{lower, raise, ConvGeom};
use super::init::he_uniform;
use super::param::Param;
use super::{standard_tensor, Tensor};

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
    /// The input of the last training forward pass (NHWC, standard layout),
    /// shared with whoever else keeps it (the ReLU before, a branch).
    input: Option<Tensor>,
}

/// Lowered rows a block aims at: with K up to a few hundred columns, a block
/// and its gradient fit in a core's L2/L3 share.
const BLOCK_ROWS: usize = 2048;

thread_local! {
    /// Per-thread scratch for a block's lowered matrix (and its gradient).
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on a scratch slice of `len` floats owned by this thread (its
/// contents are whatever the last user left).
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    SCRATCH.with(|s| {
        let mut buf = s.borrow_mut();
        if buf.len() < len {
            buf.resize(len, 0.0);
        }
        f(&mut buf[..len])
    })
}

/// `x` in standard (C-contiguous) layout, copied only if it is not.
pub(crate) fn standard<D: ndarray::Dimension>(x: ndarray::Array<f32, D>) -> ndarray::Array<f32, D> {
    if x.is_standard_layout() {
        x
    } else {
        x.as_standard_layout().into_owned()
    }
}

/// `[N, H, W, C]` of a 4-D tensor.
pub(crate) fn dims4(x: &Tensor) -> (usize, usize, usize, usize) {
    match *x.shape() {
        [n, h, w, c] => (n, h, w, c),
        ref s => panic!("expected a 4-D NHWC tensor, got shape {s:?} (checked when built)"),
    }
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
            input: None,
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
    pub fn forward(&mut self, x: Tensor, train: bool) -> Tensor {
        let x = standard_tensor(x);
        let (n, h, w, c) = dims4(&x);
        debug_assert_eq!(c, self.in_channels);
        let g = self.geom(h, w);
        if self.is_depthwise() {
            return self.forward_depthwise(x, &g, train);
        }
        let l = Lowering::new(&g, self.out_channels, self.groups);
        let wm = self.gemm_weight();
        let wm = wm.as_slice().expect("standard layout");
        let bias = self.bias.view::<Ix1>();
        let bias = bias.as_slice().expect("contiguous");
        let bi = block_images(g.pixels());
        let mut out = vec![0.0f32; n * g.pixels() * l.m];
        out.par_chunks_mut(bi * g.pixels() * l.m)
            .zip(x.as_slice().expect("standard").par_chunks(bi * h * w * c))
            .for_each(|(o, xb)| {
                let rows = o.len() / l.m;
                with_scratch(rows * l.k, |cols| {
                    lower(xb, &g, cols);
                    for row in o.chunks_mut(l.m) {
                        row.copy_from_slice(bias);
                    }
                    for gi in 0..l.groups {
                        matmul(
                            l.out(o, gi, rows),
                            l.cols(cols, gi, rows),
                            l.weight(wm, gi).t(),
                            true,
                        );
                    }
                });
            });
        if train {
            self.input = Some(x);
        }
        ArrayD::from_shape_vec(vec![n, g.out_h(), g.out_w(), l.m], out)
            .expect("length matches")
            .into_shared()
    }

    /// Stores weight/bias gradients; returns the input gradient when asked
    /// (the first layer of a network does not need one).
    pub fn backward(&mut self, dy: ArrayD<f32>, need_input_grad: bool) -> Option<ArrayD<f32>> {
        let x = self
            .input
            .take()
            .expect("backward called after a training forward");
        let (n, h, w, c) = dims4(&x);
        let g = self.geom(h, w);
        if self.is_depthwise() {
            return self.backward_depthwise(&x, dy, &g, need_input_grad);
        }
        let l = Lowering::new(&g, self.out_channels, self.groups);
        let dy = standard(dy);
        let dys = dy.as_slice().expect("standard layout");
        assert_eq!(
            dys.len(),
            n * g.pixels() * l.m,
            "output gradient matches output shape"
        );
        let wm = self.gemm_weight();
        let wm = wm.as_slice().expect("standard layout");
        let bi = block_images(g.pixels());
        let blocks = n.div_ceil(bi);
        let (in_len, out_len) = (bi * h * w * c, bi * g.pixels() * l.m);
        let mut dw_parts = vec![0.0f32; blocks * l.m * l.kg];
        let mut db_parts = vec![0.0f32; blocks * l.m];
        let mut dx = vec![0.0f32; if need_input_grad { n * h * w * c } else { 0 }];
        let mut dx_blocks: Vec<Option<&mut [f32]>> = if need_input_grad {
            dx.chunks_mut(in_len).map(Some).collect()
        } else {
            (0..blocks).map(|_| None).collect()
        };
        let xs = x.as_slice().expect("standard layout");
        dx_blocks
            .par_iter_mut()
            .zip(dw_parts.par_chunks_mut(l.m * l.kg))
            .zip(db_parts.par_chunks_mut(l.m))
            .zip(xs.par_chunks(in_len).zip(dys.par_chunks(out_len)))
            .for_each(|(((dxb, dwp), dbp), (xb, dyb))| {
                let rows = dyb.len() / l.m;
                for row in dyb.chunks(l.m) {
                    for (d, v) in dbp.iter_mut().zip(row) {
                        *d += v;
                    }
                }
                with_scratch(2 * rows * l.k, |buf| {
                    let (cols, dcols) = buf.split_at_mut(rows * l.k);
                    lower(xb, &g, cols);
                    for gi in 0..l.groups {
                        let dw_g = MatMut::dense(&mut dwp[gi * l.mg * l.kg..], l.mg, l.kg);
                        matmul(dw_g, l.dy(dyb, gi, rows).t(), l.cols(cols, gi, rows), false);
                    }
                    let Some(dxb) = dxb.as_deref_mut() else {
                        return;
                    };
                    for gi in 0..l.groups {
                        let d = MatMut::strided(&mut dcols[gi * l.kg..], rows, l.kg, l.k);
                        matmul(d, l.dy(dyb, gi, rows), l.weight(wm, gi), false);
                    }
                    raise(dcols, &g, dxb);
                });
            });
        self.bias.set_grad(sum_parts(&db_parts, l.m).into_dyn());
        let dw = Array2::from_shape_vec((l.m, l.kg), sum_parts(&dw_parts, l.m * l.kg).to_vec())
            .expect("sizes match");
        let dw = gemm_to_oihw(dw, [l.m, g.group_channels(), g.r, g.s]);
        self.weight.set_grad(dw.into_dyn());
        need_input_grad
            .then(|| ArrayD::from_shape_vec(vec![n, h, w, c], dx).expect("length matches shape"))
    }
}

impl Conv2d {
    /// One input channel per output channel ([`depthwise`] computes it).
    fn is_depthwise(&self) -> bool {
        self.groups > 1 && self.groups == self.in_channels && self.groups == self.out_channels
    }

    fn forward_depthwise(&mut self, x: Tensor, g: &ConvGeom, train: bool) -> Tensor {
        let (n, c) = (x.shape()[0], g.c);
        let w = self.weight.value().as_standard_layout();
        let taps = depthwise::taps(w.as_slice().expect("standard"), g);
        let bias = self.bias.view::<Ix1>();
        let mut out = vec![0.0f32; n * g.pixels() * c];
        depthwise::forward(
            x.as_slice().expect("standard layout"),
            &taps,
            bias.as_slice().expect("contiguous"),
            g,
            &mut out,
        );
        if train {
            self.input = Some(x);
        }
        ArrayD::from_shape_vec(vec![n, g.out_h(), g.out_w(), c], out)
            .expect("length matches")
            .into_shared()
    }

    fn backward_depthwise(
        &mut self,
        x: &Tensor,
        dy: ArrayD<f32>,
        g: &ConvGeom,
        need_input_grad: bool,
    ) -> Option<ArrayD<f32>> {
        let dy = standard(dy);
        let w = self.weight.value().as_standard_layout();
        let taps = depthwise::taps(w.as_slice().expect("standard"), g);
        let mut dx = vec![0.0f32; if need_input_grad { x.len() } else { 0 }];
        let (dt, db) = depthwise::backward(
            x.as_slice().expect("standard layout"),
            dy.as_slice().expect("standard layout"),
            &taps,
            g,
            need_input_grad.then_some(&mut dx[..]),
        );
        let shape = self.weight.shape().to_vec();
        let dw = ArrayD::from_shape_vec(shape, depthwise::untaps(&dt, g)).expect("C x 1 x R x S");
        self.weight.set_grad(dw);
        self.bias
            .set_grad(ArrayD::from_shape_vec(vec![g.c], db).expect("C values"));
        need_input_grad
            .then(|| ArrayD::from_shape_vec(x.shape().to_vec(), dx).expect("input shape"))
    }
}

/// Images per block: about [`BLOCK_ROWS`] lowered rows, at least one image.
fn block_images(pixels: usize) -> usize {
    (BLOCK_ROWS / pixels.max(1)).max(1)
}

/// Sums equal-length parts in order (fixed order: deterministic).
fn sum_parts(parts: &[f32], len: usize) -> ndarray::Array1<f32> {
    let mut acc = ndarray::Array1::<f32>::zeros(len);
    for part in parts.chunks(len) {
        acc += &ndarray::ArrayView1::from(part);
    }
    acc
}

/// The matrices of one lowered block, per group: the lowered input
/// `[rows, K]`, the output and its gradient `[rows, M]`, the weights
/// `[M, K/groups]`.
#[derive(Debug, Clone, Copy)]
struct Lowering {
    m: usize,
    k: usize,
    groups: usize,
    mg: usize,
    kg: usize,
}

impl Lowering {
    fn new(g: &ConvGeom, m: usize, groups: usize) -> Self {
        let k = g.row_len();
        Lowering {
            m,
            k,
            groups,
            mg: m / groups,
            kg: k / groups,
        }
    }
    fn cols<'a>(&self, cols: &'a [f32], gi: usize, rows: usize) -> MatRef<'a> {
        MatRef::strided(&cols[gi * self.kg..], rows, self.kg, self.k)
    }
    fn dy<'a>(&self, dy: &'a [f32], gi: usize, rows: usize) -> MatRef<'a> {
        MatRef::strided(&dy[gi * self.mg..], rows, self.mg, self.m)
    }
    fn out<'a>(&self, out: &'a mut [f32], gi: usize, rows: usize) -> MatMut<'a> {
        MatMut::strided(&mut out[gi * self.mg..], rows, self.mg, self.m)
    }
    fn weight<'a>(&self, wm: &'a [f32], gi: usize) -> MatRef<'a> {
        MatRef::dense(
            &wm[gi * self.mg * self.kg..][..self.mg * self.kg],
            self.mg,
            self.kg,
        )
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
