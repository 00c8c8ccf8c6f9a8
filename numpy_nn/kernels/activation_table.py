r"""The activation functions, once, for compiled code: :func:`activate` and :func:`derivative`.

Each kind is a small integer (:mod:`.codes`, by the reference's ``name``), and each branch
evaluates, per element, the expression of the reference in :mod:`numpy_nn.activations`, in
its order and precision, the value :math:`a = f(z)` and then the derivative
:math:`g \leftarrow f'(z)\, g` (``p`` is LeakyReLU's slope, ELU's :math:`\alpha` or SELU's
:math:`\lambda\alpha`; ``scale`` is SELU's :math:`\lambda`):

* linear: :math:`a = z`; :math:`g`;
* relu: :math:`\max(z, 0)`; :math:`g\,[z > 0]`;
* leaky_relu: :math:`z` if :math:`z > 0` else :math:`p z`; :math:`g` or :math:`p g`;
* elu: :math:`z` or :math:`p(e^{\min(z,0)} - 1)`; :math:`g` or :math:`g (a + p)`;
* selu: :math:`\lambda z` or :math:`p(e^{\min(z,0)} - 1)`; :math:`g (a + p)` if :math:`a < 0`
  else :math:`\lambda g`;
* sigmoid: :math:`1/(1+e^{-|z|})` if :math:`z \ge 0` else :math:`e^{-|z|}/(1+e^{-|z|})`;
  :math:`g a (1 - a)`;
* tanh: :math:`\tanh z`; :math:`g (1 - a^2)`;
* softmax: :math:`e^{z - \max z} / \sum e^{z - \max z}` per row (backward only through a
  cross-entropy's logits, :mod:`.step_losses`);
* gelu (``p`` = 1 for the tanh form): :math:`\tfrac12 z\,\operatorname{erfc}(-z/\sqrt2)` or
  :math:`\tfrac12 z (1 + \tanh u)`; :math:`g (\Phi + z\varphi)` or the tanh form's derivative;
* silu: :math:`z\sigma(z)`; :math:`g \sigma (1 + z(1 - \sigma))`;
* mish: :math:`z \tanh(\operatorname{softplus} z)`; :math:`g (t + z \sigma (1 - t^2))`
  (these three read :math:`z`, as their references do).

The functions work on whole rows (one loop per kind, branch-free inside, so LLVM can
vectorise it); :func:`activate` also adds a bias first when it is given one, the Dense
layer's :math:`z = xW + b` finished in the same pass.
"""
from __future__ import annotations

import math

import numpy as np

from numpy_nn.kernels.codes import (
    ELU,
    GELU,
    LEAKY_RELU,
    RELU,
    SELU,
    SIGMOID,
    SILU,
    SOFTMAX,
    TANH,
)
from numpy_nn.kernels.jit import exp, helper, kernel, nan_min, row_max
from numpy_nn.kernels.reductions import pairwise_sum
from numpy_nn.kernels.smooth_activations import (
    GELU_CUBIC,
    INV_SQRT_2PI,
    SQRT_2_OVER_PI,
    SQRT_HALF,
    sigmoid,
    softplus,
)


@helper
def add_bias(z, bias):
    """``z += bias`` over the rows (a pass of its own: a helper called per element with array
    arguments would cost a reference-count round trip each time)."""
    rows, cols = z.shape
    for i in range(rows):
        for j in range(cols):
            z[i, j] = z[i, j] + bias[j]


@helper
def activate(kind, z, bias, p, scale, out, stack):
    """``z += bias`` (if any), then ``out = f(z)`` row by row (``out`` may be ``z`` itself,
    except for softmax; ``stack``: :func:`.reductions.new_stack`)."""
    rows, cols = z.shape
    zero, one = z.dtype.type(0), z.dtype.type(1)
    if bias.size:
        add_bias(z, bias)
    if kind == SOFTMAX:
        softmax_rows(z, out, stack)
        return
    for i in range(rows):
        if kind == RELU:
            for j in range(cols):
                v = z[i, j]
                out[i, j] = v if (v >= zero or v != v) else zero
        elif kind == LEAKY_RELU:
            for j in range(cols):
                v = z[i, j]
                out[i, j] = v if v > zero else v * p
        elif kind == ELU:
            for j in range(cols):
                v = z[i, j]
                negative = p * (exp(nan_min(v, zero)) - one)
                out[i, j] = v if v > zero else negative
        elif kind == SELU:
            for j in range(cols):
                v = z[i, j]
                negative = p * (exp(nan_min(v, zero)) - one)
                out[i, j] = scale * v if v > zero else negative
        elif kind == SIGMOID:
            for j in range(cols):
                out[i, j] = sigmoid(z[i, j], zero, one)
        elif kind == TANH:
            for j in range(cols):
                out[i, j] = np.tanh(z[i, j])
        elif kind >= GELU:
            smooth_row(kind, z, i, p, out)
        else:
            for j in range(cols):
                out[i, j] = z[i, j]


