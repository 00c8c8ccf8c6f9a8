"""The chapter's losses: sparse and categorical cross-entropy, binary cross-entropy and mean
squared error (the equations are in :mod:`numpy_nn.losses.loss`)."""
from __future__ import annotations

import numpy as np

from numpy_nn import activations, backend
from numpy_nn._checks import match_ranks, same_shape
from numpy_nn.losses.loss import Loss, _logsumexp


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
