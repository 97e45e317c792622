//! The command line as a user runs it: `torchpeek run` against onnxruntime's reference outputs,
//! `torchpeek run` of `.pt2` files against torch's and `run A.pt2 B.onnx --compare`,
//! `torchpeek export` against the library's own export, `torchpeek inspect` with an architecture.

#[path = "../../torchpeek/tests/common/onnx_proto.rs"]
mod onnx_proto;

use onnx_proto::{fixtures, onnx_fixtures};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use torchpeek::{export, FileSource, MemSource, Model, Source};
use torchpeek_engine::{npy, NamedArray, Session};

fn npy_file(p: &Path, name: &str) -> NamedArray {
    npy::read(name, std::fs::File::open(p).unwrap()).unwrap()
}

fn f32s(a: &NamedArray) -> Vec<f32> {
    assert_eq!(a.dtype, torchpeek::dtype::DType::Float32, "{}", a.name);
    a.data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

fn fixture(name: &str) -> PathBuf {
    fixtures().join(name)
}

fn open(name: &str) -> Model {
    torchpeek::open(vec![Box::new(FileSource::open(fixture(name)).unwrap()) as Box<dyn Source>]).unwrap()
}

fn open_bytes(bytes: Vec<u8>) -> Model {
    torchpeek::open(vec![Box::new(MemSource::new("x.safetensors", bytes)) as Box<dyn Source>]).unwrap()
}

fn collect(slices: impl Iterator<Item = torchpeek::Result<Vec<u8>>>) -> Vec<u8> {
    slices.map(|s| s.unwrap()).collect::<Vec<_>>().concat()
}

fn index_of(model: &Model, key: &str) -> usize {
    model.document.state_dict.iter().find(|e| e.key == key).unwrap().tensor
}

/// `torchpeek run` on every fixture, with its reference inputs: every output written as .npy
/// matches onnxruntime's within 1e-4, and `--json` reports each.
#[test]
fn cli_run_matches_onnxruntime_on_every_fixture() {
    let dir = std::env::temp_dir().join(format!("torchpeek-cli-run-{}", std::process::id()));
    for p in onnx_fixtures() {
        let stem = p.file_stem().unwrap().to_str().unwrap().to_string();
        let s = Session::load(&[&FileSource::open(&p).unwrap()]).unwrap();
        let out = dir.join(&stem);
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_torchpeek"));
        cmd.arg("run").arg(&p).arg("--out").arg(&out).arg("--json");
        for (i, info) in s.inputs().iter().enumerate() {
            cmd.arg("--input").arg(format!("{}={}", info.name, fixtures().join(format!("{stem}.input{i}.npy")).display()));
        }
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{stem}: {}", String::from_utf8_lossy(&o.stdout));
        let report: Json = serde_json::from_slice(&o.stdout).unwrap();
        let outputs = report["outputs"].as_array().unwrap();
        let refs = std::fs::read_dir(fixtures())
            .unwrap()
            .filter(|e| {
                let n = e.as_ref().unwrap().file_name().into_string().unwrap();
                n.starts_with(&format!("{stem}.output")) && n.ends_with(".npy")
            })
            .count();
        assert!(refs >= 1 && outputs.len() == refs, "{stem}: {} outputs, {refs} references", outputs.len());
        for (i, o) in outputs.iter().enumerate() {
            let got = npy_file(Path::new(o["file"].as_str().unwrap()), "got");
            let want = npy_file(&fixtures().join(format!("{stem}.output{i}.npy")), "want");
            assert_eq!(got.shape, want.shape, "{stem} output {i}");
            assert_eq!(o["shape"], serde_json::json!(want.shape), "{stem} output {i}");
            let err = f32s(&got).iter().zip(f32s(&want)).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            assert!(err <= 1e-4, "{stem} output {i}: max abs error {err}");
        }
    }
    // A missing input is an error naming it, as JSON with --json.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_torchpeek"))
        .args(["run", fixtures().join("mlp.onnx").to_str().unwrap(), "--out", dir.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e: Json = serde_json::from_slice(&o.stdout).unwrap();
    assert!(e["error"].as_str().unwrap().contains("input"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn run_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/real/run").join(name)
}

/// `torchpeek ARGS...`.
fn torchpeek(args: &[&std::ffi::OsStr]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_torchpeek")).args(args).output().unwrap()
}

/// `torchpeek run A B --compare ARGS...`.
fn compare(a: &Path, b: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_torchpeek")).arg("run").arg(a).arg(b).arg("--compare").args(args).output().unwrap()
}

/// `torchpeek run NAME.pt2` with torch's inputs (by name, and in order): every output within 1e-4
/// of torch's.
#[test]
fn cli_runs_pt2_files_as_torch_does() {
    let dir = std::env::temp_dir().join(format!("torchpeek-cli-pt2-{}", std::process::id()));
    for (name, inputs, named) in [("cnn", &["x"][..], true), ("encoder", &["x"], false), ("mlp", &["input"], true), ("ops", &["ids", "x"], false)] {
        let out = dir.join(name);
        let mut args: Vec<std::ffi::OsString> = vec!["run".into(), run_fixture(&format!("{name}.pt2")).into(), "--out".into(), out.clone().into(), "--json".into()];
        for i in inputs {
            let file = run_fixture(&format!("{name}.in.{i}.npy")).display().to_string();
            args.push("--input".into());
            args.push(if named { format!("{i}={file}") } else { file }.into());
        }
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        let o = torchpeek(&args);
        assert!(o.status.success(), "{name}: {}", String::from_utf8_lossy(&o.stdout));
        let report: Json = serde_json::from_slice(&o.stdout).unwrap();
        for (k, output) in report["outputs"].as_array().unwrap().iter().enumerate() {
            let got = npy_file(Path::new(output["file"].as_str().unwrap()), "got");
            let want = npy_file(&run_fixture(&format!("{name}.out.{k}.npy")), "want");
            assert_eq!(got.shape, want.shape, "{name} output {k}");
            let err = f32s(&got).iter().zip(f32s(&want)).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            assert!(err <= 1e-4, "{name} output {k}: max abs error {err}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `run A.pt2 B.onnx --compare`: the JSON report, and the exit status (0 match, 2 differ, 1 error).
#[test]
fn cli_compares_a_pt2_with_its_onnx_export() {
    for name in ["cnn", "encoder", "mlp", "ops", "more"] {
        let (a, b) = (run_fixture(&format!("{name}.pt2")), run_fixture(&format!("{name}.onnx")));
        let o = compare(&a, &b, &["--json", "--seed", "5"]);
        let r: Json = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{name}: {e}: {}", String::from_utf8_lossy(&o.stdout)));
        assert_eq!(o.status.code(), Some(0), "{name}: {r}");
        assert_eq!((r["verdict"].as_str(), r["seed"].as_u64(), r["tolerance"].as_f64()), (Some("match"), Some(5), Some(1e-4)), "{name}");
        for out in r["outputs"].as_array().unwrap() {
            assert!(out["max_abs"].as_f64().unwrap() <= 1e-4 && out["cosine"].as_f64().unwrap() > 0.9999, "{name}: {out}");
            assert!(out["rel_error"].is_number() && out["within_tolerance"] == true, "{name}: {out}");
            assert_eq!(out["a_shape"], out["b_shape"], "{name}");
        }
        assert_eq!(r["inputs"][0]["file"], Json::Null);
        assert!(r["a"]["run_ms"].is_number() && r["b"]["files"][0].as_str().unwrap().ends_with(".onnx"));
    }
    // Given inputs, and a tolerance of 0: the encoder's last bits differ (its two graphs sum in
    // different orders), so the verdict is differ (status 2).
    let (a, b, x) = (run_fixture("encoder.pt2"), run_fixture("encoder.onnx"), run_fixture("encoder.in.x.npy"));
    let input = format!("x={}", x.display());
    let o = compare(&a, &b, &["--json", "--input", &input, "--tolerance", "0"]);
    let r: Json = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((o.status.code(), r["verdict"].as_str(), r["seed"].clone()), (Some(2), Some("differ"), Json::Null), "{r}");
    assert_eq!(r["inputs"][0]["file"].as_str(), Some(x.display().to_string().as_str()));
    assert_eq!(r["outputs"][0]["within_tolerance"], false);
    // Text output names the verdict.
    let o = compare(&a, &b, &[]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && text.contains("max |a-b|") && text.contains("match"), "{text}");
    // A model that cannot run: status 1 and the error as JSON.
    let cond = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/real/graphs/branch_cond.pt2");
    let o = compare(&cond, &b, &["--json"]);
    let e: Json = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(e["error"].as_str().unwrap().contains("higher_order.cond"), "{e}");
}

#[test]
fn the_command_line_writes_both_forms() {
    let dir = std::env::temp_dir().join(format!("torchpeek-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |args: &[&std::ffi::OsStr]| std::process::Command::new(env!("CARGO_BIN_EXE_torchpeek")).arg("export").args(args).output().unwrap();
    let (npy_out, st_out) = (dir.join("t.npy"), dir.join("views.safetensors"));
    let views = fixture("views.pt");
    let r = run(&[views.as_os_str(), "--npy".as_ref(), "t".as_ref(), npy_out.as_os_str()]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let model = open("views.pt");
    assert_eq!(std::fs::read(&npy_out).unwrap(), collect(export::npy_slices(&model, index_of(&model, "t")).unwrap()));
    let r = run(&[views.as_os_str(), "--safetensors".as_ref(), st_out.as_os_str()]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(open_bytes(std::fs::read(&st_out).unwrap()).document.state_dict.len(), model.document.state_dict.len());
    let r = run(&[views.as_os_str(), "--npy".as_ref(), "nope".as_ref(), npy_out.as_os_str()]);
    assert!(!r.status.success() && String::from_utf8_lossy(&r.stderr).contains("no tensor \"nope\""));
    std::fs::remove_dir_all(&dir).unwrap();
}


/// `inspect` says what the architecture is, in text and in JSON; a config.json given with the
/// weights is read for its numbers, not opened as a model.
#[test]
fn inspect_describes_the_architecture_with_a_config() {
    let dir = std::env::temp_dir().join(format!("torchpeek-arch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.json");
    std::fs::write(&config, r#"{"model_type": "bert", "num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 2}"#).unwrap();
    let bin = fixture("bert_tiny_pytorch_model.bin");
    let inspect = |args: &[&std::ffi::OsStr]| std::process::Command::new(env!("CARGO_BIN_EXE_torchpeek")).arg("inspect").args(args).output().unwrap();
    let r = inspect(&[bin.as_os_str()]);
    let text = String::from_utf8_lossy(&r.stdout);
    assert!(text.contains("architecture: BERT-style encoder (BERT, RoBERTa), from weights"), "{text}");
    assert!(text.contains("repeated encoder.layer: 0–1 ×2"), "{text}");
    assert!(text.contains("note: head_dim 64"), "{text}");
    let r = inspect(&[config.as_os_str(), bin.as_os_str(), "--json".as_ref()]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let doc: Json = serde_json::from_slice(&r.stdout).unwrap();
    let a = &doc["architecture"];
    assert_eq!((a["numbers"]["heads"].as_u64(), a["numbers"]["head_dim"].as_u64()), (Some(2), Some(32)));
    assert_eq!(a["family"]["from"], serde_json::json!(["weights", "config.json"]));
    assert!(a["numbers"].get("assumed").is_none());
    assert_eq!(doc["tensors"].as_array().unwrap().len(), 39);
    std::fs::remove_dir_all(&dir).unwrap();
}