@helper
def softmax_rows(z, out, stack):
    """``out = exp(z - max z) / sum(exp(z - max z))`` per row, the sum in NumPy's order."""
    rows, cols = z.shape
    for i in range(rows):
        top = row_max(z, i)
        for j in range(cols):
            out[i, j] = exp(z[i, j] - top)
        total = pairwise_sum(out[i], 0, cols, stack)
        for j in range(cols):
            out[i, j] = out[i, j] / total


@helper
def derivative(kind, z, a, g, p, scale):
    """``g <- f'(z) g`` in place, row by row (``a = f(z)``; ELU, SELU, sigmoid and tanh use
    it, as the reference does)."""
    rows, cols = z.shape
    zero, one = z.dtype.type(0), z.dtype.type(1)
    for i in range(rows):
        if kind == RELU:
            for j in range(cols):
                g[i, j] = g[i, j] if z[i, j] > zero else zero
        elif kind == LEAKY_RELU:
            for j in range(cols):
                g[i, j] = g[i, j] if z[i, j] > zero else g[i, j] * p
        elif kind == ELU:
            for j in range(cols):
                g[i, j] = g[i, j] if z[i, j] > zero else g[i, j] * (a[i, j] + p)
        elif kind == SELU:
            for j in range(cols):
                y = a[i, j]
                g[i, j] = g[i, j] * (y + p) if y < zero else g[i, j] * scale
        elif kind == SIGMOID:
            for j in range(cols):
                y = a[i, j]
                g[i, j] = g[i, j] * y * (one - y)
        elif kind == TANH:
            for j in range(cols):
                y = a[i, j]
                g[i, j] = g[i, j] * (one - y * y)
        elif kind >= GELU:
            smooth_derivative_row(kind, z, i, p, g)


@helper
def smooth_row(kind, z, i, p, out):
    """Row ``i`` of GELU (``p`` != 0: its tanh form), SiLU or Mish, the references' expressions."""
    zero, one, half = z.dtype.type(0), z.dtype.type(1), z.dtype.type(0.5)
    sqrt_half, slope = z.dtype.type(SQRT_HALF), z.dtype.type(SQRT_2_OVER_PI)
    cubic = z.dtype.type(GELU_CUBIC)
    for j in range(z.shape[1]):
        v = z[i, j]
        if kind == GELU and p != zero:
            out[i, j] = half * v * (one + np.tanh(slope * (v + cubic * v * v * v)))
        elif kind == GELU:
            out[i, j] = half * v * math.erfc(-v * sqrt_half)
        elif kind == SILU:
            out[i, j] = v * sigmoid(v, zero, one)
        else:
            out[i, j] = v * np.tanh(softplus(v, zero))


@helper
def smooth_derivative_row(kind, z, i, p, g):
    """``g <- f'(z) g`` on row ``i`` for GELU, SiLU and Mish (from :math:`z`)."""
    zero, one, half = z.dtype.type(0), z.dtype.type(1), z.dtype.type(0.5)
    sqrt_half, slope = z.dtype.type(SQRT_HALF), z.dtype.type(SQRT_2_OVER_PI)
    cubic, three_cubic = z.dtype.type(GELU_CUBIC), z.dtype.type(3 * GELU_CUBIC)
    density = z.dtype.type(INV_SQRT_2PI)
    for j in range(z.shape[1]):
        v = z[i, j]
        if kind == GELU and p != zero:
            t = np.tanh(slope * (v + cubic * v * v * v))
            d = half * (one + t) + half * v * (one - t * t) * (slope * (one + three_cubic * v * v))
        elif kind == GELU:
            d = half * math.erfc(-v * sqrt_half) + v * (density * exp(-half * v * v))
        elif kind == SILU:
            s = sigmoid(v, zero, one)
            d = s * (one + v * (one - s))
        else:
            t = np.tanh(softplus(v, zero))
            d = t + v * sigmoid(v, zero, one) * (one - t * t)
        g[i, j] = g[i, j] * d


# ----------------------------------------------------------------- the twins' entry points
@kernel
def table_forward_kernel(kind, x, p, out):
    """``out = f(x)`` over whole arrays, viewed as one row, by the table's own rows (the twins of
    GELU, SiLU and Mish: :mod:`numpy_nn.twins.smooth_activations`)."""
    smooth_row(kind, x.reshape(1, x.size), 0, p, out.reshape(1, out.size))


@kernel
def table_backward_kernel(kind, x, grad, p, out):
    """``out = f'(x) grad`` over whole arrays, by the table's own rows."""
    flat = out.reshape(1, out.size)
    flat[0, :] = grad
    smooth_derivative_row(kind, x.reshape(1, x.size), 0, p, flat)
