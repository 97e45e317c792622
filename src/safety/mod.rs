//! Safety verdicts: would loading this file run code? Read from the pickle traces and the
//! container's quirks, never by running anything.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
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
}
