//! The storage hierarchy as a list of levels, and energy per level x action (issue 12): the
//! `[[level]]` form describes the same hardware as the four-section shorthand; levels may be
//! renamed; reads, writes and gated accesses are priced separately, as the table says.

mod common;

use common::{config, trace};
use ember_estimator::{estimate, EnergyObjective, Hardware, LevelPrice};
use ember_sim::{DataType, Dataflow, SimError};

/// `eyeriss-v1` with its four sections written as `[[level]]` tables named `names`.
fn as_level_list(names: [&str; 4]) -> String {
    let text = std::fs::read_to_string(common::root().join("hw_configs/eyeriss-v1.toml")).unwrap();
    let mut t: toml::Table = text.parse().unwrap();
    let mut levels = Vec::new();
    for ((section, kind), name) in [
        ("dram", "dram"),
        ("glb", "buffer"),
        ("noc", "network"),
        ("pe", "pe"),
    ]
    .into_iter()
    .zip(names)
    {
        let mut level = toml::Table::new();
        level.insert("name".into(), name.into());
        level.insert("kind".into(), kind.into());
        level.extend(t.remove(section).unwrap().as_table().unwrap().clone());
        levels.push(toml::Value::Table(level));
    }
    t.insert("level".into(), toml::Value::Array(levels));
    for key in ["energy", "energy_pj"] {
        let e = t.get_mut(key).unwrap().as_table_mut().unwrap();
        for (old, new) in ["dram", "glb", "array", "rf"].into_iter().zip(names) {
            let price = e.remove(old).unwrap();
            e.insert(new.into(), price);
        }
    }
    toml::to_string(&t).unwrap()
}

fn parse(text: &str) -> Result<Hardware, SimError> {
    Hardware::parse(std::path::Path::new("levels.toml"), text)
}

/// The same four levels as a list, under the Eyeriss names: the same hardware, and every
/// count and energy of AlexNet is the same (whatever the spelling, the model is one).
#[test]
fn level_list_is_the_shorthand() {
    let short = config("eyeriss-v1.toml");
    let list = parse(&as_level_list(["dram", "glb", "array", "rf"])).expect("loads");
    let describe = |hw: &Hardware| {
        let l = &hw.arch.levels;
        (
            l.names().join(","),
            l.iter().map(|l| l.kind).collect::<Vec<_>>(),
            (hw.arch.dram, hw.arch.glb, hw.arch.noc, hw.arch.pe),
        )
    };
    assert_eq!(describe(&short), describe(&list));
    // Labels default to the name in the list form.
    assert_eq!(list.arch.levels.glb().label, "glb");
    assert_eq!(short.arch.levels.glb().label, "GLB");
    let net = trace("alexnet.toml");
    let (a, b) = (
        short.run(&net, 4, Dataflow::RowStationary).unwrap(),
        list.run(&net, 4, Dataflow::RowStationary).unwrap(),
    );
    for (x, y) in a.layers.iter().zip(&b.layers) {
        assert_eq!(x.eval, y.eval);
        assert_eq!(x.energy, y.energy);
    }
}

/// Renamed levels price and report under their own names; the numbers stay.
#[test]
fn renamed_levels_keep_their_numbers() {
    let hw = parse(&as_level_list(["offchip", "sram", "noc", "regs"])).expect("loads");
    assert_eq!(hw.arch.levels.names(), ["offchip", "sram", "noc", "regs"]);
    assert_eq!(hw.energy.levels[1].0, "sram");
    let base = config("eyeriss-v1.toml");
    let net = trace("alexnet.toml");
    let a = base.run(&net, 4, Dataflow::RowStationary).unwrap();
    let b = hw.run(&net, 4, Dataflow::RowStationary).unwrap();
    assert_eq!(a.total, b.total);
}

