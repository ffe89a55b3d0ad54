//! ONNX models as executable networks, and back.
//!
//! [`import`] turns an ONNX CNN (the operators a PyTorch or Keras CNN
//! exports: Conv, Gemm/MatMul, Relu, MaxPool, GlobalAveragePool,
//! BatchNormalization, Add, Concat, Flatten/Reshape, and Dropout/Identity,
//! plus a final Softmax) into an [`Architecture`] and its weights; anything
//! else is listed by node name and refused. [`export`] writes a network as
//! ONNX (opset 13), and [`Imported::write_pruned`] writes the user's own
//! graph back with the pruned and fine-tuned initializers, so a model goes
//! from PyTorch through Ember and back unchanged but for its weights.
//!
//! Layouts: ONNX activations are NCHW and Ember's NHWC, but weights share
//! PyTorch's OIHW, and Flatten's (C, H, W) order is Ember's too, so tensors
//! move across unchanged except a Gemm weight stored as `[in, out]`
//! (`transB = 0`), which is transposed.

mod export;
mod import;

use ember_onnx::proto::{data_type, TensorProto};
use ndarray::{ArrayD, IxDyn};

pub use export::export;
pub use import::{import, Imported};

/// The f32 values of an initializer.
fn floats(t: &TensorProto) -> Result<ArrayD<f32>, String> {
    let shape: Vec<usize> = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("negative dimension {d}")))
        .collect::<Result<_, _>>()?;
    let n: usize = shape.iter().product();
    if t.data_location == 1 || !t.external_data.is_empty() {
        return Err(
            "its data is in an external file; fix: save the model with its weights \
                    inside (onnx.save(model, path, save_as_external_data=False))"
                .into(),
        );
    }
    let values: Vec<f32> = match t.data_type {
        data_type::FLOAT if !t.raw_data.is_empty() => t
            .raw_data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        data_type::FLOAT => t.float_data.clone(),
        data_type::DOUBLE if !t.raw_data.is_empty() => t
            .raw_data
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
            .collect(),
        data_type::DOUBLE => t.double_data.iter().map(|&v| v as f32).collect(),
        other => return Err(format!("data type {other} is not float (1) or double (11)")),
    };
    if values.len() != n {
        return Err(format!(
            "holds {} values but its shape {shape:?} needs {n}",
            values.len()
        ));
    }
    ArrayD::from_shape_vec(IxDyn(&shape), values).map_err(|e| e.to_string())
}

/// An f32 initializer named `name`.
fn initializer(name: &str, a: &ArrayD<f32>) -> TensorProto {
    TensorProto {
        dims: a.shape().iter().map(|&d| d as i64).collect(),
        data_type: data_type::FLOAT,
        name: name.to_string(),
        raw_data: a.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..TensorProto::default()
    }
}
