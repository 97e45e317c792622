//! What miniz 3.0.2, torch's zip library, makes of an archive, mirrored without running it: the
//! archives `mz_zip_reader_init` (`mz_zip_reader_read_central_dir`) refuses, which
//! `PyTorchStreamReader` reports as "PytorchStreamReader failed reading zip archive: <why>"; the
//! records `mz_zip_reader_file_stat` refuses ("failed retrieving file meta-data for <name>"); and
//! the entry `mz_zip_reader_locate_file` finds for a name. `zip::Archive` reads more than miniz
//! does (it is the scanner's reader); these say where torch stops.
//!
//! Checked against torch 2.15's answers on crafted variants of a torch.save archive:
//! - The zip64 end record, found through its locator, replaces every value of the end record
//!   (disk numbers, entry counts, directory size and offset), 0xFFFF markers or not.
//! - "unsupported multidisk archive": the locator's disk total is not 1; the entry counts of the
//!   disk and of the archive differ; the disk numbers are not both 0 or both 1; an entry's disk
//!   is 0xFFFF, or neither the archive's disk nor 1.
//! - "not a ZIP archive": the locator names a zip64 end record closer than 56 bytes to the end.
//! - "invalid header or archive is corrupted": a zip64 end record of fewer than 44 bytes; a
//!   directory smaller than 46 bytes an entry or past the end of the file; an entry without its
//!   signature or running past the directory; a bad zip64 extra field; a stored entry (method and
//!   time fields all zero) whose sizes differ, or any entry with data but no compressed bytes; an
//!   entry whose local header plus compressed size runs past the end of the file.
//! - "unsupported encryption": flag 0x2000 (masked local headers) on any entry.
//! - "too many files", "unsupported central directory size": zip64 values past 32 bits.
//!
//! Nothing else of an entry matters at init: offsets may overlap, names repeat, local headers be
//! missing (only reading that entry fails).

use super::zip::{Archive, Entry, Method};
use crate::limits;
use crate::source::Source;

const NOT_AN_ARCHIVE: &str = "not a ZIP archive";
const NO_CENTRAL_DIR: &str = "failed finding central directory";
const CORRUPTED: &str = "invalid header or archive is corrupted";
const MULTIDISK: &str = "unsupported multidisk archive";
const TOO_MANY_FILES: &str = "too many files";
const CDIR_SIZE: &str = "unsupported central directory size";
const ENCRYPTION: &str = "unsupported encryption";
const READ_FAILED: &str = "file read failed";
const METHOD: &str = "unsupported method";
const FEATURE: &str = "unsupported feature";

fn u16_at(b: &[u8], i: usize) -> u64 {
    u16::from_le_bytes([b[i], b[i + 1]]) as u64
}
fn u32_at(b: &[u8], i: usize) -> u64 {
    u32::from_le_bytes(b[i..i + 4].try_into().unwrap()) as u64
}
fn u64_at(b: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(b[i..i + 8].try_into().unwrap())
}

/// Why torch's zip reader refuses `src` (whose archive is `archive`), in torch's words, and at
/// which byte; None when it reads it. In order:
/// - `mz_zip_reader_init`: "PytorchStreamReader failed reading zip archive: <why>";
/// - the records torch reads whenever they are there (`.data/serialization_id` and the version in
///   the reader's init; `byteorder`, `.format_version`, `.storage_alignment`, `data.pkl`), each
///   the entry miniz locates for the name: "PytorchStreamReader failed retrieving file meta-data
///   for <name>: <why>" (`stat_refusal`) or "PytorchStreamReader failed reading file <name>:
///   <why>" (`extract_refusal`);
///
/// The storages the pickle names are checked as they are met (`record_refusal`).
pub fn miniz_refusal(src: &dyn Source, archive: &Archive) -> Option<(u64, String)> {
    if let Err((at, why)) = read_central_dir(src) {
        return Some((at, format!("PytorchStreamReader failed reading zip archive: {why}")));
    }
    let first = archive.entries.first()?;
    let prefix = &first.name[..=first.name.find('/')?];
    let version = if archive.find(&format!("{prefix}.data/version")).is_some() { ".data/version" } else { "version" };
    let named = [".data/serialization_id", version, "byteorder", ".format_version", ".storage_alignment", "data.pkl"]
        .into_iter()
        .filter_map(|n| archive.find(&format!("{prefix}{n}")).map(|e| (n.to_string(), e)));
    named.into_iter().find_map(|(name, e)| record_refusal(src, e, &name).map(|why| (e.header_offset, why)))
}

