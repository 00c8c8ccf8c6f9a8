"""One engine in its own process, timing training on command (driven by :mod:`benchmarks.harness`).

Engines: ``numpy`` and ``numba`` (numpy_nn on each kernel path; never imports TensorFlow)
and ``keras`` (Keras 3 on TensorFlow's CPU backend). Each worker limits BLAS to ``--threads``
threads with threadpoolctl; the Keras worker also sets TensorFlow's intra- and inter-op
thread pools to the same number. The parent sends one JSON command per line on stdin and
reads one JSON reply per line on stdout:

* ``{"cmd": "prepare", "model": ..., "batch": B, "samples": N}`` builds the model (fixed seed),
  takes the first N training samples and runs one untimed epoch over them (warm-up: JIT
  compilation, TensorFlow tracing, caches, allocator);
* ``{"cmd": "fit"}`` times one ``model.fit(x, y, batch_size=B, epochs=1, verbose=0)`` over those
  samples, exactly as a user calls it (shuffling, the accuracy metric, the last partial batch);
  ``{"cmd": "fit", "steps": 1}`` the same call on the first batch only (the harness takes the
  fixed cost of a ``fit`` call from the difference);
* ``{"cmd": "floor"}`` (NumPy engines) times only the matrix multiplications of the same
  training steps: per Dense layer the forward ``x W``, and backward ``x^T delta`` and
  ``delta W^T`` (not for the first Dense layer when nothing trainable lies below it, since
  no input gradient is needed there), into preallocated
  outputs, with the same BLAS and thread count — the floor no implementation of this
  training step can go below without a faster GEMM;
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


class Engine:
    def __init__(self, name, threads):
        self.name = name
        self.threads = threads
        from threadpoolctl import threadpool_limits
        self._limits = threadpool_limits(threads)      # kept alive for the whole process
        if name == "keras":
            import tensorflow as tf
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
            import keras
            self.lib = keras
        else:
            import numpy_nn
            numpy_nn.backend.set_kernel_path(name)
            self.lib = numpy_nn
        self.model = None

    def versions(self):
        info = {"numpy": np.__version__, "engine": self.name}
        if self.name == "keras":
            import tensorflow as tf
            info.update(keras=self.lib.__version__, tensorflow=tf.__version__,
                        tf_enable_onednn_opts=os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset"))
        else:
            info["numpy_nn"] = self.lib.__version__
            if self.name == "numba":
                import numba
                info["numba"] = numba.__version__
            info["tensorflow_imported"] = "tensorflow" in sys.modules
        from threadpoolctl import threadpool_info
        info["blas"] = [{k: p.get(k) for k in ("internal_api", "version", "num_threads",
                                                "architecture", "filepath")}
                        for p in threadpool_info()]
        info["openblas_coretype"] = os.environ.get("OPENBLAS_CORETYPE", "unset")
        return info

    def prepare(self, model, batch, samples):
        from benchmarks.models import MODELS, build, load_dataset
        spec = MODELS[model]
        self.model = self.x = self.y = None
        gc.collect()
        self.x, self.y = load_dataset(spec.dataset, samples)
        self.batch, self.spec = batch, spec
        if self.name == "keras":
            self.lib.backend.clear_session()
        self.lib.utils.set_random_seed(42)
        self.model = build(spec, self.lib)
        self.fit()                                    # warm-up, not reported
        self.fit(steps=1)
        self._prepare_floor()
        return {"parameters": int(sum(int(np.prod(w.shape)) for w in self.model.weights)),
                "steps": math.ceil(len(self.x) / batch)}

    def fit(self, steps=None):
        """Seconds of one ``fit`` epoch over all the prepared samples, or over the first
        ``steps`` batches of them."""
        samples = len(self.x) if steps is None else steps * self.batch
        x, y = self.x[:samples], self.y[:samples]
        start = time.perf_counter()
        self.model.fit(x, y, batch_size=self.batch, epochs=1, verbose=0)
        return time.perf_counter() - start

    # ------------------------------------------------------------------ the matmul floor
    def _prepare_floor(self):
        if self.name == "keras":
            return
        rng = np.random.default_rng(0)
        batch = self.batch
        self.floor_ops = []
        needs_input_gradient = self.spec.input_gradient_layers()
        for index, (inputs, units) in enumerate(self.spec.dense_shapes()):
            x = rng.standard_normal((batch, inputs), dtype=np.float32)
            w = rng.standard_normal((inputs, units), dtype=np.float32)
            delta = rng.standard_normal((batch, units), dtype=np.float32)
            self.floor_ops.append((x, w, np.empty((batch, units), np.float32)))        # x W
            self.floor_ops.append((x.T, delta, np.empty((inputs, units), np.float32)))  # x^T delta
            if index in needs_input_gradient:
                self.floor_ops.append((delta, w.T, np.empty((batch, inputs), np.float32)))
        self.floor_steps = math.ceil(len(self.x) / batch)
        self.floor()                                  # warm-up

    def floor(self):
        """Time the GEMMs of as many training steps as one timed fit has."""
        operations, matmul = self.floor_ops, np.matmul
        start = time.perf_counter()
        for _ in range(self.floor_steps):
            for a, b, out in operations:
                matmul(a, b, out=out)
        return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=["numpy", "numba", "keras"], required=True)
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args()
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
                result = {"seconds": engine.fit(command.get("steps"))}
            elif command["cmd"] == "floor":
                result = {"seconds": engine.floor()}
            else:
                raise ValueError(f"unknown command {command['cmd']!r}")
        except Exception as error:     # report it to the parent instead of dying silently
            result = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(result), file=reply, flush=True)


if __name__ == "__main__":
    main()
