//! Shape inference over an ONNX graph and the mapping of its Conv/Gemm/MatMul nodes to
//! `ember_sim::Layer`s.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

use ember_sim::workload::MAX_LAYER_COUNT;
use ember_sim::{Layer, LayerKind, Network, Pool};

use crate::error::OnnxError;
use crate::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto,
};
use crate::tensor::{numel, tensor_info, to_dim, MAX_INTS};

/// Operators that cost nothing on the accelerator model and keep their first input's shape.
const PASS_THROUGH: &[&str] = &[
    "BatchNormalization",
    "InstanceNormalization",
    "Relu",
    "LeakyRelu",
    "PRelu",
    "Elu",
    "Selu",
    "Clip",
    "Sigmoid",
    "HardSigmoid",
    "HardSwish",
    "Tanh",
    "Softplus",
    "Softmax",
    "LogSoftmax",
    "Dropout",
    "LRN",
    "Identity",
    "Cast",
];

/// Element-wise operators with multidirectional (numpy) broadcasting: residual additions and
/// the scale/shift of an unfolded batch norm. They cost nothing here.
const ELEMENTWISE: &[&str] = &["Add", "Sum", "Sub", "Mul", "Div", "Max", "Min", "Mean"];

const POOLS: &[&str] = &[
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "GlobalMaxPool",
];

/// A node's handler infers its outputs from its inputs (shapes, small integer values,
/// densities) and adds a layer for Conv/Gemm/MatMul.
type Handler = fn(&mut Importer, &NodeProto, usize) -> Result<(), String>;

/// The operator table, one handler per ONNX op type (as ZigZag's ONNX parser maps op types to
/// parsers): an operator is supported exactly when it is listed here, so adding one is one
/// handler and one line.
const HANDLERS: &[(&[&str], Handler)] = &[
    (&["Conv"], Importer::conv),
    (&["Gemm", "MatMul"], Importer::fc),
    (POOLS, Importer::pool),
    (PASS_THROUGH, Importer::pass_through),
    (ELEMENTWISE, Importer::elementwise),
    (&["Constant"], Importer::constant),
    (&["ConstantOfShape"], Importer::constant_of_shape),
    (&["Shape"], Importer::shape),
    (&["Gather"], Importer::gather),
    (&["Unsqueeze"], Importer::unsqueeze),
    (&["Squeeze"], Importer::squeeze),
    (&["Flatten"], Importer::flatten),
    (&["Reshape"], Importer::reshape),
    (&["Transpose"], Importer::transpose),
    (&["Concat"], Importer::concat),
];

fn handler(op: &str) -> Option<Handler> {
    HANDLERS
        .iter()
        .find(|(ops, _)| ops.contains(&op))
        .map(|&(_, h)| h)
}

/// Every operator type the importer knows (default ONNX domain only).
pub fn supported_ops() -> Vec<&'static str> {
    let mut v: Vec<&str> = HANDLERS
        .iter()
        .flat_map(|(ops, _)| ops.iter().copied())
        .collect();
    v.sort_unstable();
    v
}

/// Where a value's content comes from, for the `chain` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Src {
    /// The graph's data input (possibly reshaped or activated).
    Input,
    /// Layer k's (pooled) output, possibly reshaped or activated.
    Layer(usize),
    Other,
}

#[derive(Debug, Clone)]
struct Val {
    shape: Vec<usize>,
    /// Values of a small constant integer tensor.
    ints: Option<Vec<i64>>,
    /// Non-zero fraction of a constant whose data is known.
    density: Option<f64>,
    /// The value does not depend on the graph input.
    constant: bool,
    /// A 2-D value flattened from an N x C x H x W tensor keeps its (C, H, W) for FC layers.
    view: Option<[usize; 3]>,
    src: Src,
    /// The raw (not yet pooled) output of layer k, through shape-preserving single-consumer
    /// operators only: a pool that reads it can be attached to layer k.
    pool_slot: Option<usize>,
}

impl Val {
    fn data(shape: Vec<usize>) -> Val {
        Val {
            shape,
            ints: None,
            density: None,
            constant: false,
            view: None,
            src: Src::Other,
            pool_slot: None,
        }
    }
    fn constant(shape: Vec<usize>, ints: Option<Vec<i64>>, density: Option<f64>) -> Val {
        Val {
            ints,
            density,
            constant: true,
            ..Val::data(shape)
        }
    }
}

/// The result of an import: the network and what the importer had to simplify or skip.
#[derive(Debug, Clone)]
pub struct Imported {
    pub network: Network,
    /// Free-text notes: skipped operators (costless here), layers that were re-expressed, weights
    /// whose density is unknown.
    pub warnings: Vec<String>,
}

fn attr<'a>(n: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    n.attribute.iter().find(|a| a.name == name)
}
fn attr_int(n: &NodeProto, name: &str, default: i64) -> i64 {
    attr(n, name).map_or(default, |a| a.i)
}
fn attr_ints<'a>(n: &'a NodeProto, name: &str) -> Option<&'a [i64]> {
    attr(n, name).map(|a| a.ints.as_slice())
}
fn attr_str(n: &NodeProto, name: &str) -> Option<String> {
    attr(n, name).map(|a| String::from_utf8_lossy(&a.s).into_owned())
}

/// Control characters replaced: `Network::to_toml` writes the name and source into a comment.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn node_label(n: &NodeProto, idx: usize) -> String {
    if !n.name.is_empty() {
        n.name.clone()
    } else if let Some(o) = n.output.iter().find(|o| !o.is_empty()) {
        o.clone()
    } else {
        format!("#{idx}")
    }
}

/// Normalise an axis in [-rank, rank) (or [-rank, rank] with `inclusive`).
fn norm_axis(axis: i64, rank: usize, inclusive: bool) -> Result<usize, String> {
    let r = rank as i64;
    let hi = if inclusive { r } else { r - 1 };
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a > hi {
        return Err(format!("axis {axis} is out of range for rank {rank}"));
    }
    Ok(a as usize)
}

