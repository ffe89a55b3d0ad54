//! Cycle-level execution of a mapping of any dataflow.
//!
//! The mapping runs pass by pass in the order its dataflow gives (`DataflowModel::passes`);
//! each pass carries what it moves (its counts) and the work the engine steps, in one of two
//! timing models: a row-stationary pass (`Work::Rows`, below) or a stream of equal steps
//! (`Work::Stream`: weight-stationary, output-stationary, no-local-reuse; see `StreamPass`).
//!
//! Row-stationary (the loop order of `passes`). Inside a pass the model steps
//! core cycles: the filter bus loads the pass's filters into the spads (the ramp-up of a pass);
//! then the ifmap bus streams the strip (image by image, column by column, each column's rows of
//! every channel of every group the pass holds side by side), PEs compute one ofmap column at a
//! time in lockstep (p·q·S MACs per column on the busiest PE) once the columns they read have
//! arrived; the psums of a finished column leave over the psum output network while, after the
//! first channel chunk, the next column's psums come in over the psum input network (Eyeriss:
//! GON and psum GIN, separate 64-bit networks, JSSC 2017 §V-B), with one column of slack at the
//! array edge. The GLB's banks bound both: a bank serves one `bank_width_bits` access a cycle
//! and each bank holds one data type (§V-A), so the ifmap stream gets the ifmap banks' width and
//! psums in + out share the psum banks' width.
//! Passes with the same shape take the same cycles, so each shape is stepped once and replayed
//! (`Replay::Memo`); a test steps every pass instead and compares.
//!
//! Across passes, an event model shares the DRAM link (words per core cycle from the link
//! width and clock) between filter fetches, ifmap fetches and ofmap drains, in pass order. The
//! next pass's filters load into the filter buffer during a pass once that pass's own filters
//! are in the spads (from the pass start if the buffer holds two passes' filters). Ifmaps and
//! ofmaps overlap processing only if the hardware does that (`dram.overlap_fmaps`) and the GLB
//! can hold both tiles (double buffering); otherwise the array waits for them. Access counts
//! are added pass by pass as the passes execute.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::ControlFlow;

use serde::Serialize;

use crate::arch::{GlbPartition, HwConfig, PeSync};
use crate::counts::{AccessCounts, DataType, NestCounts, Roles};
use crate::dataflow::{Mapping, MappingOf};
use crate::masks::{column_costs, Gating, Masks};
use crate::passes::Pass;
use crate::rs::segment::{segment_cols, segment_of, segment_rows};
use crate::rs::{GlbNeed, RsMapping};
use crate::sparse_pe::{spread, SparsePe};
use crate::tiles::Tiles;
use crate::workload::Layer;

/// One pass as a dataflow hands it to the engine: what it moves and what is stepped. A
/// row-stationary pass is borrowed from the walk (the edp search builds millions of them,
/// and copying one was a fifth of its time).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CyclePass<'a> {
    /// Every access of the pass (the walk's share of it).
    pub counts: NestCounts,
    pub work: Work<'a>,
}

/// The timing model of a pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Work<'a> {
    /// A row-stationary pass: filter load, then ifmap columns streamed and psum columns moved.
    Rows {
        pass: &'a Pass,
        mapping: &'a RsMapping,
    },
    /// A pass that preloads stationary data and then consumes a stream of equal steps.
    Stream(StreamPass),
}

/// A pass of equal steps (weight-stationary, output-stationary, no-local-reuse). First the
/// stationary data (`preload`) crosses the filter bus into the PEs; then each step needs its
/// words on the filter, ifmap and psum-in networks before it starts, takes `step_macs` MAC
/// cycles on the busiest PE, and sends `step_out` words over the psum output network when it
/// finishes; `drain` words leave over the psum output network after the last step. As in a
/// row-stationary pass, the input buses stream ahead of the PEs, and one step's outputs may
/// wait at the array edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamPass {
    pub preload: u64,
    pub steps: u64,
    pub step_macs: u64,
    /// Words per step in over the filter, ifmap and psum-in networks.
    pub step_in: [u64; 3],
    pub step_out: u64,
    pub drain: u64,
}

/// A mapping's GLB tiles and the buffers that hold them (`DataflowModel::buffers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffers {
    /// Words of one pass's filters, one ifmap tile and one psum tile.
    pub need: GlbNeed,
    /// The GLB (ifmaps and psums, and filters when `filter_words` is 0).
    pub glb_words: u64,
    /// A separate filter buffer (0: none).
    pub filter_words: u64,
    /// The GLB's per-type shares (`[glb] partition`), for row stationary on the config's own
    /// GLB; `None`: ifmaps and psums share `glb_words`.
    pub partition: Option<GlbPartition>,
}

/// What the caller knows about zeros and compression (the estimator's sparsity rules).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CycleParams {
    /// DRAM words moved per dense word for weights, ifmaps and ofmaps (run-length coding).
    pub dram_scale: [f64; 3],
    /// Fraction of MAC cycles spent when the hardware skips gated MACs (1 = it does not).
    /// With `sparse_pe`, a floor on the share any pass spends (`SparsePe::floor_fraction`):
    /// the latency bounds' MAC term, and a stream pass's time.
    pub mac_cycle_fraction: f64,
    /// The sparse PE (compressed sparse columns, zeros skipped): a row-stationary pass's
    /// columns take its busiest PE's expected cycles from the densities (`sparse_pe`).
    pub sparse_pe: Option<SparsePe>,
}

impl Default for CycleParams {
    fn default() -> Self {
        CycleParams {
            dram_scale: [1.0; 3],
            mac_cycle_fraction: 1.0,
            sparse_pe: None,
        }
    }
}

/// Cycles lost, by cause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stalls {
    /// Shifting the layer's configuration into the scan chain, before anything else.
    pub configuration: u64,
    /// Loading a pass's filters over the filter bus (the spads hold one pass's filters).
    pub filter_load: u64,
    /// PEs waiting for ifmap columns on the ifmap bus.
    pub ifmap_bus: u64,
    /// PEs waiting for psums: the next column's psums in, or the last column's psums out
    /// (psum networks or the GLB's psum banks).
    pub psum_bus: u64,
    /// Filling and draining the PE pipeline.
    pub pipeline: u64,
    /// Waiting for the DRAM link (not hidden behind processing).
    pub dram: u64,
}

