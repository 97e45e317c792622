"""Deterministic mutations of torch/safetensors/other files (plain Python; nothing is loaded).

`mutate(data, suffix, rng)` returns (new_bytes, tags). It knows the zip layout (local and central
headers, EOCD), torch's zip members (data.pkl, data/<key>, version, byteorder), the legacy format
(five pickles then raw storages), pickle opcodes, and safetensors headers; otherwise it flips,
inserts, deletes and truncates bytes.
"""
import json
import pickletools
import struct
import zlib

import gen

FIXED = {"uint1": 1, "uint2": 2, "int4": 4, "uint4": 4, "uint8": 8, "float8": 8}
LEN1 = {"long1", "string1", "bytes1", "unicodestring1"}
LEN4 = {"long4", "string4", "bytes4", "unicodestring4"}
LEN8 = {"bytes8", "unicodestring8", "bytearray8"}
NL1 = {"decimalnl_short", "decimalnl_long", "stringnl", "stringnl_noescape", "unicodestringnl", "floatnl"}
CODE2OP = {op.code.encode("latin-1"): op for op in pickletools.opcodes}


# ---- pickle ops ------------------------------------------------------------------------------
def scan_ops(pk, start=0):
    """[(pos, end, name)] of the ops from start up to and including STOP; stops early (returning
    what it read) at an unknown opcode or a truncated argument."""
    ops = []
    i = start
    n = len(pk)
    while i < n:
        op = CODE2OP.get(pk[i:i + 1])
        if op is None:
            break
        j = i + 1
        a = op.arg.name if op.arg else None
        try:
            if a is None:
                pass
            elif a in FIXED:
                j += FIXED[a]
            elif a in LEN1:
                j += 1 + pk[j]
            elif a in LEN4:
                j += 4 + struct.unpack_from("<i" if a in ("long4", "string4") else "<I", pk, j)[0]
            elif a in LEN8:
                j += 8 + struct.unpack_from("<Q", pk, j)[0]
            elif a in NL1:
                j = pk.index(b"\n", j) + 1
            elif a == "stringnl_noescape_pair":
                j = pk.index(b"\n", j) + 1
                j = pk.index(b"\n", j) + 1
        except (IndexError, ValueError, struct.error):
            break
        if j > n or j <= i:
            break
        ops.append((i, j, op.name))
        i = j
        if op.name == "STOP":
            break
    return ops


def pickle_ends(data):
    """Byte ranges of consecutive pickles at the start of data (legacy files hold five)."""
    out = []
    i = 0
    while i < len(data) and len(out) < 5:
        ops = scan_ops(data, i)
        if not ops or ops[-1][2] != "STOP":
            break
        out.append((i, ops[-1][1]))
        i = ops[-1][1]
    return out


