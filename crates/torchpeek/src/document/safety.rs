//! The document's `safety` section: the verdict, what it rests on, and torch's own answer. The
//! `crate::safety` scanner fills it; this module only holds it.

use serde::Serialize;

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
    /// Whether `torch.load(weights_only=True)` of that version accepts the file.
    pub torch_loads: bool,
    /// Why and where torch would refuse it; `None` when it loads.
    pub refusal: Option<Refusal>,
}

/// Why torch would refuse a file, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// The member (or file) torch was reading.
    pub member: String,
    /// Byte offset in that member.
    pub offset: u64,
    pub reason: String,
}

impl Safety {
    /// True when torch refuses the file and the scan found nothing in it at all (a plain pickle,
    /// a truncated or corrupt checkpoint, an ONNX model): `check` reports it as an error (exit
    /// status 1) naming where torch stops, rather than as a verdict.
    pub fn is_error(&self) -> bool {
        self.refusal.is_some() && self.findings.is_empty()
    }

    /// Adds another file's answer (a shard of the same model).
    pub fn merge(&mut self, other: Safety) {
        self.verdict = self.verdict.max(other.verdict);
        self.findings.extend(other.findings);
        self.mirrors_torch = other.mirrors_torch;
        self.refusal = self.refusal.take().or(other.refusal);
        self.torch_loads = self.refusal.is_none();
    }
}
