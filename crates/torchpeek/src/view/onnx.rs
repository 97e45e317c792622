//! The ONNX graph as the page draws it (`WasmModel.graph`): the model's metadata, the nodes in
//! topological order, which node inputs are initializers (by index into the document's tensors),
//! and the types the file records for values. Not part of the `inspect --json` document.

use crate::container::onnx::op_types;
use crate::container::onnx::schema::{dtype_of, elem_type_name, model_inputs, AttrValue, GraphInfo, ModelInfo, NodeInfo, TensorSummary};
use crate::document::float_json;
use crate::dtype::DType;
use crate::model::Model;
use serde_json::{json, Map, Value as Json};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

/// At most this many problems are listed one by one; the rest are counted.
const MAX_PROBLEMS: usize = 100;

/// The graph view of an ONNX document, or None for any other format.
pub fn graph_json(model: &Model) -> Option<Json> {
    let (doc, info) = (&model.document, model.onnx.as_deref()?);
    let empty = GraphInfo::default();
    let g = info.graph.as_ref().unwrap_or(&empty);
    let tensor_of: HashMap<&str, usize> = doc.state_dict.iter().map(|e| (e.key.as_str(), e.tensor)).collect();
    let (order, problems) = topological_order(g);

    let nodes: Vec<Json> = order
        .iter()
        .map(|&i| {
            let n = &g.nodes[i];
            let mut j = node_json(n);
            j["index"] = Json::from(i);
            if !n.outer_inputs.is_empty() {
                j["outer_inputs"] = Json::from(n.outer_inputs.clone());
            }
            j
        })
        .collect();
    let initializers: Vec<Json> = g
        .initializers
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                "tensor": tensor_of.get(t.name.as_str()),
                "dtype": elem_type_name(t.data_type as i64),
                "shape": t.dims,
            })
        })
        .collect();
    let mut values = Map::new();
    for v in g.value_info.iter().chain(&g.inputs).chain(&g.outputs) {
        values.insert(v.name.clone(), json!({ "elem_type": v.elem_type, "shape": v.shape }));
    }
    let functions: Vec<Json> = info
        .functions
        .iter()
        .map(|f| {
            json!({
                "name": f.name,
                "domain": f.domain,
                "inputs": f.inputs,
                "outputs": f.outputs,
                "node_count": f.nodes.len(),
                "op_types": op_types(&f.nodes),
            })
        })
        .collect();
    Some(json!({
        "model": metadata(info, g),
        "inputs": model_inputs(g),
        "outputs": g.outputs,
        "initializers": initializers,
        "sparse_initializer_count": g.sparse_initializers,
        "values": values,
        "nodes": nodes,
        "functions": functions,
        "problems": problems,
    }))
}

fn metadata(info: &ModelInfo, g: &GraphInfo) -> Json {
    let opsets: Map<String, Json> = info
        .opsets
        .iter()
        .map(|(d, v)| (if d.is_empty() { "ai.onnx".to_string() } else { d.clone() }, Json::from(*v)))
        .collect();
    json!({
        "ir_version": info.ir_version,
        "opsets": opsets,
        "producer_name": info.producer_name,
        "producer_version": info.producer_version,
        "domain": info.domain,
        "model_version": info.model_version,
        "doc_string": info.doc_string,
        "graph_name": g.name,
        "graph_doc_string": g.doc_string,
        // Pairs, not an object: keys may repeat, and their order is the file's.
        "metadata_props": info.metadata_props.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
    })
}

/// A node's name for messages: its own, or its position and op type.
fn label(g: &GraphInfo, i: usize) -> String {
    let n = &g.nodes[i];
    if n.name.is_empty() {
        format!("#{i} ({})", n.op_type)
    } else {
        format!("{:?}", n.name)
    }
}