impl Stalls {
    pub fn add(&mut self, o: &Stalls) {
        self.configuration += o.configuration;
        self.filter_load += o.filter_load;
        self.ifmap_bus += o.ifmap_bus;
        self.psum_bus += o.psum_bus;
        self.pipeline += o.pipeline;
        self.dram += o.dram;
    }
}

/// One layer in cycle mode.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CycleStats {
    /// MAC cycles of the busiest PE, summed over passes (the analytic `cycles`, scaled when
    /// zeros are skipped).
    pub mac_cycles: u64,
    /// On-chip time: configuration, filter loads and processing, DRAM assumed hidden.
    pub processing_cycles: u64,
    /// Including DRAM waits.
    pub total_cycles: u64,
    pub stalls: Stalls,
    pub passes: u64,
    /// Every access, counted pass by pass as it happens.
    pub counts: AccessCounts,
    /// Dense words over the DRAM link after `dram_scale`, for the bandwidth bound.
    pub dram_words: f64,
}

impl CycleStats {
    /// Accumulate another layer's stats (network totals).
    pub fn add(&mut self, o: &CycleStats) {
        self.mac_cycles += o.mac_cycles;
        self.processing_cycles += o.processing_cycles;
        self.total_cycles += o.total_cycles;
        self.stalls.add(&o.stalls);
        self.passes += o.passes;
        self.counts += o.counts;
        self.dram_words += o.dram_words;
    }
}

/// One pass as executed, for `--trace`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PassRecord {
    pub pass: u64,
    pub start: u64,
    pub end: u64,
    pub filter_load: u64,
    pub ifmap_bus: u64,
    pub psum_bus: u64,
    pub pipeline: u64,
    pub dram_wait: u64,
    pub glb_words: u64,
    pub dram_words: f64,
}

/// How passes of the same shape are timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Step each distinct pass shape once, replay it for the others.
    Memo,
    /// Step every cycle of every pass.
    StepAll,
}

/// The on-chip timing of one pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct PassTime {
    cycles: u64,
    mac: u64,
    stalls: Stalls,
}

/// Everything the stepping of a pass depends on. The strip's position enters only through the
/// ifmap rows its segment reads, so the strips between the padded edges share one shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Shape {
    /// Channel groups side by side (`RsMapping::u`): the buses carry each one's words.
    groups: usize,
    n: usize,
    e: usize,
    /// Ifmap rows the segment reads (`segment_rows`).
    rows: u64,
    m: usize,
    c: usize,
    /// The busiest PE's MAC steps per ifmap: its filters over the `simd` lanes, rounded up.
    p_steps: usize,
    p_max: usize,
    q_max: usize,
    /// PEs at work: the sparse PE's busiest is the most of this many.
    pes: usize,
    reload: bool,
    /// The filter segment: first row, rows, first column, columns.
    seg: [usize; 4],
}

fn shape(l: &Layer, p: &Pass, simd: usize) -> Shape {
    Shape {
        groups: p.groups,
        n: p.n,
        e: p.e,
        rows: segment_rows(l, p.e0, p.e, p.r0, p.rk),
        m: p.m,
        c: p.c,
        p_steps: p.p_max.div_ceil(simd),
        p_max: p.p_max,
        q_max: p.q_max,
        pes: p.groups * p.t_used * p.r_used * p.rk * p.e,
        reload: p.reload,
        seg: [p.r0, p.rk, p.s0, p.sk],
    }
}

/// Bits per core cycle each path into and out of the array can move during one mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ports {
    filter: u64,
    ifmap: u64,
    psum_in: u64,
    psum_out: u64,
    /// The psum banks of the GLB, shared by psums in and out.
    psum_glb: u64,
}

impl Ports {
    /// The network's widths for `mp` (the buses', or a mesh's, `DataflowModel::delivery_bits`).
    /// On a bus they are capped by the GLB banks the mapping's tiles occupy (at least one
    /// each). On a mesh the GLB is clustered, a cluster of banks beside each cluster of PEs,
    /// and "each GLB bank or off-chip data I/O can deliver data independently to the PEs in
    /// the cluster" (JETCAS 2019 p. 297): a pass's tiles sit in the GLB clusters of the PE
    /// clusters that use them, so its banks feed its routers at their ports' width, and the
    /// delivery width is the cap. A data type the GLB does not hold is fed by the DRAM link
    /// instead (v2's weights).
    fn new(l: &Layer, hw: &HwConfig, mp: &Mapping, buf: &Buffers) -> Ports {
        let need = &buf.need;
        let width = hw.glb.bank_width_bits as u64;
        let bank_words = (buf.glb_words / hw.glb.banks.max(1) as u64).max(1);
        let banks = |words: u64| words.div_ceil(bank_words).clamp(1, hw.glb.banks as u64);
        let psum_glb = banks(need.psums) * width;
        let Some([weights, ifmaps, psums]) = mp.model().delivery_bits(l, hw, mp) else {
            return Ports {
                filter: hw.noc.filter_bus_bits as u64,
                ifmap: (hw.noc.ifmap_bus_bits as u64).min(banks(need.ifmaps) * width),
                psum_in: hw.noc.psum_bus_bits as u64,
                psum_out: hw.noc.psum_out_bits() as u64,
                psum_glb,
            };
        };
        let link = ((hw.dram_words_per_cycle() * hw.core.word_bits as f64) as u64).max(1);
        let roles = hw.roles();
        let fed = |bits: u64, d: DataType, glb: u64| match roles.glb_holds(d) {
            true => bits.min(glb),
            false => bits.min(link),
        };
        Ports {
            filter: fed(weights, DataType::Weights, u64::MAX),
            ifmap: fed(ifmaps, DataType::Ifmaps, u64::MAX),
            psum_in: psums,
            psum_out: psums,
            psum_glb: psums,
        }
    }
}

/// The widths cycle mode runs `mp` with, bits per core cycle: filters, ifmaps, psums in and
/// out of the array (before the psum banks, which cap psums in and out together).
pub fn delivery_widths(l: &Layer, hw: &HwConfig, batch: usize, mp: &Mapping) -> Option<[u64; 4]> {
    let buf = mp.model().buffers(l, hw, batch, mp).ok()?;
    let p = Ports::new(l, hw, mp, &buf);
    Some([p.filter, p.ifmap, p.psum_in, p.psum_out])
}

