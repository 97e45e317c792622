//! ONNX reading: every fixture against its manifest, external data, the graph view, corrupt
//! inputs. Running models is the engine's (`crates/torchpeek-engine/tests/`).

use serde_json::Value as Json;
use std::path::Path;
use torchpeek::document::StorageData;
use torchpeek::source::{FileSource, MemSource, Source};
use torchpeek::container::{onnx, sniff};
use torchpeek::{Error, Format, Kind, Model};

fn manifest(p: &Path) -> Json {
    let m = p.with_file_name(format!("{}.manifest.json", p.file_name().unwrap().to_str().unwrap()));
    serde_json::from_str(&std::fs::read_to_string(m).unwrap()).unwrap()
}

/// The ONNX reader alone on `sources` (no sniffing first), as a model.
fn read(sources: Vec<Box<dyn Source>>) -> torchpeek::Result<Model> {
    let r = onnx::read(&sources)?;
    Ok(Model::new(r.doc, r.onnx, sources))
}

fn read_file(p: &Path) -> torchpeek::Result<Model> {
    read(vec![Box::new(FileSource::open(p).unwrap())])
}

fn read_mem(name: &str, bytes: Vec<u8>) -> torchpeek::Result<Model> {
    read(vec![Box::new(MemSource::new(name, bytes))])
}

const SPEC_FIELDS: &[&str] = &[
    "ir_version",
    "opsets",
    "producer",
    "inputs",
    "outputs",
    "node_count",
    "op_types",
    "initializer_count",
    "initializer_numel",
];

fn check_against_manifest(path: &Path, model: &Model) {
    let doc = &model.document;
    let m = manifest(path);
    let name = path.display();
    assert_eq!(doc.format, Format::Onnx, "{name}");
    assert_eq!(doc.kind, Kind::Onnx, "{name}");
    let o = doc.onnx.as_ref().expect("onnx summary");
    for f in SPEC_FIELDS {
        assert_eq!(o.get(*f), m.get(*f), "{name}: field {f}");
    }
    // The spec's fields and no others (the page's graph view has the rest).
    let keys: Vec<&str> = o.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, SPEC_FIELDS, "{name}");
    // Initializers are tensors and the state_dict, with contiguous strides and their bytes in range.
    let count = m["initializer_count"].as_u64().unwrap() as usize;
    assert_eq!(doc.tensors.len(), count, "{name}: tensors");
    assert_eq!(doc.state_dict.len(), count, "{name}: state_dict");
    let numel: u64 = doc.tensors.iter().map(|t| t.numel).sum();
    assert_eq!(numel, m["initializer_numel"].as_u64().unwrap(), "{name}: numel");
    let file_len = std::fs::metadata(path).unwrap().len();
    let json = doc.to_json();
    for (i, (t, e)) in doc.tensors.iter().zip(&doc.state_dict).enumerate() {
        assert_eq!(e.tensor, i);
        assert_eq!(t.path, vec![e.key.clone()]);
        assert_eq!(json["tree"]["$dict"][i][0], Json::from(e.key.clone()));
        assert_eq!(json["tree"]["$dict"][i][1]["$tensor"], Json::from(i));
        let mut want = 1i64;
        for (d, s) in t.shape.iter().zip(&t.stride).rev() {
            assert_eq!(*s, want, "{name}: {} stride", e.key);
            want *= *d as i64;
        }
        let st = &doc.storages[t.storage_index];
        assert_eq!(st.key, t.storage);
        assert_eq!(st.bytes, t.numel * t.dtype.itemsize());
        match &st.data {
            StorageData::Range { source, offset, len } => {
                assert_eq!(*source, 0);
                assert_eq!(*len, st.bytes);
                assert!(offset + len <= file_len);
            }
            StorageData::Inline(b) => assert_eq!(b.len() as u64, st.bytes),
            other => panic!("{name}: {} has {other:?}", e.key),
        }
    }
    // The graph view has every node.
    let view = torchpeek::view::onnx::graph_json(model).unwrap();
    assert_eq!(view["nodes"].as_array().unwrap().len() as u64, m["node_count"].as_u64().unwrap());
    assert!(doc.errors.is_empty(), "{name}: {:?}", doc.errors);
}

