#!/usr/bin/env python3
"""Writes a Llama-7B-shaped bf16 state_dict as a torch zip file (what torch.save writes), sparse:
the storages are holes, so 13 GB takes no disk. No torch needed: the pickle names torch's globals
through stand-in modules, exactly as torch.save spells them.

usage: gen/make_llama.py OUT [--layers N]
"""
import collections
import io
import pickle
import struct
import sys
import types
import zlib

# Stand-ins so pickle writes GLOBAL torch._utils _rebuild_tensor_v2 and torch BFloat16Storage.
torch = types.ModuleType("torch")
utils = types.ModuleType("torch._utils")


def _rebuild_tensor_v2(*a):
    raise RuntimeError("never called")


class BFloat16Storage:
    pass


_rebuild_tensor_v2.__module__ = "torch._utils"
BFloat16Storage.__module__ = "torch"
utils._rebuild_tensor_v2 = _rebuild_tensor_v2
torch.BFloat16Storage = BFloat16Storage
torch._utils = utils
sys.modules["torch"] = torch
sys.modules["torch._utils"] = utils


class Storage:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


class Tensor:
    def __init__(self, storage, shape):
        self.storage, self.shape = storage, shape

    def __reduce__(self):
        stride, acc = [], 1
        for n in reversed(self.shape):
            stride.insert(0, acc)
            acc *= n
        return (_rebuild_tensor_v2, (self.storage, 0, tuple(self.shape), tuple(stride), False, collections.OrderedDict()))


class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", BFloat16Storage, obj.key, "cpu", obj.numel)
        return None


def llama_shapes(layers=32, d=4096, ff=11008, vocab=32000):
    yield "model.embed_tokens.weight", [vocab, d]
    for i in range(layers):
        p = f"model.layers.{i}."
        for n in ("q_proj", "k_proj", "v_proj", "o_proj"):
            yield p + f"self_attn.{n}.weight", [d, d]
        yield p + "mlp.gate_proj.weight", [ff, d]
        yield p + "mlp.up_proj.weight", [ff, d]
        yield p + "mlp.down_proj.weight", [d, ff]
        yield p + "input_layernorm.weight", [d]
        yield p + "post_attention_layernorm.weight", [d]
    yield "model.norm.weight", [d]
    yield "lm_head.weight", [vocab, d]


def main():
    out = sys.argv[1]
    layers = int(sys.argv[sys.argv.index("--layers") + 1]) if "--layers" in sys.argv else 32
    sd = collections.OrderedDict()
    sizes = []
    for i, (name, shape) in enumerate(llama_shapes(layers)):
        numel = 1
        for n in shape:
            numel *= n
        sd[name] = Tensor(Storage(str(i), numel), shape)
        sizes.append(numel * 2)
    buf = io.BytesIO()
    Pickler(buf, protocol=2).dump(sd)

    crc_cache = {}

    def zero_crc(n):
        # CRC-32 of n zero bytes, in 1 MiB steps (cached per size).
        if n not in crc_cache:
            c, block = 0, bytes(1 << 20)
            left = n
            while left:
                k = min(left, len(block))
                c = zlib.crc32(block[:k] if k < len(block) else block, c)
                left -= k
            crc_cache[n] = c
        return crc_cache[n]

    members = [("archive/data.pkl", buf.getvalue(), None), ("archive/byteorder", b"little", None)]
    members += [(f"archive/data/{i}", None, n) for i, n in enumerate(sizes)]
    members += [("archive/version", b"3\n", None)]

    central = []
    with open(out, "wb") as f:
        pos = 0
        for name, data, size in members:
            nb = name.encode()
            size = len(data) if data is not None else size
            crc = zlib.crc32(data) if data is not None else zero_crc(size)
            # Pad the extra field so data starts on a 64-byte boundary, as torch does.
            header_len = 30 + len(nb) + 4
            pad = (-(pos + header_len)) % 64
            extra = struct.pack("<HH", 0x4B46, pad) + bytes(pad)
            f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, size, size, len(nb), len(extra)))
            f.write(nb + extra)
            if data is not None:
                f.write(data)
            else:
                f.seek(size, 1)
            central.append((nb, crc, size, pos))
            pos = f.tell()
        cd_start = pos
        for nb, crc, size, off in central:
            z64 = struct.pack("<HHQ", 0x0001, 8, off) if off >= 0xFFFFFFFF else b""
            f.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc, size, size, len(nb), len(z64), 0, 0, 0, 0,
                                min(off, 0xFFFFFFFF)))
            f.write(nb + z64)
        cd_end = f.tell()
        n = len(central)
        f.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, cd_end - cd_start, cd_start))
        f.write(struct.pack("<IIQI", 0x07064B50, 0, cd_end, 1))
        f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))
    total = sum(sizes)
    print(f"{out}: {len(sizes)} tensors, {total} bytes of bf16 storage", file=sys.stderr)


if __name__ == "__main__":
    main()
