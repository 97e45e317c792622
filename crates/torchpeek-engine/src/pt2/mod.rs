//! A `.pt2`'s exported program (`torchpeek::container::pt2::program`) translated into an ONNX
//! `ModelProto` of well-defined operators, which the engine then loads as it loads any ONNX model
//! (`Session::load`). Nothing of the file is executed: the graph is read as data and each ATen call
//! becomes a few ONNX nodes.
//!
//! - The graph signature decides what each placeholder is: user inputs become the model's inputs
//!   (named as the signature names them, shapes with their symbols), parameters, buffers and tensor
//!   constants become initializers whose bytes are read from the archive through the document's
//!   state_dict names; user outputs become the model's outputs (mutated buffers are dropped).
//! - Every call's target is looked up in `ops` first: an operator without a translation is an error
//!   naming the operator and the node (`aten.foo.default (node "foo")`), before anything is built.
//! - Symbolic sizes (`aten.sym_size.int`, `_operator.mul` ...) become 1-element int64 tensors
//!   computed from shapes at run time, so a program with a dynamic sequence length runs at any length.

mod ops;

use crate::io::{elem_type, read_model, unsupported, Dim, IoInfo};
use serde_json::Value as Json;
use std::collections::{HashMap, HashSet};
use torchpeek::container::onnx::schema::elem_type_name_of;
use torchpeek::container::pt2::program::{self, Arg, Graph, Node, TensorMeta};
use torchpeek::dtype::DType;
use torchpeek::error::{Error, Result};
use torchpeek::container::sniff::{self, Detected};
use torchpeek::document::Format;
use torchpeek::{MemSource, Model, Source};
use tract_onnx::pb::{self, attribute_proto::AttributeType};

/// The ONNX operator set the translation writes (reductions take their axes as an input from 18).
const OPSET: i64 = 18;

/// A program translated: the ONNX model, and its inputs and outputs as the signature names them.
pub struct Translated {
    pub proto: pb::ModelProto,
    pub inputs: Vec<IoInfo>,
    pub outputs: Vec<IoInfo>,
    /// The example size of each symbolic user-input dimension, by symbol.
    pub example_sizes: Vec<(String, usize)>,
}

/// The `.pt2` archive among `sources`, opened with the core's reader (its weights and program, read
/// as data), when none of them is an ONNX model and the first is a zip; None otherwise.
pub fn open(sources: &[&dyn Source]) -> Result<Option<Model>> {
    let detected = |s: &dyn Source| sniff::detect(s).ok();
    let Some(&src) = sources.first().filter(|_| !sources.iter().any(|s| detected(*s) == Some(Detected::Onnx))) else { return Ok(None) };
    if detected(src) != Some(Detected::Zip) {
        return Ok(None);
    }
    let bytes = read_model(src)?.into_owned();
    let model = torchpeek::open(vec![Box::new(MemSource::new(src.name(), bytes))])?;
    if model.document.format != Format::TorchExport {
        return Err(Error::engine(format!(
            "{}: the engine runs ONNX models and torch.export archives (.pt2), not a {} file",
            src.name(),
            serde_json::to_value(model.document.format).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
        )));
    }
    Ok(Some(model))
}

