//! The scanner: reads a file the way `torch.load` dispatches on it (a zip when it starts with a zip
//! local header, else a tar, else pickles in a row; and NumPy's `.npy`) and runs every pickle a
//! loader could run through the data-only machine, wherever it hides: every `.pkl` member of a zip
//! (duplicates too), every other member that holds a pickle whatever its name (but the storages a
//! torch.save archive names, which torch reads as raw bytes), records only a streaming zip reader
//! sees, zips and tars inside archives, NumPy object arrays, the pickles after a STOP, the zip
//! inside a file that is also a pickle, and bytes a pickle hands to a loader. Independent of the
//! document, so it also judges files `open` refuses (a plain pickle, a broken archive).

use super::globals::{self, Class};
use super::{Finding, Verdict};
use super::members::{self, Budget, Contents};
use crate::container::tar;
use crate::container::zip::{self, Archive, Entry};
use crate::error::Error;
use crate::limits;
use crate::pickle::{self, Trace};
use crate::source::{MemSource, Source, Window};
use std::collections::HashSet;

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
    let budget = Budget::default();
    if let Some(kind) = unreadable_archive(&head) {
        // Default-deny: a loader or scanner that unpacks it (picklescan reads 7z) may find a
        // pickle inside, and what it would run cannot be checked here.
        out.push(finding(Verdict::Dangerous, src.name(), 0, format!("{kind}: torchpeek cannot look inside it, so what a loader would unpack and run cannot be checked")));
    } else if zip::is_zip(&head) {
        scan_zip(src, None, 0, &budget, &mut out);
    } else if crate::container::sniff::is_safetensors(&head, src.len()) || crate::container::sniff::is_onnx(&head) {
        // Plain data: neither format can carry code.
    } else {
        // torch.load tries a tar first (its oldest format); np.load runs an object array's pickle;
        // and any loader unpickles from byte 0 (a tar header or .npy magic is no pickle, but a
        // crafted file can be both).
        let head = match crate::container::npy::is_npy(&head) {
            true => src.read_vec(0, src.len().min(limits::SCAN_PROBE_BYTES)).unwrap_or(head), // the whole header
            false => head,
        };
        match members::sniff(&head, src.len(), src.name()) {
            Ok(Contents::Tar) => scan_tar(src, None, 0, &budget, &mut out),
            Ok(what @ Contents::Npy(_)) => scan_contents(src, what, None, 0, &budget, &mut out),
            Ok(_) => {}
            Err(e) => out.push(unreadable(src.name(), &e)),
        }
        scan_pickles_in_a_row(src, &budget, &mut out);
    }
    out
}

/// Archives and compressed streams torchpeek does not unpack, by their magic bytes.
fn unreadable_archive(head: &[u8]) -> Option<&'static str> {
    const KINDS: &[(&[u8], &str)] = &[
        (b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
        (b"Rar!\x1a\x07", "a RAR archive"),
        (b"\x1f\x8b", "a gzip stream"),
        (b"BZh", "a bzip2 stream"),
        (b"\xfd7zXZ\x00", "an xz stream"),
        (b"\x28\xb5\x2f\xfd", "a zstd stream"),
    ];
    KINDS.iter().find(|(magic, _)| head.starts_with(magic)).map(|&(_, kind)| kind)
}

/// A zip member that cannot be read: a note when not one byte of it inflates (no zip reader hands
/// anything of it to a loader), else `unreadable`.
fn unreadable_member(member: &str, err: Error) -> Finding {
    match err {
        Error::Corrupt { message, .. } if message.starts_with("bad deflate data") => {
            finding(Verdict::Safe, member, 0, format!("{message}: no zip reader can read this member, so nothing loads it"))
        }
        err => unreadable(member, &err),
    }
}

/// A member compressed in a way torchpeek does not decompress: `dangerous` for bzip2 (12) and LZMA
/// (14), which Python's zipfile decompresses (what a loader would run cannot be checked); a note for
/// the rest, which no zip reader decompresses (nothing can load it).
fn undecodable(e: &Entry, member: &str) -> Option<Finding> {
    let zip::Method::Other(m) = e.method else { return None };
    let (severity, what) = match m {
        12 | 14 => (Verdict::Dangerous, "which Python's zipfile decompresses and torchpeek does not: what a loader would unpack and run cannot be checked"),
        _ => (Verdict::Safe, "which no zip reader decompresses: nothing can load it"),
    };
    Some(finding(severity, member, 0, format!("compressed with method {m}, {what}")))
}

