r"""Losses: value and gradient, from logits when the output layer allows it.

Every loss averages per-sample values :math:`\ell_i` with Keras's ``sum_over_batch_size``
reduction (it divides by the batch size :math:`N`, not by the sum of sample weights):

.. math:: L = \frac{1}{N} \sum_{i=1}^{N} w_i\, \ell_i

**Logits path.** When the model's last operation is a softmax or a sigmoid, Keras 3 does not
use the probabilities at all: the activation remembers its input ``z`` (the *logits*) and the
cross-entropy is computed from ``z`` with the stable formulas below, without clipping. Our
layers do the same by caching their logits (``Layer.output_logits``); :meth:`Loss.value_and_grad`
then returns the gradient with respect to ``z`` directly, which is also the cheap and exact
one (``softmax(z) - onehot(y)``):

* sparse / categorical cross-entropy: :math:`\ell = \log\sum_j e^{z_j} - \sum_j y_j z_j`,
  :math:`\partial \ell / \partial z = \operatorname{softmax}(z) \sum_j y_j - y`;
* binary cross-entropy: :math:`\ell = \max(z, 0) - z y + \log(1 + e^{-|z|})`,
  :math:`\partial \ell / \partial z = \sigma(z) - y` (then averaged over the last axis).

**Clipped path.** Plain probabilities (``from_logits=False`` and no cached logits) are clipped
to :math:`[\epsilon, 1-\epsilon]` with :math:`\epsilon = 10^{-7}` first, exactly as Keras does;
the gradient is zero where clipping was active.
"""
from __future__ import annotations

import numpy as np

from numpy_nn import _registry, activations, backend
from numpy_nn._checks import match_ranks, numeric_array, same_shape
from numpy_nn.dispatch import has_numba_twin


def _logsumexp(z, axis=-1):
    top = z.max(axis=axis, keepdims=True)
    return (top + np.log(np.exp(z - top).sum(axis=axis, keepdims=True))).squeeze(axis)


#: Keras 3's reductions (keras/src/losses/loss.py::standardize_reduction). A direct call
#: honours each; training uses the default, "sum_over_batch_size" (the equation above).
REDUCTIONS = ("sum_over_batch_size", "sum", None, "none", "mean", "mean_with_sample_weight")


