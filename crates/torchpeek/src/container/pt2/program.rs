//! The ExportedProgram of a `.pt2` archive (`<root>/models/model.json`, written by torch >= 2.6's
//! `torch.export.save`) read into typed structs: the graph's nodes (ATen targets, named arguments,
//! outputs, the module each came from), the tensor and symbolic values with their metadata, the
//! graph signature, and the ranges of the symbolic sizes. Read, never run.
//!
//! torch.export's serialized schema is a tree of one-key unions (`{"as_tensor": {"name": ..}}`);
//! this reader takes what it knows and keeps anything else as a named unknown, so a newer schema
//! still shows. Sizes are bounded: the member (`MAX_GRAPH_JSON_BYTES`), serde_json's own nesting
//! limit, the node count and subgraph depth (`limits`).

use crate::dtype::DType;
use crate::error::{Error, Location, Result};
use crate::limits;
use serde_json::{json, Map, Value as Json};
use std::collections::BTreeMap;

/// An exported program, as the archive describes it.
#[derive(Debug, Clone, Default)]
pub struct Program {
    /// The archive member it was read from.
    pub member: String,
    /// `major.minor` of torch.export's schema.
    pub schema_version: Option<String>,
    pub torch_version: Option<String>,
    /// Operator set versions by namespace (`aten`).
    pub opsets: Vec<(String, i64)>,
    /// The dialect (`TRAINING`, `ATEN`, ...).
    pub verifiers: Vec<String>,
    pub graph: Graph,
    pub inputs: Vec<InputSpec>,
    pub outputs: Vec<OutputSpec>,
    /// Ranges of the symbolic sizes, by symbol name.
    pub ranges: Vec<SymRange>,
    /// What could not be read, each naming where; the rest still shows.
    pub problems: Vec<String>,
}

/// A graph: the top-level one, or the body of a control-flow operator.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Graph {
    /// A subgraph's name (`true_graph_0`); empty for the program's graph.
    pub name: String,
    pub inputs: Vec<Arg>,
    pub outputs: Vec<Arg>,
    pub nodes: Vec<Node>,
    /// Tensor values by name.
    pub tensors: BTreeMap<String, TensorMeta>,
    /// Symbolic scalars (`sym_size_int_1`) by name.
    pub symbols: BTreeMap<String, Dim>,
}

/// One call in the graph.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Node {
    pub name: String,
    /// `aten.conv2d.default`: the target without torch's `torch.ops.` prefix.
    pub target: String,
    pub args: Vec<NamedArg>,
    pub outputs: Vec<Arg>,
    /// The innermost module the call came from: (path, class), from `nn_module_stack`.
    pub module: Option<(String, String)>,
    pub stack_trace: Option<String>,
}

/// An argument with the name the operator's schema gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedArg {
    pub name: String,
    /// Given by keyword (torch's `kind` 2).
    pub keyword: bool,
    pub value: Arg,
}

/// An argument or output value.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    None,
    /// A tensor value, by name.
    Tensor(String),
    /// A symbolic scalar (SymInt, SymBool, SymFloat) computed in the graph, by name.
    Symbol(String),
    /// A literal: numbers, booleans, strings, lists of them, a dtype or device name.
    Literal(Json),
    List(Vec<Arg>),
    /// A subgraph (the branches and bodies of `cond`, `while_loop`, ...).
    Graph(Box<Graph>),
    /// A union member this reader does not know, by its key, with its JSON.
    Unknown(String, Json),
}

/// A size: a number, or a symbolic expression (`s27`) with the example value it was traced with.
#[derive(Debug, Clone, PartialEq)]
pub enum Dim {
    Int(i64),
    Sym { expr: String, hint: Option<i64> },
}

/// What the program records of a tensor value.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorMeta {
    /// None for a dtype code this reader does not know.
    pub dtype: Option<DType>,
    pub shape: Vec<Dim>,
    pub requires_grad: bool,
}

