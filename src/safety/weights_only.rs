//! `torch.load(weights_only=True)` of the mirrored torch, read without running it: whether torch
//! would accept the file, and if not, what it stops on and where. `safe` is only ever given to a
//! file this module accepts.
//!
//! It follows torch 2.15.0's own code path step by step:
//! - `serialization.load`: a path ending `.safetensors` goes to safetensors; a file starting
//!   `PK\x03\x04` is a zip (a TorchScript archive is refused); anything else is the legacy format
//!   (a tar archive is refused; then the magic number, protocol and sys_info pickles, the object,
//!   the storage keys and the raw storages).
//! - `PyTorchStreamReader`: every record in the first record's folder, a `version` record of at
//!   most 10, storage records exactly `numel × itemsize` bytes long.
//! - `_weights_only_unpickler.Unpickler.load`: its opcodes only, Python's stack and mark semantics,
//!   the allow-listed globals only, REDUCE / NEWOBJ / BUILD on allowed callables and types only,
//!   APPEND on lists and SETITEM on dicts only, and what the tensor rebuilds check (`Tensor.set_`:
//!   sizes and strides, the storage offset, the view inside its storage).
//!
//! Nothing is imported or called: values are described, never built.

use super::globals;
use crate::container::miniz;
use crate::container::zip::{self, Archive};
use crate::limits;
use crate::source::Source;
use std::collections::HashMap;

/// Why torch would refuse a file, and where.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Refusal {
    /// The member (or file) torch was reading.
    pub member: String,
    /// Byte offset in that member.
    pub offset: u64,
    pub reason: String,
}

type Outcome = Result<(), Refusal>;

/// Whether `torch.load(src, weights_only=True)` accepts the source. `archive` is its zip
/// directory when the caller has read it already.
pub fn torch_load(src: &dyn Source, archive: Option<&Archive>) -> Outcome {
    let name = src.name().to_string();
    if name.ends_with(".safetensors") {
        return safetensors(src);
    }

    let head = src.read_vec(0, src.len().min(4)).map_err(|e| broken(&name, 0, e.to_string()))?;
    if !zip::is_zip(&head) {
        return legacy(src);
    }
    match archive {
        Some(a) => zip_file(src, a),
        None => zip_file(src, &Archive::read(src).map_err(|e| broken(&name, 0, format!("not a zip torch reads: {e}")))?),
    }
}

fn broken(member: &str, offset: u64, reason: impl Into<String>) -> Refusal {
    Refusal { member: member.to_string(), offset, reason: reason.into() }
}

/// What torch says of a safetensors file it is handed by a path not ending `.safetensors`.
const SAFETENSORS_BY_NAME: &str = "safetensors, which torch.load reads only from a path ending .safetensors";
/// What torch says of an ONNX model.
pub const NOT_TORCH_ONNX: &str = "an ONNX model, not a torch file";

/// `safetensors.torch.load_file` (safetensors 0.8): the header as its Rust crate checks it.
fn safetensors(src: &dyn Source) -> Outcome {
    let name = src.name();
    let refuse = |offset: u64, why: String| broken(name, offset, format!("error while deserializing the safetensors header: {why}"));
    if src.len() < 8 {
        return Err(refuse(0, "header too small".into()));
    }
    let n = u64::from_le_bytes(src.read_vec(0, 8).map_err(|e| refuse(0, e.to_string()))?.try_into().expect("8 bytes"));
    if n > SAFETENSORS_MAX_HEADER {
        return Err(refuse(0, "header too large".into()));
    }
    if n > src.len() - 8 {
        return Err(refuse(0, "invalid header length".into()));
    }
    let header = src.read_vec(8, n).map_err(|e| refuse(8, e.to_string()))?;
    let text = std::str::from_utf8(&header).map_err(|e| refuse(8, format!("invalid UTF-8 in header: {e}")))?;
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| refuse(8, format!("invalid JSON in header: {e}")))?;
    let map = json.as_object().ok_or_else(|| refuse(8, "invalid JSON in header: not an object".into()))?;
    let mut spans = Vec::new();
    for (key, info) in map {
        if key == "__metadata__" {
            let ok = info.is_null() || info.as_object().is_some_and(|m| m.values().all(serde_json::Value::is_string));
            if !ok {
                return Err(refuse(8, "invalid JSON in header: __metadata__ must map strings to strings".into()));
            }
            continue;
        }
        let bad = |why: &str| refuse(8, format!("tensor {key:?}: {why}"));
        let bits = info.get("dtype").and_then(|d| d.as_str()).and_then(safetensors_dtype_bits).ok_or_else(|| bad("unknown or missing dtype"))?;
        let usize_of = |v: &serde_json::Value| v.as_u64().filter(|&x| x <= usize::MAX as u64);
        let shape = info.get("shape").and_then(|s| s.as_array()).ok_or_else(|| bad("no shape"))?;
        let dims = shape.iter().map(usize_of).collect::<Option<Vec<u64>>>().ok_or_else(|| bad("shape entries must be non-negative integers"))?;
        let offsets = info.get("data_offsets").and_then(|o| o.as_array()).filter(|o| o.len() == 2).ok_or_else(|| bad("data_offsets must be two integers"))?;
        let (Some(start), Some(end)) = (usize_of(&offsets[0]), usize_of(&offsets[1])) else { return Err(bad("data_offsets must be two integers")) };
        let count = dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d)).and_then(|c| c.checked_mul(bits)).ok_or_else(|| bad("invalid shape, data type, or offset"))?;
        spans.push((start, end, count, key.clone()));
    }
    spans.sort();
    let mut at = 0u64;
    for (start, end, bits, key) in spans {
        if start != at || end < start {
            return Err(refuse(8, format!("invalid offset for tensor {key:?}")));
        }
        if bits % 8 != 0 || bits / 8 != end - start {
            return Err(refuse(8, format!("invalid shape, data type, or offset for tensor {key:?}")));
        }
        at = end;
    }
    if at != src.len() - 8 - n {
        return Err(refuse(8 + n, "incomplete metadata, file not fully covered".into()));
    }
    Ok(())
}

/// The safetensors crate's header limit.
const SAFETENSORS_MAX_HEADER: u64 = 100_000_000;

/// Bits per element of each dtype the safetensors crate (0.8) knows.
fn safetensors_dtype_bits(name: &str) -> Option<u64> {
    Some(match name {
        "F4" => 4,
        "F6_E2M3" | "F6_E3M2" => 6,
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" | "F8_E4M3FNUZ" | "F8_E5M2FNUZ" => 8,
        "I16" | "U16" | "F16" | "BF16" => 16,
        "I32" | "U32" | "F32" => 32,
        "C64" | "F64" | "I64" | "U64" => 64,
        _ => return None,
    })
}

// ---------------------------------------------------------------- zip (PyTorchStreamReader)

/// Newest archive format version torch 2.15 reads (`kMaxSupportedFileFormatVersion`).
const MAX_FORMAT_VERSION: u64 = 10;

struct Records<'a> {
    src: &'a dyn Source,
    archive: &'a Archive,
    /// The folder every record sits in, with its slash.
    prefix: String,
}

impl Records<'_> {
    /// The record torch's reader finds for `name` (inside the folder), as miniz locates it.
    fn find(&self, name: &str) -> Option<&zip::Entry> {
        self.archive.find(&format!("{}{name}", self.prefix))
    }

    /// Whether `torch.load` counts the archive as TorchScript: a record named exactly `constants.pkl`.
    fn torchscript(&self) -> bool {
        let name = format!("{}constants.pkl", self.prefix);
        self.archive.entries.iter().any(|e| e.name == name)
    }

    /// `getRecord`: the record's bytes, or torch's error.
    fn read(&self, e: &zip::Entry) -> Result<Vec<u8>, Refusal> {
        let short = &e.name[self.prefix.len().min(e.name.len())..];
        if let Some(why) = miniz::record_refusal(self.src, e, short) {
            return Err(broken(self.src.name(), e.header_offset, why));
        }
        // miniz hands on what inflates even when the deflate stream stops short.
        let member = format!("{}/{}", self.src.name(), e.name);
        self.archive.read_member_prefix(self.src, e, limits::MAX_PICKLE_BYTES).map_err(|err| broken(&member, 0, err.to_string()))
    }
}

