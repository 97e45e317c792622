//! Running an ONNX model with tract (feature `engine`), natively and in wasm; a `.pt2` runs as the
//! ONNX model `crate::pt2` translates its exported program into (the same proto -> session path).
//!
//! `Session::load` parses the model once, checks every operator against tract's register (an
//! unsupported one is an error naming the operator, the node and the opset, before any run),
//! optimises the plan and keeps one execution state, so `run` only feeds tensors through it.
//! Inputs and outputs cross the API as `NamedArray`: a name, a dtype, a shape and little-endian bytes.

use torchpeek::container::onnx::schema::{self, dtype_of};
use torchpeek::container::onnx::{external_data, model_index, parse};
use torchpeek::dtype::DType;
use torchpeek::error::{Error, Result};
use torchpeek::source::{MemSource, Source};
use crate::io::{check_bytes, read_model, tensor_bytes, unsupported, Dim, IoInfo, NamedArray};
use tract_onnx::pb;
use tract_onnx::prelude::*;
/// tract's tensor, as `run_tensors` and `input_tensor` take and give it.
pub use tract_onnx::prelude::Tensor;

/// A model prepared to run.
pub struct Session {
    inputs: Vec<IoInfo>,
    outputs: Vec<IoInfo>,
    /// For each plan input (in the plan's order): its name and datum type.
    plan_inputs: Vec<(String, DatumType)>,
    /// For each plan output: its name and the dtype the model declares.
    plan_outputs: Vec<(String, Option<DType>)>,
    /// The decluttered model, kept when some input dimension is symbolic: runs use plans
    /// specialised to the shapes actually given, which run faster than one optimised for every
    /// shape (kernels chosen for known sizes, weights packed once).
    generic: Option<TypedModel>,
    /// The plan optimised for every shape: built at load when no input dimension is symbolic,
    /// otherwise only if specialising fails or is turned off (optimising is most of a load).
    general: Option<TypedSimpleState>,
    /// Plans specialised to input shapes, most recent last (None: specialising failed, use the
    /// general plan for these shapes).
    specialized: Vec<(Vec<Vec<usize>>, Option<TypedSimpleState>)>,
    specialize: bool,
    /// Inputs used as Gather indices (token ids into an embedding): checked before a run, since
    /// tract indexes without a bound check and an id past the table would abort the engine.
    index_limits: Vec<IndexLimit>,
    /// The size each symbolic input dimension had when the model was made (a `.pt2`'s example
    /// inputs), by symbol.
    example_sizes: Vec<(String, usize)>,
}

/// A model input that a Gather node uses as indices into a table of `rows` entries.
#[derive(Debug, Clone)]
struct IndexLimit {
    input: String,
    rows: u64,
    node: String,
}

/// How many specialised plans a session keeps.
const MAX_SPECIALIZED: usize = 4;

fn engine_err(context: &str, e: impl std::fmt::Display) -> Error {
    Error::engine(format!("{context}: {e:#}"))
}

fn dims_of(shape: &Option<Vec<schema::Dim>>) -> Option<Vec<Dim>> {
    shape.as_ref().map(|dims| {
        dims.iter()
            .map(|d| match d {
                schema::Dim::Value(v) => u64::try_from(*v).map(Dim::Fixed).unwrap_or(Dim::Unknown),
                schema::Dim::Param(s) => Dim::Symbol(s.clone()),
                schema::Dim::Unknown => Dim::Unknown,
            })
            .collect()
    })
}

fn io_info(v: &schema::ValueInfo) -> IoInfo {
    let dtype = schema::elem_type_from_name(&v.elem_type).and_then(dtype_of);
    IoInfo { name: v.name.clone(), elem_type: v.elem_type.clone(), dtype, shape: dims_of(&v.shape) }
}

/// tract's datum type for a dtype.
fn datum_type(d: DType) -> Option<DatumType> {
    use DType::*;
    Some(match d {
        Float32 => DatumType::F32,
        Float64 => DatumType::F64,
        Float16 => DatumType::F16,
        Int64 => DatumType::I64,
        Int32 => DatumType::I32,
        Int16 => DatumType::I16,
        Int8 => DatumType::I8,
        UInt64 => DatumType::U64,
        UInt32 => DatumType::U32,
        UInt16 => DatumType::U16,
        UInt8 => DatumType::U8,
        Bool => DatumType::Bool,
        _ => return None,
    })
}

