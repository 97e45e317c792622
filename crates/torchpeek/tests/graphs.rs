//! Graphs of PyTorch files against torch's own reading of them: `.pt2` exported programs
//! (`view::pt2`) and TorchScript code (`view::torchscript`), over the fixtures of
//! `tests/real/graphs` and `tests/real` written by torch 2.15 (`gen/make_graph_models.py`, which
//! also records, next to each, what torch reads back: `NAME.expected.json`). Hostile and broken
//! programs give a problem, never a panic, and the weights still show.

mod common;

use common::*;
use serde_json::{json, Value as Json};
use std::path::{Path, PathBuf};
use torchpeek::{FileSource, Model, Source};

fn real(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/real").join(path)
}

fn open_file(path: &Path) -> Model {
    let src = FileSource::open(path).unwrap();
    torchpeek::open(vec![Box::new(src) as Box<dyn Source>]).unwrap()
}

/// The fixture and torch's record of it.
fn with_expected(path: &str) -> (Model, Json) {
    let file = real(path);
    let name = file.file_name().unwrap().to_str().unwrap().to_string();
    let record = std::fs::read_to_string(real("graphs").join(format!("{name}.expected.json"))).unwrap();
    let expected: Json = serde_json::from_str(&record).unwrap();
    assert!(expected["torch"].as_str().unwrap().starts_with("2.15"), "{path}: recorded by torch {}", expected["torch"]);
    (open_file(&file), expected)
}

fn strings(v: &Json) -> Vec<String> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
}

const PT2: [&str; 4] = ["mlp_exported.pt2", "graphs/cnn_bn_train.pt2", "graphs/encoder_dynamic.pt2", "graphs/branch_cond.pt2"];

