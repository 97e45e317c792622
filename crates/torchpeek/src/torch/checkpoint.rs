//! What kind of file a torch pickle is (a bare state_dict, a training checkpoint, a whole module),
//! and which part of it is the model's state_dict.

use super::module;
use crate::document::{Document, Kind, StateDictEntry};
use crate::pickle::{Arena, Id, Value};
use std::collections::HashMap;

/// Keys under which checkpoints keep the model's weights, most specific first.
const WEIGHT_KEYS: &[&str] = &[
    "model_state_dict",
    "state_dict",
    "model",
    "model_state",
    "net",
    "network",
    "module",
    "weights",
    "params",
    "ema_state_dict",
    "ema",
];

/// Sets `doc.kind` and fills `doc.state_dict` (and `doc.modules` for whole modules).
pub fn classify(arena: &Arena, root: Id, tensor_by_id: &HashMap<Id, usize>, doc: &mut Document) {
    if module::is_module(arena, root) {
        doc.kind = Kind::Module;
        module::derive_module(arena, root, tensor_by_id, doc);
        return;
    }
    let Some(items) = dict_like(arena, root) else {
        doc.kind = Kind::Other;
        return;
    };
    if !items.is_empty() && items.iter().all(|(_, v)| tensor_by_id.contains_key(v)) {
        doc.kind = Kind::StateDict;
        push_flat(arena, items, tensor_by_id, doc);
        return;
    }
    // A checkpoint: find the entry that holds the model's weights.
    let named = WEIGHT_KEYS.iter().find_map(|&want| {
        items.iter().find(|(k, _)| arena.as_str(*k) == Some(want)).map(|&(_, v)| v).filter(|&v| holds_weights(arena, v, tensor_by_id))
    });
    let best = named.or_else(|| {
        items
            .iter()
            .map(|&(_, v)| v)
            .filter(|&v| holds_weights(arena, v, tensor_by_id))
            .max_by_key(|&v| dict_like(arena, v).map_or(0, |d| d.len()))
    });
    match best {
        Some(v) if module::is_module(arena, v) => module::derive_module(arena, v, tensor_by_id, doc),
        Some(v) => push_flat(arena, dict_like(arena, v).unwrap_or(&[]), tensor_by_id, doc),
        None => {}
    }
    let any_tensor = !tensor_by_id.is_empty();
    doc.kind = if best.is_some() || any_tensor { Kind::Checkpoint } else { Kind::Other };
}

/// A dict or OrderedDict's items.
fn dict_like(arena: &Arena, id: Id) -> Option<&[(Id, Id)]> {
    match arena.get(id) {
        Value::Dict(items) => Some(items),
        Value::Object(o)
            if matches!(arena.callable_name(o.callable).as_deref(), Some("collections.OrderedDict") | Some("builtins.dict")) =>
        {
            Some(&o.dict_items)
        }
        _ => None,
    }
}

/// A whole module, or a non-empty dict whose values are all tensors.
fn holds_weights(arena: &Arena, id: Id, tensor_by_id: &HashMap<Id, usize>) -> bool {
    module::is_module(arena, id)
        || dict_like(arena, id).is_some_and(|d| !d.is_empty() && d.iter().all(|(_, v)| tensor_by_id.contains_key(v)))
}

fn push_flat(arena: &Arena, items: &[(Id, Id)], tensor_by_id: &HashMap<Id, usize>, doc: &mut Document) {
    for &(k, v) in items {
        if let Some(&t) = tensor_by_id.get(&v) {
            doc.state_dict.push(StateDictEntry { key: super::key_string(arena, k), tensor: t });
        }
    }
}
