r"""The compiled kernels behind :mod:`numpy_nn.twins.dropout`, the Numba twins of the reference
code (that module's docstring says what they compute and how they match it)."""
from __future__ import annotations

from numpy_nn.kernels.jit import kernel


@kernel
def dropout_kernel(x, keep_mask, scale, out):
    zero = x.dtype.type(0)
    for i in range(x.size):
        out[i] = x[i] * scale if keep_mask[i] else zero


@kernel
def alpha_dropout_kernel(x, keep, a, alpha_p, b, out):
    one = x.dtype.type(1)
    for i in range(x.size):
        out[i] = a * (x[i] * keep[i] + alpha_p * (one - keep[i])) + b
