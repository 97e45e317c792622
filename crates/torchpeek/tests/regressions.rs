//! Regressions from the differential test against the real torch (`scripts/differential/run.py`):
//! every file in tests/regressions/ is one where torchpeek and `torch.load(weights_only=True)` once
//! disagreed. `torch_answers.json` records torch's answer; the verdict must be `safe` exactly when
//! torch accepted the file, and opening the file as a model never panics. With the two documented
//! exceptions the differential run also makes: a file whose storage sits on an accelerator the
//! CPU-only machine lacked is not compared (torch stopped there), and a file torch accepts may be
//! `dangerous` for a payload where torch.load does not look (every dangerous finding says so).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use torchpeek::safety::{self, Verdict};
use torchpeek::{FileSource, Source};

fn answers() -> Vec<(String, bool, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/regressions");
    let Ok(text) = std::fs::read_to_string(dir.join("torch_answers.json")) else { return Vec::new() };
    let doc: serde_json::Value = serde_json::from_str(&text).expect("torch_answers.json is valid JSON");
    let files = doc["files"].as_object().expect("torch_answers.json has files");
    files
        .iter()
        .map(|(name, said)| {
            let accepted = said["accepted"].as_bool().unwrap_or_else(|| panic!("{name}: no accepted"));
            let error = said["detail"].as_str().or(said["error"].as_str()).unwrap_or("").to_string();
            (name.clone(), accepted, error)
        })
        .collect()
}

#[test]
fn safe_exactly_when_torch_accepted() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/regressions");
    let mut wrong = Vec::new();
    let all = answers();
    for (name, accepted, error) in &all {
        let path = dir.join(name);
        let result = catch_unwind(AssertUnwindSafe(|| safety::check_one(&FileSource::open(&path).unwrap())));
        let s = match result {
            Ok(s) => s,
            Err(_) => {
                wrong.push(format!("{name}: check_one panicked"));
                continue;
            }
        };
        if ["on a CUDA device", "on a XPU device", "HPU device module", "Storage device not recognized"].iter().any(|m| error.contains(m)) {
            continue;
        }
        let elsewhere = s.verdict == Verdict::Dangerous
            && s.findings.iter().filter(|f| f.severity == Verdict::Dangerous).all(|f| {
                ["torch.load does not read", "torch.load stops there", "which Python's zipfile decompresses"].iter().any(|w| f.reason.contains(w))
            });
        let safe = s.verdict == Verdict::Safe;
        if safe != *accepted && !(*accepted && elsewhere) {
            let why = s.findings.first().map(|f| f.reason.clone()).unwrap_or_default();
            if *accepted {
                wrong.push(format!("{name}: torch accepted it; we say {:?}: {why}", s.verdict));
            } else {
                wrong.push(format!("{name}: torch refused it ({error}); we say safe"));
            }
        }
    }
    assert!(wrong.is_empty(), "{} of {} disagree with torch:\n{}", wrong.len(), all.len(), wrong.join("\n"));
}

#[test]
fn opening_never_panics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/regressions");
    let mut panicked = Vec::new();
    for (name, _, _) in answers() {
        let path = dir.join(&name);
        let r = catch_unwind(AssertUnwindSafe(|| {
            let source: Box<dyn Source> = Box::new(FileSource::open(&path).unwrap());
            let _ = torchpeek::open(vec![source]);
        }));
        if r.is_err() {
            panicked.push(name);
        }
    }
    assert!(panicked.is_empty(), "torchpeek::open panicked on:\n{}", panicked.join("\n"));
}
