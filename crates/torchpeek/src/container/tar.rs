//! A tar reader for the safety scan: torch's oldest format is a tar (`sys_info`, `pickle`,
//! `storages`, `tensors`, each unpickled by `torch.load`), and a tar can sit in any archive. It
//! recognises a tar as Python's `tarfile` does (the header checksum; or `ustar` at 257) and lists
//! each member's name and byte range: 512-byte headers, octal (or base-256) sizes, data padded to
//! 512 bytes. Nothing else of tar is needed (metadata members are skipped; GNU long names and pax
//! records are not applied, so such a member keeps its short name).

use crate::error::{Error, Location, Result};
use crate::limits;
use crate::source::Source;

const BLOCK: u64 = 512;

/// One member's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub offset: u64,
    pub size: u64,
}

/// True when `head` starts with a tar header Python's `tarfile` accepts (a checksum that matches,
/// signed or unsigned), or one that says `ustar`.
pub fn is_tar(head: &[u8]) -> bool {
    head.len() >= BLOCK as usize && (&head[257..262] == b"ustar" || checksum_ok(&head[..BLOCK as usize]))
}

/// Whether a 512-byte block is a header whose checksum holds: what Python's `tarfile` (and so
/// `torch.load`, which tries the legacy tar format first) takes for a tar archive. An all-zero
/// block is not a header.
pub fn checksum_ok(h: &[u8]) -> bool {
    if h.len() < BLOCK as usize || h[..BLOCK as usize].iter().all(|&b| b == 0) {
        return false;
    }
    let h = &h[..BLOCK as usize];
    let Some(stored) = octal(&h[148..156]) else { return false };
    let spaces = 8 * b' ' as i64;
    let unsigned: i64 = h[..148].iter().chain(&h[156..]).map(|&b| b as i64).sum::<i64>() + spaces;
    let signed: i64 = h[..148].iter().chain(&h[156..]).map(|&b| b as i8 as i64).sum::<i64>() + spaces;
    stored as i64 == unsigned || stored as i64 == signed
}

/// A NUL/space-terminated octal field, as `tarfile.nti` reads it; base-256 when its top bit is set.
fn octal(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|&b| b & 0x80 != 0) {
        // GNU base-256: big-endian after the marker byte; a negative or over-long value is refused.
        let digits = &field[1..];
        let (high, low) = digits.split_at(digits.len().saturating_sub(8));
        if field[0] != 0x80 || high.iter().any(|&b| b != 0) {
            return None;
        }
        return Some(low.iter().fold(0u64, |acc, &b| acc << 8 | b as u64));
    }
    let text = field.split(|&b| b == 0).next()?;
    let text = std::str::from_utf8(text).ok()?.trim();
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

/// The members holding data, in archive order, up to `MAX_TAR_MEMBERS`. Ends at the zero block
/// (or at the end of the source); a header whose checksum fails is an error, returned with the
/// members before it.
pub fn members(src: &dyn Source) -> (Vec<Member>, Option<Error>) {
    let mut out = Vec::new();
    let error = walk(src, &mut out).err();
    (out, error)
}

fn walk(src: &dyn Source, out: &mut Vec<Member>) -> Result<()> {
    let mut pos = 0u64;
    while pos + BLOCK <= src.len() {
        let h = src.read_vec(pos, BLOCK)?;
        if h.iter().all(|&b| b == 0) {
            break;
        }
        let at = Location::new(format!("{} (tar)", src.name()), pos);
        if !checksum_ok(&h) {
            return Err(Error::corrupt(at, "tar header checksum does not match"));
        }
        let size = octal(&h[124..136]).ok_or_else(|| Error::corrupt(at.clone(), "tar member size is not a number"))?;
        let offset = pos + BLOCK;
        if offset.checked_add(size).is_none_or(|end| end > src.len()) {
            return Err(Error::Truncated { at, needed: size, available: src.len() - offset });
        }
        // GNU long names/links ('L', 'K') and pax headers ('x', 'g') describe the next member.
        if !matches!(h[156], b'L' | b'K' | b'x' | b'g') && size > 0 {
            if out.len() >= limits::MAX_TAR_MEMBERS {
                return Err(Error::Limit { at, what: "tar member count", found: out.len() as u64 + 1, limit: limits::MAX_TAR_MEMBERS as u64 });
            }
            let field = |r: std::ops::Range<usize>| String::from_utf8_lossy(h[r].split(|&b| b == 0).next().unwrap_or(&[])).into_owned();
            let (prefix, name) = (field(345..500), field(0..100));
            let name = if &h[257..262] == b"ustar" && !prefix.is_empty() { format!("{prefix}/{name}") } else { name };
            out.push(Member { name, offset, size });
        }
        pos = offset + size.div_ceil(BLOCK) * BLOCK;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base256_fields_of_any_width() {
        assert_eq!(octal(&[0x80, 0, 0, 0, 0, 0, 0, 5]), Some(5));
        assert_eq!(octal(&[0x80, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]), Some(1 << 56));
        assert_eq!(octal(&[0x80, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), None);
        // A base-256 checksum field (8 bytes) was once a slice panic.
        let mut h = vec![0u8; 512];
        h[0] = b'x';
        h[148] = 0x80;
        assert!(!checksum_ok(&h));
    }
}
