//! What changed between two models (any mix: two checkpoints, a `.bin` and its `.safetensors`, a
//! state_dict and its ONNX export's initializers): keys in one only, shape and dtype changes, and
//! for tensors of one shape the max abs difference, relative change and cosine similarity, read
//! side by side in bounded blocks.

use crate::document::{Layout, Tensor};
use crate::error::{Error, Result};
use crate::limits;
use crate::model::Model;
use crate::read;
use crate::stats;
use serde::Serialize;
use std::collections::HashMap;

/// Elements read per block of each tensor.
const BLOCK: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Same,
    Changed,
    Dtype,
    Shape,
    OnlyA,
    OnlyB,
    Unreadable,
}

/// One side of an entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Side {
    pub dtype: String,
    pub shape: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub key: String,
    pub change: Change,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub a: Option<Side>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub b: Option<Side>,
    /// max |a - b| (NaN in one side only counts as infinite; NaN in both as equal).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "crate::document::json_f64_opt")]
    pub max_abs_diff: Option<f64>,
    /// ‖a − b‖ / ‖a‖ (infinite when a is zero and b is not).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "crate::document::json_f64_opt")]
    pub relative_change: Option<f64>,
    /// a·b / (‖a‖ ‖b‖); 1 when the tensors are equal (both zero too).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "crate::document::json_f64_opt")]
    pub cosine: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// B's key when it differs from A's: a tensor B holds under another name (an ONNX export's
    /// `onnx::MatMul_368`), found by its values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_b: Option<String>,
    /// B holds the tensor transposed (ONNX exports store Linear weights for MatMul that way).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub transposed: bool,
}

impl Entry {
    fn new(key: &str, change: Change, a: Option<Side>, b: Option<Side>) -> Self {
        Entry {
            key: key.to_string(),
            change,
            a,
            b,
            max_abs_diff: None,
            relative_change: None,
            cosine: None,
            error: None,
            key_b: None,
            transposed: false,
        }
    }
}

/// The whole comparison, entries sorted by how much they changed (most first).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diff {
    pub entries: Vec<Entry>,
    /// How many entries of each kind of change.
    pub counts: std::collections::BTreeMap<String, usize>,
    /// Prefixes stripped from each side's keys to line them up (`module.`, `m.`), or empty.
    pub prefix_a: String,
    pub prefix_b: String,
}

fn side(t: &Tensor) -> Side {
    Side { dtype: t.dtype.name().to_string(), shape: t.shape.clone() }
}

/// Compares the state_dicts of `a` and `b` by key. `progress` gets (elements done, elements in
/// all) over the tensors compared by value, and cancels when it returns false.
pub fn diff(a: &Model, b: &Model, progress: read::Progress) -> Result<Diff> {
    let (strip_a, strip_b) = aligning_prefixes(a, b);
    let keyed = |m: &Model, strip: &str| -> Vec<(String, usize)> {
        m.document.state_dict.iter().map(|e| (e.key.strip_prefix(strip).unwrap_or(&e.key).to_string(), e.tensor)).collect()
    };
    let (keys_a, keys_b) = (keyed(a, &strip_a), keyed(b, &strip_b));
    let in_a: HashMap<&str, usize> = keys_a.iter().map(|(k, i)| (k.as_str(), *i)).collect();
    let in_b: HashMap<&str, usize> = keys_b.iter().map(|(k, i)| (k.as_str(), *i)).collect();
    let mut entries = Vec::new();
    let mut pairs = Vec::new();
    // Each entry's tensor index in A and in B, while entries are in construction order.
    let mut sides: Vec<(Option<usize>, Option<usize>)> = Vec::new();
    for (key, ia) in &keys_a {
        let ta = &a.document.tensors[*ia];
        let mut entry = Entry::new(key, Change::OnlyA, Some(side(ta)), None);
        if let Some(&ib) = in_b.get(key.as_str()) {
            let tb = &b.document.tensors[ib];
            entry.b = Some(side(tb));
            entry.change = if ta.shape != tb.shape {
                Change::Shape
            } else if ta.dtype != tb.dtype {
                Change::Dtype
            } else {
                Change::Same
            };
            if ta.shape == tb.shape {
                pairs.push((entries.len(), *ia, ib));
            }
        }
        sides.push((Some(*ia), in_b.get(key.as_str()).copied()));
        entries.push(entry);
    }
    for (key, ib) in &keys_b {
        if !in_a.contains_key(key.as_str()) {
            let tb = &b.document.tensors[*ib];
            sides.push((None, Some(*ib)));
            entries.push(Entry::new(key, Change::OnlyB, None, Some(side(tb))));
        }
    }
    let mut pairs: Vec<(usize, usize, usize, bool)> = pairs.into_iter().map(|(slot, ia, ib)| (slot, ia, ib, false)).collect();
    pairs.extend(match_by_value(a, b, &mut entries, &sides));
    entries.retain(|e| e.change != Change::OnlyB || e.key_b.is_none());
    let total: u64 = pairs.iter().map(|&(_, ia, _, _)| a.document.tensors[ia].numel).sum();
    let mut done = 0u64;
    for (slot, ia, ib, transposed) in pairs {
        let entry = &mut entries[slot];
        let mut tb = b.document.tensors[ib].clone();
        if transposed {
            tb.shape.reverse();
            tb.stride.reverse();
        }
        match compare(a, ia, b, &tb, &mut |d, _| progress(done + d, total)) {
            Ok(m) => {
                entry.max_abs_diff = Some(m.max_abs);
                entry.relative_change = Some(m.relative());
                entry.cosine = Some(m.cosine());
                if m.max_abs != 0.0 && entry.change == Change::Same {
                    entry.change = Change::Changed;
                }
            }
            Err(Error::Cancelled) => return Err(Error::Cancelled),
            Err(e) => {
                entry.change = Change::Unreadable;
                entry.error = Some(e.to_string());
            }
        }
        done += a.document.tensors[ia].numel;
    }
    // Most changed first: by kind of change, then by relative change.
    let rank = |e: &Entry| match e.change {
        Change::Same => 0,
        Change::Dtype | Change::Changed => 1,
        _ => 2,
    };
    entries.sort_by(|x, y| {
        rank(y).cmp(&rank(x)).then(y.relative_change.unwrap_or(0.0).total_cmp(&x.relative_change.unwrap_or(0.0))).then(x.key.cmp(&y.key))
    });
    let mut counts = std::collections::BTreeMap::new();
    for e in &entries {
        *counts.entry(serde_json::to_value(e.change).expect("JSON").as_str().unwrap_or("").to_string()).or_insert(0) += 1;
    }
    Ok(Diff { entries, counts, prefix_a: strip_a, prefix_b: strip_b })
}