#[test]
fn every_fixture_matches_its_manifest() {
    for p in onnx_fixtures() {
        let model = read_file(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        check_against_manifest(&p, &model);
    }
}

#[test]
fn open_dispatches_to_onnx() {
    for p in onnx_fixtures() {
        let model = torchpeek::open(vec![Box::new(FileSource::open(&p).unwrap())])
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        check_against_manifest(&p, &model);
    }
}

#[test]
fn sniffing_accepts_onnx_only() {
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let p = entry.unwrap().path();
        let bytes = std::fs::read(&p).unwrap();
        let head = &bytes[..bytes.len().min(64)];
        let is_onnx = p.extension().is_some_and(|e| e == "onnx");
        assert_eq!(sniff::is_onnx(head), is_onnx, "{}", p.display());
        // Shorter heads never accept a non-ONNX file either.
        if !is_onnx {
            for n in 0..head.len() {
                assert!(!sniff::is_onnx(&head[..n]), "{} head {n}", p.display());
            }
        }
    }
}

#[test]
fn cnn_details() {
    let model = read_file(&fixtures().join("cnn.onnx")).unwrap();
    let doc = &model.document;
    let o = torchpeek::view::onnx::graph_json(&model).unwrap();
    assert_eq!(o["model"]["producer_name"], "pytorch");
    let nodes = o["nodes"].as_array().unwrap();
    let conv = nodes.iter().find(|n| n["op_type"] == "Conv").unwrap();
    assert!(conv["attributes"]["kernel_shape"].is_array(), "{conv}");
    assert_eq!(conv["inputs"].as_array().unwrap().len(), 3);
    // A conv weight is 4-D float32, read where the file says.
    let w = doc.tensors.iter().find(|t| t.shape.len() == 4).unwrap();
    assert_eq!(w.dtype, torchpeek::dtype::DType::Float32);
    let StorageData::Range { offset, len, .. } = doc.storages[w.storage_index].data.clone() else { panic!() };
    let bytes = std::fs::read(fixtures().join("cnn.onnx")).unwrap();
    let vals: Vec<f32> = bytes[offset as usize..(offset + len) as usize]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert!(vals.iter().all(|v| v.is_finite() && v.abs() < 10.0));
    assert!(vals.iter().any(|v| *v != 0.0));
}

#[test]
fn bert_constants_are_summarised() {
    let model = read_file(&fixtures().join("bert_tiny.onnx")).unwrap();
    let o = torchpeek::view::onnx::graph_json(&model).unwrap();
    let nodes = o["nodes"].as_array().unwrap();
    let c = nodes.iter().find(|n| n["op_type"] == "Constant").unwrap();
    let v = &c["attributes"]["value"];
    assert!(v["dtype"].is_string() && v["shape"].is_array(), "{c}");
    assert!(v.get("value").is_some(), "small constants show their value: {c}");
}

#[path = "common/onnx_proto.rs"]
mod onnx_proto;
use onnx_proto::*;

