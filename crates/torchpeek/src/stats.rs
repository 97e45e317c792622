//! Statistics, histograms (and percentiles from them) and heatmaps over a tensor's values,
//! streamed through `read` in bounded slices (never the whole storage in memory); statistics and
//! histograms in parts that a pool of workers can compute and merge.

use crate::document::Stats;
use crate::dtype::DType;
use crate::error::{Error, Location, Result};
use crate::model::Model;
use crate::read::{decode_run, float_blocks, visit, Dequant, Progress};
use serde::Serialize;

/// Independent accumulators in the float fast path: short add chains that the compiler vectorizes.
const LANES: usize = 4;

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

    /// `push` over each of `xs` (at most `BLOCK` values): when all are finite, with the sums kept in
    /// `LANES` independent accumulators (the same sums, added in another order) and no branch per
    /// element, a loop the compiler vectorizes; else one by one.
    fn push_floats(&mut self, mut xs: &[f32]) {
        while self.n == 0 {
            let Some((&x, rest)) = xs.split_first() else { return };
            self.push(x as f64); // the first finite value sets the shift
            xs = rest;
        }
        let lanes = xs.chunks_exact(LANES);
        let rest = lanes.remainder();
        let (mut lo, mut hi) = ([f32::INFINITY; LANES], [f32::NEG_INFINITY; LANES]);
        let (mut special, mut zero) = ([0u32; LANES], [0u32; LANES]);
        for c in lanes.clone() {
            for k in 0..LANES {
                let x = c[k];
                special[k] |= (x.to_bits() & 0x7f80_0000 == 0x7f80_0000) as u32; // NaN or infinite
                zero[k] += (x == 0.0) as u32;
                lo[k] = if x < lo[k] { x } else { lo[k] };
                hi[k] = if x > hi[k] { x } else { hi[k] };
            }
        }
        if special.iter().any(|&s| s != 0) {
            return xs.iter().for_each(|&x| self.push(x as f64));
        }
        let shift = self.shift;
        let (mut sum, mut abs, mut s1, mut s2) = ([0f64; LANES], [0f64; LANES], [0f64; LANES], [0f64; LANES]);
        for c in lanes {
            for k in 0..LANES {
                let x = c[k] as f64;
                let d = x - shift;
                sum[k] += x;
                abs[k] += x.abs();
                s1[k] += d;
                s2[k] += d * d;
            }
        }
        self.n += (xs.len() - rest.len()) as u64;
        self.zero += zero.iter().sum::<u32>() as u64;
        self.sum += sum.iter().sum::<f64>();
        self.abs_sum += abs.iter().sum::<f64>();
        self.s1 += s1.iter().sum::<f64>();
        self.s2 += s2.iter().sum::<f64>();
        self.min = lo.iter().fold(self.min, |m, &x| m.min(x as f64));
        self.max = hi.iter().fold(self.max, |m, &x| m.max(x as f64));
        rest.iter().for_each(|&x| self.push(x as f64));
    }

    fn moments(self, imag: f64) -> Moments {
        let m2 = if self.n > 0 { self.s2 - self.s1 * self.s1 / self.n as f64 } else { 0.0 };
        Moments { n: self.n, sum: self.sum, abs_sum: self.abs_sum, min: self.min, max: self.max, m2, nan: self.nan, inf: self.inf, zero: self.zero, imag }
    }
}

/// The statistics of part of a tensor, merged with other parts' into the whole's (workers of a pool
/// each read a part): counts, sums, min and max, and the sum of squared deviations from the part's
/// mean (`m2`), merged by Chan's formula.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Moments {
    pub n: u64,
    pub sum: f64,
    pub abs_sum: f64,
    pub min: f64,
    pub max: f64,
    pub m2: f64,
    pub nan: u64,
    pub inf: u64,
    pub zero: u64,
    /// The sum of finite imaginary parts (complex dtypes).
    pub imag: f64,
}

impl Moments {
    /// How many numbers `to_array` gives.
    pub const LEN: usize = 10;

    /// The fields as numbers, in declaration order (counts are exact below 2^53).
    pub fn to_array(&self) -> [f64; Self::LEN] {
        let m = self;
        [m.n as f64, m.sum, m.abs_sum, m.min, m.max, m.m2, m.nan as f64, m.inf as f64, m.zero as f64, m.imag]
    }

