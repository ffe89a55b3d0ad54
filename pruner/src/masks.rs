//! Which inputs and weights of every conv/fc layer are non-zero on real images: the masks
//! `ember sim --masks` reads for zero skipping (format: `ember_estimator::masks`). Layouts
//! are the simulator's: ifmaps `[N, C, H, W]`, weights `[M, C/groups, R, S]`. A fully connected
//! layer is a convolution over its whole input map (R = H, S = W): after a flatten its input is
//! the flattened map `[N, C, H, W]` and its weights `[out, C, H, W]` (PyTorch's flatten order is
//! (C, H, W), so these are the same bytes as `[N, in]` and `[out, in]`); after another fc layer,
//! C features on a 1x1 map.

use std::path::Path;

use ndarray::{Array4, Ix2, Ix4};
use safetensors::{tensor::TensorView, Dtype};

use crate::error::{PrunerError, Result};
use crate::nn::{Network, Tensor};

/// One layer's masks, as 0/1 bytes with their shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerMasks {
    pub name: String,
    pub ifmap_shape: [usize; 4],
    pub ifmaps: Vec<u8>,
    pub weight_shape: [usize; 4],
    pub weights: Vec<u8>,
}

/// `a` (NHWC, or `[N, C*H*W]` in (C, H, W) order before a fully connected
/// layer of input map `c x h x w`) as NCHW 0/1 flags.
fn ifmap_flags(a: &Tensor, (c, h, w): (usize, usize, usize)) -> ([usize; 4], Vec<u8>) {
    if let Ok(x) = a.view().into_dimensionality::<Ix4>() {
        let (n, h, w, c) = x.dim();
        let nchw = x.permuted_axes([0, 3, 1, 2]);
        let flags = nchw.iter().map(|&v| u8::from(v != 0.0)).collect();
        ([n, c, h, w], flags)
    } else {
        let x = a.view().into_dimensionality::<Ix2>().expect("2-D fc input");
        let (n, f) = x.dim();
        debug_assert_eq!(f, c * h * w, "fc input matches its layer shape");
        (
            [n, c, h, w],
            x.iter().map(|&v| u8::from(v != 0.0)).collect(),
        )
    }
}

/// Masks of every conv/fc layer of `net` on `images` (NHWC), in network order.
pub fn layer_masks(net: &mut Network, images: &Array4<f32>) -> Result<Vec<LayerMasks>> {
    if images.is_empty() {
        return Err(PrunerError::Config("no images to measure masks on".into()));
    }
    let idx = net.param_layer_indices();
    let shapes = net.layer_shapes();
    let mut flags: Vec<Option<([usize; 4], Vec<u8>)>> = vec![None; idx.len()];
    net.forward_observed(images.clone(), |i, inputs, _| {
        if let Some(k) = idx.iter().position(|&j| j == i) {
            let s = &shapes[k];
            flags[k] = Some(ifmap_flags(&inputs[0], (s.c_in, s.h_in, s.w_in)));
        }
    })?;
    let mut out = Vec::with_capacity(idx.len());
    for ((&li, shape), f) in idx.iter().zip(&shapes).zip(flags) {
        let (ifmap_shape, ifmaps) = f.expect("every layer ran");
        let (name, w, _) = net.layers()[li]
            .weight_and_bias()
            .expect("param_layer_indices lists conv/fc layers");
        let w = w.value();
        let s = w.shape();
        let weight_shape = match s.len() {
            4 => [s[0], s[1], s[2], s[3]],
            _ => [s[0], shape.c_in, shape.r, shape.s],
        };
        let weights = w.iter().map(|&v| u8::from(v != 0.0)).collect();
        out.push(LayerMasks {
            name: name.to_string(),
            ifmap_shape,
            ifmaps,
            weight_shape,
            weights,
        });
    }
    Ok(out)
}

/// The safetensors bytes of `masks` (`NAME.ifmaps`, `NAME.weights`, U8).
pub fn masks_safetensors(masks: &[LayerMasks], path: &Path) -> Result<Vec<u8>> {
    let err = |e: String| PrunerError::Safetensors {
        path: path.to_path_buf(),
        reason: e,
    };
    let mut views = Vec::new();
    for m in masks {
        for (part, shape, data) in [
            ("ifmaps", &m.ifmap_shape, &m.ifmaps),
            ("weights", &m.weight_shape, &m.weights),
        ] {
            let v =
                TensorView::new(Dtype::U8, shape.to_vec(), data).map_err(|e| err(e.to_string()))?;
            views.push((format!("{}.{part}", m.name), v));
        }
    }
    safetensors::serialize(views, None).map_err(|e| err(e.to_string()))
}
