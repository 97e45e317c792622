//! The native command line: `torchpeek inspect` prints the document of
//! `docs/inspect-json.md`; `torchpeek check` gives safety verdicts and health checks;
//! `torchpeek diff` compares two models; `torchpeek export` writes the state_dict as .safetensors
//! or one tensor as .npy; `torchpeek run` runs an ONNX model or a `.pt2` once, or two models on the
//! same inputs to compare their outputs (`--compare`).

mod run;

use clap::{Parser, Subcommand};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use torchpeek::{Document, FileSource, Model, Source};

#[derive(Parser)]
#[command(name = "torchpeek", version, about = "Look inside PyTorch, safetensors and ONNX files without running them")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Describe a model file (several files that belong together are opened as one model).
    Inspect {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print the JSON document.
        #[arg(long)]
        json: bool,
        /// Compute every tensor's statistics (reads all tensor data).
        #[arg(long)]
        stats: bool,
    },
    /// Would loading these files run code? Scans every pickle each file holds (each file on its
    /// own). Exit status: 0 all safe, 2 some unsafe_but_known, 3 some dangerous, 1 an error.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print JSON: {verdict, files: [{file, verdict, findings, mirrors_torch, health?}]}.
        #[arg(long)]
        json: bool,
        /// Also check the tensors' health (NaN/Inf, all-zero, constant, extreme, denormals, shared
        /// and unused storage, optimizer state): reads all tensor data.
        #[arg(long)]
        health: bool,
    },
    /// What changed between two models: keys in one only, shape and dtype changes, and per tensor
    /// the max abs difference, relative change and cosine similarity. Exit status 0 when nothing
    /// changed, 2 when something did, 1 on an error.
    Diff {
        a: PathBuf,
        b: PathBuf,
        /// Print JSON: {counts, entries: [{key, change, a, b, max_abs_diff, relative_change, cosine}]}.
        #[arg(long)]
        json: bool,
    },
    /// Write the state_dict as .safetensors, or one tensor as .npy (bfloat16, float8 and quantized
    /// tensors as float32), read through views' strides in slices.
    #[command(group = clap::ArgGroup::new("what").required(true))]
    Export {
        /// The model file(s).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Write the state_dict to this .safetensors file.
        #[arg(long, value_name = "OUT", group = "what")]
        safetensors: Option<PathBuf>,
        /// Write the tensor KEY (a state_dict key or a dotted tree path) to OUT as .npy.
        #[arg(long, num_args = 2, value_names = ["KEY", "OUT"], group = "what")]
        npy: Option<Vec<String>>,
    },
    /// Run an ONNX model or a .pt2 (torch.export) once on .npy inputs and write its outputs as .npy
    /// files; with --compare, run two models (A.pt2 B.onnx) on the same inputs and compare outputs.
    Run {
        /// The model and its external data files; with --compare, model A then model B (and B's
        /// external data files).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// NAME=FILE.npy, or FILE.npy for the model's inputs in order. With --compare, the inputs
        /// of both models (seeded random values when none is given).
        #[arg(long = "input", value_name = "[NAME=]FILE.npy")]
        inputs: Vec<String>,
        /// Folder for NAME.npy of each output.
        #[arg(long, required_unless_present = "compare", conflicts_with = "compare")]
        out: Option<PathBuf>,
        /// Print a JSON report.
        #[arg(long)]
        json: bool,
        /// Run the first file and the rest (model B) on the same inputs and compare their outputs:
        /// exit status 0 when every output is within the tolerance, 2 when one is not, 1 on an error.
        #[arg(long)]
        compare: bool,
        /// With --compare: the largest max |a-b| an output may have.
        #[arg(long, default_value_t = torchpeek_engine::compare::DEFAULT_TOLERANCE, requires = "compare")]
        tolerance: f64,
        /// With --compare: the seed of the random inputs.
        #[arg(long, default_value_t = 0, requires = "compare")]
        seed: u64,
        /// With --compare: SYMBOL=N, the size of a symbolic input dimension for random inputs
        /// (default: the size the .pt2 was exported with).
        #[arg(long = "dim", value_name = "SYMBOL=N", requires = "compare")]
        dims: Vec<String>,
    },
}

