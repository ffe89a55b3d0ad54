//! `ember compare --masks`: every candidate runs the real zeros of one masks file, exactly as
//! `ember sim --masks` runs them on that candidate's config alone.
//!
//! A four-layer toy network (conv, depthwise, pointwise, fully connected) at batch 1 keeps each
//! run to a fraction of a second. The configs are the README's pair: eyeriss-v1-scaled (no zero
//! skipping) and eyeriss-v2 (`[pe] skip_zero_cycles`, so its cycle mode times every ofmap
//! column by its busiest PE); both are in pJ and carry the chip energy model.

mod common;

use std::path::{Path, PathBuf};

use safetensors::{tensor::TensorView, Dtype};
use serde_json::Value;

use common::{ember, ok, s, scratch_dir};
use ember_explore::{Mode, SimOptions, SimRequest, Workload};

const V1: &str = "hw_configs/eyeriss-v1-scaled.toml";
const V2: &str = "hw_configs/eyeriss-v2.toml";

/// (name, `[[layer]]` keys, ifmap mask shape at batch 1, weight mask shape). Every mask holds a
/// multiple of 16 elements, so `pattern` zeroes an exact share of it.
const LAYERS: &[(&str, &str, [usize; 4], [usize; 4])] = &[
    (
        "conv1",
        "c = 3\nh = 16\nw = 16\nm = 16\nr = 3\npad = 1",
        [1, 3, 16, 16],
        [16, 3, 3, 3],
    ),
    (
        "dw",
        "c = 16\nh = 16\nw = 16\nm = 16\nr = 3\npad = 1\nstride = 2\ngroups = 16",
        [1, 16, 16, 16],
        [16, 1, 3, 3],
    ),
    (
        "pw",
        "c = 16\nh = 8\nw = 8\nm = 32\nr = 1",
        [1, 16, 8, 8],
        [32, 16, 1, 1],
    ),
    (
        "fc",
        "kind = \"fc\"\nc = 32\nh = 8\nw = 8\nm = 10",
        [1, 32, 8, 8],
        [10, 32, 8, 8],
    ),
];

/// The toy trace, with `extra` added to every layer (densities). Not chained: a chained
/// trace's ofmap density defaults to the next layer's trace ifmap density, which masks do not
/// change, so only an unchained trace prices a mask's zeros and the same density alike.
fn write_trace(dir: &Path, tag: &str, extra: &str) -> PathBuf {
    let mut text = String::from("name = \"toy\"\nsource = \"test\"\nchain = false\n");
    for (name, keys, _, _) in LAYERS {
        text += &format!("\n[[layer]]\nname = \"{name}\"\n{keys}\n{extra}\n");
    }
    let p = dir.join(format!("{tag}.toml"));
    std::fs::write(&p, text).unwrap();
    p
}

/// `n` U8 flags, `keep` of every 16 non-zero: element i is zero when (5·i + salt) mod 16 >=
/// keep. 5 is odd, so each run of 16 elements takes every residue once (exactly keep/16 of
/// them non-zero) in a scattered order, which leaves PEs of one column unevenly loaded.
fn pattern(n: usize, keep: usize, salt: usize) -> Vec<u8> {
    (0..n)
        .map(|i| u8::from((5 * i + salt) % 16 < keep))
        .collect()
}

/// A masks file with every layer's ifmaps (`keep_i` of 16 non-zero) and weights (`keep_w`).
fn write_masks(dir: &Path, tag: &str, keep_i: usize, keep_w: usize) -> PathBuf {
    let mut tensors = Vec::new();
    for (k, (name, _, ifm, wts)) in LAYERS.iter().enumerate() {
        let n = |s: &[usize; 4]| s.iter().product::<usize>();
        tensors.push((
            format!("{name}.ifmaps"),
            ifm.to_vec(),
            pattern(n(ifm), keep_i, k),
        ));
        tensors.push((
            format!("{name}.weights"),
            wts.to_vec(),
            pattern(n(wts), keep_w, 3 * k),
        ));
    }
    write_tensors(dir, tag, &tensors)
}

