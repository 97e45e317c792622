//! The model family, recognised from key patterns and shapes: Llama/Mistral/Qwen-style decoders
//! (and their mixture-of-experts kin), GPT-2, BERT-style encoders, T5, ViT (torchvision, timm and
//! Hugging Face names), ResNet and the common torchvision CNNs; and its numbers read from the
//! shapes. A number that rests on a convention rather than a shape (the head size of a decoder,
//! so its head counts) says so in `assumed`; a `config.json` replaces it (`config`).
//!
//! Keys are matched by their tail, numbered segments written `#`: `layers.#.self_attn.q_proj.weight`
//! matches `model.layers.0.self_attn.q_proj.weight` and `module.model.layers.7...` alike.

use super::Entry;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// A recognised family.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Family {
    /// A short id: `llama`, `gpt2`, `bert`, `t5`, `vit`, `resnet`, `mobilenet_v3`, ...
    pub name: &'static str,
    /// What it is, for people: `Llama-style decoder (Llama, Mistral, Qwen)`.
    pub label: String,
    /// The member of the family, when the shapes (or the config) tell: `resnet50`, `qwen2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The keys that identified it.
    pub evidence: Vec<String>,
    /// Where it was recognised from: `weights`, `config.json`, or both.
    pub from: Vec<&'static str>,
}

/// The family's numbers. Each is there only when the shapes (or the config) give it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Numbers {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layers: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoder_layers: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intermediate_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heads: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kv_heads: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_dim: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vocab_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_positions: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experts: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_channels: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classes: Option<u64>,
    /// Blocks per stage of a CNN (ResNet's `[3, 4, 6, 3]`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<u64>,
    /// Numbers that rest on a convention, and which.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub assumed: Vec<String>,
    /// Numbers the config gave (the others come from the shapes).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub from_config: Vec<String>,
    /// Where the config and the shapes disagree.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mismatches: Vec<String>,
}

/// The keys, matched segment by segment: `#` in a pattern matches a numbered segment.
struct Keys<'a> {
    entries: &'a [Entry<'a>],
    /// Entries by their last segment (`weight`, `bias`, ...), in key order: a tail ending with a
    /// plain segment looks only there.
    by_last: HashMap<&'a str, Vec<usize>>,
}

/// Whether `segments` match `pattern` (its segments split on `.`) exactly; a pattern segment
/// ending with `#` matches its stem followed by a number (`encoder_layer_#`, `#`).
fn matches(segments: &[&str], pattern: &[&str]) -> bool {
    let one = |s: &str, p: &str| match p.strip_suffix('#') {
        Some(stem) => s.strip_prefix(stem).is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())),
        None => s == p,
    };
    segments.len() == pattern.len() && segments.iter().zip(pattern).all(|(s, p)| one(s, p))
}

impl<'a> Keys<'a> {
    fn new(entries: &'a [Entry<'a>]) -> Self {
        let mut by_last: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            by_last.entry(e.segments[e.segments.len() - 1]).or_default().push(i);
        }
        Keys { entries, by_last }
    }

    /// The first key ending with `tail`.
    fn find(&self, tail: &str) -> Option<&'a Entry<'a>> {
        let pattern: Vec<&str> = tail.split('.').collect();
        let fits = |e: &&Entry| e.segments.len() >= pattern.len() && matches(&e.segments[e.segments.len() - pattern.len()..], &pattern);
        let last = pattern[pattern.len() - 1];
        if last.ends_with('#') {
            return self.entries.iter().find(fits);
        }
        self.by_last.get(last)?.iter().map(|&i| &self.entries[i]).find(fits)
    }

    fn has(&self, tail: &str) -> bool {
        self.find(tail).is_some()
    }

    /// Dimension `i` of the first key ending with `tail`.
    fn dim(&self, tail: &str, i: usize) -> Option<u64> {
        self.find(tail)?.shape.get(i).copied()
    }

    /// How many distinct children (folders) the folder `folder` has, wherever it first occurs in a key.
    fn children(&self, folder: &str) -> Option<u64> {
        let pattern: Vec<&str> = folder.split('.').collect();
        let mut seen = HashSet::new();
        for e in self.entries {
            let n = pattern.len();
            // The child, and below it at least one more segment (a folder, not a leaf).
            let at = (0..e.segments.len().saturating_sub(n + 1)).find(|&i| matches(&e.segments[i..i + n], &pattern));
            if let Some(at) = at {
                seen.insert(e.segments[at + n]);
            }
        }
        (!seen.is_empty()).then_some(seen.len() as u64)
    }
}