fn open(files: &[PathBuf]) -> torchpeek::Result<Model> {
    let sources = files
        .iter()
        .map(|f| FileSource::open(f).map(|s| Box::new(s) as Box<dyn Source>))
        .collect::<torchpeek::Result<Vec<_>>>()?;
    torchpeek::open(sources)
}

fn fail(json: bool, message: String) -> ExitCode {
    if json {
        println!("{}", json!({ "error": message }));
    } else {
        eprintln!("torchpeek: {message}");
    }
    ExitCode::from(1)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Inspect { files, json, stats } => {
            let mut model = match open(&files) {
                Ok(m) => m,
                Err(e) => return fail(json, e.to_string()),
            };
            if stats {
                torchpeek::stats::fill_all(&mut model);
            }
            let text = if json {
                serde_json::to_string_pretty(&model.document.to_json()).expect("JSON") + "\n"
            } else {
                summary(&model.document)
            };
            write_stdout(&text)
        }
        Command::Check { files, json, health } => check(&files, json, health),
        Command::Diff { a, b, json } => diff(&a, &b, json),
        Command::Export { files, safetensors, npy } => match export(&files, safetensors, npy) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => fail(false, message),
        },
        Command::Run { files, inputs, out, json, compare, tolerance, seed, dims } => {
            let inputs = inputs
                .iter()
                .map(|i| match i.split_once('=') {
                    Some((n, f)) if !n.is_empty() => (Some(n.to_string()), PathBuf::from(f)),
                    _ => (None, PathBuf::from(i)),
                })
                .collect::<Vec<_>>();
            match out {
                Some(out) if !compare => run(files, inputs, out, json),
                _ => compare_run(files, inputs, dims, seed, tolerance, json),
            }
        }
    }
}

fn check(files: &[PathBuf], json: bool, health: bool) -> ExitCode {
    use torchpeek::safety::Verdict;
    let mut reports = Vec::new();
    let mut worst = Verdict::Safe;
    let mut first_error = None;
    for f in files {
        let src = match FileSource::open(f) {
            Ok(s) => s,
            Err(e) => return fail(json, e.to_string()),
        };
        let safety = torchpeek::safety::check_one(&src);
        worst = worst.max(safety.verdict);
        let mut report = json!({
            "file": f.display().to_string(),
            "verdict": safety.verdict,
            "findings": safety.findings,
            "mirrors_torch": safety.mirrors_torch,
            "torch_loads": safety.torch_loads,
            "refusal": safety.refusal,
        });
        if safety.is_error() {
            let r = safety.refusal.as_ref().expect("an error has a refusal");
            let message = format!("{} at byte {}: torch.load(weights_only=True) refuses it: {}", r.member, r.offset, r.reason);
            report["error"] = json!(message);
            first_error.get_or_insert(message);
        }
        if health {
            report["health"] = match open(std::slice::from_ref(f)).and_then(|m| torchpeek::health::check(&m, &mut |_, _| true)) {
                Ok(h) => serde_json::to_value(h).expect("JSON"),
                Err(e) => json!({"error": e.to_string()}),
            };
        }
        reports.push(report);
    }
    let text = if json {
        let mut all = json!({"verdict": worst, "files": reports});
        if let Some(e) = &first_error {
            all["error"] = json!(e);
        }
        serde_json::to_string_pretty(&all).expect("JSON") + "\n"
    } else {
        let mut t = String::new();
        for r in &reports {
            t += &format!("{}: {}\n", r["file"].as_str().unwrap_or(""), r["verdict"].as_str().unwrap_or(""));
            if let Some(r) = r["refusal"].as_object() {
                t += &format!(
                    "  torch.load(weights_only=True) refuses it: {} at {} byte {}\n",
                    r["reason"].as_str().unwrap_or(""),
                    r["member"].as_str().unwrap_or(""),
                    r["offset"]
                );
            }
            for f in r["findings"].as_array().into_iter().flatten() {
                let what = format!("{} {}", f["opcode"].as_str().unwrap_or(""), f["global"].as_str().unwrap_or("")).trim().to_string();
                t += &format!(
                    "  {} {what} at {} byte {}: {}\n",
                    f["severity"].as_str().unwrap_or(""),
                    f["member"].as_str().unwrap_or(""),
                    f["offset"],
                    f["reason"].as_str().unwrap_or("")
                );
            }
            if let Some(e) = r["health"]["error"].as_str() {
                t += &format!("  health: {e}\n");
            }
            for c in r["health"]["checks"].as_array().into_iter().flatten() {
                t += &format!("  [{}] {}: {}\n", c["status"].as_str().unwrap_or(""), c["title"].as_str().unwrap_or(""), c["detail"].as_str().unwrap_or(""));
                for name in c["tensors"].as_array().into_iter().flatten().take(10) {
                    t += &format!("      {}\n", name.as_str().unwrap_or(""));
                }
            }
        }
        t
    };
    let status = write_stdout(&text);
    if status != ExitCode::SUCCESS {
        return status;
    }
    // `dangerous` wins over an error; an error (a file torch refuses, with nothing found in it)
    // over `unsafe_but_known`.
    ExitCode::from(match worst {
        Verdict::Dangerous => 3,
        _ if first_error.is_some() => 1,
        Verdict::Safe => 0,
        Verdict::UnsafeButKnown => 2,
    })
}

