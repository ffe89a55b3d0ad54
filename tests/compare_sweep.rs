//! End-to-end tests of `ember compare`, `ember sweep` and the `--plot` / `--dataflow` flags.

mod common;

use std::process::Command;

use serde_json::Value;

use common::{ember, ok, s, scratch_dir};

const ISCA: &str = "hw_configs/eyeriss-isca16-256.toml";
const SPACE: &str = "sweeps/alexnet-1000.toml";

#[test]
fn compare_json_shape_and_results_equal_sim() {
    let text = ok(&[
        "compare",
        "--hw",
        ISCA,
        "--dataflow",
        "rs,ws,os,nlr",
        "--batch",
        "2",
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&text).expect("json");
    let cands = v["candidates"].as_array().expect("candidates");
    assert_eq!(cands.len(), 4);
    for (c, df) in cands.iter().zip(["rs", "ws", "os", "nlr"]) {
        assert_eq!(c.as_object().unwrap().len(), 3, "keys: {c}");
        assert_eq!(c["hardware"], "eyeriss-isca16-256");
        assert_eq!(c["dataflow"], df);
        // `result` is exactly `ember sim --format json` of that candidate.
        let sim: Value = serde_json::from_str(&ok(&[
            "sim",
            "--hw",
            ISCA,
            "--dataflow",
            df,
            "--batch",
            "2",
            "--format",
            "json",
        ]))
        .unwrap();
        assert_eq!(c["result"], sim);
        assert_eq!(c["result"]["dataflow"], df);
        assert_eq!(c["result"]["layers"].as_array().unwrap().len(), 8);
        assert_eq!(c["result"]["layers"][0]["mapping"]["dataflow"], df);
    }
}

#[test]
fn compare_configs_table_csv_and_plot() {
    let dir = scratch_dir("cs-compare");
    let svg = dir.path().join("cmp.svg");
    let table = ok(&[
        "compare",
        "--hw",
        "hw_configs/eyeriss-v1.toml",
        "--hw",
        ISCA,
        "--plot",
        s(&svg),
    ]);
    assert!(table.contains("[1] eyeriss-isca16-256 rs"), "{table}");
    assert!(table.contains("x)"), "ratios: {table}");
    let plot = std::fs::read_to_string(&svg).unwrap();
    assert!(plot.contains("<svg") && plot.contains("<text") && plot.contains("CONV1"));
    let csv = ok(&[
        "compare",
        "--hw",
        ISCA,
        "--dataflow",
        "rs,nlr",
        "--format",
        "csv",
    ]);
    let lines: Vec<&str> = csv.lines().collect();
    // Header, then 2 candidates x (8 layers + total).
    assert_eq!(lines.len(), 1 + 2 * 9);
    // The first candidate's ratios are 1.
    assert!(lines[1].ends_with(",1.0000,1.0000"), "{}", lines[1]);
    // One candidate only is an error that says what to give.
    let out = ember(&["compare", "--hw", ISCA]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("at least two candidates") && err.contains("fix: give several --hw"),
        "{err}"
    );
}

#[test]
fn sim_dataflow_flag_and_plot() {
    let dir = scratch_dir("cs-sim");
    let svg = dir.path().join("sim.svg");
    let v: Value = serde_json::from_str(&ok(&[
        "sim",
        "--hw",
        ISCA,
        "--dataflow",
        "os",
        "--format",
        "json",
        "--plot",
        s(&svg),
    ]))
    .unwrap();
    assert_eq!(v["dataflow"], "os");
    let plot = std::fs::read_to_string(&svg).unwrap();
    for word in [
        "energy by memory level",
        "energy by data type",
        "DRAM",
        "psums",
        "FC8",
    ] {
        assert!(plot.contains(word), "plot lacks {word}");
    }
    let out = ember(&["sim", "--dataflow", "xs"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nlr"));
}

/// The 1,000-point AlexNet sweep: identical bytes with 1 and 2 threads, and with 2 shards
/// merged; a run resumed from a partial file gives the same bytes again.
#[test]
fn sweep_is_deterministic_shardable_and_resumable() {
    let dir = scratch_dir("cs-sweep");
    let one = dir.path().join("one.csv");
    let two = dir.path().join("two.csv");
    let svg = dir.path().join("sweep.svg");
    ok(&[
        "sweep",
        "--space",
        SPACE,
        "--jobs",
        "1",
        "--out",
        s(&one),
        "--plot",
        s(&svg),
    ]);
    ok(&["sweep", "--space", SPACE, "--jobs", "2", "--out", s(&two)]);
    let full = std::fs::read(&one).unwrap();
    assert_eq!(full, std::fs::read(&two).unwrap(), "1 vs 2 threads");
    let text = String::from_utf8(full.clone()).unwrap();
    // Header and the 4 x 5 x 5 x 5 x 2 = 1,000 grid points of the space file.
    assert_eq!(text.lines().count(), 1001);
    let front = text.lines().filter(|l| l.ends_with(",1")).count();
    assert!((1..1000).contains(&front), "pareto rows: {front}");
    assert!(text.lines().any(|l| l.contains(",ok,")));
    assert!(std::fs::read_to_string(&svg).unwrap().contains("Pareto"));

    // Shards, merged.
    let (a, b, m) = (
        dir.path().join("a.csv"),
        dir.path().join("b.csv"),
        dir.path().join("m.csv"),
    );
    ok(&["sweep", "--space", SPACE, "--shard", "0/2", "--out", s(&a)]);
    ok(&["sweep", "--space", SPACE, "--shard", "1/2", "--out", s(&b)]);
    // Header and every other point.
    assert_eq!(std::fs::read_to_string(&a).unwrap().lines().count(), 501);
    ok(&["sweep", "--merge", s(&a), s(&b), "--out", s(&m)]);
    assert_eq!(full, std::fs::read(&m).unwrap(), "merged shards");

    // Killed halfway: keep the first 400 rows and half of the next line.
    let partial = dir.path().join("partial.csv");
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut cut: String = lines[..401].concat();
    cut += &lines[401][..lines[401].len() / 2];
    std::fs::write(&partial, cut).unwrap();
    let out = ember(&["sweep", "--space", SPACE, "--out", s(&partial)]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("400 rows kept"));
    assert_eq!(full, std::fs::read(&partial).unwrap(), "resumed");
}

/// A real kill: spawn the binary with checkpoints after every chunk, kill it, resume.
#[test]
fn sweep_killed_and_resumed_gives_the_same_bytes() {
    let dir = scratch_dir("cs-kill");
    let out = dir.path().join("k.csv");
    let reference = dir.path().join("ref.csv");
    let args = ["sweep", "--space", SPACE, "--jobs", "1"];
    let mut child = Command::new(env!("CARGO_BIN_EXE_ember"))
        .args(args)
        .args(["--out", s(&out), "--checkpoint-secs", "0"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawns");
    std::thread::sleep(std::time::Duration::from_millis(150));
    let _ = child.kill();
    let _ = child.wait();
    ok(&[&args[..], &["--out", s(&out)]].concat());
    ok(&[&args[..], &["--out", s(&reference)]].concat());
    assert_eq!(
        std::fs::read(&reference).unwrap(),
        std::fs::read(&out).unwrap()
    );
}

#[test]
fn sweep_space_errors_are_clear() {
    let dir = scratch_dir("cs-errors");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        format!(
            "base = \"{}/{ISCA}\"\n[grid]\nrowz = [4]\n",
            env!("CARGO_MANIFEST_DIR")
        ),
    )
    .unwrap();
    let out = ember(&[
        "sweep",
        "--space",
        s(&bad),
        "--out",
        s(&dir.path().join("x.csv")),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rowz") && err.contains("fix:"), "{err}");
    let out = ember(&[
        "sweep",
        "--space",
        SPACE,
        "--shard",
        "2/2",
        "--out",
        s(&dir.path().join("y.csv")),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--shard `2/2`") && err.contains("0 <= I < N") && err.contains("fix:"),
        "{err}"
    );
    assert!(!dir.path().join("y.csv").exists());
}

const L2: &str = "hw_configs/eyeriss-v1-l2.toml";

/// The five-level example runs through `sim` (analytic and cycle mode) and `compare`, its JSON
/// shows the five levels, and the L2's energy is its counts times its prices (read 18, write
/// 20, from the config), summed here from the printed counts.
#[test]
fn five_level_config_runs_and_shows_its_levels() {
    let sim = |mode: &str| -> Value {
        serde_json::from_str(&ok(&[
            "sim", "--hw", L2, "--batch", "2", "--mode", mode, "--format", "json",
        ]))
        .unwrap()
    };
    let (analytic, cycle) = (sim("analytic"), sim("cycle"));
    let total = &analytic["total"];
    let names = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    let five = ["array", "dram", "glb", "l2", "rf"]; // serde_json sorts keys
    assert_eq!(names(&total["accesses"]), five);
    assert_eq!(names(&total["energy"]["by_level"]), five);
    // Cycle mode counts the same accesses at every level, the L2 included.
    assert_eq!(total["accesses"], cycle["total"]["accesses"]);
    let l2 = &total["accesses"]["l2"];
    let (mut reads, mut writes) = (0.0, 0.0);
    for d in ["weights", "ifmaps", "psums"] {
        reads += l2[d]["reads"].as_f64().unwrap();
        writes += l2[d]["writes"].as_f64().unwrap();
    }
    assert_eq!(l2["psums"]["reads"], 0, "psums bypass the L2");
    assert!(reads > 0.0 && reads == writes);
    let e = total["energy"]["by_level"]["l2"].as_f64().unwrap();
    let want = 18.0 * reads + 20.0 * writes;
    assert!((e - want).abs() <= 1e-9 * want, "{e} vs {want}");
    let csv = ok(&["sim", "--hw", L2, "--format", "csv"]);
    assert!(csv.lines().next().unwrap().contains(",l2_weights_reads,"));
    // compare: a level one config lacks is an empty CSV cell for it.
    let cmp = ok(&[
        "compare",
        "--hw",
        "hw_configs/eyeriss-v1.toml",
        "--hw",
        L2,
        "--format",
        "csv",
    ]);
    let head: Vec<&str> = cmp.lines().next().unwrap().split(',').collect();
    let col = head
        .iter()
        .position(|&h| h == "energy_l2")
        .expect("an L2 column");
    for row in cmp.lines().skip(1) {
        let cell = row.split(',').nth(col).unwrap();
        assert_eq!(cell.is_empty(), row.starts_with("0,"), "{row}");
    }
}

/// A sweep over a five-level base (`sweeps/l2-small.toml`): its results file has an energy
/// column per level, `energy_l2` among them; a point's figures equal `ember sim --format json`
/// on that point's config written out by hand (a second method: the sim pipeline, not the
/// sweep's); the pareto column is the non-dominated set of (energy, cycles, storage) computed
/// here from the file's own numbers.
#[test]
fn sweep_over_a_five_level_base() {
    let dir = scratch_dir("cs-sweep-l2");
    let out = dir.path().join("l2.csv");
    ok(&[
        "sweep",
        "--space",
        "sweeps/l2-small.toml",
        "--jobs",
        "1",
        "--out",
        s(&out),
    ]);
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| head.iter().position(|&h| h == name).expect(name);
    let levels = ["dram", "l2", "glb", "array", "rf"];
    let level_cols: Vec<usize> = levels.iter().map(|l| col(&format!("energy_{l}"))).collect();
    assert_eq!(
        level_cols,
        (col("energy_mac") + 1..col("cycles")).collect::<Vec<_>>()
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 8);
    let num = |r: &[&str], c: &str| r[col(c)].parse::<f64>().unwrap();
    assert!(rows.iter().all(|r| r[col("status")] == "ok"));

    // Point 4 (grid order dataflow, batch, rows, glb_words; last fastest): os, 8 rows, a GLB of
    // 16384 words. The same point as a config file, run by `ember sim`.
    let p = &rows[4];
    assert_eq!(
        [p[col("dataflow")], p[col("rows")], p[col("glb_words")]],
        ["os", "8", "16384"]
    );
    let base = std::fs::read_to_string(L2).unwrap();
    assert_eq!(base.matches("rows = 12").count(), 1);
    assert_eq!(base.matches("words = 51200").count(), 1);
    let hw = dir.path().join("point4.toml");
    std::fs::write(
        &hw,
        base.replace("rows = 12", "rows = 8")
            .replace("words = 51200", "words = 16384"),
    )
    .unwrap();
    let sim: Value = serde_json::from_str(&ok(&[
        "sim",
        "--hw",
        s(&hw),
        "--dataflow",
        "os",
        "--batch",
        "1",
        "--format",
        "json",
    ]))
    .unwrap();
    let e = &sim["total"]["energy"];
    assert_eq!(e["by_level"].as_object().unwrap().len(), 5);
    for (l, &c) in levels.iter().zip(&level_cols) {
        assert_eq!(
            p[c].parse::<f64>().unwrap(),
            e["by_level"][l].as_f64().unwrap(),
            "{l}"
        );
    }
    assert!(num(p, "energy_l2") > 0.0);
    assert_eq!(num(p, "energy_total"), e["total"].as_f64().unwrap());
    assert_eq!(
        num(p, "energy_mac"),
        e["mac"].as_f64().unwrap() + e["static"].as_f64().unwrap()
    );
    assert_eq!(num(p, "cycles"), sim["total"]["cycles"].as_f64().unwrap());

    // The front: rows no other row is at least as good as in all three and better in one.
    let obj: Vec<[f64; 3]> = rows
        .iter()
        .map(|r| {
            [
                num(r, "energy_total"),
                num(r, "cycles"),
                num(r, "storage_words"),
            ]
        })
        .collect();
    let dominates = |a: &[f64; 3], b: &[f64; 3]| {
        a.iter().zip(b).all(|(x, y)| x <= y) && a.iter().zip(b).any(|(x, y)| x < y)
    };
    for (r, o) in rows.iter().zip(&obj) {
        let front = !obj.iter().any(|q| dominates(q, o));
        assert_eq!(r[col("pareto")], if front { "1" } else { "0" }, "{r:?}");
    }
    assert!(rows.iter().any(|r| r[col("pareto")] == "1"));
}

/// A results file resumes or merges only with the level columns it was written with: another
/// hierarchy's file is refused, naming the file, line 1, the columns found and expected, and a
/// fix.
#[test]
fn sweep_refuses_results_of_another_hierarchy() {
    let dir = scratch_dir("cs-sweep-levels");
    let l2 = dir.path().join("l2.csv");
    let args = |space: &str, out: &std::path::Path| {
        let out = out.to_str().unwrap().to_string();
        vec![
            "sweep".to_string(),
            "--space".into(),
            space.into(),
            "--jobs".into(),
            "1".into(),
            "--out".into(),
            out,
        ]
    };
    let run = |a: &[String]| ember(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(run(&args("sweeps/l2-small.toml", &l2)).status.success());
    let before = std::fs::read(&l2).unwrap();
    // Resume: the four-level space into the five-level file.
    let out = run(&args("sweeps/small.toml", &l2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    for want in [
        "l2.csv, line 1",
        "energy_dram,energy_l2,energy_glb,energy_array,energy_rf",
        "writes energy_dram,energy_glb,energy_array,energy_rf",
        "fix: choose another --out, or pass --force",
    ] {
        assert!(err.contains(want), "{want}: {err}");
    }
    assert_eq!(
        std::fs::read(&l2).unwrap(),
        before,
        "the file stays untouched"
    );
    // Merge: a four-level file after a five-level one.
    let four = dir.path().join("four.csv");
    let mut a = args("sweeps/small.toml", &four);
    a.extend(["--shard".into(), "0/2".into()]);
    assert!(run(&a).status.success());
    let out = ember(&[
        "sweep",
        "--merge",
        s(&l2),
        s(&four),
        "--out",
        s(&dir.path().join("m.csv")),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("four.csv, line 1")
            && err.contains("the first file given to --merge")
            && err.contains("fix: merge the shards of one sweep only"),
        "{err}"
    );
}

/// `compare --energy chip --mode cycle` gives each layer the chip energy `validate` measures its
/// power with (a second code path: estimator::validate prices the layer on its own): on the
/// chip's config and batch, every CONV layer's terms equal validate's power x time, and its
/// cycles validate's total latency.
#[test]
fn compare_chip_energy_equals_validate_power_times_time() {
    let v1 = "hw_configs/eyeriss-v1.toml";
    let scaled = "hw_configs/eyeriss-v1-scaled.toml";
    let cmp: Value = serde_json::from_str(&ok(&[
        "compare", "--hw", v1, "--hw", scaled, "--batch", "4", "--mode", "cycle", "--energy",
        "chip", "--format", "json",
    ]))
    .unwrap();
    let val: Value = serde_json::from_str(&ok(&["validate", "--format", "json"])).unwrap();
    let chip = &cmp["candidates"][0]["chip_energy_pj"]["layers"];
    let timing = &cmp["candidates"][0]["result"]["layers"];
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
    let measured = val["layers"].as_array().unwrap();
    assert_eq!(measured.len(), 5, "JSSC 2017 Table V: CONV1-5");
    for m in measured {
        let i = (0..8).find(|&i| chip[i]["name"] == m["name"]).unwrap();
        let p = &m["power"];
        // mW x ms = uJ = 1e6 pJ.
        let pj = |key: &str| p[key].as_f64().unwrap() * p["time_ms"].as_f64().unwrap() * 1e6;
        for (ours, theirs) in [
            ("access_pj", "access_mw"),
            ("clock_pj", "clock_mw"),
            ("control_pj", "control_mw"),
            ("leakage_pj", "leakage_mw"),
            ("total_pj", "total_mw"),
        ] {
            let got = chip[i][ours].as_f64().unwrap();
            assert!(
                close(got, pj(theirs)),
                "{}: {ours} {got} vs validate's {}",
                m["name"],
                pj(theirs)
            );
        }
        let cycles = timing[i]["timing"]["total_cycles"].as_f64().unwrap();
        let ms = m["metrics"]["total_latency_ms"]["simulated"]
            .as_f64()
            .unwrap();
        assert!(
            close(cycles / 200e3, ms),
            "{}: {cycles} cycles vs {ms} ms",
            m["name"]
        );
    }
}

/// Chip energy needs the absolute table and the power model: a config without them is named,
/// with the missing section and a fix.
#[test]
fn compare_chip_energy_names_a_config_without_a_power_model() {
    let out = ember(&[
        "compare",
        "--hw",
        "hw_configs/eyeriss-v1.toml",
        "--hw",
        ISCA,
        "--energy",
        "chip",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(ISCA) && err.contains("[energy_pj]") && err.contains("fix:"),
        "{err}"
    );
}
