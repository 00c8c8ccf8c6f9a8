r"""Numba twin of the cross-entropy losses on the logits path.

For sparse or one-hot targets and logits :math:`z` of shape ``(N, K)``, one pass per row gives
the per-sample loss and its gradient (the equations are in :mod:`numpy_nn.losses`):

.. math::
    \ell_i = \operatorname{lse}(z_i)\textstyle\sum_j y_{ij} - \sum_j y_{ij} z_{ij}, \qquad
    \frac{\partial L}{\partial z_{ij}} = \frac{w_i}{N}\Big(\operatorname{softmax}(z_i)_j
        \textstyle\sum_k y_{ik} - y_{ij}\Big)

with :math:`\operatorname{lse}(z) = m + \log\sum_j e^{z_j - m}`, :math:`m = \max_j z_j`. The
reference builds the softmax, the log-sum-exp, the one-hot correction and the reductions as
separate arrays. The mean over the batch is accumulated in float64 here (NumPy sums the
float32 values pairwise), so the loss agrees to a few float32 ulp rather than bit for bit.

Other losses, the clipped-probability path and non-2-D outputs use the reference.
"""
from __future__ import annotations

import numpy as np

from numpy_nn import losses
from numpy_nn.dispatch import twin_of
from numpy_nn.kernels.jit import is_float_array
from numpy_nn.kernels.losses import (
    dense_softmax_cross_entropy_kernel,
    sparse_softmax_cross_entropy_kernel,
)


@twin_of(losses.Loss.value_and_grad)
def value_and_grad(self, y_true, y_pred, logits=None, sample_weight=None):
    z = self._logits_for(y_pred, logits)
    fused = type(self) in (losses.SparseCategoricalCrossentropy, losses.CategoricalCrossentropy)
    if not fused or z is None or not isinstance(z, np.ndarray) or z.ndim != 2 \
            or not is_float_array(z) or z.shape[0] == 0:
        return losses.Loss.value_and_grad.reference(self, y_true, y_pred, logits, sample_weight)
    n, dtype = z.shape[0], z.dtype
    weights = None
    if sample_weight is not None:
        weights = np.ascontiguousarray(np.asarray(sample_weight, dtype).reshape(n))
    grad = np.empty(z.shape, dtype)
    if type(self) is losses.SparseCategoricalCrossentropy:
        labels = self._labels(y_true, y_pred)
        if labels.shape != (n,):
            return losses.Loss.value_and_grad.reference(self, y_true, y_pred, logits,
                                                        sample_weight)
        total = sparse_softmax_cross_entropy_kernel(np.ascontiguousarray(z),
                                                    np.ascontiguousarray(labels), weights, grad)
    else:
        targets = np.asarray(y_true, dtype)
        if targets.shape != z.shape:
            return losses.Loss.value_and_grad.reference(self, y_true, y_pred, logits,
                                                        sample_weight)
        total = dense_softmax_cross_entropy_kernel(np.ascontiguousarray(z),
                                                   np.ascontiguousarray(targets), weights, grad)
    value = dtype.type(total / n)
    return value, grad, z is not y_pred
