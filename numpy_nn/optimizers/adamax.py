r"""Adamax (Kingma & Ba, 2015, section 7.1): Adam with the infinity norm in place of the L2 norm.

.. math::
    m \leftarrow m + (g - m)(1-\beta_1), \qquad u \leftarrow \max(\beta_2 u, |g|), \qquad
    w \leftarrow w - \frac{\eta\, m}{(1-\beta_1^t)(u + \epsilon)}
"""
from __future__ import annotations

import numpy as np

from numpy_nn.optimizers.base import Optimizer, _check_number


class Adamax(Optimizer):
    """``Adamax(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)``."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        _check_number("Adamax", "beta_1", beta_1, low=0, high=1, high_inclusive=False)
        _check_number("Adamax", "beta_2", beta_2, low=0, high=1, high_inclusive=False)
        _check_number("Adamax", "epsilon", epsilon, low=0)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)

    def create_slots(self, variable):
        return {"momentum": np.zeros_like(variable.value), "norm": np.zeros_like(variable.value)}

    def update_moments(self, gradient, variable):
        """Update the variable's ``m`` and ``u`` in place; return ``(m, u, beta_1 ** t)``."""
        dtype = variable.dtype
        slots = self.slots[variable]
        m, u = slots["momentum"], slots["norm"]
        m += (gradient - m) * np.asarray(1 - self.beta_1, dtype)
        u[...] = np.maximum(np.asarray(self.beta_2, dtype) * u, np.abs(gradient))
        return m, u, np.power(np.asarray(self.beta_1, dtype), self.step_count(dtype))

    def update_step(self, gradient, variable, learning_rate):
        m, u, beta_1_power = self.update_moments(gradient, variable)
        variable.value[...] -= (learning_rate * m) / (
            (1 - beta_1_power) * (u + np.asarray(self.epsilon, variable.dtype)))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
