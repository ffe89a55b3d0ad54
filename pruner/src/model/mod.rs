//! Architectures, their geometry, and model files.

mod arch;
mod io;
pub mod onnx;
mod shape;
pub mod zoo;

pub use arch::{Act, Architecture, Graph, InputShape, LayerSpec, Src, INPUT};
pub use io::{load_any, load_model, save_model, Loaded, ARCH_FILE, MASKS_FILE, WEIGHTS_FILE};
pub use shape::{LayerKind, LayerShape};
