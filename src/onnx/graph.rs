//! The ONNX schema, as far as torchpeek reads it: ModelProto, GraphProto, NodeProto, AttributeProto,
//! ValueInfoProto, TypeProto and TensorProto, parsed from the wire with byte offsets (see `proto`).
//! Initializers keep where their bytes are (`raw_data` offset, external data entries), never the bytes.

use super::proto::{Reader, FIXED32, LEN, VARINT};
use crate::document::float_json;
use crate::dtype::DType;
use crate::error::{Error, Location, Result};
use crate::limits;
use serde_json::{json, Map, Value as Json};

/// ONNX's element type names, by `TensorProto.DataType` number.
const ELEM_TYPES: &[&str] = &[
    "UNDEFINED",
    "FLOAT",
    "UINT8",
    "INT8",
    "UINT16",
    "INT16",
    "INT32",
    "INT64",
    "STRING",
    "BOOL",
    "FLOAT16",
    "DOUBLE",
    "UINT32",
    "UINT64",
    "COMPLEX64",
    "COMPLEX128",
    "BFLOAT16",
    "FLOAT8E4M3FN",
    "FLOAT8E4M3FNUZ",
    "FLOAT8E5M2",
    "FLOAT8E5M2FNUZ",
    "UINT4",
    "INT4",
    "FLOAT4E2M1",
    "FLOAT8E8M0",
    "UINT2",
    "INT2",
];

/// ONNX's name of an element type (`FLOAT`, `INT64` ...).
pub fn elem_type_name(t: i64) -> String {
    usize::try_from(t)
        .ok()
        .and_then(|i| ELEM_TYPES.get(i))
        .map(|s| s.to_string())
        .unwrap_or_else(|| format!("UNKNOWN({t})"))
}

/// The ONNX element type number of a name (`FLOAT` -> 1).
pub fn elem_type_from_name(name: &str) -> Option<i32> {
    ELEM_TYPES.iter().position(|n| *n == name).map(|i| i as i32)
}

/// torchpeek's dtype for an ONNX element type, where it has one.
pub fn dtype_of(t: i32) -> Option<DType> {
    use DType::*;
    Some(match t {
        1 => Float32,
        2 => UInt8,
        3 => Int8,
        4 => UInt16,
        5 => Int16,
        6 => Int32,
        7 => Int64,
        9 => Bool,
        10 => Float16,
        11 => Float64,
        12 => UInt32,
        13 => UInt64,
        14 => Complex64,
        15 => Complex128,
        16 => BFloat16,
        17 => Float8E4m3fn,
        18 => Float8E4m3fnuz,
        19 => Float8E5m2,
        20 => Float8E5m2fnuz,
        _ => return None,
    })
}

/// The ONNX element type of a dtype, where it has one.
pub fn onnx_type_of(d: DType) -> Option<i32> {
    (1..=20).find(|&t| dtype_of(t) == Some(d))
}

#[derive(Debug, Clone, Default)]
pub struct ModelInfo {
    pub ir_version: i64,
    pub producer_name: String,
    pub producer_version: String,
    pub domain: String,
    pub model_version: i64,
    pub doc_string: String,
    pub opsets: Vec<(String, i64)>,
    pub metadata_props: Vec<(String, String)>,
    pub graph: Option<GraphInfo>,
    pub functions: Vec<FunctionInfo>,
}

#[derive(Debug, Clone, Default)]
pub struct GraphInfo {
    pub name: String,
    pub doc_string: String,
    pub nodes: Vec<NodeInfo>,
    pub initializers: Vec<TensorInfo>,
    pub sparse_initializers: usize,
    pub inputs: Vec<ValueInfo>,
    pub outputs: Vec<ValueInfo>,
    /// Types and shapes the file records for intermediate values.
    pub value_info: Vec<ValueInfo>,
}

