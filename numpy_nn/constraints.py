r"""Weight constraints, applied by the optimizer right after every update step.

Max-norm regularisation (Srivastava et al., 2014, "Dropout: A Simple Way to Prevent Neural
Networks from Overfitting", section 5.1) rescales each incoming-weight vector whose norm
exceeds :math:`r`:

.. math:: w \leftarrow w \cdot \frac{\operatorname{clip}(\lVert w \rVert_2, 0, r)}
                                 {\epsilon + \lVert w \rVert_2}, \qquad \epsilon = 10^{-7}

With ``axis=0`` on a Dense kernel of shape ``(inputs, units)`` the norm is taken per unit
(per column). Like Keras, columns already under the limit are also multiplied by
:math:`\lVert w\rVert / (\lVert w\rVert + \epsilon)`, a factor just below 1. Constraints are
never applied at initialisation, only after optimizer steps.
"""
from __future__ import annotations

import numpy as np

from numpy_nn import _registry, backend


class Constraint:
    """Base class: ``constraint(w) -> projected w``."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        """The constraint ``get_config`` describes (Keras 3: ``Constraint.from_config``)."""
        return cls(**config)


class MaxNorm(Constraint):
    """Limit the L2 norm of each slice along ``axis`` to ``max_value``."""

    def __init__(self, max_value=2.0, axis=0):
        if not max_value > 0:
            raise ValueError(f"MaxNorm: max_value must be positive, got {max_value!r}")
        self.max_value = float(max_value)
        self.axis = axis

    def __call__(self, w):
        w = np.asarray(w)
        norms = np.sqrt(np.sum(np.square(w), axis=self.axis, keepdims=True))
        desired = np.clip(norms, 0, np.asarray(self.max_value, w.dtype))
        return w * (desired / (np.asarray(backend.epsilon(), w.dtype) + norms))  # (eq. 1)

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


def max_norm(max_value=2.0, axis=0):
    return MaxNorm(max_value=max_value, axis=axis)


_CLASSES = {"MaxNorm": MaxNorm}
_NAMES = {"max_norm": MaxNorm}


def get(identifier):
    if identifier is None:
        return None
    return _registry.get("constraint", identifier, Constraint, {**_NAMES, **_CLASSES}, _CLASSES)


def serialize(constraint):
    if constraint is None:
        return None
    return {"class_name": type(constraint).__name__, "config": constraint.get_config()}


__all__ = [
    "Constraint", "get", "max_norm", "MaxNorm", "serialize",
]


__dir__ = _registry.public_dir(__all__)
