//! A zip reader that reads only what it is asked for: the end records, the central directory, and
//! each member's local header. Written here (not the `zip` crate) because torchpeek needs byte
//! positions of stored members for lazy reads, and must see, not normalise, what a hostile archive
//! does: central directory and local headers that disagree, duplicate names, overlapping entries.

use crate::error::{Error, Location, Result};
use crate::limits;
use crate::source::Source;

const EOCD_SIG: u32 = 0x0605_4b50;
const EOCD64_LOCATOR_SIG: u32 = 0x0706_4b50;
const EOCD64_SIG: u32 = 0x0606_4b50;
const CDH_SIG: u32 = 0x0201_4b50;
const LFH_SIG: u32 = 0x0403_4b50;

/// Compression methods torchpeek reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Stored,
    Deflated,
    Other(u16),
}

/// One member of the archive, as the central directory and its local header describe it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub name: String,
    pub method: Method,
    pub compressed_size: u64,
    pub size: u64,
    pub header_offset: u64,
    /// Where the member's bytes start (after the local header).
    pub data_offset: u64,
}

/// An opened archive: its entries in central-directory order, and what looked wrong but could be read.
#[derive(Debug, Clone, Default)]
pub struct Archive {
    pub entries: Vec<Entry>,
    /// Quirks a scanner must report: disagreeing headers, duplicate names, data before the first entry.
    pub quirks: Vec<String>,
}

