//! A zip reader that reads only what it is asked for: the end records, the central directory, and
//! each member's local header. Written here (not the `zip` crate) because torchpeek needs byte
//! positions of stored members for lazy reads, and must see, not normalise, what a hostile archive
//! does: central directory and local headers that disagree, duplicate names, overlapping entries.
//! It also walks the local headers from the first one, as a streaming reader does, and keeps the
//! records whose data no central-directory entry describes (`Archive::local_only`).

use crate::document::StorageData;
use crate::error::{Error, Location, Result};
use crate::limits;
use crate::source::Source;

const EOCD_SIG: u32 = 0x0605_4b50;
const EOCD64_LOCATOR_SIG: u32 = 0x0706_4b50;
const EOCD64_SIG: u32 = 0x0606_4b50;
const CDH_SIG: u32 = 0x0201_4b50;
const LFH_SIG: u32 = 0x0403_4b50;
const DESCRIPTOR_SIG: u32 = 0x0807_4b50;
/// Flag bit 3: the sizes follow the data (a data descriptor), the local header holds zeros.
const FLAG_DESCRIPTOR: u16 = 1 << 3;

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
    /// The central directory's general-purpose flags (bit 0 encrypted, bit 3 data descriptor,
    /// bit 5 patched data, bit 6 strong encryption).
    pub flags: u16,
    /// Whether a local header stands at `header_offset` (zip readers refuse the member without one).
    pub has_local: bool,
    /// Whether the central directory's name is valid UTF-8 (`name` is its lossy reading).
    pub name_is_utf8: bool,
}

impl Entry {
    /// Where the member's bytes are, as a storage of source `source` reads them.
    pub fn storage_data(&self, source: usize) -> StorageData {
        match self.method {
            Method::Stored => StorageData::Range { source, offset: self.data_offset, len: self.size },
            Method::Deflated => StorageData::Deflated { source, offset: self.data_offset, compressed: self.compressed_size, len: self.size },
            Method::Other(m) => StorageData::Missing { reason: format!("zip compression method {m} is not supported") },
        }
    }
}

/// An opened archive: its entries in central-directory order, and what looked wrong but could be read.
#[derive(Debug, Clone, Default)]
pub struct Archive {
    pub entries: Vec<Entry>,
    /// Quirks a scanner must report: disagreeing headers, duplicate names, data before the first entry.
    pub quirks: Vec<String>,
    /// Disagreements that hide nothing from the scan, which reads every member whatever its name
    /// and every record of both views: local headers naming, sizing or listing members otherwise
    /// than the central directory, duplicate names.
    pub notes: Vec<String>,
    /// Records a streaming reader finds walking the local headers whose data (offset, size, method)
    /// no central-directory entry has: named, sized and compressed as their local header says
    /// (`size` is an upper bound, `MAX_INFLATED_MEMBER`, when a deflated record's sizes are unknown).
    pub local_only: Vec<Entry>,
    /// `entries` indices in miniz's name order, made at the first `find`.
    pub(crate) by_name: std::sync::OnceLock<Vec<usize>>,
}

/// What a local header says of its record.
#[derive(Debug, Clone)]
struct LocalHeader {
    name: String,
    method: Method,
    flags: u16,
    compressed_size: u64,
    size: u64,
    data_offset: u64,
}

fn method_of(code: u16) -> Method {
    match code {
        0 => Method::Stored,
        8 => Method::Deflated,
        m => Method::Other(m),
    }
}

fn method_code(m: Method) -> u16 {
    match m {
        Method::Stored => 0,
        Method::Deflated => 8,
        Method::Other(m) => m,
    }
}