/// Translates the exported program of an opened `.pt2` (`model.pt2`), reading its weights.
pub fn translate(model: &Model) -> Result<Translated> {
    let program = model.pt2.as_deref().ok_or_else(|| {
        let why = model.document.errors.iter().map(|p| p.message.as_str()).find(|m| m.contains("exported program"));
        Error::engine(why.map_or_else(|| "the archive has no exported program (models/*.json)".to_string(), str::to_string))
    })?;
    check_operators(&program.graph)?;
    let mut b = Builder::new(&program.graph);
    let mut graph = pb::GraphProto { name: "pt2".into(), ..Default::default() };
    let mut inputs = Vec::new();
    let mut example_sizes = Vec::new();
    for spec in &program.inputs {
        match spec.kind.as_str() {
            "user_input" => {
                let meta = b.meta(&spec.name).map_err(|e| Error::engine(format!("user input {:?}: {e}", spec.name)))?;
                let info = io_info(&spec.name, meta)?;
                for d in &meta.shape {
                    if let program::Dim::Sym { expr, hint: Some(h) } = d {
                        if let (false, Ok(h)) = (example_sizes.iter().any(|(s, _)| s == expr), usize::try_from(*h)) {
                            example_sizes.push((expr.clone(), h));
                        }
                    }
                }
                graph.input.push(value_info(&info, meta));
                inputs.push(info);
            }
            "parameter" | "buffer" | "tensor_constant" => {
                let target = spec.target.as_deref().unwrap_or(&spec.name);
                b.initializers.push(weight(model, &spec.name, target, &spec.kind)?);
            }
            other => return Err(Error::engine(format!("graph input {:?} of kind {other} is not supported", spec.name))),
        }
        b.defined.insert(spec.name.clone());
    }
    for node in &program.graph.nodes {
        let translate = ops::lookup(&node.target).expect("checked by check_operators");
        translate(&mut b, &Call { node, graph: &program.graph })
            .map_err(|e| Error::engine(format!("{} (node {:?}): {e}", node.target, node.name)))?;
    }
    let mut outputs = Vec::new();
    for spec in program.outputs.iter().filter(|s| s.kind == "user_output") {
        let name = spec.name.as_deref().ok_or_else(|| Error::engine("a user output that is not a tensor is not supported"))?;
        let meta = b.meta(name).map_err(|e| Error::engine(format!("user output {name:?}: {e}")))?;
        if !b.defined.contains(name) {
            return Err(Error::engine(format!("user output {name:?} is not computed by the graph")));
        }
        outputs.push(io_info(name, meta)?);
        graph.output.push(pb::ValueInfoProto { name: name.to_string(), ..Default::default() });
    }
    graph.node = b.nodes;
    graph.initializer = b.initializers;
    let proto = pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: OPSET }],
        producer_name: "torchpeek pt2".into(),
        graph: Some(graph),
        ..Default::default()
    };
    Ok(Translated { proto, inputs, outputs, example_sizes })
}

/// Every call of the graph has a translation; otherwise an error naming each one missing.
fn check_operators(graph: &Graph) -> Result<()> {
    let missing: Vec<String> = graph
        .nodes
        .iter()
        .filter(|n| ops::lookup(&n.target).is_none())
        .map(|n| format!("{} (node {:?})", n.target, n.name))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(unsupported(&missing))
}

/// A graph value's name: a tensor or a symbol.
fn value_name(arg: &Arg) -> Option<&str> {
    match arg {
        Arg::Tensor(n) | Arg::Symbol(n) => Some(n),
        _ => None,
    }
}

/// The engine's description of a user input or output from its metadata.
fn io_info(name: &str, meta: &TensorMeta) -> Result<IoInfo> {
    let dtype = meta.dtype.ok_or_else(|| Error::engine(format!("{name:?}: its dtype is unknown")))?;
    let elem = elem_type_name_of(dtype).ok_or_else(|| Error::engine(format!("{name:?}: dtype {} has no ONNX type", dtype.name())))?;
    let shape = meta
        .shape
        .iter()
        .map(|d| match d {
            program::Dim::Int(i) => u64::try_from(*i).map(Dim::Fixed).unwrap_or(Dim::Unknown),
            program::Dim::Sym { expr, .. } => Dim::Symbol(expr.clone()),
        })
        .collect();
    Ok(IoInfo { name: name.to_string(), elem_type: elem.to_string(), dtype: Some(dtype), shape: Some(shape) })
}