#[test]
fn external_data_is_a_range_of_the_data_file() {
    let m = external_model("m.onnx.data");
    // The data file may come first: the model is found by its bytes.
    let sources: Vec<Box<dyn Source>> = vec![
        Box::new(MemSource::new("dir/m.onnx.data", external_data())),
        Box::new(MemSource::new("dir/m.onnx", m.clone())),
    ];
    let doc = onnx::read(&sources).unwrap().doc;
    assert!(doc.errors.is_empty(), "{:?}", doc.errors);
    let o = doc.onnx.as_ref().unwrap();
    assert_eq!(o["inputs"], serde_json::json!([{"name": "X", "elem_type": "FLOAT", "shape": ["n", 4]}]));
    assert_eq!(o["initializer_count"], 2);
    assert_eq!(o["initializer_numel"], 8);
    assert_eq!(o["op_types"], serde_json::json!({"Add": 2, "Relu": 1}));
    assert_eq!(o["producer"], "hand 1.0");
    let w = &doc.storages[doc.tensors[0].storage_index];
    assert_eq!(w.data, StorageData::Range { source: 0, offset: 8, len: 16 });
    let b = &doc.storages[doc.tensors[1].storage_index];
    let StorageData::Inline(bytes) = &b.data else { panic!("{b:?}") };
    assert_eq!(&bytes[..], &floats_le(&[0.5, -0.5, 1.5, -10.0])[..]);

    // Without the data file: still readable, the tensor has no data, and a problem says why.
    let model = read_mem("m.onnx", m.clone()).unwrap();
    let doc = &model.document;
    assert!(matches!(doc.storages[0].data, StorageData::Missing { .. }));
    assert_eq!(doc.errors.len(), 1, "{:?}", doc.errors);
    assert!(doc.errors[0].message.contains("m.onnx.data"), "{:?}", doc.errors);

    // A data file too short for the range: a problem, not a failure.
    let sources: Vec<Box<dyn Source>> =
        vec![Box::new(MemSource::new("m.onnx", m)), Box::new(MemSource::new("m.onnx.data", vec![0; 10]))];
    let doc = onnx::read(&sources).unwrap().doc;
    assert!(matches!(doc.storages[0].data, StorageData::Missing { .. }));
    assert_eq!(doc.errors.len(), 1);
}

#[test]
fn open_reads_external_data_with_its_model() {
    let sources: Vec<Box<dyn Source>> = vec![
        Box::new(MemSource::new("m.onnx", external_model("m.onnx.data"))),
        Box::new(MemSource::new("m.onnx.data", external_data())),
    ];
    let model = torchpeek::open(sources).unwrap();
    assert_eq!(model.document.format, Format::Onnx);
    let mut buf = [0u8; 16];
    model.read_storage(0, 0, &mut buf).unwrap();
    assert_eq!(&buf[..], &floats_le(&[1.0, 2.0, 3.0, 4.0])[..]);
}

#[test]
fn old_ir_inputs_that_are_initializers_are_not_model_inputs() {
    let w = cat(&[fv(1, 2), fv(2, 1), fs(8, "W"), fb(9, &floats_le(&[1.0, 2.0]))]);
    let graph = cat(&[
        fb(1, &node("Add", "", &["X", "W"], &["Y"], &[])),
        fb(5, &w),
        fb(11, &value_info("X", &[2])),
        fb(11, &value_info("W", &[2])),
        fb(12, &value_info("Y", &[2])),
    ]);
    let model = read_mem("old.onnx", model(graph)).unwrap();
    let doc = &model.document;
    let inputs = doc.onnx.as_ref().unwrap()["inputs"].as_array().unwrap().clone();
    assert_eq!(inputs.len(), 1);
    assert_eq!(inputs[0]["name"], "X");
}

#[test]
fn attributes_of_every_kind() {
    let attrs = vec![
        cat(&[fs(1, "alpha"), {
            let mut v = varint(2 << 3 | 5);
            v.extend(0.25f32.to_le_bytes());
            v
        }, fv(20, 1)]),
        cat(&[fs(1, "axis"), fv(3, (-1i64) as u64), fv(20, 2)]),
        cat(&[fs(1, "mode"), fs(4, "constant"), fv(20, 3)]),
        cat(&[fs(1, "pads"), fb(8, &cat(&[varint(1), varint(2), varint(3)])), fv(20, 7)]),
        cat(&[fs(1, "scales"), fb(7, &floats_le(&[1.0, 2.0])), fv(20, 6)]),
        cat(&[fs(1, "names"), fs(9, "a"), fs(9, "b"), fv(20, 8)]),
    ];
    let graph = cat(&[
        fb(1, &node("Custom", "n", &["X"], &["Y"], &attrs)),
        fb(11, &value_info("X", &[1])),
        fb(12, &value_info("Y", &[1])),
    ]);
    let model = read_mem("a.onnx", model(graph)).unwrap();
    let a = &torchpeek::view::onnx::graph_json(&model).unwrap()["nodes"][0]["attributes"];
    assert_eq!(
        *a,
        serde_json::json!({"alpha": 0.25, "axis": -1, "mode": "constant", "pads": [1, 2, 3], "scales": [1.0, 2.0], "names": ["a", "b"]})
    );
}

// ---- the graph view: metadata, topological order, initializer links ----

