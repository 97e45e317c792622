//! ONNX models: the graph summary, initializers as tensors, and (feature `engine`) inference.

use crate::document::Document;
use crate::error::{Error, Location, Result};
use crate::source::Source;

/// True when the first bytes look like an ONNX ModelProto.
pub fn looks_like_onnx(_head: &[u8]) -> bool {
    false
}

/// Reads an ONNX model (and its external data files) into a Document.
pub fn read(sources: &[Box<dyn Source>]) -> Result<Document> {
    Err(Error::unsupported(Location::member(sources[0].name()), "ONNX is not read yet"))
}
