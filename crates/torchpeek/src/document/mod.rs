//! The Document: the one model of an opened file that every face shows, and its JSON (the contract
//! in `docs/inspect-json.md`). Built by the container readers and `torch`, read by `stats`,
//! `safety`, `export` and the faces; it holds no bytes of tensor data.

pub mod safety;

use crate::arch::Architecture;
use crate::dtype::DType;
use safety::Safety;
use serde::Serialize;
use serde_json::Value as Json;

/// The container, found from the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    TorchZip,
    TorchLegacy,
    TorchTar,
    Torchscript,
    TorchExport,
    Safetensors,
    Onnx,
    Sharded,
}

/// What the content is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    StateDict,
    Checkpoint,
    Module,
    Torchscript,
    Onnx,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    Strided,
    SparseCoo,
    Quantized,
}

/// Quantization parameters of a quantized tensor.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Quantization {
    PerTensor { scheme: String, scale: f64, zero_point: i64 },
    PerChannel { scheme: String, scales: Vec<f64>, zero_points: Vec<i64>, axis: i64 },
}

/// Statistics over a tensor's own elements (see `stats`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    pub count: u64,
    #[serde(serialize_with = "json_f64_opt")]
    pub min: Option<f64>,
    #[serde(serialize_with = "json_f64_opt")]
    pub max: Option<f64>,
    #[serde(serialize_with = "json_f64_opt")]
    pub mean: Option<f64>,
    #[serde(serialize_with = "json_f64_opt")]
    pub std: Option<f64>,
    #[serde(serialize_with = "json_f64")]
    pub sum: f64,
    #[serde(serialize_with = "json_f64")]
    pub abs_sum: f64,
    /// The L2 (Frobenius) norm of the finite elements.
    #[serde(serialize_with = "json_f64")]
    pub norm: f64,
    pub nan_count: u64,
    pub inf_count: u64,
    pub zero_count: u64,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "json_f64_opt")]
    pub sum_real: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "json_f64_opt")]
    pub sum_imag: Option<f64>,
}

/// A tensor reachable in the tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tensor {
    /// Keys from the root of the tree.
    pub path: Vec<String>,
    pub dtype: DType,
    pub shape: Vec<u64>,
    pub stride: Vec<i64>,
    /// In elements.
    pub storage_offset: u64,
    /// The storage's key: tensors that share a storage share the key.
    pub storage: String,
    pub storage_bytes: u64,
    pub layout: Layout,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantization: Option<Quantization>,
    pub requires_grad: bool,
    pub is_parameter: bool,
    pub numel: u64,
    /// Other tensor indices that read the same storage (tied weights, views).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shares_storage_with: Vec<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<Stats>,
    /// Index into `Document::storages`.
    #[serde(skip)]
    pub storage_index: usize,
}

impl Tensor {
    /// The tensor at `path` viewing `storage` (entry `storage_index` of `Document::storages`) from
    /// its first element: strided, not quantized, no grad, not a parameter, no statistics. Readers
    /// that know more set it with struct update syntax (`Tensor { requires_grad, ..Tensor::new(..) }`).
    pub fn new(
        path: Vec<String>,
        dtype: DType,
        shape: Vec<u64>,
        stride: Vec<i64>,
        numel: u64,
        storage_index: usize,
        storage: &Storage,
    ) -> Self {
        Tensor {
            path,
            dtype,
            shape,
            stride,
            storage_offset: 0,
            storage: storage.key.clone(),
            storage_bytes: storage.bytes,
            layout: Layout::Strided,
            quantization: None,
            requires_grad: false,
            is_parameter: false,
            numel,
            shares_storage_with: Vec::new(),
            stats: None,
            storage_index,
        }
    }
}

/// Row-major strides of a shape, as torch gives a contiguous tensor (a size-0 dimension counts as 1).
pub fn contiguous_strides(shape: &[u64]) -> Vec<i64> {
    let mut stride = vec![0i64; shape.len()];
    let mut acc: i64 = 1;
    for i in (0..shape.len()).rev() {
        stride[i] = acc;
        acc = acc.saturating_mul(shape[i].max(1) as i64);
    }
    stride
}

