//! Issue 11: no silent wrong, lost or mislabelled result. Each test tries a case as a user
//! would and expects either a correct result or one clear error line (file, rule, fix; no
//! panic, non-zero exit), and that nothing of the user's was destroyed.

mod common;

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
