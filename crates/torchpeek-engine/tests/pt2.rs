//! `.pt2` archives run by the engine (`torchpeek_engine::pt2`): every model of tests/real/run
//! (written by gen/make_run_models.py with torch 2.15) against torch's own outputs, inputs bound by
//! the signature's names, and the errors that name an operator and its node before any run; altered
//! programs (wrong order, unknown targets, lying metadata, missing weights) are errors, not crashes.

use serde_json::{json, Value as Json};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use torchpeek::{FileSource, MemSource, Source};
use torchpeek_engine::{npy, NamedArray, Session};

fn run_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/real/run")
}

fn load(path: &Path) -> torchpeek::Result<Session> {
    let src = FileSource::open(path).unwrap();
    Session::load(&[&src as &dyn Source])
}

fn npy_file(p: &Path, name: &str) -> NamedArray {
    npy::read(name, std::fs::File::open(p).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn f32s(a: &NamedArray) -> Vec<f32> {
    assert_eq!(a.dtype, torchpeek::dtype::DType::Float32, "{}", a.name);
    a.data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

/// The largest |a - b| of two outputs of the same shape.
fn max_error(got: &NamedArray, want: &NamedArray) -> f32 {
    assert_eq!(got.shape, want.shape, "{}", got.name);
    f32s(got).iter().zip(f32s(want)).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max)
}

/// Runs `NAME.pt2` (`stem` names its inputs and outputs, shared by `_core` variants) on its saved
/// inputs: each output's largest difference from torch's.
fn errors(name: &str, stem: &str) -> Vec<f32> {
    let mut s = load(&run_dir().join(format!("{name}.pt2"))).unwrap_or_else(|e| panic!("{name}: {e}"));
    let inputs: Vec<NamedArray> =
        s.inputs().iter().map(|i| npy_file(&run_dir().join(format!("{stem}.in.{}.npy", i.name)), &i.name)).collect();
    let outputs = s.run(inputs).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(outputs.len(), s.outputs().len());
    outputs
        .iter()
        .enumerate()
        .map(|(i, o)| max_error(o, &npy_file(&run_dir().join(format!("{stem}.out.{i}.npy")), "want")))
        .collect()
}

#[test]
fn every_run_fixture_matches_torch() {
    for (name, stem, outputs) in [
        ("cnn", "cnn", 1),
        ("cnn_core", "cnn", 1),
        ("encoder", "encoder", 1),
        ("encoder_core", "encoder", 1),
        ("mlp", "mlp", 1),
        ("mlp_core", "mlp", 1),
        ("ops", "ops", 2),
        ("ops_core", "ops", 2),
        ("more", "more", 2),
    ] {
        let errs = errors(name, stem);
        eprintln!("{name}: max |torchpeek - torch| per output {errs:?}");
        assert_eq!(errs.len(), outputs, "{name}");
        assert!(errs.iter().all(|&e| e <= 1e-4), "{name}: {errs:?}");
    }
}

#[test]
fn inputs_and_outputs_are_the_signatures() {
    let s = load(&run_dir().join("ops.pt2")).unwrap();
    let names: Vec<String> = s.inputs().iter().map(|i| i.name.clone()).collect();
    assert_eq!(names, ["ids", "x"]);
    assert_eq!(s.inputs()[0].elem_type, "INT64");
    assert_eq!(s.outputs().len(), 2);
    // Inputs named otherwise are bound in order.
    let mut s = s;
    let arrays = ["ids", "x"].map(|n| NamedArray { name: format!("other_{n}"), ..npy_file(&run_dir().join(format!("ops.in.{n}.npy")), n) });
    let out = s.run(arrays.to_vec()).unwrap();
    assert!(max_error(&out[0], &npy_file(&run_dir().join("ops.out.0.npy"), "want")) <= 1e-4);
    // One of two names wrong is an error naming it, not a guess.
    let mixed = vec![npy_file(&run_dir().join("ops.in.ids.npy"), "ids"), npy_file(&run_dir().join("ops.in.x.npy"), "y")];
    assert!(s.run(mixed).unwrap_err().to_string().contains("\"y\""));
    // The encoder's sequence length is a symbol with its name.
    let s = load(&run_dir().join("encoder.pt2")).unwrap();
    let shape = s.inputs()[0].shape.clone().unwrap();
    assert!(matches!(&shape[1], torchpeek_engine::Dim::Symbol(_)), "{shape:?}");
}

/// The encoder's sequence length is symbolic: at other lengths than torch's example, the `.pt2`
/// agrees with torch's own ONNX export of the same model (both run by the engine).
#[test]
fn a_dynamic_sequence_length_runs_at_other_lengths() {
    let mut pt2 = load(&run_dir().join("encoder.pt2")).unwrap();
    let mut onnx = load(&run_dir().join("encoder.onnx")).unwrap();
    for len in [2usize, 9, 33] {
        let data: Vec<u8> = (0..2 * len * 16).flat_map(|i| ((i as f32 * 0.37).sin()).to_le_bytes()).collect();
        let x = NamedArray { name: "x".into(), dtype: torchpeek::dtype::DType::Float32, shape: vec![2, len, 16], data };
        let got = pt2.run(vec![x.clone()]).unwrap();
        let want = onnx.run(vec![x]).unwrap();
        assert_eq!(got[0].shape, [2, len, 16]);
        let err = max_error(&got[0], &want[0]);
        assert!(err <= 1e-4, "length {len}: {err}");
    }
}

#[test]
fn an_operator_without_a_translation_is_named_with_its_node_before_any_run() {
    let graphs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/real/graphs");
    let e = load(&graphs.join("branch_cond.pt2")).err().expect("torch.cond is not translated").to_string();
    assert!(e.contains("unsupported operator") && e.contains("higher_order.cond (node \"cond\")"), "{e}");
    // Exported in training mode: the in-place update of a BatchNorm counter is not translated.
    let e = load(&graphs.join("cnn_bn_train.pt2")).err().expect("training-mode batch norm").to_string();
    assert!(e.contains("aten.add_.Tensor (node \"add_\")"), "{e}");
    // Translated, but not with these arguments: batch norm on the batch's statistics, refused by name.
    let e = load(&run_dir().join("bn_batch_stats.pt2")).err().expect("batch statistics").to_string();
    assert!(e.contains("aten.batch_norm.default (node \"batch_norm\")") && e.contains("training mode"), "{e}");
}

#[test]
fn a_file_that_is_neither_onnx_nor_pt2_is_refused_by_name() {
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/real");
    let e = load(&real.join("cnn_bn_state_dict.pt")).err().unwrap().to_string();
    assert!(e.contains("torch.export archives"), "{e}");
}

/// `mlp.pt2` with its program changed by `edit` (the members rewritten into a new zip), loaded.
fn altered_mlp(mut edit: impl FnMut(&mut Json)) -> torchpeek::Result<Session> {
    let bytes = std::fs::read(run_dir().join("mlp.pt2")).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        if name.ends_with("models/model.json") {
            let mut program: Json = serde_json::from_slice(&data).unwrap();
            edit(&mut program);
            data = serde_json::to_vec(&program).unwrap();
        }
        w.start_file(name, opts).unwrap();
        w.write_all(&data).unwrap();
    }
    let bytes = w.finish().unwrap().into_inner();
    Session::load(&[&MemSource::new("altered.pt2", bytes) as &dyn Source])
}

fn nodes(program: &mut Json) -> &mut Vec<Json> {
    program["graph_module"]["graph"]["nodes"].as_array_mut().unwrap()
}

#[test]
fn altered_programs_are_errors_that_say_what_and_where() {
    let x = npy_file(&run_dir().join("mlp.in.input.npy"), "input");
    // Unchanged, it runs (the alteration below is what fails).
    assert!(altered_mlp(|_| ()).unwrap().run(vec![x.clone()]).is_ok());
    // A call reading a value only a later call makes.
    let e = altered_mlp(|p| nodes(p).swap(0, 1)).err().unwrap().to_string();
    assert!(e.contains("aten.gelu.default (node \"gelu\")") && e.contains("nothing before it computes"), "{e}");
    // An unknown target, named with its node before anything is built.
    let e = altered_mlp(|p| nodes(p)[1]["target"] = json!("torch.ops.aten.frobnicate.default")).err().unwrap().to_string();
    assert!(e.contains("unsupported operator: aten.frobnicate.default (node \"gelu\")"), "{e}");
    // A parameter whose payload is not in the archive.
    let e = altered_mlp(|p| p["graph_module"]["signature"]["input_specs"][0]["parameter"]["parameter_name"] = json!("nope.weight"))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("\"nope.weight\"") && e.contains("not in the archive"), "{e}");
    // Metadata that lies about a weight's rank.
    let e = altered_mlp(|p| p["graph_module"]["graph"]["tensor_values"]["p_0_weight"]["sizes"] = json!([{"as_int": 48}]))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("aten.linear.default (node \"linear\")") && e.contains("rank 1"), "{e}");
    // An input declared wider than the weights take: the engine refuses the model, it does not crash.
    let e = altered_mlp(|p| p["graph_module"]["graph"]["tensor_values"]["input"]["sizes"] = json!([{"as_int": 2}, {"as_int": 9}]));
    assert!(e.is_err(), "a [2, 9] input through a [8, 6] weight");
    // A user output the graph never computes.
    let e = altered_mlp(|p| p["graph_module"]["signature"]["output_specs"][0]["user_output"]["arg"]["as_tensor"]["name"] = json!("ghost"))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("\"ghost\""), "{e}");
}
