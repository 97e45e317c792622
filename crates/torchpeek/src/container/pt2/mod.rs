//! `.pt2` archives from `torch.export.save` (torch >= 2.6 layout): a zip whose
//! `<root>/data/weights/model_weights_config.json` (and `data/constants/...`) maps each weight's
//! name to a raw payload member with its tensor metadata (dtype as torch.export's ScalarType,
//! sizes, strides, storage offset). The weights are read here; the exported program
//! (`models/model.json`: graph and signature) by `program`, summarized into the document's `pt2`.

pub mod program;

use super::zip::Archive;
use super::{Read, Scan};
use crate::document::{Document, FileInfo, Format, Kind, Problem, StateDictEntry, Storage, Tensor};
use crate::error::{Error, Location, Result};
use crate::limits;
use crate::source::Source;
use serde_json::{json, Value as Json};
use program::{dtype_of, Program};
use std::collections::HashMap;
use std::sync::Arc;

/// The payload configs of an archive, weights first.
const CONFIGS: [&str; 2] = ["data/weights/model_weights_config.json", "data/constants/model_constants_config.json"];

/// True when the archive is a torch.export archive.
pub fn is_pt2(archive: &Archive) -> bool {
    archive.entries.iter().any(|e| e.name.ends_with(CONFIGS[0]) || e.name.ends_with("/archive_format"))
}

/// A SymInt as serialized: `{"as_int": 4}` (a symbolic size has no value here).
fn sym_int(v: &Json) -> Option<i64> {
    v.get("as_int").and_then(Json::as_i64).or_else(|| v.as_i64())
}

/// Reads the weights and constants of a torch.export archive in source `index`.
pub fn read(sources: &[Box<dyn Source>], index: usize, archive: Archive) -> Result<Read> {
    let src = sources[index].as_ref();
    let mut doc = Document::new(Format::TorchExport, vec![FileInfo { name: src.name().to_string(), bytes: src.len() }]);
    let mut items = Vec::new();
    let mut storages: HashMap<String, usize> = HashMap::new();
    let mut found = false;
    for config in CONFIGS {
        let Some(entry) = archive.entries.iter().find(|e| e.name.ends_with(config)) else { continue };
        found = true;
        let root = entry.name.strip_suffix(config).unwrap_or("");
        let folder = config.rsplit_once('/').map_or("", |(f, _)| f);
        let at = Location::member(format!("{}/{}", src.name(), entry.name));
        let bytes = archive.read_member(src, entry, limits::MAX_HEADER_BYTES)?;
        let parsed: Json = serde_json::from_slice(&bytes).map_err(|e| Error::corrupt(at.clone(), format!("bad JSON: {e}")))?;
        let Some(payloads) = parsed.get("config").and_then(Json::as_object) else {
            return Err(Error::corrupt(at, "no \"config\" object"));
        };
        for (name, meta) in payloads {
            match payload_tensor(src, index, &archive, &format!("{root}{folder}"), name, meta, &mut doc, &mut storages) {
                Ok(i) => {
                    doc.state_dict.push(StateDictEntry { key: name.clone(), tensor: i });
                    items.push(json!([name, {"$tensor": i}]));
                }
                Err(message) => doc.errors.push(Problem { message, path: vec![name.clone()] }),
            }
        }
    }
    if !found {
        return Err(Error::unsupported(
            Location::member(src.name()),
            "a torch.export archive without data/weights/model_weights_config.json (written by torch < 2.6?): its weights are not read",
        ));
    }
    doc.tree = json!({"$dict": items});
    doc.kind = Kind::StateDict;
    let program = read_program(src, &archive, &mut doc);
    let mut read = Read::new(doc, vec![Scan::Archive { source: index, archive }]);
    read.pt2 = program;
    Ok(read)
}