fn zip_file(src: &dyn Source, archive: &Archive) -> Outcome {
    let name = src.name();
    if let Some((at, why)) = miniz::miniz_refusal(src, archive) {
        return Err(broken(name, at, why));
    }
    let first = archive.entries.first().ok_or_else(|| broken(name, 0, "the archive does not contain any files"))?;
    let Some(slash) = first.name.find('/') else {
        return Err(broken(name, first.header_offset, format!("file in archive is not in a subdirectory: {}", first.name)));
    };
    let prefix = first.name[..=slash].to_string();
    // torch lists every record name as a Python str (its TorchScript check).
    if let Some(bad) = archive.entries.iter().find(|e| !e.name_is_utf8) {
        return Err(broken(name, bad.header_offset, format!("the record name {:?} is not UTF-8", bad.name)));
    }
    if let Some(stray) = archive.entries.iter().find(|e| !e.name.starts_with(&prefix)) {
        return Err(broken(name, stray.header_offset, format!("file in archive is not in a subdirectory {prefix}: {}", stray.name)));
    }
    let records = Records { src, archive, prefix };
    let export = records.find("archive_format").is_some() || archive.entries.iter().any(|e| e.name.contains("/models/"));
    if export && records.find("data.pkl").is_none() {
        return Err(broken(name, 0, "a torch.export archive (.pt2): torch.export.load reads it, torch.load does not"));
    }
    let version_entry = records
        .find(".data/version")
        .or_else(|| records.find("version"))
        .ok_or_else(|| broken(name, 0, "the archive has no version record"))?;
    let version_text = records.read(version_entry)?;
    let version = parse_version(&version_text)
        .ok_or_else(|| broken(name, version_entry.header_offset, format!("couldn't parse the version {:?}", String::from_utf8_lossy(&version_text))))?;
    if !(1..=MAX_FORMAT_VERSION).contains(&version) {
        return Err(broken(name, version_entry.header_offset, format!("archive format version {version} is outside the 1 to {MAX_FORMAT_VERSION} torch reads")));
    }
    if records.torchscript() {
        return Err(broken(
            name,
            0,
            "a TorchScript archive: torch.load(weights_only=True) refuses TorchScript archives (torch.jit.load runs their code)",
        ));
    }
    if let Some(e) = records.find("byteorder") {
        let order = records.read(e)?;
        if order != b"little" && order != b"big" {
            return Err(broken(&format!("{name}/{}", e.name), 0, format!("unknown endianness type {:?}", String::from_utf8_lossy(&order))));
        }
    }
    if let Some(e) = records.find(".storage_alignment") {
        let text = records.read(e)?;
        if py_int(&text).is_none() {
            return Err(broken(&format!("{name}/{}", e.name), 0, format!("storage alignment {:?} is not a number", String::from_utf8_lossy(&text))));
        }
    }
    // torch logs the archive's serialization id, a UTF-8 string (miniz_refusal checked the record).
    if let Some(e) = records.find(".data/serialization_id") {
        if std::str::from_utf8(&records.read(e)?).is_err() {
            return Err(broken(&format!("{name}/{}", e.name), 0, "the serialization id is not UTF-8 ('utf-8' codec can't decode it)"));
        }
    }
    let data = records.find("data.pkl").ok_or_else(|| broken(name, 0, "the archive has no data.pkl record"))?;
    let member = format!("{name}/{}", data.name);
    let bytes = records.read(data)?;
    let mut storages = ZipStorages { records: &records, loaded: HashMap::new() };
    let mut m = Machine::new(&bytes, 0, &member);
    m.run(&mut storages)?;
    Ok(())
}

/// `caffe2::stoull` of the version record: optional spaces, digits, anything after.
fn parse_version(text: &[u8]) -> Option<u64> {
    let s = &text[text.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(text.len())..];
    let digits = &s[..s.iter().position(|b| !b.is_ascii_digit()).unwrap_or(s.len())];
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Python's `int()` of a record's bytes.
fn py_int(text: &[u8]) -> Option<i128> {
    let s = std::str::from_utf8(text).ok()?.trim().replace('_', "");
    s.parse().ok()
}

/// The zip loader's `persistent_load`: each storage is the record `data/<key>`, read once per key.
struct ZipStorages<'a, 'b> {
    records: &'b Records<'a>,
    /// key → (dtype name, bytes).
    loaded: HashMap<String, (String, u64)>,
}

/// What `persistent_load` hands back for one persistent id.
trait Storages {
    fn load(&mut self, m: &mut Machine, pid: Id) -> Result<V, String>;
}

impl Storages for ZipStorages<'_, '_> {
    fn load(&mut self, m: &mut Machine, pid: Id) -> Result<V, String> {
        let items = match m.get(pid) {
            V::Tuple(items) => items.clone(),
            other => return Err(format!("saved_id must be a tuple, got {}", other.type_name())),
        };
        let typename = items.first().map(|&i| m.ascii(i)).ok_or("tuple index out of range")?;
        if typename.as_deref() != Some("storage") {
            return Err(format!("unknown typename for persistent_load, expected 'storage' but got {typename:?}"));
        }
        let [_, storage_type, key, location, numel] = items[..] else {
            return Err(format!("the storage id has {} fields, torch unpacks 4", items.len().saturating_sub(1)));
        };
        let dtype = m.storage_dtype(storage_type)?;
        let numel = m.int(numel).ok_or("the storage's element count is not an int")?;
        let nbytes = storage_bytes(numel, dtype.1)? as i128;
        let key_text = m.format_key(key)?;
        let fresh = match self.loaded.get(&key_text) {
            None => true,
            Some((d, n)) => *d != dtype.0 && *n as i128 != nbytes,
        };
        if fresh {
            m.location(location)?;
            let record = format!("data/{key_text}");
            let e = self.records.find(&record).ok_or_else(|| format!("failed locating file {record}: file not found"))?;
            if let Some(why) = miniz::record_refusal(self.records.src, e, &record) {
                return Err(why);
            }
            if e.size as i128 != nbytes {
                return Err(format!(
                    "record size ({} bytes) does not match expected size ({nbytes} bytes = {numel} elements * {} bytes/element) for dtype {}",
                    e.size, dtype.1, dtype.0
                ));
            }
            self.loaded.insert(key_text, (dtype.0.clone(), nbytes as u64));
        }
        Ok(V::Storage { dtype: dtype.0, itemsize: dtype.1, nbytes: nbytes as u64, slot: None })
    }
}

// ---------------------------------------------------------------- legacy format

/// torch's legacy magic number, `0x1950a86a20f9469cfc6c`.
const MAGIC: i128 = 0x1950a86a20f9469cfc6c;
/// The legacy format's protocol version.
const PROTOCOL_VERSION: i128 = 1001;

fn legacy(src: &dyn Source) -> Outcome {
    let len = src.len();
    let limit = len.min(limits::MAX_PICKLE_BYTES);
    // The five pickles are read from a window that grows until they fit: the file may be
    // gigabytes of raw storages after them.
    let mut window = limit.min(64 << 10);
    loop {
        let bytes = src.read_vec(0, window).map_err(|e| broken(src.name(), 0, e.to_string()))?;
        match legacy_pickles(src, &bytes) {
            Err(Short) if window < limit => window = window.saturating_mul(4).min(limit),
            Err(Short) => return Err(broken(src.name(), window, "the pickles run past the end of the file (EOFError)")),
            Ok(result) => return result,
        }
    }
}

/// The window ended before the pickles did.
struct Short;

fn legacy_pickles(src: &dyn Source, bytes: &[u8]) -> Result<Outcome, Short> {
    let name = src.name();
    let len = src.len();
    let short = |m: &Machine| if m.short && (bytes.len() as u64) < len { Err(Short) } else { Ok(()) };
    macro_rules! run {
        ($m:expr, $storages:expr) => {
            match $m.run($storages) {
                Ok(v) => v,
                Err(r) => {
                    short(&$m)?;
                    return Ok(Err(r));
                }
            }
        };
    }
    if crate::container::tar::checksum_ok(bytes) {
        return Ok(Err(broken(name, 0, "the legacy .tar format (torch < 0.4): torch.load(weights_only=True) refuses it")));
    }
    let mut none = NoStorages;
    let mut m = Machine::new(bytes, 0, name);
    let magic = match m.run(&mut none) {
        Ok(v) => v,
        Err(r) => {
            short(&m)?;
            return Ok(Err(Refusal { reason: format!("{}: {}", not_a_torch_file(bytes, len), r.reason), ..r }));
        }
    };
    if m.int(magic) != Some(MAGIC) || !matches!(m.get(magic), V::Int(_)) {
        return Ok(Err(broken(name, 0, "invalid magic number: not a torch file (torch.load reads a file that is not a zip as the legacy format)")));
    }
    let mut m = Machine::new(bytes, m.pos, name);
    let proto_at = m.pos as u64;
    let protocol = run!(m, &mut none);
    if m.number(protocol) != Some(PROTOCOL_VERSION as f64) {
        return Ok(Err(broken(name, proto_at, "invalid protocol version")));
    }
    let mut m = Machine::new(bytes, m.pos, name);
    run!(m, &mut none); // sys_info
    let mut storages = LegacyStorages::default();
    let mut main = Machine::new(bytes, m.pos, name);
    run!(main, &mut storages);
    let mut m = Machine::new(bytes, main.pos, name);
    let keys_at = m.pos as u64;
    let keys = run!(m, &mut none);
    Ok(legacy_storages(src, &m, keys, keys_at, &storages, &main))
}

/// After the storage keys come the storages, each an 8-byte element count and its bytes.
/// `storage_machine` ran the object pickle: it holds the storages' bytes as they grew.
fn legacy_storages(src: &dyn Source, m: &Machine, keys: Id, keys_at: u64, storages: &LegacyStorages, storage_machine: &Machine) -> Outcome {
    let name = src.name();
    let len = src.len();
    // `for key in deserialized_storage_keys`: a str iterates its characters.
    let keys: Vec<String> = match m.get(keys) {
        V::Str(s) => s.chars().map(|c| format!("s{c}")).collect(),
        _ => {
            let ids = m.iterate(keys).map_err(|e| broken(name, keys_at, format!("the storage keys: {e}")))?;
            ids.into_iter().map(|k| m.hash_key(k)).collect::<Result<_, _>>().map_err(|e| broken(name, keys_at, e))?
        }
    };
    let mut offset = m.pos as u64;
    for key in keys {
        let Some(held) = storages.objects.get(&key) else {
            return Err(broken(name, keys_at, format!("storage key {key} not found in deserialized_objects")));
        };
        let (nbytes, itemsize) = (held.bytes(storage_machine), held.itemsize);
        let count = src.read_vec(offset, 8).map_err(|_| broken(name, offset, "unexpected end of file before a storage's size"))?;
        let count = i64::from_le_bytes(count.try_into().expect("8 bytes"));
        if (count as i128) * (itemsize as i128) != nbytes as i128 {
            return Err(broken(name, offset, format!("storage has wrong byte size: expected {nbytes} got {}", count as i128 * itemsize as i128)));
        }
        offset += 8;
        if offset.checked_add(nbytes).is_none_or(|end| end > len) {
            return Err(broken(name, offset, format!("unexpected EOF, expected {nbytes} bytes of storage {key}: the file is truncated")));
        }
        offset += nbytes;
    }
    Ok(())
}

/// What a file that is neither a zip nor a legacy torch file is, for the refusal.
fn not_a_torch_file(head: &[u8], len: u64) -> &'static str {
    if crate::container::safetensors::looks_like(head, len) {
        SAFETENSORS_BY_NAME
    } else if crate::onnx::looks_like_onnx(head) {
        NOT_TORCH_ONNX
    } else {
        "not a torch file (torch.load reads a file that is not a zip as the legacy format, which starts with a magic-number pickle)"
    }
}