/// Multidirectional broadcasting of shapes.
fn broadcast(shapes: &[&[usize]]) -> Result<Vec<usize>, String> {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![1usize; rank];
    for s in shapes {
        let off = rank - s.len();
        for (i, &d) in s.iter().enumerate() {
            let o = &mut out[off + i];
            if *o == 1 {
                *o = d;
            } else if d != 1 && d != *o {
                return Err(format!("shapes {shapes:?} do not broadcast"));
            }
        }
    }
    Ok(out)
}

/// An N x C x H x W input of a 2-D `what` (convolution, pooling) with C, H and W non-zero.
fn nchw(shape: &[usize], what: &str) -> Result<[usize; 4], String> {
    let [n, c, h, w] = shape[..] else {
        return Err(format!(
            "input shape {shape:?}: only 2-D {what} (N x C x H x W) is supported"
        ));
    };
    if [c, h, w].contains(&0) {
        return Err(format!("empty input {shape:?}"));
    }
    Ok([n, c, h, w])
}

/// The spatial window of a Conv or pooling node: kernel, strides, begin/end pads, dilations.
struct Window {
    kernel: [usize; 2],
    stride: [usize; 2],
    pad_begin: [usize; 2],
    pad_end: [usize; 2],
    dilation: [usize; 2],
    out: [usize; 2],
}

fn two(n: &NodeProto, name: &str, default: usize) -> Result<[usize; 2], String> {
    match attr_ints(n, name) {
        None => Ok([default; 2]),
        Some([a, b]) => Ok([to_dim(*a)?, to_dim(*b)?]),
        Some(v) => Err(format!(
            "`{name}` = {v:?}: expected 2 values (2-D spatial input)"
        )),
    }
}

fn window(
    n: &NodeProto,
    input: [usize; 2],
    kernel: [usize; 2],
    ceil: bool,
) -> Result<Window, String> {
    let stride = two(n, "strides", 1)?;
    let dilation = two(n, "dilations", 1)?;
    if stride.contains(&0) || dilation.contains(&0) || kernel.contains(&0) {
        return Err("kernel, strides and dilations must be at least 1".into());
    }
    let mut pad_begin = [0usize; 2];
    let mut pad_end = [0usize; 2];
    let mut out = [0usize; 2];
    let auto_pad = attr_str(n, "auto_pad").unwrap_or_default();
    for i in 0..2 {
        let keff = (kernel[i] - 1) * dilation[i] + 1;
        match auto_pad.as_str() {
            "SAME_UPPER" | "SAME_LOWER" => {
                out[i] = input[i].div_ceil(stride[i]);
                let total = ((out[i].max(1) - 1) * stride[i] + keff).saturating_sub(input[i]);
                let small = total / 2;
                if auto_pad == "SAME_UPPER" {
                    (pad_begin[i], pad_end[i]) = (small, total - small);
                } else {
                    (pad_begin[i], pad_end[i]) = (total - small, small);
                }
            }
            "" | "NOTSET" | "VALID" => {
                if auto_pad != "VALID" {
                    match attr_ints(n, "pads") {
                        None => {}
                        Some([hb, wb, he, we]) => {
                            pad_begin = [to_dim(*hb)?, to_dim(*wb)?];
                            pad_end = [to_dim(*he)?, to_dim(*we)?];
                        }
                        Some(v) => return Err(format!("`pads` = {v:?}: expected 4 values")),
                    }
                }
                let span = input[i] + pad_begin[i] + pad_end[i];
                if span < keff {
                    return Err(format!(
                        "kernel {keff} (with dilation) exceeds the padded input {span}"
                    ));
                }
                // ceil_mode as ONNX shape inference computes it (no clipping of a last window
                // that starts in the padding).
                out[i] = if ceil {
                    (span - keff).div_ceil(stride[i]) + 1
                } else {
                    (span - keff) / stride[i] + 1
                };
            }
            other => return Err(format!("auto_pad `{other}` is not an ONNX value")),
        }
        if out[i] == 0 {
            return Err("empty output".into());
        }
    }
    Ok(Window {
        kernel,
        stride,
        pad_begin,
        pad_end,
        dilation,
        out,
    })
}

struct Importer {
    name: String,
    vals: HashMap<String, Val>,
    consumers: HashMap<String, usize>,
    layers: Vec<Layer>,
    /// Per layer: where its input came from, and whether its (c, h, w) is the input tensor's.
    layer_inputs: Vec<(Src, bool)>,
    layer_names: HashSet<String>,
    warnings: Vec<String>,
    skipped: BTreeMap<String, usize>,
}

/// Import `model`. `name` labels errors (the path the user gave); `stem` names the network when
/// the graph has no name, and its source.
pub(crate) fn import_model(
    model: &ModelProto,
    name: &str,
    stem: &str,
    input_shape: Option<[usize; 4]>,
) -> Result<Imported, OnnxError> {
    let graph = model.graph.as_ref().ok_or_else(|| OnnxError::NoGraph {
        name: name.to_string(),
    })?;
    let net_name = clean(if graph.name.is_empty() {
        stem
    } else {
        &graph.name
    });
    check_ops(graph, name)?;
    let mut imp = Importer::new(name, graph);
    imp.initializers(graph)?;
    imp.inputs(graph, input_shape)?;
    for idx in topo_order(graph).map_err(|reason| OnnxError::Graph {
        name: name.to_string(),
        reason,
    })? {
        let n = &graph.node[idx];
        imp.node(n, idx).map_err(|reason| OnnxError::Node {
            name: name.to_string(),
            node: node_label(n, idx),
            op: n.op_type.clone(),
            reason,
        })?;
    }
    if imp.layers.is_empty() {
        return Err(OnnxError::NoLayers {
            name: name.to_string(),
        });
    }
    let chain = imp.chain();
    imp.note_skipped();
    let network = Network {
        name: net_name,
        source: clean(&source(model, stem)),
        chain,
        layers: imp.layers,
    };
    // The trace rules of the simulator hold for whatever comes out.
    Network::parse(Path::new(stem), &network.to_toml()).map_err(|e| OnnxError::Invalid {
        name: name.to_string(),
        source: Box::new(e),
    })?;
    Ok(Imported {
        network,
        warnings: imp.warnings,
    })
}

