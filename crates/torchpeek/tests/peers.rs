//! The public pickle scanners' own test files: picklescan's, fickling's and modelscan's test suites
//! rebuilt by `gen/make_peer_samples.py` into `tests/peers/samples/` (committed), with what
//! each peer's test asserts about each file and whether `torch.load(path, weights_only=True)` of
//! torch 2.15 accepted it (`samples/expected.json`; regenerate with
//! `/work/torchenv/bin/python gen/make_peer_samples.py --torch /work/torchenv/bin/python`).
//!
//! The verdict each file must get follows from those two answers:
//! - torch accepts it: `safe` (that is what `safe` means), whatever the peer's test says;
//! - torch refuses it: never `safe`; and `dangerous` when the peer's test calls it malicious.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use torchpeek::safety::{self, Safety, Verdict};
use torchpeek::{FileSource, Source};

const PEERS: [&str; 3] = ["picklescan", "fickling", "modelscan"];

fn samples() -> (PathBuf, BTreeMap<String, serde_json::Value>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/samples");
    let text = std::fs::read_to_string(dir.join("expected.json"))
        .expect("tests/peers/samples/expected.json: run gen/make_peer_samples.py");
    (dir, serde_json::from_str(&text).unwrap())
}

fn check(path: &Path) -> Safety {
    safety::check_one(&FileSource::open(path).unwrap())
}

fn verdict_name(v: Verdict) -> String {
    serde_json::to_value(v).unwrap().as_str().unwrap().to_string()
}

fn findings_line(s: &Safety) -> String {
    if s.findings.is_empty() {
        // Newer versions say why torch refuses a file in a `refusal`; read it if there is one.
        let v = serde_json::to_value(s).unwrap();
        return match v["refusal"]["reason"].as_str() {
            Some(r) => format!("no findings; refusal: {r}"),
            None => "no findings".into(),
        };
    }
    // Findings that name a global first: they say the most.
    let mut findings: Vec<_> = s.findings.iter().collect();
    findings.sort_by_key(|f| f.global.is_empty());
    let mut parts: Vec<String> = findings
        .into_iter()
        .map(|f| {
            let mut p = format!("{}:", verdict_name(f.severity));
            for (k, v) in [("member", &f.member), ("global", &f.global), ("opcode", &f.opcode)] {
                // A top-level finding's member is the file's own path: noise here.
                if !(v.is_empty() || k == "member" && v.starts_with('/')) {
                    p += &format!(" {k}={v}");
                }
            }
            p + &format!(" ({})", f.reason)
        })
        .collect();
    if parts.len() > 3 {
        let more = parts.len() - 3;
        parts.truncate(3);
        parts.push(format!("+{more} more"));
    }
    parts.join("; ")
}

/// Every (peer, test, malicious) that uses this file: its own, then the byte-identical ones.
fn uses(entry: &serde_json::Value) -> Vec<(String, String, bool)> {
    let malicious = entry["malicious"].as_bool().unwrap();
    let mut out = vec![(entry["peer"].as_str().unwrap().to_string(), entry["test"].as_str().unwrap().to_string(), malicious)];
    for also in entry["also"].as_array().into_iter().flatten() {
        out.push((also["peer"].as_str().unwrap().to_string(), also["test"].as_str().unwrap().to_string(), malicious));
    }
    out
}

#[test]
fn peer_sample_set_is_complete_and_non_trivial() {
    let (dir, expected) = samples();
    assert!(expected.len() >= 150, "only {} peer samples", expected.len());
    let mut per_peer: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for (name, entry) in &expected {
        let path = dir.join(name);
        assert!(path.is_file(), "{name} is listed but missing");
        assert!(entry["torch_loads"].is_boolean(), "{name}: no torch answer; run make_peer_samples.py --torch PYTHON");
        assert!(entry["malicious"].is_boolean() && entry["test"].is_string(), "{name}: {entry}");
        for (peer, _, malicious) in uses(entry) {
            assert!(PEERS.contains(&peer.as_str()), "{name}: unknown peer {peer}");
            let c = per_peer.entry(peer).or_default();
            c.0 += 1;
            if malicious {
                c.1 += 1;
            } else {
                c.2 += 1;
            }
        }
    }
    for peer in PEERS {
        let (files, malicious, benign) = per_peer.get(peer).copied().unwrap_or_default();
        assert!(files >= 30 && malicious >= 10 && benign >= 5, "{peer}: {files} files, {malicious} malicious, {benign} benign");
    }
    // No stray files: everything in samples/<peer>/ is listed.
    for peer in PEERS {
        for e in std::fs::read_dir(dir.join(peer)).unwrap() {
            let name = format!("{peer}/{}", e.unwrap().file_name().to_string_lossy());
            assert!(expected.contains_key(&name), "{name} is not in expected.json");
        }
    }
}