#[test]
fn pt2_graphs_have_torchs_nodes_targets_and_signature() {
    for path in PT2 {
        let (model, want) = with_expected(path);
        let view = torchpeek::view::graph_json(&model, false).unwrap_or_else(|| panic!("{path}: no graph"));
        assert_eq!(view["format"], "torch-export");
        assert_eq!(view["problems"], json!([]), "{path}");
        let nodes = view["nodes"].as_array().unwrap();
        // torch's graph also has a node per placeholder, one output node, the `getitem` nodes its
        // serializer folds into their producer's outputs, and a `get_attr` node per subgraph.
        let placeholders = want["placeholders"].as_array().unwrap().len();
        let folded = want["getitem_nodes"].as_u64().unwrap() + want["get_attr_nodes"].as_u64().unwrap();
        assert_eq!(nodes.len(), want["graph_nodes"].as_u64().unwrap() as usize - placeholders - 1 - folded as usize, "{path}");
        let targets: Vec<&str> = nodes.iter().map(|n| n["op_type"].as_str().unwrap()).collect();
        assert_eq!(targets, strings(&want["targets"]), "{path}");

        // Weights: every parameter and buffer by its state_dict name, linked to that tensor.
        let inits = view["initializers"].as_array().unwrap();
        let mut weights = strings(&want["parameters"]);
        weights.extend(strings(&want["buffers"]));
        let names: Vec<String> = inits.iter().map(|t| t["name"].as_str().unwrap().to_string()).collect();
        assert_eq!(names, weights, "{path}");
        for t in inits {
            let i = t["tensor"].as_u64().unwrap_or_else(|| panic!("{path}: {} not linked", t["name"])) as usize;
            let key = model.document.state_dict.iter().find(|e| e.tensor == i).unwrap().key.clone();
            assert_eq!(key, t["name"].as_str().unwrap());
            assert_eq!(json!(model.document.tensors[i].shape), t["shape"], "{path} {key}");
            let placeholder = t["placeholder"].as_str().unwrap();
            let target = want["inputs_to_parameters"].get(placeholder).or_else(|| want["inputs_to_buffers"].get(placeholder));
            assert_eq!(target, Some(&t["name"]), "{path}: placeholder {placeholder}");
        }
        // Node inputs name the weights by state_dict name, never by placeholder.
        let read: Vec<&str> = nodes.iter().flat_map(|n| n["inputs"].as_array().unwrap()).map(|v| v.as_str().unwrap()).collect();
        for t in inits {
            assert!(read.contains(&t["name"].as_str().unwrap()), "{path}: no node reads {}", t["name"]);
            assert!(!read.contains(&t["placeholder"].as_str().unwrap()), "{path}: {} read by placeholder", t["name"]);
        }

        // The signature: user inputs (with their shapes, symbols by name), user outputs, mutations.
        let inputs: Vec<String> = view["inputs"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap().to_string()).collect();
        assert_eq!(inputs, strings(&want["user_inputs"]), "{path}");
        for v in view["inputs"].as_array().unwrap() {
            let shape: Vec<String> = v["shape"].as_array().unwrap().iter().map(|d| d.to_string().trim_matches('"').to_string()).collect();
            assert_eq!(json!(shape), want["user_input_shapes"][v["name"].as_str().unwrap()], "{path}");
        }
        let outputs = view["outputs"].as_array().unwrap();
        let user: Vec<String> =
            outputs.iter().filter(|o| o["kind"] == "user_output").map(|o| o["name"].as_str().unwrap().to_string()).collect();
        assert_eq!(user, strings(&want["user_outputs"]), "{path}");
        let mutated: serde_json::Map<String, Json> = outputs
            .iter()
            .filter(|o| o["kind"] == "buffer_mutation")
            .map(|o| (o["name"].as_str().unwrap().to_string(), o["target"].clone()))
            .collect();
        assert_eq!(Json::Object(mutated), want["buffers_to_mutate"], "{path}");
        let ranges: serde_json::Map<String, Json> = view["symbols"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["symbol"].as_str().unwrap().to_string(), json!([s["min"].to_string(), s["max"].to_string()])))
            .collect();
        assert_eq!(Json::Object(ranges), want["range_constraints"], "{path}");

        // Subgraphs (torch.cond's branches): each drawn inside its node, with torch's targets.
        for (name, targets) in want["subgraphs"].as_object().unwrap() {
            let sub = nodes
                .iter()
                .find_map(|n| n["attributes"].get(name))
                .unwrap_or_else(|| panic!("{path}: no node holds subgraph {name}"));
            let ops: Vec<&str> = sub["$graph"]["nodes"].as_array().unwrap().iter().map(|n| n["op_type"].as_str().unwrap()).collect();
            assert_eq!(ops, strings(targets), "{path}: {name}");
            assert_eq!(sub["$graph"]["name"], json!(name));
            // A weight passed into a branch is named as the branch's nodes read it: by its state_dict name.
            for input in sub["$graph"]["inputs"].as_array().unwrap() {
                assert!(want["inputs_to_parameters"].get(input["name"].as_str().unwrap()).is_none(), "{path}: {name} input {input}");
            }
        }

        // The document's summary agrees with the view.
        let summary = model.document.pt2.as_ref().unwrap();
        assert_eq!(summary["node_count"], json!(nodes.len()));
        let counted: u64 = summary["targets"].as_object().unwrap().values().map(|c| c.as_u64().unwrap()).sum();
        assert_eq!(counted as usize, nodes.len());
        assert_eq!(summary["parameter_count"], json!(want["parameters"].as_array().unwrap().len()));
        assert_eq!(summary["buffer_count"], json!(want["buffers"].as_array().unwrap().len()));
        assert_eq!(summary["user_inputs"].as_array().unwrap().len(), inputs.len());
    }
}