struct NoStorages;

impl Storages for NoStorages {
    fn load(&mut self, _: &mut Machine, _: Id) -> Result<V, String> {
        Err("unsupported persistent id encountered".into())
    }
}

/// The legacy loader's `persistent_load`: storages are made at their first mention and filled
/// from the end of the file later.
#[derive(Default)]
struct LegacyStorages {
    /// `deserialized_objects`: storages by key, view keys too.
    objects: HashMap<String, Held>,
}

impl Storages for LegacyStorages {
    fn load(&mut self, m: &mut Machine, pid: Id) -> Result<V, String> {
        let items = match m.get(pid) {
            V::Tuple(items) => items.clone(),
            other => return Err(format!("saved_id must be a tuple, got {}", other.type_name())),
        };
        let typename = items.first().map(|&i| m.ascii(i)).ok_or("tuple index out of range")?;
        if typename.as_deref() != Some("storage") {
            return Err(format!("unknown saved id type {typename:?}"));
        }
        let [_, storage_type, root_key, location, numel, view] = items[..] else {
            return Err(format!("the storage id has {} fields, torch unpacks 5", items.len().saturating_sub(1)));
        };
        let dtype = m.storage_dtype(storage_type)?;
        let numel = m.int(numel).ok_or("the storage's element count is not an int")?;
        let nbytes = storage_bytes(numel, dtype.1)?;
        let root = m.hash_key(root_key)?;
        // The storage torch hands out: a new resizable one at a key's first mention; the same one
        // after (retyped when the bytes agree, else a new empty one that no key names).
        let slot = match self.objects.get(&root) {
            None => {
                m.location(location)?;
                let slot = m.new_slot(nbytes);
                self.objects.insert(root, Held { slot: Some(slot), bytes: nbytes, itemsize: dtype.1 });
                slot
            }
            Some(held) => match held.slot {
                Some(slot) if held.itemsize == dtype.1 || m.slots[slot] == nbytes => slot,
                _ => m.new_slot(0),
            },
        };
        if matches!(m.get(view), V::None) {
            return Ok(V::Storage { dtype: dtype.0, itemsize: dtype.1, nbytes: m.slots[slot], slot: Some(slot) });
        }
        let parts = m.sequence(view).ok_or("the view metadata is not a sequence")?;
        let [view_key, offset, size] = parts[..] else { return Err("the view metadata does not have three fields".into()) };
        let view_key = m.hash_key(view_key)?;
        let offset = m.int(offset).ok_or("the view offset is not an int")?;
        let size = m.int(size).ok_or("the view size is not an int")?;
        // Python slicing clamps: a view past its storage's end is shorter, not an error.
        let span = slice_len(m.slots[slot] as i128, offset * dtype.1 as i128, (offset + size) * dtype.1 as i128);
        let held = self.objects.entry(view_key).or_insert(Held { slot: None, bytes: span, itemsize: dtype.1 });
        Ok(V::Storage { dtype: dtype.0, itemsize: dtype.1, nbytes: held.bytes, slot: None })
    }
}

/// A storage the legacy loader keeps by key: a resizable root (`slot`), or a fixed slice of one.
struct Held {
    slot: Option<usize>,
    bytes: u64,
    itemsize: u64,
}

impl Held {
    /// Its bytes now (a root may have grown since).
    fn bytes(&self, m: &Machine) -> u64 {
        self.slot.map_or(self.bytes, |s| m.slots[s])
    }
}

/// `numel * element_size` as torch makes a storage of it: a C `int64_t`, not negative.
fn storage_bytes(numel: i128, itemsize: u64) -> Result<u64, String> {
    match numel.checked_mul(itemsize as i128) {
        Some(n) if n > i64::MAX as i128 => Err(format!("storage of {numel} elements: Overflow when unpacking long long")),
        Some(n) if n >= 0 => Ok(n as u64),
        _ => Err(format!("storage of {numel} elements: negative or overflowing size")),
    }
}

/// `len(range(n)[start:stop])`.
fn slice_len(n: i128, start: i128, stop: i128) -> u64 {
    let clamp = |i: i128| if i < 0 { (i + n).max(0) } else { i.min(n) };
    (clamp(stop) - clamp(start)).max(0) as u64
}

// ---------------------------------------------------------------- the unpickler

type Id = usize;

