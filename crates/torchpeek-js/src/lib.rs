//! What torchpeek's two wasm modules share (`torchpeek-wasm`, `torchpeek-engine-wasm`): sources
//! over JS objects, core errors as JS errors, values as JSON text.
//!
//! Three kinds of input, each `{name, ...}`:
//! - `{name, blob}`: a `Blob`/`File`, read lazily in slices with `FileReaderSync` (workers only);
//! - `{name, bytes}`: a `Uint8Array` held in memory;
//! - `{name, size, read}`: any random-access reader, `read(offset, length) -> Uint8Array`
//!   (the npm package's Node file source: `fs.readSync` at offsets).

use js_sys::{Function, Reflect, Uint8Array};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;
use torchpeek::error::{Error, Result};
use torchpeek::source::{check_range, MemSource, Source};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Reads shorter than this are served from one cached block (zip headers, pickle slices).
/// In Chromium every `FileReaderSync` read costs about a millisecond however small, and bytes then
/// come at a few hundred MB/s: the block is small, as zip local headers are far apart.
const SMALL_READ: usize = 16 << 10;
/// A file this small is read whole on its first read, and served from memory after.
const SMALL_FILE: u64 = 1 << 20;
/// The cached block's alignment; a block covers two of these, so a read across a boundary fits.
const BLOCK: u64 = 16 << 10;

fn read_error(name: &str, offset: u64, e: JsValue) -> Error {
    let message = e
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"));
    Error::Read { source_name: name.to_string(), offset, message }
}

/// Where a source's bytes come from.
enum Backing {
    /// A `Blob` read with `FileReaderSync` (a worker's synchronous reader).
    Blob { blob: web_sys::Blob, reader: web_sys::FileReaderSync },
    /// A JS function `read(offset, length) -> Uint8Array`.
    Reader { read: Function },
}

/// A lazily read JS source; a small block cache keeps many tiny header reads cheap.
pub struct JsSource {
    name: String,
    len: u64,
    backing: Backing,
    cache: RefCell<Option<(u64, Vec<u8>)>>,
    ahead: RefCell<ReadAhead>,
    /// Synchronous reads made (each costs about a millisecond in Chromium, however small).
    reads: std::cell::Cell<u32>,
}

/// Ranges read ahead, together and asynchronously, by the JS side (`Source::prefetch`): while
/// `on`, a prefetch of ranges not yet here records them in `wanted` and fails with
/// `Error::Pending`; the caller fetches them (`Blob.slice().arrayBuffer()`, all in flight at once),
/// `fill`s them in, and opens again.
#[derive(Default)]
struct ReadAhead {
    on: bool,
    /// Ranges in, by offset.
    got: BTreeMap<u64, Vec<u8>>,
    bytes: u64,
    wanted: Vec<(u64, u64)>,
}

/// Read ahead only when the ranges fall in more blocks than this (each a blocking read otherwise).
const MIN_AHEAD_BLOCKS: usize = 4;

/// At most this many bytes are held read ahead per source (zip local headers: a few KiB).
const MAX_AHEAD_BYTES: u64 = 16 << 20;

impl ReadAhead {
    /// The bytes at `offset..offset + len` when one range read ahead holds them all.
    fn get(&self, offset: u64, len: u64) -> Option<&[u8]> {
        let (&start, bytes) = self.got.range(..=offset).next_back()?;
        let at = (offset - start) as usize;
        bytes.get(at..at.checked_add(len as usize)?)
    }
}

impl JsSource {
    fn new(name: String, len: u64, backing: Backing) -> Self {
        JsSource { name, len, backing, cache: RefCell::default(), ahead: RefCell::default(), reads: Default::default() }
    }

    /// Turns read-ahead on: from now on `prefetch` asks for what it lacks.
    pub fn read_ahead(&self) {
        self.ahead.borrow_mut().on = true;
    }

    /// The ranges a prefetch asked for since the last call, as (offset, length).
    pub fn wanted(&self) -> Vec<(u64, u64)> {
        std::mem::take(&mut self.ahead.borrow_mut().wanted)
    }

