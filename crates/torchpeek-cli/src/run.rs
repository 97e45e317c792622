//! `torchpeek run`: loads an ONNX model with the engine, runs it once on `.npy` inputs given by
//! name, and writes each output as a `.npy` file.

use std::path::{Path, PathBuf};
use serde::Serialize;
use torchpeek::error::{Error, Result};
use torchpeek::source::{FileSource, Source};
use torchpeek_engine::{npy, Session};

/// One output written by `run`.
#[derive(Debug, Clone, Serialize)]
pub struct OutputReport {
    pub name: String,
    pub shape: Vec<usize>,
    /// torch's name: `float32`, `int64` ...
    pub dtype: String,
    pub file: String,
}

/// What `torchpeek run --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub outputs: Vec<OutputReport>,
    pub load_ms: f64,
    pub run_ms: f64,
}

/// A file name for an output: its name with path separators and odd characters replaced.
fn file_name_for(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') { c } else { '_' })
        .collect();
    let s = s.trim_start_matches('.').to_string();
    if s.is_empty() { "output".to_string() } else { s }
}

/// Loads the model in `files` (with its external data files), runs it once on `.npy` inputs given
/// by name, and writes `out_dir/NAME.npy` for every output.
pub fn run_files(files: &[PathBuf], inputs: &[(String, PathBuf)], out_dir: &Path) -> Result<RunReport> {
    let io = |p: &Path, e: std::io::Error| Error::Read { source_name: p.display().to_string(), offset: 0, message: e.to_string() };
    let start = std::time::Instant::now();
    let sources = files.iter().map(FileSource::open).collect::<Result<Vec<_>>>()?;
    let sources: Vec<&dyn Source> = sources.iter().map(|s| s as &dyn Source).collect();
    let mut session = Session::load(&sources)?;
    let load_ms = start.elapsed().as_secs_f64() * 1e3;
    for i in session.inputs() {
        if !inputs.iter().any(|(n, _)| *n == i.name) {
            return Err(Error::engine(format!("input {:?} was not given (use --input {}=FILE.npy)", i.name, i.name)));
        }
    }
    let mut arrays = Vec::new();
    for (name, path) in inputs {
        let f = std::fs::File::open(path).map_err(|e| io(path, e))?;
        arrays.push(npy::read(name, std::io::BufReader::new(f))?);
    }
    let start = std::time::Instant::now();
    let outputs = session.run(arrays)?;
    let run_ms = start.elapsed().as_secs_f64() * 1e3;
    std::fs::create_dir_all(out_dir).map_err(|e| io(out_dir, e))?;
    let mut report = Vec::new();
    for o in &outputs {
        let path = out_dir.join(format!("{}.npy", file_name_for(&o.name)));
        let f = std::fs::File::create(&path).map_err(|e| io(&path, e))?;
        let mut w = std::io::BufWriter::new(f);
        npy::write(o, &mut w)?;
        std::io::Write::flush(&mut w).map_err(|e| io(&path, e))?;
        report.push(OutputReport { name: o.name.clone(), shape: o.shape.clone(), dtype: o.dtype.name().to_string(), file: path.display().to_string() });
    }
    Ok(RunReport { outputs: report, load_ms, run_ms })
}


#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
    }

    fn npy_file(p: &Path, name: &str) -> torchpeek_engine::NamedArray {
        npy::read(name, std::fs::File::open(p).unwrap()).unwrap()
    }

    fn f32s(a: &torchpeek_engine::NamedArray) -> Vec<f32> {
        a.data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
    }

    #[test]
    fn run_files_writes_npy() {
        let dir = std::env::temp_dir().join(format!("torchpeek-onnx-run-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let r = run_files(&[fixtures().join("cnn.onnx")], &[("input".to_string(), fixtures().join("cnn.input0.npy"))], &dir).unwrap();
        assert_eq!(r.outputs.len(), 1);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["outputs"][0]["name"], "output");
        assert_eq!(json["outputs"][0]["dtype"], "float32");
        assert_eq!(json["outputs"][0]["shape"], serde_json::json!([2, 10]));
        assert!(json["load_ms"].is_number() && json["run_ms"].is_number());
        let got = npy_file(Path::new(&r.outputs[0].file), "o");
        let want = npy_file(&fixtures().join("cnn.output0.npy"), "o");
        let err = f32s(&got).iter().zip(f32s(&want)).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(err <= 1e-4);
        // A missing input is named.
        let e = run_files(&[fixtures().join("cnn.onnx")], &[], &dir).err().unwrap();
        assert!(e.to_string().contains("input"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
