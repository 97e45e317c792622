"""Grammar-based generator of torch-shaped pickles (plain Python: nothing is ever loaded or imported).

`generate(rng)` returns (bytes, suffix, tags): a random file in one of torch.save's shapes (a zip
with `<prefix>/data.pkl`, `<prefix>/data/<key>` storages, `version`, `byteorder` ...; or the
legacy format: magic-number pickle, protocol 1001, sys_info, the object, storage keys, raw
storages; rarely a bare pickle). The object pickle is built from torch's allowed globals
(collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch.FloatStorage, builtins.set ...)
with, in about 40% of files, one or two "faults" (opcodes torch does not accept, containers used
wrongly, storages that do not fit, harmless made-up globals such as `marker_module.marker`) and,
sometimes, "edges" (legal but unusual forms whose answer only torch can give).

tags: a list of strings naming the structure, faults (`fault:...`) and edges (`edge:...`) used;
the runner groups disagreements by them.
"""
import struct
import zlib

# ---- opcodes --------------------------------------------------------------------------------
MARK, STOP, POP, POP_MARK, DUP = b"(", b".", b"0", b"1", b"2"
BININT, BININT1, BININT2, LONG1, LONG4 = b"J", b"K", b"M", b"\x8a", b"\x8b"
NONE, NEWTRUE, NEWFALSE = b"N", b"\x88", b"\x89"
BINFLOAT = b"G"
BINUNICODE, SHORT_BINUNICODE, BINUNICODE8 = b"X", b"\x8c", b"\x8d"
SHORT_BINSTRING, BINSTRING = b"U", b"T"
BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8 = b"B", b"C", b"\x8e", b"\x96"
EMPTY_TUPLE, TUPLE, TUPLE1, TUPLE2, TUPLE3 = b")", b"t", b"\x85", b"\x86", b"\x87"
EMPTY_LIST, APPEND, APPENDS, LIST = b"]", b"a", b"e", b"l"
EMPTY_DICT, SETITEM, SETITEMS, DICT = b"}", b"s", b"u", b"d"
EMPTY_SET, ADDITEMS, FROZENSET = b"\x8f", b"\x90", b"\x91"
GLOBAL, STACK_GLOBAL = b"c", b"\x93"
REDUCE, BUILD, NEWOBJ, NEWOBJ_EX, INST, OBJ = b"R", b"b", b"\x81", b"\x92", b"i", b"o"
BINPERSID, PERSID = b"Q", b"P"
BINGET, LONG_BINGET, GET = b"h", b"j", b"g"
BINPUT, LONG_BINPUT, PUT, MEMOIZE = b"q", b"r", b"p", b"\x94"
PROTO, FRAME = b"\x80", b"\x95"
EXT1, NEXT_BUFFER, READONLY_BUFFER = b"\x82", b"\x97", b"\x98"

# storage class -> element size
STORAGES = {
    "FloatStorage": 4, "DoubleStorage": 8, "HalfStorage": 2, "BFloat16Storage": 2, "LongStorage": 8,
    "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1, "ByteStorage": 1, "BoolStorage": 1,
    "ComplexFloatStorage": 8, "ComplexDoubleStorage": 16,
}
FLOAT_STORAGES = {"FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage", "ComplexFloatStorage", "ComplexDoubleStorage"}
DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool",
          "complex64", "complex128", "float8_e4m3fn", "float8_e5m2", "uint16", "uint32", "uint64",
          "uint3", "int5", "bcomplex32"]
MARKERS = [("marker_module", "marker"), ("marker_module.sub", "Marker"), ("__main__", "Marker"),
           ("builtins", "marker"), ("torch.marker_module", "marker"), ("marker_module", "load")]


def long_bytes(n):
    """Two's-complement little-endian bytes, as pickle's encode_long."""
    if n == 0:
        return b""
    nbytes = (n.bit_length() >> 3) + 1
    b = n.to_bytes(nbytes, "little", signed=True)
    if n < 0 and nbytes > 1 and b[-1] == 0xFF and (b[-2] & 0x80) != 0:
        b = b[:-1]
    return b


def op_int(n, how=None):
    """An int with the encoding pickle would choose (or `how`)."""
    if isinstance(n, bool):
        return NEWTRUE if n else NEWFALSE
    if how == "long1" or not (-(2 ** 31) <= n < 2 ** 31):
        b = long_bytes(n)
        return LONG1 + bytes([len(b)]) + b
    if how == "binint" or n < 0:
        return BININT + struct.pack("<i", n)
    if n < 256 and how != "binint2":
        return BININT1 + bytes([n])
    if n < 65536:
        return BININT2 + struct.pack("<H", n)
    return BININT + struct.pack("<i", n)


def op_str(s, how="binunicode"):
    b = s.encode("utf-8", "surrogatepass") if isinstance(s, str) else s
    if how == "short_binstring" and len(b) < 256:
        return SHORT_BINSTRING + bytes([len(b)]) + b
    return BINUNICODE + struct.pack("<I", len(b)) + b


def op_global(module, name, eol=b"\n"):
    return GLOBAL + module.encode() + eol + name.encode() + eol


