//! Interprets a torch pickle's value graph: tensors (through the known rebuild functions), storages,
//! modules and checkpoint parts, written into the Document. `tensor` reads rebuild calls, `module`
//! derives module trees and state_dicts, `checkpoint` decides what kind of file this is.

pub mod checkpoint;
pub mod module;
pub mod tensor;

use crate::document::{float_json, Document, Problem, Storage, StorageData, Tensor};
use crate::limits;
use crate::pickle::{Arena, How, Id, Value};
use serde_json::{json, Map, Value as Json};
use std::collections::HashMap;
use tensor::{StorageRef, TensorDesc};

/// Per-channel quantization parameters still to be read, once storages are located.
#[derive(Debug, Clone)]
pub struct PendingQParams {
    pub tensor: usize,
    pub scales: TensorDesc,
    pub zero_points: TensorDesc,
}

/// Turns one pickle's values into the document's tree, tensors and storages.
pub struct Interpreter<'a> {
    pub arena: &'a Arena,
    pub doc: &'a mut Document,
    /// Prefix of storage keys in the document (`constants/` for TorchScript constants).
    pub storage_namespace: String,
    /// The first tensor index made from each arena value.
    pub tensor_by_id: HashMap<Id, usize>,
    /// Per-channel quantization parameters met, to read once the storages are located.
    pub qparams: Vec<PendingQParams>,
    nodes: usize,
    on_path: Vec<Id>,
    path: Vec<String>,
}

impl<'a> Interpreter<'a> {
    /// An interpreter whose tensor paths start at `path`.
    pub fn new(arena: &'a Arena, doc: &'a mut Document, storage_namespace: &str, path: Vec<String>) -> Self {
        Interpreter {
            arena,
            doc,
            storage_namespace: storage_namespace.to_string(),
            tensor_by_id: HashMap::new(),
            qparams: Vec::new(),
            nodes: 0,
            on_path: Vec::new(),
            path,
        }
    }

    fn problem(&mut self, message: impl Into<String>) {
        if self.doc.errors.len() < 1000 {
            self.doc.errors.push(Problem { message: message.into(), path: self.path.clone() });
        }
    }

    /// The document storage for a storage reference, created on first use.
    pub fn storage_index(&mut self, r: &StorageRef) -> usize {
        let key = format!("{}{}", self.storage_namespace, r.key);
        if let Some(i) = self.doc.storages.iter().position(|s| s.key == key) {
            return i;
        }
        self.doc.storages.push(Storage {
            key,
            dtype: r.dtype,
            bytes: r.numel.saturating_mul(r.dtype.itemsize()),
            member: String::new(),
            data: StorageData::Missing { reason: "not located".into() },
        });
        self.doc.storages.len() - 1
    }

    /// Adds a tensor at the current path.
    fn add_tensor(&mut self, id: Id, desc: TensorDesc) -> usize {
        let storage_index = match &desc.storage {
            Some(r) => self.storage_index(r),
            None => {
                let i = self.doc.storages.len();
                self.doc.storages.push(Storage {
                    key: format!("meta{i}"),
                    dtype: desc.dtype,
                    bytes: 0,
                    member: String::new(),
                    data: StorageData::Missing { reason: "a meta tensor has no data".into() },
                });
                i
            }
        };
        let bytes = self.doc.storages[storage_index].bytes;
        let numel = desc.shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
        let numel = match numel {
            Some(n) => n,
            None => {
                self.problem("tensor shape overflows: more elements than 2^64");
                0
            }
        };
        if let Some(msg) = view_problem(&desc, bytes) {
            self.problem(msg);
        }
        let index = self.doc.tensors.len();
        let storage = &self.doc.storages[storage_index];
        let tensor = Tensor {
            storage_offset: desc.storage_offset,
            layout: desc.layout,
            quantization: desc.quantization.clone(),
            requires_grad: desc.requires_grad,
            is_parameter: desc.is_parameter,
            ..Tensor::new(self.path.clone(), desc.dtype, desc.shape.clone(), desc.stride.clone(), numel, storage_index, storage)
        };
        self.doc.tensors.push(tensor);
        if let Some((scales, zps)) = desc.qparam_tensors {
            for d in [&scales, &zps] {
                if let Some(r) = &d.storage {
                    self.storage_index(r);
                }
            }
            self.qparams.push(PendingQParams { tensor: index, scales: *scales, zero_points: *zps });
        }
        self.tensor_by_id.entry(id).or_insert(index);
        index
    }

