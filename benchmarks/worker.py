"""One engine in its own process, timing training on command (driven by :mod:`benchmarks.harness`).

Engines:

* ``numpy``, ``numba`` — numpy_nn on each kernel path (never imports TensorFlow);
* ``jit``, ``jit_mkl`` — numpy_nn's ``fit`` after ``compile(jit_compile=True)``: every step one
  compiled call, with NumPy's BLAS or (``NUMPY_NN_BLAS=mkl``, set by the harness) MKL's, whose
  floor is then timed with the same MKL routine;
* ``keras_tf`` — Keras 3 on TensorFlow's CPU backend, as ``compile`` leaves it (Keras's
  ``jit_compile="auto"`` means no XLA on a machine without a GPU:
  ``keras/src/trainers/trainer.py``, ``Trainer._resolve_auto_jit_compile``);
* ``keras_tf_xla`` — the same with ``model.jit_compile = True`` (XLA compiles the step);
* ``keras_jax`` — Keras 3 on JAX (``KERAS_BACKEND=jax``, set by the harness before the worker
  starts; ``fit`` then compiles the whole training step with ``jax.jit``);
* ``torch`` — PyTorch eager, the model translated by :mod:`benchmarks.peers` with the same
  initial weights, trained by the loop a PyTorch user writes (:class:`peers.TorchTrainer`);
* ``torch_compile`` — the same with the module wrapped in ``torch.compile``.

**Threads and cores.** ``--threads N`` limits every thread pool the engine has: BLAS/OpenMP
through threadpoolctl (and ``OMP_NUM_THREADS`` etc. in the environment, set by the harness),
TensorFlow's intra- and inter-op pools, ``torch.set_num_threads``, XLA's CPU flags (in
``XLA_FLAGS``, set by the harness). ``--pin 0,1`` also restricts the whole process to those
cores with ``os.sched_setaffinity`` *before* any library starts a thread, so no engine can
use more CPU than it is given whatever its pools do. Every ``fit`` reply carries the process's
CPU time (user + system, all threads, from ``os.times``) beside its wall time, so the harness
can check that CPU-seconds per wall-second stayed within the cores allowed.

The parent sends one JSON command per line on stdin and reads one JSON reply per line:

* ``{"cmd": "prepare", "model": NAME_OR_PATH, "batch": B, "samples": N}`` builds the model
  (fixed seed; a chapter network of :mod:`benchmarks.models`, or a numpy_nn model file, which
  the Keras engines get through ``tf_backend.to_keras`` and PyTorch through
  :func:`peers.to_torch`), takes N samples and runs one untimed epoch and one untimed
  one-batch call (warm-up: JIT compilation, tracing, caches, allocator);
* ``{"cmd": "fit"}`` times one epoch over those samples with the engine's user-facing call
  (``model.fit(x, y, batch_size=B, epochs=1, verbose=0)`` for numpy_nn and Keras; the
  training loop for PyTorch); ``{"cmd": "fit", "steps": 1}`` the same on the first batch only;
* ``{"cmd": "floor"}`` (numpy_nn engines) times only the GEMMs of the same training steps: per
  Dense layer ``x W``, ``x^T delta`` and, where backpropagation needs it, ``delta W^T``, into
  preallocated outputs with the same BLAS and threads — the floor no implementation of this
  step can go below without a faster GEMM;
* ``{"cmd": "quit"}``.
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import os
import sys
import time

import numpy as np

ENGINES = ("numpy", "numba", "jit", "jit_mkl", "keras_tf", "keras_tf_xla", "keras_jax",
           "torch", "torch_compile")
NUMPY_NN_ENGINES = ("numpy", "numba", "jit", "jit_mkl")
#: ``model.fit`` after ``compile(jit_compile=True)`` (NumPy's BLAS, or MKL's for ``jit_mkl``)
JIT_ENGINES = ("jit", "jit_mkl")
#: the engines whose floor calls the compiled step's own gemm (MKL's routine)
GEMM_FLOOR_ENGINES = ("jit_mkl",)


def cpu_seconds():
    """User + system CPU time of this process, all its threads (CLOCK_PROCESS_CPUTIME_ID:
    nanosecond resolution, where ``os.times`` counts 10 ms ticks)."""
    return time.process_time()


def set_priority(nice):
    """Run this process (and the threads it starts) at scheduling priority ``nice``. Linux
    schedules each session's processes as one group (autogroup) when that is enabled, and a
    process's own nice value then only ranks it within its session, so the harness starts
    every worker in a session of its own and the group's nice is set too."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
    except OSError:
        pass                            # not permitted: versions() reports what it is
    try:
        with open("/proc/self/autogroup", "w", encoding="ascii") as group:
            group.write(str(nice))
    except OSError:
        pass


def priority():
    """``{"nice": process nice, "autogroup": the session group's line}``."""
    try:
        with open("/proc/self/autogroup", encoding="ascii") as group:
            autogroup = group.read().strip()
    except OSError:
        autogroup = None
    return {"nice": os.getpriority(os.PRIO_PROCESS, 0), "autogroup": autogroup}