/// Every unsupported operator at once (a user fixes them all in one go), each with the nodes
/// that use it: an op type without a handler, or any op of another domain.
fn check_ops(graph: &GraphProto, name: &str) -> Result<(), OnnxError> {
    let mut bad: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, n) in graph.node.iter().enumerate() {
        let default_domain = n.domain.is_empty() || n.domain == "ai.onnx";
        if !default_domain || handler(&n.op_type).is_none() {
            let op = if default_domain {
                n.op_type.clone()
            } else {
                format!("{}::{}", n.domain, n.op_type)
            };
            bad.entry(op).or_default().push(node_label(n, i));
        }
    }
    if !bad.is_empty() {
        return Err(OnnxError::Unsupported {
            name: name.to_string(),
            ops: bad.into_iter().collect(),
        });
    }
    Ok(())
}

/// The network's `source`: the file stem, the IR and opset versions and the producer.
fn source(model: &ModelProto, stem: &str) -> String {
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map_or(String::new(), |o| format!(", opset {}", o.version));
    let producer = if model.producer_name.is_empty() {
        String::new()
    } else {
        format!(
            ", produced by {} {}",
            model.producer_name, model.producer_version
        )
    };
    format!(
        "ONNX import of {stem} (IR {}{opset}{producer})",
        model.ir_version
    )
}

/// Node indices in an order where every value is produced before it is read: the given order
/// when it already is one (ONNX requires it), else the smallest such order.
fn topo_order(g: &GraphProto) -> Result<Vec<usize>, String> {
    let mut producer: HashMap<&str, usize> = HashMap::new();
    for (i, n) in g.node.iter().enumerate() {
        for o in n.output.iter().filter(|o| !o.is_empty()) {
            if producer.insert(o.as_str(), i).is_some() {
                return Err(format!("value `{o}` is produced by two nodes"));
            }
        }
    }
    let mut indeg = vec![0usize; g.node.len()];
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); g.node.len()];
    for (i, n) in g.node.iter().enumerate() {
        let deps: BTreeSet<usize> = n
            .input
            .iter()
            .filter_map(|v| producer.get(v.as_str()).copied())
            .collect();
        for d in deps {
            indeg[i] += 1;
            users[d].push(i);
        }
    }
    let mut ready: BTreeSet<usize> = (0..g.node.len()).filter(|&i| indeg[i] == 0).collect();
    let mut order = Vec::with_capacity(g.node.len());
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &u in &users[i] {
            indeg[u] -= 1;
            if indeg[u] == 0 {
                ready.insert(u);
            }
        }
    }
    if order.len() != g.node.len() {
        let stuck: Vec<String> = (0..g.node.len())
            .filter(|&i| indeg[i] > 0)
            .take(5)
            .map(|i| node_label(&g.node[i], i))
            .collect();
        return Err(format!(
            "the nodes form a cycle (among: {})",
            stuck.join(", ")
        ));
    }
    Ok(order)
}

impl Importer {
    /// An importer with each value's consumer count (a graph output counts as one): a pool is
    /// attached to the layer before it only through values nothing else reads.
    fn new(name: &str, graph: &GraphProto) -> Importer {
        let mut imp = Importer {
            name: name.to_string(),
            vals: HashMap::new(),
            consumers: HashMap::new(),
            layers: Vec::new(),
            layer_inputs: Vec::new(),
            layer_names: HashSet::new(),
            warnings: Vec::new(),
            skipped: BTreeMap::new(),
        };
        for n in &graph.node {
            for i in n.input.iter().filter(|i| !i.is_empty()) {
                *imp.consumers.entry(i.clone()).or_default() += 1;
            }
        }
        for o in &graph.output {
            *imp.consumers.entry(o.name.clone()).or_default() += 1;
        }
        imp
    }

    /// Whether the layers form a chain: the first reads the graph input, each next one exactly
    /// the (pooled) output of the one before, whole.
    fn chain(&self) -> bool {
        self.layer_inputs
            .iter()
            .enumerate()
            .all(|(i, &(src, own))| {
                own && match i {
                    0 => src == Src::Input,
                    _ => {
                        let l = &self.layers[i];
                        src == Src::Layer(i - 1)
                            && self.layers[i - 1].out_shape() == (l.c, l.h, l.w)
                    }
                }
            })
    }

    /// One warning listing the skipped operators and how often each was skipped.
    fn note_skipped(&mut self) {
        if self.skipped.is_empty() {
            return;
        }
        let list: Vec<String> = self
            .skipped
            .iter()
            .map(|(op, k)| format!("{k} x {op}"))
            .collect();
        self.warnings.push(format!(
            "skipped (no cost on the accelerator model, shapes followed): {}",
            list.join(", ")
        ));
    }

    fn initializers(&mut self, g: &GraphProto) -> Result<(), OnnxError> {
        for t in &g.initializer {
            let v = self.tensor(t)?;
            self.vals.insert(t.name.clone(), v);
        }
        Ok(())
    }

    fn tensor(&mut self, t: &TensorProto) -> Result<Val, OnnxError> {
        let info = tensor_info(t).map_err(|reason| OnnxError::Tensor {
            name: self.name.clone(),
            tensor: t.name.clone(),
            reason,
        })?;
        let mut v = Val::constant(info.shape, info.ints, info.density);
        if let Some(why) = info.missing {
            v.density = None;
            self.warnings.push(format!(
                "tensor `{}`: data {why}; a layer using it as weights is taken as dense",
                t.name
            ));
        }
        Ok(v)
    }