/// Why torch's `getRecord(name)` refuses the record `e` it located, in torch's words.
pub fn record_refusal(src: &dyn Source, e: &Entry, name: &str) -> Option<String> {
    if let Some(why) = stat_refusal(e) {
        return Some(format!("PytorchStreamReader failed retrieving file meta-data for {name}: {why}"));
    }
    extract_refusal(src, e).map(|why| format!("PytorchStreamReader failed reading file {name}: {why}"))
}

type Step<T> = Result<T, (u64, &'static str)>;

fn read(src: &dyn Source, at: u64, n: u64) -> Step<Vec<u8>> {
    src.read_vec(at, n).map_err(|_| (at, READ_FAILED))
}

/// `mz_zip_reader_read_central_dir`, check by check and in its order.
fn read_central_dir(src: &dyn Source) -> Step<()> {
    let size = src.len();
    if size < 22 {
        return Err((0, NOT_AN_ARCHIVE));
    }
    let eocd = super::zip::locate_end_record(src).map_err(|_| (0, READ_FAILED))?.ok_or((size, NO_CENTRAL_DIR))?;
    let e = read(src, eocd, 22)?;
    let mut zip64 = None;
    if eocd >= 20 + 56 {
        let loc = read(src, eocd - 20, 20)?;
        if u32_at(&loc, 0) == 0x0706_4b50 {
            let rec_pos = u64_at(&loc, 8);
            if rec_pos > size - 56 {
                return Err((eocd - 20, NOT_AN_ARCHIVE));
            }
            let rec = read(src, rec_pos, 56)?;
            if u32_at(&rec, 0) == 0x0606_4b50 {
                zip64 = Some((loc, rec, rec_pos));
            }
        }
    }
    let mut total = u16_at(&e, 10);
    let mut on_disk = u16_at(&e, 8);
    let mut this_disk = u16_at(&e, 4);
    let mut cd_disk = u16_at(&e, 6);
    let mut cd_size = u32_at(&e, 12);
    let mut cd_ofs = u32_at(&e, 16);
    let mut at = eocd;
    if let Some((loc, rec, rec_pos)) = zip64 {
        at = rec_pos;
        if u64_at(&rec, 4) < 56 - 12 {
            return Err((at, CORRUPTED));
        }
        if u32_at(&loc, 16) != 1 {
            return Err((eocd - 20, MULTIDISK));
        }
        total = u64_at(&rec, 32);
        on_disk = u64_at(&rec, 24);
        if total > u32::MAX as u64 || on_disk > u32::MAX as u64 {
            return Err((at, TOO_MANY_FILES));
        }
        cd_size = u64_at(&rec, 40);
        if cd_size > u32::MAX as u64 {
            return Err((at, CDIR_SIZE));
        }
        this_disk = u32_at(&rec, 16);
        cd_disk = u32_at(&rec, 20);
        cd_ofs = u64_at(&rec, 48);
    }
    if total != on_disk || ((this_disk | cd_disk) != 0 && (this_disk != 1 || cd_disk != 1)) {
        return Err((at, MULTIDISK));
    }
    if cd_size < total * 46 {
        return Err((at, CORRUPTED));
    }
    // miniz adds in 64 bits: an offset near 2^64 wraps past this check and fails the read.
    if cd_ofs.wrapping_add(cd_size) > size {
        return Err((at, CORRUPTED));
    }
    if total == 0 {
        return Ok(());
    }
    if cd_ofs.checked_add(cd_size).is_none() || cd_size > limits::MAX_HEADER_BYTES {
        return Err((cd_ofs, READ_FAILED));
    }
    let cd = read(src, cd_ofs, cd_size)?;
    let mut p = 0usize;
    for _ in 0..total {
        let n = cd.len() - p;
        let here = cd_ofs + p as u64;
        if n < 46 || u32_at(&cd, p) != 0x0201_4b50 {
            return Err((here, CORRUPTED));
        }
        let h = &cd[p..];
        let mut comp = u32_at(h, 20);
        let mut decomp = u32_at(h, 24);
        let mut lho = u32_at(h, 42);
        let name_len = u16_at(h, 28) as usize;
        let extra_len = u16_at(h, 30) as usize;
        if extra_len > 0 && comp.max(decomp).max(lho) == u32::MAX as u64 {
            // miniz's slip: an extra field past the directory is read from the directory's start.
            let extra = if 46 + name_len + extra_len > n {
                read(src, cd_ofs + 46 + name_len as u64, extra_len as u64)?
            } else {
                h[46 + name_len..46 + name_len + extra_len].to_vec()
            };
            let mut x = &extra[..];
            loop {
                if x.len() < 4 || u16_at(x, 2) as usize + 4 > x.len() {
                    return Err((here, CORRUPTED));
                }
                let field = u16_at(x, 0);
                if field == 1 {
                    let mut body = &x[4..];
                    for v in [&mut decomp, &mut comp, &mut lho] {
                        if *v == u32::MAX as u64 && body.len() >= 8 {
                            *v = u64_at(body, 0);
                            body = &body[8..];
                        }
                    }
                    break;
                }
                x = &x[4 + u16_at(x, 2) as usize..];
                if x.is_empty() {
                    break;
                }
            }
        }
        if comp != u32::MAX as u64 && decomp != u32::MAX as u64 {
            // The method is read as 32 bits, with the time field after it.
            let stored = u32_at(h, 10) == 0;
            if (stored && decomp != comp) || (decomp != 0 && comp == 0) {
                return Err((here, CORRUPTED));
            }
        }
        let disk = u16_at(h, 34);
        if disk == 0xffff || (disk != this_disk && disk != 1) {
            return Err((here, MULTIDISK));
        }
        if comp != u32::MAX as u64 && lho.wrapping_add(30).wrapping_add(comp) > size {
            return Err((here, CORRUPTED));
        }
        if u16_at(h, 8) & 0x2000 != 0 {
            return Err((here, ENCRYPTION));
        }
        let total_header = 46 + name_len + extra_len + u16_at(h, 32) as usize;
        if total_header > n {
            return Err((here, CORRUPTED));
        }
        p += total_header;
    }
    Ok(())
}

/// Why `mz_zip_reader_file_stat` (every record torch locates: read, or a storage it maps) makes
/// torch refuse: "failed retrieving file meta-data for <name>: <why>".
pub fn stat_refusal(e: &Entry) -> Option<&'static str> {
    if !matches!(e.method, Method::Stored | Method::Deflated) {
        Some(METHOD)
    } else if e.flags & (0x1 | 0x40) != 0 {
        Some(ENCRYPTION)
    } else if e.flags & 0x20 != 0 {
        Some(FEATURE)
    } else {
        None
    }
}