/// The dtype of a tract datum type.
fn dtype_of_datum(d: DatumType) -> Option<DType> {
    use DType::*;
    Some(match d {
        DatumType::F32 => Float32,
        DatumType::F64 => Float64,
        DatumType::F16 => Float16,
        DatumType::I64 => Int64,
        DatumType::I32 => Int32,
        DatumType::I16 => Int16,
        DatumType::I8 => Int8,
        DatumType::U64 => UInt64,
        DatumType::U32 => UInt32,
        DatumType::U16 => UInt16,
        DatumType::U8 => UInt8,
        DatumType::Bool => Bool,
        _ => return None,
    })
}

/// Every node of a graph and its subgraphs (If branches, Loop and Scan bodies).
fn walk_nodes<'a>(g: &'a pb::GraphProto, out: &mut Vec<&'a pb::NodeProto>, depth: usize) {
    if depth > torchpeek::limits::MAX_ONNX_DEPTH {
        return;
    }
    for n in &g.node {
        out.push(n);
        for a in &n.attribute {
            if let Some(sub) = &a.g {
                walk_nodes(sub, out, depth + 1);
            }
            for sub in &a.graphs {
                walk_nodes(sub, out, depth + 1);
            }
        }
    }
}

impl Session {
    /// Loads a model from the files given together: the model (`onnx::model_index` picks it) and
    /// its external data files, matched by the base name of each initializer's `location`
    /// (`onnx::external_data`). The model's bytes are read once; of the external files, only the
    /// ranges initializers name. A `.pt2` (torch.export archive) given alone is translated first
    /// (`crate::pt2`): an operator without a translation is an error naming it and its node.
    pub fn load(sources: &[&dyn Source]) -> Result<Session> {
        let onnx = tract_onnx::onnx();
        if let Some(model) = crate::pt2::open(sources)? {
            let t = crate::pt2::translate(&model)?;
            let mut session = Session::from_proto(&onnx, t.proto, t.inputs, t.outputs)?;
            session.example_sizes = t.example_sizes;
            return Ok(session);
        }
        let at = model_index(sources.iter().copied());
        let file = *sources.get(at).ok_or_else(|| Error::engine("no model file given"))?;
        let model = read_model(file)?;
        // Our own reader first: it validates the file without panicking and gives the I/O info.
        let info = parse(&MemSource::new(file.name(), &model[..]))?;
        let g = info.graph.as_ref().ok_or_else(|| Error::engine("the model has no graph"))?;
        let inputs: Vec<IoInfo> = schema::model_inputs(g).into_iter().map(io_info).collect();
        let outputs: Vec<IoInfo> = g.outputs.iter().map(io_info).collect();

        // Decoded from the bytes in place: tract's `proto_model_for_read` copies the whole file
        // first (initializers included), before decoding copies each initializer again.
        let mut proto = <pb::ModelProto as prost::Message>::decode(&model[..])
            .map_err(|e| engine_err("cannot decode the model", e))?;
        drop(model);
        let opset = proto
            .opset_import
            .iter()
            .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
            .map(|o| o.version)
            .unwrap_or(0);

        // Unsupported operators, named before anything is built.
        if let Some(graph) = &proto.graph {
            let mut nodes = Vec::new();
            walk_nodes(graph, &mut nodes, 0);
            let missing: Vec<String> = nodes
                .iter()
                .filter(|n| !onnx.op_register.0.contains_key(&n.op_type))
                .map(|n| {
                    let domain = if n.domain.is_empty() { "ai.onnx" } else { &n.domain };
                    let node = if n.name.is_empty() { n.output.first().cloned().unwrap_or_default() } else { n.name.clone() };
                    format!("{domain}::{} (node {node:?}, opset {opset})", n.op_type)
                })
                .collect();
            if !missing.is_empty() {
                return Err(unsupported(&missing));
            }
        }

        // External data: resolved as the core's reader resolves it for the document, read from
        // the files and moved into raw_data, so tract never opens a file.
        let candidates: Vec<&dyn Source> = sources.iter().enumerate().filter(|&(i, _)| i != at).map(|(_, s)| *s).collect();
        let mut ranges = std::collections::HashMap::new();
        for init in g.initializers.iter().filter(|i| i.is_external()) {
            let bytes = init.numel().zip(dtype_of(init.data_type)).map(|(n, d)| n.saturating_mul(d.itemsize()));
            let e = bytes
                .ok_or_else(|| format!("dims {:?} and element type {} give no size", init.dims, schema::elem_type_name(init.data_type as i64)))
                .and_then(|bytes| external_data(init, bytes, &candidates))
                .map_err(|reason| Error::engine(format!("initializer {:?}: {reason}", init.name)))?;
            ranges.insert(init.name.as_str(), e);
        }
        if let Some(graph) = proto.graph.as_mut() {
            for t in graph.initializer.iter_mut() {
                if let Some(e) = ranges.get(t.name.as_str()) {
                    t.raw_data = candidates[e.file].read_vec(e.offset, e.length)?;
                    t.external_data.clear();
                    t.data_location = None;
                }
            }
        }

        Session::from_proto(&onnx, proto, inputs, outputs)
    }