fn diff(a: &PathBuf, b: &PathBuf, json: bool) -> ExitCode {
    let result = open(std::slice::from_ref(a))
        .and_then(|ma| open(std::slice::from_ref(b)).map(|mb| (ma, mb)))
        .and_then(|(ma, mb)| torchpeek::diff::diff(&ma, &mb, &mut |_, _| true));
    let d = match result {
        Ok(d) => d,
        Err(e) => return fail(json, e.to_string()),
    };
    let text = if json {
        serde_json::to_string_pretty(&d).expect("JSON") + "\n"
    } else {
        let mut t: String = d.counts.iter().map(|(k, n)| format!("{k}: {n}  ")).collect::<String>().trim_end().to_string() + "\n";
        for e in &d.entries {
            let shapes = |s: &Option<torchpeek::diff::Side>| s.as_ref().map(|s| format!("{} {:?}", s.dtype, s.shape)).unwrap_or_else(|| "-".into());
            let numbers = match (e.max_abs_diff, e.relative_change, e.cosine) {
                (Some(m), Some(r), Some(c)) => format!("  max|a-b| {m:.3e}  rel {r:.3e}  cos {c:.6}"),
                _ => String::new(),
            };
            let change = serde_json::to_value(e.change).expect("JSON");
            let key = match (&e.key_b, e.transposed) {
                (Some(k), true) => format!("{} (B: {k}, transposed)", e.key),
                (Some(k), false) => format!("{} (B: {k})", e.key),
                _ => e.key.clone(),
            };
            t += &format!("{:10} {key}  {} -> {}{numbers}\n", change.as_str().unwrap_or(""), shapes(&e.a), shapes(&e.b));
        }
        t
    };
    let status = write_stdout(&text);
    if status != ExitCode::SUCCESS {
        return status;
    }
    let same = d.entries.iter().all(|e| e.change == torchpeek::diff::Change::Same);
    ExitCode::from(if same { 0 } else { 2 })
}