fn write_tensors(dir: &Path, tag: &str, tensors: &[(String, Vec<usize>, Vec<u8>)]) -> PathBuf {
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, shape, b)| {
            (
                n.clone(),
                TensorView::new(Dtype::U8, shape.clone(), b).unwrap(),
            )
        })
        .collect();
    let p = dir.join(format!("{tag}.safetensors"));
    std::fs::write(&p, safetensors::serialize(views, None).unwrap()).unwrap();
    p
}

fn json(args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    serde_json::from_str(&ok(&a)).unwrap()
}

/// `compare --masks` on two configs in cycle mode with chip energy, each candidate against two
/// other paths on its config alone: its `result` is `ember sim --masks --mode cycle`'s whole
/// document (per-layer energy, counts and cycles), and its chip energy is `explore::sim`'s
/// masked layers priced over `explore::sim`'s masked cycles. The masks must change v2's time
/// (else the check would hold with the masks ignored in cycle mode).
#[test]
fn compare_masks_equals_sim_masks_per_candidate() {
    let dir = scratch_dir("cmp-masks");
    let trace = write_trace(dir.path(), "toy", "");
    let masks = write_masks(dir.path(), "m", 9, 6);
    let (t, m) = (s(&trace), s(&masks));
    let base = [
        "compare", "--net", t, "--hw", V1, "--hw", V2, "--batch", "1",
    ];
    let cycle = ["--mode", "cycle", "--energy", "chip"];
    let cmp = json(&[&base[..], &cycle[..], &["--masks", m]].concat());
    for (k, hw) in [V1, V2].into_iter().enumerate() {
        let c = &cmp["candidates"][k];
        let sim = json(&[
            "sim", "--net", t, "--hw", hw, "--batch", "1", "--mode", "cycle", "--masks", m,
        ]);
        assert_eq!(c["result"], sim, "{hw}: compare's result vs sim --masks");

        let rep = ember_explore::sim(&SimRequest {
            workload: Workload {
                path: Some(trace.clone()),
                input_shape: None,
            },
            hardware: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join(hw)),
            options: SimOptions {
                batch: 1,
                mode: Mode::Cycle,
                masks: Some(masks.clone()),
                ..SimOptions::default()
            },
        })
        .unwrap();
        let stats = rep.cycles.as_ref().unwrap();
        let chip = &c["chip_energy_pj"]["layers"];
        for (i, l) in rep.result.layers.iter().enumerate() {
            let want =
                ember_explore::chip::chip_energy(&rep.hardware, l, i == 0, stats[i].total_cycles);
            for (key, v) in [
                ("access_pj", want.access_pj),
                ("clock_pj", want.clock_pj),
                ("control_pj", want.control_pj),
                ("leakage_pj", want.leakage_pj),
            ] {
                assert_eq!(
                    chip[i][key].as_f64().unwrap(),
                    v,
                    "{hw} {}: {key}",
                    l.layer.name
                );
            }
        }
    }
    // Not vacuous: the masks reach the cycle engine. A trace stating the masks' densities (9/16
    // ifmaps, 6/16 weights) gets the same mappings (the mapper sees densities only) and, on
    // v1-scaled (no skipping: a gated MAC keeps its cycle), the same cycles; on v2 a column
    // waits for its busiest PE instead of the average one, so some layer's time differs.
    let stated = write_trace(
        dir.path(),
        "stated",
        "ifmap_density = 0.5625\nweight_density = 0.375",
    );
    let avg = json(
        &[
            &["compare", "--net", s(&stated)][..],
            &base[3..],
            &cycle[..],
        ]
        .concat(),
    );
    let layers = |v: &Value, k: usize| v["candidates"][k]["result"]["layers"].clone();
    let (masked, by_density) = (layers(&cmp, 1), layers(&avg, 1));
    let mut differ = 0;
    for (a, b) in masked
        .as_array()
        .unwrap()
        .iter()
        .zip(by_density.as_array().unwrap())
    {
        assert_eq!(a["mapping"], b["mapping"], "{}", a["name"]);
        differ += usize::from(a["timing"]["total_cycles"] != b["timing"]["total_cycles"]);
    }
    assert!(
        differ > 0,
        "v2: masks time no layer differently from their densities"
    );
    for (a, b) in layers(&cmp, 0)
        .as_array()
        .unwrap()
        .iter()
        .zip(layers(&avg, 0).as_array().unwrap())
    {
        assert_eq!(a["mapping"], b["mapping"], "{}", a["name"]);
        assert_eq!(
            a["timing"]["total_cycles"], b["timing"]["total_cycles"],
            "{}",
            a["name"]
        );
    }
}

