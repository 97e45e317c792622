//! Containers: what the bytes are (found from the bytes, never the file name) and the members
//! they hold. Each reader turns its container into a Document; `interpret` is the shared step from
//! parsed pickles to tree, tensors, kind and state_dict.

pub mod legacy;
pub mod miniz;
pub mod npy;
pub mod pt2;
pub mod safetensors;
pub mod sharded;
pub mod tar;
pub mod torch_zip;
pub mod zip;

use crate::document::{Document, Kind};
use crate::error::{Error, Location, Result};
use crate::pickle::Pickle;
use crate::source::Source;
use crate::torch::{checkpoint, module, Interpreter};

/// A parsed pickle and the member it came from.
pub struct Pickled {
    pub member: String,
    pub pickle: Pickle,
    /// Prefix of the storage keys its persistent ids name (`constants/` for TorchScript constants).
    pub storage_namespace: String,
}

/// What one source holds, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    TorchZip,
    Pickle,
    Tar,
    Safetensors,
    Json,
    Onnx,
}

/// Decides from the first bytes (and the length) what a source is.
pub fn detect(src: &dyn Source) -> Result<Detected> {
    let head = src.read_vec(0, src.len().min(512))?;
    if zip::is_zip(&head) {
        return Ok(Detected::TorchZip);
    }
    if head.len() >= 262 && &head[257..262] == b"ustar" {
        return Ok(Detected::Tar);
    }
    if head.first() == Some(&0x80) && head.get(1).is_some_and(|&p| p <= 5) {
        return Ok(Detected::Pickle);
    }
    if safetensors::looks_like(&head, src.len()) {
        return Ok(Detected::Safetensors);
    }
    if crate::onnx::looks_like_onnx(&head) {
        return Ok(Detected::Onnx);
    }
    if head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return Ok(Detected::Json);
    }
    let shown: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
    Err(Error::unsupported(
        Location::new(src.name(), 0),
        format!(
            "not a model file torchpeek knows (first bytes {}): expected a torch zip, a legacy torch pickle, safetensors or ONNX",
            shown.join(" ")
        ),
    ))
}

/// Opens `sources` as one model: a sharded set when an index names the others, else the first.
pub fn open(sources: &[Box<dyn Source>]) -> Result<Document> {
    let detected: Vec<Result<Detected>> = sources.iter().map(|s| detect(s.as_ref())).collect();
    // An ONNX model's external data files are raw bytes no detector knows: the model names them.
    if let Some(i) = detected.iter().position(|k| matches!(k, Ok(Detected::Onnx))) {
        let mut doc = crate::onnx::read(sources)?;
        doc.safety = crate::safety::plain_data(sources[i].as_ref(), true);
        return Ok(doc);
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
pub fn open_one(sources: &[Box<dyn Source>], index: usize, kind: Detected) -> Result<Document> {
    let src = sources[index].as_ref();
    match kind {
        Detected::TorchZip => torch_zip::read(sources, index),
        Detected::Pickle => legacy::read(sources, index),
        Detected::Safetensors => safetensors::read(sources, index).map(|mut doc| {
            doc.safety = crate::safety::plain_data(src, false);
            doc
        }),
        Detected::Tar => Err(Error::unsupported(
            Location::member(src.name()),
            "the legacy tar format of torch < 0.4 is recognised but not read yet",
        )),
        Detected::Onnx => crate::onnx::read(&sources[index..=index]).map(|mut doc| {
            doc.safety = crate::safety::plain_data(src, true);
            doc
        }),
        Detected::Json => Err(Error::unsupported(
            Location::member(src.name()),
            "a JSON file: open it together with the shards it names",
        )),
    }
}

/// From parsed pickles to the document: the first is the main object; the others (TorchScript
/// constants) add tensors under their member name. Returns the kind of the main object.
pub fn interpret(doc: &mut Document, pickles: &[Pickled], torchscript: bool) -> Kind {
    let mut kind = Kind::Other;
    for (i, p) in pickles.iter().enumerate() {
        let path = if i == 0 { Vec::new() } else { vec![p.member.rsplit('/').next().unwrap_or("").to_string()] };
        let mut interp = Interpreter::new(&p.pickle.arena, doc, &p.storage_namespace, path);
        let tree = interp.tree(p.pickle.root);
        let tensor_by_id = std::mem::take(&mut interp.tensor_by_id);
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
    kind
}
