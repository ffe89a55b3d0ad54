//! Dataflows: how a layer's loops are laid onto the PE array (Chen, Emer, Sze, ISCA 2016 §V-VI).
//!
//! Every dataflow is one module implementing [`DataflowModel`] (its capacity check, closed-form
//! counts, the literal pass-by-pass walk, its mapping search and the passes cycle mode steps)
//! over mapping parameters of its own, and one line of the registry below. The registry is the
//! only place that tells dataflows apart: it makes the [`Dataflow`] name, the [`Mapping`] enum of
//! every dataflow's parameters and the dispatch from one to the model. Everything else asks the
//! model (`Dataflow::model`, `Mapping::model`).

use std::fmt;
use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};

use crate::arch::HwConfig;
use crate::counts::AccessCounts;
use crate::cycle::{Buffers, CyclePass};
use crate::dataflows::{nlr, os, ws, Storage};
use crate::rs;
use crate::workload::Layer;
use crate::Evaluation;

/// A cost to minimise (the estimator's energy, usually).
pub type Cost<'a> = &'a dyn Fn(&Evaluation) -> f64;

/// One dataflow: everything the mapper, the estimator and cycle mode need from it. A method
/// handed a mapping of another dataflow returns an error saying so (`params`).
pub trait DataflowModel: Sync {
    /// Why `mp` does not fit `hw` for `batch` images of `l`, if it does not.
    fn check(&self, l: &Layer, hw: &HwConfig, batch: usize, mp: &Mapping) -> Result<(), String>;
    /// Closed-form counts and cycles of `mp` (after `check`).
    fn evaluate(
        &self,
        l: &Layer,
        hw: &HwConfig,
        batch: usize,
        mp: &Mapping,
    ) -> Result<Evaluation, String>;
    /// Counts and cycles of `mp` by walking its loop nest pass by pass (no capacity check):
    /// the independent derivation `evaluate` must agree with exactly.
    fn walk(
        &self,
        l: &Layer,
        hw: &HwConfig,
        batch: usize,
        mp: &Mapping,
    ) -> Result<(AccessCounts, u64), String>;
    /// The cheapest mapping by `cost` (which must not fall when a count or the cycles rise:
    /// searches may prune on that), ties broken by `select::better`.
    fn search(&self, l: &Layer, hw: &HwConfig, batch: usize, cost: Cost) -> Option<Evaluation>;
    /// The same space with every candidate evaluated (no pruning): for any cost.
    fn search_reference(
        &self,
        l: &Layer,
        hw: &HwConfig,
        batch: usize,
        cost: Cost,
    ) -> Option<Evaluation>;
    /// The candidates of `search_reference`, in any order, each handed to `visit`, which
    /// answers the largest lower bound it still wants: the model may skip any part of the
    /// space whose `floor` (non-decreasing in every count and in the cycles) on a probe with
    /// counts and cycles no larger than any of the part's candidates' (and the dataflow's
    /// mapping) exceeds that answer. A candidate's counts may leave out what is costly to
    /// count and only adds to them (row-stationary's hops and routers on a mesh): they are then
    /// a floor of its own, and `complete` adds the rest. What `search_lower_bounded` streams;
    /// by default `search_reference`, skipping nothing.
    fn stream(
        &self,
        l: &Layer,
        hw: &HwConfig,
        batch: usize,
        floor: Cost,
        visit: &mut dyn FnMut(&Evaluation) -> f64,
    ) {
        let _ = floor;
        let visit = std::cell::RefCell::new(visit);
        self.search_reference(l, hw, batch, &|ev| {
            (visit.borrow_mut())(ev);
            0.0
        });
    }
    /// Adds to a candidate `stream` handed what its counts may leave out for speed (the
    /// contract of `stream`): afterwards they are `evaluate`'s. By default nothing is left out.
    /// Whether it changed `ev`.
    fn complete(&self, l: &Layer, hw: &HwConfig, batch: usize, ev: &mut Evaluation) -> bool {
        let _ = (l, hw, batch, ev);
        false
    }
    /// The passes of `mp` in execution order, each with what it moves and what cycle mode
    /// steps (`cycle::simulate`); the counts of all passes are `walk`'s. Stops when `f` breaks
    /// (a timing that already exceeds what it may cost, `cycle::total_cycles_within`).
    fn passes(
        &self,
        l: &Layer,
        hw: &HwConfig,
        batch: usize,
        mp: &Mapping,
        f: &mut dyn FnMut(&CyclePass) -> ControlFlow<()>,
    ) -> Result<(), String>;
    /// The GLB tiles of `mp` and the buffers that hold them, for cycle mode's double buffering
    /// and bank allocation.
    fn buffers(
        &self,
        l: &Layer,
        hw: &HwConfig,
        batch: usize,
        mp: &Mapping,
    ) -> Result<Buffers, String>;
    /// The bits per cycle the network delivers of each data type (weights, ifmaps, psums) to
    /// `mp`'s passes when it is not a bus (before the GLB banks and DRAM link that feed it cap
    /// them, `cycle::Ports`); None: the bus widths of `[noc]`. None by default.
    fn delivery_bits(&self, l: &Layer, hw: &HwConfig, mp: &Mapping) -> Option<[u64; 3]> {
        let _ = (l, hw, mp);
        None
    }
    /// Whether a pass loads its weights into the PEs before its first MAC (row- and
    /// weight-stationary) rather than streaming them with the MACs: it decides cycle mode's
    /// lower bound (`cycle::total_cycles_lower_bound`).
    fn weights_before_macs(&self) -> bool;
    /// The on-chip storage the dataflow sees on `hw` (`dataflows::storage`).
    fn storage(&self, hw: &HwConfig) -> Storage;
    /// Why the search can come back empty, and the fix (for `SimError::NoMapping`).
    fn no_mapping(&self) -> (String, String);
}