/// An ONNX graph input: its element type, and its shape with each symbol as a named dimension.
fn value_info(info: &IoInfo, meta: &TensorMeta) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{dimension::Value, Dimension};
    let dim = |d: &program::Dim| Dimension {
        value: match d {
            program::Dim::Int(i) => Some(Value::DimValue(*i)),
            // A plain symbol (`s27`) names a dimension; an expression is left unknown.
            program::Dim::Sym { expr, .. } if expr.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                Some(Value::DimParam(expr.clone()))
            }
            program::Dim::Sym { .. } => None,
        },
        ..Default::default()
    };
    let tensor = pb::type_proto::Tensor {
        elem_type: info.dtype.and_then(elem_type).unwrap_or(0),
        shape: Some(pb::TensorShapeProto { dim: meta.shape.iter().map(dim).collect() }),
    };
    pb::ValueInfoProto {
        name: info.name.clone(),
        r#type: Some(pb::TypeProto { value: Some(pb::type_proto::Value::TensorType(tensor)), ..Default::default() }),
        ..Default::default()
    }
}

/// A parameter, buffer or constant as an initializer named `placeholder`, its bytes read from the
/// archive through the state_dict name `target`.
fn weight(model: &Model, placeholder: &str, target: &str, kind: &str) -> Result<pb::TensorProto> {
    let doc = &model.document;
    let entry = doc
        .state_dict
        .iter()
        .find(|e| e.key == target)
        .ok_or_else(|| Error::engine(format!("{kind} {target:?} (input {placeholder:?}) is not in the archive")))?;
    let t = model.tensor(entry.tensor)?;
    let data_type = elem_type(t.dtype)
        .ok_or_else(|| Error::engine(format!("{kind} {target:?}: dtype {} has no ONNX type", t.dtype.name())))?;
    if t.numel.saturating_mul(t.dtype.itemsize()) > torchpeek::limits::MAX_ENGINE_TENSOR_BYTES as u64 {
        return Err(Error::engine(format!("{kind} {target:?}: shape {:?} is too large", t.shape)));
    }
    let raw_data = torchpeek::read::tensor_bytes(model, t, 0, t.numel)?;
    Ok(pb::TensorProto {
        name: placeholder.to_string(),
        dims: t.shape.iter().map(|&d| d as i64).collect(),
        data_type,
        raw_data,
        ..Default::default()
    })
}

/// The ONNX graph being written.
pub(crate) struct Builder<'g> {
    graph: &'g Graph,
    nodes: Vec<pb::NodeProto>,
    initializers: Vec<pb::TensorProto>,
    /// Values computed so far (placeholders and translated outputs).
    defined: HashSet<String>,
    /// Constants already written, by their bytes: one initializer per distinct constant.
    constants: HashMap<(i32, Vec<i64>, Vec<u8>), String>,
    fresh: usize,
}

/// An ONNX attribute.
pub(crate) fn attr_i(name: &str, i: i64) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), r#type: AttributeType::Int as i32, i, ..Default::default() }
}

pub(crate) fn attr_f(name: &str, f: f32) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), r#type: AttributeType::Float as i32, f, ..Default::default() }
}

pub(crate) fn attr_ints(name: &str, ints: Vec<i64>) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), r#type: AttributeType::Ints as i32, ints, ..Default::default() }
}

pub(crate) fn attr_s(name: &str, s: &str) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), r#type: AttributeType::String as i32, s: s.as_bytes().to_vec(), ..Default::default() }
}

/// A translation's error: what is wrong with the call (the caller names the operator and node).
pub(crate) type Fail = String;

impl<'g> Builder<'g> {
    fn new(graph: &'g Graph) -> Self {
        Builder { graph, nodes: Vec::new(), initializers: Vec::new(), defined: HashSet::new(), constants: HashMap::new(), fresh: 0 }
    }

