//! ONNX graph -> [`Architecture`] and weights, one handler per operator.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use ember_onnx::proto::{
    tensor_shape_proto::dimension::Value as Dim, AttributeProto, Message, ModelProto, NodeProto,
    TensorProto,
};
use ndarray::{ArrayD, Ix2};

use super::{floats, initializer};
use crate::error::{PrunerError, Result};
use crate::model::{Architecture, InputShape, LayerSpec, INPUT};
use crate::nn::Network;

/// An ONNX model read as an Ember network.
#[derive(Debug, Clone)]
pub struct Imported {
    pub arch: Architecture,
    /// Parameters and batch-norm statistics by Ember name (`conv1.weight`,
    /// `bn1.running_mean`), in Ember's layouts.
    pub tensors: BTreeMap<String, ArrayD<f32>>,
    /// Whether the graph ends in a Softmax (or LogSoftmax): Ember's network
    /// stops at the logits before it; accuracy is unchanged.
    pub softmax: bool,
    /// Ember tensor name -> (initializer name, stored transposed).
    bindings: Vec<(String, String, bool)>,
    model: ModelProto,
    path: PathBuf,
}

/// Operators the importer turns into layers or passes through.
pub const SUPPORTED: &[&str] = &[
    "Conv",
    "Gemm",
    "MatMul",
    "Relu",
    "MaxPool",
    "GlobalAveragePool",
    "BatchNormalization",
    "Add",
    "Concat",
    "Flatten",
    "Reshape",
    "Dropout",
    "Identity",
    "Softmax",
    "LogSoftmax",
];

/// A value flowing between nodes.
#[derive(Debug, Clone)]
enum Val {
    /// An activation: the Ember node that produces it (`None`: the network
    /// input), and whether it is flat (`[N, features]`).
    Act { node: Option<String>, flat: bool },
    /// A stored tensor (initializer or Constant).
    Const(String),
}

struct Builder<'a> {
    path: &'a Path,
    inits: HashMap<String, &'a TensorProto>,
    vals: HashMap<String, Val>,
    layers: Vec<LayerSpec>,
    names: HashSet<String>,
    tensors: BTreeMap<String, ArrayD<f32>>,
    bindings: Vec<(String, String, bool)>,
    softmax: bool,
}

fn err(path: &Path, reason: String) -> PrunerError {
    PrunerError::Onnx {
        path: path.to_path_buf(),
        reason,
    }
}

/// Reads the ONNX model in `bytes` (from `path`, for messages).
pub fn import(bytes: &[u8], path: &Path) -> Result<Imported> {
    let model = ModelProto::decode(bytes).map_err(|e| {
        err(
            path,
            format!("not an ONNX model ({e}); fix: give a .onnx file"),
        )
    })?;
    let g = model
        .graph
        .as_ref()
        .ok_or_else(|| err(path, "the model has no graph".into()))?;
    let unsupported: BTreeMap<&str, Vec<&str>> = g.node.iter().fold(BTreeMap::new(), |mut m, n| {
        if !SUPPORTED.contains(&n.op_type.as_str()) {
            m.entry(n.op_type.as_str())
                .or_default()
                .push(n.name.as_str());
        }
        m
    });
    if !unsupported.is_empty() {
        let list: Vec<String> = unsupported
            .iter()
            .map(|(op, nodes)| format!("{op} (nodes {})", nodes.join(", ")))
            .collect();
        return Err(err(
            path,
            format!(
                "unsupported operators: {}; Ember executes {}",
                list.join("; "),
                SUPPORTED.join(", ")
            ),
        ));
    }
    let mut b = Builder {
        path,
        inits: g.initializer.iter().map(|t| (t.name.clone(), t)).collect(),
        vals: HashMap::new(),
        layers: Vec::new(),
        names: HashSet::new(),
        tensors: BTreeMap::new(),
        bindings: Vec::new(),
        softmax: false,
    };
    for name in b.inits.keys() {
        b.vals.insert(name.clone(), Val::Const(name.clone()));
    }
    let input = b.input(g)?;
    let last_out = g.output.first().map(|o| o.name.clone()).unwrap_or_default();
    for (i, n) in g.node.iter().enumerate() {
        b.node(n, i, &last_out)
            .map_err(|e| err(path, format!("node {} ({}): {e}", label(n, i), n.op_type)))?;
    }
    let out = b.vals.get(&last_out).cloned();
    let last = b.layers.len().checked_sub(1);
    match out {
        Some(Val::Act { node: Some(n), .. })
            if last.and_then(|l| b.layers[l].name()) == Some(n.as_str()) => {}
        _ => {
            return Err(err(
                path,
                format!("the graph output {last_out:?} is not the last layer's output"),
            ))
        }
    }
    let name = if g.name.is_empty() {
        path.file_stem()
            .map_or("model".into(), |s| s.to_string_lossy().into_owned())
    } else {
        g.name.clone()
    };
    let mut arch = Architecture {
        name,
        num_classes: 0,
        input,
        layers: b.layers,
    };
    let nodes = arch.nodes().map_err(|e| err(path, e.to_string()))?;
    arch.num_classes = nodes.outputs.last().map_or(0, |a| a.features());
    arch.graph().map_err(|e| {
        err(
            path,
            format!("{e}; fix: end the graph in class scores [N, classes] (a Flatten before the classifier)"),
        )
    })?;
    Ok(Imported {
        arch,
        tensors: b.tensors,
        softmax: b.softmax,
        bindings: b.bindings,
        model,
        path: path.to_path_buf(),
    })
}

