"""Counting the memory a training step allocates: NumPy array buffers and Numba's own.

Compiled frameworks allocate their buffers once and reuse them every step; an engine that
creates new arrays in every step pays for ``malloc``/``free`` (and page faults for the large
ones) each time. :func:`count_allocations` counts, while a block of code runs:

* every NumPy data buffer allocated (``malloc``, ``calloc``, ``realloc``), through a NumPy memory
  handler (NumPy's ``PyDataMem_SetHandler``, NEP 49) that forwards to NumPy's default handler
  and counts — installed from Python with ``ctypes``, only for the duration of the block;
* every allocation Numba's runtime makes for arrays created inside compiled functions
  (``numba.core.runtime.rtsys.get_allocation_stats``, enabled by ``NUMBA_NRT_STATS=1``, which
  must be set before Numba is imported; otherwise that figure is ``None``);
* the peak of Python-traced memory above its level at the start (``tracemalloc``, which also
  sees NumPy's buffers): the largest amount the block held at once beyond what it started
  with.

The handler frees with NumPy's default ``free`` and ``ctx`` directly (no Python call), so
arrays allocated while counting can outlive the block and the interpreter safely.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import tracemalloc

import numpy as np

_MALLOC = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
_CALLOC = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t)
_REALLOC = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)


class _Allocator(ctypes.Structure):          # PyDataMemAllocator (numpy/ndarraytypes.h)
    _fields_ = [("ctx", ctypes.c_void_p), ("malloc", ctypes.c_void_p),
                ("calloc", ctypes.c_void_p), ("realloc", ctypes.c_void_p),
                ("free", ctypes.c_void_p)]


class _Handler(ctypes.Structure):            # PyDataMem_Handler, version 1
    _fields_ = [("name", ctypes.c_char * 127), ("version", ctypes.c_uint8),
                ("allocator", _Allocator)]


# PyArray_API[304] is PyDataMem_SetHandler, [305] PyDataMem_GetHandler (NumPy >= 1.22)
_SET_HANDLER_SLOT, _GET_HANDLER_SLOT = 304, 305
_state = {}


def _numpy_api():
    try:
        from numpy._core import _multiarray_umath as umath
    except ImportError:                       # NumPy 1.x
        from numpy.core import _multiarray_umath as umath
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype, get_pointer.argtypes = ctypes.c_void_p, [ctypes.py_object,
                                                                  ctypes.c_char_p]
    table = ctypes.cast(get_pointer(umath._ARRAY_API, None), ctypes.POINTER(ctypes.c_void_p))
    return (ctypes.PYFUNCTYPE(ctypes.py_object, ctypes.py_object)(table[_SET_HANDLER_SLOT]),
            ctypes.PYFUNCTYPE(ctypes.py_object)(table[_GET_HANDLER_SLOT]))


def _counting_handler():
    """(set_handler, capsule, counts): built once per process and kept for its lifetime."""
    if _state:
        return _state["set"], _state["capsule"], _state["counts"]
    set_handler, get_handler = _numpy_api()
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    default_capsule = get_handler()             # NumPy's default handler, unless replaced
    default = _Handler.from_address(get_pointer(default_capsule, b"mem_handler"))
    d = default.allocator
    base_malloc = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)(d.malloc)
    base_calloc = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                   ctypes.c_size_t)(d.calloc)
    base_realloc = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                    ctypes.c_size_t)(d.realloc)
    counts = {"count": 0, "bytes": 0}

    def count_malloc(ctx, size):
        counts["count"] += 1
        counts["bytes"] += size
        return base_malloc(ctx, size)

    def count_calloc(ctx, number, size):
        counts["count"] += 1
        counts["bytes"] += number * size
        return base_calloc(ctx, number, size)

    def count_realloc(ctx, pointer, size):
        counts["count"] += 1
        counts["bytes"] += size
        return base_realloc(ctx, pointer, size)

    callbacks = (_MALLOC(count_malloc), _CALLOC(count_calloc), _REALLOC(count_realloc))
    # the struct lives in memory Python never frees (arrays keep pointing at their handler)
    libc = ctypes.CDLL(None)
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    address = libc.malloc(ctypes.sizeof(_Handler))
    handler = _Handler.from_address(address)
    handler.name = b"numpy_nn_benchmark_counter"
    handler.version = 1
    handler.allocator.ctx = d.ctx
    handler.allocator.malloc, handler.allocator.calloc, handler.allocator.realloc = (
        ctypes.cast(c, ctypes.c_void_p).value for c in callbacks)
    handler.allocator.free = d.free           # a C function: safe at interpreter exit
    new_capsule = ctypes.pythonapi.PyCapsule_New
    new_capsule.restype = ctypes.py_object
    new_capsule.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    capsule = new_capsule(address, b"mem_handler", None)
    _state.update(set=set_handler, capsule=capsule, counts=counts, callbacks=callbacks,
                  bases=(base_malloc, base_calloc, base_realloc))
    return set_handler, capsule, counts


def _numba_allocations():
    if os.environ.get("NUMBA_NRT_STATS") != "1":
        return None
    try:
        from numba.core.runtime import rtsys
        return rtsys.get_allocation_stats().alloc
    except Exception:                         # Numba missing or its runtime not initialised
        return None


@contextlib.contextmanager
def count_allocations():
    """Yield a dict filled, when the block ends, with ``numpy_count`` / ``numpy_bytes`` (NumPy
    data buffers allocated), ``numba_count`` (Numba runtime allocations, or None) and
    ``traced_peak_bytes`` (tracemalloc peak above the starting level)."""
    set_handler, capsule, counts = _counting_handler()
    result = {}
    numba_before = _numba_allocations()
    started_tracing = not tracemalloc.is_tracing()
    if started_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    traced_before = tracemalloc.get_traced_memory()[0]
    counts.update(count=0, bytes=0)
    previous = set_handler(capsule)
    try:
        yield result
    finally:
        set_handler(previous)
        traced_peak = tracemalloc.get_traced_memory()[1] - traced_before
        if started_tracing:
            tracemalloc.stop()
        numba_after = _numba_allocations()
        result.update(numpy_count=counts["count"], numpy_bytes=counts["bytes"],
                      numba_count=None if numba_before is None else numba_after - numba_before,
                      traced_peak_bytes=traced_peak)


# ---------------------------------------------------------------- per-step counts, per engine
def steady_step_allocations(engine, model_name, batch, steps):
    """Allocations per steady training step of a chapter network on one numpy_nn path: the
    counts of an N-step ``fit`` epoch minus those of a one-step one (the per-call set-up),
    divided by N - 1, after a warm-up epoch."""
    import numpy_nn
    from benchmarks.models import MODELS, build, load_dataset
    numpy_nn.backend.set_kernel_path("numpy" if engine.startswith("jit") else engine)
    spec = MODELS[model_name]
    x, y = load_dataset(spec.dataset, batch * steps)
    numpy_nn.utils.set_random_seed(42)
    model = build(spec, numpy_nn)
    if engine.startswith("jit"):
        model.compile(optimizer=model.optimizer, loss=model.loss, metrics=model.metric_names,
                      jit_compile=True)

    def fit(x, y):
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    fit(x, y)                                                          # warm-up
    fit(x[:batch], y[:batch])
    with count_allocations() as whole:
        fit(x, y)
    with count_allocations() as first:
        fit(x[:batch], y[:batch])
    per_step = {key: None if whole[key] is None else (whole[key] - first[key]) / (steps - 1)
                for key in ("numpy_count", "numpy_bytes", "numba_count")}
    return {"engine": engine, "model": model_name, "batch": batch, "steps": steps,
            **{f"{key}_per_step": value for key, value in per_step.items()},
            "traced_peak_bytes_per_fit": whole["traced_peak_bytes"],
            "weights_bytes": int(sum(np.asarray(w).nbytes for w in model.weights))}


def measure_allocations(cells, env, log=print):
    """Run :func:`steady_step_allocations` for every ``(engine, model, batch, steps)`` in
    ``cells``, each in a fresh process (``NUMBA_NRT_STATS=1`` must be set before Numba loads)."""
    import json
    import subprocess
    import sys

    from benchmarks.harness import with_engine_blas
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    results = []
    for engine, model, batch, steps in cells:
        child_env = {**with_engine_blas(env, engine), "NUMBA_NRT_STATS": "1",
                     "NUMPY_NN_KERNELS": "numpy" if engine.startswith("jit") else engine}
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.allocations", engine, model, str(batch),
             str(steps)], capture_output=True, text=True, env=child_env, cwd=root,
            timeout=1800)
        if done.returncode != 0:
            raise RuntimeError(f"allocation count {engine} {model} {batch} failed:\n"
                               f"{done.stderr[-2000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(result)
        log(f"  {engine:9s} {model:18s} batch {batch:5d}: "
            f"{result['numpy_count_per_step']:.1f} NumPy buffers "
            f"({result['numpy_bytes_per_step'] / 1e3:.1f} kB) and "
            f"{result['numba_count_per_step'] or 0:.1f} Numba allocations per step")
    return results


if __name__ == "__main__":
    import json
    import sys

    import numpy as np
    engine, model, batch, steps = sys.argv[1:5]
    print(json.dumps(steady_step_allocations(engine, model, int(batch), int(steps))))
