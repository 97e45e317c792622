//! torchpeek: open PyTorch, safetensors and ONNX model files without executing anything, and
//! describe what is inside them.
//!
//! Data flows one way: `source` (random access to bytes) -> `container` (what the bytes are) ->
//! `pickle` (a data-only machine) -> `torch` (tensors, modules, checkpoints) -> `document` (the one
//! model every face shows). Beside the flow: `stats`, `safety`, `health`, `diff`, `onnx`, `export`.

pub mod container;
pub mod diff;
pub mod document;
pub mod dtype;
pub mod error;
pub mod export;
pub mod health;
pub mod limits;
pub mod model;
pub mod onnx;
pub mod pickle;
pub mod safety;
pub mod source;
pub mod stats;
pub mod torch;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use document::{Document, Format, Kind, Stats, Tensor};
pub use error::{Error, Location, Result};
pub use model::{open, Model};
pub use source::{MemSource, Source};
#[cfg(not(target_arch = "wasm32"))]
pub use source::FileSource;
