//! A TorchScript archive's `forward` as the page's Graph view draws it, from the code torch wrote
//! (`document.code`, parsed by `container::torchscript`; never run), in the same shape as the ONNX
//! and `.pt2` views: calls of `torch.*` / `ops.*` operators as nodes named like torch's own
//! (`aten::linear`, `prim::RaiseException`), submodule calls as one node each (or, expanded, their
//! own dataflow inlined with their path as prefix), parameters and buffers read as weights linked
//! to the document's tensors, literal arguments as attributes, and `if` / `for` / `while` as
//! `prim::If` / `prim::Loop` nodes whose blocks are nested graphs (`{"$graph": ...}`). A statement
//! the parser could not read becomes an `unparsed` node and a problem naming the file and line;
//! the rest is drawn.

use crate::container::torchscript::parser::{self, Class, Expr, Func, Stmt};
use crate::document::Format;
use crate::limits;
use crate::model::Model;
use serde_json::{json, Map, Value as Json};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// The graph of the root module's `forward`; None when the model is not TorchScript or has no
/// such method. `expand` inlines submodule calls.
pub fn graph_json(model: &Model, expand: bool) -> Option<Json> {
    module_graph_json(model, "", "forward", expand)
}

/// The graph of method `method` of the submodule at `path` (`""`: the root).
pub fn module_graph_json(model: &Model, path: &str, method: &str, expand: bool) -> Option<Json> {
    let doc = &model.document;
    if doc.format != Format::Torchscript || doc.code.is_empty() {
        return None;
    }
    let code = Code::parse(model);
    let class = code.modules.get(path)?;
    let (func, file) = code.method(class, method)?;
    let mut ctx = Ctx {
        code: &code,
        expand,
        nodes: 0,
        counter: 0,
        problems: Vec::new(),
        initializers: BTreeSet::new(),
        depth: 0,
        used: HashSet::new(),
        inlining: vec![func as *const Func],
    };
    let mut block = Block::default();
    let mut env: HashMap<String, Ref> = HashMap::new();
    let mut inputs = Vec::new();
    for (i, (name, ty)) in func.params.iter().enumerate() {
        if i == 0 && name == "self" {
            env.insert(name.clone(), Ref::Module(path.to_string()));
            continue;
        }
        let v = ctx.fresh(name);
        inputs.push(json!({"name": v, "elem_type": ty}));
        block.values.insert(v.clone(), json!({"elem_type": ty}));
        env.insert(name.clone(), Ref::Value(v));
    }
    let returned = ctx.body(&mut block, &mut env, &func.body, Where { file, method: &func.name, prefix: "" });
    let outputs: Vec<Json> = returned.iter().map(|v| json!({"name": v, "elem_type": func.returns})).collect();
    let mut problems = code.problems.clone();
    problems.append(&mut ctx.problems);
    let modules: Vec<Json> = code.modules.iter().map(|(p, c)| json!({"path": p, "class": c})).collect();
    let tensor_of: HashMap<&str, usize> = doc.state_dict.iter().map(|e| (e.key.as_str(), e.tensor)).collect();
    let initializers: Vec<Json> = ctx
        .initializers
        .iter()
        .map(|key| {
            let t = tensor_of.get(key.as_str()).copied();
            let mut v = json!({"name": key, "tensor": t});
            if let Some(t) = t.and_then(|i| doc.tensors.get(i)) {
                v["dtype"] = Json::from(t.dtype.name());
                v["shape"] = Json::from(t.shape.clone());
            }
            v
        })
        .collect();
    Some(json!({
        "format": "torchscript",
        "model": {"class": class, "method": func.name, "file": file, "module": path, "expanded": expand},
        "inputs": inputs,
        "outputs": outputs,
        "initializers": initializers,
        "values": block.values,
        "nodes": block.nodes,
        "functions": [],
        "modules": modules,
        "problems": problems,
    }))
}

/// The archive's code, parsed: classes by qualified name, and the module tree from the root.
struct Code {
    classes: HashMap<String, (Class, String)>,
    functions: HashMap<String, (Func, String)>,
    /// Module path -> qualified class: the document's modules, classes from the code's annotations.
    modules: BTreeMap<String, String>,
    /// state_dict keys.
    weights: HashSet<String>,
    problems: Vec<String>,
}

