r"""RMSprop (Tieleman & Hinton, 2012, Coursera lecture 6.5): divide the step by a running root
mean square of recent gradients.

.. math:: v \leftarrow \rho v + (1-\rho) g^2, \qquad
          \Delta = \frac{\eta\, g}{\sqrt{v + \epsilon}}

``centered=True`` (Graves, 2013) subtracts the squared running mean of the gradient,
:math:`\bar g \leftarrow \rho \bar g + (1-\rho) g`, using :math:`\sqrt{v - \bar g^2 + \epsilon}`.
With ``momentum`` :math:`\mu > 0`: :math:`m \leftarrow \mu m + \Delta`, :math:`w \leftarrow w - m`;
otherwise :math:`w \leftarrow w - \Delta`.

Keras 3 puts :math:`\epsilon` inside the square root in every case; Keras 2 without momentum
used :math:`\sqrt{v} + \epsilon` (:class:`numpy_nn.optimizers.legacy.RMSprop`). :math:`1-\rho` is
evaluated in double and rounded to float32 once, as Keras does.
"""
from __future__ import annotations

import numpy as np

from numpy_nn.optimizers.base import Optimizer, _check_number


class RMSprop(Optimizer):
    """``RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False)``."""

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        _check_number("RMSprop", "rho", rho, low=0, high=1, high_inclusive=False)
        _check_number("RMSprop", "momentum", momentum, low=0, high=1)
        _check_number("RMSprop", "epsilon", epsilon, low=0)
        self.rho = float(rho)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.centered = bool(centered)

    def create_slots(self, variable):
        slots = {"velocity": np.zeros_like(variable.value)}
        if self.momentum > 0:
            slots["momentum"] = np.zeros_like(variable.value)
        if self.centered:
            slots["average_gradient"] = np.zeros_like(variable.value)
        return slots

    def update_step(self, gradient, variable, learning_rate):
        slots = self.slots[variable]
        dtype = variable.dtype
        rho = np.asarray(self.rho, dtype)
        one_minus_rho = np.asarray(1 - self.rho, dtype)
        v = slots["velocity"]
        v[...] = rho * v + one_minus_rho * np.square(gradient)
        if self.centered:
            g_bar = slots["average_gradient"]
            g_bar[...] = rho * g_bar + one_minus_rho * gradient
            denominator = v - np.square(g_bar) + np.asarray(self.epsilon, dtype)
        else:
            denominator = v + np.asarray(self.epsilon, dtype)
        increment = (learning_rate * gradient) / np.sqrt(denominator)
        if self.momentum > 0:
            m = slots["momentum"]
            m[...] = np.asarray(self.momentum, dtype) * m + increment
            variable.value[...] -= m
        else:
            variable.value[...] -= increment

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}
