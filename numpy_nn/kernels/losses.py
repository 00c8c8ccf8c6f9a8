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
from numpy_nn.kernels import twin_of
from numpy_nn.kernels.jit import exp, helper, is_float_array, kernel, row_max


@helper
def _sum_of_shifted_exp(logits, i, top):
    r""":math:`\sum_j e^{z_{ij} - m}`, the denominator of row ``i``'s softmax."""
    total = logits.dtype.type(0)
    for j in range(logits.shape[1]):
        total += exp(logits[i, j] - top)
    return total


@kernel
def sparse_softmax_cross_entropy_kernel(logits, labels, weights, grad):
    """Fill ``grad`` (N, K) with dL/dz; return sum_i w_i * l_i (float64); ``weights`` may be
    None."""
    n, k = logits.shape
    n_float, one = logits.dtype.type(n), logits.dtype.type(1)
    total = 0.0
    for i in range(n):
        label = labels[i]
        if label < 0 or label >= k:
            raise ValueError("sparse_categorical_crossentropy: label outside [0, n_classes)")
        top = row_max(logits, i)
        shifted_sum = _sum_of_shifted_exp(logits, i, top)
        sample_loss = (top + np.log(shifted_sum)) - logits[i, label]
        total += sample_loss if weights is None else sample_loss * weights[i]
        for j in range(k):
            probability = exp(logits[i, j] - top) / shifted_sum
            if j == label:
                probability = probability - one
            # as the reference: divided by N, or multiplied by (w_i / N)
            if weights is None:
                grad[i, j] = probability / n_float
            else:
                grad[i, j] = probability * (weights[i] / n_float)
    return total


@kernel
def dense_softmax_cross_entropy_kernel(logits, targets, weights, grad):
    """Like the sparse kernel with (soft) one-hot ``targets`` of shape (N, K)."""
    n, k = logits.shape
    n_float = logits.dtype.type(n)
    total = 0.0
    for i in range(n):
        top = row_max(logits, i)
        shifted_sum = _sum_of_shifted_exp(logits, i, top)
        target_sum = logits.dtype.type(0)
        target_dot_logits = logits.dtype.type(0)
        for j in range(k):
            target_sum += targets[i, j]
            target_dot_logits += targets[i, j] * logits[i, j]
        sample_loss = (top + np.log(shifted_sum)) * target_sum - target_dot_logits
        total += sample_loss if weights is None else sample_loss * weights[i]
        for j in range(k):
            probability = exp(logits[i, j] - top) / shifted_sum
            difference = probability * target_sum - targets[i, j]
            if weights is None:
                grad[i, j] = difference / n_float
            else:
                grad[i, j] = difference * (weights[i] / n_float)
    return total


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
