//! Checking one model's outputs against another's on the same inputs (a `.pt2` against its ONNX
//! export): seeded random inputs for a session, and per output the largest absolute difference,
//! the relative error, the cosine similarity, and a verdict against a tolerance. The CLI
//! (`torchpeek run A B --compare`) and the page's Compare outputs action share it.
//!
//! - `max_abs`: max |a − b| over the elements;
//! - `rel_error`: ‖a − b‖₂ / ‖a‖₂ (0 when both are zero; infinite when only `a` is);
//! - `cosine`: a·b / (‖a‖₂‖b‖₂) (1 when both are zero, 0 when only one is);
//! - `within_tolerance`: same shape, no NaN in one where the other has none, and `max_abs <= tolerance`.

use crate::{Dim, IoInfo, NamedArray};
use serde::Serialize;
use torchpeek::dtype::DType;
use torchpeek::error::{Error, Result};

/// The tolerance on max |a − b| when none is given.
pub const DEFAULT_TOLERANCE: f64 = 1e-4;

/// An array to compare: a name, a dtype, a shape, little-endian bytes.
#[derive(Debug, Clone, Copy)]
pub struct ArrayRef<'a> {
    pub name: &'a str,
    pub dtype: DType,
    pub shape: &'a [usize],
    pub data: &'a [u8],
}

impl<'a> From<&'a NamedArray> for ArrayRef<'a> {
    fn from(a: &'a NamedArray) -> Self {
        ArrayRef { name: &a.name, dtype: a.dtype, shape: &a.shape, data: &a.data }
    }
}

/// One output pair compared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputComparison {
    /// The output's name in the first model and in the second.
    pub a: String,
    pub b: String,
    pub a_shape: Vec<usize>,
    pub b_shape: Vec<usize>,
    pub a_dtype: String,
    pub b_dtype: String,
    /// None when the shapes differ (nothing is compared).
    pub max_abs: Option<f64>,
    pub rel_error: Option<f64>,
    pub cosine: Option<f64>,
    /// Elements NaN in one output and not in the other.
    pub nan_mismatches: u64,
    pub within_tolerance: bool,
}

/// Every output pair, in order, and the verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub tolerance: f64,
    pub outputs: Vec<OutputComparison>,
    /// `match` when both models give as many outputs and each is within the tolerance, else `differ`.
    pub verdict: &'static str,
    /// Why the verdict is `differ` beyond the numbers (a different number of outputs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Compares outputs pairwise in order (the first model's first output with the second's ...).
pub fn compare(a: &[ArrayRef], b: &[ArrayRef], tolerance: f64) -> Comparison {
    let outputs: Vec<OutputComparison> = a.iter().zip(b).map(|(x, y)| compare_one(x, y, tolerance)).collect();
    let mut notes = Vec::new();
    if a.len() != b.len() {
        notes.push(format!("the first model gives {} outputs, the second {}: only the first {} are compared", a.len(), b.len(), outputs.len()));
    }
    let ok = notes.is_empty() && outputs.iter().all(|o| o.within_tolerance);
    Comparison { tolerance, outputs, verdict: if ok { "match" } else { "differ" }, notes }
}

fn values(a: &ArrayRef) -> Vec<f64> {
    let item = a.dtype.itemsize() as usize;
    a.data.chunks_exact(item).map(|c| a.dtype.decode(c)).collect()
}

fn compare_one(a: &ArrayRef, b: &ArrayRef, tolerance: f64) -> OutputComparison {
    let mut out = OutputComparison {
        a: a.name.to_string(),
        b: b.name.to_string(),
        a_shape: a.shape.to_vec(),
        b_shape: b.shape.to_vec(),
        a_dtype: a.dtype.name().to_string(),
        b_dtype: b.dtype.name().to_string(),
        max_abs: None,
        rel_error: None,
        cosine: None,
        nan_mismatches: 0,
        within_tolerance: false,
    };
    let (x, y) = (values(a), values(b));
    if a.shape != b.shape || x.len() != y.len() {
        return out;
    }
    let (mut max_abs, mut diff2, mut a2, mut b2, mut dot) = (0f64, 0f64, 0f64, 0f64, 0f64);
    for (&p, &q) in x.iter().zip(&y) {
        if p.is_nan() || q.is_nan() {
            out.nan_mismatches += (p.is_nan() != q.is_nan()) as u64;
            continue;
        }
        let d = if p == q { 0.0 } else { (p - q).abs() };
        max_abs = max_abs.max(d);
        diff2 += d * d;
        a2 += p * p;
        b2 += q * q;
        dot += p * q;
    }
    let rel = if diff2 == 0.0 {
        0.0
    } else if a2 == 0.0 {
        f64::INFINITY
    } else {
        (diff2 / a2).sqrt()
    };
    let cosine = match (a2 == 0.0, b2 == 0.0) {
        (true, true) => 1.0,
        (true, false) | (false, true) => 0.0,
        _ => dot / (a2.sqrt() * b2.sqrt()),
    };
    out.max_abs = Some(max_abs);
    out.rel_error = Some(rel);
    out.cosine = Some(cosine);
    out.within_tolerance = out.nan_mismatches == 0 && max_abs <= tolerance;
    out
}

/// A seeded generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let (u, v) = (1.0 - self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// The integers random inputs take when no bound is known: ids in `0..10`.
const DEFAULT_INT_BOUND: u64 = 10;