    /// The graph inputs that are not initializers. The first is the data input: its shape is
    /// the one given (`input_shape`) or the declared one, and it must be known. Any later input
    /// whose shape is not fully known is left out: a node reading it says so.
    fn inputs(&mut self, g: &GraphProto, input_shape: Option<[usize; 4]>) -> Result<(), OnnxError> {
        let init: HashSet<&str> = g.initializer.iter().map(|t| t.name.as_str()).collect();
        let mut first = true;
        for vi in g.input.iter().filter(|vi| !init.contains(vi.name.as_str())) {
            let is_data = std::mem::take(&mut first);
            let shape = match (is_data, input_shape) {
                (true, Some(s)) => self.given_shape(s)?,
                _ => match self.declared_shape(vi, is_data)? {
                    Some(shape) => shape,
                    None => continue,
                },
            };
            numel(&shape)
                .map_err(|e| self.input_error(format!("graph input `{}`: {e}", vi.name)))?;
            let mut v = Val::data(shape);
            if is_data {
                v.src = Src::Input;
            }
            self.vals.insert(vi.name.clone(), v);
        }
        if first {
            return Err(
                self.input_error("the graph has no input that is not an initializer".into())
            );
        }
        Ok(())
    }

    fn input_error(&self, reason: String) -> OnnxError {
        OnnxError::Input {
            name: self.name.clone(),
            reason,
        }
    }

    /// The user's N x C x H x W replaces the data input's declared shape.
    fn given_shape(&self, s: [usize; 4]) -> Result<Vec<usize>, OnnxError> {
        if s.contains(&0) || s.iter().any(|&d| d > crate::tensor::MAX_DIM) {
            return Err(self.input_error(format!(
                "input shape {s:?}: every dimension must be at least 1"
            )));
        }
        Ok(s.to_vec())
    }

    /// A graph input's declared shape, `None` when a side input's is not fully known. A symbolic
    /// or unknown batch is one image (with a warning for the data input); any other unknown
    /// dimension of the data input is an error that asks for the input shape.
    fn declared_shape(
        &mut self,
        vi: &ValueInfoProto,
        is_data: bool,
    ) -> Result<Option<Vec<usize>>, OnnxError> {
        use crate::proto::tensor_shape_proto::dimension::Value;
        let dims = vi
            .r#type
            .as_ref()
            .and_then(|t| t.tensor_type.as_ref())
            .and_then(|t| t.shape.as_ref())
            .map(|s| s.dim.as_slice());
        let Some(dims) = dims else {
            if is_data {
                return Err(self.input_error(format!(
                    "graph input `{}` has no shape; give the input shape (N x C x H x W)",
                    vi.name
                )));
            }
            return Ok(None);
        };
        let mut shape = Vec::with_capacity(dims.len());
        for (i, d) in dims.iter().enumerate() {
            let why = match &d.value {
                Some(Value::DimValue(v)) if *v > 0 => {
                    let dim = to_dim(*v)
                        .map_err(|e| self.input_error(format!("graph input `{}`: {e}", vi.name)))?;
                    shape.push(dim);
                    continue;
                }
                other if i == 0 => {
                    if is_data {
                        self.warnings.push(format!(
                            "graph input `{}`: batch dimension {} taken as 1",
                            vi.name,
                            match other {
                                Some(Value::DimParam(p)) => format!("`{p}`"),
                                _ => "unknown".into(),
                            }
                        ));
                    }
                    shape.push(1);
                    continue;
                }
                Some(Value::DimParam(p)) => format!("dimension {i} is symbolic (`{p}`)"),
                Some(Value::DimValue(v)) => format!("dimension {i} is {v}"),
                None => format!("dimension {i} is unknown"),
            };
            if is_data {
                return Err(self.input_error(format!(
                    "graph input `{}`: {why}; give the input shape (N x C x H x W)",
                    vi.name
                )));
            }
            return Ok(None);
        }
        Ok(Some(shape))
    }

    fn get(&self, n: &NodeProto, i: usize) -> Result<&Val, String> {
        let Some(name) = n.input.get(i).filter(|s| !s.is_empty()) else {
            return Err(format!("input {i} is missing"));
        };
        self.vals.get(name).ok_or_else(|| {
            format!("input `{name}` has no known static shape (a graph input with symbolic dimensions, or a value nothing produces)")
        })
    }

    fn opt(&self, n: &NodeProto, i: usize) -> Result<Option<&Val>, String> {
        match n.input.get(i) {
            Some(s) if !s.is_empty() => self.get(n, i).map(Some),
            _ => Ok(None),
        }
    }

    fn single_consumer(&self, n: &NodeProto, i: usize) -> bool {
        n.input
            .get(i)
            .is_some_and(|name| self.consumers.get(name) == Some(&1))
    }

    fn set(&mut self, n: &NodeProto, i: usize, v: Val) -> Result<(), String> {
        numel(&v.shape)?;
        if let Some(name) = n.output.get(i).filter(|s| !s.is_empty()) {
            self.vals.insert(name.clone(), v);
        }
        Ok(())
    }

    fn skip(&mut self, op: &str) {
        *self.skipped.entry(op.to_string()).or_default() += 1;
    }

    /// A value that keeps input 0's role (shape-preserving or reshaping op): chain source, and
    /// the pending pool slot when the op reads a single-consumer value and keeps its shape.
    fn follow(&self, n: &NodeProto, x: &Val, shape: Vec<usize>) -> Val {
        let pool_slot = if shape == x.shape && self.single_consumer(n, 0) {
            x.pool_slot
        } else {
            None
        };
        Val {
            view: if shape == x.shape { x.view } else { None },
            constant: x.constant,
            ints: if shape == x.shape {
                x.ints.clone()
            } else {
                None
            },
            density: x.density,
            src: x.src,
            pool_slot,
            shape,
        }
    }

    /// Infer node `n`'s outputs with its operator's handler. Every operator reaching here was
    /// checked against `HANDLERS` up front; the error is kept for callers that skip that check.
    fn node(&mut self, n: &NodeProto, idx: usize) -> Result<(), String> {
        let op = n.op_type.as_str();
        let handler = handler(op).ok_or_else(|| format!("operator `{op}` is not supported"))?;
        handler(self, n, idx)
    }