    /// A session over a decoded model whose data is all in memory (an ONNX file's, or a `.pt2`
    /// translated), with its inputs and outputs as declared.
    fn from_proto(onnx: &tract_onnx::Onnx, proto: pb::ModelProto, inputs: Vec<IoInfo>, outputs: Vec<IoInfo>) -> Result<Session> {
        let model = onnx.model_for_proto_model(&proto).map_err(|e| engine_err("cannot build the model", e))?;
        drop(proto);
        let typed = model
            .into_typed()
            .and_then(|mut m| crate::declutter::declutter(&mut m).map(|_| m))
            .map_err(|e| engine_err("cannot prepare the model", e))?;
        let index_limits = index_limits(&typed).map_err(|e| engine_err("model inputs", e))?;
        let mut symbolic = false;
        let mut plan_inputs = Vec::new();
        for outlet in typed.input_outlets().map_err(|e| engine_err("model inputs", e))? {
            let name = typed.node(outlet.node).name.clone();
            let fact = typed.outlet_fact(*outlet).map_err(|e| engine_err("model inputs", e))?;
            symbolic |= fact.shape.iter().any(|d| d.to_i64().is_err());
            plan_inputs.push((name, fact.datum_type));
        }
        let mut plan_outputs = Vec::new();
        for (i, outlet) in typed.output_outlets().map_err(|e| engine_err("model outputs", e))?.iter().enumerate() {
            let name = typed
                .outlet_label(*outlet)
                .map(|s| s.to_string())
                .or_else(|| outputs.get(i).map(|o| o.name.clone()))
                .unwrap_or_else(|| format!("output{i}"));
            let declared = outputs.iter().find(|o| o.name == name).and_then(|o| o.dtype);
            plan_outputs.push((name, declared));
        }
        let (generic, general) = if symbolic {
            (Some(typed), None)
        } else {
            (None, Some(plan_of(typed).map_err(|e| engine_err("cannot prepare the model", e))?))
        };
        Ok(Session {
            inputs,
            outputs,
            plan_inputs,
            plan_outputs,
            generic,
            general,
            specialized: Vec::new(),
            specialize: true,
            index_limits,
            example_sizes: Vec::new(),
        })
    }

    /// The model's inputs (graph inputs that are not initializers), as declared.
    pub fn inputs(&self) -> Vec<IoInfo> {
        self.inputs.clone()
    }

    /// The size symbolic dimension `symbol` had in the example the model was exported with (`.pt2`).
    pub fn example_size(&self, symbol: &str) -> Option<usize> {
        self.example_sizes.iter().find(|(s, _)| s == symbol).map(|&(_, n)| n)
    }

