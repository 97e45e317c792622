//! An opened model: the Document plus the sources its tensors' bytes live in, and what only the
//! faces' views need (the parsed ONNX model, a `.pt2`'s program). `crate::open` makes one; `read` reads its tensors.

use crate::container;
use crate::container::onnx::schema::ModelInfo;
use crate::container::pt2::program::Program;
use crate::document::{Document, StorageData, Tensor};
use crate::error::{Error, Location, Result};
use crate::source::Source;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// A model file (or a set of files that belong together) opened for reading.
pub struct Model {
    pub document: Document,
    /// The parsed ONNX model behind `document.onnx`, for the graph view (`view::onnx`).
    pub onnx: Option<Arc<ModelInfo>>,
    /// The exported program behind `document.pt2`, for the graph view (`view::pt2`).
    pub pt2: Option<Arc<Program>>,
    sources: Vec<Box<dyn Source>>,
    /// Deflated storages, inflated once on first read (torch itself never compresses storages).
    inflated: RefCell<HashMap<usize, Arc<[u8]>>>,
}

impl Model {
    /// A model over `sources`, whose document says where each storage's bytes are.
    pub fn new(document: Document, onnx: Option<Arc<ModelInfo>>, sources: Vec<Box<dyn Source>>) -> Self {
        Model { document, onnx, pt2: None, sources, inflated: RefCell::new(HashMap::new()) }
    }

    pub fn sources(&self) -> &[Box<dyn Source>] {
        &self.sources
    }

    /// Tensor `index` of the document; an error naming the index when there is none.
    pub fn tensor(&self, index: usize) -> Result<&Tensor> {
        self.document
            .tensors
            .get(index)
            .ok_or_else(|| Error::corrupt(Location::member("document"), format!("no tensor with index {index}")))
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
