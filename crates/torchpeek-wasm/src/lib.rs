//! The core's WebAssembly bindings: the worker API for the page (`www/`) and the npm package
//! (`npm/`). Thin on purpose: sources over JS objects (`torchpeek-js`), and JSON in and out. No
//! logic of its own, and no engine (that is `torchpeek-engine-wasm`).
//!
//! Progress: statistics and histograms call the optional `onProgress(done, total)` (bytes, at most
//! every 50 ms). Cancelling is the caller's: the worker is terminated (a worker busy in wasm cannot
//! receive messages), and the page re-opens its files in a new one; opening reads metadata only.

use js_sys::{Array, Function};
use torchpeek::error::Error;
use torchpeek::model::Model;
use torchpeek_js::{input_from_js, js_err, progress_to_js, source_from_js, to_json, Input};
use wasm_bindgen::prelude::*;

/// Opens two tiny models held in the module (a torch checkpoint and an ONNX model, 4.9 KB) and
/// computes a statistic, so that the functions a first open runs are compiled (browsers compile
/// wasm lazily, function by function, on first call) before the user chooses a file: the page's
/// worker calls it once, when idle after start.
#[wasm_bindgen(js_name = warmUp)]
pub fn warm_up() {
    let samples: [(&str, &[u8]); 2] = [
        ("warm-up.pt", include_bytes!("../../../tests/fixtures/mlp_checkpoint.pt")),
        ("warm-up.onnx", include_bytes!("../../../tests/fixtures/mlp.onnx")),
    ];
    for (name, bytes) in samples {
        let source = Box::new(torchpeek::MemSource::new(name, bytes.to_vec())) as Box<dyn torchpeek::Source>;
        if let Ok(model) = torchpeek::open(vec![source]) {
            let _ = serde_json::to_string(&model.document);
            let _ = torchpeek::stats::tensor_stats(&model, 0);
        }
    }
}

/// Opening with read-ahead, for the page's worker: the bytes an open reads one small piece at a
/// time (a zip's local headers) are fetched together, asynchronously, by the caller.
///
/// ```js
/// const o = new Opening(inputs);
/// let m;
/// while (!(m = o.open())) {
///   const want = o.wanted();                       // [input, offset, length, ...]
///   await Promise.all(...want: o.fill(input, offset, bytes of blob.slice(offset, offset + length)));
/// }
/// ```
#[wasm_bindgen]
pub struct Opening {
    inputs: Vec<Input>,
}

#[wasm_bindgen]
impl Opening {
    /// The inputs as `WasmModel.open` takes them; those read lazily read ahead.
    #[wasm_bindgen(constructor)]
    pub fn new(inputs: Array) -> Result<Opening, JsError> {
        let inputs = inputs.iter().enumerate().map(|(i, input)| input_from_js(&input, i as u32)).collect::<Result<Vec<_>, _>>()?;
        inputs.iter().filter_map(Input::js).for_each(|s| s.read_ahead());
        Ok(Opening { inputs })
    }

    /// The model, or `undefined` while bytes are still to be read ahead (`wanted`).
    pub fn open(&self) -> Result<Option<WasmModel>, JsError> {
        match torchpeek::open(self.inputs.iter().map(Input::source).collect()) {
            Ok(model) => Ok(Some(WasmModel { model })),
            Err(Error::Pending { .. }) => Ok(None),
            Err(e) => Err(js_err(e)),
        }
    }

    /// What the last `open` asked to read ahead: flat `[input, offset, length, ...]`.
    pub fn wanted(&self) -> Vec<f64> {
        let mut out = Vec::new();
        for (i, s) in self.inputs.iter().enumerate() {
            for (offset, len) in s.js().map(|s| s.wanted()).unwrap_or_default() {
                out.extend([i as f64, offset as f64, len as f64]);
            }
        }
        out
    }

    /// Synchronous reads made so far, over all inputs (the reads ahead are the caller's).
    pub fn reads(&self) -> u32 {
        self.inputs.iter().filter_map(Input::js).map(|s| s.reads()).sum()
    }

