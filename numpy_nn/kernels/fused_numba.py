r"""Compiled element-wise passes of the fused training step (:mod:`.fused_step`).

The NumPy fused step makes several passes over each activation array (``z += b``, then
``minimum``, ``exp``, ``subtract``, ``multiply``, ``copyto`` for an ELU); each pass here is
one loop over the array, computing the same expression per element:

* :func:`bias_activation` — :math:`z \mathrel{+}= b`, :math:`a = f(z)`;
* :func:`activation_backward` — :math:`g \leftarrow f'(z)\,g` (ELU and SELU from the output,
  as the reference does);
* :func:`softmax_cross_entropy` — per row the log-sum-exp, the label's logit, the loss
  :math:`\log\sum_j e^{z_j} - z_y` and the gradient :math:`(\operatorname{softmax}(z) - Y)/n`,
  and whether the row's largest logit is the label;
* :func:`sgd` — :math:`w \mathrel{-}= \eta\, \nabla w`.

The per-element arithmetic is the reference's, in its order and precision (no fastmath);
what may differ is the last bit of ``exp`` and ``log`` (the kernels' own vectorisable float32
exponential, :func:`numpy_nn.kernels.jit.exp`, and the C library's ``log``, against NumPy's
SIMD versions) and the order of a row's sum, so ``tests/test_fused_step.py`` holds
this path to the NumPy fused step within a few units in the last place, not bit for bit.
Activation kinds are small integers (:data:`KINDS`).
"""
from __future__ import annotations

import numba
import numpy as np

try:        # the kernels' float32 exponential that LLVM can vectorise (libm's expf it cannot)
    from numpy_nn.kernels.jit import exp
except ImportError:                             # pragma: no cover - kept working if it moves
    exp = np.exp

kernel = numba.njit(cache=True, error_model="numpy")

KINDS = {"linear": 0, "relu": 1, "leaky_relu": 2, "elu": 3, "selu": 4}


@kernel
def bias_activation(z, bias, kind, p, scale, a):
    """``z += bias``; ``a = f(z)`` (``p``: LeakyReLU's slope, ELU's alpha, or SELU's
    scale * alpha; ``scale``: SELU's scale)."""
    rows, cols = z.shape
    one = z.dtype.type(1)
    zero = z.dtype.type(0)
    # one loop per kind, each branch-free inside, so that LLVM vectorises it
    for i in range(rows):
        if kind == 0:
            for j in range(cols):
                v = z[i, j] + bias[j]
                z[i, j] = v
                a[i, j] = v
        elif kind == 1:
            for j in range(cols):
                v = z[i, j] + bias[j]
                z[i, j] = v
                a[i, j] = v if v > zero else zero
        elif kind == 2:
            for j in range(cols):
                v = z[i, j] + bias[j]
                z[i, j] = v
                a[i, j] = v if v > zero else v * p
        elif kind == 3:
            for j in range(cols):
                v = z[i, j] + bias[j]
                z[i, j] = v
                negative = p * (exp(min(v, zero)) - one)
                a[i, j] = v if v > zero else negative
        else:
            for j in range(cols):
                v = z[i, j] + bias[j]
                z[i, j] = v
                negative = p * (exp(min(v, zero)) - one)
                a[i, j] = scale * v if v > zero else negative


@kernel
def activation_backward(z, a, g, kind, p, scale):
    """``g <- f'(z) g`` in place (``p`` as in :func:`bias_activation`)."""
    rows, cols = z.shape
    zero = z.dtype.type(0)
    for i in range(rows):
        if kind == 1:
            for j in range(cols):
                g[i, j] = g[i, j] if z[i, j] > zero else zero
        elif kind == 2:
            for j in range(cols):
                g[i, j] = g[i, j] if z[i, j] > zero else g[i, j] * p
        elif kind == 3:
            for j in range(cols):
                g[i, j] = g[i, j] if z[i, j] > zero else g[i, j] * (a[i, j] + p)
        elif kind == 4:
            for j in range(cols):
                y = a[i, j]
                g[i, j] = g[i, j] * (y + p) if y < zero else g[i, j] * scale


@kernel
def softmax_cross_entropy(z, bias, labels, count, g, per_sample):
    """Add ``bias`` to the logits ``z``; then per row the loss and the gradient with respect
    to the logits, divided by ``count``; returns the number of rows whose largest logit (the
    first, on ties) is the label's."""
    rows, cols = z.shape
    correct = 0
    for i in range(rows):
        top = z[i, 0] + bias[0]
        best = 0
        for j in range(cols):
            v = z[i, j] + bias[j]
            z[i, j] = v
            if v > top:
                top = v
                best = j
        total = z.dtype.type(0)
        for j in range(cols):
            e = exp(z[i, j] - top)
            g[i, j] = e
            total += e
        label = labels[i]
        per_sample[i] = (top + np.log(total)) - z[i, label]
        for j in range(cols):
            g[i, j] = g[i, j] / total
        g[i, label] = g[i, label] - z.dtype.type(1)
        for j in range(cols):
            g[i, j] = g[i, j] / count
        if best == label:
            correct += 1
    return correct


@kernel
def sgd(w, grad, rate):
    """``w -= grad * rate`` over every element (any shape)."""
    flat_w = w.reshape(-1)
    flat_g = grad.reshape(-1)
    for k in range(flat_w.size):
        flat_w[k] = flat_w[k] - flat_g[k] * rate
