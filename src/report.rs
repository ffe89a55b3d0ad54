//! Rendering a `NetworkResult`: a terminal table and CSV. The JSON document is
//! `ember_explore`'s (`SimReport` serialises to it), so the CLI and other front ends share it.

use ember_estimator::{Hardware, LayerEnergy, NetworkResult, Units};
use ember_explore::{sum_cycles, utilization};
use ember_sim::DataType;

/// CSV: one row per layer plus a total row.
pub fn to_csv(res: &NetworkResult, hw: &Hardware) -> String {
    let mut head = vec![
        "layer",
        "macs",
        "effective_macs",
        "active_pes",
        "cycles",
        "utilization",
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>();
    let levels = &hw.arch.levels;
    for l in levels {
        for d in DataType::ALL {
            head.push(format!("{}_{}_reads", l.name, d.key()));
            head.push(format!("{}_{}_writes", l.name, d.key()));
        }
    }
    head.push("energy_units".into());
    head.push("energy_mac".into());
    for l in levels {
        head.push(format!("energy_{}", l.name));
    }
    for d in DataType::ALL {
        head.push(format!("energy_{}", d.key()));
    }
    head.push("energy_total".into());
    let mut out = head.join(",") + "\n";
    let units = hw.energy.units.key();
    let row = |name: &str, macs: u64, pes: String, cycles: u64, util: String, e: &LayerEnergy| {
        let mut v = vec![
            name.to_string(),
            macs.to_string(),
            format!("{}", e.effective_macs.round() as u64),
            pes,
            cycles.to_string(),
            util,
        ];
        for l in 0..levels.len() {
            for d in DataType::ALL {
                let (r, w) = e.accesses.get(l, d);
                v.push(format!("{}", r.round() as u64));
                v.push(format!("{}", w.round() as u64));
            }
        }
        v.push(units.to_string());
        v.push(format!("{}", e.mac));
        for &v_l in e.levels() {
            v.push(format!("{v_l}"));
        }
        for d in DataType::ALL {
            v.push(format!("{}", e.data_type(d)));
        }
        v.push(format!("{}", e.total));
        v.join(",") + "\n"
    };
    for l in &res.layers {
        out += &row(
            &l.layer.name,
            l.eval.macs,
            l.eval.active_pes.to_string(),
            l.eval.cycles,
            format!("{:.4}", l.eval.utilization(&hw.arch)),
            &l.energy,
        );
    }
    let util = utilization(res.macs(), res.cycles(), hw);
    out += &row(
        "total",
        res.macs(),
        String::new(),
        res.cycles(),
        format!("{util:.4}"),
        &res.total,
    );
    out
}

/// A fixed-width text table: the first column left-aligned, the others right-aligned, a rule
/// under the head and, when `total` is set, a rule above the last row (the total).
pub struct Table {
    pub head: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub total: bool,
}

impl Table {
    /// An empty table whose last row will be a total.
    pub fn with_total(head: &[&str]) -> Table {
        Table {
            head: head.iter().map(|h| h.to_string()).collect(),
            rows: vec![],
            total: true,
        }
    }

    pub fn render(&self) -> String {
        let cols = self.head.len();
        let mut width = vec![0; cols];
        for r in std::iter::once(&self.head).chain(&self.rows) {
            for (i, c) in r.iter().enumerate() {
                width[i] = width[i].max(c.chars().count());
            }
        }
        let line = |r: &Vec<String>| {
            r.iter()
                .enumerate()
                .map(|(i, c)| {
                    if i == 0 {
                        format!("{c:<w$}", w = width[i])
                    } else {
                        format!("{c:>w$}", w = width[i])
                    }
                })
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
                + "\n"
        };
        let rule = width
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  ")
            + "\n";
        let mut out = line(&self.head) + &rule;
        let n = self.rows.len();
        for (i, r) in self.rows.iter().enumerate() {
            if self.total && i + 1 == n {
                out += &rule;
            }
            out += &line(r);
        }
        out
    }
}

/// The column heads of `ember_explore::energy_by_level`: "MAC" and each level's label.
pub fn level_labels(hw: &Hardware) -> Vec<String> {
    std::iter::once("MAC".to_string())
        .chain(hw.arch.levels.iter().map(|l| l.label.clone()))
        .collect()
}

/// Energy unit label and divisor for plots and the `compare` table.
pub fn energy_unit(units: Units) -> (&'static str, f64) {
    match units {
        Units::Normalized => ("x10^6 MAC-normalised units", 1e6),
        Units::Picojoules => ("uJ", 1e6),
    }
}

fn m(x: f64) -> String {
    format!("{:.2}", x / 1e6)
}

/// The human table of `ember sim`.
pub fn to_table(res: &NetworkResult, hw: &Hardware) -> String {
    let units = hw.energy.units;
    let mut out = format!(
        "{} on {} ({}), batch {}, {}\n\n",
        res.network, res.hardware, hw.description, res.batch, res.dataflow
    );
    let labels: Vec<&str> = hw.arch.levels.iter().map(|l| l.label.as_str()).collect();
    let mut head = vec!["layer", "MACs (M)", "active PEs", "cycles (k)", "util"];
    head.extend(&labels);
    let mut t1 = Table::with_total(&head);
    let levels = 0..hw.arch.levels.len();
    let acc = |e: &LayerEnergy, l: usize| e.accesses.words(l);
    for l in &res.layers {
        let mut row = vec![
            l.layer.name.clone(),
            m(l.eval.macs as f64),
            l.eval.active_pes.to_string(),
            format!("{:.1}", l.eval.cycles as f64 / 1e3),
            format!("{:.0}%", 100.0 * l.eval.utilization(&hw.arch)),
        ];
        row.extend(levels.clone().map(|lv| m(acc(&l.energy, lv))));
        t1.rows.push(row);
    }
    let util = utilization(res.macs(), res.cycles(), hw);
    let mut row = vec![
        "total".into(),
        m(res.macs() as f64),
        String::new(),
        format!("{:.1}", res.cycles() as f64 / 1e3),
        format!("{:.0}%", 100.0 * util),
    ];
    row.extend(levels.clone().map(|lv| m(acc(&res.total, lv))));
    t1.rows.push(row);
    out += &format!(
        "Accesses (M words of {} bits, after zero gating and run-length coding: {:?} rules)\n",
        hw.arch.core.word_bits, hw.sparsity.preset
    );
    out += &t1.render();

    let scale = energy_unit(units).1;
    // Worded for the table's own header (the plots and `compare` say it shorter).
    let unit_label = match units {
        Units::Normalized => "x10^6, 1 = one 16-bit MAC",
        Units::Picojoules => "uJ",
    };
    let mut head = vec!["layer", "MAC"];
    head.extend(&labels);
    head.extend(["weights", "ifmaps", "psums", "total", "share"]);
    let mut t2 = Table::with_total(&head);
    let f = |x: f64| format!("{:.2}", x / scale);
    let energy_row = |name: &str, e: &LayerEnergy| {
        let mut row = vec![name.to_string(), f(e.mac)];
        row.extend(e.levels().iter().map(|&v| f(v)));
        row.extend(DataType::ALL.iter().map(|&d| f(e.data_type(d))));
        row.push(f(e.total));
        row.push(format!("{:.1}%", 100.0 * e.total / res.total.total));
        row
    };
    for l in &res.layers {
        t2.rows.push(energy_row(&l.layer.name, &l.energy));
    }
    t2.rows.push(energy_row("total", &res.total));
    out += &format!("\nEnergy ({unit_label})\n");
    out += &t2.render();
    out
}

// ---- cycle mode ---------------------------------------------------------------------------

use ember_sim::cycle::CycleStats;

/// `to_csv` in cycle mode: the timing columns appended.
pub fn to_csv_cycles(res: &NetworkResult, hw: &Hardware, cycles: &[CycleStats]) -> String {
    let base = to_csv(res, hw);
    let mut rows: Vec<CycleStats> = cycles.to_vec();
    rows.extend(sum_cycles(cycles));
    let mut out = String::new();
    for (i, line) in base.lines().enumerate() {
        out += line;
        if i == 0 {
            out += ",mac_cycles,processing_cycles,total_cycles,stall_configuration,stall_filter_load,stall_ifmap_bus,stall_psum_bus,stall_pipeline,stall_dram";
        } else if let Some(c) = rows.get(i - 1) {
            let s = &c.stalls;
            out += &format!(
                ",{},{},{},{},{},{},{},{},{}",
                c.mac_cycles,
                c.processing_cycles,
                c.total_cycles,
                s.configuration,
                s.filter_load,
                s.ifmap_bus,
                s.psum_bus,
                s.pipeline,
                s.dram
            );
        }
        out += "\n";
    }
    out
}

/// The timing table printed under `to_table` in cycle mode.
pub fn cycle_table(res: &NetworkResult, hw: &Hardware, cycles: &[CycleStats]) -> String {
    let mut t = Table::with_total(&[
        "layer",
        "MAC (k)",
        "processing (k)",
        "total (k)",
        "ms",
        "util",
        "config",
        "filter",
        "ifmap bus",
        "psum bus",
        "pipeline",
        "DRAM",
    ]);
    let k = |x: u64| format!("{:.1}", x as f64 / 1e3);
    let row = |name: &str, macs: u64, c: &CycleStats| {
        vec![
            name.to_string(),
            k(c.mac_cycles),
            k(c.processing_cycles),
            k(c.total_cycles),
            format!(
                "{:.2}",
                c.total_cycles as f64 / hw.arch.core.clock_mhz / 1e3
            ),
            format!("{:.0}%", 100.0 * utilization(macs, c.total_cycles, hw)),
            k(c.stalls.configuration),
            k(c.stalls.filter_load),
            k(c.stalls.ifmap_bus),
            k(c.stalls.psum_bus),
            k(c.stalls.pipeline),
            k(c.stalls.dram),
        ]
    };
    for (l, c) in res.layers.iter().zip(cycles) {
        t.rows.push(row(&l.layer.name, l.eval.macs, c));
    }
    if let Some(total) = sum_cycles(cycles) {
        t.rows.push(row("total", res.macs(), &total));
    }
    format!(
        "\nCycle mode (core cycles at {} MHz; stalls by cause, in k cycles)\n{}",
        hw.arch.core.clock_mhz,
        t.render()
    )
}
