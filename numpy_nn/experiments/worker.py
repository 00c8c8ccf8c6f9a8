"""What runs inside a worker process: thread limits, the per-process dataset cache, and
:func:`execute`, which turns a task into a record.

The same code runs in every kind of worker: a local process of the runner's pool (set up by
:func:`setup_worker`, its initializer), a Dask worker (set up on its first task), or the
driver itself for a serial run.

One thread per worker process
    Each worker is one of many running side by side, one per core; a BLAS, Numba or TensorFlow
    thread pool inside each would oversubscribe the cores (on a busy 2-core machine OpenBLAS's
    second thread mostly spins). :func:`setup_worker` limits all of them to one thread:
    ``threadpoolctl`` for BLAS/OpenMP libraries already loaded, the environment variables for
    libraries loaded later (``OMP_NUM_THREADS``, ``NUMBA_NUM_THREADS``, TensorFlow's
    ``TF_NUM_INTRAOP_THREADS`` / ``TF_NUM_INTEROP_THREADS``), and
    :func:`limit_tensorflow_threads` for a task that imports TensorFlow.

One task at a time per process
    numpy_nn's random generator is per process (``numpy_nn.utils.set_random_seed``), so two
    tasks running in two threads of one process would draw from each other's generator. A
    lock makes :func:`execute` run one task at a time per process, whatever the worker's
    thread count; start Dask workers with ``--nthreads 1`` and one process per core.
"""
from __future__ import annotations

import hashlib
import os
import platform
import socket
import sys
import threading
import time
import traceback
from collections import OrderedDict

from numpy_nn.experiments.tasks import canonical_json, resolve_entry, task_id

__all__ = [
    "RECORD_SCHEMA",
    "cached",
    "execute",
    "limit_tensorflow_threads",
    "setup_worker",
    "weights_digest",
]

#: Version of the record layout written by :func:`execute`.
RECORD_SCHEMA = 1

THREAD_ENVIRONMENT = {
    "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    "BLIS_NUM_THREADS": "1", "VECLIB_MAXIMUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
}

_setup_done = False
_task_lock = threading.Lock()
_thread_limiter = None        # threadpoolctl's limiter, kept alive for the process's life


def setup_worker(parent_pid: int | None = None) -> None:
    """Limit every thread pool of this process to one thread (idempotent). With
    ``parent_pid``, also exit when that process dies, so a killed driver leaves no orphaned
    workers computing results nobody will collect."""
    global _setup_done, _thread_limiter
    if parent_pid is not None:
        _watch_parent(parent_pid)
    if _setup_done:
        return
    environment = dict(THREAD_ENVIRONMENT)
    if "numba" in sys.modules:
        # Numba read NUMBA_NUM_THREADS on import and reads it again before every compilation;
        # a new value then is an error once its pool exists ("Cannot set NUMBA_NUM_THREADS to
        # a different value once the threads have been launched"). Its pool keeps its size
        # and set_num_threads(1), below, makes it use one thread.
        del environment["NUMBA_NUM_THREADS"]
    os.environ.update(environment)
    try:
        from threadpoolctl import threadpool_limits
        _thread_limiter = threadpool_limits(limits=1)
    except ImportError:       # the environment variables above still cover later loads
        pass
    if "numba" in sys.modules:          # already imported: NUMBA_NUM_THREADS came too late
        import numba
        numba.set_num_threads(1)
    if "tensorflow" in sys.modules:
        limit_tensorflow_threads()
    _setup_done = True


def limit_tensorflow_threads() -> None:
    """One intra-op and one inter-op thread for the TensorFlow a task has imported (call after
    importing it, before its first operation; later calls change nothing and are harmless).

    numpy_nn never imports TensorFlow itself (``tf_backend`` is the only importer): this acts
    on the module the task loaded, and does nothing when there is none."""
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return
    for setter in (tf.config.threading.set_intra_op_parallelism_threads,
                   tf.config.threading.set_inter_op_parallelism_threads):
        try:
            setter(1)
        except RuntimeError:     # TensorFlow already initialised: the env variables applied
            pass


def _watch_parent(parent_pid):
    def watch():
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(3)
    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


# --------------------------------------------------------------------------- dataset cache
_CACHE: OrderedDict = OrderedDict()
#: How many loaded datasets a worker keeps (least recently used goes first): CIFAR-10 as
#: float32 is ~0.6 GB, so a worker holds a few, not all.
CACHE_SIZE = 3


def cached(loader, *args, **kwargs):
    """``loader(*args, **kwargs)``, computed once per worker process and kept (keyed by the
    loader's module and name and the arguments, e.g. dataset + slice). Treat the result as
    read-only: later tasks in the same process receive the same arrays."""
    key = (getattr(loader, "__module__", ""), getattr(loader, "__qualname__", repr(loader)),
           canonical_json([list(args), kwargs]))
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    value = loader(*args, **kwargs)
    _CACHE[key] = value
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return value


def cache_info() -> list:
    """The keys currently cached in this process (for tests and curiosity)."""
    return list(_CACHE)


# --------------------------------------------------------------------------- records
def weights_digest(weights) -> str:
    """SHA-256 over the bytes, dtypes and shapes of a list of arrays: equal digests mean
    bit-identical weights."""
    import numpy as np
    digest = hashlib.sha256()
    for array in weights:
        array = np.ascontiguousarray(np.asarray(array))
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _library_versions():
    versions = {"python": platform.python_version()}
    for name in ("numpy", "numpy_nn", "numba", "scipy", "tensorflow", "keras"):
        module = sys.modules.get(name)
        if module is not None:
            versions[name] = getattr(module, "__version__", "?")
    return versions


def _thread_info():
    try:
        from threadpoolctl import threadpool_info
        return sorted({f"{pool['internal_api']}={pool['num_threads']}"
                       for pool in threadpool_info()})
    except ImportError:
        return []


def execute(task: dict) -> dict:
    """Run one task (a :meth:`Task.to_dict`) here and return its record, a JSON-able dict.

    Never raises for the task's own errors: a task that fails gives a record with
    ``status: "failed"`` and the traceback, so one bad configuration does not stop a grid.
    """
    setup_worker()
    with _task_lock:
        return _execute(task)


def _execute(task):
    config = task["config"]
    record = {
        "schema": RECORD_SCHEMA, "id": task_id(task["entry"], config), "name": task["name"],
        "entry": task["entry"], "config": config, "seed": config.get("seed"),
        "framework": config.get("framework", "numpy_nn"),
        "host": socket.gethostname(), "pid": os.getpid(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    start = time.perf_counter()
    try:
        result = resolve_entry(task["entry"])(config)
        if not isinstance(result, dict):
            raise TypeError(f"task entry {task['entry']} returned {type(result).__name__}, "
                            f"expected a dict")
        result = _jsonable(result)
        record.update(status="ok", error=None, history=result.pop("history", {}),
                      metrics=result.pop("metrics", {}),
                      seconds_per_epoch=result.pop("seconds_per_epoch", []), extra=result)
    except Exception as error:  # noqa: BLE001 - recorded; one bad task must not stop a grid
        record.update(status="failed", error="".join(traceback.format_exception(error)),
                      history={}, metrics={}, seconds_per_epoch=[], extra={})
    record["seconds"] = time.perf_counter() - start
    record["versions"] = _library_versions()
    record["threads"] = _thread_info()
    return record


def _jsonable(value):
    """Arrays and NumPy scalars as lists and Python numbers. NaN and infinity stay floats
    (Python's ``json`` writes and reads them as ``NaN``/``Infinity``): a diverged run says so."""
    import numpy as np
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value
