r"""Numba twins of :class:`~numpy_nn.layers.core.Dense`: bias and activation fused between
the GEMMs.

The reference computes (see :class:`~numpy_nn.layers.core.Dense` for the equations)

* forward: the GEMM :math:`xW`, then :math:`z \mathrel{+}= b` in place, then :math:`y = f(z)`
  (the activation's own twin);
* backward: :math:`\delta = f'(z) \odot g` (the activation's twin), the GEMM
  :math:`x^\top \delta`, the column sum :math:`\partial b = \sum_{\text{batch}} \delta`, and
  the GEMM :math:`\delta W^\top`.

Here the GEMMs stay on BLAS and the element-wise work between them becomes one pass each
way: :func:`bias_relu_kernel` / :func:`bias_scaled_elu_kernel` add the bias and apply the
activation; :func:`relu_grad_bias_kernel`, :func:`elu_grad_bias_kernel` and
:func:`selu_grad_bias_kernel` form :math:`\delta` and accumulate :math:`\partial b` in the
same loop. At the chapter's sizes
(batch 32, 100 units) each NumPy call or kernel call costs about as much in dispatch as in
arithmetic, so two passes instead of four save about a third of a Dense layer's time
outside its GEMMs (the SELU net has 100 such layers).

The expressions are those of :mod:`numpy_nn.activations` in the same order, and the bias
gradient sums the rows in order, as NumPy reduces the outer axis of a C-ordered array: the
results equal those of the unfused path (ReLU bit for bit; ELU/SELU within the few ulp of
:func:`~numpy_nn.kernels.jit.exp`, as their own twins).

:func:`dense_backward_from_logits` is the reference's backward pass from the logits with the
weight gradients written in place into the flat gradient buffer (:mod:`.flat`); the fused
backward uses the same buffers.

Fused: the exact classes Dense with ReLU, ELU or SELU (the chapter's Dense activations), with
a bias, on 2-D inputs of the weights' float dtype. Everything else (other activations,
``use_bias=False``, frozen layers, subclasses, mixed dtypes) runs the reference.
"""
from __future__ import annotations

import numpy as np

from numpy_nn import activations
from numpy_nn.dispatch import twin_of
from numpy_nn.kernels.dense import (
    bias_relu_kernel,
    bias_scaled_elu_kernel,
    elu_grad_bias_kernel,
    relu_grad_bias_kernel,
    selu_grad_bias_kernel,
)
from numpy_nn.kernels.jit import compatible, is_float_array
from numpy_nn.layers.core import Dense
from numpy_nn.optimizers.flat import grad_buffer

_SELU_CONSTANTS = (activations.SELU_SCALE, activations.SELU_SCALE * activations.SELU_ALPHA)


def _scaled_elu_constants(activation):
    """``(scale, scale * alpha)`` of SELU, or of ELU (scale 1: multiplying by it is exact)."""
    if type(activation) is activations.SELU:
        return _SELU_CONSTANTS
    return 1.0, activation.alpha


def _fusable(layer):
    return type(layer) is Dense and layer.use_bias and type(layer.activation) in (
        activations.ReLU, activations.ELU, activations.SELU)


@twin_of(Dense.call)
def dense_call(self, inputs):
    if not _fusable(self) or inputs.ndim != 2 \
            or not is_float_array(inputs, self.kernel.value, self.bias.value):
        return Dense.call.reference(self, inputs)
    z = inputs @ self.kernel.value
    outputs = np.empty(z.shape, z.dtype)
    if type(self.activation) is activations.ReLU:
        bias_relu_kernel(z, self.bias.value, outputs)
    else:
        bias_scaled_elu_kernel(z, self.bias.value,
                               *_scaled_elu_constants(self.activation), outputs)
    self._inputs, self._z, self._outputs = inputs, z, outputs
    self.output_logits = None           # none of these activations outputs probabilities
    return outputs


@twin_of(Dense.backward)
def dense_backward(self, grad_output, need_input_grad=True):
    z = self._z
    if not _fusable(self) or not self.trainable or z.ndim != 2 \
            or not compatible(z, grad_output, self._outputs):
        return Dense.backward.reference(self, grad_output, need_input_grad)
    delta = np.empty(z.shape, z.dtype)
    bias_grad = grad_buffer(self.bias)
    if bias_grad is None:
        bias_grad = np.empty(z.shape[1], z.dtype)
    kind = type(self.activation)
    if kind is activations.ReLU:
        relu_grad_bias_kernel(z, grad_output, delta, bias_grad)
    elif kind is activations.ELU:
        elu_grad_bias_kernel(z, self._outputs, grad_output, self.activation.alpha, delta,
                             bias_grad)
    else:
        selu_grad_bias_kernel(self._outputs, grad_output, *_SELU_CONSTANTS, delta, bias_grad)
    self.bias.grad = bias_grad
    self.kernel.grad = np.matmul(self._inputs.T, delta, out=grad_buffer(self.kernel))
    return delta @ self.kernel.value.T if need_input_grad else None


@twin_of(Dense.backward_from_logits)
def dense_backward_from_logits(self, grad_logits, need_input_grad=True):
    """The reference's products, with the weight gradients written straight into the
    optimizer's flat gradient buffer when it has one (:mod:`numpy_nn.optimizers.flat`), which
    saves a copy per weight per step."""
    if self.trainable:
        self.kernel.grad = np.matmul(self._inputs.T, grad_logits, out=grad_buffer(self.kernel))
        if self.use_bias:
            self.bias.grad = grad_logits.sum(axis=0, out=grad_buffer(self.bias))
    return grad_logits @ self.kernel.value.T if need_input_grad else None