/// The local header at `at`, or None when there is none (no signature, or past the end).
fn read_local(src: &dyn Source, at: u64) -> Result<Option<LocalHeader>> {
    if at.checked_add(30).is_none_or(|end| end > src.len()) {
        return Ok(None);
    }
    let h = src.read_vec(at, 30)?;
    if u32_at(&h, 0) != LFH_SIG {
        return Ok(None);
    }
    let name_len = u16_at(&h, 26) as u64;
    let extra_len = u16_at(&h, 28) as u64;
    let tail = src.read_vec(at + 30, name_len + extra_len)?;
    let (mut compressed_size, mut size, mut unused_offset) = (u32_at(&h, 18) as u64, u32_at(&h, 22) as u64, 0);
    read_zip64_extra(&tail[name_len as usize..], &mut size, &mut compressed_size, &mut unused_offset);
    Ok(Some(LocalHeader {
        name: String::from_utf8_lossy(&tail[..name_len as usize]).into_owned(),
        method: method_of(u16_at(&h, 8)),
        flags: u16_at(&h, 6),
        compressed_size,
        size,
        data_offset: at + 30 + name_len + extra_len,
    }))
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

/// Where miniz finds the end-of-central-directory record: scanning back from the end in 4 KiB
/// blocks, the last signature with 22 bytes after it, giving up once a block ends 65557 bytes or
/// more from the end (`mz_zip_reader_locate_header_sig`).
pub(crate) fn locate_end_record(src: &dyn Source) -> Result<Option<u64>> {
    const BLOCK: u64 = 4096;
    let size = src.len();
    if size < 22 {
        return Ok(None);
    }
    let mut cur = size.saturating_sub(BLOCK);
    loop {
        let b = src.read_vec(cur, BLOCK.min(size - cur))?;
        let hit = (0..b.len().saturating_sub(3)).rev().find(|&i| u32_at(&b, i) == EOCD_SIG && size - (cur + i as u64) >= 22);
        if let Some(i) = hit {
            return Ok(Some(cur + i as u64));
        }
        if cur == 0 || size - cur >= 65535 + 22 {
            return Ok(None);
        }
        cur = cur.saturating_sub(BLOCK - 3);
    }
}

/// A central directory's (entry count, size, offset) as an end record gives them.
type DirectoryEnd = (u64, u64, u64);

/// The zip64 end record miniz reads: through a locator just before the end record (which must
/// be at byte 76 or later), at the offset it names, with its signature. Its (entries, size,
/// offset) of the central directory, and where it is.
fn zip64_end(src: &dyn Source, eocd_pos: u64) -> Result<Option<(DirectoryEnd, u64)>> {
    if eocd_pos < 76 {
        return Ok(None);
    }
    let loc = src.read_vec(eocd_pos - 20, 20)?;
    if u32_at(&loc, 0) != EOCD64_LOCATOR_SIG {
        return Ok(None);
    }
    let rec_pos = u64_at(&loc, 8);
    if rec_pos.checked_add(56).is_none_or(|end| end > src.len()) {
        return Ok(None);
    }
    let rec = src.read_vec(rec_pos, 56)?;
    if u32_at(&rec, 0) != EOCD64_SIG {
        return Ok(None);
    }
    Ok(Some(((u64_at(&rec, 32), u64_at(&rec, 40), u64_at(&rec, 48)), rec_pos)))
}

/// How far the archive starts into the file: the central directory ends at `cd_end`, so it
/// starts `cd_size` before; when that is past `cd_offset` and no entry stands at `cd_offset`, the
/// difference (0 when there is none).
fn prefix_shift(src: &dyn Source, cd_end: u64, count: u64, cd_size: u64, cd_offset: u64) -> u64 {
    let shift = cd_end.checked_sub(cd_size).and_then(|start| start.checked_sub(cd_offset)).unwrap_or(0);
    if shift > 0 && count > 0 && src.read_vec(cd_offset, 4).is_ok_and(|sig| u32_at(&sig, 0) == CDH_SIG) {
        return 0; // the directory is where it says (a zip64 end record may sit after it)
    }
    shift
}

/// The `count` entries of the central directory of `cd_size` bytes at `cd_offset` (their local
/// header offsets moved `shift` bytes on), with `data_offset` not yet known.
fn read_directory(src: &dyn Source, count: u64, cd_size: u64, cd_offset: u64, shift: u64) -> Result<Vec<Entry>> {
    let name = src.name();
    let at = |o: u64| Location::new(format!("{name} (zip)"), o);
    if count > limits::MAX_ZIP_ENTRIES {
        return Err(Error::Limit { at: at(cd_offset), what: "zip entry count", found: count, limit: limits::MAX_ZIP_ENTRIES });
    }
    if cd_offset.checked_add(cd_size).is_none_or(|end| end > src.len()) {
        return Err(Error::corrupt(at(cd_offset), format!("central directory ({cd_size} bytes at {cd_offset}) runs past the end of the file")));
    }
    if cd_size > limits::MAX_HEADER_BYTES {
        return Err(Error::Limit { at: at(cd_offset), what: "central directory size", found: cd_size, limit: limits::MAX_HEADER_BYTES });
    }
    let cd = src.read_vec(cd_offset, cd_size)?;
    let mut entries = Vec::with_capacity(count as usize);
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
        let flags = u16_at(&cd, p + 8);
        let method = method_of(u16_at(&cd, p + 10));
        let mut compressed_size = u32_at(&cd, p + 20) as u64;
        let mut size = u32_at(&cd, p + 24) as u64;
        let name_len = u16_at(&cd, p + 28) as usize;
        let extra_len = u16_at(&cd, p + 30) as usize;
        let comment_len = u16_at(&cd, p + 32) as usize;
        let mut header_offset = u32_at(&cd, p + 42) as u64;
        need(46 + name_len + extra_len + comment_len)?;
        let raw_name = &cd[p + 46..p + 46 + name_len];
        let name_is_utf8 = std::str::from_utf8(raw_name).is_ok();
        let name = String::from_utf8_lossy(raw_name).into_owned();
        let extra = &cd[p + 46 + name_len..p + 46 + name_len + extra_len];
        read_zip64_extra(extra, &mut size, &mut compressed_size, &mut header_offset);
        let header_offset = header_offset.saturating_add(shift);
        p += 46 + name_len + extra_len + comment_len;
        entries.push(Entry { name, method, compressed_size, size, header_offset, data_offset: 0, flags, has_local: false, name_is_utf8 });
    }
    Ok(entries)
}