/// A member with no local header: zip readers refuse to read it, so nothing loads it (a note).
fn no_local_header(member: &str, e: &Entry) -> Finding {
    finding(Verdict::Safe, member, e.header_offset, "no local header: zip readers refuse to read this member, so nothing loads it".into())
}

fn finding(severity: Verdict, member: &str, offset: u64, reason: String) -> Finding {
    Finding { global: String::new(), opcode: String::new(), member: member.to_string(), offset, severity, reason }
}

fn unreadable(member: &str, e: &Error) -> Finding {
    finding(Verdict::Dangerous, member, 0, format!("cannot be scanned ({e}): what loading it would run cannot be checked"))
}

/// Said of a pickle in a member torch.load does not read.
const NOT_READ_BY_TORCH: &str = "in a member torch.load does not read; another loader may";

/// The members of torch's legacy tar format, each of which torch.load unpickles.
const TORCH_TAR_MEMBERS: [&str; 4] = ["sys_info", "pickle", "storages", "tensors"];

/// Every member of the archive a loader could run (`scan_members`); `note` marks a zip torch.load
/// does not read.
fn scan_zip(src: &dyn Source, note: Option<&str>, depth: usize, budget: &Budget, out: &mut Vec<Finding>) {
    match Archive::read(src) {
        Ok(archive) => scan_members(src, &archive, note, depth, budget, out),
        Err(e) => out.push(unreadable(src.name(), &e)),
    }
}

/// `scan_zip` over an archive already read (opening a torch zip reads it once for both).
pub fn scan_archive(src: &dyn Source, archive: &Archive, note: Option<&str>, depth: usize, out: &mut Vec<Finding>) {
    scan_members(src, archive, note, depth, &Budget::default(), out);
}

/// The archive's `.pkl` members, read whole; then, told apart by their first bytes
/// (`members.rs`), every other member whatever its name and every record only the local headers
/// show, except the storages a torch.save archive's pickles name.
fn scan_members(src: &dyn Source, archive: &Archive, note: Option<&str>, depth: usize, budget: &Budget, out: &mut Vec<Finding>) {
    // What torch.load takes for TorchScript: a record named `constants.pkl` in the archive's folder.
    let torchscript = archive.entries.first().and_then(|f| f.name.split_once('/')).is_some_and(|(dir, _)| {
        let name = format!("{dir}/constants.pkl");
        archive.entries.iter().any(|e| e.name == name)
    });
    if torchscript && note.is_none() {
        out.push(finding(
            Verdict::UnsafeButKnown,
            "",
            0,
            "a TorchScript archive: torch.load(weights_only=True) refuses it; torch.jit.load runs its code".into(),
        ));
    }
    // Headers that disagree hide nothing by themselves (every view is scanned): notes.
    for q in archive.quirks.iter().chain(&archive.notes) {
        out.push(finding(Verdict::Safe, "", 0, q.clone()));
    }
    // torch.load reads `data.pkl` in the folder of the archive's first record (the first of that name).
    let main = archive
        .entries
        .first()
        .and_then(|first| first.name.split_once('/'))
        .and_then(|(dir, _)| archive.find(&format!("{dir}/data.pkl")))
        .map(|e| e.header_offset);
    let mut storages = HashSet::new();
    for e in archive.entries.iter().filter(|e| e.name.ends_with(".pkl")) {
        let member = format!("{}/{}", src.name(), e.name);
        if !e.has_local {
            out.push(no_local_header(&member, e));
            continue;
        }
        if let Some(f) = undecodable(e, &member) {
            out.push(f);
            continue;
        }
        let bytes = match archive.read_member_prefix(src, e, limits::MAX_PICKLE_BYTES) {
            Ok(b) => b,
            Err(err) => {
                out.push(unreadable_member(&member, err));
                continue;
            }
        };
        let read_by_torch = Some(e.header_offset) == main || (torchscript && e.name.ends_with("constants.pkl"));
        if read_by_torch {
            // `<prefix>/data.pkl` names storages `<prefix>/data/<key>`, constants.pkl `<prefix>/constants/<key>`.
            members::storage_members(&bytes, &format!("{}/", e.name.trim_end_matches(".pkl")), &mut storages);
        }
        let note = match note {
            Some(n) => Some(n.to_string()),
            None if read_by_torch => None,
            None => Some(NOT_READ_BY_TORCH.into()),
        };
        let place = Place { member, note, torchscript };
        scan_pickle_bytes(&bytes, &place, 0, out);
    }
    // A storage is raw bytes to torch.load: only the record it reads (as miniz locates it) is one.
    let is_storage = |e: &Entry| storages.contains(&e.name) && archive.find(&e.name).is_some_and(|f| f.header_offset == e.header_offset);
    let others = archive.entries.iter().filter(|e| !e.name.ends_with(".pkl") && !is_storage(e));
    let others = others.map(|e| (e, e.name.clone()));
    let local_only = archive.local_only.iter().map(|r| (r, format!("{} (local header at byte {})", r.name, r.header_offset)));
    // torch.load never reads a zip stored in a torch.save archive; torch.export.load reads those
    // of a .pt2 (torch.save files, pickled payloads).
    let loaded_archive = main.is_none();
    for (e, name) in others.chain(local_only) {
        if !scan_zip_member(src, archive, e, format!("{}/{name}", src.name()), (note, loaded_archive), depth, budget, out) {
            return;
        }
    }
}