/// The family and its numbers, when one is recognised.
pub fn recognise(entries: &[Entry]) -> (Option<Family>, Numbers) {
    let k = Keys::new(entries);
    for rule in RULES {
        if let Some((family, numbers)) = rule(&k) {
            return (Some(family), numbers);
        }
    }
    (None, Numbers::default())
}

type Rule = fn(&Keys) -> Option<(Family, Numbers)>;

const RULES: &[Rule] = &[llama, gpt2, bert, t5, vit, resnet, torchvision_cnn];

/// A family recognised from the weights, with the keys that matched.
fn family(name: &'static str, label: &str, evidence: &[&str]) -> Family {
    Family { name, label: label.to_string(), variant: None, evidence: evidence.iter().map(|s| s.to_string()).collect(), from: vec!["weights"] }
}

/// Whether every tail is a key; the tails are then the evidence.
fn all(k: &Keys, tails: &[&str]) -> bool {
    tails.iter().all(|t| k.has(t))
}

/// Heads from the head size, when the head size is a convention (`assumed`).
fn heads_by_convention(n: &mut Numbers, q_rows: Option<u64>, kv_rows: Option<u64>, head_dim: u64, why: &str) {
    let Some(q) = q_rows.filter(|q| q % head_dim == 0) else { return };
    n.head_dim = Some(head_dim);
    n.heads = Some(q / head_dim);
    n.kv_heads = kv_rows.filter(|r| r % head_dim == 0).map(|r| r / head_dim);
    n.assumed.push(format!("head_dim {head_dim} ({why}): heads and kv_heads follow from it; open config.json alongside for the exact numbers"));
}

fn llama(k: &Keys) -> Option<(Family, Numbers)> {
    let attn = "layers.#.self_attn.q_proj.weight";
    let dense = k.has("layers.#.mlp.gate_proj.weight");
    // Experts one folder each (`block_sparse_moe.experts.#.w1`, `mlp.experts.#.gate_proj`), or
    // fused into one tensor per projection (`mlp.experts.gate_up_proj`: experts × 2·ff × hidden).
    let per_expert = ["layers.#.block_sparse_moe.experts", "layers.#.mlp.experts"].into_iter().find(|f| k.children(f).is_some());
    let fused = k.find("layers.#.mlp.experts.gate_up_proj");
    if !(all(k, &[attn, "embed_tokens.weight"]) && (dense || per_expert.is_some() || fused.is_some())) {
        return None;
    }
    let mut f = family("llama", "Llama-style decoder (Llama, Mistral, Qwen)", &[attn, "embed_tokens.weight"]);
    let mut n = Numbers {
        layers: k.children("layers"),
        hidden_size: k.dim("embed_tokens.weight", 1),
        vocab_size: k.dim("embed_tokens.weight", 0),
        intermediate_size: k.dim("layers.#.mlp.gate_proj.weight", 0),
        ..Numbers::default()
    };
    if let Some(moe) = per_expert {
        f.evidence.push(format!("{moe}.#"));
        n.experts = k.children(moe);
        n.intermediate_size = k.dim(&format!("{moe}.#.w1.weight"), 0).or_else(|| k.dim(&format!("{moe}.#.gate_proj.weight"), 0));
    } else if let Some(fused) = fused {
        f.evidence.push("layers.#.mlp.experts.gate_up_proj".into());
        n.experts = fused.shape.first().copied();
        n.intermediate_size = k.dim("layers.#.mlp.experts.down_proj", 2);
    } else {
        f.evidence.push("layers.#.mlp.gate_proj.weight".into());
    }
    if n.experts.is_some() {
        f.label = "Mixture-of-experts decoder (Mixtral, Qwen-MoE)".into();
    }
    if k.has("layers.#.self_attn.q_norm.weight") {
        f.variant = Some("qwen3-style (q and k norms)".into());
    } else if k.has("layers.#.self_attn.q_proj.bias") {
        f.variant = Some("qwen2-style (q, k and v biases)".into());
    }
    let (q, kv) = (k.dim(attn, 0), k.dim("layers.#.self_attn.k_proj.weight", 0));
    // The head size is in the weights only through RoPE's saved frequencies or per-head norms.
    let head_dim = k.dim("layers.#.self_attn.rotary_emb.inv_freq", 0).map(|h| 2 * h).or_else(|| k.dim("layers.#.self_attn.q_norm.weight", 0));
    match head_dim {
        Some(h) if h > 0 => {
            n.head_dim = Some(h);
            n.heads = q.map(|q| q / h);
            n.kv_heads = kv.map(|r| r / h);
        }
        _ => heads_by_convention(&mut n, q, kv, 128, "the Llama convention"),
    }
    Some((f, n))
}