/// Seeded random values for `inputs`: floats standard normal, integers uniform in `0..bound` (the
/// rows of the table an input indexes, `index_bound`, else 0..10), bools 0/1. A symbolic
/// dimension takes `size(symbol)`; one without a size is an error naming it.
pub fn random_inputs(
    inputs: &[IoInfo],
    seed: u64,
    size: &dyn Fn(&str) -> Option<usize>,
    index_bound: &dyn Fn(&str) -> Option<u64>,
) -> Result<Vec<NamedArray>> {
    let mut rng = Rng(seed);
    inputs
        .iter()
        .map(|info| {
            let name = &info.name;
            let dtype = info.dtype.ok_or_else(|| Error::engine(format!("input {name:?}: element type {} has no random values", info.elem_type)))?;
            let dims = info.shape.as_ref().ok_or_else(|| Error::engine(format!("input {name:?}: the model does not give its rank; give it as .npy")))?;
            let shape = dims
                .iter()
                .map(|d| match d {
                    Dim::Fixed(n) => usize::try_from(*n).map_err(|_| Error::engine(format!("input {name:?}: dimension {n} is too large"))),
                    Dim::Symbol(s) => size(s).ok_or_else(|| Error::engine(format!("input {name:?}: no size for dimension {s:?} (give --dim {s}=N or the input as .npy)"))),
                    Dim::Unknown => Err(Error::engine(format!("input {name:?}: a dimension of unknown size; give the input as .npy"))),
                })
                .collect::<Result<Vec<usize>>>()?;
            let numel = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
            let bytes = numel.and_then(|n| n.checked_mul(dtype.itemsize() as usize)).filter(|&b| b <= torchpeek::limits::MAX_ENGINE_TENSOR_BYTES);
            let numel = numel.filter(|_| bytes.is_some()).ok_or_else(|| Error::engine(format!("input {name:?}: shape {shape:?} is too large")))?;
            let bound = index_bound(name).unwrap_or(DEFAULT_INT_BOUND).max(1);
            let mut data = Vec::with_capacity(bytes.unwrap_or(0));
            for _ in 0..numel {
                match dtype {
                    DType::Float32 => data.extend((rng.normal() as f32).to_le_bytes()),
                    DType::Float64 => data.extend(rng.normal().to_le_bytes()),
                    DType::Int64 => data.extend(((rng.next() % bound) as i64).to_le_bytes()),
                    DType::Int32 => data.extend(((rng.next() % bound) as i32).to_le_bytes()),
                    DType::Bool => data.push((rng.next() & 1) as u8),
                    other => return Err(Error::engine(format!("input {name:?}: no random values of dtype {}; give it as .npy", other.name()))),
                }
            }
            Ok(NamedArray { name: name.clone(), dtype, shape, data })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32_array<'a>(name: &'a str, shape: &'a [usize], data: &'a [u8]) -> ArrayRef<'a> {
        ArrayRef { name, dtype: DType::Float32, shape, data }
    }

    fn bytes(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn numbers_and_verdict() {
        let (x, y) = (bytes(&[1.0, 2.0, 3.0]), bytes(&[1.0, 2.0, 3.5]));
        let c = compare(&[f32_array("a", &[3], &x)], &[f32_array("b", &[3], &y)], 1e-4);
        let o = &c.outputs[0];
        assert_eq!(o.max_abs, Some(0.5));
        assert!((o.rel_error.unwrap() - 0.5 / 14f64.sqrt()).abs() < 1e-12);
        assert!((o.cosine.unwrap() - 15.5 / (14f64.sqrt() * 17.25f64.sqrt())).abs() < 1e-12);
        assert_eq!(c.verdict, "differ");
        // The same numbers pass a looser tolerance.
        assert_eq!(compare(&[f32_array("a", &[3], &x)], &[f32_array("b", &[3], &y)], 0.5).verdict, "match");
    }

    #[test]
    fn shapes_nans_and_counts_make_a_difference() {
        let x = bytes(&[1.0, f32::NAN]);
        let c = compare(&[f32_array("a", &[2], &x)], &[f32_array("b", &[1, 2], &x)], 1.0);
        assert_eq!((c.outputs[0].max_abs, c.verdict), (None, "differ"));
        let y = bytes(&[1.0, 0.0]);
        let c = compare(&[f32_array("a", &[2], &x)], &[f32_array("b", &[2], &y)], 1.0);
        assert_eq!((c.outputs[0].nan_mismatches, c.verdict), (1, "differ"));
        let c = compare(&[f32_array("a", &[2], &y), f32_array("a2", &[2], &y)], &[f32_array("b", &[2], &y)], 1.0);
        assert_eq!((c.outputs.len(), c.verdict, c.notes.len()), (1, "differ", 1));
    }

    #[test]
    fn random_inputs_are_seeded_and_bounded() {
        let info = |name: &str, elem: &str, dtype, shape: Vec<Dim>| IoInfo { name: name.into(), elem_type: elem.into(), dtype: Some(dtype), shape: Some(shape) };
        let inputs = [info("x", "FLOAT", DType::Float32, vec![Dim::Fixed(2), Dim::Symbol("s".into())]), info("ids", "INT64", DType::Int64, vec![Dim::Fixed(50)])];
        let a = random_inputs(&inputs, 7, &|_| Some(3), &|n| (n == "ids").then_some(4)).unwrap();
        let b = random_inputs(&inputs, 7, &|_| Some(3), &|n| (n == "ids").then_some(4)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a[0].shape, [2, 3]);
        assert!(a[1].data.chunks_exact(8).all(|c| (0..4).contains(&i64::from_le_bytes(c.try_into().unwrap()))));
        assert_ne!(a[0].data, random_inputs(&inputs, 8, &|_| Some(3), &|_| None).unwrap()[0].data);
        let e = random_inputs(&inputs, 7, &|_| None, &|_| None).unwrap_err().to_string();
        assert!(e.contains("\"s\""), "{e}");
    }
}
