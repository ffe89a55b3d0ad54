//! Issue 11: no silent wrong, lost or mislabelled result. Each test tries a case as a user
//! would and expects either a correct result or one clear error line (file, rule, fix; no
//! panic, non-zero exit), and that nothing of the user's was destroyed.

mod common;
#[path = "../onnx/tests/common/mod.rs"]
mod onnx_common;

use common::{ember, ok, s, scratch_dir};

/// Runs with the given args, expects failure with one error line carrying a fix; returns it.
fn fails(args: &[&str]) -> String {
    let out = ember(args);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "expected failure for {args:?}");
    assert!(!err.contains("panicked"), "panic for {args:?}: {err}");
    let last = err.trim().lines().last().unwrap_or("").to_string();
    assert!(last.starts_with("error: "), "{args:?}: {err}");
    assert!(last.contains("fix:"), "no fix for {args:?}: {err}");
    last
}

/// Item 5: a plot is SVG; a `.png` name would hold SVG bytes, so it is refused before any work
/// and no file is written.
#[test]
fn plot_with_a_non_svg_extension_is_refused() {
    let dir = scratch_dir("plot-ext");
    let png = dir.path().join("x.png");
    let err = fails(&["sim", "--plot", s(&png)]);
    assert!(
        err.contains("x.png") && err.contains("SVG") && err.contains("x.svg"),
        "{err}"
    );
    assert!(!png.exists());
    let err = fails(&[
        "compare",
        "--hw",
        "hw_configs/eyeriss-v1.toml",
        "--hw",
        "hw_configs/eyeriss-isca16-256.toml",
        "--plot",
        s(&png),
    ]);
    assert!(err.contains("x.svg"), "{err}");
    let out = dir.path().join("o.csv");
    let err = fails(&[
        "sweep",
        "--space",
        "sweeps/small.toml",
        "--out",
        s(&out),
        "--plot",
        s(&png),
    ]);
    assert!(err.contains("x.svg"), "{err}");
    assert!(
        !out.exists(),
        "the sweep ran before the plot name was checked"
    );
}

/// Item 6: `--jobs 0` is refused.
#[test]
fn sweep_jobs_zero_is_refused() {
    let dir = scratch_dir("jobs0");
    let out = dir.path().join("o.csv");
    let o = ember(&[
        "sweep",
        "--space",
        "sweeps/small.toml",
        "--jobs",
        "0",
        "--out",
        s(&out),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("--jobs"), "{err}");
    assert!(!out.exists());
}

/// Item 8: a plot that cannot be written says why in words, with a fix (no Rust debug text).
#[test]
fn unwritable_plot_is_a_plain_error() {
    let dir = scratch_dir("plot-dir");
    let svg = dir.path().join("missing").join("x.svg");
    let err = fails(&["sim", "--plot", s(&svg)]);
    assert!(err.contains("x.svg"), "{err}");
    assert!(
        !err.contains("Error(") && !err.contains("Os {"),
        "debug text: {err}"
    );
}

/// Item 8: `--out DIR/` names the folder and asks for a file name.
#[test]
fn out_that_is_a_folder_is_a_clear_error() {
    let dir = scratch_dir("out-dir");
    let folder = format!("{}/", dir.path().display());
    let err = fails(&["sim", "--out", &folder]);
    assert!(
        err.contains("is a folder") && err.contains("file name"),
        "{err}"
    );
    let err = fails(&["sim", "--out", s(dir.path())]);
    assert!(err.contains("is a folder"), "{err}");
}

/// Outputs never overwrite a file without `--force`: the file is untouched.
#[test]
fn existing_output_needs_force() {
    let dir = scratch_dir("force");
    let out = dir.path().join("mine.csv");
    std::fs::write(&out, "precious\n").unwrap();
    let err = fails(&["sim", "--format", "csv", "--out", s(&out)]);
    assert!(err.contains("mine.csv") && err.contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "precious\n");
    ok(&["sim", "--format", "csv", "--out", s(&out), "--force"]);
    assert!(std::fs::read_to_string(&out).unwrap().starts_with("layer,"));
}

const SMALL: &str = "sweeps/small.toml";

/// Item 1: a results file of another grid is refused, untouched; `--force` replaces it.
#[test]
fn sweep_refuses_a_results_file_of_another_grid() {
    let dir = scratch_dir("sweep-foreign");
    let other = dir.path().join("other.csv");
    ok(&[
        "sweep",
        "--space",
        "sweeps/alexnet-1000.toml",
        "--shard",
        "0/50",
        "--out",
        s(&other),
    ]);
    let before = std::fs::read(&other).unwrap();
    let err = fails(&["sweep", "--space", SMALL, "--out", s(&other)]);
    assert!(
        err.contains("other.csv") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&other).unwrap(),
        before,
        "the file was touched"
    );
    // The same space on another network is another grid too.
    let mine = dir.path().join("mine.csv");
    ok(&["sweep", "--space", SMALL, "--out", s(&mine)]);
    let before = std::fs::read(&mine).unwrap();
    let err = fails(&[
        "sweep",
        "--space",
        SMALL,
        "--net",
        "traces/vgg16.toml",
        "--out",
        s(&mine),
    ]);
    assert!(err.contains("mine.csv"), "{err}");
    assert_eq!(std::fs::read(&mine).unwrap(), before);
    // Rerunning the finished sweep keeps every row; --force starts over on another grid.
    ok(&["sweep", "--space", SMALL, "--out", s(&mine)]);
    assert_eq!(std::fs::read(&mine).unwrap(), before);
    ok(&["sweep", "--space", SMALL, "--out", s(&other), "--force"]);
    assert_eq!(std::fs::read(&other).unwrap(), before);
}