/// What is wrong with `ours`, if anything, given the peer's test and torch's answer.
fn problem_of(malicious: bool, torch_loads: bool, ours: Verdict) -> Option<&'static str> {
    if torch_loads {
        (ours != Verdict::Safe).then_some("torch accepts it, so it must be safe")
    } else if ours == Verdict::Safe {
        Some("torch refuses it, so it must not be safe")
    } else if malicious && ours != Verdict::Dangerous {
        Some("its peer calls it malicious and torch refuses it, so it must be dangerous")
    } else {
        None
    }
}

#[derive(Default)]
struct Row {
    files: usize,
    malicious: usize,
    torch_loads: usize,
    ours: [usize; 3],
    wrong: usize,
}

#[test]
fn peer_samples_get_the_verdict_their_tests_and_torch_imply() {
    let (dir, expected) = samples();
    let mut rows: BTreeMap<&str, Row> = BTreeMap::new();
    let mut wrong = Vec::new();
    let mut peer_flags_torch_loads = Vec::new();
    for (name, entry) in &expected {
        let path = dir.join(name);
        let peer = entry["peer"].as_str().unwrap();
        let test = entry["test"].as_str().unwrap();
        let malicious = entry["malicious"].as_bool().unwrap();
        let Some(torch_loads) = entry["torch_loads"].as_bool() else {
            wrong.push(format!("{name}: no torch answer; run make_peer_samples.py --torch PYTHON"));
            continue;
        };
        let s = match catch_unwind(AssertUnwindSafe(|| check(&path))) {
            Ok(s) => s,
            Err(_) => {
                wrong.push(format!("{name}: check_one panicked"));
                continue;
            }
        };
        let opened = catch_unwind(AssertUnwindSafe(|| {
            let source: Box<dyn Source> = Box::new(FileSource::open(&path).unwrap());
            let _ = torchpeek::open(vec![source]);
        }));
        if opened.is_err() {
            wrong.push(format!("{name}: torchpeek::open panicked"));
        }

        // A file counts once for each peer whose tests use it (byte-identical files are stored once).
        let mut peers: Vec<String> = uses(entry).into_iter().map(|u| u.0).collect();
        peers.sort();
        peers.dedup();
        let ours = if s.verdict == Verdict::Safe { 0 } else if s.verdict == Verdict::Dangerous { 2 } else { 1 };
        let bad = problem_of(malicious, torch_loads, s.verdict).is_some();
        for p in peers.iter().map(|p| p.as_str()).chain(["all distinct files"]) {
            let row = rows.entry(PEERS.iter().copied().find(|q| *q == p).unwrap_or("all distinct files")).or_default();
            row.files += 1;
            row.malicious += malicious as usize;
            row.torch_loads += torch_loads as usize;
            row.ours[ours] += 1;
            row.wrong += bad as usize;
        }

        let said = if malicious { "malicious" } else { "benign" };
        if torch_loads && malicious {
            peer_flags_torch_loads.push(format!("{name} ({test})"));
        }
        if let Some(problem) = problem_of(malicious, torch_loads, s.verdict) {
            let error = entry["torch_error"].as_str().map(|e| format!(" [torch: {e}]")).unwrap_or_default();
            wrong.push(format!(
                "{name}: {problem}; {peer} {test} says {said}, torch_loads={torch_loads}{error}, ours={}; findings: {}",
                verdict_name(s.verdict),
                findings_line(&s)
            ));
        }
    }

    let mut table = vec![
        "| peer | files | malicious | benign | torch loads | ours safe | ours unsafe_but_known | ours dangerous | wrong |".to_string(),
        "|---|---|---|---|---|---|---|---|---|".to_string(),
    ];
    for (peer, r) in &rows {
        table.push(format!(
            "| {peer} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.files,
            r.malicious,
            r.files - r.malicious,
            r.torch_loads,
            r.ours[0],
            r.ours[1],
            r.ours[2],
            r.wrong
        ));
    }
    println!("{}", table.join("\n"));
    println!(
        "\nflagged by their peer's test yet accepted by torch.load(weights_only=True) ({}):\n  {}",
        peer_flags_torch_loads.len(),
        peer_flags_torch_loads.join("\n  ")
    );
    assert!(wrong.is_empty(), "{} of {} peer samples get the wrong verdict:\n{}", wrong.len(), expected.len(), wrong.join("\n"));
}
