//! The ONNX fixtures, and protobuf builders for ONNX models the fixtures do not cover (the core's reader tests and the
//! engine's tests both build models with these).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The repository's `tests/fixtures`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// Every `.onnx` fixture, sorted.
pub fn onnx_fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
        .collect();
    v.sort();
    assert!(v.len() >= 5, "expected the ONNX fixtures, found {v:?}");
    v
}

pub fn varint(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}
pub fn fv(field: u64, v: u64) -> Vec<u8> {
    let mut o = varint(field << 3);
    o.extend(varint(v));
    o
}
pub fn fb(field: u64, b: &[u8]) -> Vec<u8> {
    let mut o = varint(field << 3 | 2);
    o.extend(varint(b.len() as u64));
    o.extend_from_slice(b);
    o
}
pub fn fs(field: u64, s: &str) -> Vec<u8> {
    fb(field, s.as_bytes())
}
pub fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}
/// ValueInfoProto of a float tensor with the given dims (a negative dim is symbolic "n").
pub fn value_info(name: &str, dims: &[i64]) -> Vec<u8> {
    let dims: Vec<Vec<u8>> =
        dims.iter().map(|&d| fb(1, &if d < 0 { fs(2, "n") } else { fv(1, d as u64) })).collect();
    let shape = fb(2, &dims.concat());
    let tensor_type = fb(1, &cat(&[fv(1, 1), shape]));
    cat(&[fs(1, name), fb(2, &tensor_type)])
}
pub fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str], attrs: &[Vec<u8>]) -> Vec<u8> {
    let mut o = Vec::new();
    for i in inputs {
        o.extend(fs(1, i));
    }
    for x in outputs {
        o.extend(fs(2, x));
    }
    o.extend(fs(3, name));
    o.extend(fs(4, op));
    for a in attrs {
        o.extend(fb(5, a));
    }
    o
}
pub fn model(graph: Vec<u8>) -> Vec<u8> {
    cat(&[fv(1, 8), fs(2, "hand"), fs(3, "1.0"), fb(7, &graph), fb(8, &cat(&[fs(1, ""), fv(2, 17)]))])
}
pub fn floats_le(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Y = X + W (W external: 4 floats at offset 8 of `data_name`) + B (B as float_data), then Relu.
pub fn external_model(data_name: &str) -> Vec<u8> {
    let w = cat(&[
        fv(1, 4),
        fv(2, 1),
        fs(8, "W"),
        fb(13, &cat(&[fs(1, "location"), fs(2, data_name)])),
        fb(13, &cat(&[fs(1, "offset"), fs(2, "8")])),
        fb(13, &cat(&[fs(1, "length"), fs(2, "16")])),
        fv(14, 1),
    ]);
    let b = cat(&[fv(1, 4), fv(2, 1), fs(8, "B"), fb(4, &floats_le(&[0.5, -0.5, 1.5, -10.0]))]);
    let graph = cat(&[
        fb(1, &node("Add", "add0", &["X", "W"], &["S"], &[])),
        fb(1, &node("Add", "add1", &["S", "B"], &["T"], &[])),
        fb(1, &node("Relu", "relu", &["T"], &["Y"], &[])),
        fs(2, "g"),
        fb(5, &w),
        fb(5, &b),
        fb(11, &value_info("X", &[-1, 4])),
        fb(12, &value_info("Y", &[-1, 4])),
    ]);
    model(graph)
}

pub fn external_data() -> Vec<u8> {
    let mut d = vec![0xAAu8; 8];
    d.extend(floats_le(&[1.0, 2.0, 3.0, 4.0]));
    d.extend([0xBB; 4]);
    d
}