fn gpt2(k: &Keys) -> Option<(Family, Numbers)> {
    let ev = ["h.#.attn.c_attn.weight", "wte.weight", "wpe.weight"];
    if !all(k, &ev) {
        return None;
    }
    let mut n = Numbers {
        layers: k.children("h"),
        hidden_size: k.dim("wte.weight", 1),
        vocab_size: k.dim("wte.weight", 0),
        max_positions: k.dim("wpe.weight", 0),
        // GPT-2's Conv1D stores [in, out].
        intermediate_size: k.dim("h.#.mlp.c_fc.weight", 1),
        ..Numbers::default()
    };
    let hidden = n.hidden_size;
    heads_by_convention(&mut n, hidden, hidden, 64, "GPT-2's convention");
    Some((family("gpt2", "GPT-2-style decoder", &ev), n))
}

fn bert(k: &Keys) -> Option<(Family, Numbers)> {
    let ev = ["encoder.layer.#.attention.self.query.weight", "embeddings.word_embeddings.weight"];
    if !all(k, &ev) {
        return None;
    }
    let mut n = Numbers {
        layers: k.children("encoder.layer"),
        hidden_size: k.dim("embeddings.word_embeddings.weight", 1),
        vocab_size: k.dim("embeddings.word_embeddings.weight", 0),
        max_positions: k.dim("embeddings.position_embeddings.weight", 0),
        intermediate_size: k.dim("encoder.layer.#.intermediate.dense.weight", 0),
        ..Numbers::default()
    };
    let hidden = n.hidden_size;
    heads_by_convention(&mut n, hidden, hidden, 64, "BERT's convention");
    Some((family("bert", "BERT-style encoder (BERT, RoBERTa)", &ev), n))
}

fn t5(k: &Keys) -> Option<(Family, Numbers)> {
    let q = "block.#.layer.#.SelfAttention.q.weight";
    let embed = ["shared.weight", "encoder.embed_tokens.weight"].into_iter().find(|t| k.has(t))?;
    if !k.has(q) {
        return None;
    }
    // Relative position buckets × heads: the one place T5 stores its head count.
    let heads = k.dim("block.#.layer.#.SelfAttention.relative_attention_bias.weight", 1);
    let mut n = Numbers {
        layers: k.children("encoder.block"),
        decoder_layers: k.children("decoder.block"),
        hidden_size: k.dim(embed, 1),
        vocab_size: k.dim(embed, 0),
        heads,
        intermediate_size: k.dim("layer.#.DenseReluDense.wi.weight", 0).or_else(|| k.dim("layer.#.DenseReluDense.wi_0.weight", 0)),
        ..Numbers::default()
    };
    n.head_dim = heads.zip(k.dim(q, 0)).and_then(|(h, q)| (h > 0).then(|| q / h));
    n.kv_heads = n.heads;
    let mut f = family("t5", "T5-style encoder-decoder", &[q, embed]);
    if k.has("layer.#.DenseReluDense.wi_0.weight") {
        f.variant = Some("t5 v1.1 (gated feed-forward)".into());
    }
    Some((f, n))
}