class Loss:
    """Base class. Subclasses implement :meth:`per_sample` and :meth:`per_sample_grad`.

    ``loss(y_true, y_pred, sample_weight=None)`` returns the reduced scalar, like Keras.
    """

    name = "loss"
    #: Cross-entropies can use cached logits from a softmax/sigmoid output layer.
    uses_logits = False

    def __init__(self, from_logits=False, name=None, reduction="sum_over_batch_size"):
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {REDUCTIONS}, "
                             f"got {reduction!r}")
        self.from_logits = bool(from_logits)
        self.reduction = reduction
        if name is not None:
            self.name = name

    # -- checks ----------------------------------------------------------------------
    def check_targets(self, y_true, y_pred):
        """Raise a clear ValueError when ``y_true`` cannot be a target for ``y_pred``."""
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1 and y_pred.shape[-1] > 1:
            # Keras's loss would squeeze it, but its "accuracy" then picks the sparse variant
            # and compares the wrong things; refuse instead of reporting a wrong metric.
            raise ValueError(f"{self.name}: targets of shape {y_true.shape} have an extra "
                             f"trailing axis of size 1 for predictions of shape {y_pred.shape}; "
                             f"pass y[..., 0]")
        matched_true, matched_pred = match_ranks(y_true, y_pred)
        if matched_true.shape != matched_pred.shape:
            hint = self._shape_hint(y_true, y_pred)
            raise ValueError(f"{self.name}: targets of shape {y_true.shape} do not match "
                             f"predictions of shape {y_pred.shape}{hint}")

    def _shape_hint(self, y_true, y_pred):
        """A suggestion appended to a shape mismatch (which loss the targets look made for)."""
        return ""

    def _check_unit_interval(self, y_true):
        """Cross-entropy targets are probabilities: refuse values outside [0, 1]."""
        if y_true.size and (y_true.min() < 0 or y_true.max() > 1):
            bad = y_true[(y_true < 0) | (y_true > 1)].flat[0].item()
            raise ValueError(f"{self.name}: targets must be probabilities in [0, 1], got "
                             f"{bad!r}{self._range_hint()}")

    def _range_hint(self):
        return ""

    # -- the algorithm ---------------------------------------------------------------
    def per_sample(self, y_true, y_pred, logits=None):
        """:math:`\\ell_i` for each sample, shape ``(N,)``."""
        raise NotImplementedError

    def per_sample_grad(self, y_true, y_pred, logits=None):
        """:math:`\\partial \\ell_i / \\partial` (logits if given, else ``y_pred``)."""
        raise NotImplementedError

    def _logits_for(self, y_pred, logits):
        """The logits to use: cached ones, or ``y_pred`` itself when ``from_logits=True``."""
        if self.uses_logits and logits is not None:
            return logits
        if self.from_logits:
            return y_pred
        return None

    @has_numba_twin
    def value_and_grad(self, y_true, y_pred, logits=None, sample_weight=None):
        """Reduced loss and its gradient.

        Returns ``(value, grad, grad_is_wrt_logits)``: the gradient is with respect to the
        cached ``logits`` when they were used, otherwise with respect to ``y_pred``.
        """
        z = self._logits_for(y_pred, logits)
        per_sample = self.per_sample(y_true, y_pred, z)
        grad = self.per_sample_grad(y_true, y_pred, z)
        n = per_sample.shape[0]
        dtype = grad.dtype
        if sample_weight is None:
            value = per_sample.sum(dtype=dtype) / np.asarray(n, dtype)
            grad = grad / np.asarray(n, dtype)
        else:
            weight = np.asarray(sample_weight, dtype).reshape(n)
            value = (per_sample * weight).sum(dtype=dtype) / np.asarray(n, dtype)
            grad = grad * (weight / np.asarray(n, dtype)).reshape((n,) + (1,) * (grad.ndim - 1))
        used_logits = z is not None and z is not y_pred
        return value, grad, used_logits

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_true = numeric_array(self.name, "y_true", y_true)
        y_pred = numeric_array(self.name, "y_pred", y_pred)
        if y_pred.ndim == 0:
            raise ValueError(f"{self.name}: y_pred must be an array of predictions, got a "
                             f"scalar")
        if not np.issubdtype(y_pred.dtype, np.floating):
            y_pred = y_pred.astype(backend.floatx())
        self.check_targets(y_true, y_pred)
        z = y_pred if self.from_logits else None
        per_sample = self.per_sample(y_true, y_pred, z)
        weight = None
        if sample_weight is not None:       # one weight per sample, or per loss element
            weight = numeric_array(self.name, "sample_weight", sample_weight).astype(
                per_sample.dtype)
            if per_sample.ndim and weight.size == per_sample.shape[0]:
                weight = weight.reshape(per_sample.shape[:1] + (1,) * (per_sample.ndim - 1))
            try:
                weight = np.broadcast_to(weight, per_sample.shape)
            except ValueError:
                raise ValueError(f"{self.name}: sample_weight of shape {weight.shape} cannot "
                                 f"weight loss values of shape {per_sample.shape}") from None
            per_sample = per_sample * weight
        return self.reduce(per_sample, weight)

    def reduce(self, values, weight=None):
        """The weighted loss values reduced as keras/src/losses/loss.py::reduce_values does:
        none → the values; sum; sum_over_batch_size and mean → sum / number of elements;
        mean_with_sample_weight → sum / sum of the weights (0 when the divisor is 0)."""
        if self.reduction in (None, "none") or values.shape in ((), (0,)):
            return values
        total = values.sum()
        if self.reduction == "sum":
            return total
        divisor = values.size if self.reduction != "mean_with_sample_weight" or weight is None \
            else weight.sum()
        divisor = np.asarray(divisor, values.dtype)
        return total / divisor if divisor != 0 else np.zeros((), values.dtype)

    def get_config(self):
        config = {"name": self.name, "reduction": self.reduction}
        if self.uses_logits:
            config["from_logits"] = self.from_logits
        return config