fn label(n: &NodeProto, i: usize) -> String {
    if n.name.is_empty() {
        format!("#{i}")
    } else {
        n.name.clone()
    }
}

fn attr<'a>(n: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    n.attribute.iter().find(|a| a.name == name)
}

fn attr_i(n: &NodeProto, name: &str, default: i64) -> i64 {
    attr(n, name).map_or(default, |a| a.i)
}

fn attr_ints(n: &NodeProto, name: &str) -> Option<Vec<i64>> {
    attr(n, name).map(|a| a.ints.clone())
}

/// A square 2-D attribute (kernel, strides) as one size.
fn square(n: &NodeProto, name: &str, default: Option<usize>) -> std::result::Result<usize, String> {
    match attr_ints(n, name) {
        None => default.ok_or(format!("needs the attribute {name}")),
        Some(v) if v.len() == 2 && v[0] == v[1] && v[0] > 0 => Ok(v[0] as usize),
        Some(v) => Err(format!(
            "{name} {v:?}: Ember needs equal positive height and width"
        )),
    }
}

/// Symmetric padding `[p, p, p, p]` as `p`.
fn pads(n: &NodeProto) -> std::result::Result<usize, String> {
    if let Some(a) = attr(n, "auto_pad") {
        let s = String::from_utf8_lossy(&a.s);
        if s != "NOTSET" && !s.is_empty() {
            return Err(format!(
                "auto_pad {s}: export with explicit pads (PyTorch does by default)"
            ));
        }
    }
    match attr_ints(n, "pads") {
        None => Ok(0),
        Some(v) if v.len() == 4 && v.iter().all(|&p| p == v[0] && p >= 0) => Ok(v[0] as usize),
        Some(v) => Err(format!(
            "pads {v:?}: Ember needs the same padding on every side"
        )),
    }
}

fn no_dilation(n: &NodeProto) -> std::result::Result<(), String> {
    match attr_ints(n, "dilations") {
        Some(d) if d.iter().any(|&x| x != 1) => Err(format!("dilations {d:?} are not supported")),
        _ => Ok(()),
    }
}

