//! Builders for the hostile-input tests: hand-assembled torch pickles and zip archives.
#![allow(dead_code)]

use std::io::Write;
use torchpeek::{MemSource, Model, Source};

/// A protocol-2 pickle of `{name: _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())}`.
pub fn state_dict_pickle(name: &str, key: &str, storage_numel: u64, offset: u64, shape: &[u64], stride: &[i64]) -> Vec<u8> {
    let mut p = vec![0x80, 2, b'}', b'('];
    push_str(&mut p, name);
    p.extend_from_slice(b"ctorch._utils\n_rebuild_tensor_v2\n(");
    // persistent id ('storage', torch.FloatStorage, key, 'cpu', numel)
    p.push(b'(');
    push_str(&mut p, "storage");
    p.extend_from_slice(b"ctorch\nFloatStorage\n");
    push_str(&mut p, key);
    push_str(&mut p, "cpu");
    push_int(&mut p, storage_numel as i64);
    p.extend_from_slice(b"tQ");
    push_int(&mut p, offset as i64);
    p.push(b'(');
    for &d in shape {
        push_int(&mut p, d as i64);
    }
    p.push(b't');
    p.push(b'(');
    for &s in stride {
        push_int(&mut p, s);
    }
    p.push(b't');
    p.push(0x89);
    p.extend_from_slice(b"ccollections\nOrderedDict\n)R");
    p.extend_from_slice(b"tR");
    p.extend_from_slice(b"u.");
    p
}

pub fn push_str(p: &mut Vec<u8>, s: &str) {
    p.push(b'X');
    p.extend_from_slice(&(s.len() as u32).to_le_bytes());
    p.extend_from_slice(s.as_bytes());
}

pub fn push_int(p: &mut Vec<u8>, v: i64) {
    p.push(0x8a);
    p.push(8);
    p.extend_from_slice(&v.to_le_bytes());
}

/// A stored (uncompressed) zip archive with these members.
pub fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A torch zip checkpoint with one data.pkl and storage records.
pub fn torch_zip(pickle: &[u8], storages: &[(&str, &[u8])]) -> Vec<u8> {
    let mut members: Vec<(String, &[u8])> = vec![("archive/data.pkl".into(), pickle), ("archive/byteorder".into(), b"little")];
    for (k, d) in storages {
        members.push((format!("archive/data/{k}"), d));
    }
    let refs: Vec<(&str, &[u8])> = members.iter().map(|(n, d)| (n.as_str(), *d)).collect();
    zip_of(&refs)
}

pub fn open_bytes(name: &str, bytes: Vec<u8>) -> torchpeek::Result<Model> {
    torchpeek::open(vec![Box::new(MemSource::new(name, bytes)) as Box<dyn Source>])
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name)).unwrap()
}

/// A safetensors file of float32 tensors: (name, shape, values).
pub fn safetensors_f32(tensors: &[(&str, &[u64], &[f32])]) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (name, shape, values) in tensors {
        let start = data.len();
        values.iter().for_each(|v| data.extend_from_slice(&v.to_le_bytes()));
        header.insert(name.to_string(), serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [start, data.len()]}));
    }
    let text = serde_json::Value::Object(header).to_string();
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&data);
    out
}

/// What a corpus file's expectations (`global_`, `opcode`, `member`, `reason`: text a finding must
/// contain) find missing in `findings`, one line each.
pub fn missing_findings(name: &str, findings: &[torchpeek::safety::Finding], want: &serde_json::Value) -> Vec<String> {
    let mut missing = Vec::new();
    for (field, what) in [("global_", "global"), ("opcode", "opcode"), ("member", "member"), ("reason", "reason")] {
        let Some(needle) = want[field].as_str() else { continue };
        let found = findings.iter().any(|f| {
            let hay = match what {
                "global" => &f.global,
                "opcode" => &f.opcode,
                "member" => &f.member,
                _ => &f.reason,
            };
            hay.contains(needle)
        });
        if !found {
            missing.push(format!("{name}: no finding whose {what} contains {needle:?}: {findings:#?}"));
        }
    }
    missing
}