fn vit(k: &Keys) -> Option<(Family, Numbers)> {
    // (naming, attention key, patch embedding, layers folder, feed-forward in, position embedding, head)
    const NAMINGS: &[(&str, &str, &str, &str, &str, &str, &str)] = &[
        ("torchvision", "self_attention.in_proj_weight", "conv_proj.weight", "encoder.layers", "mlp.0.weight", "encoder.pos_embedding", "heads.head.weight"),
        ("timm", "attn.qkv.weight", "patch_embed.proj.weight", "blocks", "mlp.fc1.weight", "pos_embed", "head.weight"),
        ("hugging face", "attention.attention.query.weight", "embeddings.patch_embeddings.projection.weight", "encoder.layer", "intermediate.dense.weight", "embeddings.position_embeddings", "classifier.weight"),
        ("hugging face 5", "attention.q_proj.weight", "embeddings.patch_embeddings.projection.weight", "layers", "mlp.fc1.weight", "embeddings.position_embeddings", "classifier.weight"),
    ];
    for &(naming, attn, patch, layers, ff, pos, head) in NAMINGS {
        let Some(attn_key) = k.find(&format!("{layers}.#.{attn}")).or_else(|| k.find(&format!("{layers}.encoder_layer_#.{attn}"))) else {
            continue;
        };
        if !k.has(patch) {
            continue;
        }
        let hidden = k.dim(patch, 0);
        let patch_size = k.dim(patch, 2);
        let tokens = k.dim(pos, 1);
        let grid = tokens.map(|t| ((t.saturating_sub(1)) as f64).sqrt().round() as u64);
        let ff_key = k.find(ff).or_else(|| k.find("mlp.linear_1.weight"));
        let mut n = Numbers {
            layers: k.children(layers),
            hidden_size: hidden,
            patch_size,
            image_size: grid.zip(patch_size).map(|(g, p)| g * p),
            intermediate_size: ff_key.and_then(|e| e.shape.first().copied()),
            classes: k.dim(head, 0),
            input_channels: k.dim(patch, 1),
            ..Numbers::default()
        };
        heads_by_convention(&mut n, hidden, hidden, 64, "ViT's convention");
        let mut f = family("vit", "Vision Transformer (ViT)", &[attn_key.key, patch]);
        f.variant = Some(format!("{naming} names"));
        return Some((f, n));
    }
    None
}

fn resnet(k: &Keys) -> Option<(Family, Numbers)> {
    let ev = ["layer1.#.conv1.weight", "layer4.#.conv1.weight", "fc.weight"];
    if !all(k, &ev) {
        return None;
    }
    let stages: Vec<u64> = (1..=4).filter_map(|s| k.children(&format!("layer{s}"))).collect();
    let bottleneck = k.has("layer1.#.conv3.weight");
    let depth = match (bottleneck, stages.as_slice()) {
        (false, [2, 2, 2, 2]) => Some(18),
        (false, [3, 4, 6, 3]) => Some(34),
        (true, [3, 4, 6, 3]) => Some(50),
        (true, [3, 4, 23, 3]) => Some(101),
        (true, [3, 8, 36, 3]) => Some(152),
        _ => None,
    };
    let mut f = family("resnet", "ResNet", &ev);
    let conv2 = k.find("layer1.#.conv2.weight").map(|e| e.shape);
    let groups = conv2.and_then(|s| Some(s.first()? / s.get(1)?.max(&1)));
    f.variant = depth.map(|d| match (groups, k.dim("layer1.#.conv1.weight", 0)) {
        (Some(g), _) if g > 1 => format!("resnext{d}_{g}x{}d", conv2.and_then(|s| s.get(1)).unwrap_or(&0)),
        (_, Some(128)) if bottleneck => format!("wide_resnet{d}_2"),
        _ => format!("resnet{d}"),
    });
    let n = Numbers {
        classes: k.dim("fc.weight", 0),
        input_channels: k.dim("conv1.weight", 1),
        hidden_size: k.dim("fc.weight", 1),
        stages,
        ..Numbers::default()
    };
    Some((f, n))
}