#[test]
fn pt2_nodes_carry_arguments_by_name_modules_and_symbolic_sizes() {
    let model = open_file(&real("graphs/encoder_dynamic.pt2"));
    let view = torchpeek::view::graph_json(&model, false).unwrap();
    let nodes = view["nodes"].as_array().unwrap();
    let ln = nodes.iter().find(|n| n["op_type"] == "aten.layer_norm.default").unwrap();
    assert_eq!(ln["attributes"]["normalized_shape"], json!([16]));
    assert_eq!(ln["attributes"]["eps"], json!(1e-05));
    assert_eq!(ln["input_args"], json!(["input", "weight", "bias"]));
    assert_eq!(ln["inputs"][1], "layer.norm1.weight");
    assert_eq!(ln["module"], "layer.norm1");
    // A size computed in the graph is a value: read by the views that use it, named in their sizes.
    let size = nodes.iter().find(|n| n["op_type"] == "aten.sym_size.int").unwrap();
    let sym = size["outputs"][0].as_str().unwrap();
    assert_eq!(view["values"][sym]["elem_type"], "SymInt");
    assert_eq!(view["values"][sym]["expr"], "s27");
    let view_node = nodes.iter().find(|n| n["op_type"] == "aten.view.default").unwrap();
    assert!(view_node["inputs"].as_array().unwrap().contains(&json!(sym)));
    assert_eq!(view_node["attributes"]["size"][0], json!(sym));
    assert_eq!(view["values"]["x"]["shape"], json!([1, "s27", 16]));
}

/// A `.pt2` with a tiny weights config and the given `models/model.json`.
fn pt2_with_program(program: &[u8]) -> Vec<u8> {
    let weights = json!({"config": {"fc.weight": {"path_name": "weight_0", "is_param": true, "use_pickle": false,
        "tensor_meta": {"dtype": 7, "sizes": [{"as_int": 2}], "strides": [{"as_int": 1}], "storage_offset": {"as_int": 0}}}}})
    .to_string();
    let w0: Vec<u8> = [1.0f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    zip_of(&[
        ("m/archive_format", b"pt2"),
        ("m/models/model.json", program),
        ("m/data/weights/model_weights_config.json", weights.as_bytes()),
        ("m/data/weights/weight_0", &w0),
    ])
}

#[test]
fn a_broken_program_is_a_problem_and_the_weights_still_show() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let huge_list = format!("{{\"graph_module\": {{\"graph\": {{\"nodes\": [{}]}}}}}}", vec!["{}"; 50_000].join(","));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not JSON", b"{\"graph_module\": ".to_vec()),
        ("no graph", b"{}".to_vec()),
        ("nesting past serde's limit", deep.into_bytes()),
        ("binary", vec![0xff; 64]),
    ];
    for (what, program) in cases {
        let model = open_bytes("x.pt2", pt2_with_program(&program)).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(model.document.state_dict.len(), 1, "{what}");
        assert!(model.document.pt2.is_none(), "{what}");
        assert!(model.document.errors.iter().any(|e| e.message.contains("exported program")), "{what}: {:?}", model.document.errors);
        assert!(torchpeek::view::graph_json(&model, false).is_none(), "{what}");
    }
    // Nodes that say nothing useful are still nodes, each a problem where a target is missing.
    let model = open_bytes("x.pt2", pt2_with_program(huge_list.as_bytes())).unwrap();
    let view = torchpeek::view::graph_json(&model, false).unwrap();
    assert_eq!(view["nodes"].as_array().unwrap().len(), 50_000);
    assert!(view["problems"][0].as_str().unwrap().contains("no target"), "{}", view["problems"][0]);
    assert!(view["problems"].as_array().unwrap().len() <= 102);
}

#[test]
fn odd_values_in_a_program_are_shown_as_unknown_not_dropped() {
    let program = json!({"graph_module": {
        "graph": {
            "inputs": [{"as_tensor": {"name": "x"}}],
            "outputs": [{"as_tensor": {"name": "y"}}],
            "nodes": [{"target": "torch.ops.my.op.default", "name": "y",
                "inputs": [
                    {"name": "self", "arg": {"as_tensor": {"name": "x"}}, "kind": 1},
                    {"name": "weird", "arg": {"as_future_thing": [1, 2]}, "kind": 2},
                    {"name": "dtype", "arg": {"as_scalar_type": 13}, "kind": 2},
                    {"name": "ghost", "arg": {"as_tensor": {"name": "nowhere"}}, "kind": 1},
                ],
                "outputs": [{"as_tensor": {"name": "y"}}]}],
            "tensor_values": {"x": {"dtype": 999, "sizes": [{"as_int": 3}]}, "y": {"sizes": "not a list"}},
        },
        "signature": {"input_specs": [{"user_input": {"arg": {"as_tensor": {"name": "x"}}}}, {"mystery": 3}],
                      "output_specs": [{"user_output": {"arg": {"as_tensor": {"name": "y"}}}}]},
    }});
    let model = open_bytes("x.pt2", pt2_with_program(program.to_string().as_bytes())).unwrap();
    let view = torchpeek::view::graph_json(&model, false).unwrap();
    let n = &view["nodes"][0];
    assert_eq!(n["op_type"], "my.op.default");
    assert_eq!(n["attributes"]["weird"], "<as_future_thing>");
    assert_eq!(n["attributes"]["dtype"], "bfloat16");
    assert_eq!(n["keywords"], json!(["weird", "dtype"]));
    assert_eq!(view["values"]["x"]["elem_type"], "unknown");
    let problems = view["problems"].to_string();
    assert!(problems.contains("tensor \\\"y\\\""), "{problems}");
    assert!(problems.contains("signature input #1"), "{problems}");
    assert!(problems.contains("\\\"nowhere\\\""), "{problems}");
}