class Pickler:
    """Emits one pickle: values built from allowed globals, with the faults and edges asked for."""

    def __init__(self, rng, legacy, faults, edges):
        self.rng = rng
        self.legacy = legacy
        self.out = bytearray()
        self.memo = {}  # index -> hashable?
        self.next_memo = 0
        self.faults = list(faults)  # still to inject
        self.edges = set(edges)
        self.tags = []
        self.storages = {}  # key -> [class, numel, data]
        self.storage_memo = {}  # key -> memo index of its storage object
        self.depth_budget = rng.randint(3, 5)
        self.n_values = 0
        self._global_memo = {}
        self.open = set()  # memo indices of containers still being filled (a BINGET of one makes a cycle)
        self.last_cls = None

    # -- low level
    def w(self, b):
        self.out += b

    def put(self, hashable=True, force=False):
        if force or self.rng.random() < 0.5:
            i = self.next_memo
            self.next_memo += 1
            if "long_binput" in self.edges and self.rng.random() < 0.3:
                self.w(LONG_BINPUT + struct.pack("<I", i))
            elif i < 256:
                self.w(BINPUT + bytes([i]))
            else:
                self.w(LONG_BINPUT + struct.pack("<I", i))
            self.memo[i] = hashable
            return i
        return None

    def tag(self, t):
        if t not in self.tags:
            self.tags.append(t)

    # -- scalars
    def scalar(self, hashable_only=False):
        r = self.rng
        k = r.randrange(10)
        if k == 0:
            self.w(NONE)
        elif k == 1:
            self.w(r.choice([NEWTRUE, NEWFALSE]))
        elif k <= 4:
            n = r.choice([r.randrange(256), r.randrange(65536), r.randrange(-2 ** 31, 2 ** 31),
                          r.randrange(-2 ** 70, 2 ** 70), 0, -1])
            self.w(op_int(n, r.choice([None, None, None, "long1", "binint"])))
        elif k == 5:
            f = r.choice([0.0, -1.5, 1e300, float("inf"), float("nan"), r.random()])
            self.w(BINFLOAT + struct.pack(">d", f))
        else:
            self.w(op_str(self.text(), r.choice(["binunicode"] * 4 + ["short_binstring"])))
        self.put()
        return True

    def text(self):
        r = self.rng
        k = r.randrange(8)
        if k == 0:
            return ""
        if k == 1:
            return "".join(r.choice("αβγ€𝔘") for _ in range(r.randint(1, 4)))
        if k == 2 and "surrogate" in self.edges:
            self.tag("edge:surrogate")
            return "a\ud800b"
        return r.choice(["weight", "bias", "epoch", "state", "lr", "fc1.weight", "layer.0.bias", "x" * r.randint(1, 300),
                         "storage", "cpu", "module", "0", "step", "param_groups"])

    def key(self):
        """A dict key: hashable."""
        r = self.rng
        if self.memo and r.random() < 0.1:
            idx = [i for i, h in self.memo.items() if h and i not in self.open]
            if idx:
                self.get(r.choice(idx))
                return
        if r.random() < 0.8:
            self.w(op_str(self.text()))
            self.put()
        elif r.random() < 0.5:
            self.scalar()
        else:
            self.scalar()
            self.scalar()
            self.w(TUPLE2)
            self.put()

    def get(self, i):
        if i < 256 and self.rng.random() < 0.8:
            self.w(BINGET + bytes([i]))
        else:
            self.w(LONG_BINGET + struct.pack("<I", i))

    # -- values
    def value(self, depth=0):
        r = self.rng
        self.n_values += 1
        if self.faults and r.random() < 0.12:
            f = self.faults.pop(0)
            FAULTS[f](self)
            self.tag("fault:" + f)
            return
        done = [i for i in self.memo if i not in self.open]
        if done and r.random() < 0.06:
            self.get(r.choice(done))
            return
        if depth >= self.depth_budget:
            return self.scalar() if r.random() < 0.6 else self.tensor()
        k = r.randrange(100)
        if k < 25:
            self.tensor()
        elif k < 45:
            self.scalar()
        elif k < 55:
            self.dict_(depth)
        elif k < 62:
            self.odict(depth)
        elif k < 70:
            self.list_(depth)
        elif k < 77:
            self.tuple_(depth)
        else:
            self.special(depth)

    def items(self, depth, n, kv):
        for _ in range(n):
            if kv:
                self.key()
            self.value(depth + 1)

    def fill_dict(self, depth, n=None):
        r = self.rng
        n = r.randint(0, 6) if n is None else n
        while n > 0:
            if r.random() < 0.3:
                self.key()
                self.value(depth + 1)
                self.w(SETITEM)
                n -= 1
            else:
                m = r.randint(1, min(n, 5))
                self.w(MARK)
                self.items(depth, m, True)
                self.w(SETITEMS)
                n -= m

    def dict_(self, depth, n=None):
        self.w(EMPTY_DICT)
        i = self.put(False)
        self.open.add(i)
        self.fill_dict(depth, n)
        self.open.discard(i)

    def odict(self, depth, n=None, cls="OrderedDict"):
        r = self.rng
        self.w(op_global("collections", cls))
        self.put()
        how = r.randrange(10)
        if how < 7:
            self.w(EMPTY_TUPLE + REDUCE)
        elif how < 9:
            self.w(EMPTY_TUPLE + NEWOBJ)
            self.tag("newobj:" + cls)
        else:
            self.w(EMPTY_LIST + TUPLE1 + REDUCE)  # OrderedDict([])
        i = self.put(False)
        self.open.add(i)
        self.fill_dict(depth, n)
        self.open.discard(i)
        if "build_odict" in self.edges and r.random() < 0.5:
            self.tag("edge:build_odict")
            self.w(EMPTY_DICT)
            self.w(op_str("_metadata"))
            self.w(EMPTY_DICT)
            self.w(SETITEM + BUILD)

    def list_(self, depth):
        r = self.rng
        self.w(EMPTY_LIST)
        i = self.put(False)
        self.open.add(i)
        n = r.randint(0, 6)
        while n > 0:
            if r.random() < 0.3:
                self.value(depth + 1)
                self.w(APPEND)
                n -= 1
            else:
                m = r.randint(1, min(n, 5))
                self.w(MARK)
                self.items(depth, m, False)
                self.w(APPENDS)
                n -= m
        self.open.discard(i)

    def tuple_(self, depth):
        r = self.rng
        n = r.randint(0, 5)
        if n == 0:
            self.w(EMPTY_TUPLE)
        elif n <= 3 and r.random() < 0.7:
            self.items(depth, n, False)
            self.w([TUPLE1, TUPLE2, TUPLE3][n - 1])
        else:
            self.w(MARK)
            self.items(depth, n, False)
            self.w(TUPLE)
        self.put(False)

    def special(self, depth):
        r = self.rng
        k = r.randrange(12)
        if k == 0:  # set
            if "empty_set" in self.edges and r.random() < 0.5:
                self.tag("edge:empty_set")
                self.w(EMPTY_SET)
            else:
                mod = "builtins"
                if "builtin_mapping" in self.edges:
                    self.tag("edge:__builtin__.set")
                    mod = "__builtin__"
                self.w(op_global(mod, "set"))
                self.w(EMPTY_LIST)
                self.w(MARK)
                for _ in range(r.randint(0, 3)):
                    self.scalar()
                self.w(APPENDS + TUPLE1 + REDUCE)
            self.put(False)
        elif k == 1:  # bytes
            self.w(op_global("_codecs", "encode"))
            self.w(op_str("".join(chr(r.randrange(256)) for _ in range(r.randint(0, 20)))))
            self.w(op_str("latin1") + TUPLE2 + REDUCE)
            self.put()
        elif k == 2:  # bytearray
            self.w(op_global("builtins", "bytearray"))
            if r.random() < 0.5:
                self.w(EMPTY_TUPLE)
            else:
                self.w(op_global("_codecs", "encode") + op_str("abc") + op_str("latin1") + TUPLE2 + REDUCE + TUPLE1)
            self.w(REDUCE)
            self.put(False)
        elif k == 3:  # complex
            self.w(op_global("builtins", "complex"))
            self.w(BINFLOAT + struct.pack(">d", r.random()) + BINFLOAT + struct.pack(">d", -2.0) + TUPLE2 + REDUCE)
            self.put()
        elif k == 4:  # torch.Size
            self.w(op_global("torch", "Size"))
            self.w(MARK)
            for _ in range(r.randint(0, 4)):
                self.w(op_int(r.randrange(10)))
            self.w(TUPLE + TUPLE1)
            self.w(REDUCE if r.random() < 0.8 else NEWOBJ)
            self.put()
        elif k == 5:  # dtype
            self.w(op_global("torch", r.choice(DTYPES)))
            self.put()
        elif k == 6:  # device
            self.w(op_global("torch", "device"))
            self.w(op_str(r.choice(["cpu", "cpu", "meta", "cuda", "cuda:1"])) + TUPLE1 + REDUCE)
            self.put()
        elif k == 7:  # layout
            self.w(op_global("torch.serialization", "_get_layout"))
            self.w(op_str(r.choice(["torch.strided", "torch.sparse_coo", "torch.sparse_csr"])) + TUPLE1 + REDUCE)
            self.put()
        elif k == 8:  # qscheme
            self.w(op_global("torch", r.choice(["per_tensor_affine", "per_channel_affine", "per_tensor_symmetric"])))
            self.put()
        elif k == 9:  # Counter
            self.odict(depth, cls="Counter")
        elif k == 10:  # state_dict-ish checkpoint
            self.dict_(depth)
        else:
            self.tensor(kind="param")

    # -- tensors
    def storage(self, want_extent=None, reuse=True):
        """Pushes a storage (persistent id); returns (key, class, numel)."""
        r = self.rng
        usable = [k for k, v in self.storages.items() if len(v) == 3]
        if reuse and usable and r.random() < 0.25:
            key = r.choice(usable)
            cls, numel = self.storages[key][:2]
            if key in self.storage_memo and r.random() < 0.6:
                self.get(self.storage_memo[key])
                return key, cls, numel
        else:
            key = str(len(self.storages)) if r.random() < 0.9 else r.choice(["k", "abc", "01", "-1", "1e3", "x y"])
            if key in self.storages:
                key = str(len(self.storages)) + "_"
            cls = r.choice(list(STORAGES))
            numel = (want_extent or 0) + (r.randint(0, 3) if r.random() < 0.3 else 0)
            data = bytes(r.randrange(256) for _ in range(numel * STORAGES[cls])) if numel < 4096 else bytes(numel * STORAGES[cls])
            self.storages[key] = [cls, numel, data]
        self.w(MARK)
        self.w(op_str("storage"))
        self.put()
        self.w(op_global("torch", cls))
        self.put()
        self.w(op_str(key))
        self.put()
        loc = "cpu"
        if "location" in self.edges and r.random() < 0.5:
            loc = r.choice(["meta", "cuda:0", "CPU", "cpu:0"])
            self.tag("edge:location:" + loc)
        self.w(op_str(loc))
        self.put()
        self.w(op_int(numel))
        if self.legacy:
            self.w(NONE)
        self.w(TUPLE)
        self.put()
        self.w(BINPERSID)
        i = self.put(force=True)
        self.storage_memo.setdefault(key, i)
        return key, cls, numel

    def shape(self, numel_max=None):
        r = self.rng
        ndim = r.choice([0, 1, 1, 2, 2, 2, 3, 4])
        size = [r.choice([0, 1, 1, 2, 3, 4, 5, 7]) if r.random() < 0.9 else r.randint(8, 40) for _ in range(ndim)]
        # contiguous strides, sometimes permuted or padded
        stride, acc = [], 1
        for s in reversed(size):
            stride.insert(0, acc)
            acc *= max(s, 1)
        if ndim >= 2 and r.random() < 0.2:
            i, j = r.sample(range(ndim), 2)
            size[i], size[j] = size[j], size[i]
            stride[i], stride[j] = stride[j], stride[i]
        if r.random() < 0.1:
            stride = [s * 2 for s in stride]
        offset = r.choice([0, 0, 0, 1, 3])
        extent = 0 if any(s == 0 for s in size) else offset + 1 + sum((s - 1) * st for s, st in zip(size, stride))
        if extent > 20000:
            return self.shape()
        return size, stride, offset, extent

    def ints_tuple(self, xs):
        if len(xs) == 0:
            self.w(EMPTY_TUPLE)
        elif len(xs) <= 3 and self.rng.random() < 0.7:
            for x in xs:
                self.w(op_int(x))
            self.w([TUPLE1, TUPLE2, TUPLE3][len(xs) - 1])
        else:
            self.w(MARK)
            for x in xs:
                self.w(op_int(x))
            self.w(TUPLE)
        self.put(False)

    def requires_grad(self, inner=False):
        """torch.save writes requires_grad False inside a Parameter; True only on float tensors."""
        r = self.rng.random()
        if inner and r < 0.97:
            self.w(NEWFALSE)
        elif self.last_cls in FLOAT_STORAGES and r < 0.25:
            self.w(NEWTRUE)
        elif r < 0.03:
            self.w(NEWTRUE)
            self.tag("edge:requires_grad_nonfloat" if self.last_cls not in FLOAT_STORAGES else "edge:requires_grad_inner")
        else:
            self.w(NEWFALSE)

    def hooks(self):
        self.w(op_global("collections", "OrderedDict"))
        self.put()
        self.w(EMPTY_TUPLE + REDUCE)
        self.put(False)

    def tensor(self, kind=None, inner=False):
        r = self.rng
        kind = kind or r.choice(["v2"] * 10 + ["param"] * 3 + ["v3", "v1", "meta", "from_type", "newobj_param", "param_state"])
        self.tag("tensor:" + kind)
        if kind == "meta":
            self.w(op_global("torch._utils", "_rebuild_meta_tensor_no_storage"))
            self.put()
            size, stride, _, _ = self.shape()
            self.w(MARK + op_global("torch", r.choice(DTYPES[:10])))
            self.ints_tuple(size)
            self.ints_tuple(stride)
            self.w(NEWFALSE + TUPLE + REDUCE)
            self.put()
            return
        if kind in ("param", "newobj_param", "param_state"):
            if kind == "newobj_param":
                self.w(op_global("torch.nn.parameter", "Parameter"))
                self.put()
                self.w(MARK)
                self.tensor("v2", inner=True)
                self.requires_grad()
                self.w(TUPLE + NEWOBJ)
            else:
                fn = "_rebuild_parameter" if kind == "param" else "_rebuild_parameter_with_state"
                self.w(op_global("torch._utils", fn))
                self.put()
                self.w(MARK)
                self.tensor("v2", inner=True)
                self.requires_grad()
                self.hooks()
                if kind == "param_state":
                    self.w(EMPTY_DICT)
                self.w(TUPLE + REDUCE)
            self.put()
            return
        if kind == "from_type":
            self.w(op_global("torch._tensor", "_rebuild_from_type_v2"))
            self.put()
            self.w(MARK + op_global("torch._utils", "_rebuild_tensor_v2"))
            self.w(op_global("torch", "Tensor"))
            self.tensor_args("v2")
            self.w(EMPTY_DICT + TUPLE + REDUCE)
            self.put()
            return
        fn = {"v2": "_rebuild_tensor_v2", "v3": "_rebuild_tensor_v3", "v1": "_rebuild_tensor"}[kind]
        if fn in self._global_memo and r.random() < 0.7:
            self.get(self._global_memo[fn])
        else:
            self.w(op_global("torch._utils", fn))
            i = self.put()
            if i is not None:
                self._global_memo[fn] = i
        self.tensor_args(kind, inner)
        self.w(REDUCE)
        self.put()

    def tensor_args(self, kind, inner=False):
        r = self.rng
        size, stride, offset, extent = self.shape()
        self.w(MARK)
        key, cls, numel = self.storage(extent)
        if numel < extent:  # reused storage too small: shrink the view to fit
            size, stride, offset = [numel], [1], 0
            if numel == 0:
                size = [0]
        self.w(op_int(offset))
        self.ints_tuple(size)
        self.ints_tuple(stride)
        self.last_cls = cls
        if kind == "v3":  # torch's _rebuild_tensor_v3 cannot set_() a leaf that requires grad: rarely True
            if r.random() < 0.05:
                self.tag("edge:v3_requires_grad")
                self.w(NEWTRUE)
            else:
                self.w(NEWFALSE)
            self.hooks()
        elif kind != "v1":
            self.requires_grad(inner)
            self.hooks()
        if kind == "v3":
            dt = {"FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
                  "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16",
                  "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool", "ComplexFloatStorage": "complex64",
                  "ComplexDoubleStorage": "complex128"}[cls]
            self.w(op_global("torch", dt))
        self.w(TUPLE)
        self.put(False)

    # -- whole pickle
    def top(self, state_dict):
        r = self.rng
        if state_dict:
            self.tag("top:state_dict")
            if r.random() < 0.5:
                self.w(op_global("collections", "OrderedDict"))
                self.put()
                self.w(EMPTY_TUPLE + REDUCE)
            else:
                self.w(EMPTY_DICT)
            self.open.add(self.put(False))
            n = r.randint(1, 8)
            self.w(MARK)
            for i in range(n):
                self.w(op_str(r.choice(["fc", "conv", "layer.%d" % i, "bn"]) + "." + r.choice(["weight", "bias", "running_mean"]) + str(i)))
                self.put()
                self.tensor()
            while self.faults:
                self.key()
                f = self.faults.pop(0)
                FAULTS[f](self)
                self.tag("fault:" + f)
            self.w(SETITEMS)
        else:
            k = r.randrange(10)
            if k < 7:
                self.tag("top:dict")
                self.w(EMPTY_DICT)
                self.open.add(self.put(False))
                self.fill_dict(0, r.randint(1, 8))
                while self.faults:
                    self.key()
                    f = self.faults.pop(0)
                    FAULTS[f](self)
                    self.tag("fault:" + f)
                    self.w(SETITEM)
            else:
                self.tag("top:list")
                self.w(EMPTY_LIST)
                self.open.add(self.put(False))
                self.w(MARK)
                for _ in range(r.randint(0, 5)):
                    self.value(1)
                while self.faults:
                    f = self.faults.pop(0)
                    FAULTS[f](self)
                    self.tag("fault:" + f)
                self.w(APPENDS)