/// Bytes of a local header's extra field fetched ahead with it: torch pads each member's data to
/// 64 bytes there (a longer field is read when it is met).
const LOCAL_EXTRA_GUESS: u64 = 128;

impl Archive {
    /// Reads the central directory and every local header of `src`. It accepts what miniz's
    /// `mz_zip_reader_init` (torch's zip reader) accepts: members that overlap, repeat, reach into
    /// the central directory or past the end of the file, local headers that are missing, are
    /// `notes`; whether miniz refuses the archive is `miniz::miniz_refusal`.
    pub fn read(src: &dyn Source) -> Result<Archive> {
        let name = src.name().to_string();
        let at = |o: u64| Location::new(format!("{name} (zip)"), o);
        let len = src.len();
        let eocd_pos = locate_end_record(src)?
            .ok_or_else(|| Error::corrupt(at(len), "no end of central directory record: not a zip, or truncated"))?;
        let e = src.read_vec(eocd_pos, 22)?;
        let mut archive_quirks = Vec::new();
        let mut archive_notes = Vec::new();
        let e32 = (u16_at(&e, 10) as u64, u32_at(&e, 12) as u64, u32_at(&e, 16) as u64);
        let markers = e32.0 == 0xffff || e32.1 == 0xffff_ffff || e32.2 == 0xffff_ffff;
        // As miniz does, a zip64 end record (found through its locator) replaces the end record's
        // values whether or not they are 0xFFFF markers: torch writes one into every archive.
        let (count, cd_size, mut cd_offset, cd_end) = match zip64_end(src, eocd_pos)? {
            Some((z, rec_pos)) => {
                if !markers && z != e32 {
                    archive_notes.push(format!(
                        "the zip64 end record ({} entries, {} bytes at {}) and the end record ({} entries, {} bytes at {}) disagree: torch (miniz) and Python read the zip64 one, readers that use it only for 0xFFFF markers the other; both are scanned",
                        z.0, z.1, z.2, e32.0, e32.1, e32.2
                    ));
                }
                (z.0, z.1, z.2, rec_pos)
            }
            None if markers => return Err(Error::corrupt(at(eocd_pos), "zip64 fields without a zip64 locator")),
            None => (e32.0, e32.1, e32.2, eocd_pos),
        };
        // Data before the archive (a zip appended to another file): the recorded offsets are short
        // by its length. Zip readers (Python's zipfile among them) shift them; so does this one
        // (miniz does not: it refuses such an archive).
        let shift = prefix_shift(src, cd_end, count, cd_size, cd_offset);
        if shift > 0 {
            archive_quirks.push(format!(
                "the archive starts {shift} bytes into the file: zip readers shift its offsets past the data before it"
            ));
            cd_offset += shift;
        }
        let entries = read_directory(src, count, cd_size, cd_offset, shift)?;
        let mut archive = Archive { entries, quirks: archive_quirks, notes: archive_notes, local_only: Vec::new(), by_name: Default::default() };
        // Every local header is read (and read again by the layout checks and miniz's): a source
        // whose reads cost the same however small (a browser Blob) fetches them all at once.
        let heads: Vec<(u64, u64)> = archive
            .entries
            .iter()
            .map(|e| (e.header_offset, (30 + e.name.len() as u64 + LOCAL_EXTRA_GUESS).min(len.saturating_sub(e.header_offset))))
            .collect();
        src.prefetch(&heads)?;
        let mut locals = Vec::with_capacity(archive.entries.len());
        for i in 0..archive.entries.len() {
            locals.push(archive.read_local_header(src, i)?);
        }
        archive.check_layout(src, cd_offset);
        archive.walk_local_view(src, &locals, cd_offset);
        if markers || (e32.2 == cd_offset - shift && e32.0 == count) {
            return Ok(archive);
        }
        // The other central directory, which the end record names: its members no entry has are
        // scanned as records of their own (read only when the two end records differ).
        let shift32 = prefix_shift(src, eocd_pos, e32.0, e32.1, e32.2);
        let other = if markers || (count, cd_size, cd_offset - shift) == e32 { Ok(Vec::new()) } else { read_directory(src, e32.0, e32.1, e32.2 + shift32, shift32) };
        match other {
            Ok(other) => {
                let known: std::collections::HashSet<(u64, u64)> = archive
                    .entries
                    .iter()
                    .chain(&archive.local_only)
                    .map(|e| (e.header_offset, e.compressed_size))
                    .collect();
                for mut e in other.into_iter().filter(|e| !known.contains(&(e.header_offset, e.compressed_size))) {
                    let Ok(Some(local)) = read_local(src, e.header_offset) else { continue };
                    e.data_offset = local.data_offset;
                    e.has_local = true;
                    archive.notes.push(format!(
                        "zip member {:?} (local header at byte {}) is only in the central directory the end record names",
                        e.name, e.header_offset
                    ));
                    archive.local_only.push(e);
                }
            }
            Err(err) => archive.notes.push(format!("the central directory the end record names cannot be read ({err})")),
        }
        Ok(archive)
    }

