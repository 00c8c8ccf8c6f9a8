r"""Stochastic gradient descent, with optional momentum (Polyak, 1964) and Nesterov momentum
(Nesterov, 1983; in the form of Sutskever et al., 2013, "On the importance of initialization
and momentum in deep learning").

Plain SGD: :math:`w \leftarrow w - \eta g`.

With momentum :math:`\mu`, a velocity :math:`m` (starting at 0) accumulates past steps:

.. math:: m \leftarrow \mu m - \eta g, \qquad w \leftarrow w + m

Nesterov momentum looks one step ahead along the new velocity:

.. math:: m \leftarrow \mu m - \eta g, \qquad w \leftarrow w + \mu m - \eta g

Keras parity: ``keras/src/optimizers/sgd.py::SGD.update_step``, the same expressions in the
same order, with :math:`\mu` in the variables' dtype.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from numpy_nn.optimizers.base import Optimizer, _check_number


class SGDScalars(NamedTuple):
    """One step's scalars, in the variables' dtype."""

    momentum: np.ndarray           #: mu


class SGD(Optimizer):
    """``SGD(learning_rate=0.01, momentum=0.0, nesterov=False)``."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        _check_number("SGD", "momentum", momentum, low=0)
        if momentum >= 1:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def create_slots(self, variable):
        if self.momentum == 0:
            return {}
        return {"momentum": np.zeros_like(variable.value)}

    def step_scalars(self, learning_rate, dtype):
        return SGDScalars(np.asarray(self.momentum, dtype))

    def update_step(self, gradient, variable, learning_rate):
        w = variable.value
        if self.momentum == 0:
            w -= gradient * learning_rate                       # w ← w − ηg (eq. 1)
            return
        mu = self.step_scalars(learning_rate, variable.dtype).momentum
        m = self.slots[variable]["momentum"]
        m[...] = m * mu - gradient * learning_rate              # m ← μm − ηg (eq. 1)
        if self.nesterov:
            w += m * mu - gradient * learning_rate              # w ← w + μm − ηg (eq. 1)
        else:
            w += m                                              # w ← w + m (eq. 1)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