ALLOWED_GLOBALS = [
    ("collections", "OrderedDict"), ("collections", "Counter"), ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_tensor_v3"), ("torch._utils", "_rebuild_tensor"), ("torch._utils", "_rebuild_parameter"),
    ("torch._utils", "_rebuild_parameter_with_state"), ("torch._utils", "_rebuild_qtensor"),
    ("torch._utils", "_rebuild_sparse_tensor"), ("torch._utils", "_rebuild_meta_tensor_no_storage"),
    ("torch._utils", "_rebuild_wrapper_subclass"), ("torch._utils", "_rebuild_device_tensor_from_cpu_tensor"),
    ("torch._utils", "_rebuild_nested_tensor"), ("torch._tensor", "_rebuild_from_type_v2"), ("torch", "Size"),
    ("torch", "Tensor"), ("torch", "device"), ("torch.nn.parameter", "Parameter"), ("builtins", "set"),
    ("builtins", "bytearray"), ("builtins", "complex"), ("_codecs", "encode"), ("torch", "float32"), ("torch", "bcomplex32"),
    ("torch", "FloatStorage"), ("torch", "DoubleStorage"), ("torch", "HalfStorage"), ("torch", "LongStorage"),
    ("torch", "ByteStorage"), ("torch", "BoolStorage"), ("torch", "QInt8Storage"), ("torch", "UntypedStorage"),
    ("torch.storage", "UntypedStorage"), ("torch.storage", "TypedStorage"), ("torch", "FloatTensor"),
    ("torch.serialization", "_get_layout"), ("torch", "per_tensor_affine"), ("torch", "uint7"), ("torch", "int1"),
]
NEAR_GLOBALS = [
    ("torch._utils", "_rebuild_tensor_v4"), ("collections", "OrderedDic"), ("collections", "defaultdict"),
    ("torch", "FloatStorage "), ("Torch", "FloatStorage"), ("torch", "_utils._rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_tensor_v2.x"), ("__builtin__", "set"), ("__builtin__", "xrange"), ("copy_reg", "_reconstructor"),
    ("builtins", "frozenset"), ("builtins", "dict"), ("builtins", "list"), ("builtins", "tuple"), ("torch", "Storage"),
    ("torch", "MarkerStorage"), ("torch.nn.modules.linear", "Linear"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
    ("torch", "float32x"), ("torch", "int8"), ("torch", "uint8"), ("torch", "qint8"), ("torch", "int9"),
] + [(m, n) for m, n in gen.MARKERS]

STR_SWAPS = {
    "cpu": ["cuda", "cuda:0", "meta", "CPU", "cpu:1", "", "hpu"],
    "storage": ["module", "Storage", "storag", ""],
    "little": ["big", "middle", ""],
}


def random_op(rng):
    """Any opcode with a plausible argument."""
    op = rng.choice(pickletools.opcodes)
    a = op.arg.name if op.arg else None
    c = op.code.encode("latin-1")
    if a is None:
        return c
    if a in FIXED:
        if op.name == "PROTO":
            return c + bytes([rng.choice([0, 2, 4, 5, 6])])
        if op.name in ("BINGET", "BINPUT"):
            return c + bytes([rng.randrange(8)])
        if op.name == "FRAME":
            return c + struct.pack("<Q", rng.choice([0, 10, 2 ** 40]))
        return c + bytes(rng.randrange(3) for _ in range(FIXED[a]))
    if a in LEN1:
        body = b"\x01" if a == "long1" else b"ab"
        return c + bytes([len(body)]) + body
    if a in LEN4:
        body = b"\x01\x02" if a == "long4" else b"ab"
        return c + struct.pack("<I", len(body)) + body
    if a in LEN8:
        return c + struct.pack("<Q", 2) + b"ab"
    if a == "decimalnl_short":
        return c + b"1\n"
    if a == "decimalnl_long":
        return c + b"1L\n"
    if a == "floatnl":
        return c + b"1.5\n"
    if a == "stringnl":
        return c + b"'ab'\n"
    if a in ("stringnl_noescape", "unicodestringnl"):
        return c + b"ab\n"
    if a == "stringnl_noescape_pair":
        m, n = rng.choice(ALLOWED_GLOBALS + NEAR_GLOBALS)
        return c + m.encode() + b"\n" + n.encode() + b"\n"
    return c


def pickle_mutation(pk, rng):
    """One mutation of a pickle's bytes: (bytes, tag)."""
    ops = scan_ops(pk)
    if not ops:
        return bytes_mutation(pk, rng)
    kinds = ["op_remove", "op_insert", "op_replace", "op_dup", "op_swap", "int_tweak", "int_tweak", "int_tweak",
             "len_tweak", "str_tweak", "str_tweak", "global_swap", "global_swap", "proto_tweak", "truncate_ops", "memo_tweak"]
    kind = rng.choice(kinds)
    i = rng.randrange(len(ops))
    pos, end, name = ops[i]
    if kind == "op_remove":
        return pk[:pos] + pk[end:], "pickle:remove:" + name
    if kind == "op_insert":
        new = random_op(rng)
        return pk[:pos] + new + pk[pos:], "pickle:insert:" + CODE2OP[new[:1]].name
    if kind == "op_replace":
        new = random_op(rng)
        return pk[:pos] + new + pk[end:], "pickle:replace:%s->%s" % (name, CODE2OP[new[:1]].name)
    if kind == "op_dup":
        return pk[:end] + pk[pos:end] + pk[end:], "pickle:dup:" + name
    if kind == "op_swap" and i + 1 < len(ops):
        p2, e2, n2 = ops[i + 1]
        return pk[:pos] + pk[p2:e2] + pk[pos:end] + pk[e2:], "pickle:swap:%s,%s" % (name, n2)
    if kind == "int_tweak":
        ints = [o for o in ops if o[2] in ("BININT1", "BININT2", "BININT", "LONG1")]
        if ints:
            pos, end, name = rng.choice(ints)
            v = decode_int(pk, pos, end, name)
            nv = rng.choice([v + 1, v - 1, 0, -1, v * 2, v + 7, 2 ** 31 - 1, 2 ** 32, 2 ** 62, -(2 ** 63), 255, 65536])
            return pk[:pos] + gen.op_int(nv) + pk[end:], "pickle:int:%s" % name
    if kind == "len_tweak":
        lens = [o for o in ops if CODE2OP[pk[o[0]:o[0] + 1]].arg and CODE2OP[pk[o[0]:o[0] + 1]].arg.name in (LEN1 | LEN4 | LEN8)]
        if lens:
            pos, end, name = rng.choice(lens)
            a = CODE2OP[pk[pos:pos + 1]].arg.name
            w = 1 if a in LEN1 else 4 if a in LEN4 else 8
            old = int.from_bytes(pk[pos + 1:pos + 1 + w], "little", signed=False)
            nv = rng.choice([old + 1, max(old - 1, 0), 0, old * 2 + 1, 2 ** (8 * w) - 1])
            nv %= 2 ** (8 * w)
            return pk[:pos + 1] + nv.to_bytes(w, "little") + pk[pos + 1 + w:], "pickle:len:" + name
    if kind == "str_tweak":
        strs = [o for o in ops if o[2] in ("BINUNICODE", "SHORT_BINSTRING", "SHORT_BINUNICODE")]
        if strs:
            pos, end, name = rng.choice(strs)
            w = 4 if name == "BINUNICODE" else 1
            s = pk[pos + 1 + w:end].decode("utf-8", "replace")
            if s in STR_SWAPS:
                ns = rng.choice(STR_SWAPS[s])
            elif s.isdigit():
                ns = rng.choice([str(int(s) + 1), "99", "", s + "0", "-1"])
            else:
                ns = s[:-1] + "\udcff" if s and rng.random() < 0.2 else (s + "x" if rng.random() < 0.5 else s[:-1])
            b = ns.encode("utf-8", "surrogateescape" if "\udcff" in ns else "strict")
            if name == "BINUNICODE":
                new = b"X" + struct.pack("<I", len(b)) + b
            else:
                new = pk[pos:pos + 1] + bytes([len(b) % 256]) + b
            return pk[:pos] + new + pk[end:], "pickle:str:%s" % (s if s in STR_SWAPS else "other")
    if kind == "global_swap":
        gl = [o for o in ops if o[2] in ("GLOBAL", "INST")]
        if gl:
            pos, end, name = rng.choice(gl)
            m, n = rng.choice(NEAR_GLOBALS if rng.random() < 0.5 else ALLOWED_GLOBALS)
            return pk[:pos + 1] + m.encode() + b"\n" + n.encode() + b"\n" + pk[end:], "pickle:global:%s.%s" % (m, n)
    if kind == "proto_tweak" and ops[0][2] == "PROTO":
        v = rng.choice([0, 1, 3, 4, 5, 6, 255])
        return pk[:1] + bytes([v]) + pk[2:], "pickle:proto:%d" % v
    if kind == "truncate_ops":
        return pk[:pos], "pickle:truncate"
    if kind == "memo_tweak":
        memo = [o for o in ops if o[2] in ("BINGET", "BINPUT", "LONG_BINGET", "LONG_BINPUT")]
        if memo:
            pos, end, name = rng.choice(memo)
            w = end - pos - 1
            old = int.from_bytes(pk[pos + 1:end], "little")
            nv = rng.choice([old + 1, max(old - 1, 0), 2 ** (8 * w) - 1, 0]) % 2 ** (8 * w)
            return pk[:pos + 1] + nv.to_bytes(w, "little") + pk[end:], "pickle:memo:" + name
    # fallback: remove an op
    return pk[:pos] + pk[end:], "pickle:remove:" + name


def decode_int(pk, pos, end, name):
    if name == "BININT1":
        return pk[pos + 1]
    if name == "BININT2":
        return struct.unpack_from("<H", pk, pos + 1)[0]
    if name == "BININT":
        return struct.unpack_from("<i", pk, pos + 1)[0]
    return int.from_bytes(pk[pos + 2:end], "little", signed=True)


# ---- bytes -----------------------------------------------------------------------------------
def bytes_mutation(data, rng):
    if not data:
        return b"\x80\x02.", "bytes:from_empty"
    kind = rng.choice(["flip", "flip", "set", "insert", "delete", "dup", "truncate", "append"])
    n = len(data)
    i = rng.randrange(n)
    if kind == "flip":
        return data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1:], "bytes:flip"
    if kind == "set":
        return data[:i] + bytes([rng.choice([0, 0xFF, 0x80, 0x7F, rng.randrange(256)])]) + data[i + 1:], "bytes:set"
    if kind == "insert":
        return data[:i] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 8))) + data[i:], "bytes:insert"
    if kind == "delete":
        return data[:i] + data[i + rng.randint(1, 16):], "bytes:delete"
    if kind == "dup":
        j = min(n, i + rng.randint(1, 64))
        return data[:j] + data[i:j] + data[j:], "bytes:dup"
    if kind == "truncate":
        return data[:i], "bytes:truncate"
    return data + rng.choice([b"\0" * 16, b"PK\x05\x06" + b"\0" * 18, bytes(rng.randrange(256) for _ in range(32))]), "bytes:append"