impl Code {
    fn parse(model: &Model) -> Code {
        let doc = &model.document;
        let mut code = Code {
            classes: HashMap::new(),
            functions: HashMap::new(),
            modules: BTreeMap::new(),
            weights: doc.state_dict.iter().map(|e| e.key.clone()).collect(),
            problems: Vec::new(),
        };
        for member in &doc.code {
            // `<prefix>/code/__torch__/torch/nn/modules/linear.py` -> `__torch__.torch.nn.modules.linear`
            let qual = member.name.split_once("code/").map_or(member.name.as_str(), |(_, q)| q);
            let qual = qual.strip_suffix(".py").unwrap_or(qual).replace('/', ".");
            let file = parser::parse(&member.text);
            for u in &file.unparsed {
                code.problems.push(format!("{}, line {}: not read ({}): {}", member.name, u.line, u.reason, u.text));
            }
            for c in file.classes {
                for u in &c.unparsed {
                    code.problems.push(format!("{}, line {}: not read ({}): {}", member.name, u.line, u.reason, u.text));
                }
                code.classes.insert(format!("{qual}.{}", c.name), (c, member.name.clone()));
            }
            for f in file.functions {
                code.functions.insert(format!("{qual}.{}", f.name), (f, member.name.clone()));
            }
        }
        // The module tree is the document's (read from the pickled objects, so bounded by them);
        // each module's class as the code names it comes from its parent's attribute annotation.
        if let Some(root) = doc.tree.get("$object").and_then(Json::as_str) {
            code.modules.insert(String::new(), root.to_string());
            let mut paths: Vec<&str> = doc.modules.iter().map(|m| m.path.as_str()).filter(|p| !p.is_empty()).collect();
            paths.sort_by_key(|p| p.matches('.').count());
            for path in paths {
                let (parent, name) = path.rsplit_once('.').unwrap_or(("", path));
                let class = code
                    .modules
                    .get(parent)
                    .and_then(|c| code.classes.get(c))
                    .and_then(|(c, _)| c.attributes.iter().find(|(a, _)| a == name).map(|(_, ty)| ty.clone()));
                if let Some(class) = class.filter(|c| code.classes.contains_key(c)) {
                    code.modules.insert(path.to_string(), class);
                }
            }
        }
        code
    }

    /// A method of a class, and the file it is in.
    fn method(&self, class: &str, name: &str) -> Option<(&Func, &str)> {
        let (c, file) = self.classes.get(class)?;
        c.methods.iter().find(|f| f.name == name).map(|f| (f, file.as_str()))
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// What a name or expression stands for while reading a body.
#[derive(Debug, Clone, PartialEq)]
enum Ref {
    /// A graph value (an input, or a node's output), by name.
    Value(String),
    /// A parameter or buffer, by state_dict key.
    Weight(String),
    /// A submodule, by path.
    Module(String),
    /// A literal.
    Const(Json),
    /// A tuple not (yet) built by a node.
    Tuple(Vec<Ref>),
    /// A function of the archive's code, by qualified name (`_0 = __torch__.torch.nn.functional.relu`).
    Function(String),
}

/// A block read: its label (`then`, `body`), the block, its inputs (a loop's variable), and the
/// variables as it leaves them.
type BlockEnd<'l> = (&'l str, Block, Vec<Json>, HashMap<String, Ref>);

/// Where a body is, for messages and names.
#[derive(Clone, Copy)]
struct Where<'a> {
    file: &'a str,
    method: &'a str,
    /// Node name prefix: the module path when a submodule's body is inlined.
    prefix: &'a str,
}

/// One graph being built: the top level, or a block of an `if` or loop.
#[derive(Default)]
struct Block {
    nodes: Vec<Json>,
    values: Map<String, Json>,
    /// Values of enclosing graphs this block (or blocks inside it) reads.
    outer: Vec<String>,
    /// Values made here: reads of anything else are outer.
    own: HashSet<String>,
}

struct Ctx<'a> {
    code: &'a Code,
    expand: bool,
    nodes: usize,
    counter: usize,
    problems: Vec<String>,
    /// Weights read, by state_dict key.
    initializers: BTreeSet<String>,
    /// Submodule and function bodies being read inside each other.
    depth: usize,
    /// Every value name given so far, in every block: names are unique in the whole graph.
    used: HashSet<String>,
    /// The functions being inlined (by address): one calling itself is drawn as a call.
    inlining: Vec<*const Func>,
}

