//! A tensor's elements as raw bytes in row-major order of its view, for any element range: read
//! through the strides in bounded slices, in the tensor's own dtype (no decoding). Statistics and
//! every export read tensor data through here.

use crate::document::Tensor;
use crate::error::{Error, Location, Result};
use crate::limits;
use crate::model::Model;

/// Most storage bytes read in one slice to gather a strided view's elements.
const MAX_SPAN_READ: u64 = 32 << 20;
/// Slices up to this size are read whatever share of their bytes the view uses.
const SMALL_SPAN: u64 = 4 << 10;
/// A bigger slice must hold at least 1/`MAX_WASTE` of elements the view uses.
const MAX_WASTE: u64 = 16;

/// True when the strides are row-major contiguous (size-1 dimensions may have any stride).
pub fn is_contiguous(shape: &[u64], stride: &[i64]) -> bool {
    let mut expected: i64 = 1;
    for (&n, &s) in shape.iter().zip(stride).rev() {
        if n != 1 && s != expected {
            return false;
        }
        expected = expected.saturating_mul(n as i64);
    }
    true
}

/// An odometer over a view's multi-index that tracks the element's offset in its storage.
#[derive(Clone)]
struct Walk<'a> {
    shape: &'a [u64],
    stride: &'a [i64],
    idx: Vec<u64>,
    offset: u64,
}

impl<'a> Walk<'a> {
    /// At logical element `first` (< numel) of a view whose offsets were checked to fit in u64.
    fn at(t: &'a Tensor, first: u64) -> Walk<'a> {
        let mut idx = vec![0u64; t.shape.len()];
        let mut rest = first;
        let mut offset = t.storage_offset;
        for d in (0..t.shape.len()).rev() {
            idx[d] = rest % t.shape[d];
            rest /= t.shape[d];
            offset += idx[d] * t.stride[d] as u64;
        }
        Walk { shape: &t.shape, stride: &t.stride, idx, offset }
    }

    #[inline]
    fn advance(&mut self) {
        for d in (0..self.idx.len()).rev() {
            self.idx[d] += 1;
            self.offset += self.stride[d] as u64;
            if self.idx[d] < self.shape[d] {
                return;
            }
            self.offset -= self.idx[d] * self.stride[d] as u64;
            self.idx[d] = 0;
        }
    }
}

/// Checks a view before reading it: its element count matches its shape, its strides are
/// non-negative, and the last element it reaches lies inside its storage.
pub fn check_view(model: &Model, t: &Tensor) -> Result<()> {
    let at = || Location::member(format!("tensor {}", t.path.join(".")));
    // The document's numel is 0 for a shape whose product overflows: refuse it here, not as empty.
    if t.shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d)) != Some(t.numel) {
        return Err(Error::corrupt(at(), format!("shape {:?} has more elements than 2^64", t.shape)));
    }
    if t.stride.len() != t.shape.len() {
        return Err(Error::corrupt(at(), "strides and shape differ in rank"));
    }
    if t.numel == 0 {
        return Ok(());
    }
    if t.stride.iter().any(|&s| s < 0) {
        return Err(Error::corrupt(at(), "negative strides"));
    }
    let last = t.shape.iter().zip(&t.stride).try_fold(t.storage_offset, |a, (&n, &s)| a.checked_add((n - 1).checked_mul(s as u64)?));
    let end = last.and_then(|l| l.checked_add(1)?.checked_mul(t.dtype.itemsize()));
    let storage_bytes = model.document.storages.get(t.storage_index).map_or(0, |s| s.bytes);
    if end.is_none_or(|e| e > storage_bytes) {
        return Err(Error::corrupt(
            at(),
            format!("the view reaches past its storage of {storage_bytes} bytes (shape {:?}, stride {:?}, offset {})", t.shape, t.stride, t.storage_offset),
        ));
    }
    Ok(())
}

/// A zeroed buffer for elements `first..first + count` of `t` in its own dtype, once the range is
/// checked to lie inside the tensor and to fit one slice (`limits::MAX_SLICE_BYTES`).
pub fn buffer_for(t: &Tensor, first: u64, count: u64) -> Result<Vec<u8>> {
    let at = || Location::member(format!("tensor {}", t.path.join(".")));
    if first.checked_add(count).is_none_or(|end| end > t.numel) {
        return Err(Error::corrupt(at(), format!("elements {first}..{} outside its {}", first.saturating_add(count), t.numel)));
    }
    let bytes = count.saturating_mul(t.dtype.itemsize());
    if bytes > limits::MAX_SLICE_BYTES {
        return Err(Error::Limit { at: at(), what: "slice size", found: bytes, limit: limits::MAX_SLICE_BYTES });
    }
    Ok(vec![0u8; bytes as usize])
}