/// Checks the view's node order: every input (and outer value a subgraph uses) is a graph input,
/// an initializer or an earlier node's output; every node once.
fn assert_topological(name: &str, view: &Json) {
    let mut known: std::collections::HashSet<String> = std::collections::HashSet::new();
    known.extend(view["inputs"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap().to_string()));
    known.extend(view["initializers"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap().to_string()));
    let nodes = view["nodes"].as_array().unwrap();
    let mut seen = vec![false; nodes.len()];
    for n in nodes {
        let i = n["index"].as_u64().unwrap() as usize;
        assert!(!std::mem::replace(&mut seen[i], true), "{name}: node {i} twice");
        let uses = n["inputs"].as_array().unwrap().iter().chain(n["outer_inputs"].as_array().into_iter().flatten());
        for input in uses.map(|v| v.as_str().unwrap()).filter(|s| !s.is_empty()) {
            assert!(known.contains(input), "{name}: node {i} ({}) uses {input:?} before it is made", n["op_type"]);
        }
        known.extend(n["outputs"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()));
    }
    assert!(seen.iter().all(|s| *s), "{name}: nodes missing");
}

fn order_of(view: &Json) -> Vec<u64> {
    view["nodes"].as_array().unwrap().iter().map(|n| n["index"].as_u64().unwrap()).collect()
}

#[test]
fn graph_view_of_every_fixture() {
    for p in onnx_fixtures() {
        let name = p.display().to_string();
        let m = manifest(&p);
        let model = read_file(&p).unwrap();
    let doc = &model.document;
        let view = torchpeek::view::onnx::graph_json(&model).unwrap();
        assert_eq!(view["nodes"].as_array().unwrap().len() as u64, m["node_count"].as_u64().unwrap(), "{name}");
        assert_topological(&name, &view);
        assert_eq!(view["problems"], serde_json::json!([]), "{name}");
        assert_eq!(view["inputs"], m["inputs"], "{name}");
        assert_eq!(view["outputs"], m["outputs"], "{name}");
        let model = &view["model"];
        assert_eq!(model["opsets"], m["opsets"], "{name}");
        assert_eq!(model["ir_version"], m["ir_version"], "{name}");
        let producer = format!("{} {}", model["producer_name"].as_str().unwrap(), model["producer_version"].as_str().unwrap());
        assert_eq!(producer.trim(), m["producer"].as_str().unwrap(), "{name}");
        // Every initializer is linked to its tensor, with the same shape.
        let inits = view["initializers"].as_array().unwrap();
        assert_eq!(inits.len() as u64, m["initializer_count"].as_u64().unwrap(), "{name}");
        for init in inits {
            let i = init["tensor"].as_u64().unwrap_or_else(|| panic!("{name}: {init} has no tensor")) as usize;
            assert_eq!(doc.state_dict[i].key, init["name"].as_str().unwrap(), "{name}");
            assert_eq!(Json::from(doc.tensors[i].shape.clone()), init["shape"], "{name}");
        }
        // Some node reads an initializer (every fixture has weights).
        let names: std::collections::HashSet<&str> = inits.iter().map(|t| t["name"].as_str().unwrap()).collect();
        let nodes = view["nodes"].as_array().unwrap();
        assert!(nodes.iter().any(|n| n["inputs"].as_array().unwrap().iter().any(|i| names.contains(i.as_str().unwrap()))), "{name}");
    }
}

#[test]
fn graph_view_sorts_a_graph_stored_out_of_order() {
    // Y = Relu(Add(Mul(X, X), X)), stored as Relu, Add, Mul; an independent Neg stays in file order.
    let graph = cat(&[
        fb(1, &node("Relu", "relu", &["S"], &["Y"], &[])),
        fb(1, &node("Neg", "neg", &["X"], &["Z"], &[])),
        fb(1, &node("Add", "add", &["P", "X"], &["S"], &[])),
        fb(1, &node("Mul", "mul", &["X", "X"], &["P"], &[])),
        fb(11, &value_info("X", &[2])),
        fb(12, &value_info("Y", &[2])),
        fb(12, &value_info("Z", &[2])),
    ]);
    let model = read_mem("unsorted.onnx", model(graph)).unwrap();
    let view = torchpeek::view::onnx::graph_json(&model).unwrap();
    assert_eq!(order_of(&view), vec![1, 3, 2, 0]);
    assert_topological("unsorted", &view);
    assert_eq!(view["problems"], serde_json::json!([]));
    assert_eq!(view["nodes"][0]["name"], "neg");
}

