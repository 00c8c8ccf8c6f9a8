"""Training throughput, measured A/B interleaved across engines in separate processes.

For every (model, batch size) cell, each engine's worker (:mod:`benchmarks.worker`) builds the
model and warms up; then the repetitions alternate between engines — ``numpy``, ``numba``,
``keras`` and the matmul ``floor`` — in a rotating order, so that a burst of load from
another process hits all of them alike. Each repetition is one ``fit`` epoch over the same
samples. Reported per cell: the median time per step of each engine, and every ratio as the
median of the per-repetition ratios (engine A's repetition i against engine B's repetition
i), which cancels most of the drift of a shared machine.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

ENGINES = ("numpy", "numba", "keras")


class Worker:
    """A :mod:`benchmarks.worker` subprocess speaking JSON lines."""

    def __init__(self, engine, threads, env):
        self.engine = engine
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.worker", "--engine", engine,
             "--threads", str(threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, env=env, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        self.versions = self._read()["versions"]

    def _read(self):
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"benchmark worker '{self.engine}' exited "
                               f"(code {self.process.poll()})")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"benchmark worker '{self.engine}': {reply['error']}")
        return reply

    def ask(self, **command):
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self):
        try:
            self.ask(cmd="quit")
        except (RuntimeError, BrokenPipeError, ValueError):
            pass
        self.process.wait(timeout=60)


def worker_env(tf_onednn):
    """The workers' environment: TF_ENABLE_ONEDNN_OPTS as asked ("default" removes it, so
    TensorFlow uses its own default, oneDNN on for x86), quiet TensorFlow logs."""
    env = dict(os.environ)
    env.pop("TF_ENABLE_ONEDNN_OPTS", None)
    if tf_onednn != "default":
        env["TF_ENABLE_ONEDNN_OPTS"] = tf_onednn
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def median_ratio(numerators, denominators):
    return statistics.median(a / b for a, b in zip(numerators, denominators))


def run_training_grid(models, batches, samples_for, repetitions, threads, tf_onednn,
                      log=print):
    """Measure every (model, batch) cell; return the list of cell results and engine versions."""
    env = worker_env(tf_onednn)
    workers = {engine: Worker(engine, threads, env) for engine in ENGINES}
    cells = []
    try:
        for model in models:
            for batch in batches:
                samples = samples_for(batch)
                prepared = {engine: workers[engine].ask(cmd="prepare", model=model,
                                                        batch=batch, samples=samples)
                            for engine in ENGINES}
                steps = prepared["numpy"]["steps"]
                timings = {name: [] for name in ENGINES + ("floor",)}
                order = list(ENGINES) + ["floor"]
                for repetition in range(repetitions):
                    rotated = order[repetition % len(order):] + order[:repetition % len(order)]
                    for name in rotated:
                        if name == "floor":
                            seconds = workers["numpy"].ask(cmd="floor")["seconds"]
                        else:
                            seconds = workers[name].ask(cmd="fit")["seconds"]
                        timings[name].append(seconds / steps)
                cell = summarize(model, batch, samples, steps, timings, prepared)
                cell["threads"] = threads
                cells.append(cell)
                log(f"  {threads} thread(s) {model:18s} batch {batch:5d}: " + "  ".join(
                    f"{name} {cell['step_ms'][name]:.3f} ms" for name in order)
                    + f"  | numba/keras x{cell['ratios']['keras_over_numba']:.2f}"
                    + f"  numba/floor x{cell['ratios']['numba_over_floor']:.2f}")
    finally:
        versions = {engine: worker.versions for engine, worker in workers.items()}
        for worker in workers.values():
            worker.close()
    return cells, versions


def summarize(model, batch, samples, steps, timings, prepared):
    """Medians, throughputs and pairwise ratios of one cell (times are seconds per step)."""
    from benchmarks.models import MODELS
    epoch_samples = 45_000 if MODELS[model].dataset == "cifar10" else 55_000
    epoch_steps = -(-epoch_samples // batch)
    step = {name: statistics.median(values) for name, values in timings.items()}
    return {
        "model": model, "batch": batch, "samples_per_fit": samples, "steps_per_fit": steps,
        "repetitions": len(timings["numpy"]),
        "parameters": prepared["numpy"]["parameters"],
        "step_ms": {name: 1e3 * value for name, value in step.items()},
        "samples_per_second": {name: batch / value for name, value in step.items()},
        "epoch_seconds": {name: value * epoch_steps for name, value in step.items()},
        "epoch_samples": epoch_samples,
        "overhead_ms": {name: 1e3 * statistics.median(
            a - b for a, b in zip(timings[name], timings["floor"])) for name in ENGINES},
        "ratios": {
            "keras_over_numba": median_ratio(timings["keras"], timings["numba"]),
            "keras_over_numpy": median_ratio(timings["keras"], timings["numpy"]),
            "numpy_over_numba": median_ratio(timings["numpy"], timings["numba"]),
            "numba_over_floor": median_ratio(timings["numba"], timings["floor"]),
            "numpy_over_floor": median_ratio(timings["numpy"], timings["floor"]),
            "keras_over_floor": median_ratio(timings["keras"], timings["floor"]),
        },
        "spread": {name: max(values) / min(values) for name, values in timings.items()},
        "raw_step_seconds": timings,
    }
