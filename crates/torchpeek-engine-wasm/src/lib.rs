//! The engine's wasm bindings (its own module, `torchpeek_engine`, which the page loads only when a
//! model is run, exporting only the engine): a session over `torchpeek_engine::Session` for the engine
//! worker (`www/workers/engine-worker.js`), and `.npy` reading and writing for its input and output editors.
//!
//! A run's arrays cross as a JSON description `[{name, dtype, shape}]` (`dtype` torch's name:
//! `float32`, `int64` ...) and their little-endian bytes apart: input bytes are copied once, straight
//! from the JS array into the engine's tensor; output bytes once, into a new `Uint8Array`.
//! `www/workers/engine-run.js` puts the two back together as `{name, dtype, shape, data}`.

use torchpeek::dtype::DType;
use torchpeek_engine::{compare, npy, NamedArray, Session, Tensor};
use torchpeek::Source;
use torchpeek_js::{js_err, source_from_js, to_json};
use js_sys::{Array, Object, Reflect, Uint8Array};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

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

fn set(obj: &Object, key: &str, value: &JsValue) {
    // Setting a property on a plain object cannot fail.
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}

fn dtype_named(name: &str) -> Result<DType, JsError> {
    DType::from_torch_name(name).ok_or_else(|| JsError::new(&format!("unknown dtype {name:?}")))
}

/// `{name, dtype, shape, data: Uint8Array}` for an output or a decoded `.npy`.
fn array_to_js(name: &str, dtype: DType, shape: &[usize], bytes: &[u8]) -> JsValue {
    let obj = Object::new();
    set(&obj, "name", &JsValue::from_str(name));
    set(&obj, "dtype", &JsValue::from_str(dtype.name()));
    set(&obj, "shape", &shape.iter().map(|&d| JsValue::from_f64(d as f64)).collect::<Array>());
    let data = Uint8Array::new_with_length(bytes.len() as u32);
    data.copy_from(bytes);
    set(&obj, "data", &data);
    obj.into()
}

/// One array of a run, as `run` takes it and gives it back: the bytes cross apart.
#[derive(Deserialize, Serialize)]
struct ArraySpec {
    name: String,
    /// torch's name: `float32`, `int64` ...
    dtype: String,
    shape: Vec<usize>,
}

/// A run's outputs as arrays to compare, read in place.
fn refs(outputs: &[(String, DType, Tensor)]) -> Vec<compare::ArrayRef<'_>> {
    outputs.iter().map(|(name, dtype, t)| compare::ArrayRef { name, dtype: *dtype, shape: t.shape(), data: t.as_bytes() }).collect()
}

/// A model loaded into the engine, ready to run.
#[wasm_bindgen]
pub struct EngineSession {
    session: Session,
    /// The last run's outputs, until read with `output`.
    outputs: Vec<(String, DType, Tensor)>,
}

#[wasm_bindgen]
impl EngineSession {
    /// Loads a model from the files given together (the `.onnx` and its external data files, or a
    /// `.pt2`, whose exported program is translated for the engine), each
    /// `{name, blob}`, `{name, bytes}` or `{name, size, read}` as `WasmModel.open` takes them: the
    /// engine picks the model by its bytes and reads only the external ranges it names.
    /// Unsupported operators are an error here, naming the operator, the node and the opset.
    pub fn load(inputs: Array) -> Result<EngineSession, JsError> {
        let sources = inputs.iter().enumerate().map(|(i, input)| source_from_js(&input, i as u32)).collect::<Result<Vec<_>, _>>()?;
        let sources: Vec<&dyn Source> = sources.iter().map(|s| s.as_ref()).collect();
        let session = Session::load(&sources).map_err(js_err)?;
        Ok(EngineSession { session, outputs: Vec::new() })
    }

    /// The model's inputs and outputs as declared, as JSON: `{inputs: [IoInfo], outputs: [IoInfo]}`.
    #[wasm_bindgen(js_name = ioJson)]
    pub fn io_json(&self) -> Result<String, JsError> {
        to_json(&serde_json::json!({ "inputs": self.session.inputs(), "outputs": self.session.outputs() }))
    }

