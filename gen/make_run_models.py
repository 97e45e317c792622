#!/usr/bin/env python3
"""Writes the fixtures `torchpeek run` checks a `.pt2` against (tests/real/run): small models made
with torch 2.15 in eval mode, each saved three ways, with a seeded input and torch's own outputs:

- `NAME.pt2`: `torch.export.save(torch.export.export(model, args))`, torch's default (the
  TRAINING dialect: `aten.conv2d`, `aten.linear`, `aten.batch_norm`, `aten.scaled_dot_product_attention` ...);
- `NAME_core.pt2` (all but `more`, to keep the fixtures small): the same program after
  `run_decompositions()` (core ATen: `aten.convolution`, `aten.addmm`,
  `aten._native_batch_norm_legit_no_training` and `aten.native_layer_norm` with their extra
  outputs, attention spelled out with `bmm` and `_softmax` ...);
- `NAME.onnx`: `torch.onnx.export(..., dynamo=True)`, for `run A.pt2 B.onnx --compare`;
- `NAME.in.USER_INPUT.npy`: the input, by the signature's user-input name;
- `NAME.out.I.npy`: torch's output I (the eager model's, in eval mode, under no_grad).

The models: a CNN with BatchNorm and grouped/depthwise convolutions (conv, batch norm, relu, silu,
max and average pooling, flatten, linear, softmax), a transformer encoder layer with a dynamic
sequence length (linear, scaled_dot_product_attention, layer norm, dropout in eval, views), an MLP
with GELU and Softmax, and `ops`: embedding, mean, cat, slice, select, matmul, bmm, squeeze,
unsqueeze, permute, reshape and elementwise arithmetic with scalars; `more`, the rest of the
translated operators (see its docstring). And `bn_batch_stats.pt2`, which the engine refuses by
name: batch norm without running statistics (the batch's, even in eval mode).

The zip members of a `.pt2` differ from run to run; the arrays do not (a fixed seed), so a file
written again only needs committing when its model changed.

Needs torch (a virtualenv, not CI): python gen/make_run_models.py   (writes tests/real/run)
"""
import os
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.export import Dim

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "real", "run")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.grouped = nn.Conv2d(8, 8, 3, padding=1, groups=2, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.dw = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8)
        self.pool = nn.MaxPool2d(2)
        self.avg = nn.AvgPool2d(2, stride=1)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        x = F.silu(self.bn2(self.grouped(x)))
        x = self.pool(x) + self.dw(x)
        x = self.gap(self.avg(x)).flatten(1)
        return torch.softmax(self.fc(x), dim=-1)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, batch_first=True, activation="gelu")
        self.norm = nn.LayerNorm(16)

    def forward(self, x):
        return self.norm(self.layer(x))


def mlp():
    return nn.Sequential(nn.Linear(6, 8), nn.GELU(), nn.Dropout(0.1), nn.Linear(8, 3), nn.Softmax(dim=-1))


class Ops(nn.Module):
    """The remaining operators of the list, in one small graph with two user inputs."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 8)
        self.proj = nn.Linear(8, 8)
        self.register_buffer("scale", torch.linspace(0.5, 1.5, 8))

    def forward(self, ids, x):
        e = self.emb(ids)                                   # [2, 4, 8]
        h = torch.cat([e, x], dim=1)                        # [2, 7, 8]
        h = h[:, 1:6, :] * self.scale - 0.25                # slice, mul, sub
        a = torch.matmul(h, h.transpose(1, 2)) / 8.0        # [2, 5, 5]
        b = torch.bmm(a, h)                                 # [2, 5, 8]
        m = b.mean(dim=1, keepdim=True)                     # [2, 1, 8]
        s = m.squeeze(1).unsqueeze(-1)                      # [2, 8, 1]
        y = self.proj(s.permute(0, 2, 1).reshape(2, 8))     # [2, 8]
        first = h.select(1, 0)                              # [2, 8]
        return torch.tanh(y) + first.sigmoid() * 2, h.mean()


class More(nn.Module):
    """The rest of the translated operators: transposed and 'same' convolutions, pooling with padding
    and ceil_mode, adaptive pooling to 2x2, clipped and leaky activations, log_softmax, stack,
    expand, comparisons and where, rsub, floor division, pow, sum, and attention with a causal mask,
    a boolean mask and a float mask."""

    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1)
        self.same = nn.Conv2d(4, 4, 3, padding="same", dilation=2)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.avg = nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
        self.gap = nn.AdaptiveAvgPool2d(2)

    def forward(self, img, q, k, v):
        x = self.same(self.up(img))                                   # [1, 4, 12, 12]
        a = F.hardtanh(self.pool(x), -0.5, 0.5) + F.relu6(self.avg(x) * 4)
        b = F.leaky_relu(x, 0.1) + F.elu(x) + F.hardswish(x) + F.hardsigmoid(x) + F.gelu(x, approximate="tanh")
        c = torch.clamp(self.gap(a[:, :, :6, :6] + b[:, :, ::2, ::2]), min=-1.0, max=2.0)
        y = torch.stack([c.flatten(1), torch.log_softmax(c.flatten(1), dim=-1)], dim=1)  # [1, 2, 16]
        y = torch.where(y > 0, y.pow(2), 1 - y) + torch.div(y * 7, 2, rounding_mode="floor")
        y = y + y.sum(dim=-1, keepdim=True).expand(-1, -1, 16) / 16
        causal = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        keep = torch.ones(4, 4, dtype=torch.bool).tril()
        masked = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
        bias = F.scaled_dot_product_attention(q, k, v, attn_mask=q[:, :, :, :1] - k[:, :, :, :1].transpose(-2, -1), scale=0.3)
        return y, causal + masked + bias


def save(name, model, args, dynamic=None, core=True):
    model.eval()
    ep = torch.export.export(model, args, dynamic_shapes=dynamic)
    torch.export.save(ep, os.path.join(OUT, f"{name}.pt2"))
    if core:
        torch.export.save(ep.run_decompositions(), os.path.join(OUT, f"{name}_core.pt2"))
    onnx = torch.onnx.export(model, args, dynamo=True, dynamic_shapes=dynamic, verbose=False)
    onnx.save(os.path.join(OUT, f"{name}.onnx"))
    names = list(ep.graph_signature.user_inputs)
    for n, a in zip(names, args):
        np.save(os.path.join(OUT, f"{name}.in.{n}.npy"), a.numpy())
    with torch.no_grad():
        out = model(*args)
    for i, o in enumerate(out if isinstance(out, tuple) else (out,)):
        np.save(os.path.join(OUT, f"{name}.out.{i}.npy"), o.numpy())


save("cnn", CNN(), (torch.randn(2, 3, 8, 8),))
save("encoder", Encoder(), (torch.randn(2, 5, 16),), dynamic={"x": {1: Dim("seq", min=2, max=64)}})
save("mlp", mlp(), (torch.randn(2, 6),))
save("ops", Ops(), (torch.randint(0, 10, (2, 4)), torch.randn(2, 3, 8)))
save("more", More(), (torch.randn(1, 3, 6, 6), torch.randn(1, 2, 4, 8), torch.randn(1, 2, 4, 8), torch.randn(1, 2, 4, 8)), core=False)
# Refused by name: batch norm without running statistics uses the batch's even in eval mode.
bn = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4, track_running_stats=False)).eval()
torch.export.save(torch.export.export(bn, (torch.randn(1, 3, 4, 4),)), os.path.join(OUT, "bn_batch_stats.pt2"))
for name in sorted(os.listdir(OUT)):
    print(name, os.path.getsize(os.path.join(OUT, name)))
