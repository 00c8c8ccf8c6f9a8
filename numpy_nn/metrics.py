r"""Metrics: accuracy variants and the running mean that turns batch values into epoch values.

:class:`Mean` accumulates :math:`\text{total} = \sum_b w_b v_b` and
:math:`\text{count} = \sum_b w_b` in the float type, and reports
:math:`\text{total}/\text{count}`. ``fit`` feeds the batch loss with weight = batch size, so the
epoch loss is the per-sample mean even when the last batch is smaller; accuracies are fed one
value per sample, so the epoch accuracy is the exact fraction.

``"accuracy"`` is resolved the way Keras 3 does from the shapes of the first batch:

* predictions with one unit → :class:`BinaryAccuracy` (threshold 0.5, strict ``>``);
* integer labels (rank lower than the predictions, or a trailing 1) →
  :class:`SparseCategoricalAccuracy`;
* otherwise → :class:`CategoricalAccuracy`.
"""
from __future__ import annotations

import numpy as np

from numpy_nn import _registry, backend
from numpy_nn._checks import match_ranks


class Mean:
    """Weighted running mean: ``update(values, weight)``, ``result()``, ``reset()``."""

    def __init__(self, name="mean", dtype=None):
        self.name = name
        self.dtype = str(np.dtype(dtype)) if dtype is not None else None
        self.reset()

    def reset(self):
        # NumPy scalars of the float type (what arithmetic on 0-d arrays returns anyway)
        dtype = np.dtype(self.dtype or backend.floatx()).type
        self.total = dtype(0)
        self.count = dtype(0)

    def update(self, values, weight=None):
        values = np.asarray(values, dtype=self.total.dtype)
        if weight is None:
            self.total = self.total + values.sum(dtype=self.total.dtype)
            self.count = self.count + np.asarray(values.size, self.count.dtype)
        else:
            weight = np.asarray(weight, self.total.dtype)
            if weight.shape != values.shape:   # (np.broadcast_to costs more than the update)
                weight = np.broadcast_to(weight, values.shape)
            self.total = self.total + (values * weight).sum(dtype=self.total.dtype)
            self.count = self.count + weight.sum(dtype=self.count.dtype)

    def result(self):
        if self.count == 0:
            return np.zeros((), self.total.dtype)
        return self.total / self.count


class MeanMetricWrapper(Mean):
    """A metric defined by a per-sample function, averaged with :class:`Mean`.

    ``direction`` says whether larger values are better (``"up"``) or smaller (``"down"``);
    callbacks with ``mode="auto"`` read it (see :mod:`numpy_nn.callbacks.monitor`).
    """

    direction = None

    def values(self, y_true, y_pred):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        r"""Add a batch. Values with more axes than the weights are averaged down to the
        weights' rank, weighted, then averaged to one value per sample; the count grows by the
        weights' per-sample means (by the number of samples without weights). This is
        keras/src/metrics/reduction_metrics.py::reduce_to_samplewise_values and ``Mean``:

        .. math:: \text{total} \mathrel{+}= \sum_i \overline{w_i v_i}, \qquad
                  \text{count} \mathrel{+}= \sum_i \overline{w_i}
        """
        dtype = self.total.dtype
        values = np.asarray(self.values(np.asarray(y_true), np.asarray(y_pred)), dtype)
        if sample_weight is None:
            if values.ndim > 1:
                values = values.mean(axis=tuple(range(1, values.ndim)))
            self.update(values)
            return
        weight = np.asarray(sample_weight, dtype)
        values, weight = match_ranks(values, weight)   # Keras's squeeze_or_expand rule
        if values.ndim > weight.ndim:
            values = values.mean(axis=tuple(range(weight.ndim, values.ndim)))
        weight = np.broadcast_to(weight, values.shape)
        values = values * weight
        if weight.ndim > 1:
            weight = weight.mean(axis=tuple(range(1, weight.ndim)))
        if values.ndim > 1:
            values = values.mean(axis=tuple(range(1, values.ndim)))
        self.total = self.total + values.sum(dtype=dtype)
        self.count = self.count + weight.sum(dtype=dtype)

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Add a batch and return the running result, as a Keras metric's call does."""
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class BinaryAccuracy(MeanMetricWrapper):
    r""":math:`[y = (\hat p > t)]` per element, threshold :math:`t = 0.5`
    (0.5 itself predicts 0)."""

    direction = "up"

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        self.threshold = float(threshold)
        super().__init__(name, dtype)

    def values(self, y_true, y_pred):
        """One match per element (``update_state`` averages them per sample)."""
        y_true, y_pred = match_ranks(y_true, y_pred)
        predicted = (y_pred > self.threshold).astype(y_pred.dtype)
        return (y_true.astype(y_pred.dtype) == predicted).astype(backend.floatx())

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


class SparseCategoricalAccuracy(MeanMetricWrapper):
    r""":math:`[y = \arg\max_j \hat p_j]` per sample (ties go to the first index)."""

    direction = "up"

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(name, dtype)

    def values(self, y_true, y_pred):
        if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
            y_true = y_true.squeeze(-1)
        return (y_true.astype(np.int64) == y_pred.argmax(axis=-1)).astype(backend.floatx())


class CategoricalAccuracy(MeanMetricWrapper):
    r""":math:`[\arg\max_j y_j = \arg\max_j \hat p_j]` per sample, for one-hot targets."""

    direction = "up"

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(name, dtype)

    def values(self, y_true, y_pred):
        return (y_true.argmax(axis=-1) == y_pred.argmax(axis=-1)).astype(backend.floatx())