/// One input of the graph signature.
#[derive(Debug, Clone, PartialEq)]
pub struct InputSpec {
    /// `user_input`, `parameter`, `buffer`, `tensor_constant`, `custom_obj`, `token`, `constant_input`.
    pub kind: String,
    /// The graph's placeholder.
    pub name: String,
    /// The state_dict (or constants) name it stands for, where the kind has one.
    pub target: Option<String>,
    /// For a buffer: whether it is in the state_dict.
    pub persistent: Option<bool>,
}

/// One output of the graph signature.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputSpec {
    /// `user_output`, `buffer_mutation`, `user_input_mutation`, `loss_output`, `gradient_to_parameter`, ...
    pub kind: String,
    /// The graph value returned (None for a literal output).
    pub name: Option<String>,
    /// The buffer, parameter or input it writes to, where the kind has one.
    pub target: Option<String>,
}

/// The range torch.export proved or was told for a symbol.
#[derive(Debug, Clone, PartialEq)]
pub struct SymRange {
    pub symbol: String,
    pub min: Option<i64>,
    pub max: Option<i64>,
}

/// Reads a program from the bytes of `member`. Malformed JSON or a missing graph is an error;
/// anything narrower is a problem of the program, and the rest is read.
pub fn parse(bytes: &[u8], member: &str) -> Result<Program> {
    let at = || Location::member(member);
    let root: Json = serde_json::from_slice(bytes).map_err(|e| Error::corrupt(at(), format!("bad JSON: {e}")))?;
    let gm = root.get("graph_module").and_then(Json::as_object).ok_or_else(|| Error::corrupt(at(), "no \"graph_module\" object"))?;
    let graph_json = gm.get("graph").ok_or_else(|| Error::corrupt(at(), "no \"graph_module.graph\""))?;
    let mut reader = Reader { nodes: 0, problems: Vec::new() };
    let graph = reader.graph(graph_json, 0, "graph")?;
    let mut p = Program { member: member.to_string(), graph, ..Program::default() };
    if let Some(v) = root.get("schema_version") {
        p.schema_version = match (v.get("major").and_then(Json::as_i64), v.get("minor").and_then(Json::as_i64)) {
            (Some(a), Some(b)) => Some(format!("{a}.{b}")),
            _ => None,
        };
    }
    p.torch_version = root.get("torch_version").and_then(Json::as_str).map(str::to_string);
    if let Some(o) = root.get("opset_version").and_then(Json::as_object) {
        p.opsets = o.iter().filter_map(|(k, v)| Some((k.clone(), v.as_i64()?))).collect();
    }
    if let Some(v) = root.get("verifiers").and_then(Json::as_array) {
        p.verifiers = v.iter().filter_map(|s| s.as_str().map(str::to_string)).collect();
    } else if let Some(d) = root.get("dialect").and_then(Json::as_str) {
        p.verifiers = vec![d.to_string()];
    }
    if let Some(r) = root.get("range_constraints").and_then(Json::as_object) {
        p.ranges = r
            .iter()
            .map(|(symbol, v)| SymRange {
                symbol: symbol.clone(),
                min: v.get("min_val").and_then(Json::as_i64),
                max: v.get("max_val").and_then(Json::as_i64),
            })
            .collect();
    }
    match gm.get("signature") {
        Some(sig) => {
            for (i, spec) in sig.get("input_specs").and_then(Json::as_array).into_iter().flatten().enumerate() {
                match input_spec(spec) {
                    Some(s) => p.inputs.push(s),
                    None => reader.problem(format!("signature input #{i} is not understood: {}", clip(spec))),
                }
            }
            for (i, spec) in sig.get("output_specs").and_then(Json::as_array).into_iter().flatten().enumerate() {
                match output_spec(spec) {
                    Some(s) => p.outputs.push(s),
                    None => reader.problem(format!("signature output #{i} is not understood: {}", clip(spec))),
                }
            }
        }
        None => reader.problem("the program has no graph signature".into()),
    }
    p.problems = reader.problems;
    Ok(p)
}

/// At most this many problems are kept; the rest are counted in the last one.
const MAX_PROBLEMS: usize = 100;

struct Reader {
    /// Nodes read so far, over every subgraph.
    nodes: usize,
    problems: Vec<String>,
}