#[derive(Debug, Clone, Default)]
pub struct NodeInfo {
    pub name: String,
    pub op_type: String,
    pub domain: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attributes: Vec<(String, Json)>,
    /// Values its subgraphs (If branches, Loop bodies) take from enclosing scopes: the node
    /// depends on them as on its inputs.
    pub outer_inputs: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct FunctionInfo {
    pub name: String,
    pub domain: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub nodes: Vec<NodeInfo>,
}

#[derive(Debug, Clone, Default)]
pub struct ValueInfo {
    pub name: String,
    /// `FLOAT`, `INT64` ... for tensors; `sequence(FLOAT)` and the like otherwise.
    pub elem_type: String,
    /// An array of dimensions (integer, symbolic name, or null) or null for an unknown rank.
    pub shape: Json,
}

/// A TensorProto: its type, dims, and where its data is.
#[derive(Debug, Clone, Default)]
pub struct TensorInfo {
    pub name: String,
    pub data_type: i32,
    pub dims: Vec<i64>,
    /// Offset of the TensorProto message in the model file.
    pub at: u64,
    /// `raw_data`: (offset in the model file, length).
    pub raw: Option<(u64, u64)>,
    /// Data given as typed fields, decoded to little-endian bytes of the element type.
    pub typed: Typed,
    /// 1 = EXTERNAL.
    pub data_location: i64,
    pub external: Vec<(String, String)>,
    pub string_count: u64,
}

/// The typed data fields of a TensorProto, as read.
#[derive(Debug, Clone, Default)]
pub struct Typed {
    pub floats: Vec<u8>,
    pub doubles: Vec<u8>,
    pub int32: Vec<i32>,
    pub int64: Vec<i64>,
    pub uint64: Vec<u64>,
}

impl Typed {
    pub fn is_empty(&self) -> bool {
        self.floats.is_empty()
            && self.doubles.is_empty()
            && self.int32.is_empty()
            && self.int64.is_empty()
            && self.uint64.is_empty()
    }

    /// The little-endian bytes of elements of `dtype` held in the field ONNX uses for it, and the
    /// number of values found there (complex values count two).
    pub fn to_bytes(&self, dtype: DType) -> (Vec<u8>, u64) {
        use DType::*;
        match dtype {
            Float32 | Complex64 => (self.floats.clone(), self.floats.len() as u64 / 4),
            Float64 | Complex128 => (self.doubles.clone(), self.doubles.len() as u64 / 8),
            Int64 => (self.int64.iter().flat_map(|v| v.to_le_bytes()).collect(), self.int64.len() as u64),
            UInt64 => (self.uint64.iter().flat_map(|v| v.to_le_bytes()).collect(), self.uint64.len() as u64),
            UInt32 => (self.uint64.iter().flat_map(|v| (*v as u32).to_le_bytes()).collect(), self.uint64.len() as u64),
            Int32 => (self.int32.iter().flat_map(|v| v.to_le_bytes()).collect(), self.int32.len() as u64),
            Int16 | UInt16 | Float16 | BFloat16 => {
                (self.int32.iter().flat_map(|v| (*v as u16).to_le_bytes()).collect(), self.int32.len() as u64)
            }
            Int8 | UInt8 | Bool | Float8E4m3fn | Float8E4m3fnuz | Float8E5m2 | Float8E5m2fnuz => {
                (self.int32.iter().map(|v| *v as u8).collect(), self.int32.len() as u64)
            }
            _ => (Vec::new(), 0),
        }
    }
}

impl TensorInfo {
    /// The number of elements, if the dims are valid.
    pub fn numel(&self) -> Option<u64> {
        self.dims.iter().try_fold(1u64, |acc, &d| u64::try_from(d).ok().and_then(|d| acc.checked_mul(d)))
    }