    /// Runs the model once. `spec` is JSON `[{name, dtype, shape}]`, one entry per `Uint8Array` of
    /// `data` (little-endian bytes, copied once into the engine's tensors). Returns the outputs as
    /// JSON `[{name, dtype, shape}]`; `output(i)` gives their bytes. Everything crosses in a handful
    /// of calls: per-value property reads and string conversions cost more than a small model's run.
    pub fn run(&mut self, spec: &str, data: Array) -> Result<String, JsError> {
        self.outputs.clear();
        let specs: Vec<ArraySpec> =
            serde_json::from_str(spec).map_err(|e| JsError::new(&format!("run: bad input description: {e}")))?;
        if specs.len() != data.length() as usize {
            return Err(JsError::new(&format!("run: {} input descriptions for {} arrays", specs.len(), data.length())));
        }
        let mut tensors = Vec::with_capacity(specs.len());
        for (spec, bytes) in specs.into_iter().zip(data.iter()) {
            let ArraySpec { name, dtype, shape } = spec;
            let dtype = dtype_named(&dtype)?;
            let bytes: Uint8Array =
                bytes.dyn_into().map_err(|_| JsError::new(&format!("input {name:?}: data is not a Uint8Array")))?;
            let t = torchpeek_engine::input_tensor(&name, dtype, &shape, bytes.length() as usize, |dst| bytes.copy_to(dst))
                .map_err(js_err)?;
            tensors.push((name, t));
        }
        self.outputs = self.session.run_tensors(tensors).map_err(js_err)?;
        let specs: Vec<ArraySpec> = self
            .outputs
            .iter()
            .map(|(name, dtype, t)| ArraySpec { name: name.clone(), dtype: dtype.name().to_string(), shape: t.shape().to_vec() })
            .collect();
        to_json(&specs)
    }

    /// The bytes of output `index` of the last run, copied once into a new `Uint8Array`.
    pub fn output(&self, index: usize) -> Result<Uint8Array, JsError> {
        let (_, _, t) = self.outputs.get(index).ok_or_else(|| JsError::new(&format!("no output {index}")))?;
        Ok(Uint8Array::from(t.as_bytes()))
    }

    /// This session's last outputs compared with `other`'s (`torchpeek_engine::compare`: per output
    /// pair in order, max |a-b|, relative error, cosine, and the verdict against `tolerance`), as
    /// the JSON of docs/inspect-json.md's compare report (`tolerance`, `outputs`, `verdict`, `notes`).
    #[wasm_bindgen(js_name = compareOutputs)]
    pub fn compare_outputs(&self, other: &EngineSession, tolerance: f64) -> Result<String, JsError> {
        if self.outputs.is_empty() || other.outputs.is_empty() {
            return Err(JsError::new("compare: run both models first"));
        }
        to_json(&compare::compare(&refs(&self.outputs), &refs(&other.outputs), tolerance))
    }

    /// The statistics of output `index` of the last run (`stats::bytes_stats`: the document's
    /// `Stats`, finite elements only, sample std), as a JSON string; read in place, not copied.
    #[wasm_bindgen(js_name = outputStats)]
    pub fn output_stats(&self, index: usize) -> Result<String, JsError> {
        let (_, dtype, t) = self.outputs.get(index).ok_or_else(|| JsError::new(&format!("no output {index}")))?;
        to_json(&torchpeek::stats::bytes_stats(*dtype, t.as_bytes()).map_err(js_err)?)
    }
}

/// Decodes a `.npy` file (C order): `{name, dtype, shape, data: Uint8Array}`.
#[wasm_bindgen(js_name = npyRead)]
pub fn npy_read(name: &str, bytes: &[u8]) -> Result<JsValue, JsError> {
    let a = npy::read(name, bytes).map_err(js_err)?;
    Ok(array_to_js(&a.name, a.dtype, &a.shape, &a.data))
}

/// Encodes an array as a `.npy` file.
#[wasm_bindgen(js_name = npyWrite)]
pub fn npy_write(dtype: &str, shape: Vec<u32>, data: Vec<u8>) -> Result<Vec<u8>, JsError> {
    let shape = shape.into_iter().map(|d| d as usize).collect();
    let a = NamedArray { name: "array".into(), dtype: dtype_named(dtype)?, shape, data };
    npy::to_bytes(&a).map_err(js_err)
}