impl Reader {
    fn problem(&mut self, p: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(p);
        } else if self.problems.len() == MAX_PROBLEMS {
            self.problems.push("more problems are not listed".into());
        }
    }

    fn graph(&mut self, g: &Json, depth: usize, path: &str) -> Result<Graph> {
        if depth > limits::MAX_GRAPH_DEPTH {
            return Err(Error::Limit {
                at: Location::member(path),
                what: "subgraph nesting",
                found: depth as u64,
                limit: limits::MAX_GRAPH_DEPTH as u64,
            });
        }
        let mut out = Graph::default();
        let list = |key: &str| g.get(key).and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
        for (i, a) in list("inputs").iter().enumerate() {
            out.inputs.push(self.arg(a, depth, &format!("{path} input #{i}"))?);
        }
        for (i, a) in list("outputs").iter().enumerate() {
            out.outputs.push(self.arg(a, depth, &format!("{path} output #{i}"))?);
        }
        for (i, n) in list("nodes").iter().enumerate() {
            self.nodes += 1;
            if self.nodes > limits::MAX_GRAPH_NODES {
                return Err(Error::Limit {
                    at: Location::member(path),
                    what: "graph nodes",
                    found: self.nodes as u64,
                    limit: limits::MAX_GRAPH_NODES as u64,
                });
            }
            let node = self.node(n, depth, &format!("{path} node #{i}"))?;
            out.nodes.push(node);
        }
        if let Some(values) = g.get("tensor_values").and_then(Json::as_object) {
            for (name, meta) in values {
                match tensor_meta(meta) {
                    Some(t) => {
                        out.tensors.insert(name.clone(), t);
                    }
                    None => self.problem(format!("{path}: the metadata of tensor {name:?} is not understood")),
                }
            }
        }
        for key in ["sym_int_values", "sym_bool_values", "sym_float_values"] {
            for (name, v) in g.get(key).and_then(Json::as_object).into_iter().flatten() {
                if let Some(d) = dim(v) {
                    out.symbols.insert(name.clone(), d);
                }
            }
        }
        Ok(out)
    }

    fn node(&mut self, n: &Json, depth: usize, path: &str) -> Result<Node> {
        let target = match n.get("target").and_then(Json::as_str) {
            Some(t) => t.strip_prefix("torch.ops.").unwrap_or(t).to_string(),
            None => {
                self.problem(format!("{path} has no target"));
                "?".to_string()
            }
        };
        let name = n.get("name").and_then(Json::as_str).unwrap_or_default().to_string();
        let at = if name.is_empty() { path.to_string() } else { format!("node {name:?}") };
        let mut node = Node { name, target, ..Node::default() };
        for (i, a) in n.get("inputs").and_then(Json::as_array).into_iter().flatten().enumerate() {
            let given = a.get("name").and_then(Json::as_str).filter(|n| !n.is_empty());
            let value = match a.get("arg") {
                Some(v) => self.arg(v, depth, &format!("{at} argument #{i}"))?,
                None => Arg::None,
            };
            // Higher-order operators (`cond`) leave their arguments unnamed: a subgraph goes by its own name.
            let arg_name = match (given, &value) {
                (Some(n), _) => n.to_string(),
                (None, Arg::Graph(g)) if !g.name.is_empty() => g.name.clone(),
                (None, _) => format!("#{i}"),
            };
            node.args.push(NamedArg { name: arg_name, keyword: a.get("kind").and_then(Json::as_i64) == Some(2), value });
        }
        for (i, o) in n.get("outputs").and_then(Json::as_array).into_iter().flatten().enumerate() {
            node.outputs.push(self.arg(o, depth, &format!("{at} output #{i}"))?);
        }
        if let Some(meta) = n.get("metadata") {
            node.stack_trace = meta.get("stack_trace").and_then(Json::as_str).map(str::to_string);
            // "path0,fqn0,class0;path1,fqn1,class1;..." outermost first; the innermost is the caller.
            if let Some(stack) = meta.get("nn_module_stack").and_then(Json::as_str) {
                node.module = stack.rsplit(';').next().and_then(|last| {
                    let mut parts = last.splitn(2, ',');
                    let _key = parts.next()?;
                    let (fqn, class) = parts.next()?.rsplit_once(',')?;
                    Some((fqn.to_string(), class.to_string()))
                });
                // torch's placeholder for a node made by a pass, not by a module.
                node.module = node.module.filter(|(fqn, _)| !fqn.starts_with("_empty_nn_module_stack"));
            }
        }
        Ok(node)
    }

    /// One union value: `{"as_tensor": {"name": "x"}}`, `{"as_int": 3}`, ...
    fn arg(&mut self, v: &Json, depth: usize, path: &str) -> Result<Arg> {
        let Some((key, inner)) = v.as_object().and_then(|o| o.iter().find(|(_, v)| !v.is_null()).or_else(|| o.iter().next())) else {
            return Ok(Arg::Unknown("?".into(), v.clone()));
        };
        let named = |x: &Json| x.get("name").and_then(Json::as_str).map(str::to_string);
        Ok(match key.as_str() {
            "as_none" => Arg::None,
            "as_tensor" => named(inner).map_or_else(|| Arg::Unknown(key.clone(), inner.clone()), Arg::Tensor),
            "as_tensors" => Arg::List(inner.as_array().into_iter().flatten().map(|t| named(t).map_or(Arg::None, Arg::Tensor)).collect()),
            "as_optional_tensor" => self.arg(inner, depth, path)?,
            "as_optional_tensors" | "as_sym_ints" | "as_sym_bools" | "as_sym_floats" => {
                let mut items = Vec::new();
                for x in inner.as_array().into_iter().flatten() {
                    items.push(self.arg(x, depth, path)?);
                }
                Arg::List(items)
            }
            "as_sym_int" | "as_sym_bool" | "as_sym_float" => match inner.get("as_name").and_then(Json::as_str) {
                Some(n) => Arg::Symbol(n.to_string()),
                None => inner.as_object().and_then(|o| o.values().next()).cloned().map_or(Arg::None, Arg::Literal),
            },
            "as_name" => inner.as_str().map_or(Arg::None, |n| Arg::Symbol(n.to_string())),
            "as_int" | "as_float" | "as_bool" | "as_string" | "as_ints" | "as_floats" | "as_bools" | "as_strings" | "as_int_lists"
            | "as_operator" | "as_complex" => Arg::Literal(inner.clone()),
            "as_scalar_type" => Arg::Literal(inner.as_i64().and_then(dtype_of).map_or_else(|| inner.clone(), |d| Json::from(d.name()))),
            "as_device" => {
                let t = inner.get("type").and_then(Json::as_str).unwrap_or("?");
                Arg::Literal(Json::from(match inner.get("index").and_then(Json::as_i64) {
                    Some(i) => format!("{t}:{i}"),
                    None => t.to_string(),
                }))
            }
            "as_memory_format" => Arg::Literal(Json::from(match inner.as_i64() {
                Some(1) => "contiguous_format",
                Some(2) => "channels_last",
                Some(3) => "channels_last_3d",
                Some(4) => "preserve_format",
                _ => "unknown",
            })),
            "as_layout" => Arg::Literal(Json::from(match inner.as_i64() {
                Some(7) => "strided",
                Some(1) => "sparse_coo",
                Some(2) => "sparse_csr",
                _ => "unknown",
            })),
            "as_graph" => {
                let mut g = self.graph(inner.get("graph").unwrap_or(inner), depth + 1, path)?;
                g.name = inner.get("name").and_then(Json::as_str).unwrap_or_default().to_string();
                Arg::Graph(Box::new(g))
            }
            _ => Arg::Unknown(key.clone(), inner.clone()),
        })
    }
}