# ---- faults: each pushes one value (a form torch does not accept) ------------------------------
def _s(p, s="abc"):
    p.w(op_str(s))


def _marker(p):
    return p.rng.choice(MARKERS)


def f_tensor_oob(p):
    p.w(op_global("torch._utils", "_rebuild_tensor_v2") + MARK)
    key, cls, numel = p.storage(4, reuse=False)
    p.w(op_int(0))
    p.ints_tuple([numel + 1 + p.rng.randrange(3)])
    p.ints_tuple([1])
    p.w(NEWFALSE)
    p.hooks()
    p.w(TUPLE + REDUCE)


def f_tensor_negative(p):
    p.w(op_global("torch._utils", "_rebuild_tensor_v2") + MARK)
    p.storage(4, reuse=False)
    which = p.rng.randrange(3)
    p.w(op_int(-1 if which == 0 else 0))
    p.ints_tuple([-2] if which == 1 else [2])
    p.w(op_int(-1 if which == 2 else 1) + TUPLE1)
    p.w(NEWFALSE)
    p.hooks()
    p.w(TUPLE + REDUCE)


def f_storage_numel_mismatch(p):
    # the pid says numel+1, the record holds numel elements
    key, cls, numel = p.storage(3, reuse=False)
    p.storages[key][2] = p.storages[key][2][:-STORAGES[cls]] if p.rng.random() < 0.5 else p.storages[key][2] + b"\0" * STORAGES[cls]