/// Step one stream pass cycle by cycle (see `StreamPass`); each step costs `step_cost` MAC
/// cycles on the busiest PE.
fn step_stream(hw: &HwConfig, ports: &Ports, s: &StreamPass, step_cost: u64) -> PassTime {
    let wb = hw.core.word_bits as u64;
    let mut t = PassTime::default();
    // Stationary data into the PEs before any MAC, as a row-stationary pass loads its filters.
    let preload = (s.preload * wb).div_ceil(ports.filter);
    t.cycles += preload;
    t.stalls.filter_load += preload;
    let need = s.step_in.map(|w| w * wb);
    let total = need.map(|b| b * s.steps);
    let step_out = s.step_out * wb;
    let psum_port = ports.psum_out.min(ports.psum_glb);
    let (mut have, mut started, mut done, mut busy, mut out_bits) = ([0u64; 3], 0, 0, 0u64, 0);
    // Each cycle the PEs act on what arrived in earlier cycles; then the networks move data.
    while done < s.steps || out_bits > 0 {
        t.cycles += 1;
        let mut produced = 0;
        if busy > 0 {
            busy -= 1;
            t.mac += 1;
        } else if started < s.steps {
            let want = |i: usize| (started + 1) * need[i];
            if have[0] < want(0) {
                t.stalls.filter_load += 1;
            } else if have[1] < want(1) {
                t.stalls.ifmap_bus += 1;
            } else if have[2] < want(2) || out_bits > step_out {
                t.stalls.psum_bus += 1;
            } else {
                // Start the step; this cycle is its first MAC.
                started += 1;
                t.mac += 1;
                busy = step_cost.max(1) - 1;
            }
        } else {
            // Every step done: the last step's outputs leaving over the psum network.
            t.stalls.psum_bus += 1;
        }
        if busy == 0 && started > done {
            done += 1;
            produced = step_out;
        }
        have[0] = (have[0] + ports.filter).min(total[0]);
        have[1] = (have[1] + ports.ifmap).min(total[1]);
        // Finished psums leave first; the next step's come in with what the psum banks have
        // left this cycle (one step ahead at most: the array edge holds one).
        let out = out_bits.min(psum_port);
        out_bits -= out;
        let budget = ports.psum_in.min(ports.psum_glb - out);
        have[2] = (have[2] + budget).min((started + 1).min(s.steps) * need[2]);
        out_bits += produced;
    }
    // Finished outputs leave after the last step (output-stationary).
    let drain = (s.drain * wb).div_ceil(psum_port);
    t.cycles += drain;
    t.stalls.psum_bus += drain;
    fill_pipeline(hw, &mut t);
    t
}

/// Filter load: the pass's filters (`bits`) over the filter bus into the spads, before any
/// MAC (the PEs' input FIFOs are not modelled, so nothing else moves meanwhile).
fn load_filters(t: &mut PassTime, bits: u64, port: u64) {
    let mut moved = 0;
    while moved < bits {
        moved += port;
        t.cycles += 1;
        t.stalls.filter_load += 1;
    }
}

/// The PE pipeline drains after a pass's last MAC: its stages less one more cycles.
fn fill_pipeline(hw: &HwConfig, t: &mut PassTime) {
    let fill = hw.pe.pipeline_stages.saturating_sub(1) as u64;
    t.cycles += fill;
    t.stalls.pipeline += fill;
}

/// Step one pass cycle by cycle; `col_cost(i)` is the MAC cycles of the pass's `i`-th ofmap
/// column (image-major).
fn step_pass(
    l: &Layer,
    hw: &HwConfig,
    ports: &Ports,
    s: &Shape,
    col_cost: &dyn Fn(u64) -> u64,
) -> PassTime {
    let wb = hw.core.word_bits as u64;
    let [_, rk, s0, sk] = s.seg;
    let mut t = PassTime::default();
    // The pass's groups compute in parallel, but each brings its own words over the buses.
    let g = s.groups;
    load_filters(&mut t, (g * s.m * s.c * rk * sk) as u64 * wb, ports.filter);
    // Streaming: the segment's ifmap columns arrive, PEs compute column after column, psums
    // move.
    let rows = s.rows;
    let cols = segment_cols(l, s0, sk);
    let first_col = s0.saturating_sub(l.pad); // the first real column the segment reads
    let col_words = (g * s.c) as u64 * rows; // one real ifmap column of the strip
    let total_ifmap_bits = s.n as u64 * cols * col_words * wb;
    let columns = (s.n * l.f()) as u64;
    let psum_col_bits = (g * s.m * s.e) as u64 * wb;
    let (mut ifmap_bits, mut started, mut done, mut busy) = (0u64, 0u64, 0u64, 0u64);
    let mut out_bits = 0u64; // psums of finished columns still to leave
    let mut in_bits = 0u64; // psums of the next column already in
                            // Columns of image `i` needed before ofmap column `x` can start.
    let need_bits = |col: u64| {
        let (img, x) = (col / l.f() as u64, (col % l.f() as u64) as usize);
        let last = (x * l.stride + s0 + sk).saturating_sub(l.pad).min(l.w);
        let within = (last.saturating_sub(first_col) as u64).min(cols);
        (img * cols + within) * col_words * wb
    };
    // Each cycle the PEs act on what arrived in earlier cycles; then the buses move data that
    // existed at the start of the cycle.
    while done < columns || out_bits > 0 {
        t.cycles += 1;
        let mut produced = 0;
        if busy > 0 {
            busy -= 1;
            t.mac += 1;
            if busy == 0 {
                done += 1;
                produced = psum_col_bits;
            }
        } else if started < columns {
            if ifmap_bits < need_bits(started) {
                t.stalls.ifmap_bus += 1;
            } else if (s.reload && in_bits < psum_col_bits) || out_bits > psum_col_bits {
                t.stalls.psum_bus += 1;
            } else {
                // Start the column; this cycle is its first MAC.
                started += 1;
                in_bits = 0;
                t.mac += 1;
                busy = col_cost(started - 1).max(1) - 1;
                if busy == 0 {
                    done += 1;
                    produced = psum_col_bits;
                }
            }
        } else {
            // Every column done: the last column's psums leaving over the psum network.
            t.stalls.psum_bus += 1;
        }
        if ifmap_bits < total_ifmap_bits {
            ifmap_bits = (ifmap_bits + ports.ifmap).min(total_ifmap_bits);
        }
        // Finished psums leave first; the next column's come in with what the psum banks have
        // left this cycle.
        let out = out_bits.min(ports.psum_out).min(ports.psum_glb);
        out_bits -= out;
        if s.reload && started < columns && in_bits < psum_col_bits {
            let budget = ports.psum_in.min(ports.psum_glb - out);
            in_bits = (in_bits + budget).min(psum_col_bits);
        }
        out_bits += produced;
    }
    fill_pipeline(hw, &mut t);
    t
}

