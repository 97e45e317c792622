//! NumPy's `.npy` format, the one codec every face uses: `\x93NUMPY`, a version, the header's
//! length, a Python dict literal (`descr`, `fortran_order`, `shape`), then the data.
//!
//! - Reading: `Header::parse` (the export's and the engine's arrays), and `object_pickle_offset`
//!   for the safety scan. An array whose `descr` has an object field (`'|O'`, or `O` inside a
//!   structured dtype) is stored as a pickle right after the header, which
//!   `np.load(allow_pickle=True)` runs; any other array is raw data.
//! - Writing: `header` (version 1.0) and `descr_of`, NumPy's type string of a dtype.

use crate::dtype::DType;
use crate::error::{Error, Location, Result};

const MAGIC: &[u8] = b"\x93NUMPY";

/// True when the bytes start with the `.npy` magic.
pub fn is_npy(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

/// The header's dict text and where the data starts. `head` must hold the whole header (`.npy`
/// headers are at most a few KiB; version 1 caps them at 64 KiB).
fn dict_text<'a>(head: &'a [u8], name: &str) -> Result<(std::borrow::Cow<'a, str>, u64)> {
    let at = Location::member(format!("{name} (.npy header)"));
    if !is_npy(head) {
        return Err(Error::corrupt(at, "not a .npy file (no \\x93NUMPY magic)"));
    }
    let (len_at, len_bytes) = match head.get(6) {
        Some(1) => (8, 2),
        Some(2 | 3) => (8, 4),
        Some(v) => return Err(Error::unsupported(at, format!(".npy version {v}"))),
        None => return Err(Error::Truncated { at, needed: 7, available: head.len() as u64 }),
    };
    let Some(field) = head.get(len_at..len_at + len_bytes) else {
        return Err(Error::Truncated { at, needed: (len_at + len_bytes) as u64, available: head.len() as u64 });
    };
    let header_len = field.iter().rev().fold(0u64, |n, &b| n << 8 | b as u64);
    let start = (len_at + len_bytes) as u64;
    let end = start + header_len;
    let Some(header) = head.get(start as usize..end as usize) else {
        return Err(Error::Truncated { at, needed: end, available: head.len() as u64 });
    };
    Ok((String::from_utf8_lossy(header), end))
}

/// Where the pickle of an object array starts, or None for an array of plain data.
pub fn object_pickle_offset(head: &[u8], name: &str) -> Result<Option<u64>> {
    let (header, end) = dict_text(head, name)?;
    let descr = header
        .split_once("'descr'")
        .or_else(|| header.split_once("\"descr\""))
        .map(|(_, rest)| rest)
        .ok_or_else(|| Error::corrupt(Location::member(format!("{name} (.npy header)")), ".npy header has no 'descr'"))?;
    // Read loosely (any quoted string after 'descr'): a false "object" only costs a scan of data
    // that is not a pickle, which the scan tells from one.
    Ok(has_object_type(descr).then_some(end))
}

/// A `.npy` header, read strictly: a plain dtype, its byte order, the shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub dtype: DType,
    /// True when the elements are stored big-endian (`>`).
    pub big_endian: bool,
    pub fortran_order: bool,
    pub shape: Vec<u64>,
    /// Where the data starts.
    pub data_offset: u64,
}

impl Header {
    /// Parses the header at the start of `head` (which must hold all of it).
    pub fn parse(head: &[u8], name: &str) -> Result<Header> {
        let (dict, data_offset) = dict_text(head, name)?;
        let at = || Location::member(format!("{name} (.npy header)"));
        let value = |key: &str| -> Result<&str> {
            let rest = dict
                .split_once(&format!("'{key}'"))
                .or_else(|| dict.split_once(&format!("\"{key}\"")))
                .map(|(_, rest)| rest.trim_start().trim_start_matches(':').trim_start())
                .ok_or_else(|| Error::corrupt(at(), format!(".npy header has no '{key}'")))?;
            Ok(rest)
        };
        let descr = value("descr")?;
        let quote = descr.chars().next().filter(|c| *c == '\'' || *c == '"');
        let descr = quote
            .and_then(|q| descr[1..].split_once(q))
            .map(|(d, _)| d)
            .ok_or_else(|| Error::unsupported(at(), "structured .npy arrays are not supported"))?;
        let (big_endian, dtype) = dtype_of_descr(descr).ok_or_else(|| Error::unsupported(at(), format!(".npy dtype {descr} is not supported")))?;
        let fortran_order = value("fortran_order")?.starts_with("True");
        let shape_text = value("shape")?;
        let inner = shape_text
            .strip_prefix('(')
            .and_then(|s| s.split_once(')'))
            .map(|(s, _)| s)
            .ok_or_else(|| Error::corrupt(at(), ".npy shape is not a tuple"))?;
        let shape = inner
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| d.trim_end_matches('L').parse::<u64>().map_err(|_| Error::corrupt(at(), format!(".npy dimension {d:?} is not a number"))))
            .collect::<Result<Vec<u64>>>()?;
        if shape.len() > crate::limits::MAX_RANK {
            return Err(Error::Limit { at: at(), what: ".npy rank", found: shape.len() as u64, limit: crate::limits::MAX_RANK as u64 });
        }
        Ok(Header { dtype, big_endian, fortran_order, shape, data_offset })
    }
}

