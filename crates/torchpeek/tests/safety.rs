//! Safety verdicts: the hostile corpus (`gen/make_corpus.py`, plain Python) gets the
//! verdict each file must get; the fixtures and the real files of `tests/real` agree with what
//! torch 2.15's `torch.load(weights_only=True)` said of them, and none is `dangerous`; and on
//! every corpus file we are at least as strict as picklescan, fickling and modelscan (installed
//! by `scripts/setup.sh --test`). The peers' own samples are `tests/peers.rs`, published
//! bypasses `tests/bypasses.rs`, what the differential run against torch found `tests/regressions.rs`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use torchpeek::safety::{self, Safety, Verdict};
use torchpeek::{FileSource, Source};

/// The corpus, written once per test run.
fn corpus() -> &'static (PathBuf, BTreeMap<String, serde_json::Value>) {
    static CORPUS: std::sync::OnceLock<(PathBuf, BTreeMap<String, serde_json::Value>)> = std::sync::OnceLock::new();
    CORPUS.get_or_init(write_corpus)
}

fn write_corpus() -> (PathBuf, BTreeMap<String, serde_json::Value>) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("corpus");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../gen/make_corpus.py");
    let status = Command::new("python3").arg(script).arg(&dir).status().expect("python3 runs");
    assert!(status.success(), "make_corpus.py failed");
    let expected = serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    (dir, expected)
}

fn check(path: &Path) -> Safety {
    safety::check_one(&FileSource::open(path).unwrap())
}

fn verdict_name(v: Verdict) -> String {
    serde_json::to_value(v).unwrap().as_str().unwrap().to_string()
}

