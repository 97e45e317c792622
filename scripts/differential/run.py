#!/usr/bin/env python3
"""Differential test of torchpeek's `safe` verdict against the real torch.load(weights_only=True).

Not part of CI. Run with a python that has torch (e.g. /work/torchenv/bin/python):

    python scripts/differential/run.py [--count 10000] [--seed 1] [--jobs 2] [--cli target/debug/torchpeek]
                                       [--keep DIR] [--report FILE] [--no-regressions]

1. Seeds: tests/fixtures/*, the hostile corpus (gen/make_corpus.py, and gen/make_bypasses.py
   when present), tests/peers/samples/ when present; plus generated torch-shaped pickles (gen.py).
2. Mutants of every seed and of generated files (mutate.py), deterministic given --seed.
3. torch.load(path, weights_only=True) for each file, each in its own forked child of a parent that
   imported torch once (scratch cwd, 10 s timeout, RLIMIT_AS), then `torchpeek check --json` in
   batches (a batch that crashes or hangs is re-run file by file).
4. Summary on stdout; details in --report (JSON); every disagreement (deduplicated, capped) copied
   into tests/regressions/ with torch's answer in tests/regressions/torch_answers.json.

Nothing is ever unpickled by this script; the files are only written, and torch reads them with
weights_only=True in a child process.
"""
import argparse
import collections
import hashlib
import json
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import gen  # noqa: E402
import mutate  # noqa: E402

NON_MODEL = (".json", ".npy", ".md", ".txt")
REG_DIR = os.path.join(ROOT, "tests", "regressions")
REG_MAX_FILES = 500
REG_MAX_BYTES = 4 * 1024 * 1024
REG_MAX_FILE = 256 * 1024


