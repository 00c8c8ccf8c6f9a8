"""Each Numba kernel against its NumPy reference twin, at the chapter's sizes (batch 32).

Every case calls the *public* method (the dispatcher) with the kernel path set to ``numpy``
or ``numba``, so the figures include the dispatch and the glue a training step pays. Paths
alternate within each repetition; the reported ratio is the median of per-repetition ratios.
Times are the process's CPU time (see :func:`_time`).

Sizes: activations of the 300-unit layers (32 x 300) and of the 100-unit SELU/ELU layers
(32 x 100); softmax and cross-entropy on the 10 outputs; BatchNormalization on 300 features;
optimizers on all 266,610 parameters of the LeakyReLU MLP (6 arrays) and on the SELU-100
net's 1,085,310 parameters in 202 arrays. For the optimizers the Numba path finds the
gradients already in its flat buffer, as it does in training (Dense writes them there).
"""
from __future__ import annotations

import statistics
import time

import numpy as np

import numpy_nn as nn
from numpy_nn import activations, backend, losses
from numpy_nn.layers.regularization import apply_alpha_dropout_mask, apply_dropout_mask
from numpy_nn.optimizers.flat import grad_buffer
from numpy_nn.variables import Variable

MLP_SHAPES = [(784, 300), (300,), (300, 100), (100,), (100, 10), (10,)]
SELU_100_SHAPES = [(784, 300), (300,), (300, 100), (100,)] + [(100, 100), (100,)] * 98 + [
    (100, 10), (10,)]


def _activation_case(function, shape, rng):
    x = rng.standard_normal(shape, dtype=np.float32)
    grad = rng.standard_normal(shape, dtype=np.float32)
    y = function.forward(x)
    return {"forward": lambda: function.forward(x),
            "backward": lambda: function.backward(x, y, grad)}


def _layer_case(layer, shape, rng, training=True):
    x = rng.standard_normal(shape, dtype=np.float32)
    grad = rng.standard_normal(shape, dtype=np.float32)
    layer.build((None,) + shape[1:])
    layer(x, training=training)
    return {"forward": lambda: layer(x, training=training),
            "forward+backward": lambda: (layer(x, training=training), layer.backward(grad))}


def _optimizer_case(make_optimizer, shapes, rng):
    """update_all on fresh variables per path; the Numba side gets its grads in place."""
    prepared = {}

    def setup(path):
        backend.set_kernel_path(path)
        variables = [Variable(rng.standard_normal(s, dtype=np.float32)) for s in shapes]
        optimizer = make_optimizer()
        grads = [rng.standard_normal(s, dtype=np.float32) * np.float32(0.01) for s in shapes]
        optimizer.apply(grads, variables)                 # builds slots (and flat buffers)
        if path == "numba":
            for variable, grad in zip(variables, grads):
                grad_buffer(variable)[...] = grad
            grads = [grad_buffer(v) for v in variables]
        learning_rate = optimizer.current_learning_rate(np.float32)
        prepared[path] = lambda: optimizer.update_all(grads, variables, learning_rate)

    setup("numpy")
    setup("numba")
    return {"update": prepared}