/// True when the bytes start as torch's reader requires of a zip checkpoint.
pub fn is_zip(head: &[u8]) -> bool {
    head.len() >= 4 && u32::from_le_bytes([head[0], head[1], head[2], head[3]]) == LFH_SIG
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}
fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(b[i..i + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(b[i..i + 8].try_into().unwrap())
}

impl Archive {
    /// Reads the central directory and every local header of `src`.
    pub fn read(src: &dyn Source) -> Result<Archive> {
        let name = src.name().to_string();
        let at = |o: u64| Location::new(format!("{name} (zip)"), o);
        let len = src.len();
        // The end-of-central-directory record: 22 bytes plus a comment of up to 65535.
        let tail_len = len.min(22 + 65535);
        let tail_start = len - tail_len;
        let tail = src.read_vec(tail_start, tail_len)?;
        let eocd = (0..tail.len().saturating_sub(21))
            .rev()
            .find(|&i| u32_at(&tail, i) == EOCD_SIG)
            .ok_or_else(|| Error::corrupt(at(len), "no end of central directory record: not a zip, or truncated"))?;
        let eocd_pos = tail_start + eocd as u64;
        let e = &tail[eocd..];
        let mut archive_quirks = Vec::new();
        let mut count = u16_at(e, 10) as u64;
        let mut cd_size = u32_at(e, 12) as u64;
        let mut cd_offset = u32_at(e, 16) as u64;
        // Where the central directory ends: the zip64 end record when there is one, else the end record.
        let mut cd_end = eocd_pos;
        if count == 0xffff || cd_size == 0xffff_ffff || cd_offset == 0xffff_ffff {
            // zip64: a locator sits just before the end record and points at the zip64 end record.
            if eocd_pos < 20 {
                return Err(Error::corrupt(at(eocd_pos), "zip64 fields without a zip64 locator"));
            }
            let loc = src.read_vec(eocd_pos - 20, 20)?;
            if u32_at(&loc, 0) != EOCD64_LOCATOR_SIG {
                return Err(Error::corrupt(at(eocd_pos - 20), "zip64 fields without a zip64 locator"));
            }
            let rec_pos = u64_at(&loc, 8);
            let rec = src.read_vec(rec_pos, 56)?;
            if u32_at(&rec, 0) != EOCD64_SIG {
                return Err(Error::corrupt(at(rec_pos), "zip64 end of central directory record has a bad signature"));
            }
            count = u64_at(&rec, 32);
            cd_size = u64_at(&rec, 40);
            cd_offset = u64_at(&rec, 48);
            cd_end = rec_pos;
        }
        // Data before the archive (a zip appended to another file): the recorded offsets are short
        // by its length. Zip readers (Python's zipfile among them) shift them; so does this one.
        let mut shift = cd_end.checked_sub(cd_size).and_then(|start| start.checked_sub(cd_offset)).unwrap_or(0);
        if shift > 0 && count > 0 && src.read_vec(cd_offset, 4).is_ok_and(|sig| u32_at(&sig, 0) == CDH_SIG) {
            shift = 0; // the directory is where it says (a zip64 end record may sit after it)
        }
        if shift > 0 {
            archive_quirks.push(format!(
                "the archive starts {shift} bytes into the file: zip readers shift its offsets past the data before it"
            ));
            cd_offset += shift;
        }
        if count > limits::MAX_ZIP_ENTRIES {
            return Err(Error::Limit { at: at(eocd_pos), what: "zip entry count", found: count, limit: limits::MAX_ZIP_ENTRIES });
        }
        if cd_offset.checked_add(cd_size).is_none_or(|end| end > eocd_pos) {
            return Err(Error::corrupt(
                at(eocd_pos),
                format!("central directory ({cd_size} bytes at {cd_offset}) runs past its end record"),
            ));
        }
        if cd_size > limits::MAX_HEADER_BYTES {
            return Err(Error::Limit { at: at(cd_offset), what: "central directory size", found: cd_size, limit: limits::MAX_HEADER_BYTES });
        }
        let cd = src.read_vec(cd_offset, cd_size)?;
        let mut archive = Archive { entries: Vec::new(), quirks: archive_quirks };
        let mut p = 0usize;
        for _ in 0..count {
            let need = |n: usize| -> Result<()> {
                if p + n > cd.len() {
                    Err(Error::Truncated { at: at(cd_offset + p as u64), needed: n as u64, available: (cd.len() - p) as u64 })
                } else {
                    Ok(())
                }
            };
            need(46)?;
            if u32_at(&cd, p) != CDH_SIG {
                return Err(Error::corrupt(at(cd_offset + p as u64), "bad central directory entry signature"));
            }
            let method = match u16_at(&cd, p + 10) {
                0 => Method::Stored,
                8 => Method::Deflated,
                m => Method::Other(m),
            };
            let mut compressed_size = u32_at(&cd, p + 20) as u64;
            let mut size = u32_at(&cd, p + 24) as u64;
            let name_len = u16_at(&cd, p + 28) as usize;
            let extra_len = u16_at(&cd, p + 30) as usize;
            let comment_len = u16_at(&cd, p + 32) as usize;
            let mut header_offset = u32_at(&cd, p + 42) as u64;
            need(46 + name_len + extra_len + comment_len)?;
            let name = String::from_utf8_lossy(&cd[p + 46..p + 46 + name_len]).into_owned();
            let extra = &cd[p + 46 + name_len..p + 46 + name_len + extra_len];
            read_zip64_extra(extra, &mut size, &mut compressed_size, &mut header_offset);
            let header_offset = header_offset.saturating_add(shift);
            p += 46 + name_len + extra_len + comment_len;
            archive.entries.push(Entry { name, method, compressed_size, size, header_offset, data_offset: 0 });
        }
        for i in 0..archive.entries.len() {
            archive.read_local_header(src, i, cd_offset)?;
        }
        archive.check_layout(src, cd_offset)?;
        Ok(archive)
    }

    fn read_local_header(&mut self, src: &dyn Source, i: usize, cd_offset: u64) -> Result<()> {
        let e = &self.entries[i];
        let at = Location::new(format!("{} (zip member {})", src.name(), e.name), e.header_offset);
        if e.header_offset.checked_add(30).is_none_or(|end| end > cd_offset) {
            return Err(Error::corrupt(at, "local header lies outside the archive's data area"));
        }
        let h = src.read_vec(e.header_offset, 30)?;
        if u32_at(&h, 0) != LFH_SIG {
            return Err(Error::corrupt(at, "bad local header signature"));
        }
        let name_len = u16_at(&h, 26) as u64;
        let extra_len = u16_at(&h, 28) as u64;
        let local_name = src.read_vec(e.header_offset + 30, name_len)?;
        let data_offset = e.header_offset + 30 + name_len + extra_len;
        let e = &mut self.entries[i];
        if local_name != e.name.as_bytes() {
            self.quirks.push(format!(
                "zip member {:?}: its local header names it {:?}; torch reads the central directory's name",
                e.name,
                String::from_utf8_lossy(&local_name)
            ));
        }
        let method = u16_at(&h, 8);
        let cd_method = match e.method {
            Method::Stored => 0,
            Method::Deflated => 8,
            Method::Other(m) => m,
        };
        if method != cd_method {
            self.quirks.push(format!(
                "zip member {:?}: compression method {method} in its local header, {cd_method} in the central directory",
                e.name
            ));
        }
        e.data_offset = data_offset;
        Ok(())
    }

    /// Every member must lie inside the data area, and no two may share bytes.
    fn check_layout(&mut self, src: &dyn Source, cd_offset: u64) -> Result<()> {
        let mut spans: Vec<(u64, u64, &str)> = Vec::with_capacity(self.entries.len());
        for e in &self.entries {
            let end = e.data_offset.checked_add(e.compressed_size);
            if end.is_none_or(|end| end > cd_offset) {
                return Err(Error::corrupt(
                    Location::new(format!("{} (zip member {})", src.name(), e.name), e.data_offset),
                    format!("member data ({} bytes) runs past the central directory at {cd_offset}", e.compressed_size),
                ));
            }
            if e.method == Method::Stored && e.size != e.compressed_size {
                return Err(Error::corrupt(
                    Location::new(format!("{} (zip member {})", src.name(), e.name), e.header_offset),
                    format!("stored member declares {} bytes but holds {}", e.size, e.compressed_size),
                ));
            }
            spans.push((e.header_offset, e.data_offset + e.compressed_size, &e.name));
        }
        spans.sort();
        for w in spans.windows(2) {
            if w[1].0 < w[0].1 {
                return Err(Error::corrupt(
                    Location::new(format!("{} (zip)", src.name()), w[1].0),
                    format!("zip members {:?} and {:?} overlap", w[0].2, w[1].2),
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        let mut dups = Vec::new();
        for e in &self.entries {
            if !seen.insert(e.name.as_str()) {
                dups.push(format!("zip member name {:?} appears more than once; torch reads the last one", e.name));
            }
        }
        self.quirks.extend(dups);
        if let Some(first) = spans.first() {
            if first.0 > 0 {
                self.quirks.push(format!("{} bytes before the first zip member", first.0));
            }
        }
        Ok(())
    }

    /// The entry torch would read for `name` (the last of that name, as its reader does).
    pub fn find(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().rev().find(|e| e.name == name)
    }

    /// Reads a whole member into memory (pickles, code, small records); bounded by `max`.
    pub fn read_member(&self, src: &dyn Source, e: &Entry, max: u64) -> Result<Vec<u8>> {
        let at = Location::new(format!("{} (zip member {})", src.name(), e.name), e.data_offset);
        if e.size > max {
            return Err(Error::Limit { at, what: "member size", found: e.size, limit: max });
        }
        match e.method {
            Method::Stored => src.read_vec(e.data_offset, e.size),
            Method::Deflated => {
                if e.compressed_size > max {
                    return Err(Error::Limit { at, what: "compressed member size", found: e.compressed_size, limit: max });
                }
                let raw = src.read_vec(e.data_offset, e.compressed_size)?;
                inflate(&raw, e.size, &e.name)
            }
            Method::Other(m) => Err(Error::unsupported(at, format!("zip compression method {m}"))),
        }
    }
}

/// zip64's extra field (id 1) replaces, in this order, whichever of the sizes and offset are 0xFFFFFFFF.
fn read_zip64_extra(mut extra: &[u8], size: &mut u64, compressed: &mut u64, offset: &mut u64) {
    while extra.len() >= 4 {
        let id = u16_at(extra, 0);
        let n = (u16_at(extra, 2) as usize).min(extra.len() - 4);
        let body = &extra[4..4 + n];
        if id == 1 {
            let mut k = 0;
            for field in [size, compressed, offset] {
                if *field == 0xffff_ffff && k + 8 <= body.len() {
                    *field = u64_at(body, k);
                    k += 8;
                }
            }
            return;
        }
        extra = &extra[4 + n..];
    }
}

/// Inflates a raw deflate stream that must give exactly `expected` bytes.
pub fn inflate(raw: &[u8], expected: u64, member: &str) -> Result<Vec<u8>> {
    let at = Location::member(format!("zip member {member}"));
    if expected > limits::MAX_INFLATED_MEMBER {
        return Err(Error::Limit { at, what: "inflated size", found: expected, limit: limits::MAX_INFLATED_MEMBER });
    }
    let mut out = vec![0u8; expected as usize];
    let mut d = flate2::Decompress::new(false);
    let status = d
        .decompress(raw, &mut out, flate2::FlushDecompress::Finish)
        .map_err(|e| Error::corrupt(at.clone(), format!("bad deflate data: {e}")))?;
    if d.total_out() != expected || status != flate2::Status::StreamEnd {
        return Err(Error::corrupt(at, format!("deflate data gives {} bytes, the header says {expected}", d.total_out())));
    }
    Ok(out)
}
