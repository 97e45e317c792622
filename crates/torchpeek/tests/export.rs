//! The export writers against torch's own description of the fixtures: a state_dict written as
//! .safetensors reopens with the same tensors, views come out as .npy in row-major order of the
//! view, dtypes NumPy lacks come out as float32, and a strided view bigger than one read slice is
//! gathered element for element.

use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use torchpeek::export::{self, npy::NpyForm};
use torchpeek::read::{read_elements, tensor_bytes};
use torchpeek::{FileSource, MemSource, Model, Source};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name)
}

fn open(name: &str) -> Model {
    torchpeek::open(vec![Box::new(FileSource::open(fixture(name)).unwrap())]).unwrap()
}

fn open_bytes(bytes: Vec<u8>) -> Model {
    torchpeek::open(vec![Box::new(MemSource::new("out", bytes)) as Box<dyn Source>]).unwrap()
}

/// The manifest's tensors (Python writes NaN and Infinity bare: made strings here).
fn manifest_tensors(name: &str) -> Vec<Json> {
    let text = std::fs::read_to_string(fixture(&format!("{name}.manifest.json"))).unwrap();
    let text = text.replace("-Infinity", "\"-inf\"").replace("Infinity", "\"inf\"").replace("NaN", "\"nan\"");
    let m: Json = serde_json::from_str(&text).unwrap();
    m["tensors"].as_array().unwrap().clone()
}

fn num(v: &Json) -> f64 {
    match v {
        Json::String(s) if s == "nan" => f64::NAN,
        Json::String(s) if s == "inf" => f64::INFINITY,
        Json::String(s) if s == "-inf" => f64::NEG_INFINITY,
        v => v.as_f64().unwrap(),
    }
}

fn key(t: &Json) -> String {
    t["path"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect::<Vec<_>>().join(".")
}

fn collect(slices: impl Iterator<Item = torchpeek::Result<Vec<u8>>>) -> Vec<u8> {
    slices.flat_map(|s| s.unwrap()).collect()
}

fn index_of(model: &Model, key: &str) -> usize {
    model.document.state_dict.iter().find(|e| e.key == key).unwrap_or_else(|| panic!("no {key}")).tensor
}

/// A tensor's `.npy` file read back with npyz: (descr, shape, values as f64).
fn npy(model: &Model, index: usize) -> (String, Vec<u64>, Vec<f64>) {
    let bytes = collect(export::npy_slices(model, index).unwrap());
    let file = npyz::NpyFile::new(&bytes[..]).unwrap();
    let shape = file.shape().to_vec();
    let descr = file.header().dtype().descr().trim_matches('\'').to_string();
    let values: Vec<f64> = match descr.as_str() {
        "<f4" => file.into_vec::<f32>().unwrap().into_iter().map(f64::from).collect(),
        "<f8" => file.into_vec::<f64>().unwrap(),
        "<f2" => file.into_vec::<half::f16>().unwrap().into_iter().map(f64::from).collect(),
        "|u1" => file.into_vec::<u8>().unwrap().into_iter().map(f64::from).collect(),
        "<i2" => file.into_vec::<i16>().unwrap().into_iter().map(f64::from).collect(),
        "<i4" => file.into_vec::<i32>().unwrap().into_iter().map(f64::from).collect(),
        "|i1" => file.into_vec::<i8>().unwrap().into_iter().map(f64::from).collect(),
        "<i8" => file.into_vec::<i64>().unwrap().into_iter().map(|v| v as f64).collect(),
        "|b1" => file.into_vec::<bool>().unwrap().into_iter().map(|v| v as u8 as f64).collect(),
        d => panic!("unexpected descr {d}"),
    };
    (descr, shape, values)
}

fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

#[test]
fn state_dicts_round_trip_through_safetensors() {
    for name in ["bert_tiny_pytorch_model.bin", "mlp_state_dict.pth", "views.pt", "dtypes.pt", "mlp_checkpoint.pt"] {
        let model = open(name);
        let (plan, slices) = export::safetensors_slices(&model);
        let bytes = collect(slices);
        assert_eq!(bytes.len() as u64, plan.bytes, "{name}: the plan's size");
        let back = open_bytes(bytes);
        assert_eq!(back.document.format, torchpeek::Format::Safetensors);
        let keys: Vec<&str> = back.document.state_dict.iter().map(|e| e.key.as_str()).collect();
        let written: Vec<&str> = plan.entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, written, "{name}: keys in order");
        assert!(plan.skipped.is_empty(), "{name}: skipped {:?}", plan.skipped);
        for e in &plan.entries {
            let (a, b) = (&model.document.tensors[e.tensor], &back.document.tensors[index_of(&back, &e.key)]);
            assert_eq!((a.dtype, &a.shape), (b.dtype, &b.shape), "{name} {}", e.key);
            let va = torchpeek::read::values_of(&model, a, a.numel as usize).unwrap();
            let vb = torchpeek::read::values_of(&back, b, b.numel as usize).unwrap();
            assert!(va.len() == vb.len() && va.iter().zip(&vb).all(|(x, y)| same(*x, *y)), "{name} {}: values", e.key);
        }
    }
}

#[test]
fn safetensors_round_trip_matches_torch_statistics() {
    let model = open("bert_tiny_pytorch_model.bin");
    let back = open_bytes(collect(export::safetensors_slices(&model).1));
    for t in manifest_tensors("bert_tiny_pytorch_model.bin") {
        let s = torchpeek::stats::tensor_stats(&back, index_of(&back, &key(&t))).unwrap();
        let want = num(&t["sum"]);
        assert!((s.sum - want).abs() <= 1e-6 * want.abs().max(1.0), "{}: sum {} vs torch {want}", key(&t), s.sum);
    }
}