/// Item 2: shard files say which shard of how many (and of which grid) they are; a merge with
/// a missing, duplicated or foreign shard is an error naming it.
#[test]
fn sweep_merge_checks_its_shards() {
    let dir = scratch_dir("sweep-merge");
    let p = |n: &str| dir.path().join(n);
    for i in 0..3 {
        let out = p(&format!("s{i}.csv"));
        ok(&[
            "sweep",
            "--space",
            SMALL,
            "--shard",
            &format!("{i}/3"),
            "--out",
            s(&out),
        ]);
    }
    let all = p("all.csv");
    ok(&["sweep", "--space", SMALL, "--out", s(&all)]);
    let merged = p("m.csv");
    let err = fails(&[
        "sweep",
        "--merge",
        s(&p("s0.csv")),
        s(&p("s1.csv")),
        "--out",
        s(&merged),
    ]);
    assert!(err.contains("2/3") && err.contains("missing"), "{err}");
    let err = fails(&[
        "sweep",
        "--merge",
        s(&p("s0.csv")),
        s(&p("s1.csv")),
        s(&p("s1.csv")),
        s(&p("s2.csv")),
        "--out",
        s(&merged),
    ]);
    assert!(err.contains("s1.csv") && err.contains("1/3"), "{err}");
    let foreign = p("foreign.csv");
    ok(&[
        "sweep",
        "--space",
        "sweeps/alexnet-1000.toml",
        "--shard",
        "2/50",
        "--out",
        s(&foreign),
    ]);
    let err = fails(&[
        "sweep",
        "--merge",
        s(&p("s0.csv")),
        s(&p("s1.csv")),
        s(&foreign),
        "--out",
        s(&merged),
    ]);
    assert!(err.contains("foreign.csv") && err.contains("grid"), "{err}");
    assert!(!merged.exists());
    ok(&[
        "sweep",
        "--merge",
        s(&p("s2.csv")),
        s(&p("s0.csv")),
        s(&p("s1.csv")),
        "--out",
        s(&merged),
    ]);
    assert_eq!(
        std::fs::read(&merged).unwrap(),
        std::fs::read(&all).unwrap()
    );
    // An input that is not a sweep file is named as an input.
    let junk = p("junk.csv");
    std::fs::write(&junk, "a,b\n1,2\n").unwrap();
    let err = fails(&["sweep", "--merge", s(&junk), "--out", s(&p("m2.csv"))]);
    assert!(
        err.contains("junk.csv") && err.contains("--merge") && !err.contains("--out"),
        "{err}"
    );
}

/// A copy of eyeriss-v1 whose `[energy]` table is in pJ (the `[energy_pj]` numbers).
fn pj_config(dir: &std::path::Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string("hw_configs/eyeriss-v1.toml").unwrap();
    let (head, tail) = text.split_once("[energy_pj]").unwrap();
    let table = tail.split("\n[").next().unwrap();
    let head = head.split("[energy]").next().unwrap();
    let p = dir.join("pj.toml");
    std::fs::write(&p, format!("{head}[energy]{table}\n")).unwrap();
    p
}

