//! Views the page draws that are not in the document's JSON contract: the ONNX graph (nodes in
//! topological order, initializers linked to their tensors), and the dtype table the JS reads.

pub mod dtypes;
pub mod onnx;