/// What every dataflow's mapping parameters provide: the tie-break keys of `select::better`,
/// their place in `Mapping`, and (through `Serialize`) their JSON keys.
pub trait Params: Copy + Ord + Serialize + fmt::Debug + MappingOf {
    /// Images per pass.
    fn images(&self) -> usize;
    /// Whether the GLB holds an e-strip's ifmaps of every channel (fetched from DRAM once).
    fn ifmap_resident(&self) -> bool;
}

/// Where a dataflow's parameters sit in `Mapping` (made by the registry).
pub trait MappingOf {
    /// These parameters, if `mp` is of their dataflow.
    fn of(mp: &Mapping) -> Option<&Self>;
}

/// The parameters of `mp` for the dataflow `P` belongs to, or the error every model returns
/// when handed another dataflow's mapping.
pub fn params<P: Params>(mp: &Mapping, want: Dataflow) -> Result<&P, String> {
    P::of(mp).ok_or_else(|| format!("mapping is for {}, not {want}", mp.dataflow()))
}

/// The registry: `Variant = "code", "name": model (Params);`. The one list of dataflows; adding
/// one is a module and a line here.
macro_rules! registry {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $name:literal: $model:expr, $params:ty;)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Dataflow {
            $($(#[$doc])* $variant,)*
        }

        impl Dataflow {
            pub const ALL: [Dataflow; [$($code),*].len()] = [$(Dataflow::$variant),*];
            /// The codes of the config key `dataflow` and the `--dataflow` flag.
            pub const CODES: &'static [&'static str] = &[$($code),*];
            pub fn code(&self) -> &'static str {
                match self { $(Dataflow::$variant => $code,)* }
            }
            pub fn name(&self) -> &'static str {
                match self { $(Dataflow::$variant => $name,)* }
            }
            /// The dataflow's model: the one dispatch.
            pub fn model(&self) -> &'static dyn DataflowModel {
                match self { $(Dataflow::$variant => &$model,)* }
            }
        }

        /// A mapping: plain data that fixes how one layer runs (`sim::evaluate_mapping` replays
        /// it). Each dataflow owns its parameters.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Mapping {
            $($variant($params),)*
        }

        impl Mapping {
            pub fn dataflow(&self) -> Dataflow {
                match self { $(Mapping::$variant(_) => Dataflow::$variant,)* }
            }
            pub fn images(&self) -> usize {
                match self { $(Mapping::$variant(p) => p.images(),)* }
            }
            pub fn ifmap_resident(&self) -> bool {
                match self { $(Mapping::$variant(p) => p.ifmap_resident(),)* }
            }
        }

        /// `{"dataflow": code, ...the parameters' own keys}`.
        impl Serialize for Mapping {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                #[derive(Serialize)]
                struct Wire<'a, P: Serialize> {
                    dataflow: Dataflow,
                    #[serde(flatten)]
                    params: &'a P,
                }
                match self {
                    $(Mapping::$variant(p) => Wire { dataflow: Dataflow::$variant, params: p }.serialize(s),)*
                }
            }
        }

        $(
            impl From<$params> for Mapping {
                fn from(p: $params) -> Mapping {
                    Mapping::$variant(p)
                }
            }
        )*

        $(
            impl MappingOf for $params {
                fn of(mp: &Mapping) -> Option<&Self> {
                    match mp {
                        Mapping::$variant(p) => Some(p),
                        _ => None,
                    }
                }
            }
        )*
    };
}

