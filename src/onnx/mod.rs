//! ONNX models: the graph summary, initializers as tensors, and (feature `engine`) inference.
//!
//! Reading needs no engine and runs in wasm: `proto` is a protobuf wire reader over a `Source` that
//! records byte offsets, `graph` the part of the ONNX schema torchpeek reads, `view` the graph as
//! the page draws it (nodes in topological order, initializers linked to their tensors). Initializers become
//! storages that point at their `raw_data` bytes in the model file or at their range of an external
//! data file; they are never copied.

pub mod graph;
pub mod proto;
pub mod view;

#[cfg(feature = "engine")]
pub mod engine;
#[cfg(feature = "engine")]
pub mod kernels;

use crate::document::{contiguous_strides, Document, FileInfo, Format, Kind, Problem, StateDictEntry, Storage, StorageData, Tensor};
use crate::error::{Error, Location, Result};
use crate::source::Source;
use graph::{dtype_of, elem_type_name, model_inputs, op_types, value_info_json, ModelInfo, TensorInfo};
use serde_json::{json, Map, Value as Json};
use std::sync::Arc;

/// ModelProto fields and the wire type each must have (field 1, ir_version, is checked first).
const MODEL_FIELDS: &[(u64, u64)] = &[
    (2, 2),  // producer_name
    (3, 2),  // producer_version
    (4, 2),  // domain
    (5, 0),  // model_version
    (6, 2),  // doc_string
    (7, 2),  // graph
    (8, 2),  // opset_import
    (14, 2), // metadata_props
    (20, 2), // training_info
    (25, 2), // functions
    (26, 2), // configuration
];

/// Highest IR version accepted as plausible when sniffing (IR 11 is current; leave room).
const MAX_IR_VERSION: u64 = 64;

/// True when the first bytes look like an ONNX ModelProto: field 1 (`ir_version`, a small varint)
/// first, then at least one more ModelProto field with the right wire type, and nothing in the
/// bytes given that a ModelProto could not hold. A zip (`PK\x03\x04`) or a pickle (`\x80`) never
/// passes: the first byte must be the tag 0x08.
pub fn looks_like_onnx(head: &[u8]) -> bool {
    if head.first() != Some(&0x08) {
        return false;
    }
    let Some((ir, n)) = proto::varint_at(&head[1..]) else { return false };
    if ir == 0 || ir > MAX_IR_VERSION {
        return false;
    }
    let mut p = 1 + n;
    let mut fields = 1;
    while p < head.len() {
        let Some((tag, n)) = proto::varint_at(&head[p..]) else {
            // A tag cut by the end of `head` is fine; ten bytes of continuation are not.
            return head.len() - p < 10 && fields >= 2;
        };
        let (field, wire) = (tag >> 3, tag & 7);
        if !MODEL_FIELDS.contains(&(field, wire)) {
            return false;
        }
        fields += 1;
        p += n;
        let Some((v, n)) = proto::varint_at(&head[p.min(head.len())..]) else { break };
        p += n;
        if wire == 2 {
            let Ok(len) = usize::try_from(v) else { return false };
            let Some(stop) = p.checked_add(len) else { return false };
            // Text fields must be UTF-8 as far as they are in `head`.
            if matches!(field, 2..=4) {
                let text = &head[p..stop.min(head.len())];
                if let Err(e) = std::str::from_utf8(text) {
                    if e.error_len().is_some() {
                        return false;
                    }
                }
            }
            p = stop;
        }
    }
    fields >= 2
}