/// A spec's fields: `{"parameter": {"arg": {"name": "p_fc_weight"}, "parameter_name": "fc.weight"}}`.
fn spec_parts(spec: &Json) -> Option<(String, &Map<String, Json>)> {
    let (kind, body) = spec.as_object()?.iter().find(|(_, v)| v.is_object())?;
    Some((kind.clone(), body.as_object()?))
}

/// The graph name an `arg` field gives: a TensorArgument `{name}`, or an Argument union holding one.
fn arg_name(arg: &Json) -> Option<String> {
    if let Some(n) = arg.get("name").and_then(Json::as_str) {
        return Some(n.to_string());
    }
    let (_, inner) = arg.as_object()?.iter().find(|(_, v)| !v.is_null())?;
    inner.get("name").or_else(|| inner.get("as_name")).and_then(Json::as_str).map(str::to_string)
}

/// The `*_name` field of a spec (`parameter_name`, `buffer_name`, ...).
fn target_of(body: &Map<String, Json>) -> Option<String> {
    body.iter().find(|(k, _)| k.ends_with("_name")).and_then(|(_, v)| v.as_str()).map(str::to_string)
}

fn input_spec(spec: &Json) -> Option<InputSpec> {
    let (kind, body) = spec_parts(spec)?;
    let name = match body.get("arg") {
        Some(a) => arg_name(a).unwrap_or_default(),
        None => body.get("name").and_then(Json::as_str).unwrap_or_default().to_string(),
    };
    Some(InputSpec { kind, name, target: target_of(body), persistent: body.get("persistent").and_then(Json::as_bool) })
}

