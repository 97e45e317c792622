//! Safety verdicts: would loading this file run code, and would torch load it? Read from the
//! pickles and the container, never by running anything.
//!
//! - `safe`: `torch.load(weights_only=True)` of the mirrored torch (2.15.0) accepts the file
//!   (`weights_only/` follows its code path) and nothing in it can run code.
//! - `unsafe_but_known`: nothing can run code, but torch refuses it: imports known to only build
//!   data (a pickled model's own classes, TorchScript; `globals.rs` lists them), or a file torch
//!   cannot read at all (then `refusal` says where, and `check` exits with status 1).
//! - `dangerous`: anything else a loader could import or call, wherever it hides (`scan.rs`):
//!   default-deny.

pub mod globals;
mod members;
pub mod scan;
pub mod weights_only;

pub use crate::document::safety::{Finding, Refusal, Safety, Verdict};
use crate::source::Source;

/// The scan's findings and torch's answer make the verdict: never `safe` when torch refuses.
fn safety(findings: Vec<Finding>, refusal: Option<Refusal>) -> Safety {
    let floor = if refusal.is_some() { Verdict::UnsafeButKnown } else { Verdict::Safe };
    Safety {
        verdict: findings.iter().map(|f| f.severity).max().unwrap_or(Verdict::Safe).max(floor),
        findings,
        mirrors_torch: globals::mirrored_torch().to_string(),
        torch_loads: refusal.is_none(),
        refusal,
    }
}

/// The verdict on a file already read as plain data (safetensors, ONNX): nothing in it can run
/// code, so what is left is whether torch loads it: never an ONNX model; safetensors only from a
/// path ending `.safetensors` and with a header its library accepts.
pub fn plain_data(src: &dyn Source, onnx: bool) -> Safety {
    let refusal = if onnx {
        Some(Refusal { member: src.name().to_string(), offset: 0, reason: weights_only::NOT_TORCH_ONNX.to_string() })
    } else {
        weights_only::torch_load(src, None).err()
    };
    safety(Vec::new(), refusal)
}

/// The verdict on one source.
pub fn check_one(src: &dyn Source) -> Safety {
    verdict(src, scan::scan_source(src), None)
}

/// The verdict on a zip whose archive the caller has read already.
pub fn check_archive(src: &dyn Source, archive: &crate::container::zip::Archive) -> Safety {
    let mut findings = Vec::new();
    scan::scan_archive(src, archive, None, 0, &mut findings);
    verdict(src, findings, Some(archive))
}

/// The scan's findings and torch.load's answer on `src`.
fn verdict(src: &dyn Source, findings: Vec<Finding>, archive: Option<&crate::container::zip::Archive>) -> Safety {
    safety(findings, weights_only::torch_load(src, archive).err())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemSource;

    fn check(bytes: &[u8]) -> Safety {
        check_one(&MemSource::new("x.pt", bytes.to_vec()))
    }

    #[test]
    fn refused_files_are_never_safe() {
        let s = check(b"\x80\x02}q\x00.");
        assert_eq!(s.verdict, Verdict::UnsafeButKnown);
        assert!(!s.torch_loads && s.is_error(), "{s:?}");
        assert!(s.refusal.unwrap().reason.contains("magic"));
    }

    #[test]
    fn dangerous_wins_over_a_refusal() {
        let s = check(b"cposix\nsystem\n(S'echo hi'\ntR.");
        assert_eq!(s.verdict, Verdict::Dangerous);
        assert!(!s.is_error());
    }
}
