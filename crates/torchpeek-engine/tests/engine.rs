//! The engine: every ONNX fixture run against onnxruntime's reference outputs, external data,
//! errors named before a run, `.npy` in and out.

#[path = "../../torchpeek/tests/common/onnx_proto.rs"]
mod onnx_proto;

use onnx_proto::*;
use std::path::Path;
use torchpeek::MemSource;
use torchpeek_engine::{npy, NamedArray, Session};

/// A model given as its bytes alone.
fn load(bytes: &[u8]) -> torchpeek::Result<Session> {
    Session::load(&[&MemSource::new("model.onnx", bytes)])
}

fn npy_file(p: &Path, name: &str) -> NamedArray {
    npy::read(name, std::fs::File::open(p).unwrap()).unwrap()
}

fn f32s(a: &NamedArray) -> Vec<f32> {
    assert_eq!(a.dtype, torchpeek::dtype::DType::Float32, "{}", a.name);
    a.data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

#[test]
fn every_fixture_matches_onnxruntime() {
    for p in onnx_fixtures() {
        let stem = p.file_stem().unwrap().to_str().unwrap().to_string();
        let t0 = std::time::Instant::now();
        let mut s = load(&std::fs::read(&p).unwrap()).unwrap_or_else(|e| panic!("{stem}: {e}"));
        let load = t0.elapsed();
        let inputs: Vec<NamedArray> = s
            .inputs()
            .iter()
            .enumerate()
            .map(|(i, info)| npy_file(&fixtures().join(format!("{stem}.input{i}.npy")), &info.name))
            .collect();
        let t0 = std::time::Instant::now();
        let outs = s.run(inputs.clone()).unwrap_or_else(|e| panic!("{stem}: {e}"));
        let first = t0.elapsed();
        let t0 = std::time::Instant::now();
        let again = s.run(inputs).unwrap();
        let second = t0.elapsed();
        assert_eq!(outs, again, "{stem}: a second run gives the same");
        for (i, o) in outs.iter().enumerate() {
            let want = npy_file(&fixtures().join(format!("{stem}.output{i}.npy")), "ref");
            assert_eq!(o.shape, want.shape, "{stem} output {i}");
            let err = f32s(o).iter().zip(f32s(&want)).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            eprintln!("{stem}: output {i} max abs err {err:e}; load {load:?}, first run {first:?}, second {second:?}");
            assert!(err <= 1e-4, "{stem} output {i}: max abs error {err}");
        }
    }
}

fn fixture_inputs(s: &Session, stem: &str) -> Vec<NamedArray> {
    s.inputs()
        .iter()
        .enumerate()
        .map(|(i, info)| npy_file(&fixtures().join(format!("{stem}.input{i}.npy")), &info.name))
        .collect()
}

/// Load and steady-state run times, with and without plans specialised to the input shapes.
#[test]
#[ignore = "timing: cargo test --profile ci -p torchpeek-engine --test engine timing -- --ignored --nocapture"]
fn timing() {
    for p in onnx_fixtures() {
        let stem = p.file_stem().unwrap().to_str().unwrap().to_string();
        let bytes = std::fs::read(&p).unwrap();
        for specialize in [false, true] {
            let t0 = std::time::Instant::now();
            let mut s = load(&bytes).unwrap();
            let load = t0.elapsed();
            s.set_specialize(specialize);
            let inputs = fixture_inputs(&s, &stem);
            let t0 = std::time::Instant::now();
            s.run(inputs.clone()).unwrap();
            let first = t0.elapsed();
            let mut times: Vec<f64> = (0..50)
                .map(|_| {
                    let i = inputs.clone();
                    let t0 = std::time::Instant::now();
                    s.run(i).unwrap();
                    t0.elapsed().as_secs_f64() * 1e3
                })
                .collect();
            times.sort_by(|a, b| a.partial_cmp(b).unwrap());
            eprintln!(
                "{stem:10} specialize={specialize:5} load {:8.2} ms  first run {:8.3} ms  median run {:8.4} ms",
                load.as_secs_f64() * 1e3,
                first.as_secs_f64() * 1e3,
                times[times.len() / 2]
            );
        }
    }
}

#[test]
fn external_data_runs() {
    let m = external_model("m.onnx.data");
    let mut s = Session::load(&[&MemSource::new("m.onnx", m.as_slice()) as &dyn torchpeek::Source, &MemSource::new("some/dir/m.onnx.data", external_data())]).unwrap();
    let x = NamedArray {
        name: "X".into(),
        dtype: torchpeek::dtype::DType::Float32,
        shape: vec![1, 4],
        data: floats_le(&[1.0, 1.0, 1.0, 1.0]),
    };
    let out = s.run(vec![x]).unwrap();
    assert_eq!(out[0].name, "Y");
    assert_eq!(f32s(&out[0]), vec![2.5, 2.5, 5.5, 0.0]);
    // Missing data file: an error that names it.
    let e = load(&m).err().unwrap().to_string();
    assert!(e.contains("m.onnx.data"), "{e}");
}

#[test]
fn missing_input_is_named() {
    let mut s = load(&std::fs::read(fixtures().join("bert_tiny.onnx")).unwrap()).unwrap();
    let ids = npy_file(&fixtures().join("bert_tiny.input0.npy"), "input_ids");
    let e = s.run(vec![ids]).err().unwrap().to_string();
    assert!(e.contains("attention_mask"), "{e}");
}

#[test]
fn token_id_past_the_vocabulary_is_refused_before_the_run() {
    let mut s = load(&std::fs::read(fixtures().join("bert_tiny.onnx")).unwrap()).unwrap();
    let mut inputs = fixture_inputs(&s, "bert_tiny");
    let ids = inputs.iter_mut().find(|a| a.name == "input_ids").unwrap();
    assert_eq!(ids.dtype, torchpeek::dtype::DType::Int64);
    ids.data[8..16].copy_from_slice(&1_000_000i64.to_le_bytes());
    let e = s.run(inputs.clone()).err().unwrap().to_string();
    assert!(e.contains("input_ids") && e.contains("1000000 at position 1") && e.contains("Gather"), "{e}");
    // In range again, the same session runs.
    inputs.iter_mut().find(|a| a.name == "input_ids").unwrap().data[8..16].copy_from_slice(&(-1i64).to_le_bytes());
    assert!(s.run(inputs).is_ok());
}

#[test]
fn wrong_shape_is_an_error() {
    let mut s = load(&std::fs::read(fixtures().join("cnn.onnx")).unwrap()).unwrap();
    let x = NamedArray {
        name: "input".into(),
        dtype: torchpeek::dtype::DType::Float32,
        shape: vec![1, 3, 31, 32],
        data: vec![0; 4 * 3 * 31 * 32],
    };
    let e = s.run(vec![x]).err().unwrap().to_string();
    assert!(e.contains("input") && e.contains("32"), "{e}");
}

#[test]
fn unsupported_operator_is_named_at_load() {
    let graph = cat(&[
        fb(1, &node("Relu", "ok", &["X"], &["T"], &[])),
        fb(1, &node("FrobnicateV9", "the_node", &["T"], &["Y"], &[])),
        fb(11, &value_info("X", &[2])),
        fb(12, &value_info("Y", &[2])),
    ]);
    let e = load(&model(graph)).err().unwrap().to_string();
    assert!(e.contains("FrobnicateV9") && e.contains("the_node") && e.contains("17"), "{e}");
}

#[test]
fn npy_round_trip() {
    let a = NamedArray {
        name: "a".into(),
        dtype: torchpeek::dtype::DType::Int64,
        shape: vec![2, 3],
        data: (0..6i64).flat_map(|v| (v - 2).to_le_bytes()).collect(),
    };
    let bytes = npy::to_bytes(&a).unwrap();
    assert_eq!(npy::read("a", &bytes[..]).unwrap(), a);
    assert!(npy::read("bad", &b"not npy"[..]).is_err());
}