    /// Adds the bytes read ahead at `offset` (beyond the budget, they are dropped and read again
    /// when needed).
    pub fn fill(&self, offset: u64, bytes: Vec<u8>) {
        let mut a = self.ahead.borrow_mut();
        if a.bytes + bytes.len() as u64 <= MAX_AHEAD_BYTES && offset.checked_add(bytes.len() as u64).is_some_and(|e| e <= self.len) {
            a.bytes += bytes.len() as u64;
            a.got.insert(offset, bytes);
        }
    }

    /// How many synchronous reads this source has made.
    pub fn reads(&self) -> u32 {
        self.reads.get()
    }

    /// The bytes at `offset`, `len` of them, as the JS side gives them.
    fn fetch_array(&self, offset: u64, len: usize) -> Result<Uint8Array> {
        self.reads.set(self.reads.get() + 1);
        let err = |e| read_error(&self.name, offset, e);
        let bytes: Uint8Array = match &self.backing {
            Backing::Blob { blob, reader } => {
                let slice = blob.slice_with_f64_and_f64(offset as f64, (offset + len as u64) as f64).map_err(err)?;
                let ab = reader.read_as_array_buffer(&slice).map_err(err)?;
                Uint8Array::new(&ab)
            }
            Backing::Reader { read } => {
                let v = read
                    .call2(&JsValue::NULL, &JsValue::from_f64(offset as f64), &JsValue::from_f64(len as f64))
                    .map_err(err)?;
                v.dyn_into::<Uint8Array>().map_err(|_| {
                    read_error(&self.name, offset, JsValue::from_str("read() did not return a Uint8Array"))
                })?
            }
        };
        if bytes.length() as usize != len {
            return Err(Error::Read {
                source_name: self.name.clone(),
                offset,
                message: format!("asked for {len} bytes, got {}", bytes.length()),
            });
        }
        Ok(bytes)
    }

    fn fetch(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.fetch_array(offset, buf.len())?.copy_to(buf);
        Ok(())
    }
}

impl Source for JsSource {
    fn name(&self) -> &str {
        &self.name
    }
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(self, offset, buf.len() as u64)?;
        if let Some(bytes) = self.ahead.borrow().get(offset, buf.len() as u64) {
            buf.copy_from_slice(bytes);
            return Ok(());
        }
        let small_file = self.len <= SMALL_FILE;
        if buf.len() >= SMALL_READ && !small_file {
            return self.fetch(offset, buf);
        }
        let end = offset + buf.len() as u64;
        let mut cache = self.cache.borrow_mut();
        let hit = matches!(&*cache, Some((start, block)) if offset >= *start && end <= start + block.len() as u64);
        if !hit {
            // A small file is read whole, once; otherwise a block around the read.
            let start = if small_file { 0 } else { offset - offset % BLOCK };
            let block_len = if small_file { self.len } else { (start + 2 * BLOCK).min(self.len) - start }; // a read may straddle a boundary
            let mut block = vec![0u8; block_len as usize];
            self.fetch(start, &mut block)?;
            *cache = Some((start, block));
        }
        let (start, block) = cache.as_ref().expect("filled above");
        let at = (offset - start) as usize;
        buf.copy_from_slice(&block[at..at + buf.len()]);
        Ok(())
    }

    fn prefetch(&self, ranges: &[(u64, u64)]) -> Result<()> {
        let mut a = self.ahead.borrow_mut();
        if !a.on || self.len <= SMALL_FILE {
            return Ok(());
        }
        let missing: Vec<(u64, u64)> = ranges.iter().copied().filter(|&(o, n)| n > 0 && a.get(o, n).is_none()).collect();
        // Ranges that a few block reads cover (a small file's headers) are cheaper read on the spot
        // than with another round of opening.
        let mut blocks: Vec<u64> = missing.iter().map(|&(o, _)| o / BLOCK).collect();
        blocks.sort_unstable();
        blocks.dedup();
        if blocks.len() <= MIN_AHEAD_BLOCKS {
            return Ok(());
        }
        let count = missing.len();
        a.wanted.extend(missing);
        Err(Error::Pending { source_name: self.name.clone(), ranges: count })
    }

    /// A big read (a whole model file for the engine, its external data) goes straight into a new
    /// vector, without zeroing it first as `read_at` into one would.
    fn read_vec(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        check_range(self, offset, len)?;
        let n = usize::try_from(len).map_err(|_| Error::Read {
            source_name: self.name.clone(),
            offset,
            message: format!("{len} bytes do not fit in memory"),
        })?;
        let cached = self.ahead.borrow().get(offset, len).is_some();
        if n < SMALL_READ || self.len <= SMALL_FILE || cached {
            let mut v = vec![0u8; n];
            self.read_at(offset, &mut v)?;
            return Ok(v);
        }
        Ok(self.fetch_array(offset, n)?.to_vec())
    }
}

