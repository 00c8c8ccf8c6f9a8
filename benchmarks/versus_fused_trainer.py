"""``python -m benchmarks.versus_fused_trainer FUSED_TREE``: ``fit`` with ``jit_compile=True``
against ``FusedTrainer``, the compiled trainer it replaced, on the chapter's four networks.

``FusedTrainer`` (``numpy_nn/kernels/fused_step.py``) no longer exists in this tree; give the
path of a checkout that still has it (``git worktree add /tmp/fused 0b30c5b``, the last
commit before ``jit_compile``). Each repetition starts one fresh process per engine (this
tree's ``fit(jit_compile=True)``, the old tree's ``FusedTrainer(model, compiled=True).fit``),
the two alternating, each pinned to core 0 with one BLAS thread; a process warms up (an
epoch and a one-step epoch), then times an epoch of N steps and a one-step epoch, and reports
:math:`(T_N - T_1)/(N - 1)`, the step time without the epoch's set-up (as
:mod:`benchmarks.harness` does). The ratio's interval is over the repetitions' paired ratios
(:func:`benchmarks.harness.ratio_interval`). Writes ``versus_fused_trainer.json`` into
``benchmarks/results/jit_compile``.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.join(ROOT, "benchmarks", "results", "jit_compile", "versus_fused_trainer.json")
MODELS = ("leaky_relu_mlp", "batch_norm_mlp", "selu_100", "elu_20x100_cifar")
STEPS = {32: 30, 1024: 8}

CHILD = """
import json, os, sys, time
os.sched_setaffinity(0, {{0}})
import threadpoolctl
threadpoolctl.threadpool_limits(1)
import numpy_nn as nn
from benchmarks.models import MODELS, build, load_dataset
spec, batch, steps = MODELS[{model!r}], {batch}, {steps}
x, y = load_dataset(spec.dataset, batch * steps)
nn.utils.set_random_seed(42)
model = build(spec, nn)
if {engine!r} == "jit":
    model.compile(optimizer=model.optimizer, loss=model.loss, metrics=model.metric_names,
                  jit_compile=True)
    fit = lambda x, y: model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
else:
    nn.backend.set_kernel_path("numba")
    from numpy_nn.kernels.fused_step import FusedTrainer
    trainer = FusedTrainer(model, compiled=True)
    fit = lambda x, y: trainer.fit(x, y, batch_size=batch, epochs=1)
fit(x, y)
fit(x[:batch], y[:batch])
start = time.perf_counter(); fit(x, y); whole = time.perf_counter() - start
start = time.perf_counter(); fit(x[:batch], y[:batch]); one = time.perf_counter() - start
print(json.dumps({{"step": (whole - one) / (steps - 1)}}))
"""


def run(engine, tree, model, batch):
    env = {**os.environ, "PYTHONPATH": tree, "OPENBLAS_NUM_THREADS": "1",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env.pop("NUMPY_NN_BLAS", None)
    code = CHILD.format(model=model, batch=batch, steps=STEPS[batch], engine=engine)
    done = subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, capture_output=True,
                          text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"{engine} {model} {batch}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["step"]


def main(argv=None):
    from benchmarks.harness import ratio_interval
    from benchmarks.run import _cpu_name
    from numpy_nn.io_utils import atomic_write
    argv = sys.argv[1:] if argv is None else argv
    os.environ.setdefault("NUMPY_NN_DATA_DIR", os.path.join(os.path.dirname(ROOT), "shared",
                                                            "data"))
    fused_tree, repetitions = os.path.abspath(argv[0]), int(argv[1]) if len(argv) > 1 else 5
    rows = []
    for model in MODELS:
        for batch in STEPS:
            times = {"jit": [], "fused": []}
            for _ in range(repetitions):
                times["jit"].append(run("jit", ROOT, model, batch))
                times["fused"].append(run("fused", fused_tree, model, batch))
            row = {"model": model, "batch": batch,
                   "jit_ms": 1e3 * statistics.median(times["jit"]),
                   "fused_ms": 1e3 * statistics.median(times["fused"]),
                   "ratio": ratio_interval(times["fused"], times["jit"]), "seconds": times}
            print(model, batch, f"jit {row['jit_ms']:.3f} ms, fused {row['fused_ms']:.3f} ms, "
                  f"fused/jit {row['ratio']['ratio']:.3f}", flush=True)
            rows.append(row)
    note = (f"One thread, pinned to one core; medians of {repetitions} repetitions, a fresh "
            f"process per engine and repetition, the two alternating; {_cpu_name()}.")
    with atomic_write(OUTPUT, "w") as handle:
        json.dump({"rows": rows, "note": note}, handle, indent=1)


if __name__ == "__main__":
    main()
