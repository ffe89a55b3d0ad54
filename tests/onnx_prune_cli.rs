//! Prune your own model (issue 15) on the fixture: an ONNX model goes through `ember prune`
//! and gives the same result as the built-in model it was exported from; `ember eval` scores
//! it; bad input is a clear error and nothing is written to --out.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::scratch_dir;

fn ember() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ember"))
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("pruner/tests/fixtures/fashion-mnist-small")
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("ember runs");
    assert!(
        out.status.success(),
        "{:?} failed:\n{}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fails(cmd: &mut Command) -> String {
    let out = cmd.output().expect("ember runs");
    assert!(!out.status.success(), "{cmd:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn prune(model: &Path, data: &Path, out: &Path) -> Command {
    let mut c = ember();
    c.args([
        "prune",
        "--method",
        "eap",
        "--max-rounds",
        "1",
        "--confidence",
        "0.5",
    ])
    .args(["--calibration-samples", "32", "--max-accuracy-drop", "0.03"])
    .arg("--model")
    .arg(model)
    .arg("--data")
    .arg(data)
    .arg("--out")
    .arg(out);
    c
}

fn report(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

#[test]
fn an_exported_model_prunes_like_the_built_in_one() {
    let tmp = scratch_dir("onnx-prune");
    let t = tmp.path();
    let model = t.join("lenet5");
    run(ember()
        .args(["train", "--model", "lenet5", "--epochs", "2", "--seed", "4"])
        .arg("--data")
        .arg(fixture())
        .arg("--out")
        .arg(&model));
    let onnx = t.join("lenet5.onnx");
    run(ember()
        .args(["export", "--model"])
        .arg(&model)
        .arg("--out")
        .arg(&onnx));
    run(&mut prune(&model, &fixture(), &t.join("dir")));
    run(&mut prune(&onnx, &fixture(), &t.join("onnx")));
    let (mut a, mut b) = (report(&t.join("dir")), report(&t.join("onnx")));
    // Wall-clock seconds are the only figures allowed to differ.
    for r in [&mut a, &mut b] {
        for s in r["steps"].as_array_mut().unwrap() {
            s["seconds"] = 0.into();
        }
    }
    for key in ["pruned", "baseline", "layers", "steps", "energy_reduction"] {
        assert_eq!(a[key], b[key], "{key}");
    }
    // The ONNX run writes the pruned model back into the user's graph, and it scores the same.
    let pruned = t.join("onnx/model.onnx");
    assert!(pruned.is_file());
    let eval = run(ember()
        .args(["eval", "--model"])
        .arg(&pruned)
        .arg("--data")
        .arg(fixture())
        .arg("--logits")
        .arg(t.join("l.npy")));
    let want = format!("{:.4}", b["pruned"]["test_accuracy"].as_f64().unwrap());
    assert!(
        eval.contains(&format!("accuracy {want}")),
        "{eval} vs {want}"
    );
    assert!(t.join("l.npy").is_file());
    // ... and its zeros are the pruned weights.
    let dir_eval = run(ember()
        .args(["eval", "--model"])
        .arg(t.join("dir"))
        .arg("--data")
        .arg(fixture()));
    assert_eq!(eval.split(':').nth(1), dir_eval.split(':').nth(1));
}

#[test]
fn bad_input_is_refused_and_writes_nothing() {
    use ember_onnx::proto::{Message, ModelProto};
    let tmp = scratch_dir("onnx-bad");
    let t = tmp.path();
    let model = t.join("m");
    run(ember()
        .args([
            "train", "--model", "lenet5", "--epochs", "1", "--limit", "64",
        ])
        .arg("--data")
        .arg(fixture())
        .arg("--out")
        .arg(&model));
    let onnx = t.join("m.onnx");
    run(ember()
        .args(["export", "--model"])
        .arg(&model)
        .arg("--out")
        .arg(&onnx));
    // An unsupported operator, listed by node name.
    let mut m = ModelProto::decode(std::fs::read(&onnx).unwrap().as_slice()).unwrap();
    let g = m.graph.as_mut().unwrap();
    g.node[1].op_type = "Tanh".into();
    g.node[1].name = "act1".into();
    let bad = t.join("bad.onnx");
    std::fs::write(&bad, m.encode_to_vec()).unwrap();
    let out = t.join("out1");
    let err = fails(&mut prune(&bad, &fixture(), &out));
    assert!(
        err.contains("Tanh (nodes act1)") && err.contains("fix:"),
        "{err}"
    );
    assert!(!out.exists());
    // Data of another shape: 32x32 images for a 28x28 model.
    let imgs = t.join("imgs");
    for split in ["train", "test"] {
        for class in ["a", "b"] {
            let d = imgs.join(split).join(class);
            std::fs::create_dir_all(&d).unwrap();
            image::GrayImage::new(32, 32).save(d.join("0.png")).unwrap();
        }
    }
    let out = t.join("out2");
    let err = fails(&mut prune(&onnx, &imgs, &out));
    assert!(
        err.contains("32x32") && err.contains("--resize 28x28"),
        "{err}"
    );
    assert!(!out.exists());
    // An empty class folder, then a corrupt image.
    std::fs::remove_file(imgs.join("test/b/0.png")).unwrap();
    let err = fails(prune(&onnx, &imgs, &out).args(["--resize", "28x28"]));
    assert!(
        err.contains("test/b") && err.contains("empty class folder"),
        "{err}"
    );
    std::fs::write(imgs.join("test/b/0.png"), b"garbage").unwrap();
    let err = fails(prune(&onnx, &imgs, &out).args(["--resize", "28x28"]));
    assert!(
        err.contains("test/b/0.png") && err.contains("cannot decode"),
        "{err}"
    );
    assert!(!out.exists());
}