/// A value as the weights-only unpickler would hold it.
#[derive(Debug, Clone)]
enum V {
    None,
    Bool(bool),
    Int(i128),
    /// An int too big for i128 (LONG1 of up to 255 bytes).
    BigInt,
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Id>),
    List(Vec<Id>),
    Dict(DictKind, Vec<(String, Id)>),
    Set,
    /// An allowed global (a function, class, dtype or storage type), by its dotted name.
    Global(String),
    /// A typed storage; `slot` names a resizable one (the legacy format's, or one made by
    /// `UntypedStorage(n)`), whose bytes `Machine::slots` holds and `set_` may grow.
    Storage { dtype: String, itemsize: u64, nbytes: u64, slot: Option<usize> },
    Tensor { float: bool, parameter: bool },
    /// What an allowed call returns that nothing here looks into (a device, a layout ...).
    Other(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DictKind {
    Dict,
    Ordered,
    Counter,
}

impl V {
    fn type_name(&self) -> &'static str {
        match self {
            V::None => "NoneType",
            V::Bool(_) => "bool",
            V::Int(_) | V::BigInt => "int",
            V::Float(_) => "float",
            V::Str(_) => "str",
            V::Bytes(_) => "bytes",
            V::Tuple(_) => "tuple",
            V::List(_) => "list",
            V::Dict(DictKind::Dict, _) => "dict",
            V::Dict(DictKind::Ordered, _) => "collections.OrderedDict",
            V::Dict(DictKind::Counter, _) => "collections.Counter",
            V::Set => "set",
            V::Global(_) => "a global",
            V::Storage { .. } => "torch.storage.TypedStorage",
            V::Tensor { parameter: true, .. } => "torch.nn.parameter.Parameter",
            V::Tensor { .. } => "torch.Tensor",
            V::Other(t) => t,
        }
    }
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    op_pos: usize,
    member: &'a str,
    values: Vec<V>,
    stack: Vec<Id>,
    /// Stack heights at each MARK: Python's metastack, where the stack a MARK leaves behind is
    /// the part below its height (8 bytes a MARK, however many a file holds).
    marks: Vec<usize>,
    memo: HashMap<u64, Id>,
    /// A read came back short: the data ended (the caller may have more of the file).
    short: bool,
    /// Calls made inside a call (`_rebuild_from_type_v2` runs its function), bounded.
    nested_calls: usize,
    /// The bytes of each resizable storage.
    slots: Vec<u64>,
}

impl<'a> Machine<'a> {
    fn new(data: &'a [u8], start: usize, member: &'a str) -> Self {
        Machine { data, pos: start, op_pos: start, member, values: Vec::new(), stack: Vec::new(), marks: Vec::new(), memo: HashMap::new(), short: false, nested_calls: 0, slots: Vec::new() }
    }

    fn get(&self, id: Id) -> &V {
        &self.values[id]
    }

    fn refuse(&self, reason: impl Into<String>) -> Refusal {
        broken(self.member, self.op_pos as u64, reason)
    }

