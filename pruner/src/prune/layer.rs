//! One conv/fc layer as the pruning methods see it: its weights in GEMM
//! layout (`[M, K]`, conv columns ordered `(r, s, c)` like im2col), which of
//! them are alive, candidates to install, and a scorer for networks that
//! differ only from some layer on.

use ndarray::{s, Array2, Array4, ArrayD, Axis, Ix2, Ix4};

use super::accuracy::Correct;
use crate::data::Split;
use crate::error::Result;
use crate::nn::{argmax_rows, gemm_to_oihw, oihw_to_gemm, Frontier, Network, Param};

/// Weight tensor as the GEMM matrix `[M, K]`, in f64.
pub(crate) fn to_gemm(w: &ArrayD<f32>) -> Array2<f64> {
    match w.view().into_dimensionality::<Ix4>() {
        Ok(w4) => oihw_to_gemm(w4).mapv(f64::from),
        Err(_) => w
            .view()
            .into_dimensionality::<Ix2>()
            .expect("conv or fc weight")
            .mapv(f64::from),
    }
}

/// Inverse of [`to_gemm`] for a tensor of `shape`.
pub(crate) fn from_gemm(g: &Array2<f64>, shape: &[usize]) -> ArrayD<f32> {
    let g = g.mapv(|v| v as f32);
    match *shape {
        [m, c, r, s] => gemm_to_oihw(g, [m, c, r, s]).into_dyn(),
        _ => g.into_dyn(),
    }
}

/// Weights, mask and bias for one layer, GEMM layout.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub w: Array2<f64>,
    pub mask: Array2<f64>,
    pub bias: Vec<f64>,
}

/// The state of one conv/fc layer when a method starts on it.
#[derive(Debug, Clone)]
pub(crate) struct LayerView {
    /// Index into `Network::layers`.
    pub li: usize,
    pub name: String,
    wname: String,
    bname: String,
    wshape: Vec<usize>,
    pub w: Array2<f64>,
    pub alive: Array2<f64>,
    pub bias: Vec<f64>,
    saved: (Param, Param),
}

impl LayerView {
    /// Layer `k` (index among the conv/fc layers) of `net`.
    pub fn read(net: &Network, k: usize) -> Self {
        let li = net.param_layer_indices()[k];
        let (name, wp, bp) = net.layers()[li]
            .weight_and_bias()
            .expect("param layer index");
        let w = to_gemm(wp.value());
        let alive = match wp.mask() {
            Some(m) => to_gemm(m),
            None => Array2::ones(w.dim()),
        };
        LayerView {
            li,
            name: name.to_string(),
            wname: format!("{name}.weight"),
            bname: format!("{name}.bias"),
            wshape: wp.shape().to_vec(),
            bias: bp.value().iter().map(|&v| f64::from(v)).collect(),
            w,
            alive,
            saved: (wp.clone(), bp.clone()),
        }
    }

    /// Output channels and weights per channel.
    pub fn dims(&self) -> (usize, usize) {
        self.w.dim()
    }

    pub fn total(&self) -> usize {
        self.w.len()
    }

    pub fn n_alive(&self) -> usize {
        self.alive.iter().filter(|&&v| v != 0.0).count()
    }

    /// Alive weights, largest magnitude first (ties: lower index first).
    pub fn magnitude_order(&self) -> Vec<(usize, usize)> {
        let (m, k) = self.dims();
        let mut order: Vec<(usize, usize)> = (0..m)
            .flat_map(|c| (0..k).map(move |j| (c, j)))
            .filter(|&(c, j)| self.alive[[c, j]] != 0.0)
            .collect();
        order.sort_by(|a, b| {
            self.w[[b.0, b.1]]
                .abs()
                .total_cmp(&self.w[[a.0, a.1]].abs())
                .then(a.cmp(b))
        });
        order
    }

    /// Keeps the first `keep` weights of `order` (a layer-wide magnitude
    /// threshold), values and bias unchanged.
    pub fn threshold(&self, order: &[(usize, usize)], keep: usize) -> Candidate {
        let mut mask = Array2::<f64>::zeros(self.dims());
        for &(c, j) in &order[..keep.min(order.len())] {
            mask[[c, j]] = 1.0;
        }
        Candidate {
            w: &self.w * &mask,
            mask,
            bias: self.bias.clone(),
        }
    }

    pub fn install(&self, net: &mut Network, cand: &Candidate) -> Result<()> {
        net.set_mask(&self.wname, Some(from_gemm(&cand.mask, &self.wshape)))?;
        let p = net.param_mut(&self.wname).expect("layer exists");
        p.set_value(&self.wname, from_gemm(&cand.w, &self.wshape))?;
        let b = ArrayD::from_shape_vec(
            vec![cand.bias.len()],
            cand.bias.iter().map(|&v| v as f32).collect(),
        )
        .expect("bias length");
        net.param_mut(&self.bname)
            .expect("layer exists")
            .set_value(&self.bname, b)
    }

    /// Puts back the weights, mask and bias the layer had when read.
    pub fn restore(&self, net: &mut Network) -> Result<()> {
        let (w, b) = &self.saved;
        net.set_mask(&self.wname, w.mask().cloned())?;
        net.param_mut(&self.wname)
            .expect("exists")
            .set_value(&self.wname, w.value().clone())?;
        net.param_mut(&self.bname)
            .expect("exists")
            .set_value(&self.bname, b.value().clone())
    }

    /// Live weights of the layer in `net` now.
    pub fn live_in(&self, net: &Network) -> usize {
        net.param(&self.wname).expect("exists").live_count()
    }
}

/// `images` in chunks of `size` along the batch axis.
pub(crate) fn chunks(images: &Array4<f32>, size: usize) -> impl Iterator<Item = Array4<f32>> + '_ {
    let n = images.len_of(Axis(0));
    (0..n).step_by(size).map(move |s0| {
        images
            .slice(s![s0..(s0 + size).min(n), .., .., ..])
            .to_owned()
    })
}

/// Scores networks that differ from the one it was built on only from
/// node `from` (index into `Network::layers`) onwards: the split's forward
/// passes up to that node are run once and kept.
pub(crate) struct SuffixScorer {
    prefix: Vec<Frontier>,
    labels: Vec<u8>,
}

impl SuffixScorer {
    pub fn new(net: &mut Network, split: &Split, from: usize) -> Self {
        let prefix = chunks(&split.images, 128)
            .map(|x| {
                let mut f = net.start(x).expect("split images fit the network");
                net.advance(&mut f, from, false);
                f
            })
            .collect();
        SuffixScorer {
            prefix,
            labels: split.labels.clone(),
        }
    }

    /// Per-image correctness of `net`.
    pub fn correct(&self, net: &mut Network) -> Correct {
        let mut out = Vec::with_capacity(self.labels.len());
        for f in &self.prefix {
            let logits = net.finish(f.clone(), false);
            let at = out.len();
            let pred = argmax_rows(logits.view());
            out.extend(
                pred.iter()
                    .zip(&self.labels[at..at + pred.len()])
                    .map(|(&p, &l)| p == l as usize),
            );
        }
        out
    }

    pub fn accuracy(&self, net: &mut Network) -> f32 {
        let c = self.correct(net);
        c.iter().filter(|&&v| v).count() as f32 / c.len().max(1) as f32
    }
}
