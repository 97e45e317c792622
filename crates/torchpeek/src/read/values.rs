//! A tensor's values: element bytes visited in bounded slices in row-major order of the view, and
//! decoded to f64 (dequantized; real parts for complex).

use super::view::{buffer_for, check_view, read_elements};
use super::Dequant;
use crate::document::Tensor;
use crate::dtype::DType;
use crate::error::{Error, Location, Result};
use crate::model::Model;

/// Called with (bytes done, bytes total); returning false cancels.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64) -> bool;

/// Elements `first..first + count` of `t` as its storage holds them, in row-major order of the view.
pub fn tensor_bytes(model: &Model, t: &Tensor, first: u64, count: u64) -> Result<Vec<u8>> {
    let mut buf = buffer_for(t, first, count)?;
    read_elements(model, t, first, &mut buf)?;
    Ok(buf)
}

/// Calls `f` with runs of element bytes in row-major order of the view for elements
/// `first..first + count` (slices of `limits::STATS_CHUNK` bytes), and the logical index of each
/// run's first element; progress counts the range's bytes.
pub fn visit(model: &Model, t: &Tensor, (first, count): (u64, u64), progress: Progress, mut f: impl FnMut(&[u8], u64)) -> Result<()> {
    let item = t.dtype.itemsize();
    check_view(model, t)?;
    let end = first.checked_add(count).filter(|&e| e <= t.numel).ok_or_else(|| {
        Error::corrupt(Location::member(t.path.join(".")), format!("elements {first}+{count} outside its {}", t.numel))
    })?;
    let step = (crate::limits::STATS_CHUNK as u64 / item).max(1);
    let total = count.saturating_mul(item);
    let mut buf = Vec::new();
    let mut at = first;
    while at < end {
        let n = step.min(end - at);
        buf.resize((n * item) as usize, 0);
        read_elements(model, t, at, &mut buf)?;
        f(&buf, at);
        at += n;
        if !progress((at - first) * item, total) {
            return Err(Error::Cancelled);
        }
    }
    Ok(())
}

/// Elements per block of the float fast paths (decoded to f32 on the stack).
pub const BLOCK: usize = 1024;

/// Calls `f` with a float32, bfloat16 or float16 run decoded to f32, `BLOCK` elements at a time
/// (exact: every such value is an f32); false, without calling it, for other dtypes.
pub fn float_blocks(dtype: DType, run: &[u8], mut f: impl FnMut(&[f32])) -> bool {
    let item = match dtype {
        DType::Float32 => 4,
        DType::BFloat16 | DType::Float16 => 2,
        _ => return false,
    };
    let mut tmp = [0f32; BLOCK];
    for block in run.chunks(BLOCK * item) {
        let out = &mut tmp[..block.len() / item];
        match dtype {
            DType::Float32 => out.iter_mut().zip(block.chunks_exact(4)).for_each(|(o, b)| *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            DType::BFloat16 => out.iter_mut().zip(block.chunks_exact(2)).for_each(|(o, b)| *o = half::bf16::from_le_bytes([b[0], b[1]]).to_f32()),
            _ => out.iter_mut().zip(block.chunks_exact(2)).for_each(|(o, b)| *o = half::f16::from_le_bytes([b[0], b[1]]).to_f32()),
        }
        f(out);
    }
    true
}

/// Decodes a run of elements to f64 (real parts for complex), dequantized when quantized.
pub fn decode_run(dtype: DType, dq: Option<&Dequant>, run: &[u8], first: u64, mut f: impl FnMut(f64)) {
    let item = dtype.itemsize() as usize;
    match dq {
        None if float_blocks(dtype, run, |xs| xs.iter().for_each(|&x| f(x as f64))) => {}
        None => run.chunks_exact(item).for_each(|b| f(dtype.decode(b))),
        Some(dq) => run.chunks_exact(item).enumerate().for_each(|(k, b)| f(dq.apply(dtype.decode(b), first + k as u64))),
    }
}

/// The first `limit` values of tensor `index`, row-major through its view (real parts for complex).
pub fn tensor_values(model: &Model, index: usize, limit: usize) -> Result<Vec<f64>> {
    values_of(model, model.tensor(index)?, limit)
}

/// The first `limit` values of any tensor of the model's document.
pub fn values_of(model: &Model, t: &Tensor, limit: usize) -> Result<Vec<f64>> {
    let mut shown = t.clone();
    let limit = (limit as u64).min(t.numel);
    // Read only the rows needed: shrink the outermost dimensions to cover `limit` elements.
    let mut need = limit;
    for d in 0..shown.shape.len() {
        let inner = shown.shape[d + 1..].iter().try_fold(1u64, |a, &b| a.checked_mul(b)).unwrap_or(u64::MAX).max(1);
        shown.shape[d] = shown.shape[d].min(need.div_ceil(inner).max(1));
        need = need.min(shown.shape[d].saturating_mul(inner));
        if shown.shape[d] > 1 {
            break;
        }
    }
    shown.numel = shown.shape.iter().try_fold(1u64, |a, &b| a.checked_mul(b)).unwrap_or(0);
    let dq = Dequant::new(t)?;
    let mut out = Vec::with_capacity(limit as usize);
    visit(model, &shown, (0, shown.numel), &mut |_, _| true, |run, first| {
        decode_run(t.dtype, dq.as_ref(), run, first, |x| {
            if (out.len() as u64) < limit {
                out.push(x)
            }
        })
    })?;
    Ok(out)
}

/// Calls `f` with every value of tensor `index`, row-major through its view (dequantized; real
/// parts for complex), streaming in bounded slices: for checks that need their own accumulator.
pub fn for_each_value(model: &Model, index: usize, progress: Progress, mut f: impl FnMut(f64)) -> Result<()> {
    let t = model.tensor(index)?;
    let dq = Dequant::new(t)?;
    visit(model, t, (0, t.numel), progress, |run, first| decode_run(t.dtype, dq.as_ref(), run, first, &mut f))
}

/// Values `start..start + count` of a tensor of the model's document (row-major through its view),
/// read from just those elements: for walking two tensors side by side in blocks.
pub fn values_range(model: &Model, t: &Tensor, start: u64, count: u64) -> Result<Vec<f64>> {
    let dq = Dequant::new(t)?;
    let raw = tensor_bytes(model, t, start, count)?;
    let mut out = Vec::with_capacity(count as usize);
    decode_run(t.dtype, dq.as_ref(), &raw, start, |x| out.push(x));
    Ok(out)
}
