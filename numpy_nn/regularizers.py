r"""Weight penalties: L1, L2 and both (``l1``, ``l2``, ``l1_l2``).

.. math:: \Omega(W) = \lambda_1 \sum |w| + \lambda_2 \sum w^2, \qquad
          \frac{\partial \Omega}{\partial w} = \lambda_1 \operatorname{sign}(w) + 2 \lambda_2 w

As in Keras 3, the penalty is added to the reported loss *without* dividing by the batch
size, it is computed from the weights before the optimizer step, and only trainable weights
contribute (a frozen layer's regularizer adds nothing). The gradient of :math:`|w|` at 0 is
taken as 0 (``sign(0) = 0``), as TensorFlow's ``abs`` gradient does.
"""
from __future__ import annotations

import numpy as np

from numpy_nn import _registry


class Regularizer:
    """Base class: ``penalty = regularizer(w)`` and ``regularizer.gradient(w)``."""

    def __call__(self, w):
        raise NotImplementedError

    def gradient(self, w):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        """The regularizer ``get_config`` describes (Keras 3: ``Regularizer.from_config``)."""
        return cls(**config)


class L1L2(Regularizer):
    """``l1 * sum|w| + l2 * sum(w**2)``; either factor may be 0."""

    def __init__(self, l1=0.0, l2=0.0):
        for name, value in (("l1", l1), ("l2", l2)):
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{type(self).__name__}: {name} must be a finite number >= 0, "
                                 f"got {value!r}")
        self.l1 = float(l1)
        self.l2 = float(l2)

    def __call__(self, w):
        w = np.asarray(w)
        penalty = np.zeros((), dtype=w.dtype)
        if self.l1:
            penalty = penalty + np.asarray(self.l1, w.dtype) * np.sum(np.abs(w))  # (eq. 1)
        if self.l2:
            penalty = penalty + np.asarray(self.l2, w.dtype) * np.sum(np.square(w))  # (eq. 1)
        return penalty

    def gradient(self, w):
        w = np.asarray(w)
        grad = np.zeros_like(w)
        if self.l1:
            grad += np.asarray(self.l1, w.dtype) * np.sign(w)  # (eq. 1)
        if self.l2:
            grad += np.asarray(2 * self.l2, w.dtype) * w  # (eq. 1)
        return grad

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """``l1 * sum|w|`` (Keras's default factor 0.01)."""

    def __init__(self, l1=0.01):
        super().__init__(l1=l1, l2=0.0)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """``l2 * sum(w**2)`` (Keras's default factor 0.01)."""

    def __init__(self, l2=0.01):
        super().__init__(l1=0.0, l2=l2)

    def get_config(self):
        return {"l2": self.l2}


# Keras 3's lower-case names are the classes themselves, so their defaults are the classes':
# l1() and l2() use 0.01, l1_l2() uses 0 and 0 (Keras 2's l1_l2 function defaulted to 0.01 each;
# the chapter always passes both factors).
l1, l2, l1_l2 = L1, L2, L1L2


_CLASSES = {"L1L2": L1L2, "L1": L1, "L2": L2}
_NAMES = {"l1": L1, "l2": L2, "l1_l2": L1L2}


def get(identifier):
    """A regularizer from ``None``, a name (``"l2"``), a config dict or a Regularizer."""
    if identifier is None:
        return None
    return _registry.get("regularizer", identifier, Regularizer, {**_NAMES, **_CLASSES},
                        _CLASSES)


def serialize(regularizer):
    if regularizer is None:
        return None
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}


__all__ = [
    "get", "L1", "l1", "l1_l2", "L1L2", "L2", "l2", "Regularizer", "serialize",
]


__dir__ = _registry.public_dir(__all__)
