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

from numpy_nn import backend
from numpy_nn._checks import match_ranks, numeric_array
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


