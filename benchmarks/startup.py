"""Cold start and peak memory, each measured in a fresh Python process.

* **Cold start**: from the first line of a new interpreter to the end of the first training
  step of the LeakyReLU MLP (``import`` + build + ``fit`` on one batch, which is where Numba
  loads or compiles its kernels), for numpy_nn on each path and for Keras. The Numba path is
  measured with its on-disk cache warm (primed by an earlier run) and cold (an empty
  ``NUMBA_CACHE_DIR``, so every kernel the model needs is compiled). The interpreter's own
  start-up is reported separately in ``process_seconds``.
* **Peak RSS**: each engine in its own process loads Fashion-MNIST (all 60,000 training images,
  converted to float32 and scaled in place, never through float64) and trains the LeakyReLU
  MLP for one full epoch (55,000 images, batch 32). The peak resident set size is the
  process's own high-water mark (``VmHWM`` in ``/proc/self/status``), not ``getrusage``'s
  ``ru_maxrss``: Linux carries the parent's peak over through ``fork``/``exec`` into the
  child's ``ru_maxrss``, so a child of a large benchmark process would report the parent's
  size. The current RSS after each stage (import, data, first step, epoch) shows where it
  goes. The numpy_nn processes also report whether TensorFlow was ever imported. The *budget*
  is what training needs to hold at least: the images and labels, the weights and the
  optimizer's variables (``optimizer.variables``), in bytes.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

COLD_START = """
import time
start = time.perf_counter()
import json, sys
import numpy as np
ENGINE = {engine!r}
if ENGINE == "keras":
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads({threads})
    tf.config.threading.set_inter_op_parallelism_threads({threads})
    import keras as lib
else:
    import numpy_nn as lib
from threadpoolctl import threadpool_limits
threadpool_limits({threads})
imported = time.perf_counter() - start
from benchmarks.models import MODELS, build
lib.utils.set_random_seed(42)
model = build(MODELS["leaky_relu_mlp"], lib)
x = np.random.default_rng(0).random((32, 28, 28), dtype=np.float32)
y = np.arange(32) % 10
model.fit(x, y, batch_size=32, epochs=1, verbose=0)
kernel_path = getattr(getattr(lib, "backend", None), "kernel_path", lambda: None)()
print(json.dumps({{"import_seconds": imported, "first_step_seconds": time.perf_counter() - start,
                  "kernel_path": kernel_path}}))
"""

PEAK_RSS = """
import json, sys
import numpy as np
def rss_mb(field="VmRSS"):
    with open("/proc/self/status") as status:
        return int(status.read().split(field + ":")[1].split()[0]) / 1024
ENGINE = {engine!r}
from threadpoolctl import threadpool_limits
threadpool_limits({threads})
if ENGINE == "keras":
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads({threads})
    tf.config.threading.set_inter_op_parallelism_threads({threads})
    import keras as lib
else:
    import numpy_nn as lib
stages = {{"after import": rss_mb()}}
from benchmarks.models import MODELS, build, load_dataset
x, y = load_dataset("fashion_mnist")
stages["after loading the data"] = rss_mb()
lib.utils.set_random_seed(42)
model = build(MODELS["leaky_relu_mlp"], lib)
if ENGINE == "jit":
    model.compile(optimizer=model.optimizer, loss=model.loss, metrics=model.metric_names,
                  jit_compile=True)
fit = lambda x, y: model.fit(x, y, batch_size=32, epochs=1, verbose=0)
fit(x[:32], y[:32])
stages["after the first step"] = rss_mb()
fit(x, y)
stages["after one epoch"] = rss_mb()
optimizer_state = getattr(model.optimizer, "variables", [])
optimizer_state = optimizer_state() if callable(optimizer_state) else optimizer_state
budget = (x.nbytes + np.asarray(y).nbytes + sum(np.asarray(w).nbytes for w in model.weights)
          + sum(np.asarray(v).nbytes for v in optimizer_state))
print(json.dumps({{"peak_rss_mb": rss_mb("VmHWM"), "budget_mb": budget / 2**20,
                  "rss_mb": stages, "samples": len(x),
                  "tensorflow_imported": "tensorflow" in sys.modules}}))
"""


def _child(code, env):
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, cwd=ROOT, timeout=1800)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{result.stderr[-3000:]}")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    report["process_seconds"] = wall
    return report


def _engine_env(base_env, engine, cache_dir=None):
    env = dict(base_env)
    if engine != "keras":
        env["NUMPY_NN_KERNELS"] = "numpy" if engine == "jit" else engine
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    return env


def measure_cold_start(threads, base_env, repetitions=3, log=print):
    """Median seconds to the end of the first training step, per engine and cache state."""
    results = {}
    with tempfile.TemporaryDirectory(prefix="numpy_nn_bench_cache_") as warm_cache:
        _child(COLD_START.format(engine="numba", threads=threads),
               _engine_env(base_env, "numba", warm_cache))          # primes the warm cache
        variants = [("numpy_nn (NumPy path)", "numpy", None),
                    ("numpy_nn (Numba path, cache warm)", "numba", warm_cache),
                    ("numpy_nn (Numba path, cache cold)", "numba", "fresh"),
                    ("Keras 3 (TensorFlow CPU)", "keras", None)]
        runs = {label: [] for label, _, _ in variants}
        for _ in range(repetitions):
            for label, engine, cache in variants:
                if cache == "fresh":
                    with tempfile.TemporaryDirectory(prefix="numpy_nn_cold_") as empty:
                        runs[label].append(_child(COLD_START.format(engine=engine,
                                                                    threads=threads),
                                                  _engine_env(base_env, engine, empty)))
                else:
                    runs[label].append(_child(COLD_START.format(engine=engine, threads=threads),
                                              _engine_env(base_env, engine, cache)))
        for label, reports in runs.items():
            results[label] = {key: statistics.median(r[key] for r in reports)
                              for key in ("import_seconds", "first_step_seconds",
                                          "process_seconds")}
            log(f"  {label:36s} import {results[label]['import_seconds']:.2f} s, "
                f"first step done at {results[label]['first_step_seconds']:.2f} s "
                f"(process {results[label]['process_seconds']:.2f} s)")
    return results


def measure_peak_rss(threads, base_env, log=print):
    results = {}
    for label, engine in (("numpy_nn (NumPy path)", "numpy"), ("numpy_nn (Numba path)", "numba"),
                          ("numpy_nn (fit, jit_compile=True)", "jit"),
                          ("Keras 3 (TensorFlow CPU)", "keras")):
        results[label] = _child(PEAK_RSS.format(engine=engine, threads=threads),
                                _engine_env(base_env, engine))
        stages = ", ".join(f"{k} {v:.0f}" for k, v in results[label]["rss_mb"].items())
        log(f"  {label:36s} peak RSS {results[label]['peak_rss_mb']:.0f} MB "
            f"(TensorFlow imported: {results[label]['tensorflow_imported']}; RSS MB {stages})")
    return results