/// torchvision's other classification CNNs, by the names their modules get.
fn torchvision_cnn(k: &Keys) -> Option<(Family, Numbers)> {
    let first_conv = k.entries.iter().find(|e| e.shape.len() == 4);
    let last_linear = k.entries.iter().rev().find(|e| e.shape.len() == 2);
    let mut n = Numbers {
        input_channels: first_conv.and_then(|e| e.shape.get(1).copied()),
        classes: last_linear.map(|e| e.shape[0]),
        ..Numbers::default()
    };
    let (name, label, ev, variant): (&'static str, &str, &str, Option<String>) = if k.has("features.#.squeeze.weight") {
        let v = if k.dim("features.#.weight", 2) == Some(7) { "squeezenet1_0" } else { "squeezenet1_1" };
        // SqueezeNet's classifier is a 1×1 convolution.
        n.classes = k.dim("classifier.#.weight", 0);
        ("squeezenet", "SqueezeNet", "features.#.squeeze.weight", Some(v.into()))
    } else if k.has("features.#.#.layer_scale") {
        let stages: Vec<u64> = (1..8).step_by(2).filter_map(|s| k.children(&format!("features.{s}"))).collect();
        let width = k.dim("features.#.#.weight", 0);
        let v = match (stages.as_slice(), width) {
            ([3, 3, 9, 3], _) => Some("convnext_tiny"),
            ([3, 3, 27, 3], Some(96)) => Some("convnext_small"),
            ([3, 3, 27, 3], Some(128)) => Some("convnext_base"),
            ([3, 3, 27, 3], Some(192)) => Some("convnext_large"),
            _ => None,
        };
        n.stages = stages;
        ("convnext", "ConvNeXt", "features.#.#.layer_scale", v.map(String::from))
    } else if k.has("features.#.#.block.#.#.weight") {
        // EfficientNet: MBConv blocks in stages; the width of the last convolution and the block count tell B0..B7.
        let blocks: u64 = (1..8).filter_map(|s| k.children(&format!("features.{s}"))).sum();
        let last = k.entries.iter().rev().find(|e| e.shape.len() == 4).map(|e| e.shape[0]);
        let v = match (last, blocks) {
            (Some(1280), 16) => Some("efficientnet_b0"),
            (Some(1280), 23) => Some("efficientnet_b1"),
            (Some(1408), _) => Some("efficientnet_b2"),
            (Some(1536), _) => Some("efficientnet_b3"),
            (Some(1792), _) => Some("efficientnet_b4"),
            (Some(2048), _) => Some("efficientnet_b5"),
            (Some(2304), _) => Some("efficientnet_b6"),
            (Some(2560), _) => Some("efficientnet_b7"),
            _ => None,
        };
        ("efficientnet", "EfficientNet", "features.#.#.block.#.#.weight", v.map(String::from))
    } else if k.has("features.#.block.#.#.weight") {
        let v = match k.dim("classifier.#.weight", 1) {
            Some(576) => Some("mobilenet_v3_small"),
            Some(960) => Some("mobilenet_v3_large"),
            _ => None,
        };
        ("mobilenet_v3", "MobileNetV3", "features.#.block.#.#.weight", v.map(String::from))
    } else if k.has("features.#.conv.#.#.weight") {
        ("mobilenet_v2", "MobileNetV2", "features.#.conv.#.#.weight", None)
    } else if k.has("features.denseblock1.denselayer1.conv1.weight") {
        let stages: Vec<u64> = (1..=4).filter_map(|s| k.children(&format!("features.denseblock{s}"))).collect();
        let v = match stages.as_slice() {
            [6, 12, 24, 16] => Some("densenet121"),
            [6, 12, 32, 32] => Some("densenet169"),
            [6, 12, 48, 32] => Some("densenet201"),
            [6, 12, 36, 24] => Some("densenet161"),
            _ => None,
        };
        n.stages = stages;
        ("densenet", "DenseNet", "features.denseblock1.denselayer1.conv1.weight", v.map(String::from))
    } else if k.has("stage2.#.branch2.#.weight") {
        ("shufflenet_v2", "ShuffleNetV2", "stage2.#.branch2.#.weight", None)
    } else if k.has("inception3a.branch1.conv.weight") {
        ("googlenet", "GoogLeNet (Inception v1)", "inception3a.branch1.conv.weight", None)
    } else if k.has("Mixed_5b.branch1x1.conv.weight") {
        ("inception_v3", "Inception v3", "Mixed_5b.branch1x1.conv.weight", None)
    } else if k.has("trunk_output.block1.block1-0.f.a.0.weight") {
        ("regnet", "RegNet", "trunk_output.block1.block1-0.f.a.0.weight", None)
    } else if k.has("features.#.weight") && k.has("classifier.#.weight") && first_conv.is_some() {
        let convs = k.entries.iter().filter(|e| e.shape.len() == 4).count();
        let bn = k.has("features.#.running_mean");
        if first_conv.is_some_and(|e| e.shape[2] == 11) {
            ("alexnet", "AlexNet", "features.#.weight", Some("alexnet".into()))
        } else if matches!(convs, 8 | 10 | 13 | 16) && k.children("classifier") == Some(3) {
            ("vgg", "VGG", "features.#.weight", Some(format!("vgg{}{}", convs + 3, if bn { "_bn" } else { "" })))
        } else {
            return None;
        }
    } else {
        return None;
    };
    let mut f = family(name, label, &[ev]);
    f.variant = variant;
    Some((f, n))
}
