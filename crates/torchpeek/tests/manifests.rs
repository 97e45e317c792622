//! Walks every `tests/fixtures/*.manifest.json` (torch's own description of each fixture, written by
//! PyTorch 2.11) and checks that torchpeek reads each file the same way: format, kind, structure,
//! scalars, every tensor's dtype, shape, strides, offset, storage size, flags and statistics,
//! module trees and TorchScript code. Manifests are never edited: they are the truth.

use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use torchpeek::{FileSource, Model, Source};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// Python's json writes NaN and Infinity bare; make them strings so serde_json reads them.
fn read_manifest(path: &Path) -> Json {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = String::with_capacity(text.len());
    let (mut in_str, mut escaped) = (false, false);
    let mut rest = text.as_str();
    while let Some(c) = rest.chars().next() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let word = ["-Infinity", "Infinity", "NaN"].into_iter().find(|w| rest.starts_with(w));
        if let Some(w) = word {
            out.push_str(&format!("\"{w}\""));
            rest = &rest[w.len()..];
            continue;
        }
        if c == '"' {
            in_str = true;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn open(files: &[&Path]) -> Model {
    let sources = files.iter().map(|f| Box::new(FileSource::open(f).unwrap()) as Box<dyn Source>).collect();
    torchpeek::open(sources).unwrap_or_else(|e| panic!("{:?}: {e}", files))
}

fn num(v: &Json) -> Option<f64> {
    match v {
        Json::Number(n) => n.as_f64(),
        Json::String(s) if s == "NaN" || s == "nan" => Some(f64::NAN),
        Json::String(s) if s == "Infinity" || s == "inf" => Some(f64::INFINITY),
        Json::String(s) if s == "-Infinity" || s == "-inf" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

/// |a - b| within `rel` of the larger magnitude (or of 1e-6 absolute for values near zero).
fn close(a: f64, b: f64, rel: f64, scale: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(scale)
}

struct Checker {
    file: String,
    failures: Vec<String>,
}

impl Checker {
    fn fail(&mut self, what: String) {
        self.failures.push(format!("{}: {what}", self.file));
    }
    fn eq<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, ours: T, theirs: T) {
        if ours != theirs {
            self.fail(format!("{what}: torchpeek {ours:?}, torch {theirs:?}"));
        }
    }
}

/// Compares our tree with the manifest's `structure`.
fn compare_structure(c: &mut Checker, ours: &Json, theirs: &Json, path: &str) {
    match theirs {
        Json::String(s) if s == "<tensor>" => {
            if ours.get("$tensor").is_none() {
                c.fail(format!("{path}: torch has a tensor, torchpeek {ours}"));
            }
        }
        Json::String(s) if s.starts_with("<module ") => {
            let class = s.trim_start_matches("<module ").trim_end_matches('>');
            c.eq(&format!("{path} class"), ours.get("$object").and_then(Json::as_str), Some(class));
        }
        Json::Object(m) if m.contains_key("__type__") => {
            let ty = m["__type__"].as_str().unwrap_or("");
            match ty {
                "OrderedDict" => {
                    c.eq(&format!("{path} class"), ours.get("$class").and_then(Json::as_str), Some("collections.OrderedDict"));
                    compare_dict(c, ours, m.get("items").unwrap_or(&Json::Null), path);
                }
                "list" | "tuple" => {
                    let key = if ty == "list" { "$list" } else { "$tuple" };
                    let empty = vec![];
                    let (o, t) = (ours.get(key).and_then(Json::as_array), m["items"].as_array().unwrap_or(&empty));
                    match o {
                        Some(o) if o.len() == t.len() => {
                            for (i, (a, b)) in o.iter().zip(t).enumerate() {
                                compare_structure(c, a, b, &format!("{path}.{i}"));
                            }
                        }
                        _ => c.fail(format!("{path}: torch has a {ty} of {}, torchpeek {ours}", t.len())),
                    }
                }
                other => c.fail(format!("{path}: manifest type {other} not understood by the test")),
            }
        }
        Json::Object(_) => compare_dict(c, ours, theirs, path),
        Json::Number(_) => match (num(ours), num(theirs)) {
            (Some(a), Some(b)) if close(a, b, 1e-12, 0.0) => {}
            _ => c.fail(format!("{path}: torchpeek {ours}, torch {theirs}")),
        },
        _ => c.eq(path, ours, theirs),
    }
}

fn compare_dict(c: &mut Checker, ours: &Json, theirs: &Json, path: &str) {
    let Some(items) = ours.get("$dict").and_then(Json::as_array) else {
        return c.fail(format!("{path}: torch has a dict, torchpeek {ours}"));
    };
    let theirs = theirs.as_object().unwrap();
    let key_of = |k: &Json| match k {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    let ours_keys: Vec<String> = items.iter().map(|kv| key_of(&kv[0])).collect();
    let theirs_keys: Vec<String> = theirs.keys().cloned().collect();
    c.eq(&format!("{path} keys"), &ours_keys, &theirs_keys);
    for (kv, (k, v)) in items.iter().zip(theirs) {
        compare_structure(c, &kv[1], v, &format!("{path}.{k}"));
    }
}

/// Follows a manifest path through our tree.
fn at_path<'a>(tree: &'a Json, path: &[Json]) -> Option<&'a Json> {
    let mut cur = tree;
    for seg in path {
        let seg = match seg {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        if let Some(items) = cur.get("$dict").and_then(Json::as_array) {
            cur = items.iter().find(|kv| match &kv[0] {
                Json::String(s) => *s == seg,
                other => *other == seg,
            })?.get(1)?;
        } else if let Some(items) = cur.get("$list").or_else(|| cur.get("$tuple")).and_then(Json::as_array) {
            cur = items.get(seg.parse::<usize>().ok()?)?;
        } else if let Some(state) = cur.get("state") {
            cur = state;
            return at_path(cur, &[Json::from(seg)]);
        } else {
            return None;
        }
    }
    Some(cur)
}

fn check_tensor(c: &mut Checker, model: &Model, i: usize, m: &Json, compare_flags: bool) {
    let t = &model.document.tensors[i];
    let name = m["path"].as_array().unwrap().iter().map(|s| s.as_str().unwrap_or("?").to_string()).collect::<Vec<_>>().join(".");
    let n = |k: &str| m.get(k).and_then(num);
    c.eq(&format!("{name} dtype"), t.dtype.name(), m["dtype"].as_str().unwrap());
    let shape: Vec<u64> = serde_json::from_value(m["shape"].clone()).unwrap();
    c.eq(&format!("{name} shape"), &t.shape, &shape);
    if let Some(stride) = m.get("stride") {
        let stride: Vec<i64> = serde_json::from_value(stride.clone()).unwrap();
        c.eq(&format!("{name} stride"), &t.stride, &stride);
    }
    if let Some(o) = m.get("storage_offset").and_then(Json::as_u64) {
        c.eq(&format!("{name} storage_offset"), t.storage_offset, o);
    }
    if let Some(sn) = m.get("storage_numel").and_then(Json::as_u64) {
        c.eq(&format!("{name} storage bytes"), t.storage_bytes, sn * t.dtype.itemsize());
    }
    if let Some(numel) = m.get("numel").and_then(Json::as_u64) {
        c.eq(&format!("{name} numel"), t.numel, numel);
    }
    if compare_flags {
        c.eq(&format!("{name} requires_grad"), t.requires_grad, m["requires_grad"].as_bool().unwrap());
        c.eq(&format!("{name} is_parameter"), t.is_parameter, m["is_parameter"].as_bool().unwrap());
    }
    let stats = match torchpeek::stats::tensor_stats(model, i) {
        Ok(s) => s,
        Err(e) => return c.fail(format!("{name} statistics: {e}")),
    };
    // 16-bit and 8-bit floats are summed by torch in their own precision in places: 1e-3.
    let rel = if t.dtype.itemsize() <= 2 && t.dtype.is_float() { 1e-3 } else { 1e-4 };
    let scale = stats.abs_sum / (t.numel.max(1) as f64) * 1e-2;
    let cmp = |c: &mut Checker, what: &str, ours: Option<f64>, theirs: Option<f64>| {
        if let Some(b) = theirs {
            match ours {
                Some(a) if close(a, b, rel, scale.max(1e-12)) => {}
                _ => c.fail(format!("{name} {what}: torchpeek {ours:?}, torch {b}")),
            }
        }
    };
    if let Some(q) = m.get("dequant_sum").and_then(num) {
        cmp(c, "dequantized sum", Some(stats.sum), Some(q));
        if let Some(scale) = n("q_scale") {
            match &t.quantization {
                Some(torchpeek::document::Quantization::PerTensor { scale: s, zero_point, .. }) => {
                    c.eq(&format!("{name} q_scale"), *s, scale);
                    c.eq(&format!("{name} q_zero_point"), *zero_point, m["q_zero_point"].as_i64().unwrap());
                }
                other => c.fail(format!("{name}: expected per-tensor quantization, got {other:?}")),
            }
        }
        if let Some(scales) = m.get("q_per_channel_scales") {
            let scales: Vec<f64> = serde_json::from_value(scales.clone()).unwrap();
            let zps: Vec<i64> = serde_json::from_value(m["q_per_channel_zero_points"].clone()).unwrap();
            match &t.quantization {
                Some(torchpeek::document::Quantization::PerChannel { scales: s, zero_points, axis, .. }) => {
                    c.eq(&format!("{name} scales"), s, &scales);
                    c.eq(&format!("{name} zero points"), zero_points, &zps);
                    c.eq(&format!("{name} axis"), *axis, m["q_per_channel_axis"].as_i64().unwrap());
                }
                other => c.fail(format!("{name}: expected per-channel quantization, got {other:?}")),
            }
        }
        return;
    }
    if m.get("sum_real").is_some() {
        cmp(c, "sum_real", stats.sum_real, n("sum_real"));
        cmp(c, "sum_imag", stats.sum_imag, n("sum_imag"));
        return;
    }
    cmp(c, "sum", Some(stats.sum), n("sum"));
    cmp(c, "abs_sum", Some(stats.abs_sum), n("abs_sum"));
    cmp(c, "mean", stats.mean, n("mean"));
    if m.get("std").is_some_and(|s| !s.is_null()) {
        cmp(c, "std", stats.std, n("std"));
    } else if m.get("std").is_some() {
        c.eq(&format!("{name} std of one element"), stats.std, None);
    }
    if let Some(nan) = m.get("nan_count").and_then(Json::as_u64) {
        c.eq(&format!("{name} nan_count"), stats.nan_count, nan);
        c.eq(&format!("{name} inf_count"), stats.inf_count, m["inf_count"].as_u64().unwrap());
        // torch's min/max include NaN and Inf; ours are over finite values (the spec).
        if nan == 0 && m["inf_count"].as_u64() == Some(0) {
            cmp(c, "min", stats.min, n("min"));
            cmp(c, "max", stats.max, n("max"));
        }
    }
    if let Some(first) = m.get("first").and_then(Json::as_array) {
        let values = torchpeek::read::tensor_values(model, i, first.len()).unwrap();
        let theirs: Vec<f64> = first.iter().map(|v| num(v).unwrap_or(f64::NAN)).collect();
        if values.len() != theirs.len() || values.iter().zip(&theirs).any(|(&a, &b)| !close(a, b, rel, 1e-30)) {
            c.fail(format!("{name} first values: torchpeek {values:?}, torch {theirs:?}"));
        }
    }
}

fn check_torch_manifest(c: &mut Checker, file: &Path, m: &Json) {
    let model = open(&[file]);
    let doc = &model.document;
    let json = doc.to_json();
    let kind = m["kind"].as_str().unwrap();
    let expected_format = match (m["container"].as_str(), kind) {
        (_, "torchscript") => "torchscript",
        (Some("zip"), _) => "torch-zip",
        (Some("pickle"), _) => "torch-legacy",
        (_, "safetensors") => "safetensors",
        other => panic!("{other:?}"),
    };
    c.eq("format", json["format"].as_str().unwrap(), expected_format);
    let expected_kind = match kind {
        "entire_module" => "module",
        "safetensors" => "state_dict",
        k => k,
    };
    c.eq("kind", json["kind"].as_str().unwrap(), expected_kind);
    match kind {
        // The manifest's structure of a module or TorchScript archive is its state_dict.
        "entire_module" => compare_structure(c, &doc.tree, &m["structure"], "root"),
        "torchscript" => {
            let keys: Vec<&str> = doc.state_dict.iter().map(|e| e.key.as_str()).collect();
            let theirs: Vec<&str> = m["structure"]["items"].as_object().unwrap().keys().map(String::as_str).collect();
            c.eq("state_dict keys", keys, theirs);
        }
        "safetensors" => {
            let mut keys: Vec<&str> = doc.state_dict.iter().map(|e| e.key.as_str()).collect();
            let mut theirs: Vec<&str> = m["structure"]["items"].as_object().unwrap().keys().map(String::as_str).collect();
            keys.sort();
            theirs.sort();
            c.eq("tensor names", keys, theirs);
        }
        _ => compare_structure(c, &doc.tree, &m["structure"], "root"),
    }
    for s in m["scalars"].as_array().unwrap() {
        let path = s["path"].as_array().unwrap();
        match at_path(&doc.tree, path) {
            Some(v) => compare_structure(c, v, &s["value"], &format!("scalar {path:?}")),
            None => c.fail(format!("scalar {path:?} not found in the tree")),
        }
    }
    let tensors = m["tensors"].as_array().unwrap();
    let via_state_dict = matches!(kind, "entire_module" | "torchscript" | "safetensors");
    if !via_state_dict {
        c.eq("tensor count", doc.tensors.len(), tensors.len());
    }
    for t in tensors {
        let path: Vec<String> = t["path"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect();
        let index = if via_state_dict {
            let key = path.last().unwrap();
            doc.state_dict.iter().find(|e| &e.key == key).map(|e| e.tensor)
        } else {
            doc.tensors.iter().position(|x| x.path == path)
        };
        match index {
            // TorchScript's state_dict() detaches: torch reports plain tensors there.
            Some(i) => check_tensor(c, &model, i, t, kind != "torchscript"),
            None => c.fail(format!("tensor {path:?} not found")),
        }
    }
    if let Some(modules) = m.get("modules").and_then(Json::as_array).filter(|m| !m.is_empty()) {
        let theirs: Vec<(String, String)> = modules
            .iter()
            .map(|x| {
                let p: Vec<&str> = x["path"].as_array().unwrap().iter().filter_map(Json::as_str).filter(|s| *s != "children").collect();
                (p.join("."), x["class"].as_str().unwrap().to_string())
            })
            .collect();
        let ours: Vec<(String, String)> = doc.modules.iter().map(|x| (x.path.clone(), x.class.clone())).collect();
        c.eq("modules", ours, theirs);
    }
    if let Some(named) = m.get("named_modules").and_then(Json::as_array) {
        let theirs: Vec<&str> = named.iter().filter_map(Json::as_str).collect();
        let ours: Vec<&str> = doc.modules.iter().map(|x| x.path.as_str()).collect();
        c.eq("TorchScript modules", ours, theirs);
        // The manifest has the method's code; the archive has it inside its class, indented.
        // torch's `.code` also drops the archive's `self: __torch__.Net` annotation.
        let dedent = |s: &str| {
            s.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| match (l.find("(self: "), l.find(',')) {
                    (Some(a), Some(b)) if a < b => format!("{}(self{}", &l[..a], &l[b..]),
                    _ => l.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        let code = m["torchscript_code"].as_str().unwrap();
        if !doc.code.iter().any(|t| dedent(&t.text).contains(&dedent(code))) {
            c.fail(format!("TorchScript code {code:?} not found in {:?}", doc.code.iter().map(|t| &t.name).collect::<Vec<_>>()));
        }
    }
}

fn check_onnx_manifest(c: &mut Checker, file: &Path, m: &Json) {
    let model = open(&[file]);
    let json = model.document.to_json();
    c.eq("format", json["format"].as_str(), Some("onnx"));
    c.eq("kind", json["kind"].as_str(), Some("onnx"));
    let onnx = &json["onnx"];
    for field in ["ir_version", "opsets", "producer", "inputs", "outputs", "node_count", "op_types", "initializer_count", "initializer_numel"] {
        c.eq(field, &onnx[field], &m[field]);
    }
}

#[test]
fn every_manifest_matches() {
    let mut manifests: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".manifest.json"))
        .collect();
    manifests.sort();
    assert!(manifests.len() >= 24, "fixtures missing: {}", manifests.len());
    let mut failures = Vec::new();
    for mpath in &manifests {
        let m = read_manifest(mpath);
        let file = fixtures().join(m["file"].as_str().unwrap());
        let mut c = Checker { file: m["file"].as_str().unwrap().to_string(), failures: Vec::new() };
        if m["kind"] == "onnx" {
            check_onnx_manifest(&mut c, &file, &m);
        } else {
            check_torch_manifest(&mut c, &file, &m);
        }
        failures.extend(c.failures);
    }
    assert!(failures.is_empty(), "{} differences from torch:\n{}", failures.len(), failures.join("\n"));
}
