//! What the safety scan reads of an archive's members, and what it takes each one for. The
//! storages a torch.save archive's pickles name are skipped (raw tensor bytes `torch.load` never
//! unpickles, and nearly all of the file: each read costs in the browser); every other member is
//! told from its first bytes, whatever its name: an archive (zip, tar), a NumPy object array (its
//! pickle), a pickle, or nothing a loader runs. The budget bounds the members read in one file.

use crate::container::{npy, tar, zip};
use crate::error::{Error, Result};
use crate::limits;
use crate::pickle::{self, Trace, Value};
use std::cell::Cell;
use std::collections::HashSet;

/// What a member holds that a loader could run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contents {
    Zip,
    Tar,
    /// A NumPy object array: its pickle starts at this offset.
    Npy(u64),
    Pickle,
    Nothing,
}

/// What `head`, the first bytes of something `len` bytes long, holds.
pub fn sniff(head: &[u8], len: u64, name: &str) -> Result<Contents> {
    Ok(if zip::is_zip(head) {
        Contents::Zip
    } else if tar::is_tar(head) {
        Contents::Tar
    } else if npy::is_npy(head) {
        npy::object_pickle_offset(head, name)?.map_or(Contents::Nothing, Contents::Npy)
    } else {
        let (trace, error) = pickle::scan(head, 0, name);
        if is_pickle(&trace, error.as_ref(), head.len() as u64, len) {
            Contents::Pickle
        } else {
            Contents::Nothing
        }
    })
}

/// Whether the machine's run over the first `read` bytes of something `len` long is a pickle a
/// loader would run: it reached STOP, named a global Python could import, or stopped for bytes
/// that were not read but are there. Text and raw data fail on a byte that is no opcode, or name
/// "globals" no module could have (a TorchScript `class` line read as GLOBAL).
pub fn is_pickle(trace: &Trace, error: Option<&Error>, read: u64, len: u64) -> bool {
    match error {
        None => true,
        Some(Error::Truncated { at, needed, .. })
            if read < len && at.offset.and_then(|o| o.checked_add(*needed)).is_some_and(|end| end <= len) =>
        {
            true
        }
        Some(_) => trace.globals.iter().any(|g| is_dotted_name(&g.module) && is_dotted_name(&g.name)),
    }
}

/// `a.b_c.D`: what `find_class` could import.
fn is_dotted_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            part.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_') && part.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
}

/// Adds to `out` the members a torch.save pickle names as storages: `dir` + the key of each
/// persistent id `('storage', type, key, location, numel)` it loads. A pickle that does not parse
/// names none (its members are then all read).
pub fn storage_members(pickle_bytes: &[u8], dir: &str, out: &mut HashSet<String>) {
    let Ok(p) = pickle::parse(pickle_bytes, 0, dir) else { return };
    for v in &p.arena.values {
        let Value::PersistentId(pid) = v else { continue };
        let Some(t) = p.arena.seq(*pid).filter(|t| t.len() >= 3 && p.arena.as_str(t[0]) == Some("storage")) else { continue };
        match p.arena.get(t[2]) {
            Value::Str(key) => out.insert(format!("{dir}{key}")),
            Value::Int(key) => out.insert(format!("{dir}{key}")),
            _ => continue,
        };
    }
}

/// What the scan of one file may still read, across its members at any depth.
#[derive(Debug, Default)]
pub struct Budget {
    members: Cell<usize>,
    inflated: Cell<u64>,
    refused: Cell<bool>,
}

impl Budget {
    /// Counts one more member and `inflated` bytes; false once the file holds more than the scan
    /// reads (`MAX_SCANNED_MEMBERS`, `MAX_SCANNED_INFLATED`).
    pub fn take(&self, inflated: u64) -> bool {
        self.members.set(self.members.get() + 1);
        self.inflated.set(self.inflated.get().saturating_add(inflated));
        !self.spent()
    }

    /// Whether the scan has read all it may.
    pub fn spent(&self) -> bool {
        self.members.get() > limits::MAX_SCANNED_MEMBERS || self.inflated.get() > limits::MAX_SCANNED_INFLATED
    }

    /// True the first time it is asked after `take` refused: the one time to say so.
    pub fn first_refusal(&self) -> bool {
        !self.refused.replace(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_pickles_from_text_and_data() {
        assert_eq!(sniff(b"\x80\x02}q\x00.", 6, "m").unwrap(), Contents::Pickle);
        // No STOP, but it imports before it fails: a loader runs it.
        assert_eq!(sniff(b"cposix\nsystem\n(S'id'\ntR", 23, "m").unwrap(), Contents::Pickle);
        // A TorchScript source file and the small records of a torch.save archive are not.
        assert_eq!(sniff(b"class Linear(Module):\n  __parameters__ = []\n", 44, "m").unwrap(), Contents::Nothing);
        for text in [&b"little"[..], b"3\n", b"1", b"64", b"1234567890123456789"] {
            assert_eq!(sniff(text, text.len() as u64, "m").unwrap(), Contents::Nothing, "{text:?}");
        }
        // Cut off by the probe: more of it must be read.
        assert_eq!(sniff(b"\x80\x02X\x10\x00\x00\x00abc", 100, "m").unwrap(), Contents::Pickle);
        // A length beyond the member: no loader gets further either.
        assert_eq!(sniff(b"X\xff\xff\xff\x00abc", 100, "m").unwrap(), Contents::Nothing);
        assert_eq!(sniff(b"PK\x03\x04", 4, "m").unwrap(), Contents::Zip);
    }

    #[test]
    fn storage_members_are_the_keys_of_persistent_ids() {
        // {'w': persistent_id(('storage', torch.FloatStorage, '0', 'cpu', 4))}
        let p = b"\x80\x02}X\x01\x00\x00\x00w(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQs.";
        let mut out = HashSet::new();
        storage_members(p, "archive/data/", &mut out);
        assert_eq!(out, HashSet::from(["archive/data/0".to_string()]));
    }

    #[test]
    fn the_budget_refuses_once_spent() {
        let b = Budget::default();
        assert!(b.take(limits::MAX_SCANNED_INFLATED));
        assert!(!b.take(1));
        assert!(b.first_refusal());
        assert!(!b.first_refusal());
    }
}
