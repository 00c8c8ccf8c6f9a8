r"""Training throughput, measured A/B interleaved across engines in separate processes.

For every (model, batch size) cell, each engine's worker (:mod:`benchmarks.worker`) builds the
model and warms up; then the repetitions alternate between engines — ``numpy``, ``numba``,
``keras`` and the matmul ``floor`` — in a rotating order, so that a burst of load from
another process hits all of them alike.

Each repetition of an engine times two ``fit`` epochs: one over all N steps' samples,
:math:`T_N`, and one over the first batch, :math:`T_1`. A ``fit`` call costs a fixed set-up
(Keras: data adapter, iterator, callbacks; about 30 ms here) plus a time per step, so

.. math::
    t_\text{step} = \frac{T_N - T_1}{N - 1}, \qquad t_\text{set-up} = T_1 - t_\text{step}

Throughputs and ratios use :math:`t_\text{step}` (steady training speed, not diluted by how
many steps the benchmark happens to time per call); the set-up is reported beside it and added
back once into the time of a full epoch. Reported per cell: the median of each figure, and
every ratio as the median of the per-repetition ratios (engine A's repetition i against engine
B's repetition i), which cancels most of the drift of a shared machine.

**OpenBLAS kernel variants.** NumPy's OpenBLAS chooses its GEMM kernels for the CPU when it is
loaded, unless ``OPENBLAS_CORETYPE`` names a core type (an environment may pin one, e.g.
``Haswell``'s AVX2 kernels on an AVX-512 machine). The primary measurements run every engine
in the environment as it is. With ``variants=("default", "skylakex")`` every engine also runs
in a second set of workers started with ``OPENBLAS_CORETYPE=SkylakeX`` (OpenBLAS's AVX-512
kernels; the variable is read once, when NumPy loads OpenBLAS, so it is set in the worker's
environment before it starts). Keras runs under both settings too: TensorFlow multiplies
matrices with its own kernels (Eigen / oneDNN), so its figures should not change, and the
report shows whether they do. Default and variant workers of each engine are timed one right
after the other in every repetition (which goes first alternates), so their ratio is as
interleaved as the rest.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

ENGINES = ("numpy", "numba", "keras")
#: label -> OPENBLAS_CORETYPE given to the workers (None: the environment as it is)
BLAS_VARIANTS = {"default": None, "skylakex": "SkylakeX"}


def timing_name(name, variant="default"):
    """Key of an engine's (or the floor's) timings: ``numba``, ``numba@skylakex``, ..."""
    return name if variant == "default" else f"{name}@{variant}"


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


def worker_env(tf_onednn, variant="default"):
    """The workers' environment: TF_ENABLE_ONEDNN_OPTS as asked ("default" removes it, so
    TensorFlow uses its own default, oneDNN on for x86), quiet TensorFlow logs, and for a BLAS
    variant its OPENBLAS_CORETYPE."""
    env = dict(os.environ)
    env.pop("TF_ENABLE_ONEDNN_OPTS", None)
    if tf_onednn != "default":
        env["TF_ENABLE_ONEDNN_OPTS"] = tf_onednn
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if BLAS_VARIANTS[variant] is not None:
        env["OPENBLAS_CORETYPE"] = BLAS_VARIANTS[variant]
    return env


def median_ratio(numerators, denominators):
    return statistics.median(a / b for a, b in zip(numerators, denominators))


def run_training_grid(models, batches, samples_for, repetitions, threads, tf_onednn,
                      variants=("default",), log=print):
    """Measure every (model, batch) cell; return the list of cell results and, per worker, the
    versions and BLAS it reported (``{"numba": ..., "numba@skylakex": ...}``)."""
    workers = {timing_name(engine, variant): Worker(engine, threads,
                                                    worker_env(tf_onednn, variant))
               for variant in variants for engine in ENGINES}
    # each engine's variants side by side, so a default/variant pair is timed back to back
    groups = [[timing_name(name, variant) for variant in variants]
              for name in ENGINES + ("floor",)]
    order = [name for group in groups for name in group]
    cells = []
    try:
        for model in models:
            for batch in batches:
                samples = samples_for(batch)
                prepared = {name: worker.ask(cmd="prepare", model=model, batch=batch,
                                             samples=samples)
                            for name, worker in workers.items()}
                steps = prepared["numpy"]["steps"]
                if steps < 2:
                    raise ValueError(f"{model}, batch {batch}: a cell needs at least 2 steps "
                                     f"per fit to separate set-up from step time, got {steps}")
                timings = {name: [] for name in order}
                setups = {name: [] for name in order if name.split("@")[0] != "floor"}
                for repetition in range(repetitions):
                    # rotate the engines, and alternate which variant of a pair goes first
                    shift = repetition % len(groups)
                    sequence = [name for group in groups[shift:] + groups[:shift]
                                for name in (group[::-1] if repetition % 2 else group)]
                    for name in sequence:
                        if name.split("@")[0] == "floor":
                            numpy_worker = workers[name.replace("floor", "numpy", 1)]
                            timings[name].append(
                                numpy_worker.ask(cmd="floor")["seconds"] / steps)
                        else:
                            whole = workers[name].ask(cmd="fit")["seconds"]
                            first_batch = workers[name].ask(cmd="fit", steps=1)["seconds"]
                            step = (whole - first_batch) / (steps - 1)
                            timings[name].append(step)
                            setups[name].append(first_batch - step)
                cell = summarize(model, batch, samples, steps, timings, setups, prepared,
                                 variants)
                cell["threads"] = threads
                cells.append(cell)
                log(f"  {threads} thread(s) {model:18s} batch {batch:5d}: " + "  ".join(
                    f"{name} {1e3 * statistics.median(timings[name]):.3f} ms" for name in order)
                    + f"  | numba/keras x{cell['ratios']['keras_over_numba']:.2f}"
                    + f"  numba/floor x{cell['ratios']['numba_over_floor']:.2f}"
                    + "".join(f"  [{variant}: numba/keras x"
                              f"{cell['blas_variants'][variant]['ratios']['keras_over_numba']:.2f}"
                              f" floor gain x"
                              f"{cell['blas_variants'][variant]['gain_over_default']['floor']:.2f}]"
                              for variant in variants[1:]))
    finally:
        versions = {name: worker.versions for name, worker in workers.items()}
        for worker in workers.values():
            worker.close()
    return cells, versions


def _figures(timings, setups, batch, epoch_steps, variant="default"):
    """Medians, throughputs and pairwise ratios of one BLAS variant (``timings``: seconds per
    step; ``setups``: seconds of fixed cost per ``fit`` call)."""
    series = {name: timings[timing_name(name, variant)] for name in ENGINES + ("floor",)}
    step = {name: statistics.median(values) for name, values in series.items()}
    setup = {name: statistics.median(setups[timing_name(name, variant)]) for name in ENGINES}
    return {
        "step_ms": {name: 1e3 * value for name, value in step.items()},
        "samples_per_second": {name: batch / value for name, value in step.items()},
        "fit_setup_ms": {name: 1e3 * value for name, value in setup.items()},
        "epoch_seconds": {name: value * epoch_steps + setup.get(name, 0.0)
                          for name, value in step.items()},
        "overhead_ms": {name: 1e3 * statistics.median(
            a - b for a, b in zip(series[name], series["floor"])) for name in ENGINES},
        "ratios": {
            "keras_over_numba": median_ratio(series["keras"], series["numba"]),
            "keras_over_numpy": median_ratio(series["keras"], series["numpy"]),
            "numpy_over_numba": median_ratio(series["numpy"], series["numba"]),
            "numba_over_floor": median_ratio(series["numba"], series["floor"]),
            "numpy_over_floor": median_ratio(series["numpy"], series["floor"]),
            "keras_over_floor": median_ratio(series["keras"], series["floor"]),
        },
        "spread": {name: max(values) / min(values) for name, values in series.items()},
    }


def summarize(model, batch, samples, steps, timings, setups, prepared, variants=("default",)):
    """One cell: the figures of the environment's own BLAS at the top level, and those of each
    other variant under ``blas_variants`` with its speed-up over the default per engine
    (``gain_over_default``, default time / variant time, repetition by repetition)."""
    from benchmarks.models import MODELS
    epoch_samples = 45_000 if MODELS[model].dataset == "cifar10" else 55_000
    epoch_steps = -(-epoch_samples // batch)
    cell = {"model": model, "batch": batch, "samples_per_fit": samples, "steps_per_fit": steps,
            "repetitions": len(timings["numpy"]),
            "parameters": prepared["numpy"]["parameters"],
            **_figures(timings, setups, batch, epoch_steps),
            "epoch_samples": epoch_samples,
            "raw_step_seconds": timings, "raw_fit_setup_seconds": setups}
    if len(variants) > 1:
        cell["blas_variants"] = {
            variant: {**_figures(timings, setups, batch, epoch_steps, variant),
                      "gain_over_default": {
                          name: median_ratio(timings[name], timings[timing_name(name, variant)])
                          for name in ENGINES + ("floor",)}}
            for variant in variants[1:]}
    return cell
