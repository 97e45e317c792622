#!/usr/bin/env python3
"""Writes ordinary model files the way people make them with torch 2.15 (random weights, small),
and torch's own answer on each: whether `torch.load(path, weights_only=True)` accepts it.
tests/safety.rs checks that none of them is `dangerous` and that `safe` agrees with torch.

Needs torch (a virtualenv, not CI): python gen/make_real_models.py OUT_DIR   (the committed copy: tests/real)
Each load runs in its own subprocess, in a scratch folder, with weights_only=True only.
"""
import json, os, subprocess, sys, tempfile
import torch
import torch.nn as nn

OUT = sys.argv[1]
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


def mlp():
    return nn.Sequential(nn.Linear(6, 8), nn.GELU(), nn.Linear(8, 3), nn.Softmax(dim=-1))


files = {}
cnn, enc, m = CNN().eval(), Encoder().eval(), mlp().eval()
x_img, x_seq, x_vec = torch.randn(1, 3, 8, 8), torch.randn(1, 5, 16), torch.randn(2, 6)
with torch.no_grad():
    torch.jit.trace(cnn, x_img).save(f"{OUT}/cnn_bn_traced.pt")
    torch.jit.script(cnn).save(f"{OUT}/cnn_bn_scripted.pt")
    torch.jit.trace(m, x_vec).save(f"{OUT}/mlp_gelu_traced.pt")
    torch.jit.trace(enc, x_seq, check_trace=False).save(f"{OUT}/encoder_traced.pt")
torch.save(cnn.state_dict(), f"{OUT}/cnn_bn_state_dict.pt")
torch.save(cnn, f"{OUT}/cnn_bn_entire.pt")
torch.save(enc, f"{OUT}/encoder_entire.pt")
opt = torch.optim.SGD(cnn.parameters(), lr=0.1, momentum=0.9)
cnn.train()
loss = cnn(x_img).sum()
loss.backward()
opt.step()
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1)
torch.save({"epoch": 3, "model": cnn.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
            "loss": loss.detach(), "hparams": {"lr": 0.1, "layers": [8, 4], "name": "cnn"}}, f"{OUT}/cnn_train_checkpoint.pt")
torch.save(enc.state_dict(), f"{OUT}/encoder_state_dict.pt", _use_new_zipfile_serialization=False)
torch.save({"w": torch.randn(3, dtype=torch.bfloat16), "ids": torch.arange(4), "mask": torch.ones(2, dtype=torch.bool),
            "c": torch.randn(2, dtype=torch.complex64), "t": (1, 2.5, "x", None, True)}, f"{OUT}/mixed_values.pt")
torch.save({"z": torch.tensor([1 + 2j, -0.5 + 0.25j, 3 - 1j], dtype=torch.complex64).to(torch.bcomplex32)}, f"{OUT}/bcomplex32.pt")
ep = torch.export.export(m, (x_vec,))
torch.export.save(ep, f"{OUT}/mlp_exported.pt2")

code = ("import torch,sys\n"
        "try:\n torch.load(sys.argv[1], weights_only=True); print('ACCEPT')\n"
        "except BaseException as e:\n print('REFUSE', (str(e).splitlines() or [''])[0][:200])\n")
answers = {}
for name in sorted(os.listdir(OUT)):
    if name.endswith((".json", ".py")):
        continue
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([sys.executable, "-c", code, os.path.abspath(f"{OUT}/{name}")], cwd=tmp, capture_output=True, text=True, timeout=120)
    said = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "REFUSE " + r.stderr.strip()[-200:]
    answers[name] = {"weights_only": said.startswith("ACCEPT"), "said": said}
    print(name, said[:100])
with open(f"{OUT}/torch_answers.json", "w") as f:
    json.dump({"torch": torch.__version__.split("+")[0], "files": answers}, f, indent=1)