/// Item 4: candidates in different energy units are not ranked or plotted together, and every
/// CSV row names its units.
#[test]
fn mixed_energy_units_are_refused_and_rows_carry_units() {
    let dir = scratch_dir("units");
    let pj = pj_config(dir.path());
    let sim = ok(&["sim", "--hw", s(&pj), "--format", "csv"]);
    let head: Vec<&str> = sim.lines().next().unwrap().split(',').collect();
    let col = head
        .iter()
        .position(|h| *h == "energy_units")
        .expect("units column");
    for line in sim.lines().skip(1) {
        assert_eq!(line.split(',').nth(col), Some("pJ"), "{line}");
    }
    let err = fails(&[
        "compare",
        "--hw",
        "hw_configs/eyeriss-v1.toml",
        "--hw",
        s(&pj),
    ]);
    assert!(
        err.contains("pJ") && err.contains("normalized") && err.contains("pj.toml"),
        "{err}"
    );
    let csv = ok(&[
        "compare",
        "--hw",
        "hw_configs/eyeriss-v1.toml",
        "--hw",
        "hw_configs/eyeriss-isca16-256.toml",
        "--format",
        "csv",
    ]);
    let head: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = head
        .iter()
        .position(|h| *h == "energy_units")
        .expect("units column");
    assert!(csv
        .lines()
        .skip(1)
        .all(|l| l.split(',').nth(col) == Some("normalized")));
    let space = dir.path().join("space.toml");
    std::fs::write(
        &space,
        format!(
            "base = \"{}/hw_configs/eyeriss-v1.toml\"\n[grid]\nenergy = [\"base\", \"pj.toml\"]\n",
            env!("CARGO_MANIFEST_DIR")
        ),
    )
    .unwrap();
    let out = dir.path().join("o.csv");
    let err = fails(&["sweep", "--space", s(&space), "--out", s(&out)]);
    assert!(
        err.contains("pj.toml") && err.contains("pJ") && err.contains("grid.energy"),
        "{err}"
    );
    assert!(!out.exists());
    let ok_out = dir.path().join("ok.csv");
    ok(&["sweep", "--space", SMALL, "--out", s(&ok_out)]);
    let text = std::fs::read_to_string(&ok_out).unwrap();
    let head: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let col = head
        .iter()
        .position(|h| *h == "energy_units")
        .expect("units column");
    assert!(text
        .lines()
        .skip(1)
        .all(|l| l.split(',').nth(col) == Some("normalized")));
}

/// Item 8: a binary file given as `--hw` says it is not a text config (the path is fine).
#[test]
fn binary_hw_file_is_named_as_not_a_config() {
    let err = fails(&["sim", "--hw", env!("CARGO_BIN_EXE_ember")]);
    assert!(
        err.contains("not a text file") && err.contains("hardware config"),
        "{err}"
    );
    assert!(!err.contains("check the path"), "{err}");
}

/// Item 8: ONNX errors name the path given, and a missing model says how to fix it.
#[test]
fn onnx_errors_name_the_path_and_a_fix() {
    let dir = scratch_dir("onnx-errors");
    let cut = dir.path().join("cut.onnx");
    let bytes = onnx_common::sample().bytes();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = fails(&["sim", "--net", s(&cut)]);
    assert!(err.contains(s(&cut)), "{err}");
    let missing = dir.path().join("missing.onnx");
    let err = fails(&["sim", "--net", s(&missing)]);
    assert!(err.contains(s(&missing)), "{err}");
}

/// Item 8: a GLB too small for any mapping names the hardware file.
#[test]
fn no_mapping_names_the_hardware_file() {
    let dir = scratch_dir("small-glb");
    let text = std::fs::read_to_string("hw_configs/eyeriss-v1.toml")
        .unwrap()
        .replace("words = 51200", "words = 64");
    let hw = dir.path().join("tiny-glb.toml");
    std::fs::write(&hw, text).unwrap();
    let err = fails(&["sim", "--hw", s(&hw)]);
    assert!(
        err.contains("tiny-glb.toml") && err.contains("glb"),
        "{err}"
    );
}

/// Item 8: a file of another kind given as `--net` or `--hw` says what it is and where it goes.
#[test]
fn a_file_of_another_kind_says_what_it_is() {
    let dir = scratch_dir("kinds");
    let model = dir.path().join("model.toml");
    std::fs::write(
        &model,
        "name = \"lenet5\"\nnum_classes = 10\n\n[input]\nchannels = 1\nheight = 28\nwidth = 28\n\n[[layers]]\nkind = \"flatten\"\n",
    )
    .unwrap();
    let err = fails(&["sim", "--net", s(&model)]);
    assert!(
        err.contains("model") && err.contains("ember masks"),
        "{err}"
    );
    let err = fails(&["sim", "--net", "hw_configs/eyeriss-v1.toml"]);
    assert!(
        err.contains("hardware config") && err.contains("--hw"),
        "{err}"
    );
    let err = fails(&["sim", "--hw", "traces/alexnet.toml"]);
    assert!(err.contains("trace") && err.contains("--net"), "{err}");
}