/// Reads an ONNX model (and its external data files) into a Document. The model is the first
/// source that looks like ONNX (else the first); the others are candidates for external data,
/// matched by the file name in each initializer's `location`.
pub fn read(sources: &[Box<dyn Source>]) -> Result<Document> {
    if sources.is_empty() {
        return Err(Error::corrupt(Location::member("input"), "no file given"));
    }
    let model_index = sources
        .iter()
        .position(|s| {
            let mut head = vec![0u8; s.len().min(64) as usize];
            s.read_at(0, &mut head).is_ok() && looks_like_onnx(&head)
        })
        .unwrap_or(0);
    let src: &dyn Source = sources[model_index].as_ref();
    let info = parse(src)?;
    let files = sources.iter().map(|s| FileInfo { name: s.name().to_string(), bytes: s.len() }).collect();
    let mut doc = Document::new(Format::Onnx, files);
    doc.kind = Kind::Onnx;
    build(&mut doc, &info, sources, model_index);
    doc.onnx_model = Some(Arc::new(info));
    Ok(doc)
}

/// Parses a source as a ModelProto.
pub fn parse(src: &dyn Source) -> Result<ModelInfo> {
    let mut p = graph::Parser::new(proto::Reader::new(src));
    let info = p.model()?;
    if info.graph.is_none() {
        return Err(Error::corrupt(Location::new(src.name(), src.len()), "ONNX model has no graph (truncated?)"));
    }
    if info.opsets.is_empty() && info.ir_version >= 3 {
        return Err(Error::corrupt(
            Location::new(src.name(), src.len()),
            "ONNX model has no opset_import (truncated?)",
        ));
    }
    Ok(info)
}

/// The base name of a path written with `/` or `\`.
fn base_name(p: &str) -> &str {
    p.rsplit(['/', '\\']).next().unwrap_or(p)
}

fn build(doc: &mut Document, info: &ModelInfo, sources: &[Box<dyn Source>], model_index: usize) {
    let empty = graph::GraphInfo::default();
    let g = info.graph.as_ref().unwrap_or(&empty);
    let model_name = sources[model_index].name().to_string();
    let mut tree = Vec::new();
    let mut numel_total: u64 = 0;

    for init in &g.initializers {
        let numel = init.numel();
        numel_total = numel_total.saturating_add(numel.unwrap_or(0));
        let problem = |doc: &mut Document, msg: String| {
            doc.errors.push(Problem { message: msg, path: vec![init.name.clone()] });
        };
        let Some(numel) = numel else {
            problem(doc, format!("initializer {} has invalid dims {:?}", init.name, init.dims));
            continue;
        };
        let Some(dtype) = dtype_of(init.data_type) else {
            problem(
                doc,
                format!(
                    "initializer {} has element type {}, which is not shown as a tensor",
                    init.name,
                    elem_type_name(init.data_type as i64)
                ),
            );
            continue;
        };
        let bytes = numel.saturating_mul(dtype.itemsize());
        let (data, member) = match storage_data(init, dtype, numel, bytes, sources, model_index, &model_name) {
            Ok(x) => x,
            Err((reason, member)) => {
                problem(doc, format!("initializer {}: {reason}", init.name));
                (StorageData::Missing { reason }, member)
            }
        };
        let storage_index = doc.storages.len();
        doc.storages.push(Storage { key: storage_index.to_string(), dtype, bytes, member, data });
        let shape: Vec<u64> = init.dims.iter().map(|&d| d as u64).collect();
        let stride = contiguous_strides(&shape);
        let index = doc.tensors.len();
        let tensor = Tensor::new(vec![init.name.clone()], dtype, shape, stride, numel, storage_index, &doc.storages[storage_index]);
        doc.tensors.push(tensor);
        doc.state_dict.push(StateDictEntry { key: init.name.clone(), tensor: index });
        tree.push(json!([init.name, { "$tensor": index }]));
    }
    doc.tree = json!({ "$dict": tree });

    let mut opsets = Map::new();
    for (domain, version) in &info.opsets {
        let d = if domain.is_empty() { "ai.onnx".to_string() } else { domain.clone() };
        opsets.insert(d, Json::from(*version));
    }
    let producer = if info.producer_version.is_empty() {
        info.producer_name.clone()
    } else {
        format!("{} {}", info.producer_name, info.producer_version)
    };
    // Exactly the fields of the spec; the page's graph view has the rest (`view::graph_json`).
    doc.onnx = Some(json!({
        "ir_version": info.ir_version,
        "opsets": opsets,
        "producer": producer,
        "inputs": model_inputs(g).into_iter().map(value_info_json).collect::<Vec<_>>(),
        "outputs": g.outputs.iter().map(value_info_json).collect::<Vec<_>>(),
        "node_count": g.nodes.len(),
        "op_types": op_types(&g.nodes),
        "initializer_count": g.initializers.len(),
        "initializer_numel": numel_total,
    }));
}