class SparseCategoricalCrossentropy(Loss):
    r"""Cross-entropy with integer class labels :math:`y_i \in \{0, \ldots, K-1\}`.

    From logits: :math:`\ell_i = \log\sum_j e^{z_{ij}} - z_{i y_i}`, gradient
    :math:`\operatorname{softmax}(z_i) - \operatorname{onehot}(y_i)`.

    From probabilities (Keras's clipped path): :math:`\tilde p = \operatorname{clip}(p, \epsilon,
    1-\epsilon)` and :math:`\ell_i = \log\sum_j \tilde p_{ij} - \log \tilde p_{i y_i}` (the log of
    the clipped probabilities is fed to the same softmax cross-entropy, which renormalises).
    """

    name = "sparse_categorical_crossentropy"
    uses_logits = True

    def check_targets(self, y_true, y_pred):
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        label_shape = (y_true.shape[:-1] if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1
                       else y_true.shape)
        if label_shape != y_pred.shape[:-1]:
            hint = ""
            if y_true.shape == y_pred.shape:
                hint = ("; these targets look one-hot: use categorical_crossentropy for them, "
                        "or pass the class indices y.argmax(axis=-1)")
            raise ValueError(f"{self.name}: integer labels of shape {y_true.shape} do not match "
                             f"predictions of shape {y_pred.shape} (expected labels of shape "
                             f"{y_pred.shape[:-1]} or {y_pred.shape[:-1] + (1,)}){hint}")
        if y_true.dtype.kind not in "iubf":
            raise TypeError(f"{self.name}: labels must be integers, got dtype {y_true.dtype}")
        # Range first, on the original values: casting 1e30 to int64 would be meaningless.
        n_classes = y_pred.shape[-1]
        if y_true.size and (y_true.min() < 0 or y_true.max() >= n_classes):
            bad = y_true[(y_true < 0) | (y_true >= n_classes)].flat[0].item()
            raise ValueError(f"{self.name}: label {bad!r} is outside [0, {n_classes}) for an "
                             f"output layer with {n_classes} units")
        if y_true.dtype.kind == "f" and np.any(y_true != np.round(y_true)):
            bad = y_true[y_true != np.round(y_true)].flat[0].item()
            raise ValueError(f"{self.name}: labels must be whole numbers (class indices); got "
                             f"non-integer values such as {bad!r}")

    @staticmethod
    def _labels(y_true, y_pred):
        y_true = np.asarray(y_true)
        if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
            y_true = y_true.squeeze(-1)
        return y_true.astype(np.int64, copy=False)

    def _clipped_logits(self, y_pred):
        eps = np.asarray(backend.epsilon(), y_pred.dtype)
        clipped = np.clip(y_pred, eps, np.asarray(1 - backend.epsilon(), y_pred.dtype))
        return np.log(clipped), (y_pred >= eps) & (y_pred <= 1 - eps), clipped

    def per_sample(self, y_true, y_pred, logits=None):
        labels = self._labels(y_true, y_pred)
        z = logits if logits is not None else self._clipped_logits(y_pred)[0]
        picked = np.take_along_axis(z, labels[..., None], axis=-1)[..., 0]
        return _logsumexp(z) - picked

    def per_sample_grad(self, y_true, y_pred, logits=None):
        labels = self._labels(y_true, y_pred)
        if logits is not None:
            grad = activations.softmax.forward(logits)
            np.put_along_axis(grad, labels[..., None],
                              np.take_along_axis(grad, labels[..., None], axis=-1) - 1, axis=-1)
            return grad
        # d/dp_j of [log sum p~ - log p~_y] = (1/sum p~ - [j=y]/p~_y), zero where clipped
        z, inside, clipped = self._clipped_logits(y_pred)
        grad = np.broadcast_to(1 / clipped.sum(axis=-1, keepdims=True), y_pred.shape).copy()
        picked = np.take_along_axis(clipped, labels[..., None], axis=-1)
        np.put_along_axis(grad, labels[..., None],
                          np.take_along_axis(grad, labels[..., None], axis=-1) - 1 / picked,
                          axis=-1)
        return np.where(inside, grad, np.asarray(0, y_pred.dtype))