fn output_spec(spec: &Json) -> Option<OutputSpec> {
    let (kind, body) = spec_parts(spec)?;
    Some(OutputSpec { kind, name: body.get("arg").and_then(arg_name), target: target_of(body) })
}

fn tensor_meta(v: &Json) -> Option<TensorMeta> {
    let shape = v.get("sizes")?.as_array()?.iter().map(dim).collect::<Option<Vec<_>>>()?;
    if shape.len() > limits::MAX_RANK {
        return None;
    }
    Some(TensorMeta {
        dtype: v.get("dtype").and_then(Json::as_i64).and_then(dtype_of),
        shape,
        requires_grad: v.get("requires_grad").and_then(Json::as_bool).unwrap_or(false),
    })
}

/// A SymInt: `{"as_int": 4}`, or `{"as_expr": {"expr_str": "Symbol('s27', ...)", "hint": ..}}`.
fn dim(v: &Json) -> Option<Dim> {
    if let Some(i) = v.get("as_int").and_then(Json::as_i64).or_else(|| v.as_i64()) {
        return Some(Dim::Int(i));
    }
    let e = v.get("as_expr")?;
    let raw = e.get("expr_str").and_then(Json::as_str)?;
    let hint = e.get("hint").and_then(|h| h.get("as_int").and_then(Json::as_i64).or_else(|| h.as_i64()));
    Some(Dim::Sym { expr: pretty_expr(raw), hint })
}

/// sympy's `srepr` as people write it: `Symbol('s27', positive=True)` -> `s27`,
/// `Mul(Integer(16), Symbol('s27'))` -> `16*s27`. Anything else stays as written.
pub fn pretty_expr(raw: &str) -> String {
    let mut p = Srepr { s: raw.as_bytes(), at: 0 };
    match p.expr(0) {
        Some(e) if p.at == raw.len() => e,
        _ => raw.to_string(),
    }
}

struct Srepr<'a> {
    s: &'a [u8],
    at: usize,
}