    /// `{dtype, shape}` and, for a small tensor whose values are at hand, `value`.
    fn summary(&self, r: &mut Reader) -> Json {
        let mut m = Map::new();
        m.insert("dtype".into(), Json::from(elem_type_name(self.data_type as i64)));
        m.insert("shape".into(), Json::from(self.dims.clone()));
        if !self.name.is_empty() {
            m.insert("name".into(), Json::from(self.name.clone()));
        }
        let numel = self.numel().unwrap_or(u64::MAX);
        if let (Some(dtype), true) = (dtype_of(self.data_type), numel <= 16) {
            let size = dtype.itemsize();
            let bytes = match self.raw {
                Some((off, len)) if len == numel * size => r.read_small(off, len).ok(),
                Some(_) => None,
                None if self.data_location != 1 => {
                    let (b, _) = self.typed.to_bytes(dtype);
                    (b.len() as u64 == numel * size).then_some(b)
                }
                None => None,
            };
            if let Some(b) = bytes {
                let vals: Vec<Json> = b.chunks_exact(size as usize).map(|c| scalar_json(dtype, c)).collect();
                let v = if self.dims.is_empty() { vals.into_iter().next().unwrap_or(Json::Null) } else { Json::from(vals) };
                m.insert("value".into(), v);
            }
        }
        Json::Object(m)
    }
}

fn scalar_json(dtype: DType, b: &[u8]) -> Json {
    if dtype.is_float() || dtype.is_complex() {
        float_json(dtype.decode(b))
    } else if dtype == DType::Bool {
        Json::from(b[0] != 0)
    } else if dtype == DType::UInt64 {
        Json::from(u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8])))
    } else if dtype == DType::Int64 {
        Json::from(i64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8])))
    } else {
        Json::from(dtype.decode(b) as i64)
    }
}

/// The parser: a reader, a depth counter, and the budget for typed data decoded into memory.
pub struct Parser<'a> {
    pub r: Reader<'a>,
    depth: usize,
    inline_bytes: u64,
}

