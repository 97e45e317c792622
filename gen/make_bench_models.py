#!/usr/bin/env python3
"""Writes the engine's benchmark set: real architectures with random weights (fixed seeds), each
exported by both torch.onnx exporters, with an input and torch's own output as .npy.

Needs torch 2.15, torchvision and transformers (a virtualenv, never CI):
    python gen/make_bench_models.py [OUT_DIR] [--only NAME,NAME]   (OUT_DIR: target/bench-models)

For each model NAME it writes NAME.input<i>.npy, NAME.output0.npy (torch, float32, eval mode) and
NAME.ts.onnx (`dynamo=False`, the TorchScript-based exporter) and NAME.dynamo.onnx (`dynamo=True`;
its weights in NAME.dynamo.onnx.data, the exporter's default). `models.json` lists every file, and
what onnxruntime (CPU) gives against torch for each export: a check of the export, not of us.
bench/bench-onnx.mjs --set reads that folder.
"""
import argparse, json, os, sys, time
import numpy as np
import torch
import torch.nn as nn
import torchvision.models as tvm

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # configs only: no weights are ever fetched
import transformers  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("out", nargs="?", default=os.path.join(os.path.dirname(__file__), "..", "target", "bench-models"))
parser.add_argument("--only", help="NAME,NAME: these models alone (the others stay in models.json)")
ARGS = parser.parse_args()
OUT = ARGS.out
ONLY = set(ARGS.only.split(",")) if ARGS.only else None
os.makedirs(OUT, exist_ok=True)


def randomize_batchnorm(model):
    """Running statistics and affine parameters away from their identity defaults, so that folding
    a BatchNormalization wrongly shows in the output."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.1)
    return model


def vision(ctor):
    def make():
        return randomize_batchnorm(ctor()), (torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(2)),)
    return make


def vit_tiny():
    vit = tvm.VisionTransformer(image_size=224, patch_size=16, num_layers=12, num_heads=3, hidden_dim=192, mlp_dim=768)
    vit.heads.head.reset_parameters()  # torchvision starts the head at zero: every output would be 0
    return vit


class HiddenStates(nn.Module):
    """BERT's last hidden state alone (the model returns a dict)."""
    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask):
        return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


class Logits(nn.Module):
    """A causal LM's logits alone, without the key/value cache; the all-ones attention mask is what
    a generation loop passes (without one, transformers 5 traces a packed-sequence check)."""
    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids):
        return self.lm(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), use_cache=False).logits


def bert():
    # BERT's layout (post-norm, GELU, learned positions, token types, padding mask), 4 layers of 256.
    cfg = transformers.BertConfig(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024,
                                  attn_implementation="eager")
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(0, cfg.vocab_size, (1, 128), generator=g)
    mask = torch.ones(1, 128, dtype=torch.int64)
    mask[:, 100:] = 0
    return HiddenStates(transformers.BertModel(cfg, add_pooling_layer=False)), (ids, mask)


def gpt2():
    # GPT-2's layout (pre-norm, causal mask, tied LM head over the 50257-token vocabulary), 4 layers of 256.
    cfg = transformers.GPT2Config(n_embd=256, n_layer=4, n_head=4, n_positions=256, attn_implementation="eager")
    ids = torch.randint(0, cfg.vocab_size, (1, 64), generator=torch.Generator().manual_seed(4))
    return Logits(transformers.GPT2LMHeadModel(cfg)), (ids,)


MODELS = {
    "resnet18": vision(tvm.resnet18),
    "mobilenet_v2": vision(tvm.mobilenet_v2),
    "mobilenet_v3_small": vision(tvm.mobilenet_v3_small),
    "squeezenet1_1": vision(tvm.squeezenet1_1),
    "efficientnet_b0": vision(tvm.efficientnet_b0),
    "vit_tiny": vision(vit_tiny),
    "bert": bert,
    "gpt2": gpt2,
}
INPUT_NAMES = {"bert": ["input_ids", "attention_mask"], "gpt2": ["input_ids"]}


def ort_check(path, inputs, expected):
    import onnxruntime as ort
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feeds = {i.name: x for i, x in zip(sess.get_inputs(), inputs)}
    got = sess.run(None, feeds)[0]
    return float(np.abs(got - expected).max())


def main():
    index = {}
    for name, make in MODELS.items():
        if ONLY and name not in ONLY:
            continue
        torch.manual_seed(0)
        model, inputs = make()
        model.eval()
        with torch.no_grad():
            out = model(*inputs).numpy()
        arrays = [x.numpy() for x in inputs]
        files = {"inputs": [], "output": f"{name}.output0.npy", "exports": {}}
        for i, a in enumerate(arrays):
            np.save(f"{OUT}/{name}.input{i}.npy", a)
            files["inputs"].append(f"{name}.input{i}.npy")
        np.save(f"{OUT}/{name}.output0.npy", out)
        names = INPUT_NAMES.get(name, ["input"])
        for exporter, dynamo in (("ts", False), ("dynamo", True)):
            path = f"{OUT}/{name}.{exporter}.onnx"
            for stale in (path, path + ".data"):
                if os.path.exists(stale):
                    os.remove(stale)
            t0 = time.time()
            try:
                with torch.no_grad():
                    torch.onnx.export(model, inputs, path, dynamo=dynamo, input_names=names, output_names=["output"])
            except Exception as e:  # an exporter that cannot take the model is a result too
                files["exports"][exporter] = {"error": f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"}
                print(f"{name} {exporter}: export failed: {e}", file=sys.stderr)
                continue
            onnx_files = [os.path.basename(path)] + ([os.path.basename(path) + ".data"] if os.path.exists(path + ".data") else [])
            err = ort_check(path, arrays, out)
            size = sum(os.path.getsize(f"{OUT}/{f}") for f in onnx_files)
            files["exports"][exporter] = {"files": onnx_files, "bytes": size, "onnxruntime_max_abs_diff": err}
            print(f"{name} {exporter}: {size / 1e6:.1f} MB in {time.time() - t0:.0f} s, onnxruntime vs torch {err:.1e}", file=sys.stderr)
        index[name] = files
    path = f"{OUT}/models.json"
    if ONLY and os.path.exists(path):
        with open(path) as f:
            index = {**json.load(f), **index}
    with open(path, "w") as f:
        json.dump(dict(sorted(index.items())), f, indent=1)


main()