# ---- seeds and files -------------------------------------------------------------------------
def collect_seeds(work):
    """[(path, origin)] of the seed files, copied under work/seeds."""
    seeds = []
    fx = os.path.join(ROOT, "tests", "fixtures")
    for name in sorted(os.listdir(fx)):
        p = os.path.join(fx, name)
        if os.path.isfile(p):
            seeds.append((p, "fixture"))
    for script, origin in (("make_corpus.py", "corpus"), ("make_bypasses.py", "bypasses")):
        sp = os.path.join(ROOT, "gen", script)
        if not os.path.exists(sp):
            continue
        out = os.path.join(work, "seeds", origin)
        r = subprocess.run([sys.executable, sp, out], capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            print(f"warning: {script} failed: {r.stderr[-500:]}", file=sys.stderr)
        if os.path.isdir(out):
            for dirpath, _, files in os.walk(out):
                for name in sorted(files):
                    if name == "expected.json":
                        continue
                    seeds.append((os.path.join(dirpath, name), origin))
    peers = os.path.join(ROOT, "tests", "peers", "samples")
    if os.path.isdir(peers):
        for dirpath, _, files in os.walk(peers):
            for name in sorted(files):
                seeds.append((os.path.join(dirpath, name), "peers"))
    seeds.sort()
    return seeds


def suffix_of(path):
    base = os.path.basename(path)
    for s in (".safetensors", ".onnx", ".pth", ".pt", ".bin", ".ckpt", ".pkl", ".pickle", ".tar", ".zip", ".npy", ".json"):
        if base.endswith(s):
            return s
    ext = os.path.splitext(base)[1]
    return ext if ext and len(ext) <= 12 else ".bin"


def write_entry(entries, files_dir, data, suffix, origin, tags):
    path = os.path.join(files_dir, f"{len(entries):05d}_{origin[:40]}{suffix}")
    with open(path, "wb") as f:
        f.write(data)
    entries.append(dict(path=path, origin=origin, tags=tags, size=len(data)))


def build_seed_files(work):
    """Copies the seeds into work/files; returns (entries, mutable seeds [(data, suffix, label, entry)])."""
    files_dir = os.path.join(work, "files")
    os.makedirs(files_dir, exist_ok=True)
    entries, seed_data = [], []
    for p, origin in collect_seeds(work):
        with open(p, "rb") as f:
            data = f.read()
        name = os.path.basename(p)
        suffix = suffix_of(p)
        label = f"{origin}-{re.sub(r'[^A-Za-z0-9_.-]', '_', name[:len(name) - len(suffix)] if name.endswith(suffix) else name)}"
        write_entry(entries, files_dir, data, suffix, label, ["seed:" + origin])
        if not name.endswith(NON_MODEL):
            seed_data.append((data, suffix, label, entries[-1]))
    return entries, seed_data


def build_more_files(work, entries, seed_data, count, seed):
    """Generated files, mutants of generated files, and mutants of the seeds (half of those drawn
    from the seeds torch accepted, so that mutants are often near-valid). Appends to entries and
    returns the new ones."""
    files_dir = os.path.join(work, "files")
    first = len(entries)
    rest = max(count - first, 0)
    n_gen = int(rest * 0.50)
    n_genmut = int(rest * 0.20)
    n_seedmut = rest - n_gen - n_genmut
    for k in range(n_gen):
        rng = random.Random(f"{seed}:gen:{k}")
        data, suffix, tags = gen.generate(rng)
        write_entry(entries, files_dir, data, suffix, "gen", tags)
    for k in range(n_genmut):
        rng = random.Random(f"{seed}:genmut:{k}")
        data, suffix, tags = gen.generate(rng)
        data, mtags = mutate.mutate(data, suffix, rng)
        write_entry(entries, files_dir, data, suffix, "genmut", tags + ["mut:" + t for t in mtags])
    accepted = [s for s in seed_data if s[3].get("torch", {}).get("accepted")]
    for k in range(n_seedmut):
        rng = random.Random(f"{seed}:seedmut:{k}")
        pool = accepted if accepted and k % 2 == 0 else seed_data
        data, suffix, label, _ = pool[(k // 2) % len(pool)]
        data, mtags = mutate.mutate(data, suffix, rng)
        write_entry(entries, files_dir, data, suffix, "mut-" + label, ["mut:" + t for t in mtags])
    return entries[first:]


# ---- torch -----------------------------------------------------------------------------------
def first_line(s):
    s = s.strip()
    return s.split("\n", 1)[0][:400] if s else ""


def wo_detail(msg):
    """The WeightsUnpickler's own message inside torch's long 'Weights only load failed' text."""
    m = re.search(r"WeightsUnpickler error:(.*)", msg, re.S)
    if m:
        for line in m.group(1).split("\n"):
            if line.strip():
                return line.strip()[:400]
    return first_line(msg)


def torch_child(path, wfd, scratch, mem_limit):
    import resource
    import warnings
    try:
        os.chdir(scratch)
        dn = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(dn, fd)
        resource.setrlimit(resource.RLIMIT_AS, (mem_limit, mem_limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        warnings.simplefilter("ignore")
        import torch
        try:
            torch.load(path, weights_only=True)
            res = {"accepted": True}
        except BaseException as e:  # noqa: BLE001 - any exception is a refusal
            msg = str(e)
            res = {"accepted": False, "etype": type(e).__name__, "error": first_line(msg) or type(e).__name__,
                   "detail": wo_detail(msg) or type(e).__name__}
        os.write(wfd, json.dumps(res).encode()[:60000])
    finally:
        os._exit(0)


def torch_phase(entries, jobs, timeout, mem_headroom):
    import torch  # noqa: F401 - imported once, before forking
    torch.set_num_threads(1)
    with open("/proc/self/status") as f:
        vm = int(re.search(r"VmSize:\s+(\d+) kB", f.read()).group(1)) * 1024
    mem_limit = vm + mem_headroom
    scratch_root = tempfile.mkdtemp(prefix="torchpeek-diff-scratch-")
    queue = collections.deque(range(len(entries)))
    running = {}  # pid -> [idx, rfd, start, buf, scratch]
    done = 0
    t0 = time.time()
    while queue or running:
        while queue and len(running) < jobs:
            idx = queue.popleft()
            r, w = os.pipe()
            scratch = tempfile.mkdtemp(dir=scratch_root)
            pid = os.fork()
            if pid == 0:
                os.close(r)
                torch_child(entries[idx]["path"], w, scratch, mem_limit)
            os.close(w)
            running[pid] = [idx, r, time.time(), bytearray(), scratch]
        now = time.time()
        deadline = min(v[2] for v in running.values()) + timeout
        fds = {v[1]: pid for pid, v in running.items()}
        ready, _, _ = select.select(list(fds), [], [], max(0.0, min(deadline - now, 1.0)))
        finished = []
        for fd in ready:
            pid = fds[fd]
            chunk = os.read(fd, 65536)
            if chunk:
                running[pid][3] += chunk
            else:
                finished.append((pid, False))
        now = time.time()
        for pid, v in running.items():
            if now - v[2] > timeout and (pid, False) not in finished:
                os.kill(pid, signal.SIGKILL)
                finished.append((pid, True))
        for pid, timed_out in finished:
            idx, fd, start, buf, scratch = running.pop(pid)
            _, status = os.waitpid(pid, 0)
            os.close(fd)
            shutil.rmtree(scratch, ignore_errors=True)
            e = entries[idx]
            e["torch_seconds"] = round(time.time() - start, 3)
            if timed_out:
                e["torch"] = {"accepted": False, "etype": "Timeout", "error": f"timeout after {timeout}s", "detail": "timeout"}
            elif buf:
                e["torch"] = json.loads(bytes(buf))
            else:
                why = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}"
                e["torch"] = {"accepted": False, "etype": "Crash", "error": f"torch child died ({why})", "detail": f"crash {why}"}
            done += 1
            if done % 1000 == 0:
                print(f"  torch: {done}/{len(entries)} in {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
    shutil.rmtree(scratch_root, ignore_errors=True)
    return mem_limit


# ---- ours ------------------------------------------------------------------------------------
def run_cli(cli, paths, timeout):
    t = time.time()
    try:
        p = subprocess.run([cli, "check", *paths, "--json"], capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "hang", None, time.time() - t, ""
    dt = time.time() - t
    rc = p.returncode
    stderr = p.stderr.decode("utf-8", "replace")[-2000:]
    if rc < 0 or rc == 101 or rc not in (0, 1, 2, 3):
        m = re.search(r"panicked at ([^\n]*)\n([^\n]*)", stderr)
        return f"crash rc={rc}", None, dt, (f"panicked at {m.group(1)} {m.group(2)}" if m else stderr)
    try:
        doc = json.loads(p.stdout)
    except ValueError:
        return f"bad json rc={rc}", None, dt, stderr
    return rc, doc, dt, stderr


def cli_phase(entries, cli, jobs, batch, batch_timeout, file_timeout):
    batches = [entries[i:i + batch] for i in range(0, len(entries), batch)]
    batch_log = []

    def one_batch(b):
        rc, doc, dt, stderr = run_cli(cli, [e["path"] for e in b], batch_timeout)
        ok = isinstance(rc, int) and doc is not None and "files" in doc and len(doc["files"]) == len(b)
        batch_log.append({"files": len(b), "seconds": round(dt, 2), "status": rc if ok else str(rc), "first": b[0]["path"]})
        if ok:
            for e, f in zip(b, doc["files"]):
                e["ours"] = f["verdict"]
                e["findings"] = f.get("findings", [])
                if f.get("refusal"):
                    e["refusal"] = f["refusal"]
            return
        # find the culprit(s): one file at a time
        for e in b:
            rc1, doc1, dt1, err1 = run_cli(cli, [e["path"]], file_timeout)
            e["cli_seconds"] = round(dt1, 2)
            if isinstance(rc1, int) and doc1 is not None and "files" in doc1 and doc1["files"]:
                e["ours"] = doc1["files"][0]["verdict"]
                e["findings"] = doc1["files"][0].get("findings", [])
                if doc1["files"][0].get("refusal"):
                    e["refusal"] = doc1["files"][0]["refusal"]
            elif isinstance(rc1, int) and doc1 is not None and "error" in doc1:
                e["ours"] = "error"
                e["findings"] = [{"reason": "error: " + str(doc1["error"])}]
            else:
                e["ours"] = str(rc1).split()[0]  # crash / hang / bad
                e["findings"] = [{"reason": f"{rc1}: {first_line(err1[-600:])}"}]
                e["cli_problem"] = f"{rc1}; stderr: {err1[-600:]}"

    with ThreadPoolExecutor(jobs) as ex:
        list(ex.map(one_batch, batches))
    return batch_log


# ---- analysis --------------------------------------------------------------------------------
OPNAMES = {op.code.encode("latin-1")[0]: op.name for op in __import__("pickletools").opcodes}


def norm_torch(detail):
    d = detail
    m = re.match(r"Unsupported operand (\d+)", d)
    if m:
        return f"Unsupported operand {OPNAMES.get(int(m.group(1)), m.group(1))}"
    m = re.match(r"Unsupported global: GLOBAL (\S+) was not an allowed global", d)
    if m:
        return f"Unsupported global {m.group(1)}"
    d = re.sub(r"0x[0-9a-f]+", "ADDR", d)
    d = re.sub(r"(?<![\w.])/[^\s'\"]+", "PATH", d)
    d = re.sub(r"\d+", "N", d)
    return d[:160]


def norm_ours(findings, refusal=None):
    if not findings:
        if refusal and refusal.get("reason"):
            findings = [{"reason": "refusal: " + refusal["reason"]}]
        else:
            return "(no findings)"
    f = max(findings, key=lambda f: {"dangerous": 2, "unsafe_but_known": 1}.get(f.get("severity", ""), 0))
    r = f.get("reason", "")
    r = re.sub(r"\([^()]*\bat byte \d+: ", "(… at byte N: ", r)
    r = re.sub(r'"[^"]*"', '"…"', r)
    r = re.sub(r"zip member [^\s)]+", "zip member …", r)
    r = re.sub(r"(?<![\w.])/[^\s'\"():]+", "PATH", r)
    r = re.sub(r"\S+\.(pt|pth|bin|ckpt|pkl|safetensors|onnx)\b", "FILE", r)
    r = re.sub(r"\d+", "N", r)
    op = f.get("opcode") or ""
    return (f"[{op}] " if op else "") + r[:160]


# Two documented exceptions to "safe exactly when torch accepts" (README, "Safety"):
# - torch on this CPU-only machine refuses a storage saved on an accelerator before it reads the
#   rest; torchpeek's verdict is the one of a machine that has the device, which cannot be checked
#   here: such files are counted apart, not compared;
# - a payload where torch.load does not look (a member it does not read, after the STOP it stops
#   at, inside a bzip2/LZMA member Python's zipfile would unpack) is `dangerous` even though torch
#   loads the file: another loader runs it. Such files are counted apart, as deliberate.
DEVICE_REFUSALS = ("Attempting to deserialize object on a CUDA device", "Attempting to deserialize object on a XPU device",
                   "The HPU device module is not registered", "Storage device not recognized: mps",
                   "Attempting to deserialize object on an HPU device", "Attempting to deserialize object on a MPS device")
ELSEWHERE = ("torch.load does not read", "torch.load stops there", "which Python's zipfile decompresses")


def device_dependent(t):
    return not t["accepted"] and any(m in (t.get("detail") or t.get("error") or "") for m in DEVICE_REFUSALS)


def only_elsewhere(findings):
    bad = [f for f in findings or [] if f.get("severity") == "dangerous"]
    return bool(bad) and all(any(w in f.get("reason", "") for w in ELSEWHERE) for f in bad)


def analyse(entries):
    groups = collections.defaultdict(list)
    for e in entries:
        t, ours = e["torch"], e.get("ours", "missing")
        accepted = t["accepted"]
        if ours in ("crash", "hang", "bad"):
            groups[("cli", ours, first_line(e.get("cli_problem", ""))[:120])].append(e)
        if device_dependent(t):
            e["class"] = "device"
        elif accepted and ours == "dangerous" and only_elsewhere(e.get("findings")):
            e["class"] = "elsewhere"
            groups[("elsewhere", ours, norm_ours(e.get("findings", []), e.get("refusal")))].append(e)
        elif accepted and ours != "safe":
            e["class"] = "b"
            groups[("b", ours, norm_ours(e.get("findings", []), e.get("refusal")))].append(e)
        elif not accepted and ours == "safe":
            e["class"] = "a"
            groups[("a", "safe", norm_torch(t.get("detail", "")))].append(e)
    return groups


def top_tags(es, n=3):
    c = collections.Counter(t for e in es for t in e["tags"] if not t.startswith(("gen:", "top:", "tensor:")))
    return ", ".join(f"{t}×{k}" for t, k in c.most_common(n))


# ---- regressions -----------------------------------------------------------------------------
def save_regressions(groups, torch_version):
    os.makedirs(REG_DIR, exist_ok=True)
    ans_path = os.path.join(REG_DIR, "torch_answers.json")
    answers = {"torch": torch_version, "what": "torch.load(path, weights_only=True) of each file here: accepted or not "
               "(and the first line of its error); written by scripts/differential/run.py", "files": {}}
    if os.path.exists(ans_path):
        with open(ans_path) as f:
            answers["files"] = json.load(f).get("files", {})
    total = sum(os.path.getsize(os.path.join(REG_DIR, n)) for n in answers["files"] if os.path.exists(os.path.join(REG_DIR, n)))
    count = len(answers["files"])
    # examples already kept (an earlier run) are named by their regression copy
    for es in groups.values():
        for e in es:
            if e["size"] <= REG_MAX_FILE:
                with open(e["path"], "rb") as f:
                    name = hashlib.sha256(f.read()).hexdigest()[:16] + suffix_of(e["path"])
                if name in answers["files"]:
                    e["regression"] = os.path.relpath(os.path.join(REG_DIR, name), ROOT)
    # round robin over classes, smallest examples first
    queues = []
    for key, es in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        if key[0] == "cli" and key[1] not in ("crash", "hang"):
            continue
        queues.append(sorted(es, key=lambda e: e["size"]))
    added = []
    rnd = 0
    while count < REG_MAX_FILES and any(len(q) > rnd for q in queues) and rnd < 5:
        for q in queues:
            if rnd >= len(q) or count >= REG_MAX_FILES:
                continue
            e = q[rnd]
            if e["size"] > REG_MAX_FILE or total + e["size"] > REG_MAX_BYTES:
                continue
            with open(e["path"], "rb") as f:
                data = f.read()
            name = hashlib.sha256(data).hexdigest()[:16] + suffix_of(e["path"])
            if name in answers["files"]:
                continue
            with open(os.path.join(REG_DIR, name), "wb") as f:
                f.write(data)
            t = e["torch"]
            rec = {"accepted": t["accepted"]}
            if not t["accepted"]:
                rec["error"] = t.get("error", "")
                rec["detail"] = t.get("detail", "")
            rec["ours_when_found"] = e.get("ours")
            rec["origin"] = e["origin"]
            rec["tags"] = e["tags"]
            answers["files"][name] = rec
            e["regression"] = os.path.relpath(os.path.join(REG_DIR, name), ROOT)
            added.append(name)
            count += 1
            total += e["size"]
        rnd += 1
    answers["files"] = dict(sorted(answers["files"].items()))
    with open(ans_path, "w") as f:
        json.dump(answers, f, indent=1, ensure_ascii=True)
        f.write("\n")
    return added, count, total


# ---- main ------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cli", default=os.path.join(ROOT, "target", "debug", "torchpeek"))
    ap.add_argument("--keep", help="keep the generated files (and report.json) in this directory")
    ap.add_argument("--report", help="details JSON (default: KEEP/report.json, else ./differential-report.json)")
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--mem-headroom-gb", type=float, default=4.0,
                    help="RLIMIT_AS in each torch child: the preloaded parent's VmSize plus this")
    ap.add_argument("--no-regressions", action="store_true", help="do not write tests/regressions/")
    ap.add_argument("--recheck", action="store_true",
                    help="with --keep DIR of an earlier run: reuse its files and torch's answers (DIR/report.json), "
                         "run only torchpeek again (seconds, after a fix)")
    args = ap.parse_args()
    cli = os.path.abspath(args.cli)
    if not os.path.exists(cli):
        sys.exit(f"no CLI at {cli}: cd {ROOT} && cargo build --no-default-features --features cli")

    t_start = time.time()
    if args.recheck and not args.keep:
        sys.exit("--recheck needs --keep DIR (the earlier run's directory)")
    if args.keep and args.recheck:
        work = os.path.abspath(args.keep)
    elif args.keep:
        work = os.path.abspath(args.keep)
        if os.path.isdir(os.path.join(work, "files")):
            shutil.rmtree(os.path.join(work, "files"))
        if os.path.isdir(os.path.join(work, "seeds")):
            shutil.rmtree(os.path.join(work, "seeds"))
        os.makedirs(work, exist_ok=True)
    else:
        work = tempfile.mkdtemp(prefix="torchpeek-diff-")
    # a private copy: a cargo build elsewhere must not swap the binary in the middle of the run
    cli_copy = os.path.join(work, "torchpeek-under-test")
    shutil.copy2(cli, cli_copy)
    cli_info = f"{cli} (built {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(os.path.getmtime(cli)))})"
    cli = cli_copy
    report_path = args.report or (os.path.join(work, "report.json") if args.keep else os.path.abspath("differential-report.json"))

    if args.recheck:
        with open(os.path.join(work, "report.json")) as f:
            old = json.load(f)
        entries = [{k: e[k] for k in ("path", "origin", "tags", "size", "torch")} for e in old["files"]]
        args.seed, mem_limit, t_gen, t_torch = old["seed"], old["mem_limit_bytes"], 0.0, 0.0
        print(f"recheck: {len(entries)} files and torch's answers from {work}/report.json", file=sys.stderr)
    else:
        entries, seed_data = build_seed_files(work)
        t_gen = time.time() - t_start
        t = time.time()
        mem_limit = torch_phase(entries, args.jobs, args.timeout, int(args.mem_headroom_gb * 2 ** 30))
        t_torch = time.time() - t
        t = time.time()
        more = build_more_files(work, entries, seed_data, args.count, args.seed)
        t_gen += time.time() - t
        print(f"wrote {len(entries)} files ({len(seed_data)} seeds to mutate) in {t_gen:.0f}s under {work}", file=sys.stderr, flush=True)
        t = time.time()
        torch_phase(more, args.jobs, args.timeout, int(args.mem_headroom_gb * 2 ** 30))
        t_torch += time.time() - t
    import torch
    if not args.recheck:
        print(f"torch {torch.__version__}: {t_torch:.0f}s", file=sys.stderr, flush=True)

    t = time.time()
    batch_log = cli_phase(entries, cli, args.jobs, args.batch, max(120.0, args.batch * 1.0), args.timeout)
    t_cli = time.time() - t
    print(f"torchpeek: {t_cli:.0f}s", file=sys.stderr, flush=True)

    groups = analyse(entries)
    added, reg_count, reg_bytes = ([], 0, 0) if args.no_regressions else save_regressions(groups, torch.__version__)

    # ---- summary
    n = len(entries)
    acc = sum(e["torch"]["accepted"] for e in entries)
    safe = sum(e.get("ours") == "safe" for e in entries)
    a = [e for e in entries if e.get("class") == "a"]
    b = [e for e in entries if e.get("class") == "b"]
    by_origin = collections.Counter(e["origin"].split("-")[0] for e in entries)
    acc_origin = collections.Counter(e["origin"].split("-")[0] for e in entries if e["torch"]["accepted"])
    crashes = [e for e in entries if e.get("ours") in ("crash", "hang", "bad")]
    torch_odd = collections.Counter(e["torch"].get("etype") for e in entries if e["torch"].get("etype") in ("Timeout", "Crash", "MemoryError"))
    times = sorted(x["seconds"] for x in batch_log)
    lines = []
    P = lines.append
    P(f"torchpeek differential vs torch {torch.__version__}: seed {args.seed}, {n} files, jobs {args.jobs}")
    P(f"CLI under test: {cli_info}")
    P(f"time: total {time.time() - t_start:.0f}s (write {t_gen:.0f}s, torch {t_torch:.0f}s, torchpeek {t_cli:.0f}s)")
    P(f"files by origin: " + ", ".join(f"{k} {v} ({acc_origin[k]} accepted)" for k, v in sorted(by_origin.items())))
    P(f"torch: accepted {acc}, refused {n - acc} ({100 * acc / max(n, 1):.1f}% accepted)"
      + (f"; torch child problems: {dict(torch_odd)}" if torch_odd else ""))
    P(f"torchpeek: safe {safe}, not safe {n - safe} "
      + str(dict(collections.Counter(e.get('ours') for e in entries))))
    elsewhere = [e for e in entries if e.get("class") == "elsewhere"]
    devices = sum(e.get("class") == "device" for e in entries)
    P(f"agree {n - len(a) - len(b) - len(elsewhere) - devices}; (a) we say safe, torch refuses: {len(a)}; (b) torch accepts, we say not safe: {len(b)}")
    P(f"apart: {len(elsewhere)} dangerous by design (a payload where torch.load does not look); "
      f"{devices} stored on an accelerator this machine lacks (torch stops there; not compared)")
    P(f"CLI: {len(batch_log)} batches of <= {args.batch}; seconds min {times[0] if times else 0} median "
      f"{times[len(times) // 2] if times else 0} max {times[-1] if times else 0}; crashes/hangs: {len(crashes)}")
    P("")
    for kind, title in (("cli", "torchpeek crashed / hung"), ("a", "(a) we say safe, torch refuses"), ("b", "(b) torch accepts, we say not safe"),
                        ("elsewhere", "apart: torch accepts, we say dangerous for a payload where torch.load does not look")):
        gs = sorted(((k, es) for k, es in groups.items() if k[0] == kind), key=lambda kv: -len(kv[1]))
        if not gs:
            continue
        P(f"== {title}: {sum(len(es) for _, es in gs)} files in {len(gs)} classes")
        for k, es in gs:
            ex = min(es, key=lambda e: e["size"])
            where = ex.get("regression") or ex["path"]
            label = k[2] if kind in ("a", "cli") else f"ours={k[1]}: {k[2]}"
            P(f"  {len(es):5d}  {label}")
            P(f"         e.g. {where}  [{top_tags(es)}]")
    summary = "\n".join(lines)
    print(summary)
    if not args.no_regressions:
        print(f"\nregressions: added {len(added)} -> {reg_count} files, {reg_bytes} bytes in {os.path.relpath(REG_DIR, ROOT)}")
    details = {
        "torch": torch.__version__, "cli": cli_info, "seed": args.seed, "count": n, "jobs": args.jobs, "mem_limit_bytes": mem_limit,
        "seconds": {"total": round(time.time() - t_start, 1), "write": round(t_gen, 1), "torch": round(t_torch, 1), "cli": round(t_cli, 1)},
        "summary": summary, "batches": batch_log,
        "classes": [{"kind": k[0], "ours": k[1], "cause": k[2], "count": len(es),
                     "examples": [e.get("regression") or e["path"] for e in sorted(es, key=lambda e: e["size"])[:10]],
                     "tags": top_tags(es, 10)} for k, es in sorted(groups.items(), key=lambda kv: (kv[0][0], -len(kv[1])))],
        "files": [{k: e.get(k) for k in ("path", "origin", "tags", "size", "torch", "ours", "findings", "refusal", "class", "regression", "cli_problem", "torch_seconds")}
                  for e in entries],
    }
    with open(report_path, "w") as f:
        json.dump(details, f, indent=1)
    print(f"details: {report_path}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
