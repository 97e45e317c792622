//! The engine's wasm bindings (feature `engine`; built as its own module, `torchpeek_engine`, which
//! the page loads only when a model is run): a session over `onnx::engine::Session` for the engine
//! worker (`www/engine-worker.js`), and `.npy` reading and writing for its input and output editors.
//!
//! Tensors cross as `{name, dtype, shape, data}` with `dtype` torch's name (`float32`, `int64` ...)
//! and `data` a `Uint8Array` of little-endian bytes: input bytes are copied once, straight from the
//! JS array into the engine's tensor; output bytes once, into a new `Uint8Array`.

use super::{get, js_err};
use crate::dtype::DType;
use crate::error::Error;
use crate::onnx::engine::{self, npy, NamedArray, Session};
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

fn set(obj: &Object, key: &str, value: &JsValue) {
    // Setting a property on a plain object cannot fail.
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}

fn dtype_named(name: &str) -> Result<DType, JsError> {
    DType::from_torch_name(name).ok_or_else(|| JsError::new(&format!("unknown dtype {name:?}")))
}

fn shape_of(v: &JsValue, what: &str) -> Result<Vec<usize>, JsError> {
    let dims: Array = v.clone().dyn_into().map_err(|_| JsError::new(&format!("{what}: shape is not an array")))?;
    dims.iter()
        .map(|d| {
            d.as_f64()
                .filter(|d| *d >= 0.0 && d.fract() == 0.0 && *d <= u32::MAX as f64)
                .map(|d| d as usize)
                .ok_or_else(|| JsError::new(&format!("{what}: dimension {d:?} is not a non-negative integer")))
        })
        .collect()
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

/// A model loaded into the engine, ready to run.
#[wasm_bindgen]
pub struct EngineSession {
    session: Session,
}

#[wasm_bindgen]
impl EngineSession {
    /// Loads a model from its bytes and its external data files, `[{name, bytes: Uint8Array}]`.
    /// Unsupported operators are an error here, naming the operator, the node and the opset.
    pub fn load(model: &[u8], external: Array) -> Result<EngineSession, JsError> {
        let mut files = Vec::with_capacity(external.length() as usize);
        for f in external.iter() {
            let name = get(&f, "name").and_then(|v| v.as_string()).unwrap_or_default();
            let bytes: Uint8Array = get(&f, "bytes")
                .and_then(|b| b.dyn_into().ok())
                .ok_or_else(|| JsError::new(&format!("external data {name:?}: bytes is not a Uint8Array")))?;
            files.push((name, bytes.to_vec()));
        }
        let session = Session::load(model, &files).map_err(js_err)?;
        Ok(EngineSession { session })
    }

    /// The model's inputs and outputs as declared, as JSON: `{inputs: [IoInfo], outputs: [IoInfo]}`.
    #[wasm_bindgen(js_name = ioJson)]
    pub fn io_json(&self) -> Result<String, JsError> {
        let io = serde_json::json!({ "inputs": self.session.inputs(), "outputs": self.session.outputs() });
        serde_json::to_string(&io).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Runs the model once on `[{name, dtype, shape, data: Uint8Array}]`; returns the outputs in
    /// the same form.
    pub fn run(&mut self, inputs: Array) -> Result<Array, JsError> {
        let mut tensors = Vec::with_capacity(inputs.length() as usize);
        for input in inputs.iter() {
            let name = get(&input, "name").and_then(|v| v.as_string()).ok_or_else(|| JsError::new("an input has no name"))?;
            let dtype = dtype_named(&get(&input, "dtype").and_then(|v| v.as_string()).unwrap_or_default())?;
            let shape = shape_of(&get(&input, "shape").unwrap_or(JsValue::UNDEFINED), &name)?;
            let data: Uint8Array = get(&input, "data")
                .and_then(|d| d.dyn_into().ok())
                .ok_or_else(|| JsError::new(&format!("input {name:?}: data is not a Uint8Array")))?;
            let t = engine::input_tensor(&name, dtype, &shape, |bytes| {
                if bytes.len() != data.length() as usize {
                    return Err(Error::engine(format!(
                        "input {name:?}: {} bytes do not make a {} tensor of shape {shape:?}",
                        data.length(),
                        dtype.name()
                    )));
                }
                data.copy_to(bytes);
                Ok(())
            })
            .map_err(js_err)?;
            tensors.push((name, t));
        }
        let outputs = self.session.run_tensors(tensors).map_err(js_err)?;
        Ok(outputs.iter().map(|(name, dtype, t)| array_to_js(name, *dtype, t.shape(), t.as_bytes())).collect())
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