/// Pairs keys found in one model only with tensors of the other that hold the same values under
/// another name, as they are or transposed (2-D). Candidates must agree on element count and on
/// sum, absolute sum, min and max (all blind to transposition); the pair is then compared in full.
/// Matched A entries take B's side; matched B entries are marked (`key_b`) for removal.
fn match_by_value(a: &Model, b: &Model, entries: &mut [Entry], sides: &[(Option<usize>, Option<usize>)]) -> Vec<(usize, usize, usize, bool)> {
    type Print = (u64, f64, f64, Option<f64>, Option<f64>);
    let fingerprint = |m: &Model, i: usize| -> Option<Print> {
        stats::tensor_stats(m, i).ok().map(|s| (m.document.tensors[i].numel, s.sum, s.abs_sum, s.min, s.max))
    };
    let close = |x: f64, y: f64, scale: f64| (x - y).abs() <= 1e-6 * scale.max(1e-30);
    let mut lonely_b: Vec<(usize, usize, Print)> = Vec::new();
    for (slot, _) in entries.iter().enumerate().filter(|(_, e)| e.change == Change::OnlyB) {
        if let Some(f) = sides[slot].1.and_then(|ib| Some((ib, fingerprint(b, ib)?))) {
            lonely_b.push((slot, f.0, f.1));
        }
    }
    let mut pairs = Vec::new();
    if lonely_b.is_empty() {
        return pairs;
    }
    for slot in 0..entries.len() {
        if entries[slot].change != Change::OnlyA {
            continue;
        }
        let Some(ia) = sides[slot].0 else { continue };
        let Some(fa) = fingerprint(a, ia) else { continue };
        let ta = &a.document.tensors[ia];
        let found = lonely_b.iter().position(|&(_, ib, fb)| {
            let tb = &b.document.tensors[ib];
            let reversed: Vec<u64> = tb.shape.iter().rev().copied().collect();
            fa.0 == fb.0
                && fa.0 > 1
                && (tb.shape == ta.shape || (ta.shape.len() == 2 && reversed == ta.shape))
                && close(fa.1, fb.1, fa.2)
                && close(fa.2, fb.2, fa.2)
                && fa.3 == fb.3
                && fa.4 == fb.4
        });
        if let Some(k) = found {
            let (slot_b, ib, _) = lonely_b.remove(k);
            let tb = &b.document.tensors[ib];
            let transposed = tb.shape != ta.shape || (ta.shape.len() == 2 && ta.shape[0] == ta.shape[1] && looks_transposed(a, ia, b, tb));
            let key_b = entries[slot_b].key.clone();
            entries[slot_b].key_b = Some(key_b.clone());
            let e = &mut entries[slot];
            e.b = Some(side(tb));
            e.key_b = Some(key_b);
            e.transposed = transposed;
            e.change = if ta.dtype != tb.dtype { Change::Dtype } else { Change::Same };
            pairs.push((slot, ia, ib, transposed));
        }
    }
    pairs
}

/// For a square matrix: whether B's first row matches A's first column better than A's first row.
fn looks_transposed(a: &Model, ia: usize, b: &Model, tb: &Tensor) -> bool {
    let n = tb.shape[1] as usize;
    let mut column = tb.clone();
    column.shape.reverse();
    column.stride.reverse();
    let first = |m: &Model, t: &Tensor| read::values_of(m, t, n).unwrap_or_default();
    let row_a = first(a, &a.document.tensors[ia]);
    let distance = |v: &[f64]| row_a.iter().zip(v).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    distance(&first(b, &column)) < distance(&first(b, tb))
}

