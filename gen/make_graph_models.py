#!/usr/bin/env python3
"""Writes the graph fixtures (small models saved by torch 2.15) and, next to each, what torch itself
reads back from the saved file: `NAME.expected.json`. The Rust tests (crates/torchpeek/tests/graphs.rs)
compare torchpeek's graphs with these records; nothing in them is typed by hand.

- `.pt2` (torch.export.save): a CNN with BatchNorm and a grouped convolution exported in training
  mode (its BatchNorm buffers are mutated), a transformer encoder layer with a dynamic sequence
  length (symbolic sizes with a range), a `torch.cond` with its two branches as subgraphs, and the
  existing `../mlp_exported.pt2`. The record is
  torch.export.load's graph: node count, call_function targets in order, placeholders, the
  signature, range constraints, the subgraphs' targets.
- TorchScript: a scripted module with `if`, `for` and `while`, and the existing traced and scripted
  files of tests/real. The record is, per module path, the `aten::` operators in its `forward`
  graph (blocks included) and how many `prim::If` / `prim::Loop` it has, and the same over the
  root's `inlined_graph` (every method and function call inlined), from torch.jit.load.

Needs torch (a virtualenv, not CI): python gen/make_graph_models.py   (writes tests/real/graphs)
"""
import json, operator, os, sys
import torch
import torch.nn as nn
from torch.export import Dim

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "real")
OUT = os.path.join(ROOT, "graphs")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        x = self.pool(self.dw(x)).flatten(1)
        return torch.softmax(self.fc(x), dim=-1)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, batch_first=True)
        self.norm = nn.LayerNorm(16)

    def forward(self, x):
        return self.norm(self.layer(x))


class Branch(nn.Module):
    """torch.cond: the program holds both branches as subgraphs."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        def bright(x):
            return torch.relu(self.fc(x))

        def dark(x):
            return torch.sigmoid(x) * 2

        return torch.cond(x.sum() > 0, bright, dark, (x,))


class Gate(nn.Module):
    """Control flow for torch.jit.script: a loop over an attribute, an `if` on an argument, a
    `while` on a value, a submodule called in the loop."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.steps = 3
        self.register_buffer("scale", torch.tensor(0.5))

    def forward(self, x, flag: bool):
        y = x
        for i in range(self.steps):
            y = self.fc(y)
            if flag:
                y = torch.relu(y)
            else:
                y = y * self.scale
        while y.abs().sum() > 100.0:
            y = y / 2
        return torch.tanh(y)


def target(node):
    """A call's target as the serialized program names it (`aten.conv2d.default`, `higher_order.cond`)."""
    t = node.target
    return f"higher_order.{t.name()}" if isinstance(t, torch._ops.HigherOrderOperator) else str(t)


def pt2_record(path):
    ep = torch.export.load(path)
    sig = ep.graph_signature
    nodes = list(ep.graph.nodes)
    return {
        "torch": torch.__version__.split("+")[0],
        "graph_nodes": len(nodes),
        "placeholders": [n.name for n in nodes if n.op == "placeholder"],
        # torch.export's serializer folds `operator.getitem` nodes into their producer's outputs.
        "targets": [target(n) for n in nodes if n.op == "call_function" and n.target is not operator.getitem],
        "getitem_nodes": sum(1 for n in nodes if n.op == "call_function" and n.target is operator.getitem),
        # A subgraph is fetched by a `get_attr` node; serialized, it is an argument of its user.
        "get_attr_nodes": sum(1 for n in nodes if n.op == "get_attr"),
        "user_inputs": list(sig.user_inputs),
        "user_outputs": list(sig.user_outputs),
        "parameters": list(sig.parameters),
        "buffers": list(sig.buffers),
        "inputs_to_parameters": dict(sig.inputs_to_parameters),
        "inputs_to_buffers": dict(sig.inputs_to_buffers),
        "buffers_to_mutate": dict(sig.buffers_to_mutate),
        "range_constraints": {str(k): [str(v.lower), str(v.upper)] for k, v in ep.range_constraints.items()},
        "user_input_shapes": {n.name: [str(d) for d in n.meta["val"].shape] for n in nodes
                              if n.op == "placeholder" and n.name in sig.user_inputs},
        "subgraphs": {name: [target(n) for n in sub.graph.nodes if n.op == "call_function"]
                      for name, sub in ep.graph_module.named_children()},
    }


def ts_ops(graph):
    """The `aten::` operators of a TorchScript graph in order, blocks included, and its control flow."""
    ops, control = [], {"prim::If": 0, "prim::Loop": 0}

    def walk(block):
        for n in block.nodes():
            k = n.kind()
            if k.startswith("aten::"):
                ops.append(k)
            if k in control:
                control[k] += 1
            for b in n.blocks():
                walk(b)

    walk(graph)
    return ops, control


def ts_record(path):
    m = torch.jit.load(path)
    modules = {}
    for name, sub in m.named_modules():
        try:
            graph = sub.forward.graph
        except (AttributeError, RuntimeError):
            continue
        ops, control = ts_ops(graph)
        modules[name] = {"class": sub.original_name, "aten": ops, "if": control["prim::If"], "loop": control["prim::Loop"]}
    ops, control = ts_ops(m.inlined_graph)
    inlined = {"aten": ops, "if": control["prim::If"], "loop": control["prim::Loop"]}
    return {"torch": torch.__version__.split("+")[0], "modules": modules, "inlined": inlined}


def write(name, record):
    with open(os.path.join(OUT, f"{name}.expected.json"), "w") as f:
        json.dump(record, f, indent=1, sort_keys=True)
        f.write("\n")


cnn, enc = CNN(), Encoder().eval()
x_img, x_seq = torch.randn(2, 3, 8, 8), torch.randn(1, 5, 16)
cnn.train()
torch.export.save(torch.export.export(cnn, (x_img,)), os.path.join(OUT, "cnn_bn_train.pt2"))
seq = Dim("seq", min=2, max=64)
with torch.no_grad():
    ep = torch.export.export(enc, (x_seq,), dynamic_shapes={"x": {1: seq}})
torch.export.save(ep, os.path.join(OUT, "encoder_dynamic.pt2"))
torch.export.save(torch.export.export(Branch(), (torch.randn(2, 4),)), os.path.join(OUT, "branch_cond.pt2"))
torch.jit.script(Gate()).save(os.path.join(OUT, "gate_scripted.pt"))

for name in ("cnn_bn_train.pt2", "encoder_dynamic.pt2", "branch_cond.pt2"):
    write(name, pt2_record(os.path.join(OUT, name)))
write("mlp_exported.pt2", pt2_record(os.path.join(ROOT, "mlp_exported.pt2")))
write("gate_scripted.pt", ts_record(os.path.join(OUT, "gate_scripted.pt")))
for name in ("cnn_bn_traced.pt", "cnn_bn_scripted.pt", "encoder_traced.pt", "mlp_gelu_traced.pt"):
    write(name, ts_record(os.path.join(ROOT, name)))
for name in sorted(os.listdir(OUT)):
    print(name, os.path.getsize(os.path.join(OUT, name)))