def cases(rng):
    """``{name: {operation: callable or {path: callable}}}``."""
    opt = nn.optimizers
    dropout_x = rng.standard_normal((32, 300), dtype=np.float32)
    keep = rng.random((32, 300)) >= 0.2
    alpha_x = rng.standard_normal((32, 100), dtype=np.float32)
    alpha_keep = (rng.random((32, 100)) >= 0.1).astype(np.float32)
    alpha_p, a, b = (np.float32(c) for c in nn.layers.AlphaDropout(0.1).affine_constants)
    logits = rng.standard_normal((32, 10), dtype=np.float32) * np.float32(3)
    labels = rng.integers(0, 10, 32)
    cross_entropy = losses.SparseCategoricalCrossentropy()
    return {
        "ReLU 32x300": _activation_case(activations.ReLU(), (32, 300), rng),
        "LeakyReLU 32x300": _activation_case(activations.LeakyReLU(0.3), (32, 300), rng),
        "ELU 32x100": _activation_case(activations.ELU(), (32, 100), rng),
        "SELU 32x100": _activation_case(activations.SELU(), (32, 100), rng),
        "PReLU layer 32x300": _layer_case(nn.layers.PReLU(), (32, 300), rng),
        "softmax 32x10": {"forward": lambda: activations.softmax.forward(logits)},
        "softmax cross-entropy 32x10": {
            "value+grad": lambda: cross_entropy.value_and_grad(labels, logits, logits)},
        "BatchNormalization 32x300": _layer_case(nn.layers.BatchNormalization(), (32, 300), rng),
        "Dropout(0.2) mask 32x300": {
            "apply": lambda: apply_dropout_mask(dropout_x, keep, np.float32(1.25))},
        "AlphaDropout(0.1) mask 32x100": {
            "forward": lambda: apply_alpha_dropout_mask(alpha_x, alpha_keep, a, alpha_p, b)},
        "SGD, MLP (266,610 params)": _optimizer_case(lambda: opt.SGD(1e-3), MLP_SHAPES, rng),
        "SGD momentum": _optimizer_case(lambda: opt.SGD(1e-3, momentum=0.9), MLP_SHAPES, rng),
        "SGD Nesterov": _optimizer_case(
            lambda: opt.SGD(1e-3, momentum=0.9, nesterov=True), MLP_SHAPES, rng),
        "Adagrad": _optimizer_case(lambda: opt.Adagrad(1e-3), MLP_SHAPES, rng),
        "RMSprop": _optimizer_case(lambda: opt.RMSprop(1e-3), MLP_SHAPES, rng),
        "RMSprop centered+momentum": _optimizer_case(
            lambda: opt.RMSprop(1e-3, centered=True, momentum=0.9), MLP_SHAPES, rng),
        "Adam": _optimizer_case(lambda: opt.Adam(1e-3), MLP_SHAPES, rng),
        "Adam amsgrad": _optimizer_case(lambda: opt.Adam(1e-3, amsgrad=True), MLP_SHAPES, rng),
        "Adamax": _optimizer_case(lambda: opt.Adamax(1e-3), MLP_SHAPES, rng),
        "Nadam": _optimizer_case(lambda: opt.Nadam(1e-3), MLP_SHAPES, rng),
        "Adam clipnorm=1": _optimizer_case(lambda: opt.Adam(1e-3, clipnorm=1.0), MLP_SHAPES, rng),
        "SGD, SELU-100 (202 arrays)": _optimizer_case(lambda: opt.SGD(1e-3), SELU_100_SHAPES, rng),
        "Nadam, SELU-100 (202 arrays)": _optimizer_case(lambda: opt.Nadam(1e-3), SELU_100_SHAPES,
                                                        rng),
    }


def _time(function, path, budget):
    """CPU seconds per call of ``function`` on ``path``, over a loop of about ``budget`` s.

    Everything timed here runs on one thread, so the process's CPU time equals the wall time
    on a quiet machine, and on a busy one it leaves out the time slices other processes took.
    """
    backend.set_kernel_path(path)
    function()
    calls, elapsed = 1, 0.0
    while True:
        start = time.process_time()
        for _ in range(calls):
            function()
        elapsed = time.process_time() - start
        if elapsed >= budget:
            return elapsed / calls
        calls = max(calls * 2, int(calls * budget / max(elapsed, 1e-9)) + 1)


def run_microbenchmarks(repetitions=5, budget=0.02, log=print):
    rng = np.random.default_rng(0)
    results = []
    backend.set_kernel_path("numba")                  # compile / load every kernel first
    all_cases = cases(rng)
    for name, operations in all_cases.items():
        for operation, function in operations.items():
            per_path = function if isinstance(function, dict) else {
                "numpy": function, "numba": function}
            times = {"numpy": [], "numba": []}
            for repetition in range(repetitions):
                for path in (("numpy", "numba") if repetition % 2 == 0 else ("numba", "numpy")):
                    times[path].append(_time(per_path[path], path, budget))
            ratio = statistics.median(a / b for a, b in zip(times["numpy"], times["numba"]))
            results.append({"kernel": name, "operation": operation,
                            "numpy_us": 1e6 * statistics.median(times["numpy"]),
                            "numba_us": 1e6 * statistics.median(times["numba"]),
                            "speedup": ratio})
            log(f"  {name:32s} {operation:10s} numpy {results[-1]['numpy_us']:9.1f} us   "
                f"numba {results[-1]['numba_us']:9.1f} us   x{ratio:.2f}")
    backend.set_kernel_path("numpy")
    return results
