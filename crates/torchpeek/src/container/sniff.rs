//! What a source is, from its first bytes (never its name): the one place the readers and the
//! safety scanner tell formats apart. Zip, tar and `.npy` signatures live with their readers
//! (`zip::is_zip`, `tar::is_tar`, `npy::is_npy`); the formats whose test is a plausibility check
//! live here.

use crate::error::{Error, Location, Result};
use crate::source::Source;

/// What one source holds, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    Zip,
    Pickle,
    Tar,
    Safetensors,
    Json,
    Onnx,
}

/// Decides from the first bytes (and the length) what a source is.
pub fn detect(src: &dyn Source) -> Result<Detected> {
    let head = src.read_vec(0, src.len().min(512))?;
    if super::zip::is_zip(&head) {
        return Ok(Detected::Zip);
    }
    if head.len() >= 262 && &head[257..262] == b"ustar" {
        return Ok(Detected::Tar);
    }
    if head.first() == Some(&0x80) && head.get(1).is_some_and(|&p| p <= 5) {
        return Ok(Detected::Pickle);
    }
    if is_safetensors(&head, src.len()) {
        return Ok(Detected::Safetensors);
    }
    if is_onnx(&head) {
        return Ok(Detected::Onnx);
    }
    if head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return Ok(Detected::Json);
    }
    let shown: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
    Err(Error::unsupported(
        Location::new(src.name(), 0),
        format!(
            "not a model file torchpeek knows (first bytes {}): expected a torch zip, a legacy torch pickle, safetensors or ONNX",
            shown.join(" ")
        ),
    ))
}

/// True when the first bytes are a plausible safetensors header.
pub fn is_safetensors(head: &[u8], len: u64) -> bool {
    if head.len() < 9 {
        return false;
    }
    let n = u64::from_le_bytes(head[..8].try_into().unwrap());
    n >= 2 && n.checked_add(8).is_some_and(|end| end <= len) && head[8] == b'{'
}

/// ModelProto fields and the wire type each must have (field 1, ir_version, is checked first).
const MODEL_FIELDS: &[(u64, u64)] = &[
    (2, 2),  // producer_name
    (3, 2),  // producer_version
    (4, 2),  // domain
    (5, 0),  // model_version
    (6, 2),  // doc_string
    (7, 2),  // graph
    (8, 2),  // opset_import
    (14, 2), // metadata_props
    (20, 2), // training_info
    (25, 2), // functions
    (26, 2), // configuration
];

/// Highest IR version accepted as plausible when sniffing (IR 11 is current; leave room).
const MAX_IR_VERSION: u64 = 64;

/// True when the first bytes look like an ONNX ModelProto: field 1 (`ir_version`, a small varint)
/// first, then at least one more ModelProto field with the right wire type, and nothing in the
/// bytes given that a ModelProto could not hold. A zip (`PK\x03\x04`) or a pickle (`\x80`) never
/// passes: the first byte must be the tag 0x08.
pub fn is_onnx(head: &[u8]) -> bool {
    if head.first() != Some(&0x08) {
        return false;
    }
    let Some((ir, n)) = super::onnx::proto::varint_at(&head[1..]) else { return false };
    if ir == 0 || ir > MAX_IR_VERSION {
        return false;
    }
    let mut p = 1 + n;
    let mut fields = 1;
    while p < head.len() {
        let Some((tag, n)) = super::onnx::proto::varint_at(&head[p..]) else {
            // A tag cut by the end of `head` is fine; ten bytes of continuation are not.
            return head.len() - p < 10 && fields >= 2;
        };
        let (field, wire) = (tag >> 3, tag & 7);
        if !MODEL_FIELDS.contains(&(field, wire)) {
            return false;
        }
        fields += 1;
        p += n;
        let Some((v, n)) = super::onnx::proto::varint_at(&head[p.min(head.len())..]) else { break };
        p += n;
        if wire == 2 {
            let Ok(len) = usize::try_from(v) else { return false };
            let Some(stop) = p.checked_add(len) else { return false };
            // Text fields must be UTF-8 as far as they are in `head`.
            if matches!(field, 2..=4) {
                let text = &head[p..stop.min(head.len())];
                if let Err(e) = std::str::from_utf8(text) {
                    if e.error_len().is_some() {
                        return false;
                    }
                }
            }
            p = stop;
        }
    }
    fields >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn onnx() {
        assert!(!is_onnx(b"PK\x03\x04rest"));
        assert!(!is_onnx(&[0x80, 0x02, 0x7d]));
        assert!(!is_onnx(&[]));
        assert!(!is_onnx(&[0x08]));
        assert!(!is_onnx(&[0x08, 0x08]));
        // safetensors header length 0x208
        assert!(!is_onnx(&[0x08, 0x02, 0, 0, 0, 0, 0, 0, b'{', b'"']));
        // ir_version 8, producer_name "pytorch"
        assert!(is_onnx(b"\x08\x08\x12\x07pytorch\x1a\x052.1.0"));
        assert!(is_onnx(b"\x08\x08\x12\x07pyto"));
    }
}
