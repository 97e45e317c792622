//! `.npy` arrays in and out of the engine, over the core's codec (`torchpeek::container::npy`):
//! C order, any byte order in, little-endian out.

use crate::NamedArray;
use std::io::{Read, Write};
use torchpeek::container::npy::{descr_of, header, Header};
use torchpeek::error::{Error, Result};
use torchpeek::limits;

fn err(name: &str, e: impl std::fmt::Display) -> Error {
    Error::engine(format!("{name}: {e}"))
}

/// Reads a `.npy` (C order) into a NamedArray called `name`.
pub fn read(name: &str, mut r: impl Read) -> Result<NamedArray> {
    let mut bytes = Vec::new();
    r.by_ref()
        .take(limits::MAX_ENGINE_TENSOR_BYTES as u64 + (1 << 20))
        .read_to_end(&mut bytes)
        .map_err(|e| err(name, e))?;
    let h = Header::parse(&bytes, name).map_err(|e| err(name, format!("not a .npy file: {e}")))?;
    if h.fortran_order {
        return Err(err(name, "Fortran-order .npy files are not supported; save with C order"));
    }
    let shape: Vec<usize> = h
        .shape
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| err(name, format!("dimension {d} is too large"))))
        .collect::<Result<_>>()?;
    let item = h.dtype.itemsize() as usize;
    let len = shape
        .iter()
        .try_fold(item, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= limits::MAX_ENGINE_TENSOR_BYTES)
        .ok_or_else(|| err(name, format!("shape {shape:?} is too large")))?;
    let start = h.data_offset as usize;
    let mut data = bytes
        .get(start..start + len)
        .ok_or_else(|| err(name, format!("{} bytes of data, the shape needs {len}", bytes.len().saturating_sub(start))))?
        .to_vec();
    if h.big_endian {
        // Complex numbers swap each half.
        let part = if h.dtype.is_complex() { item / 2 } else { item };
        data.chunks_exact_mut(part).for_each(<[u8]>::reverse);
    }
    Ok(NamedArray { name: name.to_string(), dtype: h.dtype, shape, data })
}

/// Writes a NamedArray as a `.npy` (C order, little-endian).
pub fn write(a: &NamedArray, mut w: impl Write) -> Result<()> {
    a.check()?;
    let descr = descr_of(a.dtype).ok_or_else(|| err(&a.name, format!("cannot write dtype {} as .npy", a.dtype.name())))?;
    let shape: Vec<u64> = a.shape.iter().map(|&d| d as u64).collect();
    w.write_all(&header(descr, &shape)).and_then(|()| w.write_all(&a.data)).map_err(|e| err(&a.name, e))
}

/// A NamedArray as `.npy` bytes.
pub fn to_bytes(a: &NamedArray) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    write(a, &mut v)?;
    Ok(v)
}