/// A write priced above a read, and a gated read priced at all, add exactly their count times
/// the difference: the GLB's writes (a hand-checkable count: every word written into the GLB)
/// at 1 more each, and the RF's gated weight reads (the chip gates the filter read of a MAC
/// whose ifmap is zero: RF weight reads x (1 - ifmap density)) at 0.25 each.
#[test]
fn actions_are_priced_separately() {
    let base = config("eyeriss-v1.toml");
    let mut priced = base.clone();
    let glb = base.arch.roles().glb as usize;
    let rf = base.arch.roles().rf as usize;
    let set = |lp: &mut LevelPrice, f: &dyn Fn(&mut ember_estimator::Price)| {
        f(&mut lp.weights);
        f(&mut lp.ifmaps);
        f(&mut lp.psums);
    };
    set(&mut priced.energy.levels[glb].1, &|p| p.write = 7.0);
    set(&mut priced.energy.levels[rf].1, &|p| p.gated_read = 0.25);
    let net = trace("alexnet.toml");
    for (i, l) in net.layers.iter().enumerate() {
        let r = base
            .run_layer(l, 4, Dataflow::RowStationary, i == 0)
            .unwrap();
        let (cx0, cx1) = (base.context(i == 0), priced.context(i == 0));
        let (e0, e1) = (estimate(l, &r.eval, &cx0), estimate(l, &r.eval, &cx1));
        let c = &r.eval.counts;
        let glb_writes =
            (c.glb().weights.writes + c.glb().ifmaps.writes + c.glb().psums.writes) as f64;
        let gated = c.rf().weights.reads as f64 * (1.0 - l.ifmap_density);
        let want = e0.total + glb_writes * 1.0 + gated * 0.25;
        assert!(
            (e1.total - want).abs() <= 1e-9 * want,
            "{}: {} vs {want}",
            l.name,
            e1.total
        );
        let a = e1.accesses.actions(rf, DataType::Weights);
        assert!((a.gated_reads - gated).abs() <= 1e-6 * gated.max(1.0));
        // The mapper's objective prices the same actions.
        let obj = EnergyObjective::new(l, &cx1).energy(&r.eval);
        assert!((obj - e1.total).abs() <= 1e-9 * e1.total, "{}", l.name);
    }
}

/// Every key of `[energy]` is a fixed key or a level's name, every level has a price, and a
/// price is a number or a table of actions: each rule broken is an error at its key's line.
#[test]
fn energy_table_errors_name_the_key() {
    let text = std::fs::read_to_string(common::root().join("hw_configs/eyeriss-v1.toml")).unwrap();
    let cases = [
        ("rf = 1.0\n", "", "energy.rf", "no price for level `rf`"),
        (
            "rf = 1.0\n",
            "rf = 1.0\nl2 = 3.0\n",
            "energy.l2",
            "nor a level",
        ),
        ("rf = 1.0\n", "rf = \"one\"\n", "energy.rf", "not an energy"),
        (
            "rf = 1.0\n",
            "rf = { read = 1.0, writ = 2.0 }\n",
            "energy.rf",
            "not a price table",
        ),
        (
            "rf = 1.0\n",
            "rf = { read = 1.0, write = -2.0 }\n",
            "energy.rf.write",
            "non-negative",
        ),
    ];
    for (from, to, key, rule) in cases {
        let bad = text.replacen(from, to, 1);
        let e = parse(&bad).expect_err(to).to_string();
        assert!(e.contains(&format!("key `{key}`")), "{to}: {e}");
        assert!(e.contains(rule) && e.contains("fix:"), "{to}: {e}");
        let line = bad
            .lines()
            .position(|l| l.starts_with(key.split('.').nth(1).unwrap()));
        if let Some(line) = line.filter(|_| !to.is_empty()) {
            assert!(
                e.contains(&format!("levels.toml:{}:", line + 1)),
                "{to}: {e}"
            );
        }
    }
}

