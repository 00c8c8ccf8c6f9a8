"""Numba twins of GELU, SiLU and Mish (:mod:`numpy_nn.activations.smooth`): one compiled loop per
pass (:mod:`numpy_nn.kernels.smooth_activations`), within a few ulp of the reference (Numba's
``erfc``, ``tanh`` and ``log1p`` are the C library's, NumPy's its own)."""
from __future__ import annotations

import numpy as np

from numpy_nn.activations import smooth
from numpy_nn.dispatch import twin_of
from numpy_nn.kernels.jit import compatible
from numpy_nn.kernels.smooth_activations import (
    gelu_backward_kernel,
    gelu_forward_kernel,
    mish_backward_kernel,
    mish_forward_kernel,
    silu_backward_kernel,
    silu_forward_kernel,
)


def _constants(x, *values):
    return tuple(x.dtype.type(v) for v in values)


@twin_of(smooth.GELU.forward)
def gelu_forward(self, x):
    if not compatible(x):
        return smooth.GELU.forward.reference(self, x)
    out = np.empty(x.shape, x.dtype)
    gelu_forward_kernel(x.ravel(), self.approximate,
                        *_constants(x, smooth.SQRT_HALF, smooth.SQRT_2_OVER_PI,
                                    smooth.GELU_CUBIC), out.ravel())
    return out


@twin_of(smooth.GELU.backward)
def gelu_backward(self, x, y, grad_y):
    if not compatible(x, grad_y):
        return smooth.GELU.backward.reference(self, x, y, grad_y)
    out = np.empty(x.shape, x.dtype)
    gelu_backward_kernel(x.ravel(), grad_y.ravel(), self.approximate,
                         *_constants(x, smooth.SQRT_HALF, smooth.INV_SQRT_2PI,
                                     smooth.SQRT_2_OVER_PI, smooth.GELU_CUBIC), out.ravel())
    return out


def _unary(dispatcher, kernel, self, x):
    if not compatible(x):
        return dispatcher.reference(self, x)
    out = np.empty(x.shape, x.dtype)
    kernel(x.ravel(), out.ravel())
    return out


def _binary(dispatcher, kernel, self, x, y, grad_y):
    if not compatible(x, grad_y):
        return dispatcher.reference(self, x, y, grad_y)
    out = np.empty(x.shape, x.dtype)
    kernel(x.ravel(), grad_y.ravel(), out.ravel())
    return out


@twin_of(smooth.SiLU.forward)
def silu_forward(self, x):
    return _unary(smooth.SiLU.forward, silu_forward_kernel, self, x)


@twin_of(smooth.SiLU.backward)
def silu_backward(self, x, y, grad_y):
    return _binary(smooth.SiLU.backward, silu_backward_kernel, self, x, y, grad_y)


@twin_of(smooth.Mish.forward)
def mish_forward(self, x):
    return _unary(smooth.Mish.forward, mish_forward_kernel, self, x)


@twin_of(smooth.Mish.backward)
def mish_backward(self, x, y, grad_y):
    return _binary(smooth.Mish.backward, mish_backward_kernel, self, x, y, grad_y)
