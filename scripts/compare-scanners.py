#!/usr/bin/env python3
"""Compares torchpeek with the public pickle scanners (picklescan, fickling, modelscan) over every
corpus the project has, and prints the README's comparison as one markdown table. Python standard
library only; the scanners are the CLIs `scripts/setup.sh --test` installs.

usage: scripts/compare-scanners.py [--cli PATH] [--only CORPUS] [--details]

Corpora and their labels (the generators' and samples' own expectations, read as they are):
  hostile   gen/make_corpus.py: verdict dangerous = malicious, safe = benign (torch loads
            it: `safe` means torch.load(weights_only=True) accepts the file); any other verdict =
            torch refuses it. No torch answers are committed for this corpus: the labels say it.
  bypasses  gen/make_bypasses.py: verdict dangerous = malicious; what torch does from
            tests/corpus/bypasses_torch_answers.json.
  peers     tests/peers/samples/expected.json: `malicious` (what the peer's own test asserts) and
            `torch_loads`; each distinct file counts once.
  real      tests/real/* (tests/real/torch_answers.json) and tests/fixtures/*
            (tests/fixtures/weights_only_2.15.json): files torch 2.15 wrote, all benign.

A scanner's answer on one file is its exit status, as tests/safety.rs reads it: 1 flagged, 0 clean,
anything else (or a timeout) cannot read. torchpeek's is the verdict of `check --json`: `dangerous`
catches, anything but `safe` is an alarm, `safe` passes; a file it gives no verdict for cannot be read.
"""
import argparse
import concurrent.futures
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCANNERS = {"picklescan": ["picklescan", "-p"], "fickling": ["fickling", "--check-safety"], "modelscan": ["modelscan", "-p"]}
TOOLS = ["torchpeek", *SCANNERS]
CORPORA = ["hostile", "bypasses", "peers", "real"]
WORKERS = 2  # a 2-core machine shared with others
BATCH = 40  # files per torchpeek call
SCANNER_TIMEOUT = 300
TORCHPEEK_TIMEOUT = 900

FLAGGED, CLEAN, UNREADABLE = "flagged", "clean", "cannot read"


def load_json(path):
    with open(path) as f:
        return json.load(f)


class Item:
    """One file with its labels: malicious (a loader could run code from it), torch_loads (torch
    2.15 torch.load(weights_only=True) accepts it)."""

    def __init__(self, corpus, name, path, malicious, torch_loads):
        self.corpus, self.name, self.path = corpus, name, path
        self.malicious, self.torch_loads = malicious, torch_loads
        self.answers = {}  # tool -> FLAGGED / CLEAN / UNREADABLE (torchpeek: its verdict or UNREADABLE)


def generated(script, out):
    subprocess.run([sys.executable, os.path.join(ROOT, script), out], check=True, stdout=subprocess.DEVNULL)
    return load_json(os.path.join(out, "expected.json"))


def hostile(tmp):
    out = os.path.join(tmp, "hostile")
    expected = generated("gen/make_corpus.py", out)
    return [Item("hostile", n, os.path.join(out, n), w["verdict"] == "dangerous", w["verdict"] == "safe") for n, w in sorted(expected.items())]


def bypasses(tmp):
    out = os.path.join(tmp, "bypasses")
    expected = generated("gen/make_bypasses.py", out)
    answers = load_json(os.path.join(ROOT, "tests/corpus/bypasses_torch_answers.json"))["files"]
    missing = sorted(set(expected) - set(answers))
    if missing:
        sys.exit(f"bypasses: no torch answer for {missing} (re-run gen/torch_answers.py)")
    return [Item("bypasses", n, os.path.join(out, n), w["verdict"] == "dangerous", answers[n]["accepts"]) for n, w in sorted(expected.items())]


def peers(tmp):
    d = os.path.join(ROOT, "tests/peers/samples")
    expected = load_json(os.path.join(d, "expected.json"))
    return [Item("peers", n, os.path.join(d, n), e["malicious"], e["torch_loads"]) for n, e in sorted(expected.items())]


def real(tmp):
    items = []
    for sub, answers in [("tests/real", "torch_answers.json"), ("tests/fixtures", "weights_only_2.15.json")]:
        files = load_json(os.path.join(ROOT, sub, answers))["files"]
        for n, said in sorted(files.items()):
            items.append(Item("real", f"{os.path.basename(sub)}/{n}", os.path.join(ROOT, sub, n), False, said["weights_only"]))
    return items


# --- running the tools -------------------------------------------------------------------------

_local = threading.local()