    /// Activations, normalisations, dropout, casts: input 0 passes through unchanged in shape
    /// and role, so a layer's output stays that layer's through them.
    fn pass_through(&mut self, n: &NodeProto, _idx: usize) -> Result<(), String> {
        let x = self.get(n, 0)?.clone();
        let out = self.follow(n, &x, x.shape.clone());
        if !x.constant {
            self.skip(&n.op_type);
        }
        // Dropout's mask has the input's shape.
        if n.op_type == "Dropout" && n.output.len() > 1 {
            self.set(n, 1, Val::data(x.shape.clone()))?;
        }
        self.set(n, 0, out)
    }

    /// Element-wise operators broadcast their inputs like numpy.
    fn elementwise(&mut self, n: &NodeProto, _idx: usize) -> Result<(), String> {
        let ins: Vec<Val> = (0..n.input.len())
            .map(|i| self.get(n, i).cloned())
            .collect::<Result<_, _>>()?;
        if ins.is_empty() {
            return Err("no inputs".into());
        }
        let shapes: Vec<&[usize]> = ins.iter().map(|v| v.shape.as_slice()).collect();
        let shape = broadcast(&shapes)?;
        let varying: Vec<usize> = (0..ins.len()).filter(|&i| !ins[i].constant).collect();
        let out = match varying.as_slice() {
            // One activation scaled or shifted by constants: it keeps its role.
            [i] if ins[*i].shape == shape => {
                let x = &ins[*i];
                let single = self.single_consumer(n, *i);
                Val {
                    ints: None,
                    density: None,
                    pool_slot: if single { x.pool_slot } else { None },
                    ..x.clone()
                }
            }
            [] => Val::constant(shape, None, None),
            _ => Val::data(shape),
        };
        if !out.constant {
            self.skip(&n.op_type);
        }
        self.set(n, 0, out)
    }

    /// A constant's shape, and its values when they are small integers (shape arithmetic reads
    /// them), and its density (a weight may be a Constant rather than an initializer).
    fn constant(&mut self, n: &NodeProto, _idx: usize) -> Result<(), String> {
        let v = if let Some(t) = attr(n, "value").and_then(|a| a.t.as_ref()) {
            let info = tensor_info(t)?;
            Val::constant(info.shape, info.ints, info.density)
        } else if let Some(a) = attr(n, "value_int") {
            Val::constant(vec![], Some(vec![a.i]), Some(f64::from(u8::from(a.i != 0))))
        } else if let Some(a) = attr(n, "value_ints") {
            let len = a.ints.len();
            Val::constant(vec![len], (len <= MAX_INTS).then(|| a.ints.clone()), None)
        } else if let Some(a) = attr(n, "value_float") {
            Val::constant(vec![], None, Some(f64::from(u8::from(a.f != 0.0))))
        } else if let Some(a) = attr(n, "value_floats") {
            Val::constant(vec![a.floats.len()], None, None)
        } else {
            return Err("a Constant without a `value`, `value_int(s)` or `value_float(s)` attribute (sparse and string constants are not supported)".into());
        };
        self.set(n, 0, v)
    }

    /// A tensor of one repeated value: its shape must be known, its density follows the fill.
    fn constant_of_shape(&mut self, n: &NodeProto, _idx: usize) -> Result<(), String> {
        let s = self.get(n, 0)?;
        let ints = s.ints.clone().ok_or("the shape input is not a constant")?;
        let shape = ints
            .iter()
            .map(|&d| to_dim(d))
            .collect::<Result<Vec<_>, _>>()?;
        let len = numel(&shape)?;
        let (fill_int, fill_nonzero) = match attr(n, "value").and_then(|a| a.t.as_ref()) {
            None => (Some(0), false),
            Some(t) => {
                let info = tensor_info(t)?;
                let nz = info.density.is_none_or(|d| d > 0.0);
                (info.ints.and_then(|v| v.first().copied()), nz)
            }
        };
        let ints = fill_int.filter(|_| len <= MAX_INTS).map(|f| vec![f; len]);
        let density = (len > 0).then_some(if fill_nonzero { 1.0 } else { 0.0 });
        self.set(n, 0, Val::constant(shape, ints, density))
    }

    /// Shape is known statically here, so its output is a constant a Reshape can read.
    fn shape(&mut self, n: &NodeProto, _idx: usize) -> Result<(), String> {
        let x = self.get(n, 0)?;
        let r = x.shape.len() as i64;
        let clampi = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
        let start = clampi(attr_int(n, "start", 0));
        let end = clampi(attr_int(n, "end", r));
        let dims: Vec<i64> = x.shape[start..end.max(start)]
            .iter()
            .map(|&d| d as i64)
            .collect();
        self.set(n, 0, Val::constant(vec![dims.len()], Some(dims), None))
    }

