r"""The machine's peak single-precision matrix-product rate, the physical reference for efficiency.

Each (library, thread count) is measured in a fresh process pinned to that many cores (the
same cores and thread limits as the benchmark workers, :mod:`benchmarks.harness`), with the
environment of the workers (``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE`` removed). The process
multiplies square float32 matrices ``C = A B`` of each size in :data:`SIZES`, first once as a
warm-up, then :data:`REPEATS` times, and keeps its best rate

.. math::
    r = \frac{2 n^3}{t} \quad \text{FLOP/s}

over sizes and repeats. The libraries: NumPy's BLAS (``np.matmul``), Intel MKL (the routine
numpy_nn's compiled step calls with ``NUMPY_NN_BLAS=mkl``, when the ``mkl`` wheel is
installed) and PyTorch's (``torch.mm``, when PyTorch is installed). The machine's peak at N
threads is the best of them: a step's efficiency is its useful FLOP/s (the GEMM FLOPs of the
step, :func:`benchmarks.analysis.step_flops`) over that peak.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

SIZES = (1024, 2048, 3072)
REPEATS = 5
LIBRARIES = ("numpy", "mkl", "torch")

_CHILD = r"""
import json, os, sys, time
library, threads, cpus = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sizes, repeats = [int(s) for s in sys.argv[4].split(",")], int(sys.argv[5])
os.sched_setaffinity(0, {int(c) for c in cpus.split(",")})
import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits
limits = threadpool_limits(threads)
if library == "torch":
    import torch
    torch.set_num_threads(threads)
    def product(a, b, out):
        torch.mm(a, b, out=out)
    def arrays(n):
        g = torch.Generator().manual_seed(0)
        return (torch.randn(n, n, generator=g), torch.randn(n, n, generator=g),
                torch.empty(n, n))
else:
    rng = np.random.default_rng(0)
    def arrays(n):
        return (rng.standard_normal((n, n), dtype=np.float32),
                rng.standard_normal((n, n), dtype=np.float32), np.empty((n, n), np.float32))
    if library == "mkl":
        from numpy_nn.kernels import blas
        mkl = blas.library_index("mkl")
        one, zero = np.float32(1), np.float32(0)
        def product(a, b, out):
            blas.gemm(a, b, out, False, False, one, zero, mkl)
    else:
        def product(a, b, out):
            np.matmul(a, b, out=out)
best = {}
for n in sizes:
    a, b, out = arrays(n)
    product(a, b, out)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        product(a, b, out)
        times.append(time.perf_counter() - start)
    best[n] = 2 * n ** 3 / min(times)
blas = [{k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
        for p in threadpool_info() if p.get("user_api") == "blas"]
print(json.dumps({"flops_per_second": best, "blas": blas}))
"""


def _available(library):
    import importlib.util
    from importlib import metadata
    if library == "torch":
        return importlib.util.find_spec("torch") is not None
    if library == "mkl":
        try:
            metadata.distribution("mkl")
        except metadata.PackageNotFoundError:
            return False
    return True


def measure_peak(thread_counts, env, sizes=SIZES, repeats=REPEATS, log=print):
    """``{"by_library": {threads: {library: {size: FLOP/s}}}, "peak": {threads: FLOP/s},
    "peak_library": {threads: library}, "sizes", "repeats", "blas"}`` (thread counts as
    strings, for JSON)."""
    from benchmarks.harness import engine_env
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cpus = sorted(os.sched_getaffinity(0))
    result = {"by_library": {}, "peak": {}, "peak_library": {}, "sizes": list(sizes),
              "repeats": repeats, "blas": {}, "failed": {}}
    for threads in thread_counts:
        rates = {}
        for library in LIBRARIES:
            if not _available(library):
                continue
            child_env = engine_env(env, "jit_mkl" if library == "mkl" else "jit", threads)
            command = [sys.executable, "-c", _CHILD, library, str(threads),
                       ",".join(str(c) for c in cpus[:threads]),
                       ",".join(str(s) for s in sizes), str(repeats)]
            reply = subprocess.run(command, capture_output=True, text=True, env=child_env,
                                   cwd=root)
            if reply.returncode != 0:
                result["failed"][f"{library}/{threads}"] = reply.stderr.strip()[-300:]
                continue
            found = json.loads(reply.stdout.strip().splitlines()[-1])
            rates[library] = {str(n): r for n, r in found["flops_per_second"].items()}
            result["blas"].setdefault(library, found["blas"])
            log(f"  peak SGEMM, {library}, {threads} thread(s): "
                f"{max(rates[library].values()) / 1e9:.1f} GFLOP/s")
        key = str(threads)
        result["by_library"][key] = rates
        if rates:
            best = max(rates, key=lambda lib: max(rates[lib].values()))
            result["peak"][key] = max(rates[best].values())
            result["peak_library"][key] = best
    return result
