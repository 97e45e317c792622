//! The scanner: reads a file the way `torch.load` dispatches on it (a zip when it starts with a zip
//! local header, else pickles in a row) and runs every pickle it holds through the data-only
//! machine: every `.pkl` member of a zip (duplicates too), the pickles after a STOP, the zip inside
//! a file that is also a pickle, and bytes a pickle hands to a loader. Independent of the document,
//! so it also judges files `open` refuses (a plain pickle, a broken archive).

use super::{classify_global, Finding, Verdict};
use crate::container::zip::{self, Archive};
use crate::error::Error;
use crate::limits;
use crate::pickle::{self, Trace};
use crate::source::{Source, Window};

/// Where a pickle sits, for findings: its member and why torch would (not) read it.
struct Place {
    member: String,
    /// Said after each finding's reason when torch.load does not read this pickle.
    note: Option<String>,
    /// A TorchScript archive's own `__torch__` classes are its code, reported once for the archive.
    torchscript: bool,
}

/// All findings of one file.
pub fn scan_source(src: &dyn Source) -> Vec<Finding> {
    let mut out = Vec::new();
    let head = match src.read_vec(0, src.len().min(512)) {
        Ok(h) => h,
        Err(e) => return vec![unreadable(src.name(), &e)],
    };
    if zip::is_zip(&head) {
        scan_zip(src, None, 0, &mut out);
    } else if crate::container::safetensors::looks_like(&head, src.len()) || crate::onnx::looks_like_onnx(&head) {
        // Plain data: neither format can carry code.
    } else {
        scan_pickles_in_a_row(src, &mut out);
    }
    out
}

fn finding(severity: Verdict, member: &str, offset: u64, reason: String) -> Finding {
    Finding { global: String::new(), opcode: String::new(), member: member.to_string(), offset, severity, reason }
}

fn unreadable(member: &str, e: &Error) -> Finding {
    finding(Verdict::Dangerous, member, 0, format!("cannot be scanned ({e}): what loading it would run cannot be checked"))
}

/// Every `.pkl` member of the archive, and for an archive that is not a torch.save file the zips
/// stored in it (torch.save files inside a `.pt2`); `note` marks a zip torch.load does not read.
fn scan_zip(src: &dyn Source, note: Option<&str>, depth: usize, out: &mut Vec<Finding>) {
    match Archive::read(src) {
        Ok(archive) => scan_archive(src, &archive, note, depth, out),
        Err(e) => out.push(unreadable(src.name(), &e)),
    }
}