/// The nodes' indices in an order where every node comes after the producers of its inputs
/// (and of the outer values its subgraphs use); among nodes free to go, file order first, so a
/// file already sorted keeps its order. Nodes in a cycle follow in file order, with a problem.
pub fn topological_order(g: &GraphInfo) -> (Vec<usize>, Vec<String>) {
    let n = g.nodes.len();
    let mut problems = Vec::new();
    let mut more = 0usize;
    let mut problem = |p: String| {
        if problems.len() < MAX_PROBLEMS {
            problems.push(p);
        } else {
            more += 1;
        }
    };
    let mut producer: HashMap<&str, usize> = HashMap::new();
    for (i, node) in g.nodes.iter().enumerate() {
        for o in node.outputs.iter().filter(|o| !o.is_empty()) {
            if let Some(&first) = producer.get(o.as_str()) {
                problem(format!("value {o:?} is produced by node {} and again by node {}", label(g, first), label(g, i)));
            } else {
                producer.insert(o, i);
            }
        }
    }
    let given: HashSet<&str> =
        g.inputs.iter().map(|v| v.name.as_str()).chain(g.initializers.iter().map(|t| t.name.as_str())).collect();

    let mut consumers: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut waiting = vec![0usize; n];
    for (i, node) in g.nodes.iter().enumerate() {
        let mut deps: Vec<usize> = Vec::new();
        for name in node.inputs.iter().chain(&node.outer_inputs).filter(|s| !s.is_empty()) {
            match producer.get(name.as_str()) {
                Some(&j) => deps.push(j),
                None if given.contains(name.as_str()) => {}
                None => problem(format!(
                    "node {} uses {name:?}, which is no graph input, initializer or node output",
                    label(g, i)
                )),
            }
        }
        deps.sort_unstable();
        deps.dedup();
        waiting[i] = deps.len();
        for j in deps {
            consumers[j].push(i);
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> = (0..n).filter(|&i| waiting[i] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        for &c in &consumers[i] {
            waiting[c] -= 1;
            if waiting[c] == 0 {
                ready.push(Reverse(c));
            }
        }
    }
    if order.len() < n {
        let stuck: Vec<usize> = (0..n).filter(|&i| waiting[i] > 0).collect();
        problem(format!(
            "{} node{} wait on a cycle (first: {}); listed in file order",
            stuck.len(),
            if stuck.len() == 1 { "" } else { "s" },
            label(g, stuck[0])
        ));
        order.extend(stuck);
    }
    if more > 0 {
        problems.push(format!("and {more} more problems"));
    }
    (order, problems)
}

/// A node as JSON: `{name, op_type, domain, inputs, outputs, attributes}`.
pub fn node_json(n: &NodeInfo) -> Json {
    let mut attrs = Map::new();
    for (k, v) in &n.attributes {
        attrs.insert(k.clone(), attr_json(v));
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

/// An attribute value: numbers, strings and lists as themselves; a tensor as `{dtype, shape, name?,
/// value?}`; a subgraph as `{"$graph": ...}`; what is not read as `"<...>"`; a reference as `{ref}`.
fn attr_json(v: &AttrValue) -> Json {
    match v {
        AttrValue::Float(f) => float_json(*f as f64),
        AttrValue::Int(i) => Json::from(*i),
        AttrValue::String(s) => Json::from(s.as_str()),
        AttrValue::Tensor(t) => tensor_json(t),
        AttrValue::Graph(g) => subgraph_json(g),
        AttrValue::Floats(fs) => Json::from(fs.iter().map(|&f| float_json(f as f64)).collect::<Vec<_>>()),
        AttrValue::Ints(is) => Json::from(is.clone()),
        AttrValue::Strings(ss) => Json::from(ss.clone()),
        AttrValue::Tensors(ts) => Json::from(ts.iter().map(tensor_json).collect::<Vec<_>>()),
        AttrValue::Graphs(gs) => Json::from(gs.iter().map(subgraph_json).collect::<Vec<_>>()),
        AttrValue::SparseTensor => Json::from("<sparse tensor>"),
        AttrValue::TypeProto => Json::from("<type proto>"),
        AttrValue::Unread(what) => Json::from(format!("<{what}>")),
        AttrValue::Ref(r) => json!({ "ref": r }),
        AttrValue::Missing => Json::Null,
    }
}

/// `{dtype, shape}`, `name` when it has one, and `value` when its bytes were at hand.
fn tensor_json(t: &TensorSummary) -> Json {
    let mut m = Map::new();
    m.insert("dtype".into(), Json::from(elem_type_name(t.data_type as i64)));
    m.insert("shape".into(), Json::from(t.dims.clone()));
    if !t.name.is_empty() {
        m.insert("name".into(), Json::from(t.name.clone()));
    }
    if let (Some(dtype), Some(b)) = (dtype_of(t.data_type), &t.value) {
        let vals: Vec<Json> = b.chunks_exact(dtype.itemsize() as usize).map(|c| scalar_json(dtype, c)).collect();
        let v = if t.dims.is_empty() { vals.into_iter().next().unwrap_or(Json::Null) } else { Json::from(vals) };
        m.insert("value".into(), v);
    }
    Json::Object(m)
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

/// A subgraph (an If branch, a Loop body) as an attribute value.
fn subgraph_json(g: &GraphInfo) -> Json {
    json!({
        "$graph": {
            "name": g.name,
            "inputs": model_inputs(g),
            "outputs": g.outputs,
            "initializer_count": g.initializers.len(),
            "node_count": g.nodes.len(),
            "nodes": g.nodes.iter().map(node_json).collect::<Vec<_>>(),
        }
    })
}
