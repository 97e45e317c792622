//! Architecture at a glance. Over real architectures: the state_dict keys, shapes and dtypes that
//! torchvision and transformers themselves build (`tests/arch/models.json`, written by
//! `gen/make_arch_keys.py`), each recognised from its keys alone and then with its config, and
//! checked against the constructor's name or the config's numbers. Through `open`: a
//! Llama-2-70B-shaped sharded safetensors set (sparse files) with and without its `config.json`.

use serde_json::Value as Json;
use std::io::Write;
use std::path::Path;
use torchpeek::arch::{self, Architecture, Config, Entry};
use torchpeek::dtype::DType;
use torchpeek::{FileSource, Source};

fn models() -> &'static Json {
    static M: std::sync::OnceLock<Json> = std::sync::OnceLock::new();
    M.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/arch/models.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    })
}

/// The architecture of one recorded model, from its keys (and its config when `with_config`).
fn describe(model: &Json, with_config: bool) -> Architecture {
    let keys: Vec<(String, Vec<u64>, DType)> = model["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k[0].as_str().unwrap().to_string(), k[1].as_array().unwrap().iter().map(|d| d.as_u64().unwrap()).collect(), DType::from_torch_name(k[2].as_str().unwrap()).unwrap()))
        .collect();
    let entries: Vec<Entry> = keys
        .iter()
        .map(|(k, shape, dtype)| Entry::new(k, shape, *dtype, shape.iter().product()))
        .collect();
    let config = with_config.then(|| Config { name: "config.json", json: &model["config"] });
    arch::describe(&entries, config).unwrap()
}

/// torchvision's constructors: the family we must name, and whether the shapes tell the exact
/// member (then the variant is the constructor's name).
const TORCHVISION: &[(&str, &str, bool)] = &[
    ("resnet18", "resnet", true),
    ("resnet34", "resnet", true),
    ("resnet50", "resnet", true),
    ("resnet101", "resnet", true),
    ("resnet152", "resnet", true),
    ("resnext50_32x4d", "resnet", true),
    ("wide_resnet50_2", "resnet", true),
    ("mobilenet_v2", "mobilenet_v2", false),
    ("mobilenet_v3_small", "mobilenet_v3", true),
    ("mobilenet_v3_large", "mobilenet_v3", true),
    ("squeezenet1_0", "squeezenet", true),
    ("squeezenet1_1", "squeezenet", true),
    ("efficientnet_b0", "efficientnet", true),
    ("efficientnet_b1", "efficientnet", true),
    ("efficientnet_b3", "efficientnet", true),
    ("convnext_tiny", "convnext", true),
    ("convnext_small", "convnext", true),
    ("densenet121", "densenet", true),
    ("densenet169", "densenet", true),
    ("vgg11", "vgg", true),
    ("vgg16", "vgg", true),
    ("vgg16_bn", "vgg", true),
    ("alexnet", "alexnet", true),
    ("shufflenet_v2_x1_0", "shufflenet_v2", false),
    ("googlenet", "googlenet", false),
    ("inception_v3", "inception_v3", false),
    ("regnet_y_400mf", "regnet", false),
    ("vit_b_16", "vit", false),
];

#[test]
fn torchvision_models_are_recognised_from_their_keys() {
    let mut wrong = Vec::new();
    for &(name, family, exact) in TORCHVISION {
        let a = describe(&models()["models"][name], false);
        let f = a.family.as_ref();
        if f.map(|f| f.name) != Some(family) {
            wrong.push(format!("{name}: family {:?}, want {family}", f.map(|f| f.name)));
        } else if exact && f.and_then(|f| f.variant.as_deref()) != Some(name) {
            wrong.push(format!("{name}: variant {:?}", f.and_then(|f| f.variant.as_deref())));
        }
        // Every classifier here is ImageNet's (the last linear layer has 1000 outputs), on RGB.
        if a.numbers.classes != Some(1000) || a.numbers.input_channels != Some(3) {
            wrong.push(format!("{name}: classes {:?}, input channels {:?}", a.numbers.classes, a.numbers.input_channels));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(TORCHVISION.len() + 11 == models()["models"].as_object().unwrap().len(), "every recorded model is checked");
}

/// The family a Hugging Face `model_type` belongs to.
fn family_of(model_type: &str) -> &'static str {
    match model_type {
        "llama" | "mistral" | "qwen2" | "qwen3" | "mixtral" => "llama",
        "bert" | "roberta" => "bert",
        "gpt2" => "gpt2",
        "t5" => "t5",
        "vit" => "vit",
        other => panic!("no family for {other}"),
    }
}

/// The config's value of a number, under any of its names.
fn config_number(config: &Json, names: &[&str]) -> Option<u64> {
    names.iter().find_map(|n| config.get(*n).and_then(Json::as_u64))
}

#[test]
fn transformers_models_are_recognised_and_their_numbers_match_the_config() {
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (name, model) in models()["models"].as_object().unwrap() {
        let Some(config) = model.get("config") else { continue };
        checked += 1;
        let want_family = family_of(config["model_type"].as_str().unwrap());
        let n_inner = config_number(config, &["n_inner"]).or_else(|| config_number(config, &["n_embd"]).map(|e| 4 * e));
        let want: [(&str, Option<u64>); 7] = [
            ("layers", config_number(config, &["num_hidden_layers", "n_layer", "num_layers"])),
            ("hidden_size", config_number(config, &["hidden_size", "n_embd", "d_model"])),
            ("vocab_size", config_number(config, &["vocab_size"]).filter(|_| want_family != "vit")),
            ("intermediate_size", config_number(config, &["intermediate_size", "d_ff"]).or(n_inner)),
            ("heads", config_number(config, &["num_attention_heads", "n_head", "num_heads"])),
            ("kv_heads", config_number(config, &["num_key_value_heads"]).or(config_number(config, &["num_attention_heads", "n_head", "num_heads"]))),
            ("experts", config_number(config, &["num_local_experts"])),
        ];
        for with_config in [false, true] {
            let a = describe(model, with_config);
            let got = serde_json::to_value(&a.numbers).unwrap();
            if a.family.as_ref().map(|f| f.name) != Some(want_family) {
                wrong.push(format!("{name}: family {:?}, want {want_family}", a.family.as_ref().map(|f| f.name)));
                continue;
            }
            for (number, value) in want {
                let Some(value) = value else { continue };
                let ours = got.get(number).and_then(Json::as_u64);
                // From the keys alone, head counts may rest on a convention, and then say so.
                let assumed = !with_config && matches!(number, "heads" | "kv_heads") && !a.numbers.assumed.is_empty();
                if ours != Some(value) && !assumed {
                    wrong.push(format!("{name} (config: {with_config}): {number} {ours:?}, config says {value}"));
                }
            }
            if with_config && (!a.numbers.mismatches.is_empty() || !a.numbers.assumed.is_empty()) {
                wrong.push(format!("{name}: with its config, mismatches {:?}, assumed {:?}", a.numbers.mismatches, a.numbers.assumed));
            }
        }
        // Every decoder and encoder stack is one run of identical blocks.
        let a = describe(model, false);
        let layers = a.numbers.layers.unwrap_or(0);
        if !a.blocks.iter().any(|b| b.runs.iter().any(|r| r.count == layers) || b.runs.iter().map(|r| r.count).sum::<u64>() == layers) {
            wrong.push(format!("{name}: no repeated folder of {layers} blocks: {:?}", a.blocks.iter().map(|b| &b.prefix).collect::<Vec<_>>()));
        }
    }
    assert_eq!(checked, 11);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn head_counts_by_convention_say_so_and_the_config_corrects_them() {
    // TinyLlama's heads are 64 wide, not the 128 the keys alone must assume.
    let m = &models()["models"]["tinyllama-1.1b"];
    let a = describe(m, false);
    assert_eq!(a.numbers.head_dim, Some(128));
    assert!(a.numbers.assumed.iter().any(|s| s.contains("head_dim 128")), "{:?}", a.numbers.assumed);
    let a = describe(m, true);
    assert_eq!((a.numbers.heads, a.numbers.kv_heads, a.numbers.head_dim), (Some(32), Some(4), Some(64)));
    assert!(a.numbers.from_config.contains(&"heads".to_string()));
    assert_eq!(a.family.unwrap().from, vec!["weights", "config.json"]);
    // T5 stores its head count in the relative attention bias: exact from the keys alone.
    let a = describe(&models()["models"]["t5-small"], false);
    assert_eq!((a.numbers.heads, a.numbers.head_dim, a.numbers.decoder_layers), (Some(8), Some(64), Some(6)));
    assert!(a.numbers.assumed.is_empty());
    // Qwen3's per-head norms give the head size.
    let a = describe(&models()["models"]["qwen3-8b"], false);
    assert_eq!((a.numbers.heads, a.numbers.kv_heads, a.numbers.head_dim), (Some(32), Some(8), Some(128)));
    assert!(a.numbers.assumed.is_empty());
}

#[test]
fn blocks_that_differ_are_listed() {
    // T5's first block holds the relative attention bias the others do not.
    let a = describe(&models()["models"]["t5-small"], false);
    let enc = a.blocks.iter().find(|b| b.prefix == "encoder.block").unwrap();
    assert_eq!(enc.runs.iter().map(|r| (r.first, r.last, r.count)).collect::<Vec<_>>(), vec![(0, 0, 1), (1, 5, 5)]);
    assert_eq!(enc.differs.len(), 1);
    assert!(enc.differs[0].starts_with("0: has layer.0.SelfAttention.relative_attention_bias.weight"), "{}", enc.differs[0]);
    // ResNet-50's stages: the first block of each has the downsampling convolution.
    let a = describe(&models()["models"]["resnet50"], false);
    let l3 = a.blocks.iter().find(|b| b.prefix == "layer3").unwrap();
    assert_eq!(l3.runs.iter().map(|r| r.count).collect::<Vec<_>>(), vec![1, 5]);
    assert!(l3.differs[0].contains("downsample"), "{:?}", l3.differs);
    assert_eq!(a.numbers.stages, vec![3, 4, 6, 3]);
    // Parameters per block, in order; the sum over parts is the whole.
    assert_eq!(l3.parameters.len(), 6);
    assert_eq!(a.parts.iter().map(|p| p.parameters).sum::<u64>(), a.parameters);
    // torchvision's ViT numbers its layers `encoder_layer_N`.
    let a = describe(&models()["models"]["vit_b_16"], false);
    let layers = a.blocks.iter().find(|b| b.prefix == "encoder.layers").unwrap();
    assert_eq!((layers.stem.as_str(), layers.runs.len(), layers.runs[0].count), ("encoder_layer_", 1, 12));
    assert_eq!((a.numbers.hidden_size, a.numbers.patch_size, a.numbers.image_size, a.numbers.heads), (Some(768), Some(16), Some(224), Some(12)));
    // Mixtral's experts are fused into one tensor per projection (transformers 5).
    let a = describe(&models()["models"]["mixtral-8x7b"], false);
    assert_eq!((a.numbers.experts, a.numbers.intermediate_size), (Some(8), Some(14336)));
    // Inside folders that do not repeat, repeats are still found: EfficientNet-B0's fourth stage
    // is a first block that changes the width, then two the same.
    let a = describe(&models()["models"]["efficientnet_b0"], false);
    assert!(!a.blocks.iter().any(|b| b.prefix == "features"));
    let stage = a.blocks.iter().find(|b| b.prefix == "features.4").unwrap();
    assert_eq!(stage.runs.iter().map(|r| (r.first, r.count)).collect::<Vec<_>>(), vec![(0, 1), (1, 2)]);
}

/// Writes a safetensors file of `tensors` (name, shape) in bf16 as a sparse file: a header and a hole.
fn sparse_safetensors(path: &Path, tensors: &[(String, Vec<u64>)]) {
    let mut header = serde_json::Map::new();
    let mut offset = 0u64;
    for (name, shape) in tensors {
        let bytes = 2 * shape.iter().product::<u64>();
        header.insert(name.clone(), serde_json::json!({"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + bytes]}));
        offset += bytes;
    }
    let mut text = serde_json::to_string(&header).unwrap();
    text.push_str(&" ".repeat((8 - text.len() % 8) % 8));
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(&(text.len() as u64).to_le_bytes()).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f.set_len(8 + text.len() as u64 + offset).unwrap();
}

/// A Llama-2-70B-shaped set: 80 layers, hidden 8192, 64 heads of which 8 for keys and values,
/// feed-forward 28672, vocabulary 32000; 723 tensors in 29 shards, with an index (and a config).
fn llama_70b(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    let (h, kv, ff, vocab) = (8192u64, 1024u64, 28672u64, 32000u64);
    let mut tensors = vec![("model.embed_tokens.weight".to_string(), vec![vocab, h])];
    for l in 0..80 {
        let p = format!("model.layers.{l}");
        for (name, shape) in [
            ("self_attn.q_proj.weight", vec![h, h]),
            ("self_attn.k_proj.weight", vec![kv, h]),
            ("self_attn.v_proj.weight", vec![kv, h]),
            ("self_attn.o_proj.weight", vec![h, h]),
            ("mlp.gate_proj.weight", vec![ff, h]),
            ("mlp.up_proj.weight", vec![ff, h]),
            ("mlp.down_proj.weight", vec![h, ff]),
            ("input_layernorm.weight", vec![h]),
            ("post_attention_layernorm.weight", vec![h]),
        ] {
            tensors.push((format!("{p}.{name}"), shape));
        }
    }
    tensors.push(("model.norm.weight".into(), vec![h]));
    tensors.push(("lm_head.weight".into(), vec![vocab, h]));
    assert_eq!(tensors.len(), 723);
    let per = tensors.len().div_ceil(29);
    let mut files = Vec::new();
    let mut weight_map = serde_json::Map::new();
    for (i, chunk) in tensors.chunks(per).enumerate() {
        let name = format!("model-{:05}-of-00029.safetensors", i + 1);
        sparse_safetensors(&dir.join(&name), chunk);
        for (t, _) in chunk {
            weight_map.insert(t.clone(), Json::from(name.clone()));
        }
        files.push(dir.join(name));
    }
    let index = dir.join("model.safetensors.index.json");
    std::fs::write(&index, serde_json::json!({"metadata": {}, "weight_map": weight_map}).to_string()).unwrap();
    files.push(index);
    files
}

fn open(paths: &[std::path::PathBuf]) -> torchpeek::Model {
    torchpeek::open(paths.iter().map(|p| Box::new(FileSource::open(p).unwrap()) as Box<dyn Source>).collect()).unwrap()
}

#[test]
fn a_70b_shaped_set_shows_80_blocks_its_family_and_numbers() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("llama-70b");
    let mut files = llama_70b(&dir);
    let m = open(&files);
    let a = m.document.architecture.as_ref().unwrap();
    let layers = a.blocks.iter().find(|b| b.prefix == "model.layers").unwrap();
    assert_eq!(layers.runs.len(), 1);
    assert_eq!((layers.runs[0].first, layers.runs[0].last, layers.runs[0].count, layers.runs[0].tensors), (0, 79, 80, 9));
    assert!(layers.differs.is_empty());
    let f = a.family.as_ref().unwrap();
    assert_eq!(f.name, "llama");
    let n = &a.numbers;
    assert_eq!((n.layers, n.hidden_size, n.intermediate_size, n.vocab_size), (Some(80), Some(8192), Some(28672), Some(32000)));
    assert_eq!((n.heads, n.kv_heads), (Some(64), Some(8)));
    assert_eq!(a.parameters, 68_976_648_192);
    let parts: Vec<(&str, Option<u64>)> = a.parts.iter().map(|p| (p.name.as_str(), p.blocks)).collect();
    assert_eq!(parts, vec![("model.embed_tokens", None), ("model.layers", Some(80)), ("model.norm", None), ("lm_head", None)]);

    // With its config.json, the family member and exact numbers; the config is not a shard.
    let config = dir.join("config.json");
    let cfg = serde_json::json!({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 8192,
        "intermediate_size": 28672, "num_attention_heads": 64, "num_hidden_layers": 80, "num_key_value_heads": 8, "vocab_size": 32000,
        "max_position_embeddings": 4096});
    std::fs::write(&config, cfg.to_string()).unwrap();
    files.insert(0, config);
    let m = open(&files);
    let a = m.document.architecture.as_ref().unwrap();
    assert!(a.config.as_deref().unwrap().ends_with("config.json"), "{:?}", a.config);
    assert_eq!(a.family.as_ref().unwrap().variant.as_deref(), Some("llama"));
    assert_eq!((a.numbers.heads, a.numbers.kv_heads, a.numbers.head_dim, a.numbers.max_positions), (Some(64), Some(8), Some(128), Some(4096)));
    assert!(a.numbers.assumed.is_empty() && a.numbers.mismatches.is_empty());
    assert_eq!(m.document.tensors.len(), 723);
    assert!(m.document.files.iter().any(|f| f.name.ends_with("config.json")));
    assert!(m.document.errors.is_empty(), "{:?}", m.document.errors);

    // A config that disagrees with the weights says where.
    std::fs::write(&files[0], serde_json::json!({"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 80}).to_string()).unwrap();
    let m = open(&files);
    let mismatches = &m.document.architecture.as_ref().unwrap().numbers.mismatches;
    assert_eq!(mismatches, &vec!["hidden_size: config.json says 4096, the weights 8192".to_string()]);
}

/// Keys no model has: a key of 100,000 segments, and 200,000 numbered folders, describe without
/// overflowing the stack and in bounded time.
#[test]
fn hostile_keys_are_described_in_bounded_time() {
    let deep = vec!["0"; 100_000].join(".");
    let wide: Vec<String> = (0..200_000).map(|i| format!("x.{i}.w")).collect();
    let shape = [1u64];
    let mut entries = vec![Entry::new(&deep, &shape, DType::Float32, 1)];
    entries.extend(wide.iter().map(|k| Entry::new(k, &shape, DType::Float32, 1)));
    let t = std::time::Instant::now();
    let a = arch::describe(&entries, None).unwrap();
    assert!(t.elapsed().as_secs() < 10, "{:?}", t.elapsed());
    let x = a.blocks.iter().find(|b| b.prefix == "x").unwrap();
    assert_eq!((x.runs.len(), x.runs[0].count), (1, 200_000));
}