/// Where an initializer's bytes are; on failure, why they cannot be read, and the member named.
#[allow(clippy::too_many_arguments)]
fn storage_data(
    init: &TensorInfo,
    dtype: crate::dtype::DType,
    numel: u64,
    bytes: u64,
    sources: &[Box<dyn Source>],
    model_index: usize,
    model_name: &str,
) -> std::result::Result<(StorageData, String), (String, String)> {
    let member = format!("{model_name}:{}", init.name);
    if init.data_location == 1 || !init.external.is_empty() {
        let get = |k: &str| init.external.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        let location = get("location").unwrap_or("");
        let member = format!("{location}:{}", init.name);
        let parse_num = |k: &str| -> std::result::Result<Option<u64>, String> {
            match get(k) {
                None => Ok(None),
                Some(v) => v.trim().parse::<u64>().map(Some).map_err(|_| format!("external data {k} {v:?} is not a number")),
            }
        };
        let offset = parse_num("offset").map_err(|e| (e, member.clone()))?.unwrap_or(0);
        let length = parse_num("length").map_err(|e| (e, member.clone()))?.unwrap_or(bytes);
        if length != bytes {
            return Err((format!("external data length {length} is not the {bytes} bytes its dims and type need"), member));
        }
        let want = base_name(location);
        let others: Vec<usize> = (0..sources.len()).filter(|&i| i != model_index).collect();
        let found = others.iter().copied().find(|&i| base_name(sources[i].name()) == want);
        let Some(si) = found.or_else(|| if others.len() == 1 { Some(others[0]) } else { None }) else {
            return Err((format!("external data file {location:?} was not given"), member));
        };
        let src = &sources[si];
        if offset.checked_add(length).is_none_or(|e| e > src.len()) {
            return Err((
                format!("external data {offset}+{length} lies beyond the end of {} ({} bytes)", src.name(), src.len()),
                member,
            ));
        }
        let member = format!("{}:{}", src.name(), init.name);
        return Ok((StorageData::Range { source: si, offset, len: length }, member));
    }
    if let Some((offset, len)) = init.raw {
        if len != bytes {
            return Err((format!("raw_data has {len} bytes, its dims and type need {bytes}"), member));
        }
        return Ok((StorageData::Range { source: model_index, offset, len }, member));
    }
    let (data, count) = init.typed.to_bytes(dtype);
    let want = if dtype.is_complex() { numel * 2 } else { numel };
    if count != want {
        if init.typed.is_empty() && numel > 0 {
            return Err(("no data (neither raw_data, typed data nor external data)".to_string(), member));
        }
        return Err((format!("typed data holds {count} values, its dims need {want}"), member));
    }
    Ok((StorageData::Inline(Arc::from(data)), member))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert!(!looks_like_onnx(b"PK\x03\x04rest"));
        assert!(!looks_like_onnx(&[0x80, 0x02, 0x7d]));
        assert!(!looks_like_onnx(&[]));
        assert!(!looks_like_onnx(&[0x08]));
        assert!(!looks_like_onnx(&[0x08, 0x08]));
        // safetensors header length 0x208
        assert!(!looks_like_onnx(&[0x08, 0x02, 0, 0, 0, 0, 0, 0, b'{', b'"']));
        // ir_version 8, producer_name "pytorch"
        assert!(looks_like_onnx(b"\x08\x08\x12\x07pytorch\x1a\x052.1.0"));
        assert!(looks_like_onnx(b"\x08\x08\x12\x07pyto"));
    }
}
