//! Safety verdicts: would loading this file run code? Read from the pickle traces and the
//! container's quirks, never by running anything.
//!
//! `safe` is exactly what `torch.load(weights_only=True)` of the mirrored torch version accepts
//! (its allow-list is data: `weights_only_allowed_globals.json`, read from torch itself);
//! `unsafe_but_known` names classes that only build objects; `dangerous` is anything that can
//! execute code or reach the system, and any global the scanner cannot name.

pub mod scan;

use crate::source::Source;
use serde::Serialize;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    #[default]
    Safe,
    UnsafeButKnown,
    Dangerous,
}

/// One reason for a verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub global: String,
    pub opcode: String,
    pub member: String,
    pub offset: u64,
    pub severity: Verdict,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Safety {
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
    /// The torch version whose `weights_only` rules `safe` mirrors.
    pub mirrors_torch: String,
}

#[derive(serde::Deserialize)]
struct AllowList {
    torch: String,
    globals: Vec<String>,
}

fn allow_list() -> &'static AllowList {
    static LIST: OnceLock<AllowList> = OnceLock::new();
    LIST.get_or_init(|| {
        serde_json::from_str(include_str!("weights_only_allowed_globals.json")).expect("the allow-list is valid JSON")
    })
}

/// Modules whose globals can execute code or reach the system.
const DANGEROUS_MODULES: &[&str] = &[
    "os", "posix", "nt", "sys", "subprocess", "runpy", "importlib", "pickle", "_pickle", "cPickle", "dill", "marshal",
    "socket", "shutil", "pip", "ctypes", "webbrowser", "code", "codeop", "pty", "commands", "popen2", "platform",
    "multiprocessing", "threading", "asyncio", "signal", "tempfile", "pathlib", "io", "_io", "urllib", "http",
    "requests", "ftplib", "smtplib", "telnetlib", "imp", "zipimport", "pkgutil", "site", "sysconfig", "types",
    "operator", "functools", "inspect", "gc", "bdb", "pdb", "timeit", "trace", "profile", "cProfile", "torch.hub",
    "numpy.testing", "joblib", "torch.jit", "torch.package", "torch._dynamo", "torch.utils.cpp_extension",
];

/// builtins that run code, reach attributes, or open files.
const DANGEROUS_BUILTINS: &[&str] = &[
    "eval", "exec", "compile", "open", "getattr", "setattr", "delattr", "__import__", "globals", "locals", "vars",
    "breakpoint", "input", "memoryview", "exit", "quit", "help", "apply", "execfile", "reload", "file",
];

/// Names that are dangerous whatever their module (a loader handed nested data).
const DANGEROUS_NAMES: &[&str] = &["load", "loads", "system", "popen", "exec", "eval", "spawn", "call", "run", "check_output"];

fn module_matches(module: &str, list: &[&str]) -> bool {
    list.iter().any(|m| module == *m || module.strip_prefix(m).is_some_and(|rest| rest.starts_with('.')))
}

/// How severe naming `module.name` is.
pub fn classify_global(module: &str, name: &str) -> (Verdict, String) {
    let dotted = format!("{module}.{name}");
    if module.is_empty() {
        return (Verdict::Dangerous, "a global the file does not name (extension registry): cannot be checked".into());
    }
    if allow_list().globals.contains(&dotted) {
        return (Verdict::Safe, String::new());
    }
    if (module == "builtins" || module == "__builtin__") && DANGEROUS_BUILTINS.contains(&name) {
        return (Verdict::Dangerous, format!("builtins.{name} can run code or reach the system"));
    }
    if module_matches(module, DANGEROUS_MODULES) {
        return (Verdict::Dangerous, format!("module {module} can run code or reach the system"));
    }
    if DANGEROUS_NAMES.contains(&name) {
        return (Verdict::Dangerous, format!("{dotted} can load or run nested data"));
    }
    if module == "builtins" || module == "__builtin__" {
        return (Verdict::UnsafeButKnown, format!("builtins.{name} is outside torch's weights_only allow-list"));
    }
    (
        Verdict::UnsafeButKnown,
        format!("{dotted} is imported by torch.load(weights_only=False) and is outside torch's weights_only allow-list"),
    )
}

/// The verdict on one source.
pub fn check_one(src: &dyn Source) -> Safety {
    verdict(scan::scan_source(src))
}

/// The verdict on a zip whose archive the caller has read already.
pub fn check_archive(src: &dyn Source, archive: &crate::container::zip::Archive) -> Safety {
    let mut findings = Vec::new();
    scan::scan_archive(src, archive, None, 0, &mut findings);
    verdict(findings)
}

fn verdict(findings: Vec<Finding>) -> Safety {
    Safety {
        verdict: findings.iter().map(|f| f.severity).max().unwrap_or(Verdict::Safe),
        findings,
        mirrors_torch: allow_list().torch.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_globals() {
        assert_eq!(classify_global("torch._utils", "_rebuild_tensor_v2").0, Verdict::Safe);
        assert_eq!(classify_global("collections", "OrderedDict").0, Verdict::Safe);
        assert_eq!(classify_global("posix", "system").0, Verdict::Dangerous);
        assert_eq!(classify_global("os.path", "join").0, Verdict::Dangerous);
        assert_eq!(classify_global("builtins", "eval").0, Verdict::Dangerous);
        assert_eq!(classify_global("__main__", "Net").0, Verdict::UnsafeButKnown);
        assert_eq!(classify_global("osmosis", "Thing").0, Verdict::UnsafeButKnown);
    }
}