class CategoricalCrossentropy(Loss):
    r"""Cross-entropy with one-hot (or soft) targets :math:`y_i`.

    From logits: :math:`\ell_i = \log\sum_j e^{z_{ij}} \sum_j y_{ij} - \sum_j y_{ij} z_{ij}`.
    From probabilities: :math:`q = p / \sum p`, :math:`\tilde q = \operatorname{clip}(q)`,
    :math:`\ell_i = -\sum_j y_{ij} \log \tilde q_{ij}`.
    """

    name = "categorical_crossentropy"
    uses_logits = True

    def check_targets(self, y_true, y_pred):
        super().check_targets(y_true, y_pred)
        self._check_unit_interval(np.asarray(y_true))

    def _shape_hint(self, y_true, y_pred):
        if y_true.shape == y_pred.shape[:-1] or y_true.shape == y_pred.shape[:-1] + (1,):
            return ("; these look like class indices: use sparse_categorical_crossentropy, "
                    "or one-hot encode them")
        return ""

    def _range_hint(self):
        return " (one-hot or soft targets); for class indices use sparse_categorical_crossentropy"

    def per_sample(self, y_true, y_pred, logits=None):
        y_true, y_pred = same_shape(self.name, *match_ranks(np.asarray(y_true, y_pred.dtype),
                                                            y_pred))
        if logits is not None:
            return (_logsumexp(logits) * y_true.sum(-1)) - (y_true * logits).sum(-1)
        q = y_pred / y_pred.sum(-1, keepdims=True)
        eps = backend.epsilon()
        q = np.clip(q, np.asarray(eps, q.dtype), np.asarray(1 - eps, q.dtype))
        return -(y_true * np.log(q)).sum(-1)

    def per_sample_grad(self, y_true, y_pred, logits=None):
        y_true, y_pred = match_ranks(np.asarray(y_true, y_pred.dtype), y_pred)
        if logits is not None:
            return activations.softmax.forward(logits) * y_true.sum(-1, keepdims=True) - y_true
        total = y_pred.sum(-1, keepdims=True)
        q = y_pred / total
        eps = backend.epsilon()
        inside = (q >= np.asarray(eps, q.dtype)) & (q <= np.asarray(1 - eps, q.dtype))
        q_clipped = np.clip(q, np.asarray(eps, q.dtype), np.asarray(1 - eps, q.dtype))
        grad_q = np.where(inside, -y_true / q_clipped, np.asarray(0, q.dtype))
        # chain rule through q = p / sum(p): dq_j/dp_k = (delta_jk - q_j) / sum(p)
        return (grad_q - (grad_q * q).sum(-1, keepdims=True)) / total


class BinaryCrossentropy(Loss):
    r"""Binary cross-entropy, averaged over the last axis.

    From logits: :math:`\ell = \max(z, 0) - z y + \log(1 + e^{-|z|})`, gradient
    :math:`\sigma(z) - y`. From probabilities: :math:`\tilde p = \operatorname{clip}(p)`,
    :math:`\ell = -(y \log \tilde p + (1-y) \log(1-\tilde p))`.
    """

    name = "binary_crossentropy"
    uses_logits = True

    def check_targets(self, y_true, y_pred):
        super().check_targets(y_true, y_pred)
        self._check_unit_interval(np.asarray(y_true))

    def _range_hint(self):
        return (" (0/1 labels); for more than two classes use a softmax output with "
                "sparse_categorical_crossentropy")

    def per_sample(self, y_true, y_pred, logits=None):
        y_true, y_pred = same_shape(self.name, *match_ranks(np.asarray(y_true, y_pred.dtype),
                                                            y_pred))
        if logits is not None:
            z = logits.reshape(y_pred.shape)
            elementwise = (np.maximum(z, np.asarray(0, z.dtype)) - z * y_true
                           + np.log1p(np.exp(-np.abs(z))))
        else:
            eps = backend.epsilon()
            p = np.clip(y_pred, np.asarray(eps, y_pred.dtype), np.asarray(1 - eps, y_pred.dtype))
            elementwise = -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))
        return elementwise.mean(axis=-1) if elementwise.ndim > 1 else elementwise

    def per_sample_grad(self, y_true, y_pred, logits=None):
        y_true_m, y_pred_m = match_ranks(np.asarray(y_true, y_pred.dtype), y_pred)
        width = np.asarray(y_pred_m.shape[-1] if y_pred_m.ndim > 1 else 1, y_pred.dtype)
        if logits is not None:
            z = logits.reshape(y_pred_m.shape)
            grad = (activations.sigmoid.forward(z) - y_true_m) / width
            return grad.reshape(logits.shape)
        eps = backend.epsilon()
        lo, hi = np.asarray(eps, y_pred.dtype), np.asarray(1 - eps, y_pred.dtype)
        p = np.clip(y_pred_m, lo, hi)
        grad = (-(y_true_m / p) + (1 - y_true_m) / (1 - p)) / width
        grad = np.where((y_pred_m >= lo) & (y_pred_m <= hi), grad, np.asarray(0, grad.dtype))
        return grad.reshape(y_pred.shape)


