#!/usr/bin/env python3
"""Asks the real torch which corpus files `torch.load(path, weights_only=True)` accepts, and writes
the answers as JSON (committed as tests/corpus/bypasses_torch_answers.json, so CI without torch can
check our verdicts agree).

Each file is loaded in its own forked child (torch imported once, in the parent), with a scratch
temporary working folder and a 20 s timeout. Only weights_only=True is ever used: nothing here
unpickles with the full pickle machinery.

usage: /work/torchenv/bin/python gen/torch_answers.py CORPUS_DIR OUT.json
       (CORPUS_DIR is what make_bypasses.py wrote; its expected.json lists the files)
"""
import json
import os
import select
import shutil
import signal
import sys
import tempfile
import time
import warnings

TIMEOUT = 20.0


def load_in_child(path, wfd, scratch):
    import torch

    os.chdir(scratch)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.load(path, weights_only=True, map_location="cpu")
        answer = {"accepts": True}
    except BaseException as e:  # noqa: BLE001 - any refusal is an answer
        # torch re-raises the unpickler's error inside a long explanation, `from None`: the
        # original is still the context
        inner = e.__context__ if "Weights only load failed" in str(e) and e.__context__ is not None else e
        msg = " ".join(str(inner).split())
        # torch wraps the unpickler's reason in a long explanation; keep the reason
        cut = msg.find("WeightsUnpickler error:")
        if cut >= 0:
            msg = msg[cut:]
        answer = {"accepts": False, "error": f"{type(inner).__name__}: {msg[:240]}"}
    os.write(wfd, json.dumps(answer).encode())
    os.close(wfd)
    os._exit(0)


def ask(path):
    scratch = tempfile.mkdtemp(prefix="torch_answers_")
    try:
        return ask_in(path, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def ask_in(path, scratch):
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        try:
            load_in_child(path, wfd, scratch)
        finally:
            os._exit(1)
    os.close(wfd)
    chunks, deadline = [], time.monotonic() + TIMEOUT
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(rfd)
            return {"accepts": False, "error": f"timeout after {TIMEOUT:.0f} s"}
        ready, _, _ = select.select([rfd], [], [], left)
        if ready:
            chunk = os.read(rfd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    os.close(rfd)
    _, status = os.waitpid(pid, 0)
    if not chunks:
        return {"accepts": False, "error": f"child died (status {status})"}
    return json.loads(b"".join(chunks))


def main():
    corpus, out = sys.argv[1], sys.argv[2]
    import torch

    torch.set_num_threads(1)
    names = sorted(json.load(open(os.path.join(corpus, "expected.json"))))
    files = {}
    for name in names:
        path = os.path.abspath(os.path.join(corpus, name))
        answer = ask(path)
        answer["size"] = os.path.getsize(path)
        files[name] = answer
        print(f"{'accepts' if answer['accepts'] else 'refuses'} {name}  {answer.get('error', '')[:120]}",
              file=sys.stderr)
    record = {
        "torch": torch.__version__.split("+")[0],
        "how": "torch.load(path, weights_only=True, map_location='cpu'), one forked child per file "
               "(gen/torch_answers.py)",
        "files": files,
    }
    with open(out, "w") as f:
        json.dump(record, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