def f_storage_missing(p):
    key, cls, numel = p.storage(2, reuse=False)
    p.storages[key].append("missing")


def f_persid(p, what):
    r = p.rng
    if what == "int":
        p.w(op_int(0) + BINPERSID)
    elif what == "str":
        p.w(op_str("storage") + BINPERSID)
    elif what == "module":
        p.w(MARK + op_str("module") + op_global("collections", "OrderedDict") + op_str("x") + op_str("") + TUPLE + BINPERSID)
    elif what == "arity":
        p.w(MARK + op_str("storage") + op_global("torch", "FloatStorage") + op_str("0") + op_str("cpu") + TUPLE + BINPERSID)
    elif what == "text":
        p.w(PERSID + b"0\n")
    elif what == "bad_class":
        p.storages["bad"] = ["FloatStorage", 1, b"\0" * 4]
        p.w(MARK + op_str("storage") + op_global("collections", "OrderedDict") + op_str("bad") + op_str("cpu") + op_int(1)
            + (NONE if p.legacy else b"") + TUPLE + BINPERSID)


FAULTS = {
    "short_binunicode": lambda p: p.w(SHORT_BINUNICODE + b"\x03abc"),
    "binunicode8": lambda p: p.w(BINUNICODE8 + struct.pack("<Q", 3) + b"abc"),
    "unicode_text": lambda p: p.w(b"Vabc\n"),
    "string_text": lambda p: p.w(b"S'abc'\n"),
    "binstring": lambda p: p.w(BINSTRING + struct.pack("<i", 3) + b"abc"),
    "short_binstring_bad_utf8": lambda p: p.w(SHORT_BINSTRING + b"\x02\xff\xfe"),
    "binunicode_bad_utf8": lambda p: p.w(BINUNICODE + struct.pack("<I", 2) + b"\xff\xfe"),
    "binbytes": lambda p: p.w(BINBYTES + struct.pack("<I", 3) + b"abc"),
    "short_binbytes": lambda p: p.w(SHORT_BINBYTES + b"\x03abc"),
    "binbytes8": lambda p: p.w(BINBYTES8 + struct.pack("<Q", 3) + b"abc"),
    "bytearray8": lambda p: p.w(BYTEARRAY8 + struct.pack("<Q", 3) + b"abc"),
    "long4": lambda p: p.w(LONG4 + struct.pack("<i", 2) + b"\x01\x02"),
    "int_text": lambda p: p.w(b"I12345\n"),
    "int_text_bool": lambda p: p.w(b"I01\n"),
    "long_text": lambda p: p.w(b"L12345L\n"),
    "float_text": lambda p: p.w(b"F1.5\n"),
    "dup_pop": lambda p: (p.scalar(), p.w(DUP + POP)),
    "dup_tuple2": lambda p: (p.scalar(), p.w(DUP + TUPLE2)),
    "pop": lambda p: (p.scalar(), p.scalar(), p.w(POP)),
    "pop_mark": lambda p: (p.w(MARK), p.scalar(), p.scalar(), p.w(POP_MARK), p.scalar()),
    "empty_set_additems": lambda p: (p.w(EMPTY_SET + MARK), p.w(op_int(1) + op_int(2)), p.w(ADDITEMS)),
    "frozenset_op": lambda p: p.w(MARK + op_int(1) + FROZENSET),
    "list_op": lambda p: p.w(MARK + op_int(1) + op_int(2) + LIST),
    "dict_op": lambda p: p.w(MARK + op_str("k") + op_int(2) + DICT),
    "inst_op": lambda p: p.w(MARK + INST + b"collections\nOrderedDict\n"),
    "obj_op": lambda p: p.w(MARK + op_global("collections", "OrderedDict") + OBJ),
    "stack_global": lambda p: p.w(op_str("collections") + op_str("OrderedDict") + STACK_GLOBAL + EMPTY_TUPLE + REDUCE),
    "stack_global_tensor_fn": lambda p: p.w(op_str("torch") + op_str("Size") + STACK_GLOBAL + EMPTY_TUPLE + TUPLE1 + REDUCE),
    "memoize": lambda p: (p.scalar(), p.w(MEMOIZE)),
    "put_text": lambda p: (p.scalar(), p.w(PUT + b"200\n")),
    "get_text": lambda p: (p.w(MARK), p.scalar(), p.w(BINPUT + b"\xf0" + GET + b"240\n" + TUPLE)),
    "ext1": lambda p: p.w(EXT1 + b"\x01"),
    "newobj_ex": lambda p: p.w(op_global("collections", "OrderedDict") + EMPTY_TUPLE + EMPTY_DICT + NEWOBJ_EX),
    "persid_text": lambda p: f_persid(p, "text"),
    "next_buffer": lambda p: p.w(NEXT_BUFFER),
    "readonly_buffer": lambda p: (p.scalar(), p.w(READONLY_BUFFER)),
    "unknown_opcode": lambda p: p.w(bytes([p.rng.choice([0xFF, 0xA0, 0x99, 0x21, 0x7A, 0x00])])),
    "marker_global": lambda p: p.w(op_global(*_marker(p))),
    "marker_reduce": lambda p: p.w(op_global(*_marker(p)) + EMPTY_TUPLE + REDUCE),
    "marker_newobj": lambda p: p.w(op_global(*_marker(p)) + EMPTY_TUPLE + NEWOBJ),
    "marker_build": lambda p: (p.odict(9, 0), p.w(op_global(*_marker(p)) + BUILD)),
    "frozenset_global": lambda p: p.w(op_global("builtins", "frozenset") + EMPTY_TUPLE + REDUCE),
    "name_mapping_global": lambda p: p.w(op_global("__builtin__", "xrange") + op_int(3) + TUPLE1 + REDUCE),
    "crlf_global": lambda p: p.w(op_global("collections", "OrderedDict", b"\r\n") + EMPTY_TUPLE + REDUCE),
    "trailing_space_global": lambda p: p.w(op_global("collections ", "OrderedDict") + EMPTY_TUPLE + REDUCE),
    "setitem_list": lambda p: p.w(EMPTY_LIST + op_int(0) + op_int(1) + SETITEM),
    "setitems_list": lambda p: p.w(EMPTY_LIST + MARK + op_int(0) + op_int(1) + SETITEMS),
    "setitem_tensor": lambda p: (p.tensor("v2"), p.w(op_int(0) + op_int(1) + SETITEM)),
    "setitem_set": lambda p: p.w(EMPTY_SET + op_int(0) + op_int(1) + SETITEM),
    "setitem_tuple": lambda p: p.w(EMPTY_TUPLE + op_int(0) + op_int(1) + SETITEM),
    "append_tuple": lambda p: p.w(EMPTY_TUPLE + op_int(1) + APPEND),
    "append_dict": lambda p: p.w(EMPTY_DICT + op_int(1) + APPEND),
    "appends_dict": lambda p: p.w(EMPTY_DICT + MARK + op_int(1) + APPENDS),
    "appends_set": lambda p: p.w(EMPTY_SET + MARK + op_int(1) + APPENDS),
    "append_tensor": lambda p: (p.tensor("v2"), p.w(op_int(1) + APPEND)),
    "append_odict": lambda p: (p.odict(9, 0), p.w(op_int(1) + APPEND)),
    "build_dict": lambda p: p.w(EMPTY_DICT + EMPTY_DICT + op_str("a") + op_int(1) + SETITEM + BUILD),
    "build_list": lambda p: p.w(EMPTY_LIST + EMPTY_DICT + op_str("a") + op_int(1) + SETITEM + BUILD),
    "build_odict_int_state": lambda p: (p.odict(9, 0), p.w(op_int(5) + BUILD)),
    "reduce_dtype": lambda p: p.w(op_global("torch", "float32") + EMPTY_TUPLE + REDUCE),
    "reduce_none": lambda p: p.w(NONE + EMPTY_TUPLE + REDUCE),
    "newobj_dict": lambda p: p.w(EMPTY_DICT + EMPTY_TUPLE + NEWOBJ),
    "persid_int": lambda p: f_persid(p, "int"),
    "persid_str": lambda p: f_persid(p, "str"),
    "persid_module": lambda p: f_persid(p, "module"),
    "persid_arity": lambda p: f_persid(p, "arity"),
    "persid_bad_class": lambda p: f_persid(p, "bad_class"),
    "storage_numel_mismatch": f_storage_numel_mismatch,
    "storage_missing": f_storage_missing,
    "tensor_oob": f_tensor_oob,
    "tensor_negative": f_tensor_negative,
    "binget_missing": lambda p: p.w(BINGET + b"\xfe"),
    "long_binget_missing": lambda p: p.w(LONG_BINGET + struct.pack("<I", 99999)),
    "unhashable_key": lambda p: p.w(EMPTY_DICT + EMPTY_LIST + op_int(1) + SETITEM),
    "underflow": lambda p: (p.w(MARK), p.scalar(), p.w(TUPLE2 + TUPLE)),
    "setitems_odd": lambda p: p.w(EMPTY_DICT + MARK + op_str("k") + op_int(1) + op_str("j") + SETITEMS),
    "reduce_uncallable_args": lambda p: p.w(op_global("collections", "OrderedDict") + op_int(5) + REDUCE),
}
FAULT_NAMES = sorted(FAULTS)

