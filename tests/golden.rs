//! Golden outputs (issue 12): what `ember` prints for every shipped trace x shipped config x
//! dataflow (JSON, CSV and table; analytic and cycle mode), for `compare`, `validate`, a small
//! `sweep` (with its shards and plot), `import` and the README's examples, recorded before the
//! hardware model was generalised. Every later change keeps these bytes, or the commit that
//! rewrites a fixture says which figure changed and why.
//!
//! Fixtures: `tests/golden/*.txt.gz`, one bundle per group of commands. A section is a header
//! line `>>> BYTES ember ARGS` and then exactly BYTES bytes of output (stdout, or the file the
//! command wrote where ARGS name `{out}`), then a newline.
//!
//! Recording: `EMBER_GOLDEN=record` adds the sections a bundle lacks (a new command) and keeps
//! every existing one; `EMBER_GOLDEN=overwrite` also rewrites the sections that differ and
//! lists them. Without the variable a missing or different section fails the test.

mod common;
#[path = "../onnx/tests/common/mod.rs"]
mod onnx_common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use common::{ember, scratch_dir};

const TRACES: [&str; 7] = [
    "alexnet",
    "googlenet",
    "mobilenet_v1",
    "mobilenet_v1_0.5_128",
    "resnet18",
    "squeezenet",
    "vgg16",
];
/// Each config with the dataflows it runs: every one, except eyeriss-v2, whose SIMD-2 PE is
/// modelled for row stationary only (other dataflows refuse it).
const CONFIGS: [(&str, &[&str]); 7] = [
    ("eyeriss-24x28-216kb", &DATAFLOWS),
    ("eyeriss-isca16-256", &DATAFLOWS),
    ("eyeriss-v1-skip", &DATAFLOWS),
    ("eyeriss-v1", &DATAFLOWS),
    ("eyeriss-v1-scaled", &DATAFLOWS),
    ("eyeriss-v1.5", &DATAFLOWS),
    ("eyeriss-v2", &["rs"]),
];
const DATAFLOWS: [&str; 4] = ["rs", "ws", "os", "nlr"];
/// Dataflows cycle mode runs.
const CYCLE_DATAFLOWS: [&str; 1] = ["rs"];
const FORMATS: [&str; 3] = ["json", "csv", "table"];
/// The objective the outputs were recorded with: minimum energy, the default until issue 13
/// made edp the default (the bytes under this flag are those recorded before that change).
const ENERGY: &str = "--objective energy";

/// One command: its arguments (`{out}` = a scratch file whose contents are the output, with
/// any extension the argument adds;
/// `{models}` = a folder holding the ONNX test models).
type Case = Vec<String>;

fn case(args: &str) -> Case {
    args.split_whitespace().map(String::from).collect()
}

/// Every `sim` run of one trace.
fn sim_cases(trace: &str) -> Vec<Case> {
    let mut out = Vec::new();
    for (hw, dataflows) in CONFIGS {
        for df in dataflows {
            for fmt in FORMATS {
                out.push(case(&format!(
                    "sim --net traces/{trace}.toml --hw hw_configs/{hw}.toml --dataflow {df} --format {fmt} {ENERGY}"
                )));
            }
        }
        for df in CYCLE_DATAFLOWS {
            for fmt in FORMATS {
                out.push(case(&format!(
                    "sim --net traces/{trace}.toml --hw hw_configs/{hw}.toml --dataflow {df} --mode cycle --format {fmt} {ENERGY}"
                )));
            }
        }
    }
    out
}

/// Everything else: the default run, the README's examples, edp, the pass trace, plots,
/// compare, validate, sweep (whole, sharded and merged) and import.
fn command_cases() -> Vec<Case> {
    let v1 = "--hw hw_configs/eyeriss-v1.toml";
    let isca = "--hw hw_configs/eyeriss-isca16-256.toml";
    let space = "--space sweeps/small.toml --net traces/alexnet.toml --jobs 1";
    [
        String::new(),
        "sim --mode cycle --format json".into(),
        format!("sim {ENERGY}"),
        format!("sim --net traces/vgg16.toml --hw hw_configs/eyeriss-v1.toml --batch 3 {ENERGY}"),
        format!("sim {isca} --batch 16 --format json {ENERGY}"),
        format!("sim --net traces/resnet18.toml --batch 1 --format csv {ENERGY}"),
        format!("sim {v1} --objective edp --format json"),
        format!("sim {v1} --mode cycle --trace {{out}} {ENERGY}"),
        format!("sim {v1} --plot {{out}}.svg {ENERGY}"),
        "validate".into(),
        "validate --format json".into(),
        "validate --objective energy".into(),
        format!("compare --net traces/alexnet.toml {v1} --hw hw_configs/eyeriss-24x28-216kb.toml --batch 4 {ENERGY}"),
        format!("compare --net traces/alexnet.toml {v1} --hw hw_configs/eyeriss-24x28-216kb.toml --format json {ENERGY}"),
        format!("compare {isca} --dataflow rs,ws,os,nlr --batch 16 {ENERGY}"),
        format!("compare {isca} --dataflow rs,ws,os,nlr --batch 16 --format csv {ENERGY}"),
        format!("compare {isca} --dataflow rs,ws,os,nlr --batch 16 --plot {{out}}.svg {ENERGY}"),
        format!("sweep {space} --out {{out}}"),
        format!("sweep {space} --shard 1/3 --out {{out}}"),
        format!("sweep {space} --out {{scratch}}/all.csv --plot {{out}}.svg"),
        "import {models}/sample.onnx".into(),
        "import {models}/lenet.onnx".into(),
        format!("sim --net {{models}}/sample.onnx --batch 1 --format json {ENERGY}"),
    ]
    .iter()
    .map(|s| case(s))
    .collect()
}

