r"""The compiled kernels behind :mod:`numpy_nn.twins.dense`, the Numba twins of the reference
code (that module's docstring says what they compute and how they match it)."""
from __future__ import annotations

from numpy_nn.kernels.jit import exp, kernel


# --------------------------------------------------------------------------- kernels
@kernel
def bias_relu_kernel(z, bias, out):
    """``z += bias`` (per column) and ``out = max(z, 0)``, NaN kept."""
    zero = z.dtype.type(0)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            v = z[i, j] + bias[j]
            z[i, j] = v
            out[i, j] = zero if v <= zero else v


@kernel
def bias_scaled_elu_kernel(z, bias, scale, scale_alpha, out):
    """``z += bias`` and ``out = scale * z`` for z > 0, else ``scale_alpha * (exp(z) - 1)``.

    ``scale`` and ``scale_alpha`` may come as Python floats: they are rounded to z's dtype
    here (as ``np.float32(value)`` would), so float32 arithmetic stays float32."""
    zero, one = z.dtype.type(0), z.dtype.type(1)
    s, s_alpha = z.dtype.type(scale), z.dtype.type(scale_alpha)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            v = z[i, j] + bias[j]
            z[i, j] = v
            out[i, j] = s * v if v > zero else s_alpha * (exp(v) - one)


@kernel
def relu_grad_bias_kernel(z, grad, delta, bias_grad):
    """``delta = grad`` where z > 0, else 0; ``bias_grad`` = column sums of ``delta``."""
    zero = z.dtype.type(0)
    bias_grad[:] = zero
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            d = grad[i, j] if z[i, j] > zero else zero
            delta[i, j] = d
            bias_grad[j] += d


@kernel
def elu_grad_bias_kernel(z, y, grad, alpha, delta, bias_grad):
    """ELU: ``delta = grad`` where z > 0, else ``grad * (y + alpha)``; column sums (``alpha``
    rounded to z's dtype as in :func:`bias_scaled_elu_kernel`)."""
    zero = z.dtype.type(0)
    a = z.dtype.type(alpha)
    bias_grad[:] = zero
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            g = grad[i, j]
            d = g if z[i, j] > zero else g * (y[i, j] + a)
            delta[i, j] = d
            bias_grad[j] += d


@kernel
def selu_grad_bias_kernel(y, grad, scale, scale_alpha, delta, bias_grad):
    """SELU, branching on the output as the reference does: ``delta = grad * (y +
    scale_alpha)`` where y < 0, else ``grad * scale``; column sums."""
    zero = y.dtype.type(0)
    s, s_alpha = y.dtype.type(scale), y.dtype.type(scale_alpha)
    bias_grad[:] = zero
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            g = grad[i, j]
            d = g * (y[i, j] + s_alpha) if y[i, j] < zero else g * s
            delta[i, j] = d
            bias_grad[j] += d


# --------------------------------------------------------------------------- glue