registry! {
    /// Row-stationary (Eyeriss): filter rows stay in the PE, ifmap rows slide diagonally,
    /// psums accumulate vertically (`rs`).
    RowStationary = "rs", "row-stationary": rs::RowStationary, rs::RsMapping;
    /// Weight-stationary: weights stay in the RF, ifmaps are multicast along rows, psums
    /// accumulate down the columns and go back to the GLB (`dataflows::ws`).
    WeightStationary = "ws", "weight-stationary": ws::WeightStationary, ws::WsMapping;
    /// Output-stationary: each PE accumulates its ofmap pixels in its RF; ifmaps and weights
    /// stream from the GLB (`dataflows::os`).
    OutputStationary = "os", "output-stationary": os::OutputStationary, os::OsMapping;
    /// No local reuse: no RF; weights from the GLB at every MAC, psums through the array to the
    /// GLB (`dataflows::nlr`).
    NoLocalReuse = "nlr", "no-local-reuse": nlr::NoLocalReuse, nlr::NlrMapping;
}

impl Mapping {
    /// The model of this mapping's dataflow.
    pub fn model(&self) -> &'static dyn DataflowModel {
        self.dataflow().model()
    }
}

impl fmt::Display for Dataflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Dataflow {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Dataflow::ALL
            .into_iter()
            .find(|d| d.code() == s || d.name() == s)
            .ok_or_else(|| {
                let codes: Vec<String> = Dataflow::CODES.iter().map(|c| format!("`{c}`")).collect();
                let (last, rest) = codes.split_last().expect("a dataflow");
                format!(
                    "unknown dataflow `{s}`; expected {} or {last}",
                    rest.join(", ")
                )
            })
    }
}

impl Serialize for Dataflow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

/// By code, as an enum of unit variants (as serde's derive did: the same errors, e.g. toml's
/// "wanted string or table" for `dataflow = 3`, which `error::toml_error` explains).
impl<'de> Deserialize<'de> for Dataflow {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Codes;
        impl<'de> serde::de::Visitor<'de> for Codes {
            type Value = Dataflow;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a dataflow code")
            }
            fn visit_enum<A: serde::de::EnumAccess<'de>>(self, a: A) -> Result<Dataflow, A::Error> {
                use serde::de::VariantAccess;
                let (code, v): (String, _) = a.variant()?;
                v.unit_variant()?;
                Dataflow::ALL
                    .into_iter()
                    .find(|df| df.code() == code)
                    .ok_or_else(|| serde::de::Error::unknown_variant(&code, Dataflow::CODES))
            }
        }
        d.deserialize_enum("Dataflow", Dataflow::CODES, Codes)
    }
}

