//! The ONNX schema, as far as torchpeek reads it: ModelProto, GraphProto, NodeProto, AttributeProto,
//! ValueInfoProto, TypeProto and TensorProto, parsed from the wire with byte offsets (see `proto`).
//! Initializers keep where their bytes are (`raw_data` offset, external data entries), never the bytes.
//! Typed structs only: the document (`super::build`) and the graph view (`crate::view::onnx`) render
//! them as JSON, the engine reads them as they are.

use super::proto::{Field, Reader, FIXED32, LEN, VARINT};
use crate::dtype::DType;
use crate::error::{Error, Location, Result};
use crate::limits;
use serde::{Serialize, Serializer};

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

/// ONNX's name for a dtype (`float32` -> `FLOAT`), where ONNX has one: the inverse of `dtype_of`.
pub fn elem_type_name_of(d: DType) -> Option<&'static str> {
    (0..ELEM_TYPES.len()).find(|&t| dtype_of(t as i32) == Some(d)).map(|t| ELEM_TYPES[t])
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
    pub attributes: Vec<(String, AttrValue)>,
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

/// A value's declared type, as `{name, elem_type, shape}` in JSON.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ValueInfo {
    pub name: String,
    /// `FLOAT`, `INT64` ... for tensors; `sequence(FLOAT)` and the like otherwise.
    pub elem_type: String,
    /// The dimensions; None for an unknown rank (JSON null).
    pub shape: Option<Vec<Dim>>,
}

/// One declared dimension: a number, a symbolic name, or neither (JSON: number, string, null).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dim {
    Value(i64),
    Param(String),
    Unknown,
}

impl Serialize for Dim {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Dim::Value(v) => s.serialize_i64(*v),
            Dim::Param(p) => s.serialize_str(p),
            Dim::Unknown => s.serialize_none(),
        }
    }
}

/// An attribute's value, as read. `Ref` names an attribute of the enclosing function.
#[derive(Debug, Clone)]
pub enum AttrValue {
    Float(f32),
    Int(i64),
    /// Lossy UTF-8, cut to a readable length.
    String(String),
    Tensor(TensorSummary),
    /// An If branch, a Loop body.
    Graph(Box<GraphInfo>),
    Floats(Vec<f32>),
    Ints(Vec<i64>),
    Strings(Vec<String>),
    Tensors(Vec<TensorSummary>),
    Graphs(Vec<GraphInfo>),
    SparseTensor,
    TypeProto,
    /// No type, and only a field torchpeek does not read (`type_proto`, `sparse_tensor`).
    Unread(&'static str),
    Ref(String),
    /// A type whose field is not set, or none at all.
    Missing,
}

/// A tensor held in an attribute: its type, shape and name, and for a small tensor whose values
/// are at hand, their little-endian bytes.
#[derive(Debug, Clone)]
pub struct TensorSummary {
    pub name: String,
    pub data_type: i32,
    pub dims: Vec<i64>,
    pub value: Option<Vec<u8>>,
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

    /// True when the data is in an external file (`data_location` EXTERNAL, or external entries).
    pub fn is_external(&self) -> bool {
        self.data_location == 1 || !self.external.is_empty()
    }