impl Srepr<'_> {
    fn skip_ws(&mut self) {
        while self.s.get(self.at) == Some(&b' ') {
            self.at += 1;
        }
    }
    fn eat(&mut self, c: u8) -> Option<()> {
        self.skip_ws();
        (self.s.get(self.at) == Some(&c)).then(|| self.at += 1)
    }
    fn word(&mut self) -> Option<&str> {
        self.skip_ws();
        let start = self.at;
        while self.s.get(self.at).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-') {
            self.at += 1;
        }
        (self.at > start).then(|| std::str::from_utf8(&self.s[start..self.at]).ok()).flatten()
    }
    fn expr(&mut self, depth: usize) -> Option<String> {
        if depth > limits::MAX_GRAPH_DEPTH {
            return None;
        }
        let head = self.word()?.to_string();
        self.eat(b'(')?;
        let mut args = Vec::new();
        loop {
            self.skip_ws();
            match self.s.get(self.at)? {
                b')' => {
                    self.at += 1;
                    break;
                }
                b',' => self.at += 1,
                b'\'' => {
                    let start = self.at + 1;
                    let end = start + self.s[start..].iter().position(|&c| c == b'\'')?;
                    args.push(std::str::from_utf8(&self.s[start..end]).ok()?.to_string());
                    self.at = end + 1;
                }
                _ => {
                    let save = self.at;
                    let w = self.word()?.to_string();
                    self.skip_ws();
                    match self.s.get(self.at) {
                        Some(b'(') => {
                            self.at = save;
                            args.push(self.expr(depth + 1)?);
                        }
                        Some(b'=') => {
                            // A keyword (positive=True): an assumption, not part of the value.
                            self.at += 1;
                            self.word()?;
                        }
                        _ => args.push(w),
                    }
                }
            }
        }
        let wrap = |a: &String| if a.contains([' ', '+']) { format!("({a})") } else { a.clone() };
        Some(match (head.as_str(), args.as_slice()) {
            ("Symbol" | "Integer", [one]) => one.clone(),
            ("Add", [..]) if !args.is_empty() => args.join(" + "),
            ("Mul", [..]) if !args.is_empty() => args.iter().map(wrap).collect::<Vec<_>>().join("*"),
            ("FloorDiv", [a, b]) => format!("{} // {}", wrap(a), wrap(b)),
            ("Mod" | "PythonMod", [a, b]) => format!("{} % {}", wrap(a), wrap(b)),
            ("Pow", [a, b]) => format!("{}**{}", wrap(a), wrap(b)),
            ("Max" | "Min", [..]) => format!("{}({})", head.to_lowercase(), args.join(", ")),
            _ => format!("{head}({})", args.join(", ")),
        })
    }
}

impl Program {
    /// The document's `pt2` (docs/inspect-json.md): versions, node and target counts, the
    /// signature, the user inputs' and outputs' types, the symbols' ranges, problems.
    pub fn summary_json(&self) -> Json {
        let mut targets = BTreeMap::<&str, usize>::new();
        for n in &self.graph.nodes {
            *targets.entry(n.target.as_str()).or_default() += 1;
        }
        let typed = |name: Option<&str>| {
            let mut m = Map::new();
            m.insert("name".into(), Json::from(name));
            if let Some(v) = name.and_then(|n| self.graph.value_type(n)) {
                m.extend(v.as_object().cloned().unwrap_or_default());
            }
            Json::Object(m)
        };
        let count = |kind: &str| self.inputs.iter().filter(|s| s.kind == kind).count();
        json!({
            "member": self.member,
            "schema_version": self.schema_version,
            "torch_version": self.torch_version,
            "opsets": self.opsets.iter().map(|(k, v)| (k.clone(), Json::from(*v))).collect::<Map<_, _>>(),
            "verifiers": self.verifiers,
            "node_count": self.graph.nodes.len(),
            "targets": targets,
            "inputs": self.inputs.iter().map(InputSpec::to_json).collect::<Vec<_>>(),
            "outputs": self.outputs.iter().map(OutputSpec::to_json).collect::<Vec<_>>(),
            "user_inputs": self.inputs.iter().filter(|s| s.kind == "user_input").map(|s| typed(Some(&s.name))).collect::<Vec<_>>(),
            "user_outputs": self.outputs.iter().filter(|s| s.kind == "user_output").map(|s| typed(s.name.as_deref())).collect::<Vec<_>>(),
            "parameter_count": count("parameter"),
            "buffer_count": count("buffer"),
            "constant_count": count("tensor_constant") + count("custom_obj") + count("constant_input"),
            "mutated_buffers": self.outputs.iter().filter(|s| s.kind == "buffer_mutation").filter_map(|s| s.target.clone()).collect::<Vec<_>>(),
            "symbols": self.ranges.iter().map(SymRange::to_json).collect::<Vec<_>>(),
            "problems": self.problems,
        })
    }
}

