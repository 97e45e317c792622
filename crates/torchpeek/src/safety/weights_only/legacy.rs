//! The legacy format (torch < 1.6): a file that is not a zip is five pickles (magic number,
//! protocol, sys_info, the object, the storage keys) and then each storage, an 8-byte element
//! count and its bytes. Its storages are resizable: a view grows its storage, as in torch.

use super::unpickler::{storage_bytes, Id, Machine, NoStorages, Storages, V};
use super::{broken, not_a_torch_file, Outcome, Refusal};
use crate::limits;
use crate::source::Source;
use std::collections::HashMap;

/// torch's legacy magic number, `0x1950a86a20f9469cfc6c`.
const MAGIC: i128 = 0x1950a86a20f9469cfc6c;
/// The legacy format's protocol version.
const PROTOCOL_VERSION: i128 = 1001;

pub(super) fn load(src: &dyn Source) -> Outcome {
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


/// The legacy loader's `persistent_load`: storages are made at their first mention and filled
/// from the end of the file later.
#[derive(Default)]
struct LegacyStorages {
    /// `deserialized_objects`: storages by key, view keys too.
    objects: HashMap<String, Held>,
}

impl Storages for LegacyStorages {
    fn load(&mut self, m: &mut Machine, pid: Id) -> Result<V, String> {
        let [storage_type, root_key, location, numel, view] = m.storage_pid(pid)?;
        let dtype = m.storage_dtype(storage_type)?;
        let numel = m.int(numel).ok_or("the storage's element count is not an int")?;
        let nbytes = storage_bytes(numel, dtype.1)?;
        let root = m.hash_key(root_key)?;
        // The storage torch hands out: a new resizable one at a key's first mention; the same one
        // after (retyped when the bytes agree, else a new empty one that no key names).
        let slot = match self.objects.get(&root) {
            None => {
                m.location(location, &dtype.0)?;
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

/// `len(range(n)[start:stop])`.
fn slice_len(n: i128, start: i128, stop: i128) -> u64 {
    let clamp = |i: i128| if i < 0 { (i + n).max(0) } else { i.min(n) };
    (clamp(stop) - clamp(start)).max(0) as u64
}
