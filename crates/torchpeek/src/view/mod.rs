//! Views the page draws that are not in the document's JSON contract: the graph of an ONNX model
//! (`onnx`), of a `.pt2`'s exported program (`pt2`) or of a TorchScript archive's code
//! (`torchscript`), in one shape (`graph_json` picks), and the dtype table the JS reads.

pub mod dtypes;
pub mod onnx;
pub mod pt2;
pub mod torchscript;

use crate::model::Model;
use serde_json::Value as Json;

/// The Graph view of any model that has a graph; None for the others. `expand`: a TorchScript
/// graph's submodule calls inlined (the others have none).
pub fn graph_json(model: &Model, expand: bool) -> Option<Json> {
    onnx::graph_json(model).or_else(|| pt2::graph_json(model)).or_else(|| torchscript::graph_json(model, expand))
}