    /// The number of rows of the smallest table input `name` indexes (token ids into an
    /// embedding), if it indexes one: valid values are `0..rows`.
    pub fn index_bound(&self, name: &str) -> Option<u64> {
        self.index_limits.iter().filter(|l| l.input == name).map(|l| l.rows).min()
    }

    /// The model's outputs, as declared.
    pub fn outputs(&self) -> Vec<IoInfo> {
        self.outputs.clone()
    }

    /// Runs the model once. Every input must be given, by name; or, when none of the names given is
    /// an input's, in the order of `inputs()` (another model's inputs: a `.pt2` and its ONNX
    /// export may name them differently). Extra names are an error.
    pub fn run(&mut self, inputs: Vec<NamedArray>) -> Result<Vec<NamedArray>> {
        let tensors = inputs.into_iter().map(|a| Ok((a.name.clone(), to_tensor(a)?))).collect::<Result<Vec<_>>>()?;
        self.run_tensors(tensors)?
            .into_iter()
            .map(|(name, dtype, t)| Ok(NamedArray { name, dtype, shape: t.shape().to_vec(), data: t.as_bytes().to_vec() }))
            .collect()
    }

    /// Runs the model once on tract tensors `(input name, tensor)` (see [`input_tensor`]): the
    /// outputs as `(name, dtype, tensor)`, each in the dtype the model declares.
    pub fn run_tensors(&mut self, mut inputs: Vec<(String, Tensor)>) -> Result<Vec<(String, DType, Tensor)>> {
        let known = |name: &str| self.plan_inputs.iter().any(|(n, _)| n == name);
        if inputs.len() == self.plan_inputs.len() && !inputs.iter().any(|(n, _)| known(n)) {
            for ((name, _), (input, _)) in inputs.iter_mut().zip(&self.plan_inputs) {
                name.clone_from(input);
            }
        }
        let mut by_name: Vec<Option<(String, Tensor)>> = inputs.into_iter().map(Some).collect();
        for (name, _) in by_name.iter().flatten() {
            if !known(name) {
                let names: Vec<&str> = self.plan_inputs.iter().map(|(n, _)| n.as_str()).collect();
                return Err(Error::engine(format!("the model has no input {name:?} (its inputs: {})", names.join(", "))));
            }
        }
        let mut values: TVec<TValue> = tvec![];
        for (name, dt) in &self.plan_inputs {
            let slot = by_name.iter_mut().find(|a| a.as_ref().is_some_and(|(n, _)| n == name));
            let Some((_, t)) = slot.and_then(|s| s.take()) else {
                return Err(Error::engine(format!("input {name:?} was not given")));
            };
            self.check_shape(name, t.shape())?;
            self.check_indices(name, &t)?;
            values.push(cast_input(name, t, *dt)?.into());
        }
        let outs = match self.specialized_state(&values) {
            Some(state) => state.run(values),
            None => self.general_state()?.run(values),
        }
        .map_err(|e| engine_err("running the model failed", e))?;
        let mut result = Vec::with_capacity(outs.len());
        for (i, v) in outs.into_iter().enumerate() {
            let (name, declared) = self.plan_outputs.get(i).cloned().unwrap_or((format!("output{i}"), None));
            let (dtype, t) = output_tensor(&name, v.into_tensor(), declared)?;
            result.push((name, dtype, t));
        }
        Ok(result)
    }

    /// Whether runs use plans specialised to the input shapes given (default: yes). Without, every
    /// run uses the one plan optimised with symbolic dimensions.
    pub fn set_specialize(&mut self, on: bool) {
        self.specialize = on;
    }

    /// The state of the plan optimised for every shape, built on first use.
    fn general_state(&mut self) -> Result<&mut TypedSimpleState> {
        if self.general.is_none() {
            let model = self.generic.clone().ok_or_else(|| Error::engine("the model has no plan"))?;
            self.general = Some(plan_of(model).map_err(|e| engine_err("cannot prepare the model", e))?);
        }
        Ok(self.general.as_mut().expect("built above"))
    }