/// The operator a call of a dotted name is: `torch.relu` -> `aten::relu`, `ops.prim.X` ->
/// `prim::X`, Python's `bool` / `int` / `float` / `len` -> torch's `aten::Bool` ...
fn operator(dotted: &str) -> Option<String> {
    let parts: Vec<&str> = dotted.split('.').collect();
    Some(match parts.as_slice() {
        ["torch", op] => format!("aten::{op}"),
        ["ops", ns, op] | ["torch", "ops", ns, op] => format!("{ns}::{op}"),
        ["torch", "nn", "functional", op] => format!("aten::{op}"),
        ["bool"] => "aten::Bool".into(),
        ["int"] => "aten::Int".into(),
        ["float"] => "aten::Float".into(),
        ["str"] => "aten::str".into(),
        ["len"] => "aten::len".into(),
        ["isinstance"] => "prim::isinstance".into(),
        ["uninitialized"] => "prim::Uninitialized".into(),
        ["range"] => "range".into(),
        _ => return None,
    })
}

/// `a.b.c` for a chain of names, else None.
fn dotted(e: &Expr) -> Option<String> {
    match e {
        Expr::Name(n) => Some(n.clone()),
        Expr::Attr(base, name) => Some(format!("{}.{name}", dotted(base)?)),
        _ => None,
    }
}

fn literal(e: &Expr) -> Option<Json> {
    Some(match e {
        Expr::Int(i) => Json::from(*i),
        Expr::Float(f) => crate::document::float_json(*f),
        Expr::Str(s) => Json::from(s.as_str()),
        Expr::Bool(b) => Json::from(*b),
        Expr::None => Json::Null,
        _ => return None,
    })
}

