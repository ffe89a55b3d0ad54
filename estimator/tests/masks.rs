//! `ember sim --masks` files: loading, the densities they imply, and a clear error for each
//! way a file can be wrong.

mod common;

use std::path::{Path, PathBuf};

use ember_estimator::masks::{apply_densities, load_masks};
use ember_sim::{Layer, Network};
use safetensors::{tensor::TensorView, Dtype};

fn net() -> Network {
    Network {
        name: "tiny".into(),
        source: "test".into(),
        chain: false,
        layers: vec![
            Layer::conv("a", 2, 4, 4, 3, 3, 3),
            Layer::conv("b", 3, 2, 2, 2, 1, 1),
        ],
    }
}

fn write(dir: &Path, tag: &str, tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)]) -> PathBuf {
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, d, s, b)| (n.to_string(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    let bytes = safetensors::serialize(views, None).unwrap();
    let p = dir.join(format!("{tag}.safetensors"));
    std::fs::write(&p, bytes).unwrap();
    p
}

fn err(p: &Path, batch: usize) -> String {
    load_masks(p, &net(), batch).unwrap_err().to_string()
}

#[test]
fn loads_and_sets_densities() {
    // Layer a: 2 images x 2 x 4 x 4 = 64 ifmaps, every other one non-zero (U8); weights of b as
    // F32 with one of 6 non-zero (and a -0.0, which is a zero).
    let ifmaps: Vec<u8> = (0..64).map(|i| (i % 2) as u8).collect();
    let mut w = [0.0f32; 6];
    w[3] = 0.5;
    w[1] = -0.0;
    let wb: Vec<u8> = w.iter().flat_map(|v| v.to_le_bytes()).collect();
    // Layer a's 54 weights as F16 bits: one 1.0 (0x3c00), one -0.0 (0x8000), the rest +0.0.
    let mut h = [0u16; 54];
    h[5] = 0x3c00;
    h[9] = 0x8000;
    let hb: Vec<u8> = h.iter().flat_map(|v| v.to_le_bytes()).collect();
    let dir = common::scratch_dir();
    let p = write(
        dir.path(),
        "ok",
        &[
            ("a.ifmaps", Dtype::U8, vec![2, 2, 4, 4], ifmaps),
            ("a.weights", Dtype::F16, vec![3, 2, 3, 3], hb),
            ("b.weights", Dtype::F32, vec![2, 3, 1, 1], wb),
        ],
    );
    let m = load_masks(&p, &net(), 2).unwrap();
    let mut n = net();
    apply_densities(&mut n, &m);
    assert_eq!(n.layers[0].ifmap_density, 0.5);
    assert_eq!(n.layers[0].weight_density, 1.0 / 54.0);
    assert_eq!(n.layers[1].weight_density, 1.0 / 6.0);
    assert_eq!(n.layers[1].ifmap_density, 1.0);
}

#[test]
fn bad_files_name_tensor_rule_and_fix() {
    let dir = common::scratch_dir();
    let p = write(
        dir.path(),
        "layer",
        &[("zz.ifmaps", Dtype::U8, vec![1], vec![1])],
    );
    let e = err(&p, 1);
    assert!(
        e.contains("zz.ifmaps") && e.contains("no layer `zz`") && e.contains("fix:"),
        "{e}"
    );
    let p2 = write(
        dir.path(),
        "batch",
        &[("a.ifmaps", Dtype::U8, vec![2, 2, 4, 4], vec![1; 64])],
    );
    let e = err(&p2, 4);
    assert!(e.contains("[4, 2, 4, 4]") && e.contains("--batch 2"), "{e}");
    let p3 = write(
        dir.path(),
        "dtype",
        &[("a.weights", Dtype::I32, vec![3, 2, 3, 3], vec![0; 216])],
    );
    let e = err(&p3, 1);
    assert!(e.contains("I32") && e.contains("fix:"), "{e}");
    let p4 = write(
        dir.path(),
        "part",
        &[("a.bias", Dtype::U8, vec![3], vec![1; 3])],
    );
    let e = err(&p4, 1);
    assert!(e.contains("neither LAYER.ifmaps nor LAYER.weights"), "{e}");
    let p5 = dir.path().join("garbage");
    std::fs::write(&p5, b"not a safetensors file").unwrap();
    assert!(err(&p5, 1).contains("not a safetensors file"));
    assert!(err(Path::new("/nonexistent/m.safetensors"), 1).contains("cannot read file"));
}