/// A core progress callback that reports to `callback` at most every 50 ms.
pub fn progress_to_js(callback: Option<Function>) -> impl FnMut(u64, u64) -> bool {
    let mut last = 0.0;
    move |done, total| {
        if let Some(cb) = &callback {
            let now = js_sys::Date::now();
            if now - last >= 50.0 {
                last = now;
                let _ = cb.call2(&JsValue::NULL, &JsValue::from_f64(done as f64), &JsValue::from_f64(total as f64));
            }
        }
        true
    }
}

pub fn js_err(e: Error) -> JsError {
    JsError::new(&e.to_string())
}

pub fn get(obj: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(obj, &JsValue::from_str(key)).ok().filter(|v| !v.is_undefined() && !v.is_null())
}

/// One input as the wasm side holds it: a JS source read lazily (which can read ahead), or bytes.
pub enum Input {
    Js(Arc<JsSource>),
    Mem(Arc<MemSource>),
}

impl Input {
    /// A JS source, shared between the model's sources and the opener that fills it. An `Arc`
    /// because the core's `Source` is implemented for `Arc`; wasm runs this on one thread.
    #[allow(clippy::arc_with_non_send_sync)]
    fn shared(source: JsSource) -> Input {
        Input::Js(Arc::new(source))
    }

    /// A source sharing this input's reader (and what it has read ahead).
    pub fn source(&self) -> Box<dyn Source> {
        match self {
            Input::Js(s) => Box::new(s.clone()),
            Input::Mem(s) => Box::new(s.clone()),
        }
    }

    /// The lazily read JS source, if this is one.
    pub fn js(&self) -> Option<&JsSource> {
        match self {
            Input::Js(s) => Some(s),
            Input::Mem(_) => None,
        }
    }
}

/// A source over one input object.
pub fn source_from_js(input: &JsValue, index: u32) -> Result<Box<dyn Source>, JsError> {
    input_from_js(input, index).map(|i| i.source())
}

/// One input object as an `Input`.
pub fn input_from_js(input: &JsValue, index: u32) -> Result<Input, JsError> {
    let name = get(input, "name").and_then(|v| v.as_string()).unwrap_or_else(|| format!("file{index}"));
    if let Some(blob) = get(input, "blob") {
        let blob: web_sys::Blob = blob.dyn_into().map_err(|_| JsError::new(&format!("{name}: blob is not a Blob")))?;
        let reader = web_sys::FileReaderSync::new()
            .map_err(|_| JsError::new("FileReaderSync is only available in a worker; pass bytes instead"))?;
        let len = blob.size() as u64;
        return Ok(Input::shared(JsSource::new(name, len, Backing::Blob { blob, reader })));
    }
    if let Some(bytes) = get(input, "bytes") {
        let bytes: Uint8Array =
            bytes.dyn_into().map_err(|_| JsError::new(&format!("{name}: bytes is not a Uint8Array")))?;
        return Ok(Input::Mem(Arc::new(MemSource::new(name, bytes.to_vec()))));
    }
    if let (Some(size), Some(read)) = (get(input, "size"), get(input, "read")) {
        let len = size.as_f64().filter(|s| *s >= 0.0 && s.fract() == 0.0).ok_or_else(|| {
            JsError::new(&format!("{name}: size must be a non-negative integer"))
        })? as u64;
        let read: Function = read.dyn_into().map_err(|_| JsError::new(&format!("{name}: read is not a function")))?;
        return Ok(Input::shared(JsSource::new(name, len, Backing::Reader { read })));
    }
    Err(JsError::new(&format!("{name}: give blob, bytes, or size and read")))
}

/// Any serializable value as a JSON string.
pub fn to_json<T: serde::Serialize>(value: &T) -> Result<String, JsError> {
    serde_json::to_string(value).map_err(|e| JsError::new(&e.to_string()))
}
