//! Random command lines (issue 11, item 12): argument vectors drawn from every command's flags
//! with valid, invalid and extreme values and files of every kind (shipped inputs, a binary,
//! an empty file, a folder, a missing path, an ONNX model, outputs of every extension). The
//! binary never panics; a run that succeeds prints no non-finite number, in its output or in
//! the files it writes; a run that fails with our own error (exit 1) says how to fix it.
//!
//! A few seconds by default. The long run: `EMBER_FUZZ_CASES=3000 cargo test --release --test
//! fuzz_cli -- --nocapture` (prints cases, time and any command that hit the time limit).

mod common;
#[path = "../onnx/tests/common/mod.rs"]
mod onnx_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Wall time allowed to one command (a huge batch in cycle mode may simply take long).
const LIMIT: Duration = Duration::from_secs(20);

fn cases(default: u32) -> u32 {
    std::env::var("EMBER_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The files arguments are drawn from.
struct Files {
    inputs: Vec<String>,
    outputs: Vec<String>,
}

fn files(dir: &Path) -> Files {
    let p = |n: &str| dir.join(n).to_string_lossy().into_owned();
    std::fs::write(dir.join("empty.toml"), "").unwrap();
    std::fs::write(dir.join("lenet.onnx"), onnx_common::lenet().bytes()).unwrap();
    std::fs::write(dir.join("junk.csv"), "a,b\n1,2\n").unwrap();
    std::fs::write(dir.join("existing.csv"), "mine\n").unwrap();
    std::fs::create_dir_all(dir.join("folder")).unwrap();
    let mut inputs: Vec<String> = [
        "traces/alexnet.toml",
        "traces/mobilenet_v1.toml",
        "traces/measurements/eyeriss-jssc17-alexnet.toml",
        "hw_configs/eyeriss-v1.toml",
        "hw_configs/eyeriss-isca16-256.toml",
        "hw_configs/eyeriss-v1-skip.toml",
        "sweeps/small.toml",
        "README.md",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    inputs.extend(
        [
            "empty.toml",
            "lenet.onnx",
            "junk.csv",
            "existing.csv",
            "folder",
            "missing.toml",
        ]
        .iter()
        .map(|n| p(n)),
    );
    inputs.push(env!("CARGO_BIN_EXE_ember").to_string());
    let outputs = [
        "out.csv",
        "out.json",
        "plot.svg",
        "plot.png",
        "existing.csv",
        "folder",
        "folder/",
        "no-such-dir/x.csv",
        "trace.csv",
    ]
    .iter()
    .map(|n| p(n))
    .collect();
    Files { inputs, outputs }
}

/// Flags and the kind of value each takes.
#[derive(Debug, Clone, Copy)]
enum Kind {
    In,
    Out,
    Num,
    Word(&'static [&'static str]),
    Switch,
}

// Value pools: mostly valid values first, then wrong ones (a draw picks the wrong ones about
// one time in four).
const FORMATS: &[&str] = &["table", "json", "csv", "table", "json", "csv", "xml"];
const DATAFLOWS: &[&str] = &["rs", "ws", "os", "nlr", "rs,ws,os,nlr", "rs", "xs", ""];
const SHAPES: &[&str] = &[
    "1x28x28",
    "1x1x28x28",
    "4x1x28x28",
    "0x3x2x2",
    "3x2",
    "1x1x1x1",
];
const SHARDS: &[&str] = &["0/2", "1/3", "0/1", "2/2", "0/0", "x"];
const MODES: &[&str] = &["analytic", "cycle", "cycle", "fast"];
const OBJECTIVES: &[&str] = &["energy", "edp", "energy", "speed"];
const MODELS: &[&str] = &["lenet5", "vgg-mini", "lenet5", "resnet"];
const METHODS: &[&str] = &["eap", "magnitude", "eap", "random"];

const FLAGS: &[(&str, Kind)] = &[
    ("--net", Kind::In),
    ("--hw", Kind::In),
    ("--batch", Kind::Num),
    ("--format", Kind::Word(FORMATS)),
    ("--out", Kind::Out),
    ("--plot", Kind::Out),
    ("--trace", Kind::Out),
    ("--mode", Kind::Word(MODES)),
    ("--objective", Kind::Word(OBJECTIVES)),
    ("--dataflow", Kind::Word(DATAFLOWS)),
    ("--input-shape", Kind::Word(SHAPES)),
    ("--masks", Kind::In),
    ("--force", Kind::Switch),
    ("--space", Kind::In),
    ("--jobs", Kind::Num),
    ("--shard", Kind::Word(SHARDS)),
    ("--merge", Kind::In),
    ("--measured", Kind::In),
    ("--model", Kind::Word(MODELS)),
    ("--method", Kind::Word(METHODS)),
    ("--epochs", Kind::Word(&["0", "1", "2", "-1", "x"])),
    ("--images", Kind::Num),
    (
        "--data",
        Kind::Word(&[FIXTURE, FIXTURE, "missing-data", "traces"]),
    ),
    ("--max-rounds", Kind::Word(&["0", "1", "x"])),
    ("--bogus", Kind::Switch),
];

/// Commands, each with the flags it takes (most draws use these; some use any flag).
const COMMANDS: &[(&str, &[&str])] = &[
    ("", &[]),
    (
        "sim",
        &[
            "--net",
            "--hw",
            "--batch",
            "--format",
            "--out",
            "--plot",
            "--trace",
            "--mode",
            "--objective",
            "--dataflow",
            "--input-shape",
            "--masks",
            "--force",
        ],
    ),
    (
        "compare",
        &[
            "--net",
            "--hw",
            "--hw",
            "--dataflow",
            "--batch",
            "--format",
            "--out",
            "--plot",
            "--force",
            "--input-shape",
            "--masks",
        ],
    ),
    (
        "sweep",
        &[
            "--space", "--net", "--jobs", "--shard", "--merge", "--out", "--plot", "--force",
        ],
    ),
    (
        "validate",
        &[
            "--measured",
            "--hw",
            "--net",
            "--objective",
            "--format",
            "--out",
            "--force",
        ],
    ),
    ("import", &["--input-shape", "--out", "--force"]),
    (
        "masks",
        &["--model", "--images", "--data", "--out", "--force"],
    ),
    ("train", &["--model", "--epochs", "--data", "--out"]),
    (
        "prune",
        &[
            "--model",
            "--method",
            "--hw",
            "--data",
            "--out",
            "--max-rounds",
        ],
    ),
    ("frobnicate", &[]),
];

/// The small Fashion-MNIST fixture: training on it takes a second, not the minutes the full
/// default data set would (train, prune and masks always get a --data).
const FIXTURE: &str = "pruner/tests/fixtures/fashion-mnist-small";

const NUMS: &[&str] = &[
    "1",
    "2",
    "3",
    "1",
    "2",
    "4",
    "16",
    "4294967295",
    "0",
    "-1",
    "4294967296",
    "1e3",
    "abc",
];

/// A command line: a command, then flags (its own, or one time in eight any flag) with
/// values picked by index from the pools; now and then a value is left out.
type Argv = (usize, Vec<(bool, usize, usize, bool)>);

fn argv() -> impl Strategy<Value = Argv> {
    (
        0..COMMANDS.len(),
        prop::collection::vec(
            (
                prop::bool::weighted(0.12),
                any::<usize>(),
                any::<usize>(),
                prop::bool::weighted(0.04),
            ),
            0..6,
        ),
    )
}

fn render(f: &Files, (cmd, flags): &Argv) -> Vec<String> {
    let (name, own) = COMMANDS[*cmd];
    let mut args = Vec::new();
    if !name.is_empty() {
        args.push(name.to_string());
    }
    // The positional model of `import`.
    if name == "import" {
        args.push(f.inputs[flags.len() % f.inputs.len()].clone());
    }
    // The flags a command requires, most of the time, so that most runs get past clap.
    let required: &[&str] = match name {
        "sweep" => &["--out"],
        "masks" => &["--model", "--out", "--data"],
        "train" => &["--model", "--out", "--data", "--epochs"],
        "prune" => &["--model", "--method", "--out", "--data"],
        _ => &[],
    };
    let mut chosen: Vec<(&str, Kind, usize, bool)> = Vec::new();
    for &(any_flag, fi, pick, drop_value) in flags {
        let (flag, kind) = if any_flag || own.is_empty() {
            FLAGS[fi % FLAGS.len()]
        } else {
            let want = own[fi % own.len()];
            *FLAGS
                .iter()
                .find(|(f, _)| *f == want)
                .expect("a known flag")
        };
        // Repeats only where a flag takes several values (clap refuses the others).
        let repeatable = ["--hw", "--merge"].contains(&flag);
        if repeatable || !chosen.iter().any(|c| c.0 == flag) || any_flag {
            chosen.push((flag, kind, pick, drop_value));
        }
    }
    // Never the full data set, nor the default 10 epochs: minutes a run.
    let always = ["--data", "--epochs"];
    for &r in required {
        let wanted = flags.len() % 8 != 7 || always.contains(&r);
        if wanted && !chosen.iter().any(|c| c.0 == r) {
            let kind = FLAGS.iter().find(|(f, _)| *f == r).expect("known").1;
            chosen.push((r, kind, flags.len(), false));
        }
    }
    // No run may read the full default data set (minutes of training).
    if ["masks", "train", "prune"].contains(&name) {
        chosen.retain(|c| c.0 != "--data" || !c.3);
        if !chosen.iter().any(|c| c.0 == "--data") {
            chosen.push(("--data", Kind::Word(&[FIXTURE]), 0, false));
        }
    }
    for (flag, kind, pick, drop_value) in chosen {
        args.push(flag.to_string());
        if drop_value {
            continue;
        }
        match kind {
            Kind::In => args.push(f.inputs[pick % f.inputs.len()].clone()),
            Kind::Out => args.push(f.outputs[pick % f.outputs.len()].clone()),
            Kind::Num => args.push(NUMS[pick % NUMS.len()].to_string()),
            Kind::Word(w) => args.push(w[pick % w.len()].to_string()),
            Kind::Switch => {}
        }
    }
    args
}

/// A non-finite number as the reports would print it.
fn non_finite(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
        .find(|w| {
            let w = w.trim_start_matches('-');
            matches!(w, "NaN" | "nan" | "inf" | "infinity" | "Infinity")
        })
        .map(str::to_string)
}

/// What one run did: its exit code, or a time-out.
enum Outcome {
    Exit(i32),
    TimedOut,
}

/// Run `args` (from the workspace root, outputs in `dir`) and check the rules above.
fn check(args: &[String], dir: &Path) -> Result<Outcome, String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ember"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let start = Instant::now();
    while child.try_wait().map_err(|e| e.to_string())?.is_none() {
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(Outcome::TimedOut);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    if stderr.contains("panicked") || out.status.code() == Some(101) {
        return Err(format!("panic: ember {args:?}\n{stderr}"));
    }
    if out.status.success() {
        if let Some(w) = non_finite(&stdout) {
            return Err(format!("`{w}` in the output of ember {args:?}"));
        }
        for f in std::fs::read_dir(dir).map_err(|e| e.to_string())?.flatten() {
            let text = std::fs::read_to_string(f.path()).unwrap_or_default();
            if let Some(w) = non_finite(&text) {
                return Err(format!(
                    "`{w}` in {} after ember {args:?}",
                    f.path().display()
                ));
            }
        }
    } else if out.status.code() == Some(1) {
        let last = stderr.trim().lines().last().unwrap_or("");
        if !(last.starts_with("error: ") && last.contains("fix:")) {
            return Err(format!("no fix: ember {args:?}\n{stderr}"));
        }
    }
    Ok(Outcome::Exit(out.status.code().unwrap_or(-1)))
}

#[test]
fn random_command_lines_never_panic_nor_print_non_finite_numbers() {
    let n = cases(24);
    let t = Instant::now();
    let timed_out: std::cell::RefCell<Vec<Vec<String>>> = Default::default();
    let exits: std::cell::RefCell<std::collections::BTreeMap<i32, usize>> = Default::default();
    let mut runner = TestRunner::new(Config {
        cases: n,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&argv(), |a| {
            // A fresh folder each case: outputs of one run never meet the next.
            let dir = common::scratch_dir("fuzz-cli");
            let f = files(dir.path());
            let args = render(&f, &a);
            match check(&args, dir.path()) {
                Ok(Outcome::Exit(code)) => {
                    *exits.borrow_mut().entry(code).or_default() += 1;
                    Ok(())
                }
                Ok(Outcome::TimedOut) => {
                    timed_out.borrow_mut().push(args);
                    Ok(())
                }
                Err(e) => Err(TestCaseError::fail(e)),
            }
        })
        .unwrap();
    let timed_out = timed_out.into_inner();
    eprintln!(
        "fuzz: {n} command lines in {:.1} s (exit code: runs {:?}); {} hit the {} s limit{}",
        t.elapsed().as_secs_f64(),
        exits.into_inner(),
        timed_out.len(),
        LIMIT.as_secs(),
        timed_out
            .iter()
            .map(|a| format!("\n  ember {}", a.join(" ")))
            .collect::<String>()
    );
}

/// The pools name real files: the shipped inputs exist.
#[test]
fn shipped_inputs_of_the_pools_exist() {
    let dir = common::scratch_dir("fuzz-pools");
    let f = files(dir.path());
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for i in f.inputs.iter().filter(|i| !i.starts_with('/')) {
        assert!(root.join(i).exists(), "{i}");
    }
}
