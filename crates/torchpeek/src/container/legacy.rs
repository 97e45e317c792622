//! torch's legacy format (`_use_new_zipfile_serialization=False`, torch < 1.6): five pickles in a
//! row (magic number, protocol version, sys_info, the object, the storage keys), then each
//! storage's bytes as an 8-byte element count followed by the elements.

use super::{interpret, Pickled, Read, Scan};
use crate::document::{Document, FileInfo, Format, Problem, StorageData};
use crate::error::{Error, Location, Result};
use crate::limits;
use crate::pickle::{self, Pickle, Value};
use crate::source::Source;
use crate::torch::tensor::persistent_storage;
use std::collections::HashMap;

/// torch's magic number, 0x1950a86a20f9469cfc6c, as pickle writes it.
pub(crate) const MAGIC: &str = "119547037146038801333356";
const PROTOCOL_VERSION: i64 = 1001;

/// Reads the next pickle at `*pos`, growing the window read until the pickle fits.
fn next_pickle(src: &dyn Source, pos: &mut u64, what: &str) -> Result<Pickle> {
    let remaining = src.len().saturating_sub(*pos);
    let mut window = remaining.min(64 << 10);
    loop {
        let bytes = src.read_vec(*pos, window)?;
        let member = format!("{} ({what} pickle at byte {})", src.name(), *pos);
        match pickle::parse(&bytes, 0, &member) {
            Ok(p) => {
                *pos += p.trace.end;
                return Ok(p);
            }
            Err(Error::Truncated { .. }) if window < remaining && window < limits::MAX_PICKLE_BYTES => {
                window = (window * 4).min(remaining).min(limits::MAX_PICKLE_BYTES);
            }
            Err(e) => return Err(e),
        }
    }
}

fn is_magic(p: &Pickle) -> bool {
    match p.arena.get(p.root) {
        Value::BigInt(s) => s == MAGIC,
        _ => false,
    }
}

/// Reads a legacy torch file from source `index`.
pub fn read(sources: &[Box<dyn Source>], index: usize) -> Result<Read> {
    let src = sources[index].as_ref();
    let mut pos = 0;
    let magic = next_pickle(src, &mut pos, "magic number")?;
    if !is_magic(&magic) {
        return Err(Error::corrupt(
            Location::new(src.name(), 0),
            "a pickle that does not start with torch's magic number: not a torch.save file (torch.load would refuse it)",
        ));
    }
    let protocol = next_pickle(src, &mut pos, "protocol version")?;
    if protocol.arena.as_int(protocol.root) != Some(PROTOCOL_VERSION) {
        return Err(Error::unsupported(Location::new(src.name(), pos), "legacy protocol version other than 1001"));
    }
    let sys_info = next_pickle(src, &mut pos, "sys_info")?;
    if let Some(le) = sys_info.arena.dict_get(sys_info.root, "little_endian") {
        if sys_info.arena.as_int(le) == Some(0) {
            return Err(Error::unsupported(Location::new(src.name(), pos), "big-endian legacy file"));
        }
    }
    let main_at = pos;
    let main = next_pickle(src, &mut pos, "object")?;
    let keys = next_pickle(src, &mut pos, "storage keys")?;
    let key_list: Vec<String> = keys
        .arena
        .seq(keys.root)
        .ok_or_else(|| Error::corrupt(Location::new(src.name(), pos), "the storage key list is not a list"))?
        .iter()
        .map(|&k| crate::torch::key_string(&keys.arena, k))
        .collect();

    let mut doc = Document::new(Format::TorchLegacy, vec![FileInfo { name: src.name().to_string(), bytes: src.len() }]);
    let located = locate(src, &main, &key_list, pos, index, &mut doc.errors);
    // The safety verdict reads all five pickles again from the source; the object is the document.
    let object = [Pickled { member: format!("{} (object pickle at byte {main_at})", src.name()), pickle: main, storage_namespace: String::new() }];
    let (kind, qparams) = interpret(&mut doc, &object, false);
    doc.kind = kind;
    for s in doc.storages.iter_mut() {
        if let Some((data, member)) = located.get(&s.key) {
            s.data = data.clone();
            s.member = member.clone();
        }
    }
    Ok(Read { qparams, ..Read::new(doc, vec![Scan::Pickle { source: index }]) })
}

/// Walks the storage records after the key list: each is an 8-byte element count, then the bytes.
fn locate(
    src: &dyn Source,
    main: &Pickle,
    keys: &[String],
    mut pos: u64,
    index: usize,
    errors: &mut Vec<Problem>,
) -> HashMap<String, (StorageData, String)> {
    let mut dtypes = HashMap::new();
    for v in &main.arena.values {
        if let Value::PersistentId(pid) = v {
            if let Ok(r) = persistent_storage(&main.arena, *pid) {
                dtypes.insert(r.key, r.dtype);
            }
        }
    }
    let mut out = HashMap::new();
    for key in keys {
        let member = format!("{} (storage {key} at byte {pos})", src.name());
        let Some(dtype) = dtypes.get(key) else {
            errors.push(Problem { message: format!("storage {key} is listed but no tensor names its type; later storages cannot be found"), path: vec![] });
            break;
        };
        let mut count = [0u8; 8];
        if let Err(e) = src.read_at(pos, &mut count) {
            errors.push(Problem { message: format!("storage {key}: {e}"), path: vec![] });
            break;
        }
        let numel = u64::from_le_bytes(count);
        let len = numel.checked_mul(dtype.itemsize());
        let end = len.and_then(|l| l.checked_add(pos + 8));
        match (len, end) {
            (Some(len), Some(end)) if end <= src.len() => {
                out.insert(key.clone(), (StorageData::Range { source: index, offset: pos + 8, len }, member));
                pos = end;
            }
            _ => {
                errors.push(Problem {
                    message: format!("storage {key} declares {numel} elements, more than the file holds after byte {pos}"),
                    path: vec![],
                });
                break;
            }
        }
    }
    out
}
