//! What crosses the engine's API and what every load checks before tract sees a model:
//!
//! - a model's inputs and outputs as it declares them (`IoInfo`, `Dim`), and tensors as
//!   `NamedArray`s (a name, a dtype, a shape and little-endian bytes), with their size checks;
//! - a model file read whole within `MAX_ENGINE_MODEL_BYTES`, ONNX's element type of a dtype, and
//!   the error naming the operators the engine cannot run.
//!
//! Shared by `session` (ONNX) and `pt2` (a `.pt2` translated to ONNX), so neither imports the other's
//! internals.

use serde::Serialize;
use torchpeek::container::onnx::schema::{elem_type_from_name, elem_type_name_of};
use torchpeek::dtype::DType;
use torchpeek::error::{Error, Result};
use torchpeek::source::Source;

/// One dimension of a model input or output as declared in the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Dim {
    Fixed(u64),
    /// A symbolic dimension, by name (`batch`).
    Symbol(String),
    /// Not given in the model.
    Unknown,
}

/// A model input or output: its name, element type and declared shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IoInfo {
    pub name: String,
    /// ONNX's name: `FLOAT`, `INT64` ...
    pub elem_type: String,
    /// torchpeek's dtype, where the element type has one.
    pub dtype: Option<DType>,
    /// None when the rank is unknown.
    pub shape: Option<Vec<Dim>>,
}

/// A tensor crossing the engine's API: row-major, little-endian bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedArray {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

impl NamedArray {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Checks that the bytes make exactly one tensor of the dtype and shape.
    pub fn check(&self) -> Result<()> {
        check_bytes(&self.name, self.dtype, &self.shape, self.data.len())
    }
}

/// The bytes of a tensor of `dtype` and `shape`; None when that overflows.
pub(crate) fn tensor_bytes(dtype: DType, shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).and_then(|n| n.checked_mul(dtype.itemsize() as usize))
}

/// Checks that `len` bytes make exactly one tensor of `dtype` and `shape`.
pub(crate) fn check_bytes(name: &str, dtype: DType, shape: &[usize], len: usize) -> Result<()> {
    if tensor_bytes(dtype, shape) != Some(len) {
        return Err(Error::engine(format!(
            "{name:?}: {len} bytes do not make a {} tensor of shape {shape:?}",
            dtype.name()
        )));
    }
    Ok(())
}

/// The error for operators the engine cannot run, each described with its node (the first ten).
pub(crate) fn unsupported(missing: &[String]) -> Error {
    let shown: Vec<&str> = missing.iter().take(10).map(|s| s.as_str()).collect();
    let more = if missing.len() > 10 { format!(" and {} more", missing.len() - 10) } else { String::new() };
    Error::engine(format!("unsupported operator{}: {}{more}", if missing.len() > 1 { "s" } else { "" }, shown.join(", ")))
}

/// The whole of a model file, refused past `MAX_ENGINE_MODEL_BYTES`.
pub(crate) fn read_model(file: &dyn Source) -> Result<std::borrow::Cow<'_, [u8]>> {
    let max = torchpeek::limits::MAX_ENGINE_MODEL_BYTES;
    if file.len() > max {
        return Err(Error::engine(format!("{}: {} bytes is too large to run (the engine reads a model file of at most {max} bytes)", file.name(), file.len())));
    }
    Ok(match file.bytes() {
        Some(bytes) => bytes.into(),
        None => file.read_vec(0, file.len())?.into(),
    })
}

/// ONNX's element type number for a dtype.
pub(crate) fn elem_type(d: DType) -> Option<i32> {
    elem_type_name_of(d).and_then(elem_type_from_name)
}