    /// Python's `file.read(n)`: fewer bytes at the end, never an error.
    fn read(&mut self, n: usize) -> &'a [u8] {
        let data: &'a [u8] = self.data;
        let end = self.pos.saturating_add(n).min(data.len());
        self.short |= end - self.pos < n;
        let s = &data[self.pos..end];
        self.pos = end;
        s
    }

    fn read_exact<const N: usize>(&mut self, what: &str) -> Result<[u8; N], Refusal> {
        let b = self.read(N);
        b.try_into().map_err(|_| self.refuse(format!("{what}: unpack requires a buffer of {N} bytes, the pickle ends")))
    }

    fn byte(&mut self, what: &str) -> Result<u8, Refusal> {
        self.read_exact::<1>(what).map(|b| b[0])
    }

    fn readline(&mut self) -> &'a [u8] {
        let data: &'a [u8] = self.data;
        let rest = &data[self.pos..];
        let n = rest.iter().position(|&b| b == b'\n').map_or_else(
            || {
                self.short = true;
                rest.len()
            },
            |i| i + 1,
        );
        self.pos += n;
        &rest[..n]
    }

    fn new_slot(&mut self, bytes: u64) -> usize {
        self.slots.push(bytes);
        self.slots.len() - 1
    }

    fn push(&mut self, v: V) -> Result<(), Refusal> {
        let id = self.new_value(v)?;
        self.stack.push(id);
        Ok(())
    }

    fn new_value(&mut self, v: V) -> Result<Id, Refusal> {
        if self.values.len() >= limits::MAX_PICKLE_NODES {
            return Err(self.refuse("more values than torchpeek follows"));
        }
        self.values.push(v);
        Ok(self.values.len() - 1)
    }

    /// Items since the last MARK: the stack Python's unpickler sees.
    fn depth(&self) -> usize {
        self.stack.len() - self.marks.last().copied().unwrap_or(0)
    }

    fn pop(&mut self) -> Result<Id, Refusal> {
        if self.depth() == 0 {
            return Err(self.refuse("pop from empty list (the stack is empty)"));
        }
        Ok(self.stack.pop().expect("depth > 0"))
    }

    fn top(&self) -> Result<Id, Refusal> {
        if self.depth() == 0 {
            return Err(self.refuse("list index out of range (the stack is empty)"));
        }
        Ok(*self.stack.last().expect("depth > 0"))
    }

    fn pop_mark(&mut self) -> Result<Vec<Id>, Refusal> {
        let mark = self.marks.pop().ok_or_else(|| self.refuse("pop from empty list (no MARK)"))?;
        Ok(self.stack.split_off(mark))
    }

    /// Runs to STOP and returns what it pops.
    fn run(&mut self, storages: &mut dyn Storages) -> Result<Id, Refusal> {
        loop {
            self.op_pos = self.pos;
            let Some(&op) = self.data.get(self.pos) else {
                self.short = true;
                return Err(self.refuse("the pickle ends before STOP (EOFError)"));
            };
            self.pos += 1;
            match op {
                b'c' => {
                    let module = self.readline();
                    let name = self.readline();
                    let text = |b: &[u8]| std::str::from_utf8(&b[..b.len().saturating_sub(1)]).map(str::to_string);
                    let (Ok(module), Ok(name)) = (text(module), text(name)) else {
                        return Err(self.refuse("a GLOBAL name is not UTF-8"));
                    };
                    let module = crate::pickle::python2_module(&module).map_or(module, str::to_string);
                    let full = format!("{module}.{name}");
                    if !globals::weights_only_allows(&full) {
                        return Err(self.refuse(format!("unsupported global: GLOBAL {full} is not an allowed global by default")));
                    }
                    self.push(V::Global(full))?;
                }
                0x81 => {
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let result = self.newobj(cls, args)?;
                    self.push(result)?;
                }
                b'R' => {
                    let args = self.pop()?;
                    let func = self.top()?;
                    let result = self.reduce(func, args)?;
                    let top = self.stack.len() - 1; // `func` is on top (checked by `top`)
                    self.stack[top] = self.new_value(result)?;
                }
                b'b' => {
                    let state = self.pop()?;
                    let inst = self.top()?;
                    self.build(inst, state)?;
                }
                b'a' => {
                    let item = self.pop()?;
                    let target = self.top()?;
                    match &mut self.values[target] {
                        V::List(items) => items.push(item),
                        other => {
                            let t = other.type_name();
                            return Err(self.refuse(format!("can only append to lists, but got {t}")));
                        }
                    }
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    let target = self.top()?;
                    match &mut self.values[target] {
                        V::List(v) => v.extend(items),
                        other => {
                            let t = other.type_name();
                            return Err(self.refuse(format!("can only extend lists, but got {t}")));
                        }
                    }
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    self.set_items("SETITEM", vec![k, v])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    self.set_items("SETITEMS", items)?;
                }
                b'(' => {
                    if self.marks.len() >= limits::MAX_MARKS {
                        return Err(self.refuse("more open MARKs than torchpeek follows"));
                    }
                    self.marks.push(self.stack.len());
                }
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(V::Tuple(items))?;
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    if self.depth() < n {
                        return Err(self.refuse("list index out of range (TUPLE with too few items on the stack)"));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.push(V::Tuple(items))?;
                }
                b'N' => self.push(V::None)?,
                0x89 => self.push(V::Bool(false))?,
                0x88 => self.push(V::Bool(true))?,
                b')' => self.push(V::Tuple(Vec::new()))?,
                b']' => self.push(V::List(Vec::new()))?,
                b'}' => self.push(V::Dict(DictKind::Dict, Vec::new()))?,
                0x8f => self.push(V::Set)?,
                b'J' => {
                    let b = self.read_exact::<4>("BININT")?;
                    self.push(V::Int(i32::from_le_bytes(b) as i128))?
                }
                b'K' => {
                    let b = self.byte("BININT1")?;
                    self.push(V::Int(b as i128))?
                }
                b'M' => {
                    let b = self.read_exact::<2>("BININT2")?;
                    self.push(V::Int(u16::from_le_bytes(b) as i128))?
                }
                b'G' => {
                    let b = self.read_exact::<8>("BINFLOAT")?;
                    self.push(V::Float(f64::from_be_bytes(b)))?
                }
                b'X' => {
                    let n = u32::from_le_bytes(self.read_exact::<4>("BINUNICODE")?) as usize;
                    let b = self.read(n);
                    let s = utf8_surrogatepass(b).ok_or_else(|| self.refuse("BINUNICODE is not UTF-8 (even with surrogates allowed)"))?;
                    self.push(V::Str(s))?
                }
                b'U' => {
                    let n = self.byte("SHORT_BINSTRING")? as usize;
                    let b = self.read(n);
                    let s = std::str::from_utf8(b).map_err(|_| self.refuse("SHORT_BINSTRING is not UTF-8"))?.to_string();
                    self.push(V::Str(s))?
                }
                b'Q' => {
                    let pid = self.pop()?;
                    match self.get(pid) {
                        V::Tuple(items) => {
                            let first = items.first().and_then(|&i| self.ascii(i));
                            if !items.is_empty() && first.as_deref() != Some("storage") {
                                return Err(self.refuse("only persistent_load of storage is allowed"));
                            }
                        }
                        V::Int(_) | V::BigInt => {}
                        other => {
                            return Err(self.refuse(format!("persistent_load id must be tuple or int, but got {}", other.type_name())));
                        }
                    }
                    let v = storages.load(self, pid).map_err(|e| self.refuse(e))?;
                    self.push(v)?
                }
                b'h' | b'j' => {
                    let key = if op == b'h' { self.byte("BINGET")? as u64 } else { u32::from_le_bytes(self.read_exact::<4>("LONG_BINGET")?) as u64 };
                    let id = *self.memo.get(&key).ok_or_else(|| self.refuse(format!("memo key {key} was never stored (KeyError)")))?;
                    self.stack.push(id);
                }
                b'q' | b'r' => {
                    let key = if op == b'q' { self.byte("BINPUT")? as u64 } else { u32::from_le_bytes(self.read_exact::<4>("LONG_BINPUT")?) as u64 };
                    let top = self.top()?;
                    if self.memo.len() >= limits::MAX_MEMO_ENTRIES && !self.memo.contains_key(&key) {
                        return Err(self.refuse("a memo bigger than torchpeek follows"));
                    }
                    self.memo.insert(key, top);
                }
                0x8a => {
                    let n = self.byte("LONG1")? as usize;
                    let b = self.read(n);
                    let v = if b.len() <= 16 { V::Int(le_signed(b)) } else { V::BigInt };
                    self.push(v)?
                }
                0x80 => {
                    self.byte("PROTO")?;
                }
                b'.' => return self.pop(),
                other => {
                    let name = opcode_name(other);
                    return Err(self.refuse(format!("unsupported operand {other} ({name}): the weights-only unpickler refuses it")));
                }
            }
        }
    }

    fn set_items(&mut self, opcode: &str, items: Vec<Id>) -> Result<(), Refusal> {
        let target = self.top()?;
        if !matches!(self.get(target), V::Dict(..)) {
            let t = self.get(target).type_name();
            return Err(self.refuse(format!("can only {opcode} for dict, collections.OrderedDict, collections.Counter, but got {t}")));
        }
        if items.len() % 2 == 1 {
            return Err(self.refuse(format!("{opcode}: list index out of range (an odd number of items)")));
        }
        let mut pairs = Vec::with_capacity(items.len() / 2);
        for c in items.chunks(2) {
            let key = self.hash_key(c[0]).map_err(|e| self.refuse(e))?;
            pairs.push((key, c[1]));
        }
        if let V::Dict(_, entries) = &mut self.values[target] {
            for (k, v) in pairs {
                match entries.iter_mut().find(|(ek, _)| *ek == k) {
                    Some(e) => e.1 = v,
                    None => entries.push((k, v)),
                }
            }
        }
        Ok(())
    }

    fn newobj(&mut self, cls: Id, args: Id) -> Result<V, Refusal> {
        let V::Global(name) = self.get(cls).clone() else {
            return Err(self.refuse(format!("can only create new object for nn.Parameter or allow-listed classes, but got {}", self.get(cls).type_name())));
        };
        let args = self.args(args)?;
        match name.as_str() {
            "torch.nn.parameter.Parameter" => self.parameter(&args),
            "collections.OrderedDict" => Ok(V::Dict(DictKind::Ordered, Vec::new())),
            "collections.Counter" => Ok(V::Dict(DictKind::Counter, Vec::new())),
            "builtins.set" => Ok(V::Set),
            n if globals::is_tensor_class(n) => self.legacy_tensor(n, &args),
            n if is_callable_class(n) => Ok(V::Other("object")),
            n => Err(self.refuse(format!("{n}.__new__ cannot be called: it is not a class"))),
        }
    }

    /// The call's arguments: a tuple (Python's `func(*args)` takes any iterable; torch's files hold tuples).
    fn args(&self, args: Id) -> Result<Vec<Id>, Refusal> {
        self.iterate(args).map_err(|e| self.refuse(format!("argument after * must be an iterable: {e}")))
    }

    fn reduce(&mut self, func: Id, args: Id) -> Result<V, Refusal> {
        let V::Global(name) = self.get(func).clone() else {
            return Err(self.refuse(format!("trying to call reduce for unrecognized function {}", self.get(func).type_name())));
        };
        let args = self.args(args)?;
        let n = args.len();
        let arity = |lo: usize, hi: usize| -> Result<(), Refusal> {
            if n < lo || n > hi {
                Err(self.refuse(format!("{name}() takes {lo} to {hi} arguments ({n} given)")))
            } else {
                Ok(())
            }
        };
        match name.as_str() {
            "torch._utils._rebuild_tensor" => {
                arity(4, 4)?;
                let (float, itemsize, nbytes, slot) = self.storage_of(args[0])?;
                self.set_(itemsize, nbytes, slot, Some(args[1]), args[2], args[3])?;
                Ok(V::Tensor { float, parameter: false })
            }
            "torch._utils._rebuild_tensor_v2" => {
                arity(6, 7)?;
                let (float, itemsize, nbytes, slot) = self.storage_of(args[0])?;
                self.set_(itemsize, nbytes, slot, Some(args[1]), args[2], args[3])?;
                self.requires_grad(args[4], float)?;
                if let Some(&meta) = args.get(6) {
                    self.metadata(meta)?;
                }
                Ok(V::Tensor { float, parameter: false })
            }
            "torch._utils._rebuild_tensor_v3" => {
                arity(7, 8)?;
                if matches!(self.get(args[4]), V::Bool(true)) {
                    // It sets requires_grad before an in-place set_ on a leaf: torch always fails.
                    return Err(self.refuse("a leaf Variable that requires grad is being used in an in-place operation (_rebuild_tensor_v3 with requires_grad=True)"));
                }
                let (_, _, nbytes, slot) = self.storage_of(args[0])?;
                let (dtype_float, itemsize) = self.dtype(args[6])?;
                self.set_(itemsize, nbytes, slot, Some(args[1]), args[2], args[3])?;
                self.requires_grad(args[4], dtype_float)?;
                if let Some(&meta) = args.get(7) {
                    self.metadata(meta)?;
                }
                Ok(V::Tensor { float: dtype_float, parameter: false })
            }
            "torch._utils._rebuild_parameter" | "torch._utils._rebuild_parameter_with_state" => {
                arity(if name.ends_with("state") { 4 } else { 3 }, if name.ends_with("state") { 4 } else { 3 })?;
                self.parameter(&args[..2])
            }
            "collections.OrderedDict" | "collections.Counter" => {
                arity(0, 1)?;
                let kind = if name == "collections.Counter" { DictKind::Counter } else { DictKind::Ordered };
                let mut entries = Vec::new();
                if let Some(&init) = args.first() {
                    entries = self.dict_init(init, kind)?;
                }
                Ok(V::Dict(kind, entries))
            }
            "builtins.set" => {
                arity(0, 1)?;
                if let Some(&items) = args.first() {
                    for i in self.iterate(items).map_err(|e| self.refuse(e))? {
                        self.hash_key(i).map_err(|e| self.refuse(e))?;
                    }
                }
                Ok(V::Set)
            }
            "_codecs.encode" => {
                arity(1, 3)?;
                // The codecs a torch file names (bytes are pickled as `encode(text, "latin1")`).
                if let Some(&enc) = args.get(1) {
                    let name = self.ascii(enc).map(|n| n.to_ascii_lowercase().replace(['-', '_'], ""));
                    if !matches!(name.as_deref(), Some("latin1" | "iso88591" | "l1" | "utf8" | "ascii" | "usascii")) {
                        return Err(self.refuse("_codecs.encode: unknown encoding"));
                    }
                }
                match self.get(args[0]) {
                    V::Str(s) => Ok(V::Bytes(s.chars().map(|c| c as u32 as u8).collect())),
                    other => Err(self.refuse(format!("_codecs.encode of {}", other.type_name()))),
                }
            }
            "builtins.bytearray" => {
                arity(0, 3)?;
                Ok(V::Other("bytearray"))
            }
            "builtins.complex" => {
                arity(0, 2)?;
                Ok(V::Other("complex"))
            }
            "torch.Size" => {
                arity(0, 1)?;
                let items = match args.first() {
                    Some(&a) => self.iterate(a).map_err(|e| self.refuse(e))?,
                    None => Vec::new(),
                };
                if items.iter().any(|&i| self.int(i).is_none()) {
                    return Err(self.refuse("torch.Size() takes an iterable of 'int'"));
                }
                Ok(V::Tuple(items))
            }
            "torch.storage.UntypedStorage" => {
                arity(0, 2)?;
                let nbytes = match args.first().map(|&a| self.get(a)) {
                    None => 0,
                    Some(V::Int(n)) if (0..=i64::MAX as i128).contains(n) => *n as u64,
                    Some(other) => return Err(self.refuse(format!("UntypedStorage({})", other.type_name()))),
                };
                let slot = self.new_slot(nbytes);
                Ok(V::Storage { dtype: "uint8".into(), itemsize: 1, nbytes, slot: Some(slot) })
            }
            "torch.device" => {
                arity(1, 2)?;
                match self.get(args[0]) {
                    V::Str(d) if Machine::device_ok(d) => Ok(V::Other("torch.device")),
                    V::Int(i) if *i >= 0 => Ok(V::Other("torch.device")),
                    other => Err(self.refuse(format!("torch.device of {}", other.type_name()))),
                }
            }
            "torch.serialization._get_layout" => {
                arity(1, 1)?;
                match self.get(args[0]) {
                    V::Str(s) if matches!(s.as_str(), "torch.strided" | "torch.sparse_coo" | "torch.sparse_csr" | "torch.sparse_csc" | "torch.sparse_bsr" | "torch.sparse_bsc" | "torch._mkldnn" | "torch.jagged") => {
                        Ok(V::Other("torch.layout"))
                    }
                    _ => Err(self.refuse("_get_layout of an unknown layout name")),
                }
            }
            "torch._utils._rebuild_qtensor" => {
                arity(7, 7)?;
                let (_, itemsize, nbytes, slot) = self.storage_of(args[0])?;
                self.set_(itemsize, nbytes, slot, Some(args[1]), args[2], args[3])?;
                self.requires_grad(args[5], false)?;
                Ok(V::Tensor { float: false, parameter: false })
            }
            "torch._utils._rebuild_meta_tensor_no_storage" => {
                arity(4, 4)?;
                let (float, itemsize) = self.dtype(args[0])?;
                // `torch.empty_strided(size, stride, device="meta")`: the view's checks, no storage.
                self.set_(itemsize, u64::MAX, None, None, args[1], args[2])?;
                self.requires_grad(args[3], float)?;
                Ok(V::Tensor { float, parameter: false })
            }
            "torch._utils._rebuild_sparse_tensor" => {
                arity(2, 2)?;
                Ok(V::Tensor { float: true, parameter: false })
            }
            "torch._utils._rebuild_wrapper_subclass" => {
                arity(8, 8)?;
                Ok(V::Tensor { float: true, parameter: false })
            }
            "torch._utils._rebuild_device_tensor_from_cpu_tensor" | "torch._utils._rebuild_device_tensor_from_numpy" => {
                arity(4, 4)?;
                Ok(V::Tensor { float: true, parameter: false })
            }
            "torch._tensor._rebuild_from_type_v2" => {
                // `(func, new_type, args, state)`: `func(*args)`, then the type and state.
                arity(4, 4)?;
                if self.nested_calls >= limits::MAX_NESTED_PICKLES * 16 {
                    return Err(self.refuse("_rebuild_from_type_v2 calls nested deeper than torchpeek follows"));
                }
                self.nested_calls += 1;
                let result = self.reduce(args[0], args[2]);
                self.nested_calls -= 1;
                result
            }
            n if globals::is_tensor_class(n) => self.legacy_tensor(n, &args),
            n => Err(self.refuse(format!("{n} is not callable"))),
        }
    }

    fn build(&mut self, inst: Id, state: Id) -> Result<(), Refusal> {
        match self.get(inst).clone() {
            V::Tensor { parameter: false, .. } => {
                // Legacy unpickling: `inst.set_(*state)`.
                let args = self.args(state)?;
                if args.len() != 4 {
                    return Err(self.refuse("Tensor.set_ from BUILD takes a storage, an offset, sizes and strides"));
                }
                let (_, itemsize, nbytes, slot) = self.storage_of(args[0])?;
                self.set_(itemsize, nbytes, slot, Some(args[1]), args[2], args[3])
            }
            V::Tensor { parameter: true, .. } => Ok(()),
            V::Dict(DictKind::Ordered, _) => match self.get(state) {
                V::Dict(..) => Ok(()),
                _ => self.dict_init(state, DictKind::Ordered).map(|_| ()),
            },
            V::Dict(DictKind::Dict, _) => Err(self.refuse("can only build Tensor, Parameter, OrderedDict or allow-listed types, but got dict")),
            inst @ (V::Dict(DictKind::Counter, _) | V::Set | V::Other(_) | V::Storage { .. }) => {
                // An allowed type without `__setstate__`: pickle's `load_build`: a (state,
                // slotstate) pair, `__dict__.update(state)`, `setattr` for each slot.
                let (state, slots) = match self.get(state) {
                    V::Tuple(pair) if pair.len() == 2 => (Some(pair[0]), Some(pair[1])),
                    _ => (Some(state), None),
                };
                let has_dict = matches!(inst, V::Dict(DictKind::Counter, _) | V::Storage { .. });
                for part in [state, slots].into_iter().flatten() {
                    if self.truthy(part) && !(has_dict && matches!(self.get(part), V::Dict(..))) {
                        return Err(self.refuse(format!("BUILD on {}: it cannot take that state", inst.type_name())));
                    }
                }
                Ok(())
            }
            other => Err(self.refuse(format!("can only build Tensor, Parameter, OrderedDict or allow-listed types, but got {}", other.type_name()))),
        }
    }

    /// `torch.Tensor(*sizes)` / `torch.FloatTensor(...)`, the legacy constructors: nothing, sizes,
    /// one sequence of numbers (the data), or one storage.
    fn legacy_tensor(&self, name: &str, args: &[Id]) -> Result<V, Refusal> {
        let sizes = args.iter().all(|&a| self.int(a).is_some_and(|n| (0..=i32::MAX as i128).contains(&n)));
        let data = matches!(args, [one] if self.numbers(*one, 0) || matches!(self.get(*one), V::Storage { .. }));
        if sizes || data {
            Ok(V::Tensor { float: !matches!(name, "torch.LongTensor" | "torch.IntTensor" | "torch.ShortTensor" | "torch.CharTensor" | "torch.ByteTensor" | "torch.BoolTensor") && !name.contains(".cuda.Long"), parameter: false })
        } else {
            Err(self.refuse(format!("{name}() / new() received an invalid combination of arguments")))
        }
    }

    fn parameter(&mut self, args: &[Id]) -> Result<V, Refusal> {
        let float = match args.first().map(|&a| self.get(a)) {
            Some(V::Tensor { float, .. }) => *float,
            None => true, // Parameter() is an empty float tensor.
            Some(other) => return Err(self.refuse(format!("Parameter of {}, not a tensor", other.type_name()))),
        };
        if let Some(&rg) = args.get(1) {
            self.requires_grad(rg, float)?;
        } else if !float {
            return Err(self.refuse("only Tensors of floating point and complex dtype can require gradients"));
        }
        Ok(V::Tensor { float, parameter: true })
    }

    fn requires_grad(&self, v: Id, float: bool) -> Result<(), Refusal> {
        match self.get(v) {
            V::Bool(true) if !float => Err(self.refuse("only Tensors of floating point and complex dtype can require gradients")),
            V::Bool(_) => Ok(()),
            other => Err(self.refuse(format!("requires_grad must be a bool, got {}", other.type_name()))),
        }
    }

    /// `set_tensor_metadata` when the metadata is truthy: torch takes a dict (or a sequence of pairs).
    fn metadata(&self, v: Id) -> Result<(), Refusal> {
        match self.get(v) {
            V::Dict(..) | V::Tuple(_) | V::List(_) => Ok(()),
            _ if !self.truthy(v) => Ok(()),
            other => Err(self.refuse(format!("tensor metadata must be a dict, got {}", other.type_name()))),
        }
    }

    /// A typed storage's (floating point, itemsize, bytes now, resizable slot).
    fn storage_of(&self, v: Id) -> Result<(bool, u64, u64, Option<usize>), Refusal> {
        match self.get(v) {
            V::Storage { dtype, itemsize, nbytes, slot } => Ok((dtype_is_float(dtype), *itemsize, slot.map_or(*nbytes, |s| self.slots[s]), *slot)),
            other => Err(self.refuse(format!("a tensor rebuilt from {}, not a storage", other.type_name()))),
        }
    }

    /// `Tensor.set_(storage, offset, size, stride)`'s checks: ints, equal lengths, no negative
    /// size, stride or offset, no overflow, and the view inside the (not resizable) storage.
    /// A resizable storage (`slot`) grows to fit the view instead.
    fn set_(&mut self, itemsize: u64, nbytes: u64, slot: Option<usize>, offset: Option<Id>, size: Id, stride: Id) -> Result<(), Refusal> {
        let offset = match offset.map(|o| self.get(o)) {
            None => 0,
            Some(V::Int(o)) => *o,
            Some(V::Bool(b)) => *b as i128,
            Some(other) => return Err(self.refuse(format!("set_() storage offset of {}", other.type_name()))),
        };
        let ints = |id: Id| -> Option<Vec<i128>> {
            let items = match self.get(id) {
                V::Tuple(v) | V::List(v) => v,
                _ => return None,
            };
            items.iter().map(|&i| if let V::Int(n) = self.get(i) { Some(*n) } else { None }).collect()
        };
        let (Some(size), Some(stride)) = (ints(size), ints(stride)) else {
            return Err(self.refuse("set_() received an invalid combination of arguments (sizes and strides must be tuples of ints)"));
        };
        // Each becomes an int64 SymInt; below -2^62 one is heap-allocated, which set_ refuses.
        if size.iter().chain(&stride).chain([&offset]).any(|&v| v > i64::MAX as i128 || v < -(1i128 << 62)) {
            return Err(self.refuse(format!("sizes {size:?}, strides {stride:?} or offset {offset}: not an int64 torch can take")));
        }
        if size.len() != stride.len() {
            return Err(self.refuse(format!("unequal size length ({}) and stride length ({})", size.len(), stride.len())));
        }
        if size.len() > limits::MAX_RANK {
            return Err(self.refuse(format!("a tensor of {} dimensions", size.len())));
        }
        if offset < 0 {
            return Err(self.refuse(format!("Tensor: invalid storage offset {offset}")));
        }
        let mut numel: i128 = 1;
        for &d in &size {
            numel = numel.checked_mul(d).filter(|n| (0..=i64::MAX as i128).contains(n)).ok_or_else(|| self.refuse("numel: integer multiplication overflow"))?;
        }
        if size.iter().any(|&d| d < 0) {
            return Err(self.refuse("numel: a negative dimension"));
        }
        if numel == 0 {
            return Ok(());
        }
        let mut last: i128 = 0;
        for (&d, &s) in size.iter().zip(&stride) {
            if s < 0 {
                return Err(self.refuse(format!("Storage size calculation overflowed with sizes={size:?} and strides={stride:?}")));
            }
            last = s.checked_mul(d - 1).and_then(|x| x.checked_add(last)).filter(|&x| x <= i64::MAX as i128).ok_or_else(|| {
                self.refuse(format!("Storage size calculation overflowed with sizes={size:?} and strides={stride:?}"))
            })?;
        }
        let needed = (offset + last + 1).checked_mul(itemsize as i128).filter(|&x| x <= i64::MAX as i128).ok_or_else(|| {
            self.refuse(format!("Storage size calculation overflowed with sizes={size:?} and strides={stride:?}"))
        })?;
        if needed > nbytes as i128 {
            if let Some(slot) = slot {
                self.slots[slot] = needed as u64;
                return Ok(());
            }
            return Err(self.refuse(format!(
                "a view of sizes {size:?}, strides {stride:?} and storage offset {offset} needs {needed} bytes of a storage of {nbytes} (trying to resize storage that is not resizable)"
            )));
        }
        Ok(())
    }

    /// `collections.OrderedDict(init)` / `Counter(init)`: a mapping or an iterable of pairs.
    fn dict_init(&self, init: Id, kind: DictKind) -> Result<Vec<(String, Id)>, Refusal> {
        match self.get(init) {
            V::Dict(_, entries) => Ok(entries.clone()),
            _ => {
                let items = self.iterate(init).map_err(|e| self.refuse(e))?;
                let mut out = Vec::new();
                for i in items {
                    if kind == DictKind::Counter {
                        out.push((self.hash_key(i).map_err(|e| self.refuse(e))?, i));
                        continue;
                    }
                    let pair = self.iterate(i).map_err(|e| self.refuse(e))?;
                    let [k, v] = pair[..] else { return Err(self.refuse("dictionary update sequence element has the wrong length")) };
                    out.push((self.hash_key(k).map_err(|e| self.refuse(e))?, v));
                }
                Ok(out)
            }
        }
    }

    fn dtype(&self, v: Id) -> Result<(bool, u64), Refusal> {
        match self.get(v) {
            V::Global(n) => globals::torch_dtype(n).map(|(f, s, _)| (f, s)).ok_or_else(|| self.refuse(format!("{n} is not a dtype"))),
            other => Err(self.refuse(format!("dtype of {}", other.type_name()))),
        }
    }

    // --- what persistent_load reads of its arguments

    /// `_maybe_decode_ascii`: a str, or bytes decoded as ASCII.
    fn ascii(&self, v: Id) -> Option<String> {
        match self.get(v) {
            V::Str(s) => Some(s.clone()),
            V::Bytes(b) if b.is_ascii() => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }

    /// `storage_type.dtype`: (name, itemsize).
    fn storage_dtype(&self, v: Id) -> Result<(String, u64), String> {
        match self.get(v) {
            V::Global(n) if n == "torch.storage.UntypedStorage" => Ok(("uint8".into(), 1)),
            V::Global(n) => globals::storage_type_dtype(n).ok_or_else(|| format!("{n} has no dtype (not a storage type)")),
            other => Err(format!("a storage type was expected, got {}", other.type_name())),
        }
    }

    /// Where torch restores a storage: `cpu` and `meta` anywhere; an accelerator (`cuda:0`, `mps`,
    /// `xpu`, `hpu`) on a machine that has it (a CPU-only one refuses it without `map_location`).
    fn location(&self, v: Id) -> Result<(), String> {
        let Some(loc) = self.ascii(v) else { return Err("the storage location is not a string".into()) };
        if Machine::device_ok(&loc) {
            Ok(())
        } else {
            Err(format!("don't know how to restore data location {loc:?}"))
        }
    }

    fn device_ok(loc: &str) -> bool {
        let (device, index) = loc.split_once(':').map_or((loc, None), |(d, i)| (d, Some(i)));
        let index_ok = index.is_none_or(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()));
        matches!(loc, "cpu" | "meta") || matches!(device, "cuda" | "mps" | "xpu" | "hpu") && index_ok
    }

    /// A (nested) list or tuple of numbers, as tensor data.
    fn numbers(&self, v: Id, depth: usize) -> bool {
        match self.get(v) {
            V::Tuple(items) | V::List(items) => depth < limits::MAX_RANK && items.iter().all(|&i| self.numbers(i, depth + 1)),
            V::Int(_) | V::Float(_) | V::Bool(_) => depth > 0,
            _ => false,
        }
    }

    /// Python's truth value.
    fn truthy(&self, v: Id) -> bool {
        match self.get(v) {
            V::None => false,
            V::Bool(b) => *b,
            V::Int(n) => *n != 0,
            V::Float(f) => *f != 0.0,
            V::Str(s) => !s.is_empty(),
            V::Bytes(b) => !b.is_empty(),
            V::Tuple(v) | V::List(v) => !v.is_empty(),
            V::Dict(_, e) => !e.is_empty(),
            _ => true,
        }
    }

    fn int(&self, v: Id) -> Option<i128> {
        match self.get(v) {
            V::Int(n) => Some(*n),
            V::Bool(b) => Some(*b as i128),
            _ => None,
        }
    }

    fn number(&self, v: Id) -> Option<f64> {
        match self.get(v) {
            V::Float(f) => Some(*f),
            _ => self.int(v).map(|n| n as f64),
        }
    }

    fn sequence(&self, v: Id) -> Option<Vec<Id>> {
        match self.get(v) {
            V::Tuple(items) | V::List(items) => Some(items.clone()),
            _ => None,
        }
    }

    /// Python's iteration of a value (for `func(*args)`, `for key in keys`).
    fn iterate(&self, v: Id) -> Result<Vec<Id>, String> {
        match self.get(v) {
            V::Tuple(items) | V::List(items) => Ok(items.clone()),
            V::Dict(_, entries) => Ok(entries.iter().map(|e| e.1).collect()),
            other => Err(format!("'{}' object is not iterable here", other.type_name())),
        }
    }

    /// A dict key as Python hashes and compares it (`1 == 1.0 == True`), or the TypeError.
    fn hash_key(&self, v: Id) -> Result<String, String> {
        Ok(match self.get(v) {
            V::None => "None".into(),
            V::Bool(b) => format!("i{}", *b as i32),
            V::Int(n) => format!("i{n}"),
            V::BigInt => format!("big{v}"),
            V::Float(f) if f.fract() == 0.0 && f.abs() < 1e30 => format!("i{}", *f as i128),
            V::Float(f) => format!("f{f:?}"),
            V::Str(s) => format!("s{s}"),
            V::Bytes(b) => format!("b{b:?}"),
            V::Tuple(items) => {
                let parts = items.iter().map(|&i| self.hash_key(i)).collect::<Result<Vec<_>, _>>()?;
                format!("({})", parts.join(","))
            }
            V::List(_) | V::Dict(..) | V::Set => return Err(format!("unhashable type: '{}'", self.get(v).type_name())),
            V::Global(n) => format!("g{n}"),
            _ => format!("id{v}"),
        })
    }

    /// `f"data/{key}"` of a storage key.
    fn format_key(&self, v: Id) -> Result<String, String> {
        match self.get(v) {
            V::Str(s) => Ok(s.clone()),
            V::Int(n) => Ok(n.to_string()),
            V::Bool(b) => Ok(if *b { "True" } else { "False" }.into()),
            V::None => Ok("None".into()),
            other => Err(format!("a storage key of type {}", other.type_name())),
        }
    }
}