/// Every node's op type, blocks included (`$graph` attributes), in order.
fn ops_deep(nodes: &Json, out: &mut Vec<String>) {
    for n in nodes.as_array().unwrap() {
        out.push(n["op_type"].as_str().unwrap().to_string());
        for v in n["attributes"].as_object().unwrap().values() {
            if let Some(g) = v.get("$graph") {
                ops_deep(&g["nodes"], out);
            }
        }
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

const TORCHSCRIPT: [&str; 5] =
    ["graphs/gate_scripted.pt", "cnn_bn_traced.pt", "cnn_bn_scripted.pt", "encoder_traced.pt", "mlp_gelu_traced.pt"];

#[test]
fn torchscript_methods_have_torchs_operators_and_control_flow() {
    for path in TORCHSCRIPT {
        let (model, want) = with_expected(path);
        let mut all_aten = Vec::new();
        for (module, record) in want["modules"].as_object().unwrap() {
            let view = torchpeek::view::torchscript::module_graph_json(&model, module, "forward", false)
                .unwrap_or_else(|| panic!("{path}: no graph for module {module:?}"));
            assert_eq!(view["problems"], json!([]), "{path} {module:?}");
            let mut ops = Vec::new();
            ops_deep(&view["nodes"], &mut ops);
            let aten: Vec<String> = ops.iter().filter(|o| o.starts_with("aten::")).cloned().collect();
            assert_eq!(sorted(aten), sorted(strings(&record["aten"])), "{path} module {module:?}: aten operators");
            assert_eq!(ops.iter().filter(|o| *o == "prim::If").count() as u64, record["if"].as_u64().unwrap(), "{path} {module:?}: if");
            assert_eq!(
                ops.iter().filter(|o| *o == "prim::Loop").count() as u64,
                record["loop"].as_u64().unwrap(),
                "{path} {module:?}: loops"
            );
            all_aten.extend(strings(&record["aten"]));
        }
        // Expanded, the root's forward is the whole model: torch's inlined graph (every method
        // and function call inlined). torch folds constants while inlining (a literal `eps`
        // passed to `batch_norm` removes its checks), so with control flow every operator of
        // torch's is ours and we may have more; straight-line traced code is exactly torch's.
        let whole = torchpeek::view::graph_json(&model, true).unwrap();
        assert_eq!(whole["format"], "torchscript");
        assert_eq!(whole["problems"], json!([]), "{path}");
        let mut ops = Vec::new();
        ops_deep(&whole["nodes"], &mut ops);
        let inlined = &want["inlined"];
        let ifs = ops.iter().filter(|o| *o == "prim::If").count() as u64;
        let loops = ops.iter().filter(|o| *o == "prim::Loop").count() as u64;
        assert!(ifs >= inlined["if"].as_u64().unwrap() && loops >= inlined["loop"].as_u64().unwrap(), "{path}: {ifs} ifs, {loops} loops");
        let mut aten: Vec<String> = ops.into_iter().filter(|o| o.starts_with("aten::")).collect();
        if path.contains("traced") {
            assert_eq!(sorted(aten), sorted(strings(&inlined["aten"])), "{path}: expanded");
            // The modules' own operators are all of it.
            assert_eq!(sorted(all_aten), sorted(strings(&inlined["aten"])), "{path}");
            assert_eq!((ifs, loops), (0, 0), "{path}");
        } else {
            for op in strings(&inlined["aten"]) {
                let i = aten.iter().position(|o| *o == op).unwrap_or_else(|| panic!("{path}: expanded lacks {op} (torch has it)"));
                aten.swap_remove(i);
            }
        }
        for t in whole["initializers"].as_array().unwrap() {
            assert!(t["tensor"].is_u64(), "{path}: weight {} not linked", t["name"]);
        }
    }
}

#[test]
fn torchscript_collapsed_calls_name_their_submodule_and_straight_line_code_is_whole() {
    let model = open_file(&real("encoder_traced.pt"));
    let root = torchpeek::view::graph_json(&model, false).unwrap();
    let nodes = root["nodes"].as_array().unwrap();
    let calls: Vec<(&str, &str)> = nodes.iter().map(|n| (n["op_type"].as_str().unwrap(), n["module"].as_str().unwrap())).collect();
    assert_eq!(calls, [("TransformerEncoderLayer", "layer"), ("LayerNorm", "norm")]);
    // The second call reads the first's output; the graph's output is the second's.
    assert_eq!(nodes[1]["inputs"][0], nodes[0]["outputs"][0]);
    assert_eq!(root["outputs"][0]["name"], nodes[1]["outputs"][0]);
    // Inside the layer: one fused operator reading all twelve weights by their state_dict names.
    let layer = torchpeek::view::torchscript::module_graph_json(&model, "layer", "forward", false).unwrap();
    let fused = &layer["nodes"].as_array().unwrap().iter().find(|n| n["op_type"] == "aten::_transformer_encoder_layer_fwd").unwrap();
    let inputs = strings(&fused["inputs"]);
    assert_eq!(inputs.len(), 13, "{inputs:?}");
    assert!(inputs.contains(&"layer.self_attn.in_proj_weight".to_string()));
    assert_eq!(fused["attributes"]["#1"], 16);
}

#[test]
fn torchscript_text_that_cannot_be_read_is_a_node_and_a_problem() {
    let model = open_file(&real("graphs/gate_scripted.pt"));
    let mut doc_model = model;
    let member = doc_model.document.code.iter_mut().find(|c| c.text.contains("class Gate")).unwrap();
    member.text = member.text.replace("    y = x\n", "    y = x\n    z = lambda q: q\n");
    let view = torchpeek::view::graph_json(&doc_model, false).unwrap();
    let problems = strings(&view["problems"]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("line 14") && problems[0].contains("z = lambda q: q"), "{problems:?}");
    let unparsed = view["nodes"].as_array().unwrap().iter().find(|n| n["op_type"] == "unparsed").unwrap();
    assert_eq!(unparsed["attributes"]["text"], "z = lambda q: q");
    // The rest is still there.
    let mut ops = Vec::new();
    ops_deep(&view["nodes"], &mut ops);
    assert!(ops.contains(&"aten::tanh".to_string()) && ops.contains(&"prim::Loop".to_string()));
}

#[test]
fn torchscript_code_that_calls_itself_is_drawn_once_expanded() {
    let mut model = open_file(&real("graphs/gate_scripted.pt"));
    let member = model.document.code.iter_mut().find(|c| c.text.contains("class Gate")).unwrap();
    // Hostile code: forward calls itself twice (torch would refuse to script it; we only read it).
    member.text = member.text.replace(
        "    return torch.tanh(y2)\n",
        "    a = (self).forward(y2, flag, )\n    b = (self).forward(a, flag, )\n    return torch.tanh(b)\n",
    );
    let t0 = std::time::Instant::now();
    let view = torchpeek::view::graph_json(&model, true).unwrap();
    assert!(t0.elapsed().as_secs() < 5);
    let calls = view["nodes"].as_array().unwrap().iter().filter(|n| n["op_type"] == "Gate").count();
    assert_eq!(calls, 2, "the self-calls are drawn as calls, not inlined");
}
