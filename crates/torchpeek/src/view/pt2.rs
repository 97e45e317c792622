//! A `.pt2`'s exported program as the page's Graph view draws it: the same shape as the ONNX view
//! (`view::onnx`: `inputs`, `outputs`, `initializers`, `values`, `nodes`, `problems`), with what
//! torch.export adds: each node's ATen target as its `op_type`, its arguments by schema name, the
//! module it came from, the graph signature and the symbolic sizes' ranges. Parameters, buffers
//! and constants are named by their state_dict names (their placeholders kept as `placeholder`) and
//! linked to the document's tensors. Not part of the `inspect --json` document (its `pt2` is the
//! summary); documented in docs/inspect-json.md.

use crate::container::pt2::program::{Arg, Graph, Node};
use crate::model::Model;
use serde_json::{json, Map, Value as Json};
use std::collections::{HashMap, HashSet};

/// Signature input kinds that are weights: drawn inside the boxes that read them.
const WEIGHT_KINDS: [&str; 3] = ["parameter", "buffer", "tensor_constant"];

/// The graph view of a `.pt2` document, or None for any other format.
pub fn graph_json(model: &Model) -> Option<Json> {
    let p = model.pt2.as_deref()?;
    let tensor_of: HashMap<&str, usize> = model.document.state_dict.iter().map(|e| (e.key.as_str(), e.tensor)).collect();
    let g = &p.graph;

    // Weights by their state_dict names, unless that name is already a value of the graph.
    let taken: HashSet<&str> = g.tensors.keys().chain(g.symbols.keys()).map(String::as_str).collect();
    let mut rename: HashMap<&str, &str> = HashMap::new();
    let mut initializers = Vec::new();
    for s in p.inputs.iter().filter(|s| WEIGHT_KINDS.contains(&s.kind.as_str()) || s.kind == "custom_obj") {
        let shown = match s.target.as_deref() {
            Some(t) if !taken.contains(t) => {
                rename.insert(&s.name, t);
                t
            }
            _ => s.name.as_str(),
        };
        let mut v = json!({
            "name": shown,
            "placeholder": s.name,
            "kind": s.kind,
            "target": s.target,
            "tensor": s.target.as_deref().and_then(|t| tensor_of.get(t)),
        });
        if let Some(t) = g.value_type(&s.name) {
            v["dtype"] = t["dtype"].clone();
            v["shape"] = t["shape"].clone();
        }
        if let Some(persistent) = s.persistent {
            v["persistent"] = Json::from(persistent);
        }
        initializers.push(v);
    }
    let r = Renamer(&rename);

    let typed = |name: &str, extra: Json| {
        let mut v = json!({"name": r.name(name)});
        if let Some(t) = g.value_type(name) {
            v["elem_type"] = t["dtype"].clone();
            v["shape"] = t["shape"].clone();
        }
        if let (Json::Object(m), Some(o)) = (extra, v.as_object_mut()) {
            o.extend(m);
        }
        v
    };
    let inputs: Vec<Json> = p
        .inputs
        .iter()
        .filter(|s| !WEIGHT_KINDS.contains(&s.kind.as_str()) && s.kind != "custom_obj" && !s.name.is_empty())
        .map(|s| typed(&s.name, json!({"kind": s.kind})))
        .collect();
    let mut outputs: Vec<Json> = Vec::new();
    for (i, s) in p.outputs.iter().enumerate() {
        let extra = json!({"kind": s.kind, "target": s.target});
        match &s.name {
            Some(name) => outputs.push(typed(name, extra)),
            None => outputs.push(typed(&format!("output #{i}"), extra)),
        }
    }
    let mut values = Map::new();
    for name in g.tensors.keys().chain(g.symbols.keys()) {
        if let Some(t) = g.value_type(name) {
            let mut v = json!({"elem_type": t["dtype"], "shape": t["shape"]});
            for k in ["expr", "hint", "value"] {
                if let Some(x) = t.get(k) {
                    v[k] = x.clone();
                }
            }
            values.insert(r.name(name).to_string(), v);
        }
    }
    let nodes: Vec<Json> = g.nodes.iter().enumerate().map(|(i, n)| r.node(n, i, true)).collect();
    let mut problems = p.problems.clone();
    problems.extend(dangling(g, &p.inputs.iter().map(|s| s.name.as_str()).collect()));
    Some(json!({
        "format": "torch-export",
        "model": {
            "member": p.member,
            "schema_version": p.schema_version,
            "torch_version": p.torch_version,
            "opsets": p.opsets.iter().map(|(k, v)| (k.clone(), Json::from(*v))).collect::<Map<_, _>>(),
            "verifiers": p.verifiers,
        },
        "inputs": inputs,
        "outputs": outputs,
        "initializers": initializers,
        "values": values,
        "nodes": nodes,
        "functions": [],
        "signature": {
            "inputs": p.inputs.iter().map(|s| s.to_json()).collect::<Vec<_>>(),
            "outputs": p.outputs.iter().map(|s| s.to_json()).collect::<Vec<_>>(),
        },
        "symbols": p.ranges.iter().map(|s| s.to_json()).collect::<Vec<_>>(),
        "problems": problems,
    }))
}

