r"""The compiled kernels behind :mod:`numpy_nn.twins.smooth_activations`: GELU, SiLU and Mish,
one loop each over the flattened array, evaluating the expressions of
:mod:`numpy_nn.activations.smooth` in their order (read the equations there).

Each loop computes the gate once per element and keeps it in a register, where the reference
makes three to seven whole-array temporaries."""
from __future__ import annotations

import math

import numpy as np

from numpy_nn.kernels.jit import exp, helper, kernel

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


@kernel
def gelu_forward_kernel(x, approximate, sqrt_half, sqrt_2_over_pi, cubic, out):
    half, one = x.dtype.type(0.5), x.dtype.type(1)
    for i in range(x.size):
        v = x[i]
        if approximate:
            out[i] = half * v * (one + np.tanh(sqrt_2_over_pi * (v + cubic * v * v * v)))
        else:
            out[i] = half * v * math.erfc(-v * sqrt_half)


@kernel
def gelu_backward_kernel(x, grad, approximate, sqrt_half, inv_sqrt_2pi, sqrt_2_over_pi, cubic,
                         out):
    half, one, three = x.dtype.type(0.5), x.dtype.type(1), x.dtype.type(3)
    for i in range(x.size):
        v = x[i]
        if approximate:
            t = np.tanh(sqrt_2_over_pi * (v + cubic * v * v * v))
            slope = sqrt_2_over_pi * (one + three * cubic * v * v)
            out[i] = grad[i] * (half * (one + t) + half * v * (one - t * t) * slope)
        else:
            cdf = half * math.erfc(-v * sqrt_half)
            out[i] = grad[i] * (cdf + v * (inv_sqrt_2pi * exp(-half * v * v)))


@kernel
def silu_forward_kernel(x, out):
    zero, one = x.dtype.type(0), x.dtype.type(1)
    for i in range(x.size):
        out[i] = x[i] * sigmoid(x[i], zero, one)


@kernel
def silu_backward_kernel(x, grad, out):
    zero, one = x.dtype.type(0), x.dtype.type(1)
    for i in range(x.size):
        s = sigmoid(x[i], zero, one)
        out[i] = grad[i] * (s * (one + x[i] * (one - s)))


@kernel
def mish_forward_kernel(x, out):
    zero = x.dtype.type(0)
    for i in range(x.size):
        out[i] = x[i] * np.tanh(softplus(x[i], zero))


@kernel
def mish_backward_kernel(x, grad, out):
    zero, one = x.dtype.type(0), x.dtype.type(1)
    for i in range(x.size):
        t = np.tanh(softplus(x[i], zero))
        out[i] = grad[i] * (t + x[i] * sigmoid(x[i], zero, one) * (one - t * t))
