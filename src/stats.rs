//! Streaming statistics, histograms and value previews over a tensor's bytes: read through its
//! strides in bounded slices, decoded by dtype, never the whole storage in memory.

use crate::document::{Quantization, Stats, Tensor};
use crate::dtype::DType;
use crate::error::{Error, Location, Result};
use crate::limits;
use crate::model::Model;
use serde::Serialize;

/// Called with (bytes done, bytes total); returning false cancels.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64) -> bool;

/// Non-contiguous views whose storage span is at most this many bytes are read in one slice.
const MAX_SPAN_READ: u64 = 64 << 20;

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

/// Calls `f` with runs of element bytes in row-major order of the view, and the logical index of
/// each run's first element.
fn visit(model: &Model, t: &Tensor, progress: Progress, mut f: impl FnMut(&[u8], u64)) -> Result<()> {
    let item = t.dtype.itemsize();
    let at = || Location::member(format!("tensor {}", t.path.join(".")));
    // The document's numel is 0 for a shape whose product overflows: refuse it here, not as empty.
    let numel = t.shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
    if numel != Some(t.numel) {
        return Err(Error::corrupt(at(), format!("shape {:?} has more elements than 2^64", t.shape)));
    }
    if t.numel == 0 {
        return Ok(());
    }
    if t.stride.iter().any(|&s| s < 0) {
        return Err(Error::corrupt(at(), "negative strides"));
    }
    // The last element the view reaches must lie inside its storage.
    let last = t.shape.iter().zip(&t.stride).try_fold(t.storage_offset, |a, (&n, &s)| a.checked_add((n - 1).checked_mul(s as u64)?));
    let end = last.and_then(|l| l.checked_add(1)?.checked_mul(item));
    let storage_bytes = model.document.storages.get(t.storage_index).map_or(0, |s| s.bytes);
    if end.is_none_or(|e| e > storage_bytes) {
        return Err(Error::corrupt(
            at(),
            format!("the view reaches past its storage of {storage_bytes} bytes (shape {:?}, stride {:?}, offset {})", t.shape, t.stride, t.storage_offset),
        ));
    }
    let total = t.numel.checked_mul(item).ok_or_else(|| Error::corrupt(at(), "size overflows"))?;
    let chunk = (limits::STREAM_CHUNK as u64 / item).max(1) * item;
    if is_contiguous(&t.shape, &t.stride) {
        let start = t.storage_offset.checked_mul(item).ok_or_else(|| Error::corrupt(at(), "offset overflows"))?;
        let mut buf = vec![0u8; chunk.min(total) as usize];
        let mut done = 0u64;
        while done < total {
            let n = chunk.min(total - done) as usize;
            model.read_storage(t.storage_index, start + done, &mut buf[..n])?;
            f(&buf[..n], done / item);
            done += n as u64;
            if !progress(done, total) {
                return Err(Error::Cancelled);
            }
        }
        return Ok(());
    }
    // Strided: walk the outer dimensions with an odometer; each step is one row of the last dimension.
    let rank = t.shape.len();
    let (row_len, row_stride) = (t.shape[rank - 1], t.stride[rank - 1] as u64);
    let row_span = ((row_len - 1) * row_stride + 1) * item;
    let mut lo_hi = (t.storage_offset, t.storage_offset);
    for (&n, &s) in t.shape.iter().zip(&t.stride) {
        lo_hi.1 += (n - 1) * s as u64;
    }
    let span = (lo_hi.1 - lo_hi.0 + 1) * item;
    let whole = if span <= MAX_SPAN_READ {
        let mut b = vec![0u8; span as usize];
        model.read_storage(t.storage_index, lo_hi.0 * item, &mut b)?;
        Some(b)
    } else {
        None
    };
    let mut row = vec![0u8; if whole.is_some() { 0 } else { row_span as usize }];
    let mut out = Vec::with_capacity(chunk as usize);
    let mut idx = vec![0u64; rank - 1];
    let rows = t.numel / row_len;
    let mut first = 0u64;
    for r in 0..rows {
        let elem0 = t.storage_offset + idx.iter().zip(&t.stride).map(|(&i, &s)| i * s as u64).sum::<u64>();
        let src: &[u8] = match &whole {
            Some(b) => &b[((elem0 - lo_hi.0) * item) as usize..((elem0 - lo_hi.0) * item + row_span) as usize],
            None => {
                model.read_storage(t.storage_index, elem0 * item, &mut row)?;
                &row
            }
        };
        for k in 0..row_len {
            let o = (k * row_stride * item) as usize;
            out.extend_from_slice(&src[o..o + item as usize]);
        }
        if out.len() as u64 >= chunk || r + 1 == rows {
            f(&out, first);
            first += out.len() as u64 / item;
            out.clear();
            if !progress((r + 1) * row_len * item, total) {
                return Err(Error::Cancelled);
            }
        }
        for d in (0..rank - 1).rev() {
            idx[d] += 1;
            if idx[d] < t.shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok(())
}

/// Maps a quantized element's integer representation to its real value.
struct Dequant {
    scales: Vec<f64>,
    zero_points: Vec<f64>,
    /// Elements per step along the channel axis, and the channel count.
    inner: u64,
    channels: u64,
}

impl Dequant {
    fn new(t: &Tensor) -> Result<Option<Dequant>> {
        Ok(match &t.quantization {
            None => None,
            Some(Quantization::PerTensor { scale, zero_point, .. }) => {
                Some(Dequant { scales: vec![*scale], zero_points: vec![*zero_point as f64], inner: 1, channels: 1 })
            }
            Some(Quantization::PerChannel { scales, zero_points, axis, .. }) => {
                let axis = usize::try_from(*axis).ok().filter(|&a| a < t.shape.len()).ok_or_else(|| {
                    Error::corrupt(Location::member(t.path.join(".")), format!("quantization axis {axis} outside the shape"))
                })?;
                let channels = t.shape[axis];
                if scales.len() as u64 != channels || zero_points.len() as u64 != channels {
                    return Err(Error::corrupt(
                        Location::member(t.path.join(".")),
                        format!("{} scales for {channels} channels", scales.len()),
                    ));
                }
                Some(Dequant {
                    scales: scales.clone(),
                    zero_points: zero_points.iter().map(|&z| z as f64).collect(),
                    inner: t.shape[axis + 1..].iter().product(),
                    channels,
                })
            }
        })
    }

    fn apply(&self, q: f64, index: u64) -> f64 {
        let c = ((index / self.inner) % self.channels) as usize;
        (q - self.zero_points[c]) * self.scales[c]
    }
}

/// Decodes a run of elements to f64 (real parts for complex), dequantized when quantized.
fn decode_run(dtype: DType, dq: Option<&Dequant>, run: &[u8], first: u64, mut f: impl FnMut(f64)) {
    let item = dtype.itemsize() as usize;
    match (dtype, dq) {
        (DType::Float32, None) => run.chunks_exact(4).for_each(|b| f(f32::from_le_bytes(b.try_into().unwrap()) as f64)),
        (_, None) => run.chunks_exact(item).for_each(|b| f(dtype.decode(b))),
        (_, Some(dq)) => run.chunks_exact(item).enumerate().for_each(|(k, b)| f(dq.apply(dtype.decode(b), first + k as u64))),
    }
}

/// Running sums, with a shift for a stable variance.
#[derive(Default)]
struct Accum {
    n: u64,
    sum: f64,
    abs_sum: f64,
    min: f64,
    max: f64,
    shift: f64,
    s1: f64,
    s2: f64,
    nan: u64,
    inf: u64,
    zero: u64,
}

impl Accum {
    #[inline]
    fn push(&mut self, x: f64) {
        if x.is_nan() {
            self.nan += 1;
            return;
        }
        if x.is_infinite() {
            self.inf += 1;
            return;
        }
        if self.n == 0 {
            self.shift = x;
            self.min = x;
            self.max = x;
        }
        self.n += 1;
        self.sum += x;
        self.abs_sum += x.abs();
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        let d = x - self.shift;
        self.s1 += d;
        self.s2 += d * d;
        self.zero += (x == 0.0) as u64;
    }

    fn finish(self, count: u64) -> Stats {
        let n = self.n as f64;
        let has = self.n > 0;
        let var = (self.n > 1).then(|| ((self.s2 - self.s1 * self.s1 / n) / (n - 1.0)).max(0.0));
        Stats {
            count,
            min: has.then_some(self.min),
            max: has.then_some(self.max),
            mean: has.then(|| self.sum / n),
            std: var.map(f64::sqrt),
            sum: self.sum,
            abs_sum: self.abs_sum,
            nan_count: self.nan,
            inf_count: self.inf,
            zero_count: self.zero,
            sum_real: None,
            sum_imag: None,
        }
    }
}

/// Statistics of tensor `index` (see the spec: finite elements only; sample std).
pub fn tensor_stats(model: &Model, index: usize) -> Result<Stats> {
    tensor_stats_with(model, index, &mut |_, _| true)
}

/// `tensor_stats` with progress reports and cancellation.
pub fn tensor_stats_with(model: &Model, index: usize, progress: Progress) -> Result<Stats> {
    let t = tensor(model, index)?;
    let dq = Dequant::new(t)?;
    let mut acc = Accum::default();
    let mut imag = 0.0;
    let dtype = t.dtype;
    visit(model, t, progress, |run, first| {
        decode_run(dtype, dq.as_ref(), run, first, |x| acc.push(x));
        if dtype.is_complex() {
            imag += run.chunks_exact(dtype.itemsize() as usize).map(|b| dtype.decode_imag(b)).filter(|v| v.is_finite()).sum::<f64>();
        }
    })?;
    let mut s = acc.finish(t.numel);
    if dtype.is_complex() {
        s.sum_real = Some(s.sum);
        s.sum_imag = Some(imag);
    }
    Ok(s)
}

/// Counts of finite values in equal-width bins over [min, max].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    pub min: f64,
    pub max: f64,
    pub counts: Vec<u64>,
}

/// A histogram of tensor `index` with `bins` bins (a second pass after the statistics).
pub fn histogram(model: &Model, index: usize, bins: usize, progress: Progress) -> Result<Histogram> {
    let bins = bins.clamp(1, 4096);
    let s = tensor_stats_with(model, index, progress)?;
    let (min, max) = (s.min.unwrap_or(0.0), s.max.unwrap_or(0.0));
    let mut counts = vec![0u64; bins];
    let t = tensor(model, index)?;
    let dq = Dequant::new(t)?;
    let width = (max - min) / bins as f64;
    visit(model, t, &mut |_, _| true, |run, first| {
        decode_run(t.dtype, dq.as_ref(), run, first, |x| {
            if x.is_finite() {
                let b = if width > 0.0 { (((x - min) / width) as usize).min(bins - 1) } else { 0 };
                counts[b] += 1;
            }
        })
    })?;
    Ok(Histogram { min, max, counts })
}

/// The first `limit` values of tensor `index`, row-major through its view (real parts for complex).
pub fn tensor_values(model: &Model, index: usize, limit: usize) -> Result<Vec<f64>> {
    values_of(model, tensor(model, index)?, limit)
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
    visit(model, &shown, &mut |_, _| true, |run, first| {
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
    let t = tensor(model, index)?;
    let dq = Dequant::new(t)?;
    visit(model, t, progress, |run, first| decode_run(t.dtype, dq.as_ref(), run, first, &mut f))
}

/// Values `start..start + count` of a contiguous tensor of the model's document (row-major), read
/// from just those bytes: for walking two tensors side by side in blocks.
pub fn values_range(model: &Model, t: &Tensor, start: u64, count: u64) -> Result<Vec<f64>> {
    let at = || Location::member(format!("tensor {}", t.path.join(".")));
    if !is_contiguous(&t.shape, &t.stride) {
        return Err(Error::unsupported(at(), "reading a range of a non-contiguous view"));
    }
    if start.checked_add(count).is_none_or(|end| end > t.numel) {
        return Err(Error::corrupt(at(), format!("values {start}..+{count} of a tensor of {} elements", t.numel)));
    }
    let mut part = t.clone();
    part.shape = vec![count];
    part.stride = vec![1];
    part.storage_offset = t.storage_offset + start;
    part.numel = count;
    let dq = Dequant::new(t)?;
    let mut out = Vec::with_capacity(count as usize);
    visit(model, &part, &mut |_, _| true, |run, first| decode_run(t.dtype, dq.as_ref(), run, start + first, |x| out.push(x)))?;
    Ok(out)
}

fn tensor(model: &Model, index: usize) -> Result<&Tensor> {
    model
        .document
        .tensors
        .get(index)
        .ok_or_else(|| Error::corrupt(Location::member("document"), format!("no tensor with index {index}")))
}

/// Computes every tensor's statistics into the document; a tensor that cannot be read gets a problem.
pub fn fill_all(model: &mut Model) {
    for i in 0..model.document.tensors.len() {
        match tensor_stats(model, i) {
            Ok(s) => model.document.tensors[i].stats = Some(s),
            Err(e) => {
                let path = model.document.tensors[i].path.clone();
                model.document.errors.push(crate::document::Problem { message: format!("statistics: {e}"), path });
            }
        }
    }
}