    /// The inverse of `to_array`.
    pub fn from_array(a: &[f64; Self::LEN]) -> Moments {
        Moments { n: a[0] as u64, sum: a[1], abs_sum: a[2], min: a[3], max: a[4], m2: a[5], nan: a[6] as u64, inf: a[7] as u64, zero: a[8] as u64, imag: a[9] }
    }

    /// The moments of both parts together.
    pub fn merge(self, b: Moments) -> Moments {
        let a = self;
        let (mut m, n) = (a, a.n + b.n);
        if b.n == 0 || a.n == 0 {
            m = if a.n == 0 { b } else { a };
        } else {
            let delta = b.sum / b.n as f64 - a.sum / a.n as f64;
            m.n = n;
            m.sum = a.sum + b.sum;
            m.abs_sum = a.abs_sum + b.abs_sum;
            m.min = a.min.min(b.min);
            m.max = a.max.max(b.max);
            m.m2 = a.m2 + b.m2 + delta * delta * (a.n as f64 * b.n as f64 / n as f64);
            m.zero = a.zero + b.zero;
        }
        m.nan = a.nan + b.nan;
        m.inf = a.inf + b.inf;
        m.imag = a.imag + b.imag;
        m
    }

    /// The statistics of a tensor of `count` elements of `dtype` whose parts merged into these.
    pub fn finish(self, count: u64, dtype: DType) -> Stats {
        let n = self.n as f64;
        let has = self.n > 0;
        let var = (self.n > 1).then(|| (self.m2 / (n - 1.0)).max(0.0));
        let complex = dtype.is_complex();
        Stats {
            count,
            min: has.then_some(self.min),
            max: has.then_some(self.max),
            mean: has.then(|| self.sum / n),
            std: var.map(f64::sqrt),
            sum: self.sum,
            abs_sum: self.abs_sum,
            // The sum of squares is the squared deviations plus n·mean².
            norm: if has { (self.m2 + self.sum * self.sum / n).max(0.0).sqrt() } else { 0.0 },
            nan_count: self.nan,
            inf_count: self.inf,
            zero_count: self.zero,
            sum_real: complex.then_some(self.sum),
            sum_imag: complex.then_some(self.imag),
        }
    }
}

/// Statistics of tensor `index` (see the spec: finite elements only; sample std).
pub fn tensor_stats(model: &Model, index: usize) -> Result<Stats> {
    tensor_stats_with(model, index, &mut |_, _| true)
}

/// `tensor_stats` with progress reports and cancellation.
pub fn tensor_stats_with(model: &Model, index: usize, progress: Progress) -> Result<Stats> {
    let t = model.tensor(index)?;
    Ok(stats_part(model, index, 0, t.numel, progress)?.finish(t.numel, t.dtype))
}

/// The moments of elements `first..first + count` of tensor `index` (row-major through its view):
/// one part of `tensor_stats`, for a pool of workers each reading a part.
pub fn stats_part(model: &Model, index: usize, first: u64, count: u64, progress: Progress) -> Result<Moments> {
    let t = model.tensor(index)?;
    let dq = Dequant::new(t)?;
    let mut acc = Accum::default();
    let mut imag = 0.0;
    visit(model, t, (first, count), progress, |run, first| push_run(&mut acc, &mut imag, t.dtype, dq.as_ref(), run, first))?;
    Ok(acc.moments(imag))
}

/// Adds a run of element bytes of `dtype` (the first of them element `first`, for per-channel
/// dequantization) to `acc`, and the finite imaginary parts of complex elements to `imag`.
fn push_run(acc: &mut Accum, imag: &mut f64, dtype: DType, dq: Option<&Dequant>, run: &[u8], first: u64) {
    if dq.is_some() || !float_blocks(dtype, run, |xs| acc.push_floats(xs)) {
        decode_run(dtype, dq, run, first, |x| acc.push(x));
    }
    if dtype.is_complex() {
        *imag += run.chunks_exact(dtype.itemsize() as usize).map(|b| dtype.decode_imag(b)).filter(|v| v.is_finite()).sum::<f64>();
    }
}