# ---- zip -------------------------------------------------------------------------------------
def parse_zip(data):
    e = data.rfind(b"PK\x05\x06")
    if e < 0 or e + 22 > len(data):
        return None
    n, cd_size, cd_off = struct.unpack_from("<HII", data, e + 10)
    entries = []
    p = cd_off
    for _ in range(n):
        if data[p:p + 4] != b"PK\x01\x02" or p + 46 > len(data):
            return None
        f = struct.unpack_from("<IHHHHHHIIIHHHHHII", data, p)
        nlen, elen, clen = f[10], f[11], f[12]
        name = data[p + 46:p + 46 + nlen]
        lho = f[16]
        if data[lho:lho + 4] != b"PK\x03\x04":
            return None
        lnlen, lelen = struct.unpack_from("<HH", data, lho + 26)
        start = lho + 30 + lnlen + lelen
        entries.append(dict(cd=p, name=name, flags=f[3], method=f[4], crc=f[7], csize=f[8], usize=f[9], lho=lho,
                            start=start, cd_len=46 + nlen + elen + clen))
        p += 46 + nlen + elen + clen
    return dict(eocd=e, entries=entries, cd_off=cd_off, cd_size=cd_size)


def members_of(data, z):
    out = []
    for e in z["entries"]:
        raw = data[e["start"]:e["start"] + e["csize"]]
        if e["method"] == 8:
            try:
                raw = zlib.decompressobj(-15).decompress(raw)
            except zlib.error:
                return None
        elif e["method"] != 0:
            return None
        out.append([e["name"].decode("utf-8", "replace"), raw])
    return out