EDGES = ["long_binput", "surrogate", "build_odict", "empty_set", "builtin_mapping", "location",
         "proto", "no_proto", "trailing", "stack_leftover", "mark_unclosed", "split_global", "byteorder_big",
         "no_byteorder", "deflate", "no_align", "zip_extra_member", "prefix", "record_order", "deep", "cycle",
         "storage_unused", "legacy_keys_tuple", "bool_storage_values", "quant_storage", "sparse_layout"]


def make_pickle(rng, legacy, faults, edges):
    p = Pickler(rng, legacy, faults, edges)
    proto = 2
    if "proto" in edges:
        proto = rng.choice([0, 1, 3, 4, 5, 6, 255])
        p.tag("edge:proto%d" % proto)
    if "no_proto" in edges:
        p.tag("edge:no_proto")
    else:
        p.w(PROTO + bytes([proto]))
    if "frame" in p.faults:
        p.faults.remove("frame")
        p.tag("fault:frame")
        p.w(FRAME + struct.pack("<Q", 0))
    if "mark_unclosed" in edges:
        p.tag("edge:mark_unclosed")
        p.w(MARK)
    if "stack_leftover" in edges:
        p.tag("edge:stack_leftover")
        p.w(op_int(7))
    state_dict = rng.random() < 0.45
    if "deep" in edges:
        p.tag("edge:deep")
        n = rng.choice([50, 500, 3000])
        p.w(EMPTY_LIST * n + APPEND * (n - 1))
    elif "cycle" in edges:
        p.tag("edge:cycle")
        p.w(EMPTY_DICT + BINPUT + b"\xfa" + op_str("self") + BINGET + b"\xfa" + SETITEM)
    elif "split_global" in edges:
        p.tag("edge:split_global")
        p.w(op_global("torch", "_utils._rebuild_tensor_v2"))  # full path is an allowed name
        p.w(op_global("collections", "OrderedDict") + TUPLE2)
    elif "sparse_layout" in edges:
        p.tag("edge:sparse_layout")
        p.w(op_global("torch.serialization", "_get_layout") + op_str("torch.sparse_coo") + TUPLE1 + REDUCE)
    elif "quant_storage" in edges:
        p.tag("edge:quant_storage")
        p.w(op_global("torch._utils", "_rebuild_tensor_v2") + MARK)
        p.w(MARK + op_str("storage") + op_global("torch", "QInt8Storage") + op_str("q") + op_str("cpu") + op_int(4)
            + (NONE if legacy else b"") + TUPLE + BINPERSID)
        p.storages["q"] = ["QInt8Storage", 4, b"\1\2\3\4"]
        p.w(op_int(0) + op_int(4) + TUPLE1 + op_int(1) + TUPLE1 + NEWFALSE)
        p.hooks()
        p.w(TUPLE + REDUCE)
    else:
        p.top(state_dict)
    p.w(STOP)
    if "trailing" in edges:
        p.tag("edge:trailing")
        p.w(rng.choice([b"\0" * 7, b"junk", b"\x80\x02K\x01."]))
    if "storage_unused" in edges:
        p.tag("edge:storage_unused")
        p.storages["unused"] = ["FloatStorage", 1, b"\0\0\0\0"]
    if "bool_storage_values" in edges:
        for k, v in p.storages.items():
            if v[0] == "BoolStorage" and v[1]:
                v[2] = bytes([7]) * v[1]
                p.tag("edge:bool_storage_values")
    return p


