#!/usr/bin/env python3
"""Writes the hostile-file corpus for tests/safety.rs with plain Python (pickle, zipfile, struct;
no torch), and OUT/expected.json: the verdict each file must get and, where it matters, text a
finding must contain. Nothing here is ever loaded: the files are only written.

usage: gen/make_corpus.py OUT
"""
import collections
import io
import json
import os
import pickle
import struct
import sys
import types
import zipfile

OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)
EXPECTED = {}


def write(name, data, verdict, **want):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    EXPECTED[name] = dict(verdict=verdict, **want)


def op_str(s):
    """SHORT_BINUNICODE + MEMOIZE."""
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b + b"\x94"


def reduce_pickle(module, name, args, protocol=2):
    """A pickle that calls module.name(*args) when loaded (hand-assembled: nothing is imported)."""
    body = b"c" + module.encode() + b"\n" + name.encode() + b"\n"
    body += pickle.dumps(tuple(args), protocol=2)[2:-1]  # the tuple's opcodes without PROTO/STOP
    body += b"R"
    return b"\x80" + bytes([protocol]) + body + b"."


def stand_in(module, name):
    """A class or function that pickles by the name module.name (never called)."""
    mod = sys.modules.get(module) or types.ModuleType(module)
    sys.modules[module] = mod
    obj = type(name, (), {"__module__": module})
    setattr(mod, name, obj)
    return obj


# A torch.save-shaped state_dict without torch: stand-ins pickle under torch's own names.
def _rebuild_tensor_v2(*a):
    raise RuntimeError("never called")


torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")
_rebuild_tensor_v2.__module__ = "torch._utils"
torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2
FloatStorage = type("FloatStorage", (), {"__module__": "torch"})
torch.FloatStorage = FloatStorage
sys.modules.setdefault("torch", torch)
sys.modules.setdefault("torch._utils", torch_utils)


class Tensor:
    def __init__(self, key, shape):
        self.key, self.shape = key, shape

    def __reduce__(self):
        n = 1
        for d in self.shape:
            n *= d
        return (_rebuild_tensor_v2, (Storage(self.key, n), 0, tuple(self.shape), (1,) * len(self.shape), False, collections.OrderedDict()))


class Storage:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", FloatStorage, obj.key, "cpu", obj.numel)
        return None


def state_dict_pickle(extra=None):
    sd = collections.OrderedDict(w=Tensor("0", [2]))
    if extra is not None:
        sd["extra"] = extra
    buf = io.BytesIO()
    TorchPickler(buf, protocol=2).dump(sd)
    return buf.getvalue()


def torch_zip(data_pkl, extra_members=(), duplicate=None):
    """A torch zip; its members carry a fixed time, so the bytes (which the public scanners
    read as a pickle stream from the first byte) are the same on every run."""
    buf = io.BytesIO()

    def put(z, name, data):
        z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)

    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        put(z, "archive/data.pkl", data_pkl)
        put(z, "archive/byteorder", b"little")
        put(z, "archive/data/0", struct.pack("<2f", 1.0, 2.0))
        put(z, "archive/version", b"3\n")
        for name, data in extra_members:
            put(z, name, data)
        if duplicate is not None:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                put(z, "archive/data.pkl", duplicate)
    return buf.getvalue()


EVIL = reduce_pickle("os", "system", ["echo pwned"])
BENIGN = pickle.dumps({"epoch": 3, "loss": 0.25}, protocol=2)

# --- safe: what torch.load(weights_only=True) accepts
write("safe_state_dict.pt", torch_zip(state_dict_pickle()), "safe")
# A plain pickle is not a torch file: torch.load refuses it ("Invalid magic number"), so it is not safe.
write("plain_dict.pkl", BENIGN, "unsafe_but_known")

# --- dangerous: code runs on load
write("os_system.pkl", EVIL, "dangerous", global_="os.system")
write("eval_builtin.pkl", reduce_pickle("builtins", "eval", ["print(1)"], protocol=4), "dangerous", global_="builtins.eval")
write("subprocess_popen.pkl", reduce_pickle("subprocess", "Popen", [["id"]]), "dangerous", global_="subprocess.Popen")
write("runpy.pkl", reduce_pickle("runpy", "_run_code", ["print(1)", {}]), "dangerous", global_="runpy._run_code")
write("webbrowser.pkl", reduce_pickle("webbrowser", "open", ["http://example.invalid"]), "dangerous")
write("shutil_rmtree.pkl", reduce_pickle("shutil", "rmtree", ["/tmp/x"]), "dangerous")
write("socket.pkl", reduce_pickle("socket", "create_connection", [("example.invalid", 80)]), "dangerous")
write("pip_main.pkl", reduce_pickle("pip", "main", [["install", "x"]]), "dangerous")
write("importlib.pkl", reduce_pickle("importlib", "import_module", ["os"]), "dangerous")
write("ctypes.pkl", reduce_pickle("ctypes", "CDLL", ["libc.so.6"]), "dangerous")
write("code_interact.pkl", reduce_pickle("code", "interact", []), "dangerous")
write("pty_spawn.pkl", reduce_pickle("pty", "spawn", ["/bin/sh"]), "dangerous")
write("builtins_open.pkl", reduce_pickle("builtins", "open", ["/etc/passwd"]), "dangerous")
write("builtins_import.pkl", reduce_pickle("builtins", "__import__", ["os"]), "dangerous")
write("builtins_exec_py2.pkl", reduce_pickle("__builtin__", "exec", ["print(1)"]), "dangerous")

