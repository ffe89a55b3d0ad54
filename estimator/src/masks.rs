//! Loading a layer-by-layer file of non-zero masks (safetensors) for `ember sim --masks`.
//!
//! Format: for a layer named `L` of the network, an optional tensor `L.ifmaps` of shape
//! `[batch, C, H, W]` (the layer's unpadded input; for a fully connected layer the map it
//! reads, R = H and S = W) and an optional `L.weights` of shape `[M, C / groups, R, S]`; any of the dtypes
//! BOOL, U8, I8, F16/BF16 (as raw bits), F32, F64, where non-zero means non-zero. `ember masks`
//! writes such a file from a trained model and real images. The masks set the layer's ifmap and
//! weight densities (energy), and in cycle mode with `pe.skip_zero_cycles` the time of every
//! ofmap column (`ember_sim::masks`). Layers without a tensor keep the trace's densities;
//! a gated operand without a mask counts as non-zero in the per-column timing.

use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use ember_sim::error::Location;
use ember_sim::masks::Masks;
use ember_sim::{Network, SimError};

fn invalid(path: &Path, key: Option<String>, rule: String, fix: &str) -> SimError {
    SimError::Invalid {
        at: Location {
            file: path.to_path_buf(),
            line: None,
            key,
        },
        rule,
        fix: fix.into(),
    }
}

/// Non-zero flags of a tensor's elements, whatever its dtype (-0.0 is a zero too).
fn nonzero(path: &Path, name: &str, dtype: Dtype, data: &[u8]) -> Result<Vec<bool>, SimError> {
    Ok(match dtype {
        Dtype::BOOL | Dtype::U8 | Dtype::I8 => data.iter().map(|&b| b != 0).collect(),
        Dtype::F16 | Dtype::BF16 => data
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) & 0x7fff != 0)
            .collect(),
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) != 0.0)
            .collect(),
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) != 0.0)
            .collect(),
        other => {
            return Err(invalid(
                path,
                Some(name.into()),
                format!("dtype {other:?} is not a mask dtype"),
                "store masks as BOOL, U8, I8, F16, BF16, F32 or F64",
            ))
        }
    })
}

/// The masks of `path` for each layer of `net` (in order), checked against its shapes at
/// `batch`.
pub fn load_masks(
    path: &Path,
    net: &Network,
    batch: usize,
) -> Result<Vec<Option<Masks>>, SimError> {
    let bytes = std::fs::read(path).map_err(|source| SimError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| {
        invalid(
            path,
            None,
            format!("not a safetensors file: {e}"),
            "give a file written by `ember masks` or safetensors.torch.save_file",
        )
    })?;
    let mut out: Vec<Option<Masks>> = vec![None; net.layers.len()];
    let mut names: Vec<String> = st.names().into_iter().map(String::from).collect();
    names.sort();
    for name in names {
        let (layer, part) = name.rsplit_once('.').unwrap_or((name.as_str(), ""));
        let Some(i) = net.layers.iter().position(|l| l.name == layer) else {
            return Err(invalid(
                path,
                Some(name.clone()),
                format!("no layer `{layer}` in network `{}`", net.name),
                "name tensors LAYER.ifmaps or LAYER.weights after the trace's layers",
            ));
        };
        let l = &net.layers[i];
        let want: Vec<usize> = match part {
            "ifmaps" => vec![batch, l.c, l.h, l.w],
            "weights" => vec![l.m, l.cg(), l.r, l.s],
            _ => {
                return Err(invalid(
                    path,
                    Some(name.clone()),
                    format!("tensor `{name}` is neither LAYER.ifmaps nor LAYER.weights"),
                    "rename it, or drop it from the file",
                ))
            }
        };
        let t = st
            .tensor(&name)
            .map_err(|e| invalid(path, Some(name.clone()), e.to_string(), "rewrite the file"))?;
        if t.shape() != want.as_slice() {
            let fix = if part == "ifmaps" && t.shape().len() == 4 && t.shape()[1..] == want[1..] {
                format!(
                    "the file holds {} images: run with --batch {}",
                    t.shape()[0],
                    t.shape()[0]
                )
            } else {
                "write the mask in the layer's shape".to_string()
            };
            return Err(invalid(
                path,
                Some(name.clone()),
                format!("shape {:?}, but layer `{layer}` needs {want:?}", t.shape()),
                &fix,
            ));
        }
        let flags = nonzero(path, &name, t.dtype(), t.data())?;
        let m = out[i].get_or_insert_with(Masks::default);
        if part == "ifmaps" {
            m.ifmaps = Some(flags);
        } else {
            m.weights = Some(flags);
        }
    }
    Ok(out)
}

/// Set each layer's ifmap and weight densities to its masks' non-zero fractions.
pub fn apply_densities(net: &mut Network, masks: &[Option<Masks>]) {
    for (l, m) in net.layers.iter_mut().zip(masks) {
        if let Some(m) = m {
            let (i, w) = m.densities();
            if let Some(i) = i {
                l.ifmap_density = i;
            }
            if let Some(w) = w {
                l.weight_density = w;
            }
        }
    }
}