/// The exported program (`<root>/models/model.json`, else the first `models/*.json`), summarized
/// into `doc.pt2`. One that cannot be read is a problem of the document: the weights still show.
fn read_program(src: &dyn Source, archive: &Archive, doc: &mut Document) -> Option<Arc<Program>> {
    let in_models = |name: &str| name.rsplit_once('/').is_some_and(|(dir, file)| (dir == "models" || dir.ends_with("/models")) && file.ends_with(".json"));
    let entry = archive
        .entries
        .iter()
        .find(|e| e.name == "models/model.json" || e.name.ends_with("/models/model.json"))
        .or_else(|| archive.entries.iter().find(|e| in_models(&e.name)))?;
    let member = format!("{}/{}", src.name(), entry.name);
    let parsed = archive
        .read_member(src, entry, limits::MAX_GRAPH_JSON_BYTES)
        .and_then(|bytes| program::parse(&bytes, &member));
    match parsed {
        Ok(p) => {
            doc.pt2 = Some(p.summary_json());
            Some(Arc::new(p))
        }
        Err(e) => {
            doc.errors.push(Problem { message: format!("the exported program is not shown: {e}"), path: vec![] });
            None
        }
    }
}

/// One payload as a tensor of the document; a message when it cannot be read.
#[allow(clippy::too_many_arguments)]
fn payload_tensor(
    src: &dyn Source,
    index: usize,
    archive: &Archive,
    folder: &str,
    name: &str,
    meta: &Json,
    doc: &mut Document,
    storages: &mut HashMap<String, usize>,
) -> std::result::Result<usize, String> {
    if meta.get("use_pickle").and_then(Json::as_bool) == Some(true) {
        return Err("a pickled payload (use_pickle): not read".into());
    }
    let path = meta.get("path_name").and_then(Json::as_str).ok_or("no path_name")?;
    let tm = meta.get("tensor_meta").filter(|t| !t.is_null()).ok_or("no tensor_meta (not a tensor)")?;
    let code = tm.get("dtype").and_then(Json::as_i64).ok_or("no dtype")?;
    let dtype = dtype_of(code).ok_or_else(|| format!("unknown torch.export dtype {code}"))?;
    let ints = |field: &str| -> std::result::Result<Vec<i64>, String> {
        tm.get(field)
            .and_then(Json::as_array)
            .ok_or_else(|| format!("no {field}"))?
            .iter()
            .map(|v| sym_int(v).ok_or_else(|| format!("{field}: a symbolic size has no value")))
            .collect()
    };
    let sizes = ints("sizes")?;
    let stride = ints("strides")?;
    if sizes.len() > limits::MAX_RANK || sizes.len() != stride.len() || sizes.iter().chain(&stride).any(|&v| v < 0) {
        return Err(format!("sizes {sizes:?} and strides {stride:?} do not describe a tensor"));
    }
    let shape: Vec<u64> = sizes.iter().map(|&s| s as u64).collect();
    let offset = tm.get("storage_offset").and_then(sym_int).unwrap_or(0).max(0) as u64;
    let member = format!("{folder}/{path}");
    let entry = archive.find(&member).ok_or_else(|| format!("the archive has no payload {member}"))?;
    let numel = shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d)).ok_or("shape overflows")?;
    let storage_index = *storages.entry(member.clone()).or_insert_with(|| {
        doc.storages.push(Storage {
            key: path.to_string(),
            dtype,
            bytes: entry.size,
            member: format!("{}/{member}", src.name()),
            data: entry.storage_data(index),
        });
        doc.storages.len() - 1
    });
    let i = doc.tensors.len();
    let tensor = Tensor {
        storage_offset: offset,
        requires_grad: tm.get("requires_grad").and_then(Json::as_bool).unwrap_or(false),
        is_parameter: meta.get("is_param").and_then(Json::as_bool).unwrap_or(false),
        ..Tensor::new(vec![name.to_string()], dtype, shape, stride, numel, storage_index, &doc.storages[storage_index])
    };
    doc.tensors.push(tensor);
    Ok(i)
}
