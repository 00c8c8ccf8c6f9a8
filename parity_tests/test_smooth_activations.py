"""GELU (exact and tanh form), SiLU/Swish and Mish against ``keras.activations``, element by
element over [-12, 12] in float32 and float64: values and derivatives (``tf.GradientTape``).

In float32 the forward and derivative bounds are the suite's one-layer bounds (``FORWARD``,
``GRADIENT``). In float64 SiLU and Mish agree to a few ulp of the largest value. GELU does not:
TensorFlow 2.21's ``tf.nn.gelu`` (which ``keras/src/backend/tensorflow/nn.py::gelu`` calls) runs
a kernel of its own whose float64 values are off by up to ~5e-9 from the formula its docstring
and its Python fallback state, ``0.5 * x * erfc(-x / sqrt(2))``; that formula evaluated with
TensorFlow's own ``tf.math.erfc`` agrees with numpy_nn to a few ulp, and so does an
independent evaluation with Python's ``math.erfc`` (below). So in float64 numpy_nn's GELU is
compared with TensorFlow's ``erfc`` formula, and Keras's kernel's distance from it is recorded
as its own row (``tol.GELU_KERNEL_FLOAT64``), measured, not assumed.
"""
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import numpy_nn as nn
from parity_tests import tolerances as tol
from parity_tests.report import check

GRID = np.concatenate([np.linspace(-12.0, 12.0, 4801), [0.0, -0.0, 1e-9, -1e-9, 1e-30, -1e-30]])
CASES = {
    "gelu": ("gelu", {}, nn.activations.gelu),
    "gelu (approximate=True)": ("gelu", {"approximate": True}, nn.activations.GELU(True)),
    "silu": ("silu", {}, nn.activations.silu),
    "swish (Keras's alias of silu)": ("swish", {}, nn.activations.get("swish")),
    "mish": ("mish", {}, nn.activations.mish),
}


def keras_values_and_derivatives(name, kwargs, x):
    tx = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tx)
        ty = getattr(keras.activations, name)(tx, **kwargs)
    return ty.numpy(), tape.gradient(ty, tx).numpy()


def ours(function, x):
    y = function.forward(x)
    return y, function.backward(x, y, np.ones_like(x))


@pytest.mark.parametrize("case", sorted(CASES))
def test_float32_values_and_derivatives(case):
    name, kwargs, function = CASES[case]
    x = GRID.astype(np.float32)
    desired_y, desired_g = keras_values_and_derivatives(name, kwargs, x)
    y, g = ours(function, x)
    assert y.dtype == g.dtype == np.float32
    check(f"activation {name}: values (float32, [-12, 12])", tol.relative_error(y, desired_y),
          tol.FORWARD, case)
    check(f"activation {name}: derivative (float32, [-12, 12])",
          tol.relative_error(g, desired_g), tol.GRADIENT, case)


@pytest.mark.parametrize("case", ["silu", "swish (Keras's alias of silu)", "mish"])
def test_float64_values_and_derivatives(case):
    name, kwargs, function = CASES[case]
    desired_y, desired_g = keras_values_and_derivatives(name, kwargs, GRID)
    y, g = ours(function, GRID)
    check(f"activation {name}: values and derivative (float64)",
          max(tol.relative_error(y, desired_y), tol.relative_error(g, desired_g)),
          tol.ELEMENTWISE_FLOAT64, case)


def documented_gelu(x, approximate):
    """tf.nn.gelu's stated formulas, built from TensorFlow's element-wise ops."""
    tx = tf.constant(x)
    if approximate:
        inner = math.sqrt(2 / math.pi) * (tx + 0.044715 * tx ** 3)
        return (0.5 * tx * (1.0 + tf.math.tanh(inner))).numpy()
    return (0.5 * tx * tf.math.erfc(-tx * math.sqrt(0.5))).numpy()


@pytest.mark.parametrize("approximate", [False, True], ids=["exact", "tanh form"])
def test_float64_gelu_follows_the_formula_and_keras_kernel_is_measured(approximate):
    function = nn.activations.GELU(approximate)
    y = function.forward(GRID)
    check("activation gelu: values (float64) vs TensorFlow's erfc/tanh formula",
          tol.relative_error(y, documented_gelu(GRID, approximate)), tol.ELEMENTWISE_FLOAT64,
          f"approximate={approximate}")
    if not approximate:     # and independently of TensorFlow: Python's erfc, element-wise
        independent = np.array([0.5 * v * math.erfc(-v / math.sqrt(2)) for v in GRID])
        assert tol.relative_error(y, independent) <= tol.ELEMENTWISE_FLOAT64
    keras_y, _ = keras_values_and_derivatives("gelu", {"approximate": approximate}, GRID)
    check("activation gelu: Keras's tf.nn.gelu kernel vs its formula (float64)",
          tol.relative_error(keras_y, documented_gelu(GRID, approximate)),
          tol.GELU_KERNEL_FLOAT64, f"approximate={approximate}")