/// Item 8: `train --epochs 0` is refused before the data is loaded, with a fix.
#[test]
fn train_zero_epochs_is_refused_first() {
    let dir = scratch_dir("epochs0");
    let err = fails(&[
        "train",
        "--model",
        "lenet5",
        "--epochs",
        "0",
        "--data",
        s(&dir.path().join("no-data")),
        "--out",
        s(&dir.path().join("m")),
    ]);
    assert!(
        err.contains("--epochs") && !err.contains("no-data"),
        "{err}"
    );
}

/// Item 9: `--input-shape` belongs to the commands that read `--net`, applies to ONNX models
/// only, and its N is checked against the batch instead of being ignored.
#[test]
fn input_shape_applies_where_it_means_something() {
    for cmd in ["train", "prune", "masks"] {
        let help = ok(&[cmd, "--help"]);
        assert!(!help.contains("--input-shape"), "{cmd} --help: {help}");
    }
    assert!(ok(&["sim", "--help"]).contains("--input-shape"));
    let err = fails(&[
        "sim",
        "--net",
        "traces/alexnet.toml",
        "--input-shape",
        "1x3x227x227",
    ]);
    assert!(
        err.contains("ONNX") && err.contains("alexnet.toml"),
        "{err}"
    );
    let err = fails(&["sim", "--input-shape", "1x3x227x227"]);
    assert!(err.contains("ONNX"), "{err}");
    let dir = scratch_dir("input-shape");
    let model = dir.path().join("sample.onnx");
    std::fs::write(&model, onnx_common::sample().bytes()).unwrap();
    let err = fails(&[
        "sim",
        "--net",
        s(&model),
        "--input-shape",
        "8x3x64x64",
        "--batch",
        "4",
    ]);
    assert!(err.contains("N = 8") && err.contains("--batch"), "{err}");
    let a = ok(&[
        "sim",
        "--net",
        s(&model),
        "--input-shape",
        "4x3x64x64",
        "--batch",
        "4",
        "--format",
        "csv",
    ]);
    let b = ok(&[
        "sim",
        "--net",
        s(&model),
        "--input-shape",
        "3x64x64",
        "--batch",
        "4",
        "--format",
        "csv",
    ]);
    assert_eq!(a, b);
    let err = fails(&["import", s(&model), "--input-shape", "2x3x64x64"]);
    assert!(err.contains("N = 2"), "{err}");
}

/// Item 3: counts that would overflow are an error naming the layer (and for one image, the
/// trace line), never a wrapped number.
#[test]
fn overflowing_counts_are_refused() {
    let dir = scratch_dir("overflow");
    let trace = |c: &str| {
        format!("name = \"huge\"\nsource = \"test\"\n\n[[layer]]\nname = \"L1\"\nc = {c}\nh = 3\nw = 3\nm = {c}\nr = 3\n")
    };
    let per_image = dir.path().join("per-image.toml");
    std::fs::write(&per_image, trace("1000000000")).unwrap();
    let err = fails(&["sim", "--net", s(&per_image), "--batch", "4000000000"]);
    assert!(
        err.contains("per-image.toml:4") && err.contains("L1"),
        "{err}"
    );
    let batched = dir.path().join("batched.toml");
    std::fs::write(&batched, trace("1000000")).unwrap();
    let err = fails(&["sim", "--net", s(&batched), "--batch", "4000000000"]);
    assert!(
        err.contains("L1") && err.contains("4000000000") && err.contains("--batch"),
        "{err}"
    );
    // Minimum energy: the edp search runs candidates in cycle mode, whose time grows with a
    // layer's passes (about 4e9 here), so it is not what this test of the count bound is about.
    ok(&[
        "sim",
        "--net",
        s(&batched),
        "--batch",
        "1",
        "--format",
        "csv",
        "--objective",
        "energy",
    ]);
}

