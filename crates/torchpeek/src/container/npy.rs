//! The header of a NumPy `.npy` file (`\x93NUMPY`, version, header length, a Python dict literal):
//! only what the safety scan needs. An array whose `descr` has an object field (`'|O'`, or `O`
//! inside a structured dtype) is stored as a pickle right after the header, which
//! `np.load(allow_pickle=True)` runs; any other array is raw data.

use crate::error::{Error, Location, Result};

const MAGIC: &[u8] = b"\x93NUMPY";

/// True when the bytes start with the `.npy` magic.
pub fn is_npy(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

/// Where the pickle of an object array starts, or None for an array of plain data. `head` must
/// hold the whole header (`.npy` headers are at most a few KiB; version 1 caps them at 64 KiB).
pub fn object_pickle_offset(head: &[u8], name: &str) -> Result<Option<u64>> {
    let at = Location::member(format!("{name} (.npy header)"));
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
    let header = String::from_utf8_lossy(header);
    let descr = header
        .split_once("'descr'")
        .or_else(|| header.split_once("\"descr\""))
        .map(|(_, rest)| rest)
        .ok_or_else(|| Error::corrupt(at, ".npy header has no 'descr'"))?;
    // Read loosely (any quoted string after 'descr'): a false "object" only costs a scan of data
    // that is not a pickle, which the scan tells from one.
    Ok(has_object_type(descr).then_some(end))
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
    fn bad_headers_are_errors() {
        assert!(object_pickle_offset(b"\x93NUMPY\x09\x00", "a").is_err());
        assert!(object_pickle_offset(b"\x93NUMPY\x01\x00\xff\xff{", "a").is_err());
        assert!(object_pickle_offset(b"\x93NUMPY", "a").is_err());
    }
}
