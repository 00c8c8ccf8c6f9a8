r"""Adamax (Kingma & Ba, 2015, section 7.1): Adam with the infinity norm in place of the L2 norm.

At step :math:`t = \text{iterations} + 1`:

.. math::
    m \leftarrow \beta_1 m + (1-\beta_1) g, \qquad u \leftarrow \max(\beta_2 u, |g|), \qquad
    w \leftarrow w - \frac{\eta\, m}{(1-\beta_1^t)(u + \epsilon)}

(:math:`m` updated as :math:`m + (g - m)(1-\beta_1)`, the same equation).

Keras parity: ``keras/src/optimizers/adamax.py::Adamax.update_step``, the same grouping, with
:math:`1-\beta_1` evaluated in double and rounded once; Keras 2 grouped the step differently
(:class:`numpy_nn.optimizers.legacy.Adamax`).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from numpy_nn.optimizers.base import Optimizer, check_moment_hyper_parameters


class AdamaxScalars(NamedTuple):
    """One step's scalars, in the variables' dtype."""

    one_minus_beta_1: np.ndarray
    beta_2: np.ndarray
    one_minus_beta_1_power: np.ndarray     #: 1 - beta_1^t
    epsilon: np.ndarray


class Adamax(Optimizer):
    """``Adamax(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)``."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = check_moment_hyper_parameters(
            "Adamax", beta_1, beta_2, epsilon)

    def create_slots(self, variable):
        return {"momentum": np.zeros_like(variable.value), "norm": np.zeros_like(variable.value)}

    def step_scalars(self, learning_rate, dtype):
        beta_1_power = np.power(np.asarray(self.beta_1, dtype), self.step_count(dtype))
        return AdamaxScalars(np.asarray(1 - self.beta_1, dtype), np.asarray(self.beta_2, dtype),
                             1 - beta_1_power, np.asarray(self.epsilon, dtype))

    def update_moments(self, gradient, variable, s):
        """Update the variable's ``m`` and ``u`` in place (``s``: :meth:`step_scalars`)."""
        slots = self.slots[variable]
        m, u = slots["momentum"], slots["norm"]
        m += (gradient - m) * s.one_minus_beta_1                # m ← β₁m + (1−β₁)g (eq. 1)
        u[...] = np.maximum(s.beta_2 * u, np.abs(gradient))     # u ← max(β₂u, |g|) (eq. 1)
        return m, u

    def update_step(self, gradient, variable, learning_rate):
        s = self.step_scalars(learning_rate, variable.dtype)
        m, u = self.update_moments(gradient, variable, s)
        variable.value[...] -= (learning_rate * m) / (  # (eq. 1)
            s.one_minus_beta_1_power * (u + s.epsilon))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