/// Scans one zip member from its first `SCAN_PROBE_BYTES` (inflating no more), reading on only
/// when they hold something a loader runs. `notes`: the archive's note, and whether an archive
/// stored in it is read by its loader. False when the budget is spent.
#[allow(clippy::too_many_arguments)]
fn scan_zip_member(
    src: &dyn Source,
    archive: &Archive,
    e: &Entry,
    name: String,
    notes: (Option<&str>, bool),
    depth: usize,
    budget: &Budget,
    out: &mut Vec<Finding>,
) -> bool {
    if let Some(f) = undecodable(e, &name) {
        out.push(f);
        return true;
    }
    if !e.has_local {
        out.push(no_local_header(&name, e));
        return true;
    }
    let inflating = e.method != zip::Method::Stored;
    if !take(budget, if inflating { e.size.min(limits::SCAN_PROBE_BYTES) } else { 0 }, &name, out) {
        return false;
    }
    let head = match archive.read_member_prefix(src, e, limits::SCAN_PROBE_BYTES) {
        Ok(h) => h,
        Err(err) => {
            out.push(unreadable_member(&name, err));
            return true;
        }
    };
    let Some(what) = sniffed(&head, e.size, &name, out) else { return true };
    let note = member_note(notes.0, notes.1 && matches!(what, Contents::Zip | Contents::Tar));
    let member = if head.len() as u64 == e.size || !inflating {
        whole_member(head, Window { inner: src, name, offset: e.data_offset, len: e.size })
    } else {
        if e.size > limits::MAX_INFLATED_MEMBER {
            let at = crate::error::Location::member(name.as_str());
            let err = Error::Limit { at, what: "inflated member size", found: e.size, limit: limits::MAX_INFLATED_MEMBER };
            out.push(unreadable(&name, &err));
        }
        if !take(budget, e.size.min(limits::MAX_INFLATED_MEMBER), &name, out) {
            return false;
        }
        match archive.read_member_prefix(src, e, limits::MAX_INFLATED_MEMBER) {
            Ok(bytes) => Box::new(MemSource::new(name, bytes)),
            Err(err) => {
                out.push(unreadable(&name, &err));
                return true;
            }
        }
    };
    scan_contents(&*member, what, note.as_deref(), depth, budget, out);
    !budget.spent()
}

/// Every member of a tar, each told apart by its first bytes (`members.rs`).
fn scan_tar(src: &dyn Source, note: Option<&str>, depth: usize, budget: &Budget, out: &mut Vec<Finding>) {
    let (list, error) = tar::members(src);
    if let Some(e) = error {
        out.push(unreadable(src.name(), &e));
    }
    for m in list {
        let name = format!("{}/{}", src.name(), m.name);
        if !take(budget, 0, &name, out) {
            return;
        }
        let whole = Window { inner: src, name, offset: m.offset, len: m.size };
        let head = match whole.read_vec(0, m.size.min(limits::SCAN_PROBE_BYTES)) {
            Ok(h) => h,
            Err(err) => {
                out.push(unreadable(&whole.name, &err));
                continue;
            }
        };
        let Some(what) = sniffed(&head, m.size, &whole.name, out) else { continue };
        let note = member_note(note, note.is_none() && TORCH_TAR_MEMBERS.contains(&m.name.as_str()));
        scan_contents(&*whole_member(head, whole), what, note.as_deref(), depth, budget, out);
        if budget.spent() {
            return;
        }
    }
}

