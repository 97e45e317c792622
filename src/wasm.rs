//! WebAssembly bindings: the worker API for the page (`www/worker.js`) and the npm package (`npm/`).
//! Thin on purpose: sources over JS objects, and JSON in and out. No logic of its own.
//!
//! Three kinds of input, each `{name, ...}` in the array given to `WasmModel.open`:
//! - `{name, blob}`: a `Blob`/`File`, read lazily in slices with `FileReaderSync` (workers only);
//! - `{name, bytes}`: a `Uint8Array` held in memory;
//! - `{name, size, read}`: any random-access reader, `read(offset, length) -> Uint8Array`
//!   (the npm package's Node file source: `fs.readSync` at offsets).
//!
//! Progress: statistics and histograms call the optional `onProgress(done, total)` (bytes, at most
//! every 50 ms). Cancelling is the caller's: the worker is terminated (a worker busy in wasm cannot
//! receive messages), and the page re-opens its files in a new one; opening reads metadata only.

use crate::error::{Error, Result};
use crate::model::Model;
use crate::source::{check_range, MemSource, Source};
use js_sys::{Array, Function, Reflect, Uint8Array};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[cfg(feature = "engine")]
mod engine;

extern "C" {
    /// The static constructors the linker gathers (tract registers its kernels with `inventory`).
    fn __wasm_call_ctors();
}

/// Runs the static constructors once, when the module starts. Without an export that calls them,
/// wasm-ld links the module "command style" and runs every constructor again at the top of every
/// exported function: with tract's hundreds of kernel registrations that was half the time of a
/// small model's run, and it taxed every value crossing between JS and wasm.
#[wasm_bindgen(start)]
fn start() {
    // SAFETY: called once, before any other export; inventory's constructors are idempotent anyway.
    unsafe { __wasm_call_ctors() }
}

/// Reads shorter than this are served from one cached block (zip headers, pickle slices).
/// In Chromium every `FileReaderSync` read costs about a millisecond however small, and bytes then
/// come at a few hundred MB/s: the block is small, as zip local headers are far apart.
const SMALL_READ: usize = 16 << 10;
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
struct JsSource {
    name: String,
    len: u64,
    backing: Backing,
    cache: RefCell<Option<(u64, Vec<u8>)>>,
}

impl JsSource {
    fn fetch(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let err = |e| read_error(&self.name, offset, e);
        let bytes: Uint8Array = match &self.backing {
            Backing::Blob { blob, reader } => {
                let slice = blob
                    .slice_with_f64_and_f64(offset as f64, (offset + buf.len() as u64) as f64)
                    .map_err(err)?;
                let ab = reader.read_as_array_buffer(&slice).map_err(err)?;
                Uint8Array::new(&ab)
            }
            Backing::Reader { read } => {
                let v = read
                    .call2(&JsValue::NULL, &JsValue::from_f64(offset as f64), &JsValue::from_f64(buf.len() as f64))
                    .map_err(err)?;
                v.dyn_into::<Uint8Array>().map_err(|_| {
                    read_error(&self.name, offset, JsValue::from_str("read() did not return a Uint8Array"))
                })?
            }
        };
        if bytes.length() as usize != buf.len() {
            return Err(Error::Read {
                source_name: self.name.clone(),
                offset,
                message: format!("asked for {} bytes, got {}", buf.len(), bytes.length()),
            });
        }
        bytes.copy_to(buf);
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
        if buf.len() >= SMALL_READ {
            return self.fetch(offset, buf);
        }
        let end = offset + buf.len() as u64;
        let mut cache = self.cache.borrow_mut();
        let hit = matches!(&*cache, Some((start, block)) if offset >= *start && end <= start + block.len() as u64);
        if !hit {
            let start = offset - offset % BLOCK;
            let block_len = (start + 2 * BLOCK).min(self.len) - start; // a read may straddle a boundary
            let mut block = vec![0u8; block_len as usize];
            self.fetch(start, &mut block)?;
            *cache = Some((start, block));
        }
        let (start, block) = cache.as_ref().expect("filled above");
        let at = (offset - start) as usize;
        buf.copy_from_slice(&block[at..at + buf.len()]);
        Ok(())
    }
}