fn dtype_is_float(name: &str) -> bool {
    globals::torch_dtype(&format!("torch.{name}")).is_some_and(|d| d.0)
}

/// A class one may call `__new__` on (`torch.device`, `torch.Size` ...); functions and dtypes are not.
fn is_callable_class(name: &str) -> bool {
    matches!(name, "torch.Size" | "torch.device" | "builtins.bytearray" | "builtins.complex" | "torch.storage.TypedStorage" | "torch.storage.UntypedStorage")
}

/// Python's `str(b, "utf-8", "surrogatepass")`: UTF-8 that may also encode lone surrogates
/// (`ED A0..BF xx`), which Rust's strings cannot hold: each becomes U+FFFD.
fn utf8_surrogatepass(b: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(b.len());
    let mut rest = b;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                return Some(out);
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).expect("valid up to here"));
                let surrogate = bad.len() >= 3 && bad[0] == 0xed && (0xa0..=0xbf).contains(&bad[1]) && (0x80..=0xbf).contains(&bad[2]);
                if !surrogate {
                    return None;
                }
                out.push('\u{fffd}');
                rest = &bad[3..];
            }
        }
    }
}

/// A little-endian two's-complement integer of up to 16 bytes.
fn le_signed(b: &[u8]) -> i128 {
    if b.is_empty() {
        return 0;
    }
    let neg = b[b.len() - 1] & 0x80 != 0;
    let mut buf = [if neg { 0xff } else { 0 }; 16];
    buf[..b.len()].copy_from_slice(b);
    i128::from_le_bytes(buf)
}

