//! Model directories: `model.toml` (architecture), `model.safetensors`
//! (PyTorch state-dict names and layouts, f32 little endian) and, for a
//! pruned model, `masks.safetensors` (`NAME_mask` entries, like the buffers
//! of `torch.nn.utils.prune`). Kept separate so that
//! `model.load_state_dict(safetensors.torch.load_file(...))` works unchanged.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use ndarray::{ArrayD, IxDyn};
use safetensors::{tensor::TensorView, Dtype, SafeTensors};

use super::arch::Architecture;
use crate::atomic::write_atomic;
use crate::error::{PrunerError, Result};
use crate::nn::{Layer, Network};

pub const ARCH_FILE: &str = "model.toml";
pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const MASKS_FILE: &str = "masks.safetensors";
const MASK_SUFFIX: &str = "_mask";
/// PyTorch's batch-norm counter buffer.
const TRACKED: &str = "num_batches_tracked";

/// Writes the model into `dir` (created if needed). Each file is replaced
/// atomically, so a crash leaves either the old or the new file.
pub fn save_model(net: &Network, dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| PrunerError::io(dir, e))?;
    write_atomic(&dir.join(ARCH_FILE), net.arch().to_toml()?.as_bytes())?;

    let params = net.params();
    let mut weights: Vec<(String, &ArrayD<f32>)> =
        params.iter().map(|(n, p)| (n.clone(), p.value())).collect();
    weights.extend(net.buffers());
    let counters: Vec<(String, i64)> = net
        .layers()
        .iter()
        .filter_map(|l| match l {
            Layer::BatchNorm2d(b) => Some((format!("{}.{TRACKED}", b.name), b.batches_tracked)),
            _ => None,
        })
        .collect();
    write_atomic(
        &dir.join(WEIGHTS_FILE),
        &serialize(&weights, &counters, &dir.join(WEIGHTS_FILE))?,
    )?;

    let masks: Vec<(String, &ArrayD<f32>)> = params
        .iter()
        .filter_map(|(n, p)| p.mask().map(|m| (format!("{n}{MASK_SUFFIX}"), m)))
        .collect();
    let masks_path = dir.join(MASKS_FILE);
    if masks.is_empty() {
        // A stale mask file would re-prune the model on the next load.
        match fs::remove_file(&masks_path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(PrunerError::io(&masks_path, e)),
        }
    } else {
        write_atomic(&masks_path, &serialize(&masks, &[], &masks_path)?)?;
    }
    Ok(())
}

/// A model as the CLI is handed it: a model directory, or an ONNX file
/// (whose graph is kept to write the pruned model back into).
pub struct Loaded {
    pub net: Network,
    pub onnx: Option<super::onnx::Imported>,
}

/// Reads a model directory ([`load_model`]) or an `.onnx` file.
pub fn load_any(path: &Path) -> Result<Loaded> {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
    {
        let bytes = fs::read(path).map_err(|e| PrunerError::io(path, e))?;
        let imported = super::onnx::import(&bytes, path)?;
        return Ok(Loaded {
            net: imported.network()?,
            onnx: Some(imported),
        });
    }
    Ok(Loaded {
        net: load_model(path)?,
        onnx: None,
    })
}