/// Statistics of `bytes`, little-endian elements of `dtype` laid end to end (an engine's output):
/// the same as `tensor_stats` of a contiguous tensor holding them (finite elements only, sample
/// std; quantized dtypes give their integer representation, as there is no scale here). An error
/// when `bytes` is not a whole number of elements.
pub fn bytes_stats(dtype: DType, bytes: &[u8]) -> Result<Stats> {
    let item = dtype.itemsize();
    if !(bytes.len() as u64).is_multiple_of(item) {
        let message = format!("{} bytes are not a whole number of {} elements ({item} bytes each)", bytes.len(), dtype.name());
        return Err(Error::corrupt(Location::member("array"), message));
    }
    let mut acc = Accum::default();
    let mut imag = 0.0;
    push_run(&mut acc, &mut imag, dtype, None, bytes, 0);
    Ok(acc.moments(imag).finish(bytes.len() as u64 / item, dtype))
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
    let s = tensor_stats_with(model, index, progress)?;
    let (min, max) = (s.min.unwrap_or(0.0), s.max.unwrap_or(0.0));
    let numel = model.tensor(index)?.numel;
    Ok(Histogram { min, max, counts: histogram_part(model, index, bins, (min, max), (0, numel), &mut |_, _| true)? })
}

/// The counts of finite values of elements `first..first + count` of tensor `index` in `bins`
/// equal-width bins over [min, max] (the tensor's): one part of `histogram`; parts' counts add up.
pub fn histogram_part(model: &Model, index: usize, bins: usize, (min, max): (f64, f64), range: (u64, u64), progress: Progress) -> Result<Vec<u64>> {
    let bins = bins.clamp(1, 4096);
    let mut counts = vec![0u64; bins];
    let t = model.tensor(index)?;
    let dq = Dequant::new(t)?;
    let width = (max - min) / bins as f64;
    visit(model, t, range, progress, |run, first| {
        decode_run(t.dtype, dq.as_ref(), run, first, |x| {
            if x.is_finite() {
                let b = if width > 0.0 { (((x - min) / width) as usize).min(bins - 1) } else { 0 };
                counts[b] += 1;
            }
        })
    })?;
    Ok(counts)
}

impl Histogram {
    /// The value below which a fraction `q` (0..=1) of the counted values lie, interpolated
    /// linearly inside its bin (so within one bin width of the exact percentile); None when
    /// nothing was counted.
    pub fn percentile(&self, q: f64) -> Option<f64> {
        percentile(&self.counts, (self.min, self.max), q)
    }
}

/// `Histogram::percentile` over `counts` in equal bins over [min, max] (a pool's merged counts).
pub fn percentile(counts: &[u64], (min, max): (f64, f64), q: f64) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let target = q.clamp(0.0, 1.0) * total as f64;
    let width = (max - min) / counts.len() as f64;
    let mut below = 0.0;
    for (i, &c) in counts.iter().enumerate() {
        let c = c as f64;
        if c > 0.0 && below + c >= target {
            return Some(min + width * (i as f64 + ((target - below) / c)));
        }
        below += c;
    }
    Some(max)
}

/// A picture of a tensor: its first dimension as rows and the others flattened as columns (a
/// convolution's `[out, in·kh·kw]`; a vector is one row), averaged into at most `rows × cols`
/// cells, row-major. A cell without finite values is NaN.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Heatmap {
    pub rows: usize,
    pub cols: usize,
    /// The tensor's rows and columns as drawn.
    pub source_rows: u64,
    pub source_cols: u64,
    pub values: Vec<f32>,
    /// The smallest and largest cell means (0 when no cell has one).
    pub min: f64,
    pub max: f64,
}

