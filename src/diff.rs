//! What changed between two models (any mix: two checkpoints, a `.bin` and its `.safetensors`, a
//! state_dict and its ONNX export's initializers): keys in one only, shape and dtype changes, and
//! for tensors of one shape the max abs difference, relative change and cosine similarity, read
//! side by side in bounded blocks.

use crate::document::{Layout, Tensor};
use crate::error::{Error, Result};
use crate::limits;
use crate::model::Model;
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
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_f64")]
    pub max_abs_diff: Option<f64>,
    /// ‖a − b‖ / ‖a‖ (infinite when a is zero and b is not).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_f64")]
    pub relative_change: Option<f64>,
    /// a·b / (‖a‖ ‖b‖); 1 when the tensors are equal (both zero too).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_f64")]
    pub cosine: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn opt_f64<S: serde::Serializer>(v: &Option<f64>, s: S) -> std::result::Result<S::Ok, S::Error> {
    crate::document::float_json(v.unwrap_or(f64::NAN)).serialize(s)
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
pub fn diff(a: &Model, b: &Model, progress: stats::Progress) -> Result<Diff> {
    let (strip_a, strip_b) = aligning_prefixes(a, b);
    let keyed = |m: &Model, strip: &str| -> Vec<(String, usize)> {
        m.document.state_dict.iter().map(|e| (e.key.strip_prefix(strip).unwrap_or(&e.key).to_string(), e.tensor)).collect()
    };
    let (keys_a, keys_b) = (keyed(a, &strip_a), keyed(b, &strip_b));
    let in_a: HashMap<&str, usize> = keys_a.iter().map(|(k, i)| (k.as_str(), *i)).collect();
    let in_b: HashMap<&str, usize> = keys_b.iter().map(|(k, i)| (k.as_str(), *i)).collect();
    let mut entries = Vec::new();
    let mut pairs = Vec::new();
    for (key, ia) in &keys_a {
        let ta = &a.document.tensors[*ia];
        let mut entry = Entry {
            key: key.clone(),
            change: Change::OnlyA,
            a: Some(side(ta)),
            b: None,
            max_abs_diff: None,
            relative_change: None,
            cosine: None,
            error: None,
        };
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
        entries.push(entry);
    }
    for (key, ib) in &keys_b {
        if !in_a.contains_key(key.as_str()) {
            let tb = &b.document.tensors[*ib];
            entries.push(Entry {
                key: key.clone(),
                change: Change::OnlyB,
                a: None,
                b: Some(side(tb)),
                max_abs_diff: None,
                relative_change: None,
                cosine: None,
                error: None,
            });
        }
    }
    let total: u64 = pairs.iter().map(|&(_, ia, _)| a.document.tensors[ia].numel).sum();
    let mut done = 0u64;
    for (slot, ia, ib) in pairs {
        let entry = &mut entries[slot];
        match compare(a, ia, b, ib, &mut |d, _| progress(done + d, total)) {
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
            (d, _) if d == 0.0 => 0.0,
            (_, a) if a == 0.0 => f64::INFINITY,
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

/// Reads tensor `i` in blocks: ranges of contiguous tensors; other views whole, when small.
struct Blocks<'a> {
    model: &'a Model,
    index: usize,
    whole: Option<Vec<f64>>,
}

impl<'a> Blocks<'a> {
    fn new(model: &'a Model, index: usize) -> Result<Self> {
        let t = &model.document.tensors[index];
        let whole = if t.layout == Layout::SparseCoo {
            return Err(Error::unsupported(crate::error::Location::member(t.path.join(".")), "comparing sparse tensors"));
        } else if stats::is_contiguous(&t.shape, &t.stride) {
            None
        } else if t.numel <= limits::MAX_WHOLE_VIEW_VALUES {
            Some(stats::values_of(model, t, t.numel as usize)?)
        } else {
            return Err(Error::unsupported(
                crate::error::Location::member(t.path.join(".")),
                format!("comparing a non-contiguous view of {} elements (at most {})", t.numel, limits::MAX_WHOLE_VIEW_VALUES),
            ));
        };
        Ok(Blocks { model, index, whole })
    }
    fn get(&self, start: u64, count: u64) -> Result<Vec<f64>> {
        match &self.whole {
            Some(v) => Ok(v[start as usize..(start + count) as usize].to_vec()),
            None => stats::values_range(self.model, self.index, start, count),
        }
    }
}

fn compare(a: &Model, ia: usize, b: &Model, ib: usize, progress: stats::Progress) -> Result<Measure> {
    let n = a.document.tensors[ia].numel;
    let (ra, rb) = (Blocks::new(a, ia)?, Blocks::new(b, ib)?);
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