/// Counts a member (and bytes inflated) against the scan's budget, saying once when it is spent.
fn take(budget: &Budget, inflated: u64, member: &str, out: &mut Vec<Finding>) -> bool {
    if budget.take(inflated) {
        return true;
    }
    if budget.first_refusal() {
        let reason = format!(
            "the file holds more than the scan reads ({} members or {} inflated bytes): what the rest would run cannot be checked",
            limits::MAX_SCANNED_MEMBERS,
            limits::MAX_SCANNED_INFLATED
        );
        out.push(finding(Verdict::Dangerous, member, 0, reason));
    }
    false
}

/// What a member's probed head holds, or None when nothing a loader runs (or a finding when its
/// head cannot be read as what it says it is).
fn sniffed(head: &[u8], len: u64, name: &str, out: &mut Vec<Finding>) -> Option<Contents> {
    match members::sniff(head, len, name) {
        Ok(Contents::Nothing) => None,
        Ok(what) => Some(what),
        Err(e) => {
            out.push(unreadable(name, &e));
            None
        }
    }
}

/// The note for a member: the outer note when its loader reads it (`read`: an archive in a .pt2,
/// a legacy tar's members), else it is in a member torch.load does not read.
fn member_note(outer: Option<&str>, read: bool) -> Option<String> {
    match read {
        true => outer.map(str::to_string),
        false => Some(outer.unwrap_or(NOT_READ_BY_TORCH).to_string()),
    }
}

/// A member whose first bytes are read: those bytes when they are all of it (no more reads),
/// else the member where it lies.
fn whole_member<'a>(head: Vec<u8>, member: Window<'a>) -> Box<dyn Source + 'a> {
    match head.len() as u64 == member.len {
        true => Box::new(MemSource::new(member.name, head)),
        false => Box::new(member),
    }
}

/// What one member (or file) holds: an archive's members, an object array's pickle, a pickle.
fn scan_contents(src: &dyn Source, what: Contents, note: Option<&str>, depth: usize, budget: &Budget, out: &mut Vec<Finding>) {
    match what {
        Contents::Zip | Contents::Tar if depth + 1 >= limits::MAX_NESTED_PICKLES => {
            out.push(finding(Verdict::Dangerous, src.name(), 0, "archives nested deeper than the scan follows".into()));
        }
        Contents::Zip => scan_zip(src, note, depth + 1, budget, out),
        Contents::Tar => scan_tar(src, note, depth + 1, budget, out),
        Contents::Npy(offset) => {
            let name = format!("{} (object array pickle at byte {offset})", src.name());
            let pickle = Window { inner: src, name, offset, len: src.len().saturating_sub(offset) };
            scan_member_pickle(&pickle, join_notes(note, Some("np.load(allow_pickle=True) runs it")), depth, out);
        }
        Contents::Pickle => scan_member_pickle(src, note.map(str::to_string), depth, out),
        Contents::Nothing => {}
    }
}