    /// The document tree for value `id`, adding tensors as they are reached.
    pub fn tree(&mut self, id: Id) -> Json {
        self.nodes += 1;
        if self.nodes > limits::MAX_TREE_NODES {
            if self.nodes == limits::MAX_TREE_NODES + 1 {
                self.problem(format!(
                    "the pickle expands to more than {} values (shared values reached many times); the rest is not shown",
                    limits::MAX_TREE_NODES
                ));
            }
            return json!({"$truncated": true});
        }
        if self.on_path.len() >= limits::MAX_TREE_DEPTH {
            self.problem(format!("nesting deeper than {} levels is not shown", limits::MAX_TREE_DEPTH));
            return json!({"$truncated": true});
        }
        if self.on_path.contains(&id) {
            self.problem("a value contains itself (a cycle through the memo)");
            return json!({"$cycle": true});
        }
        let arena = self.arena;
        let v = match arena.get(id) {
            Value::None | Value::OutOfBand => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => int_json(*i),
            Value::BigInt(s) => Json::from(s.clone()),
            Value::Float(f) => float_json(*f),
            Value::Str(s) => Json::from(s.clone()),
            Value::Bytes(b) => json!({"$bytes": b.len()}),
            Value::Global { module, name } => json!({"$global": format!("{module}.{name}")}),
            Value::Extension(code) => json!({"$global": format!("<extension {code}>")}),
            Value::PersistentId(_) => json!({"$persistent_id": true}),
            Value::List(items) => self.with(id, |me| tagged("$list", Json::Array(me.seq_tree(items)))),
            Value::Tuple(items) => self.with(id, |me| tagged("$tuple", Json::Array(me.seq_tree(items)))),
            Value::Set(items) | Value::FrozenSet(items) => self.with(id, |me| tagged("$set", Json::Array(me.seq_tree(items)))),
            Value::Dict(items) => self.with(id, |me| tagged("$dict", Json::Array(me.dict_tree(items)))),
            Value::Object(_) => self.with(id, |me| me.object_tree(id)),
        };
        v
    }

    fn with(&mut self, id: Id, f: impl FnOnce(&mut Self) -> Json) -> Json {
        self.on_path.push(id);
        let v = f(self);
        self.on_path.pop();
        v
    }

    fn seq_tree(&mut self, items: &[Id]) -> Vec<Json> {
        items
            .iter()
            .enumerate()
            .map(|(i, &item)| {
                self.path.push(i.to_string());
                let v = self.tree(item);
                self.path.pop();
                v
            })
            .collect()
    }

    fn dict_tree(&mut self, items: &[(Id, Id)]) -> Vec<Json> {
        items
            .iter()
            .map(|&(k, v)| {
                let key = self.tree(k);
                self.path.push(key_string(self.arena, k));
                let value = self.tree(v);
                self.path.pop();
                Json::Array(vec![key, value])
            })
            .collect()
    }

