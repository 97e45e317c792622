//! The second hostile corpus (`gen/make_bypasses.py`, plain Python): published scanner
//! bypasses, CVE reproductions, container tricks, broken and oversized files, clean controls. Each
//! file gets its expected verdict (`not_safe` = anything but safe), says why, agrees with what torch
//! 2.15 `torch.load(weights_only=True)` said about it (`tests/corpus/bypasses_torch_answers.json`,
//! written by `gen/torch_answers.py`), opens without a panic, and is checked quickly.

mod common;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use torchpeek::safety::{self, Safety, Verdict};
use torchpeek::{FileSource, Source};

type Expected = BTreeMap<String, serde_json::Value>;

/// The corpus, written once per test run.
fn corpus() -> &'static (PathBuf, Expected) {
    static CORPUS: std::sync::OnceLock<(PathBuf, Expected)> = std::sync::OnceLock::new();
    CORPUS.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bypasses");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../gen/make_bypasses.py");
        let status = Command::new("python3").arg(script).arg(&dir).status().expect("python3 runs");
        assert!(status.success(), "make_bypasses.py failed");
        let expected = serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
        (dir, expected)
    })
}

/// What torch said about each file: name -> {accepts, error?, size}.
fn torch_answers() -> serde_json::Map<String, serde_json::Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/bypasses_torch_answers.json");
    let record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    record["files"].as_object().unwrap().clone()
}

fn verdict_name(v: Verdict) -> String {
    serde_json::to_value(v).unwrap().as_str().unwrap().to_string()
}

/// Our verdict on a file (a panic is an answer too: Err), and how long it took.
type Checked = (Result<Safety, String>, Duration);

/// Our verdict on every file.
fn checked() -> &'static BTreeMap<String, Checked> {
    static CHECKED: std::sync::OnceLock<BTreeMap<String, Checked>> = std::sync::OnceLock::new();
    CHECKED.get_or_init(|| {
        let (dir, expected) = corpus();
        expected
            .keys()
            .map(|name| {
                let path = dir.join(name);
                let start = Instant::now();
                let s = catch_unwind(AssertUnwindSafe(|| safety::check_one(&FileSource::open(&path).unwrap())))
                    .map_err(|e| panic_text(&e));
                (name.clone(), (s, start.elapsed()))
            })
            .collect()
    })
}

fn panic_text(e: &Box<dyn std::any::Any + Send>) -> String {
    e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
}

#[test]
fn expectations_agree_with_torch() {
    // Pure data: the generator's expectations and the committed torch answers describe the same
    // files, and `safe` is exactly what torch accepted.
    let (dir, expected) = corpus();
    let answers = torch_answers();
    assert!(expected.len() >= 60, "{}", expected.len());
    let mut wrong = Vec::new();
    for (name, want) in expected {
        let Some(said) = answers.get(name) else {
            wrong.push(format!("{name}: no torch answer (re-run gen/torch_answers.py)"));
            continue;
        };
        let size = std::fs::metadata(dir.join(name)).unwrap().len();
        if said["size"].as_u64() != Some(size) {
            wrong.push(format!("{name}: {size} bytes, torch was asked about {} (re-run torch_answers.py)", said["size"]));
        }
        let safe = want["verdict"] == "safe";
        if said["accepts"].as_bool().unwrap() != safe {
            wrong.push(format!("{name}: expected {}, torch {}", want["verdict"], said));
        }
    }
    for name in answers.keys().filter(|n| !expected.contains_key(*n)) {
        wrong.push(format!("{name}: a torch answer for a file the generator no longer writes"));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_bypass_gets_its_verdict_and_says_why() {
    let (_, expected) = corpus();
    let mut wrong = Vec::new();
    for (name, want) in expected {
        let s = match &checked()[name].0 {
            Ok(s) => s,
            Err(e) => {
                wrong.push(format!("{name}: check_one panicked: {e}"));
                continue;
            }
        };
        let want_verdict = want["verdict"].as_str().unwrap();
        let ok = match want_verdict {
            "not_safe" => s.verdict != Verdict::Safe,
            v => verdict_name(s.verdict) == v,
        };
        if !ok {
            wrong.push(format!("{name}: {}, want {want_verdict} ({:?})", verdict_name(s.verdict), s.findings));
            continue;
        }
        wrong.extend(common::missing_findings(name, &s.findings, want));
    }
    assert!(wrong.is_empty(), "{} of {} files wrong:\n{}", wrong.len(), expected.len(), wrong.join("\n"));
}

#[test]
fn safe_exactly_when_torch_accepts() {
    let answers = torch_answers();
    let mut wrong = Vec::new();
    for (name, (s, _)) in checked() {
        let Some(said) = answers.get(name) else { continue };
        let Ok(s) = s else { continue }; // the panic is reported by the verdict test
        let accepts = said["accepts"].as_bool().unwrap();
        if accepts != (s.verdict == Verdict::Safe) {
            wrong.push(format!(
                "{name}: torch {} it, we say {} ({:?})",
                if accepts { "accepts" } else { "refuses" },
                verdict_name(s.verdict),
                if accepts { s.findings.iter().map(|f| &f.reason).collect::<Vec<_>>() } else { Vec::new() }
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn opening_never_panics() {
    let (dir, expected) = corpus();
    let mut panics = Vec::new();
    let mut opened_broken = Vec::new();
    for (name, want) in expected {
        let path = dir.join(name);
        let opened = catch_unwind(AssertUnwindSafe(|| {
            let source: Box<dyn Source> = Box::new(FileSource::open(&path).unwrap());
            torchpeek::open(vec![source]).is_ok()
        }));
        match opened {
            Err(e) => panics.push(format!("{name}: {}", panic_text(&e))),
            Ok(true) if want["error"] == true => opened_broken.push(name.as_str()),
            Ok(_) => {}
        }
    }
    // Not asserted (the CLI decides its exit code), only shown: files torch cannot load at all that
    // open as a model anyway.
    println!("open() succeeds on {} files torch cannot load: {opened_broken:?}", opened_broken.len());
    assert!(panics.is_empty(), "{}", panics.join("\n"));
}

#[test]
fn checks_finish_quickly() {
    // Debug build: 100k MARKs, 100k nested lists, 4 GB declared lengths must not take long or
    // allocate what they declare.
    let slow: Vec<_> = checked()
        .iter()
        .filter(|(_, (_, took))| *took > Duration::from_secs(5))
        .map(|(name, (_, took))| format!("{name}: {took:?}"))
        .collect();
    let total: Duration = checked().values().map(|(_, took)| *took).sum();
    assert!(slow.is_empty(), "{}", slow.join("\n"));
    assert!(total < Duration::from_secs(60), "all files took {total:?}");
}