/// Where a storage's bytes are.
#[derive(Debug, Clone, PartialEq)]
pub enum StorageData {
    /// `len` bytes at `offset` of source `source`, stored as they are.
    Range { source: usize, offset: u64, len: u64 },
    /// A deflated zip member: `compressed` bytes at `offset` inflate to `len` bytes.
    Deflated { source: usize, offset: u64, compressed: u64, len: u64 },
    /// Bytes held in the document (ONNX initializers given as typed fields).
    Inline(std::sync::Arc<[u8]>),
    /// No bytes in the file (meta tensors, missing records): reading is an error.
    Missing { reason: String },
}

/// One storage: the bytes a set of tensors view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Storage {
    pub key: String,
    pub dtype: DType,
    pub bytes: u64,
    /// The member that holds it (`archive/data/0`), for messages and the page.
    pub member: String,
    #[serde(skip)]
    pub data: StorageData,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateDictEntry {
    pub key: String,
    pub tensor: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModuleEntry {
    pub path: String,
    pub class: String,
}

/// A non-fatal problem, with the tree path it concerns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    pub message: String,
    pub path: Vec<String>,
}

/// A text member shown as it is (TorchScript code, an index.json).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TextMember {
    pub name: String,
    pub text: String,
}

/// One input file of the document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileInfo {
    pub name: String,
    pub bytes: u64,
}

/// Everything torchpeek knows about an opened model.
#[derive(Debug, Clone, Serialize)]
pub struct Document {
    pub format: Format,
    pub kind: Kind,
    pub files: Vec<FileInfo>,
    pub tree: Json,
    pub tensors: Vec<Tensor>,
    pub state_dict: Vec<StateDictEntry>,
    pub modules: Vec<ModuleEntry>,
    pub safety: Safety,
    pub errors: Vec<Problem>,
    pub storages: Vec<Storage>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub code: Vec<TextMember>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub onnx: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pt2: Option<Json>,
    /// Repeated blocks, the family and its numbers (`arch`); set by `crate::open`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architecture: Option<Architecture>,
}

impl Document {
    /// An empty document of the given format, to be filled by a reader.
    pub fn new(format: Format, files: Vec<FileInfo>) -> Self {
        Document {
            format,
            kind: Kind::Other,
            files,
            tree: Json::Null,
            tensors: Vec::new(),
            state_dict: Vec::new(),
            modules: Vec::new(),
            safety: Safety::default(),
            errors: Vec::new(),
            storages: Vec::new(),
            code: Vec::new(),
            onnx: None,
            pt2: None,
            architecture: None,
        }
    }

    /// Fills `shares_storage_with` from the storage indices.
    pub fn link_shared_storages(&mut self) {
        let mut by_storage: std::collections::HashMap<usize, Vec<usize>> = Default::default();
        for (i, t) in self.tensors.iter().enumerate() {
            by_storage.entry(t.storage_index).or_default().push(i);
        }
        for group in by_storage.values().filter(|g| g.len() > 1) {
            for &i in group {
                self.tensors[i].shares_storage_with = group.iter().copied().filter(|&j| j != i).collect();
            }
        }
    }

    /// The JSON document of the spec.
    pub fn to_json(&self) -> Json {
        serde_json::to_value(self).expect("a document always serializes")
    }
}

/// A float as JSON: finite numbers as numbers, the others as `"nan"`, `"inf"`, `"-inf"`.
pub fn float_json(v: f64) -> Json {
    if v.is_nan() {
        Json::from("nan")
    } else if v.is_infinite() {
        Json::from(if v > 0.0 { "inf" } else { "-inf" })
    } else {
        serde_json::Number::from_f64(v).map(Json::Number).unwrap_or(Json::Null)
    }
}

fn json_f64<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    float_json(*v).serialize(s)
}

/// Serializes an optional float as `float_json` does (serde's `serialize_with`).
pub(crate) fn json_f64_opt<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => float_json(*v).serialize(s),
        None => s.serialize_none(),
    }
}