    /// Hands over the bytes read ahead at `offset` of input `input`.
    pub fn fill(&self, input: usize, offset: f64, bytes: Vec<u8>) {
        if let Some(s) = self.inputs.get(input).and_then(Input::js) {
            s.fill(offset as u64, bytes);
        }
    }
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
        let model = torchpeek::open(sources).map_err(js_err)?;
        Ok(WasmModel { model })
    }

    /// The document of `docs/inspect-json.md`, as a JSON string.
    #[wasm_bindgen(js_name = documentJson)]
    pub fn document_json(&self) -> Result<String, JsError> {
        // Straight to text: the same JSON as `Document::to_json`, without the Value tree in between.
        serde_json::to_string(&self.model.document).map_err(|e| JsError::new(&e.to_string()))
    }

    /// The Graph view (`view::graph_json`: an ONNX model's, a `.pt2`'s program or a TorchScript
    /// archive's `forward`: metadata, nodes in topological order, weights linked to tensors), as a
    /// JSON string; `expand` inlines TorchScript submodule calls. An error for a model without a graph.
    pub fn graph(&self, expand: bool) -> Result<String, JsError> {
        let view = torchpeek::view::graph_json(&self.model, expand).ok_or_else(|| JsError::new("this model has no graph to show"))?;
        serde_json::to_string(&view).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Statistics over tensor `index`, as a JSON string.
    #[wasm_bindgen(js_name = tensorStats)]
    pub fn tensor_stats(&self, index: usize, on_progress: Option<Function>) -> Result<String, JsError> {
        let stats = torchpeek::stats::tensor_stats_with(&self.model, index, &mut progress_to_js(on_progress)).map_err(js_err)?;
        serde_json::to_string(&stats).map_err(|e| JsError::new(&e.to_string()))
    }

    /// A histogram of tensor `index` in `bins` bins, as a JSON string.
    pub fn histogram(&self, index: usize, bins: usize, on_progress: Option<Function>) -> Result<String, JsError> {
        let h = torchpeek::stats::histogram(&self.model, index, bins, &mut progress_to_js(on_progress)).map_err(js_err)?;
        serde_json::to_string(&h).map_err(|e| JsError::new(&e.to_string()))
    }

    /// A heatmap of tensor `index` in at most `rows × cols` cells (`stats::heatmap`), as a JSON
    /// string; a cell without finite values is `null`.
    pub fn heatmap(&self, index: usize, rows: usize, cols: usize, on_progress: Option<Function>) -> Result<String, JsError> {
        to_json(&torchpeek::stats::heatmap(&self.model, index, rows, cols, &mut progress_to_js(on_progress)).map_err(js_err)?)
    }

    /// Tensor `index`'s element count and element size in bytes, `[numel, itemsize]`: how to split
    /// it into `statsPart` ranges.
    #[wasm_bindgen(js_name = tensorSize)]
    pub fn tensor_size(&self, index: usize) -> Result<Vec<f64>, JsError> {
        let t = self.model.tensor(index).map_err(js_err)?;
        Ok(vec![t.numel as f64, t.dtype.itemsize() as f64])
    }

    /// The moments of elements `first..first + count` of tensor `index` (`stats::Moments::to_array`):
    /// one worker's part of the statistics; `mergeStats` joins the parts.
    #[wasm_bindgen(js_name = statsPart)]
    pub fn stats_part(&self, index: usize, first: f64, count: f64, on_progress: Option<Function>) -> Result<Vec<f64>, JsError> {
        let m = torchpeek::stats::stats_part(&self.model, index, first as u64, count as u64, &mut progress_to_js(on_progress)).map_err(js_err)?;
        Ok(m.to_array().to_vec())
    }

    /// The statistics of tensor `index` (JSON, as `tensorStats`) from its parts' `statsPart` arrays,
    /// laid end to end.
    #[wasm_bindgen(js_name = mergeStats)]
    pub fn merge_stats(&self, index: usize, parts: Vec<f64>) -> Result<String, JsError> {
        let t = self.model.tensor(index).map_err(js_err)?;
        let merged = parts
            .chunks_exact(torchpeek::stats::Moments::LEN)
            .map(|p| torchpeek::stats::Moments::from_array(p.try_into().expect("chunks_exact")))
            .fold(torchpeek::stats::Moments::default(), torchpeek::stats::Moments::merge);
        to_json(&merged.finish(t.numel, t.dtype))
    }

    /// Histogram counts of elements `first..first + count` of tensor `index` in `bins` bins over
    /// [min, max] (the whole tensor's): one worker's part; parts' counts add up.
    #[wasm_bindgen(js_name = histogramPart)]
    #[allow(clippy::too_many_arguments)]
    pub fn histogram_part(&self, index: usize, bins: usize, min: f64, max: f64, first: f64, count: f64, on_progress: Option<Function>) -> Result<Vec<f64>, JsError> {
        let range = (first as u64, count as u64);
        let counts = torchpeek::stats::histogram_part(&self.model, index, bins, (min, max), range, &mut progress_to_js(on_progress)).map_err(js_err)?;
        Ok(counts.into_iter().map(|c| c as f64).collect())
    }

    /// Elements `first..first + count` of tensor `index` in row-major order of its view, as its
    /// storage holds them (its own dtype): a `.safetensors` export's data, slice by slice.
    #[wasm_bindgen(js_name = tensorBytes)]
    pub fn tensor_bytes(&self, index: usize, first: f64, count: f64) -> Result<Vec<u8>, JsError> {
        let t = self.model.tensor(index).map_err(js_err)?;
        torchpeek::read::tensor_bytes(&self.model, t, first as u64, count as u64).map_err(js_err)
    }

    /// How tensor `index` is written as `.npy`, as JSON: `{dtype, numel, bytes, step}` (the dtype
    /// the file holds, its data bytes, and how many elements to ask `npyChunk` for at a time).
    #[wasm_bindgen(js_name = npyPlan)]
    pub fn npy_plan(&self, index: usize) -> Result<String, JsError> {
        let t = self.model.tensor(index).map_err(js_err)?;
        let form = torchpeek::export::npy::NpyForm::of(t).map_err(js_err)?;
        let bytes = t.numel.saturating_mul(form.dtype.itemsize());
        Ok(serde_json::json!({ "dtype": form.dtype, "numel": t.numel, "bytes": bytes, "step": form.step(t) }).to_string())
    }

    /// The `.npy` header of tensor `index`.
    #[wasm_bindgen(js_name = npyHeader)]
    pub fn npy_header(&self, index: usize) -> Result<Vec<u8>, JsError> {
        let t = self.model.tensor(index).map_err(js_err)?;
        Ok(torchpeek::export::npy::NpyForm::of(t).map_err(js_err)?.header(&t.shape))
    }

    /// Elements `first..first + count` of tensor `index` as its `.npy` file holds them.
    #[wasm_bindgen(js_name = npyChunk)]
    pub fn npy_chunk(&self, index: usize, first: f64, count: f64) -> Result<Vec<u8>, JsError> {
        let t = self.model.tensor(index).map_err(js_err)?;
        torchpeek::export::npy::chunk(&self.model, t, first as u64, count as u64).map_err(js_err)
    }

    /// What the state_dict's `.safetensors` file holds, as JSON: `{entries: [{key, tensor, numel,
    /// bytes, step}], skipped: [key], bytes}`; each entry's data comes from `tensorBytes`.
    #[wasm_bindgen(js_name = safetensorsPlan)]
    pub fn safetensors_plan(&self) -> Result<String, JsError> {
        serde_json::to_string(&torchpeek::export::safetensors::Plan::new(&self.model.document)).map_err(|e| JsError::new(&e.to_string()))
    }

    /// The state_dict's `.safetensors` header: its 8-byte length and the padded JSON.
    #[wasm_bindgen(js_name = safetensorsHeader)]
    pub fn safetensors_header(&self) -> Vec<u8> {
        torchpeek::export::safetensors::Plan::new(&self.model.document).header
    }

    /// The first `limit` values of tensor `index`, row-major through its view.
    #[wasm_bindgen(js_name = tensorValues)]
    pub fn tensor_values(&self, index: usize, limit: usize) -> Result<Vec<f64>, JsError> {
        torchpeek::read::tensor_values(&self.model, index, limit).map_err(js_err)
    }

    /// The health checklist (`health::check`), as a JSON string; `onProgress(bytes read, total)`.
    pub fn health(&self, on_progress: Option<Function>) -> Result<String, JsError> {
        to_json(&torchpeek::health::check(&self.model, &mut progress_to_js(on_progress)).map_err(js_err)?)
    }

    /// What changed from this model to `other` (`diff::diff`), as a JSON string;
    /// `onProgress(elements done, total)`.
    pub fn diff(&self, other: &WasmModel, on_progress: Option<Function>) -> Result<String, JsError> {
        to_json(&torchpeek::diff::diff(&self.model, &other.model, &mut progress_to_js(on_progress)).map_err(js_err)?)
    }
}

