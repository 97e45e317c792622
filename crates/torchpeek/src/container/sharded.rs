//! A sharded checkpoint opened as one model: Hugging Face's `*.index.json` (`weight_map`: tensor
//! name -> shard file) with its shards, or several shard files given together.

use super::sniff::{detect, Detected};
use super::{open_one, Read};
use crate::document::{Document, FileInfo, Format, Kind, Problem, TextMember};
use crate::error::{Error, Location, Result};
use crate::limits;
use crate::source::Source;
use serde_json::{json, Value as Json};

fn base_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

/// Opens the shards named by the index at source `index_at`.
pub fn read(sources: &[Box<dyn Source>], index_at: usize) -> Result<Read> {
    let src = sources[index_at].as_ref();
    if src.len() > limits::MAX_HEADER_BYTES {
        return Err(Error::Limit { at: Location::member(src.name()), what: "index size", found: src.len(), limit: limits::MAX_HEADER_BYTES });
    }
    let text = src.read_vec(0, src.len())?;
    let index: Json = serde_json::from_slice(&text)
        .map_err(|e| Error::corrupt(Location::member(src.name()), format!("bad JSON: {e}")))?;
    let weight_map = index.get("weight_map").and_then(Json::as_object).ok_or_else(|| {
        Error::unsupported(Location::member(src.name()), "a JSON file without a weight_map: not a sharded checkpoint index")
    })?;
    let mut shard_names: Vec<&str> = weight_map.values().filter_map(Json::as_str).collect();
    shard_names.dedup();
    shard_names.sort();
    shard_names.dedup();
    let mut read = read_shards(sources, Some(index_at))?;
    let doc = &mut read.doc;
    for name in &shard_names {
        if !sources.iter().any(|s| base_name(s.name()) == *name) {
            doc.errors.push(Problem { message: format!("shard {name} named by the index was not given"), path: vec![] });
        }
    }
    for (key, shard) in weight_map {
        if !doc.state_dict.iter().any(|e| &e.key == key) && sources.iter().any(|s| Some(base_name(s.name())) == shard.as_str()) {
            doc.errors.push(Problem { message: format!("the index puts {key} in {shard} but that shard does not hold it"), path: vec![] });
        }
    }
    doc.code.push(TextMember { name: src.name().to_string(), text: String::from_utf8_lossy(&text).into_owned() });
    Ok(read)
}

/// Opens every source except `skip` as a shard and merges them.
pub fn read_shards(sources: &[Box<dyn Source>], skip: Option<usize>) -> Result<Read> {
    let files = sources.iter().map(|s| FileInfo { name: s.name().to_string(), bytes: s.len() }).collect();
    let mut doc = Document::new(Format::Sharded, files);
    let (mut all_qparams, mut all_scans) = (Vec::new(), Vec::new());
    let mut tree_items = Vec::new();
    let mut all_state_dicts = true;
    for (i, src) in sources.iter().enumerate() {
        if Some(i) == skip {
            continue;
        }
        let kind = detect(src.as_ref())?;
        if kind == Detected::Json {
            continue;
        }
        let Read { doc: shard, qparams, scans, .. } = open_one(sources, i, kind)?;
        all_state_dicts &= shard.kind == Kind::StateDict;
        let (t0, s0) = (doc.tensors.len(), doc.storages.len());
        for mut s in shard.storages {
            s.key = format!("{}:{}", base_name(src.name()), s.key);
            doc.storages.push(s);
        }
        for mut t in shard.tensors {
            t.storage_index += s0;
            t.storage = doc.storages[t.storage_index].key.clone();
            doc.tensors.push(t);
        }
        for mut e in shard.state_dict {
            e.tensor += t0;
            tree_items.push(json!([e.key.clone(), {"$tensor": e.tensor}]));
            doc.state_dict.push(e);
        }
        doc.modules.extend(shard.modules);
        doc.errors.extend(shard.errors.into_iter().map(|mut p| {
            p.message = format!("{}: {}", src.name(), p.message);
            p
        }));
        all_qparams.extend(qparams.into_iter().map(|mut q| {
            q.tensor += t0;
            q
        }));
        all_scans.extend(scans);
    }
    doc.kind = if all_state_dicts { Kind::StateDict } else { Kind::Checkpoint };
    doc.tree = json!({"$dict": tree_items});
    Ok(Read { doc, qparams: all_qparams, onnx: None, pt2: None, scans: all_scans })
}
