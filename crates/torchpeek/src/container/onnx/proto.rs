//! A protobuf wire reader over a `Source`: reads tags, varints and length-delimited fields through a
//! small window, so large `bytes` fields (initializers' `raw_data`) are skipped by their offset and
//! never copied. Every length is checked against the end of the message that holds it before anything
//! is read or allocated.

use crate::error::{Error, Location, Result};
use crate::source::Source;

/// Bytes read from the source at a time.
const WINDOW: usize = 64 << 10;

/// Protobuf wire types.
pub const VARINT: u8 = 0;
pub const FIXED64: u8 = 1;
pub const LEN: u8 = 2;
pub const FIXED32: u8 = 5;

/// A field's tag as read: its number and wire type, where the tag stands, and the message that
/// holds the field (its name, for errors, and its end).
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub what: &'static str,
    pub num: u32,
    pub wire: u8,
    pub tag_at: u64,
    pub end: u64,
}

/// A cursor over one source, with a read-ahead window.
pub struct Reader<'a> {
    src: &'a dyn Source,
    pub pos: u64,
    buf: Vec<u8>,
    buf_start: u64,
}

impl<'a> Reader<'a> {
    pub fn new(src: &'a dyn Source) -> Self {
        Reader { src, pos: 0, buf: Vec::new(), buf_start: 0 }
    }

    pub fn len(&self) -> u64 {
        self.src.len()
    }

    pub fn is_empty(&self) -> bool {
        self.src.len() == 0
    }