/// What `search_lower_bounded` minimises, and the bounds it prunes by.
#[derive(Clone, Copy)]
pub struct Bounded<'a> {
    /// A candidate's lower bound: never above its cost.
    pub lower: Cost<'a>,
    /// A bound for whole parts of the space (`DataflowModel::stream`): non-decreasing in every
    /// count and in the cycles, and never above `lower` of a candidate with the same counts
    /// and cycles.
    pub floor: Cost<'a>,
    /// The cost, or `None` when it certainly exceeds the limit given (strictly): a candidate is
    /// timed only to be compared with the best so far, so a run that cannot win may stop.
    pub cost: &'a dyn Fn(&Evaluation, f64) -> Option<f64>,
}

/// The space of `df` on `l` streamed through lower bounds, for a cost that is expensive to
/// evaluate but has cheap lower bounds (edp): a candidate is evaluated by `cost` only if its
/// bound `lower` can still beat or tie the best found. The result is exactly
/// `search_reference` with `cost` (the same tie-break, a total order), in memory that does not
/// grow with the space or the batch.
///
/// Two passes over the model's `stream`, neither holding more than [`SEARCH_KEPT`]
/// candidates: the first keeps the candidates of least bound and times them by ascending bound
/// until one bound exceeds the incumbent; the second, needed only if candidates were left out
/// and the largest bound kept does not exceed the incumbent, times every candidate left out
/// whose bound does not exceed the incumbent when it comes. Each pass lets the model skip the
/// parts whose `floor` exceeds what it still wants (the largest bound kept once the heap is
/// full; the incumbent's cost), and a candidate's `floor` spares computing its `lower`. A
/// candidate is dropped only when a bound of it exceeds an incumbent's cost, or when its
/// bound is at least the largest kept and the second pass looks at it, and the incumbent's
/// cost never rises, so no dropped candidate can beat or tie the result.
pub fn search_lower_bounded(
    df: Dataflow,
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    b: &Bounded,
) -> Option<Evaluation> {
    search_lower_bounded_keeping(SEARCH_KEPT, df, l, hw, batch, b)
}

/// `search_lower_bounded` holding at most `kept` (at least 1) candidates: tests use small
/// values so the second pass runs on small spaces too.
#[doc(hidden)]
pub fn search_lower_bounded_keeping(
    kept: usize,
    df: Dataflow,
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    b: &Bounded,
) -> Option<Evaluation> {
    let model = df.model();
    let (order, mut slab, full) = least_bounds(kept.max(1), model, l, hw, batch, b);
    let mut best: Option<(f64, Evaluation)> = None;
    // The largest bound kept: every candidate of a smaller bound was kept.
    let cut = order.last().map(|(k, _)| k.0);
    for (Key(bound, _), slot) in order {
        if loses(&best, bound) {
            break;
        }
        time(&mut best, b, slab[slot].take().expect("a kept slot"));
    }
    drop(slab);
    // Pass 2 (holding only the incumbent): the candidates pass 1 left out, if any can still
    // win. Those of the cut's own bound may have been kept; timing one twice changes nothing.
    if let Some(cut) = cut.filter(|&cut| full && !loses(&best, cut)) {
        model.stream(l, hw, batch, b.floor, &mut |ev| {
            // A bound on the counts `stream` handed is a bound on the completed ones too.
            if !loses(&best, (b.floor)(ev)) {
                let bare = (b.lower)(ev);
                if loses(&best, bare) {
                    return best.as_ref().map_or(f64::INFINITY, |(c, _)| *c);
                }
                let mut ev = ev.clone();
                let bound = match model.complete(l, hw, batch, &mut ev) {
                    true => (b.lower)(&ev),
                    false => bare,
                };
                if bound >= cut && !loses(&best, bound) {
                    time(&mut best, b, ev);
                }
            }
            best.as_ref().map_or(f64::INFINITY, |(c, _)| *c)
        });
    }
    best.map(|(_, ev)| ev)
}

/// Whether a candidate of bound `bound` cannot beat or tie the incumbent.
fn loses(best: &Option<(f64, Evaluation)>, bound: f64) -> bool {
    best.as_ref().is_some_and(|(c, _)| bound > *c)
}