fn export(files: &[PathBuf], safetensors: Option<PathBuf>, npy: Option<Vec<String>>) -> Result<(), String> {
    let model = open(files).map_err(|e| e.to_string())?;
    let (out, slices): (PathBuf, Box<dyn Iterator<Item = torchpeek::Result<Vec<u8>>>>) = match (safetensors, npy.as_deref()) {
        (Some(out), _) => {
            let (plan, slices) = torchpeek::export::safetensors_slices(&model);
            if !plan.skipped.is_empty() {
                eprintln!("torchpeek: left out (safetensors cannot hold them): {}", plan.skipped.join(", "));
            }
            (out, Box::new(slices))
        }
        (None, Some([key, out])) => {
            let doc = &model.document;
            let index = doc
                .state_dict
                .iter()
                .find(|e| &e.key == key)
                .map(|e| e.tensor)
                .or_else(|| doc.tensors.iter().position(|t| &t.path.join(".") == key))
                .ok_or_else(|| format!("no tensor {key:?} in {}", files[0].display()))?;
            (PathBuf::from(out), Box::new(torchpeek::export::npy_slices(&model, index).map_err(|e| e.to_string())?))
        }
        _ => return Err("give --safetensors OUT or --npy KEY OUT".into()),
    };
    use std::io::Write;
    let io = |e: std::io::Error| format!("{}: {e}", out.display());
    let mut w = std::io::BufWriter::new(std::fs::File::create(&out).map_err(io)?);
    let written = slices
        .into_iter()
        .try_for_each(|slice| w.write_all(&slice.map_err(|e| e.to_string())?).map_err(io))
        .and_then(|()| w.flush().map_err(io));
    if written.is_err() {
        let _ = std::fs::remove_file(&out); // no half-written file left behind
    }
    written
}

fn run(files: Vec<PathBuf>, inputs: Vec<run::GivenInput>, out: PathBuf, json: bool) -> ExitCode {
    match run::run_files(&files, &inputs, &out) {
        Ok(report) if json => {
            println!("{}", serde_json::to_string_pretty(&report).expect("JSON"));
            ExitCode::SUCCESS
        }
        Ok(report) => {
            for o in &report.outputs {
                println!("{} {:?} {} -> {}", o.name, o.shape, o.dtype, o.file);
            }
            println!("load {:.1} ms, run {:.1} ms", report.load_ms, report.run_ms);
            ExitCode::SUCCESS
        }
        Err(e) => fail(json, e.to_string()),
    }
}

/// `run A B --compare`: exit status 0 when the outputs match within the tolerance, 2 when they
/// differ, 1 on an error.
fn compare_run(files: Vec<PathBuf>, inputs: Vec<run::GivenInput>, dims: Vec<String>, seed: u64, tolerance: f64, json: bool) -> ExitCode {
    let Some((a, b)) = files.split_first().filter(|(_, b)| !b.is_empty()) else {
        return fail(json, "--compare needs two models: A (its file) then B (its files)".into());
    };
    let mut sizes = Vec::new();
    for d in &dims {
        match d.split_once('=').and_then(|(s, n)| Some((s.to_string(), n.parse::<usize>().ok().filter(|&n| n > 0)?))) {
            Some(pair) => sizes.push(pair),
            None => return fail(json, format!("--dim {d:?}: expected SYMBOL=N with N a positive integer")),
        }
    }
    if tolerance.is_nan() || tolerance < 0.0 {
        return fail(json, format!("--tolerance {tolerance}: expected a number >= 0"));
    }
    let opts = run::CompareOptions { inputs: &inputs, seed, dims: &sizes, tolerance };
    let report = match run::compare_files(std::slice::from_ref(a), b, &opts) {
        Ok(r) => r,
        Err(e) => return fail(json, e.to_string()),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report).expect("JSON"));
    } else {
        let c = &report.comparison;
        match report.seed {
            Some(seed) => println!("inputs: random, seed {seed}"),
            None => println!("inputs: given"),
        }
        for i in &report.inputs {
            println!("  {} {:?} {}", i.name, i.shape, i.dtype);
        }
        let num = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.3e}"));
        for o in &c.outputs {
            let shape = if o.a_shape == o.b_shape { format!("{:?}", o.a_shape) } else { format!("{:?} vs {:?}", o.a_shape, o.b_shape) };
            println!(
                "{} / {} {shape}: max |a-b| {}, relative {}, cosine {}{} -> {}",
                o.a,
                o.b,
                num(o.max_abs),
                num(o.rel_error),
                o.cosine.map_or_else(|| "-".to_string(), |v| format!("{v:.8}")),
                if o.nan_mismatches > 0 { format!(", {} NaN mismatches", o.nan_mismatches) } else { String::new() },
                if o.within_tolerance { "ok" } else { "DIFFERS" }
            );
        }
        for n in &c.notes {
            println!("note: {n}");
        }
        println!("{}: every output within {:e}", if c.verdict == "match" { "match" } else { "differ" }, c.tolerance);
    }
    if report.comparison.verdict == "match" { ExitCode::SUCCESS } else { ExitCode::from(2) }
}

