//! `safetensors.torch.load_file`, the path `torch.load` takes for a file named `.safetensors`:
//! the header as the safetensors crate (0.8) checks it.

use super::{broken, Outcome};
use crate::source::Source;

/// `safetensors.torch.load_file` (safetensors 0.8): the header as its Rust crate checks it.
pub(super) fn load(src: &dyn Source) -> Outcome {
    let name = src.name();
    let refuse = |offset: u64, why: String| broken(name, offset, format!("error while deserializing the safetensors header: {why}"));
    if src.len() < 8 {
        return Err(refuse(0, "header too small".into()));
    }
    let n = u64::from_le_bytes(src.read_vec(0, 8).map_err(|e| refuse(0, e.to_string()))?.try_into().expect("8 bytes"));
    if n > SAFETENSORS_MAX_HEADER {
        return Err(refuse(0, "header too large".into()));
    }
    if n > src.len() - 8 {
        return Err(refuse(0, "invalid header length".into()));
    }
    let header = src.read_vec(8, n).map_err(|e| refuse(8, e.to_string()))?;
    let text = std::str::from_utf8(&header).map_err(|e| refuse(8, format!("invalid UTF-8 in header: {e}")))?;
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| refuse(8, format!("invalid JSON in header: {e}")))?;
    let map = json.as_object().ok_or_else(|| refuse(8, "invalid JSON in header: not an object".into()))?;
    let mut spans = Vec::new();
    for (key, info) in map {
        if key == "__metadata__" {
            let ok = info.is_null() || info.as_object().is_some_and(|m| m.values().all(serde_json::Value::is_string));
            if !ok {
                return Err(refuse(8, "invalid JSON in header: __metadata__ must map strings to strings".into()));
            }
            continue;
        }
        let bad = |why: &str| refuse(8, format!("tensor {key:?}: {why}"));
        let bits = info.get("dtype").and_then(|d| d.as_str()).and_then(safetensors_dtype_bits).ok_or_else(|| bad("unknown or missing dtype"))?;
        // torch's safetensors reads these as a 64-bit usize, whatever our own target (wasm32).
        let usize_of = |v: &serde_json::Value| v.as_u64();
        let shape = info.get("shape").and_then(|s| s.as_array()).ok_or_else(|| bad("no shape"))?;
        let dims = shape.iter().map(usize_of).collect::<Option<Vec<u64>>>().ok_or_else(|| bad("shape entries must be non-negative integers"))?;
        let offsets = info.get("data_offsets").and_then(|o| o.as_array()).filter(|o| o.len() == 2).ok_or_else(|| bad("data_offsets must be two integers"))?;
        let (Some(start), Some(end)) = (usize_of(&offsets[0]), usize_of(&offsets[1])) else { return Err(bad("data_offsets must be two integers")) };
        let count = dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d)).and_then(|c| c.checked_mul(bits)).ok_or_else(|| bad("invalid shape, data type, or offset"))?;
        spans.push((start, end, count, key.clone()));
    }
    spans.sort();
    let mut at = 0u64;
    for (start, end, bits, key) in spans {
        if start != at || end < start {
            return Err(refuse(8, format!("invalid offset for tensor {key:?}")));
        }
        if bits % 8 != 0 || bits / 8 != end - start {
            return Err(refuse(8, format!("invalid shape, data type, or offset for tensor {key:?}")));
        }
        at = end;
    }
    if at != src.len() - 8 - n {
        return Err(refuse(8 + n, "incomplete metadata, file not fully covered".into()));
    }
    Ok(())
}

/// The safetensors crate's header limit.
const SAFETENSORS_MAX_HEADER: u64 = 100_000_000;

/// Bits per element of each dtype the safetensors crate (0.8) knows.
fn safetensors_dtype_bits(name: &str) -> Option<u64> {
    Some(match name {
        "F4" => 4,
        "F6_E2M3" | "F6_E3M2" => 6,
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" | "F8_E4M3FNUZ" | "F8_E5M2FNUZ" => 8,
        "I16" | "U16" | "F16" | "BF16" => 16,
        "I32" | "U32" | "F32" => 32,
        "C64" | "F64" | "I64" | "U64" => 64,
        _ => return None,
    })
}