class MeanSquaredError(Loss):
    r"""Mean squared error over the last axis:
    :math:`\ell_i = \frac1K \sum_j (y_{ij}-\hat y_{ij})^2`,
    gradient :math:`\frac2K (\hat y - y)`."""

    name = "mean_squared_error"

    def per_sample(self, y_true, y_pred, logits=None):
        y_true, y_pred = match_ranks(np.asarray(y_true, y_pred.dtype), y_pred)
        squared = np.square(y_pred - y_true)
        return squared.mean(axis=-1) if squared.ndim > 1 else squared

    def per_sample_grad(self, y_true, y_pred, logits=None):
        y_true_m, y_pred_m = match_ranks(np.asarray(y_true, y_pred.dtype), y_pred)
        width = y_pred_m.shape[-1] if y_pred_m.ndim > 1 else 1
        grad = np.asarray(2 / width, y_pred.dtype) * (y_pred_m - y_true_m)
        return grad.reshape(y_pred.shape)


_CLASSES = {
    "SparseCategoricalCrossentropy": SparseCategoricalCrossentropy,
    "CategoricalCrossentropy": CategoricalCrossentropy,
    "BinaryCrossentropy": BinaryCrossentropy,
    "MeanSquaredError": MeanSquaredError,
}
_NAMES = {
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
}


def _per_sample(loss, y_true, y_pred):
    y_pred = np.asarray(y_pred)
    return loss.per_sample(y_true, y_pred, y_pred if loss.from_logits else None)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    """Per-sample values, like ``keras.losses.sparse_categorical_crossentropy``."""
    return _per_sample(SparseCategoricalCrossentropy(from_logits), y_true, y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False):
    return _per_sample(CategoricalCrossentropy(from_logits), y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False):
    return _per_sample(BinaryCrossentropy(from_logits), y_true, y_pred)


def mean_squared_error(y_true, y_pred):
    return _per_sample(MeanSquaredError(), y_true, y_pred)


mse = mean_squared_error


#: The loss functions ``compile`` accepts as the book writes them
#: (``loss=keras.losses.sparse_categorical_crossentropy``): each stands for its class.
_FUNCTIONS = {sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
              categorical_crossentropy: CategoricalCrossentropy,
              binary_crossentropy: BinaryCrossentropy, mean_squared_error: MeanSquaredError}


def get(identifier) -> Loss:
    """A loss from a name (``"sparse_categorical_crossentropy"``), a config, a Loss object, a
    Loss class, or one of this module's loss functions (Keras wraps any function in a
    ``LossFunctionWrapper``; numpy_nn needs the loss's gradient, so it takes its own)."""
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier) and not isinstance(identifier, Loss):
        if identifier in _FUNCTIONS:
            return _FUNCTIONS[identifier]()
        raise TypeError(f"Could not interpret loss {identifier!r}: numpy_nn needs the loss's "
                        f"gradient, so a function must be one of numpy_nn.losses."
                        f"{{{', '.join(f.__name__ for f in _FUNCTIONS)}}}, or pass a "
                        f"numpy_nn.losses.Loss")
    return _registry.get("loss", identifier, Loss, {**_NAMES, **_CLASSES}, _CLASSES,
                        f": expected one of {', '.join(sorted(_NAMES))} or a "
                        f"numpy_nn.losses.Loss")


def serialize(loss: Loss) -> dict:
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


__all__ = ["binary_crossentropy", "BinaryCrossentropy", "categorical_crossentropy",
           "CategoricalCrossentropy", "get", "Loss", "mean_squared_error", "MeanSquaredError",
           "mse", "serialize", "sparse_categorical_crossentropy", "SparseCategoricalCrossentropy"]
__dir__ = _registry.public_dir(__all__)