/// Why `mz_zip_reader_extract_to_mem` (torch's `getRecord`: every record it reads, storages
/// included) refuses a record that passed `stat_refusal`: "failed reading file <name>: <why>". A
/// record with no compressed bytes, or named like a folder, is not read at all.
pub fn extract_refusal(src: &dyn Source, e: &Entry) -> Option<&'static str> {
    if e.compressed_size == 0 || e.name.ends_with('/') {
        return None;
    }
    // The archive reader has read the local header already (`has_local`, `data_offset`).
    if !e.has_local || e.data_offset.checked_add(e.compressed_size).is_none_or(|end| end > src.len()) {
        return Some(CORRUPTED);
    }
    // A stored record is read as its uncompressed size.
    if e.method == Method::Stored && e.data_offset.checked_add(e.size).is_none_or(|end| end > src.len()) {
        return Some(READ_FAILED);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemSource;

    /// A stored archive of `members`, as torch writes it (times zero, a zip64 end record and its
    /// locator before the end record) when `zip64`; where each central-directory entry starts,
    /// and where the zip64 end record, its locator and the end record start.
    fn archive(members: &[(&str, &[u8])], zip64: bool) -> (Vec<u8>, Vec<usize>, [usize; 3]) {
        let mut out = Vec::new();
        let mut offsets = Vec::new();
        for (name, data) in members {
            offsets.push(out.len() as u32);
            out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
            out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(data);
        }
        let cd_offset = out.len();
        let mut entries = Vec::new();
        for ((name, data), off) in members.iter().zip(offsets) {
            entries.push(out.len());
            out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            out.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&[0; 12]);
            out.extend_from_slice(&off.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
        }
        let (n, cd_size) = (members.len() as u64, (out.len() - cd_offset) as u64);
        let (rec, loc) = (out.len(), out.len() + 56);
        if zip64 {
            out.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
            out.extend_from_slice(&44u64.to_le_bytes());
            out.extend_from_slice(&[45, 0, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            for v in [n, n, cd_size, cd_offset as u64] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&(rec as u64).to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
        }
        let eocd = out.len();
        out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend_from_slice(&(n as u16).to_le_bytes());
        out.extend_from_slice(&(n as u16).to_le_bytes());
        out.extend_from_slice(&(cd_size as u32).to_le_bytes());
        out.extend_from_slice(&(cd_offset as u32).to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        (out, entries, [rec, loc, eocd])
    }

    fn put(z: &[u8], at: usize, v: &[u8]) -> Vec<u8> {
        let mut z = z.to_vec();
        z[at..at + v.len()].copy_from_slice(v);
        z
    }

    /// miniz's init alone.
    fn refusal(z: Vec<u8>) -> Option<String> {
        read_central_dir(&MemSource::new("z.pt", z)).err().map(|(_, why)| why.to_string())
    }

    const MEMBERS: [(&str, &[u8]); 4] =
        [("a/data.pkl", b"\x80\x02}q\x00."), ("a/byteorder", b"little"), ("a/data/0", b"\0\0\x80?"), ("a/version", b"3\n")];

    #[test]
    fn the_zip64_end_record_replaces_the_end_record() {
        // torch 2.15 accepts a torch.save archive whatever its end record's counts, size, offset
        // and disk numbers say: miniz reads the zip64 end record's.
        let (z, _, [rec, loc, eocd]) = archive(&MEMBERS, true);
        assert_eq!(refusal(z.clone()), None);
        for (at, v) in [(4, 1u16), (8, 11), (10, 11), (12, 999), (16, 5)] {
            assert_eq!(refusal(put(&z, eocd + at, &v.to_le_bytes())), None, "end record field at {at}");
        }
        let a = Archive::read(&MemSource::new("z.pt", put(&z, eocd + 10, &11u16.to_le_bytes()))).unwrap();
        assert_eq!(a.entries.len(), 4);
        // ... and refuses what the zip64 records say wrong.
        let cases: [(usize, &[u8], &str); 9] = [
            (rec + 24, &5u64.to_le_bytes(), MULTIDISK),    // entries on this disk
            (rec + 16, &1u32.to_le_bytes(), MULTIDISK),    // this disk 1, the directory's disk 0
            (loc + 16, &2u32.to_le_bytes(), MULTIDISK),    // disks in all
            (loc + 16, &0u32.to_le_bytes(), MULTIDISK),
            (loc + 8, &((z.len() - 55) as u64).to_le_bytes(), NOT_AN_ARCHIVE),
            (rec + 4, &43u64.to_le_bytes(), CORRUPTED),    // record size
            (rec + 48, &1u64.to_le_bytes(), CORRUPTED),    // directory offset: no signature there
            (rec + 32, &(1u64 << 33).to_le_bytes(), TOO_MANY_FILES),
            (rec + 40, &(1u64 << 33).to_le_bytes(), CDIR_SIZE),
        ];
        for (at, v, why) in cases {
            assert_eq!(refusal(put(&z, at, v)).as_deref(), Some(why), "patch at {at}");
        }
        // Disk numbers both 1 pass, then each entry's disk 0 is neither 1 nor the archive's.
        assert_eq!(refusal(put(&put(&z, rec + 16, &1u32.to_le_bytes()), rec + 20, &1u32.to_le_bytes())).as_deref(), Some(MULTIDISK));
        // A zip64 end record without its signature: the end record's values count.
        let no64 = put(&z, rec, b"PK\x06\x07");
        assert_eq!(refusal(no64.clone()), None);
        assert_eq!(refusal(put(&no64, eocd + 8, &11u16.to_le_bytes())).as_deref(), Some(MULTIDISK));
    }

    #[test]
    fn entries_miniz_refuses_at_init() {
        let (z, cd, [rec, _, eocd]) = archive(&MEMBERS, true);
        let e = cd[1]; // byteorder, 6 bytes
        let z_len = z.len() as u32;
        let cases: [(usize, &[u8], Option<&str>); 9] = [
            (e + 8, &0x2000u16.to_le_bytes(), Some(ENCRYPTION)), // masked local headers
            (e + 8, &0x0001u16.to_le_bytes(), None),             // encrypted: refused when read only
            (e + 10, &12u16.to_le_bytes(), None),                // method: refused when read only
            (e + 34, &1u16.to_le_bytes(), None),                 // disk 1 passes
            (e + 34, &2u16.to_le_bytes(), Some(MULTIDISK)),
            (e + 24, &7u32.to_le_bytes(), Some(CORRUPTED)),      // stored, sizes differ, time 0
            (e + 42, &(z_len - 30 - 5).to_le_bytes(), Some(CORRUPTED)), // local header + data past the end
            (e + 42, &5u32.to_le_bytes(), None),                 // no local header there: refused when read only
            (e + 32, &500u16.to_le_bytes(), Some(CORRUPTED)),    // comment past the directory
        ];
        for (at, v, why) in cases {
            assert_eq!(refusal(put(&z, at, v)).as_deref(), why, "patch {v:?} at {}", at - e);
        }
        // Stored with differing sizes passes when the time field is not zero (miniz reads the
        // method as 32 bits); deflated with data but no compressed bytes does not.
        assert_eq!(refusal(put(&put(&z, e + 24, &7u32.to_le_bytes()), e + 12, &1u16.to_le_bytes())), None);
        assert_eq!(refusal(put(&put(&z, e + 20, &0u32.to_le_bytes()), e + 10, &8u16.to_le_bytes())).as_deref(), Some(CORRUPTED));
        // A directory one byte short, one long (it may reach into the end records).
        let size_at = rec + 40;
        let cd_size = u64_at(&z, size_at);
        assert_eq!(refusal(put(&z, size_at, &(cd_size - 1).to_le_bytes())).as_deref(), Some(CORRUPTED));
        assert_eq!(refusal(put(&z, size_at, &(cd_size + 60).to_le_bytes())), None);
        assert_eq!(refusal(put(&z, size_at, &((z.len() - cd[0]) as u64 + 1).to_le_bytes())).as_deref(), Some(CORRUPTED));
        let _ = eocd;
    }

    #[test]
    fn overlapping_and_repeated_entries_pass_init_and_are_all_read() {
        // A second central-directory entry for "a/version" at the same local header.
        let (z, cd, _) = archive(&MEMBERS, false);
        let mut dup = z[..cd[0]].to_vec();
        let entries = &z[cd[0]..z.len() - 22];
        dup.extend_from_slice(entries);
        dup.extend_from_slice(&z[cd[3]..z.len() - 22]);
        let cd_size = (dup.len() - cd[0]) as u32;
        dup.extend_from_slice(&z[z.len() - 22..]);
        let end = dup.len() - 22;
        dup = put(&dup, end + 8, &5u16.to_le_bytes());
        dup = put(&dup, end + 10, &5u16.to_le_bytes());
        dup = put(&dup, end + 12, &cd_size.to_le_bytes());
        assert_eq!(refusal(dup.clone()), None);
        let a = Archive::read(&MemSource::new("z.pt", dup)).unwrap();
        assert_eq!(a.entries.len(), 5);
        assert!(a.notes.iter().any(|n| n.contains("share bytes")), "{:?}", a.notes);
        assert!(a.notes.iter().any(|n| n.contains("more than once")), "{:?}", a.notes);
        assert!(a.quirks.is_empty(), "{:?}", a.quirks);
    }

    #[test]
    fn records_torch_reads_must_be_readable() {
        let why = |z: Vec<u8>| {
            let src = MemSource::new("z.pt", z);
            miniz_refusal(&src, &Archive::read(&src).unwrap()).map(|(_, why)| why)
        };
        let (z, cd, _) = archive(&MEMBERS, true);
        assert_eq!(why(z.clone()), None);
        // As torch 2.15 answered variants of a torch.save archive: a storage with no local header
        // at its offset, of method 12, flagged encrypted (checked when the pickle names it).
        let storage = |z: Vec<u8>| {
            let src = MemSource::new("z.pt", z);
            let a = Archive::read(&src).unwrap();
            record_refusal(&src, a.find("a/data/0").unwrap(), "data/0")
        };
        let cases: [(usize, &[u8], &str); 3] = [
            (cd[2] + 42, &1u32.to_le_bytes(), "failed reading file data/0: invalid header or archive is corrupted"),
            (cd[2] + 10, &12u16.to_le_bytes(), "failed retrieving file meta-data for data/0: unsupported method"),
            (cd[2] + 8, &1u16.to_le_bytes(), "failed retrieving file meta-data for data/0: unsupported encryption"),
        ];
        for (at, v, want) in cases {
            assert_eq!(storage(put(&z, at, v)), Some(format!("PytorchStreamReader {want}")));
            assert_eq!(why(put(&z, at, v)), None, "a storage is checked when the pickle names it");
        }
        // The name is found whatever its case ("A/BYTEORDER" is torch's byteorder).
        let upper = put(&put(&z, cd[1] + 46, b"A/BYTEORDER"), cd[1] + 42, &1u32.to_le_bytes());
        assert_eq!(why(upper).as_deref(), Some("PytorchStreamReader failed reading file byteorder: invalid header or archive is corrupted"));
        // A member torch does not read may lack its local header.
        let mut extra = MEMBERS.to_vec();
        extra.push(("a/notes.txt", b"hello"));
        let (z, cd, _) = archive(&extra, true);
        assert_eq!(why(put(&z, cd[4] + 42, &1u32.to_le_bytes())), None);
    }

    #[test]
    fn locate_finds_what_torch_reads() {
        // Which of these entries (put after data.pkl and .format_version) torch 2.15 reads as
        // byteorder, from its answers when each held a different value: miniz's heap sort and
        // binary search, names compared without case (neither the first nor the last of a name).
        let base = ["m/data.pkl", "m/.format_version", "m/.storage_alignment", "m/data/0", "m/data/1", "m/data/2", "m/data/3", "m/version", "m/.data/serialization_id"];
        let cases: [(&[&str], Option<usize>); 7] = [
            (&["m/byteorder", "m/byteorder"], Some(0)),
            (&["m/byteorder", "m/byteorder", "m/byteorder"], Some(0)),
            (&["m/byteorder", "m/byteorder", "m/byteorder", "m/byteorder"], Some(3)),
            (&["m/BYTEORDER"], Some(0)),
            (&["m/BYTEORDER", "m/byteorder"], Some(0)),
            (&["m/byteorder", "m/ByteOrder"], Some(0)),
            (&[], None),
        ];
        for (extra, want) in cases {
            let names: Vec<String> = base[..2].iter().chain(extra.iter()).chain(base[2..].iter()).map(|s| s.to_string()).collect();
            let a = Archive {
                entries: names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| Entry { name: n.clone(), method: Method::Stored, compressed_size: 1, size: 1, header_offset: i as u64, data_offset: 0, flags: 0, has_local: true, name_is_utf8: true })
                    .collect(),
                ..Default::default()
            };
            let got = a.find("m/byteorder").map(|e| e.header_offset as usize - 2);
            assert_eq!(got, want, "{extra:?}");
        }
    }
}