    /// The metadata of tensor value `name`.
    pub fn meta(&self, name: &str) -> std::result::Result<&'g TensorMeta, Fail> {
        self.graph.tensors.get(name).ok_or_else(|| format!("the program records no type for {name:?}"))
    }

    /// The rank of tensor value `name`.
    pub fn rank(&self, name: &str) -> std::result::Result<usize, Fail> {
        Ok(self.meta(name)?.shape.len())
    }

    /// The dtype of tensor value `name`.
    pub fn dtype(&self, name: &str) -> std::result::Result<DType, Fail> {
        self.meta(name)?.dtype.ok_or_else(|| format!("the dtype of {name:?} is unknown"))
    }

    /// Writes a node computing `outputs` from `inputs` ("" for an omitted optional input).
    pub fn node(&mut self, op: &str, inputs: &[&str], outputs: &[&str], attribute: Vec<pb::AttributeProto>) {
        self.fresh += 1;
        let name = format!("{}.{}", outputs.first().copied().unwrap_or(op), self.fresh);
        self.defined.extend(outputs.iter().map(|s| s.to_string()));
        self.nodes.push(pb::NodeProto {
            name,
            op_type: op.to_string(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            attribute,
            ..Default::default()
        });
    }

    /// Writes a node with one new output, and returns that output's name.
    pub fn op(&mut self, op: &str, inputs: &[&str], attribute: Vec<pb::AttributeProto>) -> String {
        let out = format!("{}.{}", op, self.fresh + 1);
        self.node(op, inputs, &[&out], attribute);
        out
    }

    /// A constant initializer of `dtype` and `dims` from its little-endian bytes.
    pub fn constant(&mut self, dtype: DType, dims: Vec<i64>, raw: Vec<u8>) -> std::result::Result<String, Fail> {
        let data_type = elem_type(dtype).ok_or_else(|| format!("no ONNX type for a {} constant", dtype.name()))?;
        let key = (data_type, dims, raw);
        if let Some(name) = self.constants.get(&key) {
            return Ok(name.clone());
        }
        let name = format!("const.{}", self.constants.len());
        let (data_type, dims, raw_data) = key.clone();
        self.initializers.push(pb::TensorProto { name: name.clone(), dims, data_type, raw_data, ..Default::default() });
        self.constants.insert(key, name.clone());
        Ok(name)
    }

    /// A 1-D int64 constant.
    pub fn ints(&mut self, values: &[i64]) -> String {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.constant(DType::Int64, vec![values.len() as i64], raw).expect("int64 has an ONNX type")
    }

    /// A constant of `dtype` and `dims` with every element `value`.
    pub fn fill(&mut self, value: f64, dtype: DType, dims: &[i64]) -> std::result::Result<String, Fail> {
        let one = scalar_bytes(value, dtype)?;
        let n = dims
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(usize::try_from(d).ok()?))
            .filter(|n| n.saturating_mul(one.len()) <= torchpeek::limits::MAX_ENGINE_TENSOR_BYTES)
            .ok_or_else(|| format!("a constant of shape {dims:?}"))?;
        self.constant(dtype, dims.to_vec(), one.repeat(n))
    }

    /// A rank-0 constant of `dtype`.
    pub fn scalar(&mut self, value: f64, dtype: DType) -> std::result::Result<String, Fail> {
        self.fill(value, dtype, &[])
    }

    /// `x` cast to `dtype` when its recorded dtype differs.
    pub fn cast_to(&mut self, x: &str, dtype: DType) -> std::result::Result<String, Fail> {
        if self.dtype(x)? == dtype {
            return Ok(x.to_string());
        }
        let to = elem_type(dtype).ok_or_else(|| format!("no ONNX type for {}", dtype.name()))?;
        Ok(self.op("Cast", &[x], vec![attr_i("to", to as i64)]))
    }

    /// An int operand (a literal or a symbol) as a 1-element int64 value.
    pub fn int_value(&mut self, arg: &Arg) -> std::result::Result<String, Fail> {
        match arg {
            Arg::Symbol(name) => Ok(name.clone()),
            Arg::Literal(v) => Ok(self.ints(&[v.as_i64().ok_or_else(|| format!("{v} is not an integer"))?])),
            other => Err(format!("{other:?} is not an integer")),
        }
    }

    /// An int list (`as_ints`, or `as_sym_ints` mixing literals and symbols) as a 1-D int64 value.
    pub fn int_list_value(&mut self, arg: &Arg) -> std::result::Result<String, Fail> {
        if let Some(values) = literal_ints(arg) {
            return Ok(self.ints(&values));
        }
        let Arg::List(items) = arg else { return Err(format!("{arg:?} is not a list of integers")) };
        let parts = items.iter().map(|a| self.int_value(a)).collect::<std::result::Result<Vec<_>, _>>()?;
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        Ok(self.op("Concat", &parts, vec![attr_i("axis", 0)]))
    }

    /// Dimensions `start..end` of `x`'s shape as a 1-D int64 value (end None: to the last).
    pub fn shape_of(&mut self, x: &str, start: i64, end: Option<i64>) -> String {
        let mut attrs = vec![attr_i("start", start)];
        if let Some(e) = end {
            attrs.push(attr_i("end", e));
        }
        self.op("Shape", &[x], attrs)
    }
}