    /// The state of a plan specialised to these inputs' shapes, built on first use.
    fn specialized_state(&mut self, values: &[TValue]) -> Option<&mut TypedSimpleState> {
        let generic = self.generic.as_ref().filter(|_| self.specialize)?;
        let key: Vec<Vec<usize>> = values.iter().map(|v| v.shape().to_vec()).collect();
        let found = self.specialized.iter().position(|(k, _)| *k == key);
        let index = match found {
            Some(i) => i,
            None => {
                let state = specialize(generic, &key).ok();
                if self.specialized.len() >= MAX_SPECIALIZED {
                    self.specialized.remove(0);
                }
                self.specialized.push((key, state));
                self.specialized.len() - 1
            }
        };
        self.specialized[index].1.as_mut()
    }

    /// Checks a given input's shape against the rank and fixed dimensions the model declares.
    fn check_shape(&self, name: &str, shape: &[usize]) -> Result<()> {
        let Some(dims) = self.inputs.iter().find(|i| i.name == name).and_then(|i| i.shape.as_ref()) else { return Ok(()) };
        let fits =
            dims.len() == shape.len() && dims.iter().zip(shape).all(|(d, &s)| !matches!(d, Dim::Fixed(f) if *f != s as u64));
        if !fits {
            return Err(Error::engine(format!("input {name:?} has shape {shape:?}, the model expects {}", describe_dims(dims))));
        }
        Ok(())
    }

    /// Checks the values of an input used as Gather indices against the table they index.
    fn check_indices(&self, name: &str, t: &Tensor) -> Result<()> {
        for limit in self.index_limits.iter().filter(|l| l.input == name) {
            let rows = limit.rows as i64;
            let outside = |&(_, v): &(usize, i64)| v < -rows || v >= rows;
            let bad = match t.datum_type() {
                DatumType::I64 => t.to_plain_array_view::<i64>().map(|s| s.iter().copied().enumerate().find(outside)),
                DatumType::I32 => t.to_plain_array_view::<i32>().map(|s| s.iter().map(|&v| v as i64).enumerate().find(outside)),
                _ => continue,
            }
            .map_err(|e| engine_err(&format!("input {name:?}"), e))?;
            if let Some((at, v)) = bad {
                return Err(Error::engine(format!(
                    "input {name:?}: value {v} at position {at} is out of range: node {:?} (Gather) uses it to index a table of {rows} rows (valid: 0..{rows}, or negative from the end)",
                    limit.node
                )));
            }
        }
        Ok(())
    }

}

/// Model inputs that Gather nodes take as indices (directly or through casts), with the number of
/// rows of the table each indexes where that is a known number.
fn index_limits(model: &TypedModel) -> TractResult<Vec<IndexLimit>> {
    use tract_onnx::tract_core::ops::array::Gather;
    use tract_onnx::tract_core::ops::cast::Cast;
    let mut limits = Vec::new();
    for node in model.nodes() {
        let Some(gather) = node.op_as::<Gather>() else { continue };
        let (Some(data), Some(indices)) = (node.inputs.first(), node.inputs.get(1)) else { continue };
        let Some(Ok(rows)) = model.outlet_fact(*data)?.shape.get(gather.axis).map(|d| d.to_i64()) else { continue };
        let mut source = *indices;
        while let (true, Some(input)) = (model.node(source.node).op_is::<Cast>(), model.node(source.node).inputs.first()) {
            source = *input;
        }
        if model.input_outlets()?.contains(&source) {
            let input = model.node(source.node).name.clone();
            limits.push(IndexLimit { input, rows: rows as u64, node: node.name.clone() });
        }
    }
    Ok(limits)
}

/// The plan of a decluttered `model`: rewritten (see `rewrite`), our kernels swapped in where its
/// shapes are concrete (see `kernels`), then tract's code generation (symbolic dimensions left
/// symbolic).
fn plan_of(mut model: TypedModel) -> TractResult<TypedSimpleState> {
    crate::rewrite::rewrite(&mut model)?;
    crate::kernels::swap_in(&mut model)?;
    model.optimize()?;
    TypedSimpleState::new(&model.into_runnable()?)
}