/// Item 7: one representation of fully connected layers, the design's: an fc layer takes the
/// map it reads (c, h, w; R = H, S = W). The flattened form (c = features, 1x1) after a
/// spatial map is refused in a chain with the form to write instead.
#[test]
fn flattened_fc_in_a_chain_names_the_map_form() {
    let dir = scratch_dir("fc-form");
    let text = "name = \"n\"\nsource = \"t\"\nchain = true\n\n[[layer]]\nname = \"conv\"\nc = 1\nh = 9\nw = 9\nm = 16\nr = 5\n\n[[layer]]\nname = \"fc\"\nkind = \"fc\"\nc = 400\nh = 1\nw = 1\nm = 10\n";
    let p = dir.path().join("flat.toml");
    std::fs::write(&p, text).unwrap();
    let err = fails(&["sim", "--net", s(&p)]);
    assert!(err.contains("c = 16, h = 5, w = 5"), "{err}");
    std::fs::write(
        &p,
        text.replace("c = 400\nh = 1\nw = 1", "c = 16\nh = 5\nw = 5"),
    )
    .unwrap();
    ok(&["sim", "--net", s(&p), "--format", "csv"]);
}

/// Item 12, found by fuzzing: a number where a key takes a name (`dataflow = 3`) said only
/// "wanted string or table".
#[test]
fn a_number_for_a_name_says_to_quote_it() {
    let dir = scratch_dir("enum");
    let text = std::fs::read_to_string("hw_configs/eyeriss-v1.toml")
        .unwrap()
        .replace("dataflow = \"rs\"", "dataflow = 3");
    let p = dir.path().join("enum.toml");
    std::fs::write(&p, text).unwrap();
    let err = fails(&["sim", "--hw", s(&p)]);
    assert!(
        err.contains("enum.toml:7") && err.contains("quote"),
        "{err}"
    );
    assert!(!err.contains("wanted string or table"), "{err}");
}

/// Item 12, found by fuzzing: the pruner's errors (a missing data set here) carried no `fix:`.
#[test]
fn pruner_errors_carry_a_fix() {
    let dir = scratch_dir("no-data");
    let err = fails(&[
        "train",
        "--model",
        "lenet5",
        "--data",
        s(&dir.path().join("none")),
        "--out",
        s(&dir.path().join("m")),
    ]);
    assert!(
        err.contains("Fashion-MNIST") && err.contains("--data"),
        "{err}"
    );
}

/// Item 12, found by fuzzing: an `[energy]` table of zeros printed `NaN%` shares and `NaN`
/// ratios with exit 0; it is refused.
#[test]
fn an_energy_table_of_zeros_is_refused() {
    let dir = scratch_dir("zero-energy");
    let text = std::fs::read_to_string("hw_configs/eyeriss-v1.toml").unwrap();
    let (head, rest) = text.split_once("[energy]").unwrap();
    let (table, tail) = rest.split_once("[energy_pj]").unwrap();
    let zeroed: String = table
        .lines()
        .map(|l| match l.split_once(" = ") {
            Some((k, _)) if ["mac", "rf", "array", "glb", "dram"].contains(&k) => {
                format!("{k} = 0.0\n")
            }
            _ => format!("{l}\n"),
        })
        .collect();
    let p = dir.path().join("zero.toml");
    std::fs::write(&p, format!("{head}[energy]{zeroed}[energy_pj]{tail}")).unwrap();
    let err = fails(&["sim", "--hw", s(&p)]);
    assert!(err.contains("zero.toml") && err.contains("energy"), "{err}");
}

/// Item 12, found by fuzzing: a measured value of 0 gave an infinite error percentage with exit
/// 0; measured values must be positive numbers.
#[test]
fn a_measured_zero_is_refused() {
    let dir = scratch_dir("meas-zero");
    let p = dir.path().join("meas.toml");
    std::fs::write(
        &p,
        "name = \"x\"\nsource = \"test\"\nnetwork = \"AlexNet\"\nbatch = 4\n\n[[layer]]\nname = \"CONV1\"\ndram_mb = 0.0\n",
    )
    .unwrap();
    let err = fails(&["validate", "--measured", s(&p), "--objective", "energy"]);
    assert!(
        err.contains("meas.toml") && err.contains("dram_mb"),
        "{err}"
    );
}

/// Item 3 in a sweep: a grid batch too large for the network is refused up front, not
/// written as a `no_mapping` row.
#[test]
fn sweep_batch_too_large_is_refused_up_front() {
    let dir = scratch_dir("sweep-huge-batch");
    let space = dir.path().join("space.toml");
    std::fs::write(
        &space,
        format!(
            "base = \"{}/hw_configs/eyeriss-v1.toml\"\n[grid]\nbatch = [1, 4000000000000]\n",
            env!("CARGO_MANIFEST_DIR")
        ),
    )
    .unwrap();
    let out = dir.path().join("o.csv");
    let err = fails(&["sweep", "--space", s(&space), "--out", s(&out)]);
    assert!(
        err.contains("grid.batch") && err.contains("4000000000000"),
        "{err}"
    );
    assert!(!out.exists());
}