/// `list` with its network level given twice (the second named `noc2`).
fn two_networks(list: &str) -> String {
    let at = list.find("name = \"array\"").unwrap();
    let start = list[..at].rfind("[[level]]").unwrap();
    let end = list[at..].find("[[level]]").map_or(list.len(), |e| at + e);
    let table = &list[start..end];
    let copy = table.replace("name = \"array\"", "name = \"noc2\"");
    format!("{}{table}{copy}{}", &list[..start], &list[end..])
}

/// The level list is checked: its kinds in order, its names unique and usable as keys, one
/// form only.
#[test]
fn level_list_errors_name_the_key() {
    let list = as_level_list(["dram", "glb", "array", "rf"]);
    let cases = [
        (
            list.replacen("kind = \"buffer\"", "kind = \"cache\"", 1),
            "level[1].kind",
            "not one of dram, staging, buffer, network, pe",
        ),
        (two_networks(&list), "level", "one `network`"),
        (
            list.replacen("name = \"glb\"", "name = \"dram\"", 1),
            "level[1].name",
            "used twice",
        ),
        (
            list.replacen("name = \"glb\"", "name = \"Big GLB\"", 1),
            "level[1].name",
            "not a short lowercase identifier",
        ),
        (
            list.replacen("name = \"glb\"", "name = \"mac\"", 1),
            "level[1].name",
            "a key of the [energy] table",
        ),
        (
            list.replacen("banks = 25", "banks = 25\nbank = 3", 1),
            "level[1].bank",
            "unknown field",
        ),
        (
            format!(
                "{list}\n[pe]\nfilter_spad_words = 1\nifmap_spad_words = 1\npsum_spad_words = 1\n"
            ),
            "level",
            "both",
        ),
    ];
    for (text, key, rule) in cases {
        let e = parse(&text).expect_err(rule).to_string();
        assert!(e.contains(&format!("key `{key}`")), "{rule}: {e}");
        assert!(e.contains(rule) && e.contains("fix:"), "{rule}: {e}");
    }
}

/// `eyeriss-v1-l2`: the five-level example (an L2 between DRAM and the GLB holding filters and
/// ifmaps; psums bypass it), on a layer small enough to count by hand: 1 channel, a 5x5 ifmap,
/// 2 filters of 3x3, batch 1, dense. Weights 2·1·3·3 = 18 words, ifmaps 5·5 = 25, ofmaps
/// 2·3·3 = 18. Everything fits on chip, so the cheapest mapping moves each word across the DRAM
/// link once: DRAM reads 18 weights and 25 ifmaps, writes 18 ofmaps (no psum read-back). The
/// L2 stages what it holds: reads = writes = 18 weights and 25 ifmaps, no psums; its energy
/// at read 18 and write 20 is (18 + 25) x (18 + 20) = 1634.
#[test]
fn staging_level_counts_by_hand() {
    let hw = config("eyeriss-v1-l2.toml");
    assert_eq!(hw.arch.levels.names(), ["dram", "l2", "glb", "array", "rf"]);
    let l = ember_sim::Layer::conv("small", 1, 5, 5, 2, 3, 3);
    let r = hw.run_layer(&l, 1, Dataflow::RowStationary, true).unwrap();
    let c = &r.eval.counts;
    let rw = |level: usize, d: DataType| {
        let v = c.get(level, d);
        (v.reads, v.writes)
    };
    let (dram, l2) = (0, 1);
    assert_eq!(rw(dram, DataType::Weights), (18, 0));
    assert_eq!(rw(dram, DataType::Ifmaps), (25, 0));
    assert_eq!(rw(dram, DataType::Psums), (0, 18));
    assert_eq!(rw(l2, DataType::Weights), (18, 18));
    assert_eq!(rw(l2, DataType::Ifmaps), (25, 25));
    assert_eq!(rw(l2, DataType::Psums), (0, 0));
    assert_eq!(r.energy.level(l2), 1634.0);
    // The other levels count what the same mapping counts on the four-level chip (a second
    // method: the four-level model, untouched by the staging level).
    let v1 = config("eyeriss-v1.toml");
    let ev4 = ember_sim::evaluate_mapping(&l, &v1.arch, 1, &r.eval.mapping).unwrap();
    for (five, four) in [(0, 0), (2, 1), (3, 2), (4, 3)] {
        assert_eq!(c.level(five), ev4.counts.level(four), "level {five}");
    }
    assert_eq!((r.eval.cycles, r.eval.macs), (ev4.cycles, ev4.macs));
}

