//! An opened model: the Document plus the sources its tensors' bytes live in. This is the public
//! entry point: `open(sources)` detects the container and reads only the metadata.

use crate::container;
use crate::document::{Document, Problem, Quantization, StorageData, Tensor};
use crate::stats;
use crate::torch::tensor::TensorDesc;
use crate::error::{Error, Location, Result};
use crate::source::Source;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// A model file (or a set of files that belong together) opened for reading.
pub struct Model {
    pub document: Document,
    sources: Vec<Box<dyn Source>>,
    /// Deflated storages, inflated once on first read (torch itself never compresses storages).
    inflated: RefCell<HashMap<usize, Arc<[u8]>>>,
}

/// Opens one model from one or more sources (a sharded set, an `.onnx` and its external data).
/// Reads only what describes the model; tensor bytes are read when asked for.
pub fn open(sources: Vec<Box<dyn Source>>) -> Result<Model> {
    if sources.is_empty() {
        return Err(Error::corrupt(Location::member("input"), "no file given"));
    }
    let mut document = container::open(&sources)?;
    document.link_shared_storages();
    let mut model = Model { document, sources, inflated: RefCell::new(HashMap::new()) };
    model.resolve_qparams();
    Ok(model)
}

impl Model {
    pub fn sources(&self) -> &[Box<dyn Source>] {
        &self.sources
    }

    /// Reads `buf.len()` bytes of storage `index` starting at byte `offset` of that storage.
    pub fn read_storage(&self, index: usize, offset: u64, buf: &mut [u8]) -> Result<()> {
        let storage = self.document.storages.get(index).ok_or_else(|| {
            Error::corrupt(Location::member("document"), format!("no storage with index {index}"))
        })?;
        let end = offset.checked_add(buf.len() as u64);
        if end.is_none_or(|e| e > storage.bytes) {
            return Err(Error::Truncated {
                at: Location::new(storage.member.clone(), offset),
                needed: buf.len() as u64,
                available: storage.bytes.saturating_sub(offset),
            });
        }
        match &storage.data {
            StorageData::Range { source, offset: base, len } => {
                if offset + buf.len() as u64 > *len {
                    return Err(Error::Truncated {
                        at: Location::new(storage.member.clone(), offset),
                        needed: buf.len() as u64,
                        available: len.saturating_sub(offset),
                    });
                }
                self.source(*source)?.read_at(base + offset, buf)
            }
            StorageData::Inline(bytes) => copy_from(bytes, offset, buf, &storage.member),
            StorageData::Deflated { source, offset: base, compressed, len } => {
                let cached = self.inflated.borrow().get(&index).cloned();
                let bytes = match cached {
                    Some(b) => b,
                    None => {
                        let src = self.source(*source)?;
                        let raw = src.read_vec(*base, *compressed)?;
                        let b: Arc<[u8]> = container::zip::inflate(&raw, *len, &storage.member)?.into();
                        self.inflated.borrow_mut().insert(index, b.clone());
                        b
                    }
                };
                copy_from(&bytes, offset, buf, &storage.member)
            }
            StorageData::Missing { reason } => {
                Err(Error::corrupt(Location::member(storage.member.clone()), format!("no data: {reason}")))
            }
        }
    }

    /// Reads per-channel quantization scales and zero points, which are tensors in the file.
    fn resolve_qparams(&mut self) {
        for p in std::mem::take(&mut self.document.pending_qparams) {
            let read = |d: &TensorDesc| -> Result<Vec<f64>> {
                let key = d.storage.as_ref().map(|r| r.key.as_str()).unwrap_or("");
                let storage_index = self.document.storages.iter().position(|s| s.key == key).ok_or_else(|| {
                    Error::corrupt(Location::member("quantizer"), format!("no storage {key} for the quantization parameters"))
                })?;
                let numel = d.shape.iter().product::<u64>();
                let storage = &self.document.storages[storage_index];
                let t = Tensor {
                    storage_offset: d.storage_offset,
                    layout: d.layout,
                    ..Tensor::new(vec!["quantizer".into()], d.dtype, d.shape.clone(), d.stride.clone(), numel, storage_index, storage)
                };
                stats::values_of(self, &t, numel.min(1 << 20) as usize)
            };
            let result = read(&p.scales).and_then(|s| Ok((s, read(&p.zero_points)?)));
            let t = &mut self.document.tensors[p.tensor];
            match (result, &mut t.quantization) {
                (Ok((s, z)), Some(Quantization::PerChannel { scales, zero_points, .. })) => {
                    *scales = s;
                    *zero_points = z.into_iter().map(|v| v as i64).collect();
                }
                (Err(e), _) => {
                    let path = t.path.clone();
                    self.document.errors.push(Problem { message: format!("quantization parameters: {e}"), path });
                }
                _ => {}
            }
        }
    }

    fn source(&self, i: usize) -> Result<&dyn Source> {
        self.sources
            .get(i)
            .map(|s| s.as_ref())
            .ok_or_else(|| Error::corrupt(Location::member("document"), format!("no source with index {i}")))
    }
}

fn copy_from(bytes: &[u8], offset: u64, buf: &mut [u8], member: &str) -> Result<()> {
    let start = offset as usize;
    match bytes.get(start..start.saturating_add(buf.len())) {
        Some(s) => {
            buf.copy_from_slice(s);
            Ok(())
        }
        None => Err(Error::Truncated {
            at: Location::new(member, offset),
            needed: buf.len() as u64,
            available: (bytes.len() as u64).saturating_sub(offset),
        }),
    }
}
