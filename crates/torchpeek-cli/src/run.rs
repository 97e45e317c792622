//! `torchpeek run`: loads a model with the engine (ONNX, or a `.pt2`'s exported program), runs it
//! once on `.npy` inputs (by name, or in order) and writes each output as a `.npy` file; with
//! `--compare`, runs two models on the same inputs (given, or seeded random) and compares their
//! outputs (`torchpeek_engine::compare`).

use std::path::{Path, PathBuf};
use serde::Serialize;
use torchpeek::error::{Error, Result};
use torchpeek::source::{FileSource, Source};
use torchpeek_engine::compare::{self, ArrayRef, Comparison};
use torchpeek_engine::{npy, NamedArray, Session};

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

/// An input given on the command line: `NAME=FILE.npy`, or `FILE.npy` bound in order.
pub type GivenInput = (Option<String>, PathBuf);

/// A file name for an output: its name with path separators and odd characters replaced.
fn file_name_for(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') { c } else { '_' })
        .collect();
    let s = s.trim_start_matches('.').to_string();
    if s.is_empty() { "output".to_string() } else { s }
}

fn io_error(p: &Path, e: std::io::Error) -> Error {
    Error::Read { source_name: p.display().to_string(), offset: 0, message: e.to_string() }
}

/// A session over `files` (a model and its external data files), with its load time in ms.
fn load(files: &[PathBuf]) -> Result<(Session, f64)> {
    let start = std::time::Instant::now();
    let sources = files.iter().map(FileSource::open).collect::<Result<Vec<_>>>()?;
    let sources: Vec<&dyn Source> = sources.iter().map(|s| s as &dyn Source).collect();
    let session = Session::load(&sources)?;
    Ok((session, start.elapsed().as_secs_f64() * 1e3))
}

/// Reads the given `.npy` inputs, each named by its `NAME=` or else by the model input at its position.
fn read_inputs(session: &Session, given: &[GivenInput]) -> Result<Vec<NamedArray>> {
    let names = session.inputs();
    given
        .iter()
        .enumerate()
        .map(|(i, (name, path))| {
            let name = match name {
                Some(n) => n.clone(),
                None => names.get(i).map(|n| n.name.clone()).ok_or_else(|| {
                    Error::engine(format!("{} inputs given, the model takes {}", given.len(), names.len()))
                })?,
            };
            let f = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
            npy::read(&name, std::io::BufReader::new(f))
        })
        .collect()
}

/// Loads the model in `files` (with its external data files), runs it once on `.npy` inputs, and
/// writes `out_dir/NAME.npy` for every output.
pub fn run_files(files: &[PathBuf], inputs: &[GivenInput], out_dir: &Path) -> Result<RunReport> {
    let (mut session, load_ms) = load(files)?;
    let arrays = read_inputs(&session, inputs)?;
    let start = std::time::Instant::now();
    let outputs = session.run(arrays)?;
    let run_ms = start.elapsed().as_secs_f64() * 1e3;
    std::fs::create_dir_all(out_dir).map_err(|e| io_error(out_dir, e))?;
    let mut report = Vec::new();
    for o in &outputs {
        let path = out_dir.join(format!("{}.npy", file_name_for(&o.name)));
        let f = std::fs::File::create(&path).map_err(|e| io_error(&path, e))?;
        let mut w = std::io::BufWriter::new(f);
        npy::write(o, &mut w)?;
        std::io::Write::flush(&mut w).map_err(|e| io_error(&path, e))?;
        report.push(OutputReport { name: o.name.clone(), shape: o.shape.clone(), dtype: o.dtype.name().to_string(), file: path.display().to_string() });
    }
    Ok(RunReport { outputs: report, load_ms, run_ms })
}

/// One model of a comparison: its files and times.
#[derive(Debug, Clone, Serialize)]
pub struct ModelRun {
    pub files: Vec<String>,
    pub load_ms: f64,
    pub run_ms: f64,
}