/// Words of a pass (its `counts`) that cross the DRAM link after compression: (filters and
/// ifmaps fetched before it, ofmaps drained after it).
/// A pass's counts as the config's levels see them: a data type the global buffer does not hold
/// crosses the DRAM link each time the array takes it, and final ofmaps sent straight to DRAM
/// leave the buffer's psums (`counts::AccessCounts::place`). The link and the bounds read these,
/// as `Load::whole` reads a mapping's placed counts, so a pass's share and the whole agree.
fn routed(hw: &HwConfig, counts: &NestCounts) -> NestCounts {
    *AccessCounts::place(counts, hw.roles()).nest()
}

fn dram_words(scale: &[f64; 3], counts: &NestCounts) -> (f64, f64, f64) {
    (
        counts.dram.weights.reads as f64 * scale[0],
        counts.dram.ifmaps.reads as f64 * scale[1],
        counts.dram.psums.writes as f64 * scale[2],
    )
}

/// Run `mp` on `l` for `batch` images, cycle by cycle.
pub fn simulate(
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    mp: &Mapping,
    params: &CycleParams,
    replay: Replay,
    trace: Option<&mut dyn FnMut(&PassRecord)>,
) -> CycleStats {
    run(l, hw, batch, mp, params, None, replay, trace)
}

/// Run `mp` on `l` with the zeros of real data: when the hardware skips gated MACs
/// (`pe.skip_zero_cycles`), each ofmap column takes the MACs its busiest PE really performs
/// (`masks` module). Passes differ, so every pass is stepped. The masks must have the lengths
/// `Masks::expected_len` gives. Only row-stationary passes are costed from the masks (per
/// column, busiest PE); a stream pass (WS, OS, NLR) takes its dense MAC cycles scaled by
/// `params.mac_cycle_fraction`, the density model of unmasked cycle mode.
#[allow(clippy::too_many_arguments)]
pub fn simulate_masked(
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    mp: &Mapping,
    params: &CycleParams,
    masks: &Masks,
    gating: Gating,
    trace: Option<&mut dyn FnMut(&PassRecord)>,
) -> CycleStats {
    let (ni, nw) = Masks::expected_len(l, batch);
    assert!(
        masks.ifmaps.as_ref().is_none_or(|v| v.len() == ni)
            && masks.weights.as_ref().is_none_or(|v| v.len() == nw),
        "mask lengths do not match layer {} at batch {batch}",
        l.name
    );
    let zeros = (masks, gating);
    run(
        l,
        hw,
        batch,
        mp,
        params,
        Some(zeros),
        Replay::StepAll,
        trace,
    )
}

/// What the memo keys a pass's timing on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Rows(Shape),
    Stream(StreamPass),
}

/// The timings of the pass shapes one run has met (`Replay::Memo`). Looking a shape up once
/// per pass is most of what timing a mapping costs (the edp search times hundreds of mappings
/// of up to 10^5 passes each), so consecutive passes of one shape, the usual case, compare
/// with the last shape only, and the map hashes with FxHash's multiply-rotate instead of
/// SipHash (its keys are the model's own: nothing to defend against).
#[derive(Default)]
struct Memo {
    last: Option<(Key, PassTime)>,
    map: HashMap<Key, PassTime, BuildHasherDefault<Fx>>,
}

impl Memo {
    fn get_or(&mut self, key: Key, step: impl FnOnce() -> PassTime) -> PassTime {
        if let Some((k, t)) = &self.last {
            if *k == key {
                return *t;
            }
        }
        let t = *self.map.entry(key).or_insert_with(step);
        self.last = Some((key, t));
        t
    }
}

/// FxHash (rustc's hasher): one rotate, xor and multiply per word.
#[derive(Default)]
struct Fx(u64);

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..c.len()].copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
    fn write_u8(&mut self, x: u8) {
        self.write_u64(x.into());
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }
}

/// The on-chip timing of one pass: stepped, or replayed from an equal pass (`Replay::Memo`).
#[allow(clippy::too_many_arguments)]
fn pass_time(
    l: &Layer,
    hw: &HwConfig,
    ports: &Ports,
    p: &CyclePass,
    params: &CycleParams,
    zeros: Option<(&Masks, Gating)>,
    replay: Replay,
    memo: &mut Memo,
) -> PassTime {
    // Only when a pass is stepped: most are replayed, and `ceil` is a libm call.
    let scale = |macs: u64| (macs as f64 * params.mac_cycle_fraction).ceil() as u64;
    match p.work {
        Work::Rows { pass, mapping } => {
            let key = shape(l, pass, hw.pe.simd);
            let unmasked = |key: &Shape| match params.sparse_pe {
                Some(sp) => {
                    let (n, simd, columns) = (key.q_max * pass.sk, hw.pe.simd, key.n * l.f());
                    let mean = match hw.pe.sync {
                        PeSync::Column => sp.busiest_column(n, key.p_max, simd, key.pes),
                        PeSync::Pass => {
                            let total = sp.busiest_pass(n, columns, key.p_max, simd, key.pes);
                            total / columns.max(1) as f64
                        }
                    };
                    step_pass(l, hw, ports, key, &|i| spread(mean, i))
                }
                None => {
                    let dense = scale((key.p_steps * key.q_max * pass.sk) as u64);
                    step_pass(l, hw, ports, key, &|_| dense)
                }
            };
            match (zeros, replay) {
                (Some((m, g)), _) if hw.pe.skip_zero_cycles => {
                    let pe = (hw.pe.simd, hw.pe.sync);
                    let costs = column_costs(l, mapping, pass, (m, g), pe);
                    step_pass(l, hw, ports, &key, &|i| costs[i as usize])
                }
                (_, Replay::Memo) => memo.get_or(Key::Rows(key), || unmasked(&key)),
                (_, Replay::StepAll) => unmasked(&key),
            }
        }
        Work::Stream(sp) => match replay {
            Replay::Memo => memo.get_or(Key::Stream(sp), || {
                step_stream(hw, ports, &sp, scale(sp.step_macs))
            }),
            Replay::StepAll => step_stream(hw, ports, &sp, scale(sp.step_macs)),
        },
    }
}