impl<'a> Parser<'a> {
    pub fn new(r: Reader<'a>) -> Self {
        Parser { r, depth: 0, inline_bytes: 0 }
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > limits::MAX_ONNX_DEPTH {
            return Err(Error::Limit {
                at: self.r.at(self.r.pos),
                what: "ONNX message nesting depth",
                found: self.depth as u64,
                limit: limits::MAX_ONNX_DEPTH as u64,
            });
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn budget(&mut self, bytes: u64) -> Result<()> {
        self.inline_bytes = self.inline_bytes.saturating_add(bytes);
        if self.inline_bytes > limits::MAX_ONNX_INLINE_BYTES {
            return Err(Error::Limit {
                at: self.r.at(self.r.pos),
                what: "ONNX typed tensor data (bytes)",
                found: self.inline_bytes,
                limit: limits::MAX_ONNX_INLINE_BYTES,
            });
        }
        Ok(())
    }

    /// Parses the whole file as a ModelProto.
    pub fn model(&mut self) -> Result<ModelInfo> {
        let end = self.r.len();
        let mut m = ModelInfo::default();
        let mut saw_ir = false;
        while self.r.pos < end {
            let tag_at = self.r.pos;
            let (f, w) = self.r.tag(end)?;
            let what = "ModelProto";
            match f {
                1 => {
                    self.r.expect(what, f, w, VARINT, tag_at)?;
                    m.ir_version = self.r.varint(end)? as i64;
                    saw_ir = true;
                }
                2 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    m.producer_name = self.r.string(end)?;
                }
                3 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    m.producer_version = self.r.string(end)?;
                }
                4 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    m.domain = self.r.string(end)?;
                }
                5 => {
                    self.r.expect(what, f, w, VARINT, tag_at)?;
                    m.model_version = self.r.varint(end)? as i64;
                }
                6 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    m.doc_string = self.r.string(end)?;
                }
                7 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    let stop = self.r.len_delim(end)?;
                    m.graph = Some(self.graph(stop)?);
                }
                8 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    let stop = self.r.len_delim(end)?;
                    m.opsets.push(self.opset(stop)?);
                }
                14 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    let stop = self.r.len_delim(end)?;
                    m.metadata_props.push(self.string_pair(stop)?);
                }
                25 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    let stop = self.r.len_delim(end)?;
                    m.functions.push(self.function(stop)?);
                }
                _ => self.r.skip(w, end)?,
            }
        }
        if !saw_ir {
            return Err(self.r.corrupt(0, "not an ONNX model: no ir_version"));
        }
        Ok(m)
    }

    fn opset(&mut self, end: u64) -> Result<(String, i64)> {
        let mut domain = String::new();
        let mut version = 0;
        while self.r.pos < end {
            let tag_at = self.r.pos;
            let (f, w) = self.r.tag(end)?;
            match f {
                1 => {
                    self.r.expect("OperatorSetIdProto", f, w, LEN, tag_at)?;
                    domain = self.r.string(end)?;
                }
                2 => {
                    self.r.expect("OperatorSetIdProto", f, w, VARINT, tag_at)?;
                    version = self.r.varint(end)? as i64;
                }
                _ => self.r.skip(w, end)?,
            }
        }
        Ok((domain, version))
    }

    fn string_pair(&mut self, end: u64) -> Result<(String, String)> {
        let mut k = String::new();
        let mut v = String::new();
        while self.r.pos < end {
            let tag_at = self.r.pos;
            let (f, w) = self.r.tag(end)?;
            match f {
                1 => {
                    self.r.expect("StringStringEntryProto", f, w, LEN, tag_at)?;
                    k = self.r.string(end)?;
                }
                2 => {
                    self.r.expect("StringStringEntryProto", f, w, LEN, tag_at)?;
                    v = self.r.string(end)?;
                }
                _ => self.r.skip(w, end)?,
            }
        }
        Ok((k, v))
    }

    pub fn graph(&mut self, end: u64) -> Result<GraphInfo> {
        self.enter()?;
        let mut g = GraphInfo::default();
        let what = "GraphProto";
        while self.r.pos < end {
            let tag_at = self.r.pos;
            let (f, w) = self.r.tag(end)?;
            match f {
                1 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    let stop = self.r.len_delim(end)?;
                    g.nodes.push(self.node(stop)?);
                }
                2 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    g.name = self.r.string(end)?;
                }
                5 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    let stop = self.r.len_delim(end)?;
                    g.initializers.push(self.tensor(stop)?);
                }
                10 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    g.doc_string = self.r.string(end)?;
                }
                11 | 12 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    let stop = self.r.len_delim(end)?;
                    let v = self.value_info(stop)?;
                    if f == 11 {
                        g.inputs.push(v)
                    } else {
                        g.outputs.push(v)
                    }
                }
                13 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    let stop = self.r.len_delim(end)?;
                    g.value_info.push(self.value_info(stop)?);
                }
                15 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    self.r.skip(w, end)?;
                    g.sparse_initializers += 1;
                }
                _ => self.r.skip(w, end)?,
            }
        }
        self.leave();
        Ok(g)
    }

    fn function(&mut self, end: u64) -> Result<FunctionInfo> {
        self.enter()?;
        let mut fun = FunctionInfo::default();
        let what = "FunctionProto";
        while self.r.pos < end {
            let tag_at = self.r.pos;
            let (f, w) = self.r.tag(end)?;
            match f {
                1 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    fun.name = self.r.string(end)?;
                }
                4 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    fun.inputs.push(self.r.string(end)?);
                }
                5 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    fun.outputs.push(self.r.string(end)?);
                }
                7 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    let stop = self.r.len_delim(end)?;
                    fun.nodes.push(self.node(stop)?);
                }
                10 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    fun.domain = self.r.string(end)?;
                }
                _ => self.r.skip(w, end)?,
            }
        }
        self.leave();
        Ok(fun)
    }

    fn node(&mut self, end: u64) -> Result<NodeInfo> {
        self.enter()?;
        let mut n = NodeInfo::default();
        let what = "NodeProto";
        while self.r.pos < end {
            let tag_at = self.r.pos;
            let (f, w) = self.r.tag(end)?;
            match f {
                1 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    n.inputs.push(self.r.string(end)?);
                }
                2 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    n.outputs.push(self.r.string(end)?);
                }
                3 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    n.name = self.r.string(end)?;
                }
                4 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    n.op_type = self.r.string(end)?;
                }
                5 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    let stop = self.r.len_delim(end)?;
                    let (name, value, outer) = self.attribute(stop)?;
                    n.attributes.push((name, value));
                    n.outer_inputs.extend(outer);
                }
                7 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    n.domain = self.r.string(end)?;
                }
                _ => self.r.skip(w, end)?,
            }
        }
        self.leave();
        // Two subgraphs (then and else branches) often take the same outer values.
        let mut seen = std::collections::HashSet::new();
        n.outer_inputs.retain(|o| seen.insert(o.clone()));
        Ok(n)
    }

    /// An attribute as (name, value summary, values its subgraphs take from enclosing scopes).
    fn attribute(&mut self, end: u64) -> Result<(String, Json, Vec<String>)> {
        self.enter()?;
        let what = "AttributeProto";
        let mut name = String::new();
        let mut ty: Option<u64> = None;
        let mut f32v: Option<f32> = None;
        let mut i64v: Option<i64> = None;
        let mut s: Option<Vec<u8>> = None;
        let mut t: Option<Json> = None;
        let mut g: Option<Json> = None;
        let mut floats: Vec<u8> = Vec::new();
        let mut ints: Vec<Json> = Vec::new();
        let mut strings: Vec<Json> = Vec::new();
        let mut tensors: Vec<Json> = Vec::new();
        let mut graphs: Vec<Json> = Vec::new();
        let mut other: Option<&'static str> = None;
        let mut ref_attr: Option<String> = None;
        let mut outer: Vec<String> = Vec::new();
        let max = limits::MAX_ONNX_ATTR_ITEMS;
        while self.r.pos < end {
            let tag_at = self.r.pos;
            let (f, w) = self.r.tag(end)?;
            match f {
                1 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    name = self.r.string(end)?;
                }
                2 => {
                    self.r.expect(what, f, w, FIXED32, tag_at)?;
                    f32v = Some(f32::from_bits(self.r.fixed32(end)?));
                }
                3 => {
                    self.r.expect(what, f, w, VARINT, tag_at)?;
                    i64v = Some(self.r.varint(end)? as i64);
                }
                4 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    s = Some(self.r.bytes(end)?);
                }
                5 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    let stop = self.r.len_delim(end)?;
                    let tensor = self.tensor(stop)?;
                    t = Some(tensor.summary(&mut self.r));
                }
                6 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    let stop = self.r.len_delim(end)?;
                    let sub = self.graph(stop)?;
                    outer.extend(outer_names(&sub));
                    g = Some(subgraph_json(&sub));
                }
                7 => {
                    if floats.len() / 4 < max {
                        self.r.repeated_fixed(w, 4, end, &mut floats)?;
                    } else {
                        self.r.skip(w, end)?;
                    }
                }
                8 => {
                    let mut vals = Vec::new();
                    self.r.repeated_varint(w, end, |v| {
                        if ints.len() + vals.len() < max {
                            vals.push(Json::from(v as i64))
                        }
                    })?;
                    ints.extend(vals);
                }
                9 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    let b = self.r.bytes(end)?;
                    if strings.len() < max {
                        strings.push(Json::from(short_string(&b)));
                    }
                }
                10 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    let stop = self.r.len_delim(end)?;
                    let tensor = self.tensor(stop)?;
                    if tensors.len() < max {
                        tensors.push(tensor.summary(&mut self.r));
                    }
                }
                11 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    let stop = self.r.len_delim(end)?;
                    let sub = self.graph(stop)?;
                    outer.extend(outer_names(&sub));
                    graphs.push(subgraph_json(&sub));
                }
                14 | 15 => {
                    other = Some("type_proto");
                    self.r.skip(w, end)?;
                }
                22 | 23 => {
                    other = Some("sparse_tensor");
                    self.r.skip(w, end)?;
                }
                20 => {
                    self.r.expect(what, f, w, VARINT, tag_at)?;
                    ty = Some(self.r.varint(end)?);
                }
                21 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    ref_attr = Some(self.r.string(end)?);
                }
                _ => self.r.skip(w, end)?,
            }
        }
        self.leave();
        let float_list = || -> Json {
            Json::from(
                floats
                    .chunks_exact(4)
                    .map(|c| float_json(f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64))
                    .collect::<Vec<_>>(),
            )
        };
        let value = if let Some(r) = ref_attr {
            json!({ "ref": r })
        } else {
            match ty {
                Some(1) => f32v.map(|v| float_json(v as f64)).unwrap_or(Json::Null),
                Some(2) => i64v.map(Json::from).unwrap_or(Json::Null),
                Some(3) => s.as_deref().map(|b| Json::from(short_string(b))).unwrap_or(Json::Null),
                Some(4) => t.unwrap_or(Json::Null),
                Some(5) => g.unwrap_or(Json::Null),
                Some(6) => float_list(),
                Some(7) => Json::from(ints),
                Some(8) => Json::from(strings),
                Some(9) => Json::from(tensors),
                Some(10) => Json::from(graphs),
                Some(11) | Some(12) => Json::from("<sparse tensor>"),
                Some(13) | Some(14) => Json::from("<type proto>"),
                // No type (IR < 3) or an unknown one: whichever field is set.
                _ => {
                    if let Some(v) = f32v {
                        float_json(v as f64)
                    } else if let Some(v) = i64v {
                        Json::from(v)
                    } else if let Some(b) = s {
                        Json::from(short_string(&b))
                    } else if let Some(t) = t {
                        t
                    } else if let Some(g) = g {
                        g
                    } else if !floats.is_empty() {
                        float_list()
                    } else if !ints.is_empty() {
                        Json::from(ints)
                    } else if !strings.is_empty() {
                        Json::from(strings)
                    } else if !tensors.is_empty() {
                        Json::from(tensors)
                    } else if !graphs.is_empty() {
                        Json::from(graphs)
                    } else if let Some(o) = other {
                        Json::from(format!("<{o}>"))
                    } else {
                        Json::Null
                    }
                }
            }
        };
        Ok((name, value, outer))
    }

    fn value_info(&mut self, end: u64) -> Result<ValueInfo> {
        let mut v = ValueInfo { shape: Json::Null, elem_type: "UNDEFINED".into(), ..Default::default() };
        while self.r.pos < end {
            let tag_at = self.r.pos;
            let (f, w) = self.r.tag(end)?;
            match f {
                1 => {
                    self.r.expect("ValueInfoProto", f, w, LEN, tag_at)?;
                    v.name = self.r.string(end)?;
                }
                2 => {
                    self.r.expect("ValueInfoProto", f, w, LEN, tag_at)?;
                    let stop = self.r.len_delim(end)?;
                    let (t, s) = self.type_proto(stop)?;
                    v.elem_type = t;
                    v.shape = s;
                }
                _ => self.r.skip(w, end)?,
            }
        }
        Ok(v)
    }

    /// A TypeProto as (element type description, shape).
    fn type_proto(&mut self, end: u64) -> Result<(String, Json)> {
        self.enter()?;
        let mut out = ("UNDEFINED".to_string(), Json::Null);
        while self.r.pos < end {
            let tag_at = self.r.pos;
            let (f, w) = self.r.tag(end)?;
            match f {
                // tensor_type, sparse_tensor_type: {elem_type, shape}
                1 | 8 => {
                    self.r.expect("TypeProto", f, w, LEN, tag_at)?;
                    let stop = self.r.len_delim(end)?;
                    let (t, s) = self.tensor_type(stop)?;
                    out = (if f == 8 { format!("sparse({t})") } else { t }, s);
                }
                // sequence_type, optional_type: {elem_type: TypeProto}
                4 | 9 => {
                    self.r.expect("TypeProto", f, w, LEN, tag_at)?;
                    let stop = self.r.len_delim(end)?;
                    let mut inner = "UNDEFINED".to_string();
                    while self.r.pos < stop {
                        let (g, w2) = self.r.tag(stop)?;
                        if g == 1 && w2 == LEN {
                            let s2 = self.r.len_delim(stop)?;
                            inner = self.type_proto(s2)?.0;
                        } else {
                            self.r.skip(w2, stop)?;
                        }
                    }
                    out = (format!("{}({inner})", if f == 4 { "sequence" } else { "optional" }), Json::Null);
                }
                // map_type: {key_type, value_type}
                5 => {
                    self.r.expect("TypeProto", f, w, LEN, tag_at)?;
                    let stop = self.r.len_delim(end)?;
                    let mut key = "UNDEFINED".to_string();
                    let mut val = "UNDEFINED".to_string();
                    while self.r.pos < stop {
                        let (g, w2) = self.r.tag(stop)?;
                        if g == 1 && w2 == VARINT {
                            key = elem_type_name(self.r.varint(stop)? as i64);
                        } else if g == 2 && w2 == LEN {
                            let s2 = self.r.len_delim(stop)?;
                            val = self.type_proto(s2)?.0;
                        } else {
                            self.r.skip(w2, stop)?;
                        }
                    }
                    out = (format!("map({key},{val})"), Json::Null);
                }
                _ => self.r.skip(w, end)?,
            }
        }
        self.leave();
        Ok(out)
    }

    fn tensor_type(&mut self, end: u64) -> Result<(String, Json)> {
        let mut elem = "UNDEFINED".to_string();
        let mut shape = Json::Null;
        while self.r.pos < end {
            let tag_at = self.r.pos;
            let (f, w) = self.r.tag(end)?;
            match f {
                1 => {
                    self.r.expect("TypeProto.Tensor", f, w, VARINT, tag_at)?;
                    elem = elem_type_name(self.r.varint(end)? as i64);
                }
                2 => {
                    self.r.expect("TypeProto.Tensor", f, w, LEN, tag_at)?;
                    let stop = self.r.len_delim(end)?;
                    let mut dims = Vec::new();
                    while self.r.pos < stop {
                        let tag_at = self.r.pos;
                        let (g, w2) = self.r.tag(stop)?;
                        if g == 1 {
                            self.r.expect("TensorShapeProto", g, w2, LEN, tag_at)?;
                            let s2 = self.r.len_delim(stop)?;
                            dims.push(self.dimension(s2)?);
                        } else {
                            self.r.skip(w2, stop)?;
                        }
                    }
                    shape = Json::from(dims);
                }
                _ => self.r.skip(w, end)?,
            }
        }
        Ok((elem, shape))
    }

    fn dimension(&mut self, end: u64) -> Result<Json> {
        let mut d = Json::Null;
        while self.r.pos < end {
            let tag_at = self.r.pos;
            let (f, w) = self.r.tag(end)?;
            match f {
                1 => {
                    self.r.expect("Dimension", f, w, VARINT, tag_at)?;
                    d = Json::from(self.r.varint(end)? as i64);
                }
                2 => {
                    self.r.expect("Dimension", f, w, LEN, tag_at)?;
                    d = Json::from(self.r.string(end)?);
                }
                _ => self.r.skip(w, end)?,
            }
        }
        Ok(d)
    }

    /// A TensorProto: everything but its bytes, whose place is recorded.
    pub fn tensor(&mut self, end: u64) -> Result<TensorInfo> {
        let what = "TensorProto";
        let mut t = TensorInfo { at: self.r.pos, ..Default::default() };
        while self.r.pos < end {
            let tag_at = self.r.pos;
            let (f, w) = self.r.tag(end)?;
            match f {
                1 => {
                    let mut dims = std::mem::take(&mut t.dims);
                    self.r.repeated_varint(w, end, |v| dims.push(v as i64))?;
                    if dims.len() > limits::MAX_RANK {
                        return Err(Error::Limit {
                            at: self.r.at(tag_at),
                            what: "ONNX tensor rank",
                            found: dims.len() as u64,
                            limit: limits::MAX_RANK as u64,
                        });
                    }
                    t.dims = dims;
                }
                2 => {
                    self.r.expect(what, f, w, VARINT, tag_at)?;
                    t.data_type = self.r.varint(end)? as i32;
                }
                4 => {
                    let before = t.typed.floats.len();
                    self.r.repeated_fixed(w, 4, end, &mut t.typed.floats)?;
                    self.budget((t.typed.floats.len() - before) as u64)?;
                }
                10 => {
                    let before = t.typed.doubles.len();
                    self.r.repeated_fixed(w, 8, end, &mut t.typed.doubles)?;
                    self.budget((t.typed.doubles.len() - before) as u64)?;
                }
                5 | 7 | 11 => {
                    let mut vals: Vec<u64> = Vec::new();
                    let mut n = 0u64;
                    let limit_left = limits::MAX_ONNX_INLINE_BYTES.saturating_sub(self.inline_bytes) / 8;
                    self.r.repeated_varint(w, end, |v| {
                        n += 1;
                        if n <= limit_left {
                            vals.push(v)
                        }
                    })?;
                    let size = if f == 5 { 4 } else { 8 };
                    self.budget(n * size)?;
                    match f {
                        5 => t.typed.int32.extend(vals.iter().map(|&v| v as i32)),
                        7 => t.typed.int64.extend(vals.iter().map(|&v| v as i64)),
                        _ => t.typed.uint64.extend(vals),
                    }
                }
                6 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    self.r.skip(w, end)?;
                    t.string_count += 1;
                }
                8 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    t.name = self.r.string(end)?;
                }
                9 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    let stop = self.r.len_delim(end)?;
                    t.raw = Some((self.r.pos, stop - self.r.pos));
                    self.r.pos = stop;
                }
                13 => {
                    self.r.expect(what, f, w, LEN, tag_at)?;
                    let stop = self.r.len_delim(end)?;
                    t.external.push(self.string_pair(stop)?);
                }
                14 => {
                    self.r.expect(what, f, w, VARINT, tag_at)?;
                    t.data_location = self.r.varint(end)? as i64;
                }
                _ => self.r.skip(w, end)?,
            }
        }
        Ok(t)
    }
}