impl Ctx<'_> {
    /// A value name not used before: `name`, then `name~2`, ...
    fn fresh(&mut self, base: &str) -> String {
        if !base.is_empty() && self.used.insert(base.to_string()) {
            return base.to_string();
        }
        loop {
            self.counter += 1;
            let name = if base.is_empty() { format!("%{}", self.counter) } else { format!("{base}~{}", self.counter) };
            if self.used.insert(name.clone()) {
                return name;
            }
        }
    }

    /// Reads `body` into `block`; returns the names of the values it returns.
    fn body(&mut self, block: &mut Block, env: &mut HashMap<String, Ref>, body: &[Stmt], at: Where) -> Vec<String> {
        let mut returned = Vec::new();
        for s in body {
            if self.nodes > limits::MAX_GRAPH_NODES {
                self.problems.push(format!("{}: more than {} nodes; the rest is not drawn", at.file, limits::MAX_GRAPH_NODES));
                break;
            }
            match s {
                Stmt::Assign { targets, value, .. } => {
                    let r = self.expr(block, env, value, at);
                    for t in targets {
                        self.bind(block, env, t, r.clone(), at);
                    }
                }
                Stmt::AugAssign { target, op, value, .. } => {
                    let a = self.expr(block, env, target, at);
                    let b = self.expr(block, env, value, at);
                    let r = self.node(block, &format!("{op}="), vec![("self".into(), a), ("other".into(), b)], Map::new(), 1, at);
                    self.bind(block, env, target, r.into_iter().next().map_or(Ref::Const(Json::Null), Ref::Value), at);
                }
                Stmt::Expr { value, .. } => {
                    self.expr(block, env, value, at);
                }
                Stmt::Return { value, .. } => {
                    let r = value.as_ref().map_or(Ref::Const(Json::Null), |v| self.expr(block, env, v, at));
                    let items = match r {
                        Ref::Tuple(items) => items,
                        other => vec![other],
                    };
                    for r in items {
                        let v = self.value_of(block, r, at);
                        returned.push(v);
                    }
                }
                Stmt::If { cond, then, orelse, line } => {
                    let c = self.expr(block, env, cond, at);
                    self.control(block, env, "prim::If", vec![("cond".into(), c)], &[("then", then), ("else", orelse)], None, *line, at);
                }
                Stmt::For { target, iter, body, line } => {
                    let (op_inputs, kind) = match iter {
                        Expr::Call { func, args, .. } if dotted(func).as_deref() == Some("range") => {
                            let n: Vec<(String, Ref)> =
                                args.iter().enumerate().map(|(i, a)| (format!("range#{i}"), self.expr(block, env, a, at))).collect();
                            (n, "for range")
                        }
                        other => (vec![("iter".into(), self.expr(block, env, other, at))], "for"),
                    };
                    self.control(block, env, "prim::Loop", op_inputs, &[("body", body)], Some((target, kind)), *line, at);
                }
                Stmt::While { cond, body, line } => {
                    let c = self.expr(block, env, cond, at);
                    self.control(
                        block,
                        env,
                        "prim::Loop",
                        vec![("cond".into(), c)],
                        &[("body", body)],
                        Some((&Expr::None, "while")),
                        *line,
                        at,
                    );
                }
                Stmt::Other { .. } => {}
                Stmt::Unparsed(u) => {
                    self.problems.push(format!("{} ({}), line {}: not read ({}): {}", at.file, at.method, u.line, u.reason, u.text));
                    let mut attrs = Map::new();
                    attrs.insert("text".into(), Json::from(u.text.as_str()));
                    attrs.insert("where".into(), Json::from(format!("{}, line {}", at.file, u.line)));
                    attrs.insert("reason".into(), Json::from(u.reason.as_str()));
                    self.node(block, "unparsed", Vec::new(), attrs, 0, at);
                }
            }
        }
        returned
    }

    /// An `if` or a loop: a node whose blocks are nested graphs; the variables the blocks assign
    /// are its outputs, and the enclosing values they read its `outer_inputs`.
    #[allow(clippy::too_many_arguments)]
    fn control(
        &mut self,
        block: &mut Block,
        env: &mut HashMap<String, Ref>,
        op: &str,
        inputs: Vec<(String, Ref)>,
        blocks: &[(&str, &Vec<Stmt>)],
        loop_var: Option<(&Expr, &str)>,
        line: usize,
        at: Where,
    ) {
        if self.depth > limits::MAX_GRAPH_DEPTH {
            self.problems.push(format!("{}, line {line}: blocks nested too deep; not drawn", at.file));
            return;
        }
        self.depth += 1;
        let mut attrs = Map::new();
        let mut outer: Vec<String> = Vec::new();
        let mut ends: Vec<BlockEnd> = Vec::new();
        for (label, stmts) in blocks {
            let mut inner = Block::default();
            let mut inner_env = env.clone();
            let mut block_inputs = Vec::new();
            if let Some((Expr::Name(n), _)) = loop_var {
                let v = self.fresh(n);
                inner.own.insert(v.clone());
                block_inputs.push(json!({"name": v}));
                inner_env.insert(n.clone(), Ref::Value(v));
            }
            self.body(&mut inner, &mut inner_env, stmts, at);
            for v in &inner.outer {
                if !outer.contains(v) {
                    outer.push(v.clone());
                }
            }
            ends.push((label, inner, block_inputs, inner_env));
        }
        // What the node gives: variables a block sets to a new value that were set before it
        // (loop-carried, or updated by a branch), or that every branch of an `if` sets.
        let changed = |e: &HashMap<String, Ref>, name: &String| matches!(e.get(name), Some(r @ Ref::Value(_)) if env.get(name) != Some(r));
        let mut assigned: Vec<String> = ends
            .iter()
            .flat_map(|(_, _, _, e)| e.keys())
            .filter(|name| ends.iter().any(|(_, _, _, e)| changed(e, name)))
            .filter(|name| {
                env.contains_key(*name) || (loop_var.is_none() && ends.len() > 1 && ends.iter().all(|(_, _, _, e)| changed(e, name)))
            })
            .filter(|name| !matches!(loop_var, Some((Expr::Name(n), _)) if n == *name))
            .cloned()
            .collect();
        assigned.sort();
        assigned.dedup();
        for (label, inner, block_inputs, inner_env) in ends {
            let outs: Vec<Json> = assigned
                .iter()
                .map(|n| match inner_env.get(n) {
                    Some(Ref::Value(v)) => json!({"name": v}),
                    _ => json!({"name": n}),
                })
                .collect();
            attrs.insert(
                label.to_string(),
                json!({"$graph": {"name": label, "inputs": block_inputs, "outputs": outs, "initializer_count": 0, "node_count": inner.nodes.len(), "nodes": inner.nodes}}),
            );
        }
        self.depth -= 1;
        if let Some((_, kind)) = loop_var {
            attrs.insert("kind".into(), Json::from(kind));
        }
        attrs.insert("line".into(), Json::from(line));
        let outputs = self.node(block, op, inputs, attrs, assigned.len(), at);
        for (name, v) in assigned.iter().zip(&outputs) {
            let v = self.rename(block, v, name);
            env.insert(name.clone(), Ref::Value(v));
        }
        // The outer reads of the blocks, for edges from their producers.
        if let Some(n) = block.nodes.last_mut() {
            let reads: Vec<String> =
                outer.iter().filter(|v| !n["inputs"].as_array().is_some_and(|i| i.contains(&json!(v)))).cloned().collect();
            for v in &reads {
                if !block.own.contains(v) && !block.outer.contains(v) {
                    block.outer.push(v.clone());
                }
            }
            if !reads.is_empty() {
                n["outer_inputs"] = Json::from(reads);
            }
        }
    }

    /// Binds a target (`x`, `a, b`) to what the expression gave.
    fn bind(&mut self, block: &mut Block, env: &mut HashMap<String, Ref>, target: &Expr, r: Ref, at: Where) {
        match target {
            Expr::Name(n) => {
                // A node's fresh output takes the variable's name.
                let r = match r {
                    Ref::Value(v) if v.starts_with('%') && block.own.contains(&v) => Ref::Value(self.rename(block, &v, n)),
                    other => other,
                };
                env.insert(n.clone(), r);
            }
            Expr::Tuple(targets) | Expr::List(targets) => {
                let items = match r {
                    Ref::Tuple(items) if items.len() == targets.len() => items,
                    other => {
                        let outs = self.node(block, "prim::TupleUnpack", vec![("self".into(), other)], Map::new(), targets.len(), at);
                        outs.into_iter().map(Ref::Value).collect()
                    }
                };
                for (t, r) in targets.iter().zip(items) {
                    self.bind(block, env, t, r, at);
                }
            }
            other => {
                // `x[i] = v`, `self.a = v`: a write, drawn as a node.
                let mut inputs = vec![("value".into(), r)];
                if let Expr::Subscript(base, index) = other {
                    inputs.insert(0, ("self".into(), self.expr(block, env, base, at)));
                    inputs.insert(1, ("index".into(), self.expr(block, env, index, at)));
                    self.node(block, "aten::_set_item", inputs, Map::new(), 0, at);
                } else if let Expr::Attr(base, name) = other {
                    let mut attrs = Map::new();
                    attrs.insert("name".into(), Json::from(name.as_str()));
                    inputs.insert(0, ("self".into(), self.expr(block, env, base, at)));
                    self.node(block, "prim::SetAttr", inputs, attrs, 0, at);
                }
            }
        }
    }

    /// Renames a fresh output `%n` of this block's last nodes to the variable `name`.
    fn rename(&mut self, block: &mut Block, old: &str, name: &str) -> String {
        let new = self.fresh(name);
        for n in block.nodes.iter_mut().rev().take(8) {
            if let Some(outs) = n["outputs"].as_array_mut() {
                if let Some(o) = outs.iter_mut().find(|o| o.as_str() == Some(old)) {
                    *o = Json::from(new.as_str());
                    block.own.remove(old);
                    block.own.insert(new.clone());
                    return new;
                }
            }
        }
        old.to_string()
    }

    /// A reference as one value name, building a node for a literal or a tuple.
    fn value_of(&mut self, block: &mut Block, r: Ref, at: Where) -> String {
        match r {
            Ref::Value(v) => {
                self.read(block, &v);
                v
            }
            Ref::Weight(k) => {
                self.initializers.insert(k.clone());
                k
            }
            Ref::Module(p) | Ref::Function(p) => p,
            Ref::Const(c) => {
                let mut attrs = Map::new();
                attrs.insert("value".into(), c);
                self.node(block, "prim::Constant", Vec::new(), attrs, 1, at).pop().unwrap_or_default()
            }
            Ref::Tuple(items) => {
                let inputs = items.into_iter().enumerate().map(|(i, r)| (format!("#{i}"), r)).collect();
                self.node(block, "prim::TupleConstruct", inputs, Map::new(), 1, at).pop().unwrap_or_default()
            }
        }
    }

    /// Notes a read of value `v`: from an enclosing graph when this block did not make it.
    fn read(&mut self, block: &mut Block, v: &str) {
        if !block.own.contains(v) && !block.outer.iter().any(|o| o == v) {
            block.outer.push(v.to_string());
        }
    }

    /// Adds a node; literal arguments become attributes by argument name; returns its outputs.
    fn node(
        &mut self,
        block: &mut Block,
        op: &str,
        args: Vec<(String, Ref)>,
        mut attrs: Map<String, Json>,
        outputs: usize,
        at: Where,
    ) -> Vec<String> {
        self.nodes += 1;
        let mut inputs = Vec::new();
        let mut input_args = Vec::new();
        for (name, r) in args {
            match r {
                Ref::Const(c) => {
                    attrs.insert(name, c);
                }
                Ref::Module(p) => {
                    attrs.insert(name, json!({"module": p}));
                }
                Ref::Function(f) => {
                    attrs.insert(name, json!({"function": f}));
                }
                Ref::Tuple(items) if items.iter().all(|r| matches!(r, Ref::Const(_))) => {
                    let list: Vec<Json> = items.into_iter().map(|r| if let Ref::Const(c) = r { c } else { Json::Null }).collect();
                    attrs.insert(name, Json::from(list));
                }
                other => {
                    inputs.push(self.value_of(block, other, at));
                    input_args.push(name);
                }
            }
        }
        let outs: Vec<String> = (0..outputs).map(|_| self.fresh("")).collect();
        for o in &outs {
            block.own.insert(o.clone());
        }
        let index = block.nodes.len();
        let name = format!("{}{}_{}", at.prefix, op.rsplit("::").next().unwrap_or(op), self.nodes);
        block.nodes.push(json!({
            "name": name,
            "op_type": op,
            "domain": op.split_once("::").map_or("", |(d, _)| d),
            "inputs": inputs,
            "input_args": input_args,
            "outputs": outs,
            "attributes": attrs,
            "index": index,
        }));
        outs
    }

    fn expr(&mut self, block: &mut Block, env: &mut HashMap<String, Ref>, e: &Expr, at: Where) -> Ref {
        if let Some(c) = literal(e) {
            return Ref::Const(c);
        }
        match e {
            Expr::Name(n) => env.get(n).cloned().unwrap_or_else(|| Ref::Value(n.clone())),
            Expr::Attr(base, name) => {
                if let Some(d) = dotted(e).filter(|d| self.code.functions.contains_key(d)) {
                    return Ref::Function(d);
                }
                if let Some(d) = dotted(e).filter(|d| d.starts_with("CONSTANTS.")) {
                    let mut attrs = Map::new();
                    attrs.insert("name".into(), Json::from(d));
                    return self.node(block, "prim::Constant", Vec::new(), attrs, 1, at).pop().map_or(Ref::Const(Json::Null), Ref::Value);
                }
                match self.expr(block, env, base, at) {
                    Ref::Module(p) => {
                        let key = join(&p, name);
                        if self.code.weights.contains(&key) {
                            self.initializers.insert(key.clone());
                            Ref::Weight(key)
                        } else if self.code.modules.contains_key(&key) {
                            Ref::Module(key)
                        } else {
                            let mut attrs = Map::new();
                            attrs.insert("name".into(), Json::from(key));
                            self.node(block, "prim::GetAttr", Vec::new(), attrs, 1, at).pop().map_or(Ref::Const(Json::Null), Ref::Value)
                        }
                    }
                    other => {
                        let mut attrs = Map::new();
                        attrs.insert("name".into(), Json::from(name.as_str()));
                        self.node(block, "prim::GetAttr", vec![("self".into(), other)], attrs, 1, at)
                            .pop()
                            .map_or(Ref::Const(Json::Null), Ref::Value)
                    }
                }
            }
            Expr::Call { func, args, kwargs } => self.call(block, env, func, args, kwargs, at),
            Expr::Subscript(base, index) => {
                let b = self.expr(block, env, base, at);
                let i = self.expr(block, env, index, at);
                self.one(block, "aten::__getitem__", vec![("self".into(), b), ("index".into(), i)], at)
            }
            Expr::Tuple(items) | Expr::List(items) => {
                let refs: Vec<Ref> = items.iter().map(|x| self.expr(block, env, x, at)).collect();
                if refs.iter().all(|r| matches!(r, Ref::Const(_))) {
                    Ref::Const(Json::from(refs.into_iter().map(|r| if let Ref::Const(c) = r { c } else { Json::Null }).collect::<Vec<_>>()))
                } else if matches!(e, Expr::Tuple(_)) {
                    Ref::Tuple(refs)
                } else {
                    let inputs = refs.into_iter().enumerate().map(|(i, r)| (format!("#{i}"), r)).collect();
                    self.one(block, "prim::ListConstruct", inputs, at)
                }
            }
            Expr::Dict(items) => {
                let mut inputs = Vec::new();
                for (i, (k, v)) in items.iter().enumerate() {
                    inputs.push((format!("key#{i}"), self.expr(block, env, k, at)));
                    inputs.push((format!("value#{i}"), self.expr(block, env, v, at)));
                }
                self.one(block, "prim::DictConstruct", inputs, at)
            }
            Expr::Binary(op, a, b) => {
                let a = self.expr(block, env, a, at);
                let b = self.expr(block, env, b, at);
                if let (":", Ref::Const(x), Ref::Const(y)) = (op.as_str(), &a, &b) {
                    return Ref::Const(Json::from(format!("{}:{}", slice_part(x), slice_part(y))));
                }
                self.one(block, op, vec![("self".into(), a), ("other".into(), b)], at)
            }
            Expr::Unary(op, a) => {
                let a = self.expr(block, env, a, at);
                self.one(block, op, vec![("self".into(), a)], at)
            }
            Expr::IfElse { cond, then, orelse } => {
                let c = self.expr(block, env, cond, at);
                let t = self.expr(block, env, then, at);
                let f = self.expr(block, env, orelse, at);
                self.one(block, "prim::If", vec![("cond".into(), c), ("then".into(), t), ("else".into(), f)], at)
            }
            _ => Ref::Const(Json::Null),
        }
    }

    /// A node with one output, as a reference.
    fn one(&mut self, block: &mut Block, op: &str, inputs: Vec<(String, Ref)>, at: Where) -> Ref {
        self.node(block, op, inputs, Map::new(), 1, at).pop().map_or(Ref::Const(Json::Null), Ref::Value)
    }

    fn call(
        &mut self,
        block: &mut Block,
        env: &mut HashMap<String, Ref>,
        func: &Expr,
        args: &[Expr],
        kwargs: &[(String, Expr)],
        at: Where,
    ) -> Ref {
        // `annotate(T, x)` and `unchecked_cast(x)` are x; `getattr(x, "0")` is `x.0`.
        match (dotted(func).as_deref(), args) {
            (Some("annotate"), [_, x]) | (Some("unchecked_cast"), [x]) => return self.expr(block, env, x, at),
            (Some("getattr"), [base, Expr::Str(name)]) => {
                return self.expr(block, env, &Expr::Attr(Box::new(base.clone()), name.clone()), at)
            }
            _ => {}
        }
        let mut inputs: Vec<(String, Ref)> = Vec::new();
        // A method call on a module or value: the receiver first.
        if let Expr::Attr(base, method) = func {
            let receiver = if dotted(base).is_some_and(|d| d == "torch" || d.starts_with("ops") || d.starts_with("torch.")) {
                None
            } else {
                Some(self.expr(block, env, base, at))
            };
            match receiver {
                Some(Ref::Module(p)) => return self.module_call(block, env, &p, method, args, kwargs, at),
                Some(r) => {
                    inputs.push(("self".into(), r));
                    let op = format!("aten::{method}");
                    return self.call_node(block, env, &op, inputs, args, kwargs, at);
                }
                None => {}
            }
        }
        let mut name = dotted(func).unwrap_or_else(|| "call".into());
        if let Expr::Name(n) = func {
            if let Some(Ref::Function(f)) = env.get(n) {
                name = f.clone();
            }
        }
        let op = match operator(&name) {
            Some(op) => op,
            None => {
                if let Some((f, file)) = self.code.functions.get(&name) {
                    if self.can_inline(Some(f)) {
                        let refs: Vec<Ref> = args.iter().map(|a| self.expr(block, env, a, at)).collect();
                        return self.inline(block, f, file, refs, kwargs, env, at.prefix, at);
                    }
                }
                name.rsplit('.').next().unwrap_or(&name).to_string()
            }
        };
        self.call_node(block, env, &op, inputs, args, kwargs, at)
    }

    #[allow(clippy::too_many_arguments)]
    fn call_node(
        &mut self,
        block: &mut Block,
        env: &mut HashMap<String, Ref>,
        op: &str,
        mut inputs: Vec<(String, Ref)>,
        args: &[Expr],
        kwargs: &[(String, Expr)],
        at: Where,
    ) -> Ref {
        let first = inputs.len();
        for (i, a) in args.iter().enumerate() {
            let r = self.expr(block, env, a, at);
            inputs.push((format!("#{}", i + first), r));
        }
        for (k, v) in kwargs {
            let r = self.expr(block, env, v, at);
            inputs.push((k.clone(), r));
        }
        self.one(block, op, inputs, at)
    }

    /// A submodule's method: one node (its class's short name), or its body inlined.
    #[allow(clippy::too_many_arguments)]
    fn module_call(
        &mut self,
        block: &mut Block,
        env: &mut HashMap<String, Ref>,
        path: &str,
        method: &str,
        args: &[Expr],
        kwargs: &[(String, Expr)],
        at: Where,
    ) -> Ref {
        let class = self.code.modules.get(path).cloned().unwrap_or_default();
        let found = self.code.method(&class, method);
        if let (true, Some((f, file))) = (self.can_inline(found.map(|(f, _)| f)), found) {
            let mut refs = vec![Ref::Module(path.to_string())];
            refs.extend(args.iter().map(|a| self.expr(block, env, a, at)));
            let prefix = format!("{path}/");
            return self.inline(block, f, file, refs, kwargs, env, &prefix, at);
        }
        let short = class.rsplit('.').next().unwrap_or(&class).to_string();
        let op = if short.is_empty() { method.to_string() } else { short };
        let mut inputs = Vec::new();
        for (i, a) in args.iter().enumerate() {
            let r = self.expr(block, env, a, at);
            inputs.push((format!("#{i}"), r));
        }
        for (k, v) in kwargs {
            let r = self.expr(block, env, v, at);
            inputs.push((k.clone(), r));
        }
        let mut attrs = Map::new();
        attrs.insert("module".into(), Json::from(path));
        attrs.insert("class".into(), Json::from(class.as_str()));
        if method != "forward" {
            attrs.insert("method".into(), Json::from(method));
        }
        let outs = self.node(block, &op, inputs, attrs, 1, at);
        if let Some(n) = block.nodes.last_mut() {
            n["module"] = Json::from(path);
            n["module_class"] = Json::from(class.as_str());
            n["name"] = Json::from(if method == "forward" { path.to_string() } else { format!("{path}.{method}") });
        }
        outs.into_iter().next().map_or(Ref::Const(Json::Null), Ref::Value)
    }

    /// Whether a call of `f` is read in place: expanding, not too deep, and not a call of a
    /// function already being read (TorchScript has no recursion; hostile code may).
    fn can_inline(&self, f: Option<&Func>) -> bool {
        self.expand && self.depth < limits::MAX_GRAPH_DEPTH && f.is_some_and(|f| !self.inlining.contains(&(f as *const Func)))
    }

    /// A function's body read in place, its parameters bound to the arguments given.
    #[allow(clippy::too_many_arguments)]
    fn inline(
        &mut self,
        block: &mut Block,
        f: &Func,
        file: &str,
        refs: Vec<Ref>,
        kwargs: &[(String, Expr)],
        env: &mut HashMap<String, Ref>,
        prefix: &str,
        at: Where,
    ) -> Ref {
        let mut callee_env: HashMap<String, Ref> = HashMap::new();
        for ((name, _), r) in f.params.iter().zip(refs) {
            callee_env.insert(name.clone(), r);
        }
        for (k, v) in kwargs {
            let r = self.expr(block, env, v, at);
            callee_env.insert(k.clone(), r);
        }
        self.depth += 1;
        self.inlining.push(f as *const Func);
        let returned = self.body(block, &mut callee_env, &f.body, Where { file, method: &f.name, prefix });
        self.inlining.pop();
        self.depth -= 1;
        match returned.len() {
            0 => Ref::Const(Json::Null),
            1 => Ref::Value(returned[0].clone()),
            _ => Ref::Tuple(returned.into_iter().map(Ref::Value).collect()),
        }
    }
}

fn slice_part(v: &Json) -> String {
    if v.is_null() {
        String::new()
    } else {
        v.to_string()
    }
}
