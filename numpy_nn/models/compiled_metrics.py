r"""``fit``'s running loss and metrics on the compiled path, updated without making an array.

The trainer feeds every batch to its trackers (:meth:`.trainer.Trainer._update_trackers`):
the loss to a :class:`~numpy_nn.metrics.Mean` weighted by the batch size :math:`n_b`, each
metric its ``update_state``, which makes a few small arrays per batch. With
``jit_compile=True`` the same sums are added here,

.. math::
    \text{loss: total} \mathrel{+}= v_b\, n_b,\quad \text{count} \mathrel{+}= n_b; \qquad
    \text{accuracy: total} \mathrel{+}= k_b,\quad \text{count} \mathrel{+}= n_b,

with :math:`k_b` the batch's correct predictions counted by
:func:`numpy_nn.kernels.metrics.matches` over the step's own buffers. Every term is a NumPy
scalar of the tracker's dtype (``Mean`` keeps its totals as scalars); :math:`n_b` and
:math:`k_b` are exact in it and are read from a table made once per batch size, since making
a scalar from a number allocates. The same operations in the same precision as the
reference's, so the same bits, and no array. A metric the kernel does not know keeps its own
``update_state``.
"""
from __future__ import annotations

import functools

import numpy as np

from numpy_nn import metrics
from numpy_nn.kernels import metrics as kernels
from numpy_nn.kernels.codes import BINARY_ACCURACY, CATEGORICAL_ACCURACY, SPARSE_ACCURACY


def accuracy_kind(tracker, y_true, y_pred):
    """The kernel's code for ``tracker`` on these arrays, or None (an exact type: a subclass
    may define its own ``values``)."""
    kind = type(tracker)
    if kind is metrics.SparseCategoricalAccuracy and y_true.ndim == 1:
        return SPARSE_ACCURACY
    if kind is metrics.CategoricalAccuracy and y_true.shape == y_pred.shape:
        return CATEGORICAL_ACCURACY
    if kind is metrics.BinaryAccuracy and y_true.shape == y_pred.shape == (len(y_pred), 1):
        return BINARY_ACCURACY
    return None


@functools.cache
def _counts(n, dtype):
    """``0, 1, ..., n`` in ``dtype``: reading one gives a NumPy scalar without making an array
    (making a scalar from a number does): a batch size or a count of matches."""
    return np.arange(n + 1, dtype=dtype)


@functools.cache
def _threshold(threshold, dtype):
    """A threshold in the predictions' dtype, as NumPy compares ``y_pred > threshold``."""
    return dtype.type(threshold)


def update_trackers(trackers, loss, y_true, y_pred, batches, all_targets):
    """Add one batch to ``trackers`` (``{"loss": Mean, name: metric}``) as the reference's
    ``_update_trackers`` does; ``batches`` / ``all_targets`` are the step's typed Lists."""
    n = len(y_pred)
    for name, tracker in trackers.items():
        counts = _counts(n, tracker.total.dtype)
        if name == "loss" and type(tracker) is metrics.Mean:
            if type(tracker.total) is not type(loss):     # another float type: its own code
                tracker.update(loss, weight=n)
                continue
            added = loss * counts[n]                       # Mean.update(loss, weight=n)
        else:
            kind = accuracy_kind(tracker, y_true, y_pred)
            if kind is None:
                tracker.update_state(y_true, y_pred)
                continue
            threshold = _threshold(getattr(tracker, "threshold", 0.0), y_pred.dtype)
            added = counts[kernels.matches(batches, all_targets, kind, threshold)]
        tracker.total = tracker.total + added
        tracker.count = tracker.count + counts[n]