    /// Reads member `i`'s local header: where its data starts. With no local header there (miniz
    /// refuses to read the member, `read_member` too) its data is taken to start where torch's
    /// `getRecordOffset` puts it.
    fn read_local_header(&mut self, src: &dyn Source, i: usize) -> Result<Option<LocalHeader>> {
        let Ok(Some(local)) = read_local(src, self.entries[i].header_offset) else {
            let e = &mut self.entries[i];
            let lens = src.read_vec(e.header_offset.saturating_add(26), 4).ok();
            let lens = lens.map_or(0, |b| u16_at(&b, 0) as u64 + u16_at(&b, 2) as u64);
            e.data_offset = e.header_offset.saturating_add(30 + lens);
            self.notes.push(format!(
                "zip member {:?}: no local header at byte {}: zip readers refuse to read it",
                e.name, e.header_offset
            ));
            return Ok(None);
        };
        let e = &mut self.entries[i];
        e.has_local = true;
        if local.name != e.name {
            self.notes.push(format!(
                "zip member {:?}: its local header names it {:?}; torch reads the central directory's name",
                e.name, local.name
            ));
        }
        let (method, cd_method) = (method_code(local.method), method_code(e.method));
        if method != cd_method {
            self.quirks.push(format!(
                "zip member {:?}: compression method {method} in its local header, {cd_method} in the central directory",
                e.name
            ));
        }
        e.data_offset = local.data_offset;
        Ok(Some(local))
    }