def put16(data, at, v):
    return data[:at] + struct.pack("<H", v & 0xFFFF) + data[at + 2:]


def put32(data, at, v):
    return data[:at] + struct.pack("<I", v & 0xFFFFFFFF) + data[at + 4:]


def zip_field_mutation(data, z, rng):
    e = rng.choice(z["entries"])
    kind = rng.choice(["name_cd", "name_local", "rename_both", "size", "size", "lho", "flags", "crc", "method", "eocd",
                       "extra_len", "prepend", "append", "dup_entry", "drop_entry"])
    cd, lho = e["cd"], e["lho"]
    short = e["name"].decode("utf-8", "replace").rsplit("/", 1)[-1]
    tag = "zip:%s:%s" % (kind, short)
    if kind in ("name_cd", "name_local", "rename_both"):
        nl = len(e["name"])
        if nl == 0:
            return data, tag
        j = rng.randrange(nl)
        c = bytes([rng.choice(b"xX/._0\x00")])
        if kind in ("name_cd", "rename_both"):
            at = cd + 46 + j
            data = data[:at] + c + data[at + 1:]
        if kind in ("name_local", "rename_both"):
            at = lho + 30 + j
            data = data[:at] + c + data[at + 1:]
        return data, tag
    if kind == "size":
        where = rng.choice([cd + 20, cd + 24, lho + 18, lho + 22])
        old = struct.unpack_from("<I", data, where)[0]
        return put32(data, where, rng.choice([old + 1, max(old - 1, 0), 0, old * 2, 0xFFFFFFFF, old + 64])), tag
    if kind == "lho":
        return put32(data, cd + 42, rng.choice([lho + 1, max(lho - 1, 0), lho + 64, 0, len(data)])), tag
    if kind == "flags":
        bit = rng.choice([1, 8, 0x800, 0x40, 0x2000])
        where = rng.choice([cd + 8, lho + 6])
        return put16(data, where, struct.unpack_from("<H", data, where)[0] ^ bit), tag + ":%x" % bit
    if kind == "crc":
        where = rng.choice([cd + 16, lho + 14])
        return put32(data, where, struct.unpack_from("<I", data, where)[0] ^ 0x5A5A), tag
    if kind == "method":
        m = rng.choice([8, 12, 14, 99, 1])
        for where in rng.choice([[cd + 10], [lho + 8], [cd + 10, lho + 8]]):
            data = put16(data, where, m)
        return data, tag + ":%d" % m
    if kind == "eocd":
        e0 = z["eocd"]
        where = rng.choice([e0 + 8, e0 + 10, e0 + 12, e0 + 16, e0 + 20])
        old = struct.unpack_from("<H" if where in (e0 + 8, e0 + 10, e0 + 20) else "<I", data, where)[0]
        new = rng.choice([old + 1, max(old - 1, 0), 0])
        if where in (e0 + 8, e0 + 10, e0 + 20):
            return put16(data, where, new), "zip:eocd:%d" % (where - e0)
        return put32(data, where, new), "zip:eocd:%d" % (where - e0)
    if kind == "extra_len":
        old = struct.unpack_from("<H", data, lho + 28)[0]
        return put16(data, lho + 28, rng.choice([old + 1, max(old - 1, 0), 0, old + 64])), tag
    if kind == "prepend":
        return rng.choice([b"\0" * 4, b"#!/bin/sh\n", b"PK"]) + data, "zip:prepend"
    if kind == "append":
        return data + rng.choice([b"\0", b"trailing junk", b"PK\x01\x02"]), "zip:append"
    # dup or drop a central entry (EOCD fixed up)
    e0 = z["eocd"]
    cdbytes = data[cd:cd + e["cd_len"]]
    n = struct.unpack_from("<H", data, e0 + 10)[0]
    if kind == "dup_entry":
        data = data[:cd] + cdbytes + data[cd:]
        e0 += len(cdbytes)
        n2, size2 = n + 1, z["cd_size"] + len(cdbytes)
    else:
        data = data[:cd] + data[cd + len(cdbytes):]
        e0 -= len(cdbytes)
        n2, size2 = n - 1, z["cd_size"] - len(cdbytes)
    data = put16(data, e0 + 8, n2)
    data = put16(data, e0 + 10, n2)
    data = put32(data, e0 + 12, size2)
    return data, tag