def scan(tmp, tool, path):
    """One scanner on one file, in a working folder of this thread's own (fickling writes
    safety_results.json into it)."""
    if not hasattr(_local, "cwd"):
        _local.cwd = tempfile.mkdtemp(prefix="cwd-", dir=tmp)
    try:
        r = subprocess.run(SCANNERS[tool] + [path], cwd=_local.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=SCANNER_TIMEOUT)
    except subprocess.TimeoutExpired:
        return UNREADABLE
    # An uncaught Python exception also exits with 1: a crash, not a flag.
    if b"Traceback (most recent call last)" in r.stderr:
        return UNREADABLE
    return {0: CLEAN, 1: FLAGGED}.get(r.returncode, UNREADABLE)


def torchpeek(cli, paths):
    """Verdicts for many files in one call: path -> verdict. A batch that gives no per-file answer
    (a file it cannot open fails the whole call) is retried a file at a time; what still has none
    is missing from the result."""
    try:
        r = subprocess.run([cli, "check", *paths, "--json"], capture_output=True, timeout=TORCHPEEK_TIMEOUT)
        files = json.loads(r.stdout)["files"]
        if [f["file"] for f in files] == list(paths):
            return {f["file"]: f["verdict"] for f in files}
    except (subprocess.TimeoutExpired, ValueError, KeyError, TypeError):
        pass
    if len(paths) == 1:
        return {}
    out = {}
    for p in paths:
        out.update(torchpeek(cli, [p]))
    return out


def run_all(cli, items, tmp):
    by_path = {}
    for it in items:
        by_path.setdefault(it.path, []).append(it)
    paths = list(by_path)
    done, total = 0, len(paths) * len(SCANNERS) + (len(paths) + BATCH - 1) // BATCH
    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {}
        for i in range(0, len(paths), BATCH):
            futures[pool.submit(torchpeek, cli, paths[i : i + BATCH])] = ("torchpeek", paths[i : i + BATCH])
        for p in paths:
            for tool in SCANNERS:
                futures[pool.submit(scan, tmp, tool, p)] = (tool, p)
        for fut in concurrent.futures.as_completed(futures):
            tool, what = futures[fut]
            if tool == "torchpeek":
                verdicts = fut.result()
                for p in what:
                    for it in by_path[p]:
                        it.answers["torchpeek"] = verdicts.get(p, UNREADABLE)
            else:
                for it in by_path[what]:
                    it.answers[tool] = fut.result()
            done += 1
            if done % 100 == 0 or done == total:
                print(f"  {done}/{total} runs", file=sys.stderr)


# --- counting ----------------------------------------------------------------------------------

# (row label, who is counted, does this tool's answer count)
def caught(tool, a):
    return a == ("dangerous" if tool == "torchpeek" else FLAGGED)


def alarm(tool, a):
    return a != UNREADABLE and a != ("safe" if tool == "torchpeek" else CLEAN)


def passes(tool, a):
    return a == ("safe" if tool == "torchpeek" else CLEAN)


METRICS = [
    ("malicious caught", lambda it: it.malicious, caught),
    ("malicious missed", lambda it: it.malicious, lambda t, a: not caught(t, a)),
    ("false alarms: benign, torch loads it, flagged", lambda it: it.torch_loads and not it.malicious, alarm),
    ("torch refuses it, passed as clean", lambda it: not it.torch_loads, passes),
    ("cannot read", lambda it: True, lambda t, a: a == UNREADABLE),
]


def table(corpora):
    lines = ["| corpus | metric | " + " | ".join(TOOLS) + " |", "|---|---|" + "---:|" * len(TOOLS)]
    totals = {}
    for corpus, items in corpora:
        first = True
        for label, who, counts in METRICS:
            pool = [it for it in items if who(it)]
            if not pool:
                continue
            cells = []
            for tool in TOOLS:
                n = sum(counts(tool, it.answers[tool]) for it in pool)
                cells.append(str(n))
                t = totals.setdefault((label, tool), [0, 0])
                t[0] += n
            totals[(label, "of")] = totals.get((label, "of"), 0) + len(pool)
            head = f"**{corpus}** ({len(items)} files)" if first else ""
            first = False
            lines.append(f"| {head} | {label} (of {len(pool)}) | " + " | ".join(cells) + " |")
    if len(corpora) > 1:
        first = True
        for label, _, _ in METRICS:
            if (label, "of") not in totals:
                continue
            head = f"**total** ({sum(len(i) for _, i in corpora)} files)" if first else ""
            first = False
            cells = [f"**{totals[(label, tool)][0]}**" for tool in TOOLS]
            lines.append(f"| {head} | {label} (of {totals[(label, 'of')]}) | " + " | ".join(cells) + " |")
    return lines


