r"""The compiled kernels behind :mod:`numpy_nn.twins.losses`, the Numba twins of the reference
code (that module's docstring says what they compute and how they match it)."""
from __future__ import annotations

import numpy as np

from numpy_nn.kernels.jit import exp, helper, kernel, row_max


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
