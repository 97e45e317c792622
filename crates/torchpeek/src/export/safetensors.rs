//! The state_dict as a `.safetensors` file: an 8-byte little-endian header length, a JSON header
//! (written with serde_json, padded with spaces to 8 bytes) naming each tensor's dtype, shape and
//! byte range, then each tensor's elements in row-major order of its view, in its own dtype.
//! Tied weights are written once per key. Tensors safetensors cannot hold (complex32, the float8
//! `fnuz` variants, quantized, sparse, or without bytes in the file) are left out and listed.

use crate::document::{Document, Layout, StorageData};
use crate::export::chunk_elements;
use serde::Serialize;
use serde_json::{json, Map, Value as Json};

/// One tensor in the file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub key: String,
    /// Index into the document's tensors.
    pub tensor: usize,
    pub numel: u64,
    pub bytes: u64,
    /// Elements per slice (`limits::STREAM_CHUNK` bytes).
    pub step: u64,
}

/// What the file holds, and the header that describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub entries: Vec<Entry>,
    /// state_dict keys left out.
    pub skipped: Vec<String>,
    /// Bytes of the whole file.
    pub bytes: u64,
    #[serde(skip)]
    pub header: Vec<u8>,
}

impl Plan {
    pub fn new(doc: &Document) -> Plan {
        let mut header = Map::new();
        header.insert("__metadata__".into(), json!({ "format": "pt" }));
        let (mut entries, mut skipped, mut offset) = (Vec::new(), Vec::new(), 0u64);
        for e in &doc.state_dict {
            let t = &doc.tensors[e.tensor];
            let name = t.dtype.safetensors_name();
            let has_bytes = doc.storages.get(t.storage_index).is_some_and(|s| !matches!(s.data, StorageData::Missing { .. }));
            let bytes = t.numel.checked_mul(t.dtype.itemsize()).filter(|b| offset.checked_add(*b).is_some());
            match (name, bytes) {
                (Some(name), Some(bytes)) if t.layout == Layout::Strided && has_bytes && !header.contains_key(&e.key) => {
                    header.insert(e.key.clone(), json!({ "dtype": name, "shape": t.shape, "data_offsets": [offset, offset + bytes] }));
                    entries.push(Entry { key: e.key.clone(), tensor: e.tensor, numel: t.numel, bytes, step: chunk_elements(t.dtype.itemsize()) });
                    offset += bytes;
                }
                _ => skipped.push(e.key.clone()),
            }
        }
        let mut text = Json::Object(header).to_string();
        text.push_str(&" ".repeat((8 - text.len() % 8) % 8));
        let mut head = (text.len() as u64).to_le_bytes().to_vec();
        head.extend_from_slice(text.as_bytes());
        Plan { entries, skipped, bytes: head.len() as u64 + offset, header: head }
    }
}
