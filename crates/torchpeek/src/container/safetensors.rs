//! safetensors: an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
//! shape and byte range, then the bytes. Nothing in it can run code.

use super::{Read, Scan};
use crate::document::{contiguous_strides, Document, FileInfo, Format, Kind, StateDictEntry, Storage, StorageData, Tensor};
use crate::dtype::DType;
use crate::error::{Error, Location, Result};
use crate::limits;
use crate::source::Source;
use serde_json::{json, Value as Json};

/// Reads a safetensors file from source `index`.
pub fn read(sources: &[Box<dyn Source>], index: usize) -> Result<Read> {
    let doc = read_source(sources[index].as_ref(), index)?;
    Ok(Read::new(doc, vec![Scan::PlainData { source: index, onnx: false }]))
}

/// Reads one safetensors source, whose tensors refer to source `index`.
fn read_source(src: &dyn Source, index: usize) -> Result<Document> {
    let at = |o: u64| Location::new(format!("{} (safetensors header)", src.name()), o);
    let n = u64::from_le_bytes(src.read_vec(0, 8)?.try_into().unwrap());
    if n > limits::MAX_HEADER_BYTES {
        return Err(Error::Limit { at: at(0), what: "header length", found: n, limit: limits::MAX_HEADER_BYTES });
    }
    let header = src.read_vec(8, n)?;
    let header: serde_json::Map<String, Json> =
        serde_json::from_slice(&header).map_err(|e| Error::corrupt(at(8 + e.column() as u64), format!("bad JSON header: {e}")))?;
    let data_start = 8 + n;
    let data_len = src.len() - data_start;
    let mut doc = Document::new(Format::Safetensors, vec![FileInfo { name: src.name().to_string(), bytes: src.len() }]);
    let mut items = Vec::new();
    let mut metadata = Json::Null;
    for (name, info) in &header {
        if name == "__metadata__" {
            metadata = info.clone();
            continue;
        }
        let bad = |msg: String| Error::corrupt(at(8), format!("tensor {name:?}: {msg}"));
        let dtype_name = info.get("dtype").and_then(Json::as_str).ok_or_else(|| bad("no dtype".into()))?;
        let dtype = DType::from_safetensors(dtype_name).ok_or_else(|| bad(format!("unknown dtype {dtype_name}")))?;
        let shape: Vec<u64> = info
            .get("shape")
            .and_then(Json::as_array)
            .ok_or_else(|| bad("no shape".into()))?
            .iter()
            .map(|d| d.as_u64().ok_or_else(|| bad("shape entries must be non-negative integers".into())))
            .collect::<Result<_>>()?;
        if shape.len() > limits::MAX_RANK {
            return Err(bad(format!("rank {} is over the limit of {}", shape.len(), limits::MAX_RANK)));
        }
        let offsets = info.get("data_offsets").and_then(Json::as_array).ok_or_else(|| bad("no data_offsets".into()))?;
        let (Some(begin), Some(end)) = (offsets.first().and_then(Json::as_u64), offsets.get(1).and_then(Json::as_u64)) else {
            return Err(bad("data_offsets must be two integers".into()));
        };
        if begin > end || end > data_len {
            return Err(bad(format!("byte range {begin}..{end} lies outside the {data_len} data bytes")));
        }
        let numel = shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d)).ok_or_else(|| bad("shape overflows".into()))?;
        if numel.checked_mul(dtype.itemsize()) != Some(end - begin) {
            return Err(bad(format!("{numel} elements of {} need {} bytes, the range holds {}", dtype.name(), numel.saturating_mul(dtype.itemsize()), end - begin)));
        }
        let i = doc.tensors.len();
        doc.storages.push(Storage {
            key: i.to_string(),
            dtype,
            bytes: end - begin,
            member: format!("{}/{name}", src.name()),
            data: StorageData::Range { source: index, offset: data_start + begin, len: end - begin },
        });
        let stride = contiguous_strides(&shape);
        doc.tensors.push(Tensor::new(vec![name.clone()], dtype, shape, stride, numel, i, &doc.storages[i]));
        doc.state_dict.push(StateDictEntry { key: name.clone(), tensor: i });
        items.push(json!([name, {"$tensor": i}]));
    }
    doc.tree = if metadata.is_null() { json!({"$dict": items}) } else { json!({"$dict": items, "$metadata": metadata}) };
    doc.kind = Kind::StateDict;
    Ok(doc)
}