    /// Walks the local headers from the first one as a streaming reader does (each record's data
    /// follows its header, then a data descriptor when flag bit 3 is set), reading only headers no
    /// central-directory entry stands at. Records whose data differs from every entry's go to
    /// `local_only`; records one view has and the other lacks, and sizes that disagree, are quirks.
    /// A read error ends the walk: what was walked stands.
    fn walk_local_view(&mut self, src: &dyn Source, locals: &[Option<LocalHeader>], cd_offset: u64) {
        let at_offset: std::collections::BTreeMap<u64, usize> =
            self.entries.iter().enumerate().map(|(i, e)| (e.header_offset, i)).collect();
        // Where the walk met an entry's local header (entries that share one are all met).
        let mut seen = std::collections::HashSet::new();
        // A streaming reader starts at byte 0; a zip after other data starts at its first entry.
        let first = at_offset.keys().next().copied().unwrap_or(0);
        let mut pos = if first == 0 || matches!(read_local(src, 0), Ok(Some(_))) { 0 } else { first };
        for _ in 0..limits::MAX_ZIP_ENTRIES {
            let cd_index = at_offset.get(&pos).copied();
            let local = match cd_index {
                Some(i) => match &locals[i] {
                    Some(l) => l.clone(),
                    None => break,
                },
                None if pos < cd_offset => match read_local(src, pos) {
                    Ok(Some(l)) => l,
                    _ => break,
                },
                None => break,
            };
            // With a descriptor the local sizes mean nothing (zeros, or 0xFFFFFFFF from some writers).
            let unknown_size = local.flags & FLAG_DESCRIPTOR != 0;
            let (compressed_size, size) = match (unknown_size, cd_index) {
                (false, _) => (local.compressed_size, local.size),
                // The sizes are in the descriptor after the data: the entry's are the ones to check
                // (searching its data for a signature would read every storage).
                (true, Some(i)) => (self.entries[i].compressed_size, self.entries[i].size),
                (true, None) => match find_signature(src, local.data_offset, cd_offset) {
                    Ok(Some(end)) => {
                        let len = end - local.data_offset;
                        (len, if local.method == Method::Stored { len } else { limits::MAX_INFLATED_MEMBER })
                    }
                    _ => {
                        self.quirks.push(format!(
                            "zip record {:?} (local header at byte {pos}) has no end a streaming reader can find within {} bytes",
                            local.name,
                            limits::MAX_ZIP_SEARCH_BYTES
                        ));
                        break;
                    }
                },
            };
            let record = Entry {
                name: local.name.clone(),
                method: local.method,
                compressed_size,
                size,
                header_offset: pos,
                data_offset: local.data_offset,
                flags: local.flags,
                has_local: true,
                name_is_utf8: true,
            };
            match cd_index {
                Some(i) => {
                    seen.insert(pos);
                    let e = &self.entries[i];
                    if !unknown_size && (e.compressed_size, e.size) != (compressed_size, size) {
                        self.notes.push(format!(
                            "zip member {:?}: its local header (named {:?}) says {compressed_size} bytes ({size} inflated), the central directory {} ({}); a streaming reader reads the local sizes",
                            e.name, local.name, e.compressed_size, e.size
                        ));
                    }
                    if (e.data_offset, e.compressed_size, e.method) != (record.data_offset, compressed_size, record.method) {
                        self.local_only.push(record);
                    }
                }
                None => {
                    self.notes.push(format!(
                        "zip record {:?} at byte {pos} is in the local headers only: a streaming reader reads it, the central directory does not list it",
                        local.name
                    ));
                    self.local_only.push(record);
                }
            }
            let Some(end) = local.data_offset.checked_add(compressed_size) else { break };
            // No record fits before a header closer than 30 bytes: skip the descriptor unread.
            pos = match at_offset.range(end..end.saturating_add(30)).next() {
                Some((&next, _)) => next,
                None if (end..end.saturating_add(30)).contains(&cd_offset) => break,
                None => after_descriptor(src, end),
            };
        }
        for e in self.entries.iter().filter(|e| !seen.contains(&e.header_offset)) {
            self.notes.push(format!(
                "zip member {:?} (local header at byte {}) is in the central directory only: a streaming reader walking the local headers never reaches it",
                e.name, e.header_offset
            ));
        }
    }