/// A member that may be a pickle: scanned (with the pickles after its STOP) when the machine
/// takes it for one (`members::is_pickle`), reading no more than that takes.
fn scan_member_pickle(src: &dyn Source, note: Option<String>, depth: usize, out: &mut Vec<Finding>) {
    let (trace, error) = scan_source_at(src, 0, src.name());
    if let Some(e @ Error::Read { .. }) = &error {
        out.push(unreadable(src.name(), e));
        return;
    }
    if !members::is_pickle(&trace, error.as_ref(), src.len().min(limits::MAX_PICKLE_BYTES), src.len()) {
        return;
    }
    match src.read_vec(0, src.len().min(limits::MAX_PICKLE_BYTES)) {
        Ok(bytes) => scan_pickle_bytes(&bytes, &Place { member: src.name().to_string(), note, torchscript: false }, depth, out),
        Err(e) => out.push(unreadable(src.name(), &e)),
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

/// Findings for the globals and calls of one trace, default-deny (`globals.rs`): a global is
/// `dangerous` unless it is listed harmless or is a model's own class that the pickle only names
/// or rebuilds the standard way; so is every call of something the pickle computed, and BUILD on
/// anything but an object the pickle made.
fn trace_findings(trace: &Trace, place: &Place, note: Option<&str>, out: &mut Vec<Finding>) {
    let with_note = |reason: String| match note {
        Some(n) => format!("{reason} ({n})"),
        None => reason,
    };
    for g in &trace.globals {
        // A TorchScript archive's own classes and pickle helpers are its code, reported once for the archive.
        if place.torchscript && (g.module.starts_with("__torch__") || g.module == "torch.jit._pickle") {
            continue;
        }
        let (severity, reason) = match globals::classify(&g.module, &g.name) {
            Class::Allowed => continue,
            Class::Harmless => (Verdict::UnsafeButKnown, format!("{} is outside torch's weights_only allow-list; it is known to only build data", g.global)),
            Class::ModelClass => match trace.calls.iter().find(|c| c.opcode != "BUILD" && !c.plain && c.callable.as_deref() == Some(g.global.as_str())) {
                None => (
                    Verdict::UnsafeButKnown,
                    format!("{}: a pickled model's own class (imported from its code by torch.load(weights_only=False))", g.global),
                ),
                Some(c) => (Verdict::Dangerous, format!("{} is called with {} at byte {}: the file's own code runs at load", g.global, c.opcode, c.offset)),
            },
            Class::Denied if g.module.is_empty() => (Verdict::Dangerous, format!("{}: a global the scan cannot name, so it cannot be checked", g.global)),
            Class::Denied => (Verdict::Dangerous, format!("{} is not known to be harmless: importing or calling it can run code or reach the system", g.global)),
        };
        // Where torch.load does not read, only what can run code counts; the rest is a note.
        let severity = if note.is_some() && severity != Verdict::Dangerous { Verdict::Safe } else { severity };
        out.push(Finding { global: g.global.clone(), opcode: g.opcode.to_string(), member: place.member.clone(), offset: g.offset, severity, reason: with_note(reason) });
    }
    for c in &trace.calls {
        let reason = match (&c.callable, c.opcode) {
            (None, "BUILD") => continue, // the object's own call is judged above or below
            (None, op) => format!("{op} calls something the pickle computed at load time: what runs cannot be known"),
            (Some(what), "BUILD") if !c.plain => format!("BUILD on {what}: sets attributes of something that is not an object the pickle made"),
            _ => continue,
        };
        out.push(Finding { global: String::new(), opcode: c.opcode.to_string(), member: place.member.clone(), offset: c.offset, severity: Verdict::Dangerous, reason: with_note(reason) });
    }
    for a in &trace.anomalies {
        let reason = format!("a crafted pickle: {} (it attacks or fools loaders and scanners)", a.what);
        out.push(Finding { global: String::new(), opcode: String::new(), member: place.member.clone(), offset: a.offset, severity: Verdict::Dangerous, reason: with_note(reason) });
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
fn scan_pickles_in_a_row(src: &dyn Source, budget: &Budget, out: &mut Vec<Finding>) {
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
            Verdict::Safe,
            src.name(),
            0,
            "the file is also a zip archive: torch.load reads it as a pickle (it checks the first bytes), zip tools read the archive (scanned too)".into(),
        ));
        scan_zip(src, Some("in the zip part of a pickle file, which torch.load does not read"), 0, budget, out);
    }
}

/// Scans the pickle at `start` of the source, reading a window that grows while the pickle needs
/// bytes the source has (the file may be gigabytes of raw storages after its pickles).
fn scan_source_at(src: &dyn Source, start: u64, member: &str) -> (Trace, Option<Error>) {
    let limit = src.len().min(start.saturating_add(limits::MAX_PICKLE_BYTES));
    let mut window = limit.min(start.saturating_add(limits::SCAN_PROBE_BYTES));
    loop {
        let bytes = match src.read_vec(0, window) {
            Ok(b) => b,
            Err(e) => return (Trace::default(), Some(e)),
        };
        let (trace, error) = pickle::scan(&bytes, start as usize, member);
        let wanted = match &error {
            Some(Error::Truncated { at, needed, .. }) => at.offset.and_then(|o| o.checked_add(*needed)),
            _ => None,
        };
        match wanted {
            Some(end) if window < limit && end <= src.len() => window = end.max(window.saturating_mul(2)).min(limit),
            _ => return (trace, error),
        }
    }
}

/// Whether the source starts with torch's legacy magic number pickle.
fn is_legacy_magic(src: &dyn Source) -> bool {
    let Ok(bytes) = src.read_vec(0, src.len().min(64)) else { return false };
    pickle::parse(&bytes, 0, "magic").is_ok_and(|p| matches!(p.arena.get(p.root), pickle::Value::BigInt(s) if s == crate::container::legacy::MAGIC))
}