fn human_count(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{:.2}B", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{:.2}M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.1}K", n as f64 / 1e3),
        n => n.to_string(),
    }
}

/// Writes to standard output; a closed pipe (`| head`) ends quietly.
fn write_stdout(text: &str) -> ExitCode {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("torchpeek: {e}");
            ExitCode::from(1)
        }
    }
}

/// The human-readable description `inspect` prints without `--json`.
fn summary(doc: &Document) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    macro_rules! println {
        ($($t:tt)*) => { let _ = writeln!(s, $($t)*); };
    }
    let j = doc.to_json();
    let files: Vec<String> = doc.files.iter().map(|f| format!("{} ({} bytes)", f.name, f.bytes)).collect();
    println!("{}", files.join(", "));
    println!("format: {}   kind: {}   safety: {}", j["format"].as_str().unwrap_or(""), j["kind"].as_str().unwrap_or(""), j["safety"]["verdict"].as_str().unwrap_or(""));
    for f in &doc.safety.findings {
        println!("  ! {} {} {} at byte {}: {}", j_str(&json!(f.severity)), f.global, f.member, f.offset, f.reason);
    }
    let params: u64 = doc.state_dict.iter().map(|e| doc.tensors[e.tensor].numel).sum();
    println!("tensors: {}   state_dict entries: {}   parameters: {}", doc.tensors.len(), doc.state_dict.len(), human_count(params));
    if let Some(a) = &doc.architecture {
        s += &architecture(a);
    }
    let width = doc.state_dict.iter().map(|e| e.key.len()).max().unwrap_or(0).min(60);
    for e in &doc.state_dict {
        let t = &doc.tensors[e.tensor];
        let shared = if t.shares_storage_with.is_empty() { "" } else { "  (shares storage)" };
        println!("  {:width$}  {:<9} {:?}{shared}", e.key, t.dtype.name(), t.shape);
    }
    if !doc.modules.is_empty() {
        println!("modules:");
        for m in &doc.modules {
            println!("  {:width$}  {}", if m.path.is_empty() { "(root)" } else { &m.path }, m.class);
        }
    }
    for p in &doc.errors {
        println!("  problem at {}: {}", p.path.join("."), p.message);
    }
    s
}

/// The architecture at a glance: family, numbers, parts, repeated blocks.
fn architecture(a: &torchpeek::arch::Architecture) -> String {
    let mut s = String::new();
    if let Some(f) = &a.family {
        let variant = f.variant.as_ref().map(|v| format!(" ({v})")).unwrap_or_default();
        s += &format!("architecture: {}{variant}, from {}\n", f.label, f.from.join(" and "));
    }
    let numbers = serde_json::to_value(&a.numbers).unwrap_or_default();
    let listed: Vec<String> = numbers
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some(format!("{k} {}", if let Some(n) = v.as_u64() { n.to_string() } else if v.is_array() && v[0].is_u64() { v.to_string() } else { return None })))
        .collect();
    if !listed.is_empty() {
        s += &format!("  {}\n", listed.join("   "));
    }
    for note in a.numbers.assumed.iter().chain(&a.numbers.mismatches) {
        s += &format!("  note: {note}\n");
    }
    for p in &a.parts {
        let blocks = p.blocks.map(|n| format!(" ({n} blocks)")).unwrap_or_default();
        s += &format!("  part {}: {} parameters{blocks}\n", p.name, human_count(p.parameters));
    }
    for b in &a.blocks {
        let runs: Vec<String> = b.runs.iter().map(|r| if r.count > 1 { format!("{}{}–{} ×{}", b.stem, r.first, r.last, r.count) } else { format!("{}{}", b.stem, r.first) }).collect();
        s += &format!("  repeated {}: {}\n", if b.prefix.is_empty() { "(root)" } else { &b.prefix }, runs.join(", "));
        for d in &b.differs {
            s += &format!("    {d}\n");
        }
    }
    s
}

fn j_str(v: &serde_json::Value) -> String {
    v.as_str().unwrap_or("").to_string()
}