    pub fn source(&self) -> &'a dyn Source {
        self.src
    }

    pub fn name(&self) -> &str {
        self.src.name()
    }

    pub fn at(&self, offset: u64) -> Location {
        Location::new(self.src.name(), offset)
    }

    pub fn corrupt(&self, offset: u64, msg: impl Into<String>) -> Error {
        Error::corrupt(self.at(offset), msg)
    }

    fn truncated(&self, needed: u64, end: u64) -> Error {
        Error::Truncated { at: self.at(self.pos), needed, available: end.saturating_sub(self.pos) }
    }

    /// Fails unless `n` bytes from the cursor lie before `end` (and in the source).
    pub fn need(&self, n: u64, end: u64) -> Result<()> {
        match self.pos.checked_add(n) {
            Some(e) if e <= end && e <= self.src.len() => Ok(()),
            _ => {
                if end >= self.src.len() {
                    Err(self.truncated(n, end.min(self.src.len())))
                } else {
                    Err(self.corrupt(self.pos, format!("a field of {n} bytes runs past the end of its message at byte {end}")))
                }
            }
        }
    }

    fn byte(&mut self, end: u64) -> Result<u8> {
        if self.pos >= end || self.pos >= self.src.len() {
            self.need(1, end)?;
        }
        let in_window = self.pos >= self.buf_start && self.pos < self.buf_start + self.buf.len() as u64;
        if !in_window {
            let n = (self.src.len() - self.pos).min(WINDOW as u64) as usize;
            self.buf.resize(n, 0);
            self.src.read_at(self.pos, &mut self.buf)?;
            self.buf_start = self.pos;
        }
        let b = self.buf[(self.pos - self.buf_start) as usize];
        self.pos += 1;
        Ok(b)
    }

    /// A base-128 varint of at most 10 bytes.
    pub fn varint(&mut self, end: u64) -> Result<u64> {
        let start = self.pos;
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = self.byte(end)?;
            if i == 9 && b > 1 {
                return Err(self.corrupt(start, "bad varint: more than 64 bits"));
            }
            v |= ((b & 0x7f) as u64) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.corrupt(start, "bad varint: longer than 10 bytes"))
    }

    pub fn fixed32(&mut self, end: u64) -> Result<u32> {
        let mut b = [0u8; 4];
        for x in &mut b {
            *x = self.byte(end)?;
        }
        Ok(u32::from_le_bytes(b))
    }

    /// A field's tag: (field number, wire type).
    pub fn tag(&mut self, end: u64) -> Result<(u32, u8)> {
        let start = self.pos;
        let t = self.varint(end)?;
        let field = t >> 3;
        let wire = (t & 7) as u8;
        if field == 0 || field > u32::MAX as u64 >> 3 {
            return Err(self.corrupt(start, format!("bad protobuf tag {t:#x}: field number {field}")));
        }
        if !matches!(wire, VARINT | FIXED64 | LEN | FIXED32) {
            return Err(self.corrupt(start, format!("bad protobuf tag {t:#x}: wire type {wire}")));
        }
        Ok((field as u32, wire))
    }

    /// The length of a length-delimited field, checked against `end`: returns the field's end.
    pub fn len_delim(&mut self, end: u64) -> Result<u64> {
        let n = self.varint(end)?;
        self.need(n, end)?;
        Ok(self.pos + n)
    }

    /// The bytes of a length-delimited field.
    pub fn bytes(&mut self, end: u64) -> Result<Vec<u8>> {
        let stop = self.len_delim(end)?;
        let n = (stop - self.pos) as usize;
        let mut v = Vec::with_capacity(n);
        // Copy from the window where possible; read directly otherwise.
        while self.pos < stop {
            let in_window = self.pos >= self.buf_start && self.pos < self.buf_start + self.buf.len() as u64;
            if in_window {
                let from = (self.pos - self.buf_start) as usize;
                let take = (self.buf.len() - from).min((stop - self.pos) as usize);
                v.extend_from_slice(&self.buf[from..from + take]);
                self.pos += take as u64;
            } else if stop - self.pos > WINDOW as u64 {
                let old = v.len();
                v.resize(n, 0);
                self.src.read_at(self.pos, &mut v[old..])?;
                self.pos = stop;
            } else {
                let b = self.byte(stop)?;
                v.push(b);
            }
        }
        Ok(v)
    }

    /// A string field (invalid UTF-8 replaced).
    pub fn string(&mut self, end: u64) -> Result<String> {
        let b = self.bytes(end)?;
        Ok(match String::from_utf8(b) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    /// Skips a field's value of the given wire type.
    pub fn skip(&mut self, wire: u8, end: u64) -> Result<()> {
        match wire {
            VARINT => {
                self.varint(end)?;
            }
            FIXED64 => {
                self.need(8, end)?;
                self.pos += 8;
            }
            FIXED32 => {
                self.need(4, end)?;
                self.pos += 4;
            }
            LEN => {
                self.pos = self.len_delim(end)?;
            }
            w => return Err(self.corrupt(self.pos, format!("bad wire type {w}"))),
        }
        Ok(())
    }

    /// The next field of the message `what` that ends at `end`.
    pub fn field(&mut self, what: &'static str, end: u64) -> Result<Field> {
        let tag_at = self.pos;
        let (num, wire) = self.tag(end)?;
        Ok(Field { what, num, wire, tag_at, end })
    }

    /// Checks that a known field has the wire type the schema gives it.
    pub fn expect(&self, f: Field, want: u8) -> Result<()> {
        if f.wire == want {
            Ok(())
        } else {
            Err(self.corrupt(f.tag_at, format!("{} field {} has wire type {}, expected {want}", f.what, f.num, f.wire)))
        }
    }

    /// A string field's value.
    pub fn string_field(&mut self, f: Field) -> Result<String> {
        self.expect(f, LEN)?;
        self.string(f.end)
    }

    /// A bytes field's value.
    pub fn bytes_field(&mut self, f: Field) -> Result<Vec<u8>> {
        self.expect(f, LEN)?;
        self.bytes(f.end)
    }

    /// A varint field's value.
    pub fn varint_field(&mut self, f: Field) -> Result<u64> {
        self.expect(f, VARINT)?;
        self.varint(f.end)
    }

    /// A length-delimited field (a message, bytes): its end; its first byte is at the cursor.
    pub fn len_field(&mut self, f: Field) -> Result<u64> {
        self.expect(f, LEN)?;
        self.len_delim(f.end)
    }

    /// Skips a field's value.
    pub fn skip_field(&mut self, f: Field) -> Result<()> {
        self.skip(f.wire, f.end)
    }

    /// A repeated varint field, packed (wire type 2) or not (0): calls `f` for each value.
    pub fn repeated_varint(&mut self, wire: u8, end: u64, mut f: impl FnMut(u64)) -> Result<()> {
        match wire {
            VARINT => f(self.varint(end)?),
            LEN => {
                let stop = self.len_delim(end)?;
                while self.pos < stop {
                    f(self.varint(stop)?);
                }
            }
            w => return Err(self.corrupt(self.pos, format!("repeated integer field with wire type {w}"))),
        }
        Ok(())
    }

    /// A repeated fixed-size field (float: 4, double: 8), packed or not: appends its little-endian
    /// bytes to `out`.
    pub fn repeated_fixed(&mut self, wire: u8, size: u64, end: u64, out: &mut Vec<u8>) -> Result<()> {
        let single = if size == 4 { FIXED32 } else { FIXED64 };
        if wire == single {
            self.need(size, end)?;
            for _ in 0..size {
                out.push(self.byte(end)?);
            }
        } else if wire == LEN {
            let stop = self.len_delim(end)?;
            if !(stop - self.pos).is_multiple_of(size) {
                return Err(self.corrupt(self.pos, format!("packed field of {} bytes is not a multiple of {size}", stop - self.pos)));
            }
            while self.pos < stop {
                out.push(self.byte(stop)?);
            }
        } else {
            return Err(self.corrupt(self.pos, format!("repeated fixed-size field with wire type {wire}")));
        }
        Ok(())
    }
}

/// Decodes a varint from the start of a byte slice (for sniffing): (value, bytes used).
pub fn varint_at(b: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for (i, &x) in b.iter().enumerate().take(10) {
        if i == 9 && x > 1 {
            return None;
        }
        v |= ((x & 0x7f) as u64) << (7 * i);
        if x & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemSource;

    #[test]
    fn varints() {
        let s = MemSource::new("t", vec![0x96, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        let mut r = Reader::new(&s);
        assert_eq!(r.varint(12).unwrap(), 150);
        assert_eq!(r.varint(12).unwrap() as i64, -1);
        let bad = MemSource::new("t", vec![0xff; 11]);
        let mut r = Reader::new(&bad);
        assert!(matches!(r.varint(11), Err(Error::Corrupt { .. })));
        let short = MemSource::new("t", vec![0x80]);
        let mut r = Reader::new(&short);
        assert!(matches!(r.varint(1), Err(Error::Truncated { .. })));
    }

    #[test]
    fn lengths_are_bounded() {
        // field 2, length 100, only 3 bytes present
        let s = MemSource::new("t", vec![0x12, 100, 1, 2, 3]);
        let mut r = Reader::new(&s);
        let (f, w) = r.tag(5).unwrap();
        assert_eq!((f, w), (2, LEN));
        assert!(matches!(r.bytes(5), Err(Error::Truncated { .. })));
    }
}