    /// Where members lie: miniz accepts members that share bytes, reach into the central directory
    /// or past the end of the file, stored members whose two sizes differ (unless their method and
    /// time fields are all zero, `miniz::miniz_refusal`); each is a note (every entry is scanned).
    fn check_layout(&mut self, src: &dyn Source, cd_offset: u64) {
        /// Overlaps told one by one; the rest are counted.
        const TOLD: usize = 10;
        let len = src.len();
        let mut spans: Vec<(u64, u64, &str)> = Vec::with_capacity(self.entries.len());
        let mut notes = Vec::new();
        for e in &self.entries {
            let end = e.data_offset.saturating_add(e.compressed_size);
            if end > len {
                notes.push(format!(
                    "zip member {:?}: its data ({} bytes at byte {}) runs past the end of the file: reading it fails",
                    e.name, e.compressed_size, e.data_offset
                ));
            } else if end > cd_offset {
                notes.push(format!(
                    "zip member {:?}: its data ({} bytes at byte {}) runs into the central directory at {cd_offset}",
                    e.name, e.compressed_size, e.data_offset
                ));
            }
            if e.method == Method::Stored && e.size != e.compressed_size {
                notes.push(format!(
                    "zip member {:?}: stored, it declares {} bytes but holds {}: torch reads {}, the scan both",
                    e.name, e.size, e.compressed_size, e.size
                ));
            }
            spans.push((e.header_offset, end, &e.name));
        }
        spans.sort();
        // Each span against the furthest end before it: repeated entries, and members inside others.
        let mut overlaps = 0;
        let mut reach: Option<(u64, &str)> = None;
        for &(start, end, name) in &spans {
            if let Some((far, other)) = reach {
                if start < far {
                    overlaps += 1;
                    if overlaps <= TOLD {
                        notes.push(format!("zip members {other:?} and {name:?} share bytes from byte {start}: each is scanned"));
                    }
                }
            }
            if reach.is_none_or(|(far, _)| end > far) {
                reach = Some((end, name));
            }
        }
        if overlaps > TOLD {
            notes.push(format!("{} more pairs of zip members share bytes", overlaps - TOLD));
        }
        let mut seen = std::collections::HashSet::new();
        for e in &self.entries {
            if !seen.insert(e.name.as_str()) {
                notes.push(format!("zip member name {:?} appears more than once: each is scanned", e.name));
            }
        }
        if let Some(first) = spans.first() {
            if first.0 > 0 {
                self.quirks.push(format!("{} bytes before the first zip member", first.0));
            }
        }
        self.notes.extend(notes);
    }

    /// The entry torch reads for `name`: what miniz's `mz_zip_reader_locate_file` finds, a binary
    /// search over the entries heap-sorted by ASCII-lowercased name (so names match whatever their
    /// case, and of entries of one name the one the sort puts where the search lands).
    pub fn find(&self, name: &str) -> Option<&Entry> {
        let sorted = self.by_name.get_or_init(|| heap_sorted(&self.entries.iter().map(|e| e.name.as_bytes()).collect::<Vec<_>>()));
        let want = name.as_bytes();
        let (mut l, mut h) = (0i64, sorted.len() as i64 - 1);
        while l <= h {
            let m = l + ((h - l) >> 1);
            let i = sorted[m as usize];
            match compare_names(self.entries[i].name.as_bytes(), want) {
                std::cmp::Ordering::Equal => return Some(&self.entries[i]),
                std::cmp::Ordering::Less => l = m + 1,
                std::cmp::Ordering::Greater => h = m - 1,
            }
        }
        None
    }

