//! Opening a model: the one entry point of every face. The container's reader makes the document
//! (`container::open`, metadata only); then, in this one place, the safety verdict over every file
//! read, shared storages linked, per-channel quantization parameters read from their tensors, and
//! the architecture described (`arch`), with a `config.json` given alongside set aside for it.

use crate::arch;
use crate::container::sniff::{self, Detected};
use crate::container::{self, Read, Scan};
use crate::document::{Document, FileInfo, Problem, Quantization, Tensor};
use crate::limits;
use crate::error::{Error, Location, Result};
use crate::model::Model;
use crate::read;
use crate::safety::{self, Safety};
use crate::source::Source;
use crate::torch::tensor::TensorDesc;
use crate::torch::PendingQParams;
use serde_json::Value as Json;

/// Opens one model from one or more sources (a sharded set, an `.onnx` and its external data).
/// Reads only what describes the model; tensor bytes are read when asked for.
pub fn open(mut sources: Vec<Box<dyn Source>>) -> Result<Model> {
    let config = set_config_aside(&mut sources)?;
    if sources.is_empty() {
        return Err(Error::corrupt(Location::member("input"), "no model file given"));
    }
    let Read { mut doc, qparams, onnx, pt2, scans } = container::open(&sources)?;
    doc.safety = verdict(&sources, scans);
    doc.link_shared_storages();
    if let Some((file, _)) = &config {
        doc.files.push(file.clone());
    }
    doc.architecture = architecture(&doc, config.as_ref().map(|(f, json)| arch::Config { name: &f.name, json }));
    let mut model = Model::new(doc, onnx, sources);
    model.pt2 = pt2;
    resolve_qparams(&mut model, qparams);
    Ok(model)
}

/// A config file read alongside the model: its name and size, and its JSON.
type ConfigFile = (FileInfo, Json);

/// A model config (`config.json`) opened with the weights: read and set aside, as it is not a
/// model file. At most one; a JSON file that is not a config (a sharded set's index) stays.
fn set_config_aside(sources: &mut Vec<Box<dyn Source>>) -> Result<Option<ConfigFile>> {
    for i in 0..sources.len() {
        let src = sources[i].as_ref();
        if src.len() > limits::MAX_CONFIG_BYTES || !matches!(sniff::detect(src), Ok(Detected::Json)) {
            continue;
        }
        let json: Option<Json> = serde_json::from_slice(&src.read_vec(0, src.len())?).ok();
        if let Some(json) = json.filter(arch::config::is_config) {
            let src = sources.remove(i);
            return Ok(Some((FileInfo { name: src.name().to_string(), bytes: src.len() }, json)));
        }
    }
    Ok(None)
}

/// The architecture of the document's state_dict (each key once), with the config's numbers.
fn architecture(doc: &Document, config: Option<arch::Config>) -> Option<arch::Architecture> {
    let mut seen = std::collections::HashSet::new();
    let entries: Vec<arch::Entry> = doc
        .state_dict
        .iter()
        .filter(|e| seen.insert(e.key.as_str()))
        .filter_map(|e| {
            let t = doc.tensors.get(e.tensor)?;
            Some(arch::Entry::new(&e.key, &t.shape, t.dtype, t.numel))
        })
        .collect();
    arch::describe(&entries, config)
}

/// The safety verdict over every file read (each shard of a set), reusing the zip directories the
/// readers parsed.
fn verdict(sources: &[Box<dyn Source>], scans: Vec<Scan>) -> Safety {
    let mut all = Safety::default();
    for scan in scans {
        all.merge(match scan {
            Scan::Archive { source, archive } => safety::check_archive(sources[source].as_ref(), &archive),
            Scan::Pickle { source } => safety::check_one(sources[source].as_ref()),
            Scan::PlainData { source, onnx } => safety::plain_data(sources[source].as_ref(), onnx),
        });
    }
    all
}

/// Reads per-channel quantization scales and zero points, which are tensors in the file.
fn resolve_qparams(model: &mut Model, pending: Vec<PendingQParams>) {
    for p in pending {
        let read = |d: &TensorDesc| -> Result<Vec<f64>> {
            let key = d.storage.as_ref().map(|r| r.key.as_str()).unwrap_or("");
            let storage_index = model.document.storages.iter().position(|s| s.key == key).ok_or_else(|| {
                Error::corrupt(Location::member("quantizer"), format!("no storage {key} for the quantization parameters"))
            })?;
            let numel = d.shape.iter().product::<u64>();
            let storage = &model.document.storages[storage_index];
            let t = Tensor {
                storage_offset: d.storage_offset,
                layout: d.layout,
                ..Tensor::new(vec!["quantizer".into()], d.dtype, d.shape.clone(), d.stride.clone(), numel, storage_index, storage)
            };
            read::values_of(model, &t, numel.min(1 << 20) as usize)
        };
        let result = read(&p.scales).and_then(|s| Ok((s, read(&p.zero_points)?)));
        let t = &mut model.document.tensors[p.tensor];
        match (result, &mut t.quantization) {
            (Ok((s, z)), Some(Quantization::PerChannel { scales, zero_points, .. })) => {
                *scales = s;
                *zero_points = z.into_iter().map(|v| v as i64).collect();
            }
            (Err(e), _) => {
                let path = t.path.clone();
                model.document.errors.push(Problem { message: format!("quantization parameters: {e}"), path });
            }
            _ => {}
        }
    }
}
