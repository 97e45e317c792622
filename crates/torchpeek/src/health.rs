//! Health checks over a model's tensors: NaN and Inf, all-zero and constant tensors, extreme
//! magnitudes, denormals (one streaming pass per tensor), and from the metadata alone the dtype
//! mix, tied and shared storages, storage bytes no view uses, and optimizer state whose shapes do
//! not match the parameters it belongs to.

use crate::document::{Document, Layout};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::read;
use serde::Serialize;
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// Magnitudes above this are reported as extreme (weights of a trained network rarely exceed it).
pub const EXTREME_MAGNITUDE: f64 = 1e4;
/// Most tensor names listed per check (the count says how many there are).
const MAX_LISTED: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Info,
    Warn,
    Fail,
}

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub id: &'static str,
    pub title: &'static str,
    pub status: Status,
    /// What was found, in a sentence.
    pub detail: String,
    /// How many tensors trip the check, and the first `MAX_LISTED` of their names.
    pub count: usize,
    pub tensors: Vec<String>,
}

/// The checklist for a model, worst status first in `status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    pub status: Status,
    pub checks: Vec<Check>,
    /// Elements per dtype over the state_dict.
    pub dtypes: BTreeMap<String, u64>,
    /// Storage bytes outside every view that uses them.
    pub unused_storage_bytes: u64,
}

/// What one pass over a tensor's values finds.
#[derive(Debug, Default, Clone, Copy)]
struct Scan {
    n: u64,
    nan: u64,
    inf: u64,
    zero: u64,
    subnormal: u64,
    first: Option<f64>,
    constant: bool,
    max_abs: f64,
}

/// Smallest positive normal value of a float dtype (values below it, not zero, are denormals).
fn min_normal(dtype: DType) -> Option<f64> {
    Some(match dtype {
        DType::Float16 => 6.103_515_625e-5,
        DType::BFloat16 | DType::Float32 | DType::Complex64 => f32::MIN_POSITIVE as f64,
        DType::Float64 | DType::Complex128 => f64::MIN_POSITIVE,
        _ => return None,
    })
}

fn scan_tensor(model: &Model, index: usize, progress: read::Progress) -> Result<Scan> {
    let t = &model.document.tensors[index];
    let tiny = min_normal(t.dtype).filter(|_| t.quantization.is_none()).unwrap_or(0.0);
    let mut s = Scan { constant: true, ..Scan::default() };
    read::for_each_value(model, index, progress, |x| {
        s.n += 1;
        if x.is_nan() {
            s.nan += 1;
        } else if x.is_infinite() {
            s.inf += 1;
        } else {
            let a = x.abs();
            if a == 0.0 {
                s.zero += 1;
            } else if a < tiny {
                s.subnormal += 1;
            }
            if a > s.max_abs {
                s.max_abs = a;
            }
        }
        match s.first {
            None => s.first = Some(x),
            Some(f) => s.constant &= f == x,
        }
    })?;
    Ok(s)
}