/// A plan for `model` with its symbolic input dimensions set from `shapes`.
fn specialize(model: &TypedModel, shapes: &[Vec<usize>]) -> TractResult<TypedSimpleState> {
    let mut subs: std::collections::HashMap<Symbol, TDim> = Default::default();
    for (outlet, shape) in model.input_outlets()?.iter().zip(shapes) {
        let fact = model.outlet_fact(*outlet)?;
        if fact.shape.len() != shape.len() {
            tract_onnx::tract_hir::internal::bail!("rank mismatch");
        }
        for (d, &n) in fact.shape.iter().zip(shape) {
            if let TDim::Sym(s) = d {
                subs.insert(s.clone(), TDim::Val(n as i64));
            }
        }
    }
    // Concrete sizes let the declutter passes fold what was shape arithmetic (a dynamo export has
    // a lot of it), before the plan is built.
    let mut model = model.set_symbols(&subs)?;
    crate::declutter::declutter(&mut model)?;
    plan_of(model)
}

fn describe_dims(dims: &[Dim]) -> String {
    let parts: Vec<String> = dims
        .iter()
        .map(|d| match d {
            Dim::Fixed(n) => n.to_string(),
            Dim::Symbol(s) => s.clone(),
            Dim::Unknown => "?".to_string(),
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// An input tensor of `dtype` and `shape` from `len` little-endian, row-major bytes, which `fill`
/// writes into it: the wasm bindings copy a JS typed array straight in.
pub fn input_tensor(name: &str, dtype: DType, shape: &[usize], len: usize, fill: impl FnOnce(&mut [u8])) -> Result<Tensor> {
    let dt = datum_type(dtype)
        .ok_or_else(|| Error::engine(format!("input {name:?}: dtype {} is not supported by the engine", dtype.name())))?;
    if tensor_bytes(dtype, shape).is_none_or(|b| b > torchpeek::limits::MAX_ENGINE_TENSOR_BYTES) {
        return Err(Error::engine(format!("input {name:?}: shape {shape:?} is too large")));
    }
    check_bytes(name, dtype, shape, len)?;
    // Tensors of bool are filled as bytes: zeroed u8 storage, normalised to 0/1, then relabelled.
    let storage_dt = if dt == DatumType::Bool { DatumType::U8 } else { dt };
    let mut t = Tensor::zero_dt(storage_dt, shape).map_err(|e| engine_err(&format!("input {name:?}"), e))?;
    fill(t.as_bytes_mut());
    if dt == DatumType::Bool {
        for b in t.as_bytes_mut() {
            *b = (*b != 0) as u8;
        }
        // SAFETY: u8 and bool have the same size and alignment, and every byte is now 0 or 1.
        unsafe { t.set_datum_type(DatumType::Bool) };
    }
    Ok(t)
}

/// A NamedArray as a tract tensor.
fn to_tensor(a: NamedArray) -> Result<Tensor> {
    input_tensor(&a.name, a.dtype, &a.shape, a.data.len(), |b| b.copy_from_slice(&a.data))
}

/// An input converted to the datum type the plan takes, where it differs.
fn cast_input(name: &str, t: Tensor, dt: DatumType) -> Result<Tensor> {
    if t.datum_type() == dt || !(dt.is_number() || dt == DatumType::Bool) {
        return Ok(t);
    }
    t.cast_to_dt(dt)
        .map(|c| c.into_owned())
        .map_err(|e| engine_err(&format!("input {name:?}: cannot convert {:?} to {dt:?}", t.datum_type()), e))
}

/// An output in the declared dtype where tract computed another, with its dtype.
fn output_tensor(name: &str, t: Tensor, declared: Option<DType>) -> Result<(DType, Tensor)> {
    let target = declared.and_then(datum_type).or_else(|| dtype_of_datum(t.datum_type()).and_then(datum_type));
    let target = match target {
        Some(dt) => dt,
        // TDim (shape computations) and the like: integers.
        None => DatumType::I64,
    };
    let t = if t.datum_type() == target {
        t
    } else {
        t.cast_to_dt(target).map_err(|e| engine_err(&format!("output {name:?}"), e))?.into_owned()
    };
    Ok((dtype_of_datum(target).unwrap_or(DType::Int64), t))
}