/// Reads a model written by [`save_model`] (or by PyTorch with the same
/// names and shapes). Missing, extra or mis-shaped tensors are errors.
pub fn load_model(dir: &Path) -> Result<Network> {
    let arch_path = dir.join(ARCH_FILE);
    let text = fs::read_to_string(&arch_path).map_err(|e| PrunerError::io(&arch_path, e))?;
    let arch = Architecture::from_toml(&text, &arch_path)?;
    let mut net = Network::new(arch, 0)?;

    let wpath = dir.join(WEIGHTS_FILE);
    let (mut tensors, mut counters) = read_tensors(&wpath)?;
    let mut take = |name: &str| {
        tensors
            .remove(name)
            .ok_or_else(|| st_err(&wpath, format!("missing tensor {name}")))
    };
    for (name, p) in net.params_mut() {
        p.set_value(&name, take(&name)?)
            .map_err(|e| st_err(&wpath, e.to_string()))?;
    }
    for bn in net.batch_norms_mut() {
        for (what, slot) in [
            ("running_mean", &mut bn.running_mean),
            ("running_var", &mut bn.running_var),
        ] {
            let name = format!("{}.{what}", bn.name);
            let v = take(&name)?;
            if v.shape() != slot.shape() {
                return Err(st_err(
                    &wpath,
                    format!(
                        "{name}: expected shape {:?}, got {:?}",
                        slot.shape(),
                        v.shape()
                    ),
                ));
            }
            *slot = v;
        }
        // PyTorch always writes the counter; a file without it counts 0.
        bn.batches_tracked = counters
            .remove(&format!("{}.{TRACKED}", bn.name))
            .unwrap_or(0);
    }
    if let Some(extra) = counters.keys().next() {
        return Err(st_err(&wpath, format!("unexpected tensor {extra}")));
    }
    if let Some(extra) = tensors.keys().next() {
        return Err(st_err(&wpath, format!("unexpected tensor {extra}")));
    }

    let mpath = dir.join(MASKS_FILE);
    if mpath.exists() {
        let (masks, _) = read_tensors(&mpath)?;
        let known: BTreeSet<String> = net.params().into_iter().map(|(n, _)| n).collect();
        for (key, mask) in masks {
            let name = key
                .strip_suffix(MASK_SUFFIX)
                .filter(|n| known.contains(*n))
                .ok_or_else(|| st_err(&mpath, format!("{key} is not the mask of a parameter")))?;
            net.set_mask(name, Some(mask))
                .map_err(|e| st_err(&mpath, e.to_string()))?;
        }
    }
    Ok(net)
}

fn st_err(path: &Path, reason: String) -> PrunerError {
    PrunerError::Safetensors {
        path: path.to_path_buf(),
        reason,
    }
}

/// F32 tensors, plus I64 scalars (batch-norm counters, as PyTorch stores
/// `num_batches_tracked`).
fn serialize(
    tensors: &[(String, &ArrayD<f32>)],
    counters: &[(String, i64)],
    path: &Path,
) -> Result<Vec<u8>> {
    let mut bytes: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, a)| {
            let data = a.iter().flat_map(|v| v.to_le_bytes()).collect();
            (n.clone(), Dtype::F32, a.shape().to_vec(), data)
        })
        .collect();
    bytes.extend(
        counters
            .iter()
            .map(|(n, v)| (n.clone(), Dtype::I64, vec![], v.to_le_bytes().to_vec())),
    );
    let views = bytes
        .iter()
        .map(|(n, dtype, shape, data)| {
            TensorView::new(*dtype, shape.clone(), data)
                .map(|v| (n.clone(), v))
                .map_err(|e| st_err(path, e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, None).map_err(|e| st_err(path, e.to_string()))
}

/// F32 tensors and I64 batch-norm counters of a safetensors file.
type Tensors = (BTreeMap<String, ArrayD<f32>>, BTreeMap<String, i64>);

fn read_tensors(path: &Path) -> Result<Tensors> {
    let buf = fs::read(path).map_err(|e| PrunerError::io(path, e))?;
    let st = SafeTensors::deserialize(&buf).map_err(|e| st_err(path, e.to_string()))?;
    let mut out = BTreeMap::new();
    let mut counters = BTreeMap::new();
    for (name, view) in st.tensors() {
        if view.dtype() == Dtype::I64 && name.ends_with(TRACKED) && view.data().len() == 8 {
            let b: [u8; 8] = view.data().try_into().expect("8 bytes");
            counters.insert(name, i64::from_le_bytes(b));
            continue;
        }
        if view.dtype() != Dtype::F32 {
            return Err(st_err(
                path,
                format!("tensor {name} is {:?}, expected F32", view.dtype()),
            ));
        }
        let shape = view.shape().to_vec();
        let data: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let arr = ArrayD::from_shape_vec(IxDyn(&shape), data)
            .map_err(|e| st_err(path, format!("tensor {name}: {e}")))?;
        out.insert(name, arr);
    }
    Ok((out, counters))
}
