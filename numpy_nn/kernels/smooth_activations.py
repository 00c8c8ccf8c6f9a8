r"""GELU, SiLU and Mish for compiled code: the scalar helpers and constants that the activation
table (:mod:`.activation_table`, ``smooth_row`` and ``smooth_derivative_row``) evaluates them
with, and the two array kernels behind their Numba twins (:mod:`numpy_nn.twins.smooth_activations`),
which run the table's own rows, so the expressions exist once in compiled code (read the
equations in :mod:`numpy_nn.activations.smooth`)."""
from __future__ import annotations

import math

import numpy as np

from numpy_nn.kernels.jit import exp, helper

# The constants of numpy_nn.activations.smooth, computed the same way (kernels import nothing
# above them; tests/test_kernels.py checks that the two sets are equal).
SQRT_HALF = math.sqrt(0.5)
INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
GELU_CUBIC = 0.044715


@helper
def sigmoid(v, zero, one):
    """:math:`\\sigma(v)` from :math:`e^{-|v|}`, the reference's overflow-free branches."""
    e = exp(-abs(v))
    return one / (one + e) if v >= zero else e / (one + e)


@helper
def softplus(v, zero):
    """:math:`\\max(v, 0) + \\log(1 + e^{-|v|})`."""
    return (v if v > zero else zero) + np.log1p(exp(-abs(v)))