/// The heatmap of tensor `index` in at most `rows × cols` cells (each at least 1, at most 1024).
pub fn heatmap(model: &Model, index: usize, rows: usize, cols: usize, progress: Progress) -> Result<Heatmap> {
    let t = model.tensor(index)?;
    let (source_rows, source_cols) = match t.shape.as_slice() {
        [] => (1, 1),
        [n] => (1, *n),
        [r, rest @ ..] => (*r, rest.iter().product()),
    };
    let rows = (rows.clamp(1, 1024) as u64).min(source_rows.max(1)) as usize;
    let cols = (cols.clamp(1, 1024) as u64).min(source_cols.max(1)) as usize;
    let mut sum = vec![0f64; rows * cols];
    let mut count = vec![0u32; rows * cols];
    let dq = Dequant::new(t)?;
    let (sr, sc) = (source_rows.max(1), source_cols.max(1));
    visit(model, t, (0, t.numel), progress, |run, first| {
        let mut i = first;
        decode_run(t.dtype, dq.as_ref(), run, first, |x| {
            if x.is_finite() {
                let (r, c) = (i / sc, i % sc);
                let cell = (r * rows as u64 / sr) as usize * cols + (c * cols as u64 / sc) as usize;
                sum[cell] += x;
                count[cell] += 1;
            }
            i += 1;
        })
    })?;
    let values: Vec<f32> = sum.iter().zip(&count).map(|(&s, &n)| if n > 0 { (s / n as f64) as f32 } else { f32::NAN }).collect();
    let finite = values.iter().filter(|v| v.is_finite()).map(|&v| v as f64);
    let (min, max) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (min, max) = if min <= max { (min, max) } else { (0.0, 0.0) };
    Ok(Heatmap { rows, cols, source_rows, source_cols, values, min, max })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::BLOCK;

    /// Parts accumulated apart and merged (Chan's formula) give the statistics of the whole.
    #[test]
    fn merged_parts_match_the_whole() {
        let values: Vec<f32> = (0..10_000).map(|i| ((i * 7919) % 1000) as f32 * 0.37 - 120.0 + if i % 997 == 0 { f32::NAN } else { 0.0 }).collect();
        let whole = {
            let mut a = Accum::default();
            values.chunks(BLOCK).for_each(|b| a.push_floats(b));
            a.moments(0.0).finish(values.len() as u64, DType::Float32)
        };
        let parts = [0..0, 0..1, 1..3000, 3000..3001, 3001..10_000];
        let merged = parts.iter().map(|r| {
            let mut a = Accum::default();
            values[r.clone()].chunks(BLOCK).for_each(|b| a.push_floats(b));
            Moments::from_array(&a.moments(0.0).to_array())
        });
        let m = merged.fold(Moments::default(), Moments::merge).finish(values.len() as u64, DType::Float32);
        assert_eq!((m.nan_count, m.inf_count, m.zero_count, m.min, m.max), (whole.nan_count, whole.inf_count, whole.zero_count, whole.min, whole.max));
        assert_eq!(m.nan_count, 11);
        for (a, b) in [(m.sum, whole.sum), (m.abs_sum, whole.abs_sum), (m.norm, whole.norm), (m.mean.unwrap(), whole.mean.unwrap()), (m.std.unwrap(), whole.std.unwrap())] {
            assert!((a - b).abs() <= 1e-12 * b.abs(), "{a} vs {b}");
        }
    }

    /// Statistics over bytes, checked against a hand computation: float32 with a NaN, an infinity
    /// and a zero (min, max, mean and the sample std over the finite values), int64, complex64.
    #[test]
    fn bytes_stats_by_hand() {
        let values = [2.0f32, f32::NAN, 0.0, 3.0, f32::INFINITY, -1.0];
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let s = bytes_stats(DType::Float32, &bytes).unwrap();
        // Finite: 2, 0, 3, -1: sum 4, mean 1; squared deviations 1 + 1 + 4 + 4 = 10, over n - 1 = 3.
        assert_eq!((s.count, s.nan_count, s.inf_count, s.zero_count), (6, 1, 1, 1));
        assert_eq!((s.min, s.max, s.mean, s.sum, s.abs_sum), (Some(-1.0), Some(3.0), Some(1.0), 4.0, 6.0));
        assert!((s.std.unwrap() - (10.0f64 / 3.0).sqrt()).abs() < 1e-12, "{:?}", s.std);
        // Squares of the finite values: 4 + 0 + 9 + 1.
        assert!((s.norm - 14f64.sqrt()).abs() < 1e-12, "{}", s.norm);
        assert_eq!((s.sum_real, s.sum_imag), (None, None));

        let ints: Vec<u8> = [7i64, -3, 5].iter().flat_map(|v| v.to_le_bytes()).collect();
        let s = bytes_stats(DType::Int64, &ints).unwrap();
        // mean 3; deviations 4, -6, 2: 16 + 36 + 4 = 56, over 2.
        assert_eq!((s.count, s.min, s.max, s.mean, s.std), (3, Some(-3.0), Some(7.0), Some(3.0), Some(28f64.sqrt())));

        let complex: Vec<u8> = [1.0f32, 2.0, 3.0, -4.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let s = bytes_stats(DType::Complex64, &complex).unwrap();
        assert_eq!((s.count, s.sum_real, s.sum_imag, s.mean), (2, Some(4.0), Some(-2.0), Some(2.0)));

        // One element has no std; no bytes, no min; a partial element is an error.
        assert_eq!(bytes_stats(DType::Float64, &1.5f64.to_le_bytes()).unwrap().std, None);
        let empty = bytes_stats(DType::Float16, &[]).unwrap();
        assert_eq!((empty.count, empty.min, empty.mean), (0, None, None));
        assert!(bytes_stats(DType::Float32, &[0; 6]).is_err());
    }

    /// The lanes of `push_floats` give what `push` gives one element at a time.
    #[test]
    fn float_fast_path_matches_one_by_one() {
        let mut x = 0x2545_f491u32;
        let mut values: Vec<f32> = (0..5000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 8) as f32 / (1 << 20) as f32 - 7.5 + 1000.0
            })
            .collect();
        // Specials only in the last blocks: the first blocks take the vector loop.
        values.extend([0.0, -0.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 3.0, f32::MIN_POSITIVE / 4.0]);
        let (mut fast, mut slow) = (Accum::default(), Accum::default());
        values.chunks(BLOCK).for_each(|b| fast.push_floats(b));
        values.iter().for_each(|&v| slow.push(v as f64));
        let n = values.len() as u64;
        let (f, s) = (fast.moments(0.0).finish(n, DType::Float32), slow.moments(0.0).finish(n, DType::Float32));
        assert_eq!((f.nan_count, f.inf_count, f.zero_count, f.min, f.max), (s.nan_count, s.inf_count, s.zero_count, s.min, s.max));
        assert_eq!((f.nan_count, f.inf_count, f.zero_count), (1, 2, 2));
        for (a, b) in [(f.sum, s.sum), (f.abs_sum, s.abs_sum), (f.mean.unwrap(), s.mean.unwrap()), (f.std.unwrap(), s.std.unwrap())] {
            assert!((a - b).abs() <= 1e-12 * b.abs(), "{a} vs {b}");
        }
    }
    /// A float32 safetensors model of one tensor `shape` holding `values`.
    fn model_of(shape: &[u64], values: &[f32]) -> Model {
        let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let header = format!(r#"{{"w":{{"dtype":"F32","shape":{shape:?},"data_offsets":[0,{}]}}}}"#, data.len());
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend(header.as_bytes());
        bytes.extend(data);
        crate::open(vec![Box::new(crate::MemSource::new("w.safetensors", bytes))]).unwrap()
    }

    /// Cells average the elements that fall in them; a 3×4 matrix in 2×2 cells, by hand.
    #[test]
    fn heatmap_averages_cells() {
        // Rows 0..3, columns 0..4: value 10·r + c; one NaN, skipped.
        let mut values: Vec<f32> = (0..12).map(|i| (10 * (i / 4) + i % 4) as f32).collect();
        values[11] = f32::NAN;
        let m = model_of(&[3, 4], &values);
        let h = heatmap(&m, 0, 2, 2, &mut |_, _| true).unwrap();
        assert_eq!((h.rows, h.cols, h.source_rows, h.source_cols), (2, 2, 3, 4));
        // Rows 0 and 1 go to cell row 0, row 2 to cell row 1 (r·2/3); columns 0-1 and 2-3.
        assert_eq!(h.values, vec![(0.0 + 1.0 + 10.0 + 11.0) / 4.0, (2.0 + 3.0 + 12.0 + 13.0) / 4.0, (20.0 + 21.0) / 2.0, 22.0]);
        assert_eq!((h.min, h.max), (5.5, 22.0));
        // A 4-D convolution weight is out × in·kh·kw; never more cells than elements.
        let m = model_of(&[2, 1, 2, 2], &[1.0; 8]);
        let h = heatmap(&m, 0, 64, 64, &mut |_, _| true).unwrap();
        assert_eq!((h.rows, h.cols, h.values.len()), (2, 4, 8));
    }

    /// Percentiles from a histogram land within a bin of the exact ones.
    #[test]
    fn percentiles_from_the_histogram() {
        let values: Vec<f32> = (0..10_000).map(|i| i as f32 / 100.0).collect(); // 0 .. 99.99
        let m = model_of(&[10_000], &values);
        let h = histogram(&m, 0, 1000, &mut |_, _| true).unwrap();
        let width = (h.max - h.min) / 1000.0;
        for (q, exact) in [(0.01, 1.0), (0.5, 50.0), (0.99, 99.0)] {
            let p = h.percentile(q).unwrap();
            assert!((p - exact).abs() <= width, "p{q}: {p} vs {exact}");
        }
        assert_eq!(percentile(&[0, 0], (0.0, 1.0), 0.5), None);
        assert_eq!(percentile(&[0, 4], (0.0, 2.0), 0.5), Some(1.5));
    }
}