/// A core progress callback that reports to `callback` at most every 50 ms.
fn progress_to_js(callback: Option<Function>) -> impl FnMut(u64, u64) -> bool {
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

fn js_err(e: Error) -> JsError {
    JsError::new(&e.to_string())
}

fn get(obj: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(obj, &JsValue::from_str(key)).ok().filter(|v| !v.is_undefined() && !v.is_null())
}

fn source_from_js(input: &JsValue, index: u32) -> Result<Box<dyn Source>, JsError> {
    let name = get(input, "name").and_then(|v| v.as_string()).unwrap_or_else(|| format!("file{index}"));
    if let Some(blob) = get(input, "blob") {
        let blob: web_sys::Blob = blob.dyn_into().map_err(|_| JsError::new(&format!("{name}: blob is not a Blob")))?;
        let reader = web_sys::FileReaderSync::new()
            .map_err(|_| JsError::new("FileReaderSync is only available in a worker; pass bytes instead"))?;
        let len = blob.size() as u64;
        return Ok(Box::new(JsSource { name, len, backing: Backing::Blob { blob, reader }, cache: RefCell::new(None) }));
    }
    if let Some(bytes) = get(input, "bytes") {
        let bytes: Uint8Array =
            bytes.dyn_into().map_err(|_| JsError::new(&format!("{name}: bytes is not a Uint8Array")))?;
        return Ok(Box::new(MemSource::new(name, bytes.to_vec())));
    }
    if let (Some(size), Some(read)) = (get(input, "size"), get(input, "read")) {
        let len = size.as_f64().filter(|s| *s >= 0.0 && s.fract() == 0.0).ok_or_else(|| {
            JsError::new(&format!("{name}: size must be a non-negative integer"))
        })? as u64;
        let read: Function = read.dyn_into().map_err(|_| JsError::new(&format!("{name}: read is not a function")))?;
        return Ok(Box::new(JsSource { name, len, backing: Backing::Reader { read }, cache: RefCell::new(None) }));
    }
    Err(JsError::new(&format!("{name}: give blob, bytes, or size and read")))
}

/// An opened model (one file, or a set of files that belong together).
#[wasm_bindgen]
pub struct WasmModel {
    model: Model,
}

#[wasm_bindgen]
impl WasmModel {
    /// Opens the inputs (see the module docs) as one model; reads only what describes it.
    pub fn open(inputs: Array) -> Result<WasmModel, JsError> {
        let mut sources = Vec::with_capacity(inputs.length() as usize);
        for (i, input) in inputs.iter().enumerate() {
            sources.push(source_from_js(&input, i as u32)?);
        }
        let model = crate::model::open(sources).map_err(js_err)?;
        Ok(WasmModel { model })
    }

    /// The document of `docs/inspect-json.md`, as a JSON string.
    #[wasm_bindgen(js_name = documentJson)]
    pub fn document_json(&self) -> Result<String, JsError> {
        // Straight to text: the same JSON as `Document::to_json`, without the Value tree in between.
        serde_json::to_string(&self.model.document).map_err(|e| JsError::new(&e.to_string()))
    }

    /// The ONNX graph view (`onnx::view::graph_json`: metadata, nodes in topological order,
    /// initializer links), as a JSON string; an error for any other format.
    #[wasm_bindgen(js_name = onnxGraph)]
    pub fn onnx_graph(&self) -> Result<String, JsError> {
        let view = crate::onnx::view::graph_json(&self.model.document).ok_or_else(|| JsError::new("not an ONNX model"))?;
        serde_json::to_string(&view).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Statistics over tensor `index`, as a JSON string.
    #[wasm_bindgen(js_name = tensorStats)]
    pub fn tensor_stats(&self, index: usize, on_progress: Option<Function>) -> Result<String, JsError> {
        let stats = crate::stats::tensor_stats_with(&self.model, index, &mut progress_to_js(on_progress)).map_err(js_err)?;
        serde_json::to_string(&stats).map_err(|e| JsError::new(&e.to_string()))
    }

    /// A histogram of tensor `index` in `bins` bins, as a JSON string.
    pub fn histogram(&self, index: usize, bins: usize, on_progress: Option<Function>) -> Result<String, JsError> {
        let h = crate::stats::histogram(&self.model, index, bins, &mut progress_to_js(on_progress)).map_err(js_err)?;
        serde_json::to_string(&h).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Tensor `index`'s element count and element size in bytes, `[numel, itemsize]`: how to split
    /// it into `statsPart` ranges.
    #[wasm_bindgen(js_name = tensorSize)]
    pub fn tensor_size(&self, index: usize) -> Result<Vec<f64>, JsError> {
        let t = crate::stats::tensor(&self.model, index).map_err(js_err)?;
        Ok(vec![t.numel as f64, t.dtype.itemsize() as f64])
    }

    /// The moments of elements `first..first + count` of tensor `index` (`stats::Moments::to_array`):
    /// one worker's part of the statistics; `mergeStats` joins the parts.
    #[wasm_bindgen(js_name = statsPart)]
    pub fn stats_part(&self, index: usize, first: f64, count: f64, on_progress: Option<Function>) -> Result<Vec<f64>, JsError> {
        let m = crate::stats::stats_part(&self.model, index, first as u64, count as u64, &mut progress_to_js(on_progress)).map_err(js_err)?;
        Ok(m.to_array().to_vec())
    }

    /// The statistics of tensor `index` (JSON, as `tensorStats`) from its parts' `statsPart` arrays,
    /// laid end to end.
    #[wasm_bindgen(js_name = mergeStats)]
    pub fn merge_stats(&self, index: usize, parts: Vec<f64>) -> Result<String, JsError> {
        let t = crate::stats::tensor(&self.model, index).map_err(js_err)?;
        let merged = parts
            .chunks_exact(crate::stats::Moments::LEN)
            .map(|p| crate::stats::Moments::from_array(p.try_into().expect("chunks_exact")))
            .fold(crate::stats::Moments::default(), crate::stats::Moments::merge);
        to_json(&merged.finish(t.numel, t.dtype))
    }

    /// Histogram counts of elements `first..first + count` of tensor `index` in `bins` bins over
    /// [min, max] (the whole tensor's): one worker's part; parts' counts add up.
    #[wasm_bindgen(js_name = histogramPart)]
    #[allow(clippy::too_many_arguments)]
    pub fn histogram_part(&self, index: usize, bins: usize, min: f64, max: f64, first: f64, count: f64, on_progress: Option<Function>) -> Result<Vec<f64>, JsError> {
        let range = (first as u64, count as u64);
        let counts = crate::stats::histogram_part(&self.model, index, bins, (min, max), range, &mut progress_to_js(on_progress)).map_err(js_err)?;
        Ok(counts.into_iter().map(|c| c as f64).collect())
    }

    /// Elements `first..first + count` of tensor `index` in row-major order of its view, as its
    /// storage holds them (its own dtype): a `.safetensors` export's data, slice by slice.
    #[wasm_bindgen(js_name = tensorBytes)]
    pub fn tensor_bytes(&self, index: usize, first: f64, count: f64) -> Result<Vec<u8>, JsError> {
        let t = crate::stats::tensor(&self.model, index).map_err(js_err)?;
        crate::export::tensor_bytes(&self.model, t, first as u64, count as u64).map_err(js_err)
    }

    /// How tensor `index` is written as `.npy`, as JSON: `{dtype, numel, bytes, step}` (the dtype
    /// the file holds, its data bytes, and how many elements to ask `npyChunk` for at a time).
    #[wasm_bindgen(js_name = npyPlan)]
    pub fn npy_plan(&self, index: usize) -> Result<String, JsError> {
        let t = crate::stats::tensor(&self.model, index).map_err(js_err)?;
        let form = crate::export::npy::NpyForm::of(t).map_err(js_err)?;
        let bytes = t.numel.saturating_mul(form.dtype.itemsize());
        Ok(serde_json::json!({ "dtype": form.dtype, "numel": t.numel, "bytes": bytes, "step": form.step(t) }).to_string())
    }

    /// The `.npy` header of tensor `index`.
    #[wasm_bindgen(js_name = npyHeader)]
    pub fn npy_header(&self, index: usize) -> Result<Vec<u8>, JsError> {
        let t = crate::stats::tensor(&self.model, index).map_err(js_err)?;
        Ok(crate::export::npy::NpyForm::of(t).map_err(js_err)?.header(&t.shape))
    }

    /// Elements `first..first + count` of tensor `index` as its `.npy` file holds them.
    #[wasm_bindgen(js_name = npyChunk)]
    pub fn npy_chunk(&self, index: usize, first: f64, count: f64) -> Result<Vec<u8>, JsError> {
        let t = crate::stats::tensor(&self.model, index).map_err(js_err)?;
        crate::export::npy::chunk(&self.model, t, first as u64, count as u64).map_err(js_err)
    }

    /// What the state_dict's `.safetensors` file holds, as JSON: `{entries: [{key, tensor, numel,
    /// bytes, step}], skipped: [key], bytes}`; each entry's data comes from `tensorBytes`.
    #[wasm_bindgen(js_name = safetensorsPlan)]
    pub fn safetensors_plan(&self) -> Result<String, JsError> {
        serde_json::to_string(&crate::export::safetensors::Plan::new(&self.model.document)).map_err(|e| JsError::new(&e.to_string()))
    }

    /// The state_dict's `.safetensors` header: its 8-byte length and the padded JSON.
    #[wasm_bindgen(js_name = safetensorsHeader)]
    pub fn safetensors_header(&self) -> Vec<u8> {
        crate::export::safetensors::Plan::new(&self.model.document).header
    }

    /// The first `limit` values of tensor `index`, row-major through its view.
    #[wasm_bindgen(js_name = tensorValues)]
    pub fn tensor_values(&self, index: usize, limit: usize) -> Result<Vec<f64>, JsError> {
        crate::stats::tensor_values(&self.model, index, limit).map_err(js_err)
    }

    /// The health checklist (`health::check`), as a JSON string; `onProgress(bytes read, total)`.
    pub fn health(&self, on_progress: Option<Function>) -> Result<String, JsError> {
        to_json(&crate::health::check(&self.model, &mut progress_to_js(on_progress)).map_err(js_err)?)
    }

    /// What changed from this model to `other` (`diff::diff`), as a JSON string;
    /// `onProgress(elements done, total)`.
    pub fn diff(&self, other: &WasmModel, on_progress: Option<Function>) -> Result<String, JsError> {
        to_json(&crate::diff::diff(&self.model, &other.model, &mut progress_to_js(on_progress)).map_err(js_err)?)
    }
}

/// The safety verdict on one input (see the module docs), as a JSON string: `safety::check_one`
/// scans any file, also one `WasmModel.open` refuses (a plain pickle that imports `os.system`).
#[wasm_bindgen(js_name = checkSafety)]
pub fn check_safety(input: JsValue) -> Result<String, JsError> {
    to_json(&crate::safety::check_one(source_from_js(&input, 0)?.as_ref()))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, JsError> {
    serde_json::to_string(value).map_err(|e| JsError::new(&e.to_string()))
}
