//! One tensor as a NumPy `.npy` file (format version 1.0):
//! elements in row-major order of the view, in the tensor's own dtype where NumPy has it. NumPy has
//! no bfloat16, float8 or quantized dtypes: those are written as float32 (quantized ones
//! dequantized), and complex32 as complex64.

use crate::container::npy::{descr_of, header};
use crate::document::{Layout, Tensor};
use crate::dtype::DType;
use crate::error::{Error, Location, Result};
use crate::export::chunk_elements;
use crate::read::{buffer_for, read_elements, Dequant};
use crate::model::Model;

/// How a tensor is written: its NumPy type string and the dtype of the written elements.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyForm {
    /// NumPy's type string (`<f4`, `|b1` ...).
    pub descr: &'static str,
    /// The dtype the file holds: the tensor's own, or float32 / complex64 when converted.
    pub dtype: DType,
}

impl NpyForm {
    /// The form of tensor `t`; sparse tensors have none.
    pub fn of(t: &Tensor) -> Result<NpyForm> {
        use DType::*;
        if t.layout == Layout::SparseCoo {
            return Err(Error::unsupported(Location::member(t.path.join(".")), "a sparse tensor has no .npy form"));
        }
        let dtype = match t.dtype {
            Complex32 | BComplex32 => Complex64,
            d if descr_of(d).is_none() => Float32,
            d => d,
        };
        Ok(NpyForm { descr: descr_of(dtype).expect("a dtype NumPy has"), dtype })
    }

    /// Elements per slice: `limits::STREAM_CHUNK` bytes of the larger of the stored and written forms.
    pub fn step(&self, t: &Tensor) -> u64 {
        chunk_elements(self.dtype.itemsize().max(t.dtype.itemsize()))
    }

    /// True when the elements are copied as they are stored.
    pub fn is_raw(&self, t: &Tensor) -> bool {
        self.dtype == t.dtype
    }

    /// The file's header (`container::npy::header`).
    pub fn header(&self, shape: &[u64]) -> Vec<u8> {
        header(self.descr, shape)
    }
}

/// Elements `first..first + count` of tensor `t` in its `.npy` form, as the file holds them.
pub fn chunk(model: &Model, t: &Tensor, first: u64, count: u64) -> Result<Vec<u8>> {
    let form = NpyForm::of(t)?;
    let item = t.dtype.itemsize();
    let mut raw = buffer_for(t, first, count)?;
    read_elements(model, t, first, &mut raw)?;
    if form.is_raw(t) {
        return Ok(raw);
    }
    let mut out = Vec::with_capacity(count as usize * form.dtype.itemsize() as usize);
    if form.dtype == DType::Complex64 {
        for b in raw.chunks_exact(item as usize) {
            out.extend_from_slice(&(t.dtype.decode(b) as f32).to_le_bytes());
            out.extend_from_slice(&(t.dtype.decode_imag(b) as f32).to_le_bytes());
        }
        return Ok(out);
    }
    let dq = Dequant::new(t)?;
    for (k, b) in raw.chunks_exact(item as usize).enumerate() {
        let v = t.dtype.decode(b);
        let v = match &dq {
            Some(dq) => dq.apply(v, first + k as u64),
            None => v,
        };
        out.extend_from_slice(&(v as f32).to_le_bytes());
    }
    Ok(out)
}
