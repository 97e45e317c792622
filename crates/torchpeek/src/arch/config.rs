//! A Hugging Face `config.json` opened alongside the weights: its `model_type` names the family
//! member, and its sizes replace the numbers the shapes could only assume. Where the config and
//! the shapes disagree, both are kept and the disagreement is listed.

use super::family::{Family, Numbers};
use serde_json::Value as Json;

/// Whether `json` looks like a model config (and not a sharded checkpoint's index).
pub fn is_config(json: &Json) -> bool {
    let Some(o) = json.as_object() else { return false };
    !o.contains_key("weight_map")
        && ["model_type", "architectures", "num_hidden_layers", "n_layer", "hidden_size", "d_model"].iter().any(|k| o.contains_key(*k))
}

/// Where a number lives in `Numbers`.
type Slot = fn(&mut Numbers) -> &mut Option<u64>;

/// Each number: its name, its names across families' configs (the first present wins), its slot.
const NAMES: &[(&str, &[&str], Slot)] = &[
    ("layers", &["num_hidden_layers", "n_layer", "num_layers"], |n| &mut n.layers),
    ("decoder_layers", &["num_decoder_layers"], |n| &mut n.decoder_layers),
    ("hidden_size", &["hidden_size", "n_embd", "d_model"], |n| &mut n.hidden_size),
    ("intermediate_size", &["intermediate_size", "n_inner", "d_ff"], |n| &mut n.intermediate_size),
    ("heads", &["num_attention_heads", "n_head", "num_heads"], |n| &mut n.heads),
    ("kv_heads", &["num_key_value_heads"], |n| &mut n.kv_heads),
    ("head_dim", &["head_dim", "d_kv"], |n| &mut n.head_dim),
    ("vocab_size", &["vocab_size"], |n| &mut n.vocab_size),
    ("max_positions", &["max_position_embeddings", "n_positions"], |n| &mut n.max_positions),
    ("experts", &["num_local_experts", "num_experts"], |n| &mut n.experts),
    ("image_size", &["image_size"], |n| &mut n.image_size),
    ("patch_size", &["patch_size"], |n| &mut n.patch_size),
    ("input_channels", &["num_channels"], |n| &mut n.input_channels),
];

/// Applies `config` to the family and numbers the shapes gave.
pub fn apply(config: &Json, family: &mut Option<Family>, numbers: &mut Numbers) {
    let get = |keys: &[&str]| keys.iter().find_map(|k| config.get(*k).and_then(Json::as_u64));
    let assumed = !numbers.assumed.is_empty();
    for &(name, keys, slot) in NAMES {
        let Some(v) = get(keys) else { continue };
        // Numbers that rest on an assumed head size are replaced silently; the others are checked.
        let was_assumed = assumed && matches!(name, "heads" | "kv_heads" | "head_dim");
        let old = slot(numbers).replace(v);
        if let Some(w) = old.filter(|&w| w != v && !was_assumed) {
            numbers.mismatches.push(format!("{name}: config.json says {v}, the weights {w}"));
        }
        numbers.from_config.push(name.to_string());
    }
    // Without its own head size, a config's heads give it.
    if numbers.head_dim.is_none() || numbers.from_config.iter().any(|n| n == "heads") && !numbers.from_config.iter().any(|n| n == "head_dim") {
        if let (Some(h), Some(heads)) = (numbers.hidden_size, numbers.heads.filter(|&x| x > 0)) {
            numbers.head_dim = Some(h / heads);
        }
    }
    if numbers.kv_heads.is_none() && numbers.from_config.iter().any(|n| n == "heads") {
        numbers.kv_heads = numbers.heads;
    }
    if ["heads", "head_dim"].iter().any(|n| numbers.from_config.iter().any(|c| c == n)) {
        numbers.assumed.clear();
    }
    let model_type = config.get("model_type").and_then(Json::as_str);
    let architecture = config.get("architectures").and_then(|a| a.get(0)).and_then(Json::as_str);
    match family {
        Some(f) => {
            f.from.push("config.json");
            if let Some(t) = model_type {
                f.variant = Some(t.to_string());
            }
        }
        None if model_type.is_some() || architecture.is_some() => {
            let label = architecture.or(model_type).unwrap_or_default().to_string();
            *family = Some(Family { name: "config", label, variant: model_type.map(String::from), evidence: vec![], from: vec!["config.json"] });
        }
        None => {}
    }
}
