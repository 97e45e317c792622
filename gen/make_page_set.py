#!/usr/bin/env python3
"""Writes the kinds of files the page is timed on beside Netron (bench/vs-netron.mjs --set DIR)
that the committed fixtures do not cover, as torch 2.15 writes them (random weights, seed 0):

  lightning.ckpt          a Lightning-style training checkpoint: state_dict, epoch, global_step,
                          optimizer_states (Adam), lr_schedulers, hyper_parameters, callbacks
  mobilenet_v3_small.pth  torchvision MobileNetV3-small's state_dict
  gpt2_tiny.bin           a GPT-2 with 2 layers of 64 (transformers), torch.save'd state_dict
  squeezenet_traced.pt    torchvision SqueezeNet 1.1, torch.jit.trace'd
  mobilenet_v3_small.onnx the same MobileNetV3-small through torch.onnx.export (TorchScript-based)

usage: /work/torchenv/bin/python gen/make_page_set.py OUT   (needs torch, torchvision, transformers, onnx)
"""
import os
import sys

import torch
import torchvision
import transformers


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)

    net = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net(torch.randn(4, 32)).sum().backward()
    opt.step()
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10)
    torch.save({
        "epoch": 3, "global_step": 1200, "pytorch-lightning_version": "2.5.0",
        "state_dict": {f"model.{k}": v for k, v in net.state_dict().items()},
        "loops": {"fit_loop": {"epoch_progress": {"total": {"ready": 4, "completed": 3}}}},
        "callbacks": {"ModelCheckpoint{'monitor': 'val_loss'}": {"best_model_score": torch.tensor(0.25), "best_model_path": "epoch=2.ckpt"}},
        "optimizer_states": [opt.state_dict()], "lr_schedulers": [sched.state_dict()],
        "hyper_parameters": {"lr": 1e-3, "hidden": 64, "layers": [32, 64, 10]},
    }, os.path.join(out, "lightning.ckpt"))

    mobilenet = torchvision.models.mobilenet_v3_small(weights=None).eval()
    torch.save(mobilenet.state_dict(), os.path.join(out, "mobilenet_v3_small.pth"))
    torch.onnx.export(mobilenet, (torch.randn(1, 3, 224, 224),), os.path.join(out, "mobilenet_v3_small.onnx"), dynamo=False)

    gpt2 = transformers.GPT2LMHeadModel(transformers.GPT2Config(n_layer=2, n_embd=64, n_head=2, vocab_size=1000, n_positions=128, bos_token_id=999, eos_token_id=999))
    torch.save(gpt2.state_dict(), os.path.join(out, "gpt2_tiny.bin"))

    squeezenet = torchvision.models.squeezenet1_1(weights=None).eval()
    torch.jit.trace(squeezenet, torch.randn(1, 3, 224, 224)).save(os.path.join(out, "squeezenet_traced.pt"))
    for name in sorted(os.listdir(out)):
        print(f"{os.path.getsize(os.path.join(out, name)):>10}  {name}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target/page-set")