#[test]
fn graph_view_reports_cycles_and_unknown_inputs() {
    let graph = cat(&[
        fb(1, &node("Add", "a", &["X", "C"], &["B"], &[])),
        fb(1, &node("Relu", "b", &["B"], &["C"], &[])),
        fb(1, &node("Mul", "c", &["X", "nowhere"], &["Y"], &[])),
        fb(11, &value_info("X", &[2])),
        fb(12, &value_info("Y", &[2])),
    ]);
    let model = read_mem("cycle.onnx", model(graph)).unwrap();
    let view = torchpeek::view::onnx::graph_json(&model).unwrap();
    // Every node is listed: the free one first, then the cycle in file order.
    assert_eq!(order_of(&view), vec![2, 0, 1]);
    let problems = view["problems"].to_string();
    assert!(problems.contains("nowhere"), "{problems}");
    assert!(problems.contains("2 nodes wait on a cycle"), "{problems}");
}

#[test]
fn graph_view_orders_a_node_after_what_its_subgraph_uses() {
    // If(cond) { then: Identity(T) } where T is made by a node stored after the If.
    let branch = |out: &str| {
        fb(6, &cat(&[fb(1, &node("Identity", "id", &["T"], &[out], &[])), fs(2, "branch"), fb(12, &value_info(out, &[2]))]))
    };
    let then_attr = cat(&[fs(1, "then_branch"), branch("t_out"), fv(20, 5)]);
    let else_attr = cat(&[fs(1, "else_branch"), branch("e_out"), fv(20, 5)]);
    let graph = cat(&[
        fb(1, &node("If", "if", &["cond"], &["Y"], &[then_attr, else_attr])),
        fb(1, &node("Neg", "make_t", &["X"], &["T"], &[])),
        fb(11, &value_info("X", &[2])),
        fb(11, &value_info("cond", &[])),
        fb(12, &value_info("Y", &[2])),
    ]);
    let model = read_mem("if.onnx", model(graph)).unwrap();
    let view = torchpeek::view::onnx::graph_json(&model).unwrap();
    assert_eq!(order_of(&view), vec![1, 0]);
    assert_topological("if", &view);
    let if_node = &view["nodes"][1];
    assert_eq!(if_node["outer_inputs"], serde_json::json!(["T"]));
    let sub = &if_node["attributes"]["then_branch"]["$graph"];
    assert_eq!(sub["node_count"], 1);
    assert_eq!(sub["name"], "branch");
}

#[test]
fn graph_view_has_the_model_metadata() {
    let prop = |k: &str, v: &str| fb(14, &cat(&[fs(1, k), fs(2, v)]));
    let graph = cat(&[
        fb(1, &node("Relu", "r", &["X"], &["Y"], &[])),
        fs(2, "main_graph"),
        fs(10, "graph notes"),
        fb(11, &value_info("X", &[2])),
        fb(12, &value_info("Y", &[2])),
        fb(13, &value_info("unused", &[-1, 3])),
    ]);
    let bytes = cat(&[
        model(graph),
        fs(4, "org.example"),
        fv(5, 7),
        fs(6, "A model with notes."),
        prop("author", "someone"),
        prop("tag", "a"),
        prop("tag", "b"),
    ]);
    let model = read_mem("meta.onnx", bytes).unwrap();
    let doc = &model.document;
    let view = torchpeek::view::onnx::graph_json(&model).unwrap();
    assert_eq!(
        view["model"],
        serde_json::json!({
            "ir_version": 8, "opsets": {"ai.onnx": 17}, "producer_name": "hand", "producer_version": "1.0",
            "domain": "org.example", "model_version": 7, "doc_string": "A model with notes.",
            "graph_name": "main_graph", "graph_doc_string": "graph notes",
            "metadata_props": [["author", "someone"], ["tag", "a"], ["tag", "b"]],
        })
    );
    assert_eq!(view["values"]["unused"], serde_json::json!({"elem_type": "FLOAT", "shape": ["n", 3]}));
    // None of it is in the inspect document.
    assert_eq!(doc.onnx.as_ref().unwrap().get("doc_string"), None);
}