/// The little-endian bytes of `value` as one element of `dtype`.
fn scalar_bytes(value: f64, dtype: DType) -> std::result::Result<Vec<u8>, Fail> {
    Ok(match dtype {
        DType::Float32 => (value as f32).to_le_bytes().to_vec(),
        DType::Float64 => value.to_le_bytes().to_vec(),
        DType::Int64 => (value as i64).to_le_bytes().to_vec(),
        DType::Int32 => (value as i32).to_le_bytes().to_vec(),
        DType::Int16 => (value as i16).to_le_bytes().to_vec(),
        DType::Int8 => (value as i8).to_le_bytes().to_vec(),
        DType::UInt8 => (value as u8).to_le_bytes().to_vec(),
        DType::Bool => vec![(value != 0.0) as u8],
        other => return Err(format!("constants of dtype {} are not supported", other.name())),
    })
}

/// The integers of a literal list, or of a list whose items are all literal.
fn literal_ints(arg: &Arg) -> Option<Vec<i64>> {
    match arg {
        Arg::Literal(Json::Array(items)) => items.iter().map(Json::as_i64).collect(),
        Arg::Literal(v) => v.as_i64().map(|i| vec![i]),
        Arg::List(items) => items.iter().map(|a| if let Arg::Literal(v) = a { v.as_i64() } else { None }).collect(),
        _ => None,
    }
}

/// One call being translated: its arguments by schema name, with their defaults.
pub(crate) struct Call<'n> {
    pub node: &'n Node,
    graph: &'n Graph,
}