def details(corpora):
    """The files behind the nonzero counts of misses, false alarms, passes and unreadables."""
    out = []
    for corpus, items in corpora:
        for label, who, counts in METRICS[1:]:
            for tool in TOOLS:
                names = [it.name for it in items if who(it) and counts(tool, it.answers[tool])]
                if names:
                    out.append(f"- {corpus}, {label}, {tool} ({len(names)}): " + ", ".join(f"`{n}`" for n in names))
    return out


# --- versions ----------------------------------------------------------------------------------


def version_of(tool, cli, shown):
    """The tool's name and version; for torchpeek also `shown` (which binary) and the git state."""
    if tool == "torchpeek":
        try:
            v = subprocess.run([cli, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
        except OSError:
            v = "torchpeek ?"
        try:
            commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
            dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip()
            v += f" ({shown}, git {commit}{', uncommitted changes' if dirty else ''})"
        except OSError:
            pass
        return v
    try:
        return f"{tool} {importlib.metadata.version(tool)}"
    except importlib.metadata.PackageNotFoundError:
        r = subprocess.run([SCANNERS[tool][0], "--version"], capture_output=True, text=True)
        return f"{tool} {(r.stdout.strip().split() or ['?'])[-1]}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    release = os.path.join(ROOT, "target/release/torchpeek")
    ap.add_argument("--cli", default=release if os.path.exists(release) else os.path.join(ROOT, "target/debug/torchpeek"), help="the torchpeek binary")
    ap.add_argument("--only", choices=CORPORA, action="append", help="this corpus only (may be repeated)")
    ap.add_argument("--details", action="store_true", help="also list the files behind each miss, false alarm, pass and unreadable")
    args = ap.parse_args()
    cli = os.path.abspath(args.cli)
    if not os.access(cli, os.X_OK):
        sys.exit(f"{cli}: no torchpeek binary (cargo build --no-default-features --features cli)")
    for tool, cmd in SCANNERS.items():
        if not shutil.which(cmd[0]):
            sys.exit(f"{tool} is not on the PATH: scripts/setup.sh --test installs it")

    start = time.monotonic()
    makers = {"hostile": hostile, "bypasses": bypasses, "peers": peers, "real": real}
    with tempfile.TemporaryDirectory(prefix="compare-scanners-") as tmp:
        # Run a copy: a rebuild of target/ during the run must not mix two torchpeeks' answers.
        built = time.strftime("%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(cli)))
        run_cli = shutil.copy2(cli, os.path.join(tmp, "torchpeek"))
        corpora = [(c, makers[c](tmp)) for c in CORPORA if not args.only or c in args.only]
        for _, items in corpora:
            for it in items:
                if not os.path.isfile(it.path):
                    sys.exit(f"{it.corpus}: {it.path} is listed but missing")
        n = sum(len(i) for _, i in corpora)
        print(f"compare-scanners: {n} files, {len(TOOLS)} tools, {WORKERS} workers", file=sys.stderr)
        run_all(run_cli, [it for _, items in corpora for it in items], tmp)
        lines = table(corpora)
        more = details(corpora) if args.details else []
        shown = f"{os.path.relpath(cli, ROOT)} built {built}"
        versions = "; ".join(version_of(t, run_cli, shown) for t in TOOLS)
    wall = time.monotonic() - start

    command = "scripts/compare-scanners.py" + "".join(f" --only {c}" for c in args.only or []) + (" --details" if args.details else "")
    print(f"`{command}` — {n} files, wall time {wall:.0f} s ({WORKERS} workers)\n")
    print(f"Tools: {versions}. Torch's answers: torch 2.15.0 `torch.load(weights_only=True)`.\n")
    print("\n".join(lines))
    print(
        "\nScanners: exit 1 = flagged, 0 = clean, other = cannot read (missed counts those too). torchpeek: caught = `dangerous`; "
        "flagged = any verdict but `safe`; clean = `safe`. Labels: hostile = make_corpus.py's verdicts (no torch answers; "
        "`safe` is what torch loads); bypasses = make_bypasses.py + bypasses_torch_answers.json; peers = samples/expected.json "
        "(`malicious` as the peer's own test says); real = tests/real + tests/fixtures, all benign."
    )
    if more:
        print("\n" + "\n".join(more))


if __name__ == "__main__":
    main()