// ---- corrupt inputs: errors, never panics ----

/// Offsets where the top-level fields of a ModelProto end.
fn boundaries(b: &[u8]) -> Vec<usize> {
    fn var(b: &[u8], p: &mut usize) -> u64 {
        let mut v = 0u64;
        for i in 0..10 {
            let x = b[*p];
            *p += 1;
            v |= ((x & 0x7f) as u64) << (7 * i);
            if x & 0x80 == 0 {
                break;
            }
        }
        v
    }
    let mut out = Vec::new();
    let mut p = 0;
    while p < b.len() {
        let tag = var(b, &mut p);
        match tag & 7 {
            0 => {
                var(b, &mut p);
            }
            2 => {
                let n = var(b, &mut p) as usize;
                p += n;
            }
            w => panic!("wire type {w}"),
        }
        out.push(p);
    }
    out
}

#[test]
fn truncated_files_are_errors() {
    for p in onnx_fixtures() {
        let bytes = std::fs::read(&p).unwrap();
        let step = (bytes.len() / 300).max(1);
        for n in (1..bytes.len()).step_by(step) {
            let r = read_mem("t.onnx", bytes[..n].to_vec());
            // A cut between two top-level fields is a well-formed (smaller) model; any other is an error.
            assert!(r.is_err() || boundaries(&bytes).contains(&n), "{} cut at {n} read fine", p.display());
        }
    }
}

#[test]
fn bad_varint_is_corrupt() {
    let mut b = vec![0x08];
    b.extend([0xff; 11]);
    assert!(matches!(read_mem("v.onnx", b), Err(Error::Corrupt { .. })));
}

#[test]
fn huge_declared_length_is_truncated_not_allocated() {
    // ir_version 8, then graph (field 7) declaring 2^62 bytes.
    let mut b = vec![0x08, 0x08, 0x3a];
    b.extend(varint(1 << 62));
    b.extend([0u8; 16]);
    assert!(matches!(read_mem("h.onnx", b), Err(Error::Truncated { .. })));
    // A nested field longer than its message.
    let graph = cat(&[vec![0x0a], varint(1000), vec![0; 4]]);
    let b = cat(&[fv(1, 8), fb(7, &graph), fb(8, &cat(&[fv(2, 17)]))]);
    assert!(matches!(read_mem("h.onnx", b), Err(Error::Corrupt { .. })));
}

#[test]
fn deep_nesting_is_a_limit() {
    // Subgraphs in attributes, nested far deeper than any real model.
    let mut g = cat(&[fb(1, &node("Identity", "leaf", &["x"], &["y"], &[]))]);
    for _ in 0..200 {
        let attr = cat(&[fs(1, "then_branch"), fb(6, &g), fv(20, 5)]);
        g = fb(1, &node("If", "if", &["c"], &["y"], &[attr]));
    }
    let r = read_mem("deep.onnx", model(g)).map(|_| ());
    assert!(matches!(r, Err(Error::Limit { .. })), "{r:?}");
}

#[test]
fn wrong_wire_type_and_garbage_are_errors() {
    // Field 7 (graph) as a varint.
    assert!(read_mem("w.onnx", cat(&[fv(1, 8), fv(7, 1)])).is_err());
    // Not ONNX at all.
    assert!(read_mem("z.onnx", b"PK\x03\x04 not onnx".to_vec()).is_err());
    assert!(read_mem("e.onnx", Vec::new()).is_err());
}

#[test]
fn flipped_bytes_never_panic() {
    let bytes = std::fs::read(fixtures().join("mlp.onnx")).unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..3000 {
        let mut b = bytes.clone();
        for _ in 0..(next() % 4 + 1) {
            let i = (next() % b.len() as u64) as usize;
            b[i] = next() as u8;
        }
        let _ = read_mem("f.onnx", b);
    }
}
