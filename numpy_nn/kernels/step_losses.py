r"""The loss of a compiled training step and its gradient, as :mod:`numpy_nn.losses` computes
them: per-sample values :math:`\ell_i`, the ``sum_over_batch_size`` reduction
:math:`L = \frac1N \sum_i w_i \ell_i`, and the gradient with respect to the output layer's
logits :math:`z` where a softmax or sigmoid output meets its cross-entropy (the logits
shortcut), else with respect to the predictions :math:`\hat y`:

* sparse categorical: :math:`\ell_i = \log\sum_j e^{z_{ij}} - z_{i y_i}`, gradient
  :math:`\operatorname{softmax}(z_i) - \operatorname{onehot}(y_i)`;
* categorical: :math:`\ell_i = \log\sum_j e^{z_{ij}} \sum_j y_{ij} - \sum_j y_{ij} z_{ij}`,
  gradient :math:`\operatorname{softmax}(z_i) \sum_j y_{ij} - y_i`;
* binary: :math:`\ell_i = \frac1K \sum_j \max(z, 0) - z y + \log(1 + e^{-|z|})`, gradient
  :math:`(\sigma(z) - y) / K`;
* mean squared error: :math:`\ell_i = \frac1K \sum_j (\hat y_{ij} - y_{ij})^2`, gradient
  :math:`\frac2K (\hat y - y)` with respect to :math:`\hat y`;

each gradient then multiplied by :math:`w_i / N` (by :math:`1/N` without weights). The
log-sum-exp is :math:`m + \log\sum_j e^{z_j - m}` with :math:`m = \max_j z_j`; the softmax and
the sigmoid are the forward pass's (the expressions the reference evaluates again), and
every sum over a row or over the batch is in NumPy's pairwise order (:mod:`.reductions`).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from numpy_nn.kernels.codes import BINARY, CATEGORICAL, SPARSE_CATEGORICAL
from numpy_nn.kernels.jit import exp, helper, nan_max, row_max
from numpy_nn.kernels.reductions import pairwise_sum


class StepTargets(NamedTuple):
    """One batch's targets (empty arrays for what the loss does not use)."""

    labels: np.ndarray            #: (n,) int64 class indices (sparse categorical)
    targets: np.ndarray           #: (n, K) in the weights' dtype (the other losses)
    sample_weight: np.ndarray     #: (n,), or empty for none
    per_sample: np.ndarray        #: (n,) scratch: the per-sample losses
    stack: np.ndarray             #: :func:`.reductions.new_stack` scratch
    loss: np.ndarray              #: (1,): the step's loss, for the caller to read


@helper
def sparse_categorical(z, probabilities, labels, per_sample, delta, stack):
    """Per-sample losses from the logits; ``delta = softmax(z) - onehot`` (unscaled)."""
    rows, cols = z.shape
    one = z.dtype.type(1)
    for i in range(rows):
        top = row_max(z, i)
        for j in range(cols):
            delta[i, j] = exp(z[i, j] - top)
        log_sum = top + np.log(pairwise_sum(delta[i], 0, cols, stack))
        per_sample[i] = log_sum - z[i, labels[i]]
        for j in range(cols):
            delta[i, j] = probabilities[i, j]
        delta[i, labels[i]] = delta[i, labels[i]] - one


@helper
def categorical(z, probabilities, targets, per_sample, delta, stack):
    rows, cols = z.shape
    for i in range(rows):
        top = row_max(z, i)
        for j in range(cols):
            delta[i, j] = exp(z[i, j] - top)
        log_sum = top + np.log(pairwise_sum(delta[i], 0, cols, stack))
        weight = pairwise_sum(targets[i], 0, cols, stack)
        for j in range(cols):
            delta[i, j] = targets[i, j] * z[i, j]
        per_sample[i] = log_sum * weight - pairwise_sum(delta[i], 0, cols, stack)
        for j in range(cols):
            delta[i, j] = probabilities[i, j] * weight - targets[i, j]


@helper
def binary(z, probabilities, targets, per_sample, delta, stack):
    rows, cols = z.shape
    zero, width = z.dtype.type(0), z.dtype.type(cols)
    for i in range(rows):
        for j in range(cols):
            v, y = z[i, j], targets[i, j]
            delta[i, j] = (nan_max(v, zero) - v * y) + np.log1p(exp(-abs(v)))
        per_sample[i] = pairwise_sum(delta[i], 0, cols, stack) / width
        for j in range(cols):
            delta[i, j] = (probabilities[i, j] - targets[i, j]) / width


@helper
def mean_squared(predictions, targets, per_sample, delta, stack):
    rows, cols = predictions.shape
    width = predictions.dtype.type(cols)
    two_over_width = predictions.dtype.type(2.0 / cols)
    for i in range(rows):
        for j in range(cols):
            difference = predictions[i, j] - targets[i, j]
            delta[i, j] = difference * difference
        per_sample[i] = pairwise_sum(delta[i], 0, cols, stack) / width
        for j in range(cols):
            delta[i, j] = two_over_width * (predictions[i, j] - targets[i, j])


@helper
def reduce(per_sample, sample_weight, delta, stack):
    """``L = sum_i w_i l_i / N`` and ``delta <- delta * (w_i / N)`` (``/ N`` without weights);
    returns ``L``."""
    rows, cols = delta.shape
    count = delta.dtype.type(rows)
    if sample_weight.size == 0:
        for i in range(rows):
            for j in range(cols):
                delta[i, j] = delta[i, j] / count
        return pairwise_sum(per_sample, 0, rows, stack) / count
    for i in range(rows):
        scale = sample_weight[i] / count
        for j in range(cols):
            delta[i, j] = delta[i, j] * scale
        per_sample[i] = per_sample[i] * sample_weight[i]
    return pairwise_sum(per_sample, 0, rows, stack) / count


@helper
def loss_and_delta(kind, logits, predictions, targets, delta):
    """The batch's loss; ``delta`` becomes its gradient w.r.t. the logits (cross-entropies)
    or the predictions (mean squared error)."""
    if kind == SPARSE_CATEGORICAL:
        sparse_categorical(logits, predictions, targets.labels, targets.per_sample, delta,
                           targets.stack)
    elif kind == CATEGORICAL:
        categorical(logits, predictions, targets.targets, targets.per_sample, delta,
                    targets.stack)
    elif kind == BINARY:
        binary(logits, predictions, targets.targets, targets.per_sample, delta, targets.stack)
    else:
        mean_squared(predictions, targets.targets, targets.per_sample, delta, targets.stack)
    return reduce(targets.per_sample, targets.sample_weight, delta, targets.stack)