class Engine:
    def __init__(self, name, threads):
        self.name = name
        self.threads = threads
        from threadpoolctl import threadpool_limits
        self._limits = threadpool_limits(threads)      # kept alive for the whole process
        if name.startswith("keras_tf"):
            import tensorflow as tf
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        if name.startswith("keras"):
            import keras
            self.lib = keras
        elif name.startswith("torch"):
            import torch
            torch.set_num_threads(threads)
            torch.set_num_interop_threads(threads)
            self.lib = torch
        else:
            import numpy_nn
            numpy_nn.backend.set_kernel_path("numpy" if name in JIT_ENGINES else name)
            self.lib = numpy_nn
        self.model = None

    def versions(self):
        info = {"numpy": np.__version__, "engine": self.name,
                "affinity": sorted(os.sched_getaffinity(0)),
                **priority()}
        if self.name.startswith("keras"):
            info.update(keras=self.lib.__version__, backend=self.lib.backend.backend())
            if self.name.startswith("keras_tf"):
                import tensorflow as tf
                info.update(tensorflow=tf.__version__,
                            tf_enable_onednn_opts=os.environ.get("TF_ENABLE_ONEDNN_OPTS",
                                                                 "unset"))
            else:
                import jax
                info.update(jax=jax.__version__, xla_flags=os.environ.get("XLA_FLAGS", ""))
        elif self.name.startswith("torch"):
            info.update(torch=self.lib.__version__,
                        torch_threads=self.lib.get_num_threads())
        else:
            info["numpy_nn"] = self.lib.__version__
            if self.name != "numpy":
                import numba
                info["numba"] = numba.__version__
            if self.name in JIT_ENGINES:
                from numpy_nn.kernels import blas
                info["compiled_gemm"] = blas.SOURCES[blas.library_index(
                    self.lib.backend.blas())]
        info["tensorflow_imported"] = "tensorflow" in sys.modules
        from threadpoolctl import threadpool_info
        info["blas"] = [{k: p.get(k) for k in ("internal_api", "version", "num_threads",
                                                "architecture", "filepath")}
                        for p in threadpool_info()]
        info["openblas_environment"] = {name: os.environ.get(name, "unset") for name in
                                        ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
        info["numpy_nn_prime_blas"] = os.environ.get("NUMPY_NN_PRIME_BLAS", "unset")
        return info

    # ------------------------------------------------------------------ building
    def _numpy_nn_model(self, model):
        """The numpy_nn model of a chapter network name or a saved file, and its data."""
        import numpy_nn
        from benchmarks.models import MODELS, build, load_dataset, random_data
        numpy_nn.utils.set_random_seed(42)
        if model in MODELS:
            spec = MODELS[model]
            return build(spec, numpy_nn), spec, load_dataset(spec.dataset, self.samples)
        loaded = numpy_nn.models.load_model(model)
        return loaded, None, random_data(loaded, self.samples)

    def prepare(self, model, batch, samples):
        from benchmarks.models import MODELS, build, load_dataset
        self.model = self.x = self.y = self.trainer = None
        gc.collect()
        self.batch, self.samples = batch, samples
        if self.name.startswith("keras") and model in MODELS:
            # Keras builds the chapter networks itself, with its own initializers
            spec = MODELS[model]
            self.lib.backend.clear_session()
            self.lib.utils.set_random_seed(42)
            self.x, self.y = load_dataset(spec.dataset, samples)
            self.model = build(spec, self.lib)
        else:
            if self.name.startswith("keras"):
                self.lib.backend.clear_session()
                self.lib.utils.set_random_seed(42)
            nn_model, spec, (self.x, self.y) = self._numpy_nn_model(model)
            if self.name in JIT_ENGINES:
                nn_model.compile(optimizer=nn_model.optimizer, loss=nn_model.loss,
                                 metrics=nn_model.metric_names, jit_compile=True)
                self.model = nn_model
            elif self.name in NUMPY_NN_ENGINES:
                self.model = nn_model
            elif self.name.startswith("keras"):
                from tf_backend import to_keras
                self.model = to_keras(nn_model, compile=True)
            else:
                import torch

                from benchmarks.peers import TorchTrainer, to_torch, torch_tensors
                torch.manual_seed(42)
                if hasattr(torch, "_dynamo"):
                    torch._dynamo.reset()        # a fresh compile per cell
                self.trainer = TorchTrainer(*to_torch(nn_model),
                                            compiled=self.name == "torch_compile")
                self.x, self.y = torch_tensors(self.x, self.y)
        if self.name == "keras_tf_xla":
            self.model.jit_compile = True             # before the first fit builds the step
            if not self.model.jit_compile:
                raise RuntimeError("Keras refused jit_compile=True for this model")
        self.fit()                                    # warm-up, not reported
        self.fit(steps=1)
        self._prepare_floor()
        reply = {"parameters": self.parameter_count(), "steps": math.ceil(len(self.x) / batch)}
        if self.floor_ops is not None:             # the step's useful work, for efficiency
            from benchmarks.analysis import step_flops
            from benchmarks.models import dense_plan
            reply["gemm_flops"] = step_flops(*dense_plan(self.model), batch)
        return reply

    def parameter_count(self):
        if self.trainer is not None and self.name.startswith("torch"):
            return int(sum(p.numel() for p in self.trainer.module.parameters()))
        return int(sum(int(np.prod(w.shape)) for w in self.model.weights))

    def fit(self, steps=None):
        """``(wall seconds, CPU seconds)`` of one epoch over all the prepared samples, or over
        the first ``steps`` batches of them."""
        samples = len(self.x) if steps is None else steps * self.batch
        x, y = self.x[:samples], self.y[:samples]
        cpu, start = cpu_seconds(), time.perf_counter()
        if self.trainer is not None:
            self.trainer.fit(x, y, self.batch)
        else:
            self.model.fit(x, y, batch_size=self.batch, epochs=1, verbose=0)
        return time.perf_counter() - start, cpu_seconds() - cpu

    # ------------------------------------------------------------------ the matmul floor
    def _prepare_floor(self):
        self.floor_ops = None
        if self.name not in NUMPY_NN_ENGINES:
            return
        from benchmarks.models import dense_plan
        rng = np.random.default_rng(0)
        batch = self.batch
        self.floor_ops = []
        shapes, needs_input_gradient = dense_plan(self.model)
        library = {}
        if self.name in GEMM_FLOOR_ENGINES:           # the compiled step's library, MKL's
            from numpy_nn.kernels.blas import library_index
            library = dict.fromkeys(("x W", "x^T delta", "delta W^T"),
                                    library_index(self.lib.backend.blas()))
        # (a, b, out, a holds A^T, b holds B^T, library): out = op(a) op(b), C-ordered arrays
        for index, (inputs, units) in enumerate(shapes):
            x = rng.standard_normal((batch, inputs), dtype=np.float32)
            w = rng.standard_normal((inputs, units), dtype=np.float32)
            delta = rng.standard_normal((batch, units), dtype=np.float32)
            self.floor_ops.append((x, w, np.empty((batch, units), np.float32), False, False,
                                   library.get("x W", 0)))
            self.floor_ops.append((x, delta, np.empty((inputs, units), np.float32), True,
                                   False, library.get("x^T delta", 0)))         # x^T delta
            if index in needs_input_gradient:                                  # delta W^T
                self.floor_ops.append((delta, w, np.empty((batch, inputs), np.float32), False,
                                       True, library.get("delta W^T", 0)))
        self.floor_steps = math.ceil(len(self.x) / batch)
        self.floor()                                  # warm-up

    def floor(self):
        """Wall and CPU seconds of the GEMMs of as many training steps as one timed fit has:
        NumPy's ``matmul`` (on transposed views), or for ``jit_mkl`` the routine its compiled
        step calls, each product called from Python in the same way."""
        operations = self.floor_ops
        if self.name in GEMM_FLOOR_ENGINES:
            from numpy_nn.kernels.blas import gemm
            one, zero = np.float32(1), np.float32(0)
            cpu, start = cpu_seconds(), time.perf_counter()
            for _ in range(self.floor_steps):
                for a, b, out, transpose_a, transpose_b, library in operations:
                    gemm(a, b, out, transpose_a, transpose_b, one, zero, library)
            return time.perf_counter() - start, cpu_seconds() - cpu
        matmul = np.matmul
        operations = [(a.T if transpose_a else a, b.T if transpose_b else b, out)
                      for a, b, out, transpose_a, transpose_b, _ in operations]
        cpu, start = cpu_seconds(), time.perf_counter()
        for _ in range(self.floor_steps):
            for a, b, out in operations:
                matmul(a, b, out=out)
        return time.perf_counter() - start, cpu_seconds() - cpu


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=ENGINES, required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--pin", default="",
                        help="comma-separated CPU ids this process may run on (empty: any)")
    parser.add_argument("--nice", type=int, default=0,
                        help="scheduling priority (negative: ahead of other jobs; needs the "
                             "privilege to raise it, else it stays as it is)")
    args = parser.parse_args()
    if args.pin:                       # before any library starts a thread: all inherit it
        os.sched_setaffinity(0, {int(cpu) for cpu in args.pin.split(",")})
    if args.nice:
        set_priority(args.nice)
    engine = Engine(args.engine, args.threads)
    reply = sys.stdout
    sys.stdout = sys.stderr            # anything the libraries print must not reach the pipe
    print(json.dumps({"ready": True, "versions": engine.versions()}), file=reply, flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        try:
            if command["cmd"] == "quit":
                break
            if command["cmd"] == "prepare":
                result = engine.prepare(command["model"], command["batch"], command["samples"])
            elif command["cmd"] == "fit":
                wall, cpu = engine.fit(command.get("steps"))
                result = {"seconds": wall, "cpu_seconds": cpu}
            elif command["cmd"] == "floor":
                wall, cpu = engine.floor()
                result = {"seconds": wall, "cpu_seconds": cpu}
            else:
                raise ValueError(f"unknown command {command['cmd']!r}")
        except Exception as error:     # report it to the parent instead of dying silently
            result = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(result), file=reply, flush=True)


if __name__ == "__main__":
    main()
