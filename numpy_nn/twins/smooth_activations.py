"""Numba twins of GELU, SiLU and Mish (:mod:`numpy_nn.activations.smooth`): one compiled pass
each way, through the compiled step's own activation table
(:func:`~numpy_nn.kernels.activation_table.table_forward_kernel`), within a few ulp of the
reference (Numba's ``erfc`` is the C library's)."""
from __future__ import annotations

import numpy as np

from numpy_nn.activations import smooth
from numpy_nn.dispatch import twin_of
from numpy_nn.kernels.activation_table import table_backward_kernel, table_forward_kernel
from numpy_nn.kernels.codes import ACTIVATIONS
from numpy_nn.kernels.jit import compatible


def _p(function, x):
    """The table's parameter: 1 for GELU's tanh form, else 0."""
    return x.dtype.type(1 if getattr(function, "approximate", False) else 0)


def _forward(dispatcher, self, x):
    if not compatible(x):
        return dispatcher.reference(self, x)
    out = np.empty(x.shape, x.dtype)
    table_forward_kernel(ACTIVATIONS[self.name], np.ascontiguousarray(x).ravel(), _p(self, x),
                         out.ravel())
    return out


def _backward(dispatcher, self, x, y, grad_y):
    if not compatible(x, grad_y):
        return dispatcher.reference(self, x, y, grad_y)
    out = np.empty(x.shape, x.dtype)
    table_backward_kernel(ACTIVATIONS[self.name], np.ascontiguousarray(x).ravel(),
                          np.ascontiguousarray(grad_y).ravel(), _p(self, x), out.ravel())
    return out


@twin_of(smooth.GELU.forward)
def gelu_forward(self, x):
    return _forward(smooth.GELU.forward, self, x)


@twin_of(smooth.GELU.backward)
def gelu_backward(self, x, y, grad_y):
    return _backward(smooth.GELU.backward, self, x, y, grad_y)


@twin_of(smooth.SiLU.forward)
def silu_forward(self, x):
    return _forward(smooth.SiLU.forward, self, x)


@twin_of(smooth.SiLU.backward)
def silu_backward(self, x, y, grad_y):
    return _backward(smooth.SiLU.backward, self, x, y, grad_y)


@twin_of(smooth.Mish.forward)
def mish_forward(self, x):
    return _forward(smooth.Mish.forward, self, x)


@twin_of(smooth.Mish.backward)
def mish_backward(self, x, y, grad_y):
    return _backward(smooth.Mish.backward, self, x, y, grad_y)
