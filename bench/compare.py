#!/usr/bin/env python3
"""What a user without torchpeek would run, timed for `cargo bench --bench open` (one line of JSON).

  compare.py open FILE            zipfile + pickle.Unpickler with stand-ins for torch's globals and
                                  persistent ids (how scanners and torch-less scripts read data.pkl);
                                  torch.load(mmap=True, weights_only=True) too when torch is installed
  compare.py stats FILE OFFSET N  numpy over N float32 values at OFFSET (np.memmap): NaN-skipping
                                  min, max, mean, std, sum, abs sum, and NaN and Inf counts
"""
import collections
import json
import pickle
import resource
import sys
import time
import zipfile


class Stub:
    def __init__(self, *a, **k):
        pass

    def __setstate__(self, state):
        pass


class Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        return Stub

    def persistent_load(self, pid):
        return pid


def open_with_stdlib(path):
    t0 = time.perf_counter()
    with zipfile.ZipFile(path) as z:
        name = next(n for n in z.namelist() if n.endswith("data.pkl"))
        with z.open(name) as f:
            Unpickler(f).load()
    return time.perf_counter() - t0


def open_with_torch(path):
    try:
        import torch
    except ImportError:
        return None
    t0 = time.perf_counter()
    torch.load(path, mmap=True, weights_only=True, map_location="cpu")
    return time.perf_counter() - t0


def main():
    what, path = sys.argv[1], sys.argv[2]
    out = {}
    if what == "open":
        times = sorted(open_with_stdlib(path) for _ in range(5))
        out["stdlib_ms"] = times[len(times) // 2] * 1e3
        t = open_with_torch(path)
        out["torch_ms"] = None if t is None else t * 1e3
    else:
        try:
            import numpy as np
        except ImportError:
            out["numpy_s"] = None
        else:
            offset, n = int(sys.argv[3]), int(sys.argv[4])
            t0 = time.perf_counter()
            a = np.memmap(path, dtype="<f4", mode="r", offset=offset, shape=(n,))
            # NaN-skipping, as torchpeek's statistics are.
            f8 = np.float64
            r = [np.nanmin(a), np.nanmax(a), np.nanmean(a, dtype=f8), np.nanstd(a, dtype=f8), np.nansum(a, dtype=f8),
                 np.nansum(np.abs(a), dtype=f8), np.isnan(a).sum(), np.isinf(a).sum()]
            out["numpy_s"] = time.perf_counter() - t0
            out["numpy_sum"] = float(r[4])
    out["max_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(out))


if __name__ == "__main__":
    main()