impl<'n> Call<'n> {
    /// Argument `name`, if given (None also for an explicit `None`).
    pub fn arg(&self, name: &str) -> Option<&'n Arg> {
        self.node.args.iter().find(|a| a.name == name).map(|a| &a.value).filter(|v| !matches!(v, Arg::None))
    }

    /// A required tensor argument, which must have been computed.
    pub fn tensor(&self, b: &Builder, name: &str) -> std::result::Result<&'n str, Fail> {
        self.opt_tensor(b, name)?.ok_or_else(|| format!("argument {name:?} is missing or not a tensor"))
    }

    /// An optional tensor argument.
    pub fn opt_tensor(&self, b: &Builder, name: &str) -> std::result::Result<Option<&'n str>, Fail> {
        match self.arg(name) {
            None => Ok(None),
            Some(Arg::Tensor(t)) if b.defined.contains(t) => Ok(Some(t)),
            Some(Arg::Tensor(t)) => Err(format!("argument {name:?} reads {t:?}, which nothing before it computes")),
            Some(other) => Err(format!("argument {name:?} is not a tensor: {other:?}")),
        }
    }

    /// A list of tensors (`cat`'s `tensors`).
    pub fn tensors(&self, b: &Builder, name: &str) -> std::result::Result<Vec<&'n str>, Fail> {
        let Some(Arg::List(items)) = self.arg(name) else { return Err(format!("argument {name:?} is not a list of tensors")) };
        items
            .iter()
            .map(|a| match a {
                Arg::Tensor(t) if b.defined.contains(t) => Ok(t.as_str()),
                other => Err(format!("argument {name:?} holds {other:?}, not a computed tensor")),
            })
            .collect()
    }

    fn literal(&self, name: &str) -> Option<&'n Json> {
        match self.arg(name) {
            Some(Arg::Literal(v)) => Some(v),
            _ => None,
        }
    }

    /// An int argument, `default` when omitted.
    pub fn int(&self, name: &str, default: i64) -> std::result::Result<i64, Fail> {
        match self.arg(name) {
            None => Ok(default),
            Some(Arg::Literal(v)) => v.as_i64().ok_or_else(|| format!("argument {name:?} is not an integer: {v}")),
            Some(other) => Err(format!("argument {name:?} must be a literal integer, not {other:?}")),
        }
    }

    /// An optional int argument (None when omitted or None).
    pub fn opt_int(&self, name: &str) -> std::result::Result<Option<i64>, Fail> {
        self.arg(name).map(|_| self.int(name, 0)).transpose()
    }

    /// A literal int list argument, `default` when omitted (a single int is a list of one).
    pub fn ints(&self, name: &str, default: &[i64]) -> std::result::Result<Vec<i64>, Fail> {
        match self.arg(name) {
            None => Ok(default.to_vec()),
            Some(a) => literal_ints(a).ok_or_else(|| format!("argument {name:?} must be literal integers, not {a:?}")),
        }
    }

    /// A float argument (an int literal too), `default` when omitted.
    pub fn float(&self, name: &str, default: f64) -> std::result::Result<f64, Fail> {
        match self.literal(name) {
            None if self.arg(name).is_none() => Ok(default),
            Some(v) => number(v).ok_or_else(|| format!("argument {name:?} is not a number: {v}")),
            None => Err(format!("argument {name:?} must be a literal number")),
        }
    }

    /// An optional float argument.
    pub fn opt_float(&self, name: &str) -> std::result::Result<Option<f64>, Fail> {
        self.arg(name).map(|_| self.float(name, 0.0)).transpose()
    }

    /// A bool argument, `default` when omitted.
    pub fn bool(&self, name: &str, default: bool) -> std::result::Result<bool, Fail> {
        match self.literal(name) {
            None if self.arg(name).is_none() => Ok(default),
            Some(v) => v.as_bool().ok_or_else(|| format!("argument {name:?} is not a bool: {v}")),
            None => Err(format!("argument {name:?} must be a literal bool")),
        }
    }

    /// A string argument (None when omitted).
    pub fn str(&self, name: &str) -> Option<&'n str> {
        self.literal(name).and_then(Json::as_str)
    }

    /// Output `i`'s name.
    pub fn out(&self, i: usize) -> std::result::Result<&'n str, Fail> {
        self.node.outputs.get(i).and_then(value_name).ok_or_else(|| format!("the call has no output {i}"))
    }

    /// The metadata of output `i`.
    pub fn out_meta(&self, i: usize) -> std::result::Result<&'n TensorMeta, Fail> {
        let name = self.out(i)?;
        self.graph.tensors.get(name).ok_or_else(|| format!("the program records no type for {name:?}"))
    }
}

/// A JSON number, or torch's spelling of the infinities and NaN.
pub(crate) fn number(v: &Json) -> Option<f64> {
    v.as_f64().or_else(|| match v.as_str()? {
        "inf" | "Infinity" => Some(f64::INFINITY),
        "-inf" | "-Infinity" => Some(f64::NEG_INFINITY),
        "nan" | "NaN" => Some(f64::NAN),
        _ => None,
    })
}

/// A dimension index normalised to `0..rank` (negative counts from the end).
pub(crate) fn axis(dim: i64, rank: usize) -> std::result::Result<i64, Fail> {
    let r = rank as i64;
    let d = if dim < 0 { dim + r } else { dim };
    if (0..r.max(1)).contains(&d) {
        Ok(d)
    } else {
        Err(format!("dimension {dim} is out of range for rank {rank}"))
    }
}