/// NumPy's type string of a dtype, for the dtypes NumPy has (little-endian).
pub fn descr_of(dtype: DType) -> Option<&'static str> {
    use DType::*;
    Some(match dtype {
        Float64 => "<f8",
        Float32 => "<f4",
        Float16 => "<f2",
        Int64 => "<i8",
        Int32 => "<i4",
        Int16 => "<i2",
        Int8 => "|i1",
        UInt64 => "<u8",
        UInt32 => "<u4",
        UInt16 => "<u2",
        UInt8 => "|u1",
        Bool => "|b1",
        Complex64 => "<c8",
        Complex128 => "<c16",
        _ => return None,
    })
}

/// The dtype of a NumPy type string, and whether it is big-endian; None for what has no dtype.
pub fn dtype_of_descr(descr: &str) -> Option<(bool, DType)> {
    let (order, kind) = match descr.chars().next()? {
        c @ ('<' | '>' | '|' | '=') => (c, &descr[1..]),
        _ => ('=', descr),
    };
    let dtype = [
        DType::Float64, DType::Float32, DType::Float16, DType::Int64, DType::Int32, DType::Int16, DType::Int8,
        DType::UInt64, DType::UInt32, DType::UInt16, DType::UInt8, DType::Bool, DType::Complex64, DType::Complex128,
    ]
    .into_iter()
    .find(|&d| descr_of(d).is_some_and(|s| &s[1..] == kind))?;
    Some((order == '>' && dtype.itemsize() > 1, dtype))
}

/// A version 1.0 header for an array of `descr` and `shape` in C order: the dictionary padded with
/// spaces so the data starts at a multiple of 64 bytes (a shape of at most `limits::MAX_RANK`
/// dimensions always fits version 1.0's 64 KiB).
pub fn header(descr: &str, shape: &[u64]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
    let shape = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    dict.push_str(&" ".repeat((64 - (10 + dict.len() + 1) % 64) % 64));
    dict.push('\n');
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

/// Whether dtype text (`'|O'`, `[('a', '<f4'), ('b', '|O')]`, `'O8'`) has an object field: a
/// quoted string whose kind character (after an optional byte-order mark) is `O`.
fn has_object_type(text: &str) -> bool {
    text.split(['\'', '"']).skip(1).step_by(2).any(|s| s.trim_start_matches(['<', '>', '|', '=']).starts_with('O'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str) -> Vec<u8> {
        let mut h = format!("{{'descr': {descr}, 'fortran_order': False, 'shape': (2,), }}").into_bytes();
        h.resize((h.len() + 11).div_ceil(64) * 64 - 10, b' ');
        h.push(b'\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(h.len() as u16).to_le_bytes());
        out.extend_from_slice(&h);
        out
    }

    #[test]
    fn finds_the_pickle_of_object_arrays_only() {
        let o = npy("'|O'");
        assert_eq!(object_pickle_offset(&o, "a.npy").unwrap(), Some(o.len() as u64));
        assert!(is_npy(&o));
        assert_eq!(object_pickle_offset(&npy("'<f4'"), "a.npy").unwrap(), None);
        assert!(object_pickle_offset(&npy("[('a', '<f4'), ('b', '|O')]"), "a.npy").unwrap().is_some());
    }

    #[test]
    fn headers_round_trip() {
        for (dtype, shape) in [(DType::Float32, vec![2, 3]), (DType::Int64, vec![5]), (DType::Bool, vec![]), (DType::Complex128, vec![1, 1, 4])] {
            let h = header(descr_of(dtype).unwrap(), &shape);
            assert_eq!(h.len() % 64, 0);
            let parsed = Header::parse(&h, "a.npy").unwrap();
            assert_eq!((parsed.dtype, parsed.shape, parsed.data_offset, parsed.fortran_order), (dtype, shape, h.len() as u64, false));
        }
        // NumPy's own spelling of a big-endian 2-D array.
        let p = Header::parse(&npy("'>i4'"), "b.npy").unwrap();
        assert!(p.big_endian && p.dtype == DType::Int32 && p.shape == vec![2]);
        assert!(Header::parse(&npy("[('a', '<f4')]"), "s.npy").is_err());
        assert!(Header::parse(&npy("'<M8[s]'"), "t.npy").is_err());
    }

    #[test]
    fn bad_headers_are_errors() {
        assert!(object_pickle_offset(b"\x93NUMPY\x09\x00", "a").is_err());
        assert!(object_pickle_offset(b"\x93NUMPY\x01\x00\xff\xff{", "a").is_err());
        assert!(object_pickle_offset(b"\x93NUMPY", "a").is_err());
    }
}
