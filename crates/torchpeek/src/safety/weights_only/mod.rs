//! `torch.load(weights_only=True)` of the mirrored torch, read without running it: whether torch
//! would accept the file, and if not, what it stops on and where. `safe` is only ever given to a
//! file this module accepts.
//!
//! It follows torch 2.15.0's own code path step by step:
//! - `serialization.load`: a path ending `.safetensors` goes to safetensors; a file starting
//!   `PK\x03\x04` is a zip (a TorchScript archive is refused); anything else is the legacy format
//!   (a tar archive is refused; then the magic number, protocol and sys_info pickles, the object,
//!   the storage keys and the raw storages).
//! - `PyTorchStreamReader` over miniz (`container/miniz.rs`): what miniz refuses at init and per
//!   record, every record in the first record's folder, a `version` record of at most 10, storage
//!   records exactly `numel × itemsize` bytes long.
//! - `_weights_only_unpickler.Unpickler.load`: its opcodes only, Python's stack and mark semantics,
//!   the allow-listed globals only, REDUCE / NEWOBJ / BUILD on allowed callables and types only,
//!   APPEND on lists and SETITEM on dicts only, and what the tensor rebuilds check (`Tensor.set_`:
//!   sizes and strides, the storage offset, the view inside its storage).
//!
//! Nothing is imported or called: values are described, never built. `safetensors.rs` is the
//! safetensors path, `archive.rs` the zip one, `legacy.rs` the legacy format, `unpickler.rs` the
//! weights-only unpickler they share.

mod archive;
mod legacy;
mod safetensors;
mod unpickler;

use crate::container::zip::{self, Archive};
use crate::source::Source;
pub use crate::document::safety::Refusal;

type Outcome = Result<(), Refusal>;

/// Whether `torch.load(src, weights_only=True)` accepts the source. `archive` is its zip
/// directory when the caller has read it already.
pub fn torch_load(src: &dyn Source, archive: Option<&Archive>) -> Outcome {
    let name = src.name().to_string();
    if name.ends_with(".safetensors") {
        return safetensors::load(src);
    }
    let head = src.read_vec(0, src.len().min(4)).map_err(|e| broken(&name, 0, e.to_string()))?;
    if !zip::is_zip(&head) {
        return legacy::load(src);
    }
    match archive {
        Some(a) => archive::load(src, a),
        None => archive::load(src, &Archive::read(src).map_err(|e| broken(&name, 0, format!("not a zip torch reads: {e}")))?),
    }
}

fn broken(member: &str, offset: u64, reason: impl Into<String>) -> Refusal {
    Refusal { member: member.to_string(), offset, reason: reason.into() }
}

/// What torch says of a safetensors file it is handed by a path not ending `.safetensors`.
const SAFETENSORS_BY_NAME: &str = "safetensors, which torch.load reads only from a path ending .safetensors";
/// What torch says of an ONNX model.
pub const NOT_TORCH_ONNX: &str = "an ONNX model, not a torch file";

/// What a file that is neither a zip nor a legacy torch file is, for the refusal.
fn not_a_torch_file(head: &[u8], len: u64) -> &'static str {
    if crate::container::sniff::is_safetensors(head, len) {
        SAFETENSORS_BY_NAME
    } else if crate::container::sniff::is_onnx(head) {
        NOT_TORCH_ONNX
    } else {
        "not a torch file (torch.load reads a file that is not a zip as the legacy format, which starts with a magic-number pickle)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemSource;

    fn load(name: &str, bytes: &[u8]) -> Outcome {
        torch_load(&MemSource::new(name, bytes.to_vec()), None)
    }

    #[test]
    fn plain_pickles_and_junk_are_refused() {
        assert!(load("x.pt", b"").is_err());
        assert!(load("x.pt", b"\x80\x02}q\x00.").unwrap_err().reason.contains("magic"));
        assert!(load("x.pt", b"\x89PNG\r\n\x1a\n").is_err());
        assert!(load("x.onnx", b"\x08\x07\x12\x04test").unwrap_err().reason.contains("ONNX"));
    }
}
