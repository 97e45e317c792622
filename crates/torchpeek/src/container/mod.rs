//! Containers: what the bytes are (`sniff`, from the bytes, never the file name) and the members
//! they hold. Each reader turns its container into a Document (`Read`); `interpret` is the shared
//! step from parsed pickles to tree, tensors, kind and state_dict. Readers never judge safety: they
//! say what they read (`Scan`), and `crate::open` gives the verdict.

pub mod legacy;
pub mod miniz;
pub mod npy;
pub mod onnx;
pub mod pt2;
pub mod safetensors;
pub mod sharded;
pub mod sniff;
pub mod tar;
pub mod torch_zip;
pub mod torchscript;
pub mod zip;

use crate::document::{Document, Kind};
use crate::error::{Error, Location, Result};
use crate::pickle::Pickle;
use crate::source::Source;
use crate::torch::{checkpoint, module, Interpreter, PendingQParams};
use onnx::schema::ModelInfo;
use sniff::{detect, Detected};
use std::sync::Arc;
use zip::Archive;

/// A parsed pickle and the member it came from.
pub struct Pickled {
    pub member: String,
    pub pickle: Pickle,
    /// Prefix of the storage keys its persistent ids name (`constants/` for TorchScript constants).
    pub storage_namespace: String,
}

/// A reader's result: the document, and what `crate::open` finishes it with, kept out of the
/// Document (which is only what the faces show).
pub struct Read {
    pub doc: Document,
    /// Per-channel quantization parameters, read once the storages are located.
    pub qparams: Vec<PendingQParams>,
    /// The parsed ONNX model, for the graph view.
    pub onnx: Option<Arc<ModelInfo>>,
    /// The exported program of a `.pt2`, for the graph view.
    pub pt2: Option<Arc<pt2::program::Program>>,
    /// The files the safety verdict covers, and how each was read.
    pub scans: Vec<Scan>,
}

impl Read {
    /// A document with nothing pending, covering `scans`.
    pub fn new(doc: Document, scans: Vec<Scan>) -> Self {
        Read { doc, qparams: Vec::new(), onnx: None, pt2: None, scans }
    }
}

/// A model file the safety verdict covers (by source index), and what it was read as.
pub enum Scan {
    /// A zip, with the directory its reader parsed.
    Archive { source: usize, archive: Archive },
    /// A legacy torch file (a sequence of pickles).
    Pickle { source: usize },
    /// Plain data: safetensors, or an ONNX model.
    PlainData { source: usize, onnx: bool },
}

/// Opens `sources` as one model: a sharded set when an index names the others, else the first.
pub fn open(sources: &[Box<dyn Source>]) -> Result<Read> {
    let detected: Vec<Result<Detected>> = sources.iter().map(|s| detect(s.as_ref())).collect();
    // An ONNX model's external data files are raw bytes no detector knows: the model names them.
    if detected.iter().any(|k| matches!(k, Ok(Detected::Onnx))) {
        return onnx::read(sources);
    }
    let kinds = detected.into_iter().collect::<Result<Vec<_>>>()?;
    if let Some(i) = kinds.iter().position(|&k| k == Detected::Json) {
        return sharded::read(sources, i);
    }
    if sources.len() > 1 {
        return sharded::read_shards(sources, None);
    }
    open_one(sources, 0, kinds[0])
}

/// Opens source `index` alone; its storages refer to that source index.
pub fn open_one(sources: &[Box<dyn Source>], index: usize, kind: Detected) -> Result<Read> {
    let src = sources[index].as_ref();
    match kind {
        Detected::Zip => {
            let archive = Archive::read(src)?;
            if pt2::is_pt2(&archive) {
                pt2::read(sources, index, archive)
            } else {
                torch_zip::read(sources, index, archive)
            }
        }
        Detected::Pickle => legacy::read(sources, index),
        Detected::Safetensors => safetensors::read(sources, index),
        Detected::Tar => Err(Error::unsupported(
            Location::member(src.name()),
            "the legacy tar format of torch < 0.4 is recognised but not read yet",
        )),
        Detected::Onnx => onnx::read(&sources[index..=index]).map(|mut r| {
            r.scans = vec![Scan::PlainData { source: index, onnx: true }];
            r
        }),
        Detected::Json => Err(Error::unsupported(
            Location::member(src.name()),
            "a JSON file: open it together with the shards it names",
        )),
    }
}

/// From parsed pickles to the document: the first is the main object; the others (TorchScript
/// constants) add tensors under their member name. Returns the kind of the main object.
pub fn interpret(doc: &mut Document, pickles: &[Pickled], torchscript: bool) -> (Kind, Vec<PendingQParams>) {
    let mut kind = Kind::Other;
    let mut qparams = Vec::new();
    for (i, p) in pickles.iter().enumerate() {
        let path = if i == 0 { Vec::new() } else { vec![p.member.rsplit('/').next().unwrap_or("").to_string()] };
        let mut interp = Interpreter::new(&p.pickle.arena, doc, &p.storage_namespace, path);
        let tree = interp.tree(p.pickle.root);
        let tensor_by_id = std::mem::take(&mut interp.tensor_by_id);
        qparams.append(&mut interp.qparams);
        if i == 0 {
            doc.tree = tree;
            if torchscript {
                module::derive_torchscript(&p.pickle.arena, p.pickle.root, &tensor_by_id, doc);
                kind = Kind::Torchscript;
            } else {
                checkpoint::classify(&p.pickle.arena, p.pickle.root, &tensor_by_id, doc);
                kind = doc.kind;
            }
        }
    }
    (kind, qparams)
}