/// A string attribute for display: lossy UTF-8, cut to a readable length.
fn short_string(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    if s.chars().count() > limits::MAX_ONNX_ATTR_ITEMS {
        let mut cut: String = s.chars().take(limits::MAX_ONNX_ATTR_ITEMS).collect();
        cut.push('…');
        cut
    } else {
        s.into_owned()
    }
}

/// A node as JSON: `{name, op_type, domain, inputs, outputs, attributes}`.
pub fn node_json(n: &NodeInfo) -> Json {
    let mut attrs = Map::new();
    for (k, v) in &n.attributes {
        attrs.insert(k.clone(), v.clone());
    }
    json!({
        "name": n.name,
        "op_type": n.op_type,
        "domain": n.domain,
        "inputs": n.inputs,
        "outputs": n.outputs,
        "attributes": attrs,
    })
}

pub fn value_info_json(v: &ValueInfo) -> Json {
    json!({ "name": v.name, "elem_type": v.elem_type, "shape": v.shape })
}

/// The graph's inputs that are not initializers (IR < 4 lists initializers as inputs too).
pub fn model_inputs(g: &GraphInfo) -> Vec<&ValueInfo> {
    let inits: std::collections::HashSet<&str> = g.initializers.iter().map(|t| t.name.as_str()).collect();
    g.inputs.iter().filter(|v| !inits.contains(v.name.as_str())).collect()
}

