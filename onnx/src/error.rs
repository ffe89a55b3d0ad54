use std::path::PathBuf;

/// Everything that can go wrong reading an ONNX model. Never a panic: malformed, truncated or
/// hostile files end in one of these.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    #[error("{}: cannot read the model: {source}; fix: check the path (relative paths are taken from the current directory)", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{name}: not a valid ONNX model (protobuf decoding failed: {source}); fix: check that the file is a complete .onnx export (it may be truncated, or another format)")]
    Decode {
        name: String,
        #[source]
        source: prost::DecodeError,
    },

    #[error("{name}: the model has no graph; fix: export the model with its graph (e.g. torch.onnx.export)")]
    NoGraph { name: String },

    /// Operators the importer does not know, each with the names of the nodes that use it.
    #[error("{name}: unsupported ONNX operators: {}; fix: export the model without them (the supported operators are listed in the README), or write its layers as a trace by hand", list_ops(.ops))]
    Unsupported {
        name: String,
        /// (op type with its domain if not the default one, node names)
        ops: Vec<(String, Vec<String>)>,
    },

    /// The graph's input cannot be given a static N x C x H x W shape.
    #[error("{name}: input: {reason}; fix: give the input shape with --input-shape CxHxW (e.g. 3x224x224)")]
    Input { name: String, reason: String },

    /// A node whose shapes cannot be inferred, or that uses a supported operator in a way the
    /// importer cannot express (dilation, non-constant reshape shape, ...).
    #[error("{name}: node `{node}` ({op}): {reason}; fix: export the model without this form of {op}, or write its layers as a trace by hand")]
    Node {
        name: String,
        node: String,
        op: String,
        reason: String,
    },

    /// A tensor whose stored data does not fit its declared type and shape.
    #[error(
        "{name}: tensor `{tensor}`: {reason}; fix: re-export the model (the file may be damaged)"
    )]
    Tensor {
        name: String,
        tensor: String,
        reason: String,
    },

    /// The nodes form a cycle or read a value that nothing produces.
    #[error("{name}: graph: {reason}; fix: re-export the model (the file may be damaged)")]
    Graph { name: String, reason: String },

    #[error(
        "{name}: the graph has no Conv, Gemm or MatMul node: nothing for the accelerator to run; fix: give a model with convolution or fully connected layers"
    )]
    NoLayers { name: String },

    /// The imported network breaks a rule of the simulator's trace format (a bug in the importer
    /// if it ever happens; reported rather than hidden).
    #[error("{name}: the imported network is not a valid trace: {source}; fix: this is a bug in the importer, please report it with the model")]
    Invalid {
        name: String,
        #[source]
        source: Box<ember_sim::SimError>,
    },
}

fn list_ops(ops: &[(String, Vec<String>)]) -> String {
    ops.iter()
        .map(|(op, nodes)| format!("{op} (nodes: {})", nodes.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}