/// Node inputs that no placeholder, earlier node or enclosing graph makes: the graph is not well
/// formed (torch.export writes nodes in topological order).
fn dangling(g: &Graph, placeholders: &HashSet<&str>) -> Vec<String> {
    let mut known: HashSet<&str> = placeholders.clone();
    known.extend(g.inputs.iter().flat_map(arg_names));
    let mut out = Vec::new();
    for n in &g.nodes {
        for a in &n.args {
            for name in arg_names(&a.value) {
                if !known.contains(name) && out.len() < 100 {
                    out.push(format!("node {:?} reads {name:?}, which no input or earlier node makes", n.name));
                }
            }
        }
        known.extend(n.outputs.iter().flat_map(arg_names));
    }
    out
}

/// The value names an argument refers to (tensors and symbols), in order.
fn arg_names(a: &Arg) -> Vec<&str> {
    match a {
        Arg::Tensor(n) | Arg::Symbol(n) => vec![n.as_str()],
        Arg::List(items) => items.iter().flat_map(arg_names).collect(),
        _ => Vec::new(),
    }
}

/// Writes names with the weights' placeholders replaced by their state_dict names.
struct Renamer<'a>(&'a HashMap<&'a str, &'a str>);

impl Renamer<'_> {
    fn name<'n>(&self, n: &'n str) -> &'n str
    where
        Self: 'n,
    {
        self.0.get(n).copied().unwrap_or(n)
    }

    /// A node as the Graph view reads it: `{name, op_type, domain, inputs, input_args, outputs,
    /// attributes, module?, module_class?, stack_trace?, index}`. `inputs` are the values read
    /// (tensors and symbols), `input_args` the argument each comes from; every other argument is
    /// an attribute by its schema name. A subgraph argument is `{"$graph": ...}`.
    fn node(&self, n: &Node, index: usize, top: bool) -> Json {
        let mut inputs = Vec::new();
        let mut input_args = Vec::new();
        let mut attributes = Map::new();
        let mut keywords = Vec::new();
        for a in &n.args {
            for name in arg_names(&a.value) {
                inputs.push(self.name(name).to_string());
                input_args.push(a.name.clone());
            }
            if a.keyword {
                keywords.push(a.name.clone());
            }
            if let Some(v) = self.attribute(&a.value) {
                attributes.insert(a.name.clone(), v);
            }
        }
        let outputs: Vec<String> = n.outputs.iter().flat_map(arg_names).map(|s| self.name(s).to_string()).collect();
        let domain = n.target.split('.').next().unwrap_or_default();
        let mut v = json!({
            "name": n.name,
            "op_type": n.target,
            "domain": domain,
            "inputs": inputs,
            "input_args": input_args,
            "outputs": outputs,
            "attributes": attributes,
            "index": index,
        });
        if !keywords.is_empty() {
            v["keywords"] = Json::from(keywords);
        }
        if let Some((path, class)) = &n.module {
            v["module"] = Json::from(path.as_str());
            v["module_class"] = Json::from(class.as_str());
        }
        if top {
            if let Some(t) = &n.stack_trace {
                v["stack_trace"] = Json::from(t.as_str());
            }
        }
        v
    }

    /// An argument as an attribute value: None for a tensor or a list of tensors alone (those are
    /// inputs); symbols by name in lists of sizes; literals as themselves.
    fn attribute(&self, a: &Arg) -> Option<Json> {
        match a {
            Arg::Tensor(_) => None,
            Arg::List(items) if !items.is_empty() && items.iter().all(|x| matches!(x, Arg::Tensor(_) | Arg::None)) => None,
            other => Some(self.value(other)),
        }
    }

    fn value(&self, a: &Arg) -> Json {
        match a {
            Arg::None => Json::Null,
            Arg::Tensor(n) => json!({"tensor": self.name(n)}),
            Arg::Symbol(n) => Json::from(self.name(n)),
            Arg::Literal(v) => v.clone(),
            Arg::List(items) => Json::from(items.iter().map(|x| self.value(x)).collect::<Vec<_>>()),
            Arg::Graph(g) => self.subgraph(g),
            Arg::Unknown(kind, _) => Json::from(format!("<{kind}>")),
        }
    }

    /// A subgraph as the ONNX view writes one, so the details card summarizes it the same way; its
    /// inputs and outputs named like its nodes' (a weight passed in by its state_dict name).
    fn subgraph(&self, g: &Graph) -> Json {
        let names = |args: &[Arg]| args.iter().flat_map(arg_names).map(|n| json!({"name": self.name(n)})).collect::<Vec<_>>();
        json!({"$graph": {
            "name": g.name,
            "inputs": names(&g.inputs),
            "outputs": names(&g.outputs),
            "initializer_count": 0,
            "node_count": g.nodes.len(),
            "nodes": g.nodes.iter().enumerate().map(|(i, n)| self.node(n, i, false)).collect::<Vec<_>>(),
        }})
    }
}
