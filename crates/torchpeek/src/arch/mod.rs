//! Architecture at a glance, from the weights' names, shapes and dtypes alone (and a Hugging Face
//! `config.json` when one is opened alongside): repeated blocks (`blocks`), the model family and
//! its numbers (`family`, `config`), and parameters per part. Reads no tensor data; the per-layer
//! norms the page plots come from `stats` over these blocks' tensors.

pub mod blocks;
pub mod config;
pub mod family;

use crate::dtype::DType;
use serde::Serialize;
use serde_json::Value as Json;

pub use blocks::{Repeat, Run};
pub use family::{Family, Numbers};

/// What the weights say about the model (the `architecture` object of the JSON contract).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Architecture {
    /// The family recognised, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<Family>,
    /// Sizes read from the shapes (and the config): layers, hidden size, heads, vocabulary...
    pub numbers: Numbers,
    /// Parameters of the whole state_dict, each storage counted once per tensor key.
    pub parameters: u64,
    /// The top-level parts (embeddings, the blocks, the head...) and their parameters.
    pub parts: Vec<Part>,
    /// Folders whose numbered children repeat (`layers.0` ... `layers.79`), outermost first.
    pub blocks: Vec<Repeat>,
    /// The `config.json` read alongside, by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
}

/// One top-level part of the model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Part {
    /// The key prefix (`model.embed_tokens`, `model.layers`).
    pub name: String,
    pub parameters: u64,
    pub tensors: usize,
    /// How many repeated blocks the part is, when it is one of `blocks`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocks: Option<u64>,
}

/// One state_dict entry as the analysis sees it: the key's dot-separated segments, and the shape.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub key: &'a str,
    /// Slices of `key`.
    segments: Vec<&'a str>,
    pub shape: &'a [u64],
    pub dtype: DType,
    pub numel: u64,
}

impl<'a> Entry<'a> {
    pub fn new(key: &'a str, shape: &'a [u64], dtype: DType, numel: u64) -> Self {
        Entry { key, segments: key.split('.').collect(), shape, dtype, numel }
    }

    /// Where segment `i` starts in the key.
    fn start(&self, i: usize) -> usize {
        self.segments[i].as_ptr() as usize - self.key.as_ptr() as usize
    }

    /// The key from segment `i` on (`layers.0.w` from 1: `0.w`), without copying it.
    fn tail_from(&self, i: usize) -> &'a str {
        &self.key[self.start(i)..]
    }

    /// The first `n` segments (at least one), without copying them.
    fn upto(&self, n: usize) -> &'a str {
        &self.key[..self.start(n - 1) + self.segments[n - 1].len()]
    }
}

/// A named config read alongside the weights.
pub struct Config<'a> {
    pub name: &'a str,
    pub json: &'a Json,
}

/// The architecture of a state_dict given as `entries` (each key once; None when there are
/// none), with `config`'s numbers.
pub fn describe(entries: &[Entry], config: Option<Config>) -> Option<Architecture> {
    if entries.is_empty() {
        return None;
    }
    let blocks = blocks::find(entries);
    let parts = parts(entries, &blocks);
    let (mut family, mut numbers) = family::recognise(entries);
    if let Some(c) = &config {
        config::apply(c.json, &mut family, &mut numbers);
    }
    Some(Architecture {
        family,
        numbers,
        parameters: entries.iter().map(|e| e.numel).sum(),
        parts,
        blocks,
        config: config.map(|c| c.name.to_string()),
    })
}

/// The top-level parts: keys grouped by their first segment; a segment that holds most of the
/// model (`model.*`, `transformer.*`) is opened one level deeper. A part that is a repeated
/// folder says how many blocks it has.
fn parts(entries: &[Entry], blocks: &[Repeat]) -> Vec<Part> {
    let mut depth = 1;
    loop {
        let groups = group_by_prefix(entries, depth);
        let biggest = groups.iter().map(|p| p.tensors).max().unwrap_or(0);
        // Opens one more level while one part (with children) holds more than half the keys.
        let opens = groups.len() <= 2 && biggest * 2 > entries.len() && depth < 4 && entries.iter().any(|e| e.segments.len() > depth + 1);
        if !opens {
            return groups
                .into_iter()
                .map(|mut p| {
                    // A part that is one repeated folder (`encoder` of `encoder.layer.N`) is named by it.
                    let inside = |b: &&Repeat| b.prefix == p.name || b.prefix.starts_with(&format!("{}.", p.name));
                    if let Some(b) = blocks.iter().find(inside).filter(|b| b.parameters.iter().sum::<u64>() == p.parameters) {
                        p.name = b.prefix.clone();
                        p.blocks = Some(b.runs.iter().map(|r| r.count).sum());
                    }
                    p
                })
                .collect();
        }
        depth += 1;
    }
}

/// Parts by the first `depth` segments of the key (a shorter key is its own part), in key order.
fn group_by_prefix(entries: &[Entry], depth: usize) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for e in entries {
        let n = depth.min(e.segments.len().saturating_sub(1)).max(1);
        let name = e.upto(n);
        let i = *index.entry(name).or_insert_with(|| {
            parts.push(Part { name: name.to_string(), parameters: 0, tensors: 0, blocks: None });
            parts.len() - 1
        });
        parts[i].parameters += e.numel;
        parts[i].tensors += 1;
    }
    parts
}