#[test]
fn views_come_out_in_row_major_order_of_the_view() {
    let model = open("views.pt");
    for t in manifest_tensors("views.pt") {
        let (descr, shape, values) = npy(&model, index_of(&model, &key(&t)));
        assert_eq!(descr, "<f4");
        let want_shape: Vec<u64> = t["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap()).collect();
        assert_eq!(shape, want_shape, "{}", key(&t));
        assert_eq!(values.len() as u64, t["numel"].as_u64().unwrap());
        let first: Vec<f64> = t["first"].as_array().unwrap().iter().map(num).collect();
        assert_eq!(values[..first.len()], first[..], "{}", key(&t));
        assert_eq!(values.iter().sum::<f64>(), num(&t["sum"]), "{}", key(&t));
    }
}

#[test]
fn dtypes_numpy_lacks_become_float32() {
    for name in ["dtypes.pt", "dtypes_fp8.pt"] {
        let model = open(name);
        for t in manifest_tensors(name) {
            let dtype = t["dtype"].as_str().unwrap();
            if dtype.starts_with("complex") {
                continue;
            }
            let i = index_of(&model, &key(&t));
            let (descr, _, values) = npy(&model, i);
            let want = match dtype {
                "bfloat16" | "float32" => "<f4",
                d if d.starts_with("float8") => "<f4",
                "float64" => "<f8",
                "float16" => "<f2",
                "int8" => "|i1",
                "uint8" => "|u1",
                "int16" => "<i2",
                "int32" => "<i4",
                "int64" => "<i8",
                "bool" => "|b1",
                d => panic!("{name}: no expectation for {d}"),
            };
            assert_eq!(descr, want, "{name} {}", key(&t));
            let first: Vec<f64> = t["first"].as_array().unwrap().iter().map(num).collect();
            assert!(values.iter().zip(&first).all(|(a, b)| same(*a, *b)), "{name} {}: {values:?} vs {first:?}", key(&t));
        }
    }
}

#[test]
fn quantized_tensors_are_dequantized() {
    let model = open("quantized.pt");
    for t in manifest_tensors("quantized.pt") {
        let i = index_of(&model, &key(&t));
        assert_eq!(NpyForm::of(&model.document.tensors[i]).unwrap().descr, "<f4");
        let (_, _, values) = npy(&model, i);
        let want = num(&t["dequant_sum"]);
        let sum: f64 = values.iter().sum();
        assert!((sum - want).abs() < 1e-5, "{}: {sum} vs torch {want}", key(&t));
    }
}

/// A 3000x3000 float32 matrix (36 MB, more than one read slice) seen through its transpose.
#[test]
fn a_big_transposed_view_is_gathered_exactly() {
    let n = 3000u64;
    let mut header = format!(r#"{{"w":{{"dtype":"F32","shape":[{n},{n}],"data_offsets":[0,{}]}}}}"#, n * n * 4);
    header.push_str(&" ".repeat((8 - header.len() % 8) % 8));
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    for k in 0..n * n {
        bytes.extend_from_slice(&(k as f32).to_le_bytes());
    }
    let mut model = open_bytes(bytes);
    let mut t = model.document.tensors[0].clone();
    t.stride = vec![1, n as i64];
    model.document.tensors.push(t.clone());
    // A slice in the middle of row 1 of the view, across into row 2: elements (1, 2990..) (2, ..10).
    let first = n + 2990;
    let mut buf = vec![0u8; 20 * 4];
    read_elements(&model, &t, first, &mut buf).unwrap();
    let got: Vec<f32> = buf.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
    let want: Vec<f32> = (first..first + 20).map(|e| ((e % n) * n + e / n) as f32).collect();
    assert_eq!(got, want);
    // The whole view, slice by slice, against the same formula (checked by its sum and a sample).
    let stats = torchpeek::stats::tensor_stats(&model, 1).unwrap();
    assert_eq!(stats.sum, (n * n * (n * n - 1) / 2) as f64);
    let (_, shape, values) = npy(&model, 1);
    assert_eq!(shape, vec![n, n]);
    for e in (0..n * n).step_by(7919) {
        assert_eq!(values[e as usize], ((e % n) * n + e / n) as f64, "element {e}");
    }
}

#[test]
fn bad_ranges_are_errors() {
    let model = open("views.pt");
    let t = &model.document.tensors[index_of(&model, "t")];
    assert!(tensor_bytes(&model, t, 20, 5).is_err());
    assert!(tensor_bytes(&model, t, u64::MAX, 2).is_err());
    assert!(tensor_bytes(&model, t, 0, u64::MAX / 2).is_err());
    assert_eq!(tensor_bytes(&model, t, 20, 4).unwrap().len(), 16);
}

/// torch 2.15's bcomplex32 (two bfloat16 halves), written by torch itself (tests/real).
#[test]
fn bcomplex32_tensors_read() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/real/bcomplex32.pt");
    let m = torchpeek::open(vec![Box::new(FileSource::open(path).unwrap())]).unwrap();
    let t = &m.document.tensors[0];
    assert_eq!((t.dtype.name(), t.shape.clone()), ("bcomplex32", vec![3]));
    let s = torchpeek::stats::tensor_stats(&m, 0).unwrap();
    assert_eq!((s.sum_real, s.sum_imag), (Some(3.5), Some(1.25)));
}
