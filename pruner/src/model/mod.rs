//! Architectures, their geometry, and model files.

mod arch;
mod io;
mod shape;
pub mod zoo;

pub use arch::{Architecture, InputShape, LayerSpec};
pub use io::{load_model, save_model, ARCH_FILE, MASKS_FILE, WEIGHTS_FILE};
pub use shape::{LayerKind, LayerShape};