# ---- containers -----------------------------------------------------------------------------
def crc(b):
    return zlib.crc32(b) & 0xFFFFFFFF


def write_zip(members, align=64, descriptor=True, deflate_names=()):
    """members: [(name, bytes)]. Stored (or deflated for names in deflate_names); each data aligned to
    `align` with an extra-field pad (as torch's miniz writer does); optional data descriptors."""
    out = bytearray()
    central = bytearray()
    for name, data in members:
        nb = name.encode()
        method = 8 if name in deflate_names else 0
        body = data
        if method == 8:
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            body = c.compress(data) + c.flush()
        flags = 0x0800 | (0x0008 if descriptor else 0)
        extra = b""
        if align:
            here = len(out) + 30 + len(nb)
            pad = (-(here + 4)) % align
            extra = struct.pack("<HH", 0x4B46, pad) + b"Z" * pad
        c32 = crc(data)
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, method, 0, 0x21,
                           0 if descriptor else c32, 0 if descriptor else len(body), 0 if descriptor else len(data),
                           len(nb), len(extra)) + nb + extra
        out += body
        if descriptor:
            out += struct.pack("<IIII", 0x08074B50, c32, len(body), len(data))
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, method, 0, 0x21, c32, len(body), len(data),
                               len(nb), 0, 0, 0, 0, 0, offset) + nb
    cd_off = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), cd_off, 0)
    return bytes(out)