/// Whether the next pass's filters can land in the buffer while this pass runs.
#[derive(Clone, Copy, PartialEq)]
enum FilterBuffer {
    /// Two passes' worth: from the start of the pass.
    Double,
    /// One: once the pass's own filters have moved into the spads.
    Single,
    /// Less: not before the pass ends (they stream through).
    None,
}

/// Buffering: can the next tile land while this one is in use?
#[derive(Clone, Copy)]
struct Buffering {
    filters: FilterBuffer,
    /// Ifmap tiles, psum tiles double-buffered (only when the config overlaps DRAM traffic
    /// with processing).
    ifmaps: bool,
    psums: bool,
}

impl Buffering {
    /// From a mapping's tiles: filters take a separate filter buffer, or their share of the
    /// GLB first; ifmaps and psums double-buffer in what is left.
    fn new(hw: &HwConfig, buf: &Buffers) -> Buffering {
        let need = buf.need;
        let (glb, fbuf) = (buf.glb_words, buf.filter_words);
        let (filters, fmap_glb) = if fbuf > 0 {
            let fb = if 2 * need.filters <= fbuf {
                FilterBuffer::Double
            } else if need.filters <= fbuf {
                FilterBuffer::Single
            } else {
                FilterBuffer::None
            };
            (fb, glb)
        } else if 2 * need.filters <= glb {
            (FilterBuffer::Double, glb - 2 * need.filters)
        } else {
            (FilterBuffer::None, glb.saturating_sub(need.filters))
        };
        // A data type the GLB does not hold has no buffer to land in ahead of its pass: weights
        // stream from the DRAM link into the spads (no filter prefetch; the pass's filter load
        // waits on the link), ifmaps likewise (Eyeriss v2, JETCAS 2019 p. 296).
        let roles = hw.roles();
        let filters = match roles.glb_holds(DataType::Weights) {
            true => filters,
            false => FilterBuffer::None,
        };
        let overlap = hw.dram.overlap_fmaps;
        // Two tiles of one type beside one of the other, within the shares if partitioned.
        let fit = |ifmaps: u64, psums: u64| {
            ifmaps + psums <= fmap_glb && buf.partition.is_none_or(|p| p.admits(ifmaps, psums))
        };
        Buffering {
            filters,
            ifmaps: overlap
                && roles.glb_holds(DataType::Ifmaps)
                && fit(2 * need.ifmaps, need.psums),
            psums: overlap && fit(need.ifmaps, 2 * need.psums),
        }
    }
}

/// The DRAM link and the chip as two resources, with event times in core cycles (f64: the
/// link moves a fractional number of words a cycle).
struct Timeline {
    /// DRAM words per core cycle.
    link: f64,
    link_free: f64,
    chip_free: f64,
    /// When the buffers may take the next pass's filters / ifmaps.
    filter_open: f64,
    ifmap_open: f64,
}

/// When one pass ran: the chip was free at `ready`, the pass ran from `start` to `end`.
struct Slot {
    ready: f64,
    start: f64,
    end: f64,
}

impl Timeline {
    /// Everything starts after the layer is configured (`config` cycles).
    fn new(link: f64, config: f64) -> Timeline {
        Timeline {
            link,
            link_free: config,
            chip_free: config,
            filter_open: config,
            ifmap_open: config,
        }
    }

    /// Place the next pass: its `filters` and `ifmaps` DRAM words come in before it runs for
    /// `time`, its `drain` words leave after it.
    fn place(
        &mut self,
        b: &Buffering,
        (filters, ifmaps, drain): (f64, f64, f64),
        time: &PassTime,
    ) -> Slot {
        let link = self.link;
        // The link serves requests in pass order: this pass's filters, then its ifmaps.
        let f_start = self.link_free.max(self.filter_open);
        let f_end = f_start + filters / link;
        let i_start = if ifmaps > 0.0 {
            f_end.max(self.ifmap_open)
        } else {
            f_end
        };
        let in_end = i_start + ifmaps / link;
        let ready = self.chip_free;
        let start = self.chip_free.max(in_end);
        let end = start + time.cycles as f64;
        self.chip_free = end;
        self.link_free = in_end;
        self.filter_open = match b.filters {
            FilterBuffer::Double => start,
            FilterBuffer::Single => start + time.stalls.filter_load as f64,
            FilterBuffer::None => end,
        };
        self.ifmap_open = if b.ifmaps { start } else { end };
        if drain > 0.0 {
            let out_start = self.link_free.max(end);
            self.link_free = out_start + drain / link;
            if !b.psums {
                // The array waits for the drain; later fetches queue behind it on the link.
                self.chip_free = self.link_free;
            }
        }
        Slot { ready, start, end }
    }
}

/// The trace record of pass `index`.
fn pass_record(
    index: u64,
    slot: &Slot,
    time: &PassTime,
    delta: &NestCounts,
    dram_words: f64,
) -> PassRecord {
    PassRecord {
        pass: index,
        start: slot.start.ceil() as u64,
        end: slot.end.ceil() as u64,
        filter_load: time.stalls.filter_load,
        ifmap_bus: time.stalls.ifmap_bus,
        psum_bus: time.stalls.psum_bus,
        pipeline: time.stalls.pipeline,
        dram_wait: (slot.start - slot.ready).ceil() as u64,
        glb_words: delta.glb.weights.total() + delta.glb.ifmaps.total() + delta.glb.psums.total(),
        dram_words,
    }
}