fn opcode_name(op: u8) -> &'static str {
    match op {
        b'2' => "DUP",
        b'0' => "POP",
        b'1' => "POP_MARK",
        b'l' => "LIST",
        b'd' => "DICT",
        b'p' => "PUT",
        b'g' => "GET",
        b'I' => "INT",
        b'L' => "LONG",
        b'S' => "STRING",
        b'V' => "UNICODE",
        b'F' => "FLOAT",
        b'T' => "BINSTRING",
        b'P' => "PERSID",
        b'i' => "INST",
        b'o' => "OBJ",
        b'B' => "BINBYTES",
        b'C' => "SHORT_BINBYTES",
        0x82..=0x84 => "EXT",
        0x8b => "LONG4",
        0x8c => "SHORT_BINUNICODE",
        0x8d => "BINUNICODE8",
        0x8e => "BINBYTES8",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        0x92 => "NEWOBJ_EX",
        0x93 => "STACK_GLOBAL",
        0x94 => "MEMOIZE",
        0x95 => "FRAME",
        0x96 => "BYTEARRAY8",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => "not a pickle opcode",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemSource;

    fn load(name: &str, bytes: &[u8]) -> Outcome {
        torch_load(&MemSource::new(name, bytes.to_vec()), None)
    }

    #[test]
    fn plain_pickles_and_junk_are_refused() {
        assert!(load("x.pt", b"").is_err());
        assert!(load("x.pt", b"\x80\x02}q\x00.").unwrap_err().reason.contains("magic"));
        assert!(load("x.pt", b"\x89PNG\r\n\x1a\n").is_err());
    }

    #[test]
    fn opcodes_outside_the_list_are_refused_with_their_offset() {
        let mut m = Machine::new(b"\x80\x02]2.", 0, "p");
        let e = m.run(&mut NoStorages).unwrap_err();
        assert!(e.reason.contains("DUP") && e.offset == 3, "{e:?}");
        let mut m = Machine::new(b"\x80\x02\x8f.", 0, "p");
        assert!(m.run(&mut NoStorages).is_ok(), "EMPTY_SET is accepted by torch 2.15");
    }

    #[test]
    fn python_stack_semantics() {
        // TUPLE2 right after a MARK sees an empty stack.
        let mut m = Machine::new(b"K\x01(K\x02\x86.", 0, "p");
        assert!(m.run(&mut NoStorages).is_err());
        // STOP ignores an unclosed MARK below the top.
        let mut m = Machine::new(b"(K\x01.", 0, "p");
        assert!(m.run(&mut NoStorages).is_ok());
        // An unset memo slot.
        let mut m = Machine::new(b"h\x05.", 0, "p");
        assert!(m.run(&mut NoStorages).unwrap_err().reason.contains("memo key 5"));
        // Item-setting on a list.
        let mut m = Machine::new(b"]K\x00K\x01s.", 0, "p");
        assert!(m.run(&mut NoStorages).unwrap_err().reason.contains("SETITEM"));
    }

}