def torch_zip(rng, pk, storages, edges, tags, zip_faults=()):
    prefix = "archive"
    if "prefix" in edges:
        prefix = rng.choice(["model", "x", "a" * 100, "a/b", "ärchive", "archive.pt", "..", ""])
        tags.append("edge:prefix:" + prefix[:12])
    members = [("data.pkl", pk), (".format_version", b"1"), (".storage_alignment", b"64")]
    if "no_byteorder" in edges:
        tags.append("edge:no_byteorder")
    elif "byteorder_big" in edges:
        tags.append("edge:byteorder_big")
        members.append(("byteorder", b"big"))
    else:
        members.append(("byteorder", b"little"))
    for key, st in storages.items():
        if len(st) > 3:  # missing on purpose
            continue
        members.append(("data/" + key, st[2]))
    version = rng.choice([b"3\n", b"3\n", b"2\n", b"1\n", b"3"])
    if "zip_bad_version" in zip_faults:
        version = rng.choice([b"99\n", b"x\n", b"", b"-1\n", b"0\n"])
    if "zip_no_version" not in zip_faults:
        members.append(("version", version))
    if "zip_no_data_pkl" in zip_faults:
        members = members[1:]
    if "zip_torchscript" in zip_faults:
        members.append(("constants.pkl", b"\x80\x02).")) 
    members.append((".data/serialization_id", b"1234567890123456789012345678901234567890"))
    if "zip_extra_member" in edges:
        tags.append("edge:zip_extra_member")
        members.insert(rng.randrange(len(members) + 1), ("extra/readme.txt", b"hello"))
    if "record_order" in edges:
        tags.append("edge:record_order")
        rng.shuffle(members)
    full = [(prefix + "/" + n if prefix else n, d) for n, d in members]
    deflate = ()
    if "deflate" in edges:
        tags.append("edge:deflate")
        deflate = {n for n, _ in full if rng.random() < 0.5}
    align = 64
    if "no_align" in edges:
        tags.append("edge:no_align")
        align = 0
    return write_zip(full, align=align, descriptor=rng.random() < 0.5, deflate_names=deflate)


