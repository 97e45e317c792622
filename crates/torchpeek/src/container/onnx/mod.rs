//! ONNX models read into the Document: the graph summary, and initializers as tensors.
//!
//! `proto` is a protobuf wire reader over a `Source` that records byte offsets, `schema` the part
//! of the ONNX schema torchpeek reads (typed structs; `crate::view::onnx` draws the graph).
//! Initializers become storages that point at their `raw_data` bytes in the model file or at their
//! range of an external data file; they are never copied. `external_data` is the one resolver of
//! external data: the engine's loader uses it too.

pub mod proto;
pub mod schema;

use crate::document::{contiguous_strides, Document, FileInfo, Format, Kind, Problem, StateDictEntry, Storage, StorageData, Tensor};
use crate::error::{Error, Location, Result};
use crate::source::Source;
use super::sniff::is_onnx;
use super::{Read, Scan};
use schema::{dtype_of, elem_type_name, model_inputs, ModelInfo, NodeInfo, TensorInfo};
use serde_json::{json, Map, Value as Json};
use std::sync::Arc;

/// Reads an ONNX model (and its external data files) into a Document. The model is the source
/// `model_index` picks; the others are candidates for external data (`external_data`).
pub fn read(sources: &[Box<dyn Source>]) -> Result<Read> {
    if sources.is_empty() {
        return Err(Error::corrupt(Location::member("input"), "no file given"));
    }
    let model_index = model_index(sources.iter().map(|s| s.as_ref()));
    let src: &dyn Source = sources[model_index].as_ref();
    let info = parse(src)?;
    let files = sources.iter().map(|s| FileInfo { name: s.name().to_string(), bytes: s.len() }).collect();
    let mut doc = Document::new(Format::Onnx, files);
    doc.kind = Kind::Onnx;
    build(&mut doc, &info, sources, model_index);
    Ok(Read { onnx: Some(Arc::new(info)), ..Read::new(doc, vec![Scan::PlainData { source: model_index, onnx: true }]) })
}

/// Which of the sources given together is the model: the first that looks like ONNX (else the
/// first); the others are candidates for its external data. The reader and the engine both ask here.
pub fn model_index<'a>(sources: impl IntoIterator<Item = &'a dyn Source>) -> usize {
    sources
        .into_iter()
        .position(|s| {
            let mut head = vec![0u8; s.len().min(64) as usize];
            s.read_at(0, &mut head).is_ok() && is_onnx(&head)
        })
        .unwrap_or(0)
}

/// Parses a source as a ModelProto.
pub fn parse(src: &dyn Source) -> Result<ModelInfo> {
    let mut p = schema::Parser::new(proto::Reader::new(src));
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
    let empty = schema::GraphInfo::default();
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
    // Exactly the fields of the spec; the page's graph view has the rest (`crate::view::onnx`).
    doc.onnx = Some(json!({
        "ir_version": info.ir_version,
        "opsets": opsets,
        "producer": producer,
        "inputs": model_inputs(g),
        "outputs": g.outputs,
        "node_count": g.nodes.len(),
        "op_types": op_types(&g.nodes),
        "initializer_count": g.initializers.len(),
        "initializer_numel": numel_total,
    }));
}

/// An external initializer's bytes: `length` bytes at `offset` of candidate file `file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExternalData {
    pub file: usize,
    pub offset: u64,
    pub length: u64,
}

/// Where the external data of `init` (which needs `bytes` bytes) lies among `files`: the file whose
/// base name is the base name of its `location` (or the only file given), at its `offset` (default
/// 0) for its `length` (default, and it must be, `bytes`). The reader and the engine both resolve
/// external data here; the error says what is wrong.
pub fn external_data(init: &TensorInfo, bytes: u64, files: &[&dyn Source]) -> std::result::Result<ExternalData, String> {
    let location = init.external_entry("location").unwrap_or("");
    let number = |k: &str| -> std::result::Result<Option<u64>, String> {
        match init.external_entry(k) {
            None => Ok(None),
            Some(v) => v.trim().parse::<u64>().map(Some).map_err(|_| format!("external data {k} {v:?} is not a number")),
        }
    };
    let offset = number("offset")?.unwrap_or(0);
    let length = number("length")?.unwrap_or(bytes);
    if length != bytes {
        return Err(format!("external data length {length} is not the {bytes} bytes its dims and type need"));
    }
    let want = base_name(location);
    let found = files.iter().position(|f| base_name(f.name()) == want);
    let Some(file) = found.or(if files.len() == 1 { Some(0) } else { None }) else {
        return Err(format!("external data file {location:?} was not given"));
    };
    let src = files[file];
    if offset.checked_add(length).is_none_or(|e| e > src.len()) {
        return Err(format!("external data {offset}+{length} lies beyond the end of {} ({} bytes)", src.name(), src.len()));
    }
    Ok(ExternalData { file, offset, length })
}

/// Counts of op types in first-seen order.
pub fn op_types(nodes: &[NodeInfo]) -> Map<String, Json> {
    let mut m = Map::new();
    for n in nodes {
        let key = n.op_type.clone();
        let c = m.get(&key).and_then(|v| v.as_u64()).unwrap_or(0);
        m.insert(key, Json::from(c + 1));
    }
    m
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
    if init.is_external() {
        let others: Vec<(usize, &dyn Source)> =
            sources.iter().enumerate().filter(|&(i, _)| i != model_index).map(|(i, s)| (i, s.as_ref())).collect();
        let candidates: Vec<&dyn Source> = others.iter().map(|&(_, s)| s).collect();
        let location = init.external_entry("location").unwrap_or("");
        let e = external_data(init, bytes, &candidates).map_err(|reason| (reason, format!("{location}:{}", init.name)))?;
        let (si, src) = others[e.file];
        let member = format!("{}:{}", src.name(), init.name);
        return Ok((StorageData::Range { source: si, offset: e.offset, len: e.length }, member));
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
