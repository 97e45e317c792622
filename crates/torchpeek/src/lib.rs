//! torchpeek: open PyTorch, safetensors and ONNX model files without executing anything, and
//! describe what is inside them.
//!
//! Data flows one way: `source` (random access to bytes) -> `container` (what the bytes are, and
//! their readers) -> `pickle` (a data-only machine) -> `torch` (tensors, modules, checkpoints) ->
//! `document` (the one model every face shows). `open` puts a `model` together: the document, the
//! sources, and the `safety` verdict. Over a model: `read` (tensor data), `stats`, `health`,
//! `diff`, `export`, and `view` (the graph the page draws). `arch` describes the architecture
//! from the weights' names and shapes.

pub mod arch;
pub mod container;
pub mod diff;
pub mod document;
pub mod dtype;
pub mod error;
pub mod export;
pub mod health;
pub mod limits;
pub mod model;
pub mod open;
pub mod pickle;
pub mod read;
pub mod safety;
pub mod source;
pub mod stats;
pub mod torch;
pub mod view;

pub use document::{Document, Format, Kind, Stats, Tensor};
pub use error::{Error, Location, Result};
pub use model::Model;
pub use open::open;
pub use source::{MemSource, Source};
#[cfg(not(target_arch = "wasm32"))]
pub use source::FileSource;
