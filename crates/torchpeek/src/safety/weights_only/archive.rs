//! The zip path of `torch.load`: `PyTorchStreamReader` over miniz (`container/miniz.rs`) finds
//! the records, `data.pkl` is unpickled, each storage it names is the record `data/<key>`.

use super::unpickler::{storage_bytes, Id, Machine, Storages, V};
use super::{broken, Outcome, Refusal};
use crate::container::miniz;
use crate::container::zip::{self, Archive};
use crate::limits;
use crate::source::Source;
use std::collections::HashMap;

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
        // miniz reads a stored record as its uncompressed size, and hands on what inflates of a
        // deflated one even when the stream stops short.
        let member = format!("{}/{}", self.src.name(), e.name);
        let bytes = match e.method {
            zip::Method::Stored if e.size > limits::MAX_PICKLE_BYTES => Err(crate::error::Error::Limit {
                at: crate::error::Location::member(member.as_str()),
                what: "record size",
                found: e.size,
                limit: limits::MAX_PICKLE_BYTES,
            }),
            zip::Method::Stored => self.src.read_vec(e.data_offset, e.size),
            _ => self.archive.read_member_prefix(self.src, e, limits::MAX_PICKLE_BYTES),
        };
        bytes.map_err(|err| broken(&member, 0, err.to_string()))
    }
}

pub(super) fn load(src: &dyn Source, archive: &Archive) -> Outcome {
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
    // torch logs the archive's serialization id, a UTF-8 string (miniz_refusal checked the record;
    // a deflated one miniz's decoder may read where ours does not is left to it).
    if let Some(e) = records.find(".data/serialization_id").filter(|e| e.method == zip::Method::Stored) {
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

impl Storages for ZipStorages<'_, '_> {
    fn load(&mut self, m: &mut Machine, pid: Id) -> Result<V, String> {
        let [storage_type, key, location, numel] = m.storage_pid(pid)?;
        let dtype = m.storage_dtype(storage_type)?;
        let numel = m.int(numel).ok_or("the storage's element count is not an int")?;
        let nbytes = storage_bytes(numel, dtype.1)? as i128;
        let key_text = m.format_key(key)?;
        let fresh = match self.loaded.get(&key_text) {
            None => true,
            Some((d, n)) => *d != dtype.0 && *n as i128 != nbytes,
        };
        if fresh {
            m.location(location, &dtype.0)?;
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