/// An input both models ran on.
#[derive(Debug, Clone, Serialize)]
pub struct InputReport {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<usize>,
    /// The `.npy` it was read from; None for seeded random values.
    pub file: Option<String>,
}

/// What `torchpeek run A B --compare --json` prints (docs/inspect-json.md).
#[derive(Debug, Clone, Serialize)]
pub struct CompareReport {
    pub a: ModelRun,
    pub b: ModelRun,
    /// The seed of the random inputs; None when every input was given.
    pub seed: Option<u64>,
    pub inputs: Vec<InputReport>,
    #[serde(flatten)]
    pub comparison: Comparison,
}

/// How `compare_files` makes its inputs.
pub struct CompareOptions<'a> {
    pub inputs: &'a [GivenInput],
    pub seed: u64,
    /// Sizes of symbolic dimensions for random inputs (`--dim SYMBOL=N`).
    pub dims: &'a [(String, usize)],
    pub tolerance: f64,
}

/// Runs model `a` and model `b` (each its files) on the same inputs, the given `.npy` files or
/// seeded random values shaped as `a` declares, and compares their outputs in order.
pub fn compare_files(a: &[PathBuf], b: &[PathBuf], opts: &CompareOptions) -> Result<CompareReport> {
    let (mut sa, load_a) = load(a)?;
    let (mut sb, load_b) = load(b)?;
    let given = !opts.inputs.is_empty();
    let arrays = if given {
        read_inputs(&sa, opts.inputs)?
    } else {
        // A symbolic size: as asked, else the example the .pt2 was exported with.
        let size = |s: &str| {
            opts.dims.iter().find(|(d, _)| d == s).map(|&(_, n)| n).or_else(|| sa.example_size(s)).or_else(|| sb.example_size(s))
        };
        let b_names = sb.inputs();
        let a_names = sa.inputs();
        // An index input's bound in either model (the second by the same name, else position).
        let bound = |name: &str| {
            let at = a_names.iter().position(|i| i.name == name);
            let other = b_names.iter().find(|i| i.name == name).or_else(|| at.and_then(|k| b_names.get(k)));
            [sa.index_bound(name), other.and_then(|o| sb.index_bound(&o.name))].into_iter().flatten().min()
        };
        compare::random_inputs(&a_names, opts.seed, &size, &bound)?
    };
    let inputs = arrays
        .iter()
        .enumerate()
        .map(|(i, x)| InputReport {
            name: x.name.clone(),
            dtype: x.dtype.name().to_string(),
            shape: x.shape.clone(),
            file: given.then(|| opts.inputs[i].1.display().to_string()),
        })
        .collect();
    // Each model takes the inputs by its own names, or in order (`Session::run`).
    let run = |s: &mut Session, arrays: &[NamedArray]| -> Result<(Vec<NamedArray>, f64)> {
        let start = std::time::Instant::now();
        let out = s.run(arrays.to_vec())?;
        Ok((out, start.elapsed().as_secs_f64() * 1e3))
    };
    let (out_a, run_a) = run(&mut sa, &arrays)?;
    let (out_b, run_b) = run(&mut sb, &arrays)?;
    let (ra, rb): (Vec<ArrayRef>, Vec<ArrayRef>) = (out_a.iter().map(ArrayRef::from).collect(), out_b.iter().map(ArrayRef::from).collect());
    let comparison = compare::compare(&ra, &rb, opts.tolerance);
    let files = |f: &[PathBuf]| f.iter().map(|p| p.display().to_string()).collect();
    Ok(CompareReport {
        a: ModelRun { files: files(a), load_ms: load_a, run_ms: run_a },
        b: ModelRun { files: files(b), load_ms: load_b, run_ms: run_b },
        seed: (!given).then_some(opts.seed),
        inputs,
        comparison,
    })
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
        let r = run_files(&[fixtures().join("cnn.onnx")], &[(Some("input".to_string()), fixtures().join("cnn.input0.npy"))], &dir).unwrap();
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