/// Time `ev` against the incumbent and keep it if it wins.
fn time(best: &mut Option<(f64, Evaluation)>, b: &Bounded, ev: Evaluation) {
    let limit = best.as_ref().map_or(f64::INFINITY, |(c, _)| *c);
    if let Some(c) = (b.cost)(&ev, limit) {
        crate::select::keep(best, c, ev);
    }
}

/// Pass 1 of `search_lower_bounded`: the `most` candidates of least (bound, stream index),
/// ascending, as slots of a slab that holds their evaluations, and whether the heap filled
/// (only then can a candidate have been left out). The heap orders slots, so that a candidate
/// that gets in moves two words, not its evaluation; the slab is the one list of evaluations
/// (a second, sorted copy took the process from 12 to 17 MB).
fn least_bounds(
    most: usize,
    model: &dyn DataflowModel,
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    b: &Bounded,
) -> (Vec<(Key, usize)>, Vec<Option<Evaluation>>, bool) {
    let mut kept = std::collections::BinaryHeap::with_capacity(most + 1);
    let mut slab: Vec<Option<Evaluation>> = Vec::with_capacity(most);
    // The bound a candidate must beat to get in: later candidates lose ties on the index.
    let top = |kept: &std::collections::BinaryHeap<(Key, usize)>| match kept.peek() {
        Some((k, _)) if kept.len() == most => k.0,
        _ => f64::INFINITY,
    };
    let mut index = 0u64;
    model.stream(l, hw, batch, b.floor, &mut |ev| {
        let at_most = top(&kept);
        if at_most < f64::INFINITY && (b.floor)(ev) >= at_most {
            return at_most;
        }
        // Only a candidate its bounds on the streamed counts do not rule out is completed
        // (`DataflowModel::stream`): they are bounds of the completed counts too.
        let bare = (b.lower)(ev);
        if at_most < f64::INFINITY && bare >= at_most {
            return at_most;
        }
        let mut ev = ev.clone();
        let bound = match model.complete(l, hw, batch, &mut ev) {
            true => (b.lower)(&ev),
            false => bare,
        };
        let key = Key(bound, index);
        index += 1;
        if kept.len() < most {
            slab.push(Some(ev));
            kept.push((key, slab.len() - 1));
        } else if key.0 < at_most {
            // It takes the slot of the largest kept, which it beats.
            let (_, slot) = kept.pop().expect("the heap is full");
            slab[slot] = Some(ev);
            kept.push((key, slot));
        }
        top(&kept)
    });
    let full = kept.len() == most;
    (kept.into_sorted_vec(), slab, full)
}

/// The most candidates `search_lower_bounded` holds at once.
pub const SEARCH_KEPT: usize = 1024;

/// A candidate's place in `search_lower_bounded`: its bound, then its enumeration index.
#[derive(Clone, Copy, PartialEq)]
struct Key(f64, u64);

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, o: &Key) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Key {
    fn cmp(&self, o: &Key) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0).then(self.1.cmp(&o.1))
    }
}

/// The oracle `search_lower_bounded` is tested against: every candidate of the space collected
/// with its bound and sorted, then timed by ascending bound until none left can win (memory
/// grows with the space: what the streaming search replaced).
#[doc(hidden)]
pub fn search_lower_bounded_reference(
    df: Dataflow,
    l: &Layer,
    hw: &HwConfig,
    batch: usize,
    lower: Cost,
    cost: Cost,
) -> Option<Evaluation> {
    let all = std::cell::RefCell::new(Vec::new());
    df.model().search_reference(l, hw, batch, &|ev| {
        all.borrow_mut().push((lower(ev), ev.clone()));
        0.0
    });
    let mut all = all.into_inner();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut best: Option<(f64, Evaluation)> = None;
    for (bound, ev) in all {
        if best.as_ref().is_some_and(|(c, _)| bound > *c) {
            break;
        }
        let c = cost(&ev);
        crate::select::keep(&mut best, c, ev);
    }
    best.map(|(_, ev)| ev)
}