/// The safety verdict on one input (see the module docs), as a JSON string: `safety::check_one`
/// scans any file, also one `WasmModel.open` refuses (a plain pickle that imports `os.system`).
#[wasm_bindgen(js_name = checkSafety)]
pub fn check_safety(input: JsValue) -> Result<String, JsError> {
    to_json(&torchpeek::safety::check_one(source_from_js(&input, 0)?.as_ref()))
}

/// The percentiles `qs` (fractions) of values counted in equal bins over [min, max] (a pool's
/// merged histogram: `stats::percentile`); NaN where nothing was counted.
#[wasm_bindgen]
pub fn percentiles(counts: Vec<f64>, min: f64, max: f64, qs: Vec<f64>) -> Vec<f64> {
    let counts: Vec<u64> = counts.iter().map(|&c| c as u64).collect();
    qs.iter().map(|&q| torchpeek::stats::percentile(&counts, (min, max), q).unwrap_or(f64::NAN)).collect()
}

/// The dtype table (`view::dtypes::table`: every dtype's torch name, itemsize, float / complex /
/// integer / quantized, ONNX name), as a JSON string: the page and the npm package read their
/// dtype facts here and keep no copy.
#[wasm_bindgen]
pub fn dtypes() -> Result<String, JsError> {
    to_json(&torchpeek::view::dtypes::table())
}