/// The passes of `mp` in loop order, each timed on chip (`pass_time`) and placed on the
/// timeline shared with the DRAM link.
#[allow(clippy::too_many_arguments)]
fn run(
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    mp: &Mapping,
    params: &CycleParams,
    zeros: Option<(&Masks, Gating)>,
    replay: Replay,
    mut trace: Option<&mut dyn FnMut(&PassRecord)>,
) -> CycleStats {
    let mut memo = Memo::default();
    let mut counts = NestCounts::default();
    let mut stats = CycleStats {
        mac_cycles: 0,
        processing_cycles: 0,
        total_cycles: 0,
        stalls: Stalls::default(),
        passes: 0,
        counts: AccessCounts::zero(hw.roles()),
        dram_words: 0.0,
    };
    let model = mp.model();
    let buf = model
        .buffers(l, hw, batch, mp)
        .expect("a mapping's own dataflow accepts it");
    let ports = Ports::new(l, hw, mp, &buf);
    let buffering = Buffering::new(hw, &buf);
    // The layer is configured first; then tiles load ("then, the accelerator loads tiles",
    // JSSC 2017 §III-B).
    let config = hw.core.scan_chain_bits as f64;
    stats.stalls.configuration = hw.core.scan_chain_bits as u64;
    stats.processing_cycles = stats.stalls.configuration;
    let mut timeline = Timeline::new(hw.dram_words_per_cycle(), config);
    let mut index = 0u64;
    let mut each = |p: &CyclePass| {
        counts += p.counts;
        // What the pass moves where the config's buffer routes it (`counts::AccessCounts::place`).
        let delta = routed(hw, &p.counts);
        let time = pass_time(l, hw, &ports, p, params, zeros, replay, &mut memo);
        let words = dram_words(&params.dram_scale, &delta);
        let slot = timeline.place(&buffering, words, &time);
        let (filters, ifmaps, drain) = words;
        let inputs = filters + ifmaps;
        stats.mac_cycles += time.mac;
        stats.processing_cycles += time.cycles;
        stats.stalls.add(&time.stalls);
        stats.dram_words += inputs + drain;
        if let Some(f) = trace.as_deref_mut() {
            f(&pass_record(index, &slot, &time, &delta, inputs + drain));
        }
        index += 1;
        ControlFlow::Continue(())
    };
    model
        .passes(l, hw, batch, mp, &mut each)
        .expect("a mapping's own dataflow accepts it");
    stats.passes = index;
    let (chip_free, link_free) = (timeline.chip_free, timeline.link_free);
    stats.total_cycles = (chip_free.max(link_free)).ceil() as u64;
    stats.stalls.dram = stats.total_cycles.saturating_sub(stats.processing_cycles);
    stats.counts = AccessCounts::place(&counts, hw.roles());
    stats
}