class _MeanElementwiseError(MeanMetricWrapper):
    """Per sample, the mean over the last axis of ``elementwise(y - y_hat)``."""

    direction = "down"
    elementwise = None          # np.abs or np.square

    def values(self, y_true, y_pred):
        y_true, y_pred = match_ranks(y_true.astype(y_pred.dtype), y_pred)
        try:                               # Keras broadcasts where it can, and fails otherwise
            np.broadcast_shapes(y_true.shape, y_pred.shape)
        except ValueError:
            raise ValueError(f"{self.name}: targets of shape {y_true.shape} cannot be compared "
                             f"with predictions of shape {y_pred.shape}") from None
        errors = type(self).elementwise(y_true - y_pred)
        return errors.mean(axis=-1) if errors.ndim > 1 else errors


class MeanAbsoluteError(_MeanElementwiseError):
    r""":math:`\frac1K \sum_j |y_j - \hat y_j|` per sample (``"mae"``)."""

    elementwise = np.abs

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(name, dtype)


class MeanSquaredError(_MeanElementwiseError):
    r""":math:`\frac1K \sum_j (y_j - \hat y_j)^2` per sample (``"mse"``)."""

    elementwise = np.square

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(name, dtype)


_CLASSES = {"BinaryAccuracy": BinaryAccuracy,
            "SparseCategoricalAccuracy": SparseCategoricalAccuracy,
            "CategoricalAccuracy": CategoricalAccuracy,
            "MeanAbsoluteError": MeanAbsoluteError, "MeanSquaredError": MeanSquaredError}
_NAMES = {"binary_accuracy": BinaryAccuracy,
          "sparse_categorical_accuracy": SparseCategoricalAccuracy,
          "categorical_accuracy": CategoricalAccuracy,
          "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
          "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError}


# The metric functions, as ``keras.metrics.sparse_categorical_accuracy`` and the like: per-sample
# values. ``compile(metrics=[function])`` logs them under the function's name, as Keras does.
def binary_accuracy(y_true, y_pred, threshold=0.5):
    return BinaryAccuracy(threshold=threshold).values(np.asarray(y_true), np.asarray(y_pred))


def sparse_categorical_accuracy(y_true, y_pred):
    return SparseCategoricalAccuracy().values(np.asarray(y_true), np.asarray(y_pred))


def categorical_accuracy(y_true, y_pred):
    return CategoricalAccuracy().values(np.asarray(y_true), np.asarray(y_pred))


def mean_absolute_error(y_true, y_pred):
    return MeanAbsoluteError().values(np.asarray(y_true), np.asarray(y_pred))


def mean_squared_error(y_true, y_pred):
    return MeanSquaredError().values(np.asarray(y_true), np.asarray(y_pred))


_FUNCTIONS = {function: function.__name__ for function in (
    binary_accuracy, sparse_categorical_accuracy, categorical_accuracy, mean_absolute_error,
    mean_squared_error)}


def canonical(identifier):
    """What ``compile`` keeps for a metric: a metric function becomes its name (so it is saved
    with the model and logged under that name); anything else is kept as given."""
    if callable(identifier) and not isinstance(identifier, MeanMetricWrapper):
        if identifier not in _FUNCTIONS:
            raise TypeError(f"Could not interpret metric {identifier!r}: a metric function "
                            f"must be one of numpy_nn.metrics.{{{', '.join(_FUNCTIONS.values())}}}"
                            f", or pass a name or a metric object")
        return _FUNCTIONS[identifier]
    return identifier


def resolve_accuracy(y_true_shape, y_pred_shape, name="accuracy"):
    """The accuracy variant Keras picks for ``"accuracy"`` given the target/output shapes."""
    if y_pred_shape[-1] == 1:
        return BinaryAccuracy(name=name)
    if len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1] == 1 and y_pred_shape[-1] > 1):
        return SparseCategoricalAccuracy(name=name)
    return CategoricalAccuracy(name=name)


def get(identifier, y_true_shape=None, y_pred_shape=None):
    """A metric from a name or an object. ``"accuracy"``/``"acc"`` need the shapes to resolve."""
    if isinstance(identifier, MeanMetricWrapper):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        if y_true_shape is None or y_pred_shape is None:
            raise ValueError("metrics.get('accuracy') needs y_true_shape and y_pred_shape")
        return resolve_accuracy(y_true_shape, y_pred_shape, name=identifier)
    if isinstance(identifier, str):
        # "accuracy"/"acc" are listed only so the error message names them; they never get here
        metric = _registry.lookup("metric", identifier, {**_NAMES, **_CLASSES,
                                               "accuracy": None, "acc": None})()
        if identifier in _NAMES:           # "mae" is reported as "mae", as Keras does
            metric.name = identifier
        return metric
    raise TypeError(f"Could not interpret metric {identifier!r}: expected 'accuracy' or one of "
                    f"{', '.join(sorted(_NAMES))}")


__all__ = [
    "binary_accuracy", "BinaryAccuracy", "canonical", "categorical_accuracy",
    "CategoricalAccuracy", "get", "Mean", "mean_absolute_error", "mean_squared_error",
    "MeanAbsoluteError", "MeanMetricWrapper", "MeanSquaredError", "resolve_accuracy",
    "sparse_categorical_accuracy", "SparseCategoricalAccuracy",
]


__dir__ = _registry.public_dir(__all__)