impl Graph {
    /// `{dtype, shape}` of a tensor value, `{dtype: "SymInt", expr, hint}` of a symbol; None when unknown.
    pub fn value_type(&self, name: &str) -> Option<Json> {
        if let Some(t) = self.tensors.get(name) {
            return Some(json!({
                "dtype": t.dtype.map_or("unknown", DType::name),
                "shape": t.shape.iter().map(Dim::to_json).collect::<Vec<_>>(),
            }));
        }
        self.symbols.get(name).map(|d| {
            let mut v = json!({"dtype": "SymInt", "shape": []});
            match d {
                Dim::Int(i) => v["value"] = Json::from(*i),
                Dim::Sym { expr, hint } => {
                    v["expr"] = Json::from(expr.as_str());
                    v["hint"] = Json::from(*hint);
                }
            }
            v
        })
    }
}

impl Dim {
    /// A number, or the symbolic expression as a string (`"s27"`).
    pub fn to_json(&self) -> Json {
        match self {
            Dim::Int(i) => Json::from(*i),
            Dim::Sym { expr, .. } => Json::from(expr.as_str()),
        }
    }
}

impl InputSpec {
    /// `{kind, name, target?, persistent?}`.
    pub fn to_json(&self) -> Json {
        let mut v = json!({"kind": self.kind, "name": self.name});
        if let Some(t) = &self.target {
            v["target"] = Json::from(t.as_str());
        }
        if let Some(p) = self.persistent {
            v["persistent"] = Json::from(p);
        }
        v
    }
}

impl OutputSpec {
    /// `{kind, name, target?}`.
    pub fn to_json(&self) -> Json {
        let mut v = json!({"kind": self.kind, "name": self.name});
        if let Some(t) = &self.target {
            v["target"] = Json::from(t.as_str());
        }
        v
    }
}

impl SymRange {
    /// `{symbol, min, max}`; null for an unbounded end.
    pub fn to_json(&self) -> Json {
        json!({"symbol": self.symbol, "min": self.min, "max": self.max})
    }
}

/// A JSON value in a message, cut short.
fn clip(v: &Json) -> String {
    let s = v.to_string();
    match s.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

/// torch.export's serialized ScalarType.
pub fn dtype_of(code: i64) -> Option<DType> {
    Some(match code {
        1 => DType::UInt8,
        2 => DType::Int8,
        3 => DType::Int16,
        4 => DType::Int32,
        5 => DType::Int64,
        6 => DType::Float16,
        7 => DType::Float32,
        8 => DType::Float64,
        9 => DType::Complex32,
        10 => DType::Complex64,
        11 => DType::Complex128,
        12 => DType::Bool,
        13 => DType::BFloat16,
        28 => DType::UInt16,
        29 => DType::Float8E4m3fn,
        30 => DType::Float8E5m2,
        31 => DType::Float8E4m3fnuz,
        32 => DType::Float8E5m2fnuz,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sympy_expressions_read_as_people_write_them() {
        assert_eq!(pretty_expr("Symbol('s27', positive=True, integer=True)"), "s27");
        assert_eq!(pretty_expr("Mul(Integer(16), Symbol('s27', positive=True, integer=True))"), "16*s27");
        assert_eq!(pretty_expr("Add(Symbol('s0'), Integer(-1))"), "s0 + -1");
        assert_eq!(pretty_expr("FloorDiv(Add(Symbol('s0'), Integer(1)), Integer(2))"), "(s0 + 1) // 2");
        // Not srepr: kept as written.
        assert_eq!(pretty_expr("s0 + 1"), "s0 + 1");
        assert_eq!(pretty_expr("Symbol('s0'"), "Symbol('s0'");
        let deep = format!("{}Symbol('x'){}", "Add(".repeat(200), ")".repeat(200));
        assert_eq!(pretty_expr(&deep), deep);
    }

    #[test]
    fn a_program_nested_past_the_limit_is_an_error_not_a_crash() {
        let mut g = serde_json::json!({"nodes": []});
        for _ in 0..(limits::MAX_GRAPH_DEPTH + 2) {
            g = serde_json::json!({"nodes": [{"target": "torch.ops.higher_order.cond", "inputs": [{"name": "true_fn", "arg": {"as_graph": {"name": "g", "graph": g}}}], "outputs": []}]});
        }
        // serde_json's own nesting limit (128) or ours, whichever comes first: an error either way.
        let text = serde_json::json!({"graph_module": {"graph": g}}).to_string();
        assert!(parse(text.as_bytes(), "m.json").is_err());
    }
}
