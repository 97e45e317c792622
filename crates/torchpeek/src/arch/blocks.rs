//! Repeated blocks: in every folder of the key tree whose children are numbered (`layers.0`,
//! `layers.1`, ..., or `encoder_layer_0`, ...), consecutive children with the same keys, shapes and
//! dtypes form a run (`layers.0–79 ×80`); runs that differ from the most common one say how.
//! Inside a run only its first block is searched further (the others are the same by definition).

use super::Entry;
use crate::dtype::DType;
use serde::Serialize;
use std::collections::BTreeMap;

/// A folder with numbered children.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Repeat {
    /// The folder's key (`model.layers`; empty at the root).
    pub prefix: String,
    /// What comes before the number in a child's name (`encoder_layer_`; usually empty).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stem: String,
    /// Every numbered child, in order, as runs of identical blocks.
    pub runs: Vec<Run>,
    /// Parameters of each numbered child, in order (the per-layer chart).
    pub parameters: Vec<u64>,
    /// How each run that is not the most common one differs from it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub differs: Vec<String>,
}

/// Consecutive numbered children with the same keys, shapes and dtypes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub first: u64,
    pub last: u64,
    pub count: u64,
    /// Tensors and parameters of one block.
    pub tensors: usize,
    pub parameters: u64,
}

/// One block's signature: its keys below the block, with shape and dtype, sorted.
type Signature<'a> = Vec<(&'a str, &'a [u64], DType)>;

/// The repeated folders of `entries`, outermost first.
pub fn find(entries: &[Entry]) -> Vec<Repeat> {
    let all: Vec<&Entry> = entries.iter().collect();
    let mut out = Vec::new();
    walk(&all, 0, &mut out);
    out
}

/// A child's number, and the stem before it: `12` -> ("", 12), `encoder_layer_3` -> ("encoder_layer_", 3).
fn numbered(name: &str) -> Option<(&str, u64)> {
    let digits = name.len() - name.bytes().rev().take_while(u8::is_ascii_digit).count();
    let (stem, number) = name.split_at(digits);
    let plain = !number.is_empty() && number.len() <= 9 && !(number.len() > 1 && number.starts_with('0'));
    if !plain || !(stem.is_empty() || stem.ends_with('_')) {
        return None;
    }
    Some((stem, number.parse().ok()?))
}

/// Searches the folder at `depth` that `entries` (all sharing its key prefix) are in.
fn walk(entries: &[&Entry], depth: usize, out: &mut Vec<Repeat>) {
    // Hostile keys can have a million segments; real ones have a dozen.
    if depth >= crate::limits::MAX_KEY_DEPTH {
        return;
    }
    // Children that are folders, by name.
    let mut children: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.segments.len() > depth + 1) {
        children.entry(e.segments[depth]).or_default().push(e);
    }
    let mut numbered_children: BTreeMap<&str, Vec<(u64, &str)>> = BTreeMap::new();
    for name in children.keys() {
        if let Some((stem, n)) = numbered(name) {
            numbered_children.entry(stem).or_default().push((n, name));
        }
    }
    let mut skip: std::collections::HashSet<&str> = Default::default();
    for (stem, mut kids) in numbered_children {
        if kids.len() < 2 {
            continue;
        }
        kids.sort();
        let sigs: Vec<Signature> = kids.iter().map(|(_, name)| signature(&children[name], depth)).collect();
        let mut runs: Vec<Run> = Vec::new();
        let mut run_sig: Vec<usize> = Vec::new(); // the index in `kids` of each run's first block
        for (i, (n, name)) in kids.iter().enumerate() {
            let same = runs.last().is_some_and(|r| r.last + 1 == *n && sigs[run_sig[run_sig.len() - 1]] == sigs[i]);
            if same {
                let r = runs.last_mut().unwrap();
                r.last = *n;
                r.count += 1;
                skip.insert(name);
            } else {
                let block = &children[name];
                runs.push(Run { first: *n, last: *n, count: 1, tensors: block.len(), parameters: block.iter().map(|e| e.numel).sum() });
                run_sig.push(i);
            }
        }
        if runs.iter().all(|r| r.count < 2) {
            continue;
        }
        let common = (0..runs.len()).max_by_key(|&r| (runs[r].count, std::cmp::Reverse(r))).unwrap_or(0);
        let label = |r: &Run| if r.count > 1 { format!("{stem}{}–{}", r.first, r.last) } else { format!("{stem}{}", r.first) };
        let differs = (0..runs.len())
            .filter(|&r| r != common && sigs[run_sig[r]] != sigs[run_sig[common]])
            .map(|r| format!("{}: {}", label(&runs[r]), difference(&sigs[run_sig[r]], &sigs[run_sig[common]], &label(&runs[common]))))
            .collect();
        let prefix = if depth == 0 { String::new() } else { entries[0].upto(depth).to_string() };
        let parameters = kids.iter().map(|(_, name)| children[name].iter().map(|e| e.numel).sum()).collect();
        out.push(Repeat { prefix, stem: stem.to_string(), runs, parameters, differs });
    }
    for (name, kids) in &children {
        if !skip.contains(name) {
            walk(kids, depth + 1, out);
        }
    }
}

/// The keys below the block named at segment `depth`, with shapes and dtypes, sorted.
fn signature<'a>(block: &[&Entry<'a>], depth: usize) -> Signature<'a> {
    let mut sig: Signature = block.iter().map(|e| (e.tail_from(depth + 1), e.shape, e.dtype)).collect();
    sig.sort_by(|a, b| a.0.cmp(b.0));
    sig
}

/// What `a` has that `b` (the common block, called `b_name`) has not, and the other way round,
/// and the keys whose shape or dtype differ: at most three of each.
fn difference(a: &Signature, b: &Signature, b_name: &str) -> String {
    let find = |s: &Signature<'_>, k: &str| s.iter().position(|x| x.0 == k);
    let mut parts = Vec::new();
    let list = |v: Vec<String>| {
        let more = v.len().saturating_sub(3);
        let mut s = v.into_iter().take(3).collect::<Vec<_>>().join(", ");
        if more > 0 {
            s += &format!(" and {more} more");
        }
        s
    };
    let extra: Vec<String> = a.iter().filter(|x| find(b, x.0).is_none()).map(|x| x.0.to_string()).collect();
    let missing: Vec<String> = b.iter().filter(|x| find(a, x.0).is_none()).map(|x| x.0.to_string()).collect();
    let changed: Vec<String> = a
        .iter()
        .filter_map(|x| {
            let y = &b[find(b, x.0)?];
            (x.1 != y.1 || x.2 != y.2).then(|| format!("{} {:?} {} (vs {:?} {})", x.0, x.1, x.2.name(), y.1, y.2.name()))
        })
        .collect();
    if !extra.is_empty() {
        parts.push(format!("has {}", list(extra)));
    }
    if !missing.is_empty() {
        parts.push(format!("lacks {}", list(missing)));
    }
    if !changed.is_empty() {
        parts.push(format!("differs in {}", list(changed)));
    }
    format!("{} (compared with {b_name})", parts.join("; "))
}