# STACK_GLOBAL whose module and name come from the memo.
sg = b"\x80\x04" + op_str("os") + op_str("system") + b"h\x00h\x01\x93" + b"\x94" + op_str("echo") + b"\x85R."
write("stack_global_memo.pkl", sg, "dangerous", opcode="STACK_GLOBAL")
# getattr(__import__('os'), 'system')('id')
ga = (b"\x80\x02cbuiltins\ngetattr\n" + b"cbuiltins\n__import__\nX\x02\x00\x00\x00os\x85R" + b"X\x06\x00\x00\x00system\x86R"
      + b"X\x02\x00\x00\x00id\x85R.")
write("getattr_chain.pkl", ga, "dangerous", global_="builtins.getattr")
# INST (protocol 0) and OBJ (protocol 1).
write("inst.pkl", b"(S'id'\nisubprocess\ncheck_output\n.", "dangerous", opcode="INST")
write("obj.pkl", b"(cos\nsystem\nX\x02\x00\x00\x00ido.", "dangerous", global_="os.system")
# A global the file does not name: the extension registry.
write("ext_opcode.pkl", b"\x80\x02\x82\x07)R.", "dangerous", opcode="EXT1")
# A REDUCE of os.system, then the file breaks off: the call already ran when the error comes.
write("truncated_after_reduce.pkl", EVIL[:-1] + b"}(", "dangerous", global_="os.system")

# Nested pickles handed to a loader.
write("nested_pickle_loads.pkl", reduce_pickle("pickle", "loads", [EVIL]), "dangerous", member="bytes given to pickle.loads")
bytesio = (b"\x80\x02ctorch\nload\n" + b"c_io\nBytesIO\n" + b"C" + bytes([len(EVIL)]) + EVIL + b"\x85R\x85R.")
write("nested_torch_load.pkl", bytesio, "dangerous", member="bytes given to torch.load")

# Torch zips.
write("zip_evil_data_pkl.pt", torch_zip(EVIL), "dangerous", member="archive/data.pkl")
write("zip_evil_extra_member.pt", torch_zip(state_dict_pickle(), [("archive/helper.pkl", EVIL)]), "dangerous",
      member="archive/helper.pkl", reason="does not read")
write("zip_duplicate_data_pkl.pt", torch_zip(state_dict_pickle(), duplicate=EVIL), "dangerous", reason="more than once")
# Central directory and local header disagree on a member's name.
z = bytearray(torch_zip(state_dict_pickle()))
i = z.find(b"archive/version")  # the local header's copy comes first
z[i:i + 15] = b"archive/versioN"
# torch reads the central directory's names and accepts it; nothing hides there: safe, with a note.
write("zip_header_mismatch.pt", bytes(z), "safe", reason="local header names it")
# A pickle hidden after the STOP of data.pkl.
write("zip_hidden_after_stop.pt", torch_zip(state_dict_pickle() + EVIL), "dangerous", reason="after the STOP")

# A plain pickle hiding a second one after its STOP.
write("hidden_after_stop.pkl", BENIGN + EVIL, "dangerous", reason="after the STOP")
# A misleading suffix: a pickle named .safetensors.
write("misleading.safetensors", EVIL, "dangerous")
# A file that is a pickle and a zip at once: torch reads the benign pickle, zip tools the evil archive.
write("polyglot.pt", BENIGN + torch_zip(EVIL), "dangerous", reason="also a zip archive")

# A legacy torch file whose object pickle runs code.
legacy = (pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2)
          + pickle.dumps({"protocol_version": 1001, "little_endian": True}, protocol=2) + EVIL + pickle.dumps([], protocol=2))
write("legacy_evil_object.pt", legacy, "dangerous", global_="os.system")

# --- unsafe_but_known: classes that only build objects, outside the weights-only allow-list.
Namespace = stand_in("argparse", "Namespace")
ns = Namespace()
ns.lr = 0.1
buf = io.BytesIO()
TorchPickler(buf, protocol=2).dump({"state_dict": collections.OrderedDict(w=Tensor("0", [2])), "args": ns})
write("argparse_namespace.pt", torch_zip(buf.getvalue()), "unsafe_but_known", global_="argparse.Namespace")
Net = stand_in("__main__", "Net")
write("main_class.pt", torch_zip(state_dict_pickle(extra=Net())), "unsafe_but_known", global_="__main__.Net")
scalar = b"\x80\x02cnumpy.core.multiarray\nscalar\ncnumpy\ndtype\nX\x02\x00\x00\x00f8\x85RC\x08" + struct.pack("<d", 1.5) + b"\x86R."
write("numpy_scalar.pkl", scalar, "unsafe_but_known", global_="numpy.core.multiarray.scalar")
write("protocol4_frame.pkl", pickle.dumps({"epoch": 3}, protocol=4), "unsafe_but_known", refusal="FRAME")

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(EXPECTED, f, indent=1, sort_keys=True)
print(f"{len(EXPECTED)} files in {OUT}", file=sys.stderr)