    /// Reads a whole member into memory (pickles, code, small records); bounded by `max`.
    /// Like miniz, it refuses a member without a local header, or whose data runs past the end.
    pub fn read_member(&self, src: &dyn Source, e: &Entry, max: u64) -> Result<Vec<u8>> {
        let at = Location::new(format!("{} (zip member {})", src.name(), e.name), e.data_offset);
        if e.size > max {
            return Err(Error::Limit { at, what: "member size", found: e.size, limit: max });
        }
        if !matches!(read_local(src, e.header_offset), Ok(Some(_))) {
            return Err(Error::corrupt(at, format!("no local header at byte {}", e.header_offset)));
        }
        if e.data_offset.checked_add(e.compressed_size).is_none_or(|end| end > src.len()) {
            return Err(Error::corrupt(at, format!("member data ({} bytes) runs past the end of the file", e.compressed_size)));
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

    /// The first `n` bytes of a member (fewer when it is shorter or its deflate stream ends
    /// early), inflating only what they need: how the safety scan looks into every member.
    /// Whatever its headers say, it reads only what the file holds; a stored member's bytes as the
    /// larger of its two sizes.
    /// Deflated data that breaks off gives the bytes inflated before the break.
    pub fn read_member_prefix(&self, src: &dyn Source, e: &Entry, n: u64) -> Result<Vec<u8>> {
        let held = src.len().saturating_sub(e.data_offset);
        let stored = e.size.max(e.compressed_size).min(held);
        let compressed_size = e.compressed_size.min(held);
        let n = n.min(if e.method == Method::Stored { stored } else { e.size });
        let at = || Location::new(format!("{} (zip member {})", src.name(), e.name), e.data_offset);
        match e.method {
            Method::Stored => src.read_vec(e.data_offset, n),
            Method::Deflated => {
                if n > limits::MAX_INFLATED_MEMBER {
                    return Err(Error::Limit { at: at(), what: "inflated size", found: n, limit: limits::MAX_INFLATED_MEMBER });
                }
                let mut out = Vec::with_capacity(n as usize);
                let mut d = flate2::Decompress::new(false);
                let chunk = n.clamp(64 << 10, limits::STREAM_CHUNK as u64);
                let mut read = 0u64;
                while (out.len() as u64) < n && read < compressed_size {
                    let raw = src.read_vec(e.data_offset + read, (compressed_size - read).min(chunk))?;
                    read += raw.len() as u64;
                    let start = d.total_in();
                    loop {
                        let (was_in, was_out) = (d.total_in(), d.total_out());
                        let used = (d.total_in() - start) as usize;
                        // Corrupt data: what came out before it is what a streaming reader hands on.
                        let status = match d.decompress_vec(&raw[used..], &mut out, flate2::FlushDecompress::None) {
                            Ok(status) => status,
                            Err(_) if !out.is_empty() => return Ok(out),
                            Err(err) => return Err(Error::corrupt(at(), format!("bad deflate data: {err}"))),
                        };
                        if status == flate2::Status::StreamEnd {
                            out.truncate(n as usize);
                            return Ok(out);
                        }
                        if out.len() == out.capacity() || (d.total_in(), d.total_out()) == (was_in, was_out) {
                            break;
                        }
                    }
                }
                out.truncate(n as usize);
                Ok(out)
            }
            Method::Other(m) => Err(Error::unsupported(at(), format!("zip compression method {m}"))),
        }
    }
}

/// Where the next local header is after data ending at `end`: past a data descriptor (12 or 20
/// bytes after its signature) when one is there.
fn after_descriptor(src: &dyn Source, end: u64) -> u64 {
    let Ok(b) = src.read_vec(end, src.len().saturating_sub(end).min(28)) else { return end };
    if b.len() < 4 || u32_at(&b, 0) != DESCRIPTOR_SIG {
        return end;
    }
    let header_at = |k: usize| b.len() >= k + 4 && u32_at(&b, k) == LFH_SIG;
    end + if header_at(16) || !header_at(24) { 16 } else { 24 }
}

/// The first zip signature (data descriptor, local or central header) at or after `from`, before
/// `bound` and within `MAX_ZIP_SEARCH_BYTES`: where a streaming reader ends data of unknown size.
fn find_signature(src: &dyn Source, from: u64, bound: u64) -> Result<Option<u64>> {
    const CHUNK: u64 = 64 << 10;
    let stop = bound.min(src.len()).min(from.saturating_add(limits::MAX_ZIP_SEARCH_BYTES));
    let mut at = from;
    while at + 4 <= stop {
        let len = (stop - at).min(CHUNK);
        let b = src.read_vec(at, len)?;
        let hit = b.windows(4).position(|w| {
            let sig = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            sig == DESCRIPTOR_SIG || sig == LFH_SIG || sig == CDH_SIG
        });
        if let Some(i) = hit {
            return Ok(Some(at + i as u64));
        }
        at += len.saturating_sub(3).max(1); // a signature may straddle two chunks
    }
    Ok(None)
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

/// miniz's name order: bytes lowercased (ASCII), then the shorter first.
fn compare_names(l: &[u8], r: &[u8]) -> std::cmp::Ordering {
    let common = l.len().min(r.len());
    for k in 0..common {
        let (a, b) = (l[k].to_ascii_lowercase(), r[k].to_ascii_lowercase());
        if a != b {
            return a.cmp(&b);
        }
    }
    l.len().cmp(&r.len())
}

/// `mz_zip_reader_sort_central_dir_offsets_by_filename`: its heap sort, step for step (the order
/// of equal names depends on it).
fn heap_sorted(names: &[&[u8]]) -> Vec<usize> {
    let size = names.len();
    let mut ix: Vec<usize> = (0..size).collect();
    if size <= 1 {
        return ix;
    }
    let less = |ix: &[usize], a: usize, b: usize| compare_names(names[ix[a]], names[ix[b]]).is_lt();
    let sift = |ix: &mut Vec<usize>, mut root: usize, end: usize| loop {
        let mut child = 2 * root + 1;
        if child >= end {
            break;
        }
        if child + 1 < end && less(ix, child, child + 1) {
            child += 1;
        }
        if !less(ix, root, child) {
            break;
        }
        ix.swap(root, child);
        root = child;
    };
    let mut start = (size - 2) >> 1;
    loop {
        sift(&mut ix, start, size);
        if start == 0 {
            break;
        }
        start -= 1;
    }
    let mut end = size - 1;
    while end > 0 {
        ix.swap(end, 0);
        sift(&mut ix, 0, end);
        end -= 1;
    }
    ix
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemSource;
    use std::io::Write;

    /// A local header: name, method, flags, and the sizes it states.
    fn local(name: &str, method: u16, flags: u16, size: u32) -> Vec<u8> {
        let mut h = LFH_SIG.to_le_bytes().to_vec();
        h.extend_from_slice(&20u16.to_le_bytes());
        h.extend_from_slice(&flags.to_le_bytes());
        h.extend_from_slice(&method.to_le_bytes());
        h.extend_from_slice(&[0; 8]); // time, date, crc
        h.extend_from_slice(&size.to_le_bytes());
        h.extend_from_slice(&size.to_le_bytes());
        h.extend_from_slice(&(name.len() as u16).to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        h.extend_from_slice(name.as_bytes());
        h
    }

    /// Appends a central directory listing (name, method, compressed, size, offset) and the end record.
    fn finish(mut out: Vec<u8>, listed: &[(&str, u16, u32, u32, u32)]) -> Vec<u8> {
        let cd_offset = out.len() as u32;
        for (name, method, compressed, size, offset) in listed {
            out.extend_from_slice(&CDH_SIG.to_le_bytes());
            out.extend_from_slice(&[20, 0, 20, 0, 0, 0]);
            out.extend_from_slice(&method.to_le_bytes());
            out.extend_from_slice(&[0; 8]);
            out.extend_from_slice(&compressed.to_le_bytes());
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&[0; 12]);
            out.extend_from_slice(&offset.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
        }
        let cd_len = out.len() as u32 - cd_offset;
        out.extend_from_slice(&EOCD_SIG.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(listed.len() as u16).to_le_bytes());
        out.extend_from_slice(&(listed.len() as u16).to_le_bytes());
        out.extend_from_slice(&cd_len.to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&[0; 2]);
        out
    }

    #[test]
    fn the_local_walk_finds_a_record_behind_a_descriptor() {
        // "a" is listed, with a data descriptor as torch writes; "b" follows it, unlisted, its size
        // only in its own descriptor.
        let mut z = local("a", 0, FLAG_DESCRIPTOR, 0);
        z.extend_from_slice(b"hello");
        z.extend_from_slice(&DESCRIPTOR_SIG.to_le_bytes());
        z.extend_from_slice(&[0; 4]);
        z.extend_from_slice(&[5, 0, 0, 0, 5, 0, 0, 0]);
        let b_at = z.len() as u64;
        z.extend(local("b", 0, FLAG_DESCRIPTOR, 0));
        z.extend_from_slice(b"xyz");
        z.extend_from_slice(&DESCRIPTOR_SIG.to_le_bytes());
        z.extend_from_slice(&[0; 12]);
        let z = finish(z, &[("a", 0, 5, 5, 0)]);
        let a = Archive::read(&MemSource::new("z", z)).unwrap();
        assert_eq!(a.local_only.len(), 1, "{:?}", a.notes);
        let r = &a.local_only[0];
        assert_eq!((r.name.as_str(), r.header_offset, r.compressed_size, r.size), ("b", b_at, 3, 3));
        assert!(a.notes.iter().any(|q| q.contains("\"b\"") && q.contains("local headers only")), "{:?}", a.notes);
    }

    #[test]
    fn a_prefix_of_a_deflated_member_inflates_only_what_it_needs() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&data).unwrap();
        let raw = enc.finish().unwrap();
        let mut z = local("d", 8, 0, raw.len() as u32);
        z[22..26].copy_from_slice(&(data.len() as u32).to_le_bytes());
        z.extend_from_slice(&raw);
        let z = finish(z, &[("d", 8, raw.len() as u32, data.len() as u32, 0)]);
        let src = MemSource::new("z", z);
        let a = Archive::read(&src).unwrap();
        assert!(a.quirks.is_empty() && a.local_only.is_empty(), "{:?}", a.quirks);
        let e = &a.entries[0];
        assert_eq!(a.read_member_prefix(&src, e, 1000).unwrap(), &data[..1000]);
        assert_eq!(a.read_member_prefix(&src, e, 400_000).unwrap(), data);
    }
}
