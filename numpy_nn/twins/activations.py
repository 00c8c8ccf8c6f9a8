r"""Numba twins of the element-wise activations, softmax, and the PReLU layer.

Each activation's forward and backward become one loop over the flattened array (the
reference needs three to five NumPy calls, each with its own temporary). The formulas are
those of :mod:`numpy_nn.activations` — read the equations there; the loops below evaluate the
same expressions in the same order, so ReLU, LeakyReLU, PReLU and all backward passes agree
with the reference bit for bit, and ELU/SELU forward within the few ulp by which
:func:`~numpy_nn.kernels.jit.exp` and NumPy's ``exp`` differ (softmax also sums each row in
order where NumPy sums pairwise).
"""
from __future__ import annotations

import numpy as np

from numpy_nn import activations
from numpy_nn.dispatch import twin_of
from numpy_nn.kernels.activations import (
    elu_backward_unit_scale_kernel,
    elu_forward_kernel,
    leaky_relu_backward_kernel,
    leaky_relu_forward_kernel,
    prelu_backward_kernel,
    prelu_forward_kernel,
    relu_backward_kernel,
    relu_forward_kernel,
    selu_backward_kernel,
    softmax_rows_kernel,
)
from numpy_nn.kernels.jit import compatible, is_float_array
from numpy_nn.layers.activation import PReLU


@twin_of(activations.ReLU.forward)
def relu_forward(self, x):
    if not compatible(x):
        return activations.ReLU.forward.reference(self, x)
    out = np.empty(x.shape, x.dtype)
    relu_forward_kernel(x.ravel(), out.ravel())
    return out


@twin_of(activations.ReLU.backward)
def relu_backward(self, x, y, grad_y):
    if not compatible(x, grad_y):
        return activations.ReLU.backward.reference(self, x, y, grad_y)
    out = np.empty(x.shape, x.dtype)
    relu_backward_kernel(x.ravel(), grad_y.ravel(), out.ravel())
    return out


@twin_of(activations.LeakyReLU.forward)
def leaky_relu_forward(self, x):
    if not compatible(x):
        return activations.LeakyReLU.forward.reference(self, x)
    out = np.empty(x.shape, x.dtype)
    leaky_relu_forward_kernel(x.ravel(), x.dtype.type(self.negative_slope), out.ravel())
    return out


@twin_of(activations.LeakyReLU.backward)
def leaky_relu_backward(self, x, y, grad_y):
    if not compatible(x, grad_y):
        return activations.LeakyReLU.backward.reference(self, x, y, grad_y)
    out = np.empty(x.shape, x.dtype)
    leaky_relu_backward_kernel(x.ravel(), grad_y.ravel(), x.dtype.type(self.negative_slope),
                               out.ravel())
    return out


def _scaled_elu_forward(dispatcher, function, x, scale, scale_alpha):
    """ELU (scale 1) and SELU forward: ``scale * x`` or ``scale_alpha * (exp(x) - 1)``."""
    if not compatible(x):
        return dispatcher.reference(function, x)
    out = np.empty(x.shape, x.dtype)
    elu_forward_kernel(x.ravel(), x.dtype.type(scale), x.dtype.type(scale_alpha), out.ravel())
    return out


@twin_of(activations.ELU.forward)
def elu_forward(self, x):
    return _scaled_elu_forward(activations.ELU.forward, self, x, 1.0, self.alpha)


@twin_of(activations.SELU.forward)
def selu_forward(self, x):
    return _scaled_elu_forward(activations.SELU.forward, self, x, activations.SELU_SCALE,
                               activations.SELU_SCALE * activations.SELU_ALPHA)


@twin_of(activations.ELU.backward)
def elu_backward(self, x, y, grad_y):
    if not compatible(x, y, grad_y):
        return activations.ELU.backward.reference(self, x, y, grad_y)
    out = np.empty(x.shape, x.dtype)
    elu_backward_unit_scale_kernel(x.ravel(), y.ravel(), grad_y.ravel(),
                                   x.dtype.type(self.alpha), out.ravel())
    return out


@twin_of(activations.SELU.backward)
def selu_backward(self, x, y, grad_y):
    if not compatible(x, y, grad_y):
        return activations.SELU.backward.reference(self, x, y, grad_y)
    out = np.empty(x.shape, x.dtype)
    selu_backward_kernel(y.ravel(), grad_y.ravel(),
                         x.dtype.type(activations.SELU_SCALE),
                         x.dtype.type(activations.SELU_SCALE * activations.SELU_ALPHA),
                         out.ravel())
    return out


@twin_of(activations.Softmax.forward)
def softmax_forward(self, x):
    if not compatible(x) or x.ndim != 2 or self.axis not in (-1, 1) or x.shape[1] == 0:
        return activations.Softmax.forward.reference(self, x)
    out = np.empty(x.shape, x.dtype)
    softmax_rows_kernel(np.ascontiguousarray(x), out)
    return out


# --------------------------------------------------------------------------- PReLU layer
def _prelu_rows(layer, x):
    """``x`` as (batch, units) rows and the slopes as (units,), or None when the slope is
    shared along some axes (the reference handles that case)."""
    alpha = layer.alpha.value
    if layer.shared_axes or alpha.shape != x.shape[1:] or not is_float_array(x, alpha) \
            or x.ndim < 2:
        return None
    return np.ascontiguousarray(x).reshape(len(x), -1), alpha.reshape(-1)


@twin_of(PReLU.call)
def prelu_call(self, inputs):
    rows = _prelu_rows(self, inputs)
    if rows is None:
        return PReLU.call.reference(self, inputs)
    self._inputs = inputs
    out = np.empty(inputs.shape, inputs.dtype)
    prelu_forward_kernel(*rows, out.reshape(len(inputs), -1))
    return out


@twin_of(PReLU.backward)
def prelu_backward(self, grad_output, need_input_grad=True):
    x = self._inputs
    rows = _prelu_rows(self, x)
    if rows is None or grad_output.shape != x.shape or grad_output.dtype != x.dtype:
        return PReLU.backward.reference(self, grad_output, need_input_grad)
    x_rows, alpha = rows
    alpha_grad = np.empty(alpha.shape, alpha.dtype)
    out = np.empty(x.shape, x.dtype) if need_input_grad else None
    prelu_backward_kernel(x_rows, np.ascontiguousarray(grad_output).reshape(x_rows.shape),
                          alpha, alpha_grad, None if out is None else out.reshape(x_rows.shape))
    if self.trainable:
        self.alpha.grad = alpha_grad.reshape(self.alpha.shape)
    return out
