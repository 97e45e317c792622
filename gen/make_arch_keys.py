#!/usr/bin/env python3
"""Writes tests/arch/models.json: the state_dict keys, shapes and dtypes of real architectures
as torchvision and Hugging Face transformers build them (on the meta device: full sizes, no
memory), each with what torch says it is (the constructor, or the config's numbers). The
architecture tests (crates/torchpeek/tests/arch.rs) recognise each from its keys alone, then
with its config.json, and compare.

usage: /work/torchenv/bin/python gen/make_arch_keys.py [OUT]   (needs torch, torchvision, transformers)
"""
import json
import os
import sys

import torch
import torchvision
import transformers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "arch", "models.json")

DTYPE = {torch.float32: "float32", torch.int64: "int64", torch.float16: "float16", torch.bfloat16: "bfloat16"}

TORCHVISION = [
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "wide_resnet50_2",
    "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "squeezenet1_0", "squeezenet1_1",
    "efficientnet_b0", "efficientnet_b1", "efficientnet_b3", "convnext_tiny", "convnext_small",
    "densenet121", "densenet169", "vgg11", "vgg16", "vgg16_bn", "alexnet", "shufflenet_v2_x1_0",
    "googlenet", "inception_v3", "regnet_y_400mf", "vit_b_16",
]

# Hugging Face configs: the library's defaults are the published base sizes (Llama-2-7B,
# Mistral-7B, GPT-2, BERT-base, t5-small, ViT-base); TinyLlama's head size is 64, not 128.
HF = {
    "llama-2-7b": (transformers.LlamaConfig, {}, transformers.LlamaForCausalLM),
    "tinyllama-1.1b": (transformers.LlamaConfig, dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
                                                     num_attention_heads=32, num_key_value_heads=4), transformers.LlamaForCausalLM),
    "mistral-7b": (transformers.MistralConfig, {}, transformers.MistralForCausalLM),
    "qwen2-7b": (transformers.Qwen2Config, dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
                                               num_attention_heads=28, num_key_value_heads=4, vocab_size=152064), transformers.Qwen2ForCausalLM),
    "qwen3-8b": (transformers.Qwen3Config, dict(hidden_size=4096, intermediate_size=12288, num_hidden_layers=36,
                                               num_attention_heads=32, num_key_value_heads=8, head_dim=128, vocab_size=151936), transformers.Qwen3ForCausalLM),
    "mixtral-8x7b": (transformers.MixtralConfig, {}, transformers.MixtralForCausalLM),
    "gpt2": (transformers.GPT2Config, {}, transformers.GPT2LMHeadModel),
    "bert-base": (transformers.BertConfig, {}, transformers.BertModel),
    "roberta-base": (transformers.RobertaConfig, dict(vocab_size=50265, max_position_embeddings=514), transformers.RobertaModel),
    "t5-small": (transformers.T5Config, {}, transformers.T5ForConditionalGeneration),
    "vit-base": (transformers.ViTConfig, {}, transformers.ViTForImageClassification),
}


def keys(model):
    return [[k, list(v.shape), DTYPE[v.dtype]] for k, v in model.state_dict().items()]


def main():
    models = {}
    for name in TORCHVISION:
        kwargs = {"aux_logits": False, "init_weights": False} if name in ("googlenet", "inception_v3") else {}
        build = getattr(torchvision.models, name)
        try:
            with torch.device("meta"):
                m = build(weights=None, **kwargs)
        except NotImplementedError:  # RegNet computes its widths with tensors: build it for real
            m = build(weights=None, **kwargs)
        models[name] = {"source": f"torchvision {torchvision.__version__}: torchvision.models.{name}()", "constructor": name, "keys": keys(m)}
    for name, (cfg_class, kw, model_class) in HF.items():
        cfg = cfg_class(**kw)
        with torch.device("meta"):
            m = model_class(cfg)
        config = {k: v for k, v in cfg.to_dict().items() if isinstance(v, (int, float, str, bool, list)) and not k.startswith("_")}
        models[name] = {"source": f"transformers {transformers.__version__}: {model_class.__name__}({cfg_class.__name__}(**{kw}))",
                        "config": config, "keys": keys(m)}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write('{"torch": "%s",\n "models": {\n' % torch.__version__)
        f.write(",\n".join(f"  {json.dumps(n)}: {json.dumps(m, separators=(',', ':'))}" for n, m in models.items()))
        f.write("\n}}\n")
    print(f"{len(models)} models, {sum(len(m['keys']) for m in models.values())} keys -> {OUT}")


if __name__ == "__main__":
    main()