    /// Gather's values are followed only for a 1-D constant (picking from a Shape's output).
    fn gather(&mut self, n: &NodeProto, _idx: usize) -> Result<(), String> {
        let data = self.get(n, 0)?.clone();
        let ind = self.get(n, 1)?.clone();
        let axis = norm_axis(attr_int(n, "axis", 0), data.shape.len(), false)?;
        let mut shape = data.shape[..axis].to_vec();
        shape.extend_from_slice(&ind.shape);
        shape.extend_from_slice(&data.shape[axis + 1..]);
        let ints = match (&data.ints, &ind.ints) {
            (Some(d), Some(i)) if data.shape.len() == 1 => {
                let len = d.len() as i64;
                let picked = i
                    .iter()
                    .map(|&k| {
                        let k = if k < 0 { k + len } else { k };
                        usize::try_from(k)
                            .ok()
                            .and_then(|k| d.get(k).copied())
                            .ok_or(format!("index {k} out of range"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Some(picked)
            }
            _ => None,
        };
        let v = Val {
            constant: data.constant && ind.constant,
            ..Val::constant(shape, ints, None)
        };
        self.set(n, 0, v)
    }

    /// The axes of a Squeeze or Unsqueeze: an attribute before opset 13, input 1 since.
    fn axes(&self, n: &NodeProto) -> Result<Option<Vec<i64>>, String> {
        Ok(match attr_ints(n, "axes") {
            Some(a) => Some(a.to_vec()),
            None => match self.opt(n, 1)? {
                Some(v) => Some(v.ints.clone().ok_or("the axes input is not a constant")?),
                None => None,
            },
        })
    }

    /// Squeeze and Unsqueeze only add or drop axes of size 1, so input 0's values (a shape
    /// vector) stay known; a pool after them is not attached to the layer before them.
    fn set_squeezed(&mut self, n: &NodeProto, x: &Val, shape: Vec<usize>) -> Result<(), String> {
        let mut v = self.follow(n, x, shape);
        v.ints = x.ints.clone();
        v.pool_slot = None;
        self.set(n, 0, v)
    }

    fn unsqueeze(&mut self, n: &NodeProto, _idx: usize) -> Result<(), String> {
        let x = self.get(n, 0)?.clone();
        let axes = self.axes(n)?.ok_or("Unsqueeze needs axes")?;
        let rank = x.shape.len() + axes.len();
        let mut set = BTreeSet::new();
        for &a in &axes {
            if !set.insert(norm_axis(a, rank, false)?) {
                return Err(format!("axis {a} repeated"));
            }
        }
        let mut it = x.shape.iter();
        let shape = (0..rank)
            .map(|i| {
                if set.contains(&i) {
                    1
                } else {
                    *it.next().unwrap_or(&1)
                }
            })
            .collect();
        self.set_squeezed(n, &x, shape)
    }

    /// Without axes, Squeeze drops every axis of size 1.
    fn squeeze(&mut self, n: &NodeProto, _idx: usize) -> Result<(), String> {
        let x = self.get(n, 0)?.clone();
        let shape = match self.axes(n)? {
            None => x.shape.iter().copied().filter(|&d| d != 1).collect(),
            Some(axes) => {
                let mut set = BTreeSet::new();
                for &a in &axes {
                    let a = norm_axis(a, x.shape.len(), false)?;
                    if x.shape[a] != 1 {
                        return Err(format!("cannot squeeze axis {a} of size {}", x.shape[a]));
                    }
                    set.insert(a);
                }
                x.shape
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !set.contains(i))
                    .map(|(_, &d)| d)
                    .collect()
            }
        };
        self.set_squeezed(n, &x, shape)
    }

    /// Flattening N x C x H x W at axis 1 records (C, H, W), so a Gemm after it becomes an FC
    /// layer over the map it reads.
    fn flatten(&mut self, n: &NodeProto, _idx: usize) -> Result<(), String> {
        let x = self.get(n, 0)?.clone();
        let axis = norm_axis(attr_int(n, "axis", 1), x.shape.len(), true)?;
        let shape = vec![numel(&x.shape[..axis])?, numel(&x.shape[axis..])?];
        let mut v = self.follow(n, &x, shape);
        v.pool_slot = None;
        v.view = match x.shape.as_slice() {
            [_, c, h, w] if axis == 1 => Some([*c, *h, *w]),
            _ => x.view.filter(|_| x.shape == v.shape),
        };
        self.set(n, 0, v)
    }

    /// Reshape needs a constant target (0 copies an input dimension unless `allowzero`, one -1
    /// is inferred); N x C x H x W to N x K keeps (C, H, W) as Flatten does.
    fn reshape(&mut self, n: &NodeProto, _idx: usize) -> Result<(), String> {
        let x = self.get(n, 0)?.clone();
        let target = self
            .get(n, 1)?
            .ints
            .clone()
            .ok_or("the target shape is not a constant")?;
        let allow_zero = attr_int(n, "allowzero", 0) != 0;
        let mut shape = Vec::with_capacity(target.len());
        let mut infer = None;
        for (i, &t) in target.iter().enumerate() {
            shape.push(match t {
                0 if !allow_zero => *x.shape.get(i).ok_or("0 (copy) past the input's rank")?,
                -1 if infer.is_none() => {
                    infer = Some(i);
                    1
                }
                t => to_dim(t)?,
            });
        }
        let total = numel(&x.shape)?;
        let known = numel(&shape)?;
        if let Some(i) = infer {
            if known == 0 || total % known != 0 {
                return Err(format!("cannot reshape {:?} to {target:?}", x.shape));
            }
            shape[i] = total / known;
        } else if known != total {
            return Err(format!(
                "cannot reshape {:?} ({total} elements) to {shape:?}",
                x.shape
            ));
        }
        let mut v = self.follow(n, &x, shape);
        v.pool_slot = None;
        v.ints = x.ints.clone();
        v.view = match (x.shape.as_slice(), v.shape.as_slice()) {
            ([n0, c, h, w], [n1, _]) if n0 == n1 => Some([*c, *h, *w]),
            _ => x.view.filter(|_| x.shape == v.shape),
        };
        self.set(n, 0, v)
    }

    /// A transposed activation no longer is a layer's N x C x H x W output: it loses its role.
    fn transpose(&mut self, n: &NodeProto, _idx: usize) -> Result<(), String> {
        let x = self.get(n, 0)?.clone();
        let r = x.shape.len();
        let perm: Vec<usize> = match attr_ints(n, "perm") {
            Some(p) => p
                .iter()
                .map(|&a| norm_axis(a, r, false))
                .collect::<Result<_, _>>()?,
            None => (0..r).rev().collect(),
        };
        let distinct: BTreeSet<usize> = perm.iter().copied().collect();
        if perm.len() != r || distinct.len() != r {
            return Err(format!("perm {perm:?} is not a permutation of {r} axes"));
        }
        let shape = perm.iter().map(|&p| x.shape[p]).collect();
        if !x.constant {
            self.skip(&n.op_type);
        }
        let v = Val {
            constant: x.constant,
            ..Val::data(shape)
        };
        self.set(n, 0, v)
    }

    /// Concat of 1-D constants (shape vectors) keeps their values; of activations, a new value
    /// (a layer reading it reads no single earlier layer's output).
    fn concat(&mut self, n: &NodeProto, _idx: usize) -> Result<(), String> {
        let ins: Vec<Val> = (0..n.input.len())
            .map(|i| self.get(n, i).cloned())
            .collect::<Result<_, _>>()?;
        let first = ins.first().ok_or("no inputs")?;
        let rank = first.shape.len();
        let axis = norm_axis(
            attr(n, "axis").ok_or("Concat needs an axis")?.i,
            rank,
            false,
        )?;
        let mut shape = first.shape.clone();
        shape[axis] = 0;
        for v in &ins {
            let same = v.shape.len() == rank
                && (0..rank).all(|i| i == axis || v.shape[i] == first.shape[i]);
            if !same {
                return Err(format!(
                    "shapes {:?} and {:?} cannot be concatenated on axis {axis}",
                    first.shape, v.shape
                ));
            }
            shape[axis] += v.shape[axis];
        }
        let ints = if rank == 1 {
            ins.iter()
                .map(|v| v.ints.clone())
                .collect::<Option<Vec<_>>>()
                .map(|v| v.concat())
                .filter(|v| v.len() <= MAX_INTS)
        } else {
            None
        };
        let constant = ins.iter().all(|v| v.constant);
        if !constant {
            self.skip(&n.op_type);
        }
        let v = Val {
            constant,
            ..Val::constant(shape, ints, None)
        };
        self.set(n, 0, v)
    }

    fn add_layer(
        &mut self,
        n: &NodeProto,
        idx: usize,
        mut layer: Layer,
        input: &Val,
        own: bool,
    ) -> Result<usize, String> {
        let base = clean(&node_label(n, idx));
        let mut name = base.clone();
        let mut k = 2;
        while self.layer_names.contains(&name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        // The simulator's own size rule for one image (a trace would be refused past it).
        if layer.count_bound(1).is_none_or(|b| b > MAX_LAYER_COUNT) {
            return Err(format!(
                "one image of this layer could take more than the {MAX_LAYER_COUNT:.3e} accesses the simulator counts exactly"
            ));
        }
        self.layer_names.insert(name.clone());
        layer.name = name;
        self.layers.push(layer);
        self.layer_inputs.push((input.src, own));
        Ok(self.layers.len() - 1)
    }

    fn weight_density(&mut self, layer: &str, w: &Val) -> f64 {
        match w.density {
            Some(d) if d > 0.0 => d,
            Some(_) => {
                let total = numel(&w.shape).unwrap_or(1).max(1);
                self.warnings.push(format!(
                    "layer `{layer}`: every weight is zero; weight_density set to 1/{total}, the smallest a trace holds"
                ));
                1.0 / total as f64
            }
            None => 1.0,
        }
    }

    /// Fit a Conv's window to the simulator's layer (one stride no larger than the filter, one
    /// symmetric pad): padding beyond the symmetric pad is counted as input, and any other
    /// stride becomes stride 1 over just the input the windows read. Returns whether the layer
    /// still reads its input tensor as it is (`own`); when not, a warning says how it changed.
    fn fit_window(&mut self, layer: &mut Layer, win: &Window, label: &str) -> bool {
        let (h, wd, kh, kw) = (layer.h, layer.w, layer.r, layer.s);
        let [oh, ow] = win.out;
        let [sh, sw] = win.stride;
        let mut own = true;
        if sh == sw && sh <= kh && sh <= kw {
            let total_h = win.pad_begin[0] + win.pad_end[0];
            let total_w = win.pad_begin[1] + win.pad_end[1];
            let p = (total_h / 2).min(total_w / 2);
            layer.stride = sh;
            layer.pad = p;
            layer.h = h + total_h - 2 * p;
            layer.w = wd + total_w - 2 * p;
            if (layer.h, layer.w) != (h, wd) {
                own = false;
                self.warnings.push(format!(
                    "layer `{label}`: padding {:?} (begin) / {:?} (end) is not symmetric: pad = {p} and the remaining padding rows/columns counted as input ({h}x{wd} -> {}x{})",
                    win.pad_begin, win.pad_end, layer.h, layer.w
                ));
            }
        } else {
            // The simulator needs stride <= filter: re-express as a stride-1 convolution over
            // just the input that the windows read. Same output size, MACs and weights.
            layer.stride = 1;
            layer.pad = 0;
            layer.h = oh + kh - 1;
            layer.w = ow + kw - 1;
            own = false;
            self.warnings.push(format!(
                "layer `{label}`: stride {sh}x{sw} with a {kh}x{kw} filter taken as stride 1 over the subsampled input {}x{} (same MACs and weights)",
                layer.h, layer.w
            ));
        }
        own
    }

    fn conv(&mut self, n: &NodeProto, idx: usize) -> Result<(), String> {
        let x = self.get(n, 0)?.clone();
        let w = self.get(n, 1)?.clone();
        let [batch, c, h, wd] = nchw(&x.shape, "convolutions")?;
        let [m, cg, kh, kw] = w.shape[..] else {
            return Err(format!(
                "weight shape {:?} is not M x C/group x kH x kW",
                w.shape
            ));
        };
        let groups = to_dim(attr_int(n, "group", 1))?;
        if groups == 0 || cg * groups != c || m % groups != 0 || m == 0 {
            return Err(format!(
                "group = {groups} does not fit input channels {c}, weight {:?}",
                w.shape
            ));
        }
        if let Some(k) = attr_ints(n, "kernel_shape") {
            if k != [kh as i64, kw as i64] {
                return Err(format!(
                    "kernel_shape {k:?} differs from the weight's {kh}x{kw}"
                ));
            }
        }
        let win = window(n, [h, wd], [kh, kw], false)?;
        if win.dilation != [1, 1] {
            return Err(format!(
                "dilations {:?}: dilated convolutions cannot be expressed as an Eyeriss layer",
                win.dilation
            ));
        }
        let [oh, ow] = win.out;
        let label = node_label(n, idx);
        let mut layer = Layer::conv("", c, h, wd, m, kh, kw);
        layer.groups = groups;
        layer.weight_density = self.weight_density(&label, &w);
        let own = self.fit_window(&mut layer, &win, &label);
        if (layer.e(), layer.f()) != (oh, ow) {
            return Err(format!(
                "internal: output {}x{} instead of {oh}x{ow}",
                layer.e(),
                layer.f()
            ));
        }
        let k = self.add_layer(n, idx, layer, &x, own)?;
        let out = Val {
            src: Src::Layer(k),
            pool_slot: Some(k),
            ..Val::data(vec![batch, m, oh, ow])
        };
        self.set(n, 0, out)
    }

    fn fc(&mut self, n: &NodeProto, idx: usize) -> Result<(), String> {
        let a = self.get(n, 0)?.clone();
        let b = self.get(n, 1)?.clone();
        let label = node_label(n, idx);
        let gemm = n.op_type == "Gemm";
        let (trans_a, trans_b) = if gemm {
            (attr_int(n, "transA", 0) != 0, attr_int(n, "transB", 0) != 0)
        } else {
            (false, false)
        };
        if !gemm && !b.constant {
            return Err(
                "MatMul of two activations (no constant 2-D weight) is not supported".into(),
            );
        }
        let [b0, b1] = b.shape[..] else {
            return Err(format!(
                "weight shape {:?}: only a 2-D weight is supported",
                b.shape
            ));
        };
        let (k, m) = if trans_b { (b1, b0) } else { (b0, b1) };
        let (rows, ka, out_shape) = match (a.shape.as_slice(), gemm) {
            ([r, ka], true) => {
                let (r, ka) = if trans_a { (*ka, *r) } else { (*r, *ka) };
                (vec![r], ka, vec![r, m])
            }
            ([.., ka], false) if a.shape.len() >= 2 => {
                let lead = a.shape[..a.shape.len() - 1].to_vec();
                let mut out = lead.clone();
                out.push(m);
                (lead, *ka, out)
            }
            _ => {
                return Err(format!(
                    "input shape {:?} does not fit a {} ",
                    a.shape, n.op_type
                ))
            }
        };
        if ka != k || m == 0 || k == 0 {
            return Err(format!(
                "input shape {:?} and weight shape {:?} do not multiply",
                a.shape, b.shape
            ));
        }
        // Rows past the batch dimension (a MatMul over a sequence) become the width of a 1x1
        // convolution: same MACs and weights.
        let extra = numel(rows.get(1..).unwrap_or(&[]))?;
        let (mut layer, own) = if extra > 1 {
            self.warnings.push(format!(
                "layer `{label}`: {} over {extra} rows per image taken as a 1x1 convolution over 1x{extra}",
                n.op_type
            ));
            (Layer::conv("", k, 1, extra, m, 1, 1), false)
        } else {
            let [c, h, w] = match a.view {
                Some([c, h, w]) if !trans_a && c * h * w == k => [c, h, w],
                _ => [k, 1, 1],
            };
            let mut l = Layer::conv("", c, h, w, m, h, w);
            l.kind = LayerKind::Fc;
            (l, true)
        };
        layer.weight_density = self.weight_density(&label, &b);
        let k = self.add_layer(n, idx, layer, &a, own)?;
        let out = Val {
            src: Src::Layer(k),
            ..Val::data(out_shape)
        };
        self.set(n, 0, out)
    }

    fn pool(&mut self, n: &NodeProto, _idx: usize) -> Result<(), String> {
        let x = self.get(n, 0)?.clone();
        let [batch, c, h, w] = nchw(&x.shape, "pooling")?;
        let global = n.op_type.starts_with("Global");
        let (out, candidates): ([usize; 2], Vec<Pool>) = if global {
            let cand = if h == w {
                vec![Pool {
                    kernel: h,
                    stride: h,
                    pad: 0,
                    ceil_mode: false,
                }]
            } else {
                vec![]
            };
            ([1, 1], cand)
        } else {
            let k = two(n, "kernel_shape", 0)?;
            if attr_ints(n, "kernel_shape").is_none() {
                return Err("kernel_shape is required".into());
            }
            let ceil = attr_int(n, "ceil_mode", 0) != 0;
            let win = window(n, [h, w], k, ceil)?;
            let mut cand = Vec::new();
            if win.kernel[0] == win.kernel[1]
                && win.stride[0] == win.stride[1]
                && win.dilation == [1, 1]
            {
                let pads: BTreeSet<usize> =
                    win.pad_begin.iter().chain(&win.pad_end).copied().collect();
                for &ceil_mode in &[ceil, !ceil] {
                    for &pad in &pads {
                        cand.push(Pool {
                            kernel: win.kernel[0],
                            stride: win.stride[0],
                            pad,
                            ceil_mode,
                        });
                    }
                }
            }
            (win.out, cand)
        };
        // Attach to the layer whose raw output this is, if a symmetric pool gives the same size.
        let mut src = Src::Other;
        if let (Some(k), true) = (x.pool_slot, self.single_consumer(n, 0)) {
            let l = &self.layers[k];
            if l.pool.is_none() && (l.e(), l.f()) == (h, w) {
                if let Some(p) = candidates
                    .into_iter()
                    .find(|p| p.out(h) == out[0] && p.out(w) == out[1])
                {
                    self.layers[k].pool = Some(p);
                    src = x.src;
                }
            }
        }
        if src == Src::Other {
            self.skip(&n.op_type);
        }
        let v = Val {
            src,
            ..Val::data(vec![batch, c, out[0], out[1]])
        };
        if n.output.len() > 1 {
            self.set(n, 1, Val::data(v.shape.clone()))?;
        }
        self.set(n, 0, v)
    }
}