/// A key prefix to strip from one side so that more keys match (`module.` of DataParallel, the
/// `m.` or `model.` an export wrapper adds): the one that matches most, if it beats none.
fn aligning_prefixes(a: &Model, b: &Model) -> (String, String) {
    fn keys(m: &Model) -> Vec<&str> {
        m.document.state_dict.iter().map(|e| e.key.as_str()).collect()
    }
    let (ka, kb) = (keys(a), keys(b));
    let matches = |pa: &str, pb: &str| -> usize {
        let set: std::collections::HashSet<&str> = kb.iter().filter_map(|k| k.strip_prefix(pb)).collect();
        ka.iter().filter_map(|k| k.strip_prefix(pa)).filter(|k| set.contains(k)).count()
    };
    let firsts = |ks: &[&str]| -> std::collections::BTreeSet<String> {
        ks.iter().filter_map(|k| k.split_once('.').map(|(p, _)| format!("{p}."))).collect()
    };
    let mut best = (matches("", ""), String::new(), String::new());
    for p in firsts(&ka) {
        let n = matches(&p, "");
        if n > best.0 {
            best = (n, p, String::new());
        }
    }
    for p in firsts(&kb) {
        let n = matches("", &p);
        if n > best.0 {
            best = (n, String::new(), p);
        }
    }
    (best.1, best.2)
}

#[derive(Default)]
struct Measure {
    max_abs: f64,
    dot: f64,
    aa: f64,
    bb: f64,
    dd: f64,
}

impl Measure {
    fn push(&mut self, x: f64, y: f64) {
        let d = match (x.is_nan(), y.is_nan()) {
            (true, true) => 0.0,
            (true, false) | (false, true) => f64::INFINITY,
            _ if x == y => 0.0, // equal infinities too
            _ => (x - y).abs(),
        };
        self.max_abs = self.max_abs.max(d);
        if x.is_finite() && y.is_finite() {
            self.dot += x * y;
            self.aa += x * x;
            self.bb += y * y;
            self.dd += (x - y) * (x - y);
        }
    }
    fn relative(&self) -> f64 {
        match (self.dd, self.aa) {
            (0.0, _) => 0.0,
            (_, 0.0) => f64::INFINITY,
            (d, a) => (d / a).sqrt(),
        }
    }
    fn cosine(&self) -> f64 {
        match (self.aa, self.bb) {
            _ if self.max_abs == 0.0 => 1.0, // equal tensors, exactly (rounding would say 0.9999...)
            (a, b) if a == 0.0 && b == 0.0 => 1.0,
            (a, b) if a == 0.0 || b == 0.0 => 0.0,
            (a, b) => self.dot / (a.sqrt() * b.sqrt()),
        }
    }
}

/// Reads a tensor in blocks: ranges of contiguous tensors; other views whole, when small.
struct Blocks<'a> {
    model: &'a Model,
    tensor: &'a Tensor,
    whole: Option<Vec<f64>>,
}

impl<'a> Blocks<'a> {
    fn new(model: &'a Model, t: &'a Tensor) -> Result<Self> {
        let whole = if t.layout == Layout::SparseCoo {
            return Err(Error::unsupported(crate::error::Location::member(t.path.join(".")), "comparing sparse tensors"));
        } else if read::is_contiguous(&t.shape, &t.stride) {
            None
        } else if t.numel <= limits::MAX_WHOLE_VIEW_VALUES {
            Some(read::values_of(model, t, t.numel as usize)?)
        } else {
            return Err(Error::unsupported(
                crate::error::Location::member(t.path.join(".")),
                format!("comparing a non-contiguous view of {} elements (at most {})", t.numel, limits::MAX_WHOLE_VIEW_VALUES),
            ));
        };
        Ok(Blocks { model, tensor: t, whole })
    }
    fn get(&self, start: u64, count: u64) -> Result<Vec<f64>> {
        match &self.whole {
            Some(v) => Ok(v[start as usize..(start + count) as usize].to_vec()),
            None => read::values_range(self.model, self.tensor, start, count),
        }
    }
}

/// Compares tensor `ia` of `a` with `tb` (tensor `ib` of `b`, or a transposed view of it).
fn compare(a: &Model, ia: usize, b: &Model, tb: &Tensor, progress: read::Progress) -> Result<Measure> {
    let n = a.document.tensors[ia].numel;
    let (ra, rb) = (Blocks::new(a, &a.document.tensors[ia])?, Blocks::new(b, tb)?);
    let mut m = Measure::default();
    let mut start = 0;
    while start < n {
        let count = BLOCK.min(n - start);
        let (xa, xb) = (ra.get(start, count)?, rb.get(start, count)?);
        xa.iter().zip(&xb).for_each(|(&x, &y)| m.push(x, y));
        start += count;
        if !progress(start, n) {
            return Err(Error::Cancelled);
        }
    }
    Ok(m)
}