impl Builder<'_> {
    /// The network input: the first graph input that is not an initializer.
    fn input(&mut self, g: &ember_onnx::proto::GraphProto) -> Result<InputShape> {
        let inp = g
            .input
            .iter()
            .find(|i| !self.inits.contains_key(&i.name))
            .ok_or_else(|| err(self.path, "the graph has no input".into()))?;
        let dims: Vec<Option<i64>> = inp
            .r#type
            .as_ref()
            .and_then(|t| t.tensor_type.as_ref())
            .and_then(|t| t.shape.as_ref())
            .map(|s| {
                s.dim
                    .iter()
                    .map(|d| match &d.value {
                        Some(Dim::DimValue(v)) => Some(*v),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let fixed = |i: usize| dims.get(i).copied().flatten().filter(|&v| v > 0);
        let (Some(c), Some(h), Some(w), 4) = (fixed(1), fixed(2), fixed(3), dims.len()) else {
            return Err(err(
                self.path,
                format!(
                    "input {:?} must be N x C x H x W with fixed C, H and W (got {dims:?})",
                    inp.name
                ),
            ));
        };
        self.vals.insert(
            inp.name.clone(),
            Val::Act {
                node: None,
                flat: false,
            },
        );
        Ok(InputShape {
            channels: c as usize,
            height: h as usize,
            width: w as usize,
        })
    }

    fn get(&self, n: &NodeProto, i: usize) -> std::result::Result<Val, String> {
        let name = n.input.get(i).ok_or(format!("needs input {i}"))?;
        self.vals
            .get(name)
            .cloned()
            .ok_or(format!("reads {name:?}, which nothing before it produces"))
    }

    fn act(&self, n: &NodeProto, i: usize) -> std::result::Result<(Option<String>, bool), String> {
        match self.get(n, i)? {
            Val::Act { node, flat } => Ok((node, flat)),
            Val::Const(c) => Err(format!(
                "input {i} is the stored tensor {c:?}; Ember needs an activation there"
            )),
        }
    }

    fn constant(&self, n: &NodeProto, i: usize) -> std::result::Result<ArrayD<f32>, String> {
        match self.get(n, i)? {
            Val::Const(c) => floats(self.inits[&c]).map_err(|e| format!("initializer {c:?}: {e}")),
            Val::Act { .. } => Err(format!("input {i} must be a stored tensor (weights)")),
        }
    }

    fn const_name(&self, n: &NodeProto, i: usize) -> String {
        n.input.get(i).cloned().unwrap_or_default()
    }

    /// A unique Ember name: the weight initializer's prefix (`conv1` of
    /// `conv1.weight`, PyTorch's state-dict name) when there is one, else
    /// the node's name, else the operator and index.
    fn name(&mut self, n: &NodeProto, i: usize, weight: Option<&str>) -> String {
        let from_weight = weight
            .and_then(|w| w.strip_suffix(".weight"))
            .map(str::to_string);
        let clean = |s: &str| -> String {
            let t: String = s
                .trim_start_matches('/')
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || c == '_' || c == '.' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            t
        };
        let mut base = from_weight.filter(|s| !s.is_empty()).unwrap_or_else(|| {
            if n.name.is_empty() {
                String::new()
            } else {
                clean(&n.name)
            }
        });
        if base.is_empty() || base == INPUT {
            base = format!("{}_{i}", n.op_type.to_lowercase());
        }
        let mut name = base.clone();
        let mut k = 1;
        while !self.names.insert(name.clone()) {
            k += 1;
            name = format!("{base}_{k}");
        }
        name
    }

    /// Appends `spec` (named `name`) reading `src`, and binds `out`.
    fn push(&mut self, n: &NodeProto, spec: LayerSpec, name: String, flat: bool) {
        self.layers.push(spec);
        if let Some(out) = n.output.first() {
            self.vals.insert(
                out.clone(),
                Val::Act {
                    node: Some(name),
                    flat,
                },
            );
        }
    }

    /// The `input` field for reading `src`: `None` when it is the previous
    /// layer (a plain chain stays a plain list).
    fn src(&self, src: &Option<String>) -> Option<String> {
        let prev = self
            .layers
            .last()
            .and_then(|l| l.name().map(str::to_string));
        match src {
            None if self.layers.is_empty() => None,
            None => Some(INPUT.to_string()),
            Some(s) if prev.as_deref() == Some(s.as_str()) => None,
            Some(s) => Some(s.clone()),
        }
    }

    fn bind(&mut self, ember: String, init: String, transposed: bool, value: ArrayD<f32>) {
        if !init.is_empty() {
            self.bindings.push((ember.clone(), init, transposed));
        }
        self.tensors.insert(ember, value);
    }

    /// Passes input 0 through as output 0.
    fn alias(&mut self, n: &NodeProto) -> std::result::Result<(), String> {
        let v = self.get(n, 0)?;
        if let Some(out) = n.output.first() {
            self.vals.insert(out.clone(), v);
        }
        Ok(())
    }

    fn node(&mut self, n: &NodeProto, i: usize, last_out: &str) -> std::result::Result<(), String> {
        match n.op_type.as_str() {
            "Conv" => self.conv(n, i),
            "Gemm" | "MatMul" => self.linear(n, i),
            "BatchNormalization" => self.batch_norm(n, i),
            "Relu" => self.unary(n, i, |name, input| LayerSpec::Relu {
                name: Some(name),
                input,
            }),
            "MaxPool" => self.max_pool(n, i),
            "GlobalAveragePool" => {
                let (src, _) = self.act(n, 0)?;
                let name = self.name(n, i, None);
                let spec = LayerSpec::GlobalAvgPool {
                    name: Some(name.clone()),
                    input: self.src(&src),
                };
                self.push(n, spec, name, true);
                Ok(())
            }
            "Flatten" | "Reshape" => self.flatten(n, i),
            "Add" | "Concat" => self.join(n, i),
            "Dropout" | "Identity" => self.alias(n),
            "Softmax" | "LogSoftmax" => {
                if n.output.first().map(String::as_str) != Some(last_out) {
                    return Err("a softmax is supported only as the graph's last node".into());
                }
                self.softmax = true;
                // The graph output is the logits before it.
                let v = self.get(n, 0)?;
                self.vals.insert(last_out.to_string(), v);
                Ok(())
            }
            other => Err(format!("unsupported operator {other}")),
        }
    }

    fn unary(
        &mut self,
        n: &NodeProto,
        i: usize,
        make: impl FnOnce(String, Option<String>) -> LayerSpec,
    ) -> std::result::Result<(), String> {
        let (src, flat) = self.act(n, 0)?;
        let name = self.name(n, i, None);
        let spec = make(name.clone(), self.src(&src));
        self.push(n, spec, name, flat);
        Ok(())
    }

    fn conv(&mut self, n: &NodeProto, i: usize) -> std::result::Result<(), String> {
        let (src, flat) = self.act(n, 0)?;
        if flat {
            return Err("a convolution needs a spatial input".into());
        }
        let w = self.constant(n, 1)?;
        let [m, cg, r, s] = *w.shape() else {
            return Err(format!("weight shape {:?} is not 4-D", w.shape()));
        };
        let k = square(n, "kernel_shape", Some(r))?;
        if (r, s) != (k, k) {
            return Err(format!("kernel {r}x{s}: Ember needs square kernels"));
        }
        no_dilation(n)?;
        let groups = attr_i(n, "group", 1).max(1) as usize;
        let (stride, padding) = (square(n, "strides", Some(1))?, pads(n)?);
        let wname = self.const_name(n, 1);
        let name = self.name(n, i, Some(&wname));
        let spec = LayerSpec::Conv2d {
            name: name.clone(),
            input: self.src(&src),
            in_channels: cg * groups,
            out_channels: m,
            kernel_size: [k, k],
            stride,
            padding,
            groups,
        };
        self.bind(format!("{name}.weight"), wname, false, w);
        self.bias(n, 2, &name, m)?;
        self.push(n, spec, name, false);
        Ok(())
    }

    /// The bias at input `at` (zeros when absent), shape `[m]`.
    fn bias(
        &mut self,
        n: &NodeProto,
        at: usize,
        name: &str,
        m: usize,
    ) -> std::result::Result<(), String> {
        let (b, init) = match n.input.get(at).filter(|s| !s.is_empty()) {
            Some(_) => (self.constant(n, at)?, self.const_name(n, at)),
            None => (ArrayD::zeros(vec![m]), String::new()),
        };
        if b.len() != m {
            return Err(format!("bias of {} values for {m} outputs", b.len()));
        }
        let b = b
            .into_shape_with_order(vec![m])
            .map_err(|e| e.to_string())?;
        self.bind(format!("{name}.bias"), init, false, b);
        Ok(())
    }

    fn linear(&mut self, n: &NodeProto, i: usize) -> std::result::Result<(), String> {
        let (src, flat) = self.act(n, 0)?;
        if !flat {
            return Err(
                "a fully connected layer needs a flattened input (Flatten before it)".into(),
            );
        }
        let gemm = n.op_type == "Gemm";
        if gemm
            && (attr_i(n, "transA", 0) != 0
                || attr(n, "alpha").is_some_and(|a| a.f != 1.0)
                || attr(n, "beta").is_some_and(|a| a.f != 1.0))
        {
            return Err("Gemm with transA, alpha or beta other than 0, 1, 1".into());
        }
        let b = self
            .constant(n, 1)?
            .into_dimensionality::<Ix2>()
            .map_err(|_| "weight must be 2-D".to_string())?;
        // Ember's (and PyTorch's) layout is [out, in].
        let trans_b = gemm && attr_i(n, "transB", 0) != 0;
        let w = if trans_b {
            b
        } else {
            b.t().as_standard_layout().into_owned()
        };
        let (out, inp) = w.dim();
        let wname = self.const_name(n, 1);
        let name = self.name(n, i, Some(&wname));
        let spec = LayerSpec::Linear {
            name: name.clone(),
            input: self.src(&src),
            in_features: inp,
            out_features: out,
        };
        self.bind(format!("{name}.weight"), wname, !trans_b, w.into_dyn());
        // MatMul has no bias input: zeros.
        self.bias(n, if gemm { 2 } else { n.input.len() }, &name, out)?;
        self.push(n, spec, name, true);
        Ok(())
    }

    fn batch_norm(&mut self, n: &NodeProto, i: usize) -> std::result::Result<(), String> {
        let (src, flat) = self.act(n, 0)?;
        if flat {
            return Err("batch norm over flat features is not supported".into());
        }
        let eps = attr(n, "epsilon").map_or(1e-5, |a| a.f);
        if (eps - 1e-5).abs() > 1e-9 {
            return Err(format!(
                "epsilon {eps}: Ember's batch norm uses PyTorch's 1e-5"
            ));
        }
        if attr_i(n, "training_mode", 0) != 0 {
            return Err("training_mode = 1: export the model in eval mode".into());
        }
        let gname = self.const_name(n, 1);
        let name = self.name(n, i, Some(&gname));
        let c = self.constant(n, 1)?.len();
        for (k, what) in [
            (1, "weight"),
            (2, "bias"),
            (3, "running_mean"),
            (4, "running_var"),
        ] {
            let v = self.constant(n, k)?;
            if v.len() != c {
                return Err(format!("{what} has {} values for {c} channels", v.len()));
            }
            let v = v
                .into_shape_with_order(vec![c])
                .map_err(|e| e.to_string())?;
            let init = self.const_name(n, k);
            self.bind(format!("{name}.{what}"), init, false, v);
        }
        let spec = LayerSpec::BatchNorm2d {
            name: name.clone(),
            input: self.src(&src),
            channels: c,
        };
        self.push(n, spec, name, false);
        Ok(())
    }

    fn max_pool(&mut self, n: &NodeProto, i: usize) -> std::result::Result<(), String> {
        if attr_i(n, "ceil_mode", 0) != 0 {
            return Err("ceil_mode = 1 is not supported".into());
        }
        no_dilation(n)?;
        let k = square(n, "kernel_shape", None)?;
        let (stride, padding) = (square(n, "strides", Some(1))?, pads(n)?);
        self.unary(n, i, |name, input| LayerSpec::MaxPool2d {
            name: Some(name),
            input,
            kernel_size: k,
            stride,
            padding,
        })
    }

    /// Flatten (axis 1), or a Reshape to `[N, features]`; a no-op on an
    /// input that is already flat (after a global pool).
    fn flatten(&mut self, n: &NodeProto, i: usize) -> std::result::Result<(), String> {
        if n.op_type == "Flatten" && attr_i(n, "axis", 1) != 1 {
            return Err("Flatten with axis other than 1".into());
        }
        if n.op_type == "Reshape" {
            let shape = self
                .inits
                .get(&self.const_name(n, 1))
                .map(|t| t.int64_data.clone());
            let raw = self.inits.get(&self.const_name(n, 1)).map(|t| {
                t.raw_data
                    .chunks_exact(8)
                    .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
                    .collect::<Vec<i64>>()
            });
            let dims = match (shape, raw) {
                (Some(s), _) if !s.is_empty() => s,
                (_, Some(r)) => r,
                _ => return Err("Reshape needs a stored target shape".into()),
            };
            if dims.len() != 2 || dims[1] == 0 {
                return Err(format!(
                    "Reshape to {dims:?}: only [N, features] is supported"
                ));
            }
        }
        let (src, flat) = self.act(n, 0)?;
        if flat {
            return self.alias(n);
        }
        let name = self.name(n, i, None);
        let spec = LayerSpec::Flatten {
            name: Some(name.clone()),
            input: self.src(&src),
        };
        self.push(n, spec, name, true);
        Ok(())
    }

    fn join(&mut self, n: &NodeProto, i: usize) -> std::result::Result<(), String> {
        if n.op_type == "Concat" && attr_i(n, "axis", 1) != 1 {
            return Err("Concat along an axis other than the channels (1)".into());
        }
        let mut inputs = Vec::new();
        for k in 0..n.input.len() {
            let (src, flat) = self.act(n, k)?;
            if flat {
                return Err(format!("{} of flat features is not supported", n.op_type));
            }
            inputs.push(src.unwrap_or_else(|| INPUT.to_string()));
        }
        let name = self.name(n, i, None);
        let spec = match n.op_type.as_str() {
            "Add" => LayerSpec::Add {
                name: Some(name.clone()),
                inputs,
            },
            _ => LayerSpec::Concat {
                name: Some(name.clone()),
                inputs,
            },
        };
        self.push(n, spec, name, false);
        Ok(())
    }
}

impl Imported {
    /// The executable network with the model's weights and statistics.
    pub fn network(&self) -> Result<Network> {
        let mut net = Network::new(self.arch.clone(), 0)?;
        for (name, p) in net.params_mut() {
            let v = self.tensors.get(&name).ok_or_else(|| PrunerError::Onnx {
                path: self.path.clone(),
                reason: format!("no value for {name}"),
            })?;
            p.set_value(&name, v.clone())?;
        }
        for bn in net.batch_norms_mut() {
            bn.running_mean = self.tensors[&format!("{}.running_mean", bn.name)].clone();
            bn.running_var = self.tensors[&format!("{}.running_var", bn.name)].clone();
        }
        Ok(net)
    }

    /// The model as read, with every initializer Ember owns replaced by
    /// `net`'s value (pruned weights are zeros; fine-tuned values and
    /// statistics included), serialized.
    pub fn write_pruned(&self, net: &Network) -> Vec<u8> {
        let mut values: BTreeMap<String, ArrayD<f32>> = net
            .params()
            .into_iter()
            .map(|(n, p)| (n, p.value().clone()))
            .collect();
        values.extend(net.buffers().into_iter().map(|(n, v)| (n, v.clone())));
        let mut model = self.model.clone();
        let g = model.graph.as_mut().expect("checked on import");
        for (ember, init, transposed) in &self.bindings {
            let Some(v) = values.get(ember) else { continue };
            let v = if *transposed {
                v.view()
                    .into_dimensionality::<Ix2>()
                    .expect("2-D fc weight")
                    .t()
                    .as_standard_layout()
                    .into_owned()
                    .into_dyn()
            } else {
                v.clone()
            };
            if let Some(t) = g.initializer.iter_mut().find(|t| &t.name == init) {
                let dims = t.dims.clone();
                *t = initializer(init, &v);
                t.dims = dims;
            }
        }
        model.encode_to_vec()
    }
}
