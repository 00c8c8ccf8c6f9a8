r"""Numba twin of BatchNormalization in training mode (batch statistics).

Forward: the batch mean and (biased) variance per feature, the output
:math:`y = x \cdot \text{inv} + (\beta - \mu\,\text{inv})` with
:math:`\text{inv} = \gamma / \sqrt{\sigma^2 + \epsilon}`, and the moving statistics, in three
passes over the batch (the reference makes about ten NumPy calls). Backward: the two feature
sums :math:`\sum g` and :math:`\sum g \hat x` in one pass (they are also
:math:`\partial L/\partial\beta` and :math:`\partial L/\partial\gamma`), then
:math:`\partial L/\partial x` in a second. The equations are in
:class:`numpy_nn.layers.BatchNormalization`; the expressions are evaluated in the same order,
and sums over the batch run row after row as NumPy's do, so results match the reference to
the last bit or within a few ulp.

The kernels see the input as rows of features (any rank, normalised axis last). Inference
mode, ``center=False``/``scale=False`` and other axes use the reference.
"""
from __future__ import annotations

import numpy as np

from numpy_nn.dispatch import twin_of
from numpy_nn.kernels.jit import is_float_array, scalar
from numpy_nn.kernels.normalization import batch_norm_backward_kernel, batch_norm_forward_kernel
from numpy_nn.layers.normalization import BatchNormalization, BatchNormCache
from numpy_nn.optimizers.flat import grad_buffer


def _as_rows(layer, array):
    """``array`` as (rows, features) when the layer normalises its last axis, else None."""
    if layer.axis % array.ndim != array.ndim - 1 or array.ndim < 2:
        return None
    return np.ascontiguousarray(array).reshape(-1, array.shape[-1])


def _grad_storage(variable, shape, dtype):
    """Where to write a parameter gradient: the variable's persistent buffer if it has one."""
    buffer = grad_buffer(variable)
    return buffer if buffer is not None else np.empty(shape, dtype)


@twin_of(BatchNormalization.call)
def batch_normalization_call(self, inputs, training=None):
    training_mode = bool(training) and self.trainable
    rows = _as_rows(self, inputs) if training_mode else None
    if rows is None or self.gamma is None or self.beta is None or len(rows) == 0 \
            or not is_float_array(inputs, self.gamma.value, self.moving_mean.value):
        return BatchNormalization.call.reference(self, inputs, training)
    dtype = inputs.dtype
    features = rows.shape[1]
    out = np.empty(inputs.shape, dtype)
    mean = np.empty(features, dtype)
    inv_std = np.empty(features, dtype)
    batch_norm_forward_kernel(rows, self.gamma.value, self.beta.value,
                              scalar(self.epsilon, dtype), scalar(self.momentum, dtype),
                              scalar(1.0 - self.momentum, dtype),
                              self.moving_mean.value, self.moving_variance.value,
                              out.reshape(rows.shape), mean, inv_std,
                              np.empty((3, features), dtype))
    gamma = self.gamma.value.reshape(self._broadcast)
    self._cache = BatchNormCache(True, inputs, mean.reshape(self._broadcast),
                                 inv_std.reshape(self._broadcast), gamma)
    return out


@twin_of(BatchNormalization.backward)
def batch_normalization_backward(self, grad_output, need_input_grad=True):
    cache = self._cache
    x = cache.inputs
    rows = _as_rows(self, x)
    if not cache.used_batch_statistics or rows is None or grad_output.shape != x.shape \
            or not is_float_array(x, grad_output) or self.gamma is None or self.beta is None:
        return BatchNormalization.backward.reference(self, grad_output, need_input_grad)
    features = rows.shape[1]
    gamma_grad = _grad_storage(self.gamma, (features,), x.dtype)
    beta_grad = _grad_storage(self.beta, (features,), x.dtype)
    out = np.empty(x.shape, x.dtype) if need_input_grad else None
    batch_norm_backward_kernel(rows, np.ascontiguousarray(grad_output).reshape(rows.shape),
                               cache.mean.reshape(-1), cache.inv_std.reshape(-1),
                               cache.gamma.reshape(-1),
                               gamma_grad, beta_grad,
                               None if out is None else out.reshape(rows.shape),
                               np.empty(features, x.dtype))
    if self.trainable:
        self.gamma.grad = gamma_grad
        self.beta.grad = beta_grad
    return out