/// A subgraph (an If branch, a Loop body) as an attribute value.
fn subgraph_json(g: &GraphInfo) -> Json {
    json!({
        "$graph": {
            "name": g.name,
            "inputs": model_inputs(g).into_iter().map(value_info_json).collect::<Vec<_>>(),
            "outputs": g.outputs.iter().map(value_info_json).collect::<Vec<_>>(),
            "initializer_count": g.initializers.len(),
            "node_count": g.nodes.len(),
            "nodes": g.nodes.iter().map(node_json).collect::<Vec<_>>(),
        }
    })
}

/// The names a subgraph uses but does not define (its inputs, initializers and node outputs are
/// its own): values it takes from enclosing scopes, in first-use order.
fn outer_names(g: &GraphInfo) -> Vec<String> {
    let mut defined: std::collections::HashSet<&str> = std::collections::HashSet::new();
    defined.extend(g.inputs.iter().map(|v| v.name.as_str()));
    defined.extend(g.initializers.iter().map(|t| t.name.as_str()));
    defined.extend(g.nodes.iter().flat_map(|n| n.outputs.iter().map(String::as_str)));
    defined.insert("");
    let mut seen = std::collections::HashSet::new();
    g.nodes
        .iter()
        .flat_map(|n| n.inputs.iter().chain(&n.outer_inputs))
        .filter(|name| !defined.contains(name.as_str()) && seen.insert(name.as_str()))
        .cloned()
        .collect()
}

/// Counts of op types in first-seen order.
pub fn op_types(nodes: &[NodeInfo]) -> Map<String, Json> {
    let mut m = Map::new();
    for n in nodes {
        let key = n.op_type.clone();
        let c = m.get(&key).and_then(|v| v.as_u64()).unwrap_or(0);
        m.insert(key, Json::from(c + 1));
    }
    m
}

impl Reader<'_> {
    /// Reads a few bytes at an absolute offset (small constants shown in attribute summaries).
    pub fn read_small(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        if len > 1024 {
            return Err(Error::corrupt(Location::new(self.name(), offset), "too large to show"));
        }
        self.source().read_vec(offset, len)
    }
}
