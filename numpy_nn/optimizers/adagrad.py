r"""Adagrad (Duchi, Hazan & Singer, 2011, "Adaptive Subgradient Methods for Online Learning and
Stochastic Optimization"): each parameter's step shrinks with its accumulated squared gradients.

.. math:: a \leftarrow a + g^2, \qquad w \leftarrow w - \frac{\eta\, g}{\sqrt{a + \epsilon}}

The accumulator starts at ``initial_accumulator_value`` (0.1).

Keras parity: ``keras/src/optimizers/adagrad.py::Adagrad.update_step`` puts :math:`\epsilon`
*inside* the square root; Keras 2 (the book's version) used :math:`\sqrt{a} + \epsilon`
(:class:`numpy_nn.optimizers.legacy.Adagrad`).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from numpy_nn.optimizers.base import Optimizer, _check_number


class AdagradScalars(NamedTuple):
    """One step's scalars, in the variables' dtype."""

    epsilon: np.ndarray


class Adagrad(Optimizer):
    """``Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7)``."""

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        _check_number("Adagrad", "initial_accumulator_value", initial_accumulator_value, low=0)
        _check_number("Adagrad", "epsilon", epsilon, low=0)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = float(epsilon)

    def create_slots(self, variable):
        return {"accumulator": np.full_like(variable.value, self.initial_accumulator_value)}

    def step_scalars(self, learning_rate, dtype):
        return AdagradScalars(np.asarray(self.epsilon, dtype))

    def update_step(self, gradient, variable, learning_rate):
        s = self.step_scalars(learning_rate, variable.dtype)
        a = self.slots[variable]["accumulator"]
        a += np.square(gradient)                                          # a ← a + g² (eq. 1)
        variable.value[...] -= (learning_rate * gradient) / np.sqrt(a + s.epsilon)  # (eq. 1)

    def get_config(self):
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}