/// Runs every check over the state_dict's tensors. `progress` gets (bytes read, bytes to read in
/// all) and cancels when it returns false.
pub fn check(model: &Model, progress: read::Progress) -> Result<Health> {
    let doc = &model.document;
    let entries: Vec<(String, usize)> = doc.state_dict.iter().map(|e| (e.key.clone(), e.tensor)).collect();
    let mut lists: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut unreadable = Vec::new();
    let bytes = |i: usize| doc.tensors[i].numel.saturating_mul(doc.tensors[i].dtype.itemsize());
    let total: u64 = entries.iter().map(|(_, i)| bytes(*i)).sum();
    let mut done = 0u64;
    for (key, i) in &entries {
        if !progress(done, total) {
            return Err(Error::Cancelled);
        }
        let t = &doc.tensors[*i];
        if t.layout == Layout::SparseCoo {
            continue;
        }
        let scanned = scan_tensor(model, *i, &mut |d, _| progress(done + d, total));
        done += bytes(*i);
        let s = match scanned {
            Ok(s) => s,
            Err(Error::Cancelled) => return Err(Error::Cancelled),
            Err(e) => {
                unreadable.push(format!("{key}: {e}"));
                continue;
            }
        };
        let float = t.dtype.is_float();
        let mut flag = |id: &'static str, yes: bool| {
            if yes {
                lists.entry(id).or_default().push(key.clone());
            }
        };
        flag("nan", s.nan > 0);
        flag("inf", s.inf > 0);
        flag("all_zero", float && s.n > 1 && s.zero == s.n);
        flag("constant", float && s.n > 1 && s.constant && s.zero != s.n && s.nan == 0);
        flag("extreme", float && s.max_abs > EXTREME_MAGNITUDE);
        flag("denormal", s.subnormal > 0);
    }
    if !progress(total, total) {
        return Err(Error::Cancelled);
    }
    let mut take = |id: &'static str| lists.remove(id).unwrap_or_default();
    let mut checks = vec![
        tensor_check("nan", "NaN values", Status::Fail, take("nan"), "hold NaN"),
        tensor_check("inf", "Infinite values", Status::Fail, take("inf"), "hold ±Inf"),
        tensor_check("all_zero", "All-zero tensors", Status::Warn, take("all_zero"), "are all zeros (normal for fresh biases and running means)"),
        tensor_check("constant", "Constant tensors", Status::Warn, take("constant"), "hold one value throughout (normal for fresh norm weights)"),
        tensor_check("extreme", "Extreme magnitudes", Status::Warn, take("extreme"), "reach beyond ±1e4"),
        tensor_check("denormal", "Denormal values", Status::Warn, take("denormal"), "hold denormals (slow on many CPUs; often a sign of underflow)"),
    ];
    if !unreadable.is_empty() {
        checks.push(tensor_check("unreadable", "Unreadable tensors", Status::Fail, unreadable, "cannot be read"));
    }
    let dtypes = dtype_mix(doc);
    let float_kinds = dtypes.keys().filter(|d| d.starts_with("float") || d.starts_with("bfloat")).count();
    checks.push(Check {
        id: "dtype_mix",
        title: "Dtype mix",
        status: if float_kinds > 1 { Status::Info } else { Status::Ok },
        detail: dtypes.iter().map(|(d, n)| format!("{d}: {n} elements")).collect::<Vec<_>>().join(", "),
        count: 0,
        tensors: Vec::new(),
    });
    checks.push(shared_storages(doc));
    let (unused, wasteful) = unused_storage(doc);
    checks.push(Check {
        id: "unused_storage",
        title: "Storage bytes no view uses",
        status: if unused > 0 { Status::Warn } else { Status::Ok },
        detail: if unused > 0 {
            format!("{unused} bytes are saved but read by no tensor (a slice saved with its whole storage?)")
        } else {
            "every stored byte is used by some tensor".into()
        },
        count: wasteful.len(),
        tensors: wasteful.into_iter().take(MAX_LISTED).collect(),
    });
    checks.push(optimizer_match(doc));
    Ok(Health {
        status: checks.iter().map(|c| c.status).max().unwrap_or(Status::Ok),
        checks,
        dtypes,
        unused_storage_bytes: unused,
    })
}

fn tensor_check(id: &'static str, title: &'static str, bad: Status, names: Vec<String>, what: &str) -> Check {
    Check {
        id,
        title,
        status: if names.is_empty() { Status::Ok } else { bad },
        detail: match names.len() {
            0 => "none".into(),
            1 => format!("1 tensor {}", what.replacen("are ", "is ", 1).replacen("hold ", "holds ", 1).replacen("reach ", "reaches ", 1)),
            n => format!("{n} tensors {what}"),
        },
        count: names.len(),
        tensors: names.into_iter().take(MAX_LISTED).collect(),
    }
}

fn dtype_mix(doc: &Document) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for e in &doc.state_dict {
        let t = &doc.tensors[e.tensor];
        *m.entry(t.dtype.name().to_string()).or_insert(0) += t.numel;
    }
    m
}

/// Keys whose tensors read the same storage (tied weights, views of one another).
fn shared_storages(doc: &Document) -> Check {
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in &doc.state_dict {
        groups.entry(doc.tensors[e.tensor].storage.as_str()).or_default().push(&e.key);
    }
    let shared: Vec<String> = groups.values().filter(|k| k.len() > 1).map(|k| k.join(" = ")).collect();
    Check {
        id: "shared_storage",
        title: "Tied weights and shared storages",
        status: if shared.is_empty() { Status::Ok } else { Status::Info },
        detail: if shared.is_empty() { "no two keys share a storage".into() } else { format!("{} groups of keys share a storage", shared.len()) },
        count: shared.len(),
        tensors: shared.into_iter().take(MAX_LISTED).collect(),
    }
}