/// `simulate`'s `total_cycles` for `ev` (unmasked, `Replay::Memo`), or `None` as soon as a lower
/// bound `b` on them has `over(b)` (`over` must stay true for any larger `b`). The edp search
/// times a candidate only to compare it with the best so far, and most candidates it times
/// lose: this stops them once they cannot win (`Remaining`). The passes are placed on the
/// timeline exactly as `simulate` places them, so a run that ends gives its total.
pub fn total_cycles_within(
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    ev: &crate::Evaluation,
    params: &CycleParams,
    over: &dyn Fn(u64) -> bool,
) -> Option<u64> {
    let (mp, model) = (&ev.mapping, ev.mapping.model());
    let buf = model
        .buffers(l, hw, batch, mp)
        .expect("a mapping's own dataflow accepts it");
    let ports = Ports::new(l, hw, mp, &buf);
    let buffering = Buffering::new(hw, &buf);
    let mut timeline = Timeline::new(hw.dram_words_per_cycle(), hw.core.scan_chain_bits as f64);
    let mut memo = Memo::default();
    let mut rest = Remaining {
        load: Load::whole(ev, params),
        rates: Rates::new(l, hw, params, mp, Some(&ports)),
        buffering,
    };
    let mut stopped = false;
    let mut each = |p: &CyclePass| {
        let time = pass_time(l, hw, &ports, p, params, None, Replay::Memo, &mut memo);
        let delta = routed(hw, &p.counts);
        timeline.place(&buffering, dram_words(&params.dram_scale, &delta), &time);
        rest.ran(&time, &delta, hw.roles());
        stopped = over(rest.bound(&timeline));
        if stopped {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    model
        .passes(l, hw, batch, mp, &mut each)
        .expect("a mapping's own dataflow accepts it");
    (!stopped).then(|| (timeline.chip_free.max(timeline.link_free)).ceil() as u64)
}

/// What a mapping still has to do after some of its passes, for `total_cycles_within`: the
/// work of the passes not yet run, counted down pass by pass. Each pass adds at least its own
/// share of `latency_lower_bound`'s chip terms to when the chip is next free (the argument
/// there holds pass by pass, so from any pass on), and the link moves the remaining DRAM words
/// after it is next free (transfers do not overlap on the link).
struct Remaining {
    load: Load,
    rates: Rates,
    buffering: Buffering,
}

impl Remaining {
    fn ran(&mut self, time: &PassTime, c: &NestCounts, roles: Roles) {
        self.load.less(&Load::of(c, roles, time.mac as f64));
    }

    /// A lower bound on the total cycles. The timeline sums pass by pass in f64 and the MAC
    /// remainder is a difference of f64 sums; a relative margin of 1e-6 covers their rounding
    /// (at most ~1e-16 per pass) for any mapping of fewer than 10^9 passes.
    fn bound(&self, t: &Timeline) -> u64 {
        let (r, load) = (&self.rates, &self.load);
        let chip = t.chip_free + r.on_chip(load) + r.serial(&self.buffering, load);
        let link = t.link_free + r.dram(load).iter().sum::<f64>();
        (chip.max(link) * (1.0 - 1e-6)).floor() as u64
    }
}

/// A lower bound on the `total_cycles` that `simulate` gives for `ev`, from its counts alone
/// (cheap, and non-decreasing in every count and in the cycles, so it also bounds a subtree from
/// its floor counts). On chip: configuration, then per pass a serial filter load (its filter
/// words over the filter bus) and a streaming phase no shorter than its MAC cycles nor the
/// ifmap words its last step needs over the ifmap bus (`ifmap_share`). Off chip: every DRAM
/// word over the link after configuration.
pub fn total_cycles_lower_bound(
    l: &Layer,
    hw: &HwConfig,
    ev: &crate::Evaluation,
    params: &CycleParams,
) -> f64 {
    let rates = Rates::new(l, hw, params, &ev.mapping, None);
    counts_only(hw, &rates, &Load::whole(ev, params))
}

/// Configuration and the on-chip bound, or configuration and every DRAM word over the link.
fn counts_only(hw: &HwConfig, rates: &Rates, load: &Load) -> f64 {
    let config = hw.core.scan_chain_bits as f64;
    (config + rates.on_chip(load)).max(config + rates.dram(load).iter().sum::<f64>())
}

/// `total_cycles_lower_bound` tightened by what the mapping's buffers allow (what the edp
/// mapping objective visits candidates by). On chip, the ifmap bus as the GLB banks of the
/// mapping's ifmap tile cap it, and the psums of each pass in and out over their networks and
/// banks (no faster than their words over the psum input network, the output network and the
/// psum banks, which serve both). A DRAM transfer the timeline cannot overlap with processing
/// delays the chip by its link time: ifmaps when their tiles are not double-buffered (the array
/// waits for them), drains when psum tiles are not (the array waits for the drain), and
/// filters, with the ifmaps queued behind them, when the filter buffer cannot take the next
/// pass's filters before a pass ends. Pass by pass in `Timeline::place`, the chip is then free
/// no earlier than it was after the previous pass plus those transfers plus the pass's on-chip
/// time, so the sum over passes is a bound: configuration + the on-chip bound + the serial
/// words over the link. With a filter buffer of one pass, the same chain runs through the pass
/// starts (below). A row-stationary pass also waits for its first column's ifmaps and psums
/// before its first MAC and moves its last column's psums after its last (`Rates::edges`), and a
/// data type the buffer does not hold still crosses its bus (`Load::of`): without those, an FC
/// layer's bound on the v1.5 mesh was half its time and the edp search timed 10^5 candidates.
pub fn latency_lower_bound(
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    ev: &crate::Evaluation,
    params: &CycleParams,
) -> f64 {
    let load = Load::whole(ev, params);
    let counts_only = counts_only(hw, &Rates::new(l, hw, params, &ev.mapping, None), &load);
    let Ok(buf) = ev.mapping.model().buffers(l, hw, batch, &ev.mapping) else {
        return counts_only;
    };
    let buffering = Buffering::new(hw, &buf);
    let rates = Rates::new(
        l,
        hw,
        params,
        &ev.mapping,
        Some(&Ports::new(l, hw, &ev.mapping, &buf)),
    );
    let config = hw.core.scan_chain_bits as f64;
    let chip_waits = config + rates.on_chip(&load) + rates.serial(&buffering, &load);
    // A single filter buffer takes the next pass's filters only once this pass's are in the
    // spads, and the link brings a pass's ifmaps after its filters: pass starts are apart by
    // at least the filter load plus the next pass's filter and ifmap words over the link.
    let [filters, ifmaps, _] = rates.dram(&load);
    let loads_wait = if buffering.filters == FilterBuffer::Single && rates.weights_first {
        config + load.filters as f64 * rates.filter + filters + ifmaps
    } else {
        0.0
    };
    counts_only.max(chip_waits).max(loads_wait)
}

/// The work the latency bounds are made of: a whole mapping's (`whole`), one pass's (`of`) or
/// what is left after some passes (`Remaining`).
#[derive(Debug, Clone, Copy)]
struct Load {
    /// GLB reads over the filter and ifmap buses.
    filters: u64,
    ifmaps: u64,
    /// Psums into the array from the GLB (reloads; drains go to DRAM) and out to the GLB.
    psums_in: u64,
    psums_out: u64,
    /// MAC cycles of the busiest PE.
    macs: f64,
    /// Dense DRAM words: filters and ifmaps in, ofmaps out.
    dram: [u64; 3],
}

impl Load {
    /// From placed counts (`routed`): a data type the global buffer does not hold still
    /// crosses its bus into the array, and its words are then the DRAM's reads (`route`).
    fn of(c: &NestCounts, roles: Roles, macs: f64) -> Load {
        let bus = |d: DataType| match roles.glb_holds(d) {
            true => c.glb.get(d).reads,
            false => c.dram.get(d).reads,
        };
        Load {
            filters: bus(DataType::Weights),
            ifmaps: bus(DataType::Ifmaps),
            psums_in: c.glb.psums.reads.saturating_sub(c.dram.psums.writes),
            psums_out: c.glb.psums.writes,
            macs,
            dram: [
                c.dram.weights.reads,
                c.dram.ifmaps.reads,
                c.dram.psums.writes,
            ],
        }
    }

    /// A mapping's: its MAC cycles are its analytic cycles x the MAC cycle fraction, which the
    /// MAC cycles of its passes add up to at least.
    fn whole(ev: &crate::Evaluation, params: &CycleParams) -> Load {
        let macs = ev.cycles as f64 * params.mac_cycle_fraction;
        Load::of(ev.counts.nest(), ev.counts.roles(), macs)
    }

    fn less(&mut self, o: &Load) {
        self.filters = self.filters.saturating_sub(o.filters);
        self.ifmaps = self.ifmaps.saturating_sub(o.ifmaps);
        self.psums_in = self.psums_in.saturating_sub(o.psums_in);
        self.psums_out = self.psums_out.saturating_sub(o.psums_out);
        self.macs = (self.macs - o.macs).max(0.0);
        for (d, o) in self.dram.iter_mut().zip(o.dram) {
            *d = d.saturating_sub(o);
        }
    }
}

/// The least share of a pass's ifmap words (GLB reads) that arrive before its last step can
/// start. A stream pass's last step waits for all of them; a row-stationary pass streams its
/// filter segment's whole window of columns, but with a stride the last columns of the window
/// may feed no ofmap column, and the pass can end before they arrive: its last ofmap column
/// waits for the rows of every earlier image and its own columns (`step_pass`), at least the
/// share of its segment's columns it reads, whatever the batch chunk.
fn ifmap_share(l: &Layer, mp: &Mapping) -> f64 {
    // With a stride of 1 the last ofmap column reads the end of every window.
    match RsMapping::of(mp).filter(|_| l.stride > 1) {
        Some(rs) => window_share(l, rs, l.f() - 1),
        None => 1.0,
    }
}

/// The least share of a row-stationary pass's ifmap words (GLB reads) that its first ofmap
/// column waits for (the columns of its segment's window that column reads, of the segment's
/// columns, over the most images a pass has), and of its psums that one column moves (one of
/// its at most n x f columns): what `step_pass` moves before the first MAC and after the last.
fn first_column_share(l: &Layer, rs: &RsMapping) -> [f64; 2] {
    let n = rs.n as f64;
    [window_share(l, rs, 0) / n, 1.0 / (n * l.f() as f64)]
}

/// Over `rs`'s filter segments, the least share of a segment's ifmap columns that ofmap column
/// `x` (of one image) has read by its end: the columns up to its window's last.
fn window_share(l: &Layer, rs: &RsMapping, x: usize) -> f64 {
    let mut share: f64 = 1.0;
    let mut s0 = 0;
    for sk in Tiles::new(l.s, segment_of(l, rs).cols).iter() {
        let sk = sk as usize;
        let cols = segment_cols(l, s0, sk);
        let last = (x * l.stride + s0 + sk).saturating_sub(l.pad).min(l.w);
        let within = (last.saturating_sub(s0.saturating_sub(l.pad)) as u64).min(cols);
        if cols > 0 {
            share = share.min(within as f64 / cols as f64);
        }
        s0 += sk;
    }
    share
}

/// Core cycles per word of each path a `Load` takes, at the best the hardware allows.
#[derive(Debug, Clone, Copy)]
struct Rates {
    weights_first: bool,
    filter: f64,
    ifmap: f64,
    /// Psums in, out, and both through the psum banks (0: not counted).
    psums: [f64; 3],
    /// Per ifmap word, psum word in and psum word out, the cycles a row-stationary pass spends
    /// on its first column's ifmaps and psums before its first MAC and on its last column's
    /// psums after its last MAC (`first_column_share`; 0: not counted). A pass of few columns
    /// (a fully-connected layer's one) cannot overlap them with its MACs.
    edges: [f64; 3],
    /// Per dense DRAM word over the link, after compression.
    dram: [f64; 3],
}

impl Rates {
    /// From the buses (the counts-only bound, monotone in the counts), or from the ports of
    /// `mp` (the ifmap bus capped by its banks, and the psum paths).
    fn new(
        l: &Layer,
        hw: &HwConfig,
        params: &CycleParams,
        mp: &Mapping,
        ports: Option<&Ports>,
    ) -> Rates {
        let wb = hw.core.word_bits as f64;
        let link = hw.dram_words_per_cycle();
        let per = |bits: u64| wb / bits as f64;
        // Without a mapping's ports (the counts-only bound), the widest the network can be.
        let widest = |bus: usize, d: DataType| {
            let mesh = hw.mesh().map_or(0, |m| m.widest_bits(d));
            (bus as u64).max(mesh)
        };
        let filter_bits = ports.map_or(widest(hw.noc.filter_bus_bits, DataType::Weights), |p| {
            p.filter
        });
        let ifmap_bits = ports.map_or(widest(hw.noc.ifmap_bus_bits, DataType::Ifmaps), |p| p.ifmap);
        Rates {
            weights_first: mp.model().weights_before_macs(),
            filter: per(filter_bits),
            ifmap: per(ifmap_bits) * ifmap_share(l, mp),
            psums: ports.map_or([0.0; 3], |p| {
                [
                    per(p.psum_in),
                    per(p.psum_out.min(p.psum_glb)),
                    per(p.psum_glb),
                ]
            }),
            edges: match (ports, RsMapping::of(mp)) {
                (Some(p), Some(rs)) => {
                    let [ifmaps, psums] = first_column_share(l, rs);
                    [
                        per(p.ifmap) * ifmaps,
                        per(p.psum_in.min(p.psum_glb)) * psums,
                        per(p.psum_out.min(p.psum_glb)) * psums,
                    ]
                }
                _ => [0.0; 3],
            },
            dram: params.dram_scale.map(|s| s / link),
        }
    }

    /// The chip's time for `load`: per pass a serial filter load (for weights loaded before
    /// the MACs: rs, ws) and a streaming phase no shorter than its MAC cycles, the ifmaps its
    /// last step needs over the ifmap bus (`ifmap_share`) or its psums over theirs; streamed
    /// weights (os, nlr) overlap the MACs on their own network.
    fn on_chip(&self, load: &Load) -> f64 {
        let filters = load.filters as f64 * self.filter;
        let ifmaps = load.ifmaps as f64 * self.ifmap;
        let (pin, pout) = (load.psums_in as f64, load.psums_out as f64);
        let [r_in, r_out, r_both] = self.psums;
        let psums = (pin * r_in).max(pout * r_out).max((pin + pout) * r_both);
        // A pass's first column waits for its ifmaps and psums (`step_pass`: reloads come in
        // before the column starts) and its last column's psums leave after its last MAC.
        let [e_ifmaps, e_in, e_out] = self.edges;
        let first = (load.ifmaps as f64 * e_ifmaps).max(pin * e_in);
        let macs = load.macs + first + pout * e_out;
        let stream = macs.max(ifmaps).max(psums);
        if self.weights_first {
            filters + stream
        } else {
            filters.max(stream)
        }
    }

    /// The DRAM words of `load` in link cycles: filters, ifmaps, drains.
    fn dram(&self, load: &Load) -> [f64; 3] {
        [0, 1, 2].map(|i| load.dram[i] as f64 * self.dram[i])
    }

    /// The link cycles the chip waits for under `buffering` (`latency_lower_bound`).
    fn serial(&self, buffering: &Buffering, load: &Load) -> f64 {
        let [filters, ifmaps, drain] = self.dram(load);
        let filters_wait = buffering.filters == FilterBuffer::None;
        let mut serial = 0.0;
        if filters_wait {
            serial += filters;
        }
        if filters_wait || !buffering.ifmaps {
            serial += ifmaps;
        }
        if !buffering.psums {
            serial += drain;
        }
        serial
    }
}
