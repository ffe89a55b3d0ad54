//! The JSON document of a whole-network run (`ember sim --format json`; the keys are documented
//! in the README). It is built as `serde_json` maps, whose keys serialise sorted: the bytes users
//! and the golden fixtures hold depend on that order, so the document is built here, once, and
//! every caller (the CLI, `compare`'s candidates, the Python package) serialises this value.

use serde_json::{json, Map, Value};

use ember_estimator::{Hardware, LayerEnergy, LayerResult, NetworkResult};
use ember_sim::cycle::CycleStats;
use ember_sim::dataflow::MappingOf;
use ember_sim::rs::RsMapping;
use ember_sim::DataType;

/// Network utilisation: MACs over (cycles x PEs x their `simd` lanes), the share of the peak
/// MAC rate (above 1 where skipped zeros let nominal MACs outrun it).
pub fn utilization(macs: u64, cycles: u64, hw: &Hardware) -> f64 {
    macs as f64 / (cycles as f64 * hw.arch.peak_macs_per_cycle() as f64)
}

/// Energy in the columns `compare`, `sweep` and the plots share: MAC (with static), then each
/// level of the config, outermost first.
pub fn energy_by_level(e: &LayerEnergy) -> Vec<f64> {
    std::iter::once(e.mac + e.leakage)
        .chain(e.levels().iter().copied())
        .collect()
}

/// The network's cycle-mode figures: the layers' summed.
pub fn sum_cycles(cycles: &[CycleStats]) -> Option<CycleStats> {
    let (first, rest) = cycles.split_first()?;
    let mut t = first.clone();
    for c in rest {
        t.add(c);
    }
    Some(t)
}

fn accesses_json(e: &LayerEnergy, hw: &Hardware) -> Value {
    let mut levels = Map::new();
    for (i, l) in hw.arch.levels.iter().enumerate() {
        let mut types = Map::new();
        for d in DataType::ALL {
            let (r, w) = e.accesses.get(i, d);
            types.insert(
                d.key().into(),
                json!({"reads": r.round() as u64, "writes": w.round() as u64}),
            );
        }
        levels.insert(l.name.clone(), Value::Object(types));
    }
    Value::Object(levels)
}

fn energy_json(e: &LayerEnergy, hw: &Hardware) -> Value {
    let mut by_level = Map::new();
    for (i, l) in hw.arch.levels.iter().enumerate() {
        by_level.insert(l.name.clone(), json!(e.level(i)));
    }
    let mut by_type = Map::new();
    for d in DataType::ALL {
        by_type.insert(d.key().into(), json!(e.data_type(d)));
    }
    json!({
        "total": e.total,
        "mac": e.mac,
        "static": e.leakage,
        "by_level": by_level,
        "by_data_type": by_type,
    })
}

/// The analytic run's document.
pub fn network_json(res: &NetworkResult, hw: &Hardware) -> Value {
    let layers: Vec<Value> = res
        .layers
        .iter()
        .map(|l| {
            let mut layer = json!({
                "name": l.layer.name,
                "macs": l.eval.macs,
                "effective_macs": l.energy.effective_macs.round() as u64,
                "active_pes": l.eval.active_pes,
                "cycles": l.eval.cycles,
                "utilization": l.eval.utilization(&hw.arch),
                "mapping": serde_json::to_value(l.eval.mapping).unwrap_or(Value::Null),
                "accesses": accesses_json(&l.energy, hw),
                "energy": energy_json(&l.energy, hw),
            });
            if let (Some(mesh), Value::Object(m)) = (mesh_json(l, hw), &mut layer) {
                m.extend(mesh);
            }
            layer
        })
        .collect();
    json!({
        "network": res.network,
        "hardware": res.hardware,
        "batch": res.batch,
        "dataflow": res.dataflow.code(),
        "units": {
            "energy": hw.energy.units.key(),
            "accesses": format!("words of {} bits", hw.arch.core.word_bits),
            "cycles": format!("core cycles at {} MHz", hw.arch.core.clock_mhz),
        },
        "layers": layers,
        "total": {
            "macs": res.macs(),
            "effective_macs": res.total.effective_macs.round() as u64,
            "cycles": res.cycles(),
            "accesses": accesses_json(&res.total, hw),
            "energy": energy_json(&res.total, hw),
        },
    })
}

/// On a hierarchical mesh, a row-stationary layer's multicast mode per data type (`noc_mode`)
/// and its hops and routers (`noc`); nothing on a bus, so those documents keep their bytes.
fn mesh_json(l: &LayerResult, hw: &Hardware) -> Option<Map<String, Value>> {
    let mp = RsMapping::of(&l.eval.mapping)?;
    let modes = ember_sim::rs::noc::modes(&l.layer, &hw.arch, mp)?;
    let noc = l.eval.counts.noc();
    let per_type = |v: [Value; 3]| -> Value {
        let mut m = Map::new();
        for (d, v) in DataType::ALL.into_iter().zip(v) {
            m.insert(d.key().into(), v);
        }
        Value::Object(m)
    };
    let mut out = Map::new();
    out.insert("noc_mode".into(), per_type(modes.map(|m| json!(m))));
    out.insert(
        "noc".into(),
        json!({
            "hops": per_type(noc.hops.map(|v| json!(v))),
            "routers": per_type(noc.routers.map(|v| json!(v))),
        }),
    );
    Some(out)
}

fn timing_json(c: &CycleStats, hw: &Hardware) -> Value {
    let ms = |x: u64| x as f64 / hw.arch.core.clock_mhz / 1e3;
    json!({
        "mode": "cycle",
        "mac_cycles": c.mac_cycles,
        "processing_cycles": c.processing_cycles,
        "total_cycles": c.total_cycles,
        "processing_latency_ms": ms(c.processing_cycles),
        "total_latency_ms": ms(c.total_cycles),
        "passes": c.passes,
        "stalls": c.stalls,
    })
}

/// The cycle-mode document: `cycles` is the total (DRAM included) and `timing` details it.
pub fn cycle_json(res: &NetworkResult, hw: &Hardware, cycles: &[CycleStats]) -> Value {
    let mut v = network_json(res, hw);
    if let Some(layers) = v["layers"].as_array_mut() {
        for (l, c) in layers.iter_mut().zip(cycles) {
            l["cycles"] = json!(c.total_cycles);
            let macs = l["macs"].as_u64().unwrap_or(0);
            l["utilization"] = json!(utilization(macs, c.total_cycles, hw));
            l["timing"] = timing_json(c, hw);
        }
    }
    if let Some(t) = sum_cycles(cycles) {
        v["total"]["cycles"] = json!(t.total_cycles);
        v["total"]["timing"] = timing_json(&t, hw);
    }
    v
}
