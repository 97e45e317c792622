//! Module trees: a whole pickled `nn.Module` (`_modules` / `_parameters` / `_buffers`) or a
//! TorchScript archive's `__torch__` objects, giving each submodule's path and class and the flat
//! state_dict torch would give.

use crate::document::{Document, ModuleEntry, StateDictEntry};
use crate::limits;
use crate::pickle::{Arena, Id, Value};
use std::collections::HashMap;

/// True when `id` is a pickled `nn.Module`: an object whose state has `_modules` and `_parameters`.
pub fn is_module(arena: &Arena, id: Id) -> bool {
    match arena.get(id) {
        Value::Object(o) => o.state.is_some_and(|s| {
            arena.dict_get(s, "_modules").is_some() && arena.dict_get(s, "_parameters").is_some()
        }),
        _ => false,
    }
}

/// Adds the module tree under `id` to `doc.modules` and its state_dict to `doc.state_dict`.
pub fn derive_module(arena: &Arena, id: Id, tensor_by_id: &HashMap<Id, usize>, doc: &mut Document) {
    walk_module(arena, id, "", tensor_by_id, doc, 0);
}

fn walk_module(arena: &Arena, id: Id, prefix: &str, tensors: &HashMap<Id, usize>, doc: &mut Document, depth: usize) {
    let Value::Object(o) = arena.get(id) else { return };
    if depth > limits::MAX_TREE_DEPTH {
        return;
    }
    doc.modules.push(ModuleEntry {
        path: prefix.to_string(),
        class: arena.callable_name(o.callable).unwrap_or_default(),
    });
    let Some(state) = o.state else { return };
    let non_persistent = set_of_strings(arena, arena.dict_get(state, "_non_persistent_buffers_set"));
    for (field, skip) in [("_parameters", &Vec::new()), ("_buffers", &non_persistent)] {
        let Some(d) = arena.dict_get(state, field) else { continue };
        for &(k, v) in arena.dict_items(d).unwrap_or(&[]) {
            let name = super::key_string(arena, k);
            if let (Some(&t), false) = (tensors.get(&v), skip.contains(&name)) {
                doc.state_dict.push(StateDictEntry { key: join(prefix, &name), tensor: t });
            }
        }
    }
    if let Some(children) = arena.dict_get(state, "_modules") {
        for &(k, v) in arena.dict_items(children).unwrap_or(&[]) {
            if is_module(arena, v) {
                let name = super::key_string(arena, k);
                walk_module(arena, v, &join(prefix, &name), tensors, doc, depth + 1);
            }
        }
    }
}

/// TorchScript archives pickle modules as `__torch__.*` objects whose state holds attributes directly.
pub fn derive_torchscript(arena: &Arena, id: Id, tensor_by_id: &HashMap<Id, usize>, doc: &mut Document) {
    walk_script(arena, id, "", tensor_by_id, doc, 0);
}

fn walk_script(arena: &Arena, id: Id, prefix: &str, tensors: &HashMap<Id, usize>, doc: &mut Document, depth: usize) {
    let Value::Object(o) = arena.get(id) else { return };
    let Some(class) = arena.callable_name(o.callable).filter(|c| c.starts_with("__torch__.")) else { return };
    if depth > limits::MAX_TREE_DEPTH {
        return;
    }
    doc.modules.push(ModuleEntry { path: prefix.to_string(), class: script_class_name(&class) });
    let Some(state) = o.state else { return };
    let mut children = Vec::new();
    for &(k, v) in arena.dict_items(state).unwrap_or(&[]) {
        let name = super::key_string(arena, k);
        if let Some(&t) = tensors.get(&v) {
            doc.state_dict.push(StateDictEntry { key: join(prefix, &name), tensor: t });
        } else if matches!(arena.get(v), Value::Object(_)) {
            children.push((name, v));
        }
    }
    for (name, v) in children {
        walk_script(arena, v, &join(prefix, &name), tensors, doc, depth + 1);
    }
}

/// `__torch__.torch.nn.modules.linear.___torch_mangle_3.Linear` -> `torch.nn.modules.linear.Linear`.
pub fn script_class_name(class: &str) -> String {
    class
        .strip_prefix("__torch__.")
        .unwrap_or(class)
        .split('.')
        .filter(|part| !part.starts_with("___torch_mangle_"))
        .collect::<Vec<_>>()
        .join(".")
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// The strings of a set value (`set()` pickles as `builtins.set([...])` or EMPTY_SET/ADDITEMS).
fn set_of_strings(arena: &Arena, id: Option<Id>) -> Vec<String> {
    let Some(id) = id else { return Vec::new() };
    let items: &[Id] = match arena.get(id) {
        Value::Set(v) | Value::FrozenSet(v) | Value::List(v) => v,
        Value::Object(o) => arena.seq(o.args).and_then(|a| a.first()).and_then(|&l| arena.seq(l)).unwrap_or(&[]),
        _ => &[],
    };
    items.iter().filter_map(|&i| arena.as_str(i).map(str::to_string)).collect()
}