    fn object_tree(&mut self, id: Id) -> Json {
        let arena = self.arena;
        let Value::Object(o) = arena.get(id) else { unreachable!() };
        if tensor::is_rebuild(arena, id) {
            return match tensor::rebuild(arena, id, 0) {
                Ok(desc) => json!({"$tensor": self.add_tensor(id, desc)}),
                Err(msg) => {
                    self.problem(format!("tensor could not be read: {msg}"));
                    json!({"$error": msg})
                }
            };
        }
        let class = arena.callable_name(o.callable);
        let class_name = class.clone().unwrap_or_else(|| "<computed callable>".into());
        // Containers built by calling their class.
        match class.as_deref() {
            Some("collections.OrderedDict") | Some("builtins.dict") | Some("collections.defaultdict")
                if o.items.is_empty() =>
            {
                let mut m = Map::new();
                m.insert("$dict".into(), Json::Array(self.dict_tree(&o.dict_items)));
                m.insert("$class".into(), Json::from(class_name));
                if let Some(state) = o.state {
                    self.path.push("$attrs".into());
                    m.insert("$attrs".into(), self.tree(state));
                    self.path.pop();
                }
                return Json::Object(m);
            }
            Some("builtins.set") | Some("builtins.frozenset") => {
                let items = arena.seq(o.args).and_then(|a| a.first().copied()).and_then(|a| arena.seq(a)).unwrap_or(&[]);
                return tagged("$set", Json::Array(self.seq_tree(items)));
            }
            _ => {}
        }
        let mut m = Map::new();
        m.insert("$object".into(), Json::from(class_name));
        if o.how == How::Reduce && class.as_deref().is_some_and(|c| !looks_like_class(c)) {
            m.insert("$call".into(), Json::Bool(true));
        }
        let args = arena.seq(o.args).map(|a| a.to_vec()).unwrap_or_default();
        if !args.is_empty() {
            self.path.push("$args".into());
            m.insert("args".into(), Json::Array(self.seq_tree(&args)));
            self.path.pop();
        }
        if let Some(state) = o.state {
            // A dict state is the object's attributes: paths go straight through its keys.
            m.insert("state".into(), self.tree(state));
        }
        if !o.items.is_empty() {
            m.insert("items".into(), Json::Array(self.seq_tree(&o.items)));
        }
        if !o.dict_items.is_empty() {
            m.insert("$dict".into(), Json::Array(self.dict_tree(&o.dict_items)));
        }
        Json::Object(m)
    }
}

/// A tree path segment for a dict key: strings as they are, ints in decimal.
/// `{tag: value}`, moving `value` in (`json!` would serialize a copy of it: quadratic on deep trees).
fn tagged(tag: &str, value: Json) -> Json {
    let mut m = serde_json::Map::new();
    m.insert(tag.to_string(), value);
    Json::Object(m)
}

pub fn key_string(arena: &Arena, k: Id) -> String {
    match arena.get(k) {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::BigInt(s) => s.clone(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        Value::None => "None".to_string(),
        Value::Float(f) => f.to_string(),
        _ => "<key>".to_string(),
    }
}

/// Integers beyond 2^53 are strings, so JSON readers do not round them.
fn int_json(i: i64) -> Json {
    if i.unsigned_abs() > (1u64 << 53) {
        Json::from(i.to_string())
    } else {
        Json::from(i)
    }
}

/// Classes are capitalised by convention; functions are not (`_codecs.encode`, `torch._utils.x`).
fn looks_like_class(dotted: &str) -> bool {
    dotted.rsplit('.').next().and_then(|n| n.trim_start_matches('_').chars().next()).is_some_and(|c| c.is_uppercase())
}

/// A view that reaches outside its storage is reported (its statistics will fail cleanly).
fn view_problem(d: &TensorDesc, storage_bytes: u64) -> Option<String> {
    if d.storage.is_none() || d.shape.contains(&0) {
        return None;
    }
    let mut last = d.storage_offset as i128;
    for (&n, &s) in d.shape.iter().zip(&d.stride) {
        if s < 0 {
            return Some(format!("negative stride {s}"));
        }
        last += (n as i128 - 1) * s as i128;
    }
    let need = (last + 1) * d.dtype.itemsize() as i128;
    (need > storage_bytes as i128).then(|| {
        format!("the view reaches byte {need} of a storage of {storage_bytes} bytes (shape {:?}, stride {:?}, offset {})", d.shape, d.stride, d.storage_offset)
    })
}
