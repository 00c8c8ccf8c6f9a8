r"""Keras 2's Adagrad: :math:`\epsilon` is added *outside* the square root
(``tf_keras/src/optimizers/legacy/adagrad.py::Adagrad._resource_apply_dense``, TensorFlow's
``ResourceApplyAdagradV2``).

.. math:: a \leftarrow a + g^2, \qquad w \leftarrow w - \frac{\eta_t\, g}{\sqrt{a} + \epsilon}

**Keras 3** (:class:`numpy_nn.optimizers.Adagrad`) divides by :math:`\sqrt{a + \epsilon}`.
The two agree while :math:`a \gg \epsilon`; they part when the accumulator is small
(``initial_accumulator_value`` near 0 and tiny gradients).

``epsilon=0`` (or None) means 1e-7, as in Keras 2 (``epsilon or backend.epsilon()``).
"""
from __future__ import annotations

import numpy as np

from numpy_nn.optimizers import adagrad
from numpy_nn.optimizers.legacy.base import Keras2Optimizer


class Adagrad(Keras2Optimizer, adagrad.Adagrad):
    """``legacy.Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
    decay=0.0)``."""

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 **kwargs):
        super().__init__(learning_rate=learning_rate,
                         initial_accumulator_value=initial_accumulator_value,
                         epsilon=epsilon or 1e-7, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        s = self.step_scalars(learning_rate, variable.dtype)
        a = self.slots[variable]["accumulator"]
        a += np.square(gradient)                                          # a ← a + g²
        variable.value[...] -= (gradient * learning_rate) / (np.sqrt(a) + s.epsilon)
