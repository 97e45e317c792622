//! The ONNX graph as the page draws it (`WasmModel.onnxGraph`): the model's metadata, the nodes in
//! topological order, which node inputs are initializers (by index into the document's tensors),
//! and the types the file records for values. Not part of the `inspect --json` document.

use super::graph::{elem_type_name, model_inputs, node_json, op_types, value_info_json, GraphInfo, ModelInfo};
use crate::document::Document;
use serde_json::{json, Map, Value as Json};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

/// At most this many problems are listed one by one; the rest are counted.
const MAX_PROBLEMS: usize = 100;

/// The graph view of an ONNX document, or None for any other format.
pub fn graph_json(doc: &Document) -> Option<Json> {
    let info = doc.onnx_model.as_deref()?;
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
        "inputs": model_inputs(g).into_iter().map(value_info_json).collect::<Vec<_>>(),
        "outputs": g.outputs.iter().map(value_info_json).collect::<Vec<_>>(),
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
