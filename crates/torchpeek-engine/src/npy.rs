//! `.npy` files: read into, and written from, NamedArrays.
use crate::NamedArray;
use torchpeek::dtype::DType;
use torchpeek::error::{Error, Result};
use npyz::{TypeChar, WriterBuilder};
use std::io::{Read, Write};

fn err(name: &str, e: impl std::fmt::Display) -> Error {
    Error::engine(format!("{name}: {e}"))
}

fn read_as<T: npyz::Deserialize, R: Read>(
    file: npyz::NpyFile<R>,
    name: &str,
    to_le: impl Fn(&T, &mut Vec<u8>),
) -> Result<Vec<u8>> {
    let vals: Vec<T> = file.into_vec().map_err(|e| err(name, e))?;
    let mut out = Vec::with_capacity(vals.len() * std::mem::size_of::<T>());
    for v in &vals {
        to_le(v, &mut out);
    }
    Ok(out)
}

/// Reads a `.npy` (C order) into a NamedArray called `name`.
pub fn read(name: &str, r: impl Read) -> Result<NamedArray> {
    let file = npyz::NpyFile::new(r).map_err(|e| err(name, format!("not a .npy file: {e}")))?;
    if file.order() == npyz::Order::Fortran {
        return Err(err(name, "Fortran-order .npy files are not supported; save with C order"));
    }
    let shape: Vec<usize> = file
        .shape()
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| err(name, format!("dimension {d} is too large"))))
        .collect::<Result<_>>()?;
    let npyz::DType::Plain(ts) = file.dtype() else {
        return Err(err(name, "structured .npy arrays are not supported"));
    };
    let (tc, size) = (ts.type_char(), ts.size_field());
    let (dtype, data) = match (tc, size) {
        (TypeChar::Float, 4) => (DType::Float32, read_as::<f32, _>(file, name, |v, o| o.extend(v.to_le_bytes()))?),
        (TypeChar::Float, 8) => (DType::Float64, read_as::<f64, _>(file, name, |v, o| o.extend(v.to_le_bytes()))?),
        (TypeChar::Float, 2) => {
            (DType::Float16, read_as::<half::f16, _>(file, name, |v, o| o.extend(v.to_le_bytes()))?)
        }
        (TypeChar::Int, 8) => (DType::Int64, read_as::<i64, _>(file, name, |v, o| o.extend(v.to_le_bytes()))?),
        (TypeChar::Int, 4) => (DType::Int32, read_as::<i32, _>(file, name, |v, o| o.extend(v.to_le_bytes()))?),
        (TypeChar::Int, 2) => (DType::Int16, read_as::<i16, _>(file, name, |v, o| o.extend(v.to_le_bytes()))?),
        (TypeChar::Int, 1) => (DType::Int8, read_as::<i8, _>(file, name, |v, o| o.extend(v.to_le_bytes()))?),
        (TypeChar::Uint, 8) => (DType::UInt64, read_as::<u64, _>(file, name, |v, o| o.extend(v.to_le_bytes()))?),
        (TypeChar::Uint, 4) => (DType::UInt32, read_as::<u32, _>(file, name, |v, o| o.extend(v.to_le_bytes()))?),
        (TypeChar::Uint, 2) => (DType::UInt16, read_as::<u16, _>(file, name, |v, o| o.extend(v.to_le_bytes()))?),
        (TypeChar::Uint, 1) => (DType::UInt8, read_as::<u8, _>(file, name, |v, o| o.push(*v))?),
        (TypeChar::Bool, 1) => (DType::Bool, read_as::<bool, _>(file, name, |v, o| o.push(*v as u8))?),
        _ => return Err(err(name, format!(".npy dtype {ts} is not supported"))),
    };
    Ok(NamedArray { name: name.to_string(), dtype, shape, data })
}

fn write_as<T: npyz::Serialize + npyz::AutoSerialize, W: Write>(
    a: &NamedArray,
    w: W,
    size: usize,
    from_le: impl Fn(&[u8]) -> T,
) -> Result<()> {
    let shape: Vec<u64> = a.shape.iter().map(|&d| d as u64).collect();
    let mut writer =
        npyz::WriteOptions::new().default_dtype().shape(&shape).writer(w).begin_nd().map_err(|e| err(&a.name, e))?;
    for c in a.data.chunks_exact(size) {
        writer.push(&from_le(c)).map_err(|e| err(&a.name, e))?;
    }
    writer.finish().map_err(|e| err(&a.name, e))
}

/// Writes a NamedArray as a `.npy` (C order, little-endian).
pub fn write(a: &NamedArray, w: impl Write) -> Result<()> {
    a.check()?;
    fn arr<const N: usize>(c: &[u8]) -> [u8; N] {
        let mut b = [0u8; N];
        b.copy_from_slice(&c[..N]);
        b
    }
    match a.dtype {
        DType::Float32 => write_as(a, w, 4, |c| f32::from_le_bytes(arr(c))),
        DType::Float64 => write_as(a, w, 8, |c| f64::from_le_bytes(arr(c))),
        DType::Float16 => write_as(a, w, 2, |c| half::f16::from_le_bytes(arr(c))),
        DType::Int64 => write_as(a, w, 8, |c| i64::from_le_bytes(arr(c))),
        DType::Int32 => write_as(a, w, 4, |c| i32::from_le_bytes(arr(c))),
        DType::Int16 => write_as(a, w, 2, |c| i16::from_le_bytes(arr(c))),
        DType::Int8 => write_as(a, w, 1, |c| c[0] as i8),
        DType::UInt64 => write_as(a, w, 8, |c| u64::from_le_bytes(arr(c))),
        DType::UInt32 => write_as(a, w, 4, |c| u32::from_le_bytes(arr(c))),
        DType::UInt16 => write_as(a, w, 2, |c| u16::from_le_bytes(arr(c))),
        DType::UInt8 => write_as(a, w, 1, |c| c[0]),
        DType::Bool => write_as(a, w, 1, |c| c[0] != 0),
        d => Err(err(&a.name, format!("cannot write dtype {} as .npy", d.name()))),
    }
}

/// A NamedArray as `.npy` bytes.
pub fn to_bytes(a: &NamedArray) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    write(a, &mut v)?;
    Ok(v)
}