def zip_member_mutation(data, z, members, rng, suffix):
    names = [m[0] for m in members]
    pk_idx = [i for i, n in enumerate(names) if n.endswith("data.pkl")]
    st_idx = [i for i, n in enumerate(names) if "/data/" in n]
    kind = rng.choices(["pickle", "storage", "data_flip", "repack", "member"], [5, 2, 3, 1, 1])[0]
    tag = None
    if kind == "data_flip" and st_idx:
        i = rng.choice([j for j in st_idx if members[j][1]] or st_idx)
        d = bytearray(members[i][1])
        for _ in range(rng.randint(1, 4)):
            if d:
                k = rng.randrange(len(d))
                d[k] = rng.choice([0, 0xFF, 0x7F, 0x80, rng.randrange(256)])
        members[i][1] = bytes(d)
        tag = "storage:data_flip"
    elif kind == "repack":
        tag = "zip:repack"
    elif kind == "pickle" and pk_idx:
        i = rng.choice(pk_idx)
        members[i][1], tag = pickle_mutation(members[i][1], rng)
    elif kind == "storage" and st_idx:
        i = rng.choice(st_idx)
        d = members[i][1]
        how = rng.choice(["shorten1", "shorten", "extend", "remove", "empty"])
        tag = "storage:" + how
        if how == "shorten1":
            members[i][1] = d[:-1]
        elif how == "shorten":
            members[i][1] = d[:len(d) // 2]
        elif how == "extend":
            members[i][1] = d + b"\0" * rng.choice([1, 4, 8])
        elif how == "remove":
            del members[i]
        else:
            members[i][1] = b""
    else:
        how = rng.choice(["version", "byteorder", "remove_member", "constants_pkl", "prefix_one", "rename"])
        tag = "member:" + how
        prefix = names[0].split("/")[0] if names else "archive"
        if how == "version":
            for m in members:
                if m[0].endswith("/version") or m[0] == "version":
                    m[1] = rng.choice([b"1\n", b"2\n", b"4\n", b"6\n", b"7\n", b"99\n", b"abc", b"", b" 3", b"3\n\n"])
                    tag += ":" + m[1].decode("latin-1").strip()
        elif how == "byteorder":
            hit = False
            for m in members:
                if m[0].endswith("byteorder"):
                    m[1] = rng.choice([b"big", b"middle", b"", b"little\n"])
                    hit = True
            if not hit:
                members.append([prefix + "/byteorder", b"big"])
        elif how == "remove_member" and members:
            j = rng.randrange(len(members))
            tag += ":" + members[j][0].split("/", 1)[-1]
            del members[j]
        elif how == "constants_pkl":
            members.append([prefix + "/constants.pkl", b"\x80\x02)."])
        elif how == "prefix_one" and members:
            j = rng.randrange(len(members))
            tag += ":" + members[j][0].split("/", 1)[-1]
            members[j][0] = "other/" + members[j][0].split("/", 1)[-1]
        elif members:
            j = rng.randrange(len(members))
            new = rng.choice(["data.pkl", "data/0", "version", "data/99", ".data/version"])
            tag += ":%s->%s" % (members[j][0].split("/", 1)[-1], new)
            members[j][0] = prefix + "/" + new
    if tag is None:
        return None
    return gen.write_zip([(n, d) for n, d in members], align=rng.choice([64, 64, 0]), descriptor=rng.random() < 0.5), tag


# ---- legacy ----------------------------------------------------------------------------------
def legacy_mutation(data, rng):
    ends = pickle_ends(data)
    if len(ends) < 5:
        return None
    which = rng.choices([0, 1, 2, 3, 4, 5, 6], [1, 1, 1, 8, 2, 4, 4])[0]
    if which == 6:  # flip bytes of the raw storage data (after the five pickles)
        body = ends[4][1]
        if body + 8 < len(data):
            d = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                k = rng.randrange(body + 8, len(d))
                d[k] = rng.randrange(256)
            return bytes(d), "legacy:storage:data_flip"
        which = 3
    if which < 5:
        a, b = ends[which]
        pk, tag = pickle_mutation(data[a:b], rng)
        return data[:a] + pk + data[b:], "legacy:p%d:%s" % (which, tag)
    # the raw storages: walk numel headers (element sizes from the object pickle)
    body = ends[4][1]
    sizes = storage_elsizes(data[ends[3][0]:ends[3][1]])
    keys = [s for s in strings(data[ends[4][0]:ends[4][1]])]
    recs = []
    p = body
    for k in keys:
        if p + 8 > len(data):
            break
        numel = struct.unpack_from("<q", data, p)[0]
        el = sizes.get(k, 4)
        recs.append((p, k, numel, el))
        p += 8 + max(numel, 0) * el
    if not recs:
        return data[:-1], "legacy:storage:truncate"
    p, k, numel, el = rng.choice(recs)
    how = rng.choice(["numel", "numel", "shorten", "drop", "extend_tail"])
    if how == "numel":
        nv = max(-(2 ** 63), min(2 ** 63 - 1, rng.choice([numel + 1, numel - 1, 0, -1, 2 ** 40, numel * 2])))
        return data[:p] + struct.pack("<q", nv) + data[p + 8:], "legacy:storage:numel"
    if how == "shorten":
        end = p + 8 + numel * el
        return data[:end - el] + data[end:], "legacy:storage:shorten"
    if how == "drop":
        end = p + 8 + numel * el
        return data[:p] + data[end:], "legacy:storage:drop"
    return data + b"\0" * 8, "legacy:storage:extend_tail"


def strings(pk):
    for pos, end, name in scan_ops(pk):
        if name == "BINUNICODE":
            yield pk[pos + 5:end].decode("utf-8", "replace")
        elif name in ("SHORT_BINSTRING", "SHORT_BINUNICODE"):
            yield pk[pos + 2:end].decode("utf-8", "replace")


def storage_elsizes(pk):
    """key -> element size, from ('storage', GLOBAL torch XStorage, key, ...) in the object pickle."""
    out = {}
    ops = scan_ops(pk)
    for i, (pos, end, name) in enumerate(ops):
        if name == "GLOBAL":
            m, n = pk[pos + 1:end].split(b"\n")[:2]
            n = n.decode("latin-1")
            if n in gen.STORAGES and i + 1 < len(ops):
                j = i + 1
                while j < len(ops) and ops[j][2] in ("BINPUT", "LONG_BINPUT", "MEMOIZE"):
                    j += 1
                if j < len(ops):
                    s = list(strings(pk[ops[j][0]:ops[j][1]]))
                    if s:
                        out[s[0]] = gen.STORAGES[n]
    return out


# ---- safetensors -----------------------------------------------------------------------------
def safetensors_mutation(data, rng):
    if len(data) < 8:
        return None
    n = struct.unpack_from("<Q", data)[0]
    try:
        header = json.loads(data[8:8 + n])
    except Exception:
        return None
    names = [k for k in header if k != "__metadata__"]
    if not names:
        return None
    k = rng.choice(names)
    t = header[k]
    how = rng.choice(["dtype", "shape", "offsets", "metadata", "header_len", "json"])
    if how == "dtype":
        t["dtype"] = rng.choice(["F32", "F16", "I64", "BOOL", "F8_E4M3", "X99", "U8"])
    elif how == "shape":
        t["shape"] = rng.choice([[], [0], t["shape"] + [1], [s + 1 for s in t["shape"]], [-1]])
    elif how == "offsets":
        a, b = t["data_offsets"]
        t["data_offsets"] = rng.choice([[a, b + 1], [a + 1, b], [b, a], [0, b], [a, 2 ** 40]])
    elif how == "metadata":
        header["__metadata__"] = rng.choice([{"format": "pt"}, {"x": 1}, []])
    elif how == "header_len":
        return struct.pack("<Q", rng.choice([n + 1, n - 1, 0, 2 ** 40])) + data[8:], "safetensors:header_len"
    else:
        raw = data[8:8 + n]
        return data[:8] + raw[:-1] + b"," + data[8 + n:], "safetensors:json"
    h = json.dumps(header).encode()
    h += b" " * ((-len(h)) % 8)
    return struct.pack("<Q", len(h)) + h + data[8 + n:], "safetensors:" + how


# ---- entry -----------------------------------------------------------------------------------
def kind_of(data, suffix):
    if data[:4] == b"PK\x03\x04":
        return "zip"
    if data[:4] == b"\x80\x02\x8a\x0a":
        return "legacy"
    if suffix == ".safetensors":
        return "safetensors"
    if data[:1] == b"\x80" or data[:1] in (b"(", b"c", b"}", b"]"):
        return "pickle"
    return "other"


def mutate_once(data, suffix, rng):
    try:
        res = structured_mutation(data, suffix, rng)
    except (struct.error, ValueError, IndexError, KeyError, OverflowError, zlib.error):
        res = None  # a structure too broken to edit in place: fall back to bytes
    if res is None:
        res = bytes_mutation(data, rng)
    return res


def structured_mutation(data, suffix, rng):
    k = kind_of(data, suffix)
    r = rng.random()
    res = None
    if k == "zip":
        z = parse_zip(data)
        if z and z["entries"]:
            if r < 0.55:
                members = members_of(data, z)
                if members:
                    res = zip_member_mutation(data, z, members, rng, suffix)
            elif r < 0.85:
                res = zip_field_mutation(data, z, rng)
    elif k == "legacy" and r < 0.8:
        res = legacy_mutation(data, rng)
    elif k == "pickle" and r < 0.8:
        res = pickle_mutation(data, rng)
    elif k == "safetensors" and r < 0.6:
        res = safetensors_mutation(data, rng)
    return res


def mutate(data, suffix, rng):
    tags = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        data, tag = mutate_once(data, suffix, rng)
        tags.append(tag)
    return data, tags
