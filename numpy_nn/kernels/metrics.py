r"""The number of correct predictions in a compiled step's batch, for ``fit``'s accuracy.

The definition is :mod:`numpy_nn.metrics`: an accuracy is the :class:`~numpy_nn.metrics.Mean`
of one 0/1 value per sample, so each batch adds :math:`\sum_i [\text{correct}_i]` to its total
and :math:`n_b` to its count. A float sum of :math:`k` zeros and ones is exactly :math:`k` (for
:math:`k < 2^{24}` in float32), so counting the matches here as an integer gives the
reference's sum bit for bit, without the arrays of per-sample values the reference makes.

:func:`matches` reads the step's own buffers (the typed Lists the step kernels take), so a
call makes no array and no Numba record.
"""
from __future__ import annotations

from numpy_nn.kernels.codes import BINARY_ACCURACY, SPARSE_ACCURACY
from numpy_nn.kernels.jit import helper, kernel


@helper
def _argmax(values, i):
    """``np.argmax`` of row ``i``: the first largest value's index, or the first NaN's."""
    best, top = 0, values[i, 0]
    if top != top:
        return 0
    for j in range(1, values.shape[1]):
        v = values[i, j]
        if v != v:
            return j
        if v > top:
            best, top = j, v
    return best


@kernel
def matches(batches, all_targets, kind, threshold):
    r"""The batch's correct predictions :math:`\hat p` (the last layer's outputs) for one kind:

    * ``SPARSE_ACCURACY``: :math:`\sum_i [y_i = \arg\max_j \hat p_{ij}]`;
    * ``CATEGORICAL_ACCURACY``: :math:`\sum_i [\arg\max_j y_{ij} = \arg\max_j \hat p_{ij}]`;
    * ``BINARY_ACCURACY`` (one output unit): :math:`\sum_i [y_i = (\hat p_i > t)]`, ``threshold``
      in the predictions' dtype, as NumPy compares it.
    """
    outputs, targets = batches[0].outputs, all_targets[0]
    y_pred = outputs[len(outputs) - 1]
    count = 0
    for i in range(y_pred.shape[0]):
        if kind == SPARSE_ACCURACY:
            correct = targets.labels[i] == _argmax(y_pred, i)
        elif kind == BINARY_ACCURACY:
            correct = targets.targets[i, 0] == (1.0 if y_pred[i, 0] > threshold else 0.0)
        else:
            correct = _argmax(targets.targets, i) == _argmax(y_pred, i)
        if correct:
            count += 1
    return count