/// `scan_zip` over an archive already read (opening a torch zip reads it once for both).
pub fn scan_archive(src: &dyn Source, archive: &Archive, note: Option<&str>, depth: usize, out: &mut Vec<Finding>) {
    let torchscript = archive.entries.iter().any(|e| e.name.ends_with("constants.pkl") || e.name.contains("/code/"));
    if torchscript && note.is_none() {
        out.push(finding(
            Verdict::UnsafeButKnown,
            "",
            0,
            "a TorchScript archive: torch.load(weights_only=True) refuses it; torch.jit.load runs its code".into(),
        ));
    }
    for q in &archive.quirks {
        out.push(finding(Verdict::UnsafeButKnown, "", 0, q.clone()));
    }
    // torch.load reads the data.pkl at the archive's top folder (the last entry of that name).
    let main = archive
        .entries
        .iter()
        .filter(|e| e.name.ends_with("data.pkl") && e.name.matches('/').count() <= 1)
        .min_by_key(|e| e.name.len())
        .and_then(|e| archive.find(&e.name))
        .map(|e| e.header_offset);
    // torch.load never loads a zip stored in a torch.save archive; torch.export.load does (sample
    // inputs, pickled payloads). Probing every member of a torch.save file would cost a read each
    // (hundreds of slow reads in the browser for a big checkpoint), so only other archives are probed.
    let nested = archive.entries.iter().filter(|e| main.is_none() && !e.name.ends_with(".pkl") && e.method == zip::Method::Stored && e.size >= 4);
    for e in nested {
        let inner = Window { inner: src, name: format!("{}/{}", src.name(), e.name), offset: e.data_offset, len: e.size };
        if inner.read_vec(0, 4).is_ok_and(|h| zip::is_zip(&h)) {
            if depth + 1 >= limits::MAX_NESTED_PICKLES {
                out.push(finding(Verdict::Dangerous, &inner.name, 0, "zips nested deeper than the scan follows".into()));
            } else {
                scan_zip(&inner, note, depth + 1, out);
            }
        }
    }
    for e in archive.entries.iter().filter(|e| e.name.ends_with(".pkl")) {
        let member = format!("{}/{}", src.name(), e.name);
        let bytes = match archive.read_member(src, e, limits::MAX_PICKLE_BYTES) {
            Ok(b) => b,
            Err(err) => {
                out.push(unreadable(&member, &err));
                continue;
            }
        };
        let read_by_torch = Some(e.header_offset) == main || (torchscript && e.name.ends_with("constants.pkl"));
        let note = match note {
            Some(n) => Some(n.to_string()),
            None if read_by_torch => None,
            None => Some("in a member torch.load does not read; another loader may".into()),
        };
        let place = Place { member, note, torchscript };
        scan_pickle_bytes(&bytes, &place, 0, out);
    }
}

/// A pickle and the pickles after its STOP, and the nested pickles it hands to loaders.
fn scan_pickle_bytes(bytes: &[u8], place: &Place, depth: usize, out: &mut Vec<Finding>) {
    scan_row(&mut |start| pickle::scan(bytes, start, &place.member), 1, place, depth, out);
}

/// Pickles in a row from byte 0 (each starting where the last one's STOP ended), up to
/// `MAX_PICKLES_IN_A_ROW`; torch reads the first `read_by_torch` of them.
fn scan_row(
    scan_at: &mut dyn FnMut(usize) -> (Trace, Option<Error>),
    read_by_torch: usize,
    place: &Place,
    depth: usize,
    out: &mut Vec<Finding>,
) {
    let mut start = 0usize;
    for i in 0..limits::MAX_PICKLES_IN_A_ROW {
        let (trace, error) = scan_at(start);
        if i >= read_by_torch && trace.globals.is_empty() && trace.newer_opcodes.is_empty() && error.is_some() {
            return; // bytes after the last pickle that are not one
        }
        let after_stop =
            (i >= read_by_torch).then(|| format!("after the STOP at byte {start}: torch.load stops there, another loader may not"));
        let note = join_notes(place.note.as_deref(), after_stop.as_deref());
        trace_findings(&trace, place, note.as_deref(), out);
        nested_findings(&trace, place, depth, out);
        if error.is_some() || trace.end as usize == start {
            return;
        }
        start = trace.end as usize;
    }
}

fn join_notes(a: Option<&str>, b: Option<&str>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (a, b) => a.or(b).map(str::to_string),
    }
}

/// Findings for the globals and newer opcodes of one trace.
fn trace_findings(trace: &Trace, place: &Place, note: Option<&str>, out: &mut Vec<Finding>) {
    let with_note = |reason: String| match note {
        Some(n) => format!("{reason} ({n})"),
        None => reason,
    };
    for g in &trace.globals {
        if place.torchscript && g.module.starts_with("__torch__") {
            continue;
        }
        let (severity, reason) = classify_global(&g.module, &g.name);
        if severity != Verdict::Safe {
            out.push(Finding {
                global: g.global.clone(),
                opcode: g.opcode.to_string(),
                member: place.member.clone(),
                offset: g.offset,
                severity,
                reason: with_note(reason),
            });
        }
    }
    for (op, offset) in &trace.newer_opcodes {
        out.push(Finding {
            global: String::new(),
            opcode: op.to_string(),
            member: place.member.clone(),
            offset: *offset,
            severity: Verdict::UnsafeButKnown,
            reason: with_note(format!("torch.load(weights_only=True) refuses opcode {op} (beyond pickle protocol 2)")),
        });
    }
}