    /// The value of external data entry `key` (`location`, `offset`, `length` ...).
    pub fn external_entry(&self, key: &str) -> Option<&str> {
        self.external.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Its type, shape and name, and for at most 16 elements whose bytes are at hand, the bytes.
    fn summary(&self, r: &mut Reader) -> TensorSummary {
        let numel = self.numel().unwrap_or(u64::MAX);
        let value = match (dtype_of(self.data_type), numel <= 16) {
            (Some(dtype), true) => {
                let size = dtype.itemsize();
                match self.raw {
                    Some((off, len)) if len == numel * size => r.read_small(off, len).ok(),
                    Some(_) => None,
                    None if self.data_location != 1 => {
                        let (b, _) = self.typed.to_bytes(dtype);
                        (b.len() as u64 == numel * size).then_some(b)
                    }
                    None => None,
                }
            }
            _ => None,
        };
        TensorSummary { name: self.name.clone(), data_type: self.data_type, dims: self.dims.clone(), value }
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

    /// Reads the fields of the message `what` that ends at `end`, each with `on`.
    fn fields(&mut self, what: &'static str, end: u64, mut on: impl FnMut(&mut Self, Field) -> Result<()>) -> Result<()> {
        while self.r.pos < end {
            let f = self.r.field(what, end)?;
            on(self, f)?;
        }
        Ok(())
    }

    /// An embedded message field, read by `read` up to its end.
    fn message<T>(&mut self, f: Field, read: impl FnOnce(&mut Self, u64) -> Result<T>) -> Result<T> {
        let stop = self.r.len_field(f)?;
        read(self, stop)
    }

    /// A subgraph field (an If branch, a Loop body) as an attribute value; the values it takes from
    /// enclosing scopes are added to `outer`.
    fn subgraph(&mut self, f: Field, outer: &mut Vec<String>) -> Result<GraphInfo> {
        let sub = self.message(f, Self::graph)?;
        outer.extend(outer_names(&sub));
        Ok(sub)
    }

    /// A repeated float or double field (`size` 4 or 8) of typed tensor data, within the budget.
    fn typed_fixed(&mut self, f: Field, size: u64, out: &mut Vec<u8>) -> Result<()> {
        let before = out.len();
        self.r.repeated_fixed(f.wire, size, f.end, out)?;
        self.budget((out.len() - before) as u64)
    }

    /// Parses the whole file as a ModelProto.
    pub fn model(&mut self) -> Result<ModelInfo> {
        let mut m = ModelInfo::default();
        let mut saw_ir = false;
        let end = self.r.len();
        self.fields("ModelProto", end, |p, f| {
            match f.num {
                1 => {
                    m.ir_version = p.r.varint_field(f)? as i64;
                    saw_ir = true;
                }
                2 => m.producer_name = p.r.string_field(f)?,
                3 => m.producer_version = p.r.string_field(f)?,
                4 => m.domain = p.r.string_field(f)?,
                5 => m.model_version = p.r.varint_field(f)? as i64,
                6 => m.doc_string = p.r.string_field(f)?,
                7 => m.graph = Some(p.message(f, Self::graph)?),
                8 => m.opsets.push(p.message(f, Self::opset)?),
                14 => m.metadata_props.push(p.message(f, Self::string_pair)?),
                25 => m.functions.push(p.message(f, Self::function)?),
                _ => p.r.skip_field(f)?,
            }
            Ok(())
        })?;
        if !saw_ir {
            return Err(self.r.corrupt(0, "not an ONNX model: no ir_version"));
        }
        Ok(m)
    }

    fn opset(&mut self, end: u64) -> Result<(String, i64)> {
        let (mut domain, mut version) = (String::new(), 0);
        self.fields("OperatorSetIdProto", end, |p, f| {
            match f.num {
                1 => domain = p.r.string_field(f)?,
                2 => version = p.r.varint_field(f)? as i64,
                _ => p.r.skip_field(f)?,
            }
            Ok(())
        })?;
        Ok((domain, version))
    }

    fn string_pair(&mut self, end: u64) -> Result<(String, String)> {
        let (mut k, mut v) = (String::new(), String::new());
        self.fields("StringStringEntryProto", end, |p, f| {
            match f.num {
                1 => k = p.r.string_field(f)?,
                2 => v = p.r.string_field(f)?,
                _ => p.r.skip_field(f)?,
            }
            Ok(())
        })?;
        Ok((k, v))
    }

    pub fn graph(&mut self, end: u64) -> Result<GraphInfo> {
        self.enter()?;
        let mut g = GraphInfo::default();
        self.fields("GraphProto", end, |p, f| {
            match f.num {
                1 => g.nodes.push(p.message(f, Self::node)?),
                2 => g.name = p.r.string_field(f)?,
                5 => g.initializers.push(p.message(f, Self::tensor)?),
                10 => g.doc_string = p.r.string_field(f)?,
                11 => g.inputs.push(p.message(f, Self::value_info)?),
                12 => g.outputs.push(p.message(f, Self::value_info)?),
                13 => g.value_info.push(p.message(f, Self::value_info)?),
                15 => {
                    p.r.pos = p.r.len_field(f)?;
                    g.sparse_initializers += 1;
                }
                _ => p.r.skip_field(f)?,
            }
            Ok(())
        })?;
        self.leave();
        Ok(g)
    }

    fn function(&mut self, end: u64) -> Result<FunctionInfo> {
        self.enter()?;
        let mut fun = FunctionInfo::default();
        self.fields("FunctionProto", end, |p, f| {
            match f.num {
                1 => fun.name = p.r.string_field(f)?,
                4 => fun.inputs.push(p.r.string_field(f)?),
                5 => fun.outputs.push(p.r.string_field(f)?),
                7 => fun.nodes.push(p.message(f, Self::node)?),
                10 => fun.domain = p.r.string_field(f)?,
                _ => p.r.skip_field(f)?,
            }
            Ok(())
        })?;
        self.leave();
        Ok(fun)
    }

    fn node(&mut self, end: u64) -> Result<NodeInfo> {
        self.enter()?;
        let mut n = NodeInfo::default();
        self.fields("NodeProto", end, |p, f| {
            match f.num {
                1 => n.inputs.push(p.r.string_field(f)?),
                2 => n.outputs.push(p.r.string_field(f)?),
                3 => n.name = p.r.string_field(f)?,
                4 => n.op_type = p.r.string_field(f)?,
                5 => {
                    let (name, value, outer) = p.message(f, Self::attribute)?;
                    n.attributes.push((name, value));
                    n.outer_inputs.extend(outer);
                }
                7 => n.domain = p.r.string_field(f)?,
                _ => p.r.skip_field(f)?,
            }
            Ok(())
        })?;
        self.leave();
        // Two subgraphs (then and else branches) often take the same outer values.
        let mut seen = std::collections::HashSet::new();
        n.outer_inputs.retain(|o| seen.insert(o.clone()));
        Ok(n)
    }

    /// An attribute as (name, value summary, values its subgraphs take from enclosing scopes).
    fn attribute(&mut self, end: u64) -> Result<(String, AttrValue, Vec<String>)> {
        self.enter()?;
        let mut name = String::new();
        let mut ty: Option<u64> = None;
        let mut f32v: Option<f32> = None;
        let mut i64v: Option<i64> = None;
        let mut s: Option<Vec<u8>> = None;
        let mut t: Option<TensorSummary> = None;
        let mut g: Option<GraphInfo> = None;
        let mut floats: Vec<u8> = Vec::new();
        let mut ints: Vec<i64> = Vec::new();
        let mut strings: Vec<String> = Vec::new();
        let mut tensors: Vec<TensorSummary> = Vec::new();
        let mut graphs: Vec<GraphInfo> = Vec::new();
        let mut other: Option<&'static str> = None;
        let mut ref_attr: Option<String> = None;
        let mut outer: Vec<String> = Vec::new();
        let max = limits::MAX_ONNX_ATTR_ITEMS;
        self.fields("AttributeProto", end, |p, f| {
            match f.num {
                1 => name = p.r.string_field(f)?,
                2 => {
                    p.r.expect(f, FIXED32)?;
                    f32v = Some(f32::from_bits(p.r.fixed32(f.end)?));
                }
                3 => i64v = Some(p.r.varint_field(f)? as i64),
                4 => s = Some(p.r.bytes_field(f)?),
                5 => t = Some(p.message(f, Self::tensor)?.summary(&mut p.r)),
                6 => g = Some(p.subgraph(f, &mut outer)?),
                7 if floats.len() / 4 < max => p.r.repeated_fixed(f.wire, 4, f.end, &mut floats)?,
                8 => {
                    let mut vals = Vec::new();
                    p.r.repeated_varint(f.wire, f.end, |v| {
                        if ints.len() + vals.len() < max {
                            vals.push(v as i64)
                        }
                    })?;
                    ints.extend(vals);
                }
                9 => {
                    let b = p.r.bytes_field(f)?;
                    if strings.len() < max {
                        strings.push(short_string(&b));
                    }
                }
                10 => {
                    let tensor = p.message(f, Self::tensor)?;
                    if tensors.len() < max {
                        tensors.push(tensor.summary(&mut p.r));
                    }
                }
                11 => graphs.push(p.subgraph(f, &mut outer)?),
                14 | 15 => {
                    other = Some("type_proto");
                    p.r.skip_field(f)?;
                }
                22 | 23 => {
                    other = Some("sparse_tensor");
                    p.r.skip_field(f)?;
                }
                20 => ty = Some(p.r.varint_field(f)?),
                21 => ref_attr = Some(p.r.string_field(f)?),
                _ => p.r.skip_field(f)?,
            }
            Ok(())
        })?;
        self.leave();
        // No type (IR < 3) or an unknown one: the type of the first field that is set.
        let set = [
            f32v.is_some(),
            i64v.is_some(),
            s.is_some(),
            t.is_some(),
            g.is_some(),
            !floats.is_empty(),
            !ints.is_empty(),
            !strings.is_empty(),
            !tensors.is_empty(),
            !graphs.is_empty(),
        ];
        let ty = match ty {
            Some(ty @ 1..=14) => Some(ty),
            _ => set.iter().position(|&x| x).map(|i| i as u64 + 1),
        };
        let value = if let Some(r) = ref_attr {
            AttrValue::Ref(r)
        } else {
            match ty {
                Some(1) => f32v.map(AttrValue::Float).unwrap_or(AttrValue::Missing),
                Some(2) => i64v.map(AttrValue::Int).unwrap_or(AttrValue::Missing),
                Some(3) => s.as_deref().map(|b| AttrValue::String(short_string(b))).unwrap_or(AttrValue::Missing),
                Some(4) => t.map(AttrValue::Tensor).unwrap_or(AttrValue::Missing),
                Some(5) => g.map(|g| AttrValue::Graph(Box::new(g))).unwrap_or(AttrValue::Missing),
                Some(6) => AttrValue::Floats(floats.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()),
                Some(7) => AttrValue::Ints(ints),
                Some(8) => AttrValue::Strings(strings),
                Some(9) => AttrValue::Tensors(tensors),
                Some(10) => AttrValue::Graphs(graphs),
                Some(11 | 12) => AttrValue::SparseTensor,
                Some(13 | 14) => AttrValue::TypeProto,
                _ => other.map(AttrValue::Unread).unwrap_or(AttrValue::Missing),
            }
        };
        Ok((name, value, outer))
    }

    fn value_info(&mut self, end: u64) -> Result<ValueInfo> {
        let mut v = ValueInfo { shape: None, elem_type: "UNDEFINED".into(), ..Default::default() };
        self.fields("ValueInfoProto", end, |p, f| {
            match f.num {
                1 => v.name = p.r.string_field(f)?,
                2 => (v.elem_type, v.shape) = p.message(f, Self::type_proto)?,
                _ => p.r.skip_field(f)?,
            }
            Ok(())
        })?;
        Ok(v)
    }

    /// A TypeProto as (element type description, shape).
    fn type_proto(&mut self, end: u64) -> Result<(String, Option<Vec<Dim>>)> {
        self.enter()?;
        let mut out = ("UNDEFINED".to_string(), None);
        self.fields("TypeProto", end, |p, f| {
            match f.num {
                // tensor_type, sparse_tensor_type: {elem_type, shape}
                1 | 8 => {
                    let (t, s) = p.message(f, Self::tensor_type)?;
                    out = (if f.num == 8 { format!("sparse({t})") } else { t }, s);
                }
                // sequence_type, optional_type: {elem_type: TypeProto}
                4 | 9 => {
                    let mut inner = "UNDEFINED".to_string();
                    p.message(f, |p, stop| {
                        p.fields("TypeProto", stop, |p, f| {
                            match f.num {
                                1 if f.wire == LEN => inner = p.message(f, Self::type_proto)?.0,
                                _ => p.r.skip_field(f)?,
                            }
                            Ok(())
                        })
                    })?;
                    out = (format!("{}({inner})", if f.num == 4 { "sequence" } else { "optional" }), None);
                }
                // map_type: {key_type, value_type}
                5 => {
                    let mut key = "UNDEFINED".to_string();
                    let mut val = "UNDEFINED".to_string();
                    p.message(f, |p, stop| {
                        p.fields("TypeProto", stop, |p, f| {
                            match f.num {
                                1 if f.wire == VARINT => key = elem_type_name(p.r.varint(f.end)? as i64),
                                2 if f.wire == LEN => val = p.message(f, Self::type_proto)?.0,
                                _ => p.r.skip_field(f)?,
                            }
                            Ok(())
                        })
                    })?;
                    out = (format!("map({key},{val})"), None);
                }
                _ => p.r.skip_field(f)?,
            }
            Ok(())
        })?;
        self.leave();
        Ok(out)
    }

    fn tensor_type(&mut self, end: u64) -> Result<(String, Option<Vec<Dim>>)> {
        let mut elem = "UNDEFINED".to_string();
        let mut shape = None;
        self.fields("TypeProto.Tensor", end, |p, f| {
            match f.num {
                1 => elem = elem_type_name(p.r.varint_field(f)? as i64),
                2 => shape = Some(p.message(f, Self::shape)?),
                _ => p.r.skip_field(f)?,
            }
            Ok(())
        })?;
        Ok((elem, shape))
    }

    /// A TensorShapeProto as an array of dimensions.
    fn shape(&mut self, end: u64) -> Result<Vec<Dim>> {
        let mut dims = Vec::new();
        self.fields("TensorShapeProto", end, |p, f| {
            match f.num {
                1 => dims.push(p.message(f, Self::dimension)?),
                _ => p.r.skip_field(f)?,
            }
            Ok(())
        })?;
        Ok(dims)
    }

    fn dimension(&mut self, end: u64) -> Result<Dim> {
        let mut d = Dim::Unknown;
        self.fields("Dimension", end, |p, f| {
            match f.num {
                1 => d = Dim::Value(p.r.varint_field(f)? as i64),
                2 => d = Dim::Param(p.r.string_field(f)?),
                _ => p.r.skip_field(f)?,
            }
            Ok(())
        })?;
        Ok(d)
    }

    /// A TensorProto: everything but its bytes, whose place is recorded.
    pub fn tensor(&mut self, end: u64) -> Result<TensorInfo> {
        let mut t = TensorInfo { at: self.r.pos, ..Default::default() };
        self.fields("TensorProto", end, |p, f| {
            match f.num {
                1 => {
                    let mut dims = std::mem::take(&mut t.dims);
                    p.r.repeated_varint(f.wire, f.end, |v| dims.push(v as i64))?;
                    if dims.len() > limits::MAX_RANK {
                        return Err(Error::Limit {
                            at: p.r.at(f.tag_at),
                            what: "ONNX tensor rank",
                            found: dims.len() as u64,
                            limit: limits::MAX_RANK as u64,
                        });
                    }
                    t.dims = dims;
                }
                2 => t.data_type = p.r.varint_field(f)? as i32,
                4 => p.typed_fixed(f, 4, &mut t.typed.floats)?,
                10 => p.typed_fixed(f, 8, &mut t.typed.doubles)?,
                5 | 7 | 11 => {
                    let mut vals: Vec<u64> = Vec::new();
                    let mut n = 0u64;
                    let limit_left = limits::MAX_ONNX_INLINE_BYTES.saturating_sub(p.inline_bytes) / 8;
                    p.r.repeated_varint(f.wire, f.end, |v| {
                        n += 1;
                        if n <= limit_left {
                            vals.push(v)
                        }
                    })?;
                    let size = if f.num == 5 { 4 } else { 8 };
                    p.budget(n * size)?;
                    match f.num {
                        5 => t.typed.int32.extend(vals.iter().map(|&v| v as i32)),
                        7 => t.typed.int64.extend(vals.iter().map(|&v| v as i64)),
                        _ => t.typed.uint64.extend(vals),
                    }
                }
                6 => {
                    p.r.pos = p.r.len_field(f)?;
                    t.string_count += 1;
                }
                8 => t.name = p.r.string_field(f)?,
                9 => {
                    let stop = p.r.len_field(f)?;
                    t.raw = Some((p.r.pos, stop - p.r.pos));
                    p.r.pos = stop;
                }
                13 => t.external.push(p.message(f, Self::string_pair)?),
                14 => t.data_location = p.r.varint_field(f)? as i64,
                _ => p.r.skip_field(f)?,
            }
            Ok(())
        })?;
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

/// The graph's inputs that are not initializers (IR < 4 lists initializers as inputs too).
pub fn model_inputs(g: &GraphInfo) -> Vec<&ValueInfo> {
    let inits: std::collections::HashSet<&str> = g.initializers.iter().map(|t| t.name.as_str()).collect();
    g.inputs.iter().filter(|v| !inits.contains(v.name.as_str())).collect()
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

impl Reader<'_> {
    /// Reads a few bytes at an absolute offset (small constants shown in attribute summaries).
    pub fn read_small(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        if len > 1024 {
            return Err(Error::corrupt(Location::new(self.name(), offset), "too large to show"));
        }
        self.source().read_vec(offset, len)
    }
}