/// What the command prints (or writes to `{out}`). A failing command fails the test.
fn run(args: &Case, models: &Path) -> Vec<u8> {
    let dir = scratch_dir("golden");
    let out = dir.path().join("out");
    // The file the command writes, named as the case gives it (`{out}.svg` for a plot).
    let written = args
        .iter()
        .find(|a| a.contains("{out}"))
        .map(|a| PathBuf::from(a.replace("{out}", out.to_str().unwrap())));
    let args: Vec<String> = args
        .iter()
        .map(|a| {
            a.replace("{out}", out.to_str().unwrap())
                .replace("{scratch}", dir.path().to_str().unwrap())
                .replace("{models}", models.to_str().unwrap())
        })
        .collect();
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let res = ember(&refs);
    assert!(
        res.status.success(),
        "ember {args:?} failed: {}",
        String::from_utf8_lossy(&res.stderr)
    );
    match written {
        Some(p) => std::fs::read(p).unwrap(),
        None => res.stdout,
    }
}

fn bundle_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.txt.gz"))
}

/// The sections of a bundle, by command line (empty if the file does not exist).
fn read_bundle(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let Ok(file) = std::fs::File::open(path) else {
        return out;
    };
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut bytes)
        .expect("a gzip bundle");
    let mut at = 0;
    while at < bytes.len() {
        let end = at + bytes[at..].iter().position(|&b| b == b'\n').unwrap();
        let head = std::str::from_utf8(&bytes[at..end]).unwrap();
        let rest = head.strip_prefix(">>> ").expect("a section header");
        let (len, cmd) = rest.split_once(' ').unwrap();
        let len: usize = len.parse().unwrap();
        out.insert(cmd.to_string(), bytes[end + 1..end + 1 + len].to_vec());
        at = end + 1 + len + 1;
    }
    out
}

fn write_bundle(path: &Path, sections: &BTreeMap<String, Vec<u8>>) {
    let mut raw = Vec::new();
    for (cmd, body) in sections {
        raw.extend_from_slice(format!(">>> {} {cmd}\n", body.len()).as_bytes());
        raw.extend_from_slice(body);
        raw.push(b'\n');
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::best());
    gz.write_all(&raw).unwrap();
    gz.finish().unwrap();
}

/// Where two outputs first differ: line number and both lines (shortened).
fn first_difference(want: &[u8], got: &[u8]) -> String {
    let (w, g) = (String::from_utf8_lossy(want), String::from_utf8_lossy(got));
    let short = |s: &str| s.chars().take(160).collect::<String>();
    for (i, (a, b)) in w.lines().zip(g.lines()).enumerate() {
        if a != b {
            return format!(
                "line {}:\n    want {}\n    got  {}",
                i + 1,
                short(a),
                short(b)
            );
        }
    }
    format!(
        "{} lines recorded, {} now",
        w.lines().count(),
        g.lines().count()
    )
}

/// Run every case of bundle `name` and compare (or record, per `EMBER_GOLDEN`).
fn check(name: &str, cases: &[Case]) {
    let mode = std::env::var("EMBER_GOLDEN").unwrap_or_default();
    let path = bundle_path(name);
    let mut sections = read_bundle(&path);
    let models = scratch_dir("golden-models");
    for (n, g) in onnx_common::models() {
        std::fs::write(models.path().join(format!("{n}.onnx")), g.bytes()).unwrap();
    }
    let (mut failures, mut changed) = (Vec::new(), false);
    for c in cases {
        let key = format!("ember {}", c.join(" ")).trim_end().to_string();
        let got = run(c, models.path());
        match sections.get(&key) {
            Some(want) if *want == got => {}
            Some(want) if mode == "overwrite" => {
                eprintln!(
                    "golden {name}: rewriting `{key}`: {}",
                    first_difference(want, &got)
                );
                sections.insert(key, got);
                changed = true;
            }
            Some(want) => failures.push(format!("`{key}`: {}", first_difference(want, &got))),
            None if mode == "record" || mode == "overwrite" => {
                eprintln!("golden {name}: recording `{key}`");
                sections.insert(key, got);
                changed = true;
            }
            None => failures.push(format!(
                "`{key}`: no recorded output (EMBER_GOLDEN=record adds it)"
            )),
        }
    }
    if changed {
        write_bundle(&path, &sections);
    }
    assert!(
        failures.is_empty(),
        "{} of {} outputs differ from tests/golden/{name}.txt.gz:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn golden_sim_alexnet() {
    check("sim-alexnet", &sim_cases(TRACES[0]));
}

#[test]
fn golden_sim_googlenet() {
    check("sim-googlenet", &sim_cases(TRACES[1]));
}

#[test]
fn golden_sim_mobilenet_v1() {
    check("sim-mobilenet_v1", &sim_cases(TRACES[2]));
}

/// Added with the trace (issue 16), recorded at its first commit.
#[test]
fn golden_sim_mobilenet_v1_05_128() {
    check("sim-mobilenet_v1_0.5_128", &sim_cases(TRACES[3]));
}

#[test]
fn golden_sim_resnet18() {
    check("sim-resnet18", &sim_cases(TRACES[4]));
}

#[test]
fn golden_sim_squeezenet() {
    check("sim-squeezenet", &sim_cases(TRACES[5]));
}

#[test]
fn golden_sim_vgg16() {
    check("sim-vgg16", &sim_cases(TRACES[6]));
}

#[test]
fn golden_commands() {
    check("commands", &command_cases());
}