/// Bytes of each storage outside the span its tensors reach, and the storages that have any.
fn unused_storage(doc: &Document) -> (u64, Vec<String>) {
    let mut spans: BTreeMap<usize, (u64, u64)> = BTreeMap::new();
    for t in doc.tensors.iter().filter(|t| t.layout != Layout::SparseCoo && t.numel > 0) {
        let item = t.dtype.itemsize();
        let last = t.shape.iter().zip(&t.stride).fold(t.storage_offset, |a, (&n, &s)| a.saturating_add((n - 1).saturating_mul(s.max(0) as u64)));
        let (lo, hi) = (t.storage_offset.saturating_mul(item), last.saturating_add(1).saturating_mul(item));
        let span = spans.entry(t.storage_index).or_insert((lo, hi));
        *span = (span.0.min(lo), span.1.max(hi));
    }
    let mut total = 0;
    let mut names = Vec::new();
    for (i, (lo, hi)) in spans {
        let s = &doc.storages[i];
        let unused = s.bytes.saturating_sub(hi.min(s.bytes).saturating_sub(lo));
        if unused > 0 {
            total += unused;
            names.push(format!("storage {} ({} of {} bytes unused)", s.key, unused, s.bytes));
        }
    }
    (total, names)
}

/// The optimizer's per-parameter state against the parameters, mapped by order.
fn optimizer_match(doc: &Document) -> Check {
    let mut c = Check { id: "optimizer", title: "Optimizer state matches the parameters", status: Status::Ok, detail: String::new(), count: 0, tensors: Vec::new() };
    let Some(opt) = find_optimizer(&doc.tree) else {
        c.detail = "no optimizer state in this file".into();
        return c;
    };
    let ids: Vec<i64> = dict_get(opt, "param_groups")
        .and_then(seq)
        .into_iter()
        .flatten()
        .filter_map(|g| dict_get(g, "params").and_then(seq))
        .flatten()
        .filter_map(|p| p.as_i64())
        .collect();
    // Parameters are the state_dict's entries that are not buffers, in order.
    let params: Vec<&crate::document::StateDictEntry> = doc.state_dict.iter().filter(|e| !is_buffer(&e.key)).collect();
    if ids.len() != params.len() {
        c.status = Status::Info;
        c.detail = format!("{} parameters in the optimizer, {} in the state_dict: cannot map them by order", ids.len(), params.len());
        return c;
    }
    let state = dict_get(opt, "state");
    let mut bad = Vec::new();
    for (id, p) in ids.iter().zip(&params) {
        let want = &doc.tensors[p.tensor].shape;
        let Some(per) = state.and_then(|s| dict_pairs(s).find(|(k, _)| k.as_i64() == Some(*id)).map(|(_, v)| v)) else { continue };
        for (name, v) in dict_pairs(per) {
            let Some(t) = v.get("$tensor").and_then(Json::as_u64).and_then(|i| doc.tensors.get(i as usize)) else { continue };
            if t.numel > 1 && &t.shape != want {
                bad.push(format!("{}: state {} has shape {:?}, the parameter {:?}", p.key, name.as_str().unwrap_or("?"), t.shape, want));
            }
        }
    }
    c.count = bad.len();
    c.status = if bad.is_empty() { Status::Ok } else { Status::Fail };
    c.detail = if bad.is_empty() {
        format!("{} parameters' state matches their shapes", ids.len())
    } else {
        format!("{} state tensors do not match their parameter's shape", bad.len())
    };
    c.tensors = bad.into_iter().take(MAX_LISTED).collect();
    c
}

fn is_buffer(key: &str) -> bool {
    ["running_mean", "running_var", "num_batches_tracked"].iter().any(|b| key.ends_with(b))
}

/// The first dict with `state` and `param_groups`: a checkpoint's optimizer (Lightning's first).
fn find_optimizer(tree: &Json) -> Option<&Json> {
    if dict_get(tree, "state").is_some() && dict_get(tree, "param_groups").is_some() {
        return Some(tree);
    }
    if let Some(items) = tree.get("$dict").and_then(Json::as_array) {
        return items.iter().filter_map(|kv| kv.get(1)).find_map(find_optimizer);
    }
    tree.get("$list").or_else(|| tree.get("$tuple")).and_then(Json::as_array)?.iter().find_map(find_optimizer)
}

fn dict_pairs(d: &Json) -> impl Iterator<Item = (&Json, &Json)> {
    d.get("$dict").and_then(Json::as_array).into_iter().flatten().filter_map(|kv| Some((kv.get(0)?, kv.get(1)?)))
}

fn dict_get<'a>(d: &'a Json, key: &str) -> Option<&'a Json> {
    dict_pairs(d).find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
}

fn seq(v: &Json) -> Option<&Vec<Json>> {
    v.get("$list").or_else(|| v.get("$tuple")).and_then(Json::as_array)
}