#[test]
fn every_hostile_file_gets_its_verdict_and_says_why() {
    let (dir, expected) = corpus();
    assert!(expected.len() >= 30, "{}", expected.len());
    let mut wrong = Vec::new();
    for (name, want) in expected {
        let path = dir.join(name);
        let s = check(&path);
        if verdict_name(s.verdict) != want["verdict"].as_str().unwrap() {
            wrong.push(format!("{name}: {:?}, want {} ({:?})", s.verdict, want["verdict"], s.findings));
            continue;
        }
        wrong.extend(common::missing_findings(name, &s.findings, want));
        // Where torch stops on a file it refuses.
        if let Some(needle) = want["refusal"].as_str() {
            if !s.refusal.as_ref().is_some_and(|r| r.reason.contains(needle)) {
                wrong.push(format!("{name}: torch's refusal should mention {needle:?}: {:?}", s.refusal));
            }
        }
        // Opening it as a model never panics, whatever the answer.
        let source: Box<dyn Source> = Box::new(FileSource::open(&path).unwrap());
        let _ = torchpeek::open(vec![source]);
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Checks every file of `dir` that torch's answers (`torch_answers`, from a subprocess running
/// `torch.load(path, weights_only=True)`) cover: `safe` exactly when torch accepted it, never
/// `dangerous` (these are ordinary files), and a reason named when torch refused it.
fn agree_with_torch(dir: &Path, answers: &str, at_least: usize) {
    let record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join(answers)).unwrap()).unwrap();
    assert!(record["torch"].as_str().unwrap().starts_with("2.15"), "answers from torch {}", record["torch"]);
    let files = record["files"].as_object().unwrap();
    assert!(files.len() >= at_least, "{} files", files.len());
    let mut wrong = Vec::new();
    for (name, said) in files {
        let s = check(&dir.join(name));
        let accepted = said["weights_only"].as_bool().unwrap();
        let refused_for = s.refusal.as_ref().map(|r| r.reason.clone()).unwrap_or_default();
        if s.verdict == Verdict::Dangerous {
            wrong.push(format!("{name}: an ordinary file called dangerous: {:#?}", s.findings));
        } else if accepted != (s.verdict == Verdict::Safe) || accepted != s.torch_loads {
            wrong.push(format!("{name}: torch accepted it: {accepted}; we say {:?}, refusal {refused_for:?}", s.verdict));
        } else if !accepted && refused_for.is_empty() {
            wrong.push(format!("{name}: torch refused it ({}) and we name no reason", said["said"]));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn fixtures_agree_with_torch_weights_only() {
    agree_with_torch(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures"), "weights_only_2.15.json", 24);
}

/// Traced and scripted TorchScript, whole pickled models, training checkpoints, a legacy-format
/// state dict and a `.pt2`, written by torch 2.15 (`gen/make_real_models.py`).
#[test]
fn real_torch_files_are_never_dangerous_and_agree_with_torch() {
    agree_with_torch(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/real"), "torch_answers.json", 11);
}

#[test]
fn the_allow_list_is_torch_2_15s() {
    let ours: serde_json::Value = serde_json::from_str(include_str!("../src/safety/weights_only_allowed_globals.json")).unwrap();
    let torch: serde_json::Value =
        serde_json::from_str(include_str!("../../../tests/fixtures/weights_only_allowed_globals_2.15.json")).unwrap();
    assert_eq!(ours["globals"], torch["globals"]);
    assert_eq!(ours["torch"], "2.15.0");
    assert!(ours["globals"].as_array().unwrap().iter().any(|g| g == "torch.bcomplex32"));
    assert!(!ours["globals"].as_array().unwrap().iter().any(|g| g == "torch._utils._rebuild_nested_tensor"));
}

/// A public scanner's answer on one file: Some(true) flagged, Some(false) clean, None no answer
/// (it could not read the file: a zip fickling does not open, say). A scanner that dies on an
/// uncaught Python exception also exits with 1: that is a crash, not a flag (fickling reads a zip
/// as a pickle stream from its `PK` bytes, and stops on the `PERSID` opcode `P` happens to be).
fn scanner(cmd: &str, args: &[&str], path: &Path) -> Option<bool> {
    // fickling writes safety_results.json into its working folder: keep that out of the repository.
    let out = Command::new(cmd).args(args).arg(path).current_dir(env!("CARGO_TARGET_TMPDIR")).output().unwrap_or_else(|e| {
        panic!("{cmd} does not run ({e}): scripts/setup.sh --test installs it (pip install picklescan fickling modelscan)")
    });
    if String::from_utf8_lossy(&out.stderr).contains("Traceback (most recent call last)") {
        return None;
    }
    match out.status.code() {
        Some(0) => Some(false),
        Some(1) => Some(true),
        _ => None,
    }
}

#[test]
fn at_least_as_strict_as_public_scanners() {
    let (dir, expected) = corpus();
    let scanners: [(&str, &[&str]); 3] = [("picklescan", &["-p"]), ("fickling", &["--check-safety"]), ("modelscan", &["-p"])];
    let mut table = vec!["| file | torchpeek | picklescan | fickling | modelscan |".to_string(), "|---|---|---|---|---|".to_string()];
    let mut laxer = Vec::new();
    let mut caught_alone = 0;
    for name in expected.keys() {
        let path = dir.join(name);
        let ours = check(&path).verdict;
        let mut row = format!("| `{name}` | {} |", verdict_name(ours));
        let mut any_flag = false;
        for (cmd, args) in scanners {
            let said = scanner(cmd, args, &path);
            any_flag |= said == Some(true);
            if said == Some(true) && ours == Verdict::Safe {
                laxer.push(format!("{name}: {cmd} flags it, we say safe"));
            }
            row += match said {
                Some(true) => " flagged |",
                Some(false) => " clean |",
                None => " cannot read |",
            };
        }
        if ours != Verdict::Safe && !any_flag {
            caught_alone += 1;
        }
        table.push(row);
    }
    println!("{}\n\nflagged by torchpeek alone: {caught_alone}", table.join("\n"));
    assert!(laxer.is_empty(), "{}", laxer.join("\n"));
    assert!(caught_alone > 0, "the corpus should hold tricks the others miss");
}