MAGIC = 0x1950A86A20F9469CFC6C


def legacy_file(rng, pk, storages, edges, tags):
    out = bytearray()
    out += PROTO + b"\x02" + op_int(MAGIC) + STOP
    out += PROTO + b"\x02" + op_int(1001) + STOP
    out += (PROTO + b"\x02" + EMPTY_DICT + MARK + op_str("protocol_version") + op_int(1001) + op_str("little_endian") + NEWTRUE
            + op_str("type_sizes") + EMPTY_DICT + MARK + op_str("short") + op_int(2) + op_str("int") + op_int(4)
            + op_str("long") + op_int(4) + SETITEMS + SETITEMS + STOP)
    out += pk
    keys = [k for k, st in storages.items() if len(st) <= 3]
    if rng.random() < 0.2:
        rng.shuffle(keys)
    if "legacy_keys_tuple" in edges:
        tags.append("edge:legacy_keys_tuple")
        out += PROTO + b"\x02" + MARK + b"".join(op_str(k) for k in keys) + TUPLE + STOP
    else:
        out += PROTO + b"\x02" + EMPTY_LIST + (MARK + b"".join(op_str(k) for k in keys) + APPENDS if keys else b"") + STOP
    for k in keys:
        cls, numel, data = storages[k][:3]
        out += struct.pack("<q", numel) + data
    return bytes(out)


ZIP_ONLY_EDGES = {"prefix", "byteorder_big", "no_byteorder", "deflate", "no_align", "zip_extra_member", "record_order"}
LEGACY_ONLY_EDGES = {"legacy_keys_tuple"}
ZIP_FAULTS = ["zip_no_version", "zip_no_data_pkl", "zip_torchscript", "zip_bad_version"]


def generate(rng):
    """One random torch-shaped file: (bytes, suffix, tags)."""
    fmt = rng.choices(["zip", "legacy", "bare"], [0.64, 0.33, 0.03])[0]
    tags = ["gen:" + fmt]
    faults = []
    u = rng.random()
    if u < 0.4:
        pool = FAULT_NAMES + ["frame"] + (ZIP_FAULTS if fmt == "zip" else [])
        faults = rng.sample(pool, rng.choice([1, 1, 1, 2]))
    edges = []
    if rng.random() < 0.35:
        allowed = [e for e in EDGES if not (fmt != "zip" and e in ZIP_ONLY_EDGES) and not (fmt != "legacy" and e in LEGACY_ONLY_EDGES)]
        edges = rng.sample(allowed, rng.choice([1, 1, 2]))
    zip_faults = [f for f in faults if f in ZIP_FAULTS]
    pfaults = [f for f in faults if f not in ZIP_FAULTS]
    p = make_pickle(rng, fmt == "legacy", pfaults, edges)
    tags += p.tags
    if fmt == "bare":
        return bytes(p.out), ".pkl", tags
    if fmt == "legacy":
        return legacy_file(rng, bytes(p.out), p.storages, edges, tags), rng.choice([".pt", ".pth", ".bin"]), tags
    tags += ["fault:" + f for f in zip_faults]
    data = torch_zip(rng, bytes(p.out), p.storages, edges, tags, zip_faults)
    return data, rng.choice([".pt", ".pth", ".bin", ".ckpt"]), tags