/// Fills `buf` with the elements `first..first + buf.len() / itemsize` of tensor `t`, in row-major
/// order of its view, as the storage holds them. `buf.len()` must be a multiple of the itemsize.
///
/// Contiguous ranges are one read. Strided ones are gathered from slices of the storage of at most
/// 32 MiB, each either small or holding at least 1/16 of bytes the view uses; a view too sparse for
/// that (a transposed matrix bigger than the slice) is read a few elements at a time.
pub fn read_elements(model: &Model, t: &Tensor, first: u64, buf: &mut [u8]) -> Result<()> {
    let item = t.dtype.itemsize();
    let at = || Location::member(format!("tensor {}", t.path.join(".")));
    let n = buf.len() as u64 / item;
    if !(buf.len() as u64).is_multiple_of(item) {
        return Err(Error::corrupt(at(), format!("{} bytes is not a whole number of {}-byte elements", buf.len(), item)));
    }
    if first.checked_add(n).is_none_or(|end| end > t.numel) {
        return Err(Error::corrupt(at(), format!("elements {first}..{} outside its {}", first.saturating_add(n), t.numel)));
    }
    check_view(model, t)?;
    if n == 0 {
        return Ok(());
    }
    if is_contiguous(&t.shape, &t.stride) {
        return model.read_storage(t.storage_index, (t.storage_offset + first) * item, buf);
    }
    let mut scratch = Vec::new();
    let mut walk = Walk::at(t, first);
    let mut done = 0u64;
    while done < n {
        // The longest run of elements whose storage span fits one slice ...
        let (count, lo, hi) = group(&walk, n - done, item, false);
        if dense(count, lo, hi, item) {
            gather(model, t, &mut walk, count, lo, hi, &mut scratch, &mut buf[(done * item) as usize..])?;
            done += count;
            continue;
        }
        // ... or, when it wastes too much, the same elements in runs that each stay dense.
        let end = done + count;
        while done < end {
            let (c, lo, hi) = group(&walk, end - done, item, true);
            gather(model, t, &mut walk, c, lo, hi, &mut scratch, &mut buf[(done * item) as usize..])?;
            done += c;
        }
    }
    Ok(())
}

/// A slice of `hi - lo + 1` elements' span holding `count` wanted elements is worth reading.
fn dense(count: u64, lo: u64, hi: u64, item: u64) -> bool {
    let span = (hi - lo + 1) * item;
    span <= SMALL_SPAN || span <= count * item * MAX_WASTE
}

/// Grows a run from `walk` (at most `max` elements) while its span fits a slice (and, with
/// `stay_dense`, stays dense); gives (elements, lowest offset, highest offset). The first element
/// is always taken.
fn group(walk: &Walk, max: u64, item: u64, stay_dense: bool) -> (u64, u64, u64) {
    let mut w = walk.clone();
    let (mut lo, mut hi) = (w.offset, w.offset);
    let mut count = 1;
    while count < max {
        w.advance();
        let (l, h) = (lo.min(w.offset), hi.max(w.offset));
        if (h - l + 1) * item > MAX_SPAN_READ || (stay_dense && !dense(count + 1, l, h, item)) {
            break;
        }
        (lo, hi, count) = (l, h, count + 1);
    }
    (count, lo, hi)
}

/// Reads storage elements `lo..=hi` and copies the `count` elements from `walk` on into `out`.
#[allow(clippy::too_many_arguments)]
fn gather(model: &Model, t: &Tensor, walk: &mut Walk, count: u64, lo: u64, hi: u64, scratch: &mut Vec<u8>, out: &mut [u8]) -> Result<()> {
    let item = t.dtype.itemsize() as usize;
    scratch.resize((hi - lo + 1) as usize * item, 0);
    model.read_storage(t.storage_index, lo * item as u64, scratch)?;
    for k in 0..count as usize {
        let o = (walk.offset - lo) as usize * item;
        out[k * item..(k + 1) * item].copy_from_slice(&scratch[o..o + item]);
        walk.advance();
    }
    Ok(())
}