/// Every dataflow and cycle mode count the L2 from the DRAM's dense traffic, on AlexNet: reads
/// = writes = DRAM reads + writes of weights and ifmaps, nothing for psums.
#[test]
fn staging_level_follows_the_dram_in_every_dataflow() {
    let hw = config("eyeriss-v1-l2.toml");
    let net = trace("alexnet.toml");
    for df in [
        Dataflow::RowStationary,
        Dataflow::WeightStationary,
        Dataflow::OutputStationary,
        Dataflow::NoLocalReuse,
    ] {
        for (i, l) in net.layers.iter().enumerate() {
            let c = hw.run_layer(l, 2, df, i == 0).unwrap().eval.counts;
            for d in DataType::ALL {
                let want = match d {
                    DataType::Psums => 0,
                    _ => c.get(0, d).reads + c.get(0, d).writes,
                };
                assert_eq!(c.get(1, d).reads, want, "{df:?} {} {d:?}", l.name);
                assert_eq!(c.get(1, d).writes, want, "{df:?} {} {d:?}", l.name);
            }
        }
    }
}

/// A staging level is checked: its place in the list, what it holds and its capacity; each
/// rule broken is an error at its key with a fix.
#[test]
fn staging_level_errors_name_the_key() {
    let text =
        std::fs::read_to_string(common::root().join("hw_configs/eyeriss-v1-l2.toml")).unwrap();
    let holds = "holds = [\"weights\", \"ifmaps\"]";
    let words = "words = { weights = 131072, ifmaps = 393216 }";
    let l2_table = text[text.find("[[level]]\nname = \"l2\"").unwrap()..]
        .split("\n\n")
        .next()
        .unwrap()
        .to_string();
    let cases = [
        (
            text.replacen(holds, "holds = []", 1),
            "level[1].holds",
            "`holds` is empty",
        ),
        (
            text.replacen(holds, "holds = [\"ifmaps\", \"ifmaps\"]", 1),
            "level[1].holds",
            "twice",
        ),
        (
            text.replacen(holds, "holds = [\"weights\"]", 1),
            "level[1].words",
            "which the level bypasses",
        ),
        (
            text.replacen(holds, "holds = [\"weights\", \"ifmaps\", \"psums\"]", 1),
            "level[1].words",
            "no capacity for `psums`",
        ),
        (
            text.replacen(words, "words = 0", 1),
            "level[1].words",
            "must be from 1",
        ),
        (
            text.replacen(holds, "holds = [\"outputs\"]", 1),
            "level[1]",
            "unknown variant",
        ),
        (
            // The staging level inside the global buffer.
            text.replacen(&format!("{l2_table}\n\n"), "", 1).replacen(
                "[core]",
                &format!("{l2_table}\n\n[core]"),
                1,
            ),
            "level",
            "any `staging` levels",
        ),
        (
            // Three staging levels: seven levels, more than a config may list.
            text.replacen(
                &l2_table,
                &format!(
                    "{l2_table}\n\n{}\n\n{}",
                    l2_table.replace("\"l2\"", "\"l3\""),
                    l2_table.replace("\"l2\"", "\"l4\"")
                ),
                1,
            ),
            "level",
            "at most 6",
        ),
    ];
    for (bad, key, rule) in cases {
        let e = parse(&bad).expect_err(rule).to_string();
        assert!(e.contains(&format!("key `{key}`")), "{rule}: {e}");
        assert!(e.contains(rule) && e.contains("fix:"), "{rule}: {e}");
    }
}