/// Bytes handed to a loader are read as the pickle they may be.
fn nested_findings(trace: &Trace, place: &Place, depth: usize, out: &mut Vec<Finding>) {
    for n in &trace.nested {
        let member = format!("{} > bytes given to {} at byte {}", place.member, n.loader, n.offset);
        if depth + 1 >= limits::MAX_NESTED_PICKLES {
            out.push(finding(Verdict::Dangerous, &member, 0, "pickles nested deeper than the scan follows".into()));
            continue;
        }
        let inner = Place { member, note: place.note.clone(), torchscript: false };
        scan_pickle_bytes(&n.bytes, &inner, depth + 1, out);
    }
}

/// A file that is not a zip: torch.load unpickles from its start (the magic number of a legacy
/// file, or whatever a plain pickle holds: it runs before torch sees it is not a checkpoint).
fn scan_pickles_in_a_row(src: &dyn Source, out: &mut Vec<Finding>) {
    let place = Place { member: src.name().to_string(), note: None, torchscript: false };
    let mut failed = None;
    let mut scan_at = |start: usize| {
        let (trace, error) = scan_source_at(src, start as u64, &place.member);
        if let Some(Error::Read { .. }) = &error {
            failed = error.clone();
        }
        (trace, error)
    };
    let (first, _) = scan_at(0);
    if first.globals.is_empty() && first.calls.is_empty() && first.end == 0 {
        return; // not a pickle at all: torch.load fails on its first byte
    }
    // A legacy file is five pickles (magic number, protocol, sys_info, the object, the storage
    // keys) and then raw storages; any other pickle is one object (torch runs it, then fails).
    let read_by_torch = if is_legacy_magic(src) { limits::MAX_PICKLES_IN_A_ROW } else { 1 };
    scan_row(&mut scan_at, read_by_torch, &place, 0, out);
    if let Some(e) = failed {
        out.push(unreadable(src.name(), &e));
    }
    // A file can be a pickle and a zip at once: torch reads the pickle, zip tools the archive.
    if Archive::read(src).is_ok() {
        out.push(finding(
            Verdict::UnsafeButKnown,
            src.name(),
            0,
            "the file is also a zip archive: torch.load reads it as a pickle (it checks the first bytes), zip tools read the archive".into(),
        ));
        scan_zip(src, Some("in the zip part of a pickle file, which torch.load does not read"), 0, out);
    }
}

/// Scans the pickle at `start` of the source, reading a window that grows until the pickle fits
/// (the file may be gigabytes of raw storages after its pickles).
fn scan_source_at(src: &dyn Source, start: u64, member: &str) -> (Trace, Option<Error>) {
    let limit = src.len().min(start.saturating_add(limits::MAX_PICKLE_BYTES));
    let mut window = limit.min(start + (64 << 10));
    loop {
        let bytes = match src.read_vec(0, window) {
            Ok(b) => b,
            Err(e) => return (Trace::default(), Some(e)),
        };
        let (trace, error) = pickle::scan(&bytes, start as usize, member);
        match error {
            Some(Error::Truncated { .. }) if window < limit => window = (window.saturating_mul(4)).min(limit),
            _ => return (trace, error),
        }
    }
}

/// Whether the source starts with torch's legacy magic number pickle.
fn is_legacy_magic(src: &dyn Source) -> bool {
    let Ok(bytes) = src.read_vec(0, src.len().min(64)) else { return false };
    pickle::parse(&bytes, 0, "magic").is_ok_and(|p| matches!(p.arena.get(p.root), pickle::Value::BigInt(s) if s == crate::container::legacy::MAGIC))
}
