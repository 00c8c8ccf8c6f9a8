r"""RMSprop (Tieleman & Hinton, 2012, Coursera lecture 6.5): divide the step by a running root
mean square of recent gradients.

.. math:: v \leftarrow \rho v + (1-\rho) g^2, \qquad
          \Delta = \frac{\eta\, g}{\sqrt{v + \epsilon}}

``centered=True`` (Graves, 2013) subtracts the squared running mean of the gradient,
:math:`\bar g \leftarrow \rho \bar g + (1-\rho) g`, using :math:`\sqrt{v - \bar g^2 + \epsilon}`.
With ``momentum`` :math:`\mu > 0`: :math:`m \leftarrow \mu m + \Delta`, :math:`w \leftarrow w - m`;
otherwise :math:`w \leftarrow w - \Delta`.

Keras parity: ``keras/src/optimizers/rmsprop.py::RMSprop.update_step`` puts :math:`\epsilon`
inside the square root in every case and evaluates :math:`1-\rho` in double, rounded once;
Keras 2 without momentum used :math:`\sqrt{v} + \epsilon`
(:class:`numpy_nn.optimizers.legacy.RMSprop`).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from numpy_nn.optimizers.base import Optimizer, _check_number


class RMSpropScalars(NamedTuple):
    """One step's scalars, in the variables' dtype."""

    rho: np.ndarray
    one_minus_rho: np.ndarray
    momentum: np.ndarray           #: mu
    epsilon: np.ndarray


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

    def step_scalars(self, learning_rate, dtype):
        return RMSpropScalars(np.asarray(self.rho, dtype), np.asarray(1 - self.rho, dtype),
                              np.asarray(self.momentum, dtype), np.asarray(self.epsilon, dtype))

    def update_averages(self, gradient, variable, s):
        """Update the running averages in place; return ``(v, g_bar)`` (``g_bar`` None unless
        centered). ``s``: :meth:`step_scalars`."""
        slots = self.slots[variable]
        v = slots["velocity"]
        v[...] = s.rho * v + s.one_minus_rho * np.square(gradient)       # v ← ρv + (1−ρ)g² (eq. 1)
        if not self.centered:
            return v, None
        g_bar = slots["average_gradient"]
        g_bar[...] = s.rho * g_bar + s.one_minus_rho * gradient          # ḡ ← ρḡ + (1−ρ)g (eq. 2)
        return v, g_bar

    def update_step(self, gradient, variable, learning_rate):
        s = self.step_scalars(learning_rate, variable.dtype)
        v, g_bar = self.update_averages(gradient, variable, s)
        if g_bar is None:
            denominator = v + s.epsilon
        else:
            denominator = v - np.square(g_bar) + s.epsilon  # (eq. 2)
        increment = (learning_rate * gradient) / np.sqrt(denominator)   # Δ = ηg/√(v+ε) (eq. 1)
        if self.momentum > 0:
            m = self.slots[variable]["momentum"]
            m[...] = s.momentum * m + increment                          # m ← μm + Δ (eq. 3)
            variable.value[...] -= m
        else:
            variable.value[...] -= increment

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}