/// Two checks with an expected value from outside the masks code. (1) All-ones masks on a
/// dense trace are the dense run: `compare --masks` prints what `compare` does without them, in
/// cycle mode with chip energy (every PE then does its dense share, ARCHITECTURE's masks
/// invariant). (2) In analytic mode masks only set densities: masks with exactly 12 of 16
/// ifmaps and 8 of 16 weights non-zero print what a trace that states `ifmap_density = 0.75`
/// and `weight_density = 0.5` does without masks.
#[test]
fn compare_masks_equal_the_densities_they_imply() {
    let dir = scratch_dir("cmp-masks-dense");
    let trace = write_trace(dir.path(), "toy", "");
    let ones = write_masks(dir.path(), "ones", 16, 16);
    let t = s(&trace);
    let base = [
        "compare", "--net", t, "--hw", V1, "--hw", V2, "--batch", "1",
    ];
    let cycle = ["--mode", "cycle", "--energy", "chip"];
    assert_eq!(
        json(&[&base[..], &cycle[..], &["--masks", s(&ones)]].concat()),
        json(&[&base[..], &cycle[..]].concat())
    );

    let masks = write_masks(dir.path(), "sparse", 12, 8);
    let stated = write_trace(
        dir.path(),
        "stated",
        "ifmap_density = 0.75\nweight_density = 0.5",
    );
    let masked = json(&[&base[..], &["--masks", s(&masks)]].concat());
    let sd = s(&stated);
    let want = json(&[
        "compare", "--net", sd, "--hw", V1, "--hw", V2, "--batch", "1",
    ]);
    assert_eq!(masked, want);
    // Not vacuous: the report prices the zeros. The chip preset gates zero ifmaps, so conv1's
    // effective MACs are 12/16 of its 1·16·16·16·3·3·3 = 110,592 MACs: 82,944.
    let l0 = &masked["candidates"][0]["result"]["layers"][0];
    assert_eq!(l0["macs"], 110_592, "{l0}");
    assert_eq!(l0["effective_macs"], 82_944, "{l0}");
}

/// A masks file that does not fit the network is an error naming the file and the tensor (so
/// the layer), with a fix; never a panic. Two ways: a layer the network lacks, and a batch the
/// file was not written for.
#[test]
fn compare_masks_mismatch_names_the_file() {
    let dir = scratch_dir("cmp-masks-bad");
    let trace = write_trace(dir.path(), "toy", "");
    let t = s(&trace);
    let other = write_tensors(
        dir.path(),
        "other",
        &[("conv9.ifmaps".into(), vec![1, 3, 16, 16], vec![1; 768])],
    );
    let two = write_tensors(
        dir.path(),
        "two",
        &[("conv1.ifmaps".into(), vec![2, 3, 16, 16], vec![1; 1536])],
    );
    for (file, want) in [(&other, "no layer `conv9`"), (&two, "--batch 2")] {
        let f = s(file);
        for mode in ["analytic", "cycle"] {
            let out = ember(&[
                "compare", "--net", t, "--hw", V1, "--hw", V2, "--batch", "1", "--mode", mode,
                "--masks", f,
            ]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{err}");
            assert!(
                err.contains(f) && err.contains(want) && err.contains("fix:"),
                "{err}"
            );
            assert!(!err.contains("panicked"), "{err}");
        }
    }
}
