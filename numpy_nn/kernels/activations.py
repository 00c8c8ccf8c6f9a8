r"""The compiled kernels behind :mod:`numpy_nn.twins.activations`, the Numba twins of the reference
code (that module's docstring says what they compute and how they match it)."""
from __future__ import annotations

from numpy_nn.kernels.jit import exp, kernel, nan_min, row_max


# --------------------------------------------------------------------------- kernels
@kernel
def relu_forward_kernel(x, out):
    zero = x.dtype.type(0)    # typed constants: a bare 0 or 1 would promote float32 to float64
    for i in range(x.size):
        v = x[i]
        out[i] = zero if v <= zero else v          # max(x, 0), NaN kept


@kernel
def relu_backward_kernel(x, grad, out):
    zero = x.dtype.type(0)
    for i in range(x.size):
        out[i] = grad[i] if x[i] > zero else zero


@kernel
def leaky_relu_forward_kernel(x, slope, out):
    zero = x.dtype.type(0)
    for i in range(x.size):
        v = x[i]
        out[i] = v if v > zero else v * slope


@kernel
def leaky_relu_backward_kernel(x, grad, slope, out):
    zero = x.dtype.type(0)
    for i in range(x.size):
        g = grad[i]
        out[i] = g if x[i] > zero else g * slope


@kernel
def elu_forward_kernel(x, scale, scale_alpha, out):
    """``scale * x`` for x > 0, else ``scale_alpha * (exp(x) - 1)``: ELU (scale 1) and SELU."""
    zero, one = x.dtype.type(0), x.dtype.type(1)
    for i in range(x.size):
        v = x[i]
        out[i] = scale * v if v > zero else scale_alpha * (exp(v) - one)


@kernel
def selu_backward_kernel(y, grad, scale, scale_alpha, out):
    """``grad * (y + scale_alpha)`` where the output y < 0, else ``grad * scale``."""
    zero = y.dtype.type(0)
    for i in range(y.size):
        g = grad[i]
        out[i] = g * (y[i] + scale_alpha) if y[i] < zero else g * scale


@kernel
def elu_backward_unit_scale_kernel(x, y, grad, alpha, out):
    """ELU's backward: ``grad`` for x > 0, else ``grad * (y + alpha)`` (from the output)."""
    zero = x.dtype.type(0)
    for i in range(x.size):
        g = grad[i]
        out[i] = g if x[i] > zero else g * (y[i] + alpha)


@kernel
def prelu_forward_kernel(x, alpha, out):
    """``max(x, 0) - alpha * max(-x, 0)`` on rows of ``x`` (n, units), ``alpha`` (units,)."""
    zero = x.dtype.type(0)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            v = x[i, j]
            positive = zero if v <= zero else v
            negative = zero if -v <= zero else -v
            out[i, j] = positive - alpha[j] * negative


@kernel
def prelu_backward_kernel(x, grad, alpha, alpha_grad, out):
    """dL/dx (``grad`` where x > 0, ``grad * alpha`` where x < 0, else 0) and, summed over the
    rows, dL/dalpha = sum of ``grad * min(x, 0)``. ``out`` may be None (no input gradient)."""
    zero = x.dtype.type(0)
    alpha_grad[:] = zero
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            v = x[i, j]
            g = grad[i, j]
            alpha_grad[j] += g * nan_min(v, zero)
            if out is not None:
                out[i, j] = g if v > zero else (g * alpha[j] if v < zero else zero)


@kernel
def softmax_rows_kernel(x, out):
    """Softmax of each row of ``x`` (n, k): ``exp(x - max) / sum(exp(x - max))``."""
    for i in range(x.shape[0]):
        top = row_max(x, i)
        total = x.dtype.type(0)
        for j in range(x.shape[1]):
            e = exp(x[i, j] - top)
            out[i, j] = e
            total += e
        for j in range(x.shape[1]):
            out[i, j] = out[i, j] / total


# --------------------------------------------------------------------------- dispatch glue
# At batch 32 a kernel runs in about a microsecond, so the glue is kept to plain attribute
# checks (no generators): anything the kernels do not handle goes to the reference.
